"""The reference matcher against a brute-force reference: split the normalised text into
sentences with the same splitter, and look for every name of every fact as a whole-word
sequence of each sentence with a regex. Random texts full of names, punctuation and
abbreviations; every scope's count and position, and both automata."""

from __future__ import annotations

import random
import re
from bisect import bisect_right

import pytest

from audit import extract
from audit.extract import FactMatcher, name_keys, sentence_starts, word_view
from audit.facts import Fact
from audit.normalize import normalize
from tests.conftest import ENGINES, use_engine

NAMES = ["ann lee", "lee", "bob", "st. louis", "washington, d.c.", "new york", "york", "ka lo mi", "zé", "a.b",
         "x y z w v", "u.s.", "ann - lee", "a, b c d e"]  # fmt: skip
GLUE = [" ", " ", " ", ". ", "! ", "? ", ", ", " dr. ", " u.s. ", ".", "... ", " j. ", '." ', " (", ") ", "\n", " - ",
        " -- ", ", "]  # fmt: skip


def brute_force(facts: list[Fact], text: str, scope: str, window: int) -> list[tuple[int, int]]:
    """(fact index, subject position) of every mention, in the matcher's order."""
    norm = normalize(text)
    view = f" {word_view(norm)} "

    def hits(names: tuple[str, ...]) -> list[int]:
        found = set()
        for name in names:
            for key in name_keys(name):
                found |= {m.start() for m in re.finditer(f"(?= {re.escape(key)} )", view)}
        return sorted(found)  # offsets into norm (the padding space is at the key's left)

    starts = sentence_starts(norm)
    words = [m.start() for m in re.finditer(r"\S+", norm)]
    out = []
    for i, f in enumerate(facts):
        subj, obj = hits(f.subject_names), hits(f.object_names)
        if not subj or not obj:
            continue
        if scope == "doc":
            out.append((i, subj[0]))
        elif scope == "sentence":
            seen = set()
            for p in subj:
                s = bisect_right(starts, p)
                if s not in seen and any(bisect_right(starts, q) == s for q in obj):
                    seen.add(s)
                    out.append((i, p))
        else:
            for p in subj:
                w = bisect_right(words, p)
                if any(abs(bisect_right(words, q) - w) <= window for q in obj):
                    out.append((i, p))
    return out


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", range(6))
def test_matcher_equals_brute_force(monkeypatch, engine, seed):
    use_engine(monkeypatch, engine)
    rng = random.Random(seed)
    for _ in range(40):
        facts = [
            Fact(f"f{i}", rng.choice(NAMES), "r", rng.choice(NAMES), tuple(rng.sample(NAMES, rng.randint(0, 2))),
                 tuple(rng.sample(NAMES, rng.randint(0, 1))))  # fmt: skip
            for i in range(rng.randint(1, 8))
        ]
        texts = []
        for _ in range(rng.randint(1, 5)):
            words = [*NAMES, "foo", "Dr"]
            parts = [x for _ in range(rng.randint(0, 25)) for x in (rng.choice(words), rng.choice(GLUE))]
            texts.append("".join(parts).title() if rng.random() < 0.3 else "".join(parts))
        for scope, window in (("sentence", 0), ("doc", 0), ("window", rng.randint(1, 4))):
            m = FactMatcher(facts, scope, window).match(texts)
            got = list(zip(m.doc.tolist(), m.fact.tolist(), m.position.tolist(), strict=True))
            expected = [(d, fi, p) for d, t in enumerate(texts) for fi, p in brute_force(facts, t, scope, window)]
            assert got == expected, (scope, texts)


def reference_keys(name: str) -> set[str]:
    """``name_keys`` spelled out: the word view of the normalised name (non-word characters
    as spaces, outer spaces dropped); for up to MAX_GAP_WORDS words also every way of writing
    each gap as one or two spaces; for longer names also the single-space join."""
    view = re.sub(r"[^\w]|_", " ", normalize(name)).strip()
    words = view.split()
    if len(words) <= 1:
        return set(words)
    keys = {view}
    if len(words) > extract.MAX_GAP_WORDS:
        return keys | {" ".join(words)}
    for mask in range(2 ** (len(words) - 1)):
        gaps = [" " if mask >> i & 1 else "  " for i in range(len(words) - 1)]
        keys.add(words[0] + "".join(g + w for g, w in zip(gaps, words[1:], strict=True)))
    return keys


@pytest.mark.parametrize("seed", range(4))
def test_name_keys_equal_reference(seed):
    rng = random.Random(seed)
    parts = ["Ann", "lee", "St.", "D.C.", "zé", "Zürich", "O'Neil", "x_y", "12", "-", ",", "ＳＷ", "  ", "\t", "a.b"]
    names = NAMES + ["", " ", "Ka Lomi", "January 5, 1900", "a b c d e f"]
    names += ["".join(rng.choice(parts) + rng.choice(["", " ", "  ", ", "]) for _ in range(rng.randint(1, 6)))
              for _ in range(300)]  # fmt: skip
    for name in names:
        keys = name_keys(name)
        assert len(keys) == len(set(keys)), name
        assert set(keys) == reference_keys(name), name
    # the build's path: all names' views in one pass
    for name, view in zip(names, extract.name_views(names), strict=True):
        assert set(extract.view_keys(view)) == reference_keys(name), name


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", range(4))
def test_built_tables_are_each_facts_names(monkeypatch, engine, seed):
    """Each key's subject facts and each fact's object keys, as the arrays hold them, against
    the facts' own names: subject aliases and object aliases on some facts, names shared."""
    rng = random.Random(seed)
    facts = [Fact(f"f{i}", rng.choice(NAMES), "r", rng.choice(NAMES),
                  tuple(rng.sample(NAMES, rng.randint(0, 2))) if rng.random() < 0.3 else (),
                  tuple(rng.sample(NAMES, 1)) if rng.random() < 0.2 else ())
             for i in range(200)]  # fmt: skip
    use_engine(monkeypatch, engine)
    m = FactMatcher(facts)
    patterns = sorted({k for f in facts for n in (*f.subject_names, *f.object_names) for k in name_keys(n)})
    if engine == "compiled":  # numbered as first met
        met = m._automaton.joined().decode().split("\n")
        assert sorted(met) == patterns
        patterns = met
    assert m.n_keys == len(patterns)
    for kid, key in enumerate(patterns):
        subjects = m._subject_fact[m._subject_off[kid] : m._subject_off[kid + 1]].tolist()
        assert subjects == [i for i, f in enumerate(facts) if any(key in name_keys(n) for n in f.subject_names)]
    group_keys: dict[int, set[str]] = {}
    for kid, key in enumerate(patterns):
        for g in m._object_group[m._object_off[kid] : m._object_off[kid + 1]].tolist():
            group_keys.setdefault(g, set()).add(key)
    for i, f in enumerate(facts):
        assert group_keys[int(m._fact_group[i])] == {k for n in f.object_names for k in name_keys(n)}
    # one group per distinct set of object keys
    assert len(group_keys) == len({frozenset(v) for v in group_keys.values()})


def test_common_rows_parse_as_the_general_rows_do():
    """A row of three strings (the fast path) gives the Fact that the same row with empty
    optional fields gives (the general path), ids given or made, blank strings refused."""
    from audit.errors import InputError
    from audit.facts import parse_fact

    rows = [
        {"subject": "Ka Lomi", "relation": "born", "object": "Tuve"},
        {"id": "x/1", "subject": " Zé ", "relation": "r", "object": "Paris, France"},
        {"subject": "U.S.", "relation": "capital", "object": "Washington, D.C.", "extra": 1},
    ]
    for row in rows:
        general = parse_fact({**row, "aliases": [], "subject_aliases": [], "question": ""}, "t", 1)
        assert parse_fact(row, "t", 1) == general
    assert parse_fact(rows[0], "t", 1).id == "born/ka lomi"
    for blank in ({"subject": " ", "relation": "r", "object": "o"}, {"subject": "s", "relation": "r", "object": ""}):
        with pytest.raises(InputError):
            parse_fact(blank, "t", 1)


@pytest.mark.parametrize("seed", range(3))
def test_normalize_many_equals_normalize(seed):
    """The block path (ASCII names lowercased together) against ``normalize`` one by one, with
    the characters that make ``normalize`` collapse whitespace mixed in."""
    from audit.normalize import normalize_many

    rng = random.Random(seed)
    parts = ["a", "B", " ", "  ", "\t", "\n", "\r", "é", "ß", "x\x0by", ".", "", "ＳＷ"]
    for _ in range(300):
        texts = ["".join(rng.choice(parts) for _ in range(rng.randint(0, 5))) for _ in range(rng.randint(0, 30))]
        assert normalize_many(texts) == {t: normalize(t) for t in texts}
    names = [f"Name {i}" for i in range(10_000)]  # more than one block
    assert normalize_many(names) == {t: t.lower() for t in names}
