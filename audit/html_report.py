"""The HTML report (``hallu-audit report``): one self-contained page from the JSON reports.

Inputs are told apart by their ``kind``: at most one corpus report, at most one prediction, and
any number of graded (outputs) reports, one colour each; any subset works. The page shows, per
relation and overall, what the inputs hold:

- the corpus: facts by mention count (the frequency of frequencies: 0, 1, 2, 3-5, 6-10, 11-100,
  >100) with N, N1, sr and its Good-Turing interval, beside the same counts over distinct
  sources when the corpus run deduplicated (a sketch's estimates with one standard error);
- graded answers made with ``--per-fact``: hallucination, accuracy and abstention by corpus-count
  bucket (Kandpal et al. 2023) with 95% Wilson score intervals, computed here from each
  bucket's counts (the bucket counts are all the outputs report keeps);
- the observed hallucination rate (with its bootstrap interval) beside the predicted lower
  bound (a vacuous one drawn as such, with the N it needs) and the calibrated memoriser's rate;
- with confidences: the reliability diagram (accuracy by confidence bin) and score_t against t;
- the inputs, their config ids and the versions that wrote them.

Charts are plotly.js figures, declared here as JSON and drawn in the browser by the plotly.min.js
that the ``plotly`` package ships, inlined into the page with the styles: the file makes no
network request and opens offline (about 5 MB, nearly all of it plotly.js). Each chart's
``data-marks`` attribute holds the number of marks (bars and points) it should draw, which the
browser test checks against the page.
"""

from __future__ import annotations

import html
import math
import os
from dataclasses import dataclass, field
from typing import Any

import orjson

import audit
from audit.errors import ConfigError, InputError, MergeError
from audit.io.files import read_whole

CORPUS_KIND = "hallu-audit/corpus-report"
PREDICTION_KIND = "hallu-audit/prediction"
OUTPUTS_KIND = "hallu-audit/outputs-report"
KINDS = {CORPUS_KIND: "corpus report", PREDICTION_KIND: "prediction", OUTPUTS_KIND: "graded report"}

#: Corpus-count buckets (THEORY.md sec. 6), zero first; ``unknown`` = facts without a count.
BUCKETS = ("0", "1", "2", "3-5", "6-10", "11-100", ">100")
#: Relations drawn one chart each (the largest by N); every relation stays in the tables.
MAX_RELATION_CHARTS = 12
#: Scopes (overall first) on the observed-against-predicted chart; the table holds the rest.
MAX_BOUND_SCOPES = 25
MAX_TABLE_ROWS = 200
#: One colour per graded report (plotly's default qualitative palette), cycled beyond ten.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip
RAW_COLOUR, DISTINCT_COLOUR, BOUND_COLOUR = "#4c72b0", "#55a868", "#222222"
Z95 = 1.959963984540054


@dataclass
class Inputs:
    """The reports the page is made from, each with the path it was read from."""

    corpus: tuple[str, dict[str, Any]] | None = None
    prediction: tuple[str, dict[str, Any]] | None = None
    graded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: lines for stderr: inputs drawn together that may not belong together
    warnings: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """A short name per graded report: its file name without .json, the path if two clash."""
        stems = [os.path.basename(p).removesuffix(".gz").removesuffix(".json") for p, _ in self.graded]
        return [p if stems.count(s) > 1 else s for (p, _), s in zip(self.graded, stems, strict=True)]


def load_inputs(paths: list[str]) -> Inputs:
    """Read and sort the reports by ``kind``; ``InputError`` names a file that is none of them."""
    import hashlib

    out = Inputs()
    seen: dict[bytes, str] = {}
    for path in paths:
        data = read_whole(path, "cannot read")
        same = hashlib.blake2b(data, digest_size=16).digest()
        if same in seen:
            out.warnings.append(f"{path}: the same report as {seen[same]}, drawn once")
            continue
        seen[same] = path
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            hint = ""
            if "after document" in exc.msg:  # several JSON values: a JSONL file
                hint = "; report reads the JSON reports that corpus, predict and outputs write with -o or --json"
            raise InputError(f"not a JSON report ({exc.msg}){hint}", path=path) from None
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind not in KINDS:
            raise InputError(
                f"not a hallu-audit report (kind {kind!r}; expected one of {', '.join(KINDS)})", path=path
            )
        if doc.get("schema") != 1:
            raise InputError(f"unsupported {KINDS[kind]} schema {doc.get('schema')!r}", path=path)
        if kind == CORPUS_KIND:
            if out.corpus is not None:
                raise ConfigError(f"two corpus reports ({out.corpus[0]} and {path}): give one", path=path)
            out.corpus = (path, doc)
        elif kind == PREDICTION_KIND:
            if out.prediction is not None:
                raise ConfigError(f"two predictions ({out.prediction[0]} and {path}): give one", path=path)
            out.prediction = (path, doc)
        else:
            out.graded.append((path, doc))
    if out.corpus and out.prediction and out.corpus[1].get("config_id") != out.prediction[1].get("config_id"):
        raise MergeError(
            f"prediction was made from another corpus report (config {out.prediction[1].get('config_id')} "
            f"vs {out.corpus[1].get('config_id')})",
            path=out.prediction[0],
        )
    out.warnings += _mix_warnings(out)
    return out


def _mix_warnings(inputs: Inputs) -> list[str]:
    """Graded reports drawn beside a prediction of other facts: graded against another reference
    table, or of relations the prediction does not cover (its overall floor is then of others)."""
    out = []
    pred = inputs.prediction
    theirs = None
    if pred is not None:
        theirs = pred[1].get("facts_digest")
    elif inputs.corpus is not None:
        theirs = (inputs.corpus[1].get("config") or {}).get("facts_digest") or None
    covered = set((pred[1].get("relations") or {}) if pred is not None else ())
    for path, doc in inputs.graded:
        ours = (doc.get("inputs") or {}).get("refs_digest")
        if isinstance(theirs, str) and isinstance(ours, str) and theirs != ours:
            out.append(f"{path}: graded against another reference table (digest {ours[:12]}) than the "
                       f"corpus was counted with ({theirs[:12]}): its rates are of other facts")  # fmt: skip
            continue
        rels = set(doc.get("relations") or ())
        if pred is not None and rels and not rels & covered:
            out.append(f"{path}: none of its relations ({', '.join(sorted(rels))}) is one the prediction covers "
                       f"({', '.join(sorted(covered)) or 'none'}): its overall rate is drawn beside a floor of "
                       "other facts")  # fmt: skip
    return out


# -- numbers ------------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (95% by default)."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _count(x: float | None, se: float | None = None) -> str:
    from audit.tables import count

    return count(x, se)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _rate(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


# -- figures ------------------------------------------------------------------------------------
@dataclass
class Figure:
    """One plotly figure and the number of marks (bars, points) it draws."""

    id: str
    data: list[dict[str, Any]]
    layout: dict[str, Any]
    marks: int
    height: int = 320

    def __post_init__(self) -> None:
        # room under the plot for one legend row per trace (wrapped), and the height to keep it
        if self.layout.get("showlegend") is False:
            self.layout["margin"]["b"] = 56
            return
        rows = max(1, len(self.data) if len(self.data) > 2 else 1)
        self.layout["margin"]["b"] = 70 + 20 * rows
        self.height += 20 * rows

    def div(self) -> str:
        return (
            f'<div class="chart" id="{self.id}" data-marks="{self.marks}" '
            f'style="height:{self.height}px"></div>'
        )


def _layout(title: str, x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 13}, "x": 0.01, "xanchor": "left"},
        "margin": {"l": 56, "r": 16, "t": 56, "b": 96},
        "xaxis": {"title": {"text": x_title, "standoff": 6}, "type": "category", "automargin": True},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.32, "x": 0},
        "font": {"family": "system-ui, sans-serif", "size": 11},
        "paper_bgcolor": "white",
        "plot_bgcolor": "#fafafa",
    }
    layout.update(extra)
    return layout


def _histogram_figure(fid: str, scope: str, block: dict[str, Any], distinct: dict[str, Any] | None) -> Figure:
    data = []
    marks = 0
    for name, st, colour in (("every mention", block, RAW_COLOUR), ("distinct sources", distinct, DISTINCT_COLOUR)):
        if st is None:
            continue
        hist = st["histogram"]
        xs = [b for b in BUCKETS if b in hist]
        trace: dict[str, Any] = {
            "type": "bar",
            "name": name,
            "x": xs,
            "y": [hist[b] for b in xs],
            "marker": {"color": colour},
            "hovertemplate": "%{y:,.0f} facts seen %{x} times<extra>" + name + "</extra>",
        }
        errors = {} if st["exact"] else st.get("standard_errors") or {}
        se = errors.get("histogram")
        if se:
            # unseen facts = reference facts - distinct facts: the SE of the distinct estimate
            se = {**se, "0": errors.get("distinct_facts", 0)}
            trace["error_y"] = {"type": "data", "array": [se.get(b, 0) for b in xs], "visible": True}
        data.append(trace)
        marks += len(xs)
    mm = block["missing_mass"]
    interval = f"Good-Turing [{mm['low']:.3f}, {mm['high']:.3f}]"
    if distinct is None:
        title = f"<b>{_esc(scope)}</b>: {_stats_line(block)}<br>{interval}"
    else:
        dm = distinct["missing_mass"]
        title = (
            f"<b>{_esc(scope)}</b>: {_stats_line(block)}<br>distinct sources: {_stats_line(distinct)}"
            f"<br>{interval}; distinct [{dm['low']:.3f}, {dm['high']:.3f}]"
        )
    layout = _layout(title, "times a fact is mentioned", "facts", barmode="group")
    layout["margin"]["t"] = 84 if distinct is not None else 66
    layout["showlegend"] = distinct is not None
    return Figure(fid, data, layout, marks, height=340 if distinct is not None else 290)


def _stats_line(st: dict[str, Any]) -> str:
    """N, N1 and sr; a sketch's estimates with one standard error."""
    se = {} if st["exact"] else st.get("standard_errors") or {}
    sr = f"{st['singleton_rate']:.3f}" + (f" ± {se['singleton_rate']:.3f}" if "singleton_rate" in se else "")
    return f"N = {_count(st['N'])}, N1 = {_count(st['N1'], se.get('N1'))}, sr = {sr}"


def _bucket_figures(inputs: Inputs) -> list[Figure]:
    """Hallucination, accuracy and abstention by corpus-count bucket, one trace per report."""
    figs = []
    metrics = (("hallucination_rate", "incorrect", "hallucination rate"),
               ("accuracy", "correct", "accuracy"),
               ("abstention_rate", "abstained", "abstention rate"))  # fmt: skip
    for key, count_key, label in metrics:
        data = []
        marks = 0
        for i, ((_, doc), name) in enumerate(zip(inputs.graded, inputs.labels, strict=True)):
            pf = doc.get("per_fact")
            if not pf:
                continue
            colour = PALETTE[i % len(PALETTE)]
            # The counted buckets are one line, broken (a None point) where a bucket has no
            # answers, so that no segment suggests a rate nobody measured; "no count" (answers to
            # facts the corpus report does not list) is not on that scale: its own marker, unjoined.
            legend = True
            for part, keys in (("counted", BUCKETS), ("no count", ("unknown",))):
                xs: list[str] = []
                ys: list[float | None] = []
                lo: list[float | None] = []
                hi: list[float | None] = []
                ns: list[int | None] = []
                for b in keys:
                    cell = pf["buckets"].get(b)
                    if not cell or not cell["n"]:
                        if ys and ys[-1] is not None:
                            xs.append(b)
                            ys.append(None)
                            lo.append(None)
                            hi.append(None)
                            ns.append(None)
                        continue
                    low, high = wilson(cell[count_key], cell["n"])
                    rate = cell[count_key] / cell["n"]
                    xs.append("no count" if b == "unknown" else b)
                    ys.append(rate)
                    lo.append(rate - low)
                    hi.append(high - rate)
                    ns.append(cell["n"])
                while ys and ys[-1] is None:
                    for column in (xs, ys, lo, hi, ns):
                        column.pop()
                if not xs:
                    continue
                data.append({
                    "type": "scatter", "mode": "lines+markers" if part == "counted" else "markers",
                    "name": name, "legendgroup": name, "showlegend": legend,
                    "x": xs, "y": ys, "customdata": ns, "connectgaps": False,
                    "marker": {"color": colour, "size": 8}, "line": {"color": colour},
                    "error_y": {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo, "visible": True},
                    "hovertemplate": "count %{x}: %{y:.1%} of %{customdata:,} answers<extra>" + _esc(name) + "</extra>",
                })  # fmt: skip
                marks += sum(y is not None for y in ys)
                legend = False
        if not data:
            return []
        layout = _layout(f"<b>{label}</b> by corpus count<br>95% Wilson intervals", "corpus count of the fact", label)
        layout["xaxis"]["categoryorder"] = "array"
        layout["xaxis"]["categoryarray"] = [*BUCKETS, "no count"]
        layout["yaxis"].update(range=[0, 1.05], tickformat=".0%")
        figs.append(Figure(f"bucket-{key.replace('_', '-')}", data, layout, marks))
    return figs


def _bounds_rows(inputs: Inputs) -> list[tuple[str, dict[str, Any]]]:
    """(scope, predicted block) from the prediction, else from a graded report's comparison."""
    if inputs.prediction is not None:
        doc = inputs.prediction[1]
        rows = [("overall", doc["overall"])] + sorted(doc.get("relations", {}).items())
        return [
            (scope, {
                "lower_bound": p["lower_bound"]["value"], "vacuous": p["lower_bound"]["vacuous"],
                "n_needed": p["lower_bound"]["n_needed"], "upper_bound": p["upper_bound"],
                "singleton_rate": p["singleton_rate"],
            })
            for scope, p in rows
        ]  # fmt: skip
    for _, doc in inputs.graded:
        if doc.get("predicted"):
            pred = doc["predicted"]
            return [("overall", pred["overall"])] + sorted((k, v) for k, v in pred.items() if k != "overall")
    return []


def _observed(doc: dict[str, Any], scope: str) -> dict[str, Any] | None:
    block = doc["overall"] if scope == "overall" else doc.get("relations", {}).get(scope)
    if not block or not block.get("n"):
        return None
    return block


def _scopes(inputs: Inputs, bounds: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Overall and the relations: the prediction's, else those of the graded reports."""
    if bounds:
        return [s for s, _ in bounds]
    return ["overall", *sorted({r for _, d in inputs.graded for r in d.get("relations", {})})]


def _bounds_figure(inputs: Inputs, bounds: list[tuple[str, dict[str, Any]]]) -> Figure | None:
    if not bounds and not inputs.graded:
        return None
    scopes = _scopes(inputs, bounds)[:MAX_BOUND_SCOPES]
    bounds = [(s, b) for s, b in bounds if s in scopes]
    data: list[dict[str, Any]] = []
    marks = 0
    for i, ((_, doc), name) in enumerate(zip(inputs.graded, inputs.labels, strict=True)):
        xs, ys, lo, hi = [], [], [], []
        for scope in scopes:
            block = _observed(doc, scope)
            if block is None or block.get("hallucination_rate") is None:
                continue
            h = block["hallucination_rate"]
            iv = (block.get("intervals") or {}).get("hallucination_rate") or [h, h]
            xs.append(scope)
            ys.append(h)
            lo.append(h - iv[0])
            hi.append(iv[1] - h)
        data.append({
            "type": "bar", "name": f"{name}: observed", "x": xs, "y": ys,
            "marker": {"color": PALETTE[i % len(PALETTE)]},
            "error_y": {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo, "visible": True},
            "hovertemplate": "%{x}: observed %{y:.1%}<extra>" + _esc(name) + "</extra>",
        })  # fmt: skip
        marks += len(xs)
    positive = [(s, b) for s, b in bounds if not b["vacuous"] and b["lower_bound"] is not None]
    vacuous = [(s, b) for s, b in bounds if b["vacuous"] or b["lower_bound"] is None]
    upper = [(s, b) for s, b in bounds if b.get("upper_bound") is not None]
    if positive:
        data.append({
            "type": "scatter", "mode": "markers", "name": "predicted lower bound",
            "x": [s for s, _ in positive], "y": [b["lower_bound"] for _, b in positive],
            "marker": {"symbol": "line-ew", "size": 34, "line": {"width": 3, "color": BOUND_COLOUR}},
            "hovertemplate": "%{x}: lower bound %{y:.3f}<extra></extra>",
        })  # fmt: skip
        marks += len(positive)
    if vacuous:
        data.append({
            "type": "scatter", "mode": "markers", "name": "lower bound vacuous (see the axis)",
            "x": [s for s, _ in vacuous], "y": [0] * len(vacuous),
            "text": [_vacuous_text(b) for _, b in vacuous],
            "marker": {"symbol": "x-thin", "size": 14, "line": {"width": 3, "color": BOUND_COLOUR}},
            "hovertemplate": "%{x}: %{text}<extra></extra>",
        })  # fmt: skip
        marks += len(vacuous)
    if upper:
        data.append({
            "type": "scatter", "mode": "markers", "name": "calibrated memoriser (upper bound)",
            "x": [s for s, _ in upper], "y": [b["upper_bound"] for _, b in upper],
            "marker": {"symbol": "diamond-open", "size": 12, "color": BOUND_COLOUR,
                       "line": {"width": 2, "color": BOUND_COLOUR}},
            "hovertemplate": "%{x}: calibrated memoriser %{y:.3f}<extra></extra>",
        })  # fmt: skip
        marks += len(upper)
    if marks == 0:
        return None
    layout = _layout(
        "<b>observed hallucination rate</b> (95% bootstrap interval) beside the predicted floor "
        "and the calibrated memoriser's rate",
        "", "hallucination rate", barmode="group",
    )  # fmt: skip
    layout["xaxis"]["categoryorder"] = "array"
    layout["xaxis"]["categoryarray"] = scopes
    # a vacuous floor is said under its scope, where no bar can hide it
    by_scope = dict(bounds)
    layout["xaxis"]["tickvals"] = scopes
    layout["xaxis"]["ticktext"] = [
        f"<b>{_esc(s)}</b><br>floor {_vacuous_text(by_scope[s])}"
        if s in by_scope and (by_scope[s]["vacuous"] or by_scope[s]["lower_bound"] is None)
        else f"<b>{_esc(s)}</b>"
        for s in scopes
    ]
    layout["yaxis"].update(range=[0, 1.05], tickformat=".0%")
    return Figure("bounds", data, layout, marks, height=420)


def _vacuous_text(b: dict[str, Any]) -> str:
    need = b.get("n_needed")
    return "vacuous" + (f" (N ≥ {need:,.0f})" if need else " (never > 0)")


def _calibration_figures(inputs: Inputs) -> list[Figure]:
    rel_data: list[dict[str, Any]] = []
    score_data: list[dict[str, Any]] = []
    rel_marks = score_marks = 0
    for i, ((_, doc), name) in enumerate(zip(inputs.graded, inputs.labels, strict=True)):
        cal = doc.get("calibration")
        if not cal:
            continue
        colour = PALETTE[i % len(PALETTE)]
        bins = [b for b in cal["ece_bins"] if b["n"]]
        rel_data.append({
            "type": "scatter", "mode": "lines+markers", "name": name,
            "x": [b["mean_confidence"] for b in bins], "y": [b["accuracy"] for b in bins],
            "customdata": [b["n"] for b in bins],
            "marker": {"color": colour, "size": [min(22, 6 + 2 * math.sqrt(b["n"])) for b in bins]},
            "line": {"color": colour},
            "hovertemplate": "confidence %{x:.2f}: accuracy %{y:.1%} (%{customdata:,} answers)<extra>"
            + _esc(name) + "</extra>",
        })  # fmt: skip
        rel_marks += len(bins)
        beh = cal["behavioral"]
        score_data.append({
            "type": "scatter", "mode": "lines+markers", "name": f"{name}: answer only if confidence > t",
            "x": [b["t"] for b in beh], "y": [b["score"] for b in beh],
            "marker": {"color": colour, "size": 8}, "line": {"color": colour},
            "hovertemplate": "t = %{x}: score %{y:.3f}<extra>" + _esc(name) + "</extra>",
        })  # fmt: skip
        scores = sorted(doc["overall"]["scores"].values(), key=lambda s: s["t"])
        score_data.append({
            "type": "scatter", "mode": "lines+markers", "name": f"{name}: as answered",
            "x": [s["t"] for s in scores], "y": [s["score"] for s in scores],
            "marker": {"color": colour, "size": 7, "symbol": "circle-open"},
            "line": {"color": colour, "dash": "dot"},
            "hovertemplate": "t = %{x}: score %{y:.3f}<extra>" + _esc(name) + " as answered</extra>",
        })  # fmt: skip
        score_marks += len(beh) + len(scores)
    if not rel_data:
        return []
    rel = _layout("<b>reliability diagram</b><br>accuracy by confidence bin (marker size: answers)",
                  "stated confidence (bin mean)", "accuracy")  # fmt: skip
    rel["xaxis"] = {"title": {"text": "stated confidence (bin mean)"}, "range": [0, 1.02]}
    rel["yaxis"].update(range=[0, 1.05])
    rel["shapes"] = [{"type": "line", "x0": 0, "y0": 0, "x1": 1, "y1": 1,
                      "line": {"color": "#aaa", "dash": "dash", "width": 1}}]  # fmt: skip
    score = _layout("<b>score<sub>t</sub></b> against the confidence target t<br>a wrong answer costs t/(1-t)",
                    "confidence target t", "score_t")  # fmt: skip
    score["xaxis"] = {"title": {"text": "confidence target t"}, "range": [-0.02, 1]}
    score["shapes"] = [{"type": "line", "x0": 0, "x1": 1, "y0": 0, "y1": 0, "line": {"color": "#aaa", "width": 1}}]
    return [Figure("reliability", rel_data, rel, rel_marks), Figure("scores", score_data, score, score_marks)]


# -- the page -----------------------------------------------------------------------------------
@dataclass
class Page:
    """The finished page and what it holds (for the CLI's one-line summary)."""

    html: str
    charts: int
    marks: int


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _inputs_section(inputs: Inputs) -> str:
    rows = []
    if inputs.corpus:
        path, d = inputs.corpus
        inp = d.get("inputs", {})
        dedup = (d.get("distinct_sources") or {}).get("dedup")
        detail = (f"{inp.get('documents', 0):,} documents, {inp.get('bytes', 0) / 1e6:,.1f} MB, "
                  f"{len(inp.get('sources', []))} source(s); mode {d.get('config', {}).get('mode', '?')}"
                  + (f"; dedup {dedup}" if dedup else ""))  # fmt: skip
        rows.append([_esc(path), "corpus report", _esc(d.get("version")), f"<code>{_esc(d.get('config_id'))}</code>",
                     _esc(detail)])  # fmt: skip
    if inputs.prediction:
        path, d = inputs.prediction
        detail = (f"confidence {d.get('confidence')}, calibration delta {d.get('calibration_delta')}, "
                  f"counts {d.get('counts', 'raw')}")  # fmt: skip
        rows.append([_esc(path), "prediction", _esc(d.get("version")), f"<code>{_esc(d.get('config_id'))}</code>",
                     _esc(detail)])  # fmt: skip
    for (path, d), name, i in zip(inputs.graded, inputs.labels, range(len(inputs.graded)), strict=True):
        inp = d.get("inputs", {})
        detail = (f"{d['overall']['n']:,} answers from {inp.get('outputs')}, against {inp.get('refs')} "
                  f"(digest {inp.get('refs_digest')})"
                  + ("" if inp.get("per_fact") else "; no --per-fact"))  # fmt: skip
        swatch = f'<span class="swatch" style="background:{PALETTE[i % len(PALETTE)]}"></span>'
        rows.append([f"{swatch}<b>{_esc(name)}</b><br><small>{_esc(path)}</small>", "graded report",
                     _esc(d.get("version")), f"<code>{_esc(d.get('config', {}).get('id'))}</code>",
                     _esc(detail)])  # fmt: skip
    notes = ""
    digests = {d.get("inputs", {}).get("refs_digest") for _, d in inputs.graded}
    if len(digests) > 1:
        notes = ('<p class="warn">The graded reports were graded against different reference tables: '
                 "their rates are over different questions.</p>")  # fmt: skip
    return "<h2>Inputs</h2>" + _table(["file", "kind", "version", "config id", "what"], rows) + notes


def _corpus_section(inputs: Inputs, figs: list[Figure]) -> str:
    from audit.tables import rate

    if not inputs.corpus:
        return ""
    _, d = inputs.corpus
    ds = d.get("distinct_sources")
    scopes = [("overall", d["overall"])] + sorted(d["relations"].items(), key=lambda kv: (-kv[1]["N"], kv[0]))
    parts = ["<h2>Corpus: how often each fact is mentioned</h2>",
             f"<p>N = fact mentions (the paper's training examples), N1 = facts mentioned exactly once, "
             f"sr = N1/N with its Good-Turing interval at {d['confidence']:.0%}. "
             + ("Counts with ± were estimated by a bounded-memory sketch (one standard error). "
                if not d["overall"]["exact"] else "")
             + (f"Deduplicated with <code>--dedup&nbsp;{_esc(ds['dedup'])}</code>: "
                f"{ds['distinct_documents']:,} distinct documents, "
                f"{ds['duplicate_documents']:,} duplicates. " if ds else "")
             + "</p>",
             '<div class="grid">']  # fmt: skip
    for i, (scope, block) in enumerate(scopes[: MAX_RELATION_CHARTS + 1]):
        distinct = None
        if ds:
            distinct = ds["overall"] if scope == "overall" else ds["relations"].get(scope)
        fig = _histogram_figure(f"hist-{i}", scope, block, distinct)
        figs.append(fig)
        parts.append(fig.div())
    parts.append("</div>")
    if len(scopes) > MAX_RELATION_CHARTS + 1:
        parts.append(f"<p>{len(scopes) - MAX_RELATION_CHARTS - 1:,} smaller relations are in the table only.</p>")
    head = ["relation", "N", "distinct facts", "N1", "sr", "Good-Turing interval", "unseen facts"]
    if ds:
        head += ["N (distinct sources)", "N1 (distinct sources)", "sr (distinct sources)"]
    rows = []
    for scope, st in scopes[:MAX_TABLE_ROWS]:
        se = {} if st["exact"] else st.get("standard_errors") or {}
        mm = st["missing_mass"]
        unseen = st.get("unseen_facts")
        row = [_esc(scope), _count(st["N"]), _count(st["distinct_facts"], se.get("distinct_facts")),
               _count(st["N1"], se.get("N1")), rate(st["singleton_rate"], se.get("singleton_rate")),
               f"[{mm['low']:.4f}, {mm['high']:.4f}]",
               _count(unseen, se.get("distinct_facts") if unseen is not None else None)]  # fmt: skip
        if ds:
            dst = ds["overall"] if scope == "overall" else ds["relations"].get(scope)
            if dst:
                dse = {} if dst["exact"] else dst.get("standard_errors") or {}
                row += [_count(dst["N"]), _count(dst["N1"], dse.get("N1")),
                        rate(dst["singleton_rate"], dse.get("singleton_rate"))]  # fmt: skip
            else:
                row += ["-"] * 3
        rows.append(row)
    parts.append(_table(head, rows, "num"))
    return "".join(parts)


def _bounds_section(inputs: Inputs, figs: list[Figure]) -> str:
    bounds = _bounds_rows(inputs)
    fig = _bounds_figure(inputs, bounds)
    if fig is None:
        return ""
    figs.append(fig)
    conf = inputs.prediction[1].get("confidence") if inputs.prediction else None
    parts = ["<h2>Observed against predicted</h2>",
             "<p>The lower bound (Theorem 2 of Kalai et al. 2025"
             + (f", at confidence {conf:g}" if conf else "")
             + ") holds for any base model trained on the corpus; a vacuous bound (&le; 0) says nothing, "
             "and the N at which it would turn positive is shown. The upper bound is the rate a calibrated "
             "memoriser reaches (it answers what it saw and guesses otherwise): not a ceiling on any model.</p>",
             fig.div()]  # fmt: skip
    if len(_scopes(inputs, bounds)) > MAX_BOUND_SCOPES:
        parts.append(f"<p>The chart shows the first {MAX_BOUND_SCOPES - 1} relations; the table lists them all.</p>")
    head = ["scope", "sr", "lower bound", "calibrated memoriser"] + [f"{_esc(n)}: observed" for n in inputs.labels]
    rows = []
    by_scope = dict(bounds)
    for scope in _scopes(inputs, bounds)[:MAX_TABLE_ROWS]:
        b = by_scope.get(scope)
        lower = "-" if b is None else (_vacuous_text(b) if b["vacuous"] or b["lower_bound"] is None
                                       else f"{b['lower_bound']:.4f}")  # fmt: skip
        row = [_esc(scope), "-" if b is None else _rate(b.get("singleton_rate")), lower,
               "-" if b is None else _rate(b.get("upper_bound"))]  # fmt: skip
        for _, doc in inputs.graded:
            block = _observed(doc, scope)
            if block is None:
                row.append("-")
                continue
            iv = (block.get("intervals") or {}).get("hallucination_rate")
            verdict = ((doc.get("predicted") or {}).get(scope) or {}).get("verdict")
            row.append(f"{_pct(block['hallucination_rate'])}"
                       + (f" [{_pct(iv[0])}, {_pct(iv[1])}]" if iv else "")
                       + (f" <small>{_esc(verdict)}</small>" if verdict else ""))  # fmt: skip
        rows.append(row)
    parts.append(_table(head, rows, "num"))
    return "".join(parts)


def _graded_section(inputs: Inputs, figs: list[Figure]) -> str:
    if not inputs.graded:
        return ""
    head = ["report", "answers", "accuracy", "hallucination rate", "abstention rate", "accuracy given attempted",
            "F", "calibration delta", "ECE"]  # fmt: skip
    rows = []
    for (_, d), name in zip(inputs.graded, inputs.labels, strict=True):
        o, cal = d["overall"], d.get("calibration") or {}
        rows.append([_esc(name), f"{o['n']:,}", _pct(o["accuracy"]), _pct(o["hallucination_rate"]),
                     _pct(o["abstention_rate"]), _pct(o["accuracy_given_attempted"]), _pct(o["f_score"]),
                     _rate(cal.get("delta")), _rate(cal.get("ece"))])  # fmt: skip
    parts = ["<h2>Graded answers</h2>", _table(head, rows, "num")]
    buckets = _bucket_figures(inputs)
    if buckets:
        figs.extend(buckets)
        parts += ["<h3>By corpus count</h3>",
                  "<p>Answers grouped by how often their fact occurs in the corpus (outputs --per-fact).</p>",
                  '<div class="grid">', *(f.div() for f in buckets), "</div>"]  # fmt: skip
    else:
        parts.append("<p>No graded report was made with --per-fact: no view by corpus count.</p>")
    cal = _calibration_figures(inputs)
    if cal:
        figs.extend(cal)
        parts += ["<h3>Calibration</h3>", '<div class="grid">', *(f.div() for f in cal), "</div>"]
    elif inputs.graded:
        parts.append("<p>No graded report holds confidences: no reliability diagram.</p>")
    return "".join(parts)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1280px;
padding:0 16px;color:#222;line-height:1.4}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
h3{font-size:15px}p{max-width:960px}small{color:#666}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:12px}
.chart{border:1px solid #eee;border-radius:4px;background:white}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 7px;vertical-align:top}th{background:#f3f3f3;text-align:left}
table.num td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
.swatch{display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px}
.warn{color:#a00}code{font-size:11px;white-space:nowrap}
"""


def _plotly_js() -> str:
    """The plotly.min.js shipped inside the plotly package (no network, no CDN)."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the report needs the plotly package (pip install plotly)")
    path = os.path.join(list(spec.submodule_search_locations)[0], "package_data", "plotly.min.js")
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read plotly.js from the plotly package: {exc.strerror or exc}") from None


def _script_json(obj: Any) -> str:
    """JSON safe inside a <script> element: no "</" can close it early."""
    return orjson.dumps(obj).decode().replace("</", "<\\/")


def render_html(inputs: Inputs, title: str = "hallu-audit report") -> Page:
    """The self-contained page. Raises ``ConfigError`` without inputs or without plotly."""
    if not (inputs.corpus or inputs.prediction or inputs.graded):
        raise ConfigError("nothing to report: give a corpus report, a prediction or graded reports")
    figs: list[Figure] = []
    body = [
        f"<h1>{_esc(title)}</h1>",
        f"<p><small>made by hallu-audit {_esc(audit.__version__)} from "
        f"{1 if inputs.corpus else 0} corpus report, {1 if inputs.prediction else 0} prediction and "
        f"{len(inputs.graded)} graded report(s); the numbers are those of the JSON files listed under "
        f"Inputs.</small></p>",
        _corpus_section(inputs, figs),
        _bounds_section(inputs, figs),
        _graded_section(inputs, figs),
        _inputs_section(inputs),
    ]
    specs = {f.id: {"data": f.data, "layout": f.layout} for f in figs}
    script = (
        "const FIGURES = " + _script_json(specs) + ";\n"
        "const CONFIG = {displaylogo: false, responsive: true, modeBarButtonsToRemove: "
        "['select2d', 'lasso2d', 'zoomIn2d', 'zoomOut2d', 'autoScale2d']};\n"
        "Promise.all(Object.entries(FIGURES).map(([id, f]) => "
        "Plotly.newPlot(id, f.data, f.layout, CONFIG)))"
        ".then(() => { document.body.dataset.rendered = String(Object.keys(FIGURES).length); });\n"
    )
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_esc(title)}</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:\">"
        f"<style>{CSS}</style>"
        f"<script>{_plotly_js()}</script></head>\n<body>\n"
        + "\n".join(p for p in body if p)
        + f"\n<script>\n{script}</script>\n</body></html>\n"
    )
    return Page(page, len(figs), sum(f.marks for f in figs))
