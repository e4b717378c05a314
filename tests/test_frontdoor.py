"""The front door: README commands, CI script, completions, help and version."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import orjson
import pytest

from audit.cli import app
from tests.conftest import FIXTURES, ROOT

HEAVY = (
    "numpy",
    "pyarrow",
    "tokenizers",
    "datasketch",
    "daachorse",
    "ahocorasick",
    "rapidfuzz",
    "zstandard",
    "tqdm",
    "dask",
    "torch",
    "plotly",
    "playwright",
)


def quickstart() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_has_two_quickstart_commands_and_ci_runs_the_test_one():
    run_cmd, test_cmd = quickstart()
    assert "hallu-audit corpus" in run_cmd and "fixtures/" in run_cmd
    assert "pytest" in test_cmd
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_cmd in ci, "the README's test command and .ci/run have drifted apart"


def test_quickstart_sample_runs(cli):
    run_cmd = quickstart()[0].split("&&", 1)[1]
    args = shlex.split(run_cmd)[1:]
    result = cli(*args, "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = orjson.loads(result.stdout)
    assert report["overall"]["N"] > 0 and 0 < report["overall"]["singleton_rate"] < 1


def test_completions_are_current():
    for shell in ("bash", "zsh", "fish"):
        env = {**os.environ, "_HALLU_AUDIT_COMPLETE": f"source_{shell}"}
        fresh = subprocess.run(
            [sys.executable, "-m", "audit.cli"], env=env, capture_output=True, text=True, check=True
        ).stdout
        committed = (ROOT / "completions" / f"hallu-audit.{shell}").read_text()
        assert fresh == committed, f"completions/hallu-audit.{shell} is stale: run `just completions`"


def test_help_imports_nothing_heavy():
    """--help and completion must answer instantly: slow imports stay inside the commands."""
    code = "import sys, audit.cli; print(','.join(m for m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(",")
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]


def test_version(cli):
    import audit

    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"hallu-audit {audit.__version__}"


def test_every_command_has_help_with_an_example(cli):
    import typer.main

    group = typer.main.get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        result = cli(name, "--help")
        assert result.exit_code == 0, name
        assert "Example" in result.stdout, f"`hallu-audit {name} --help` has no example"


def test_unknown_option_is_a_usage_error(cli):
    result = cli("corpus", "x.jsonl", "--no-such-option")
    assert result.exit_code == 2


@pytest.mark.parametrize("path", sorted(p.name for p in (FIXTURES).iterdir() if p.is_dir()))
def test_fixture_folders_state_their_provenance(path):
    readme = (FIXTURES / "README.md").read_text()
    assert path in readme
