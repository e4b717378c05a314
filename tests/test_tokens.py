"""audit.tokens: the token count equals the library's own encoding, document by document.

Each tokenizer is trained here with the library's trainers on the WordNet fixture text; the
expected number is always ``len(tok.encode(text, add_special_tokens=False).ids)`` summed."""

from __future__ import annotations

import json
import sys

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.tokens import PY_SPACE, SPACE_REGEXES, TokenCounter
from tests.conftest import FIXTURES, use_engine, write_jsonl

TEXTS = [
    "",
    " ",
    "\n",
    "plain ascii words, with punctuation! and 1234567 digits.",
    "Double  spaces   and\ttabs\t\tand\nnew lines\n\n\nend ",
    " leading space",
    "trailing space ",
    "\n leading newline then space",
    "It's, they're; we'LL I'D ... \"quoted\" (parens) [brackets] {braces} a-b_c",
    "Ünïcödé café naïve résumé Σίσυφος ΣΑΣ straße ſtrange Ⅻ ½ ﬁ ① ２０２４",
    "combining e\u0301 a\u0308 \u0301start and a \u0301 alone",
    "spacing accents ´ and ¨ here",
    "CJK 中文字符 日本語 한국어 and emoji 🙂👍🏽 👨‍👩‍👧",
    "nbsp\xa0here, ideographic\u3000space, en\u2002space, line\u2028sep, nel\x85here",
    "controls \x1c\x1d\x1e\x1f inside a\x1cb and \x00 nul and \x01",
    "zero\u200bwidth and bom\ufeff and soft\xadhyphen",
    "mixed 12,345.67 and 3.14159 and 007",
    "\r\n windows \r\n  lines \r\n",
    "added tokens: [SPECIAL] inside and <extra> too, and Hello there",
    "in one word: x[SPECIAL]y and hello<extra>",
    "HELLO in capitals",
    "x  \n  y",
    "a   b    c",
    "!!! ??? ... --- ",
    "The Battle of Borodino was fought in 1812 near Moscow.",
]

LLAMA3 = SPACE_REGEXES[0]


def _train_texts() -> list[str]:
    with open(FIXTURES / "corpus" / "sample.jsonl", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    # runs of whitespace often enough to be merged into tokens of their own
    return texts + TEXTS + ["    indented  text\n        deeper \n\n  two  spaces  \n \n\t\tend"] * 50


def _build(name: str):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

    norm, pre, kind = {
        "nfkc-whitespace-bpe": (normalizers.NFKC(), pre_tokenizers.Whitespace(), "bpe"),
        "lower-whitespacesplit-wordpiece": (normalizers.Lowercase(), pre_tokenizers.WhitespaceSplit(), "wordpiece"),
        "bert-wordpiece": (normalizers.BertNormalizer(), pre_tokenizers.BertPreTokenizer(), "wordpiece"),
        "nfkc-lower-digits-punct-unigram": (
            normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]),
            pre_tokenizers.Sequence(
                [pre_tokenizers.Punctuation(), pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Digits(True)]
            ),
            "unigram",
        ),
        "nfd-whitespace-wordlevel": (normalizers.NFD(), pre_tokenizers.Whitespace(), "wordlevel"),
        "bytelevel-bpe": (None, pre_tokenizers.ByteLevel(add_prefix_space=True), "bytes"),
        "bytelevel-noprefix-bpe": (None, pre_tokenizers.ByteLevel(add_prefix_space=False), "bytes"),
        "nfkc-bytelevel-bpe": (normalizers.NFKC(), pre_tokenizers.ByteLevel(add_prefix_space=False), "bytes"),
        "llama3-bpe": (
            None,
            pre_tokenizers.Sequence(
                [
                    pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
                ]
            ),
            "bytes",
        ),
        "llama3-prefix-bpe": (  # ByteLevel then puts a space before every piece of the Split
            None,
            pre_tokenizers.Sequence(
                [
                    pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
                    pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False),
                ]
            ),
            "bytes",
        ),
        "metaspace-unigram": (None, pre_tokenizers.Metaspace(), "unigram"),
        "replace-whitespace-bpe": (normalizers.Replace("a", "b"), pre_tokenizers.Whitespace(), "bpe"),
        "prepend-whitespace-bpe": (normalizers.Prepend("x"), pre_tokenizers.Whitespace(), "bpe"),
        "whitespace-bpe-dropout": (None, pre_tokenizers.Whitespace(), "dropout"),
        "whitespace-bpe-byte-fallback": (None, pre_tokenizers.Whitespace(), "fallback"),
        "llama3-split-only-bpe": (None, pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated"), "bpe"),
    }[name]
    special = ["[UNK]", "[SPECIAL]"]
    if kind in ("bpe", "dropout", "fallback"):
        tok = Tokenizer(
            models.BPE(unk_token="[UNK]", dropout=0.5 if kind == "dropout" else None, byte_fallback=kind == "fallback")
        )
        if kind == "fallback":  # the byte tokens a character missing from the vocabulary falls back to
            special = special + [f"<0x{b:02X}>" for b in range(256)]
        limit = {"limit_alphabet": 60} if kind == "fallback" else {}
        trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=special, **limit)
    elif kind == "bytes":
        tok = Tokenizer(models.BPE())
        trainer = trainers.BpeTrainer(
            vocab_size=500, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        )
    elif kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        trainer = trainers.WordPieceTrainer(vocab_size=500, special_tokens=special)
    elif kind == "wordlevel":
        tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
        trainer = trainers.WordLevelTrainer(vocab_size=500, special_tokens=special)
    else:
        tok = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=special, unk_token="[UNK]")
    if norm is not None:
        tok.normalizer = norm
    tok.pre_tokenizer = pre
    tok.train_from_iterator(_train_texts(), trainer)
    tok.add_tokens(["<extra>", "Hello"])  # normalized: true (the library matches them after normalizing)
    return tok


SHAPES = {
    "nfkc-whitespace-bpe": "words",
    "lower-whitespacesplit-wordpiece": "words",
    "bert-wordpiece": "words",
    "nfkc-lower-digits-punct-unigram": "words",
    "nfd-whitespace-wordlevel": "words",
    "bytelevel-bpe": "spaces",
    "bytelevel-noprefix-bpe": "spaces",
    "nfkc-bytelevel-bpe": "spaces",
    "llama3-bpe": "spaces",
    "llama3-prefix-bpe": None,
    "metaspace-unigram": None,
    "replace-whitespace-bpe": None,
    "prepend-whitespace-bpe": None,
    "whitespace-bpe-dropout": None,
    "whitespace-bpe-byte-fallback": "words",
    "llama3-split-only-bpe": None,
}
_BUILT: dict[str, object] = {}


def tokenizer(name: str):
    if name not in _BUILT:
        _BUILT[name] = _build(name)
    return _BUILT[name]


def expected(tok, texts: list[str]) -> int:
    return sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts)


def test_py_space_is_what_str_split_splits_at():
    assert "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()) == PY_SPACE


@pytest.mark.parametrize("name", SHAPES)
def test_shape_decided_at_load(name):
    counter = TokenCounter(tokenizer(name))
    assert counter.shape == SHAPES[name], counter.why
    assert (counter.why == "") == (counter.shape is not None)


@pytest.mark.parametrize("name", [n for n in SHAPES if n != "whitespace-bpe-dropout"])
def test_count_equals_the_librarys_encoding(name):
    tok = tokenizer(name)
    counter = TokenCounter(tok)
    want = expected(tok, TEXTS)
    assert want > 0
    assert counter.count(TEXTS) == want  # one batch, nothing known yet
    assert sum(counter.count([t]) for t in TEXTS) == want  # document by document
    assert counter.count(TEXTS + TEXTS) == 2 * want  # everything known
    for t in TEXTS:  # and each document alone, so a difference names it
        assert TokenCounter(tok).count([t]) == expected(tok, [t]), repr(t)


@pytest.mark.parametrize(
    ("name", "split", "whole"),
    [
        ("nfkc-whitespace-bpe", ["Ünïcödé  café\n\n中文 🙂 a\xa0b", "x  \n y"], ["a\x1cb", "[SPECIAL] x"]),
        ("bytelevel-bpe", ["Ünïcödé café\n\n中文 🙂 a\xa0b", "x\n\ny"], ["a  b", "a\n b", "a\xa0 b", "<extra>"]),
        ("llama3-bpe", ["Ünïcödé café\n\n中文 🙂, it's", " x"], ["a  b", "a\t b", "Hello"]),
        ("nfkc-bytelevel-bpe", ["plain words", "x\ny"], ["café au lait"]),
    ],
)
def test_which_documents_are_cut(name, split, whole, monkeypatch):
    tok = tokenizer(name)
    counter = TokenCounter(tok)
    encoded: list[str] = []
    real = counter._whole

    def spy(texts: list[str]) -> int:
        encoded.extend(texts)
        return real(texts)

    monkeypatch.setattr(counter, "_whole", spy)
    assert counter.count(split + whole) == expected(tok, split + whole)
    assert encoded == whole


def test_added_tokens_are_cut_out_before_the_pieces():
    tok = tokenizer("lower-whitespacesplit-wordpiece")
    ids = tok.encode("hello<extra>", add_special_tokens=False).ids
    assert tok.token_to_id("Hello") in ids and tok.token_to_id("<extra>") in ids  # what the check is for
    counter = TokenCounter(tok)
    assert counter.count(["HELLO<extra>x"]) == expected(tok, ["HELLO<extra>x"])


def test_the_fixture_tokenizer_takes_the_split_path():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(FIXTURES / "tokenizer.json"))
    counter = TokenCounter(tok)
    assert counter.shape == "words"
    texts = [json.loads(line)["text"] for line in (FIXTURES / "corpus" / "sample.jsonl").open(encoding="utf-8")]
    assert counter.count(texts) == expected(tok, texts)


def test_fixture_tokenizer_through_the_cli(cli, tmp_path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(FIXTURES / "tokenizer.json"))
    rows = [orjson.loads(line) for line in (FIXTURES / "corpus" / "sample.jsonl").read_bytes().splitlines()]
    rows += [{"text": t} for t in TEXTS] + [{"text": "[UNK] and [PAD] inside a document"}]
    path = write_jsonl(tmp_path / "c.jsonl", rows)
    r = orjson.loads(
        cli("corpus", path, "-p", "capital", "--tokenizer", FIXTURES / "tokenizer.json", "--json", "-q").stdout
    )
    assert r["inputs"]["tokens"] == expected(tok, [row["text"] for row in rows])


TRICKY = list("ab Z1.,'s\n\t\r\x0b\x1c\x85\xa0\u2002\u3000é\u0301´ſΣ中🙂_-") + ["[SPECIAL]", "<extra>", "Hello", "'ll"]


@pytest.mark.parametrize(
    "name",
    ["nfkc-whitespace-bpe", "bert-wordpiece", "nfkc-lower-digits-punct-unigram", "bytelevel-bpe", "llama3-bpe"],
)
@settings(max_examples=60, deadline=None)
@given(
    docs=st.lists(
        st.lists(st.sampled_from(TRICKY) | st.text(max_size=3), max_size=25).map("".join), min_size=1, max_size=6
    )
)
def test_count_property(name, docs):
    tok = tokenizer(name)
    assert TokenCounter(tok).count(docs) == expected(tok, docs)


ASCII_TRICKY = list("ab Z1.,'s\n\t\r\x0b\x0c\x1c\x1d\x1e\x1f_-!") + ["  ", "Hello", "'ll", "[SPECIAL]", "hello<extra>"]


@pytest.mark.parametrize("scanner", ["compiled", "library"])
@pytest.mark.parametrize("name", ["nfkc-whitespace-bpe", "bert-wordpiece", "lower-whitespacesplit-wordpiece"])
@settings(max_examples=60, deadline=None)
@given(docs=st.lists(st.lists(st.sampled_from(ASCII_TRICKY), max_size=30).map("".join), min_size=1, max_size=8))
def test_ascii_batches_count_alike_with_and_without_the_scanner(scanner, name, docs):
    """ASCII batches of a words-shaped pipeline are cut by the compiled scanner's word_counts
    (every str.split whitespace, \\x1c to \\x1f included), or by str.split without it."""
    _counts_alike(scanner, name, docs)


def _counts_alike(scanner: str, name: str, docs: list[str]) -> None:
    """The counter of pipeline ``name`` with ``scanner`` (compiled or library) counts ``docs``
    as the library encodes them, with nothing known and with every piece known."""
    from audit import extract

    if scanner == "compiled" and extract.compiled_scanner() is None:
        pytest.skip("the compiled scanner was not built")
    tok = tokenizer(name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HALLU_AUDIT_SCANNER", scanner)
        counter = TokenCounter(tok)
        assert counter.count(docs) == expected(tok, docs)
        assert counter.count(docs) == expected(tok, docs)  # with every piece known


# Words of byte-level documents, joined by single spaces: clean (no run of spaces, no whitespace
# before a space) unless a word ends with whitespace, or is an added token or a NUL.
SPACED_WORDS = ["ab", "Z1", ".", ",", "'s", "'ll", "é", "e\u0301", "中文", "🙂", "x\ny", "Σ", "-", "\u2002x", "\xa0",
                "\n", "Hello", "<extra>", "\x00", "\x1c"]  # fmt: skip


@pytest.mark.parametrize("scanner", ["compiled", "library"])
@pytest.mark.parametrize("name", ["bytelevel-bpe", "bytelevel-noprefix-bpe", "nfkc-bytelevel-bpe", "llama3-bpe"])
@settings(max_examples=40, deadline=None)
@given(docs=st.lists(st.tuples(st.lists(st.sampled_from(SPACED_WORDS), min_size=1, max_size=12).map(" ".join),
                               st.sampled_from(["", " "]), st.sampled_from(["", " "])).map("".join),
                     min_size=1, max_size=8))  # fmt: skip
def test_byte_level_batches_count_alike_with_and_without_the_scanner(scanner, name, docs):
    """A byte-level batch is cut and counted whole by the compiled scanner's split_counts where
    every document is clean, document by document otherwise, or by str.split without it."""
    _counts_alike(scanner, name, docs)


@pytest.mark.parametrize("name", ["bytelevel-bpe", "bytelevel-noprefix-bpe", "llama3-bpe"])
def test_a_clean_byte_level_batch_is_counted_whole(name, monkeypatch):
    use_engine(monkeypatch, "compiled")
    tok = tokenizer(name)
    counter = TokenCounter(tok)
    clean = [" Ünïcödé café\n\n中文 🙂, it's", "x\ny 1900 ", "plain words"]
    assert counter._batch_spaces(clean) == expected(tok, clean)
    for bad in ("a  b", "a\n b", "a\u3000 b", "<extra>", "", "a\x00b"):
        assert counter._batch_spaces([*clean, bad]) is None, repr(bad)
    monkeypatch.setattr(counter, "_whole", lambda texts: pytest.fail(f"encoded whole: {texts!r}"))
    assert counter.count(clean) == expected(tok, clean)
