"""``hallu-audit simulate``: a synthetic corpus whose counts are known exactly."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from audit import simulate as sim
from audit.errors import OptionError
from audit.facts import load_references
from audit.normalize import normalize
from tests.conftest import read_jsonl


def make(tmp_path, name: str = "sim", **kw) -> tuple[sim.SimTruth, sim.SimPaths]:
    cfg = sim.SimConfig(**{"mentions": 3000, "shape": 0.8, "seed": 5, "eval_prompts": 300, **kw})
    return sim.write_simulation(cfg, str(tmp_path / name))


def recount(paths: sim.SimPaths) -> Counter:
    """Mentions per person, by brute force: one per sentence holding a name of the table."""
    names = {f.subject: f.id for f in load_references(paths.facts)}
    rx = re.compile("|".join(sorted(map(re.escape, names), key=len, reverse=True)))
    counts: Counter = Counter()
    for doc in read_jsonl(Path(paths.corpus)):
        for m in rx.finditer(doc["text"]):
            counts[names[m.group()]] += 1
    return counts


def test_truth_matches_the_files(tmp_path) -> None:
    truth, paths = make(tmp_path)
    counts = recount(paths)
    assert sum(counts.values()) == truth.n == 3000
    assert sum(1 for c in counts.values() if c == 1) == truth.n1
    assert len(counts) == truth.distinct
    doc = orjson.loads(Path(paths.truth).read_bytes())
    assert doc["kind"] == "hallu-audit/simulation-truth"
    assert doc["N"] == truth.n and doc["N1"] == truth.n1
    assert doc["singleton_rate"] == truth.n1 / truth.n
    assert sum(doc["histogram"].values()) == truth.distinct
    evals = read_jsonl(Path(paths.eval))
    assert sum(r["weight"] for r in evals) == truth.eval_prompts == 300
    assert all(r["train_count"] == counts.get(r["id"], 0) for r in evals)
    assert sum(r["weight"] for r in evals if r["train_count"] == 0) == truth.eval_unseen
    refs = {f.id: f for f in load_references(paths.facts)}
    assert set(counts) | {r["id"] for r in evals} == set(refs)
    for r in evals:
        assert refs[r["id"]].object == r["object"] and r["prompt"].startswith(r["subject"])


def test_every_mention_sentence_states_the_true_date(tmp_path) -> None:
    _, paths = make(tmp_path, formats=("dmy", "mdy", "iso"))
    refs = {f.subject: f for f in load_references(paths.facts)}
    rx = re.compile("|".join(map(re.escape, refs)))
    formats_seen = set()
    for doc in read_jsonl(Path(paths.corpus)):
        for sentence in re.split(r"(?<=\.) ", doc["text"]):
            names = rx.findall(sentence)
            digits = re.findall(r"\d", sentence)
            if not names:
                assert not digits, sentence  # filler never holds a date
                continue
            assert len(names) == 1, sentence
            fact = refs[names[0]]
            stated = [d for d in fact.object_names if d in sentence]
            assert len(stated) == 1, sentence
            formats_seen.add(fact.object_names.index(stated[0]))
    assert formats_seen == {0, 1, 2}


def test_deterministic(tmp_path) -> None:
    _, a = make(tmp_path, "a")
    _, b = make(tmp_path, "b")
    _, c = make(tmp_path, "c", seed=6)
    for field in ("corpus", "facts", "eval", "truth"):
        assert Path(getattr(a, field)).read_bytes() == Path(getattr(b, field)).read_bytes()
    assert Path(a.corpus).read_bytes() != Path(c.corpus).read_bytes()


def test_names_are_unique_and_never_filler_words() -> None:
    cfg = sim.SimConfig(mentions=50_000)
    people = sim.People(cfg)
    names = [people.name(i) for i in range(cfg.people)]
    assert len(set(map(normalize, names))) == cfg.people
    parts = set(people.firsts) | set(people.lasts)
    assert not {p.lower() for p in parts} & sim.filler_words()
    assert not {p.lower() for p in people.firsts} & {p.lower() for p in sim._last_pool()}
    assert not {m.lower() for m in sim.MONTHS} & {p.lower() for p in parts}


@pytest.mark.parametrize("distribution", ["zipf", "pareto"])
def test_target_singleton_rate(distribution: str) -> None:
    base = sim.SimConfig(mentions=20_000, distribution=distribution, shape=1.0)
    for target in (0.1, 0.4, 0.7):
        shape = sim.shape_for_singleton_rate(target, base)
        assert abs(sim.expected_singleton_rate(replace(base, shape=shape)) - target) < 1e-3


def test_realised_sr_and_missing_mass_track_the_expectation(tmp_path) -> None:
    truth, _ = make(tmp_path, mentions=40_000, shape=1.0, eval_prompts=4000)
    assert abs(truth.singleton_rate - truth.expected_singleton_rate) < 0.02
    # Good-Turing: sr estimates the missing mass, and fresh draws miss the corpus that often.
    assert abs(truth.singleton_rate - truth.missing_mass) < 0.02
    assert abs(truth.eval_unseen / truth.eval_prompts - truth.missing_mass) < 0.04


def test_out_of_reach_target_and_bad_config() -> None:
    with pytest.raises(OptionError, match="out of reach"):
        sim.shape_for_singleton_rate(0.99, sim.SimConfig(mentions=1000))
    for kw in ({"mentions": 0}, {"distribution": "poisson"}, {"shape": -1}, {"formats": ()}):
        with pytest.raises(OptionError):
            sim.SimConfig(**kw).validate()
    assert sim.parse_formats("dmy, iso") == ("dmy", "iso")
    assert sim.parse_years("1900-1999") == (1900, 1999)
    with pytest.raises(OptionError):
        sim.parse_years("late")


# -- the corpus command counts exactly what was generated ----------------------------------------
def corpus_counts(cli, paths: sim.SimPaths) -> dict:
    result = cli("corpus", paths.corpus, "-f", paths.facts, "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    return orjson.loads(result.stdout)["overall"]


@pytest.mark.parametrize("compress", ["", "zst"])
def test_corpus_command_counts_the_truth(cli, tmp_path, compress: str) -> None:
    cfg = sim.SimConfig(mentions=5000, shape=0.9, seed=2, formats=("dmy", "iso"))
    truth, paths = sim.write_simulation(cfg, str(tmp_path / "s"), compress)
    overall = corpus_counts(cli, paths)
    assert (overall["N"], overall["N1"], overall["distinct_facts"]) == (
        truth.n,
        truth.n1,
        truth.distinct,
    )
    assert overall["singleton_rate"] == truth.singleton_rate
    assert {k: v for k, v in overall["histogram"].items() if k != "0"} == truth.histogram


def test_corpus_command_counts_month_first_dates(cli, tmp_path) -> None:
    truth, paths = sim.write_simulation(
        sim.SimConfig(mentions=2000, formats=("mdy",)), str(tmp_path)
    )
    assert corpus_counts(cli, paths)["N"] == truth.n


# -- CLI -----------------------------------------------------------------------------------------
def test_cli_simulate(cli, tmp_path) -> None:
    out = tmp_path / "out"
    result = cli("simulate", out, "-n", "2000", "--target-sr", "0.5", "--json", "--seed", "3")
    assert result.exit_code == 0, result.stderr
    truth = orjson.loads(result.stdout)
    assert truth == orjson.loads((out / "truth.json").read_bytes())
    assert truth["N"] == 2000 and abs(truth["singleton_rate"] - 0.5) < 0.05
    assert truth["config"]["seed"] == 3 and truth["answers"] == 73048
    assert "sr = " in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "corpus.jsonl",
        "eval.jsonl",
        "refs.jsonl",
        "truth.json",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("--formats", "xyz"),
        ("--years", "2000-1990"),
        ("--distribution", "x"),
        ("--target-sr", "0.999"),
        ("--compress", "bz2"),
        ("--seed", "-5"),
        ("--mentions", "100000000000000000000000"),
        ("--filler", "nan"),
    ],
)
def test_cli_simulate_bad_options(cli, tmp_path, args) -> None:
    """Option values are usage errors (exit 2, in click's words), found before the folder is made."""
    result = cli("simulate", tmp_path / "o", "-n", "100", *args)
    assert result.exit_code == 2, result.stderr
    assert f"Invalid value for '{args[0]}'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
