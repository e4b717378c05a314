"""Golden reports: `corpus --facts` on a name-dense and a sparse corpus gives exactly the bytes
committed in fixtures/golden/.

The corpora and the reference table are generated here, deterministically, so the files stay
small. The golden files were written by the code before the matcher and the scan path were
rewritten for speed; a speed change must keep every byte. A change that adds a report field on
purpose regenerates them in its own commit:

    HALLU_UPDATE_GOLDEN=1 python3 -m pytest tests/test_golden.py
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from tests.conftest import ENGINES, FIXTURES, use_engine

GOLDEN = FIXTURES / "golden"
UPDATE = os.environ.get("HALLU_UPDATE_GOLDEN") == "1"

SYL = "ka lo mi ra tu ve shi no za pe dro len mar tis gol bra fen uri ost yel".split()
FILLER = (
    "the of and in to a was is for on as with by that at from it an were are which this be or has had "
    "not first one their its new after but who they have two been other when there all during into"
).split()
MONTHS = "January February March April May June July August September October November December".split()
# Hand-made names that exercise the matcher's edge cases: punctuation inside a name, a name that
# is a prefix of a longer one, accents, initials and abbreviations the sentence splitter keeps.
CITIES = ["Washington, D.C.", "St. Louis", "Zürich", "São Paulo", "New York", "York", "Port-au-Prince"]


def _word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(SYL) for _ in range(n)).capitalize()


def make_table(seed: int = 10) -> tuple[list[dict], list[str], list[str]]:
    """People with a birth place and a birth date; cities shared by many people (one object
    group per city); some people with subject aliases; some cities are subjects themselves."""
    rng = random.Random(seed)
    cities = CITIES + [_word(rng, 3) for _ in range(40)]
    people: list[str] = []
    seen: set[str] = set()
    while len(people) < 300:
        name = f"{_word(rng, 2)} {_word(rng, 2)}"
        if name not in seen:
            seen.add(name)
            people.append(name)
    people[5] = people[4] + " Jr"  # a subject that contains another subject
    rows: list[dict] = []
    for i, p in enumerate(people):
        first, last = p.split(" ", 1)
        place: dict = {"subject": p, "relation": "birth_place", "object": rng.choice(cities)}
        if i % 7 == 0:
            place["subject_aliases"] = [f"{first[0]}. {last}"]
        if place["object"] == "New York":
            place["aliases"] = ["NYC", "New York City"]
        rows.append(place)
        y, m, d = rng.randint(1800, 1999), rng.randint(1, 12), rng.randint(1, 28)
        date = {"subject": p, "relation": "birth_date", "object": f"{MONTHS[m - 1]} {d}, {y}",
                "aliases": [f"{d} {MONTHS[m - 1]} {y}"]}  # fmt: skip
        if i % 11 == 0:
            date["id"] = f"born:{i}"
        rows.append(date)
    for c in cities[:20]:
        rows.append({"subject": c, "relation": "country", "object": rng.choice(["France", "Brazil", "Haiti", "USA"])})
    rows.append({"subject": "Atlantis", "relation": "country", "object": "Poseidonis"})  # never seen
    return rows, people, cities


def _filler(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choices(FILLER, k=rng.randint(lo, hi))).capitalize() + "."


def make_dense(rows: list[dict], people: list[str], cities: list[str], n: int = 250, seed: int = 11) -> list[str]:
    """Biographies: names and dates in almost every sentence (about 10 mentions per KB)."""
    rng = random.Random(seed)
    facts = {(r["subject"], r["relation"]): r for r in rows}
    docs = []
    for _ in range(n):
        sents = []
        for _ in range(rng.randint(4, 12)):
            p, q = rng.sample(people, 2)
            place, date = facts[(p, "birth_place")]["object"], facts[(p, "birth_date")]["object"]
            k = rng.randrange(10)
            if k == 0:
                sents.append(f"{p} was born in {place} on {date}.")
            elif k == 1:
                sents.append(f"Dr. {p} met {q} in {rng.choice(cities)}, near {place}.")
            elif k == 2:
                sents.append(f"Born {facts[(p, 'birth_date')]['aliases'][0]}, {p.split()[0][0]}. {p.split()[1]} moved.")
            elif k == 3:
                sents.append(f"In {place} {p} lived! Then {q} arrived from {date[-4:]}.")
            elif k == 4:
                sents.append(f"{place} is where {q} and {p} (b. {date}) worked with the U.S. Army.")
            elif k == 5:
                sents.append(f"{p} left. {place} grew.")  # subject and object in two sentences
            elif k == 6:
                sents.append(f"{p}'s town, {place.replace(',', '')}, has {rng.randint(2, 99)} mills.")
            elif k == 7:
                sents.append(f"{p} {p} visited {place} and {place} twice.")
            elif k == 8:
                c = rng.choice(cities[:20])
                sents.append(f"{c} lies in {facts[(c, 'country')]['object']}, says {p}.")
            else:
                sents.append(_filler(rng, 5, 12))
        docs.append(" ".join(sents))
    return docs


def make_sparse(rows: list[dict], people: list[str], n: int = 200, seed: int = 12) -> list[str]:
    """Mostly filler, with a fact statement now and then (about 1 mention per KB)."""
    rng = random.Random(seed)
    place = {r["subject"]: r["object"] for r in rows if r["relation"] == "birth_place"}
    docs = []
    for _ in range(n):
        sents = [_filler(rng, 8, 20) for _ in range(rng.randint(6, 16))]
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            p = rng.choice(people[:60])  # a small set, so counts above one occur
            sents.insert(rng.randrange(len(sents) + 1), f"{p} was born in {place[p]}.")
        docs.append(" ".join(sents))
    return docs


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("golden")
    rows, people, cities = make_table()
    (d / "refs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name, docs in (("dense", make_dense(rows, people, cities)), ("sparse", make_sparse(rows, people))):
        (d / f"{name}.jsonl").write_text("".join(json.dumps({"id": f"{name}-{i}", "text": t}) + "\n"
                                                 for i, t in enumerate(docs)))  # fmt: skip
        # the same corpus under a second name: the dedup runs read both (a path given twice is read once)
        (d / f"{name}-copy.jsonl").write_bytes((d / f"{name}.jsonl").read_bytes())
    return d


RUNS = {
    "dense-sentence": ["dense.jsonl"],
    "dense-window": ["dense.jsonl", "--scope", "window", "--window", "4"],
    "dense-doc": ["dense.jsonl", "--scope", "doc"],
    "dense-dedup-minhash": ["dense.jsonl", "dense-copy.jsonl", "--dedup", "minhash"],
    "dense-sample-counter": ["dense.jsonl", "--max-facts", "100"],
    "sparse-sentence": ["sparse.jsonl"],
    "sparse-dedup-exact": ["sparse.jsonl", "sparse-copy.jsonl", "--dedup", "exact"],
}


@pytest.mark.parametrize("run", sorted(RUNS))
def test_report_and_per_fact_equal_the_golden_files(cli, inputs, monkeypatch, run):
    monkeypatch.chdir(inputs)  # relative paths, so the report names no temporary folder
    names = [f"{run}.json"]
    args = [*RUNS[run], "-f", "refs.jsonl", "-o", names[0], "-q"]
    if "dedup" not in run:  # per-fact rows of a dedup run are those of the run without it
        names.append(f"{run}.per-fact.jsonl")
        args += ["--per-fact", names[1]]
    result = cli("corpus", *args)
    assert result.exit_code == 0, result.stderr
    for name in names:
        got = (inputs / name).read_bytes()
        if UPDATE:
            GOLDEN.mkdir(exist_ok=True)
            (GOLDEN / name).write_bytes(got)
        assert got == (GOLDEN / name).read_bytes(), f"{name} differs from fixtures/golden/{name}"


def test_the_golden_corpora_have_the_densities_they_are_named_for(inputs):
    """The name-dense corpus has >= 8 mentions per KB, the sparse one <= 1.5 (as in issue terms
    of the benchmark), so the golden files cover both regimes of the scan."""
    for name, lo, hi in (("dense", 8, 1e9), ("sparse", 0, 1.5)):
        report = json.loads((GOLDEN / f"{name}-sentence.json").read_text())
        per_kb = report["overall"]["N"] / (report["inputs"]["bytes"] / 1000)
        assert lo <= per_kb <= hi, (name, per_kb)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("run", ["dense-sentence", "dense-window", "dense-doc", "sparse-sentence"])
def test_every_matcher_engine_gives_the_same_bytes(cli, inputs, monkeypatch, run, engine):
    """The compiled scanner, daachorse (where it is not built) and pyahocorasick (for tables
    with many keys, forced here on the small table) all give the golden bytes."""
    use_engine(monkeypatch, engine)
    monkeypatch.chdir(inputs)
    out = f"{engine}-{run}"
    result = cli("corpus", *RUNS[run], "-f", "refs.jsonl", "-o", f"{out}.json", "--per-fact", f"{out}.pf.jsonl", "-q")
    assert result.exit_code == 0, result.stderr
    assert (inputs / f"{out}.json").read_bytes() == (GOLDEN / f"{run}.json").read_bytes()
    assert (inputs / f"{out}.pf.jsonl").read_bytes() == (GOLDEN / f"{run}.per-fact.jsonl").read_bytes()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("run", ["dense-sentence", "dense-window", "sparse-sentence"])
def test_a_matcher_from_the_cache_gives_the_same_bytes(cli, inputs, monkeypatch, tmp_path, run, engine):
    """The first run reads the table and builds the matcher and keeps both (``audit.cache``), the
    second reads them back: both give the golden bytes, with either automaton."""
    from audit import cache

    monkeypatch.setattr(cache, "MIN_FACTS", 1)
    monkeypatch.setattr(cache, "MIN_TABLE_BYTES", 0)  # the table read back from the cache too
    monkeypatch.setenv("HALLU_AUDIT_CACHE", str(tmp_path / "cache"))
    use_engine(monkeypatch, engine)
    monkeypatch.chdir(inputs)
    for attempt in ("built", "cached"):
        out = f"cache-{run}-{attempt}"
        result = cli("corpus", *RUNS[run], "-f", "refs.jsonl", "-o", f"{out}.json", "--per-fact", f"{out}.pf.jsonl",
                     "-q")  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert len(list((tmp_path / "cache").glob("matcher-*.bin"))) == 1
        assert len(list((tmp_path / "cache").glob("table-*.bin"))) == 1
        assert (inputs / f"{out}.json").read_bytes() == (GOLDEN / f"{run}.json").read_bytes(), attempt
        assert (inputs / f"{out}.pf.jsonl").read_bytes() == (GOLDEN / f"{run}.per-fact.jsonl").read_bytes(), attempt
