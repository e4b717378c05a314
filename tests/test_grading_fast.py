"""Differential test: the grader's fast paths against its reference machinery.

``Grader()`` takes shortcuts for common answer shapes; ``Grader(fast=False)`` applies the rules
of ``audit.grading`` with none. Both must give every answer the same (grade, reason, matched).
The answers are the benchmark's shapes (``bench/outputs_bench.py``), then the same answers
mutated at random with the words and separators that sit on the edges of the shortcuts: case,
particles, place nouns, initials, short numbers, negations, connectors, accents, newlines.
"""

from __future__ import annotations

import random

import pytest

from audit.facts import Fact, parse_fact
from audit.grading import Grader, GraderConfig, _MatchInfo
from bench.outputs_bench import fact_and_answer

N_BENCH = 3000
N_MUTATED = 6000

HAND_FACTS = [
    Fact("c/fr", "France", "capital", "Paris", ("Paris, France",), (), "What is the capital of France?"),
    Fact("p/rel", "relativity", "proposer", "Albert Einstein", question="Who proposed relativity?"),
    Fact("c/us", "United States", "capital", "Washington, D.C.", ("Washington",)),
    Fact("c/nl", "Netherlands", "seat", "The Hague", question="Where is the Dutch seat of government?"),
    Fact("b/in", "India", "bay", "Bay of Bengal", question="Which bay lies east of India?"),
    Fact("m/moon", "Moon", "first_landing", "Apollo 11", question="Which mission landed first?"),
    Fact("c/bz", "Belize", "largest_city", "Belize City", question="What is the largest city of Belize?"),
    Fact("e/h", "hydrogen", "symbol", "H", question="What is the symbol of hydrogen?"),
    Fact("c/ge", "Georgia", "capital", "Tbilisi", ("Tiflis",), ("Sakartvelo",)),
    Fact("c/ch", "Switzerland", "capital", "Bern", ("Berne",), (), "What is the capital of Switzerland?"),
    Fact("c/cape", "Cape Verde", "capital", "Praia", question="What is the capital of Cape Verde?"),
    Fact("n/ev", "Everest", "height", "8,849 m", question="How high is Mount Everest?"),
    Fact("n/one", "Team One", "members", "12", question="How many members has team one?"),
    Fact("y/rome", "Rome", "fall", "476 AD", question="When did Rome fall in the west?"),
    Fact("d/ein", "Albert Einstein", "birth_date", "14 March 1879"),
    Fact("d/x", "Event 1900", "date", "1901-02-03", question="When did Event 1900 take place?"),
    Fact("p/ali", "Ministry", "head", "Ali Reza Ali", question="Who heads the ministry?"),
    Fact("c/x", "Xland", "capital", "Q", question="What is the capital of Xland?"),
    Fact("c/lake", "Laketown", "landmark", "River", question="What is the landmark of Laketown?"),
    Fact("c/ny", "New York State", "capital", "Albany", question="What is the capital of New York?"),
    # objects on the edges of the "answer is just the object" shortcut
    Fact("o/sp", "Brazil", "largest_city", "São Paulo", ("Sao Paulo",)),
    Fact("o/zh", "Zurich canton", "capital", "Zürich"),
    Fact("o/ws", "Somewhere", "capital", "  New   York. "),
    Fact("o/tab", "Elsewhere", "capital", "New\tYork"),
    Fact("o/vt", "Nowhere", "capital", "New\x0bYork"),
    Fact("o/punct", "Rhone", "city", "(Lyon)"),
    Fact("o/the", "Netherlands", "city", "the Hague"),
    Fact("o/num", "Thing", "count", "1,000"),
    Fact("o/fw", "Wide", "capital", "ＰＡＲＩＳ"),
    # continents (regions at a finer grain), codes, years said as words
    Fact("k/laos", "Laos", "continent", "Asia", question="On which continent is Laos?"),
    Fact("k/hn", "Honduras", "continent", "North America", ("Central America",), (),
         "On which continent is Honduras?"),
    Fact("q/za", "", "", "South Africa", question="Pretoria is the capital of which country?"),
    Fact("s/nb", "Niobium", "symbol", "Nb", question="What is the chemical symbol of niobium?"),
    Fact("y/harv", "Harvard", "founding_year", "1636", question="When was Harvard founded?"),
    Fact("q/metal", "", "", "Mercury", question="What metal is liquid at room temperature?"),
]  # fmt: skip

WORDS = [
    "the", "The", "of", "Of", "is", "is not", "isn't", "not", "Not", "never", "rather than",
    "or", "Or", "and", "nor", "maybe", "perhaps", "between", "from", "to", "vs", "and/or",
    "City", "city", "Port", "Bay", "Islands", "Cape", "Fort", "de", "De", "van", "la", "del",
    "St.", "D.C.", "I", "AI", "I'm not sure", "I don't know", "unknown", "sorry", "as of",
    "Paris", "Lyon", "France", "Einstein", "Albert", "Hague", "Washington", "Belize", "H",
    "13", "2", "7", "1879", "1,000", "twenty-one", "one", "ten thousand", "1.5 million",
    "March", "5th", "May 1", "1 May", "14 March", "2020", "44 BC", "in", "since", "n/a",
    "café", "Zürich", "ÉCOLE", "Ångström", "Olá", "—", "-", "/", "(", ")", "'", "\"",
    "X", "B", "Q.", "Lyon de", "Rome of", "van der", "Port of", "Lake", "River", "Island",
    "Ali", "Reza", "Mr.", "Dr. No", "Apollo", "Bengal", "New", "York",
    "Southeast", "South-East", "Asia", "African", "Americas", "Eurasia", "Sub-Saharan", "Europe",
    "North", "Central", "ni", "nb", "xNb", "sixteen thirty-six", "nineteen oh five", "twenty",
    "two thousand and five", "a kind of", "a land of", "called", "that is", "However, the", "is a",
]  # fmt: skip
#: Shapes around the reference (o), the subject (s) and another word (w).
TEMPLATES = [
    "{o} of {w}", "{w} of {o}", "{w} de {o}", "{o} {w}", "{w} {o}", "{s} {o}", "{o} City",
    "{s} City", "the {o}", "{o}, {w} or {w}", "not {o} but {w}", "{o} ({w})", "{w}-{o}",
]  # fmt: skip
SEPS = [" ", " ", " ", ", ", ". ", "-", " / ", "\n", "  ", "; ", "'", " - ", ".", ""]


def _mutate(answer: str, fact: Fact, rng: random.Random) -> str:
    words = answer.split(" ")
    pool = [*WORDS, *fact.subject.split(), *fact.object.split(), fact.object, fact.subject]
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.55 or not words:
            pos = rng.randint(0, len(words))
            words.insert(pos, rng.choice(pool) + rng.choice(SEPS).rstrip(" "))
        elif op < 0.7:
            del words[rng.randrange(len(words))]
        else:
            i = rng.randrange(len(words))
            words[i] = rng.choice([str.lower, str.upper, str.title, str.capitalize])(words[i])
    text = rng.choice(SEPS).join(words) if rng.random() < 0.2 else " ".join(words)
    r = rng.random()
    if r < 0.08:
        text = text.lower()
    elif r < 0.1:
        text = text.upper()
    return text


def _cases() -> list[tuple[Fact, str]]:
    rng = random.Random(7)
    cases = []
    for i in range(N_BENCH):
        row, answer = fact_and_answer(i, rng)
        cases.append((parse_fact(row, "bench", i + 1), answer))
    bench = list(cases)
    for _ in range(N_MUTATED):
        fact, answer = rng.choice(bench)
        if rng.random() < 0.3:
            fact = rng.choice(HAND_FACTS)
            answer = rng.choice([fact.object, *fact.aliases, fact.subject, "It is " + fact.object])
            if rng.random() < 0.3:
                # the object itself, as the "answer is just the object" shortcut sees it
                o = rng.choice([fact.object, fact.object.strip(), *fact.aliases])
                edit = rng.choice([str.lower, str.upper, str.title, lambda t: t + ".", lambda t: f" {t}\n"])
                cases.append((fact, edit(o)))
                continue
        if rng.random() < 0.25:
            word = rng.choice([*WORDS, bench[rng.randrange(N_BENCH)][0].object])
            o = rng.choice(fact.object_names)
            answer = rng.choice(TEMPLATES).format(o=o, s=fact.subject, w=word)
            if rng.random() < 0.5:
                cases.append((fact, answer))
                continue
        cases.append((fact, _mutate(answer, fact, rng)))
    return cases


CASES = _cases()


@pytest.mark.parametrize(
    "config",
    [GraderConfig(), GraderConfig(fuzzy=0), GraderConfig(abstain_patterns=(r"\bnot\b",))],
    ids=["default", "no-fuzzy", "pattern"],
)
def test_fast_paths_grade_like_the_reference(config: GraderConfig) -> None:
    fast, ref = Grader(config), Grader(config, fast=False)
    differ = []
    for fact, answer in CASES:
        want = ref.grade(fact, answer)
        got = fast.grade_fields(fact, answer)
        if got != (want.grade, want.reason, want.matched) or fast.grade(fact, answer) != want:
            differ.append((fact.id, fact.object, answer, got, want))
    assert not differ, f"{len(differ)} of {len(CASES)} differ, e.g. {differ[:5]}"


def test_fast_name_path_covers_the_common_shapes() -> None:
    """The differential test means something only if the name shortcut is taken."""
    g = Grader()
    taken = total = 0
    for fact, answer in CASES[:N_BENCH]:
        m = _MatchInfo(fact, fast=True)
        if m.kind != "name" or not answer.isascii() or answer.lower() == answer:
            continue
        total += 1
        taken += g._name_items_fast(m, answer) is not None
    assert total > 500
    assert taken >= 0.95 * total


def test_excludes_is_membership_of_excluded() -> None:
    """``_MatchInfo.excludes`` (substring search in the context) against the word set."""
    words = {w.lower() for fact, answer in CASES for w in (*answer.split(), *fact.subject.split())}
    words |= {"a", "capital", "of", "the", "what", "is", "c", "us", "x", "fr", "1900", "9"}
    words |= {"largest", "city", "first", "landing", "birth", "date", "largest_city"}
    for fact in [*HAND_FACTS, *(f for f, _ in CASES[:300])]:
        ref = _MatchInfo(fact, fast=True).excluded()
        m = _MatchInfo(fact, fast=True)
        for w in sorted(words):
            if w.isascii() and w.isalnum():
                assert m.excludes(w) == (w in ref), (fact.id, w)


def test_date_and_number_regex_lookaheads_change_no_match() -> None:
    """``_DATE`` and ``_NUMBER`` open with a lookahead on the first character of every branch
    (for speed): without it they find the same matches, with the same groups."""
    import re

    from audit.grading import _DATE, _NUMBER

    pairs = []
    for rx, prefix in ((_DATE, r"(?=[\dadfjmnos])"), (_NUMBER, r"(?=\d)")):
        assert rx.pattern.startswith(prefix)
        pairs.append((rx, re.compile(rx.pattern[len(prefix) :], rx.flags)))
    texts = [a for _, a in CASES] + [f"{f.subject} {f.object} {f.question}" for f, _ in CASES[:2000]]
    texts += ["ſep 5, 1900", "Ｍarch 1, 1974", "٣ May 1900", "12th of Sept. 44 B.C.", "3/4/1999"]
    for fast, plain in pairs:
        for t in texts:
            got = [(m.span(), m.groups()) for m in fast.finditer(t)]
            assert got == [(m.span(), m.groups()) for m in plain.finditer(t)], t


def test_phrase_key_chain_is_any_key() -> None:
    """``_has_phrase_key`` (a chain of ``in`` tests) is ``any`` over ``_PHRASE_KEYS``."""
    from audit.grading.phrases import _PHRASE_KEYS, _has_phrase_key

    texts = [a.lower() for _, a in CASES] + [*_PHRASE_KEYS, "", "n/", "as", "will no"]
    for t in texts:
        assert _has_phrase_key(t) == any(k in t for k in _PHRASE_KEYS), t


def test_year_range_key_on_ascii_text() -> None:
    """``may_hold_year_range`` is ``_YEAR_RANGE_KEY.search``."""
    from audit.grading.numbers import _YEAR_RANGE_KEY, may_hold_year_range

    texts = [a for _, a in CASES] + ["the 1900s", "1900's", "1900S", "1900 s", "1900sx", "5th Century",
                                     "CENTURIES", "1900ſ", "the 1940’s", "1900'S.", "s1", "centu"]  # fmt: skip
    for t in texts:
        assert may_hold_year_range(t) == (_YEAR_RANGE_KEY.search(t) is not None), t


def test_fuzzy_length_bound_holds() -> None:
    """``_classify_word`` skips ``fuzz.ratio`` where 200 * min(n, k) / (n + k), an upper bound of
    it, is under the threshold: the bound holds on random strings, within rounding."""
    from rapidfuzz import fuzz

    rng = random.Random(5)
    for _ in range(20000):
        a = "".join(rng.choice("abcé ") for _ in range(rng.randint(1, 12)))
        b = "".join(rng.choice("abcé ") for _ in range(rng.randint(1, 12)))
        assert fuzz.ratio(a, b) <= 200 * min(len(a), len(b)) / (len(a) + len(b)) + 1e-9, (a, b)


def test_number_word_key_finds_every_written_number() -> None:
    """``_numbers_fast`` skips the number-word regex on ASCII text where ``_NUMBER_WORD_KEY``
    finds nothing: every word of the grammar, and every match in the cases, holds a key."""
    from audit.grading.numbers import _NUMBER_WORD, _NUMBER_WORD_KEY, _SCALE, _TENS, _UNITS

    for word in [*_UNITS, *_TENS, "hundred", *_SCALE]:
        assert _NUMBER_WORD_KEY.search(word), word
    texts = [a for _, a in CASES] + ["Between 10 and 20", "first of all", "fifty-five", "a thousand"]
    texts += ["Twelve", "TWENTY-ONE", "two hundred and five", "one million two hundred thousand"]
    for t in texts:
        for m in _NUMBER_WORD.finditer(t):
            assert _NUMBER_WORD_KEY.search(m.group().lower()), (t, m.group())
    assert not _NUMBER_WORD_KEY.search("between the first and the last")


def test_fast_date_scan_finds_every_date() -> None:
    """``dates_and_spoken`` (``_dates_fast`` and the spoken years) finds what ``iter_dates``
    finds, on the cases and on dates whose month stands far from the digits."""
    from audit.grading.numbers import dates_and_spoken, iter_dates

    texts = [a for _, a in CASES] + [f"{f.subject} {f.object} {f.question}" for f, _ in CASES[:2000]]
    texts += ["Sept., of 1900", "in March\u00a0\u2003 of \t 1974.", "ſep 5, 1900", "May  1", "x-5 May 2000",
              "Founded in the month of October,  1901", "Oct.\n\n3rd, 1999 or 4 Nov 1999", "no digit here"]  # fmt: skip
    # no month: the scan without the month branches
    texts += ["1851-06-04", "3/4/1999", "31.12.1999 or 1.13.1999", "44 BC", "476 a.d.", "1066AD", "12 ce",
              "x-1999", "born 1879-1955", "1,900 or 2,000", "in the 1900s", "2100.5", "2101", "Z 1999"]  # fmt: skip
    for t in texts:
        assert dates_and_spoken(t) == list(iter_dates(t)), t
