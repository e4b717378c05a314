"""Benchmark of ``hallu-audit outputs``: rows/s and peak RSS, each beside a same-run floor.

Generates N reference facts (names, numbers, years, full dates) and one answer per fact in the
shapes seen in practice (bare answers, sentences, hedges, alternatives, refusals, wrong values,
misspellings), then measures, each in its own process pinned to one core (``taskset -c 0``),
peak RSS from ``wait4``:

- the CLI as a user runs it, start-up included:
  ``python -m audit.cli outputs OUT.jsonl --refs REFS.jsonl -o report.json``, beside its floor:
  a process that starts, reads both files line by line and parses every line with orjson;
- in one process (start-up and reference loading left out): the in-process floor (read the
  outputs file, ``orjson.loads`` each line), grading (``audit.outputs.grade_outputs``: read +
  parse + match + grade) and the full report (``audit_outputs``: adds loading the references,
  bootstrap, calibration).

With ``--baseline TREE`` (another source tree, e.g. ``git worktree add /tmp/base <commit>``)
every measurement is also taken for that tree, interleaved, so both see the same load; the
speed ratio of the two is printed. Rates per CPU second (the child's user + system time) are
printed beside the wall-clock ones: on a loaded machine they move less. With ``--repeat R`` a
figure is the range over R rounds. It prints figures; it asserts nothing. Example::

    python bench/outputs_bench.py                              # 1,000,000 rows
    python bench/outputs_bench.py --rows 200000 --repeat 3 --baseline /tmp/base
    python bench/outputs_bench.py --rows 100000 --profile      # cProfile of grade_outputs
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent

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


#: The floor of the CLI: a process that starts, reads both inputs line by line and parses each
#: line with orjson (what any run must do), start-up included.
FLOOR = """
import sys, orjson
loads = orjson.loads
for path in sys.argv[1:]:
    with open(path, "rb", buffering=1 << 20) as fh:
        for line in fh:
            loads(line)
"""

#: The in-process figures, run in a child so that each source tree is timed the same way:
#: prints JSON seconds of the floor (read + orjson.loads of the outputs), of grade_outputs and
#: of audit_outputs, and the grade counts.
IN_PROCESS = """
import sys, time, json, orjson
from audit.facts import load_references
from audit.outputs import FactIndex, OutputsConfig, audit_outputs, grade_outputs
refs, outputs = sys.argv[1:3]
facts = load_references(refs)
index = FactIndex.build(facts)
config = OutputsConfig()
t0 = time.perf_counter()
n = 0
loads = orjson.loads
with open(outputs, "rb", buffering=1 << 20) as fh:
    for line in fh:
        loads(line)
        n += 1
floor_s = time.perf_counter() - t0
t0, c0 = time.perf_counter(), time.process_time()
graded = grade_outputs(outputs, index, config)
grade_s, grade_cpu = time.perf_counter() - t0, time.process_time() - c0
t0 = time.perf_counter()
report = audit_outputs(outputs, facts, config)
full_s = time.perf_counter() - t0
o = report.data["overall"]
print(json.dumps({"n": n, "floor": floor_s, "grade": grade_s, "grade_cpu": grade_cpu, "full": full_s,
                  "counts": [graded.overall.n, o["correct"], o["incorrect"], o["abstained"]]}))
"""


def measure(cmd: list[str], pin: bool, tree: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds, peak RSS (bytes) and stdout of one child process that runs
    the package of the source tree ``tree``; CPU and RSS are the child's own, from ``wait4``."""
    if pin:
        cmd = ["taskset", "-c", "0", *cmd]
    env = {**os.environ, "PYTHONPATH": str(tree) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        # run in the tree: `python -m` puts the working folder first on sys.path
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=tree)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise SystemExit(f"failed ({code}): {shlex.join(cmd)}\n{err.read().decode()}")
        return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, out.read().decode()


def span(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{format(lo, fmt)}-{format(hi, fmt)}"


def profile(refs: str, outputs: str) -> None:
    """cProfile of ``grade_outputs`` in this process, with this tree's package."""
    import cProfile
    import pstats

    sys.path.insert(0, str(ROOT))
    from audit.facts import load_references
    from audit.outputs import FactIndex, OutputsConfig, grade_outputs

    index = FactIndex.build(load_references(refs))
    prof = cProfile.Profile()
    prof.enable()
    grade_outputs(outputs, index, OutputsConfig())
    prof.disable()
    pstats.Stats(prof).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(25)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="answers (and facts) to generate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="rounds; a figure is the range over them")
    ap.add_argument("--baseline", metavar="TREE", help="another source tree, measured interleaved")
    ap.add_argument("--cores", default="1", help="1: pin each process to one core; all: no pinning")
    ap.add_argument("--profile", action="store_true", help="cProfile the grading pass instead")
    args = ap.parse_args()
    trees = [("this tree", ROOT)] + ([("baseline", Path(args.baseline).resolve())] if args.baseline else [])
    pin = args.cores == "1" and shutil.which("taskset") is not None
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        refs, outputs = generate(args.rows, tmp, args.seed)
        print(f"generated {args.rows:,} facts and answers in {time.perf_counter() - t0:.1f}s "
              f"({os.path.getsize(outputs) / 1e6:.0f} MB of outputs, "
              f"{os.path.getsize(refs) / 1e6:.0f} MB of references)")  # fmt: skip
        if args.profile:
            profile(refs, outputs)
            return
        report = os.path.join(tmp, "report.json")
        cli = [sys.executable, "-m", "audit.cli", "outputs", outputs, "--refs", refs, "-o", report]
        got: dict[str, dict[str, list[float]]] = {
            name: {k: [] for k in ("cli", "cli_cpu", "cli_rss", "floor", "grade", "grade_cpu", "full", "proc_rss")}
            for name, _ in trees
        }
        floors, floor_rss = [], []
        counts: dict[str, list[int]] = {}
        for _ in range(args.repeat):
            t, _, rss, _ = measure([sys.executable, "-c", FLOOR, refs, outputs], pin, ROOT)
            floors.append(t)
            floor_rss.append(rss)
            for name, tree in trees:  # interleaved, so both see the same load
                t, cpu, rss, _ = measure(cli, pin, tree)
                got[name]["cli"].append(t)
                got[name]["cli_cpu"].append(cpu)
                got[name]["cli_rss"].append(rss)
                t, _, rss, out = measure([sys.executable, "-c", IN_PROCESS, refs, outputs], pin, tree)
                figures = json.loads(out)
                for k in ("floor", "grade", "grade_cpu", "full"):
                    got[name][k].append(figures[k])
                got[name]["proc_rss"].append(rss)
                counts[name] = figures["counts"]
        n = args.rows
        print(f"# {'one core (taskset -c 0)' if pin else 'all cores'}, {args.repeat} round(s), "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")  # fmt: skip
        for name, _ in trees:
            g = got[name]
            graded, correct, incorrect, abstained = counts[name]
            print(f"{name}: graded {graded:,}: {correct:,} correct, {incorrect:,} incorrect, "
                  f"{abstained:,} abstained")  # fmt: skip
            cli_rate = [n / t for t in g["cli"]]
            print(f"  CLI (hallu-audit outputs, start-up included): {span(cli_rate, ',.0f'):>17} rows/s "
                  f"({span(g['cli'], '.2f')}s) = {span([f / t for f, t in zip(floors, g['cli'], strict=True)], '.3f')} "
                  f"x the floor; peak RSS {span([r / 2**20 for r in g['cli_rss']], '.0f')} MB; "
                  f"{span([n / t for t in g['cli_cpu']], ',.0f')} rows per CPU second")  # fmt: skip
            print(f"  in process: floor (read + orjson.loads) {span([n / t for t in g['floor']], ',.0f'):>17} rows/s")
            ratio = [f / t for f, t in zip(g["floor"], g["grade"], strict=True)]
            print(f"              grading (grade_outputs)      {span([n / t for t in g['grade']], ',.0f'):>17} rows/s "
                  f"= {span(ratio, '.3f')} x that floor; {span([n / t for t in g['grade_cpu']], ',.0f')} rows per CPU "
                  "second")  # fmt: skip
            print(f"              full report (audit_outputs)  {span([n / t for t in g['full']], ',.0f'):>17} rows/s; "
                  f"peak RSS {span([r / 2**20 for r in g['proc_rss']], '.0f')} MB")  # fmt: skip
        print(f"CLI floor (start, read + orjson.loads of both files): {span([n / t for t in floors], ',.0f')} rows/s "
              f"({span(floors, '.2f')}s); peak RSS {span([r / 2**20 for r in floor_rss], '.0f')} MB")  # fmt: skip
        if len(trees) > 1:
            b, a = got["baseline"], got["this tree"]
            pairs = (("cli", "CLI"), ("cli_cpu", "CLI, CPU time"), ("grade", "grading"),
                     ("grade_cpu", "grading, CPU time"), ("full", "full report"))  # fmt: skip
            for k, label in pairs:
                ratios = [x / y for x, y in zip(b[k], a[k], strict=True)]
                print(f"this tree / baseline speed, {label}: {span(ratios, '.3f')} (same rounds)")


if __name__ == "__main__":
    main()
