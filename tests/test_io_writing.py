"""Outputs never destroy what is at the target path: atomic for regular files, written in place
for devices and FIFOs, through symlinks, `-` for stdout; inputs are never overwritten; every
output's folder is checked before the scan, and an error after it still writes the rest."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import orjson
import pytest

from audit.errors import InputError
from audit.io.writing import open_output
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "corpus" / "sample.jsonl"
REFS = FIXTURES / "refs" / "capitals.jsonl"
ANSWERS = FIXTURES / "outputs" / "sample_answers.jsonl"


def corpus(cli, *args):
    return cli("corpus", CORPUS, "-f", REFS, "-q", "-j", "1", *args)


def char_device(tmp_path: Path, name: str, minor: int) -> Path:
    """A private copy of /dev/null (minor 3) or /dev/full (minor 7) when we may create one,
    so that a failing write never touches the machine's own /dev; else the real one."""
    path = tmp_path / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except (PermissionError, OSError):
        return Path(f"/dev/{name}")
    return path


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_character_device_is_written_in_place_not_replaced(cli, tmp_path):
    null = char_device(tmp_path, "null", 3)
    result = corpus(cli, "-o", null, "--per-fact", null)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert no_temp_files(null.parent)


def test_fifo_is_written_in_place(cli, tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = corpus(cli, "-o", fifo)
    reader.join(timeout=60)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert orjson.loads(got[0])["kind"] == "hallu-audit/corpus-report"


def test_symlink_is_written_through_and_kept(cli, tmp_path):
    real = tmp_path / "real" / "report.json"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    result = corpus(cli, "-o", link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert orjson.loads(real.read_bytes())["kind"] == "hallu-audit/corpus-report"
    assert no_temp_files(real.parent) and no_temp_files(tmp_path)


def test_dash_and_dev_stdout_mean_stdout_for_every_file_option(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for target in ("-", "/dev/stdout"):
        result = corpus(cli, "--per-fact", target)
        assert result.exit_code == 0, result.stderr
        rows = [orjson.loads(line) for line in result.stdout.splitlines()]
        assert rows[0]["kind"] == "hallu-audit/per-fact"  # the header line, then one row a fact
        assert len(rows) == 1 + 248 and {"id", "relation", "count"} <= set(rows[1])
    assert not (tmp_path / "-").exists()
    result = cli("outputs", ANSWERS, "-r", REFS, "-q", "--bootstrap", "0", "--grades", "-")
    assert result.exit_code in (0, 1), result.stderr
    grades = [orjson.loads(line) for line in result.stdout.splitlines()]
    # one grade per fact answered: a repeated id is a bad row, not a second grade
    ids = {orjson.loads(line)["id"] for line in ANSWERS.read_bytes().splitlines() if line.strip()}
    assert len(grades) == len(ids)


def test_existing_file_keeps_its_mode_and_new_file_gets_the_umask(cli, tmp_path):
    existing = tmp_path / "existing.json"
    existing.write_bytes(b"{}")
    existing.chmod(0o644)
    old = os.umask(0o027)
    try:
        result = corpus(cli, "-o", existing, "--per-fact", tmp_path / "new.jsonl")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "new.jsonl").stat().st_mode) == 0o640
    assert orjson.loads(existing.read_bytes())["kind"] == "hallu-audit/corpus-report"


def test_failed_write_leaves_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "keep.json"
    target.write_bytes(b"precious")
    with pytest.raises(RuntimeError), open_output(str(target)) as fh:
        fh.write(b"half")
        raise RuntimeError("stop")
    assert target.read_bytes() == b"precious"
    assert no_temp_files(tmp_path)


def test_grades_of_a_failed_strict_run_leave_the_old_file(cli, tmp_path):
    grades = tmp_path / "grades.jsonl"
    grades.write_bytes(b"precious\n")
    bad = FIXTURES / "outputs" / "bad_rows.jsonl"
    result = cli("outputs", bad, "-r", REFS, "-q", "--strict", "--grades", grades)
    assert result.exit_code == 3
    assert grades.read_bytes() == b"precious\n"
    assert no_temp_files(tmp_path)


@pytest.mark.parametrize("mode", [["-p", "capital"], ["-f", str(REFS)]])
def test_mentions_of_a_run_that_counted_nothing_leave_the_old_file(cli, tmp_path, mode):
    # every record lacks the text field: exit 3, and the streamed --mentions file is not committed
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text('{"txt": "Paris is the capital of France."}\n' * 3)
    kept = {name: tmp_path / name for name in ("mentions.jsonl", "per-fact.jsonl", "report.json")}
    for path in kept.values():
        path.write_bytes(b"precious\n")
    result = cli("corpus", corpus, *mode, "-q", "--mentions", kept["mentions.jsonl"],
                 "--per-fact", kept["per-fact.jsonl"], "-o", kept["report.json"])  # fmt: skip
    assert result.exit_code == 3 and "no record has a 'text' field" in result.stderr
    assert {name: path.read_bytes() for name, path in kept.items()} == dict.fromkeys(kept, b"precious\n")
    assert no_temp_files(tmp_path)


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_output_that_is_an_input_is_refused_before_work(cli, tmp_path, how):
    answers = tmp_path / "answers.jsonl"
    answers.write_bytes(ANSWERS.read_bytes())
    target = answers
    if how == "symlink":
        target = tmp_path / "alias.jsonl"
        target.symlink_to(answers)
    elif how == "hardlink":
        target = tmp_path / "alias.jsonl"
        os.link(answers, target)
    result = cli("outputs", answers, "-r", REFS, "-q", "--grades", target)
    assert result.exit_code == 2
    assert "--grades" in result.stderr and "input" in result.stderr
    assert answers.read_bytes() == ANSWERS.read_bytes()


def test_predict_refuses_to_overwrite_its_report(cli, tmp_path):
    report = tmp_path / "rep.json"
    assert corpus(cli, "-o", report).exit_code == 0
    before = report.read_bytes()
    result = cli("predict", report, "-a", "10", "-q", "-o", report)
    assert result.exit_code == 2 and "--output" in result.stderr
    assert report.read_bytes() == before


def test_corpus_refuses_to_overwrite_an_input_or_the_table(cli, tmp_path):
    data = tmp_path / "t.jsonl"
    data.write_bytes(CORPUS.read_bytes())
    refs = tmp_path / "refs.jsonl"
    refs.write_bytes(REFS.read_bytes())
    for args in (["-o", data], ["--per-fact", refs], ["--sketch-out", data]):
        result = cli("corpus", tmp_path, "-f", refs, "-q", *args)
        assert result.exit_code == 2, (args, result.stderr)
    assert data.read_bytes() == CORPUS.read_bytes() and refs.read_bytes() == REFS.read_bytes()


def test_two_outputs_on_one_file_are_refused(cli, tmp_path):
    result = corpus(cli, "-o", tmp_path / "x.json", "--per-fact", tmp_path / "x.json")
    assert result.exit_code == 2 and "--per-fact" in result.stderr
    assert not (tmp_path / "x.json").exists()
    result = corpus(cli, "-o", "-", "--per-fact", "/dev/stdout")
    assert result.exit_code == 2 and "stdout" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("option", ["--per-fact", "--sketch-out", "-o"])
def test_missing_output_folder_is_a_usage_error_before_the_scan(cli, tmp_path, option):
    report = tmp_path / "report.json"
    args = [option, tmp_path / "nodir" / "out"]
    if option != "-o":
        args += ["-o", report]
    result = corpus(cli, *args)
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert not report.exists()  # refused before the scan: nothing was written


def test_merge_and_outputs_check_their_folders_too(cli, tmp_path):
    part = tmp_path / "p.sketch"
    assert corpus(cli, "--sketch-out", part).exit_code == 0
    result = cli("merge", part, "--per-fact", tmp_path / "nodir" / "pf.jsonl", "-q")
    assert result.exit_code == 2 and "--per-fact" in result.stderr
    result = cli("outputs", ANSWERS, "-r", REFS, "-q", "--junit", tmp_path / "nodir" / "j.xml")
    assert result.exit_code == 2 and "--junit" in result.stderr
    result = cli("outputs", ANSWERS, "-r", REFS, "-q", "-o", tmp_path)
    assert result.exit_code == 2 and "folder" in result.stderr


def test_error_after_the_scan_writes_the_rest_and_names_the_failure(cli, tmp_path):
    full = char_device(tmp_path, "full", 7)
    report = tmp_path / "report.json"
    result = corpus(cli, "--per-fact", full, "-o", report)
    assert result.exit_code == 3
    assert str(full) in result.stderr and "per-fact" in result.stderr
    assert orjson.loads(report.read_bytes())["kind"] == "hallu-audit/corpus-report"
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_open_output_names_the_path_on_os_errors(tmp_path):
    full = char_device(tmp_path, "full", 7)
    with pytest.raises(InputError, match="cannot write grades"), open_output(str(full), "grades") as fh:
        fh.write(b"x" * (1 << 16))
        fh.flush()


def test_a_grades_file_that_cannot_be_written_does_not_cost_the_report(cli, tmp_path):
    full = char_device(tmp_path, "full", 7)
    report, junit = tmp_path / "graded.json", tmp_path / "graded.xml"
    result = cli("outputs", ANSWERS, "-r", REFS, "-q", "--grades", full, "-o", report, "--junit", junit)
    assert result.exit_code == 3
    assert str(full) in result.stderr and "grades" in result.stderr
    assert "Traceback" not in result.stderr
    doc = orjson.loads(report.read_bytes())
    assert doc["kind"] == "hallu-audit/outputs-report" and doc["rows"]["graded"] > 0
    assert junit.read_bytes().startswith(b"<?xml")
    assert stat.S_ISCHR(os.stat(full).st_mode)
