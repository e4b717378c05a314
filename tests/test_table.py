"""The reference table's digest: the column-wise fast path hashes the bytes of the per-row
definition (``orjson.dumps`` of each fact's row, in id order), for any strings."""

from __future__ import annotations

import hashlib
from operator import attrgetter

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.facts import Fact, digest, normalize_many, table_names
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
