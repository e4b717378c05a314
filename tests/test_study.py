"""The study end to end at test size: simulate -> corpus -> predict -> train -> answer -> outputs.

Two architectures, two training lengths, two seeds, two singleton rates, trained two at a time
(the process pool the full run uses). Needs the ``study`` extra (torch, matplotlib); skipped
without it.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from tests.conftest import ROOT

torch = pytest.importorskip("torch", reason="the study needs torch: pip install -e '.[study]'")
pytest.importorskip("matplotlib", reason="the study needs matplotlib: pip install -e '.[study]'")


def load_study():
    if "run_study" in sys.modules:  # one module object: worker processes pickle its classes
        return sys.modules["run_study"]
    spec = importlib.util.spec_from_file_location("run_study", ROOT / "study" / "run_study.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses (and the worker processes) look it up there
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    study = load_study()
    out = tmp_path_factory.mktemp("study")
    threads = torch.get_num_threads()
    try:
        rows, trows = study.main(["--size", "test", "--jobs", "2", "--out", str(out), "--quiet"])
    finally:
        torch.set_num_threads(threads)
    return study, out, rows, trows


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_one_row_per_rate_architecture_length_seed_on_shared_corpora(run):
    study, out, rows, _ = run
    size = study.SIZES["test"]
    keys = {(r.target_sr, r.arch, r.epochs, r.seed) for r in rows}
    assert len(rows) == len(keys) == len(size.targets) * len(size.models) * len(size.epochs) * len(size.seeds)
    assert {r.arch for r in rows} == {"transformer", "lstm"}
    by_corpus = defaultdict(set)
    for r in rows:
        by_corpus[(r.target_sr, r.seed)].add((r.N, r.N1, r.sr, r.eval_draws, r.eval_unseen))
    # every model of a seed saw the same corpus and answered the same evaluation draws
    assert all(len(v) == 1 for v in by_corpus.values())
    # ... and the seeds' corpora differ
    for target in size.targets:
        assert len({by_corpus[(target, s)].pop()[1] for s in size.seeds}) == len(size.seeds)
    for r in rows:
        assert abs(r.sr - r.target_sr) < 0.05 and size.mentions == r.N
        # At N = 2000 Theorem 2's penalty 6 ln(3N/gamma)/sqrt(N) exceeds 1: always vacuous.
        assert r.vacuous and r.lower_bound is None and r.n_needed > r.N and r.verdict == "vacuous"
        # Nobody can know a random birth date it never saw: accuracy is at most the share of
        # draws seen in training (plus a lucky guess), whether the model answers or abstains.
        assert r.lm_accuracy <= 1 - r.eval_unseen + 0.01
        assert r.memoriser_error == pytest.approx(r.eval_unseen * (1 - 1 / 36524))
        assert r.lm_accuracy + r.lm_hallucination + r.lm_abstention == pytest.approx(1)
        assert r.train_epochs == pytest.approx(r.epochs, rel=0.1) and r.params > 0
    table = read_csv(out / "results.csv")
    assert len(table) == len(rows) and list(table[0]) == list(study.COLUMNS)
    assert {"target_sr", "arch", "epochs", "seed"} <= set(table[0])


def reference_grades(work: Path, row) -> tuple[list[float], list[int], list[int]]:
    """(confidence, grade, draws) per evaluation prompt, graded here: 0 the true date's words in
    order, 2 no digit at all (no date: ``outputs`` counts "on on on" as not attempted), 1 else."""
    d = work / f"sr-{row.target_sr:.2f}-seed-{row.seed}"
    truth = {}
    for line in (d / "refs.jsonl").read_bytes().splitlines():
        fact = orjson.loads(line)
        truth[fact["id"]] = fact["object"].split()
    weight = {e["id"]: e["weight"] for e in map(orjson.loads, (d / "eval.jsonl").read_bytes().splitlines())}
    conf, grade, draws = [], [], []
    for line in (d / f"{row.arch}-{row.epochs:g}ep" / "answers.jsonl").read_bytes().splitlines():
        a = orjson.loads(line)
        words, want = a["answer"].split(), truth[a["id"]]
        hit = any(words[i : i + len(want)] == want for i in range(len(words)))
        conf.append(a["confidence"])
        draws.append(weight[a["id"]])
        grade.append(0 if hit else 1 if any(ch.isdigit() for ch in a["answer"]) else 2)
    assert len(draws) == len(weight), "one answer per distinct evaluation prompt"
    return conf, grade, draws


def test_threshold_scores_match_a_brute_force_grading_of_the_answers(run):
    study, out, rows, trows = run
    assert len(trows) == len(rows) * len(study.TARGETS) * 2
    table = read_csv(out / "thresholds.csv")
    assert len(table) == len(trows) and list(table[0]) == list(study.THRESHOLD_COLUMNS)
    by_key = {(t.target_sr, t.arch, t.epochs, t.seed, t.t, t.policy): t for t in trows}
    answering = 0
    for r in rows:
        conf, grade, draws = reference_grades(out / "work", r)
        n = len(grade)
        assert n == r.eval_prompts and sum(draws) == r.eval_draws
        answering += grade.count(2) < n
        for t in study.TARGETS:
            pen = t / (1 - t)
            c, i = grade.count(0), grade.count(1)
            always = by_key[(r.target_sr, r.arch, r.epochs, r.seed, t, "always")]
            assert always.score == pytest.approx((c - pen * i) / n)
            assert always.answered == pytest.approx((c + i) / n)
            assert always.penalty == pytest.approx(pen)
            ck = sum(1 for q, g in zip(conf, grade, strict=True) if g == 0 and q > t)
            ik = sum(1 for q, g in zip(conf, grade, strict=True) if g == 1 and q > t)
            thr = by_key[(r.target_sr, r.arch, r.epochs, r.seed, t, "threshold")]
            assert thr.score == pytest.approx((ck - pen * ik) / n)
            assert thr.answered == pytest.approx((ck + ik) / n)
            if ck + ik:
                assert thr.accuracy_answered == pytest.approx(ck / (ck + ik))
                assert thr.error_answered == pytest.approx(ik / (ck + ik))
            else:
                assert thr.accuracy_answered is None
            assert thr.delta == r.delta and thr.ece == r.ece
        # the grading agrees with results.csv too: per prompt, and weighted by the draws
        assert r.prompt_hallucination == pytest.approx(grade.count(1) / n)
        wrong = sum(w for g, w in zip(grade, draws, strict=True) if g == 1)
        assert r.lm_hallucination == pytest.approx(wrong / sum(draws))
        right = sum(w for g, w in zip(grade, draws, strict=True) if g == 0)
        assert r.lm_accuracy == pytest.approx(right / sum(draws))
        unseen = sum(1 for e in map(orjson.loads, (out / "work" / f"sr-{r.target_sr:.2f}-seed-{r.seed}" / "eval.jsonl")
                                    .read_bytes().splitlines()) if e["train_count"] == 0)  # fmt: skip
        assert r.prompt_memoriser_error == pytest.approx(unseen / n * (1 - 1 / 36524))
    assert answering >= len(rows) // 2, "most test-size models should answer something"


def test_summaries_plots_and_run_record(run):
    study, out, rows, trows = run
    md = (out / "results.md").read_text()
    assert md.count("| transformer, 6 epochs |") == 2 + 2 + 2 * len(study.TARGETS) + 2
    assert "TEST-SIZE" in md and "vacuous" in md
    for name in ("plot.png", "thresholds.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = orjson.loads((out / "run.json").read_bytes())
    assert meta["command"] == "python study/run_study.py --size test --jobs 2"
    assert meta["seeds"] == [1, 2] and meta["size"] == "test"
    assert "CPU cores" in meta["hardware"] and "2 training job(s)" in meta["hardware"]
    assert len(meta["load_start"]) == 3 and meta["elapsed_s"] > 0
    assert len(meta["rows"]) == len(rows) and len(meta["thresholds"]) == len(trows)
    assert meta["trained_by"] == [meta["code"]]
    # --replot rebuilds the same tables from run.json alone
    before = {n: (out / n).read_bytes() for n in ("results.csv", "thresholds.csv", "results.md")}
    study.main(["--replot", "--out", str(out)])
    assert {n: (out / n).read_bytes() for n in before} == before


def test_mean_ci_matches_a_hand_computed_t_interval():
    study = load_study()
    m, lo, hi = study.mean_ci([0.2, 0.4, 0.6])
    # mean 0.4, sd 0.2, t(0.975, 2) = 4.303: half-width 4.303 * 0.2 / sqrt(3) = 0.49687
    assert m == pytest.approx(0.4) and hi - m == pytest.approx(0.49687, abs=1e-5)
    assert lo == pytest.approx(0.4 - 0.49687, abs=1e-5)
    assert study.mean_ci([0.3]) == (0.3, None, None) and study.mean_ci([None]) == (None, None, None)


def test_a_second_run_keeps_the_trained_answers_and_grades_them_again(run, tmp_path):
    study, out, rows, trows = run
    threads = torch.get_num_threads()
    try:
        again, tagain = study.main(["--size", "test", "--jobs", "2", "--out", str(out), "--quiet"])
    finally:
        torch.set_num_threads(threads)
    assert [r.train_seconds for r in again] == [r.train_seconds for r in rows]  # not trained again
    assert again == rows and tagain == trows
