"""Counting a corpus's tokens (``--tokenizer``) exactly, without encoding most of it.

The number wanted is ``len(tokenizer.encode(text, add_special_tokens=False).ids)`` summed over
the documents. The tokenizers library encodes a few MB/s per core, ten times slower than a scan.
But the library applies the model to each pre-token alone, and for most pipelines a document's
pre-tokens are those of pieces cut at whitespace, which recur (Zipf): so a document is cut with
``str.split``, each distinct piece's tokens are counted once (its normalized pre-tokens, each
given to the model, ``TokenCounter._piece``), and every later occurrence is a dict look-up.
Two shapes of pipeline are cut so, decided once from the tokenizer's JSON:

``words``: a pre-tokenizer that cuts at whitespace and drops it (``Whitespace``,
``WhitespaceSplit``, ``BertPreTokenizer``, alone or in a ``Sequence`` with ``Punctuation`` /
``Digits``, which cut by character class), normalizers that act on each character alone
(``Lowercase``, ``BertNormalizer``) or are Unicode normal forms (``NFC`` ``NFD`` ``NFKC``
``NFKD``, whose whitespace characters are starters that never compose), or none. ``a<sep>b``
then encodes as ``a`` and ``b`` apart, for each separator of ``str.split()`` that the normalizer
keeps as whitespace the pre-tokenizer drops; which do is asked of the library at load:
``\\x1c``-``\\x1f`` never (the library keeps them as text), nor controls a ``BertNormalizer``
removes. A document holding a separator that does not is encoded whole.

``spaces``: the byte-level pipelines, ``ByteLevel`` with its GPT-2 regex, or a ``Split`` with
the Llama-3 (cl100k) regex or Qwen2's followed by ``ByteLevel`` without one and without
``add_prefix_space`` (which would put a space before every piece of the Split), and no normalizer
or one that keeps ASCII as it is or lowercases it. No piece of these regexes holds a
non-whitespace character followed by a space, and none looks behind, so a document in which
no whitespace precedes a space is the pieces ``text.split(" ")``, each after the first counted
with its leading space (the first too where ``add_prefix_space`` adds one). Which characters
are whitespace to the library is asked of it, for ASCII at load and for any other character
the first time a document holds it (non-ASCII documents only where there is no normalizer).
Other documents (double spaces, ``"\\n "``) are encoded whole.

Everything else is encoded whole by the library, as before: other pipelines (``Metaspace``, any
other ``Split`` regex, no pre-tokenizer, a ``Replace`` / ``Prepend`` / ``Strip`` normalizer, BPE
dropout, truncation or padding set; ``TokenCounter.why`` says which), and, per document, one where
an added token's content occurs (the library cuts those out first, so the pieces would differ).
"""

from __future__ import annotations

import json
import re
from itertools import islice
from typing import Any

#: What ``str.split()`` (no argument) splits at: ``str.isspace``; a test checks the list.
PY_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_NORMALIZERS = {"NFC", "NFD", "NFKC", "NFKD", "Lowercase", "BertNormalizer"}
#: Normal forms leave ASCII text as it is.
_ASCII_SAME = {"NFC", "NFD", "NFKC", "NFKD"}
#: Pre-tokenizers that cut at whitespace and drop it, and others that cut by character class only.
_SPLITTERS = {"Whitespace", "WhitespaceSplit", "BertPreTokenizer"}
_LOCAL = _SPLITTERS | {"Punctuation", "Digits"}
_MODELS = {"BPE", "WordPiece", "WordLevel", "Unigram"}
#: ``Split`` regexes of the ``spaces`` shape: Llama-3 / cl100k, and Qwen2 (digits one by one).
SPACE_REGEXES = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+",
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
#: Distinct pieces (and pre-tokens) remembered; past that the memory starts over, still exact.
CACHE_MAX = 1 << 19


def _members(spec: dict[str, Any] | None, key: str) -> list[dict[str, Any]]:
    if spec is None:
        return []
    if spec.get("type") == "Sequence":
        return [m for sub in spec.get(key, []) for m in _members(sub, key)]
    return [spec]


def _shape(spec: dict[str, Any]) -> tuple[str | None, str]:
    """The shape the pipeline has (``words``, ``spaces``) and '', or None and why not."""
    if spec.get("truncation") is not None or spec.get("padding") is not None:
        return None, "truncation or padding is set"
    model = spec.get("model") or {}
    if model.get("type") not in _MODELS:
        return None, f"model {model.get('type')}"
    if model.get("dropout") is not None:
        return None, "BPE dropout"
    norms = {n.get("type", "?") for n in _members(spec.get("normalizer"), "normalizers")}
    other = sorted(map(str, norms - _NORMALIZERS))
    if other:
        return None, f"normalizer {', '.join(other)}"
    pres = _members(spec.get("pre_tokenizer"), "pretokenizers")
    if not pres:
        return None, "no pre-tokenizer"
    kinds = {p.get("type", "?") for p in pres}
    if kinds <= _LOCAL and kinds & _SPLITTERS:
        return "words", ""
    if _spaces_pre(pres) is not None:
        if norms <= _ASCII_SAME | {"Lowercase"}:
            return "spaces", ""
        return None, f"normalizer {', '.join(sorted(map(str, norms)))} with a byte-level pre-tokenizer"
    return None, f"pre-tokenizer {', '.join(sorted(map(str, kinds)))}"


def _spaces_pre(pres: list[dict[str, Any]]) -> tuple[str | None, bool] | None:
    """(the Split regex or None for ByteLevel's own, add_prefix_space) of a ``spaces`` pipeline."""
    last = pres[-1]
    if last.get("type") != "ByteLevel":
        return None
    prefix = bool(last.get("add_prefix_space"))
    if len(pres) == 1 and last.get("use_regex", True):
        return None, prefix
    if len(pres) == 2 and not last.get("use_regex", True):
        split = pres[0]
        pattern = (split.get("pattern") or {}).get("Regex")
        # (with add_prefix_space, ByteLevel puts a space before each Split piece: no pieces then)
        if (split.get("type") == "Split" and pattern in SPACE_REGEXES and not prefix
                and split.get("behavior") == "Isolated" and not split.get("invert")):  # fmt: skip
            return pattern, prefix
    return None


class TokenCounter:
    """``count(texts)``: the tokens of ``texts`` as the tokenizer encodes each one, summed.

    ``shape`` is ``words`` or ``spaces`` where most documents are cut into pieces, else None and
    ``why`` says why every document is encoded whole."""

    def __init__(self, tokenizer: Any) -> None:
        self._tok = tokenizer
        self._encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)  # tokenizers < 0.20
        spec = json.loads(tokenizer.to_str())
        self.shape, self.why = _shape(spec)
        self._pieces = _Counts()  # piece -> tokens (spaces: of " " + piece)
        self._firsts = _Counts()  # spaces: a document's first piece -> tokens, without a space
        self._pre_tokens: dict[str, int] = {}  # pre-token -> the model's tokens
        norm = tokenizer.normalizer
        self._normalize = norm.normalize_str if norm is not None else _same
        self._tokenize = tokenizer.model.tokenize
        self._pre = tokenizer.pre_tokenizer.pre_tokenize_str if tokenizer.pre_tokenizer is not None else None
        if self.shape == "words":
            self._prepare_words()
        elif self.shape == "spaces":
            self._prepare_spaces(spec)
        if self.shape is not None:
            self._prepare_added(spec)

    # -- at load ---------------------------------------------------------------------------------
    def _prepare_words(self) -> None:
        assert self._pre is not None
        bad = ""
        for c in PY_SPACE:  # a separator: the normalizer keeps it as whitespace the pre-tokenizer drops
            out = self._normalize(c)
            if not out or [p for p, _ in self._pre(f"a{out}a")] != ["a", "a"]:
                bad += c
        if " " in bad:
            self.shape, self.why = None, "the space is no separator to this pipeline"
        self._bad_ascii = tuple(c for c in bad if c.isascii())
        self._bad = tuple(bad)

    def _prepare_spaces(self, spec: dict[str, Any]) -> None:
        from tokenizers import Regex, pre_tokenizers

        got = _spaces_pre(_members(spec.get("pre_tokenizer"), "pretokenizers"))
        assert got is not None
        pattern, self._prefix = got
        # the same pipeline without the prefix space, for pieces counted on their own
        pre: Any = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=pattern is None)
        if pattern is not None:
            pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(pattern), "isolated", invert=False), pre])
        cut_: Any = pre.pre_tokenize_str
        self._pre = cut_

        def cut(text: str) -> list[str]:
            return [p for p, _ in cut_(text)]

        pairs = [(a, b) for a in ("x", "1", "!", "'") for b in (" y", " 1", " !", " \n", " 's")]

        def apart(c: str) -> bool:
            """Whether ``c`` shares no piece with a space after it (it is no whitespace)."""
            return all(cut(f"{a}{c}{b}") == cut(f"{a}{c}") + cut(b) for a, b in pairs)

        self._apart = apart
        # a whitespace character before a space may share a piece with it (``\s+(?!\S)``); the
        # regexes' whitespace in ASCII is "\t\n\x0b\x0c\r ", and the library is asked that no other
        # ASCII character shares a piece with a space after it, and that these do
        space = "\t\n\x0b\x0c\r "
        for c in map(chr, range(128)):
            if apart(c) == (c in space) and c != " ":
                self.shape, self.why = None, f"the pre-tokenizer's whitespace is not the regex's ({c!r})"
        self._before_space = tuple(f"{c} " for c in space if c != " ")  # spaces: by the pieces
        # what may not come before a space in a batch counted whole (``_batch_spaces``)
        self._before_chars = "\t\n\x0b\x0c\r" + "".join(c for c in PY_SPACE if not c.isascii())
        # non-ASCII documents: no whitespace str.split knows may precede a space either, and each
        # other character in them is asked of the library once (where no normalizer could turn
        # it into whitespace)
        self._seen: dict[str, bool] = dict.fromkeys(PY_SPACE, True)  # checked before a space instead
        self._unicode = self._tok.normalizer is None

    def _prepare_added(self, spec: dict[str, Any]) -> None:
        # the library cuts added tokens out of the raw text (normalized: false) or out of the
        # normalized text (normalized: true); a document holding either is encoded whole
        types = {n["type"] for n in _members(spec.get("normalizer"), "normalizers")}
        self._ascii_norm: Any = None  # ASCII text as the normalizer leaves it, where that is plain Python
        if types <= _ASCII_SAME:
            self._ascii_norm = _same
        elif types <= _ASCII_SAME | {"Lowercase"}:
            self._ascii_norm = str.lower
        raw: set[str] = set()
        normed: set[str] = set()
        for added in spec.get("added_tokens") or []:
            content = added["content"]
            raw.add(content)
            if added.get("normalized") and self._tok.normalizer is not None:
                normed.update((content, self._normalize(content)))
        self._raw = _finder(raw)
        self._normed = _finder(normed)
        self._nul_added = any("\x00" in c for c in raw | normed)  # one could span two joined documents

    # -- counting --------------------------------------------------------------------------------
    def count(self, texts: list[str]) -> int:
        """The tokens of ``texts``, each encoded without special tokens, summed."""
        if self.shape == "words":
            return self._count_words(texts)
        if self.shape == "spaces":
            return self._count_spaces(texts)
        return self._whole(texts)

    def _whole(self, texts: list[str]) -> int:
        return sum(map(len, self._encode(texts, add_special_tokens=False))) if texts else 0

    def _no_added(self, text: str, ascii_: bool) -> bool:
        if self._raw(text):
            return False
        if self._normed is not _nothing:
            fast = self._ascii_norm if ascii_ else None
            return not self._normed(fast(text) if fast is not None else self._normalize(text))
        return True

    def _words_clean(self, text: str) -> bool:
        """Whether ``text`` is the sum of its ``str.split()`` pieces to the tokenizer."""
        ascii_ = text.isascii()
        for c in self._bad_ascii if ascii_ else self._bad:
            if c in text:
                return False
        return self._no_added(text, ascii_)

    def _count_words(self, texts: list[str]) -> int:
        whole: list[str] = []
        if not self._words_clean(" ".join(texts)):  # then document by document
            clean = list(map(self._words_clean, texts))
            whole = [t for t, ok in zip(texts, clean, strict=True) if not ok]
            texts = [t for t, ok in zip(texts, clean, strict=True) if ok]
        pieces = self._pieces
        joined = " ".join(texts)
        counted = _word_counts(joined)
        if counted is None:
            total = sum(map(pieces.__getitem__, joined.split()))
            return total + self._resolve(pieces, "") + self._whole(whole)
        # each distinct piece once, times its count (cut by the compiled scanner)
        return self._sum(pieces, counted, "") + self._whole(whole)

    def _count_spaces(self, texts: list[str]) -> int:
        counted = self._batch_spaces(texts)
        if counted is not None:
            return counted
        pieces, firsts, whole = self._pieces, self._firsts, []
        prefix = self._prefix
        total = 0
        for text in texts:
            parts = text.split(" ")
            # a space after a space: the first of a run of three or more shares a piece with the next
            empties = parts.count("")
            if empties and empties > (parts[0] == "") + (len(parts) > 1 and parts[-1] == ""):
                whole.append(text)
                continue
            if not (text and self._spaces_clean(text)):
                whole.append(text)
                continue
            if prefix and parts[0]:
                total += sum(map(pieces.__getitem__, parts))
            else:
                total += firsts[parts[0]] + sum(map(pieces.__getitem__, islice(parts, 1, None)))
        return total + self._resolve(pieces, " ") + self._resolve(firsts, "") + self._whole(whole)

    def _batch_spaces(self, texts: list[str]) -> int | None:
        """``_count_spaces`` of a batch whose documents are all clean, its pieces cut and counted
        by the compiled scanner (``split_counts``: one dict entry a distinct piece); None for
        another batch, or without the scanner. The documents are joined by NUL, which is no
        whitespace and shares no regex piece with a space: a batch that holds no other NUL, no
        run of spaces, no whitespace before a space and no added token is clean exactly when
        each of its documents is."""
        from audit.extract import compiled_scanner

        scanner = compiled_scanner()
        if scanner is None or not texts or not all(texts) or self._nul_added:
            return None
        joined = "\x00".join(texts)
        if joined.count("\x00") != len(texts) - 1:
            return None
        got = scanner.split_counts(joined, " ", "\x00", self._before_chars)
        if got is None:
            return None
        first, rest, others = got
        if others:  # the checks of _spaces_clean, for each distinct character once
            if not self._unicode:
                return None
            seen = self._seen
            for c in others:
                ok = seen.get(c)
                if ok is None:
                    ok = seen[c] = self._apart(c)
                if not ok:
                    return None
        if not self._no_added(joined, not others):
            return None
        if self._prefix:  # the library puts a space before a first piece that has none
            for piece, n in first.items():
                if piece:
                    rest[piece] = rest.get(piece, 0) + n
            first = {"": first[""]} if "" in first else {}
        return self._sum(self._pieces, rest, " ") + self._sum(self._firsts, first, "")

    def _sum(self, known: _Counts, counted: dict[str, int], lead: str) -> int:
        """The tokens of ``counted`` (piece -> occurrences), each piece's (``lead`` + piece)
        taken from ``known`` or counted once and kept there."""
        total, new = 0, []
        for piece, n in counted.items():
            k = known.get(piece)
            if k is None:
                new.append(piece)
            else:
                total += k * n
        if new:
            if len(known) + len(new) > CACHE_MAX:
                known.clear()
            for piece in new:
                k = known[piece] = self._piece(lead + piece)
                total += k * counted[piece]
        return total

    def _spaces_clean(self, text: str) -> bool:
        """Whether ``text`` is the sum of its ``split(" ")`` pieces (no run of spaces in it)."""
        for s in self._before_space:
            if s in text:
                return False
        if text.isascii():
            return self._no_added(text, True)
        if not self._unicode:
            return False
        seen = self._seen
        for c in set(_NON_ASCII.findall(text)):
            ok = seen.get(c)
            if ok is None:
                ok = seen[c] = self._apart(c)
            if not ok or (c in PY_SPACE and f"{c} " in text):
                return False
        return self._no_added(text, False)

    def _resolve(self, counts: _Counts, lead: str) -> int:
        """Count the pieces ``counts`` missed (``lead`` + piece), and their occurrences' tokens."""
        missed = counts.missed
        if not missed:
            return 0
        new = dict.fromkeys(missed)
        if len(counts) + len(new) > CACHE_MAX:
            counts.clear()
        counts.update((piece, self._piece(lead + piece)) for piece in new)
        total = sum(map(counts.__getitem__, missed))
        missed.clear()
        return total

    def _piece(self, piece: str) -> int:
        """A piece's tokens: its normalized pre-tokens, each as the model encodes it."""
        assert self._pre is not None
        known = self._pre_tokens
        n = 0
        for pre, _ in self._pre(self._normalize(piece)):
            k = known.get(pre)
            if k is None:
                if len(known) >= CACHE_MAX:
                    known.clear()
                k = known[pre] = len(self._tokenize(pre))
            n += k
        return n


def _word_counts(text: str) -> dict[str, int] | None:
    """``collections.Counter(text.split())`` from the compiled scanner, or None without it: the
    pieces are then made one by one."""
    from audit.extract import compiled_scanner

    scanner = compiled_scanner()
    if scanner is None:
        return None
    return scanner.word_counts(text.encode("ascii")) if text.isascii() else scanner.text_word_counts(text)


class _Counts(dict[str, int]):
    """Tokens per piece; a piece not in it counts 0 here and is listed in ``missed``."""

    def __init__(self) -> None:
        super().__init__()
        self.missed: list[str] = []

    def __missing__(self, piece: str) -> int:
        self.missed.append(piece)
        return 0


def _same(text: str) -> str:
    return text


def _nothing(text: str) -> bool:
    return False


def _finder(contents: set[str]) -> Any:
    """A test for whether a text holds any of ``contents``."""
    if not contents:
        return _nothing
    if "" in contents:
        return lambda text: True
    if len(contents) <= 4:
        items = tuple(contents)
        return lambda text: any(c in text for c in items)
    return re.compile("|".join(map(re.escape, sorted(contents, key=len, reverse=True)))).search
