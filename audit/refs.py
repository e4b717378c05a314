"""``hallu-audit refs``: build or convert a reference table.

Sources, each read row by row into the fields of a reference fact:

- CSV, TSV, Parquet or JSONL with a column mapping (``--map subject=subj``), or a layout the
  columns name: SimpleQA (``problem``, ``answer``, ``metadata`` with ``topic`` and
  ``answer_type``), PopQA (``subj``, ``prop``, ``obj``, ``s_aliases``, ``o_aliases``,
  ``possible_answers``, ``question``) or the tool's own table (``subject``, ``relation``,
  ``object``);
- a pattern-mode run's per-fact file (``corpus -p ... --per-fact``, rows with ``objects``): the
  majority object of each prompt becomes its reference; prompts whose objects disagree are
  flagged (``conflict``) or dropped.

Every row is validated (``problems``) and the table is written as JSONL sorted by id, keys sorted:
the same source and options give the same bytes. Ids are the canonical ``relation/subject``
(``audit.facts.fact_id``) unless a column supplies them; a question-only row (no subject, as in
SimpleQA) gets ``relation/normalised question``, the id the table loader gives such a row.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from audit.errors import InputError, UsageError
from audit.facts import ANSWER_TYPES, QUESTION_RELATION, fact_id
from audit.normalize import normalize

#: Fields of a reference fact that ``--map FIELD=COLUMN`` can fill.
FIELDS = ("id", "subject", "relation", "object", "aliases", "subject_aliases", "question", "answer_type")
LIST_FIELDS = ("aliases", "subject_aliases")

#: Layouts recognised by their documented column names: layout -> (required columns, mapping).
LAYOUTS: dict[str, tuple[frozenset[str], dict[str, tuple[str, ...]]]] = {
    "popqa": (
        frozenset({"subj", "prop", "obj"}),
        {"subject": ("subj",), "relation": ("prop",), "object": ("obj",), "subject_aliases": ("s_aliases",),
         "aliases": ("o_aliases", "possible_answers"), "question": ("question",)},
    ),  # fmt: skip
    "simpleqa": (
        frozenset({"problem", "answer"}),
        {"question": ("problem",), "object": ("answer",), "relation": ("metadata.topic",),
         "answer_type": ("metadata.answer_type",)},
    ),  # fmt: skip
    "table": (
        frozenset({"subject", "relation", "object"}),
        {f: (f,) for f in FIELDS},
    ),
}
FORMATS = ("auto", "csv", "tsv", "parquet", "jsonl")


@dataclass
class RefsOptions:
    """How to read the source and what to do with bad rows."""

    format: str = "auto"
    layout: str = "auto"  # auto | popqa | simpleqa | table | per-fact | map
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column (dotted for nested)
    relation: str | None = None  # a constant relation for sources without one
    conflicts: str = "flag"  # per-fact sources: flag | drop
    drop_invalid: bool = False  # drop rows that fail validation instead of stopping
    strict: bool = False  # warnings (a subject equal to or inside its object) are errors too
    list_sep: str | None = None  # list columns that are not JSON lists are split on this ("|", ";")


@dataclass
class RefsResult:
    """The table and what was done to get it (the summary on stderr)."""

    rows: list[dict[str, Any]]
    layout: str
    read: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    first_problem: str | None = None
    # rows kept with a warning: "file:line: message", in input order
    warnings: list[str] = field(default_factory=list)

    def to_jsonl(self) -> bytes:
        return b"".join(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n" for r in self.rows)


def parse_map(specs: list[str]) -> dict[str, str]:
    """``["subject=subj", "object=obj"]`` -> ``{"subject": "subj", "object": "obj"}``."""
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, column = spec.partition("=")
        if not sep or not column or name not in FIELDS:
            raise UsageError(f"--map takes FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}; got {spec!r}")
        out[name] = column
    return out


# -- reading -----------------------------------------------------------------------------------
def _format_of(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    low = path.lower()
    for ext, name in ((".csv", "csv"), (".tsv", "tsv"), (".parquet", "parquet"), (".pq", "parquet")):
        if low.endswith(ext):
            return name
    return "jsonl"


def iter_rows(path: str, fmt: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, row)`` for each record of ``path``: ``where`` is ``path:line`` (the line a CSV
    record starts on) or ``path:row N`` for Parquet."""
    fmt = _format_of(path, fmt)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except (OSError, Exception) as exc:  # pyarrow raises ArrowInvalid for a non-Parquet file
            raise InputError(f"cannot read Parquet ({str(exc).splitlines()[0]})", path=path) from None
        n = 0
        for batch in pf.iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                n += 1
                yield f"{path}:row {n}", row
        return
    if fmt in ("csv", "tsv"):
        try:
            fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None
        with fh:
            reader = csv.DictReader(fh, delimiter="\t" if fmt == "tsv" else ",")
            try:
                start = 2
                for row in reader:
                    if None in row:
                        raise InputError("more fields than the header names", path=path, line=start)
                    yield f"{path}:{start}", row
                    start = reader.line_num + 1
            except csv.Error as exc:
                raise InputError(f"malformed {fmt.upper()} ({exc})", path=path, line=reader.line_num) from None
            except UnicodeDecodeError:
                raise InputError("not UTF-8 text", path=path) from None
        return
    from audit.reading import json_rows

    for name, line_no, row in json_rows(path, "reference source"):
        if not isinstance(row, dict):
            raise InputError("a row must be a JSON object", path=name, line=line_no)
        yield f"{name}:{line_no}", row


def _get(row: dict[str, Any], column: str) -> Any:
    if column in row:
        return row[column]
    head, _, rest = column.partition(".")
    if rest and head in row:
        inner = row[head]
        if isinstance(inner, str):
            inner = _literal(inner)
        if isinstance(inner, dict):
            return _get(inner, rest)
    return None


def _literal(text: str) -> Any:
    """A JSON (or Python-literal, as SimpleQA's ``metadata``) list or dict written as a string."""
    text = text.strip()
    if not text or text[0] not in "[{":
        return text
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = _literal(value)
        if isinstance(value, str):
            return [value] if value.strip() else []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None and str(v).strip()]
    return [str(value)]


def _scalar(value: Any) -> str:
    if value is None or isinstance(value, (list, dict)):
        return ""
    return str(value).strip()


def detect_layout(columns: set[str], options: RefsOptions) -> str:
    if options.layout != "auto":
        return options.layout
    if {"id", "relation", "count", "objects"} <= columns:
        return "per-fact"
    for name, (required, _) in LAYOUTS.items():
        if required <= columns:
            return name
    if options.mapping:
        return "map"
    if {"id", "relation", "count"} <= columns:
        raise InputError("per-fact counts without objects (a reference-table run): refs takes a "
                         "pattern-mode run's per-fact file (corpus -p PACK --per-fact FILE)")  # fmt: skip
    raise InputError(
        "cannot tell the layout from the columns "
        f"({', '.join(sorted(columns)[:12])}); name them with --map subject=COL --map object=COL ..."
    )


# -- validation --------------------------------------------------------------------------------
_WORDS = re.compile(r"[^\W_]+")


def _words(name: str) -> str:
    return " ".join(_WORDS.findall(normalize(name)))


#: Problems that keep the row (with a warning) unless ``strict``: the fact is real ("Mexico" /
#: "Mexico City") and grading it is sound, but counting it in a corpus is not (each mention of the
#: object also names the subject).
WARNINGS = frozenset({"subject equals object", "subject inside object"})


def problems(fact: dict[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with one row of the table, as (reason, message); empty when nothing is."""
    out = []
    subject, obj = fact.get("subject", ""), fact.get("object", "")
    if not fact.get("relation"):
        out.append(("empty relation", "empty relation (name one with --relation or --map relation=COLUMN)"))
    if not obj:
        out.append(("empty object", "empty object"))
    if not subject and not fact.get("question"):
        out.append(("empty subject", "empty subject and no question"))
    for name in (subject, obj, *fact.get("aliases", ()), *fact.get("subject_aliases", ())):
        if name and not _words(name):
            out.append(("name normalises to nothing", f"name {name!r} normalises to nothing"))
            break
    kind = fact.get("answer_type")
    if kind is not None and kind not in ANSWER_TYPES:
        out.append(("bad answer_type", f"answer_type {kind!r} is not one of {', '.join(ANSWER_TYPES)}"))
    if subject and obj:
        s, o = _words(subject), _words(obj)
        if s and s == o:
            out.append(("subject equals object", f"subject equals object ({subject!r})"))
        elif s and f" {s} " in f" {o} ":
            message = f"subject {subject!r} lies inside its object {obj!r}: each object mention would count it"
            out.append(("subject inside object", message))
    return out




# -- building ----------------------------------------------------------------------------------
def _from_row(row: dict[str, Any], mapping: dict[str, tuple[str, ...]], options: RefsOptions) -> dict[str, Any]:
    def first(fieldname: str) -> Any:
        for column in mapping.get(fieldname, ()):
            value = _get(row, column)
            if value is not None and value != "":
                return value
        return None

    fact: dict[str, Any] = {}
    for name in ("subject", "relation", "object", "question", "answer_type", "id"):
        value = _scalar(first(name))
        if value:
            fact[name] = value.lower() if name == "answer_type" else value
    if options.relation is not None:
        fact["relation"] = options.relation
    elif "relation" not in fact and "metadata.topic" in mapping.get("relation", ()):
        fact["relation"] = QUESTION_RELATION  # SimpleQA without a topic, as the loader names it
    for name in LIST_FIELDS:
        names: list[str] = []
        for column in mapping.get(name, ()):
            names += _strings(_get(row, column))
        if options.list_sep:
            names = [part for n in names for part in n.split(options.list_sep)]
        main = fact.get("object" if name == "aliases" else "subject", "")
        names = [n for n in dict.fromkeys(n.strip() for n in names) if n and normalize(n) != normalize(main)]
        if names:
            fact[name] = names
    if "id" not in fact and fact.get("relation"):
        if fact.get("subject"):
            fact["id"] = fact_id(fact["relation"], fact["subject"])
        elif fact.get("question"):
            fact["id"] = fact_id(fact["relation"], fact["question"])  # as the loader names such rows
    return fact


def _from_per_fact(row: dict[str, Any], options: RefsOptions) -> dict[str, Any] | None:
    """A pattern-mode per-fact row -> a reference fact: its majority object, or None when the
    prompt's objects disagree and ``--conflicts drop``."""
    from audit.corpus import is_conflict

    objs = row.get("objects")
    fid, relation = row.get("id"), row.get("relation")
    if not isinstance(objs, list) or not isinstance(fid, str) or not isinstance(relation, str):
        return {}
    raw = [(o.get("object"), o.get("count")) for o in objs if isinstance(o, dict)]
    tallies = [(o, c) for o, c in raw if isinstance(o, str) and isinstance(c, int) and c > 0]
    if not tallies:
        return {"id": fid, "relation": relation}
    tallies.sort(key=lambda t: (-t[1], t[0]))
    conflict = len(tallies) > 1 and is_conflict([o for o, _ in tallies])
    if conflict and options.conflicts == "drop":
        return None
    subject = fid.split("/", 1)[1] if fid.startswith(relation + "/") else fid
    fact: dict[str, Any] = {"id": fid, "relation": relation, "subject": subject, "object": tallies[0][0],
                            "count": sum(c for _, c in tallies)}  # fmt: skip
    if conflict:
        fact["conflict"] = True
        fact["objects"] = [{"object": o, "count": c} for o, c in tallies]
    return fact


def _absent_columns(row: dict[str, Any], mapping: dict[str, str]) -> str:
    """``; no column 'X' (--map F=X) in this row, which has: ...`` for each ``--map`` column the
    row lacks, so that a misspelt column is named rather than reported as an empty field."""
    absent = [f"{column!r} (--map {name}={column})" for name, column in mapping.items()
              if column not in row and column.partition(".")[0] not in row]  # fmt: skip
    if not absent:
        return ""
    has = ", ".join(sorted(map(str, row))[:12])
    return f"; no column {', '.join(absent)} in this row, which has: {has}"


def build_refs(path: str, options: RefsOptions) -> RefsResult:
    """Read ``path``, convert and validate every row, and return the sorted table.

    A row that fails validation raises ``InputError`` naming its ``file:line`` and problem, or,
    with ``drop_invalid``, is left out and counted by problem."""
    if options.conflicts not in ("flag", "drop"):
        raise UsageError(f"--conflicts takes flag or drop, not {options.conflicts!r}")
    if options.format not in FORMATS:
        raise UsageError(f"unknown format {options.format!r} ({', '.join(FORMATS)})")
    layout: str | None = None
    mapping: dict[str, tuple[str, ...]] = {}
    result = RefsResult(rows=[], layout="")
    seen: dict[str, str] = {}
    for where, row in iter_rows(path, options.format):
        if layout is None and row.get("kind") == "hallu-audit/per-fact":
            continue  # the header line of corpus --per-fact: what was counted, not a fact
        result.read += 1
        if layout is None:
            layout = detect_layout(set(row), options)
            if layout not in ("per-fact", "map") and layout not in LAYOUTS:
                raise UsageError(f"unknown layout {layout!r} (auto, popqa, simpleqa, table, per-fact, map)")
            mapping = dict(LAYOUTS[layout][1]) if layout in LAYOUTS else {}
            mapping.update({k: (v,) for k, v in options.mapping.items()})
            result.layout = layout
        if layout == "per-fact":
            fact = _from_per_fact(row, options)
            if fact is None:
                result.conflicts += 1
                result.dropped["conflict"] += 1
                continue
            result.conflicts += bool(fact.get("conflict"))
        else:
            fact = _from_row(row, mapping, options)
        found = problems(fact)
        fid = fact.get("id")
        if not found and fid in seen:
            found = [("duplicate id", f"duplicate id {fid!r} (also {seen[str(fid)]})")]
        if found and not options.strict and all(reason in WARNINGS for reason, _ in found):
            result.warnings.append(f"{where}: {found[0][1]}")
            found = []
        if found:
            reason, message = found[0]
            if not options.drop_invalid:
                hint = _absent_columns(row, options.mapping) or " (--drop-invalid leaves such rows out)"
                raise InputError(f"{message}{hint}", path=where)
            result.first_problem = result.first_problem or f"{where}: {message}"
            result.dropped[reason] += 1
            continue
        seen[str(fid)] = where
        result.rows.append(fact)
    if result.read == 0:
        raise InputError("no rows to convert", path=path)
    if not result.rows:
        if result.first_problem is None:
            raise InputError("every prompt has conflicting objects and --conflicts drop left them out", path=path)
        raise InputError(f"no valid rows (first problem: {result.first_problem})", path=path)
    result.rows.sort(key=lambda r: r["id"])
    return result
