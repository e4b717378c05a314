"""Parallel, Dask and sharded runs give exactly the report of one process; the partial-result
file; byte-range planning."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import parallel
from audit.corpus import make_job, scan
from audit.errors import FormatError
from audit.reading import ReadOptions, ReadStats, Source, expand_paths, iter_documents
from audit.report import build_report
from tests.conftest import use_engine

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "corpus" / "sample.jsonl"
REFS = ROOT / "fixtures" / "refs" / "capitals.jsonl"


@pytest.fixture
def corpus(tmp_path: Path) -> list[Path]:
    """Two JSONL files with bad records, exact copies and near copies spread across them."""
    rng = random.Random(0)
    lines = SAMPLE.read_bytes().splitlines()
    docs = [orjson.loads(x)["text"] for x in lines]
    out = []
    for k in range(2):
        rows = []
        for i in range(1500):
            r = rng.random()
            if r < 0.01:
                rows.append(b"{not json")
            elif r < 0.06:
                rows.append(orjson.dumps({"text": rng.choice(docs)}))  # an exact copy
            elif r < 0.1:
                words = rng.choice(docs).split()
                if len(words) > 20:
                    words[rng.randrange(len(words))] = "changed"  # a near copy
                rows.append(orjson.dumps({"text": " ".join(words)}))
            else:
                rows.append(orjson.dumps({"text": docs[(i * 7 + k) % len(docs)]}))
        p = tmp_path / f"part-{k}.jsonl"
        p.write_bytes(b"\n".join(rows) + b"\n")
        out.append(p)
    return out


@pytest.fixture
def small_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut even small test files into several byte ranges and run them in workers."""
    monkeypatch.setattr(parallel, "MIN_TASK_BYTES", 20_000)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)


def _report(job, partial, sources) -> bytes:
    return build_report(partial, job.config, confidence=0.99, sources=sources).to_json()


@pytest.mark.parametrize(
    "scale",
    [
        {},
        {"counter": "sample:40"},
        {"dedup": "exact"},
        {"dedup": "minhash", "minhash": (64, 3, 0.7), "counter": "sample:60"},
    ],
)
def test_workers_equal_one_process(corpus, small_tasks, scale) -> None:
    job = make_job(facts_path=str(REFS), patterns=(), **scale)
    sources = expand_paths([str(p) for p in corpus])
    tasks = parallel.plan_tasks(sources, job, 2)
    assert len(tasks) > 3 and any(s.start for t in tasks for s in t)
    one = scan(job, sources)
    two = parallel.run(job, sources, workers=2)
    names = [s.path for s in sources]
    assert _report(job, two, names) == _report(job, one, names)
    assert two.read.bad_total == one.read.bad_total > 0
    if scale.get("dedup"):
        assert one.duplicates > 100 and two.duplicates == one.duplicates


def test_dask_local_cluster_equals_one_process(corpus, small_tasks) -> None:
    distributed = pytest.importorskip("distributed")
    job = make_job(facts_path=str(REFS), patterns=(), dedup="minhash", minhash=(64, 3, 0.7))
    sources = expand_paths([str(p) for p in corpus])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:  # fmt: skip
        got = parallel.run(
            job, sources, workers=2, engine="dask", scheduler=cluster.scheduler_address
        )
    names = [s.path for s in sources]
    assert _report(job, got, names) == _report(job, scan(job, sources), names)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=80), st.integers(1, 200))
def test_byte_ranges_cover_every_line_once(tmp_path_factory, lengths, piece) -> None:
    path = tmp_path_factory.mktemp("cut") / "x.txt"
    lines = [("w" * n).encode() or b"" for n in lengths]
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    ranges = list(parallel._cut(str(path), path.stat().st_size, piece))
    opts = ReadOptions(format="text")
    whole = list(iter_documents([Source(str(path))], opts, ReadStats()))
    parts = list(iter_documents(ranges, opts, ReadStats()))
    assert [(d.text, d.line) for d in parts] == [(d.text, d.line) for d in whole]


@pytest.mark.parametrize("engine", ["compiled", "daachorse"])
def test_newlines_between_offsets(tmp_path, monkeypatch, engine) -> None:
    # the parent's line count before each task (compiled: memchr; else bytes.count), over
    # ranges that start and end anywhere, across the 1 MiB blocks it reads, against a count
    # of the bytes themselves
    use_engine(monkeypatch, engine)
    rng = random.Random(7)
    data = bytes(rng.choice(b"ab\n\n\x00\xff") for _ in range(3 << 20))
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    edges = [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 2 << 20, len(data) - 1, len(data)]
    pairs = [(a, b) for a in edges for b in edges if a <= b] + sorted(
        tuple(sorted(rng.sample(range(len(data) + 1), 2))) for _ in range(20))  # fmt: skip
    with open(path, "rb") as fh:
        for a, b in pairs:
            assert parallel._count_newlines(fh, a, b) == data.count(b"\n", a, b), (a, b)


def test_sketch_out_and_merge_equal_one_run(cli, corpus, tmp_path) -> None:
    opts = ["-f", REFS, "--dedup", "minhash", "--max-facts", "50", "-q", "-j", "1"]
    one = cli("corpus", *corpus, *opts, "--json")
    assert one.exit_code == 0, one.stderr
    parts = []
    for i, p in enumerate(corpus):
        out = tmp_path / f"p{i}.sketch"
        r = cli("corpus", p, *opts, "--sketch-out", out, "-o", tmp_path / f"r{i}.json")
        assert r.exit_code == 0, r.stderr
        parts.append(out)
    merged = cli("merge", *parts, "--json", "-q")
    assert merged.exit_code == 0, merged.stderr
    a, b = orjson.loads(one.stdout), orjson.loads(merged.stdout)
    # dedup runs within each shard: only the distinct-source block may differ
    a.pop("distinct_sources")
    b.pop("distinct_sources")
    assert a == b
    # without dedup the whole report is the same, byte for byte
    opts = ["-f", REFS, "--max-facts", "50", "-q", "-j", "1"]
    one = cli("corpus", *corpus, *opts, "--json")
    for i, p in enumerate(corpus):
        cli(
            "corpus", p, *opts, "--sketch-out", tmp_path / f"q{i}.sketch", "-o", tmp_path / "x.json"
        )
    merged = cli("merge", *[tmp_path / f"q{i}.sketch" for i in range(2)], "--json", "-q")
    assert merged.stdout == one.stdout


def test_merge_refuses_mixed_configs_and_bad_files(cli, corpus, tmp_path) -> None:
    a, b = tmp_path / "a.sketch", tmp_path / "b.sketch"
    cli("corpus", corpus[0], "-f", REFS, "-q", "-o", tmp_path / "1.json", "--sketch-out", a)
    cli("corpus", corpus[1], "-f", REFS, "-q", "-o", tmp_path / "2.json", "--sketch-out", b,
        "--max-facts", "10")  # fmt: skip
    r = cli("merge", a, b, "--json")
    assert r.exit_code == 3 and "different configs" in r.stderr and r.stderr.count("\n") == 1
    # the same shard counted under other options is refused for its options, not as a repeat
    c = tmp_path / "c.sketch"
    cli("corpus", corpus[0], "-p", "capital", "-q", "-o", tmp_path / "3.json", "--sketch-out", c)
    r = cli("merge", a, c)
    assert r.exit_code == 3 and r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"hallu-audit: error: {c}: cannot merge results of different configs (")
    assert f" in {a}, " in r.stderr and "count it twice" not in r.stderr
    bad = tmp_path / "bad.sketch"
    bad.write_bytes(b"HAPART\x00\x00\x07\x00garbage")
    r = cli("merge", bad)
    assert r.exit_code == 3 and "version" in r.stderr
    data = a.read_bytes()
    with pytest.raises(FormatError):
        parallel.PartialFile.from_bytes(data[:-3])
    assert parallel.PartialFile.from_bytes(data).to_bytes() == data


def test_gpu_and_engine_errors(cli, corpus) -> None:
    # there is no GPU path, so there is no --gpu option (it could only fail)
    r = cli("corpus", corpus[0], "-f", REFS, "--gpu")
    assert r.exit_code == 2 and "--gpu" in r.stderr
    r = cli("corpus", corpus[0], "-f", REFS, "--engine", "dask")
    assert r.exit_code == 2 and "--scheduler" in r.stderr
    r = cli("corpus", corpus[0], "-f", REFS, "--dedup", "fuzzy")
    assert r.exit_code == 2


def test_workers_share_the_parents_matcher(corpus, small_tasks, tmp_path) -> None:
    """The table is read once and the matcher built once, in the parent: the workers inherit it.
    With the table file gone after make_job, a worker that rebuilt it would fail."""
    refs = tmp_path / "refs.jsonl"
    refs.write_bytes(REFS.read_bytes())
    job = make_job(facts_path=str(refs), patterns=())
    refs.unlink()
    sources = expand_paths([str(p) for p in corpus])
    two = parallel.run(job, sources, workers=2)
    names = [s.path for s in sources]
    assert _report(job, two, names) == _report(job, scan(job, sources), names)
    assert two.counter.stats().n > 0


@pytest.mark.parametrize("mode", ["facts", "patterns"])
def test_mentions_rows_equal_between_one_and_two_workers(cli, corpus, small_tasks, tmp_path, mode) -> None:
    what = ["-f", str(REFS)] if mode == "facts" else ["-p", "capital", "-p", "birth_date"]
    rows = {}
    for workers in (1, 2):
        out = tmp_path / f"m{workers}.jsonl"
        result = cli("corpus", *map(str, corpus), *what, "--workers", str(workers), "--mentions", out, "--json", "-q")
        assert result.exit_code == 0, result.stderr
        rows[workers] = out.read_bytes()
        assert rows[workers].count(b"\n") == orjson.loads(result.stdout)["overall"]["N"] > 10
    assert rows[1] == rows[2]


@pytest.mark.parametrize("opts", [[], ["--dedup", "minhash"], ["--dedup", "exact", "--max-facts", "40"]])
def test_cli_outputs_equal_between_one_and_two_workers(cli, corpus, small_tasks, tmp_path, opts) -> None:
    """The report, the per-fact rows and the --sketch-out file of a run cut into several tasks
    are those of one process, byte for byte (exact counts, and a sketch, with and without dedup)."""
    job = make_job(facts_path=str(REFS), patterns=())
    assert len(parallel.plan_tasks(expand_paths([str(p) for p in corpus]), job, 2)) > 3
    got = {}
    for workers in (1, 2):
        files = [tmp_path / f"{workers}.per-fact.jsonl", tmp_path / f"{workers}.sketch"]
        r = cli("corpus", *corpus, "-f", REFS, *opts, "-j", workers, "--json", "-q",
                "--per-fact", files[0], "--sketch-out", files[1])  # fmt: skip
        assert r.exit_code == 0, r.stderr
        got[workers] = [r.stdout.encode(), *(f.read_bytes() for f in files)]
    assert got[2] == got[1]
    assert orjson.loads(got[1][0])["overall"]["N"] > 100


def test_tasks_hand_back_exact_counts_by_fact_position(corpus, small_tasks) -> None:
    """A task's exact counts come back as arrays by position in the table (its counters in the
    partial file empty); a sketch comes back in the file."""
    job = make_job(facts_path=str(REFS), patterns=(), dedup="exact")
    facts = job.reference_table().facts
    task = parallel.plan_tasks(expand_paths([str(p) for p in corpus]), job, 2)[1]
    data, counts, _ = parallel._scan_task(job, task, None)
    part = parallel.PartialFile.from_bytes(data).partial
    assert part.counter.is_empty() and part.distinct is not None and part.distinct.is_empty()
    one = scan(job, task, zeros=False)
    for (at, n), counter in zip(counts, (one.counter, one.distinct), strict=True):
        ids = [facts[i].id for i in np.frombuffer(at, np.int64)]
        got = dict(zip(ids, np.frombuffer(n, np.int64).tolist(), strict=True))
        assert got == {f: c for f, _, c in counter.items()} and sum(got.values()) > 10
    assert part.read == one.read and part.duplicates == one.duplicates > 0
    sketch = make_job(facts_path=str(REFS), patterns=(), counter="sample:40")
    data, counts, _ = parallel._scan_task(sketch, task, None)
    assert counts == [None] and not parallel.PartialFile.from_bytes(data).partial.counter.is_empty()


def test_tasks_shrink_towards_the_end_and_cover_every_line_once(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "MIN_TASK_BYTES", 5_000)
    rng = random.Random(3)
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"text": "w " * rng.randint(5, 200)}) + b"\n" for _ in range(3000)))
    small = tmp_path / "small.jsonl"
    small.write_bytes(b'{"text": "a b"}\n' * 10)
    job = make_job(facts_path=str(REFS), patterns=())
    sources = expand_paths([str(small), str(path), str(small)])
    tasks = parallel.plan_tasks(sources, job, 2)
    sizes = [sum(s.size or 0 for s in t) for t in tasks]
    total = sum(sizes)
    # about a quarter of what is left each (2 workers), never under the minimum but the last
    assert total // 4 <= sizes[0] <= total // 4 + 2_000
    assert all(a >= b - 2_000 for a, b in zip(sizes, sizes[1:-1], strict=False))
    assert min(sizes[:-1]) >= 5_000 and sizes[-3] < 2 * 5_000 and len(tasks) > 8
    whole = list(iter_documents(sources, ReadOptions(), ReadStats()))
    parts = [d for t in tasks for d in iter_documents(t, ReadOptions(), ReadStats())]
    assert [(d.source, d.line, d.text) for d in parts] == [(d.source, d.line, d.text) for d in whole]


def test_a_prompts_objects_are_those_of_one_process_whatever_the_cuts(cli, small_tasks, tmp_path) -> None:
    """Open extraction keeps a prompt's first 8 objects in input order with their counts over the
    whole input. A prompt stated with 12 objects, cycling through a file cut into many tasks:
    each task alone would keep its own first 8, and a cut would change the counts."""
    filler = "The weather was mild that year and nothing much happened in the valley. " * 3
    names = [f"City{chr(65 + i)}ville" for i in range(12)]
    lines = [orjson.dumps({"text": f"{filler}{names[(i * 5) % 12]} is the capital of Testland."}) for i in range(3000)]
    path = tmp_path / "objects.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    job = make_job(facts_path=None, patterns=("capital",))
    assert len(parallel.plan_tasks(expand_paths([str(path)]), job, 2)) > 6
    got = {}
    for workers in (1, 2):
        files = [tmp_path / f"{workers}.per-fact.jsonl", tmp_path / f"{workers}.sketch"]
        r = cli("corpus", path, "-p", "capital", "-j", workers, "--json", "-q",
                "--per-fact", files[0], "--sketch-out", files[1])  # fmt: skip
        assert r.exit_code == 0, r.stderr
        got[workers] = [r.stdout.encode(), *(f.read_bytes() for f in files)]
    assert got[2] == got[1]
    header, row = [orjson.loads(x) for x in got[1][1].splitlines()]
    assert header["kind"] == "hallu-audit/per-fact" and row["id"] == "capital/testland" and row["count"] == 3000
    # the first 8 objects in input order (names[0], names[5], names[10], names[3], ...), each
    # stated 250 times (3000 lines over 12 names); the other 4 are not kept
    first = [names[(i * 5) % 12].lower() for i in range(8)]
    assert sorted((o["object"], o["count"]) for o in row["objects"]) == sorted((o, 250) for o in first)
