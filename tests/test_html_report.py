"""``hallu-audit report``: the self-contained HTML page, through the real CLI, and in a real
browser (headless Chromium through Playwright). The number of marks each chart must draw is
worked out here from the JSON inputs, not read from the page."""

from __future__ import annotations

import math
import os
from pathlib import Path

import orjson
import pytest

from audit.html_report import BUCKETS, wilson
from tests.conftest import FIXTURES, ROOT
from tests.report_demo import build_demo, chromium, render

REFS = FIXTURES / "refs" / "capitals.jsonl"
#: Where the browser test leaves its screenshot (ignored by git; CI can keep it as an artefact).
SCREENSHOT = ROOT / "test-output" / "report.png"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Path]:
    return build_demo(tmp_path_factory.mktemp("demo"))


def _figures(page: str) -> dict:
    start = page.index("const FIGURES = ") + len("const FIGURES = ")
    end = page.index(";\nconst CONFIG", start)
    return orjson.loads(page[start:end].replace("<\\/", "</"))


def _load(path: Path) -> dict:
    return orjson.loads(path.read_bytes())


def expected_marks(demo: dict[str, Path]) -> dict[str, int]:
    """Marks per chart, from the inputs: bars of the corpus histogram, one bar per graded report
    and scope with answers plus one marker per predicted bound, points per non-empty bucket and
    confidence bin, and per report two score curves over the targets."""
    corpus, pred = _load(demo["corpus.json"]), _load(demo["prediction.json"])
    graded = [_load(demo["model.json"]), _load(demo["cautious.json"])]
    scopes = [("overall", corpus["overall"]), *sorted(corpus["relations"].items(), key=lambda kv: -kv[1]["N"])]
    out = {f"hist-{i}": len(st["histogram"]) for i, (_, st) in enumerate(scopes)}
    pscopes = ["overall", *pred["relations"]]
    observed = sum(
        1 for g in graded for s in pscopes if (g["overall"] if s == "overall" else g["relations"].get(s, {})).get("n")
    )
    bounds = sum(1 for s in pscopes for _ in ("lower", "upper"))  # a lower (or vacuous) and an upper marker
    out["bounds"] = observed + bounds
    buckets = sum(1 for g in graded for b in g["per_fact"]["buckets"].values() if b["n"])
    for key in ("hallucination-rate", "accuracy", "abstention-rate"):
        out[f"bucket-{key}"] = buckets
    out["reliability"] = sum(1 for g in graded for b in g["calibration"]["ece_bins"] if b["n"])
    out["scores"] = sum(len(g["calibration"]["behavioral"]) + len(g["overall"]["scores"]) for g in graded)
    return out


# -- the page, without a browser ------------------------------------------------------------
def test_page_is_self_contained_and_small(demo) -> None:
    page = demo["report.html"].read_text()
    assert len(page.encode()) < 6_000_000  # plotly.min.js is about 4.8 MB of it
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # every chart div has its figure, and nothing else is drawn
    figs = _figures(page)
    assert set(figs) == set(expected_marks(demo))
    for fid in figs:
        assert f'id="{fid}"' in page


def test_every_figure_is_valid_plotly(demo) -> None:
    """plotly.js ignores attributes it does not know; plotly's Python validators do not."""
    import plotly.graph_objects as go

    for fid, fig in _figures(demo["report.html"].read_text()).items():
        go.Figure(data=fig["data"], layout=fig["layout"])  # raises on an invalid property
        assert fig["data"], fid


def test_numbers_on_the_page_come_from_the_inputs(demo) -> None:
    page = demo["report.html"].read_text()
    corpus, pred, model = _load(demo["corpus.json"]), _load(demo["prediction.json"]), _load(demo["model.json"])
    o = corpus["overall"]
    mm = o["missing_mass"]
    assert (f"N = {o['N']:,}, N1 = {o['N1']:,}, sr = {o['singleton_rate']:.3f}<br>"
            f"Good-Turing [{mm['low']:.3f}, {mm['high']:.3f}]") in page  # fmt: skip
    lb = pred["overall"]["lower_bound"]
    assert lb["vacuous"] and f"vacuous (N ≥ {lb['n_needed']:,.0f})" in page
    for key in ("version", "config_id"):
        assert str(corpus[key]) in page
    assert model["config"]["id"] in page
    h = model["overall"]["hallucination_rate"]
    iv = model["overall"]["intervals"]["hallucination_rate"]
    assert f"{100 * h:.1f}% [{100 * iv[0]:.1f}%, {100 * iv[1]:.1f}%]" in page
    # the bucket chart: the rate and Wilson interval of each bucket, from its counts
    fig = _figures(page)["bucket-hallucination-rate"]["data"][0]
    cells = [(b, c) for b, c in model["per_fact"]["buckets"].items() if c["n"] and b != "unknown"]
    assert fig["x"] == [b for b, _ in cells]
    for (_, c), y, minus, plus in zip(cells, fig["y"], fig["error_y"]["arrayminus"], fig["error_y"]["array"],
                                      strict=True):  # fmt: skip
        low, high = wilson(c["incorrect"], c["n"])
        assert math.isclose(y, c["incorrect"] / c["n"])
        assert math.isclose(y - minus, low) and math.isclose(y + plus, high)


def test_wilson_interval_matches_the_textbook() -> None:
    # 95% Wilson score intervals, e.g. Newcombe (1998) table I: 0/10 -> [0, 0.2775], 5/10 -> [0.2366, 0.7634]
    assert [round(x, 4) for x in wilson(0, 10)] == [0.0, 0.2775]
    assert [round(x, 4) for x in wilson(5, 10)] == [0.2366, 0.7634]
    assert [round(x, 4) for x in wilson(10, 10)] == [0.7225, 1.0]


def test_any_subset_works(cli, demo, tmp_path) -> None:
    charts = {
        ("corpus.json",): {"hist-0", "hist-1"},
        ("prediction.json",): {"bounds"},
        ("model.json",): {"bounds", "bucket-hallucination-rate", "bucket-accuracy", "bucket-abstention-rate",
                          "reliability", "scores"},  # fmt: skip
        ("cautious.json", "prediction.json"): {"bounds", "bucket-hallucination-rate", "bucket-accuracy",
                                               "bucket-abstention-rate", "reliability", "scores"},  # fmt: skip
    }
    for names, expected in charts.items():
        r = cli("report", *(demo[n] for n in names))  # HTML to stdout without -o
        assert r.exit_code == 0, r.stderr
        assert r.stdout.startswith("<!DOCTYPE html>")
        assert set(_figures(r.stdout)) == expected, names
        assert f"report: {len(expected)} charts" in r.stderr


def test_bucket_lines_break_at_empty_buckets_and_leave_no_count_unjoined(cli, demo, tmp_path) -> None:
    # A line through the counted buckets must not bridge a bucket without answers (it would draw
    # a rate nobody measured), and "no count" is not a corpus count: a marker of its own.
    model = _load(demo["model.json"])
    cells = model["per_fact"]["buckets"]
    counted = [b for b in BUCKETS if cells.get(b, {}).get("n")]
    assert len(counted) >= 3, "the demo needs three counted buckets for this test"
    empty = counted[1]
    cells[empty] = {k: 0 for k in cells[empty]}
    cells["unknown"] = {**cells[counted[0]]}
    edited = tmp_path / "edited.json"
    edited.write_bytes(orjson.dumps(model))
    r = cli("report", edited)
    assert r.exit_code == 0, r.stderr
    line, alone = _figures(r.stdout)["bucket-hallucination-rate"]["data"]
    assert line["mode"] == "lines+markers" and alone["mode"] == "markers"
    shown = [b for b in counted if b != empty]
    gap = line["x"].index(empty)
    assert line["y"][gap] is None and line["connectgaps"] is False
    assert [x for x, y in zip(line["x"], line["y"], strict=True) if y is not None] == shown
    unknown = cells["unknown"]
    assert alone["x"] == ["no count"] and math.isclose(alone["y"][0], unknown["incorrect"] / unknown["n"])
    assert alone["showlegend"] is False and alone["legendgroup"] == line["legendgroup"]
    assert f'data-marks="{len(shown) + 1}"' in r.stdout.split('id="bucket-hallucination-rate"')[1][:200]


def test_inputs_that_do_not_belong_together_are_pointed_out(cli, demo, tmp_path) -> None:
    # the demo's own inputs belong together: no warning
    fine = cli("report", demo["corpus.json"], demo["prediction.json"], demo["model.json"], demo["cautious.json"])
    assert fine.exit_code == 0 and "warning" not in fine.stderr
    # one report twice (by another path too): drawn once
    copy = tmp_path / "copy.json"
    copy.write_bytes(demo["model.json"].read_bytes())
    twice = cli("report", demo["model.json"], copy)
    assert twice.exit_code == 0
    assert f"hallu-audit: warning: {copy}: the same report as {demo['model.json']}, drawn once" in twice.stderr
    assert {trace["name"] for trace in _figures(twice.stdout)["bucket-accuracy"]["data"]} == {"model"}
    # a graded report of other relations, and one graded against another table
    model = _load(demo["model.json"])
    other_rel = {**model, "relations": {"author": model["relations"]["capital"]}}
    other_table = {**model, "inputs": {**model["inputs"], "refs_digest": "f" * 64}}
    (tmp_path / "authors.json").write_bytes(orjson.dumps(other_rel))
    (tmp_path / "elsewhere.json").write_bytes(orjson.dumps(other_table))
    mixed = cli("report", demo["prediction.json"], tmp_path / "authors.json", tmp_path / "elsewhere.json")
    assert mixed.exit_code == 0
    warned = [line for line in mixed.stderr.splitlines() if "warning" in line]
    assert warned == [
        f"hallu-audit: warning: {tmp_path / 'authors.json'}: none of its relations (author) is one the prediction "
        "covers (capital): its overall rate is drawn beside a floor of other facts",
        f"hallu-audit: warning: {tmp_path / 'elsewhere.json'}: graded against another reference table (digest "
        f"ffffffffffff) than the corpus was counted with ({_load(demo['prediction.json'])['facts_digest'][:12]}): "
        "its rates are of other facts",
    ]


def test_graded_without_per_fact_or_confidences_says_so(cli, demo, tmp_path) -> None:
    answers = tmp_path / "plain.jsonl"
    answers.write_text('{"id": "capital/france", "answer": "Paris"}\n{"id": "capital/peru", "answer": "Cusco"}\n')
    graded = tmp_path / "plain.json"
    assert cli("outputs", answers, "-r", REFS, "-o", graded, "-q").exit_code == 0
    r = cli("report", graded)
    assert r.exit_code == 0, r.stderr
    assert "No graded report was made with --per-fact" in r.stdout
    assert "No graded report holds confidences" in r.stdout
    assert set(_figures(r.stdout)) == {"bounds"}


def test_bad_inputs_exit_3_with_one_line_and_keep_the_output(cli, demo, tmp_path) -> None:
    out = tmp_path / "report.html"
    out.write_text("previous report")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    jsonl = tmp_path / "grades.jsonl"
    jsonl.write_text('{"id": "capital/france"}\n{"id": "capital/peru"}\n')
    other = tmp_path / "other.json"
    other.write_bytes(orjson.dumps({"kind": "something/else", "schema": 1}))
    pred = _load(demo["prediction.json"])
    mixed = tmp_path / "mixed.json"
    mixed.write_bytes(orjson.dumps({**pred, "config_id": "cfg-0000000000000000"}))
    other_corpus = tmp_path / "other-corpus.json"
    other_corpus.write_bytes(orjson.dumps({**_load(demo["corpus.json"]), "config_id": "cfg-0000000000000000"}))
    cases = [
        ((bad,), f"{bad}: not a JSON report"),
        ((jsonl,), f"{jsonl}: not a JSON report (unexpected content after document); report reads the JSON reports"),
        ((other,), "not a hallu-audit report (kind 'something/else'"),
        ((tmp_path / "missing.json",), "cannot read"),
        ((demo["corpus.json"], other_corpus), "two corpus reports"),
        ((demo["prediction.json"], mixed), "two predictions"),
        ((demo["corpus.json"], mixed), "prediction was made from another corpus report"),
    ]
    for args, message in cases:
        r = cli("report", *args, "-o", out)
        assert r.exit_code == 3, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hallu-audit: error: ") and message in lines[0], lines
        assert out.read_text() == "previous report"


# -- in a real browser ----------------------------------------------------------------------------
def _browser_or_skip() -> None:
    """Skip with the reason when no browser can be had here; in CI (CI=true) fail instead."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
    if reason is None and chromium() is None:
        reason = "no Chromium on this machine (apt-get install chromium)"
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"the browser test must run in CI: {reason}")
        pytest.skip(reason)


def test_report_draws_every_chart_in_chromium(demo) -> None:
    _browser_or_skip()
    seen = render(demo["report.html"], SCREENSHOT)
    assert seen.errors == [], seen.errors
    assert seen.requests == [demo["report.html"].resolve().as_uri()], seen.requests  # nothing from the network
    expected = expected_marks(demo)
    assert set(seen.charts) == set(expected)
    assert seen.rendered == str(len(expected))
    for fid, drawn in seen.charts.items():
        assert drawn["plots"] >= 1, fid
        assert drawn["bars"] + drawn["points"] == expected[fid] == drawn["expected"], (fid, drawn)
    assert SCREENSHOT.stat().st_size > 50_000  # a real picture, not a blank page
    # each histogram bar of the overall chart is one bucket of the corpus report
    hist = _load(demo["corpus.json"])["overall"]["histogram"]
    assert seen.charts["hist-0"]["bars"] == len([b for b in BUCKETS if b in hist]) == 7


def test_committed_screenshot_exists() -> None:
    png = ROOT / "docs" / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "docs/report.png" in (ROOT / "README.md").read_text()
    assert "report-screenshot" in (ROOT / "Justfile").read_text()


def test_output_that_is_an_input_is_refused_before_work(cli, demo, tmp_path) -> None:
    before = demo["model.json"].read_bytes()
    r = cli("report", demo["model.json"], "-o", demo["model.json"])
    assert r.exit_code == 2 and "--output" in r.stderr
    assert demo["model.json"].read_bytes() == before


def test_many_relations_are_capped_in_charts_not_in_tables(cli, demo, tmp_path) -> None:
    from audit.html_report import MAX_BOUND_SCOPES, MAX_RELATION_CHARTS

    corpus, pred = _load(demo["corpus.json"]), _load(demo["prediction.json"])
    names = [f"rel{i:02d}" for i in range(40)]
    corpus["relations"] = {n: corpus["relations"]["capital"] for n in names}
    pred["relations"] = {n: pred["relations"]["capital"] for n in names}
    c, p = tmp_path / "c.json", tmp_path / "p.json"
    c.write_bytes(orjson.dumps(corpus))
    p.write_bytes(orjson.dumps(pred))
    r = cli("report", c, p)
    assert r.exit_code == 0, r.stderr
    figs = _figures(r.stdout)
    assert sum(1 for f in figs if f.startswith("hist-")) == MAX_RELATION_CHARTS + 1
    assert f"{40 - MAX_RELATION_CHARTS:,} smaller relations are in the table only" in r.stdout
    bounds = figs["bounds"]["layout"]["xaxis"]["categoryarray"]
    assert bounds == ["overall", *names[: MAX_BOUND_SCOPES - 1]]
    for n in names:  # every relation is a row of both tables
        assert r.stdout.count(f"<td>{n}</td>") == 2


def test_browser_test_skips_locally_but_fails_in_ci(monkeypatch) -> None:
    import tests.test_html_report as me

    monkeypatch.setattr(me, "chromium", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium|playwright"):
        me._browser_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run in CI"):
        me._browser_or_skip()
