"""Refusal and "I don't know" phrases, and the cheap gates in front of their regex."""

from __future__ import annotations

import re
from collections.abc import Callable

from audit.errors import ConfigError

#: Refusal and "I don't know" phrases, matched on the normalised answer. Label -> regex.
ABSTAIN_PHRASES: dict[str, str] = {
    "dont-know": r"\b(?:i (?:do not|don['’]?t|dont) know|idk|do not know|don['’]?t know|no idea)\b",
    "not-sure": r"\b(?:not|n['’]t) (?:\w+ )?(?:sure|certain)\b|\bunsure\b",
    "cannot": (
        r"\b(?:can ?not|can['’]?t|unable to|not able to|won['’]?t|will not|could ?n['’]?t"
        r"|could not) (?:answer|say|determine|provide|tell|confirm|verify|find|know|help|recall"
        r"|remember|locate|be determined|be sure|be certain)\b"
    ),
    "no-information": (
        r"\b(?:no|not enough|insufficient|(?:don['’]?t|do not|does not|doesn['’]?t) have"
        r"(?: any| enough| reliable| specific| access to| that| this| the| such)?)"
        r" (?:information|data|knowledge|details"
        r"|records?|reliable information|real-time)\b"
    ),
    "as-an-ai": r"\bas an? (?:ai|language model|assistant)\b",
    "unknown": (
        r"^(?:unknown|n/?a|none|no answer|no comment|pass|abstain|skip|unanswerable)\W*$"
        r"|\b(?:is|are|was|were|remains?) (?:unknown|not known|unclear|uncertain|not documented"
        r"|not (?:publicly )?available)\b"
    ),
    "apology": r"^(?:i['’]?m sorry|i am sorry|sorry|i apologi[sz]e)\b",
    "decline": r"\bi (?:abstain|decline|pass|refuse)\b|\bprefer not to\b",
}


#: Every built-in phrase contains one of these: a cheap test before the (slow) phrase regex.
_PHRASE_KEYS = (
    "know", "idk", "idea", "sure", "certain", "can", "able", "won", "will not", "could", "info",
    "data", "detail", "record", "real-time", "as a", "n/a", "none", "answer", "pass", "abstain",
    "skip", "unclear", "not ", "sorry", "apolog", "decline", "refuse", "prefer", "comment",
)  # fmt: skip


_PHRASE_KEY = re.compile("|".join(re.escape(k) for k in _PHRASE_KEYS))
#: ``any(k in text for k in _PHRASE_KEYS)`` as one chain of ``in`` tests: most answers hold no
#: key, and the loop's own steps cost as much as the substring searches.
_has_phrase_key: Callable[[str], bool] = eval("lambda text: " + " or ".join(f"{k!r} in text" for k in _PHRASE_KEYS))
#: For each built-in phrase, strings one of which every text it matches contains: the fast
#: path searches only the phrases whose strings occur (same alternatives, same order, so the
#: same leftmost match).
_PHRASE_LABEL_KEYS: dict[str, tuple[str, ...]] = {
    "dont-know": ("know", "idk", "idea"),
    "not-sure": ("sure", "certain"),
    "cannot": ("can", "able", "won", "will not", "could"),
    "no-information": ("information", "data", "knowledge", "details", "record", "real-time"),
    "as-an-ai": ("as a",),
    "unknown": (
        "unknown", "n/a", "na", "none", "no answer", "no comment", "pass", "abstain", "skip",
        "unanswerable", "not known", "unclear", "uncertain", "not documented", "not available",
        "not publicly available",
    ),
    "apology": ("sorry", "apologi"),
    "decline": ("abstain", "decline", "pass", "refuse", "prefer not to"),
}  # fmt: skip
_PHRASE_LABEL_KEYS_T = tuple(_PHRASE_LABEL_KEYS.values())


def _compile_phrases(extra: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """The built-in phrases as one regex, and the user's patterns as another (or None)."""
    parts = [f"(?P<p{i}>{rx})" for i, rx in enumerate(ABSTAIN_PHRASES.values())]
    user = []
    for i, rx in enumerate(extra):
        try:
            re.compile(rx)
        except re.error as exc:
            raise ConfigError(f"invalid --abstain-pattern {rx!r}: {exc}") from None
        user.append(f"(?P<u{i + 1}>(?:{rx}))")
    return re.compile("|".join(parts)), re.compile("|".join(user)) if user else None
