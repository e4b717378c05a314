"""Does the bound hold? From a corpus to a trained model to observed hallucination.

For each of several prompt-distribution shapes (singleton rates from about 0.05 to 0.8) this
script runs the whole chain that ``hallu-audit`` audits, on data whose truth is known:

1. ``hallu-audit simulate``: a synthetic biography corpus of N birth-date mentions drawn i.i.d.
   from a zipf prompt distribution over invented people, plus fresh evaluation prompts from the
   same distribution (library call, the same code as the command);
2. ``hallu-audit corpus`` counts the mentions against the reference table (sentence scope) and
   ``hallu-audit predict`` turns the counts into Theorem 2's lower bound (Kalai et al. 2025) and
   the calibrated memoriser's upper bound, both at 99%, with |E_c| + 1 = the days in the birth
   years (subprocess calls of the real CLI);
3. a small word-level transformer LM is trained from scratch on the corpus text (PyTorch, CPU);
4. the LM is asked every evaluation prompt ("<name> was born on"), greedy-decoded, with its
   confidence = the product of the probabilities of the answer's tokens;
5. ``hallu-audit outputs`` grades the answers (one row per evaluation draw, so rates are
   weighted by the prompt distribution, as the theorem's error is), measures the calibration gap
   delta and the error per corpus-count bucket, and compares with the prediction;
   ``predict --calibration-from`` then gives the bound with the measured delta subtracted;
6. the paper's calibrated memoriser (sec. 3.3: answer what was seen, guess uniformly among the
   plausible answers otherwise) is scored on the same evaluation draws, exactly: its expected
   error is (share of draws never seen in training) x (1 - 1/answers).

Writes ``results.csv``, ``results.md``, ``plot.png`` and ``run.json`` (command, seed, hardware,
timings) to ``--out``. ``--size test`` runs in about a minute on one CPU core and is what
``tests/test_study.py`` runs; ``--size full`` is the committed study.

Needs the ``study`` extra (``pip install -e ".[study]"``: torch, matplotlib). Run from the
repository root::

    python study/run_study.py --size full --out study/results
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from audit import simulate as sim  # noqa: E402

RELATION = sim.RELATION


@dataclass(frozen=True)
class Size:
    """Everything that differs between the test-size and the full run."""

    mentions: int
    targets: tuple[float, ...]  # expected singleton rates of the sweep
    eval_prompts: int
    d_model: int
    layers: int
    heads: int
    seq: int
    batch: int
    epochs: float
    lr: float
    filler: float = 0.2
    first_year: int = 1900
    last_year: int = 1999


SIZES: dict[str, Size] = {
    "test": Size(
        mentions=3000, targets=(0.1, 0.45, 0.8), eval_prompts=400, d_model=64, layers=2,
        heads=4, seq=32, batch=64, epochs=6, lr=3e-3,
    ),
    "full": Size(
        mentions=100_000, targets=(0.05, 0.2, 0.4, 0.6, 0.8), eval_prompts=2000, d_model=64,
        layers=2, heads=4, seq=32, batch=64, epochs=2, lr=3e-3,
    ),
}  # fmt: skip


# -- the CLI, as a user runs it ------------------------------------------------------------------
def hallu(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``hallu-audit ARGS`` (this checkout's) and fail loudly on a non-zero exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "audit.cli", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True)
    if proc.returncode != 0:
        tail = proc.stderr.decode()[-2000:]
        raise RuntimeError(f"hallu-audit {shlex.join(args)} exited {proc.returncode}: {tail}")
    return proc


# -- the language model --------------------------------------------------------------------------
TOKEN_RE = re.compile(r"\w+|[^\w\s]")
SPECIALS = ("<pad>", "<eos>", "<unk>")
STOP = frozenset({".", ",", "in", "<eos>"})


class Vocab:
    """Word-level vocabulary: the specials, then every token of the training text."""

    def __init__(self, counts: Counter[str]) -> None:
        self.itos = [*SPECIALS, *sorted(counts, key=lambda t: (-counts[t], t))]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def encode(self, text: str) -> list[int]:
        unk = self.stoi["<unk>"]
        return [self.stoi.get(t, unk) for t in TOKEN_RE.findall(text)]

    def __len__(self) -> int:
        return len(self.itos)


def build_model(vocab: int, size: Size):  # type: ignore[no-untyped-def]
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self, d: int, h: int) -> None:
            super().__init__()
            self.h = h
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, d = x.shape
            qkv = self.qkv(self.ln1(x)).view(b, t, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
            return x + self.ff(self.ln2(x))

    class LM(nn.Module):
        """A GPT-style decoder with tied input and output embeddings."""

        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(vocab, size.d_model)
            self.pos = nn.Embedding(size.seq, size.d_model)
            self.blocks = nn.ModuleList(Block(size.d_model, size.heads) for _ in range(size.layers))
            self.ln = nn.LayerNorm(size.d_model)
            for p in self.parameters():
                if p.dim() > 1:
                    nn.init.normal_(p, std=0.02)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.emb(x) + self.pos.weight[: x.shape[1]]
            for block in self.blocks:
                h = block(h)
            return self.ln(h) @ self.emb.weight.T

    return LM()


@dataclass
class Training:
    steps: int
    tokens: int
    corpus_tokens: int
    seconds: float
    final_loss: float
    parameters: int
    vocab: int


def train(corpus_path: str, size: Size, seed: int, log: Any) -> tuple[Any, Vocab, Training]:
    """Train the LM on the corpus text: random windows, AdamW, warmup + cosine decay."""
    import torch
    import torch.nn.functional as F

    docs = [orjson.loads(line)["text"] for line in Path(corpus_path).read_bytes().splitlines()]
    vocab = Vocab(Counter(t for d in docs for t in TOKEN_RE.findall(d)))
    eos = vocab.stoi["<eos>"]
    stream: list[int] = []
    for d in docs:
        stream.append(eos)
        stream.extend(vocab.encode(d))
    stream.append(eos)
    data = torch.tensor(stream, dtype=torch.long)
    torch.manual_seed(seed)
    model = build_model(len(vocab), size)
    gen = torch.Generator().manual_seed(seed)
    steps = max(1, math.ceil(size.epochs * len(data) / (size.batch * size.seq)))
    warmup = max(1, steps // 20)
    opt = torch.optim.AdamW(model.parameters(), lr=size.lr, betas=(0.9, 0.98), weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / warmup) * (0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))) * 0.95 + 0.05),
    )
    offsets = torch.arange(size.seq + 1)
    started = time.perf_counter()
    ema = None
    model.train()
    for step in range(steps):
        starts = torch.randint(0, len(data) - size.seq - 1, (size.batch,), generator=gen)
        window = data[starts[:, None] + offsets]
        logits = model(window[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), window[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if (step + 1) % max(1, steps // 5) == 0 or step + 1 == steps:
            log(f"    step {step + 1}/{steps}  loss {ema:.3f}  {time.perf_counter() - started:.0f}s")
    model.eval()
    return (
        model,
        vocab,
        Training(
            steps=steps,
            tokens=steps * size.batch * size.seq,
            corpus_tokens=len(data),
            seconds=time.perf_counter() - started,
            final_loss=float(ema or 0.0),
            parameters=sum(p.numel() for p in model.parameters()),
            vocab=len(vocab),
        ),
    )


def answer(model: Any, vocab: Vocab, prompts: list[str], max_new: int = 6) -> list[tuple[str, float]]:
    """Greedy answers and their confidences (product of the answer tokens' probabilities)."""
    import torch

    eos = vocab.stoi["<eos>"]
    out: list[tuple[str, float]] = [("", 0.0)] * len(prompts)
    by_len: dict[int, list[int]] = {}
    encoded = [[eos, *vocab.encode(p)] for p in prompts]
    for i, e in enumerate(encoded):
        by_len.setdefault(len(e), []).append(i)
    with torch.no_grad():
        for _, idx in sorted(by_len.items()):
            for lo in range(0, len(idx), 512):
                batch = idx[lo : lo + 512]
                x = torch.tensor([encoded[i] for i in batch], dtype=torch.long)
                tokens: list[list[str]] = [[] for _ in batch]
                conf = [1.0] * len(batch)
                done = [False] * len(batch)
                for _ in range(max_new):
                    probs = torch.softmax(model(x[:, -model.pos.num_embeddings :])[:, -1], dim=-1)
                    p, nxt = probs.max(dim=-1)
                    for j, (tok, pj) in enumerate(zip(nxt.tolist(), p.tolist(), strict=True)):
                        word = vocab.itos[tok]
                        if done[j] or word in STOP:
                            done[j] = True
                            continue
                        tokens[j].append(word)
                        conf[j] *= pj
                    if all(done):
                        break
                    x = torch.cat([x, nxt[:, None]], dim=1)
                for j, i in enumerate(batch):
                    text = " ".join(tokens[j])
                    out[i] = (text, conf[j] if tokens[j] else 0.0)
    return out


# -- one point of the sweep ----------------------------------------------------------------------
@dataclass
class Row:
    """One line of results.csv."""

    target_sr: float
    shape: float
    N: int
    N1: int
    sr: float
    missing_mass: float
    eval_draws: int
    eval_unseen: float
    lower_bound: float | None
    vacuous: bool
    n_needed: float | None
    lower_bound_delta: float | None
    upper_bound: float | None
    lm_hallucination: float
    lm_low: float | None
    lm_high: float | None
    lm_accuracy: float
    lm_abstention: float
    delta: float | None
    ece: float | None
    memoriser_error: float
    verdict: str
    train_steps: int
    train_epochs: float
    train_seconds: float
    final_loss: float
    buckets: dict[str, Any] = field(default_factory=dict)


def run_point(target: float, size: Size, seed: int, work: Path, log: Any) -> Row:
    base = sim.SimConfig(
        mentions=size.mentions,
        population=6 * size.mentions,  # sr up to ~0.84 (4 N reaches only ~0.78)
        shape=1.0,
        seed=seed,
        formats=("dmy",),
        filler=size.filler,
        eval_prompts=size.eval_prompts,
        first_year=size.first_year,
        last_year=size.last_year,
    )
    cfg = replace(base, shape=sim.shape_for_singleton_rate(target, base))
    d = work / f"sr-{target:.2f}"
    truth, paths = sim.write_simulation(cfg, str(d))
    log(f"  simulate: shape {cfg.shape:g}, N {truth.n:,}, sr {truth.singleton_rate:.4f}")
    answers = cfg.answers
    report, counts = d / "report.json", d / "counts.jsonl"
    hallu(
        "corpus",
        paths.corpus,
        "-f",
        paths.facts,
        "-o",
        str(report),
        "--per-fact",
        str(counts),
        "-q",
    )
    counted = orjson.loads(report.read_bytes())["overall"]
    if (counted["N"], counted["N1"]) != (truth.n, truth.n1):
        raise RuntimeError(f"corpus counted N={counted['N']}, N1={counted['N1']}; truth {truth.n}, {truth.n1}")
    pred0 = d / "prediction.json"
    hallu("predict", str(report), "--answers", f"{RELATION}={answers}", "-o", str(pred0), "-q")

    model, vocab, tr = train(paths.corpus, size, seed, log)
    evals = [orjson.loads(line) for line in Path(paths.eval).read_bytes().splitlines()]
    replies = answer(model, vocab, [e["prompt"] for e in evals])
    rows = io.BytesIO()
    for e, (text, conf) in zip(evals, replies, strict=True):
        line = orjson.dumps({"id": e["id"], "answer": text, "confidence": conf}) + b"\n"
        rows.write(line * e["weight"])  # one row per draw: rates weighted by the prompt distribution
    answers_path = d / "answers.jsonl"
    answers_path.write_bytes(rows.getvalue())

    graded = grade(answers_path, Path(paths.facts), counts, pred0, answers, d)
    pred1 = d / "prediction_delta.json"
    if graded["delta"] is not None:
        hallu("predict", str(report), "--answers", f"{RELATION}={answers}", "--calibration-from",
              str(d / "graded.json"), "-o", str(pred1), "-q")  # fmt: skip
    p0 = orjson.loads(pred0.read_bytes())["overall"]
    p1 = orjson.loads(pred1.read_bytes())["overall"] if pred1.exists() else None

    unseen = sum(e["weight"] for e in evals if e["train_count"] == 0)
    draws = sum(e["weight"] for e in evals)
    memoriser = unseen / draws * (1 - 1 / answers)
    return Row(
        target_sr=target,
        shape=cfg.shape,
        N=truth.n,
        N1=truth.n1,
        sr=truth.singleton_rate,
        missing_mass=truth.missing_mass,
        eval_draws=draws,
        eval_unseen=unseen / draws,
        lower_bound=p0["lower_bound"]["value"],
        vacuous=p0["lower_bound"]["vacuous"],
        n_needed=p0["lower_bound"]["n_needed"],
        lower_bound_delta=p1["lower_bound"]["value"] if p1 else None,
        upper_bound=p0["upper_bound"],
        lm_hallucination=graded["hallucination_rate"],
        lm_low=graded["interval"][0] if graded["interval"] else None,
        lm_high=graded["interval"][1] if graded["interval"] else None,
        lm_accuracy=graded["accuracy"],
        lm_abstention=graded["abstention_rate"],
        delta=graded["delta"],
        ece=graded["ece"],
        memoriser_error=memoriser,
        verdict=graded["verdict"],
        train_steps=tr.steps,
        train_epochs=tr.tokens / tr.corpus_tokens,
        train_seconds=tr.seconds,
        final_loss=tr.final_loss,
        buckets=graded["buckets"],
    )


def grade(answers: Path, refs: Path, counts: Path, prediction: Path, n_answers: int, d: Path) -> dict:
    """Grade the answers with ``hallu-audit outputs``: the one place grading happens."""
    out = d / "graded.json"
    hallu(
        "outputs", str(answers), "--refs", str(refs), "--per-fact", str(counts), "--predicted",
        str(prediction), "--min-errors", str(n_answers - 1), "--seed", "0", "-o", str(out), "-q",
    )  # fmt: skip
    doc = orjson.loads(out.read_bytes())
    overall = doc["overall"]
    cal = doc.get("calibration") or {}
    verdict = (doc.get("predicted") or {}).get("overall", {}).get("verdict", "")
    buckets = {}
    for label, b in ((doc.get("per_fact") or {}).get("buckets") or {}).items():
        if b.get("n"):
            buckets[label] = {"n": b["n"], "hallucination_rate": b.get("hallucination_rate")}
    return {
        "hallucination_rate": overall["hallucination_rate"],
        "interval": (overall.get("intervals") or {}).get("hallucination_rate"),
        "accuracy": overall["accuracy"],
        "abstention_rate": overall["abstention_rate"],
        "delta": cal.get("delta"),
        "ece": cal.get("ece"),
        "verdict": verdict,
        "buckets": buckets,
    }


# -- results -------------------------------------------------------------------------------------
COLUMNS = (
    "target_sr", "shape", "N", "N1", "sr", "missing_mass", "eval_draws", "eval_unseen",
    "lower_bound", "vacuous", "n_needed", "lower_bound_delta", "upper_bound", "lm_hallucination",
    "lm_low", "lm_high", "lm_accuracy", "lm_abstention", "delta", "ece", "memoriser_error",
    "verdict", "train_steps", "train_epochs", "train_seconds", "final_loss",
)  # fmt: skip


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_csv(rows: list[Row], path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_cell(getattr(r, c)) for c in COLUMNS])
    path.write_text(buf.getvalue())


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    lines = [
        "| sr (N1/N) | exact missing mass | Theorem 2 lower bound (99%) | minus measured delta "
        "| LM hallucination rate [95% CI] | calibrated memoriser | upper bound (99%) "
        "| delta | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lb = (
            f"vacuous (N >= {r.n_needed:,.0f})"
            if r.vacuous and r.n_needed
            else ("vacuous (never)" if r.vacuous else _f(r.lower_bound))
        )
        lbd = "vacuous" if r.lower_bound_delta is None and r.delta is not None else _f(r.lower_bound_delta)
        ci = f" [{_f(r.lm_low)}, {_f(r.lm_high)}]" if r.lm_low is not None else ""
        lines.append(
            f"| {r.sr:.3f} | {r.missing_mass:.3f} | {lb} | {lbd} | {r.lm_hallucination:.3f}{ci} "
            f"| {r.memoriser_error:.3f} | {_f(r.upper_bound)} | {_f(r.delta)} | {r.verdict} |"
        )
    labels = ("0", "1", "2", "3-5", "6-10", "11-100", ">100")
    lines += [
        "",
        "LM hallucination rate by the fact's count in the training corpus (evaluation draws in the bucket):",
        "",
        "| sr | " + " | ".join(f"count {b}" for b in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for r in rows:
        cells = []
        for b in labels:
            x = r.buckets.get(b)
            cells.append(f"{x['hallucination_rate']:.2f} ({x['n']})" if x else "-")
        lines.append(f"| {r.sr:.3f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"N = {rows[0].N:,} mentions per corpus; {rows[0].eval_draws:,} evaluation draws per "
        f"point; plausible answers {meta['answers']:,} (every day of {meta['years']}). LM: "
        f"{meta['model']}. Command: `{meta['command']}` (seed {meta['seed']}), on "
        f"{meta['hardware']}; {meta['elapsed_s'] / 60:.1f} minutes.",
    ]
    return "\n".join(lines) + "\n"


def plot(rows: list[Row], path: Path, meta: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 6), dpi=110)
    sr = [r.sr for r in rows]
    err = [r.lm_hallucination for r in rows]
    yerr = [
        [r.lm_hallucination - (r.lm_low if r.lm_low is not None else r.lm_hallucination) for r in rows],
        [(r.lm_high if r.lm_high is not None else r.lm_hallucination) - r.lm_hallucination for r in rows],
    ]
    a.plot([0, 1], [0, 1], ls=":", c="grey", lw=1, label="err = sr")
    a.errorbar(sr, err, yerr=yerr, fmt="o", c="C0", capsize=3, label="trained LM (95% CI)")
    a.plot(sr, [r.memoriser_error for r in rows], "s", c="C1", mfc="none", ms=8,
           label="calibrated memoriser (paper sec. 3.3)")  # fmt: skip
    ub = [(r.sr, r.upper_bound) for r in rows if r.upper_bound is not None]
    a.plot([x for x, _ in ub], [y for _, y in ub], "--", c="C1", lw=1, label="upper bound (99%)")
    ok = [(r.sr, r.lower_bound) for r in rows if not r.vacuous]
    a.plot([x for x, _ in ok], [y for _, y in ok], "^-", c="C2", label="Theorem 2 lower bound (99%)")
    okd = [(r.sr, r.lower_bound_delta) for r in rows if r.lower_bound_delta is not None]
    a.plot([x for x, _ in okd], [y for _, y in okd], "^", c="C2", mfc="none",
           label="lower bound minus measured delta")  # fmt: skip
    vac = [r.sr for r in rows if r.vacuous]
    if vac:
        a.plot(vac, [0.0] * len(vac), "x", c="C3", ms=9, label="lower bound vacuous (<= 0)")
    a.set_xlabel("singleton rate sr = N1 / N of the training corpus")
    a.set_ylabel("hallucination rate on fresh prompts")
    a.set_xlim(0, 1)
    a.set_ylim(-0.03, 1.03)
    a.set_title(f"Observed vs predicted, N = {rows[0].N:,}")
    a.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)

    lo = [(r.lower_bound, r) for r in rows if not r.vacuous and r.lower_bound is not None]
    b.plot([0, 1], [0, 1], ls=":", c="grey", lw=1, label="observed = bound")
    if lo:
        b.errorbar([x for x, _ in lo], [r.lm_hallucination for _, r in lo],
                   yerr=[[r.lm_hallucination - (r.lm_low or r.lm_hallucination) for _, r in lo],
                         [(r.lm_high or r.lm_hallucination) - r.lm_hallucination for _, r in lo]],
                   fmt="o", c="C0", capsize=3, label="trained LM")  # fmt: skip
        b.plot([x for x, _ in lo], [r.memoriser_error for _, r in lo], "s", c="C1", mfc="none",
               ms=8, label="calibrated memoriser")  # fmt: skip
        for x, r in lo:
            b.annotate(f"sr {r.sr:.2f}", (x, r.lm_hallucination), textcoords="offset points",
                       xytext=(6, -10), fontsize=8)  # fmt: skip
    else:
        b.text(0.5, 0.5, "every lower bound is vacuous at this N", ha="center", va="center")
    b.set_xlabel("predicted lower bound (Theorem 2, 99%, delta = 0)")
    b.set_ylabel("observed hallucination rate")
    b.set_xlim(0, 1)
    b.set_ylim(0, 1.03)
    b.set_title("Above the diagonal: the bound holds")
    b.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    fig.suptitle(f"Does the bound hold? ({meta['size']} run, seed {meta['seed']})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_results(rows: list[Row], meta: dict[str, Any], out: Path) -> None:
    write_csv(rows, out / "results.csv")
    (out / "results.md").write_text(markdown(rows, meta))
    plot(rows, out / "plot.png", meta)


def hardware() -> str:
    try:
        import torch

        threads = torch.get_num_threads()
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    except ImportError:  # pragma: no cover
        threads, gpu = 0, "no torch"
    return f"{os.cpu_count()} CPU cores ({platform.machine()}, torch threads {threads}), {gpu}"


def main(argv: list[str] | None = None) -> list[Row]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="test")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "study" / "results"))
    ap.add_argument("--work", default=None, help="scratch folder (default: OUT/work)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads; 1 is fastest on a busy machine")  # fmt: skip
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--replot", action="store_true",
                    help="only rewrite results.csv, results.md and plot.png from OUT/run.json")  # fmt: skip
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.replot:
        meta = orjson.loads((out / "run.json").read_bytes())
        rows = [Row(**r) for r in meta.pop("rows")]
        write_results(rows, meta, out)
        return rows

    import torch

    torch.set_num_threads(args.threads)
    size = SIZES[args.size]
    work = Path(args.work) if args.work else out / "work"
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    rows = []
    for target in size.targets:
        log(f"target sr {target}:")
        t0 = time.perf_counter()
        rows.append(run_point(target, size, args.seed, work, log))
        r = rows[-1]
        log(f"  sr {r.sr:.3f}: LM {r.lm_hallucination:.3f}, memoriser {r.memoriser_error:.3f}, "
            f"bound {_f(r.lower_bound)} ({r.verdict}), delta {_f(r.delta)}; "
            f"{time.perf_counter() - t0:.0f}s")  # fmt: skip
    shown = ["python", "study/run_study.py", "--size", args.size, "--seed", str(args.seed)]
    if args.threads != 1:
        shown += ["--threads", str(args.threads)]
    meta = {
        "size": args.size,
        "seed": args.seed,
        "command": shlex.join(shown),
        "hardware": hardware(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "elapsed_s": time.perf_counter() - started,
        "answers": sim.SimConfig(first_year=size.first_year, last_year=size.last_year).answers,
        "years": f"{size.first_year}-{size.last_year}",
        "model": (
            f"word-level transformer, {size.layers} layers, d_model {size.d_model}, "
            f"{size.heads} heads, context {size.seq}, {size.epochs:g} epochs"
        ),
        "config": asdict(size),
    }
    write_csv(rows, out / "results.csv")
    (out / "results.md").write_text(markdown(rows, meta))
    plot(rows, out / "plot.png", meta)
    meta["rows"] = [asdict(r) for r in rows]
    (out / "run.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    log(f"wrote {out / 'results.csv'}, results.md, plot.png, run.json in {meta['elapsed_s']:.0f}s")
    return rows


if __name__ == "__main__":
    main()
