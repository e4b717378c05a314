"""The HTML report of the bundled fixtures, and a headless Chromium to look at it.

``build_demo(folder)`` runs the real CLI on the fixtures: ``corpus`` (the WordNet sample against
the capitals table, with per-fact counts), ``predict``, and ``outputs`` twice (the hand-written
answers, and the same answers abstaining below confidence 0.5), then ``report``.
``render(html, png)`` opens a page in Chromium through Playwright and reports what it saw.

    python3 -m tests.report_demo docs/report.png     # the README's screenshot (just report-screenshot)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from audit.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
#: Flags for a headless Chromium that reaches nothing outside the page (the profile is fresh).
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def _run(*args: object) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    if result.exit_code != 0:
        raise RuntimeError(f"hallu-audit {' '.join(map(str, args))}: exit {result.exit_code}: {result.stderr}")


@contextmanager
def _cwd(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


DEMO_FIXTURES = ("corpus/sample.jsonl", "refs/capitals.jsonl", "outputs/sample_answers.jsonl",
                 "outputs/cautious_answers.jsonl")  # fmt: skip


def build_demo(folder: Path) -> dict[str, Path]:
    """The demo's JSON inputs and its report.html in ``folder``. The fixtures are copied there
    and every command runs inside it with relative paths, so the page names its inputs as a
    user would ("fixtures/outputs/sample_answers.jsonl"), wherever the folder is."""
    for name in DEMO_FIXTURES:
        (folder / "fixtures" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / name, folder / "fixtures" / name)
    refs = "fixtures/refs/capitals.jsonl"
    names = ("corpus.json", "counts.jsonl", "prediction.json", "model.json", "cautious.json", "report.html")
    with _cwd(folder):
        _run("corpus", "fixtures/corpus/sample.jsonl", "-f", refs, "--per-fact", "counts.jsonl",
             "-o", "corpus.json", "-q", "-j", "1")  # fmt: skip
        _run("predict", "corpus.json", "-o", "prediction.json", "-q")
        for answers, graded in (("sample_answers.jsonl", "model.json"), ("cautious_answers.jsonl", "cautious.json")):
            _run("outputs", f"fixtures/outputs/{answers}", "-r", refs, "--per-fact", "counts.jsonl",
                 "--predicted", "prediction.json", "-o", graded, "-q")  # fmt: skip
        _run("report", "corpus.json", "prediction.json", "model.json", "cautious.json",
             "-o", "report.html", "--title", "hallu-audit report: bundled fixtures", "-q")  # fmt: skip
    return {name: (folder / name).resolve() for name in names}


def chromium() -> str | None:
    """The Chromium executable: $HALLU_AUDIT_CHROMIUM, else chromium on the PATH."""
    env = os.environ.get("HALLU_AUDIT_CHROMIUM")
    if env:
        return env
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Rendered:
    """What the browser saw: console errors, requests, and per chart the marks it drew."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    rendered: str | None = None
    charts: dict[str, dict[str, int]] = field(default_factory=dict)


def render(page_path: Path, png: Path, width: int = 1280) -> Rendered:
    """Open ``page_path`` in headless Chromium, wait until every chart is drawn, count the marks
    in each, save a full-page screenshot to ``png``."""
    from playwright.sync_api import sync_playwright

    exe = chromium()
    if exe is None:
        raise RuntimeError("no Chromium found (apt-get install chromium)")
    out = Rendered()
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=exe, headless=True, args=list(CHROMIUM_FLAGS),
            viewport={"width": width, "height": 900}, device_scale_factor=1,
        )  # fmt: skip
        try:
            page = ctx.new_page()
            page.on("console", lambda m: out.errors.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: out.errors.append(f"page error: {e}"))
            page.on("request", lambda r: out.requests.append(r.url))
            page.goto(page_path.resolve().as_uri())
            page.wait_for_selector("body[data-rendered]", timeout=60_000)
            out.rendered = page.get_attribute("body", "data-rendered")
            for el in page.query_selector_all(".chart"):
                out.charts[el.get_attribute("id") or "?"] = {
                    "expected": int(el.get_attribute("data-marks") or -1),
                    "bars": len(el.query_selector_all(".barlayer .point")),
                    "points": len(el.query_selector_all(".scatterlayer .point")),
                    "plots": len(el.query_selector_all(".main-svg")),
                }
            png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(png), full_page=True)
        finally:
            ctx.close()
    return out


def main(argv: list[str]) -> int:
    png = Path(argv[0] if argv else "docs/report.png")
    with tempfile.TemporaryDirectory() as tmp:
        paths = build_demo(Path(tmp))
        seen = render(paths["report.html"], png)
    drawn = sum(c["bars"] + c["points"] for c in seen.charts.values())
    print(f"{png}: {len(seen.charts)} charts, {drawn} marks, console errors {len(seen.errors)}", file=sys.stderr)
    return 1 if seen.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
