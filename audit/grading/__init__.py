"""Grading one model answer against one reference fact: correct, incorrect or abstained.

The three grades are SimpleQA's (OpenAI 2024): correct / incorrect / not attempted; here "not
attempted" is called *abstained*. Every grade carries the rule that fired (``reason``) and the
text of the answer it fired on (``matched``), so a surprising grade can be traced.

What kind of answer a fact expects (``kind_of``) is its ``answer_type`` when the reference row
has one (``audit.facts.ANSWER_TYPES``), else read from its object, trailing punctuation and a
trailing "(remark)" set aside:

- ``date``: a full date ("March 1, 1974", "1 March 1974", "1974-03-01") or a month and year;
- ``year``: a plain year 1000-2100 ("1946."), or a year with an era ("476 AD", "44 BC");
- ``number``: a number with an optional scale word and unit ("1,000", "8,849 m", "1.5 million");
- ``name``: everything else, codes and versions included ("MP-22", "1.2.1", "4A"), and objects
  holding several values ("1914-1918"): compared as text.

A name fact also has a *type* (``slot.semantic_type``): ``region`` when the object is a
continent or a region of one ("Asia", "South America"; ``slot.CONTINENTS``, a short list of
general knowledge), else ``person`` or ``place`` from the answer_type, else ``person`` for a
"who" question and ``place`` for a question or relation about a capital, city, country, location
or "where"; else ``other``.

Question-only facts (no subject, SimpleQA's shape) are graded the same way; their question plays
the subject's part (its words are never candidates, and repeating them is an echo), but the
reference value still counts wherever it stands in the answer.

The rules, in the order they are tried:

1. ``abstained/flag``: the row says ``"abstain": true``. ``abstained/empty``: nothing but blanks
   and punctuation. ``abstained/pattern:<i>``: the user's own ``abstain_patterns`` regex number
   i matches; it decides before any value the answer holds (the user knows their model's way
   of declining).
2. ``correct/exact``: the whole answer, normalised (``audit.normalize``) and stripped of outer
   punctuation, is the object or an alias.
3. The answer is scanned for *candidates* of the fact's kind, each classified as a hit (it is the
   reference value), a partial hit or another value:

   - names: the object or an alias occurring as whole words after normalisation (punctuation is a
     word break, so "Washington D.C." = "Washington, D.C."; an in-word apostrophe is not, and is
     dropped, so "Pape'ete" = "Papeete", "Hawai'i" = "Hawaii"); other candidates are runs of
     capitalised words in the raw answer ("Lyon", "Bay of Bengal", "Apollo 13"), leaving out
     the subject's words, the question's words and a list of stop words (``STOP_WORDS``: function
     words, hedges, months, "AI"-style boilerplate). In an answer with no capital letter at all,
     runs of non-stop words are candidates instead. For a reference with digits (a code or a
     version), every string written the same way is a candidate too ("MP-24", "1.2.2"). A hit
     inside a longer name ("Paris Hilton" for "Paris") is not a hit, unless the longer name only
     says it is a settlement ("Port Stanley" for "Stanley"; "Kuwait City" for "Kuwait" when the
     question asks for a city or capital), or has the same letters ("Ouaga-Dougou"). For a
     ``region`` fact, compass words and a reference continent ("Southeast Asia", "North
     African", "Sub-Saharan Africa") are that continent at a finer grain, a hit (``region``),
     but never for another type ("South Sudan" is not "Sudan", "North Korea" not "South
     Korea"); a continent that holds the reference ("the Americas", "America" for "South
     America", "Eurasia" for "Asia") is a partial hit; only continents and their regions are
     candidates of a region fact (not "Malaysia", "the Pacific", "the Middle East"). A candidate
     made of the reference name's last words ("Einstein" for "Albert Einstein") is a hit
     (``surname``); one made of other words of it ("Albert") is a partial hit. With ``fuzzy`` >
     0, a candidate whose ``rapidfuzz.fuzz.ratio`` with the object or an alias is >= ``fuzzy``
     is a hit (``fuzzy``): "Canbera" for "Canberra" scores 93.3. For a place or a person, a
     region ("North Africa", "Western Europe") or a nationality adjective ("Greek", "a Moroccan
     city") is no candidate: it is no value of that type. For any fact, an organisation (a
     name ending with the word of a body: "European Economic Community", "African Union") is
     no candidate unless the reference is one, nor is its abbreviation ("EEC": the initials of
     one dropped); for a name of type ``other`` (a currency, a language), a continent's region
     ("East Asia"); for a formula or structured code (every name one word with letters and a
     digit, or symbols run together: "H2O", "NaCl", "MP-22"; not "Nur-Sultan"), a name not
     written like a code (no digit, no inner capital: "Sulfic", "Natural Gas"), except in an
     answer with no capital letter, where nothing tells a code's case.
   - numbers: every number in the answer, compared as numbers with the object's and every
     alias's that is a number ("8848" is a hit of "8,849 m" with alias "8848 m"); where both
     carry a unit of ``numbers.UNITS`` the units must agree ("29,032 ft" is "29,032 feet",
     "8,849 feet" is not "8,849 m"). Digits with thousands groups,
     decimals and an unambiguous decimal comma ("3,14", "1,5 million"; "1,000" is a thousand),
     scale words ("1.5 million") and written numbers ("twenty-one", "two hundred and five",
     "one thousand"). Numbers that occur in the question or subject are not candidates, nor are
     years after "in", "as of", "since" and the like (never one written with a thousands comma,
     "1,500", and never after "of": "a population of 2000" is a count), nor, for a reference
     that is no share, a share ("45%"), nor the numbers of a unit's definition ("1 meter (m) is
     equal to 3.28 feet": one of a unit, an equivalence, a number of another unit).
   - dates and years: every date, month-and-year, day-and-month and year, and years said as
     words ("sixteen thirty-six", "nineteen oh five", "two thousand and five"), compared as dates;
     "03/01/1974" matches if either the US or the European reading does. A year-only reference
     matches any date in that year; for a full-date reference, a consistent year (or month and
     year, or day and month) alone is a partial hit, and a year plus a day-and-month together
     is a hit. A decade or century ("the 1940s", "the 19th century") is a range of years: a
     partial hit when the reference year is inside it, another value when it is not.

   A candidate preceded by a negation ("not Lyon", "rather than 1880", "isn't Paris") or followed
   by "is not" is ignored; if the only hits are negated the answer is ``incorrect/negated``.
   A hit that stands only in a restated copy of the question ("The capital of Djibouti is a port
   city") is ignored too: the question's word, not the answer's.
4. ``incorrect/contradiction``: a hit and another value joined as alternatives: "or", "nor",
   "/", "maybe", "perhaps", "possibly", "vs", a range ("1879-1880", "between 1000 and 2000",
   "1879 to 1880"), or a comma list containing one of them ("Paris, Lyon or Marseille"); or two
   sentences that each restate the question word for word, one answering with the hit and one
   with another value ("The highest mountain is Everest. However, the highest mountain is
   Kilimanjaro.").
   Other values that are not alternatives ("Paris, on the Seine"; "born 1879, died 1955")
   do not contradict.
5. ``correct/<how>``: a hit; ``how`` is ``match``, ``surname``, ``fuzzy``, ``number`` or ``date``
   (suffixed ``+hedged`` when an abstention phrase also fired: "I'm not sure, but Paris").
6. ``incorrect/wrong-value``: another value of the fact's kind, and no hit.
7. ``abstained/incomplete``: only partial hits (a year for a full date, "Albert" for "Albert
   Einstein", "the 1900s" for 1905): the answer states part of the reference and nothing
   contradicting it, which is SimpleQA's "not attempted".

With no candidate left, the answer's *slot* decides (``audit.grading.slot``: the whole answer
when it is short, else what follows the copula of a sentence that restates the question or
names the subject, "The capital of Chad is ___"; a relative clause that only restates the
question is part of the restated text, "The metal that is liquid at room temperature is ___"):

8. ``incorrect/echo``: the slot holds only the subject, a subject alias or part of one, or a
   value copied from the question: "Chad" for the capital of Chad; "The capital of Cabo Verde is
   Cabo."; or the subject stands before a slot that names it again with a word of the question
   the part before lacks: "El Salvador is the capital of El Salvador." The answer attempts the
   question and is wrong. "The capital of France is a beautiful city" (no subject in the slot's
   value), "a city in Lesotho" and "South Africa is a country in Africa" (the subject only as a
   complement of a description: no word of the question) and "The currency of Brazil is the
   currency of Brazil" (the question said twice, the same words on both sides) are no echoes.
9. ``incorrect/wrong-value``: for a year or date, a number in the slot ("Copernicus was born in
   19.69") is a value attempted.
10. ``abstained/phrase:<label>``: a refusal or "I don't know"-style phrase (``ABSTAIN_PHRASES``,
    extended with ``GraderConfig.abstain_patterns``, reported as ``pattern:<i>``).
11. For a code or symbol reference (every name one word of at most three characters: "Nb"),
    the first word of the slot written like a code ("is ni", "is cCaesium") is the candidate;
    for a formula or structured code, the first word with a digit or an inner capital ("is
    18"); never a fragment of a hyphenated word ("is a non-toxic gas").
    For a name of type ``other``, the noun phrase after a determiner in the slot ("The animal
    was a bear.") is the candidate, when it names no kind of thing ("a beautiful city", "the
    largest country"), repeats no word of the question and heads no description ("a land of
    contrasts"), and not for a formula or code ("Ozone is a gas");
    after a classifier the phrase it classifies counts ("a kind of squash"), and
    after the question's own noun the name it is called ("a metal called aluminium"):
    ``incorrect/wrong-value`` (or a hit, as in 3). A person, a place or a continent is named by
    a proper name, so a common noun is never one.
12. ``abstained/no-candidate``: nothing of the above: the answer restates the question or
    describes the subject ("France is a country in Western Europe", "The capital of France is
    a beautiful city").

Known limits, by design: a wrong answer that also mentions the right value without an
alternative connector ("The capital is Lyon. Paris is the largest city") is graded correct;
proper nouns that merely describe the subject count as candidates of a name; a country named in
a description ("bordered by Tunisia") counts as a candidate of a city.

Where the rules live: ``core`` (grades, the config, items), ``names`` (words, runs and hits of
names), ``numbers`` (numbers, dates and the kind of a reference), ``phrases`` (abstention
phrases), ``links`` (negations and alternatives), ``slot`` (slots, echoes, noun phrases and the type of
a name), ``reference`` (the per-fact set-up) and ``grader`` (the candidate scans and the
decision).
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
