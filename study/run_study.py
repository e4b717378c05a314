"""Does the bound hold, how tight is it, and does abstaining pay? Corpus -> models -> answers.

For each of several prompt-distribution shapes (singleton rates from about 0.1 to 0.8) and each
seed, this script runs the whole chain that ``hallu-audit`` audits, on data whose truth is known:

1. ``hallu-audit simulate``: a synthetic biography corpus of N birth-date mentions drawn i.i.d.
   from a zipf prompt distribution over invented people, plus fresh evaluation prompts from the
   same distribution (library call, the same code as the command). One corpus per (shape, seed),
   shared by every model trained for that seed;
2. ``hallu-audit corpus`` counts the mentions against the reference table (sentence scope) and
   ``hallu-audit predict`` turns the counts into Theorem 2's lower bound (Kalai et al. 2025) and
   the calibrated memoriser's upper bound, both at 99%, with |E_c| + 1 = the days in the birth
   years (subprocess calls of the real CLI);
3. small word-level language models are trained from scratch on the corpus text (PyTorch): a
   GPT-style transformer and an LSTM, each for two training lengths (separate runs, each with
   its own warmup + cosine schedule), so that the error can be watched approaching the floor as
   the model memorises more;
4. each model is asked every evaluation prompt ("<name> was born on"), greedy-decoded, with its
   confidence = the product of the probabilities of the answer's tokens;
5. ``hallu-audit outputs --targets 0,0.5,0.75,0.9`` grades the answers (one row per evaluation
   draw, so rates are weighted by the prompt distribution, as the theorem's error is): the
   hallucination rate, the error per corpus-count bucket, the calibration gap delta and ECE, and
   the confidence-target scores of sec. 4.2, both for always answering (``overall.scores``) and
   for answering only when confidence > t (``calibration.behavioral``);
   ``predict --calibration-from`` then gives the bound with the measured delta subtracted;
6. the paper's calibrated memoriser (sec. 3.3: answer what was seen, guess uniformly among the
   plausible answers otherwise) is scored on the same evaluation draws, exactly: its expected
   error is (share of draws never seen in training) x (1 - 1/answers).

Writes to ``--out``: ``results.csv`` (one row per singleton rate, architecture, training length
and seed), ``thresholds.csv`` (one row per architecture, training length, seed, singleton rate,
t and policy), ``results.md`` (tables over seeds: mean and 95% t-interval), ``plot.png``,
``thresholds.png`` and ``run.json`` (command, seeds, hardware, load, timings, every row).

``--size test`` takes about a minute on one CPU core and is what ``tests/test_study.py`` runs;
``--size full`` is the committed study. ``--jobs`` trains that many models at once (one CPU
thread each); ``--device cuda`` trains and answers on a GPU (one job).

Needs the ``study`` extra (``pip install -e ".[study]"``: torch, matplotlib). Run from the
repository root::

    python study/run_study.py --size full --jobs 2 --out study/results
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import multiprocessing
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from audit import simulate as sim  # noqa: E402

RELATION = sim.RELATION
#: Confidence targets t of sec. 4.2 (t = 0 is binary grading); passed to ``outputs --targets``.
TARGETS: tuple[float, ...] = (0.0, 0.5, 0.75, 0.9)
ARCHS = ("transformer", "lstm")


@dataclass(frozen=True)
class ModelSpec:
    """One architecture at one width: ``heads`` is used by the transformer only."""

    arch: str
    d_model: int
    layers: int
    lr: float
    heads: int = 4

    def describe(self) -> str:
        if self.arch == "transformer":
            return f"transformer, {self.layers} layers, d_model {self.d_model}, {self.heads} heads"
        return f"LSTM, {self.layers} layer{'s' * (self.layers > 1)}, hidden {self.d_model}"


@dataclass(frozen=True)
class Size:
    """Everything that differs between the test-size and the full run."""

    mentions: int
    targets: tuple[float, ...]  # expected singleton rates of the sweep
    seeds: tuple[int, ...]  # one corpus per (target, seed), shared by every model
    eval_prompts: int
    models: tuple[ModelSpec, ...]
    epochs: tuple[float, ...]  # training lengths: one separate run of every model at each
    seq: int = 32
    batch: int = 64
    filler: float = 0.2
    first_year: int = 1900
    last_year: int = 1999


SIZES: dict[str, Size] = {
    "test": Size(
        mentions=2000, targets=(0.1, 0.7), seeds=(1, 2), eval_prompts=300,
        models=(ModelSpec("transformer", 32, 1, 3e-3, heads=2), ModelSpec("lstm", 48, 1, 1e-2)),
        epochs=(2, 6), batch=16,
    ),
    "full": Size(
        mentions=10_000, targets=(0.1, 0.4, 0.7), seeds=(1, 2, 3), eval_prompts=1000,
        models=(ModelSpec("transformer", 64, 2, 3e-3), ModelSpec("lstm", 128, 1, 1e-2)),
        epochs=(4, 16),
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


# -- the language models -------------------------------------------------------------------------
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


def build_model(vocab: int, spec: ModelSpec, context: int):  # type: ignore[no-untyped-def]
    """A causal LM over ``vocab`` tokens with tied input and output embeddings.

    Every model has ``context`` (the longest window it is trained on) so that answering can
    crop its input the same way for both architectures.
    """
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

    class Transformer(nn.Module):
        """A GPT-style decoder: learned positions, pre-norm blocks."""

        def __init__(self) -> None:
            super().__init__()
            self.context = context
            self.emb = nn.Embedding(vocab, spec.d_model)
            self.pos = nn.Embedding(context, spec.d_model)
            self.blocks = nn.ModuleList(Block(spec.d_model, spec.heads) for _ in range(spec.layers))
            self.ln = nn.LayerNorm(spec.d_model)
            for p in self.parameters():
                if p.dim() > 1:
                    nn.init.normal_(p, std=0.02)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.emb(x) + self.pos.weight[: x.shape[1]]
            for block in self.blocks:
                h = block(h)
            return self.ln(h) @ self.emb.weight.T

    class Recurrent(nn.Module):
        """An LSTM language model (the recurrent architecture of the comparison)."""

        def __init__(self) -> None:
            super().__init__()
            self.context = context
            self.emb = nn.Embedding(vocab, spec.d_model)
            nn.init.normal_(self.emb.weight, std=0.02)
            self.rnn = nn.LSTM(spec.d_model, spec.d_model, spec.layers, batch_first=True)
            self.ln = nn.LayerNorm(spec.d_model)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, _ = self.rnn(self.emb(x))
            return self.ln(h) @ self.emb.weight.T

    if spec.arch == "transformer":
        return Transformer()
    if spec.arch == "lstm":
        return Recurrent()
    raise ValueError(f"unknown architecture {spec.arch!r} (one of {', '.join(ARCHS)})")


@dataclass
class Training:
    steps: int
    tokens: int
    corpus_tokens: int
    seconds: float
    final_loss: float
    parameters: int
    vocab: int


def train(
    corpus_path: str, spec: ModelSpec, epochs: float, size: Size, seed: int, device: str, log: Any
) -> tuple[Any, Vocab, Training]:
    """Train one LM on the corpus text: random windows, AdamW, warmup + cosine decay."""
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
    model = build_model(len(vocab), spec, size.seq).to(device)
    gen = torch.Generator().manual_seed(seed)
    steps = max(1, math.ceil(epochs * len(data) / (size.batch * size.seq)))
    warmup = max(1, steps // 20)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(0.9, 0.98), weight_decay=0.0)
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
        window = data[starts[:, None] + offsets].to(device)
        logits = model(window[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), window[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if (step + 1) % max(1, steps // 4) == 0 or step + 1 == steps:
            log(f"    {spec.arch} {epochs:g} ep, seed {seed}: step {step + 1}/{steps}  "
                f"loss {ema:.3f}  {time.perf_counter() - started:.0f}s")  # fmt: skip
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


def answer(
    model: Any, vocab: Vocab, prompts: list[str], device: str = "cpu", max_new: int = 6
) -> list[tuple[str, float]]:
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
                x = torch.tensor([encoded[i] for i in batch], dtype=torch.long, device=device)
                tokens: list[list[str]] = [[] for _ in batch]
                conf = [1.0] * len(batch)
                done = [False] * len(batch)
                for _ in range(max_new):
                    probs = torch.softmax(model(x[:, -model.context :])[:, -1].double(), dim=-1)
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


# -- one corpus, then one model on it ------------------------------------------------------------
@dataclass
class Corpus:
    """One simulated corpus with its counts and prediction (shared by every model of a seed)."""

    target_sr: float
    seed: int
    shape: float
    N: int
    N1: int
    sr: float
    missing_mass: float
    answers: int
    dir: str
    corpus: str
    facts: str
    eval: str


def make_corpus(target: float, seed: int, size: Size, work: str) -> Corpus:
    """simulate -> corpus -> predict for one (target sr, seed); checks corpus counted the truth."""
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
    d = Path(work) / f"sr-{target:.2f}-seed-{seed}"
    truth, paths = sim.write_simulation(cfg, str(d))
    report, counts = d / "report.json", d / "counts.jsonl"
    hallu("corpus", paths.corpus, "-f", paths.facts, "-o", str(report), "--per-fact", str(counts), "-q")
    counted = orjson.loads(report.read_bytes())["overall"]
    if (counted["N"], counted["N1"]) != (truth.n, truth.n1):
        raise RuntimeError(f"corpus counted N={counted['N']}, N1={counted['N1']}; truth {truth.n}, {truth.n1}")
    hallu("predict", str(report), "--answers", f"{RELATION}={cfg.answers}", "-o", str(d / "prediction.json"), "-q")
    return Corpus(
        target_sr=target, seed=seed, shape=cfg.shape, N=truth.n, N1=truth.n1,
        sr=truth.singleton_rate, missing_mass=truth.missing_mass, answers=cfg.answers, dir=str(d),
        corpus=paths.corpus, facts=paths.facts, eval=paths.eval,
    )  # fmt: skip


@dataclass
class Row:
    """One line of results.csv: one model (architecture, training length) on one corpus."""

    target_sr: float
    seed: int
    arch: str
    epochs: float
    params: int
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
    lm_hallucination: float  # weighted by draws, as the theorem's error is
    lm_accuracy: float
    lm_abstention: float
    memoriser_error: float
    eval_prompts: int  # distinct evaluation prompts: what ``outputs`` grades, once each
    prompt_unseen: float
    prompt_hallucination: float  # the outputs report's own rate, per distinct prompt
    prompt_low: float | None
    prompt_high: float | None
    prompt_accuracy: float
    prompt_memoriser_error: float
    mean_confidence: float | None
    delta: float | None
    ece: float | None
    verdict: str
    train_steps: int
    train_epochs: float
    train_seconds: float
    final_loss: float
    trained_by: str
    buckets: dict[str, Any] = field(default_factory=dict)


@dataclass
class ThresholdRow:
    """One line of thresholds.csv: one policy at one confidence target, from ``outputs``.

    ``always``: the model's every answer (``overall``: scores over all draws); ``threshold``:
    only answers with confidence > t, the rest abstentions (``calibration.behavioral``).
    ``answered`` is the share of draws answered; accuracy and error are among those answered.
    """

    target_sr: float
    seed: int
    arch: str
    epochs: float
    sr: float
    t: float
    penalty: float
    policy: str
    answered: float
    accuracy_answered: float | None
    error_answered: float | None
    score: float
    score_low: float | None
    score_high: float | None
    delta: float | None
    ece: float | None


def grade(answers: Path, c: Corpus, d: Path) -> dict[str, Any]:
    """Grade the answers with ``hallu-audit outputs``: the one place grading happens."""
    out = d / "graded.json"
    hallu(
        "outputs", str(answers), "--refs", c.facts, "--per-fact", str(Path(c.dir) / "counts.jsonl"),
        "--predicted", str(Path(c.dir) / "prediction.json"), "--min-errors", str(c.answers - 1),
        "--targets", ",".join(f"{t:g}" for t in TARGETS), "--seed", "0", "-o", str(out),
        "--grades", str(d / "grades.jsonl"), "-q",
    )  # fmt: skip
    doc: dict[str, Any] = orjson.loads(out.read_bytes())
    return doc


def thresholds_of(doc: dict[str, Any], c: Corpus, spec: ModelSpec, epochs: float) -> list[ThresholdRow]:
    """Both policies at every target t, read off the ``outputs`` report."""
    overall = doc["overall"]
    cal = doc["calibration"]
    n, att = overall["n"], overall["correct"] + overall["incorrect"]
    ivs = (overall.get("intervals") or {}).get("scores") or {}
    key = dict(target_sr=c.target_sr, seed=c.seed, arch=spec.arch, epochs=epochs, sr=c.sr,
               delta=cal["delta"], ece=cal["ece"])  # fmt: skip
    out = []
    by_t = {b["t"]: b for b in cal["behavioral"]}
    for t in TARGETS:
        s = overall["scores"][f"{t:g}"]
        iv = ivs.get(f"{t:g}")
        out.append(ThresholdRow(
            **key, t=t, penalty=s["penalty"], policy="always", answered=att / n,
            accuracy_answered=overall["correct"] / att if att else None,
            error_answered=overall["incorrect"] / att if att else None,
            score=s["score"], score_low=iv[0] if iv else None, score_high=iv[1] if iv else None,
        ))  # fmt: skip
        b = by_t[t]
        out.append(ThresholdRow(
            **key, t=t, penalty=b["penalty"], policy="threshold", answered=b["answered"] / cal["rows"],
            accuracy_answered=b["accuracy"], error_answered=b["error"], score=b["score"],
            score_low=None, score_high=None,
        ))  # fmt: skip
    return out


def run_model(c: Corpus, spec: ModelSpec, epochs: float, size: Size, device: str, threads: int,
              quiet: bool, kept_only: bool = False) -> tuple[Row, list[ThresholdRow]] | None:  # fmt: skip
    """Train one model on one corpus, answer, grade; a worker process runs one of these.

    With ``kept_only`` nothing is trained: a model whose answers are not kept gives None.
    """
    import torch

    if device == "cpu":
        torch.set_num_threads(threads)

    def log(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr, flush=True)

    d = Path(c.dir) / f"{spec.arch}-{epochs:g}ep"
    d.mkdir(parents=True, exist_ok=True)
    evals = [orjson.loads(line) for line in Path(c.eval).read_bytes().splitlines()]
    answers_path = d / "answers.jsonl"
    kept = _kept_training(d, _training_key(c, spec, epochs, size, device))
    if kept is None and kept_only:
        return None
    if kept is None:
        model, vocab, tr = train(c.corpus, spec, epochs, size, c.seed, device, log)
        replies = answer(model, vocab, [e["prompt"] for e in evals], device)
        answers_path.write_bytes(b"".join(
            orjson.dumps({"id": e["id"], "answer": text, "confidence": conf}) + b"\n"
            for e, (text, conf) in zip(evals, replies, strict=True)
        ))  # fmt: skip
        trained_by = _code_version()
        (d / "trained.json").write_bytes(orjson.dumps({
            "key": _training_key(c, spec, epochs, size, device), "training": asdict(tr), "code": trained_by,
        }))  # fmt: skip
    else:
        tr, trained_by = kept
        log(f"  kept the answers of {d.name} for sr {c.sr:.3f} seed {c.seed} (trained earlier, {trained_by})")

    doc = grade(answers_path, c, d)
    overall, cal = doc["overall"], doc["calibration"]
    if overall["n"] != len(evals):
        raise RuntimeError(f"outputs graded {overall['n']} of {len(evals)} answers in {answers_path}")
    # The theorem's error is weighted by the prompt distribution: each evaluation prompt counts
    # as often as it was drawn, using the grade ``outputs`` gave its answer.
    weight = {e["id"]: e["weight"] for e in evals}
    draws = sum(weight.values())
    by_grade: Counter[str] = Counter()
    for line in (d / "grades.jsonl").read_bytes().splitlines():
        g = orjson.loads(line)
        by_grade[g["grade"]] += weight[g["id"]]
    pred1 = d / "prediction_delta.json"
    hallu("predict", str(Path(c.dir) / "report.json"), "--answers", f"{RELATION}={c.answers}",
          "--calibration-from", str(d / "graded.json"), "-o", str(pred1), "-q")  # fmt: skip
    p0 = orjson.loads((Path(c.dir) / "prediction.json").read_bytes())["overall"]
    p1 = orjson.loads(pred1.read_bytes())["overall"]
    buckets = {}
    for label, b in ((doc.get("per_fact") or {}).get("buckets") or {}).items():
        if b.get("n"):
            buckets[label] = {"n": b["n"], "hallucination_rate": b.get("hallucination_rate")}
    interval = (overall.get("intervals") or {}).get("hallucination_rate")
    unseen = sum(e["weight"] for e in evals if e["train_count"] == 0)
    unseen_prompts = sum(1 for e in evals if e["train_count"] == 0) / len(evals)
    row = Row(
        target_sr=c.target_sr, seed=c.seed, arch=spec.arch, epochs=epochs, params=tr.parameters,
        shape=c.shape, N=c.N, N1=c.N1, sr=c.sr, missing_mass=c.missing_mass, eval_draws=draws,
        eval_unseen=unseen / draws, lower_bound=p0["lower_bound"]["value"],
        vacuous=p0["lower_bound"]["vacuous"], n_needed=p0["lower_bound"]["n_needed"],
        lower_bound_delta=p1["lower_bound"]["value"], upper_bound=p0["upper_bound"],
        lm_hallucination=by_grade["incorrect"] / draws, lm_accuracy=by_grade["correct"] / draws,
        lm_abstention=by_grade["abstained"] / draws,
        memoriser_error=unseen / draws * (1 - 1 / c.answers),
        eval_prompts=len(evals), prompt_unseen=unseen_prompts,
        prompt_hallucination=overall["hallucination_rate"],
        prompt_low=interval[0] if interval else None, prompt_high=interval[1] if interval else None,
        prompt_accuracy=overall["accuracy"], prompt_memoriser_error=unseen_prompts * (1 - 1 / c.answers),
        mean_confidence=cal["mean_confidence"], delta=cal["delta"], ece=cal["ece"],
        verdict=(doc.get("predicted") or {}).get("overall", {}).get("verdict", ""),
        train_steps=tr.steps, train_epochs=tr.tokens / tr.corpus_tokens, train_seconds=tr.seconds,
        final_loss=tr.final_loss, trained_by=trained_by, buckets=buckets,
    )  # fmt: skip
    log(f"  sr {c.sr:.3f} seed {c.seed} {spec.arch} {epochs:g} ep: hallucination "
        f"{row.lm_hallucination:.3f} (memoriser {row.memoriser_error:.3f}), delta {_f(row.delta)}, "
        f"ECE {_f(row.ece)}; trained {tr.seconds:.0f}s")  # fmt: skip
    return row, thresholds_of(doc, c, spec, epochs)


def _training_key(c: Corpus, spec: ModelSpec, epochs: float, size: Size, device: str) -> dict[str, Any]:
    """Everything a model's answers depend on (the grading is redone on every run)."""
    return {"corpus": asdict(c), "spec": asdict(spec), "epochs": epochs, "size": asdict(size), "device": device}


def _upgrade_kept(d: Path) -> None:
    """Read a run kept by the first version of this script (``result.json``, one answer row per
    draw) as trained.json plus one answer row per prompt; its grading is redone anyway."""
    old = d / "result.json"
    if not (old.exists() and (d / "answers.jsonl").exists()):
        return
    kept = orjson.loads(old.read_bytes())
    key = orjson.loads(kept["key"])
    code = key.pop("code")
    row = kept["row"]
    size = key["size"]
    tokens = row["train_steps"] * size["batch"] * size["seq"]
    docs = [orjson.loads(line)["text"] for line in Path(key["corpus"]["corpus"]).read_bytes().splitlines()]
    vocab = Vocab(Counter(t for doc in docs for t in TOKEN_RE.findall(doc)))
    training = Training(
        steps=row["train_steps"], tokens=tokens, corpus_tokens=round(tokens / row["train_epochs"]),
        seconds=row["train_seconds"], final_loss=row["final_loss"], parameters=row["params"], vocab=len(vocab),
    )  # fmt: skip
    seen: set[str] = set()
    lines = []
    for line in (d / "answers.jsonl").read_bytes().splitlines():
        fid = orjson.loads(line)["id"]
        if fid not in seen:
            seen.add(fid)
            lines.append(line + b"\n")
    (d / "answers.jsonl").write_bytes(b"".join(lines))
    (d / "trained.json").write_bytes(orjson.dumps({"key": key, "training": asdict(training), "code": code}))
    old.unlink()


def _kept_training(d: Path, key: dict[str, Any]) -> tuple[Training, str] | None:
    """The answers of a model trained earlier with the same key, so an interrupted or re-graded
    study does not train again: (its training record, the code that trained it), else None."""
    path = d / "trained.json"
    if not path.exists():
        _upgrade_kept(d)
    if not (path.exists() and (d / "answers.jsonl").exists()):
        return None
    kept = orjson.loads(path.read_bytes())
    if kept["key"] != orjson.loads(orjson.dumps(key)):
        return None
    return Training(**kept["training"]), kept["code"]


def _code_version() -> str:
    """The checkout's commit, with "+changes" when the working tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True)  # fmt: skip
    except OSError:
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


# -- summaries over seeds ------------------------------------------------------------------------
#: Two-sided 95% Student t quantiles by degrees of freedom (an interval over seeds).
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def mean_ci(xs: Iterable[float | None]) -> tuple[float | None, float | None, float | None]:
    """Mean and 95% t-interval over seeds (the interval is None with fewer than two values)."""
    v = [x for x in xs if x is not None]
    if not v:
        return None, None, None
    m = statistics.fmean(v)
    if len(v) < 2:
        return m, None, None
    h = T975.get(len(v) - 1, 1.96) * statistics.stdev(v) / math.sqrt(len(v))
    return m, m - h, m + h


def groups(items: Iterable[Any], *keys: str) -> dict[tuple[Any, ...], list[Any]]:
    out: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for it in items:
        out[tuple(getattr(it, k) for k in keys)].append(it)

    def order(k: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(ARCHS.index(x) if x in ARCHS else x for x in k)

    return dict(sorted(out.items(), key=lambda kv: order(kv[0])))


def pooled_buckets(rows: list[Row]) -> dict[str, tuple[float, int]]:
    """Error per corpus-count bucket, pooled over seeds: (incorrect draws / draws, draws)."""
    n: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for r in rows:
        for label, b in r.buckets.items():
            n[label] += b["n"]
            wrong[label] += round(b["hallucination_rate"] * b["n"])
    return {label: (wrong[label] / n[label], n[label]) for label in n}


# -- results -------------------------------------------------------------------------------------
COLUMNS = tuple(f.name for f in fields(Row) if f.name != "buckets")
THRESHOLD_COLUMNS = tuple(f.name for f in fields(ThresholdRow))


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_csv(rows: list[Any], columns: tuple[str, ...], path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_cell(getattr(r, c)) for c in columns])
    path.write_text(buf.getvalue())


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _ci(m: float | None, lo: float | None, hi: float | None, digits: int = 3) -> str:
    if m is None:
        return "-"
    return f"{m:.{digits}f}" + (f" [{lo:.{digits}f}, {hi:.{digits}f}]" if lo is not None and hi is not None else "")


def _model_name(arch: str, epochs: float) -> str:
    return f"{'LSTM' if arch == 'lstm' else 'transformer'}, {epochs:g} epochs"


def markdown(rows: list[Row], trows: list[ThresholdRow], meta: dict[str, Any]) -> str:
    seeds = meta["seeds"]
    lines = [
        f"Means over {len(seeds)} seeds ({', '.join(map(str, seeds))}) with 95% t-intervals over "
        "the seeds in brackets; each seed has its own corpus, shared by every model.",
        "",
        "Hallucination rates per evaluation draw (weighted by the prompt distribution, as the "
        "theorem's error is; each answer graded by `outputs`), then per distinct prompt (the "
        "`outputs` report's own rate):",
        "",
        "| model | sr (N1/N) | Theorem 2 lower bound (99%) | hallucination rate | calibrated memoriser "
        "| gap to memoriser | per prompt: hallucination / memoriser | upper bound (99%) | delta | ECE | verdicts |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (arch, epochs, _), g in groups(rows, "arch", "epochs", "target_sr").items():
        vac = [r for r in g if r.vacuous]
        if vac:
            need = max(r.n_needed or math.inf for r in vac)
            lb = f"vacuous (N >= {need:,.0f})" if math.isfinite(need) else "vacuous (never)"
            if len(vac) < len(g):
                lb += f" in {len(vac)} of {len(g)}"
        else:
            lb = _f(statistics.fmean(r.lower_bound for r in g if r.lower_bound is not None))
        verdicts = Counter(r.verdict for r in g)
        lines.append(
            f"| {_model_name(arch, epochs)} | {statistics.fmean(r.sr for r in g):.3f} | {lb} "
            f"| {_ci(*mean_ci(r.lm_hallucination for r in g))} "
            f"| {_ci(*mean_ci(r.memoriser_error for r in g))} "
            f"| {_ci(*mean_ci(r.lm_hallucination - r.memoriser_error for r in g))} "
            f"| {statistics.fmean(r.prompt_hallucination for r in g):.3f} / "
            f"{statistics.fmean(r.prompt_memoriser_error for r in g):.3f} "
            f"| {_f(statistics.fmean(r.upper_bound for r in g if r.upper_bound is not None))} "
            f"| {_ci(*mean_ci(r.delta for r in g))} | {_ci(*mean_ci(r.ece for r in g))} "
            f"| {', '.join(f'{k} {v}' for k, v in sorted(verdicts.items()))} |"
        )
    labels = ("0", "1", "2", "3-5", "6-10", "11-100", ">100")
    lines += [
        "",
        "Hallucination rate by the fact's count in the training corpus (the `outputs` per-fact "
        "buckets, per distinct prompt), pooled over the seeds (prompts in the bucket in brackets):",
        "",
        "| model | sr | " + " | ".join(f"count {b}" for b in labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for (arch, epochs, _), g in groups(rows, "arch", "epochs", "target_sr").items():
        pooled = pooled_buckets(g)
        cells = [f"{pooled[b][0]:.2f} ({pooled[b][1]})" if b in pooled else "-" for b in labels]
        sr = statistics.fmean(r.sr for r in g)
        lines.append(f"| {_model_name(arch, epochs)} | {sr:.3f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Confidence targets (sec. 4.2), from the `outputs` report over the distinct evaluation "
        "prompts: score_t = (correct - t/(1-t) incorrect) / prompts for always answering "
        "(`overall.scores`) and for answering only when confidence > t (`calibration.behavioral`), "
        "with the share answered and the accuracy and error among the answered (means over the seeds):",
        "",
        "| model | sr | t | score, always | score, confidence > t | gain [95% CI] | answered "
        "| accuracy answered | error answered | delta | ECE |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (arch, epochs, _, t), g in groups(trows, "arch", "epochs", "target_sr", "t").items():
        alw = {r.seed: r for r in g if r.policy == "always"}
        thr = {r.seed: r for r in g if r.policy == "threshold"}
        gain = mean_ci(thr[s].score - alw[s].score for s in thr if s in alw)
        lines.append(
            f"| {_model_name(arch, epochs)} | {statistics.fmean(r.sr for r in g):.3f} | {t:g} "
            f"| {_f(mean_ci(r.score for r in alw.values())[0])} "
            f"| {_f(mean_ci(r.score for r in thr.values())[0])} | {_ci(*gain)} "
            f"| {_f(mean_ci(r.answered for r in thr.values())[0])} "
            f"| {_f(mean_ci(r.accuracy_answered for r in thr.values())[0])} "
            f"| {_f(mean_ci(r.error_answered for r in thr.values())[0])} "
            f"| {_f(mean_ci(r.delta for r in thr.values())[0])} | {_f(mean_ci(r.ece for r in thr.values())[0])} |"
        )
    lines += [
        "",
        "The same, one line per model and corpus shape: score_t for always answering / for answering "
        "only when confidence > t, then the accuracy among the answered at each t (share answered):",
        "",
        *score_table(trows),
        "",
        footer(rows, meta),
    ]
    return "\n".join(lines) + "\n"


def score_table(trows: list[ThresholdRow]) -> list[str]:
    """score_t per model and sr, both policies side by side, with the answered accuracy."""
    ts = [t for t in TARGETS if t > 0]
    head = " | ".join(f"t={t:g}: always / conf > t" for t in ts)
    acc = " | ".join(f"accuracy answered at t={t:g}" for t in ts)
    lines = [
        f"| model | sr | {head} | {acc} |",
        "|---|---|" + "---|" * (2 * len(ts)),
    ]
    for (arch, epochs, _), g in groups(trows, "arch", "epochs", "target_sr").items():
        cells, accs = [], []
        for t in ts:
            alw = [r.score for r in g if r.t == t and r.policy == "always"]
            thr = [r for r in g if r.t == t and r.policy == "threshold"]
            cells.append(f"{statistics.fmean(alw):.3f} / {statistics.fmean(r.score for r in thr):.3f}")
            accs.append(
                _f(mean_ci(r.accuracy_answered for r in thr)[0]) + f" ({statistics.fmean(r.answered for r in thr):.2f})"
            )
        sr = statistics.fmean(r.sr for r in g)
        lines.append(
            f"| {_model_name(arch, epochs)} | {sr:.3f} | " + " | ".join(cells) + " | " + " | ".join(accs) + " |"
        )
    return lines


def footer(rows: list[Row], meta: dict[str, Any]) -> str:
    label = "TEST-SIZE run (a smoke test, not the study's results)" if meta["size"] != "full" else "Full run"
    if meta.get("partial"):
        label = f"PARTIAL {label.lower()}: only {meta['partial']} had finished training"
    return (
        f"{label}: N = {rows[0].N:,} mentions per corpus; {rows[0].eval_draws:,} evaluation draws "
        f"per corpus ({statistics.fmean(r.eval_prompts for r in rows):,.0f} distinct prompts on average);"
        f" plausible answers {meta['answers']:,} (every day of {meta['years']}). "
        f"Models: {'; '.join(meta['models'])}. Command: `{meta['command']}` (seeds "
        f"{', '.join(map(str, meta['seeds']))}), on {meta['hardware']}; "
        f"{meta['elapsed_s'] / 60:.1f} minutes wall clock, load average {meta['load_start'][0]:.1f} "
        f"at the start and {meta['load_end'][0]:.1f} at the end."
        + (
            f" The models were trained by an earlier run (code {', '.join(meta['trained_by'])}); this run "
            "kept their answers and graded them again (training times: train_seconds in results.csv)."
            if meta.get("trained_by", [meta.get("code")]) != [meta.get("code")]
            else ""
        )
    )


def plot(rows: list[Row], path: Path, meta: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = [a for a in ARCHS if any(r.arch == a for r in rows)]
    fig, axes = plt.subplots(1, len(archs), figsize=(6 * len(archs), 6), dpi=110, squeeze=False)
    by_target = groups(rows, "target_sr")
    sr = [statistics.fmean(r.sr for r in g) for g in by_target.values()]
    mem = [statistics.fmean(r.memoriser_error for r in g) for g in by_target.values()]
    lbs = [(s, statistics.fmean(r.lower_bound for r in g)) for s, g in zip(sr, by_target.values(), strict=True)
           if all(not r.vacuous for r in g)]  # fmt: skip
    vac = [s for s, g in zip(sr, by_target.values(), strict=True) if any(r.vacuous for r in g)]
    for ax, arch in zip(axes[0], archs, strict=True):
        ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1, label="err = sr")
        ax.plot(sr, mem, "s-", c="C1", mfc="none", ms=8, label="calibrated memoriser (paper sec. 3.3)")
        if lbs:
            ax.plot([x for x, _ in lbs], [y for _, y in lbs], "^-", c="C2", label="Theorem 2 lower bound (99%)")
        if vac:
            ax.plot(vac, [0.0] * len(vac), "x", c="C3", ms=9, label="lower bound vacuous (<= 0)")
        for k, (epochs, g) in enumerate(groups([r for r in rows if r.arch == arch], "epochs").items()):
            pts = []
            for tg in groups(g, "target_sr").values():
                m, lo, hi = mean_ci(r.lm_hallucination for r in tg)
                assert m is not None
                pts.append((statistics.fmean(r.sr for r in tg), m, m - (lo if lo is not None else m),
                            (hi if hi is not None else m) - m))  # fmt: skip
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[[p[2] for p in pts], [p[3] for p in pts]],
                        fmt="o-", c=f"C{k % 10 if k < 1 else k + 3}", capsize=3,
                        label=f"{epochs[0]:g} epochs (mean, 95% CI over seeds)")  # fmt: skip
        ax.set_xlabel("singleton rate sr = N1 / N of the training corpus")
        ax.set_ylabel("hallucination rate on fresh prompts")
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(_model_name(arch, 0).split(",")[0] + f" ({rows[0].N:,} mentions)")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    what = "TEST-SIZE smoke run, not the study" if meta["size"] != "full" else "full run"
    if meta.get("partial"):
        what = f"PARTIAL {what}, {meta['partial']}"
    fig.suptitle(f"Observed hallucination approaching the floor ({what}, seeds "
                 f"{', '.join(map(str, meta['seeds']))})", fontsize=11)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_thresholds(trows: list[ThresholdRow], path: Path, meta: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = [a for a in ARCHS if any(r.arch == a for r in trows)]
    targets = sorted({r.target_sr for r in trows})
    fig, axes = plt.subplots(len(archs), len(targets), figsize=(4.2 * len(targets), 3.8 * len(archs)),
                             dpi=110, squeeze=False)  # fmt: skip
    for i, arch in enumerate(archs):
        for j, target in enumerate(targets):
            ax = axes[i][j]
            sel = [r for r in trows if r.arch == arch and r.target_sr == target]
            for k, (epochs, g) in enumerate(groups(sel, "epochs").items()):
                for policy, ls in (("always", "--"), ("threshold", "-")):
                    pts = []
                    for (t,), tg in groups([r for r in g if r.policy == policy], "t").items():
                        m, lo, hi = mean_ci(r.score for r in tg)
                        pts.append((t, m, lo, hi))
                    what = "always answer" if policy == "always" else "answer if conf > t"
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], ls, marker="o", c=f"C{k}",
                            label=f"{epochs[0]:g} ep, {what}")  # fmt: skip
            ax.axhline(0, c="grey", lw=0.8)
            sr = statistics.fmean(r.sr for r in sel)
            ax.set_title(f"{_model_name(arch, 0).split(',')[0]}, sr {sr:.2f}", fontsize=10)
            ax.set_xlabel("confidence target t (penalty t/(1-t))")
            ax.set_ylabel("score_t (mean over seeds)")
            ax.set_ylim(max(-3.0, ax.get_ylim()[0]), 1.02)
            if i == 0 and j == 0:
                ax.legend(fontsize=7)
    what = "TEST-SIZE smoke run, not the study" if meta["size"] != "full" else "full run"
    if meta.get("partial"):
        what = f"PARTIAL {what}, {meta['partial']}"
    fig.suptitle(f"Confidence targets (sec. 4.2): always answering vs answering only when confident ({what})",
                 fontsize=11)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_results(rows: list[Row], trows: list[ThresholdRow], meta: dict[str, Any], out: Path) -> None:
    write_csv(rows, COLUMNS, out / "results.csv")
    write_csv(trows, THRESHOLD_COLUMNS, out / "thresholds.csv")
    (out / "results.md").write_text(markdown(rows, trows, meta))
    plot(rows, out / "plot.png", meta)
    plot_thresholds(trows, out / "thresholds.png", meta)


def hardware(device: str, threads: int, jobs: int) -> str:
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if device == "cuda" else "no GPU used"
    except ImportError:  # pragma: no cover
        gpu = "no torch"
    return (f"{os.cpu_count()} CPU cores ({platform.machine()}), {jobs} training job(s) at once "
            f"with {threads} torch thread(s) each, {gpu}")  # fmt: skip


def _pool_map(fn: Callable[..., Any], calls: list[tuple[Any, ...]], jobs: int) -> list[Any]:
    """``fn(*call)`` for every call, in ``jobs`` forked worker processes (in process if 1)."""
    if jobs <= 1 or len(calls) <= 1:
        return [fn(*c) for c in calls]
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as ex:
        futures = [ex.submit(fn, *c) for c in calls]
        return [f.result() for f in futures]


def main(argv: list[str] | None = None) -> tuple[list[Row], list[ThresholdRow]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="test")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (default: the size's)")
    ap.add_argument("--out", default=str(ROOT / "study" / "results"))
    ap.add_argument("--work", default=None, help="scratch folder (default: OUT/work)")
    ap.add_argument("--jobs", type=int, default=1, help="models trained at once (CPU), one process each")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads per job; 1 is fastest on a busy machine")  # fmt: skip
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--kept-only", action="store_true",
                    help="train nothing: grade and summarise only the models whose answers are kept "
                    "under --work (a partial study, labelled so)")  # fmt: skip
    ap.add_argument("--replot", action="store_true",
                    help="only rewrite the CSVs, results.md and the plots from OUT/run.json")  # fmt: skip
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.replot:
        meta = orjson.loads((out / "run.json").read_bytes())
        rows = [Row(**r) for r in meta.pop("rows")]
        trows = [ThresholdRow(**r) for r in meta.pop("thresholds")]
        write_results(rows, trows, meta, out)
        return rows, trows

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA device is available")
    jobs = 1 if args.device == "cuda" else max(1, args.jobs)
    size = SIZES[args.size]
    if args.seeds:
        size = replace(size, seeds=tuple(int(s) for s in args.seeds.split(",") if s.strip()))
    work = Path(args.work) if args.work else out / "work"
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    code = _code_version()
    load_start = os.getloadavg()
    started = time.perf_counter()
    corpora = _pool_map(make_corpus, [(t, s, size, str(work)) for t in size.targets for s in size.seeds], jobs)
    for c in corpora:
        log(f"corpus sr {c.sr:.4f} (target {c.target_sr}), seed {c.seed}: N {c.N:,}, N1 {c.N1:,}")
    # Shortest runs first: on a busy machine an interrupted study has every model at the short
    # training length before any more long ones.
    calls = [(c, spec, e, size, args.device, args.threads, args.quiet, args.kept_only)
             for e in sorted(size.epochs) for spec in size.models for c in corpora]  # fmt: skip
    done = _pool_map(run_model, calls, jobs)
    results = [x for x in done if x is not None]
    if not results:
        ap.error("--kept-only: no model of this size has kept answers under --work")
    keys = [(m.arch, e, t, s) for m in size.models for e in size.epochs for t in size.targets for s in size.seeds]
    order = {k: i for i, k in enumerate(keys)}
    results.sort(key=lambda rt: order[(rt[0].arch, rt[0].epochs, rt[0].target_sr, rt[0].seed)])
    rows = [r for r, _ in results]
    trows = [t for _, ts in results for t in ts]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    shown = ["python", "study/run_study.py", "--size", args.size]
    if args.seeds:
        shown += ["--seeds", ",".join(map(str, size.seeds))]
    if jobs != 1:
        shown += ["--jobs", str(jobs)]
    if args.threads != 1:
        shown += ["--threads", str(args.threads)]
    if args.device != "cpu":
        shown += ["--device", args.device]
    if args.kept_only:
        shown += ["--kept-only"]
    meta = {
        "size": args.size,
        "partial": None if len(results) == len(calls) else f"{len(results)} of {len(calls)} models",
        "seeds": list(size.seeds),
        "command": shlex.join(shown),
        "hardware": hardware(args.device, args.threads, jobs),
        "code": code,
        "trained_by": sorted({r.trained_by for r in rows}),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "elapsed_s": time.perf_counter() - started,
        "cpu_s": sum(u.ru_utime + u.ru_stime for u in usage),
        "load_start": list(load_start),
        "load_end": list(os.getloadavg()),
        "answers": corpora[0].answers,
        "years": f"{size.first_year}-{size.last_year}",
        "targets": list(TARGETS),
        "models": [f"{s.describe()}, lr {s.lr:g}" for s in size.models],
        "training": f"{', '.join(f'{e:g}' for e in size.epochs)} epochs (separate runs), "
        f"windows of {size.seq} tokens, batch {size.batch}, AdamW, warmup + cosine decay",
        "config": asdict(size),
    }
    write_results(rows, trows, meta, out)
    meta["rows"] = [asdict(r) for r in rows]
    meta["thresholds"] = [asdict(t) for t in trows]
    (out / "run.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    log(f"wrote {out}/results.csv, thresholds.csv, results.md, plot.png, thresholds.png, run.json "
        f"in {meta['elapsed_s']:.0f}s")  # fmt: skip
    return rows, trows


if __name__ == "__main__":
    main()
