"""Open extraction: regexes whose named groups ``subject`` and ``object`` (optionally
``relation``) capture a fact. Built-in packs cover birth dates, capitals (both word orders) and
founding years. The prompt is (relation, normalised subject) and the object its answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from audit import dates
from audit.errors import ConfigError
from audit.extract import Extractor
from audit.facts import fact_id
from audit.normalize import normalize
from audit.records import Document, Mention

_UP = "A-Z\u00c0-\u00d6\u00d8-\u00de"
# A capitalised word, or an initial ("J."); no other periods, so names never cross sentences.
_NAMEWORD = rf"(?:[{_UP}]\.|[{_UP}][\w'\u2019\-]*)"
_LINK = r"(?:of|de|del|della|la|le|von|van|der|da|di|du|al|bin|ibn|the|y)"
NAME = rf"{_NAMEWORD}(?:[ ](?:{_LINK}[ ])?{_NAMEWORD}){{0,5}}"
_DATE = dates.DATE_RE.pattern.removeprefix(r"\b").removesuffix(r"\b")
_YEAR_ONLY = r"1\d{3}|20\d{2}"
_CAPITAL_OF = (
    r"capital(?: city)?(?: and (?:the )?(?:largest|biggest|most populous|chief|principal) "
    r"(?:city|town|port))?(?: city)? of"
)

#: Built-in packs: relation -> regexes (named groups ``subject`` and ``object``).
PACKS: dict[str, tuple[str, ...]] = {
    "birth_date": (
        rf"(?P<subject>{NAME}) \((?:born (?:on |in )?|b\. )?(?P<object>(?i:{_DATE}))\s*(?:[\u2013\u2014-]|\)|;|,)",
        rf"(?P<subject>{NAME}),? (?:was|is) born (?:on |in )?(?P<object>(?i:{_DATE}))\b",
        rf"(?P<subject>{NAME}),? born (?:on |in )?(?P<object>(?i:{_DATE}))\b",
    ),
    "capital": (
        rf"(?P<object>{NAME})(?: (?:is|was|became|remains|has been)|,|:) (?:the |its |a )?(?:national |federal |official )?{_CAPITAL_OF} (?P<subject>{NAME})",
        rf"[Tt]he {_CAPITAL_OF} (?P<subject>{NAME}) (?:is|was|has been) (?P<object>{NAME})",
        rf"(?P<subject>{NAME})(?:'s|\u2019s) capital(?: city)?(?:,| is) (?P<object>{NAME})",
    ),
    "founding_year": (
        rf"(?P<subject>{NAME}),? (?:was |is )?(?:founded|established|incorporated) (?:in |on )?(?:(?i:{_DATE}) )?(?:in )?(?P<object>{_YEAR_ONLY})\b",
        rf"(?:Founded|Established) in (?P<object>{_YEAR_ONLY}),? (?:the )?(?P<subject>{NAME})",
    ),
}
#: Capitalised words that start sentences but never start a name.
_LEADING = frozenset(
    "The A An In On At By For From Since Today Its It This That These Those Then Now When While "
    "After Before During Although Though And But Or So Yet Also However Meanwhile Later Modern "
    "Present Current Historic Ancient".split()
)


@dataclass(frozen=True)
class Pattern:
    relation: str
    regex: Any  # re.Pattern (built-in packs) or an RE2 regexp (user patterns): same verbs
    source: str


#: Constructs of Python's regex syntax that RE2 refuses, as (how to spot it, what to call it).
_UNSUPPORTED = (
    (re.escape("(?<="), "lookbehind (?<=...)"),
    (re.escape("(?<!"), "negative lookbehind (?<!...)"),
    (re.escape("(?="), "lookahead (?=...)"),
    (re.escape("(?!"), "negative lookahead (?!...)"),
    (re.escape("(?>"), "atomic group (?>...)"),
    (re.escape("(?("), "conditional group (?(...)...)"),
    (re.escape("(?P="), "named backreference (?P=name)"),
    (r"\\[1-9]", "backreference \\1"),
    (r"[*+?}]\+", "possessive quantifier (*+, ++, ?+)"),
    (r"\\Z", "\\Z (RE2 writes it \\z)"),
)


def compile_user_regex(spec: str, rx: str) -> Any:
    """Compile a user's regex with RE2, which matches in time linear in the text.

    Python's backtracking engine can take exponential time on a pattern such as ``(a+)+b``;
    a corpus scan must not hang on one regex. RE2 has Python's syntax (named groups
    ``(?P<name>...)`` included) without lookaround, backreferences, atomic groups and possessive
    quantifiers; a pattern that uses one is refused, naming the construct.
    """
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would also print the error on stderr through its logger
    try:
        return re2.compile(rx, options)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        for construct, name in _UNSUPPORTED:
            if re.search(construct, rx):
                raise ConfigError(
                    f"--pattern {spec!r} uses {name}, which patterns do not support: they run on RE2, "
                    "which matches in linear time and has no lookaround, backreferences, atomic groups "
                    "or possessive quantifiers"
                ) from None
        raise ConfigError(f"invalid --pattern {spec!r}: {reason}") from None


def compile_patterns(specs: Iterable[str]) -> list[Pattern]:
    """Built-in pack names, ``NAME=REGEX`` or a bare ``REGEX`` (relation "custom").

    A user regex must have named groups ``subject`` and ``object``; a ``relation`` group, when
    present, names the relation per match. User regexes run on RE2 (``compile_user_regex``).
    """
    out: list[Pattern] = []
    for spec in specs:
        if spec in PACKS:
            out.extend(Pattern(spec, re.compile(rx), spec) for rx in PACKS[spec])
            continue
        relation, _, rx = spec.partition("=") if re.match(r"^\w+=", spec) else ("custom", "", spec)
        compiled = compile_user_regex(spec, rx)
        missing = {"subject", "object"} - set(compiled.groupindex)
        if missing:
            raise ConfigError(
                f"--pattern {spec!r} needs named groups (?P<subject>...) and (?P<object>...); "
                f"missing {', '.join(sorted(missing))} (built-in packs: {', '.join(PACKS)})"
            )
        out.append(Pattern(relation, compiled, spec))
    return out


def normalize_object(relation: str, text: str) -> str:
    """Objects that are dates become ISO strings; everything else is normalised text."""
    iso = dates.parse_date(text)
    return iso if iso is not None else normalize(text)


def _trim_name(name: str) -> str:
    words = name.split(" ")
    while len(words) > 1 and words[0] in _LEADING:
        words.pop(0)
    return " ".join(words).rstrip(".,")


class PatternExtractor(Extractor):
    """Open extraction: every regex match is a mention of (relation, subject) with its object."""

    def __init__(self, patterns: list[Pattern]) -> None:
        if not patterns:
            raise ConfigError("no patterns given")
        self.patterns = patterns

    def describe(self) -> dict:
        return {"patterns": [p.source for p in self.patterns]}

    def mentions(self, doc: Document) -> Iterator[Mention]:
        text = doc.text
        seen: set[tuple[str, int]] = set()  # the same statement matched by two regexes counts once
        for pat in self.patterns:
            for m in pat.regex.finditer(text):
                subject = _trim_name(m.group("subject"))
                obj = _trim_name(m.group("object").strip())
                if not subject or not obj or subject in _LEADING:
                    continue
                relation = pat.relation
                if "relation" in pat.regex.groupindex and m.group("relation"):
                    relation = normalize(m.group("relation"))
                # re2 match objects take group numbers only
                subject_start = m.start(pat.regex.groupindex["subject"])
                key = (relation, subject_start if subject == m.group("subject") else m.start())
                if key in seen:
                    continue
                seen.add(key)
                yield Mention(fact_id(relation, subject), relation, normalize_object(relation, obj), doc.id, m.start())
