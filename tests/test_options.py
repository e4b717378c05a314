"""Every option is checked before any work: a bad value is a usage error (exit 2) in click's own
words ("Invalid value for '--x': ..."), never a traceback, never exit 1 (a failed gate) or 3."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import FIXTURES

CORPUS = FIXTURES / "corpus" / "sample.jsonl"
REFS = FIXTURES / "refs" / "capitals.jsonl"
ANSWERS = FIXTURES / "outputs" / "sample_answers.jsonl"


def usage_error(result, option: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    assert "Invalid value for" in result.stderr and option in result.stderr, result.stderr


@pytest.mark.parametrize(
    "args, option",
    [
        (["--max-memory", "inf"], "--max-memory"),
        (["--max-memory", "-5G"], "--max-memory"),
        (["--max-memory", "nan"], "--max-memory"),
        (["--max-memory", "0"], "--max-memory"),
        (["--max-memory", "lots"], "--max-memory"),
        (["--max-facts", str(10**23)], "--max-facts"),
        (["--max-facts", "0"], "--max-facts"),
        (["--max-facts", "10", "--max-memory", "1G"], "--max-memory"),
        (["-j", "-1"], "--workers"),
        (["--scope", "window"], "--window"),
        (["--scope", "paragraph"], "--scope"),
        (["--window", "-3"], "--window"),
        (["--dedup", "fuzzy"], "--dedup"),
        (["--format", "csv"], "--format"),
        (["--dedup", "minhash", "--minhash-perm", "0"], "--minhash-perm"),
        (["--dedup", "minhash", "--minhash-threshold", "1.5"], "--minhash-threshold"),
        (["--engine", "ray"], "--engine"),
        (["--engine", "dask"], "--scheduler"),
        (["--confidence", "1"], "--confidence"),
    ],
)
def test_corpus_options(cli, tmp_path, args, option):
    report = tmp_path / "report.json"
    result = cli("corpus", CORPUS, "-f", REFS, "-q", "-o", report, "--sketch-out", tmp_path / "p.sketch", *args)
    usage_error(result, option)
    assert not report.exists()


@pytest.mark.parametrize(
    "args, option",
    [
        (["--seed", "-1"], "--seed"),
        (["--bootstrap", str(10**10)], "--bootstrap"),
        (["--bootstrap", "-1"], "--bootstrap"),
        (["--fuzzy", "101"], "--fuzzy"),
        (["--targets", "0.5,1"], "--targets"),
        (["--max-hallucination", "2"], "--max-hallucination"),
        (["--max-regression", "0.1"], "--max-regression"),
        (["--min-score", "0.5:nan"], "--min-score"),
        (["--min-errors", "inf"], "--min-errors"),
        (["--fuzzy", "nan"], "--fuzzy"),
        # NaN passes every min/max comparison: each float option refuses it itself
        (["--max-hallucination", "nan"], "--max-hallucination"),
        (["--min-accuracy", "nan"], "--min-accuracy"),
        (["--min-coverage", "nan"], "--min-coverage"),
        (["--min-errors", "nan"], "--min-errors"),
    ],
)
def test_outputs_options(cli, args, option):
    usage_error(cli("outputs", ANSWERS, "-r", REFS, "-q", *args), option)


def test_bootstrap_at_its_cap_still_runs(cli):
    result = cli("outputs", ANSWERS, "-r", REFS, "-q", "--json", "--bootstrap", "1000000", "--seed", "3")
    assert result.exit_code in (0, 1), result.stderr
    low, high = orjson.loads(result.stdout)["overall"]["intervals"]["accuracy"]
    assert 0 <= low <= high <= 1


def test_baseline_with_non_numeric_fields_is_bad_input(cli, tmp_path):
    good = cli("outputs", ANSWERS, "-r", REFS, "-q", "--json", "--bootstrap", "0")
    doc = orjson.loads(good.stdout)
    doc["overall"]["accuracy"] = "high"
    doc["overall"]["hallucination_rate"] = [0.1]
    base = tmp_path / "base.json"
    base.write_bytes(orjson.dumps(doc))
    result = cli("outputs", ANSWERS, "-r", REFS, "-q", "--baseline", base, "--max-regression", "0.1")
    assert result.exit_code == 3 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(base) in lines[0] and "accuracy" in lines[0]


@pytest.mark.parametrize(
    "args, option",
    [
        (["-a", "1e300"], "--answers"),
        (["-a", str(10**300)], "--answers"),
        (["-a", "1"], "--answers"),
        (["-a", "many"], "--answers"),
        (["--confidence", "0"], "--confidence"),
        (["--calibration", "2"], "--calibration"),
        (["--calibration", "nan"], "--calibration"),
    ],
)
def test_predict_options(cli, tmp_path, args, option):
    report = tmp_path / "rep.json"
    assert cli("corpus", CORPUS, "-f", REFS, "-q", "-o", report).exit_code == 0
    usage_error(cli("predict", report, "-q", *args), option)


def test_predict_report_with_huge_n_is_bad_input(cli, tmp_path):
    report = tmp_path / "rep.json"
    assert cli("corpus", CORPUS, "-f", REFS, "-q", "-o", report).exit_code == 0
    doc = orjson.loads(report.read_bytes())
    doc["overall"]["N"] = 1e300
    report.write_bytes(orjson.dumps(doc))
    result = cli("predict", report, "-a", "10", "-q")
    assert result.exit_code == 3 and "Traceback" not in result.stderr
    assert "overall.N" in result.stderr


def test_simulate_into_a_file_is_a_usage_error(cli, tmp_path):
    target = tmp_path / "afile"
    target.write_bytes(b"keep")
    usage_error(cli("simulate", target, "-n", "100", "-q"), "OUT_DIR")
    assert target.read_bytes() == b"keep"


def test_simulate_bad_seed_leaves_no_folder(cli, tmp_path):
    out = tmp_path / "sim"
    usage_error(cli("simulate", out, "--seed", "-5", "-n", "100", "-q"), "--seed")
    assert not out.exists()
