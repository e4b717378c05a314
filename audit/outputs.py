"""Grading a file of model answers against a reference table: metrics, calibration, CI gates.

Data flows one way: an outputs JSONL file -> rows -> ``Grade`` per row (``audit.grading``) ->
``Counts`` (a monoid) overall, per relation, per corpus-count bucket -> ``OutputsReport``.
Rendering (table, Markdown, JUnit) lives in ``audit.render_outputs``.

Metrics (SimpleQA, OpenAI 2024; Kalai et al. 2025 sec. 4.2), for c correct, i incorrect and a
abstained answers, n = c + i + a:

- accuracy = c / n; hallucination rate = i / n; abstention rate = a / n;
- accuracy given attempted = c / (c + i) (null when nothing was attempted);
- F = harmonic mean of accuracy and accuracy given attempted (0 when both are 0 or undefined);
- score_t = (c - t/(1-t) i) / n for each confidence target t (``audit.bounds.target_score``).

Intervals are seeded percentile bootstraps (2.5% and 97.5%). Every metric above depends on the
rows only through (c, i, a), and resampling n rows with replacement gives counts distributed
exactly Multinomial(n, (c, i, a) / n); so the bootstrap draws those counts directly, B draws in
one vectorised numpy call, in O(B) memory whatever n is.
"""

from __future__ import annotations

import gc
import hashlib
import math
from array import array
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, Any

import orjson

import audit
from audit.bounds import DEFAULT_TARGETS, penalty, target_score
from audit.counting import BUCKETS, bucket_of
from audit.errors import BadRecordError, ConfigError, FormatError, InputError, MergeError
from audit.facts import Fact, digest, join_keys
from audit.grading import ABSTAINED, CORRECT, GRADES, INCORRECT, Grader, GraderConfig
from audit.grading.core import RULES
from audit.io.files import read_whole
from audit.normalize import normalize
from audit.reading import MAX_EXAMPLES, BadTally, ReadStats, json_rows, open_lines

KIND = "hallu-audit/outputs-report"
SCHEMA = 1
PREDICTION_KIND = "hallu-audit/prediction"

#: Field names tried, in order, when the option naming the field is not given.
ID_FIELDS: tuple[str, ...] = ("id", "fact_id", "qid", "question_id")
ANSWER_FIELDS: tuple[str, ...] = ("answer", "response", "output", "prediction", "completion")
CONFIDENCE_FIELDS: tuple[str, ...] = ("confidence", "probability", "prob")
QUESTION_FIELDS: tuple[str, ...] = ("question", "prompt", "input")

#: Labels of the corpus-count buckets, zero first (THEORY.md sec. 6, Kandpal et al. 2023).
BUCKET_LABELS: tuple[str, ...] = ("0", *(b[0] for b in BUCKETS))
INTERVAL = 0.95
ECE_BINS = 10
MISSING_EXAMPLES = 10
_CODE = {CORRECT: 0, INCORRECT: 1, ABSTAINED: 2}
_ABSENT: Any = object()  # a key not in a row (None is a JSON null)
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class OutputsConfig:
    """Everything that changes the numbers of an outputs report; ``id`` goes into the report."""

    grader: GraderConfig = field(default_factory=GraderConfig)
    id_field: str | None = None
    answer_field: str | None = None
    confidence_field: str | None = None
    question_field: str | None = None
    targets: tuple[float, ...] = DEFAULT_TARGETS
    bootstrap: int = 1000
    seed: int = 0
    min_errors: float | None = None  # min_c |E_c|, for the threshold of calibration.delta
    strict: bool = False

    def __post_init__(self) -> None:
        for t in self.targets:
            if not 0 <= t < 1:
                raise ConfigError(f"confidence target must be in [0, 1), got {t}")
        if self.bootstrap < 0:
            raise ConfigError(f"--bootstrap must be >= 0, got {self.bootstrap}")
        if self.min_errors is not None and self.min_errors < 1:
            raise ConfigError(f"--min-errors must be >= 1, got {self.min_errors}")

    @property
    def id(self) -> str:
        blob = repr(
            (self.grader.id, self.targets, self.bootstrap, self.seed, self.min_errors)
        ).encode()
        return "outcfg-" + hashlib.sha256(blob).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "grader": self.grader.describe(),
            "targets": list(self.targets),
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "interval": INTERVAL,
            "min_errors": self.min_errors,
            "delta_threshold": self.delta_threshold,
            "ece_bins": ECE_BINS,
            "fields": {
                "id": self.id_field or list(ID_FIELDS),
                "answer": self.answer_field or list(ANSWER_FIELDS),
                "confidence": self.confidence_field or list(CONFIDENCE_FIELDS),
                "question": self.question_field or list(QUESTION_FIELDS),
            },
        }

    @property
    def delta_threshold(self) -> float:
        """1 / min_c |E_c| (THEORY.md sec. 1); 0 when ``min_errors`` is not given."""
        return 1.0 / self.min_errors if self.min_errors else 0.0


@dataclass(frozen=True)
class Gates:
    """CI gates; a None gate is off. ``min_scores`` holds (t, minimum score_t) pairs."""

    max_hallucination: float | None = None
    min_accuracy: float | None = None
    min_scores: tuple[tuple[float, float], ...] = ()
    max_regression: float | None = None
    min_coverage: float | None = None


@dataclass
class Counts:
    """Correct, incorrect and abstained answers. A monoid: ``Counts()`` and ``+``."""

    correct: int = 0
    incorrect: int = 0
    abstained: int = 0

    @property
    def n(self) -> int:
        return self.correct + self.incorrect + self.abstained

    def add(self, grade: str) -> None:
        if grade == CORRECT:
            self.correct += 1
        elif grade == INCORRECT:
            self.incorrect += 1
        else:
            self.abstained += 1

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.correct + other.correct,
            self.incorrect + other.incorrect,
            self.abstained + other.abstained,
        )


def metrics(counts: Counts, targets: tuple[float, ...] = DEFAULT_TARGETS) -> dict[str, Any]:
    """The metrics of the module docstring, as a JSON-ready dict (rates null when n = 0)."""
    c, i, a, n = counts.correct, counts.incorrect, counts.abstained, counts.n
    acc = c / n if n else None
    aga = c / (c + i) if c + i else None
    if acc is None:
        f = None
    elif aga is None or acc + aga == 0:
        f = 0.0
    else:
        f = 2 * acc * aga / (acc + aga)
    return {
        "n": n,
        "correct": c,
        "incorrect": i,
        "abstained": a,
        "accuracy": acc,
        "hallucination_rate": i / n if n else None,
        "abstention_rate": a / n if n else None,
        "accuracy_given_attempted": aga,
        "f_score": f,
        "scores": {
            _tkey(t): {
                "t": t,
                "penalty": penalty(t),
                "score": target_score(c, i, n, t) if n else None,
            }
            for t in targets
        },
    }


def _tkey(t: float) -> str:
    return f"{t:g}"


def bootstrap(
    counts: Counts, targets: tuple[float, ...], draws: int, rng: Any
) -> dict[str, Any] | None:
    """Percentile intervals (``INTERVAL``) of every metric by the multinomial bootstrap."""
    import numpy as np

    n = counts.n
    if draws <= 0 or n == 0:
        return None
    p = np.array([counts.correct, counts.incorrect, counts.abstained], dtype=float) / n
    sample = rng.multinomial(n, p, size=draws).astype(float)
    c, i, a = sample[:, 0], sample[:, 1], sample[:, 2]
    acc = c / n
    att = c + i
    aga = np.divide(c, att, out=np.full_like(c, np.nan), where=att > 0)
    aga0 = np.nan_to_num(aga)  # F is 0 when nothing was attempted
    f = np.divide(2 * acc * aga0, acc + aga0, out=np.zeros_like(c), where=acc + aga0 > 0)
    lo, hi = (1 - INTERVAL) / 2 * 100, (1 + INTERVAL) / 2 * 100

    def iv(x: Any) -> list[float] | None:
        if np.all(np.isnan(x)):
            return None
        q = np.nanpercentile(x, [lo, hi])
        return [float(q[0]), float(q[1])]

    out: dict[str, Any] = {
        "accuracy": iv(acc),
        "hallucination_rate": iv(i / n),
        "abstention_rate": iv(a / n),
        "accuracy_given_attempted": iv(aga),
        "f_score": iv(f),
        "scores": {_tkey(t): iv((c - penalty(t) * i) / n) for t in targets},
    }
    return out


# -- reading -----------------------------------------------------------------------------------
def _question_key(text: str) -> str:
    return normalize(text).strip(" ?.!:;\"'")


@dataclass
class FactIndex:
    """The reference facts by id and by normalised question (ambiguous questions map to None)."""

    facts: list[Fact]
    by_id: dict[str, Fact]

    @classmethod
    def build(cls, facts: list[Fact]) -> FactIndex:
        return cls(facts, {f.id: f for f in facts})

    @cached_property
    def by_question(self) -> dict[str, Fact | None]:
        """Built on first use: rows that carry an id never need it, and normalising every
        question of a table of a million facts takes about a second."""
        by_question: dict[str, Fact | None] = {}
        for f in self.facts:
            if f.question:
                key = _question_key(f.question)
                by_question[key] = None if key in by_question else f
        return by_question


@dataclass
class Graded:
    """Everything a pass over an outputs file produces, before the report is assembled."""

    rows: int = 0
    overall: Counts = field(default_factory=Counts)
    relations: dict[str, Counts] = field(default_factory=dict)
    reasons: dict[str, dict[str, int]] = field(default_factory=lambda: {g: {} for g in GRADES})
    read: ReadStats = field(default_factory=ReadStats)
    seen: set[str] = field(default_factory=set)
    #: rows graded without their confidence (out of [0, 1], not a number, NaN)
    confidence_dropped: BadTally = field(default_factory=BadTally)
    confidence: array = field(default_factory=lambda: array("d"))
    confidence_grade: array = field(default_factory=lambda: array("b"))
    buckets: dict[str, Counts] | None = None
    #: the fields of the first row that had no answer (or no id and no question), for the error
    #: of a run that graded nothing: a misnamed field shows there
    first_bad_fields: tuple[str, ...] = ()


def _first(row: dict, name: str | None, names: tuple[str, ...]) -> Any:
    if name is not None:
        return row.get(name)
    for key in names:
        if key in row:
            return row[key]
    return None


def grade_outputs(
    path: str,
    index: FactIndex,
    config: OutputsConfig,
    *,
    counts_by_id: dict[str, int] | None = None,
    grades_out: IO[bytes] | _Sink | None = None,
) -> Graded:
    """Grade every row of an outputs JSONL file; bad rows are counted by reason (file:line
    examples), or raise ``BadRecordError`` at the first one under ``config.strict``."""
    grader = Grader(config.grader)
    out = Graded()
    if counts_by_id is not None:
        out.buckets = {label: Counts() for label in (*BUCKET_LABELS, "unknown")}
    fh, name = open_lines(path)
    loads = orjson.loads
    dumps = orjson.dumps
    grade_fields = grader.grade_fields
    by_id = index.by_id
    id_field, answer_field = config.id_field, config.answer_field
    conf_field, question_field = config.confidence_field, config.question_field
    read = out.read
    confs, conf_grades = out.confidence, out.confidence_grade
    seen = out.seen
    seen_add = seen.add
    dropped = out.confidence_dropped
    buckets = out.buckets
    # (relation, grade, reason) -> rows: one dict update a row; Counts are built after the loop
    tally: defaultdict[tuple[str, str, str], int] = defaultdict(int)
    rows = 0

    def bad(reason: str, line: int, detail: str) -> None:
        if config.strict:
            raise BadRecordError(detail, path=name, line=line)
        read.add_bad(reason, f"{name}:{line}")

    # Rows make no reference cycles (checked: gc.collect() finds none after a run), so the cycle
    # collector would only rescan the reference facts and the set-up cached per fact, again and
    # again: a fifth of the grading time on the benchmark. It is off for the loop only.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for line_no, raw in enumerate(fh, 1):
            try:
                row = loads(raw)
            except orjson.JSONDecodeError as exc:
                if not raw.strip():
                    continue  # a blank line (orjson refuses an empty document): not a row
                row = _without_bom(raw) if line_no == 1 else _ABSENT
                if row is _ABSENT:
                    rows += 1
                    bad("invalid_json", line_no, f"invalid JSON ({exc.msg})")
                    continue
            rows += 1
            if not isinstance(row, dict):
                bad("not_an_object", line_no, "row is not a JSON object")
                continue
            # _first(row, None, FIELDS) returns row[FIELDS[0]] when that key is there
            answer = row.get("answer", _ABSENT) if answer_field is None else _ABSENT
            if answer is _ABSENT:
                answer = _first(row, answer_field, ANSWER_FIELDS)
            if answer is None:
                bad("no_answer", line_no, "row has no answer field (or it is null)")
                out.first_bad_fields = out.first_bad_fields or tuple(sorted(map(str, row)))
                continue
            if not isinstance(answer, str):
                if isinstance(answer, (int, float)) and not isinstance(answer, bool):
                    answer = str(answer)
                else:
                    bad(
                        "non_string_answer",
                        line_no,
                        f"answer is {type(answer).__name__}, not a string",
                    )
                    continue
            fid = row.get("id", _ABSENT) if id_field is None else _ABSENT
            if fid is _ABSENT:
                fid = _first(row, id_field, ID_FIELDS)
            if fid is not None:
                fact = by_id.get(fid if type(fid) is str else str(fid))
                if fact is None:
                    bad("unknown_id", line_no, f"id {str(fid)!r} is not in the reference table")
                    continue
            else:
                question = _first(row, question_field, QUESTION_FIELDS)
                if not isinstance(question, str):
                    bad("no_id", line_no, "row has no id and no question to match")
                    out.first_bad_fields = out.first_bad_fields or tuple(sorted(map(str, row)))
                    continue
                key = _question_key(question)
                by_question = index.by_question
                if key not in by_question:
                    bad("unknown_question", line_no, "question matches no reference fact")
                    continue
                found = by_question[key]
                if found is None:
                    bad("ambiguous_question", line_no, "question matches several reference facts")
                    continue
                fact = found
            if fact.id in seen:
                # the first answer to a fact counts: copies would weigh it twice
                bad("duplicate", line_no, f"a second answer to {fact.id!r}")
                continue
            conf = row.get("confidence", _ABSENT) if conf_field is None else _ABSENT
            if conf is _ABSENT:
                conf = _first(row, conf_field, CONFIDENCE_FIELDS)
            if conf is not None and not (type(conf) is float and 0.0 <= conf <= 1.0) and (
                isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 1
            ):
                # the answer is graded all the same: dropping the row would let a bad
                # confidence take its grade out of every rate
                if config.strict:
                    raise BadRecordError("confidence must be a number in [0, 1]", path=name, line=line_no)
                dropped.count += 1
                if len(dropped.examples) < MAX_EXAMPLES:
                    dropped.examples.append(f"{name}:{line_no}")
                conf = None
            grade, reason, matched = grade_fields(fact, answer, row.get("abstain") is True)
            tally[fact.relation, grade, reason] += 1
            seen_add(fact.id)
            if conf is not None:
                confs.append(float(conf))
                conf_grades.append(_CODE[grade])
            if buckets is not None and counts_by_id is not None:
                count = counts_by_id.get(fact.id)
                buckets["unknown" if count is None else bucket_of(count)].add(grade)
            if grades_out is not None:
                grades_out.write(
                    dumps(
                        {
                            "id": fact.id,
                            "line": line_no,
                            "grade": grade,
                            "reason": reason,
                            "matched": matched,
                            "confidence": conf,
                        }
                    )
                    + b"\n"
                )
    except OSError as exc:
        raise InputError(f"cannot read outputs: {exc.strerror or exc}", path=name) from None
    except EOFError as exc:
        raise InputError(f"compressed stream is truncated ({exc})", path=name) from None
    finally:
        if gc_was_on:
            gc.enable()
        if path != "-":
            fh.close()
    out.rows = rows
    reasons, relations, overall = out.reasons, out.relations, out.overall
    for (relation, grade, reason), n in tally.items():  # first-seen order, as row by row
        read.documents += n
        rel = relations.get(relation)
        if rel is None:
            rel = relations[relation] = Counts()
        for counts in (overall, rel):
            if grade == CORRECT:
                counts.correct += n
            elif grade == INCORRECT:
                counts.incorrect += n
            else:
                counts.abstained += n
        by_reason = reasons[grade]
        by_reason[reason] = by_reason.get(reason, 0) + n
    return out


def _without_bom(raw: bytes) -> Any:
    """The first row of a file that opens with a UTF-8 byte order mark, as some editors write
    it (orjson refuses the mark); ``_ABSENT`` when that is not why the line is no JSON."""
    if not raw.startswith(_BOM):
        return _ABSENT
    try:
        return orjson.loads(raw[len(_BOM) :])
    except orjson.JSONDecodeError:
        return _ABSENT


PER_FACT_KIND = "hallu-audit/per-fact"  # the header line of corpus --per-fact (audit.report)


def load_per_fact(path: str, refs_digest: str | None = None) -> tuple[dict[str, int], bool]:
    """``{id: count}`` from a ``corpus --per-fact`` JSONL file (any bad line is fatal), and
    whether its header line names the reference table it was counted from. Counts of another
    table than ``refs_digest`` are refused (exit 3); pattern-mode counts name no table."""
    counts: dict[str, int] = {}
    first, named = True, False
    for name, line_no, row in json_rows(path, "per-fact counts"):
        if first and isinstance(row, dict) and row.get("kind") == PER_FACT_KIND:
            named = _check_per_fact_header(row, name, refs_digest)
            first = False
            continue
        first = False
        count = row.get("count") if isinstance(row, dict) else None
        fid = row.get("id") if isinstance(row, dict) else None
        if fid is None or isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InputError("per-fact row needs an id and a count >= 0", path=name, line=line_no)
        counts[str(fid)] = count
    return counts, named


def _check_per_fact_header(row: dict[str, Any], path: str, refs_digest: str | None) -> bool:
    """Refuse the header of counts made from another table; True when it names one."""
    if row.get("schema") != 1:
        raise FormatError(f"unsupported per-fact schema {row.get('schema')!r}", path=path)
    if row.get("mode") == "patterns":
        return False
    theirs = row.get("facts_digest")
    if not isinstance(theirs, str) or not theirs:
        raise FormatError("per-fact header has no facts_digest", path=path)
    if refs_digest is not None and theirs != refs_digest:
        raise MergeError(
            f"per-fact counts were made from another reference table (digest {theirs[:12]}, "
            f"this table's {refs_digest[:12]}): count again with corpus --facts on this table",
            path=path,
        )
    return True


def _check_prediction_table(pred: Any, path: str, refs_digest: str) -> None:
    """A prediction names the reference table of its corpus report: refuse another one's."""
    theirs = pred.get("facts_digest") if isinstance(pred, dict) else None
    if isinstance(theirs, str) and theirs != refs_digest:
        raise MergeError(
            f"the prediction was made from counts of another reference table (digest "
            f"{theirs[:12]}, this table's {refs_digest[:12]}): its floors are of other facts",
            path=path,
        )


def _join_warnings(graded: Graded, per_fact: str | None, named: bool, pred: Any,
                   predicted: str | None) -> list[str]:  # fmt: skip
    """Warnings for files that do not name their reference table and join less than half the
    graded answers: per-fact counts by fact id, a prediction by relation."""
    out = []
    n = graded.overall.n
    if per_fact is not None and not named and graded.buckets is not None and n:
        joined = n - graded.buckets["unknown"].n
        if joined < n / 2:
            out.append(
                f"{per_fact}: only {joined:,} of {n:,} graded answers have a corpus count; the file "
                "names no reference table (pattern mode, by hand, or an older hallu-audit): was it "
                "counted from this one?"
            )
    if predicted is not None and isinstance(pred, dict) and not isinstance(pred.get("facts_digest"), str) and n:
        found = pred.get("relations")
        rels: dict[str, Any] = found if isinstance(found, dict) else {}
        joined = sum(c.n for r, c in graded.relations.items() if r in rels)
        if joined < n / 2:
            out.append(
                f"{predicted}: only {joined:,} of {n:,} graded answers are of a relation the "
                f"prediction covers ({', '.join(sorted(rels)) or 'none'}); it names no reference table"
            )
    return out


def join_per_fact(counts: dict[str, int], facts: list[Fact]) -> dict[str, int]:
    """``{fact.id: count}`` for the reference facts found in per-fact ``counts`` under one of
    their ``join_keys`` (so pattern-mode counts join a table with its own ids)."""
    out: dict[str, int] = {}
    for fact in facts:
        for key in join_keys(fact):
            count = counts.get(key)
            if count is not None:
                out[fact.id] = count
                break
    return out


def _load_json(path: str, what: str) -> Any:
    data = read_whole(path, f"cannot read {what}")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"{what} is not JSON ({exc.msg})", path=path) from None


# -- calibration -------------------------------------------------------------------------------
def calibration(graded: Graded, config: OutputsConfig) -> dict[str, Any] | None:
    """Behavioural calibration, the paper's delta and ECE, over rows that carry a confidence.

    - ``behavioral``: for each target t, the model answers only when its confidence > t (other
      rows count as abstentions): answered, accuracy and error among those, and score_t over all
      rows with a confidence (Kalai et al. 2025 sec. 4.2).
    - ``delta`` (sec. 3.1): |p_model(A) - p_data(A)|, A = the (prompt, response) pairs to which
      the model gives probability > tau = 1/min_c |E_c|. Reading each attempted answer's stated
      confidence q as p_model(response | prompt) and its grade as a one-sample estimate of
      p_data(response | prompt) (1 when it is the true answer), the sample analogue over the m
      rows with a confidence is ``|sum_{q > tau} (q - correct)| / m``: model mass minus data
      mass on A, both as probabilities over prompts. ``delta_conditional`` is the same gap
      among the rows in A only (mean confidence minus accuracy there), always >= delta.
      tau = 0 without ``--min-errors`` (answers with any confidence are in A).
    - ``ece``: expected calibration error over attempted answers, ``ECE_BINS`` equal-width bins
      [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0]: sum over bins of (n_b / n) |accuracy_b - mean q_b|.
    """
    import numpy as np

    m = len(graded.confidence)
    if m == 0:
        return None
    q = np.frombuffer(graded.confidence, dtype=np.float64)
    g = np.frombuffer(graded.confidence_grade, dtype=np.int8)
    correct = g == 0
    incorrect = g == 1
    attempted = g != 2
    behavioral = []
    for t in config.targets:
        ans = attempted & (q > t)
        k = int(ans.sum())
        ck = int((correct & ans).sum())
        ik = int((incorrect & ans).sum())
        behavioral.append(
            {
                "t": t,
                "penalty": penalty(t),
                "answered": k,
                "accuracy": ck / k if k else None,
                "error": ik / k if k else None,
                "score": target_score(ck, ik, m, t),
            }
        )
    tau = config.delta_threshold
    in_a = attempted & (q > tau)
    k = int(in_a.sum())
    gap = float(q[in_a].sum() - correct[in_a].sum())
    bins = []
    ece = 0.0
    n_att = int(attempted.sum())
    idx = np.minimum((q * ECE_BINS).astype(np.int64), ECE_BINS - 1)
    for b in range(ECE_BINS):
        sel = attempted & (idx == b)
        nb = int(sel.sum())
        mean_q = float(q[sel].mean()) if nb else None
        acc_b = float(correct[sel].mean()) if nb else None
        if nb and mean_q is not None and acc_b is not None:
            ece += nb / n_att * abs(acc_b - mean_q)
        bins.append(
            {
                "low": b / ECE_BINS,
                "high": (b + 1) / ECE_BINS,
                "n": nb,
                "mean_confidence": mean_q,
                "accuracy": acc_b,
            }
        )
    return {
        "rows": m,
        "rows_without_confidence": graded.overall.n - m,
        "attempted": n_att,
        "mean_confidence": float(q[attempted].mean()) if n_att else None,
        "delta": abs(gap) / m,
        "delta_threshold": tau,
        "delta_rows": k,
        "delta_conditional": abs(gap) / k if k else None,
        "ece": ece if n_att else None,
        "ece_bins": bins,
        "behavioral": behavioral,
    }


# -- prediction and baseline -------------------------------------------------------------------
def _prediction_block(obj: Any, where: str, path: str) -> dict[str, Any]:
    if not isinstance(obj, dict) or not isinstance(obj.get("lower_bound"), dict):
        raise FormatError(f"prediction {where} has no lower_bound object", path=path)
    return obj


def compare_prediction(
    pred: Any, path: str, graded: Graded, intervals: dict[str, Any]
) -> dict[str, Any]:
    """Observed hallucination rate beside the predicted floor, per relation and overall.

    Verdicts: ``vacuous`` (the floor is <= 0: nothing to check); ``below-floor`` (observed rate
    below the lower bound beyond its bootstrap interval: points to contamination of the eval set
    in training, grading errors, or abstention lowering the error); ``above-floor`` (above the
    calibrated upper bound as well: more hallucination than the corpus forces); ``consistent``
    otherwise (the margin above the floor is reported either way); ``no-outputs``.
    """
    if not isinstance(pred, dict) or pred.get("kind") != PREDICTION_KIND:
        raise FormatError(f"not a prediction (expected kind {PREDICTION_KIND!r})", path=path)
    scopes: list[tuple[str, Any, Counts | None]] = [
        ("overall", _prediction_block(pred.get("overall"), "overall", path), graded.overall)
    ]
    rels = pred.get("relations") or {}
    if not isinstance(rels, dict):
        raise FormatError("prediction relations must be an object", path=path)
    for rel in sorted(rels):
        block = _prediction_block(rels[rel], f"relation {rel!r}", path)
        scopes.append((rel, block, graded.relations.get(rel)))
    out: dict[str, Any] = {}
    for scope, block, counts in scopes:
        lb = block["lower_bound"]
        floor = lb.get("value")
        ub = block.get("upper_bound")
        row: dict[str, Any] = {
            "lower_bound": floor,
            "vacuous": bool(lb.get("vacuous")),
            "n_needed": lb.get("n_needed"),
            "upper_bound": ub,
            "singleton_rate": block.get("singleton_rate"),
            "observed": None,
            "interval": None,
            "n": 0,
            "margin": None,
        }
        out[scope] = row
        if counts is None or counts.n == 0:
            row["verdict"], row["message"] = "no-outputs", "no graded answers"
            continue
        obs = counts.incorrect / counts.n
        iv = intervals.get(scope)
        row.update(observed=obs, interval=iv, n=counts.n)
        low, high = (iv[0], iv[1]) if iv else (obs, obs)
        if row["vacuous"] or floor is None:
            need = lb.get("n_needed")
            row["verdict"] = "vacuous"
            row["message"] = "vacuous bound" + (f" (positive from N = {need:,.0f})" if need else "")
            continue
        margin = obs - floor
        row["margin"] = margin
        if high < floor:
            row["verdict"] = "below-floor"
            row["message"] = (
                f"below the floor by {-margin:.3f}: contamination, grading errors or abstention"
            )
        elif ub is not None and low > ub:
            row["verdict"] = "above-floor"
            row["message"] = f"above the floor by {margin:.3f} and above the calibrated upper bound"
        else:
            row["verdict"] = "consistent"
            row["message"] = (
                f"consistent (above the floor by {margin:.3f})"
                if margin >= 0
                else f"consistent (below the floor by {-margin:.3f}, within sampling error)"
            )
    return out


def _baseline_metrics(doc: Any, path: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise FormatError(f"not an outputs report (expected kind {KIND!r})", path=path)
    if doc.get("schema") != SCHEMA:
        raise FormatError(f"unsupported outputs report schema {doc.get('schema')!r}", path=path)
    overall = doc.get("overall")
    if not isinstance(overall, dict):
        raise FormatError("outputs report has no overall block", path=path)
    for key in ("accuracy", "hallucination_rate"):
        v = overall.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise FormatError(f"field overall.{key} must be a number in [0, 1], got {v!r}", path=path)
    return doc


def _baseline_warnings(base_doc: dict[str, Any], path: str, config: OutputsConfig) -> list[str]:
    """A baseline graded by other rules or grading options: a change beside it may be the
    grading's, not the model's (a warning, not an error: upgrading the tool must not stop CI)."""
    found = base_doc.get("config")
    grader = found.get("grader") if isinstance(found, dict) else None
    other = grader.get("id") if isinstance(grader, dict) else None
    if other == config.grader.id:
        return []
    rules = grader.get("rules", "grader/1") if isinstance(grader, dict) else "unknown"
    return [
        f"{path}: the baseline was graded with other grading rules or options (grader id {other or 'unknown'}, "
        f"rules {rules}; now {config.grader.id}, rules {RULES}): part of any change may be the grading's, "
        "not the model's; regrade the baseline's answers to compare like with like"
    ]


# -- the report --------------------------------------------------------------------------------
@dataclass
class OutputsReport:
    """Everything ``hallu-audit outputs`` reports; ``data`` is the JSON document, ``warnings``
    lines for stderr (inputs that may not belong together)."""

    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    first_bad_fields: tuple[str, ...] = ()  # not in the JSON: see Graded.first_bad_fields
    grades_error: InputError | None = None  # the --grades file could not be written (raised last)

    @property
    def passed(self) -> bool:
        return bool(self.data["passed"])

    @property
    def failed_gates(self) -> list[dict[str, Any]]:
        return [g for g in self.data["gates"] if not g["passed"]]

    def to_json(self) -> bytes:
        return orjson.dumps(self.data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"

    def nothing_graded(self) -> InputError | None:
        """The error of a run in which no row could be graded (its rates are undefined, and a
        run that counted nothing must not look like a success, nor replace the files of one that
        did: ``-o``, ``--markdown``, ``--junit`` and ``--grades`` are then left as they were);
        None when some were graded."""
        rows = self.data["rows"]
        if rows["graded"]:
            return None
        bad = rows["bad"]["by_reason"]
        why = "; ".join(f"{r}: {t['count']:,}" for r, t in bad.items()) or "no rows"
        hint = ""
        if self.first_bad_fields:
            fields = self.data["config"]["fields"]

            def names(*kinds: str) -> str:
                return ", ".join(n for k in kinds for n in ([fields[k]] if isinstance(fields[k], str) else fields[k]))

            looked = [f"{names('answer')} (--answer-field)"] if "no_answer" in bad else []
            if "no_id" in bad:
                looked.append(f"{names('id', 'question')} (--id-field, --question-field)")
            hint = (f"; looked for {' and for '.join(looked)}, and the first such row has: "
                    f"{', '.join(self.first_bad_fields[:12])}")  # fmt: skip
        return InputError(
            f"no answer could be graded ({rows['read']:,} rows read; {why}){hint}",
            path=self.data["inputs"]["outputs"],
        )


def _gate(
    name: str, observed: float | None, threshold: float, ok: bool, what: str
) -> dict[str, Any]:
    shown = "n/a" if observed is None else f"{observed:.4f}"
    return {
        "name": name,
        "observed": observed,
        "threshold": threshold,
        "passed": ok,
        "message": f"{what} {shown} (limit {threshold:g})",
    }


def evaluate_gates(
    overall: dict[str, Any], gates: Gates, baseline: dict[str, Any] | None, coverage: float | None = None
) -> list[dict[str, Any]]:
    """One entry per configured gate: name, observed, threshold, passed, message. With no graded
    answer every gate fails: a run that counted nothing passes nothing."""
    eps = 1e-12
    out = []
    if gates.min_coverage is not None:
        ok = coverage is not None and overall["n"] > 0 and coverage >= gates.min_coverage - eps
        out.append(_gate("min-coverage", coverage, gates.min_coverage, ok, "coverage"))
    if gates.max_hallucination is not None:
        h = overall["hallucination_rate"]
        ok = h is not None and h <= gates.max_hallucination + eps
        out.append(_gate("max-hallucination", h, gates.max_hallucination, ok, "hallucination rate"))
    if gates.min_accuracy is not None:
        a = overall["accuracy"]
        ok = a is not None and a >= gates.min_accuracy - eps
        out.append(_gate("min-accuracy", a, gates.min_accuracy, ok, "accuracy"))
    for t, s in gates.min_scores:
        n = overall["n"]
        sc = target_score(overall["correct"], overall["incorrect"], n, t) if n else None
        ok = sc is not None and sc >= s - eps
        out.append(_gate(f"min-score@{_tkey(t)}", sc, s, ok, f"score at t={_tkey(t)}"))
    if baseline is not None and gates.max_regression is not None:
        d = gates.max_regression
        base = baseline["overall"]
        for key, sign, what in (
            ("accuracy", -1, "accuracy drop"),
            ("hallucination_rate", 1, "hallucination rise"),
        ):
            now, before = overall.get(key), base.get(key)
            change = None if now is None or before is None else sign * (now - before)
            ok = change is not None and change <= d + eps
            out.append(_gate(f"max-regression:{key}", change, d, ok, what))
    return out


def audit_outputs(
    outputs: str,
    facts: list[Fact],
    config: OutputsConfig,
    *,
    refs_path: str = "",
    per_fact: str | None = None,
    predicted: str | None = None,
    baseline: str | None = None,
    gates: Gates | None = None,
    grades_path: str | None = None,
) -> OutputsReport:
    """Grade ``outputs`` against ``facts`` and assemble the report (its schema: README)."""
    import numpy as np

    gates = gates or Gates()
    if gates.max_regression is not None and baseline is None:
        raise ConfigError("--max-regression needs --baseline PREVIOUS.json")
    refs_digest = digest(facts)
    base_doc = None
    if baseline is not None:
        base_doc = _baseline_metrics(_load_json(baseline, "baseline report"), baseline)
        other = (base_doc.get("inputs") or {}).get("refs_digest")
        if other is not None and other != refs_digest:
            raise MergeError(
                f"baseline was graded against another reference table ({other} vs {refs_digest})",
                path=baseline,
            )
    pred_doc = _load_json(predicted, "prediction") if predicted is not None else None
    if pred_doc is not None and predicted is not None:
        _check_prediction_table(pred_doc, predicted, refs_digest)
    counts_by_id, named = None, False
    if per_fact is not None:
        counts, named = load_per_fact(per_fact, refs_digest)
        counts_by_id = join_per_fact(counts, facts)
    index = FactIndex.build(facts)

    grades_error: InputError | None = None
    if grades_path is not None:
        graded, grades_error = _grade_to_file(outputs, index, config, counts_by_id, grades_path)
    else:
        graded = grade_outputs(outputs, index, config, counts_by_id=counts_by_id)

    targets = config.targets
    rng = np.random.default_rng(config.seed)
    overall = metrics(graded.overall, targets)
    overall["intervals"] = bootstrap(graded.overall, targets, config.bootstrap, rng)
    relations = {}
    hall_intervals: dict[str, Any] = {
        "overall": (overall["intervals"] or {}).get("hallucination_rate")
    }
    for rel in sorted(graded.relations):
        block = metrics(graded.relations[rel], targets)
        block["intervals"] = bootstrap(graded.relations[rel], targets, config.bootstrap, rng)
        hall_intervals[rel] = (block["intervals"] or {}).get("hallucination_rate")
        relations[rel] = block

    missing = sorted(f.id for f in facts if f.id not in graded.seen)
    coverage = graded.overall.n / len(facts) if facts else None
    data: dict[str, Any] = {
        "kind": KIND,
        "schema": SCHEMA,
        "version": audit.__version__,
        "config": config.describe(),
        "inputs": {
            "outputs": outputs,
            "refs": refs_path,
            "refs_digest": refs_digest,
            "facts": len(facts),
            "per_fact": per_fact,
            "predicted": predicted,
            "baseline": baseline,
        },
        "rows": {
            "read": graded.rows,
            "graded": graded.overall.n,
            "bad": graded.read.to_dict(),
            "confidence_dropped": {
                "count": graded.confidence_dropped.count,
                "examples": graded.confidence_dropped.examples,
            },
            "coverage": coverage,
        },
        "missing": {"count": len(missing), "examples": missing[:MISSING_EXAMPLES]},
        "overall": overall,
        "reasons": {g: dict(sorted(r.items())) for g, r in graded.reasons.items()},
        "relations": relations,
        "calibration": calibration(graded, config),
        "per_fact": None,
        "predicted": None,
        "baseline": None,
    }
    if graded.buckets is not None:
        data["per_fact"] = {
            "buckets": {
                label: {k: v for k, v in metrics(c, ()).items() if k != "scores"}
                for label, c in graded.buckets.items()
            },
            "facts_with_counts": len(counts_by_id or {}),
        }
    if pred_doc is not None and predicted is not None:
        data["predicted"] = compare_prediction(pred_doc, predicted, graded, hall_intervals)
    if base_doc is not None:
        b = base_doc["overall"]
        data["baseline"] = {
            "accuracy": b.get("accuracy"),
            "hallucination_rate": b.get("hallucination_rate"),
            "n": b.get("n"),
        }
    warnings = _join_warnings(graded, per_fact, named, pred_doc, predicted)
    if base_doc is not None and baseline is not None:
        warnings += _baseline_warnings(base_doc, baseline, config)
    data["gates"] = evaluate_gates(overall, gates, base_doc, coverage)
    data["passed"] = all(g["passed"] for g in data["gates"])
    _finite(data)
    return OutputsReport(
        data, warnings, graded.first_bad_fields, grades_error
    )


def _grade_to_file(
    outputs: str,
    index: FactIndex,
    config: OutputsConfig,
    counts_by_id: dict[str, int] | None,
    path: str,
) -> tuple[Graded, InputError | None]:
    """Grade while streaming the per-answer rows to ``path`` (``audit.io.writing.open_output``:
    a regular file is replaced only once grading succeeded; ``-`` is stdout).

    A write that fails part way (a full disk, ``/dev/full``) does not stop the grading: the rows
    after it are dropped, an atomic target is left as it was, and the error is returned beside
    the grades so that the other outputs are still written before it is named.
    """
    from audit.io.writing import open_output

    sink = _Sink()
    graded: Graded | None = None
    try:
        with open_output(path, "grades") as fh:
            sink.fh = fh
            graded = grade_outputs(outputs, index, config, counts_by_id=counts_by_id, grades_out=sink)
            if sink.error is not None:
                raise sink.error  # leaves an atomic target as it was
            if not graded.overall.n:
                raise _NothingGraded  # a run that graded nothing replaces nothing
    except _NothingGraded:
        assert graded is not None
        return graded, None
    except InputError as exc:
        if graded is None:
            raise
        return graded, exc
    return graded, None


class _NothingGraded(Exception):
    """Raised inside ``open_output`` to leave its target as it was."""


class _Sink:
    """Writes through to ``fh`` until a write fails; then keeps the error and drops the rest."""

    def __init__(self) -> None:
        self.fh: IO[bytes] | None = None
        self.error: OSError | None = None

    def write(self, data: bytes) -> None:
        if self.error is None and self.fh is not None:
            try:
                self.fh.write(data)
            except OSError as exc:
                self.error = exc


def _finite(obj: Any) -> None:
    """Replace NaN and infinities (which JSON cannot hold) by null, in place."""
    items: Iterator[tuple[Any, Any]]
    if isinstance(obj, dict):
        items = iter(list(obj.items()))
    elif isinstance(obj, list):
        items = iter(list(enumerate(obj)))
    else:
        return
    for k, v in items:
        if isinstance(v, float) and not math.isfinite(v):
            obj[k] = None
        else:
            _finite(v)
