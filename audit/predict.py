"""Predicted hallucination bounds from a corpus report (``hallu-audit predict``).

Reads the JSON report of ``hallu-audit corpus --json`` and applies Theorem 2 of Kalai, Nachum,
Vempala, Zhang, "Why Language Models Hallucinate" (arXiv 2509.04664, sec. 3.3 and App. B) to it,
overall and per relation:

- the lower bound ``sr - 2/min|E_c| - 6 ln(3N/gamma)/sqrt(N) - delta`` at confidence 1 - gamma,
  reported as *vacuous* when it is <= 0, with the N at which it would become positive;
- the upper bound ``sr - sr/(max|E_c| + 1) + slack``: the error the calibrated memoriser
  (answer what was seen, guess among the plausible answers otherwise) reaches; not a ceiling on
  the error of any other model;
- the Good-Turing missing-mass interval around sr.

``answers`` is the number of plausible answers per prompt, |E_c| + 1, by the one rule of
``audit.bounds.PLAUSIBLE_ANSWERS``. Unless given, it is estimated from the distinct objects the
corpus showed for the relation, and flagged as an estimate. Overall, the lower bound uses the
smallest |E_c| of all relations and the upper bound the largest; the overall ``answers`` field
holds the smallest.

N counts fact mentions (the paper's training examples), N1 the facts mentioned exactly once. A
report made with ``--dedup`` also holds the counts over distinct sources; those are used unless
``counts="raw"``. Counts a bounded-memory sketch estimated keep their standard errors.

The prediction JSON (``kind`` ``hallu-audit/prediction``, ``schema`` 1) is consumed by
``hallu-audit outputs``; its keys are documented on ``Prediction.to_dict`` and
``PredictionReport.to_dict``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

import audit
from audit import bounds
from audit.errors import ConfigError, FormatError, InputError, OptionError

REPORT_KIND = "hallu-audit/corpus-report"
PREDICTION_KIND = "hallu-audit/prediction"
OUTPUTS_KIND = "hallu-audit/outputs-report"
SCHEMA = 1
#: Counts and answer numbers are 64-bit: a report with N = 1e300 is corrupt, not a corpus.
MAX_COUNT = (1 << 63) - 1


# -- input ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stats:
    """The part of a corpus report's summary (overall or one relation) that ``predict`` uses."""

    n: int
    n1: float
    singleton_rate: float
    distinct_objects: int | None
    se_n1: float | None = None  # standard errors when a sketch estimated the counts
    se_singleton_rate: float | None = None

    @property
    def exact(self) -> bool:
        return self.se_singleton_rate is None


@dataclass(frozen=True)
class CorpusReport:
    """A parsed, validated ``hallu-audit/corpus-report``."""

    version: str
    config_id: str
    confidence: float
    overall: Stats
    relations: dict[str, Stats]
    counts: str = "raw"  # "raw" (every mention) or "distinct" (over distinct sources, --dedup)
    dedup: str | None = None  # the --dedup mode of the distinct-source counts
    facts_digest: str | None = None  # the reference table counted (None in pattern mode)


def _need(obj: Mapping[str, Any], key: str, where: str, source: str) -> Any:
    if key not in obj:
        raise InputError(f"corpus report has no field '{where}{key}'", path=source)
    return obj[key]


def _number(value: Any, name: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"field {name} must be a finite number, got {value!r}", path=source)
    return value


def _count(value: Any, name: str, source: str) -> int:
    """A count: an integer (or an integral float) in [0, 2^63)."""
    x = _number(value, name, source)
    if x != int(x) or not 0 <= x <= MAX_COUNT:
        raise InputError(f"field {name} must be a count (an integer in [0, 2^63)), got {value!r}", path=source)
    return int(x)


def _parse_stats(obj: Any, where: str, source: str) -> Stats:
    if not isinstance(obj, dict):
        raise InputError(f"field {where} must be a JSON object", path=source)
    pre = f"{where}."
    n = _count(_need(obj, "N", pre, source), f"{pre}N", source)
    n1 = _number(_need(obj, "N1", pre, source), f"{pre}N1", source)
    if not 0 <= n1 <= MAX_COUNT:
        raise InputError(f"field {pre}N1 is out of range, got {n1!r}", path=source)
    sr = _number(_need(obj, "singleton_rate", pre, source), f"{pre}singleton_rate", source)
    objects = obj.get("distinct_objects")
    if objects is not None:
        objects = _count(objects, f"{pre}distinct_objects", source)
    if n < 0 or n1 < 0 or not 0 <= sr <= 1:
        raise InputError(f"field {where} has N, N1 or singleton_rate out of range", path=source)
    se_n1 = se_sr = None
    if obj.get("exact") is False:
        se = obj.get("standard_errors")
        if not isinstance(se, dict):
            raise InputError(f"field {where} is an estimate without standard_errors", path=source)
        se_n1 = float(_number(_need(se, "N1", f"{pre}standard_errors.", source), f"{pre}standard_errors.N1", source))
        se_sr = float(
            _number(
                _need(se, "singleton_rate", f"{pre}standard_errors.", source),
                f"{pre}standard_errors.singleton_rate",
                source,
            )
        )
    return Stats(
        n=int(n), n1=n1, singleton_rate=float(sr), distinct_objects=objects, se_n1=se_n1, se_singleton_rate=se_sr
    )


COUNTS = ("raw", "distinct")


def parse_corpus_report(data: bytes, source: str = "<report>", counts: str | None = None) -> CorpusReport:
    """Decode and validate a corpus report; ``InputError``/``FormatError`` name the problem.

    ``counts``: ``"raw"`` (every mention), ``"distinct"`` (the counts over distinct sources of a
    report made with ``--dedup``; ``ConfigError`` if it has none) or None: distinct when the
    report has them, else raw.
    """
    if counts is not None and counts not in COUNTS:
        raise ConfigError(f"--counts {counts!r}: expected raw or distinct")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        hint = ""
        if "after document" in exc.msg:  # several JSON values: a JSONL file such as the table
            hint = "; predict reads the one JSON document that corpus writes with -o FILE or --json"
        raise InputError(f"not a JSON corpus report ({exc.msg}){hint}", path=source) from None
    if not isinstance(doc, dict) or doc.get("kind") != REPORT_KIND:
        kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
        raise InputError(
            f"not a corpus report (kind {kind!r}, expected {REPORT_KIND!r})", path=source
        )
    if doc.get("schema") != SCHEMA:
        raise FormatError(f"unsupported corpus report schema {doc.get('schema')!r}", path=source)
    confidence = _number(_need(doc, "confidence", "", source), "confidence", source)
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1), got {confidence}", path=source)
    block, prefix, dedup = doc, "", None
    distinct = doc.get("distinct_sources")
    if counts == "distinct" and not isinstance(distinct, dict):
        raise ConfigError(
            "--counts distinct: the corpus report has no counts over distinct sources "
            "(made without --dedup)",
            path=source,
        )
    if isinstance(distinct, dict) and counts != "raw":
        block, prefix, dedup = distinct, "distinct_sources.", str(distinct.get("dedup"))
    relations = _need(block, "relations", prefix, source)
    if not isinstance(relations, dict):
        raise InputError(f"field '{prefix}relations' must be a JSON object", path=source)
    return CorpusReport(
        version=str(doc.get("version", "")),
        config_id=str(_need(doc, "config_id", "", source)),
        confidence=float(confidence),
        overall=_parse_stats(_need(block, "overall", prefix, source), f"{prefix}overall", source),
        relations={
            str(rel): _parse_stats(s, f"{prefix}relations.{rel}", source)
            for rel, s in sorted(relations.items())
        },
        counts="distinct" if dedup is not None else "raw",
        dedup=dedup,
        facts_digest=_facts_digest(doc),
    )


def _facts_digest(doc: dict[str, Any]) -> str | None:
    """The reference table a corpus report counted (``config.facts_digest``); None in pattern
    mode or when the report does not say."""
    cfg = doc.get("config")
    found = cfg.get("facts_digest") if isinstance(cfg, dict) and cfg.get("mode") == "facts" else None
    return found if isinstance(found, str) and found else None


def read_bytes(path: str) -> bytes:
    """The bytes of a file, or ``InputError`` naming it."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None


def calibration_from_outputs(data: bytes, source: str = "<outputs report>") -> float:
    """The calibration gap of an ``outputs --json`` report: ``report["calibration"]["delta"]``."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not a JSON outputs report ({exc.msg})", path=source) from None
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind is not None and kind != OUTPUTS_KIND:
        raise InputError(
            f"not an outputs report (kind {kind!r}, expected {OUTPUTS_KIND!r}); "
            "--calibration-from reads the report of outputs --json or -o",
            path=source,
        )
    cal = doc.get("calibration") if isinstance(doc, dict) else None
    delta = cal.get("delta") if isinstance(cal, dict) else None
    if delta is None:
        raise InputError(
            "outputs report has no calibration.delta (were the outputs graded with confidences?)",
            path=source,
        )
    delta = _number(delta, "calibration.delta", source)
    if not 0 <= delta <= 1:
        raise InputError(f"calibration.delta must be in [0, 1], got {delta}", path=source)
    return float(delta)


def parse_answers(specs: list[str]) -> tuple[int | None, dict[str, int]]:
    """Parse ``--answers`` values: ``N`` (every relation) or ``RELATION=N``; N >= 2.

    >>> parse_answers(["365", "capital=200"])
    (365, {'capital': 200})
    """
    default: int | None = None
    per: dict[str, int] = {}
    for spec in specs:
        rel, sep, num = spec.rpartition("=")
        try:
            value = int(num)
        except ValueError:
            raise OptionError("--answers", f"{spec!r}: expected N or RELATION=N with an integer N") from None
        if value < 2:
            raise OptionError("--answers", f"{spec!r}: need at least 2 plausible answers (|E_c| >= 1)")
        if value > MAX_COUNT:
            raise OptionError("--answers", f"{spec!r}: at most 2^63 - 1 plausible answers")
        if sep:
            if not rel:
                raise OptionError("--answers", f"{spec!r}: empty relation name")
            per[rel] = value
        else:
            default = value
    return default, per


# -- prediction ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LowerBound:
    """Theorem 2's lower bound. ``value`` is None when the bound is vacuous (``raw`` <= 0)."""

    value: float | None
    vacuous: bool
    raw: float
    n_needed: float | None  # N at which the bound turns positive at this sr; None: never


@dataclass(frozen=True)
class Prediction:
    """The bounds for one relation (or overall)."""

    n: int
    n1: float
    singleton_rate: float
    answers: int
    answers_estimated: bool
    lower_bound: LowerBound
    upper_bound: float | None  # None for an empty corpus
    missing_mass: bounds.Interval
    answers_max: int = 0  # overall: the largest answers, used by the upper bound
    se_n1: float | None = None  # a sketch's standard errors (None: the counts are exact)
    se_singleton_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"N", "N1", "singleton_rate", "exact", "standard_errors": null | {"N1",
        "singleton_rate"}, "answers", "answers_estimated", "lower_bound": {"value", "vacuous",
        "raw", "n_needed"}, "upper_bound", "missing_mass": {"estimate", "low", "high",
        "half_width", "confidence"}}``."""
        mm = self.missing_mass
        exact = self.se_singleton_rate is None
        return {
            "N": self.n,
            "N1": self.n1,
            "singleton_rate": self.singleton_rate,
            "exact": exact,
            "standard_errors": None
            if exact
            else {"N1": self.se_n1, "singleton_rate": self.se_singleton_rate},
            "answers": self.answers,
            "answers_estimated": self.answers_estimated,
            "lower_bound": {
                "value": self.lower_bound.value,
                "vacuous": self.lower_bound.vacuous,
                "raw": self.lower_bound.raw,
                "n_needed": self.lower_bound.n_needed,
            },
            "upper_bound": self.upper_bound,
            "missing_mass": {
                "estimate": mm.estimate,
                "low": mm.low,
                "high": mm.high,
                "half_width": mm.half_width if math.isfinite(mm.half_width) else None,
                "confidence": mm.confidence,
            },
        }


@dataclass(frozen=True)
class PredictionReport:
    """Everything ``predict`` computes; ``to_json`` is its stable serialized form."""

    version: str
    config_id: str
    confidence: float
    calibration_delta: float
    overall: Prediction
    relations: dict[str, Prediction] = field(default_factory=dict)
    counts: str = "raw"
    dedup: str | None = None
    facts_digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "hallu-audit/prediction", "schema": 1, "version", "config_id", "confidence",
        "calibration_delta", "counts": "raw" | "distinct", "dedup", "overall": P, "relations":
        {relation: P}}``, P as in ``Prediction.to_dict``; ``version`` is the version of
        hallu-audit that predicted; ``dedup`` the mode behind distinct-source counts (else null);
        ``facts_digest`` the reference table the corpus counted (null in pattern mode), which
        ``outputs --predicted`` checks against the table it grades with."""
        return {
            "kind": PREDICTION_KIND,
            "schema": SCHEMA,
            "version": self.version,
            "config_id": self.config_id,
            "counts": self.counts,
            "dedup": self.dedup,
            "facts_digest": self.facts_digest,
            "confidence": self.confidence,
            "calibration_delta": self.calibration_delta,
            "overall": self.overall.to_dict(),
            "relations": {rel: p.to_dict() for rel, p in sorted(self.relations.items())},
        }

    def to_json(self) -> bytes:
        """Deterministic JSON (sorted keys, two-space indent, trailing newline)."""
        return (
            orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
        )


def predict_one(
    stats: Stats,
    *,
    min_answers: int,
    max_answers: int | None = None,
    estimated: bool = False,
    delta: float = 0.0,
    confidence: float = 0.99,
) -> Prediction:
    """Theorem 2's bounds for one summary; |E_c| = answers - 1 (sec. 3.3, App. B)."""
    if min_answers < 2:
        raise ConfigError(f"need at least 2 plausible answers per prompt, got {min_answers}")
    max_answers = max_answers if max_answers is not None else min_answers
    sr, n = stats.singleton_rate, stats.n
    raw = bounds.lower_bound(sr, n, min_answers - 1, delta, confidence)
    vacuous = not raw > 0
    n_needed = bounds.n_for_positive_lower_bound(sr, min_answers - 1, delta, confidence)
    upper = None if n <= 0 else min(1.0, bounds.upper_bound(sr, n, max_answers - 1, confidence))
    return Prediction(
        n=n,
        n1=stats.n1,
        singleton_rate=sr,
        answers=min_answers,
        answers_estimated=estimated,
        lower_bound=LowerBound(
            value=None if vacuous else raw,
            vacuous=vacuous,
            raw=raw if math.isfinite(raw) else -1.0,  # N = 0: JSON has no -inf
            n_needed=n_needed,
        ),
        upper_bound=upper,
        missing_mass=bounds.missing_mass_interval(sr, n, confidence),
        answers_max=max_answers,
        se_n1=stats.se_n1,
        se_singleton_rate=stats.se_singleton_rate,
    )


def _answers_for(
    rel: str, stats: Stats, default: int | None, per: dict[str, int]
) -> tuple[int, bool]:
    if rel in per:
        return per[rel], False
    if default is not None:
        return default, False
    if stats.n == 0:
        raise ConfigError(
            f"relation {rel!r}: the corpus report counted no mention of it (N = 0), so there is "
            "nothing to predict from (check the corpus and its --facts or --pattern); "
            "--answers N gives its vacuous bound"
        )
    if stats.distinct_objects is None or stats.distinct_objects < 2:
        raise ConfigError(
            f"relation {rel!r}: cannot estimate the plausible answers from "
            f"{stats.distinct_objects!r} distinct objects; pass --answers {rel}=N"
        )
    return stats.distinct_objects, True


def predict(
    report: CorpusReport,
    *,
    answers: int | None = None,
    answers_per_relation: Mapping[str, int] | None = None,
    delta: float = 0.0,
    confidence: float | None = None,
) -> PredictionReport:
    """Predict the hallucination bounds of ``report``, overall and per relation.

    ``answers`` applies to every relation, ``answers_per_relation`` overrides it per relation;
    relations left without one get an estimate (their distinct objects: of the table, or seen in
    pattern mode). ``confidence`` defaults to the report's.
    """
    per = dict(answers_per_relation or {})
    unknown = sorted(set(per) - set(report.relations))
    if unknown:
        known = ", ".join(sorted(report.relations)) or "none"
        raise ConfigError(f"--answers names unknown relation {unknown[0]!r} (report has: {known})")
    if not 0 <= delta <= 1:
        raise ConfigError(f"calibration delta must be in [0, 1], got {delta}")
    conf = report.confidence if confidence is None else confidence
    if not 0 < conf < 1:
        raise ConfigError(f"confidence must be in (0, 1), got {conf}")

    relations: dict[str, Prediction] = {}
    chosen: dict[str, tuple[int, bool]] = {}
    for rel, stats in report.relations.items():
        chosen[rel] = _answers_for(rel, stats, answers, per)
        k, est = chosen[rel]
        relations[rel] = predict_one(
            stats, min_answers=k, estimated=est, delta=delta, confidence=conf
        )

    if chosen:
        lo = min(k for k, _ in chosen.values())
        hi = max(k for k, _ in chosen.values())
        est = any(e for _, e in chosen.values())
    else:
        lo, est = _answers_for("overall", report.overall, answers, {})
        hi = lo
    overall = predict_one(
        report.overall, min_answers=lo, max_answers=hi, estimated=est, delta=delta, confidence=conf
    )
    return PredictionReport(
        version=audit.__version__,
        config_id=report.config_id,
        confidence=conf,
        calibration_delta=delta,
        overall=overall,
        relations=relations,
        counts=report.counts,
        dedup=report.dedup,
        facts_digest=report.facts_digest,
    )


# -- rendering -----------------------------------------------------------------------------------
def _fmt_n(x: float | None) -> str:
    if x is None:
        return "-"
    if float(x).is_integer() and abs(x) < 1e7:
        return f"{int(x):,}"
    return f"{x:.3g}"


def _fmt_lower(lb: LowerBound) -> str:
    if not lb.vacuous and lb.value is not None:
        return f"{lb.value:.3f}"
    if lb.n_needed is None:
        return "vacuous (never > 0)"
    return f"vacuous (N >= {_fmt_n(lb.n_needed)})"


def render_table(pred: PredictionReport) -> str:
    """A plain-text table for humans (the CLI writes it to stderr), with notes that say what N
    counts, which counts were used, what each bound means and which numbers are estimates."""
    from audit.tables import OVERALL, count, grid, rate

    head = ["relation", "N", "N1", "sr", "answers", "lower bound", "upper bound", "missing mass"]
    rows = [head]
    items = [(OVERALL, pred.overall), *sorted(pred.relations.items())]
    for name, p in items:
        answers = f"{p.answers:,}"
        if p.answers_max != p.answers:
            answers = f"{p.answers:,}..{p.answers_max:,}"
        if p.answers_estimated:
            answers += "*"
        mm = p.missing_mass
        rows.append(
            [
                name,
                count(p.n),
                count(p.n1, p.se_n1),
                rate(p.singleton_rate, p.se_singleton_rate),
                answers,
                _fmt_lower(p.lower_bound),
                "-" if p.upper_bound is None else f"{p.upper_bound:.4f}",
                f"[{mm.low:.4f}, {mm.high:.4f}]",
            ]
        )
    lines = grid(rows, rule=True)
    if pred.counts == "distinct":
        used = f"over distinct sources (--dedup {pred.dedup}; --counts raw: every mention)"
    else:
        used = "every mention counted"
    notes = [
        f"N = fact mentions in the corpus (the paper's training examples), {used};",
        "N1 = facts mentioned exactly once; sr = N1/N; answers = plausible answers |E_c| + 1.",
        f"Theorem 2 (Kalai et al. 2025) at confidence {pred.confidence:g}, "
        f"calibration delta {pred.calibration_delta:g}:",
        "  lower bound: the least hallucination rate of any base model trained on this corpus;",
        "  upper bound: the rate a calibrated memoriser reaches (it answers what it saw and guesses",
        "  among the plausible answers otherwise); not a ceiling on any model, which can err more.",
    ]
    if any(p.se_singleton_rate is not None for _, p in items):
        notes.append(
            "± = one standard error: the corpus run's bounded-memory sketch estimated N1 and sr; "
            "the bounds use the estimate."
        )
    if any(p.answers_estimated for _, p in items):
        where = "of the reference table" if pred.facts_digest else "seen in the corpus"
        notes.append(f"* answers estimated from the distinct objects {where}; pass --answers to set them.")
    if pred.relations and pred.overall.answers_max != pred.overall.answers:
        notes.append(
            "Overall: lower bound uses the fewest answers of any relation, upper bound the most."
        )
    if any(p.lower_bound.vacuous for _, p in items):
        notes.append(
            "A vacuous lower bound (<= 0) says nothing; N >= X is where it would turn positive."
        )
    return "\n".join(lines + [""] + notes) + "\n"
