# hallu-audit tasks. Each recipe is a plain command that also works without `just`.

# Install with test extras and run the whole test suite (what CI runs).
test:
    python3 -m pip install -q -e ".[test]" && python3 -m pytest

# ruff (lint + import order) and mypy over the library.
lint:
    ruff check audit tests bench
    mypy audit

# Benchmarks: throughput and peak memory beside a same-run baseline (ratios, not timings).
bench:
    python3 bench/corpus_bench.py
    python3 bench/outputs_bench.py
    python3 bench/scale_bench.py
    python3 bench/patterns_bench.py

# The main job on the bundled sample.
demo:
    hallu-audit corpus fixtures/corpus/sample.jsonl --facts fixtures/refs/capitals.jsonl

# The README's screenshot of the HTML report made from the bundled fixtures (needs Chromium).
report-screenshot:
    python3 -m tests.report_demo docs/report.png

# Regenerate the shell completion scripts (a test fails when they are stale).
completions:
    for s in bash zsh fish; do _HALLU_AUDIT_COMPLETE=source_$s python3 -m audit.cli > completions/hallu-audit.$s; done
