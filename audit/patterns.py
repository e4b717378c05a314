"""Open extraction: regexes whose named groups ``subject`` and ``object`` (optionally
``relation``) capture a fact. Built-in packs cover birth dates, capitals (both word orders) and
founding years. The prompt is (relation, normalised subject) and the object its answer.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from audit import dates
from audit.errors import ConfigError
from audit.extract import Extractor
from audit.facts import fact_id
from audit.normalize import normalize
from audit.records import Document, Mention

# -- names ------------------------------------------------------------------------------------
# Capitals of Latin (with Latin-1 and Latin Extended-A letters), Greek and Cyrillic.
_UP = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017f\u0391-\u03a9\u0410-\u042f"
# The letters of a name word after its first, matched atomically: no rule needs part of a word,
# so a failed match never gives a word back letter by letter (which about halves the time of a
# name-led regex). A placeholder here, written out by ``_atomic``: every regex built from the
# names below is compiled through it.
_REST = "\x00"
_LETTERS = r"[\w'\u2019\-]*"
# A capitalised word, an initial ("J.") or a short title ("St."); no other periods, so names
# never cross sentences.
_NAMEWORD = rf"(?:(?:St|Mt|Ft|Jr|Sr)\.|[{_UP}]\.|[{_UP}]{_REST})"
# Lowercase words inside names: "Rio de Janeiro", "Dar es Salaam", "Institute for Advanced
# Study", "Frankfurt am Main"; "the" only after another ("Movement for the Liberation of Angola")
# or before a last word ("Alexander the Great").
_LINK = r"(?:of|for|de|del|della|la|le|von|van|der|den|da|das|dos|do|di|du|des|al|el|es|am|im|bin|ibn|y|i|e|upon)"
_NAME_TAIL = rf"(?:[ ]the[ ]{_NAMEWORD}(?![ ](?:{_LINK}[ ])?{_NAMEWORD}))?"
# A nickname in quotes, first ('"Willie" Lincoln') or inside ('Thomas "Tad" Lincoln').
_NICK = rf"(?:\"[{_UP}][\w'\u2019\-]*\"|\u201c[{_UP}][\w'\u2019\-]*\u201d)"
# The first word of a name. A name starts at a word's start, never inside "U.S." or "O'Neill":
# the lookbehind after its first character says so for the character before it. Written to open
# with one character class, so the regex engine tries a name-led regex only where such a
# character stands (a capital, a quote), which is most of what makes the packs fast.
_FIRST_WORD = (
    rf"[{_UP}](?<![\w.'\u2019\-].)(?:(?<=S)[tr]\.|(?<=[MF])t\.|(?<=J)r\.|\.|{_REST})"
)
_FIRST_NAME_WORD = (
    rf"[{_UP}\"\u201c](?:(?<![\w.'\u2019\-].)(?<=[{_UP}])(?:(?<=S)[tr]\.|(?<=[MF])t\.|(?<=J)r\.|\.|{_REST})"
    rf"|(?<![\w\"\u201c].)(?:(?<=\")[{_UP}][\w'\u2019\-]*\"|(?<=\u201c)[{_UP}][\w'\u2019\-]*\u201d)(?=[ ][{_UP}]))"
)
NAME = (
    rf"{_FIRST_NAME_WORD}"
    rf"(?:[ ](?:(?:{_LINK}[ ](?:the[ ])?)?{_NAMEWORD}|{_NICK}(?=[ ][{_UP}]))){{0,6}}{_NAME_TAIL}"
)
# Place names may join words with "and": "Bosnia and Herzegovina", "Saint Vincent and the Grenadines".
# ("France and Berlin is ..." is two clauses: no "and" before a name and a verb)
_AND = rf"and(?![ ](?:the[ ])?(?:{_NAMEWORD}[ ]){{1,4}}(?:is|was|are|were|has|had|became|remains|lies|serves)\b)"
PLACE_NAME = rf"{_FIRST_WORD}(?:[ ](?:(?:{_LINK}|{_AND})[ ](?:the[ ])?)?{_NAMEWORD}){{0,6}}"


def _atomic(rx: str, possessive: bool = sys.version_info >= (3, 11)) -> str:
    """``rx`` with each ``_REST`` written as ``_LETTERS`` matched atomically: a possessive
    quantifier (Python 3.11+), or before 3.11 the same as a lookahead whose text a backreference
    then takes (a lookahead is atomic), with a group name of its own for each."""
    if possessive:
        return rx.replace(_REST, _LETTERS + "+")
    count = itertools.count()

    def lookahead(_: re.Match[str]) -> str:
        k = next(count)
        return f"(?=(?P<_a{k}>{_LETTERS}))(?P=_a{k})"

    return re.sub(_REST, lookahead, rx)


# Dates as ``audit.dates`` reads them, group names removed so a regex may use it twice.
_DATE = "(?i:" + re.sub(r"\?P<\w+>", "?:", dates.DATE_RE.pattern.removeprefix(r"\b").removesuffix(r"\b")) + ")"
_ERA = r"(?:\s*(?P<era>BCE?|AD|CE)\b)?"
_DASH = r"\s*[\u2013\u2014-]\s*"
# No digits, periods, semicolons or brackets: a phrase between two parts of one statement.
_GAP = r"[^.;()\d]"

# The first year of a span that ``_DATE`` does not read as a year: one BC ("384–322 BC") or of
# three digits ("Alfred the Great (849–899)", "Athelstan: ... (895-939)").
_SPAN_START = rf"\d{{1,4}}(?=\??{_DASH}(?:c\.\s*)?\d{{1,4}}\s*BCE?\b)|\d{{3}}(?=\??{_DASH}\d{{3,4}}\))"
# -- birth_date --------------------------------------------------------------------------------
# "Name (1809–1865)", "Name (; February 12, 1809 – April 15, 1865)", "Name (born 1947)": the
# parenthesis may open with a pronunciation or another name ended by ";" or ",".
_B_PAREN = (
    rf"(?P<subject>{NAME})(?: \([^()]{{1,80}}\))?,? \((?:[^()\d]{{0,120}}?[;,]\s*)??"
    rf"(?:(?P<born>born|b\.)\s+(?:on\s+|in\s+)?)?(?:(?:c\.|ca\.|circa)\s*)?"
    rf"(?P<object>{_DATE}|{_SPAN_START}){_ERA}\??(?P<rest>[^()]{{0,60}})\)"
)
_B_WAS_BORN = (
    rf"(?P<subject>{NAME})(?:, [^,;()]{{1,80}},|(?P<comma>,))? was born (?:(?:in|at|near) (?:the )?{_GAP}{{1,80}}?,? "
    rf"(?:on |in )?|on |in )?(?P<object>{_DATE}){_ERA}\b"
)
_B_BORN = rf"(?P<subject>{NAME}), born (?:on |in )?(?P<object>{_DATE}){_ERA}\b"
# The date first: "In May 1904, their first son, Hans Albert Einstein, was born"
_B_DATE_FIRST = (
    rf"[IiOo](?<!\w.)n (?P<object>{_DATE}){_ERA},? (?:(?:(?!\b(?:was|were|who)\b)[^,.;()\d]){{1,60}}?, )?"
    rf"(?P<subject>{NAME}),? was born\b"
)
# A dictionary entry: "Toklas, Alice B. Toklas: United States writer ... (1877-1967)". The life
# span (or "(born in 1924)") that ends the definition is the headword's, whoever is named before
# it ("companion of Gertrude Stein (1877-1967)").
_GLOSS_LEMMAS = r"(?:, [^:;\n]{1,200}?)?: (?=\S)"
_GLOSS_HEAD = rf"\A(?P<subject>{PLACE_NAME}{_NAME_TAIL}){_GLOSS_LEMMAS}"  # "Edward the Elder: ..."
_B_GLOSS = (
    rf"{_GLOSS_HEAD}[^\n]*?\((?:(?P<born>born|b\.)\s+(?:in\s+)?)?(?:(?:c\.|ca\.|circa)\s*)?"
    rf"(?P<object>{_DATE}|{_SPAN_START}){_ERA}\??(?P<rest>[^()]{{0,40}})\)\s*(?:;|$)"
)

# The same at the definition's start ("Ada Lovelace: (1811-1852) The daughter of Lord Byron",
# "Margaret Hamilton: (born 1936-08-17) A computer scientist") or right after its head noun, with
# no name or preposition between ("Carl Friedrich Gauss: A German mathematician (1777 - 1855), one
# of ..."; ``_accept`` checks the words).
_B_GLOSS_OPEN = (
    rf"{_GLOSS_HEAD}(?P<head_noun>(?:[\w'\-]+ ){{1,5}})?\((?:(?P<born>born|b\.)\s+(?:on\s+|in\s+)?)?(?:(?:c\.|ca\.|circa)\s*)?"
    rf"(?P<object>{_DATE}|{_SPAN_START}){_ERA}\??(?P<rest>[^()]{{0,40}})\)"
)

# -- capital -----------------------------------------------------------------------------------
# Qualifiers that keep a capital a seat of government. "financial", "cultural", "former",
# "old", "first", "summer" and the like are absent on purpose: such a capital is not the answer.
_QUAL = (
    r"(?:(?:national|federal|state|provincial|regional|territorial|official|administrative|"
    r"constitutional|legislative|executive|judicial|political|de facto|de jure|county|district|"
    r"departmental|municipal|cantonal|prefectural|island|joint|present|present-day|current|sole) ){0,2}"
)
_BIGGEST = r"(?:largest|biggest|most populous|chief|principal|main|major)(?: \w+)? (?:city|town|port|municipality|urban area)"
_CAPITAL_OF = rf"(?:capital(?: city)?(?: and (?:the )?{_BIGGEST}){{0,2}}|(?:the )?{_BIGGEST} and (?:the )?capital)(?: city)? of"
# "capital of the state of Maine", "capital of the Mexican state of Yucatan"
_UNIT = r"(?:province|state|region|territory|county|district|department|prefecture|oblast|canton|republic|emirate|island)"
_PLACE = rf"(?:the )?(?:(?:{NAME} )?{_UNIT} of (?:the )?)?(?P<subject>{PLACE_NAME})"
_C_IS = rf"(?P<object>{NAME})(?: \([^()]{{1,60}}\))?,? (?:is|remains|has been|has long been) (?:now |also |still )?(?:the |a )?{_QUAL}{_CAPITAL_OF} {_PLACE}"
_C_APPOSITION = rf"(?P<object>{NAME})(?:, |: | ?[\u2013\u2014] ?| - )(?:the |a )?{_QUAL}{_CAPITAL_OF} {_PLACE}"
_C_THE_CAPITAL = rf"[Tt](?<!\w.)he {_QUAL}{_CAPITAL_OF} {_PLACE},? (?:is|remains|has been) (?:now )?(?P<object>{NAME})"
# A dictionary entry: "Tegucigalpa, Honduran capital: the capital and largest city of Honduras",
# "Firenze, Florence: a city in central Italy on the Arno; provincial capital of Tuscany".
_C_GLOSS = (
    rf"\A(?P<object>{PLACE_NAME}){_GLOSS_LEMMAS}(?:[^\n]*?; )?(?:the |a )?{_QUAL}{_CAPITAL_OF} {_PLACE}"
)
_C_POSSESSIVE = rf"(?P<subject>{PLACE_NAME.replace(_REST, _LETTERS)})(?:'s|\u2019s) {_QUAL}capital(?: city)?(?: and largest city)?(?:,| is|:)? (?P<object>{NAME})"

# -- founding_year -----------------------------------------------------------------------------
_FOUND = r"(?:founded|established|incorporated|formed|chartered|set up|co-founded|cofounded)"
_FOUND_ACTIVE_WORDS = ("founded", "established", "formed", "set up", "co-founded", "cofounded")
_FOUND_ACTIVE = rf"(?:{'|'.join(_FOUND_ACTIVE_WORDS)})"


def _word_start(words: Iterable[str]) -> str:
    """``\\b(?:w1|w2|...)`` written so that each alternative opens with its first letter (the
    word boundary is a lookbehind after it): the engine then looks for a regex led by it only
    where one of those letters stands."""
    return "(?:" + "|".join(rf"{re.escape(w[0])}(?<!\w.){re.escape(w[1:])}" for w in words) + ")"


# up to three lowercase words before a name ("the anarchist journal El Porvenir"), none of them a
# preposition or conjunction ("relations with Turkey" is not a founding)
_DESCRIPTORS = (
    r"(?:(?!(?:with|of|in|on|at|for|to|from|by|and|or|as|between|among|before|after|until|during|since|"
    r"under|over|through|into|within|without|upon|against|about|not|no|also|been|being|that|which|"
    r"when|where|while|diplomatic|relations|ties|contact)\b)[a-z][\w-]* ){0,3}"
)
_F_PASSIVE = (
    rf"(?P<subject>{NAME})(?: \([^()]{{1,80}}\))?(?:,(?: (?:which|that))?| which| that)? (?:(?:was|were|is|has been|had been) )?"
    rf"(?:(?:first|originally|officially|formally|initially|later|jointly|also|only|then) )?{_FOUND}"
    rf"(?: (?:by|in|at|near|on|as|under|from|with|during|after) {_GAP}{{1,80}}?)?,? (?:in|on) (?P<object>{_DATE}){_ERA}\b"
)
_F_ACTIVE = (
    rf"{_word_start(_FOUND_ACTIVE_WORDS)} (?:the |a |an |his |her |their )?{_DESCRIPTORS}(?P<subject>{NAME})(?: \([^()]{{1,60}}\))?"
    rf"(?: (?:in|at|near|on|under|with|for) {_GAP}{{1,60}}?)?,? in (?P<object>{_DATE}){_ERA}\b"
)
_F_YEAR_ACTIVE = (
    rf"[Ii](?<!\w.)n (?P<object>{_DATE}){_ERA},? (?:{_GAP}{{0,80}}? )?{_FOUND_ACTIVE} (?:the |a |an )?{_DESCRIPTORS}(?P<subject>{NAME})"
)
_F_YEAR_PASSIVE = (
    rf"[Ii](?<!\w.)n (?P<object>{_DATE}){_ERA},? (?:(?:(?!\b(?:was|were)\b){_GAP}){{0,60}}?,? )?(?:the )?(?P<subject>{NAME})"
    rf"(?: \([^()]{{1,60}}\))? (?:was|were) (?:(?:officially|formally|first|also) )?{_FOUND}\b"
    rf"(?!,? (?:in|on) {_DATE})"  # "..., and X was formed on 21 April 1961": that date is X's
)
# At a sentence start: "Founded in 1976, Apple ...", "Originally founded in 1850 as ..., X".
# Each alternative opens with its first letter, then looks back for the start of the text or of a
# sentence (what a leading ``(?:^|(?<=[.!?] )|...)`` says), so the engine tries only at those letters.
_SENTENCE_OPENS = r"(?:(?<=\A.)|(?<=[.!?] .)|(?<=[.!?][\"')] .))"
_PARTICIPLES = ("founded", "Founded", "established", "Established", "incorporated", "Incorporated", "formed", "Formed")
_F_PARTICIPLE_FIRST = (
    "(?:"
    + "|".join(
        [f"{w[0]}{_SENTENCE_OPENS}{w[1:]} (?:[Ff]ounded|[Ee]stablished|[Ii]ncorporated|[Ff]ormed)"
         for w in ("Originally", "Initially", "First", "Officially", "Formally")]
        + [f"{w[0]}{_SENTENCE_OPENS}{w[1:]}" for w in _PARTICIPLES]
    )
    + rf") (?:(?:by|in|at|as) {_GAP}{{1,60}}? )?in (?P<object>{_DATE}){_ERA},? (?:the )?(?P<subject>{NAME})"
)  # fmt: skip
# "Microsoft, which he co-founded in 1975", "Apple, which Jobs founded in 1976"
_F_WHICH_FOUNDED = (
    rf"(?P<subject>{NAME}),? (?:which|that) (?:(?:he|she|they|we|I) |(?:[{_UP}][\w'\-]+ ){{1,3}})(?:had |later |also |then )?"
    rf"(?:co-?founded|founded|established|set up|formed)(?: (?:with|by|at|in) {_GAP}{{1,40}}?)?,? in (?P<object>{_DATE}){_ERA}\b"
)
_F_APPOSITION = (
    rf"(?P<subject>{NAME}), (?:a|an|the) (?:(?!\b(?:was|were|where|which|that|who|whose|when|and)\b)[^,.;()\d]){{1,60}}? "
    rf"(?:founded|established|formed) in (?P<object>{_DATE}){_ERA}\b"
)
_F_YEAR_AFTER_NAME = rf"(?P<subject>{NAME}) \((?P<object>1\d{{3}}|20\d{{2}})\),? (?:was )?(?:founded|established|formed) by"
# "Ajax (founded 1900)", "Ajax (est. 1900)"; "Ajax, founded 1900, ..." (a year, not "founded 1000 years ago")
_F_BARE = rf"(?P<subject>{NAME}), (?:founded|established|formed|incorporated) (?P<object>1\d{{3}}|20\d{{2}})\b(?! years)"
_F_PAREN = rf"(?P<subject>{NAME}) \((?:founded|established|est\.|formed|incorporated) (?:in )?(?P<object>1\d{{3}}|20\d{{2}})\)"
# A dictionary entry: "Sinn Fein: an Irish republican political movement founded in 1905",
# "North Korea, DPRK: a communist country in the northern half of the Korean Peninsula;
# established in 1948". The founding is the headword's when its participle follows the head noun
# of the definition (a phrase of "in", "on", "of" and names may come between, not a second noun
# with its article: "a knight of a religious military order established in 1118" is the order's)
# or opens a later part of it, or when the definition opens with a generic head that refers back
# to the headword ("University of Arizona: The University was founded in 1885"; "Taligent: The
# company was founded in 1992"). An abbreviation may open the definition: "Advanced Micro Devices,
# Inc.: (AMD) A US manufacturer of integrated circuits, founded in 1969".
_F_DEFINITION = (
    r"(?:(?:an?|the) )?(?:(?!\b(?:(?:who|whom|whose|which|that|was|were|is|are)\b|of (?:an?|the) [a-z]))[^;:()\d\n]){0,120}?"
)
_F_GLOSS = (
    rf"{_GLOSS_HEAD}(?:\([^()\d]{{1,30}}\) )?(?:(?P<anaphor>[Tt]h(?:e|is) [\w-]+) (?:was|were) (?:(?:first|originally|officially|formally|initially) )?"
    rf"|{_F_DEFINITION} (?:(?:that|which) (?:was|were) )?|[^\n]*?; (?:(?:was|were) )?)"
    rf"(?:founded|established|formed|set up|chartered|incorporated)(?: (?:jointly|originally|first|initially|officially|formally))?"
    rf"(?: (?:in|at|by|on|as) [^;()\d\n]{{1,80}}?)?,? in (?:(?:early|late|mid-?) )?(?P<object>{_DATE}){_ERA}\b"
)

#: Built-in packs: relation -> (regex, rule, trigger). The rule (``_accept``) checks a match; the
#: trigger is a cheap regex every match contains, and the pack regex runs only in a window
#: around each trigger hit (a name-led regex tried at every capital of a text is what costs).
#: A rule without a trigger reads a dictionary entry ("Headword, other names: definition") and is
#: tried once, at the start of the text.
_T_PAREN = r"\([^()\d]{0,130}\d"
_T_BORN = r"b(?<!\w.)orn\b"
_T_CAPITAL = r"capital"
_T_F_PAREN = r"\((?:founded|established|est\.|formed|incorporated) "
_T_FOUND = (
    _word_start(("founded", "Founded", "established", "Established", "incorporated", "Incorporated", "formed", "Formed",
                 "chartered", "set up", "co-founded", "cofounded")) + r"\b"
)  # fmt: skip
PACKS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "birth_date": (
        (_B_GLOSS, "gloss_life", None), (_B_GLOSS_OPEN, "gloss_life", None), (_B_PAREN, "paren", _T_PAREN), (_B_WAS_BORN, "born", _T_BORN),
        (_B_BORN, "born", _T_BORN), (_B_DATE_FIRST, "born", _T_BORN),
    ),
    "capital": (
        (_C_IS, "capital", _T_CAPITAL), (_C_APPOSITION, "capital", _T_CAPITAL),
        (_C_THE_CAPITAL, "capital", _T_CAPITAL), (_C_POSSESSIVE, "capital", _T_CAPITAL), (_C_GLOSS, "capital", None),
    ),
    "founding_year": (
        (_F_PASSIVE, "after_name", _T_FOUND), (_F_ACTIVE, "founded", _T_FOUND), (_F_YEAR_ACTIVE, "year_first", _T_FOUND),
        (_F_YEAR_PASSIVE, "year_first", _T_FOUND), (_F_PARTICIPLE_FIRST, "founded", _T_FOUND),
        (_F_APPOSITION, "after_name", _T_FOUND), (_F_YEAR_AFTER_NAME, "after_name", _T_FOUND),
        (_F_PAREN, "after_name", _T_F_PAREN), (_F_BARE, "after_name", _T_FOUND),
        (_F_WHICH_FOUNDED, "which", _T_FOUND), (_F_GLOSS, "gloss", None),
    ),
}
#: Characters of text on each side of a trigger hit in which a pack regex runs: more than any
#: match reaches (a name of 7 words, a parenthesis and a clause of 80 characters each, a date).
WINDOW = 320

#: Capitalised words that start sentences but never start a name (trimmed from the front of a
#: name; a name that is only such words is no name).
_LEADING = frozenset(
    "The A An In On At By For From Since Today Its It This That These Those Then Now When While "
    "After Before During Although Though And But Or So Yet Also However Meanwhile Later Modern "
    "Present Current Historic Ancient He She They We I You His Her Their Our My Your There Here "
    "What Which Who Whom Whose Where Why How Some Many Most Several Each Every All Both Either "
    "Neither Such No Not Only Even Just Still Originally Initially Officially Formally First "
    "Subsequently Eventually Finally Recently Together Thus Hence Therefore Moreover Furthermore "
    "Indeed Instead Likewise Similarly Nevertheless Nonetheless Despite Under Over Between Among "
    "Within Without Through Throughout Until Upon Into Onto Near As If Because Unlike Like "
    "According Following Prior Around About Along Across Against Beyond Born Died Founded "
    "Established Located Situated Known Called Named Once Soon Shortly Afterwards Thereafter "
    "January February March April May June July August September October November December "
    # a dictionary's labels: "Syn: capital of Libya", "Cf. Paris", "See Berlin"
    "Syn Cf Ant Abbr Etym See Compare Usage".split()
)
# Words that make a name something other than a person: an event, a period, a polity, an
# organisation, a work (in any position: "Kaiser Wilhelm Institute for Physics (1914–1932)").
_NOT_PERSON = frozenset(
    "War Wars Battle Revolution Dynasty Empire Kingdom Republic Period Era Society Institute "
    "University Party Company Association League Union Museum School College Academy Council "
    "Congress Treaty Act Crisis Rebellion Uprising Siege Campaign Expedition Movement Festival "
    "Games Award Awards Prize Series Show Magazine Journal Records Orchestra Club Cup Championship "
    "Tournament Railway Airport Province County Territory Colony Confederation Federation "
    "Commonwealth Caliphate Sultanate Khanate Duchy Principality Protectorate Mandate Occupation "
    "Government Administration Ministry Department Commission Committee Parliament Assembly Army "
    "Navy Corps Regiment Division Project Program Programme Mission Constitution Declaration "
    "Reformation Renaissance Restoration Depression Famine Plague Epidemic Pandemic Earthquake "
    "Massacre Genocide Riots Boycott Conference Exhibition Olympics Edition Volume Album Film "
    "Novel Opera Symphony Concerto Manifesto Doctrine Convention Agreement Accord Pact Alliance "
    "Regime Reign Conquest Invasion Occupation Partition Crusade Crusades Schism Council Trial "
    "Marches March Strike Raid Mutiny Insurrection Coup Putsch Armistice Expo Olympiad Tour "
    # a reference's parts: "Pages (120–180)", "Volume (1890–1910)"
    "Page Pages Pp Chapter Chapters Section Sections Verse Verses Line Lines Figure Figures Table "
    "Tables Plate Plates Folio Folios Issue Issues Vol Vols Volumes Part Parts".split()
)
# Head nouns of a definition that name no person: "Art Nouveau: a style of decoration (1890-1910)",
# "ENIAC: a computer (1946-1955)". The head is the last word before what modifies it.
_NOT_PERSON_HEADS = frozenset(w.lower() for w in _NOT_PERSON) | frozenset(
    "style styles movement genre technique method language system trend tradition fashion building "
    "structure church cathedral palace castle bridge tower work works book poem play painting "
    "sculpture song story city town village country region river island mountain lake ship vessel "
    "aircraft machine computer program software device game newspaper journal magazine period age "
    "era reign school company firm".split()
)
_DEF_HEAD_END = re.compile(
    r"[,;:()\[\]]| (?:who|whom|whose|that|which|of|in|from|with|for|by|at|on|to|and|or|as|known|noted|"
    r"remembered|famous|best|considered|regarded|credited|born|died|\d)\b"
)
# A life span's subject after a place and a comma: "Professor at Oxford, England, born 1916" (the
# person is named before). A lowercase preposition only: "In Paris, Marie Curie (1867–1934)" is one.
_PLACE_APPOSITION = re.compile(
    rf"\b(?:in|at|of|from|near|to|into|outside) (?:the )?(?:[{_UP}][\w.'\u2019\-]* ){{0,3}}[{_UP}][\w.'\u2019\-]*, $"
)
# First words of polities, not people: "East Germany (1949–1990)".
_POLITY_FIRST = frozenset(
    "East West North South Upper Lower Greater Northern Southern Eastern Western Central Holy "
    "United Soviet Democratic People's Imperial Federal Free Socialist Islamic Old New".split()
)
_ARTICLES = frozenset("the a an la le el il lo der die das los las les des".split())
_PREPOSITIONS = frozenset("in on at during into throughout across within en dans nel".split())
_PLACE_PREPOSITIONS = frozenset("in at from of near to into with by for on based".split())
# A capital is current: not "the capital until 1990", "capital of Japan (794–1868)".
_PAST_AFTER = re.compile(
    r"\s*,?\s*(?:\((?:c\.\s*)?\d|(?:until|till|from|between|before|prior to|up to|during|"
    r"in the \d+(?:st|nd|rd|th)|in (?:ancient|antiquity|medieval)|"
    r"since (?:the )?(?:\d+(?:st|nd|rd|th)|ancient)|for (?:a|the|some|several|many|\d))\b)"
)
# ... nor "the ancient city of Akhetaton, capital of ...", "the old town of X, capital of ..."
_PAST_BEFORE = re.compile(r"\b(?:ancient|old|former|onetime|one-time|erstwhile|historic|medieval|once)\b[^,.;:()]{0,30}$")
_NOT_PLACES = frozenset("World Earth Universe".split())
# Generic heads of organisations and places. One alone ("The Society was founded in 1901", "he
# founded the Institute in 1920") refers back to one named earlier: it is no name.
_GENERIC_HEADS = frozenset(
    "Society University Company Church Party Institute Institution Museum School College Club "
    "Association Academy Foundation Council Committee Commission Corporation Firm Group Agency Bureau "
    "Laboratory Lab Library Hospital Centre Center Team League Union Federation Confederation Alliance "
    "Coalition Guild Band Orchestra Choir Theatre Theater Festival Journal Magazine Newspaper Paper "
    "Order Movement Department Ministry Board Office Army Navy Corps Regiment Division Unit Bank Fund "
    "Trust Project Programme Program Conference Congress Assembly Parliament Government State Republic "
    "Kingdom Empire City Town Village Colony Settlement Monastery Abbey Temple Cathedral Mission "
    "Seminary Studio Label Service Network Consortium Lodge Branch Station Zoo Garden Gardens Park "
    "Organisation Organization Institute Company Business Enterprise Venture Partnership Cooperative "
    "Co-operative Brotherhood Sisterhood Fraternity Sorority Parish Diocese Congregation Sect Faculty "
    "Department Court Tribunal Police Force Brigade Squadron Fleet Club Circle Forum Initiative".split()
)
# Roles of people: "Chief Executive Officer of Microsoft, which he co-founded in 1975" names
# Microsoft, not the office.
_ROLE_HEADS = frozenset(
    "Officer President Vice-President Director Chairman Chairwoman Chair Head Dean Professor Founder "
    "Co-founder Cofounder Member Secretary Minister Governor Mayor CEO CTO CFO Chief Manager Editor "
    "Leader Captain Commander Fellow Student Graduate Principal Rector Chancellor Provost Trustee "
    "Partner Owner Employee Researcher Lecturer".split()
)
# A date opening a coordinated clause ("founded X ... and in 1832 he published"): not X's.
_COORDINATED_DATE = re.compile(r"\b(?:and|but|or|while|whereas)(?: then| later)?,? (?:in|on) $")
# A name coordinated after a preposition's complement: "a joint project of Control Data
# Corporation and NCR Corporation, established in 1973" (the project was established).
_COORDINATED_AFTER_PREP = re.compile(
    rf"\b(?:{'|'.join(sorted(_PLACE_PREPOSITIONS))}) (?:the )?(?:[{_UP}][\w&.'\u2019\-]*,? ){{1,6}}(?:and|or|&) $"
)
_GLOSS_HEAD_RE = re.compile(_atomic(_GLOSS_HEAD))
_GLOSS_END = re.compile(r"\s*(?:;|$)")
# between a leading date and its founding's subject: "after", "before" or "until" with no comma
# closing its clause puts the founding at another time than the date's
_SUBORDINATE = re.compile(r"\b(?:after|before|until)\b[^,]*$")
# a name followed by a lower-case word that is no function word modifies a noun ("British supremacy")
_COMMON_NOUN_NEXT = re.compile(
    r" (?!(?:in|on|at|near|under|with|for|by|as|and|or|but|which|that|who|whose|where|to|from|during|after|"
    r"before|since|until|was|were|is|are|has|had|have|of|the|a|an|its|their|his|her|into|upon|while|when)\b)[a-z]"
)
# a place after a preposition and an article or up to two lowercase words: "in the southern "
_AFTER_PLACE = re.compile(
    r"\b(?:in|at|from|near|into|throughout|across|within)(?: (?:the|a|an))?(?: [a-z][\w-]*){0,2} $"
)
_YEAR_END = re.compile(r"(\d{1,4})\s*(BCE?|AD|CE)?\s*$")


def _previous_word(text: str, start: int) -> str:
    m = re.search(r"(\S+)\s*$", text[max(0, start - 40) : start])
    return m.group(1) if m else ""


_ROMAN = re.compile(r"[IVXL]+")
_SAINTS = re.compile(r"(?:St\.|Saint) \w[\w-]*['\u2019]s")
_QUOTED = re.compile(r"[\"\u201c].*[\"\u201d]")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"'(\[\u2013\u2014]\s*)$")


def _trim_name(name: str, text: str | None = None, start: int = 0) -> str:
    """``name`` without sentence-opening words ("Today Berlin" -> "Berlin"; only where a
    sentence may start: mid-sentence "Ancient Macedonia" and "First Russian Orthodox Church"
    are names), possessives and dangling link words."""
    # a quoted nickname is left out inside a name and unquoted where it leads one
    words = [w for i, w in enumerate(name.split(" ")) if not (i and _QUOTED.fullmatch(w))]
    words[0] = words[0].strip('"\u201c\u201d')
    if text is None or _SENTENCE_START.search(text[max(0, start - 3) : start]):
        while len(words) > 1 and words[0] in _LEADING:
            words.pop(0)
        while len(words) > 1 and words[0] in ("the", "of", "and"):
            words.pop(0)
    name = " ".join(words).rstrip(".,")
    if _SAINTS.fullmatch(name):
        return name  # "St. John's", "Saint George's": the possessive is the place's name
    return re.sub(r"(?:['\u2019]s?| (?:of|for|de|la|the|and))$", "", name)


def _year_of(m: re.Match[str]) -> tuple[int, bool] | None:
    """The year of the ``object`` date and whether it is BC."""
    text = m.group("object")
    iso = text if text.isdigit() else dates.parse_date(text)
    if iso is None:
        return None
    bc = (m.groupdict().get("era") or "").upper().startswith("BC")
    rest = m.groupdict().get("rest") or ""
    return int(re.match(r"\d+", iso).group()), bc or bool(re.search(r"\bBCE?\s*$", rest))  # type: ignore[union-attr]


def _looks_like_person(name: str, raw: str, text: str, start: int) -> bool:
    words = name.split()
    if not words or raw.split(" ", 1)[0] in ("The", "A", "An") or "The" in words[1:]:
        return False  # "The Emergence of ... (1939–1977)", "Angela Heywood's The Word (1872–1890)"
    if any(re.search(r"['\u2019]s$", w) for w in words):
        return False  # a possessive inside: a work or a thing of someone's
    if len(words) > 1 and re.fullmatch(r"[A-Z]\.", words[0]) and words[1] in _LEADING:
        return False  # "c. Also Demosthenes": a circa and a sentence start, not an initial
    if _previous_word(text, start).lower() in _ARTICLES | _PREPOSITIONS:
        return False
    if _PLACE_APPOSITION.search(text, max(0, start - 80), start):
        return False
    if words[0] in _POLITY_FIRST or any(w in _NOT_PERSON for w in words):
        return False
    return not any(len(w) >= 3 and w.isupper() and not _ROMAN.fullmatch(w) for w in words)  # "Louis VIII" is one


def _definition_names_no_person(text: str) -> bool:
    """The head noun of a dictionary entry's definition (past a parenthesis that opens it) is one
    of a thing, a place, a period or an organisation."""
    head = _GLOSS_HEAD_RE.match(text)
    if head is None:
        return False
    definition = re.sub(r"\A\s*\([^()]*\)\s*", "", text[head.end() : head.end() + 300])
    cut = _DEF_HEAD_END.search(definition)
    words = re.findall(r"[A-Za-z][\w\-]*", definition[: cut.start() if cut else len(definition)])
    return bool(words) and words[-1].lower() in _NOT_PERSON_HEADS


# An inverted name at an entry's start: "Russell, Bertrand (1872-1970)". The headword (the name
# before the comma) is the subject, as in "Toklas, Alice B. Toklas: ... (1877-1967)".
_INVERTED_HEAD = re.compile(rf"(?:[{_UP}][\w.'\u2019\-]* ){{0,5}}(?P<head>[{_UP}][\w'\u2019\-]+), ")


def _life_span(m: re.Match[str]) -> bool:
    """``rest`` (what follows the birth date inside the parenthesis) is a death date 15 to 120
    years later: a life span, not a war, a reign or a work's run."""
    born = _year_of(m)
    rest = m.group("rest")
    if born is None or not re.match(_DASH, rest):
        return False
    end = _YEAR_END.search(rest)
    if end is None:
        return False
    year, bc = born
    digits = end.group(1)
    death = int(digits)
    if len(digits) < len(str(year)) and not end.group(2):  # "1585–90", "1936–37"
        death = int(str(year)[: len(str(year)) - len(digits)] + digits)
    span = year - death if bc else death - year
    return 15 <= span <= 120


def _accept(rule: str, relation: str, m: re.Match[str], text: str) -> tuple[str, str] | None:
    """The (subject, object) of a pack match, or None when a rule refuses it."""
    raw_subject = m.group("subject")
    start = m.start("subject")
    subject = _trim_name(raw_subject, text, start)
    if not subject or subject in _LEADING or len(normalize(subject)) < 3:
        return None
    if relation == "birth_date":
        inverted = _INVERTED_HEAD.fullmatch(text, 0, start) if rule == "paren" and start <= 100 else None
        if inverted and not _LEADING.intersection(text[: inverted.end("head")].split()):
            raw_subject = subject = inverted.group("head")
            start = inverted.start("head")
        if not _looks_like_person(subject, raw_subject, text, start):
            return None
        if rule == "gloss_life" and not m.group("born") and _definition_names_no_person(text):
            return None
        head_noun = (m.groupdict().get("head_noun") or "").strip()
        if head_noun and (not head_noun.split()[-1][:1].islower() or _DEF_HEAD_END.search(" " + head_noun)):
            return None  # "Smith: a book by Jones (1900-1980)": the span is not the headword's
        if rule in ("paren", "gloss_life") and not m.group("born") and not _life_span(m):
            return None
        if rule == "paren" and _GLOSS_HEAD_RE.match(text) and _GLOSS_END.match(text, m.end()):
            return None  # the life span that ends a dictionary entry is the headword's (``gloss_life``)
        if m.groupdict().get("comma") and not text[:start].endswith(", "):
            return None  # "Eduard, was born" only as an apposition: "Their second son, Eduard, was born"
        found = _year_of(m)
        if found is None or found[0] > 2100:
            return None
        obj = m.group("object").strip()
        return subject, f"{found[0]} BC" if found[1] else obj
    if relation == "capital":
        obj = _trim_name(m.group("object"), text, m.start("object"))
        if not obj or obj in _LEADING or normalize(obj) == normalize(subject) or subject in _NOT_PLACES:
            return None
        if re.search(r"\bcapital(?: city)? of (?:the )?$", text[max(0, m.start("object") - 20) : m.start("object")]):
            return None  # "capital of the United Kingdom: the capital of England"
        if _PAST_BEFORE.search(text, max(0, m.start("object") - 40), m.start("object")):
            return None  # "the ancient city of Akhetaton, capital of ...": a capital of the past
        if _PAST_AFTER.match(text, m.end()):
            return None
        return subject, obj
    # founding_year
    role, of, organisation = subject.partition(" of ")
    if of and role.split()[-1] in _ROLE_HEADS:
        subject = organisation
    if subject in _GENERIC_HEADS:
        return None  # "The Society was founded in 1901": the society named before
    if m.start("object") > start and _COORDINATED_DATE.search(text, max(0, m.start("object") - 20), m.start("object")):
        return None  # "founded the British Association ... and in 1832 he published": 1832 is not its year
    anaphor = (m.groupdict().get("anaphor") or "").split(" ")[-1]
    if anaphor and anaphor.capitalize() not in _GENERIC_HEADS and anaphor.lower() not in subject.lower().split():
        return None  # "X: The book was published ... founded ...": only a generic head refers back to X
    if rule == "year_first":
        if _SUBORDINATE.search(text, m.end("object"), start):
            return None  # "dissolved in 1946 after the United Nations was formed": 1946 is not its year
        if _COMMON_NOUN_NEXT.match(text, m.end("subject")):
            return None  # "in 1757 ... established British supremacy": the name is a modifier
    previous = _previous_word(text, start).lower()
    if previous in ("which", "whom", "that") and re.match(r" (?:co-?)?founded|established|formed|set up", text[m.end("subject") :]):
        return None  # "Apple, which Steve Jobs founded in 1976": the founder is no subject
    if rule == "which" and previous == "of":
        pass  # "Chief Executive Officer of Microsoft, which he co-founded in 1975": the relative names it
    elif rule in ("after_name", "which") and (
        previous in _PLACE_PREPOSITIONS or _AFTER_PLACE.search(text, max(0, start - 60), start)
    ):
        return None  # "a club based in Andorra la Vella founded in 1942", "a party in the United States formed in 1900"
    if rule in ("after_name", "which") and _COORDINATED_AFTER_PREP.search(text, max(0, start - 120), start):
        return None  # "a project of Control Data Corporation and NCR Corporation, established in 1973"
    found = _year_of(m) if m.group("object")[:1].isalpha() or len(m.group("object")) > 4 else None
    year = found[0] if found else int(m.group("object")) if m.group("object").isdigit() else None
    if year is None or year > 2100:
        return None
    return subject, f"{year} BC" if (m.groupdict().get("era") or "").upper().startswith("BC") else str(year)


@dataclass(frozen=True)
class Pattern:
    relation: str
    regex: Any  # re.Pattern (built-in packs) or an RE2 regexp (user patterns): same verbs
    source: str
    rule: str | None = None  # built-in packs: the check a match must pass (``_accept``)
    trigger: re.Pattern[str] | None = None  # built-in packs: run only near a hit of this
    anchored: bool = False  # built-in packs: a dictionary-entry rule, tried once at the text's start


def _windows(pattern: Pattern, text: str) -> Iterator[tuple[int, int]]:
    """Spans of ``text`` to search: all of it, or the merged windows around trigger hits."""
    if pattern.trigger is None:
        yield 0, len(text)
        return
    lo = hi = -1
    for t in pattern.trigger.finditer(text):
        a, b = max(0, t.start() - WINDOW), min(len(text), t.end() + WINDOW)
        if a > hi:
            if hi >= 0:
                yield lo, hi
            lo = a
        hi = max(hi, b)
    if hi >= 0:
        yield lo, hi


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
            out.extend(
                Pattern(spec, re.compile(_atomic(rx)), spec, rule, re.compile(t) if t else None, t is None)
                for rx, rule, t in PACKS[spec]
            )
            continue
        if re.fullmatch(r"[A-Za-z_][\w-]*", spec):
            # a bare word is a pack name (a regex of one word has no groups to find facts with)
            import difflib

            near = difflib.get_close_matches(spec.lower().replace("-", "_"), PACKS, n=1)
            raise ConfigError(
                f"--pattern {spec!r}: no built-in pack of that name"
                + (f" (did you mean {near[0]!r}?)" if near else "")
                + f"; the packs are {', '.join(PACKS)}, and a regex of your own is NAME=REGEX with "
                "named groups (?P<subject>...) and (?P<object>...)"
            )
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
        # the same statement matched by two regexes counts once: it shares the subject's or
        # the object's position
        seen: set[tuple[str, str, str, int]] = set()
        facts_found: set[str] = set()
        spans: dict[re.Pattern[str] | None, list[tuple[int, int]]] = {}
        for pat in self.patterns:
            index = pat.regex.groupindex  # re2 match objects take group numbers only
            if pat.anchored:
                found_at_start = pat.regex.match(text)
                matches: Iterable[Any] = (found_at_start,) if found_at_start else ()
            else:
                if pat.trigger not in spans:  # patterns of a pack share their trigger: scan for it once
                    spans[pat.trigger] = list(_windows(pat, text))
                matches = (m for lo, hi in spans[pat.trigger] for m in pat.regex.finditer(text, lo, hi))
            for m in matches:
                if pat.rule is not None:
                    found = _accept(pat.rule, pat.relation, m, text)
                    if found is None:
                        continue
                    subject, obj = found
                else:
                    subject = _trim_name(m.group("subject"))
                    obj = _trim_name(m.group("object").strip())
                    if not subject or not obj or subject in _LEADING:
                        continue
                relation = pat.relation
                if "relation" in index and m.group("relation"):
                    relation = normalize(m.group("relation"))
                fid = fact_id(relation, subject)
                if pat.anchored and fid in facts_found:
                    continue  # an entry's own rule adds a prompt that no other rule found in it
                facts_found.add(fid)
                value = normalize_object(relation, obj)
                keys = ((fid, value, "s", m.start(index["subject"])), (fid, value, "o", m.start(index["object"])))
                if keys[0] in seen or keys[1] in seen:
                    continue
                seen.update(keys)
                yield Mention(fid, relation, value, doc.id, m.start(), subject, obj)
