"""Benchmark open extraction (`hallu-audit corpus -p ...`) as a user runs it: the CLI as a
subprocess, start-up included, beside the read + parse floor of the same file in the same run.

The corpus is real prose: the sentences of ``fixtures/patterns/enwiki_sentences.jsonl`` (Wikipedia)
joined into documents of about 2 KB and repeated to ``--size-mb``. Each configuration prints the
wall seconds, the CPU seconds of the process (less sensitive than wall time to a loaded machine),
MB/s, the floor's MB/s (read each line and ``orjson.loads`` it), the ratio of the two and the
peak RSS. Every process is its own (peak RSS from ``wait4``), pinned to one core when
``taskset`` exists, with ``--workers 1``; ``--repeat`` prints the range over repeats. Figures are
printed, never asserted.

    python3 bench/patterns_bench.py                       # 8 MB, each pack, all three, a user regex
    python3 bench/patterns_bench.py --size-mb 40 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {
    "birth_date": ["-p", "birth_date"],
    "capital": ["-p", "capital"],
    "founding_year": ["-p", "founding_year"],
    "all three packs": ["-p", "birth_date", "-p", "capital", "-p", "founding_year"],
    "a user regex (RE2)": ["-p", r"born=(?P<subject>[A-Z]\w+(?: [A-Z]\w+)*) was born in (?P<object>\d{4})"],
}
# the floor times its own loop (start-up left out: it is most of a small file's time)
FLOOR = (
    "import orjson,sys,time\nt=time.perf_counter()\nfor line in open(sys.argv[1],'rb'):\n"
    "    orjson.loads(line)\nprint(time.perf_counter()-t)\n"
)


def make_corpus(path: Path, size_mb: float) -> int:
    sents = [json.loads(line)["text"] for line in (ROOT / "fixtures/patterns/enwiki_sentences.jsonl").open()]
    docs, cur = [], []
    for s in sents:
        cur.append(s)
        if sum(map(len, cur)) > 2000:
            docs.append(" ".join(cur))
            cur = []
    target, written, i = int(size_mb * 1e6), 0, 0
    with path.open("w") as fh:
        while written < target:
            line = json.dumps({"id": f"d{i}", "text": docs[i % len(docs)]}) + "\n"
            fh.write(line)
            written += len(line.encode())
            i += 1
    return written


def run(cmd: list[str]) -> tuple[float, float, int, bytes]:
    """Wall seconds, CPU seconds (user + system), peak RSS (bytes) and stdout of one process."""
    import resource

    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # from ROOT: `python -m` puts the working directory first on sys.path, before PYTHONPATH
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err.decode()}")
    # peak RSS of the child: RUSAGE_CHILDREN is a maximum over children, so measure one at a time
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu, after.ru_maxrss * 1024, out


def fmt(values: list[float], spec: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, spec) if lo == hi else f"{format(lo, spec)}-{format(hi, spec)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=8.0)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "wiki.jsonl"
        nbytes = make_corpus(corpus, args.size_mb)
        floor = Path(tmp) / "floor.py"
        floor.write_text(FLOOR)
        print(f"corpus: {nbytes / 1e6:.1f} MB of Wikipedia sentences in ~2 KB documents")
        head = ("configuration", "seconds", "CPU s", "MB/s", "floor MB/s", "ratio", "peak RSS MB")
        print(f"{head[0]:<22} {head[1]:>12} {head[2]:>12} {head[3]:>12} {head[4]:>12} {head[5]:>10} {head[6]:>12}")
        for name, opts in CONFIGS.items():
            secs, cpus, floors, rss = [], [], [], []
            for _ in range(args.repeat):
                cli = [sys.executable, "-m", "audit.cli", "corpus", str(corpus), *opts, "-j", "1", "-q", "--json"]
                t, c, m, _ = run(cli)
                _, _, _, out = run([sys.executable, str(floor), str(corpus)])
                f = float(out)
                secs.append(t)
                cpus.append(c)
                floors.append(nbytes / 1e6 / f)
                rss.append(m / 1e6)
            speeds = [nbytes / 1e6 / t for t in secs]
            ratios = [s / fl for s, fl in zip(speeds, floors, strict=True)]
            print(f"{name:<22} {fmt(secs, '.2f'):>12} {fmt(cpus, '.2f'):>12} {fmt(speeds, '.2f'):>12} "
                  f"{fmt(floors, '.1f'):>12} {fmt(ratios, '.3f'):>10} {fmt(rss, '.0f'):>12}")  # fmt: skip


if __name__ == "__main__":
    main()
