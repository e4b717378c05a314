"""Inputs under faults: streams (FIFOs, <(...), /dev/stdin), unreadable folder entries, the same
file twice, the same corpus in three compressions, records without a cap, corrupt Parquet row
groups, byte order marks, runs in which every record was bad, an empty reference table."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from audit.reading import ReadOptions, ReadStats, Source, iter_documents
from tests.conftest import FIXTURES, ROOT

CORPUS = FIXTURES / "corpus" / "sample.jsonl"
REFS = FIXTURES / "refs" / "capitals.jsonl"
ANSWERS = FIXTURES / "outputs" / "sample_answers.jsonl"


def report_of(cli, *args) -> dict:
    result = cli("corpus", *args, "-f", REFS, "--json", "-q", "-j", "1")
    assert result.exit_code == 0, result.stderr
    return orjson.loads(result.stdout)


@pytest.fixture(scope="module")
def baseline_n():
    """N of the sample corpus read as a plain file (the reference for every other way in)."""
    from typer.testing import CliRunner

    from audit.cli import app

    out = CliRunner().invoke(app, ["corpus", str(CORPUS), "-f", str(REFS), "--json", "-q"])
    doc = orjson.loads(out.stdout)
    assert doc["overall"]["N"] > 100
    return doc["overall"]["N"], doc["inputs"]["documents"]


def test_fifo_input_streams(cli, tmp_path, baseline_n):
    fifo = tmp_path / "corpus.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(CORPUS.read_bytes()))
    writer.start()
    doc = report_of(cli, fifo)
    writer.join(timeout=60)
    assert (doc["overall"]["N"], doc["inputs"]["documents"]) == baseline_n


@pytest.mark.parametrize("how", ["{run} <(cat {c})", "cat {c} | {run} /dev/stdin"])
def test_process_substitution_and_dev_stdin_stream(how, baseline_n):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = f"{sys.executable} -m audit.cli corpus"
    command = how.format(run=run, c=CORPUS) + f" -f {REFS} --json -q -j 2"
    out = subprocess.run(["bash", "-c", command], capture_output=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = orjson.loads(out.stdout)
    assert (doc["overall"]["N"], doc["inputs"]["documents"]) == baseline_n


def test_dangling_symlink_and_loop_in_a_folder_are_skipped_and_counted(cli, tmp_path, baseline_n):
    (tmp_path / "good.jsonl").write_bytes(CORPUS.read_bytes())
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    (tmp_path / "loop.jsonl").symlink_to(tmp_path / "loop.jsonl")
    result = cli("corpus", tmp_path, "-f", REFS, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    doc = orjson.loads(result.stdout)
    assert doc["overall"]["N"] == baseline_n[0]
    bad = doc["inputs"]["bad_sources"]
    assert bad["count"] == 2
    assert any("gone.jsonl" in e and "dangling" in e for e in bad["examples"])
    assert any("loop.jsonl" in e and "loop" in e for e in bad["examples"])
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2 and "Traceback" not in result.stderr


def test_the_same_file_twice_is_read_once(cli, tmp_path, baseline_n):
    link = tmp_path / "alias.jsonl"
    link.symlink_to(CORPUS)
    result = cli("corpus", CORPUS, CORPUS, link, "-f", REFS, "--json", "-q")
    assert result.exit_code == 0
    doc = orjson.loads(result.stdout)
    assert (doc["overall"]["N"], doc["inputs"]["documents"]) == baseline_n
    assert doc["inputs"]["sources"] == [str(CORPUS)]
    assert result.stderr.count("read once") == 2


def test_one_corpus_in_three_compressions_is_warned_about(cli, tmp_path, baseline_n):
    data = CORPUS.read_bytes()
    (tmp_path / "x.jsonl").write_bytes(data)
    (tmp_path / "x.jsonl.gz").write_bytes(gzip.compress(data))
    (tmp_path / "x.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    (tmp_path / "other.jsonl").write_bytes(data[: len(data) // 2])
    result = cli("corpus", tmp_path, "-f", REFS, "--json", "-q")
    assert result.exit_code == 0
    doc = orjson.loads(result.stdout)
    assert doc["overall"]["N"] > 3 * baseline_n[0]  # all counted (it is a warning), plus half a copy
    groups = doc["inputs"]["duplicate_content"]
    assert [sorted(Path(p).name for p in g) for g in groups] == [["x.jsonl", "x.jsonl.gz", "x.jsonl.zst"]]
    assert "same content" in result.stderr


def zeros_gz(path: Path, zeros: int, tail: bytes) -> None:
    with gzip.open(path, "wb", compresslevel=1) as fh:
        block = b"0" * (1 << 20)
        for _ in range(zeros >> 20):
            fh.write(block)
        fh.write(tail)


def test_a_record_over_the_cap_is_counted_and_skipped(cli, tmp_path):
    path = tmp_path / "zeros.jsonl.gz"
    good = json.dumps({"text": "Paris is the capital of France."}).encode()
    zeros_gz(path, 8 << 20, b"\n" + good + b"\n")
    result = cli("corpus", path, "-f", REFS, "--json", "-q", "--max-record-bytes", "1M")
    assert result.exit_code == 0, result.stderr
    doc = orjson.loads(result.stdout)
    assert doc["inputs"]["bad_records"]["by_reason"]["too_long"] == {"count": 1, "examples": [f"{path}:1"]}
    assert doc["inputs"]["documents"] == 1 and doc["overall"]["N"] == 1
    assert doc["inputs"]["bytes"] == (8 << 20) + 1 + len(good) + 1
    strict = cli("corpus", path, "-f", REFS, "-q", "--strict", "--max-record-bytes", "1M")
    assert strict.exit_code == 3 and f"{path}:1" in strict.stderr and "max-record-bytes" in strict.stderr


def test_skipping_a_long_record_holds_memory_to_the_cap(tmp_path):
    path = tmp_path / "zeros.jsonl.gz"
    zeros_gz(path, 48 << 20, b"\n{\"text\": \"x\"}\n")
    stats = ReadStats()
    tracemalloc.start()
    docs = list(iter_documents([Source(str(path))], ReadOptions(max_record_bytes=1 << 20), stats))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [d.text for d in docs] == ["x"] and stats.bad["too_long"].count == 1
    assert peak < 8 << 20, peak  # a 48 MB line, read in pieces of at most 1 MB


def test_a_line_of_exactly_the_cap_is_kept(cli, tmp_path):
    row = json.dumps({"text": "Paris is the capital of France. " + "x" * 100}).encode()
    path = tmp_path / "c.jsonl"
    path.write_bytes(row + b"\n" + row)
    doc = report_of(cli, path, "--max-record-bytes", str(len(row)))
    assert doc["inputs"]["documents"] == 2 and doc["inputs"]["bad_records"]["total"] == 0
    result = cli("corpus", path, "-f", REFS, "-q", "--max-record-bytes", str(len(row) - 1))
    assert result.exit_code == 3 and "too_long 2" in result.stderr  # both over: nothing counted


def test_corrupt_parquet_row_group_loses_only_its_rows(cli, tmp_path):
    path = tmp_path / "c.parquet"
    texts = [f"Paris is the capital of France, row {i}." for i in range(1100)]
    pq.write_table(pa.table({"text": texts}), path, row_group_size=100, compression="none")
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 11
    col = meta.row_group(5).column(0)
    start = col.dictionary_page_offset or col.data_page_offset
    raw = bytearray(path.read_bytes())
    raw[start : start + 64] = b"\xff" * 64  # the page header of row group 5 is garbage
    path.write_bytes(bytes(raw))
    doc = report_of(cli, path)
    assert doc["inputs"]["documents"] == 1000 and doc["overall"]["N"] == 1000
    bad = doc["inputs"]["bad_records"]["by_reason"]["corrupt_row_group"]
    assert bad == {"count": 100, "examples": [f"{path}:row-group 5"]}


@pytest.mark.parametrize("name", ["c.jsonl", "c.txt"])
def test_utf8_byte_order_mark_is_stripped(cli, tmp_path, name):
    text = "Paris is the capital of France."
    line = json.dumps({"text": text}) if name.endswith("jsonl") else text
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\n" + line.encode() + b"\n")
    doc = report_of(cli, path)
    assert doc["inputs"]["documents"] == 2 and doc["inputs"]["bad_records"]["total"] == 0
    assert doc["overall"]["N"] == 2


def test_a_run_where_every_record_was_bad_fails_naming_the_fields(cli, tmp_path):
    report = tmp_path / "r.json"
    result = cli("corpus", CORPUS, "-f", REFS, "-q", "--text-field", "body", "-o", report)
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'body'" in lines[0] and "id, text" in lines[0]
    assert not report.exists()


def test_every_line_invalid_json_fails(cli, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"not json\n{broken\n")
    result = cli("corpus", path, "-f", REFS, "-q")
    assert result.exit_code == 3 and "invalid_json 2" in result.stderr


def test_empty_reference_table_is_bad_input(cli, tmp_path):
    empty = tmp_path / "refs.jsonl"
    empty.write_bytes(b"\n\n")
    for args in (["corpus", CORPUS, "-f", empty], ["outputs", ANSWERS, "-r", empty]):
        result = cli(*args, "-q")
        assert result.exit_code == 3 and "no facts" in result.stderr, result.stderr


def test_inputs_that_hold_no_document_are_bad_input_but_an_empty_shard_is_a_part(cli, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    result = cli("corpus", empty, "-f", REFS, "-q", "-o", tmp_path / "r.json")
    assert result.exit_code == 3 and "no document" in result.stderr and str(empty) in result.stderr
    assert not (tmp_path / "r.json").exists()
    result = cli("corpus", empty, "-f", REFS, "-q", "--sketch-out", tmp_path / "part.sketch")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "part.sketch").stat().st_size > 0


def test_a_folder_with_no_matching_file_is_named_with_what_it_holds(cli, tmp_path):
    data = tmp_path / "data"
    (data / "part").mkdir(parents=True)
    (data / "facts.csv").write_text("subject,object\n")
    (data / "part" / "more.csv").write_text("subject,object\n")
    (tmp_path / "empty").mkdir()
    res = cli("corpus", data, tmp_path / "empty", "-p", "capital")
    assert res.exit_code == 3
    assert res.stderr.strip() == (
        f"hallu-audit: error: no input files found: {data} holds 2 files, none matching *.jsonl, *.jsonl.gz, "
        f"*.jsonl.zst, *.jsonl.zstd, *.json, *.json.gz, ... (e.g. facts.csv); choose with --glob; "
        f"{tmp_path / 'empty'} holds no file"
    )
    # the file named in the message is one --glob can take
    (data / "facts.csv").write_text("Paris is the capital of France.\n")
    (data / "part" / "more.csv").write_text("Lima is the capital of Peru.\n")
    found = cli("corpus", data, "-p", "capital", "--glob", "*.csv", "--format", "text", "--json", "-q")
    assert found.exit_code == 0 and orjson.loads(found.stdout)["overall"]["N"] == 2
