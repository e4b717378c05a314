"""Benchmark `hallu-audit corpus --facts` as a user runs it: the CLI as a subprocess, start-up
included, beside the read + parse floor of the same file in the same run.

For each reference-table size and corpus density it prints: the corpus size, mentions per KB
(the report's N over the input KB), the start-up seconds (the same command on a one-document
corpus: interpreter, imports, table load, digest, matcher build, report) without the matcher
cache and with it (``audit.cache``: a second run of the same table), the whole run's seconds and
MB/s (without the cache: what a first run costs), the floor's MB/s (read the file line by line
and ``orjson.loads`` each line) and the ratio of the two, and the peak RSS of the CLI and of the
floor; each row names the load average when it was printed and the start-up's and the run's CPU
seconds (user + system, steadier than wall time on a loaded machine). Each measurement is its own process
(peak RSS from ``wait4``); with ``--repeat`` a figure is the range over the repeats. A repeat is a
round: the floor, then every ``--with`` row in every tree, so that the rows compared see the same
load, and a row's ratio to the plain run (or to the baseline) is taken round by round and given as
its range. A ``--with`` row also gives that ratio with the start-up taken off both runs ("beyond
the start-up": for ``--workers``, how the part that can run in parallel scales). The children may
write bytecode, as an installed package has it: no run compiles the sources it imports.
Figures are printed, never asserted. By default every process is pinned to one core
(``taskset -c 0``, ``--core`` for another) and the CLI runs with ``--workers 1``. The runs have
no cache (a first run: the table parsed, the matcher built) unless ``--warm``.

    python3 bench/corpus_bench.py                              # 80 MB, 100k facts, dense and sparse
    python3 bench/corpus_bench.py --facts 100000,1000000 --repeat 3
    python3 bench/corpus_bench.py --size-mb 20 --with "--tokenizer fixtures/tokenizer.json" \\
        --with "--dedup minhash"                               # what an option costs (ratio)
    python3 bench/corpus_bench.py --cores all --warm --density dense --with "--workers 2"
    git worktree add /tmp/before <commit> && python3 bench/corpus_bench.py --baseline /tmp/before

The name-dense corpus is biographies: every other sentence names a person and their birth place
or date (about 11 mentions per KB); it is all ASCII, which real text is not. The prose one is the
same written like web text: half its filler sentences carry a typographic quote or dash or an
accented word, so almost every document takes the slower Unicode paths of normalisation and the
word view (real text costs what this row costs). The sparse one is filler text with a fact statement in one
sentence of ~18 (about 1.2 mentions per KB). A table of N facts holds N/2 people with a birth place
(one of 5,000 cities, shared) and a birth date each, so a run has to keep shared object names
apart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYL = "ka lo mi ra tu ve shi no za pe qui dro len mar tis gol bra fen uri ost yel ban cor dul".split()
FILLER = (
    "the of and in to a was is for on as with by he that at from his it an were are which this be "
    "or has had not first one their its new after but who they have her she two been other when "
    "there all during into school time may years more most only over city some world would where "
    "later up such used many can state about national out known university united then made"
).split()
MONTHS = "January February March April May June July August September October November December".split()


# -- data ----------------------------------------------------------------------------------------
def _word(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice(SYL) for _ in range(rng.randint(lo, hi))).capitalize()


def make_people(n: int, seed: int = 1) -> list[tuple[str, str, str]]:
    """``n`` distinct (person, city, date) triples; cities come from a pool of 5,000."""
    rng = random.Random(seed)
    cities = sorted({_word(rng, 2, 4) for _ in range(6000)})[:5000]
    seen: set[str] = set()
    out = []
    while len(out) < n:
        name = f"{_word(rng, 1, 2)} {_word(rng, 2, 3)}"
        if name in seen:
            continue
        seen.add(name)
        date = f"{MONTHS[rng.randrange(12)]} {rng.randint(1, 28)}, {rng.randint(1700, 2005)}"
        out.append((name, rng.choice(cities), date))
    return out


def write_refs(people: list[tuple[str, str, str]], path: Path) -> None:
    with open(path, "w") as fh:
        for name, city, date in people:
            fh.write(json.dumps({"subject": name, "relation": "birth_place", "object": city}) + "\n")
            fh.write(json.dumps({"subject": name, "relation": "birth_date", "object": date}) + "\n")


#: Filler of the ``prose`` corpus: what real web text adds to the plain words (typographic quotes and
#: dashes, accented loan words), so that most documents are not ASCII.
TYPOGRAPHIC = ["“so-called”", "it’s", "—", "café", "naïve", "résumé", "über", "(see “history”)", "2–3", "…"]


def _filler(rng: random.Random, typographic: bool = False) -> str:
    words = rng.choices(FILLER, k=rng.randint(8, 22))
    if typographic and rng.random() < 0.5:
        words.insert(rng.randrange(len(words)), rng.choice(TYPOGRAPHIC))
    return " ".join(words).capitalize() + "."


def write_corpus(people: list[tuple[str, str, str]], path: Path, size: int, dense: bool, seed: int = 2,
                 typographic: bool = False) -> None:  # fmt: skip
    """JSONL of about ``size`` bytes; people drawn Zipf-like so counts of 1, 2, ... all occur.
    ``typographic``: half the filler sentences carry a typographic quote, dash or accented word."""
    rng = random.Random(seed)
    n = len(people)
    weights = [1 / (i + 1) ** 0.8 for i in range(n)]
    order = list(range(n))
    rng.shuffle(order)
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    written = docs = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        while written < size:
            sents = []
            for _ in range(rng.randint(8, 24)):
                if rng.random() < (0.5 if dense else 1 / 18):
                    name, city, date = people[order[rng.choices(range(n), cum_weights=cum)[0]]]
                    other = people[rng.randrange(n)][0]
                    k = rng.randrange(4)
                    if k == 0:
                        sents.append(f"{name} was born in {city} on {date}.")
                    elif k == 1:
                        sents.append(f"In {city}, {name} met {other}, who was born on {date[-4:]}.")
                    elif k == 2:
                        sents.append(f"{name} (born {date}) later worked with {other} in {city}.")
                    else:
                        sents.append(f"{other} wrote that {name} never left {city}.")
                else:
                    sents.append(_filler(rng, typographic))
            line = json.dumps({"id": docs, "text": " ".join(sents)}) + "\n"
            fh.write(line)
            written += len(line)
            docs += 1
    tmp.rename(path)


# -- measuring -----------------------------------------------------------------------------------
FLOOR = """
import orjson, sys
n = 0
with open(sys.argv[1], "rb", buffering=1 << 20) as fh:
    for line in fh:
        n += len(orjson.loads(line)["text"]) > 0
"""


def measure(cmd: list[str], pin: int | None, tree: Path = ROOT, cache: str = "off") -> tuple[float, int, float]:
    """Wall seconds, peak RSS (bytes) and CPU seconds (user + system) of one child process, its
    own (``wait4``), running the
    package of the source tree ``tree``, with the matcher cache ``cache`` (a folder, or off)."""
    if pin is not None:
        cmd = ["taskset", "-c", str(pin), *cmd]
    env = {**os.environ, "PYTHONPATH": str(tree) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "HALLU_AUDIT_CACHE": cache}  # fmt: skip
    # an installed package has its bytecode compiled: a run never compiles the sources it imports
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t = time.perf_counter()
    # run in the tree: `python -m` puts the working folder first on sys.path
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=tree)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {shlex.join(cmd)}\n{err}")
    return elapsed, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def cli(corpus: Path, refs: Path, out: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "audit.cli", "corpus", str(corpus), "-f", str(refs), "-o", str(out),
            "-q", "--workers", "1", *extra]  # fmt: skip


def span(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{format(lo, fmt)}-{format(hi, fmt)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=80, help="corpus size for the 100k-facts rows")
    ap.add_argument("--small-mb", type=float, default=2, help="corpus size for tables over 100k facts")
    ap.add_argument("--facts", default="100000", help="comma-separated table sizes, e.g. 100000,1000000")
    ap.add_argument("--density", default="dense,prose,sparse",
                    help="corpora: dense (ASCII biographies), prose (the same, written like web text: "
                         "typographic quotes, dashes, accents), sparse")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument(
        "--with",
        dest="variants",
        action="append",
        default=[],
        metavar="ARGS",
        help="extra CLI options for an extra row (ratio to the plain run), e.g. '--dedup minhash'",
    )
    ap.add_argument("--cores", default="1", help="1: pin to one core with taskset; all: no pinning")
    ap.add_argument("--core", type=int, default=0, help="the core to pin to (another than other jobs pin to)")
    ap.add_argument("--keep", help="folder to keep the generated data in (reused when present)")
    ap.add_argument(
        "--warm",
        action="store_true",
        help="time the runs with the cache the start-up runs kept (a repeated run: the table and "
        "matcher are read, not built); by default a run has no cache (a first run)",
    )
    ap.add_argument(
        "--baseline",
        metavar="TREE",
        help="another source tree (e.g. a `git worktree` of an older "
        "commit) measured in the same run, interleaved: a before/after ratio under the same load",
    )
    args = ap.parse_args()
    trees = [("", ROOT)] + ([("baseline", Path(args.baseline).resolve())] if args.baseline else [])
    pin = args.core if args.cores == "1" and shutil.which("taskset") is not None else None
    folder = Path(args.keep or tempfile.mkdtemp(prefix="hallu-bench-")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    pinned = f"one core (taskset -c {pin})" if pin is not None else "all cores"
    print(f"# corpus_bench: whole CLI as a subprocess, {pinned}, "
          f"{os.cpu_count()} cores on the machine, {args.repeat} repeat(s)")  # fmt: skip
    head = ("facts", "corpus", "MB", "ment/KB", "start s", "cached s", "run s", "MB/s", "floor MB/s", "ratio",
            "RSS MB", "floor RSS", "options")  # fmt: skip
    widths = (8, 7, 6, 8, 10, 9, 12, 12, 11, 12, 11, 9, 0)
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True)))
    for n_facts in (int(x) for x in args.facts.split(",")):
        refs = folder / f"refs-{n_facts}.jsonl"
        people = make_people(n_facts // 2)
        if not refs.exists():
            write_refs(people, refs)
        size_mb = args.size_mb if n_facts <= 100_000 else args.small_mb
        one = folder / f"one-{n_facts}.jsonl"
        if not one.exists():
            write_corpus(people, one, 1, dense=True)  # one document
        for density in args.density.split(","):
            corpus = folder / f"{density}-{n_facts}-{size_mb:g}MB.jsonl"
            if not corpus.exists():
                write_corpus(people, corpus, int(size_mb * 1e6), dense=density in ("dense", "prose"),
                             typographic=density == "prose")  # fmt: skip
            mb = corpus.stat().st_size / 1e6
            out = folder / "report.json"
            variants = [[], *map(shlex.split, args.variants)]
            kinds = ("start", "start cpu", "cached", "run", "rss", "cpu")
            got = {(v, t): {k: [] for k in kinds} for v in range(len(variants)) for t, _ in trees}
            floors, frss = [], []
            for _ in range(args.repeat):
                # one round: the floor, then every variant in every tree, so that each row and the
                # rows it is compared with (the plain run, the baseline) see the same load
                t_floor, r_floor, _ = measure([sys.executable, "-c", FLOOR, str(corpus)], pin)
                floors.append(t_floor)
                frss.append(r_floor)
                for v, extra in enumerate(variants):
                    for name, tree in trees:
                        row = got[v, name]
                        t_start, _, c_start = measure(cli(one, refs, out, extra), pin, tree)
                        t_cached = t_start  # a tree without the matcher cache builds every time
                        with tempfile.TemporaryDirectory(prefix="hallu-bench-cache-") as cache:
                            if (tree / "audit" / "cache.py").exists():
                                measure(cli(one, refs, out, extra), pin, tree, cache)  # builds and keeps it
                                t_cached, _, _ = measure(cli(one, refs, out, extra), pin, tree, cache)
                            kept = cache if args.warm else "off"
                            t_run, r_run, c_run = measure(cli(corpus, refs, out, extra), pin, tree, kept)
                        for kind, value in zip(kinds, (t_start, c_start, t_cached, t_run, r_run, c_run), strict=True):
                            row[kind].append(value)
                report = json.loads(out.read_text())
            per_kb = report["overall"]["N"] / (report["inputs"]["bytes"] / 1e3)
            for v, extra in enumerate(variants):
                for name, _ in trees:
                    row = got[v, name]
                    starts, runs, rss, cached = row["start"], row["run"], row["rss"], row["cached"]
                    mbs, floor_mbs = [mb / t for t in runs], [mb / t for t in floors]
                    ratio = [f / t for f, t in zip(floors, runs, strict=True)]
                    note = " ".join(x for x in (name, shlex.join(extra)) if x)
                    cpus = f"start CPU {span(row['start cpu'], '.2f')} s, run CPU {span(row['cpu'], '.1f')}"
                    note = f"[load {os.getloadavg()[0]:.1f}, {cpus} s] {note}"
                    if v:
                        # paired by round: each run beside the plain run of its own round
                        plain = got[0, name]
                        times = [t / b for t, b in zip(runs, plain["run"], strict=True)]
                        note += f" ({span(times, '.2f')}x the plain run's time"
                        # what is left once the start-up (serial, in both) is taken off each run
                        fixed = "cached" if args.warm else "start"
                        scans = [(t - s) / (b - bs) for t, s, b, bs in
                                 zip(runs, row[fixed], plain["run"], plain[fixed], strict=True)]  # fmt: skip
                        note += f", {span(scans, '.2f')}x beyond the start-up)"
                    if name == "" and len(trees) > 1:
                        base = got[v, "baseline"]
                        speed = [b / t for t, b in zip(runs, base["run"], strict=True)]
                        cpu = statistics.median(base["cpu"]) / statistics.median(row["cpu"])
                        note += f" ({span(speed, '.2f')}x the baseline's speed, {cpu:.2f}x per CPU s)"
                    print(f"{n_facts:>8} {density:>7} {mb:>6.1f} {per_kb:>8.1f} {span(starts, '.2f'):>10} "
                          f"{span(cached, '.2f'):>9} "
                          f"{span(runs, '.2f'):>12} {span(mbs, '.1f'):>12} {span(floor_mbs, '.0f'):>11} "
                          f"{span(ratio, '.3f'):>12} {span([r / 2**20 for r in rss], '.0f'):>11} "
                          f"{span([r / 2**20 for r in frss], '.0f'):>9} {note}", flush=True)  # fmt: skip
    print("# start s: the same command on a one-document corpus (interpreter, imports, table, matcher, report)")
    print("# cached s: the same, the matcher read from the cache a run before kept (a tree without one: start s)")
    print("# MB/s: corpus MB / run s, start-up included; ratio: run throughput / floor throughput, same file")
    print("# floor: read the file line by line and orjson.loads each line; RSS: peak resident set")


if __name__ == "__main__":
    main()
