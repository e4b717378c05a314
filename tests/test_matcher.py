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

NAMES = ["ann lee", "lee", "bob", "st. louis", "washington, d.c.", "new york", "york", "ka lo mi", "zé", "a.b",
         "x y z w v", "u.s."]  # fmt: skip
GLUE = [" ", " ", " ", ". ", "! ", "? ", ", ", " dr. ", " u.s. ", ".", "... ", " j. ", '." ', " (", ") ", "\n"]


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


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_matcher_equals_brute_force(monkeypatch, compact, seed):
    if compact:
        monkeypatch.setattr(extract, "COMPACT_KEYS", 0)
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
