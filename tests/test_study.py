"""The study end to end at test size: simulate -> corpus -> predict -> train -> answer -> outputs.

Needs the ``study`` extra (torch, matplotlib); skipped without it.
"""

from __future__ import annotations

import csv
import importlib.util
import sys

import orjson
import pytest

from tests.conftest import ROOT

torch = pytest.importorskip("torch", reason="the study needs torch: pip install -e '.[study]'")
pytest.importorskip("matplotlib", reason="the study needs matplotlib: pip install -e '.[study]'")


def load_study():
    spec = importlib.util.spec_from_file_location("run_study", ROOT / "study" / "run_study.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_study_test_size_end_to_end(tmp_path):
    study = load_study()
    threads = torch.get_num_threads()
    try:
        rows = study.main(["--size", "test", "--out", str(tmp_path), "--quiet"])
    finally:
        torch.set_num_threads(threads)
    size = study.SIZES["test"]
    assert len(rows) == len(size.targets)
    for target, row in zip(size.targets, rows, strict=True):
        # simulate hit its target, and corpus counted exactly what it wrote (checked inside too)
        assert abs(row.sr - target) < 0.05
        assert size.mentions == row.N
        # At N = 3000 Theorem 2's penalty 6 ln(3N/gamma)/sqrt(N) exceeds 1: always vacuous.
        assert row.vacuous and row.lower_bound is None and row.n_needed > row.N
        # Nobody can know a random birth date it never saw: the LM's error is at least the
        # share of fresh prompts that are unseen (less a lucky guess), like the memoriser's.
        assert row.lm_hallucination >= row.eval_unseen - 0.01
        assert row.memoriser_error == pytest.approx(row.eval_unseen * (1 - 1 / 36524))
        assert 0 <= row.lm_accuracy <= 1 and row.delta is not None
        assert row.verdict == "vacuous"
    assert rows[0].sr < rows[-1].sr
    with open(tmp_path / "results.csv") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == len(rows) and set(study.COLUMNS) == set(table[0])
    md = (tmp_path / "results.md").read_text()
    assert md.count("\n| 0.") >= 2 * len(rows) and "vacuous" in md
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = orjson.loads((tmp_path / "run.json").read_bytes())
    assert meta["command"] == "python study/run_study.py --size test --seed 1"
    assert "CPU cores" in meta["hardware"]
