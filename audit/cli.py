"""The ``hallu-audit`` command line: parse, call one library function, render.

This is the only module that knows about typer, stdout/stderr and exit codes. Library errors
(``audit.errors.AuditError``) become a one-line message on stderr and their exit code:
0 ok, 1 a CI gate failed, 2 usage error, 3 bad input or data, 4 a worker process died.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
import typer.core

import audit
from audit.bounds import PLAUSIBLE_ANSWERS
from audit.errors import AuditError, ExitCode, InputError, OptionError, Terminated

if TYPE_CHECKING:
    from audit.parallel import PartialFile
    from audit.report import CorpusReport


class _Commands(typer.core.TyperGroup):
    """Lists the commands in the order of the workflow, not of the source file."""

    ORDER = ("corpus", "refs", "predict", "outputs", "report", "merge", "simulate")

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: self.ORDER.index(n) if n in self.ORDER else len(self.ORDER))


app = typer.Typer(
    name="hallu-audit",
    cls=_Commands,
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

T = TypeVar("T")
COUNT_CHOICES = ("raw", "distinct")
DEDUP_CHOICES = ("off", "exact", "minhash")
SCOPE_CHOICES = ("sentence", "window", "doc")
FORMAT_CHOICES = ("auto", "jsonl", "parquet", "text")


def _offer(*values: str) -> Any:
    """Shell completion of an option's values: those that start with what was typed."""

    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return complete


def _offer_packs(incomplete: str) -> list[str]:
    """-p completes the built-in pattern packs (a regex can be typed instead)."""
    from audit.patterns import PACKS

    return [name for name in PACKS if name.startswith(incomplete)]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hallu-audit {audit.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Audit language-model hallucination: from the singleton rate of a training corpus to
    predicted error bounds and graded model answers (Kalai, Nachum, Vempala, Zhang 2025).

    \b
    Examples:
      hallu-audit corpus data/ -f refs.jsonl --per-fact counts.jsonl -o report.json
      hallu-audit predict report.json --answers 365 -o prediction.json
      hallu-audit outputs answers.jsonl -r refs.jsonl --predicted prediction.json --max-hallucination 0.2

    Exit codes: 0 ok, 1 a CI gate failed, 2 usage error, 3 bad input or data, 4 a worker
    process died (killed, or out of memory; nothing written).
    """


def fail(message: str, code: ExitCode = ExitCode.BAD_INPUT) -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    typer.echo(f"hallu-audit: error: {message}", err=True)
    raise typer.Exit(int(code))


def warn(lines: Iterable[str]) -> None:
    """Each line on stderr as a warning (talk, never data)."""
    for line in lines:
        typer.echo(f"hallu-audit: warning: {line}", err=True)


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def errors_to_exit_codes():
    """Turn the library's expected failures into one-line messages and documented exit codes.
    SIGTERM unwinds like Ctrl-C (every output's temporary file is removed), then ends the process
    by the same signal, as a run without this handler would end."""
    import signal
    import threading

    handle = threading.current_thread() is threading.main_thread() \
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # fmt: skip
    if handle:
        signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    except Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise typer.Exit(143) from None  # pragma: no cover - the signal ends the process
    except OptionError as exc:
        raise typer.BadParameter(exc.reason, param_hint=f"'{exc.option}'") from None
    except AuditError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("hallu-audit: interrupted", err=True)
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # `hallu-audit ... | head`: the reader left; that is not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None
    finally:
        if handle and signal.getsignal(signal.SIGTERM) is _terminated:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def interactive() -> bool:
    return sys.stderr.isatty()


def emit(data: bytes, output: str | None, what: str = "output") -> None:
    """Machine-readable results: to ``-o FILE`` (``audit.io.writing``: atomic for a regular file,
    in place for a device or FIFO), else (or for ``-``) to stdout."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    from audit.io.writing import write_output

    write_output(output, data, what)


def check_outputs(outputs: dict[str, str | None], inputs: Sequence[str | None]) -> None:
    """Before any work: every output's folder exists and is writable, and no output is an input
    (a usage error, exit 2, naming the option)."""
    from audit.io.writing import check_outputs as check

    with errors_to_exit_codes():
        check(outputs, [p for p in inputs if p is not None and p != "-"])


@contextmanager
def progress_bar(total: int | None, quiet: bool, unit: str = "B", records: bool = True):
    """A tqdm bar on stderr when stderr is a terminal, with the count of calls ("records")
    beside it when ``records``. Yields an ``update(n)`` callback, or None when there is no bar.
    """
    if quiet or not interactive():
        yield None
        return
    from tqdm import tqdm

    # decimal units (1 MB = 10^6 bytes) and the unit on the counts, as in the summaries: 2.33MB
    bar_format = None
    if unit == "B" and total is not None:
        bar_format = "{l_bar}{bar}| {n_fmt}B/{total_fmt}B [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
    with tqdm(total=total, unit=unit, unit_scale=True, unit_divisor=1000, file=sys.stderr,
              dynamic_ncols=True, smoothing=0.1, desc="reading", bar_format=bar_format) as bar:
        if not records:
            yield bar.update
            return
        calls = 0

        def update(n: int) -> None:
            nonlocal calls
            calls += 1
            bar.update(n)
            if calls % 4096 == 0:
                bar.set_postfix_str(f"{calls:,} records", refresh=False)

        yield update
        bar.set_postfix_str(f"{calls:,} records")


def _finite(value: float | None) -> float | None:
    """A float option's value must be a number: NaN passes every min/max comparison."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, got {value}")
    return value


def _parse_confidence(value: float) -> float:
    if not 0 < value < 1:
        raise typer.BadParameter("must be between 0 and 1 (exclusive), e.g. 0.99")
    return value


# -- corpus ------------------------------------------------------------------------------------
@app.command(no_args_is_help=True)
def corpus(
    inputs: Annotated[list[str], typer.Argument(help="Files, directories (recursive) or - for stdin.", show_default=False, metavar="INPUT")],
    facts: Annotated[str | None, typer.Option("--facts", "-f", metavar="REFS.jsonl", help="Reference table (JSONL): count these facts.", rich_help_panel="Facts")] = None,
    pattern: Annotated[list[str] | None, typer.Option("--pattern", "-p", metavar="PACK|REGEX", autocompletion=_offer_packs, help="Open extraction: a built-in pack (birth_date, capital, founding_year), NAME=REGEX or REGEX (RE2 syntax: linear time, no lookaround or backreferences) with named groups subject and object. Repeatable.", rich_help_panel="Facts")] = None,
    scope: Annotated[str, typer.Option(metavar="SCOPE", autocompletion=_offer(*SCOPE_CHOICES), help="Where subject and object must co-occur (reference mode): sentence, window or doc.", rich_help_panel="Facts")] = "sentence",
    window: Annotated[int, typer.Option(metavar="N", min=0, help="Words between subject and object for --scope window.", rich_help_panel="Facts")] = 0,
    text_field: Annotated[str, typer.Option("--text-field", metavar="FIELD", help="JSON/Parquet field holding the text (dotted path for nested).", rich_help_panel="Input")] = "text",
    id_field: Annotated[str | None, typer.Option("--id-field", metavar="FIELD", help="Field holding the document id.", rich_help_panel="Input")] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", autocompletion=_offer(*FORMAT_CHOICES), help="auto, jsonl, parquet or text.", rich_help_panel="Input")] = "auto",
    glob: Annotated[list[str] | None, typer.Option("--glob", metavar="GLOB", help="File pattern for directory inputs, e.g. '*.jsonl.zst'. Repeatable.", rich_help_panel="Input")] = None,
    doc_per_file: Annotated[bool, typer.Option("--doc-per-file", help="Plain text: each file is one document (default: each line).", rich_help_panel="Input")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad record (exit 3) instead of counting it.", rich_help_panel="Input")] = False,
    max_record_bytes: Annotated[str, typer.Option("--max-record-bytes", metavar="SIZE", help="A longer record (line, row or --doc-per-file file) is counted bad (too_long) and skipped in bounded memory.", rich_help_panel="Input")] = "64M",
    tokenizer: Annotated[str | None, typer.Option("--tokenizer", metavar="TOKENIZER.json", help="A local tokenizer.json: also report the corpus size in its tokens.", rich_help_panel="Input")] = None,
    confidence: Annotated[float, typer.Option(metavar="P", help="Confidence of the missing-mass interval.", callback=_parse_confidence)] = 0.99,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report to stdout.", rich_help_panel="Output")] = False,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE", help="Write the JSON report to FILE (atomically).", rich_help_panel="Output")] = None,
    per_fact: Annotated[str | None, typer.Option("--per-fact", metavar="FILE", help="Write {id, relation, count} JSONL for every fact to FILE (pattern mode adds objects and conflict).", rich_help_panel="Output")] = None,
    mentions: Annotated[str | None, typer.Option("--mentions", metavar="FILE", help="Write one JSONL row per counted mention to FILE (fact id, subject and object as found, document, sentence span and text), streamed, in input order.", rich_help_panel="Output")] = None,
    conflict_examples: Annotated[int, typer.Option("--conflict-examples", metavar="N", min=0, help="Pattern mode: list up to N conflicting prompts in the report, with their objects and where each was first stated.", rich_help_panel="Output")] = 10,
    timings: Annotated[bool, typer.Option("--timings", help="Add elapsed time and MB/s to the JSON (it is then no longer byte-reproducible).", rich_help_panel="Output")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary on stderr.", rich_help_panel="Output")] = False,
    workers: Annotated[int, typer.Option("--workers", "-j", metavar="N", min=0, max=4096, help="Processes (0 = all cores). Results equal --workers 1.", rich_help_panel="Scale")] = 0,
    max_facts: Annotated[int | None, typer.Option("--max-facts", metavar="K", min=1, max=1 << 40, help="Bounded memory: keep at most K distinct facts, then estimate N1, sr and the histogram from a consistent hash sample (with standard errors).", rich_help_panel="Scale")] = None,
    max_memory: Annotated[str | None, typer.Option("--max-memory", metavar="SIZE", help="Like --max-facts, as memory for the counter, e.g. 2G.", rich_help_panel="Scale")] = None,
    dedup: Annotated[str, typer.Option("--dedup", metavar="MODE", autocompletion=_offer(*DEDUP_CHOICES), help="off, exact (same normalised text) or minhash (near-duplicates): also report counts over distinct sources.", rich_help_panel="Scale")] = "off",
    minhash_perm: Annotated[int, typer.Option("--minhash-perm", metavar="K", min=1, max=4096, help="MinHash signature size.", rich_help_panel="Scale")] = 128,
    minhash_shingle: Annotated[int, typer.Option("--minhash-shingle", metavar="W", min=1, max=64, help="Words per shingle.", rich_help_panel="Scale")] = 5,
    minhash_threshold: Annotated[float, typer.Option("--minhash-threshold", callback=_finite, metavar="J", help="Jaccard similarity above which a document duplicates an earlier one.", rich_help_panel="Scale")] = 0.8,
    sketch_out: Annotated[str | None, typer.Option("--sketch-out", metavar="FILE", help="Also write this run's mergeable partial result, for `hallu-audit merge`.", rich_help_panel="Scale")] = None,
    engine: Annotated[str, typer.Option("--engine", metavar="ENGINE", help="local (processes) or dask (a Dask cluster, with --scheduler).", rich_help_panel="Scale")] = "local",
    scheduler: Annotated[str | None, typer.Option("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.", rich_help_panel="Scale")] = None,
) -> None:
    """Count how often each fact occurs in a training corpus and report its singleton rate.

    The singleton rate sr = N1/N (facts seen exactly once over all fact mentions) is the
    Good-Turing estimate of the missing mass, and the floor under a base model's hallucination
    rate on those facts (Kalai et al. 2025, Theorem 2).

    \b
    Examples:
      hallu-audit corpus fixtures/corpus/sample.jsonl --facts fixtures/refs/capitals.jsonl
      zstdcat shard-*.jsonl.zst | hallu-audit corpus - -f refs.jsonl --json | jq .overall
      hallu-audit corpus data/ --glob '*.parquet' -p birth_date -p capital -o report.json
      hallu-audit corpus wiki.jsonl -f refs.jsonl --per-fact counts.jsonl --quiet
      hallu-audit corpus big/ -f refs.jsonl --max-memory 2G --dedup minhash -o report.json
      hallu-audit corpus shard-07.jsonl -f refs.jsonl --sketch-out part-07.sketch --quiet
    """
    from audit.corpus import make_job
    from audit.parallel import default_workers, run_corpus
    from audit.reading import ReadOptions, discover_inputs, same_content
    from audit.sketch import counter_spec, parse_memory

    if fmt not in FORMAT_CHOICES:
        raise typer.BadParameter(f"unknown format {fmt!r} (auto, jsonl, parquet, text)", param_hint="'--format'")
    if dedup not in DEDUP_CHOICES:
        raise typer.BadParameter(f"unknown mode {dedup!r} (off, exact, minhash)", param_hint="'--dedup'")
    if scope not in SCOPE_CHOICES:
        raise typer.BadParameter(f"unknown scope {scope!r} ({', '.join(SCOPE_CHOICES)})", param_hint="'--scope'")
    if scope == "window" and window < 1:
        raise typer.BadParameter("--scope window needs --window N with N >= 1 (words)", param_hint="'--window'")
    if engine not in ("local", "dask"):
        raise typer.BadParameter(f"unknown engine {engine!r} (local, dask)", param_hint="'--engine'")
    if engine == "dask" and not scheduler:
        raise typer.BadParameter("--engine dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)", param_hint="'--scheduler'")
    if not 0 < minhash_threshold < 1:
        raise typer.BadParameter(f"must be between 0 and 1 (exclusive), got {minhash_threshold}", param_hint="'--minhash-threshold'")
    if facts == "-" and "-" in inputs:
        raise typer.BadParameter("the corpus and the reference table cannot both be read from stdin",
                                 param_hint="'--facts'")
    with errors_to_exit_codes():
        read = ReadOptions(text_field=text_field, id_field=id_field, format=fmt,
                           doc_per_file=doc_per_file, strict=strict,
                           max_record_bytes=parse_memory(max_record_bytes, "--max-record-bytes"))
        scale = {
            "counter": counter_spec(max_facts, max_memory),
            "dedup": dedup,
            "minhash": (minhash_perm, minhash_shingle, minhash_threshold) if dedup == "minhash" else (0, 0, 0.0),
        }
        job = make_job(facts_path=facts, patterns=pattern or (), scope=scope, window=window,
                       read=read, tokenizer_path=tokenizer, **scale)
        found = discover_inputs(inputs, glob)
        sources = found.sources
        warn(found.warnings())
        if not sources:
            fail(found.nothing_found())
        check_outputs({"--output": output, "--per-fact": per_fact, "--sketch-out": sketch_out, "--mentions": mentions},
                      [*(s.path for s in sources), facts, tokenizer])
        copies = same_content(sources, read)
        for group in copies:
            typer.echo(f"hallu-audit: warning: these inputs hold the same content and are all counted: "
                       f"{', '.join(group)}", err=True)
        sizes = [s.size for s in sources]
        total = None if None in sizes else sum(s or 0 for s in sizes)
        started = time.perf_counter()
        # in-process reads call progress once a record; parallel runs once a task
        with progress_bar(total, quiet, records=workers == 1 and engine == "local") as update:
            result = run_corpus(job, sources, workers=workers or default_workers(), engine=engine,
                                scheduler=scheduler, progress=update, mentions_path=mentions,
                                allow_empty=sketch_out is not None)
        elapsed = time.perf_counter() - started
        report = result.report(confidence, elapsed if timings else None, conflict_examples)
        report.extra_inputs.update(found.report_fields())
        warn(report.warnings())
        if copies:
            report.extra_inputs["duplicate_content"] = copies
        _deliver(result, report, per_fact=per_fact, sketch_out=sketch_out, output=output,
                 as_json=as_json, quiet=quiet, elapsed=elapsed)


def _deliver(
    result: PartialFile,
    report: CorpusReport,
    *,
    per_fact: str | None,
    sketch_out: str | None,
    output: str | None,
    as_json: bool,
    quiet: bool,
    elapsed: float | None = None,
) -> None:
    """Write what `corpus` and `merge` were asked for: files, JSON on stdout, summary on stderr.

    Every file is attempted even when an earlier one fails; the failures are raised together at
    the end, after stdout and the summary."""
    from audit.io.writing import write_outputs
    from audit.report import per_fact_rows, render_summary

    failure: AuditError | None = None
    try:
        write_outputs([
            ("per-fact counts", per_fact, lambda: per_fact_rows(result.partial, result.config)),
            ("sketch", sketch_out, result.to_bytes),
            ("report", output, report.to_json),
        ])
    except AuditError as exc:
        failure = exc
    if as_json:
        emit(report.to_json(), None)
    if not quiet:  # as for every command: the summary is talk, on stderr unless --quiet
        report.elapsed_s = elapsed
        typer.echo(render_summary(report), err=True)
    if failure is not None:
        raise failure


# -- merge -------------------------------------------------------------------------------------
@app.command(no_args_is_help=True)
def merge(
    parts: Annotated[list[str], typer.Argument(metavar="PART.sketch", help="Partial results written by corpus --sketch-out, in input order.", show_default=False)],
    confidence: Annotated[float, typer.Option(metavar="P", help="Confidence of the missing-mass interval.", callback=_parse_confidence)] = 0.99,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report to stdout.", rich_help_panel="Output")] = False,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE", help="Write the JSON report to FILE (atomically).", rich_help_panel="Output")] = None,
    per_fact: Annotated[str | None, typer.Option("--per-fact", metavar="FILE", help="Write {id, relation, count} JSONL for every fact to FILE (pattern mode adds objects and conflict).", rich_help_panel="Output")] = None,
    conflict_examples: Annotated[int, typer.Option("--conflict-examples", metavar="N", min=0, help="Pattern mode: list up to N conflicting prompts in the report, with their objects and where each was first stated.", rich_help_panel="Output")] = 10,
    sketch_out: Annotated[str | None, typer.Option("--sketch-out", metavar="FILE", help="Also write the merged partial result (to merge again later).", rich_help_panel="Output")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.", rich_help_panel="Output")] = False,
) -> None:
    """Merge the partial results of corpus shards into one corpus report.

    Each shard runs `hallu-audit corpus SHARD --sketch-out part-K.sketch` with the same options,
    anywhere (a job array, a Dask or Ray task, a cron job); merging gives the report that one
    run over all shards would give. Parts made with different options are refused (exit 3).

    \b
    Examples:
      hallu-audit merge part-*.sketch -o report.json
      hallu-audit merge part-*.sketch --json | hallu-audit predict -
    """
    from audit.parallel import read_partial_files

    check_outputs({"--output": output, "--per-fact": per_fact, "--sketch-out": sketch_out}, list(parts))
    with errors_to_exit_codes():
        merged = read_partial_files(parts)
        report = merged.report(confidence, conflict_examples=conflict_examples)
        _deliver(merged, report, per_fact=per_fact, sketch_out=sketch_out, output=output,
                 as_json=as_json, quiet=quiet)


# -- refs --------------------------------------------------------------------------------------
@app.command(no_args_is_help=True)
def refs(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="CSV, TSV, Parquet or JSONL file, or a pattern-mode per-fact file (corpus -p ... --per-fact).", show_default=False)],
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE", help="Write the table to FILE (atomically); default stdout.")] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", metavar="FIELD=COLUMN", autocompletion=_offer(*(f"{f}=" for f in ("id", "subject", "relation", "object", "aliases", "subject_aliases", "question", "answer_type"))), help="Fill FIELD (id, subject, relation, object, aliases, subject_aliases, question, answer_type) from COLUMN (dotted for nested). Repeatable.")] = None,
    relation: Annotated[str | None, typer.Option("--relation", metavar="NAME", help="The relation of every row, for sources without one.")] = None,
    layout: Annotated[str, typer.Option("--layout", metavar="LAYOUT", autocompletion=_offer("auto", "popqa", "simpleqa", "table", "per-fact", "map"), help="auto (from the column names), popqa, simpleqa, table, per-fact or map.")] = "auto",
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", autocompletion=_offer("auto", "csv", "tsv", "parquet", "jsonl"), help="auto (from the extension), csv, tsv, parquet or jsonl.")] = "auto",
    conflicts: Annotated[str, typer.Option("--conflicts", metavar="flag|drop", autocompletion=_offer("flag", "drop"), help="Per-fact sources: keep a prompt whose objects disagree with its majority object, flagged (conflict: true), or drop it.")] = "flag",
    list_sep: Annotated[str | None, typer.Option("--list-sep", metavar="SEP", help="Split alias columns that are not JSON lists on SEP, e.g. '|' or ';' (default: one alias per cell).")] = None,
    drop_invalid: Annotated[bool, typer.Option("--drop-invalid", help="Leave out rows that fail validation (counted on stderr) instead of stopping at the first (exit 3).")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Treat the warnings (a subject equal to or inside its object: sound to grade, unsound to count in a corpus) as errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
) -> None:
    """Build a reference table (the JSONL that corpus --facts and outputs --refs read) from a
    fact set or from the facts a pattern-mode corpus run found.

    SimpleQA (problem, answer, metadata) and PopQA (subj, prop, obj, s_aliases, o_aliases,
    possible_answers, question) are recognised by their column names; other files need --map.
    From a per-fact file the majority object of each prompt becomes its reference. Every row is
    checked (duplicate ids, empty fields, subject equal to or inside its object, names that
    normalise to nothing); the table is sorted by id and byte-reproducible.

    \b
    Examples:
      hallu-audit refs popqa.tsv -o refs.jsonl
      hallu-audit refs simple_qa_test_set.csv -o simpleqa.jsonl
      hallu-audit refs kb.parquet --map subject=country --map object=capital --relation capital -o refs.jsonl
      hallu-audit corpus wiki/ -p capital --per-fact found.jsonl -q
      hallu-audit refs found.jsonl --conflicts drop -o refs.jsonl
    """
    from audit.refs import RefsOptions, build_refs, parse_map

    with errors_to_exit_codes():
        options = RefsOptions(format=fmt, layout=layout, mapping=parse_map(mapping or []), relation=relation,
                              conflicts=conflicts, drop_invalid=drop_invalid, strict=strict,
                              list_sep=list_sep or None)  # fmt: skip
        result = build_refs(source, options)
        emit(result.to_jsonl(), output)
        if not quiet:
            parts = [f"refs: {len(result.rows):,} facts from {result.read:,} rows of {source} (layout {result.layout})"]
            if result.conflicts:
                verb = "dropped" if conflicts == "drop" else "flagged"
                parts.append(f"{result.conflicts:,} conflicting prompts {verb}")
            invalid = {k: v for k, v in result.dropped.items() if k != "conflict"}
            if invalid:
                parts.append("left out " + ", ".join(f"{k} {v:,}" for k, v in sorted(invalid.items()))
                             + f"; first: {result.first_problem}")  # fmt: skip
            if result.warnings:
                parts.append(f"{len(result.warnings):,} kept with a warning")
            typer.echo("; ".join(parts), err=True)
            warn(result.warnings[:5])
            if len(result.warnings) > 5:
                typer.echo(f"hallu-audit: warning: ... and {len(result.warnings) - 5:,} more", err=True)


# -- predict -----------------------------------------------------------------------------------
def _read_input(path: str) -> bytes:
    """The bytes of ``path``, or of stdin for ``-``."""
    if path == "-":
        return sys.stdin.buffer.read()
    from audit.predict import read_bytes

    return read_bytes(path)


@app.command(no_args_is_help=True)
def predict(
    report: Annotated[str, typer.Argument(metavar="REPORT.json", help="A corpus report (hallu-audit corpus --json), or - for stdin.", show_default=False)],
    answers: Annotated[list[str] | None, typer.Option("--answers", "-a", metavar="N|RELATION=N", help=f"Plausible answers per prompt, for every relation or one. Repeatable. {PLAUSIBLE_ANSWERS} Default: the distinct objects of the reference table (or seen, in pattern mode), flagged as an estimate.")] = None,
    counts: Annotated[str | None, typer.Option("--counts", metavar="raw|distinct", autocompletion=_offer(*COUNT_CHOICES), help="Counts over every mention (raw) or over distinct sources (a report made with --dedup). Default: distinct when the report has them.", show_default=False)] = None,
    calibration: Annotated[float | None, typer.Option("--calibration", callback=_finite, metavar="DELTA", help="The model's calibration gap delta (0 = calibrated). Default 0.")] = None,
    calibration_from: Annotated[str | None, typer.Option("--calibration-from", metavar="OUTPUTS.json", help="Take delta from an outputs report (hallu-audit outputs --json).")] = None,
    confidence: Annotated[float | None, typer.Option(metavar="P", help="Confidence 1 - gamma of the bounds. Default: the report's.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the prediction JSON to stdout.", rich_help_panel="Output")] = False,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE", help="Write the prediction JSON to FILE (atomically).", rich_help_panel="Output")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table on stderr.", rich_help_panel="Output")] = False,
) -> None:
    """Predict a base model's hallucination rate from a corpus report (Theorem 2).

    For every relation and overall: N (fact mentions, the paper's training examples), N1 (facts
    mentioned once), the singleton rate sr = N1/N; the lower bound
    sr - 2/min|E_c| - 6 ln(3N/gamma)/sqrt(N) - delta on any base model's hallucination rate at
    confidence 1 - gamma, or "vacuous" with the N at which it would turn positive; the upper
    bound, the rate a calibrated memoriser reaches (answer what was seen, guess otherwise: not a
    ceiling on any model); and the Good-Turing interval for the missing mass. Overall, the
    lower bound uses the relation with the fewest plausible answers, the upper bound the most.
    Counts a bounded-memory sketch estimated are shown with their standard errors.

    \b
    Examples:
      hallu-audit corpus wiki.jsonl -f refs.jsonl -o report.json
      hallu-audit predict report.json --answers birth_date=73048
      hallu-audit corpus wiki.jsonl -f refs.jsonl --json | hallu-audit predict - --json
      hallu-audit predict report.json -a 365 --calibration-from graded.json -o prediction.json
    """
    from audit.predict import (
        calibration_from_outputs,
        parse_answers,
        parse_corpus_report,
        render_table,
    )
    from audit.predict import (
        predict as run_predict,
    )

    if calibration is not None and calibration_from is not None:
        raise typer.BadParameter("give --calibration or --calibration-from, not both", param_hint="'--calibration'")
    if calibration is not None and not 0 <= calibration <= 1:
        raise typer.BadParameter("must be between 0 and 1, e.g. 0.02", param_hint="'--calibration'")
    if confidence is not None and not 0 < confidence < 1:
        raise typer.BadParameter("must be between 0 and 1 (exclusive), e.g. 0.99", param_hint="'--confidence'")
    if counts is not None and counts not in COUNT_CHOICES:
        raise typer.BadParameter(f"unknown counts {counts!r} (raw, distinct)", param_hint="'--counts'")
    check_outputs({"--output": output}, [report, calibration_from])
    with errors_to_exit_codes():
        default, per = parse_answers(answers or [])
        delta = calibration or 0.0
        if calibration_from is not None:
            delta = calibration_from_outputs(_read_input(calibration_from), calibration_from)
        source = "<stdin>" if report == "-" else report
        parsed = parse_corpus_report(_read_input(report), source, counts)
        prediction = run_predict(
            parsed, answers=default, answers_per_relation=per, delta=delta, confidence=confidence
        )
        data = prediction.to_json()
        if output:
            emit(data, output)
        if as_json:
            emit(data, None)
        if not quiet:
            typer.echo(render_table(prediction), err=True, nl=False)


# -- simulate ----------------------------------------------------------------------------------
@app.command(no_args_is_help=True)
def simulate(
    out_dir: Annotated[str, typer.Argument(metavar="OUT_DIR", help="Folder for corpus.jsonl, refs.jsonl, eval.jsonl and truth.json (created if needed).", show_default=False)],
    mentions: Annotated[int, typer.Option("--mentions", "-n", metavar="N", help="Birth-date mentions in the corpus (the paper's N).")] = 10_000,
    population: Annotated[int, typer.Option(metavar="F", help="People who could be mentioned; 0 means 4 N.")] = 0,
    distribution: Annotated[str, typer.Option(metavar="zipf|pareto", help="Prompt distribution: zipf (p_i ~ i^-shape) or pareto (i.i.d. Pareto(shape) weights).")] = "zipf",
    shape: Annotated[float, typer.Option(callback=_finite, metavar="S", help="Shape of the distribution; larger zipf shapes and smaller pareto shapes lower sr.")] = 1.0,
    target_sr: Annotated[float | None, typer.Option("--target-sr", callback=_finite, metavar="SR", help="Choose the shape whose expected singleton rate is SR (overrides --shape).")] = None,
    seed: Annotated[int, typer.Option(metavar="SEED", min=0, help="Everything written depends only on the options and this seed.")] = 1,
    formats: Annotated[str, typer.Option(metavar="LIST", help="Date formats in the text, comma-separated: dmy (14 March 1879), mdy (March 14, 1879), iso (1879-03-14).")] = "dmy,mdy",
    filler: Annotated[float, typer.Option(callback=_finite, metavar="RATE", help="Filler sentences per mention, on average.")] = 0.5,
    per_doc: Annotated[int, typer.Option("--per-doc", metavar="K", help="At most K mentions per document.")] = 3,
    eval_prompts: Annotated[int, typer.Option("--eval-prompts", metavar="M", help="Fresh draws from the prompt distribution to evaluate a model on.")] = 1000,
    years: Annotated[str, typer.Option(metavar="FIRST-LAST", help="Birth years; the plausible answers are the days in this range.")] = "1800-1999",
    compress: Annotated[str, typer.Option(metavar="gz|zst", help="Compress the corpus.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the truth JSON to stdout.", rich_help_panel="Output")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary on stderr.", rich_help_panel="Output")] = False,
) -> None:
    """Write a synthetic biography corpus whose singleton rate is known exactly.

    Invented people with random birth dates are mentioned N times, drawn i.i.d. from a zipf or
    pareto prompt distribution, in several paraphrase templates among filler sentences. Beside
    the corpus: refs.jsonl (a reference table for `corpus --facts`, which then counts exactly the
    mentions written), eval.jsonl (fresh prompts from the same distribution, to ask a model) and
    truth.json (N, N1, sr, the exact missing mass). Seeded and deterministic; streams to disk.

    \b
    Examples:
      hallu-audit simulate sim/ --mentions 100000 --target-sr 0.2
      hallu-audit corpus sim/corpus.jsonl -f sim/refs.jsonl -o sim/report.json
      hallu-audit predict sim/report.json --answers birth_date=73048
      hallu-audit simulate big/ -n 10000000 --distribution pareto --shape 1.5 --compress zst
    """
    from dataclasses import replace

    from audit import simulate as sim

    with errors_to_exit_codes():
        first, last = sim.parse_years(years)
        cfg = sim.SimConfig(
            mentions=mentions, population=population, distribution=distribution, shape=shape,
            seed=seed, formats=sim.parse_formats(formats), filler=filler, mentions_per_doc=per_doc,
            eval_prompts=eval_prompts, first_year=first, last_year=last,
        )  # fmt: skip
        cfg.validate()
        if target_sr is not None:
            cfg = replace(cfg, shape=sim.shape_for_singleton_rate(target_sr, cfg))
        with progress_bar(cfg.mentions, quiet, unit="mention", records=False) as update:
            truth, paths = sim.write_simulation(cfg, out_dir, compress, update)
        if as_json:
            emit(truth.to_json(), None)
        if not quiet:
            typer.echo(
                f"simulate: {truth.n:,} mentions of {truth.distinct:,} people in {truth.documents:,} "
                f"documents; sr = {truth.singleton_rate:.4f} (N1 = {truth.n1:,}), exact missing "
                f"mass {truth.missing_mass:.4f}; {cfg.distribution} shape {cfg.shape:g}, seed "
                f"{cfg.seed}; plausible answers {cfg.answers:,} (every day of {cfg.first_year}-"
                f"{cfg.last_year}: the number to pass to predict --answers)\n"
                f"  wrote {paths.corpus}, {paths.facts}, {paths.eval}, {paths.truth}",
                err=True,
            )


# -- outputs -----------------------------------------------------------------------------------
def _parse_targets(value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        targets = tuple(float(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter("a comma-separated list of numbers, e.g. 0.5,0.75,0.9", param_hint="'--targets'") from None
    if not targets or not all(0 <= t < 1 for t in targets):
        raise typer.BadParameter("targets must be in [0, 1), e.g. 0.5,0.75,0.9", param_hint="'--targets'")
    return targets


def _parse_min_scores(values: list[str] | None) -> tuple[tuple[float, float], ...]:
    out = []
    for spec in values or []:
        t, sep, s = spec.partition(":")
        try:
            pair = (float(t), float(s))
        except ValueError:
            pair = (-1.0, 0.0)
        if not sep or not 0 <= pair[0] < 1 or not math.isfinite(pair[1]):
            raise typer.BadParameter(f"expected T:S with T in [0, 1) and a finite S, e.g. 0.75:0.1, got {spec!r}", param_hint="'--min-score'")
        out.append(pair)
    return tuple(out)


@app.command(no_args_is_help=True)
def outputs(
    answers: Annotated[str, typer.Argument(metavar="OUTPUTS.jsonl", help="Model answers, JSONL {id, answer, confidence?}; - for stdin.", show_default=False)],
    refs: Annotated[str, typer.Option("--refs", "-r", metavar="REFS.jsonl", help="Reference table (JSONL) the answers are graded against.", show_default=False)],
    per_fact: Annotated[str | None, typer.Option("--per-fact", metavar="COUNTS.jsonl", help="Per-fact corpus counts (corpus --per-fact): error by count bucket.")] = None,
    predicted: Annotated[str | None, typer.Option("--predicted", metavar="PREDICTION.json", help="A prediction (predict --json): observed rate beside the predicted floor.")] = None,
    id_field: Annotated[str | None, typer.Option("--id-field", metavar="FIELD", help="Field with the fact id. Default: id, fact_id, qid, question_id.", rich_help_panel="Input")] = None,
    answer_field: Annotated[str | None, typer.Option("--answer-field", metavar="FIELD", help="Field with the answer. Default: answer, response, output, prediction, completion.", rich_help_panel="Input")] = None,
    confidence_field: Annotated[str | None, typer.Option("--confidence-field", metavar="FIELD", help="Field with the confidence in [0, 1]. Default: confidence, probability, prob.", rich_help_panel="Input")] = None,
    question_field: Annotated[str | None, typer.Option("--question-field", metavar="FIELD", help="Rows without an id are matched by question text. Default: question, prompt, input.", rich_help_panel="Input")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad row (exit 3) instead of counting it.", rich_help_panel="Input")] = False,
    fuzzy: Annotated[float, typer.Option(callback=_finite, metavar="R", min=0, max=100, help="rapidfuzz ratio (0-100) from which a misspelled name counts as right; 0 disables.", rich_help_panel="Grading")] = 90.0,
    abstain_pattern: Annotated[list[str] | None, typer.Option("--abstain-pattern", metavar="REGEX", help="Extra regex (on the lowercased answer) marking an abstention; it decides before any value the answer holds. Repeatable.", rich_help_panel="Grading")] = None,
    targets: Annotated[str | None, typer.Option("--targets", metavar="T,T,...", help="Confidence targets t for score_t (penalty t/(1-t)). Default: 0.5,0.75,0.9.", rich_help_panel="Metrics")] = None,
    boot: Annotated[int, typer.Option("--bootstrap", metavar="N", min=0, max=1_000_000, help="Bootstrap resamples for the 95% intervals; 0 disables.", rich_help_panel="Metrics")] = 1000,
    seed: Annotated[int, typer.Option(metavar="SEED", min=0, help="Seed of the bootstrap.", rich_help_panel="Metrics")] = 0,
    min_errors: Annotated[float | None, typer.Option("--min-errors", callback=_finite, metavar="E", min=1, help="min |E_c| (plausible answers - 1): calibration.delta counts answers with confidence > 1/E. Default: all.", rich_help_panel="Metrics")] = None,
    max_hallucination: Annotated[float | None, typer.Option("--max-hallucination", callback=_finite, metavar="R", min=0, max=1, help="Gate: fail if the hallucination rate is above R.", rich_help_panel="CI gates")] = None,
    min_accuracy: Annotated[float | None, typer.Option("--min-accuracy", callback=_finite, metavar="A", min=0, max=1, help="Gate: fail if the accuracy is below A.", rich_help_panel="CI gates")] = None,
    min_score: Annotated[list[str] | None, typer.Option("--min-score", metavar="T:S", help="Gate: fail if score_T is below S, e.g. 0.75:0.1. Repeatable.", rich_help_panel="CI gates")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", metavar="PREVIOUS.json", help="A previous outputs --json report to compare with.", rich_help_panel="CI gates")] = None,
    max_regression: Annotated[float | None, typer.Option("--max-regression", callback=_finite, metavar="D", min=0, max=1, help="Gate (needs --baseline): fail if accuracy drops or the hallucination rate rises by more than D.", rich_help_panel="CI gates")] = None,
    min_coverage: Annotated[float | None, typer.Option("--min-coverage", callback=_finite, metavar="C", min=0, max=1, help="Gate: fail if fewer than C of the reference facts have a graded answer.", rich_help_panel="CI gates")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report to stdout.", rich_help_panel="Output")] = False,
    markdown_out: Annotated[str | None, typer.Option("--markdown", metavar="FILE", help="Write a Markdown summary (CI job summaries) to FILE, atomically; - for stdout.", rich_help_panel="Output")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE", help="Write the JSON report to FILE, atomically.", rich_help_panel="Output")] = None,
    junit: Annotated[str | None, typer.Option("--junit", metavar="FILE", help="Write JUnit XML, one test case per gate, to FILE.", rich_help_panel="Output")] = None,
    grades: Annotated[str | None, typer.Option("--grades", metavar="FILE", help="Write one JSONL row per answer: id, line, grade, reason, matched, confidence.", rich_help_panel="Output")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table on stderr (failed gates are still named).", rich_help_panel="Output")] = False,
) -> None:
    """Grade model answers against a reference table: accuracy, hallucination rate, abstention,
    scores at confidence targets, calibration, and CI gates.

    Each answer is correct (the reference or an alias, numbers and dates compared as values,
    misspellings up to --fuzzy), incorrect (another candidate, or the right one beside an
    alternative: "Paris or Lyon"), or abstained (empty, a refusal, or no candidate of the
    expected kind at all), or incorrect as an echo of the subject ("Chad" for the capital of
    Chad). Rows are counted once per fact (a repeated id is a bad row, "duplicate"); an
    unusable confidence is dropped and counted, never the row. Exit 1 when a gate fails (every
    gate fails when no answer was graded), 3 on bad input or when no row could be graded.

    \b
    Examples:
      hallu-audit outputs answers.jsonl --refs refs.jsonl
      hallu-audit outputs answers.jsonl -r refs.jsonl --json -o graded.json --grades grades.jsonl
      hallu-audit outputs answers.jsonl -r refs.jsonl --max-hallucination 0.2 --min-score 0.75:0
      hallu-audit outputs new.jsonl -r refs.jsonl --baseline graded.json --max-regression 0.02 \\
          --json --markdown "$GITHUB_STEP_SUMMARY" --junit gates.xml > graded.json
      hallu-audit outputs answers.jsonl -r refs.jsonl --per-fact counts.jsonl --predicted pred.json
    """
    from audit.facts import load_references
    from audit.grading import GraderConfig
    from audit.io.writing import write_outputs
    from audit.outputs import DEFAULT_TARGETS, Gates, OutputsConfig, audit_outputs
    from audit.render_outputs import failed_gate_lines, markdown, table
    from audit.render_outputs import junit as render_junit

    if as_json and markdown_out == "-":
        raise typer.BadParameter("--json and --markdown - both write to stdout: give one a FILE", param_hint="'--markdown'")
    if max_regression is not None and baseline is None:
        raise typer.BadParameter("needs --baseline PREVIOUS.json", param_hint="'--max-regression'")
    if min_errors is not None and not math.isfinite(min_errors):
        raise typer.BadParameter(f"must be a finite number >= 1, got {min_errors}", param_hint="'--min-errors'")
    gates = Gates(max_hallucination=max_hallucination, min_accuracy=min_accuracy,
                  min_scores=_parse_min_scores(min_score), max_regression=max_regression,
                  min_coverage=min_coverage)
    parsed_targets = _parse_targets(targets) or DEFAULT_TARGETS
    check_outputs({"--output": output, "--markdown": markdown_out, "--junit": junit, "--grades": grades},
                  [answers, refs, per_fact, predicted, baseline])
    with errors_to_exit_codes():
        config = OutputsConfig(
            grader=GraderConfig(fuzzy=fuzzy, abstain_patterns=tuple(abstain_pattern or ())),
            id_field=id_field, answer_field=answer_field, confidence_field=confidence_field,
            question_field=question_field, targets=parsed_targets, bootstrap=boot, seed=seed,
            min_errors=min_errors, strict=strict,
        )
        report = audit_outputs(answers, load_references(refs), config, refs_path=refs,
                               per_fact=per_fact, predicted=predicted, baseline=baseline,
                               gates=gates, grades_path=grades)
        doc = report.data
        warn(report.warnings)
        failure: AuditError | None = None
        empty = report.nothing_graded()
        try:
            write_outputs([] if empty is not None else [
                ("report", output, report.to_json),
                ("Markdown summary", None if markdown_out == "-" else markdown_out, lambda: markdown(doc).encode()),
                ("JUnit XML", junit, lambda: render_junit(doc).encode()),
            ])
        except AuditError as exc:
            failure = exc
        if report.grades_error is not None:  # named with the other outputs that failed, if any
            failure = report.grades_error if failure is None else InputError(f"{report.grades_error}; {failure}")
        if markdown_out == "-":
            emit(markdown(doc).encode(), None)
        if as_json:
            emit(report.to_json(), None)
        if not quiet:
            typer.echo(table(doc), err=True, nl=False)
        for line in failed_gate_lines(doc):
            typer.echo(f"hallu-audit: {line}", err=True)
        if failure is not None:
            raise failure
        if empty is not None:
            raise empty
    if not report.passed:
        raise typer.Exit(int(ExitCode.GATE_FAILED))


# -- report ------------------------------------------------------------------------------------
@app.command(no_args_is_help=True)
def report(
    inputs: Annotated[list[str], typer.Argument(metavar="REPORT.json", help="A corpus report, a prediction and graded reports (outputs --json), in any number and order: told apart by their kind.", show_default=False)],
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE", help="Write the HTML to FILE, atomically (default: stdout, unless it is a terminal).")] = None,
    title: Annotated[str, typer.Option(metavar="TEXT", help="Title of the page.")] = "hallu-audit report",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
) -> None:
    """Draw the JSON reports as one self-contained HTML page that opens offline.

    Per relation and overall: facts by corpus count with N, N1, sr and its Good-Turing interval;
    graded answers by corpus count (with --per-fact) with 95% intervals; the observed
    hallucination rate beside the predicted floor and the calibrated memoriser's rate; the
    reliability diagram and score_t against t (with confidences); several graded reports side by
    side, one colour each; the inputs, config ids and versions. Scripts and styles are inline
    (plotly.js, about 5 MB): no network request.

    \b
    Examples:
      hallu-audit report report.json prediction.json graded.json -o report.html
      hallu-audit report prediction.json model-a.json model-b.json -o compare.html
      hallu-audit report report.json -o corpus.html --title "wiki-2024 corpus"
    """
    from audit.html_report import load_inputs, render_html

    if output is None and sys.stdout.isatty():
        raise typer.BadParameter(
            "the page is about 5 MB of HTML, too much for a terminal: give -o FILE "
            "(or redirect stdout, or -o - to print it anyway)",
            param_hint="'--output'",
        )
    check_outputs({"--output": output}, inputs)
    with errors_to_exit_codes():
        found = load_inputs(inputs)
        warn(found.warnings)
        page = render_html(found, title=title)
        data = page.html.encode()
        emit(data, output)
        if not quiet:
            typer.echo(
                f"report: {page.charts} charts ({page.marks:,} marks), {len(data) / 1e6:.1f} MB"
                + (f", wrote {output}" if output and output != "-" else ""),
                err=True,
            )


def main() -> None:
    """Console-script entry point."""
    app(prog_name="hallu-audit")


if __name__ == "__main__":
    main()
