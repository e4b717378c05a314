"""The theory's formulas, exactly as in Kalai, Nachum, Vempala, Zhang, "Why Language Models
Hallucinate" (arXiv 2509.04664, 2025). See THEORY.md in the project's design notes; every function
cites the section it implements. Pure functions of numbers: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The one rule for the number of plausible answers per prompt (|E_c| + 1), quoted verbatim by the
#: README, ``predict --help`` and ``simulate`` (a test checks they agree).
PLAUSIBLE_ANSWERS = (
    "Plausible answers = the values an answer can take in the form the fact is stated and asked "
    "in, the true one included (|E_c| + 1): 365 for a birthday as day and month, 73,048 for a "
    "full birth date in 1800-1999 (every day of those years, what simulate writes by default). "
    "When unsure, the smaller count gives the more cautious lower bound."
)

#: Confidence targets suggested in sec. 4.2 (penalty t/(1-t): 1, 3, 9).
DEFAULT_TARGETS: tuple[float, ...] = (0.5, 0.75, 0.9)


@dataclass(frozen=True)
class Interval:
    """A two-sided interval [low, high] for a probability, and the raw half-width behind it."""

    estimate: float
    low: float
    high: float
    half_width: float
    confidence: float


def missing_mass_interval(sr: float, n: float, confidence: float = 0.99, *, idk: bool = False) -> Interval:
    """Good-Turing missing-mass interval around sr = N1/N (sec. 3.3.1 and App. B).

    McAllester-Ortiz as used in the paper: with probability >= 1 - gamma,
    ``|MM - N1/N| <= 1/N + 2.42 sqrt(ln(4/gamma) / N)``; when the corpus holds IDK examples,
    ``|MM - sr| <= 4.42 sqrt(ln(5/gamma) / N)``. The interval is clipped to [0, 1] (it bounds a
    probability); ``half_width`` keeps the unclipped width.
    """
    gamma = _gamma(confidence)
    if n <= 0:
        return Interval(sr, 0.0, 1.0, math.inf, confidence)
    if idk:
        hw = 4.42 * math.sqrt(math.log(5 / gamma) / n)
    else:
        hw = 1 / n + 2.42 * math.sqrt(math.log(4 / gamma) / n)
    return Interval(sr, max(0.0, sr - hw), min(1.0, sr + hw), hw, confidence)


def lower_bound(sr: float, n: float, min_errors: float, delta: float = 0.0, confidence: float = 0.99) -> float:
    """Theorem 2 (arbitrary facts), general confidence form of App. B:

    ``err >= sr - 2 / min_c |E_c| - 6 ln(3N / gamma) / sqrt(N) - delta``.

    ``min_errors`` is min_c |E_c| = (plausible answers) - 1. The result may be <= 0: that bound is
    *vacuous*; callers report it as such (see ``n_for_positive_lower_bound``) and never as a rate.
    """
    gamma = _gamma(confidence)
    if n <= 0:
        return -math.inf
    return sr - 2 / min_errors - 6 * math.log(3 * n / gamma) / math.sqrt(n) - delta


def lower_bound_paper_99(sr: float, n: float, min_errors: float, delta: float = 0.0) -> float:
    """Theorem 2 as printed for 99% confidence: ``sr - 2/min|E_c| - (35 + 6 ln N)/sqrt(N) - delta``.

    At gamma = 0.01 the general form's 6 ln(300 N) = 34.22 + 6 ln N, which the paper rounds up to
    35 + 6 ln N, so this is slightly looser than ``lower_bound(..., confidence=0.99)``.
    """
    return sr - 2 / min_errors - (35 + 6 * math.log(n)) / math.sqrt(n) - delta


def upper_bound(sr: float, n: float, max_errors: float, confidence: float = 0.99) -> float:
    """Matching upper bound of Theorem 2, reached by an efficient calibrated algorithm (delta = 0):

    ``err <= sr - sr / (max_c |E_c| + 1) + 13 / sqrt(N)`` at 99% (the paper's constant), and with
    ``5 sqrt(ln(5/gamma) / N)`` in place of 13/sqrt(N) at other confidences.
    """
    gamma = _gamma(confidence)
    if n <= 0:
        return math.inf
    slack = 13 / math.sqrt(n) if abs(gamma - 0.01) < 1e-12 else 5 * math.sqrt(math.log(5 / gamma) / n)
    return sr - sr / (max_errors + 1) + slack


def n_for_positive_lower_bound(
    sr: float, min_errors: float, delta: float = 0.0, confidence: float = 0.99
) -> float | None:
    """Smallest N (at the same sr) for which ``lower_bound`` becomes positive, or None if never.

    The penalty 6 ln(3N/gamma)/sqrt(N) decreases for N >= e^2 gamma / 3, so a bisection on log N
    finds the crossing.
    """
    margin = sr - 2 / min_errors - delta
    if margin <= 0:
        return None
    gamma = _gamma(confidence)

    def penalty(n: float) -> float:
        return 6 * math.log(3 * n / gamma) / math.sqrt(n)

    lo, hi = 1.0, 1.0
    while penalty(hi) >= margin:
        hi *= 2
        if hi > 1e30:
            return None
    lo = max(lo, hi / 2)
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if penalty(mid) >= margin:
            lo = mid
        else:
            hi = mid
        if hi - lo < 0.5:
            break
    return float(math.ceil(hi))


def classification_lower_bound(err_iiv: float, max_valid: float, min_errors: float, delta: float = 0.0) -> float:
    """Theorem 1 (sec. 3.1): ``err >= 2 err_iiv - max_c |V_c| / min_c |E_c| - delta``."""
    return 2 * err_iiv - max_valid / min_errors - delta


def multiple_choice_lower_bound(opt_g: float, choices: int) -> float:
    """Theorem 3, pure multiple choice with C choices: ``err >= 2 (1 - 1/C) opt(G)``."""
    return 2 * (1 - 1 / choices) * opt_g


def penalty(t: float) -> float:
    """Points lost for a wrong answer at confidence target t (sec. 4.2): t / (1 - t).

    The paper's text says "penalty 2" for t = 0.75; its own formula gives 3, used here.
    """
    if not 0 <= t < 1:
        raise ValueError(f"confidence target must be in [0, 1), got {t}")
    return t / (1 - t)


def target_score(correct: int, incorrect: int, n: int, t: float) -> float:
    """``score_t = (#correct - t/(1-t) #incorrect) / n``; abstentions score 0 (sec. 4.2)."""
    return (correct - penalty(t) * incorrect) / n if n else 0.0


def _gamma(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return 1 - confidence
