"""Reference facts: the table format, its loader, and the fact-id conventions.

A reference table is JSONL, one fact per line::

    {"id": "capital/france", "subject": "France", "relation": "capital", "object": "Paris",
     "aliases": ["Paris, France"], "subject_aliases": ["French Republic"],
     "question": "What is the capital of France?"}

``id`` defaults to ``relation/subject`` (subject normalised); ``answer`` is accepted for
``object``. ``aliases`` are other names of the object; ``subject_aliases`` other names of the
subject. Only ``subject``, ``relation`` and ``object`` (or ``answer``) are required.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from audit.errors import InputError
from audit.normalize import normalize


@dataclass(slots=True, frozen=True)
class Fact:
    """One reference fact (a prompt with its one true answer)."""

    id: str
    subject: str
    relation: str
    object: str
    aliases: tuple[str, ...] = ()
    subject_aliases: tuple[str, ...] = ()
    question: str | None = None

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


def _strings(value: object, field: str, path: str, line: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v.strip())
    raise InputError(f"field {field!r} must be a string or a list of strings", path=path, line=line)


def parse_fact(row: object, path: str, line: int) -> Fact:
    """Build a ``Fact`` from one decoded JSON row, or raise ``InputError`` naming the line."""
    if not isinstance(row, dict):
        raise InputError("a reference fact must be a JSON object", path=path, line=line)
    obj = row.get("object", row.get("answer"))
    subject, relation = row.get("subject"), row.get("relation")
    for name, value in (("subject", subject), ("relation", relation), ("object", obj)):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value).strip() == "":
            raise InputError(f"reference fact has no usable {name!r}", path=path, line=line)
    subject, relation, obj = str(subject), str(relation), str(obj)
    fid = row.get("id")
    if fid is None:
        fid = fact_id(relation, subject)
    elif not isinstance(fid, (str, int)):
        raise InputError("field 'id' must be a string", path=path, line=line)
    question = row.get("question")
    return Fact(
        id=str(fid),
        subject=subject,
        relation=relation,
        object=obj,
        aliases=_strings(row.get("aliases"), "aliases", path, line),
        subject_aliases=_strings(row.get("subject_aliases"), "subject_aliases", path, line),
        question=question if isinstance(question, str) else None,
    )


def iter_references(path: str) -> Iterator[Fact]:
    """Yield the facts of a reference table; a malformed line raises ``InputError`` (file:line).

    A reference table is small next to a corpus and a wrong one silently skews every number
    after it, so its errors are always fatal.
    """
    from audit.reading import json_rows

    for name, line_no, row in json_rows(path, "reference table"):
        yield parse_fact(row, name, line_no)


def load_references(path: str) -> list[Fact]:
    """All facts of a reference table, refusing duplicate ids (they would be counted twice)."""
    facts: list[Fact] = []
    seen: dict[str, int] = {}
    for i, fact in enumerate(iter_references(path), 1):
        if fact.id in seen:
            raise InputError(f"duplicate fact id {fact.id!r} (also fact #{seen[fact.id]})", path=path)
        seen[fact.id] = i
        facts.append(fact)
    return facts


def digest(facts: list[Fact]) -> str:
    """sha256 over the normalised table: the same facts give the same config id anywhere."""
    h = hashlib.sha256()
    for f in sorted(facts, key=lambda f: f.id):
        h.update(
            orjson.dumps(
                [
                    f.id,
                    f.relation,
                    normalize(f.subject),
                    normalize(f.object),
                    sorted(map(normalize, f.aliases)),
                    sorted(map(normalize, f.subject_aliases)),
                ]
            )
        )
    return h.hexdigest()[:16]
