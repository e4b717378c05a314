"""Rendering an outputs report: a readable table (for stderr), Markdown (CI job summaries) and
JUnit XML (one test case per CI gate). Pure functions of the report's JSON document."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import quoteattr

_METRICS = (
    ("accuracy", "accuracy"),
    ("hallucination_rate", "hallucination rate"),
    ("abstention_rate", "abstention rate"),
    ("accuracy_given_attempted", "accuracy given attempted"),
    ("f_score", "F (SimpleQA)"),
)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _iv(iv: list[float] | None, pct: bool = True) -> str:
    if not iv:
        return ""
    f = _pct if pct else _num
    return f"[{f(iv[0])}, {f(iv[1])}]"


def _gate_line(g: dict[str, Any]) -> str:
    return f"{'PASS' if g['passed'] else 'FAIL'}  {g['name']}: {g['message']}"


def _n(count: int, noun: str) -> str:
    """``1 answer``, ``2 answers``, ``1,000 answers``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def table(doc: dict[str, Any]) -> str:
    """The human summary: counts, metrics with intervals, scores, calibration, gates."""
    o = doc["overall"]
    ivs = o.get("intervals") or {}
    rows = doc["rows"]
    lines = [
        f"graded {_n(o['n'], 'answer')} from {doc['inputs']['outputs']}: "
        f"{o['correct']:,} correct, {o['incorrect']:,} incorrect, {o['abstained']:,} abstained",
    ]
    bad = rows["bad"]
    if bad["total"]:
        lines.append(f"skipped {_n(bad['total'], 'bad row')}:")
        for reason, t in bad["by_reason"].items():
            lines.append(f"  {reason}: {t['count']:,} (e.g. {', '.join(t['examples'][:3])})")
    dropped = rows.get("confidence_dropped") or {}
    if dropped.get("count"):
        ex = ", ".join(dropped["examples"][:3])
        lines.append(f"graded {_n(dropped['count'], 'answer')} without their unusable confidence (e.g. {ex})")
    if doc["missing"]["count"]:
        ex = ", ".join(doc["missing"]["examples"][:3])
        count = doc["missing"]["count"]
        lines.append(f"{_n(count, 'reference fact')} {'has' if count == 1 else 'have'} no answer (e.g. {ex})")
    if rows.get("coverage") is not None:
        lines.append(f"coverage {_pct(rows['coverage'])} of {doc['inputs']['facts']:,} reference facts")
    lines.append("")
    width = max(len(label) for _, label in _METRICS)
    for key, label in _METRICS:
        lines.append(f"  {label:<{width}}  {_pct(o[key]):>7}  {_iv(ivs.get(key))}")
    for key, s in o["scores"].items():
        iv = (ivs.get("scores") or {}).get(key)
        label = f"score t={key} (penalty {s['penalty']:g})"
        lines.append(f"  {label:<{width}}  {_num(s['score']):>7}  {_iv(iv, pct=False)}")
    if len(doc["relations"]) > 1:
        lines += ["", "  relation                     n  accuracy  halluc.  abstained"]
        for rel, r in doc["relations"].items():
            lines.append(
                f"  {rel[:22]:<22} {r['n']:>7,}  {_pct(r['accuracy']):>8}  "
                f"{_pct(r['hallucination_rate']):>7}  {_pct(r['abstention_rate']):>9}"
            )
    cal = doc.get("calibration")
    if cal:
        lines += [
            "",
            f"  calibration ({cal['rows']:,} answers with a confidence): "
            f"delta {_num(cal['delta'], 4)} (tau {cal['delta_threshold']:g}), "
            f"ECE {_num(cal['ece'], 4)}",
            "  answer only if confidence > t:   answered  accuracy   error   score",
        ]
        for b in cal["behavioral"]:
            lines.append(
                f"    t={b['t']:<5g}                      {b['answered']:>8,}  "
                f"{_pct(b['accuracy']):>8}  {_pct(b['error']):>6}  {_num(b['score']):>6}"
            )
    pf = doc.get("per_fact")
    if pf:
        lines += ["", "  corpus count       n  hallucination rate"]
        for label, b in pf["buckets"].items():
            if b["n"]:
                lines.append(f"    {label:<10} {b['n']:>7,}  {_pct(b['hallucination_rate']):>8}")
    pred = doc.get("predicted")
    if pred:
        lines += ["", "  predicted floor vs observed hallucination rate"]
        for scope, p in pred.items():
            floor = (
                "vacuous" if p["vacuous"] or p["lower_bound"] is None else _pct(p["lower_bound"])
            )
            lines.append(
                f"    {scope[:20]:<20} floor {floor:>8}  observed {_pct(p['observed']):>7}  "
                f"{p['message']}"
            )
    if doc["gates"]:
        lines.append("")
        lines += [f"  {_gate_line(g)}" for g in doc["gates"]]
    return "\n".join(lines) + "\n"


def markdown(doc: dict[str, Any]) -> str:
    """A Markdown summary for CI job summaries ($GITHUB_STEP_SUMMARY)."""
    o = doc["overall"]
    ivs = o.get("intervals") or {}
    verdict = "passed" if doc["passed"] else "FAILED"
    out = [
        f"## hallu-audit outputs: {verdict}",
        "",
        f"{_n(o['n'], 'answer')} graded: {o['correct']:,} correct, {o['incorrect']:,} incorrect, "
        f"{o['abstained']:,} abstained.",
        "",
        "| metric | value | 95% interval |",
        "|---|---:|---|",
    ]
    for key, label in _METRICS:
        out.append(f"| {label} | {_pct(o[key])} | {_iv(ivs.get(key))} |")
    for key, s in o["scores"].items():
        iv = (ivs.get("scores") or {}).get(key)
        out.append(
            f"| score t={key} (penalty {s['penalty']:g}) | {_num(s['score'])} | {_iv(iv, False)} |"
        )
    if doc["gates"]:
        out += ["", "| gate | result | observed | limit |", "|---|---|---:|---:|"]
        for g in doc["gates"]:
            mark = "pass" if g["passed"] else "**FAIL**"
            out.append(f"| {g['name']} | {mark} | {_num(g['observed'], 4)} | {g['threshold']:g} |")
    cal = doc.get("calibration")
    if cal:
        out += [
            "",
            f"Calibration: delta {_num(cal['delta'], 4)}, ECE {_num(cal['ece'], 4)}.",
            "",
            "| answer only if confidence > t | answered | accuracy | error | score |",
            "|---|---:|---:|---:|---:|",
        ]
        for b in cal["behavioral"]:
            out.append(
                f"| {b['t']:g} | {b['answered']:,} | {_pct(b['accuracy'])} | {_pct(b['error'])} "
                f"| {_num(b['score'])} |"
            )
    pf = doc.get("per_fact")
    if pf:
        out += [
            "",
            f"By corpus count ({pf['facts_with_counts']:,} facts with a count):",
            "",
            "| corpus count | answers | accuracy | hallucination rate | abstention rate |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, b in pf["buckets"].items():
            if b["n"]:
                out.append(
                    f"| {label} | {b['n']:,} | {_pct(b['accuracy'])} | "
                    f"{_pct(b['hallucination_rate'])} | {_pct(b['abstention_rate'])} |"
                )
    pred = doc.get("predicted")
    if pred:
        out += ["", "| scope | predicted floor | observed | verdict |", "|---|---:|---:|---|"]
        for scope, p in pred.items():
            floor = (
                "vacuous" if p["vacuous"] or p["lower_bound"] is None else _pct(p["lower_bound"])
            )
            out.append(f"| {scope} | {floor} | {_pct(p['observed'])} | {p['message']} |")
    rows = doc["rows"]
    out += ["", f"Coverage: {_pct(rows.get('coverage'))} of {doc['inputs']['facts']:,} reference facts graded."]
    if rows["bad"]["total"] or doc["missing"]["count"]:
        out.append("")
        skipped, missing = _n(rows["bad"]["total"], "bad row"), _n(doc["missing"]["count"], "fact")
        out.append(f"{skipped} skipped; {missing} without an answer.")
        for reason, t in rows["bad"]["by_reason"].items():
            out.append(f"- skipped, {reason}: {t['count']:,} (e.g. {', '.join(t['examples'][:3])})")
    dropped = rows.get("confidence_dropped") or {}
    if dropped.get("count"):
        out += ["", f"{_n(dropped['count'], 'answer')} graded without their unusable confidence."]
    return "\n".join(out) + "\n"


def junit(doc: dict[str, Any]) -> str:
    """JUnit XML: one test case per gate (a failed gate is a failure with its message)."""
    gates = doc["gates"]
    failures = sum(not g["passed"] for g in gates)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="hallu-audit" tests="{len(gates)}" failures="{failures}">',
        f'  <testsuite name="hallu-audit outputs" tests="{len(gates)}" failures="{failures}" '
        'errors="0" skipped="0">',
        "    <properties>",
    ]
    rows = doc["rows"]
    props: list[tuple[str, Any]] = [("rows_read", rows["read"]), ("rows_graded", rows["graded"])]
    props.append(("coverage", "n/a" if rows.get("coverage") is None else f"{rows['coverage']:.4f}"))
    props += [(f"skipped:{reason}", t["count"]) for reason, t in rows["bad"]["by_reason"].items()]
    props.append(("confidence_dropped", (rows.get("confidence_dropped") or {}).get("count", 0)))
    out += [f"      <property name={quoteattr(k)} value={quoteattr(str(v))}/>" for k, v in props]
    out.append("    </properties>")
    for g in gates:
        name = quoteattr(g["name"])
        if g["passed"]:
            out.append(f'    <testcase classname="hallu-audit.outputs" name={name}/>')
        else:
            out += [
                f'    <testcase classname="hallu-audit.outputs" name={name}>',
                f"      <failure message={quoteattr(g['message'])}/>",
                "    </testcase>",
            ]
    out += ["  </testsuite>", "</testsuites>"]
    return "\n".join(out) + "\n"


def failed_gate_lines(doc: dict[str, Any]) -> list[str]:
    """One line per failed gate, for stderr."""
    return [f"gate failed: {g['name']}: {g['message']}" for g in doc["gates"] if not g["passed"]]
