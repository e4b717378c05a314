"""Benchmark `hallu-audit corpus --facts`: throughput and peak memory beside a same-run floor.

The floor is the least any reader must do: read the same file line by line and JSON-parse each
line (orjson). Each measurement runs in its own process so peak RSS is its own. Figures are
printed, never asserted.

    python3 bench/corpus_bench.py                     # 200 MB corpus, 10k and 100k facts
    python3 bench/corpus_bench.py --size-mb 50 --facts 10000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile

SYLLABLES = "ka lo mi ra tu ve shi no za pe qui dro len mar tis gol bra fen uri ost yel".split()
FILLER = (
    "the of and in to a was is for on as with by he that at from his it an were are which this be "
    "or has had not first one their its new after but who they have her she two been other when "
    "there all during into school time may years more most only over city some world would where "
    "later up such used many can state about national out known university united then made"
).split()


def word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(n)).capitalize()


def make_facts(n: int, seed: int = 1) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    seen: set[str] = set()
    facts = []
    while len(facts) < n:
        subject = f"{word(rng, 2)} {word(rng, 3)}"
        if subject in seen:
            continue
        seen.add(subject)
        facts.append((subject, word(rng, 3)))
    return facts


def write_refs(facts: list[tuple[str, str]], path: str) -> None:
    with open(path, "w") as fh:
        for s, o in facts:
            fh.write(json.dumps({"subject": s, "relation": "capital", "object": o}) + "\n")


def write_corpus(facts: list[tuple[str, str]], path: str, size_mb: int, seed: int = 2) -> int:
    """Documents of ~3 KB: filler sentences plus a few fact statements (Zipf-distributed facts)."""
    rng = random.Random(seed)
    cum = list(itertools.accumulate(1 / (i + 1) ** 1.1 for i in range(len(facts))))
    target = size_mb * 1_000_000
    written = docs = 0
    with open(path, "w") as fh:
        while written < target:
            sents = [
                " ".join(rng.choices(FILLER, k=rng.randint(8, 25))).capitalize() + "."
                for _ in range(rng.randint(15, 35))
            ]
            for s, o in rng.choices(facts, cum_weights=cum, k=rng.randint(1, 4)):
                sents.insert(rng.randrange(len(sents) + 1), f"{o} is the capital of {s}.")
            line = json.dumps({"id": docs, "text": " ".join(sents)}) + "\n"
            fh.write(line)
            written += len(line)
            docs += 1
    return docs


CHILD_FLOOR = """
import orjson, sys, time
t = time.perf_counter(); n = 0
with open(sys.argv[1], "rb", buffering=1 << 20) as fh:
    for line in fh:
        n += len(orjson.loads(line)["text"]) > 0
print(time.perf_counter() - t, n)
"""
CHILD_CORPUS = """
import sys, time
from audit.corpus import make_job, scan
from audit.reading import expand_paths
job = make_job(facts_path=sys.argv[2], patterns=())
ex = job.extractor()
t = time.perf_counter()
p = scan(job, expand_paths([sys.argv[1]]), None, ex)
print(time.perf_counter() - t, p.read.documents, p.counter.stats().n)
"""


def run_child(code: str, *args: str) -> tuple[float, int, list[str]]:
    wrapper = code + "\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *args], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    first = out[0].split()
    return float(first[0]), int(out[1]) * 1024, first[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--facts", default="10000,100000")
    ap.add_argument("--keep", help="folder to keep the generated data in")
    args = ap.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="hallu-bench-")
    os.makedirs(folder, exist_ok=True)
    print(f"# corpus_bench: {args.size_mb} MB generated JSONL, one process per measurement, {os.cpu_count()} cores")
    columns = {"corpus MB": 9, "floor MB/s": 10, "corpus MB/s": 11, "docs/s": 9, "ratio": 6, "floor RSS": 10}
    columns |= {"corpus RSS": 11, "N": 10}
    print(f"{'facts':>8} " + " ".join(f"{c:>{w}}" for c, w in columns.items()))
    for n_facts in (int(x) for x in args.facts.split(",")):
        facts = make_facts(n_facts)
        refs = os.path.join(folder, f"refs-{n_facts}.jsonl")
        write_refs(facts, refs)
        for size in sorted({max(1, args.size_mb // 2), args.size_mb}):
            path = os.path.join(folder, f"corpus-{n_facts}-{size}.jsonl")
            if not os.path.exists(path):
                write_corpus(facts, path, size)
            mb = os.path.getsize(path) / 1e6
            t_floor, rss_floor, _ = run_child(CHILD_FLOOR, path)
            t_corpus, rss_corpus, extra = run_child(CHILD_CORPUS, path, refs)
            docs, n = int(extra[0]), int(float(extra[1]))
            print(
                f"{n_facts:>8} {mb:>9.0f} {mb / t_floor:>10.1f} {mb / t_corpus:>11.1f} {docs / t_corpus:>9.0f} "
                f"{t_floor / t_corpus:>6.2f} {rss_floor / 2**20:>8.0f}MB {rss_corpus / 2**20:>9.0f}MB {n:>10}",
                flush=True,
            )
    print("# ratio = corpus throughput / floor throughput (same file, same run); RSS = peak resident set")
    half = max(1, args.size_mb // 2)
    print(f"# peak RSS stays flat from {half} MB to {args.size_mb} MB when memory does not grow with corpus size")


if __name__ == "__main__":
    main()
