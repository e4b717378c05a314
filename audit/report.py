"""The corpus report: from a merged ``CorpusPartial`` to a dataclass, JSON and a summary.

The JSON is deterministic: the same input and options give byte-identical output (sorted keys,
no timings unless asked for). Its schema is documented in the README ("Report fields").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import orjson

import audit
from audit.bounds import missing_mass_interval
from audit.corpus import CorpusPartial, ObjectSeen, is_conflict
from audit.counting import BUCKETS, CountStats, FactCounter
from audit.records import CorpusConfig

KIND = "hallu-audit/corpus-report"
SCHEMA = 1


def _number(x: float) -> float | int:
    """Integers stay integers in the JSON; estimates keep their fraction."""
    return int(x) if float(x).is_integer() else x


def stats_dict(
    st: CountStats,
    confidence: float,
    *,
    reference_facts: int | None,
    distinct_objects: int | None,
    conflicts: int | None,
) -> dict[str, Any]:
    """One block of the report (overall or one relation)."""
    sr = st.singleton_rate
    mm = missing_mass_interval(sr, st.n, confidence)
    hist: dict[str, Any] = {label: _number(st.histogram[label]) for label, _, _ in BUCKETS}
    out: dict[str, Any] = {
        "N": _number(st.n),
        "N1": _number(st.n1),
        "distinct_facts": _number(st.distinct),
        "singleton_rate": sr,
        "histogram": hist,
        "missing_mass": {
            "estimate": sr,
            "low": mm.low,
            "high": mm.high,
            "half_width": mm.half_width if st.n else None,
            "confidence": confidence,
        },
        "exact": st.exact,
        "reference_facts": reference_facts,
        "unseen_facts": None,
        "distinct_objects": distinct_objects,
        "conflicts": conflicts,
    }
    if reference_facts is not None:
        unseen = max(0, reference_facts - st.distinct)
        out["unseen_facts"] = _number(unseen)
        hist["0"] = _number(unseen)
    if not st.exact:
        out["standard_errors"] = {
            "distinct_facts": st.se_distinct,
            "N1": st.se_n1,
            "singleton_rate": st.se_singleton_rate,
        }
    # bounded-memory sketch (audit.sketch.SketchStats): sampling rate, bucket SEs, HLL check
    from audit.sketch import SketchStats

    if isinstance(st, SketchStats):
        out["sketch"] = {"sampling_rate": st.sampling_rate, "sampled_facts": st.sampled_facts}
        if st.distinct_hll is not None:
            out["sketch"]["distinct_facts_hll"] = round(st.distinct_hll, 1)
        if not st.exact:
            out["standard_errors"]["histogram"] = dict(st.se_histogram)
    return out


@dataclass
class CorpusReport:
    """Everything ``hallu-audit corpus`` reports; ``to_dict`` is the JSON document."""

    config: CorpusConfig
    confidence: float
    sources: list[str]
    documents: int
    input_bytes: int
    tokens: int | None
    tokenizer: str | None
    bad_records: dict[str, Any]
    overall: dict[str, Any]
    relations: dict[str, dict[str, Any]]
    extra_inputs: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float | None = None
    # --dedup: the same blocks counted over distinct sources (near-duplicate documents skipped)
    distinct_sources: dict[str, Any] | None = None
    # pattern mode: conflicting prompts with their objects (None with a reference table)
    conflict_examples: list[dict[str, Any]] | None = None

    def warnings(self) -> list[str]:
        """Lines for stderr about a report whose numbers say less than they seem to."""
        if self.documents and not self.overall["N"]:
            what = "pattern" if self.config.patterns else "reference fact"
            return [f"no {what} mention was found in {self.documents:,} document(s): N = 0, so the "
                    "singleton rate (shown as 0) is undefined"]  # fmt: skip
        return []

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": KIND,
            "schema": SCHEMA,
            "version": audit.__version__,
            "config": self.config.describe(),
            "config_id": self.config.id,
            "confidence": self.confidence,
            "inputs": {
                "sources": self.sources,
                "documents": self.documents,
                "bytes": self.input_bytes,
                "tokens": self.tokens,
                "tokenizer": self.tokenizer,
                "bad_records": self.bad_records,
                **self.extra_inputs,
            },
            "overall": self.overall,
            "relations": self.relations,
        }
        if self.distinct_sources is not None:
            out["distinct_sources"] = self.distinct_sources
        if self.conflict_examples is not None:
            out["conflict_examples"] = self.conflict_examples
        if self.elapsed_s is not None:
            out["timings"] = {
                "elapsed_s": round(self.elapsed_s, 3),
                "mb_per_s": round(self.input_bytes / 1e6 / self.elapsed_s, 3) if self.elapsed_s > 0 else None,
            }
        return out

    def to_json(self) -> bytes:
        return to_json(self.to_dict())


def to_json(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def build_report(
    partial: CorpusPartial,
    config: CorpusConfig,
    *,
    confidence: float,
    sources: list[str],
    reference_objects: dict[str, int] | None = None,
    reference_facts: dict[str, int] | None = None,
    tokenizer: str | None = None,
    elapsed_s: float | None = None,
    conflict_examples: int = 10,
) -> CorpusReport:
    """Summarise a finished run. ``reference_*`` come from the fact table (reference mode).

    In pattern mode the report lists up to ``conflict_examples`` conflicting prompts, the most
    mentioned first, each with its objects, their mentions and where each was first stated.
    """
    counter = partial.counter
    relations = sorted(set(counter.relations()) | set(reference_facts or {}))
    conflicts: dict[str, int] = {}
    objects: dict[str, set[str]] = {}
    examples: list[dict[str, Any]] | None = None
    if config.mode == "patterns":
        examples = []
        rel_of = {fact: rel for fact, rel, _ in counter.items()}
        for prompt, objs in partial.objects.items():
            rel = rel_of.get(prompt, prompt.split("/", 1)[0])
            objects.setdefault(rel, set()).update(objs)
            if len(objs) > 1 and is_conflict(objs):
                conflicts[rel] = conflicts.get(rel, 0) + 1
                examples.append(conflict_example(prompt, rel, objs))
        examples.sort(key=lambda e: (-e["mentions"], e["id"]))
        del examples[conflict_examples:]

    def block(relation: str | None, counter: FactCounter = counter) -> dict[str, Any]:
        st = counter.stats(relation)
        if config.mode == "facts":
            ref = reference_facts or {}
            n_ref = sum(ref.values()) if relation is None else ref.get(relation, 0)
            objs = reference_objects or {}
            n_obj = sum(objs.values()) if relation is None else objs.get(relation)
            return stats_dict(st, confidence, reference_facts=n_ref, distinct_objects=n_obj, conflicts=None)
        n_obj = (
            len(set().union(*objects.values()))
            if relation is None and objects
            else len(objects.get(relation or "", ()))
        )
        n_conf = sum(conflicts.values()) if relation is None else conflicts.get(relation, 0)
        return stats_dict(st, confidence, reference_facts=None, distinct_objects=n_obj, conflicts=n_conf)

    distinct_sources = None
    if partial.distinct is not None:
        dc = partial.distinct
        distinct_sources = {
            "dedup": config.dedup,
            "duplicate_documents": partial.duplicates,
            "distinct_documents": partial.read.documents - partial.duplicates,
            "overall": block(None, dc),
            "relations": {r: block(r, dc) for r in relations},
        }
    return CorpusReport(
        distinct_sources=distinct_sources,
        config=config,
        confidence=confidence,
        sources=sources,
        documents=partial.read.documents,
        input_bytes=partial.read.bytes,
        tokens=partial.tokens,
        tokenizer=os.path.basename(tokenizer) if tokenizer else None,
        bad_records=partial.read.to_dict(),
        overall=block(None),
        relations={r: block(r) for r in relations},
        elapsed_s=elapsed_s,
        conflict_examples=examples,
    )


def _ranked(objs: dict[str, ObjectSeen]) -> list[tuple[str, ObjectSeen]]:
    """Objects by mentions, most first, then by object: the majority object leads."""
    return sorted(objs.items(), key=lambda kv: (-kv[1][0], kv[0]))


def conflict_example(prompt: str, relation: str, objs: dict[str, ObjectSeen]) -> dict[str, Any]:
    """One entry of the report's ``conflict_examples``."""
    return {
        "id": prompt,
        "relation": relation,
        "mentions": sum(n for n, _ in objs.values()),
        "objects": [{"object": o, "count": n, "where": w} for o, (n, w) in _ranked(objs)],
    }


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` safely (``audit.io.writing.write_output``: atomic for regular
    files, in place for devices and FIFOs, ``-`` for stdout)."""
    from audit.io.writing import write_output

    write_output(path, data)


PER_FACT_KIND = "hallu-audit/per-fact"


def per_fact_header(config: CorpusConfig, relations: list[str]) -> bytes:
    """The first line of a ``--per-fact`` file: what the counts are of, so that ``outputs
    --per-fact`` can refuse counts made from another reference table (or by patterns, whose
    ids are not a table's): ``{"kind": "hallu-audit/per-fact", "schema": 1, "config_id",
    "mode", "facts_digest", "relations"}``; ``facts_digest`` is "" in pattern mode."""
    return orjson.dumps(
        {
            "kind": PER_FACT_KIND,
            "schema": 1,
            "config_id": config.id,
            "mode": config.mode,
            "facts_digest": config.facts_digest,
            "relations": relations,
        }
    ) + b"\n"


def per_fact_rows(partial: CorpusPartial, config: CorpusConfig | None = None) -> bytes:
    """JSONL ``{id, relation, count}`` for every fact (zeros included with a reference table),
    after the ``per_fact_header`` line of ``config`` when given.

    Pattern-mode rows add ``objects`` (``[{object, count}]``, most mentioned first, at most
    ``MAX_OBJECTS_PER_PROMPT``) and ``conflict`` (two of them disagree)."""
    head = per_fact_header(config, partial.counter.relations()) if config is not None else b""
    if not partial.objects:
        return head + b"".join(
            orjson.dumps({"id": fact, "relation": rel, "count": count}) + b"\n"
            for fact, rel, count in partial.counter.items()
        )
    rows = [head]
    for fact, rel, count in partial.counter.items():
        objs = partial.objects.get(fact, {})
        row = {
            "id": fact,
            "relation": rel,
            "count": count,
            "objects": [{"object": o, "count": n} for o, (n, _) in _ranked(objs)],
            "conflict": len(objs) > 1 and is_conflict(objs),
        }
        rows.append(orjson.dumps(row) + b"\n")
    return b"".join(rows)


def _stats_rows(blocks: list[tuple[str, dict[str, Any]]], confidence: float) -> list[list[str]]:
    """Header and one row per block; a sketch's estimates rounded, with one standard error."""
    from audit.tables import count, rate

    rows = [["relation", "N", "distinct", "N1", "sr", f"missing mass ({confidence:.0%})", ""]]
    for name, st in blocks:
        se = {} if st["exact"] else st.get("standard_errors") or {}
        mm = st["missing_mass"]
        extra = []
        if st["unseen_facts"] is not None:
            extra.append(f"unseen {count(st['unseen_facts'])}")
        if st["conflicts"]:
            extra.append(f"conflicts {st['conflicts']:,}")
        rows.append([
            name,
            count(st["N"]),
            count(st["distinct_facts"], se.get("distinct_facts")),
            count(st["N1"], se.get("N1")),
            rate(st["singleton_rate"], se.get("singleton_rate")),
            f"[{mm['low']:.4f}, {mm['high']:.4f}]" if st["N"] else "n/a",
            "  ".join(extra),
        ])
    return rows


def render_summary(report: CorpusReport) -> str:
    """A readable summary for stderr: what was read, then N, N1 and sr overall and per relation
    (and again over distinct sources with --dedup). Estimates print as ``218 ± 36``."""
    from audit.tables import OVERALL, grid

    d = report.to_dict()
    inp = d["inputs"]
    lines = [
        f"hallu-audit corpus  ({report.config.mode}, config {report.config.id})",
        f"  read        {inp['documents']:,} document{'' if inp['documents'] == 1 else 's'}, "
        f"{inp['bytes'] / 1e6:,.1f} MB"
        + (f", {inp['tokens']:,} tokens" if inp["tokens"] is not None else "")
        + (f" in {report.elapsed_s:.1f}s" if report.elapsed_s else ""),
    ]
    bad = inp["bad_records"]
    if bad["total"]:
        reasons = ", ".join(f"{r} {v['count']}" for r, v in bad["by_reason"].items())
        first = next(iter(bad["by_reason"].values()))["examples"][0]
        lines.append(f"  bad records {bad['total']:,} ({reasons}); first: {first}")
    blocks = [(OVERALL, d["overall"]), *d["relations"].items()]
    exact = all(st["exact"] for _, st in blocks)
    lines += ["", *grid(_stats_rows(blocks, report.confidence), indent="  ", left=(0, 6))]
    ds = d.get("distinct_sources")
    if ds is not None:
        lines += [
            "",
            f"  over distinct sources (--dedup {ds['dedup']}: {ds['distinct_documents']:,} distinct "
            f"documents, {ds['duplicate_documents']:,} duplicates skipped); predict uses these",
        ]
        blocks = [(OVERALL, ds["overall"]), *ds["relations"].items()]
        lines += grid(_stats_rows(blocks, report.confidence), indent="  ", left=(0, 6))
    if not exact:
        lines += ["", "  counts with ± were estimated by the bounded-memory sketch (± one standard error)"]
    examples = d.get("conflict_examples") or []
    if examples:
        lines += ["", f"  conflicts, most mentioned first ({len(examples)} in the JSON's conflict_examples):"]
        for e in examples[:3]:
            objs = ", ".join(f"{o['object']} ({o['count']}, {o['where']})" for o in e["objects"])
            lines.append(f"    {e['id']}: {objs}")
    return "\n".join(lines)
