"""Grading one model answer against one reference fact: correct, incorrect or abstained.

The three grades are SimpleQA's (OpenAI 2024): correct / incorrect / not attempted; here "not
attempted" is called *abstained*. Every grade carries the rule that fired (``reason``) and the
text of the answer it fired on (``matched``), so a surprising grade can be traced.

What kind of answer a fact expects is read from its object (``kind_of``):

- ``date``: a full date ("March 1, 1974", "1 March 1974", "1974-03-01") or a month and year;
- ``year``: a plain year 1000-2100, or a year with an era ("476 AD", "44 BC");
- ``number``: a number with an optional scale word and unit ("1,000", "8,849 m", "1.5 million");
- ``name``: everything else.

The rules, in the order they are tried:

1. ``abstained/flag``: the row says ``"abstain": true``. ``abstained/empty``: nothing but blanks
   and punctuation.
2. ``correct/exact``: the whole answer, normalised (``audit.normalize``) and stripped of outer
   punctuation, is the object or an alias.
3. The answer is scanned for *candidates* of the fact's kind, each classified as a hit (it is the
   reference value), a partial hit or another value:

   - names: the object or an alias occurring as whole words after normalisation (punctuation is a
     word break, so "Washington D.C." = "Washington, D.C."); other candidates are runs of
     capitalised words in the raw answer ("Lyon", "Bay of Bengal", "Apollo 13"), leaving out
     the subject's words, the question's words and a list of stop words (``STOP_WORDS``: function
     words, hedges, months, "AI"-style boilerplate). In an answer with no capital letter at all,
     runs of non-stop words are candidates instead. A hit inside a longer name ("Paris Hilton"
     for "Paris") is not a hit. A candidate made of the reference name's last words ("Einstein"
     for "Albert Einstein") is a hit (``surname``); one made of other words of it ("Albert") is
     a partial hit. With ``fuzzy`` > 0, a candidate whose ``rapidfuzz.fuzz.ratio`` with the object
     or an alias is >= ``fuzzy`` is a hit (``fuzzy``): "Canbera" for "Canberra" scores 93.3.
   - numbers: every number in the answer ("1,000" = "1000" = "one thousand" is not parsed, but
     "1 thousand", "twelve" and "twenty-one" are), compared as numbers; numbers that occur in
     the question or subject, and years after "in", "as of", "since" and the like, are not
     candidates.
   - dates and years: every date, month-and-year, day-and-month and year, compared as dates;
     "03/01/1974" matches if either the US or the European reading does. A year-only reference
     matches any date in that year; for a full-date reference, a consistent year (or month and
     year, or day and month) alone is a partial hit, and a year plus a day-and-month together
     is a hit.

   A candidate preceded by a negation ("not Lyon", "rather than 1880", "isn't Paris") or followed
   by "is not" is ignored; if the only hits are negated the answer is ``incorrect/negated``.
4. ``incorrect/contradiction``: a hit and another value joined as alternatives: "or", "nor",
   "/", "maybe", "perhaps", "possibly", "vs", a range ("1879-1880", "between 1000 and 2000",
   "1879 to 1880"), or a comma list containing one of them ("Paris, Lyon or Marseille").
   Other values that are not alternatives ("Paris, on the Seine"; "born 1879, died 1955")
   do not contradict.
5. ``correct/<how>``: a hit; ``how`` is ``match``, ``surname``, ``fuzzy``, ``number`` or ``date``
   (suffixed ``+hedged`` when an abstention phrase also fired: "I'm not sure, but Paris").
6. ``incorrect/wrong-value``: another value of the fact's kind, and no hit.
7. ``abstained/incomplete``: only partial hits (a year for a full date, "Albert" for "Albert
   Einstein"): the answer states part of the reference and nothing contradicting it, which is
   SimpleQA's "not attempted".
8. ``abstained/phrase:<label>``: a refusal or "I don't know"-style phrase (``ABSTAIN_PHRASES``,
   extended with ``GraderConfig.abstain_patterns``, reported as ``pattern:<i>``).
9. ``abstained/no-candidate``: the answer states no candidate of the fact's kind at all: it
   restates the question or describes the subject ("France is a country in Western Europe" has
   the candidate "Western Europe", so it is *incorrect*; "The capital of France is a beautiful
   city" has none).

Known limits, by design: a wrong answer that also mentions the right value without an
alternative connector ("The capital is Lyon. Paris is the largest city") is graded correct;
proper nouns that merely describe the subject count as candidates of a name.

Where the rules live: ``core`` (grades, the config, items), ``names`` (words, runs and hits of
names), ``numbers`` (numbers, dates and the kind of a reference), ``phrases`` (abstention
phrases), ``links`` (negations and alternatives), ``reference`` (the per-fact set-up) and
``grader`` (the candidate scans and the decision).
"""

from audit.grading.core import ABSTAINED, CORRECT, DEFAULT_FUZZY, GRADES, INCORRECT, Grade, GraderConfig
from audit.grading.grader import Grader
from audit.grading.names import STOP_WORDS, loose
from audit.grading.numbers import _DATE, _NUMBER, Date, iter_dates, iter_numbers, kind_of
from audit.grading.phrases import ABSTAIN_PHRASES
from audit.grading.reference import _MatchInfo

__all__ = [
    "ABSTAINED",
    "ABSTAIN_PHRASES",
    "CORRECT",
    "DEFAULT_FUZZY",
    "GRADES",
    "INCORRECT",
    "STOP_WORDS",
    "Date",
    "Grade",
    "Grader",
    "GraderConfig",
    "_DATE",
    "_MatchInfo",
    "_NUMBER",
    "iter_dates",
    "iter_numbers",
    "kind_of",
    "loose",
]
