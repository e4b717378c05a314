"""Scale benchmark: corpus throughput with 1 and 2 workers, with and without MinHash dedup, peak
memory, each beside the floor (read + parse only) of the same input; MinHash signature speed
beside datasketch and datatrove. Prints figures and ratios; asserts nothing about timings.

    python bench/scale_bench.py --size 1G               # the full run (generates ~1 GB JSONL)
    python bench/scale_bench.py --size 64M --rss-size 256M  # a quick one
    python bench/scale_bench.py --size 1G --rss-size 4G     # peak RSS at 1 GB and 4 GB

Every measured run is its own child process, so its peak RSS (``ru_maxrss`` of the process and of
its workers) is its own. The corpus is generated once per size under ``--dir`` and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REFS = ROOT / "fixtures" / "refs" / "capitals.jsonl"
SAMPLE = ROOT / "fixtures" / "corpus" / "sample.jsonl"


def parse_size(text: str) -> int:
    from audit.sketch import parse_memory

    return parse_memory(text)


# -- the corpus ----------------------------------------------------------------------------------
def generate(path: Path, size: int, seed: int = 0) -> None:
    """JSONL of ~``size`` bytes: glosses and random words, capital facts in 1 document of 3,
    5% exact and 5% near copies of earlier documents."""
    import orjson

    rng = random.Random(seed)
    glosses = [orjson.loads(x)["text"] for x in SAMPLE.read_bytes().splitlines()]
    words = sorted({w for g in glosses for w in g.split()})
    refs = [orjson.loads(x) for x in REFS.read_bytes().splitlines()]
    facts = [f"{r['object']} is the capital of {r['subject']}." for r in refs]
    recent: list[str] = []
    written = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        buf = []
        while written < size:
            r = rng.random()
            if recent and r < 0.05:
                text = rng.choice(recent)
            elif recent and r < 0.10:
                ws = rng.choice(recent).split()
                ws[rng.randrange(len(ws))] = rng.choice(words)
                text = " ".join(ws)
            else:
                parts = rng.choices(glosses, k=rng.randint(3, 10))
                parts.append(" ".join(rng.choices(words, k=rng.randint(20, 200))) + ".")
                if rng.random() < 1 / 3:
                    parts.insert(rng.randrange(len(parts)), rng.choice(facts))
                text = ". ".join(parts)
                if len(recent) < 5000:
                    recent.append(text)
                else:
                    recent[rng.randrange(5000)] = text
            line = orjson.dumps({"text": text}) + b"\n"
            buf.append(line)
            written += len(line)
            if len(buf) >= 4096:
                fh.write(b"".join(buf))
                buf = []
        fh.write(b"".join(buf))
    tmp.rename(path)


def corpus_file(folder: Path, size: int) -> Path:
    path = folder / f"scale-{size >> 20}M.jsonl"
    if not path.exists():
        t = time.perf_counter()
        generate(path, size)
        print(f"generated {path.name} ({size / 1e9:.2f} GB) in {time.perf_counter() - t:.0f} s",
              file=sys.stderr)  # fmt: skip
    return path


# -- one measured run (in its own process) -------------------------------------------------------
def _floor_task(sources) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    from audit.reading import ReadOptions, ReadStats, iter_documents

    stats = ReadStats()
    for _ in iter_documents(sources, ReadOptions(), stats):
        pass
    return stats.documents, stats.bytes


def one(spec: dict) -> dict:
    from audit.corpus import make_job
    from audit.parallel import plan_tasks, run
    from audit.reading import Source

    sources = [Source(spec["path"])]
    scale = {"counter": spec.get("counter", "exact"), "dedup": spec.get("dedup", "off")}
    if scale["dedup"] == "minhash":
        scale["minhash"] = (128, 5, 0.8)
    job = make_job(facts_path=str(REFS), patterns=(), **scale)
    t = time.perf_counter()
    if spec["what"] == "floor":
        if spec["workers"] == 1:
            docs, nbytes = _floor_task(sources)
        else:
            from concurrent.futures import ProcessPoolExecutor

            tasks = plan_tasks(sources, job, spec["workers"])
            with ProcessPoolExecutor(spec["workers"]) as pool:
                res = list(pool.map(_floor_task, tasks))
            docs, nbytes = sum(r[0] for r in res), sum(r[1] for r in res)
        extra: dict = {}
    else:
        partial = run(job, sources, workers=spec["workers"])  # workers=1 is scan() itself
        docs, nbytes = partial.read.documents, partial.read.bytes
        st = partial.counter.stats()
        extra = {"N": st.n, "sr": st.singleton_rate, "duplicates": partial.duplicates}
    elapsed = time.perf_counter() - t
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": elapsed, "docs": docs, "bytes": nbytes, "mb_s": nbytes / 1e6 / elapsed,
            "rss_mb": me, "worker_rss_mb": kids, **extra}  # fmt: skip


def measure(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", json.dumps(spec)], check=True,
                         capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout)


# -- MinHash signature speed ---------------------------------------------------------------------
def minhash_micro(path: Path, mb: int) -> None:
    import orjson

    from audit import minhash as M

    texts, n = [], 0
    with open(path, "rb") as fh:
        for line in fh:
            texts.append(orjson.loads(line)["text"])
            n += len(texts[-1])
            if n >= mb << 20:
                break
    size = sum(len(t) for t in texts) / 1e6

    def rate(fn, sample) -> float:  # type: ignore[no-untyped-def]
        t = time.process_time()
        fn(sample)
        return sum(len(x) for x in sample) / 1e6 / (time.process_time() - t)

    def ours_sig(sample):  # type: ignore[no-untyped-def]
        for i in range(0, len(sample), 512):
            M.signatures(sample[i : i + 512], 128, 5, 1)

    def ours_dedup(sample):  # type: ignore[no-untyped-def]
        M.MinHashDeduper(M.MinHashParams(128, 5, 0.8)).filter_batch(sample)

    def shingle_only(sample):  # type: ignore[no-untyped-def]
        for t in sample:
            w = t.lower().split()
            {" ".join(w[i : i + 5]) for i in range(len(w) - 4)}

    ours_sig(texts[:200])
    ours_dedup(texts[:200])  # imports scipy and picks the LSH bands once (~0.3 s, not per MB)
    print(f"\nMinHash, 128 permutations, 5-word shingles, {size:.0f} MB of the corpus, one core "
          "(CPU seconds):")  # fmt: skip
    r_sig = rate(ours_sig, texts)
    r_dedup = rate(ours_dedup, texts)
    r_sh = rate(shingle_only, texts)
    print(f"  hallu-audit signatures (OPH + densification)   {r_sig:8.1f} MB/s")
    print(f"  hallu-audit dedup (signatures + LSH Bloom)     {r_dedup:8.1f} MB/s")
    print(f"  Python string shingling alone                  {r_sh:8.1f} MB/s")
    small = texts[: max(1, len(texts) // 20)]
    try:
        from datasketch import MinHash

        def ds(sample):  # type: ignore[no-untyped-def]
            sets = []
            for t in sample:
                w = t.lower().split()
                sets.append([" ".join(w[i : i + 5]).encode() for i in range(len(w) - 4)])
            MinHash.bulk(sets, num_perm=128)

        r_ds = rate(ds, small)
        print(f"  datasketch MinHash.bulk                        {r_ds:8.1f} MB/s"
              f"   (ours {r_sig / r_ds:.1f}x)")  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not fail
        print(f"  datasketch: failed ({exc})")
    try:
        import tempfile

        from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

        with tempfile.TemporaryDirectory() as tmp:
            step = MinhashDedupSignature(tmp, MinhashConfig())  # 14 buckets x 8 = 112 hashes

            def dt(sample):  # type: ignore[no-untyped-def]
                for t in sample:
                    step.get_signature(step.get_shingles(t))

            r_dt = rate(dt, small)
        print(f"  datatrove MinhashDedupSignature (112 hashes)   {r_dt:8.1f} MB/s"
              f"   (ours {r_sig / r_dt:.1f}x)")  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        print(f"  datatrove: not measured ({type(exc).__name__}: {str(exc).splitlines()[0]})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="1G", help="corpus size for the throughput runs (1G)")
    ap.add_argument("--rss-size", default="", help="also measure peak RSS at this size, e.g. 4G")
    ap.add_argument("--dir", default=os.environ.get("TMPDIR", "/tmp"), help="where corpora go")
    ap.add_argument("--max-facts", type=int, default=100_000, help="sketch capacity for RSS runs")
    ap.add_argument("--minhash-mb", type=int, default=32, help="MB for the MinHash comparison")
    ap.add_argument("--only", choices=["throughput", "rss", "minhash"], action="append",
                    help="run only these parts (repeatable; default all)")  # fmt: skip
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(json.loads(args.one))))
        return
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = corpus_file(folder, parse_size(args.size))
    gb = path.stat().st_size / 1e9
    print(f"corpus {path.name}: {gb:.2f} GB, {os.cpu_count()} cores, --facts capitals (248 facts),"
          f" load average before: {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'run':38s} {'MB/s':>7s} {'floor MB/s':>10s} {'of floor':>8s} {'peak RSS MB':>12s}")
    parts = set(args.only or ["throughput", "rss", "minhash"])
    floors = {}
    if "throughput" in parts:
        floors = {w: measure({"what": "floor", "path": str(path), "workers": w}) for w in (1, 2)}
    base = None
    for dedup in ("off", "minhash") if "throughput" in parts else ():
        for w in (1, 2):
            r = measure({"what": "corpus", "path": str(path), "workers": w, "dedup": dedup})
            f = floors[w]
            rss = max(r["rss_mb"], r["worker_rss_mb"])
            base = base or r["mb_s"]
            name = f"corpus --workers {w} --dedup {dedup}"
            print(f"{name:38s} {r['mb_s']:7.1f} {f['mb_s']:10.1f} {r['mb_s'] / f['mb_s']:8.2f} "
                  f"{rss:12.0f}   x{r['mb_s'] / base:.2f} of workers 1 no dedup"
                  + (f", {r['duplicates']} duplicate docs" if dedup != "off" else ""))  # fmt: skip
    if args.rss_size and "rss" in parts:
        print("\npeak RSS (parent, largest worker) with --workers 2 --dedup minhash "
              f"--max-facts {args.max_facts}:")  # fmt: skip
        for size in (parse_size(args.size), parse_size(args.rss_size)):
            p = corpus_file(folder, size)
            spec = {"what": "corpus", "path": str(p), "workers": 2, "dedup": "minhash",
                    "counter": f"sample:{args.max_facts}"}  # fmt: skip
            r = measure(spec)
            f = measure({"what": "floor", "path": str(p), "workers": 2})
            gb_p = p.stat().st_size / 1e9
            print(f"  {gb_p:5.2f} GB: {r['rss_mb']:6.0f} MB, {r['worker_rss_mb']:6.0f} MB"
                  f"   (floor {f['rss_mb']:.0f} MB, {f['worker_rss_mb']:.0f} MB)"
                  f"   {r['mb_s']:.1f} MB/s")  # fmt: skip
    if "minhash" in parts:
        minhash_micro(path, args.minhash_mb)


if __name__ == "__main__":
    main()
