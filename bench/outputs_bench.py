"""Benchmark of ``hallu-audit outputs`` grading: rows/s and peak RSS, beside a baseline.

Generates N reference facts (names, numbers, years, full dates) and one answer per fact in the
shapes seen in practice (bare answers, sentences, hedges, alternatives, refusals, wrong values,
misspellings), then times, in one process and on one core:

- baseline: reading the outputs file and parsing every line with orjson;
- grading: ``audit.outputs.grade_outputs`` over the same file (read + parse + match + grade);
- report: the whole ``audit_outputs`` (adds loading the references, bootstrap, calibration).

It prints figures; it asserts nothing. Example::

    python bench/outputs_bench.py              # 1,000,000 rows
    python bench/outputs_bench.py --rows 100000 --profile
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time

import orjson

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from audit.facts import load_references  # noqa: E402
from audit.outputs import FactIndex, OutputsConfig, audit_outputs, grade_outputs  # noqa: E402

SYLL = ["ka", "lo", "mer", "san", "ti", "vor", "an", "bel", "dra", "qu", "es", "ton", "ri", "ma"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLL) for _ in range(rng.randint(2, 4))).capitalize()


def fact_and_answer(i: int, rng: random.Random) -> tuple[dict, str]:
    """One reference fact and one answer to it, in a shape drawn at random (also used by the
    differential test of the grader's fast paths)."""
    kind = rng.random()
    subject = f"{_name(rng)} {_name(rng)}"
    if kind < 0.55:
        obj = _name(rng)
        other = _name(rng)
        fact = {"id": f"capital/{i}", "subject": subject, "relation": "capital", "object": obj,
                "question": f"What is the capital of {subject}?"}  # fmt: skip
        answers = [obj, f"The capital of {subject} is {obj}.", f"{obj}.", other,
                   f"The capital of {subject} is {other}.", f"{obj} or {other}",
                   f"I think it might be {obj}, but I'm not sure.", "I don't know.",
                   f"{obj[:-1]}{obj[-1]}{obj[-1]}",  # misspelt
                   f"{subject} is a country with a long history."]  # fmt: skip
    elif kind < 0.7:
        value = rng.randint(2, 99_999)
        fact = {
            "id": f"count/{i}",
            "subject": subject,
            "relation": "population",
            "object": f"{value:,}",
        }
        answers = [str(value), f"About {value:,} people.", f"{value + 7:,}",
                   f"Between {value - 10} and {value}.", "The population is unknown."]  # fmt: skip
    elif kind < 0.85:
        year = rng.randint(1500, 2020)
        fact = {
            "id": f"founded/{i}",
            "subject": subject,
            "relation": "founded",
            "object": str(year),
        }
        answers = [str(year), f"It was founded in {year}.", f"{year} or {year + 1}",
                   f"In {year - 3}.", "It is an old institution."]  # fmt: skip
    else:
        y, m, d = rng.randint(1800, 2000), rng.randint(1, 12), rng.randint(1, 28)
        fact = {"id": f"born/{i}", "subject": subject, "relation": "birth_date",
                "object": f"{MONTHS[m - 1]} {d}, {y}"}  # fmt: skip
        answers = [f"{d} {MONTHS[m - 1]} {y}", f"{y}-{m:02d}-{d:02d}",
                   f"{subject} was born on {MONTHS[m - 1]} {d}, {y}.", f"Born in {y}.",
                   f"{MONTHS[m - 1]} {d % 28 + 1}, {y}", "I'm not sure."]  # fmt: skip
    return fact, rng.choice(answers)


def generate(n: int, folder: str, seed: int) -> tuple[str, str]:
    rng = random.Random(seed)
    refs, outputs = os.path.join(folder, "refs.jsonl"), os.path.join(folder, "outputs.jsonl")
    with open(refs, "wb") as rf, open(outputs, "wb") as of:
        for i in range(n):
            fact, answer = fact_and_answer(i, rng)
            rf.write(orjson.dumps(fact) + b"\n")
            of.write(orjson.dumps({"id": fact["id"], "answer": answer,
                                   "confidence": round(rng.random(), 3)}) + b"\n")  # fmt: skip
    return refs, outputs


def baseline(path: str) -> int:
    n = 0
    loads = orjson.loads
    with open(path, "rb", buffering=1 << 20) as fh:
        for line in fh:
            loads(line)
            n += 1
    return n


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000, help="answers (and facts) to generate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="cProfile the grading pass")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        refs, outputs = generate(args.rows, tmp, args.seed)
        print(f"generated {args.rows:,} facts and answers in {time.perf_counter() - t0:.1f}s "
              f"({os.path.getsize(outputs) / 1e6:.0f} MB of outputs)")  # fmt: skip
        facts = load_references(refs)
        index = FactIndex.build(facts)
        config = OutputsConfig()

        t0 = time.perf_counter()
        n = baseline(outputs)
        base_s = time.perf_counter() - t0

        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
        t0 = time.perf_counter()
        graded = grade_outputs(outputs, index, config)
        grade_s = time.perf_counter() - t0
        if args.profile:
            prof.disable()
            pstats.Stats(prof).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(25)

        t0 = time.perf_counter()
        report = audit_outputs(outputs, facts, config)
        full_s = time.perf_counter() - t0

        o = report.data["overall"]
        print(f"graded {graded.overall.n:,}: {o['correct']:,} correct, "
              f"{o['incorrect']:,} incorrect, {o['abstained']:,} abstained")  # fmt: skip
        print(f"baseline (read + orjson.loads): {n / base_s:>12,.0f} rows/s  ({base_s:.2f}s)")
        print(f"grading (grade_outputs):        {n / grade_s:>12,.0f} rows/s  ({grade_s:.2f}s)  "
              f"= {base_s / grade_s:.3f} x baseline")  # fmt: skip
        print(f"full report (audit_outputs):    {n / full_s:>12,.0f} rows/s  ({full_s:.2f}s)")
        print(f"peak RSS: {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
