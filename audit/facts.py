"""Reference facts: the table format, its loader, and the fact-id conventions.

A reference table is JSONL, one fact per line::

    {"id": "capital/france", "subject": "France", "relation": "capital", "object": "Paris",
     "aliases": ["Paris, France"], "subject_aliases": ["French Republic"],
     "question": "What is the capital of France?"}

``id`` defaults to ``relation/subject`` (subject normalised); ``answer`` is accepted for
``object``. ``aliases`` are other names of the object; ``subject_aliases`` other names of the
subject. Required: ``object`` (or ``answer``), and ``subject`` with ``relation``, or a
``question``.

A *question-only* row (SimpleQA's shape: a question and its answer, no subject) is accepted:
its ``subject`` is empty, its ``relation`` defaults to ``QUESTION_RELATION`` and its id to
``relation/question`` (question normalised). Grading then lets the question play the
subject's part; corpus counting, which looks for the subject in text, finds nothing for it.

``answer_type`` (also read from a ``metadata`` object, as SimpleQA carries it) says what kind of
answer the question asks for, case-insensitively: one of ``ANSWER_TYPES``. Without it the kind
is read from the object (``audit.grading.kind_of``).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import operator
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from audit.errors import InputError
from audit.normalize import normalize, normalize_many

#: Relation of a question-only row that names none.
QUESTION_RELATION = "question"
#: Values of ``answer_type``: what a question asks for. SimpleQA's metadata uses Person, Place,
#: Date, Number and Other; ``year`` and ``name`` (a name of any other thing) are added here.
ANSWER_TYPES: tuple[str, ...] = ("person", "place", "date", "year", "number", "name", "other")


# Not frozen (treat it as immutable): a frozen dataclass sets each field through
# object.__setattr__, 4 us a fact, seconds of a million-fact start-up. Hashable all the same.
@dataclass(slots=True, unsafe_hash=True)
class Fact:
    """One reference fact (a prompt with its one true answer)."""

    id: str
    subject: str
    relation: str
    object: str
    aliases: tuple[str, ...] = ()
    subject_aliases: tuple[str, ...] = ()
    question: str | None = None
    answer_type: str | None = None

    @property
    def object_names(self) -> tuple[str, ...]:
        """The object and its aliases, as written."""
        return (self.object, *self.aliases)

    @property
    def subject_names(self) -> tuple[str, ...]:
        return (self.subject, *self.subject_aliases)


def fact_id(relation: str, subject: str) -> str:
    """The default id of a fact, also the prompt key of pattern extraction: ``relation/subject``."""
    return f"{relation}/{normalize(subject)}"


def join_keys(fact: Fact) -> tuple[str, ...]:
    """The ids under which ``fact`` may appear in per-fact counts, in order of preference: its
    own id, that id with the part after the relation normalised (``capital/France`` ->
    ``capital/france``), then ``fact_id`` of its subject and of each subject alias. Pattern
    extraction names a prompt ``fact_id(relation, subject)``, so its counts join any table
    that has the same relation and subject, whatever the table's ids."""
    keys = [fact.id]
    rel, sep, rest = fact.id.partition("/")
    if sep:
        keys.append(f"{rel}/{normalize(rest)}")
    keys += [fact_id(fact.relation, name) for name in fact.subject_names]
    return tuple(dict.fromkeys(keys))


def _strings(value: object, field: str, path: str, line: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v.strip())
    raise InputError(f"field {field!r} must be a string or a list of strings", path=path, line=line)


def _fields_if_absent(row: dict, *names: str) -> str:
    """``; the row's fields are: ...`` when the row has none of ``names`` at all: most often
    another file (a corpus, answers) given where the table belongs."""
    if any(name in row for name in names):
        return ""
    return f"; the row's fields are: {', '.join(sorted(map(str, row))[:12]) or 'none'}"


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Build many small objects without the cycle collector: a table's facts, names and keys make
    millions of objects and no cycles, and each full collection rescans all of them, so a
    million-fact table took minutes instead of seconds. What was built is then moved out of the
    collector's sight (``gc.freeze``): it lives for the whole run."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def parse_fact(row: object, path: str, line: int) -> Fact:
    """Build a ``Fact`` from one decoded JSON row, or raise ``InputError`` naming the line."""
    if type(row) is dict:
        # the common row first: subject, relation and object strings, none blank, no optional
        # field; it gives the Fact the general checks below give it, with a few type tests
        subject, relation, obj = row.get("subject"), row.get("relation"), row.get("object")
        if (
            type(subject) is str and type(relation) is str and type(obj) is str
            and subject.strip() and relation.strip() and obj.strip()
            and row.get("question") is None and row.get("aliases") is None
            and row.get("subject_aliases") is None and row.get("answer_type") is None
            and row.get("metadata") is None
        ):  # fmt: skip
            fid = row.get("id")
            relation = sys.intern(relation)
            if fid is None:
                return Fact(fact_id(relation, subject), subject, relation, obj)
            if type(fid) is str:
                return Fact(fid, subject, relation, obj)
    if not isinstance(row, dict):
        raise InputError("a reference fact must be a JSON object", path=path, line=line)
    obj = row.get("object", row.get("answer"))
    subject, relation = row.get("subject"), row.get("relation")
    question = row.get("question")
    question = question if isinstance(question, str) and question.strip() else None
    if question is not None and subject in (None, "") and relation in (None, ""):
        subject, relation = "", QUESTION_RELATION
    elif question is not None and subject in (None, ""):
        subject = ""
    else:
        for name, value in (("subject", subject), ("relation", relation)):
            if not _usable(value):
                raise InputError(
                    f"reference fact has no usable {name!r} (and no question to stand for it)"
                    + _fields_if_absent(row, name),
                    path=path,
                    line=line,
                )
    if not _usable(obj):
        raise InputError(
            "reference fact has no usable 'object'" + _fields_if_absent(row, "object", "answer"),
            path=path,
            line=line,
        )
    subject, relation, obj = str(subject), sys.intern(str(relation)), str(obj)
    fid = row.get("id")
    if fid is None:
        fid = fact_id(relation, subject or question or "")
    elif not isinstance(fid, (str, int)):
        raise InputError("field 'id' must be a string", path=path, line=line)
    return Fact(
        id=str(fid),
        subject=subject,
        relation=relation,
        object=obj,
        aliases=_strings(row.get("aliases"), "aliases", path, line),
        subject_aliases=_strings(row.get("subject_aliases"), "subject_aliases", path, line),
        question=question,
        answer_type=_answer_type(row, path, line),
    )


def _usable(value: object) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip() != ""


def _answer_type(row: dict, path: str, line: int) -> str | None:
    value = row.get("answer_type")
    meta = row.get("metadata")
    if value is None and isinstance(meta, dict):
        value = meta.get("answer_type")
    if value is None:
        return None
    kind = value.strip().lower() if isinstance(value, str) else None
    if kind not in ANSWER_TYPES:
        raise InputError(
            f"answer_type {value!r} is not one of {', '.join(ANSWER_TYPES)}", path=path, line=line
        )
    return kind


def iter_references(path: str) -> Iterator[Fact]:
    """Yield the facts of a reference table; a malformed line raises ``InputError`` (file:line).

    A reference table is small next to a corpus and a wrong one silently skews every number
    after it, so its errors are always fatal.
    """
    from audit.reading import json_rows

    for name, line_no, row in json_rows(path, "reference table"):
        yield parse_fact(row, name, line_no)


def load_references(path: str, normalized: dict[str, str] | None = None,
                    digest_rows: list[bytes] | None = None) -> list[Fact]:  # fmt: skip
    """All facts of a reference table, refusing duplicate ids (they would be counted twice);
    ``normalized``, when given, gets the ``normalize`` of every name of ``table_names``, and
    ``digest_rows`` the bytes ``digest`` hashes for each fact, in table order (made from the
    columns the load holds: at a million facts, a second less than from the facts)."""
    from audit.reading import json_row_blocks

    norms: dict[str, str] = {} if normalized is None else normalized
    facts: list[Fact] = []
    with no_cycle_collection():
        for name, lines, rows in json_row_blocks(path, "reference table"):
            block = _common_facts(rows, norms, digest_rows)
            if block is None:
                block = [parse_fact(row, name, line) for line, row in zip(lines, rows, strict=True)]
                if normalized is not None or digest_rows is not None:
                    normalize_many(table_names(block), into=norms)
                if digest_rows is not None:
                    digest_rows += _digest_rows(block, norms.__getitem__)
            facts += block
    if not facts:  # every count and rate would be 0 of 0
        raise InputError("reference table has no facts", path="<stdin>" if path == "-" else path)
    if len(dict.fromkeys(f.id for f in facts)) < len(facts):
        seen: dict[str, int] = {}
        for i, fact in enumerate(facts, 1):
            if fact.id in seen:
                raise InputError(f"duplicate fact id {fact.id!r} (also fact #{seen[fact.id]})", path=path)
            seen[fact.id] = i
    return facts


_COMMON = operator.itemgetter("subject", "relation", "object")
_COMMON_WITH_ID = operator.itemgetter("id", "subject", "relation", "object")


def _common_facts(rows: list[Any], normalized: dict[str, str],
                  digest_rows: list[bytes] | None = None) -> list[Fact] | None:  # fmt: skip
    """The facts of ``rows`` when every row is of one common shape: exactly ``subject``,
    ``relation`` and ``object``, or those and ``id``, all strings, none blank. They are the
    ``Fact`` that ``parse_fact`` makes of each, made a column at a time (a 100k-fact table's
    rows took 0.29 s one by one); None for any other block, which the caller parses row by row.
    ``normalized`` gets the ``normalize`` of each subject and object, and ``digest_rows`` (when
    given) their rows of ``digest``."""
    if not rows or set(map(type, rows)) != {dict}:
        return None
    sizes = set(map(len, rows))
    getter = _COMMON if sizes == {3} else _COMMON_WITH_ID if sizes == {4} else None
    if getter is None:
        return None
    try:
        columns = list(zip(*map(getter, rows), strict=True))
    except KeyError:
        return None
    if any(set(map(type, c)) != {str} or not all(map(str.strip, c)) for c in columns):
        return None
    *given, subjects, relations, objects = columns
    relations = tuple(map(sys.intern, relations))
    normalize_many(itertools.chain(subjects, objects), into=normalized)
    norm = normalized.__getitem__
    ids = given[0] if given else tuple(map("{}/{}".format, relations, map(norm, subjects)))
    if digest_rows is not None:
        digest_rows += _plain_rows(ids, relations, tuple(map(norm, subjects)), tuple(map(norm, objects)))
    return list(map(Fact, ids, subjects, relations, objects))


def table_names(facts: list[Fact]) -> Iterator[str]:
    """Every name of every fact, as written (with repeats): what the digest normalises."""
    for f in facts:
        yield f.subject
        yield f.object
        yield from f.aliases
        yield from f.subject_aliases
        if not f.subject:
            yield f.question or ""


def digest(facts: list[Fact], normalized: dict[str, str] | None = None, rows: list[bytes] | None = None) -> str:
    """sha256 over the normalised table: the same facts give the same config id anywhere.

    The bytes hashed are, for each fact in id order, ``orjson.dumps`` of ``[id, relation,
    subject, object, aliases, subject aliases]`` (names normalised, aliases sorted), then the
    question for a fact without a subject and the answer type when set. ``normalized`` maps
    every name of ``table_names(facts)`` to its ``normalize``; ``rows``, the bytes of each
    fact's row in table order when the loader made them (``load_references``); it is emptied."""
    h = hashlib.sha256()
    with no_cycle_collection():
        # Rows are made in table order and only then put in id order: reading a million facts
        # and their names in id order, all over memory, took 5.9 CPU s against 3.8 at that size.
        if rows is None:
            norm = (normalized if normalized is not None else normalize_many(table_names(facts))).__getitem__
            rows = []
            for start in range(0, len(facts), 4096):
                rows += _digest_rows(facts[start : start + 4096], norm)
        elif len(rows) != len(facts):
            raise ValueError(f"{len(rows):,} digest rows for {len(facts):,} facts")
        ids = [f.id for f in facts]
        order = sorted(range(len(facts)), key=ids.__getitem__)
        del ids
        for start in range(0, len(order), 4096):  # one update a block: the same bytes hashed
            h.update(b"".join([rows[i] for i in order[start : start + 4096]]))
        rows.clear()
        del order
    return h.hexdigest()[:16]


def _digest_rows(facts: list[Fact], norm: Callable[[str], str]) -> list[bytes]:
    """The bytes ``digest`` hashes for each of ``facts``.

    A fact with only a subject, a relation and an object (most rows of a large table) is written
    from four string columns, each encoded by one ``orjson.dumps`` call and split at ``","``:
    inside an encoded string every quote is escaped, so that sequence separates elements, except
    after a string that ends in a quote and a comma (``\\",`` and its closing quote): a block
    holding an escaped quote before a comma goes row by row.
    The bytes are those of the row's own ``orjson.dumps`` (a test compares the two)."""
    dumps = orjson.dumps
    plain = [f for f in facts if f.subject and not f.aliases and not f.subject_aliases and not f.answer_type]
    if len(plain) < len(facts):
        return [dumps(_digest_row(f, norm)) for f in facts]
    if not plain:
        return []
    return _plain_rows([f.id for f in plain], [f.relation for f in plain], [norm(f.subject) for f in plain],
                       [norm(f.object) for f in plain])  # fmt: skip


def _plain_rows(ids: Sequence[str], relations: Sequence[str], subjects: Sequence[str],
                objects: Sequence[str]) -> list[bytes]:  # fmt: skip
    """The digest rows of facts with only a subject, a relation and an object, from their columns
    (subjects and objects normalised; see ``_digest_rows``)."""
    encoded = [orjson.dumps(c) for c in (ids, relations, subjects, objects)]
    if any(b'\\",' in e for e in encoded):  # a string ending in '",' would be split at its end
        return [orjson.dumps([*row, [], []]) for row in zip(ids, relations, subjects, objects, strict=True)]
    columns = [e[2:-2].split(b'","') for e in encoded]
    return [b'["%b","%b","%b","%b",[],[]]' % row for row in zip(*columns, strict=True)]


def _digest_row(f: Fact, norm: Callable[[str], str]) -> list:
    return [
        f.id,
        f.relation,
        norm(f.subject),
        norm(f.object),
        sorted(map(norm, f.aliases)) if f.aliases else [],
        sorted(map(norm, f.subject_aliases)) if f.subject_aliases else [],
        # only when set, so that tables without them keep their digests
        *((norm(f.question or ""),) if not f.subject else ()),
        *((f.answer_type,) if f.answer_type else ()),
    ]


@dataclass
class ReferenceTable:
    """A reference table read once (``load_table``) and handed on: its facts, its digest (which
    goes into the config id) and the tallies the report needs."""

    path: str
    facts: list[Fact]
    digest: str
    # distinct normalised objects per relation, when the loader has counted them
    objects: dict[str, int] | None = field(default=None, repr=False)
    # the ``normalize`` of every name, while the loader's copy is at hand (the matcher's build
    # takes it and lets it go)
    normalized: dict[str, str] | None = field(default=None, repr=False, compare=False)

    def relation_counts(self) -> dict[str, int]:
        """Facts per relation, sorted by relation."""
        counts: dict[str, int] = {}
        for f in self.facts:
            counts[f.relation] = counts.get(f.relation, 0) + 1
        return dict(sorted(counts.items()))

    def objects_per_relation(self, normalized: dict[str, str] | None = None) -> dict[str, int]:
        """Distinct normalised objects per relation, sorted by relation (``normalized``: as in
        ``digest``)."""
        if self.objects is not None:
            return self.objects
        objects: dict[str, set[str]] = {}
        for f in self.facts:
            objects.setdefault(f.relation, set()).add(f.object)
        norm = (normalized if normalized is not None else normalize_many(o for objs in objects.values() for o in objs))
        return {r: len({norm[o] for o in objs}) for r, objs in sorted(objects.items())}


def load_table(path: str) -> ReferenceTable:
    """Read a reference table once (a file, ``-`` for stdin, or a pipe such as ``<(zcat t.gz)``)."""
    normalized: dict[str, str] = {}  # filled once by the load, for the digest and the objects
    rows: list[bytes] = []
    facts = load_references(path, normalized, rows)
    table = ReferenceTable(path, facts, digest(facts, normalized, rows), normalized=normalized)
    table.objects = table.objects_per_relation(normalized)
    return table
