"""The reference table's digest: the column-wise fast path hashes the bytes of the per-row
definition (``orjson.dumps`` of each fact's row, in id order), for any strings."""

from __future__ import annotations

import hashlib
import sys
from operator import attrgetter

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import InputError
from audit.facts import Fact, _common_facts, digest, load_references, normalize_many, parse_fact, table_names
from audit.normalize import normalize

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
NAME = TEXT.filter(lambda s: s.strip() != "")


def by_rows(facts: list[Fact]) -> str:
    """The digest's definition, one row at a time."""
    h = hashlib.sha256()
    for f in sorted(facts, key=attrgetter("id")):
        row = [f.id, f.relation, normalize(f.subject), normalize(f.object),
               sorted(map(normalize, f.aliases)), sorted(map(normalize, f.subject_aliases)),
               *((normalize(f.question or ""),) if not f.subject else ()),
               *((f.answer_type,) if f.answer_type else ())]  # fmt: skip
        h.update(orjson.dumps(row))
    return h.hexdigest()[:16]


@st.composite
def tables(draw: st.DrawFn) -> list[Fact]:
    n = draw(st.integers(0, 30))
    ids = draw(st.lists(TEXT, min_size=n, max_size=n, unique=True))
    facts = []
    for fid in ids:
        aliases = tuple(draw(st.lists(NAME, max_size=2))) if draw(st.integers(0, 9)) == 0 else ()
        subject = draw(NAME) if draw(st.integers(0, 19)) else ""
        question = draw(NAME) if not subject else None
        facts.append(Fact(fid, subject, draw(st.sampled_from(["capital", "born in", 'x"y\\z'])), draw(NAME),
                          aliases, (), question, "year" if draw(st.integers(0, 19)) == 0 else None))  # fmt: skip
    return facts


@settings(max_examples=300, deadline=None)
@given(tables())
def test_digest_hashes_each_rows_own_json(facts: list[Fact]) -> None:
    assert digest(facts) == by_rows(facts)
    assert digest(facts, normalize_many(table_names(facts))) == by_rows(facts)


def test_digest_of_plain_rows_with_quotes_backslashes_and_control_characters() -> None:
    facts = [Fact(f'r/{i}"', f'a "quoted" \\ name {i}', "r", f'line\nbreak\t{i} ","', ) for i in range(5000)]
    facts.append(Fact('r/\u00e9\u4e2d', "Z\u00fcrich", "r", "\x00\x1f\u2028"))
    assert digest(facts) == by_rows(facts)


_BLANK = object()


def _loads(line: bytes) -> object:
    return orjson.loads(line) if line.strip() else _BLANK


ROW_VALUE = st.one_of(NAME, TEXT, st.integers(0, 3), st.none(), st.lists(NAME, max_size=2))


@st.composite
def table_rows(draw: st.DrawFn) -> list[object]:
    """Rows of a table file: mostly of the common shapes (three strings, or those and an id),
    some with a blank, a number, a null, an alias list or an extra field."""
    rows: list[object] = []
    with_id = draw(st.sampled_from([False, True, None]))  # None: some rows have one
    odd = draw(st.integers(0, 2)) == 0  # some rows of other shapes
    for i in range(draw(st.integers(1, 40))):
        row: dict[str, object] = {"subject": draw(NAME), "relation": draw(st.sampled_from(["r", "born in"])),
                                  "object": draw(NAME)}  # fmt: skip
        if with_id or (with_id is None and draw(st.booleans())):
            row = {"id": f"id{i}", **row}
        if odd and draw(st.integers(0, 5)) == 0:
            row[draw(st.sampled_from(["subject", "object", "id", "aliases", "question"]))] = draw(ROW_VALUE)
        rows.append(row)
    return rows


@settings(max_examples=300, deadline=None)
@given(table_rows(), st.booleans())
def test_tables_load_as_their_rows_parse_one_by_one(tmp_path_factory, rows: list[object], blank: bool) -> None:
    """``load_references`` makes blocks of common rows a column at a time: the facts are those
    ``parse_fact`` makes of each line, the errors the same, and the names' normalisations
    those of ``normalize_many``."""
    path = tmp_path_factory.mktemp("t") / "refs.jsonl"
    lines = [orjson.dumps(r) for r in rows]
    if blank:  # a blank line sends the block down the line-by-line path
        lines.insert(len(lines) // 2, b"  ")
    path.write_bytes(b"\n".join(lines) + b"\n")
    try:
        expected: list[Fact] | str = [parse_fact(row, str(path), line) for line, row in
                                      enumerate(map(_loads, lines), 1) if row is not _BLANK]  # fmt: skip
        if len({f.id for f in expected}) < len(expected):
            expected = "duplicate"
    except InputError as exc:
        expected = str(exc)
    normalized: dict[str, str] = {}
    rows_made: list[bytes] = []
    try:
        got: list[Fact] | str = load_references(str(path), normalized, rows_made)
    except InputError as exc:
        got = "duplicate" if "duplicate fact id" in str(exc) else str(exc)
    assert got == expected
    if isinstance(got, list):
        assert normalized == normalize_many(table_names(got))
        assert digest(got, normalized, rows_made) == by_rows(got)  # the rows the load made
        assert all(f.relation is sys.intern(f.relation) for f in got)
    common = ({"subject", "relation", "object"}, {"id", "subject", "relation", "object"})
    if not blank and all(type(r) is dict and set(r) == set(rows[0]) and set(r) in common for r in rows) \
            and all(type(v) is str and v.strip() for r in rows for v in r.values()):  # fmt: skip
        assert _common_facts(rows, {}) is not None  # the column-wise path was taken


def test_digest_of_a_name_that_ends_in_a_quote_and_a_comma() -> None:
    """'",' encodes as '"\\\\","': its escaped quote, its comma and its closing quote are the
    sequence the column path splits at."""
    facts = [Fact(f"r/{i}", name, "r", "o") for i, name in enumerate(['",', 'a",', "b", 'c",d', '\\\\",'])]
    assert digest(facts) == by_rows(facts)
