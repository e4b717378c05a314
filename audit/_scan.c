/* Whole-word multi-key matching for audit.extract: the hits daachorse's find_overlapping gives
 * for keys padded with a space on each side, found a word at a time.
 *
 * A key is words (runs of bytes other than the space, 0x20) with runs of spaces between them.
 * " key " occurs in a text exactly where the text's words from some word on equal the key's
 * words, the runs of spaces between them are as long as the key's, and a space comes before the
 * first word and after the last: a word of the text is a maximal run, so no key word can match a
 * part of one. So the scan hashes each word of the text once, and from each word that follows a
 * space it extends a hash of (word, gap, word, ...) while a table says some key starts so; where
 * the hash is a key's, the key's bytes are compared with the text's (a hash collision never makes
 * a hit). Names in text are a few words long, so a word costs a hash and one or two table probes,
 * whatever the number of keys (an automaton's state walk over 260k keys missed the cache at most
 * bytes of name-dense text).
 *
 * Scanner(keys): keys a sequence of str (taken as UTF-8) or bytes, or one bytes object holding
 * them joined by newlines; none empty, none holding a newline, none starting or ending with a
 * space; a key's id is its index. Scanner.find(data) -> bytes: the hits as
 * little-endian int64 triples
 * (start, end, key id), start the offset of the space before the key and end the offset after the
 * space after it (daachorse's offsets for the padded key), ordered by the first word's offset and
 * then by length. Every occurrence is reported, overlapping ones too. The GIL is released while
 * the text is scanned. Scanner.joined() -> bytes: the keys in id order joined by newlines (what
 * it was built from).
 *
 * name_keys(views, max_gap_words) -> (keys, name_key, name_off): the keys of a reference table's
 * names, as audit.extract.view_keys makes them, for all names in one pass. views: the names' word
 * views joined by newlines (spaces around a view are dropped). A name's keys are its view; for a
 * name of 2 to max_gap_words words also each way of writing each gap between its words as one or
 * two spaces; for a longer name also its words joined by one space; each key once. keys: the
 * distinct keys of all names joined by newlines, numbered in the order first met (what Scanner
 * takes); name_key: int64 key ids, name by name; name_off: int64, name i's ids are
 * name_key[name_off[i]:name_off[i + 1]] (one more than the names).
 *
 * expand(offsets, rows) -> (owner, flat): audit.extract._expand, the compressed-row lookup of the
 * matcher's tables (two numpy repeats a batch took a tenth of a name-dense scan).
 *
 * word_counts(data) -> dict: the pieces str.split() cuts ASCII bytes into, each with its count (what
 * audit.tokens sums the tokens of: one dict entry a distinct piece instead of a str a piece).
 *
 * text_word_counts(text) -> dict: word_counts of a str of any characters (cut where str.split() cuts).
 *
 * split_counts(text, sep, doc_sep, before) -> (firsts, rest, others) or None: the pieces
 * str.split(sep) cuts each document of text (cut at doc_sep) into, each piece (a str, "" too)
 * with how often it occurs, a document's first piece in firsts and its others in rest, and the
 * distinct characters from U+0080 up that the text holds (others, a str in code point order):
 * what audit.tokens sums a byte-level tokenizer's tokens over. None where sep follows sep or a
 * character of before (none over U+30FF). sep and doc_sep are ASCII.
 *
 * fold_texts(texts, segment, whole, cache) -> list: audit.normalize.normalize of each str, in C.
 * An ASCII text is lowercased with its whitespace collapsed here. In any other text, normalising
 * (NFKC, lowercasing, stripping accents) can be done piece by piece wherever an ASCII character
 * starts a piece: an ASCII character decomposes to itself, has combining class 0 and is never the
 * second of a canonical composition, so nothing before it reorders or composes across it. So its
 * ASCII characters are lowercased here, and each run of other characters, with the character
 * before it (a combining mark may compose with that one), is segment(run): its folded form before
 * the whitespace collapse, kept in the dict cache where the run is short (up to 32 characters),
 * since the same short runs come back again and again (typographic quotes and dashes, accented
 * words). Lowercasing is per character except for
 * the capital sigma, whose final form depends on the letters around it: segment returns None
 * where the run holds one after NFKC, and the text then is whole(text). Whitespace is collapsed
 * as the folded characters go into the output. The result equals normalize(text) for every text
 * (tests/test_normalize.py).
 *
 * word_view(text) -> (view, ascii): audit.extract.batch_view of a text that is not all ASCII,
 * the numpy code-point arrays it took replaced by one pass: the UTF-8 bytes of the text with each
 * character that is neither alphanumeric (str.isalnum) nor a newline made a space, and a byte a
 * character: the character where it is ASCII, 0 where it is not.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A slot: the high half of a hash (its tag; 0 marks an empty slot, so tags are forced odd)
 * and what it stands for: bit 0 set where some key goes on after the words hashed (a prefix),
 * the rest the key id + 1 of the key with that hash, or 0 for none. 8 bytes, so that the table of
 * a 100k-fact table stays near the processor's last-level cache. */
typedef struct {
    uint32_t tag;
    uint32_t what;
} Slot;

#define PREFIX 1u
#define KEY_OF(what) ((int64_t)((what) >> 1) - 1)

typedef struct {
    PyObject_HEAD
    Slot *slots;
    uint64_t mask;
    uint64_t *first;   /* a bit for the hash of each key's first word: most words are no name's */
    uint64_t first_mask;
    char *blob;       /* the keys' bytes, one after another */
    int64_t *offsets; /* key i is blob[offsets[i]:offsets[i + 1]] */
    Py_ssize_t n_keys;
} Scanner;

static inline uint64_t mix(uint64_t x) {
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    return x;
}

/* Words are found and hashed 8 bytes at a time where the bytes are little-endian and the compiler
 * counts trailing zeros; elsewhere a byte at a time (the same words, the same hashes). */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WORDWISE 1
#else
#define WORDWISE 0
#endif

/* The hash of the word p[0:n]; avail >= n bytes may be read from p (a word's last bytes are read
 * as 8 and masked where 8 are there: no call to memcpy for a short copy). */
static inline uint64_t word_hash(const unsigned char *p, Py_ssize_t n, Py_ssize_t avail) {
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 29;
        p += 8;
        n -= 8;
        avail -= 8;
    }
    if (n) {
        uint64_t v = 0;
        if (WORDWISE && avail >= 8) {
            memcpy(&v, p, 8);
            v &= ~UINT64_C(0) >> (64 - 8 * n); /* the n bytes of the word: the low ones */
        } else {
            memcpy(&v, p, (size_t)n);
        }
        h = (h ^ v) * UINT64_C(0xc4ceb9fe1a85ec53);
        h ^= h >> 29;
    }
    return h;
}

/* The hash of a key's first word, and of a prefix extended by a gap and a word; a slot keeps
 * the high half as its tag, forced odd so that 0 marks an empty slot. */
static inline uint64_t first_hash(uint64_t w) { return mix(w); }
static inline uint64_t next_hash(uint64_t prefix, Py_ssize_t gap, uint64_t w) {
    return mix(prefix * UINT64_C(0x100000001b3) + (uint64_t)gap * UINT64_C(0x9e3779b97f4a7c15) + w);
}
static inline uint32_t tag_of(uint64_t h) { return (uint32_t)(h >> 32) | 1u; }

/* The slot for hash h: a new one stands for nothing yet. */
static Slot *take(Slot *slots, uint64_t mask, uint64_t h, int for_key, uint64_t *used) {
    uint32_t tag = tag_of(h);
    for (uint64_t i = h & mask;; i = (i + 1) & mask) {
        Slot *slot = &slots[i];
        if (slot->tag == 0) {
            slot->tag = tag;
            slot->what = 0;
            (*used)++;
            return slot;
        }
        /* a prefix shares any slot of its tag; a key, only one that holds no key yet (two keys
         * of one tag each keep their own) */
        if (slot->tag == tag && (!for_key || (slot->what >> 1) == 0))
            return slot;
    }
}

typedef struct {
    uint64_t hash;
    int64_t key; /* -1: a prefix */
} Entry;

/* Fill a table of 2^bits slots with the entries; -1 when it gets more than half full. */
static int fill(Scanner *s, const Entry *entries, size_t n, int bits) {
    uint64_t size = UINT64_C(1) << bits, used = 0;
    Slot *slots = PyMem_Calloc((size_t)size, sizeof(Slot));
    if (!slots)
        return -2;
    for (size_t i = 0; i < n; i++) {
        Slot *slot = take(slots, size - 1, entries[i].hash, entries[i].key >= 0, &used);
        if (entries[i].key < 0)
            slot->what |= PREFIX;
        else
            slot->what |= (uint32_t)(entries[i].key + 1) << 1;
        if (used * 2 > size) {
            PyMem_Free(slots);
            return -1;
        }
    }
    PyMem_Free(s->slots);
    s->slots = slots;
    s->mask = size - 1;
    return 0;
}

static void Scanner_dealloc(Scanner *self) {
    PyMem_Free(self->slots);
    PyMem_Free(self->blob);
    PyMem_Free(self->offsets);
    PyMem_Free(self->first);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int build(Scanner *self, const char **data, const Py_ssize_t *lens, Py_ssize_t n);
static int init_joined(Scanner *self, PyObject *joined);

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"keys", NULL};
    PyObject *keys_arg;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", kwlist, &keys_arg))
        return -1;
    if (PyBytes_Check(keys_arg))
        return init_joined(self, keys_arg);
    PyObject *keys = PySequence_Fast(keys_arg, "keys must be a sequence of str or bytes, or bytes");
    if (keys == NULL)
        return -1;
    const char **data = NULL;
    Py_ssize_t *lens = NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(keys);
    PyObject **items = PySequence_Fast_ITEMS(keys);
    data = PyMem_Malloc(sizeof(char *) * ((size_t)n + 1));
    lens = PyMem_Malloc(sizeof(Py_ssize_t) * ((size_t)n + 1));
    if (!data || !lens) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        const char *k;
        if (PyBytes_Check(items[i])) {
            k = PyBytes_AS_STRING(items[i]);
            len = PyBytes_GET_SIZE(items[i]);
        } else if (PyUnicode_Check(items[i])) {
            k = PyUnicode_AsUTF8AndSize(items[i], &len); /* an ASCII str's own bytes: no copy */
            if (k == NULL)
                goto fail;
        } else {
            PyErr_Format(PyExc_TypeError, "key %zd is neither str nor bytes", i);
            goto fail;
        }
        data[i] = k;
        lens[i] = len;
    }
    int got = build(self, data, lens, n);
    PyMem_Free(data);
    PyMem_Free(lens);
    Py_DECREF(keys);
    return got;
fail:
    PyMem_Free(data);
    PyMem_Free(lens);
    Py_DECREF(keys);
    return -1;
}

/* Build the scanner of the n keys data[i] (lens[i] bytes each); 0, or -1 with an exception set. */
static int build(Scanner *self, const char **data, const Py_ssize_t *lens, Py_ssize_t n) {
    if (n >= (INT32_MAX >> 1) - 1) { /* a key id + 1 fits in 31 bits */
        PyErr_SetString(PyExc_ValueError, "too many keys");
        return -1;
    }
    int64_t total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len = lens[i];
        const char *k = data[i];
        if (len == 0 || k[0] == ' ' || k[len - 1] == ' ' || memchr(k, '\n', (size_t)len) != NULL) {
            PyErr_Format(PyExc_ValueError, "key %zd is empty, holds a newline or starts or ends with a space", i);
            return -1;
        }
        total += len;
    }
    PyMem_Free(self->slots);
    PyMem_Free(self->blob);
    PyMem_Free(self->offsets);
    PyMem_Free(self->first);
    self->slots = NULL;
    self->blob = NULL;
    self->offsets = NULL;
    self->first = NULL;
    size_t n_entries = 0;
    Entry *entries = NULL;
    for (Py_ssize_t i = 0; i < n; i++) /* one entry a word of a key, at most */
        n_entries += (size_t)lens[i] / 2 + 1;
    entries = PyMem_Malloc(n_entries * sizeof(Entry));
    self->blob = PyMem_Malloc((size_t)total + 1);
    self->offsets = PyMem_Malloc(sizeof(int64_t) * ((size_t)n + 1));
    int first_bits = 16;
    while (first_bits < 40 && (UINT64_C(1) << first_bits) < (uint64_t)n * 16)
        first_bits++;
    self->first = PyMem_Calloc((size_t)1 << (first_bits - 6), sizeof(uint64_t));
    self->first_mask = (UINT64_C(1) << first_bits) - 1;
    if (!entries || !self->blob || !self->offsets || !self->first) {
        PyMem_Free(entries);
        PyErr_NoMemory();
        return -1;
    }
    self->n_keys = n;
    size_t e = 0;
    int64_t at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len = lens[i];
        const unsigned char *k = (const unsigned char *)data[i];
        memcpy(self->blob + at, k, (size_t)len);
        self->offsets[i] = at;
        at += len;
        uint64_t h = 0;
        Py_ssize_t j = 0, gap = 0;
        while (j < len) {
            Py_ssize_t w = j;
            while (j < len && k[j] != ' ')
                j++;
            uint64_t wh = word_hash(k + w, j - w, len - w);
            if (w == 0) {
                h = first_hash(wh);
                self->first[(wh & self->first_mask) >> 6] |= UINT64_C(1) << (wh & 63);
            } else {
                h = next_hash(h, gap, wh);
            }
            gap = 0;
            while (j < len && k[j] == ' ') {
                j++;
                gap++;
            }
            entries[e].hash = h;
            entries[e].key = j < len ? -1 : (int64_t)i; /* a prefix: some key goes on from here */
            e++;
        }
    }
    int bits = 10, got;
    while ((UINT64_C(1) << bits) < (uint64_t)n * 3)
        bits++;
    while ((got = fill(self, entries, e, bits)) == -1)
        bits++;
    PyMem_Free(entries);
    if (got < 0) {
        PyErr_NoMemory();
        return -1;
    }
    self->offsets[n] = at;
    return 0;
}

/* Scanner(b"key\nkey..."): the keys joined by newlines, as joined() gives them (b"": none). */
static int init_joined(Scanner *self, PyObject *joined) {
    const char *p = PyBytes_AS_STRING(joined);
    Py_ssize_t size = PyBytes_GET_SIZE(joined), n = 0;
    if (size > 0) {
        n = 1;
        for (const char *q = p; (q = memchr(q, '\n', (size_t)(p + size - q))) != NULL; q++)
            n++;
    }
    const char **data = PyMem_Malloc(sizeof(char *) * ((size_t)n + 1));
    Py_ssize_t *lens = PyMem_Malloc(sizeof(Py_ssize_t) * ((size_t)n + 1));
    if (!data || !lens) {
        PyMem_Free(data);
        PyMem_Free(lens);
        PyErr_NoMemory();
        return -1;
    }
    const char *at = p, *end = p + size;
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *nl = memchr(at, '\n', (size_t)(end - at));
        const char *stop = nl ? nl : end;
        data[i] = at;
        lens[i] = stop - at;
        at = stop + 1;
    }
    int got = build(self, data, lens, n);
    PyMem_Free(data);
    PyMem_Free(lens);
    return got;
}

typedef struct {
    int64_t *data;
    size_t len, cap;
} Hits;

static int push(Hits *h, int64_t start, int64_t end, int64_t key) {
    if (h->len + 3 > h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 3 * 4096;
        int64_t *data = realloc(h->data, cap * sizeof(int64_t));
        if (!data)
            return -1;
        h->data = data;
        h->cap = cap;
    }
    h->data[h->len++] = start;
    h->data[h->len++] = end;
    h->data[h->len++] = key;
    return 0;
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
#define SPACES UINT64_C(0x2020202020202020)

/* The next word at or after `from`: its start in *start, its end returned; *start == n when none.
 * 8 bytes at a time: x = bytes ^ spaces has a zero byte for each space, and the lowest set bit of
 * (x - ONES) & ~x & HIGHS is in the first of them (a borrow only runs up from a zero byte). */
static inline Py_ssize_t next_word(const unsigned char *t, Py_ssize_t n, Py_ssize_t from, Py_ssize_t *start) {
#if WORDWISE
    for (;; from += 8) {
        if (from + 8 > n) {
            while (from < n && t[from] == ' ')
                from++;
            break;
        }
        uint64_t v;
        memcpy(&v, t + from, 8);
        uint64_t other = v ^ SPACES; /* a nonzero byte for each byte that is not a space */
        if (other) {
            from += __builtin_ctzll(other) >> 3;
            break;
        }
    }
    *start = from;
    for (;; from += 8) {
        if (from + 8 > n) {
            while (from < n && t[from] != ' ')
                from++;
            return from;
        }
        uint64_t v;
        memcpy(&v, t + from, 8);
        uint64_t x = v ^ SPACES, spaces = (x - ONES) & ~x & HIGHS;
        if (spaces)
            return from + (__builtin_ctzll(spaces) >> 3);
    }
#else
    while (from < n && t[from] == ' ')
        from++;
    *start = from;
    while (from < n && t[from] != ' ')
        from++;
    return from;
#endif
}

/* A word of the text: where it starts and ends, and its hash. */
typedef struct {
    Py_ssize_t start, end;
    uint64_t hash;
} Word;

/* How many candidate words ahead the table slots of a candidate's first three prefixes are
 * fetched: a probe of an 8 MB table mostly misses the cache, and the text's words do not depend
 * on the table, so those fetches can be in flight together. */
#define AHEAD 8

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

static PyObject *Scanner_find(Scanner *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *t = view.buf;
    const Py_ssize_t n = view.len;
    Hits hits = {NULL, 0, 0};
    int failed = 0;
    const Slot *slots = self->slots;
    const uint64_t mask = self->mask, *first = self->first, first_mask = self->first_mask;
    Word *words = NULL;
    size_t *cands = NULL;
    size_t n_words = 0, n_cands = 0;
    Py_BEGIN_ALLOW_THREADS
    /* 1. the words, and the candidates: words after a space whose hash is some key's first word's */
    size_t cap = 1024;
    words = malloc(cap * sizeof(Word));
    cands = malloc(cap * sizeof(size_t));
    failed = !words || !cands;
    for (Py_ssize_t i = 0; i < n && !failed;) {
        Py_ssize_t ws;
        i = next_word(t, n, i, &ws);
        if (ws >= n)
            break;
        if (n_words == cap) {
            cap *= 2;
            Word *w = realloc(words, cap * sizeof(Word));
            size_t *c = w ? realloc(cands, cap * sizeof(size_t)) : NULL;
            if (w)
                words = w;
            if (c)
                cands = c;
            if (!w || !c) {
                failed = 1;
                break;
            }
        }
        uint64_t wh = word_hash(t + ws, i - ws, n - ws);
        words[n_words] = (Word){ws, i, wh};
        if (ws > 0 && first[(wh & first_mask) >> 6] >> (wh & 63) & 1)
            cands[n_cands++] = n_words;
        n_words++;
    }
    /* 2. from each candidate, extend while some key goes on */
    for (size_t k = 0; k < n_cands && !failed; k++) {
        if (k + AHEAD < n_cands) {
            size_t c = cands[k + AHEAD];
            uint64_t h = first_hash(words[c].hash);
            PREFETCH(&slots[h & mask]);
            for (size_t j = c + 1; j < n_words && j <= c + 2; j++) {
                h = next_hash(h, words[j].start - words[j - 1].end, words[j].hash);
                PREFETCH(&slots[h & mask]);
            }
        }
        size_t c = cands[k];
        Py_ssize_t ws = words[c].start, we = words[c].end;
        uint64_t h = first_hash(words[c].hash);
        for (size_t j = c;;) {
            uint32_t tag = tag_of(h), more = 0;
            for (uint64_t s = h & mask; slots[s].tag != 0; s = (s + 1) & mask) {
                if (slots[s].tag != tag)
                    continue;
                uint32_t what = slots[s].what;
                more |= what & PREFIX;
                int64_t key = KEY_OF(what);
                if (key >= 0 && we < n && push(&hits, ws - 1, we + 1, key) < 0) {
                    failed = 1; /* a hit of the hash: its bytes are compared in step 3 */
                    break;
                }
            }
            if (!more || failed || we >= n || ++j >= n_words)
                break;
            h = next_hash(h, words[j].start - we, words[j].hash);
            we = words[j].end;
        }
    }
    /* 3. keep the hits whose key's bytes are the text's (a hash collision makes none); the
     * key's offsets and bytes are fetched ahead, as the table's slots are */
    size_t kept = 0, n_hits = failed ? 0 : hits.len / 3;
    const int64_t *offsets = self->offsets;
    int64_t *hit = hits.data;
    for (size_t k = 0; k < n_hits; k++) {
        if (k + 2 * AHEAD < n_hits)
            PREFETCH(&offsets[hit[3 * (k + 2 * AHEAD) + 2]]);
        if (k + AHEAD < n_hits)
            PREFETCH(self->blob + offsets[hit[3 * (k + AHEAD) + 2]]);
        int64_t ws = hit[3 * k] + 1, we = hit[3 * k + 1] - 1, key = hit[3 * k + 2];
        int64_t a = offsets[key], b = offsets[key + 1];
        if (b - a == we - ws && memcmp(self->blob + a, t + ws, (size_t)(b - a)) == 0) {
            memmove(hit + 3 * kept, hit + 3 * k, 3 * sizeof(int64_t));
            kept++;
        }
    }
    hits.len = kept * 3;
    Py_END_ALLOW_THREADS
    free(words);
    free(cands);
    PyBuffer_Release(&view);
    if (failed) {
        free(hits.data);
        return PyErr_NoMemory();
    }
    PyObject *out = PyBytes_FromStringAndSize((const char *)hits.data, (Py_ssize_t)(hits.len * sizeof(int64_t)));
    free(hits.data);
    return out;
}

static PyObject *Scanner_len(Scanner *self, PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromSsize_t(self->n_keys);
}

static PyObject *Scanner_joined(Scanner *self, PyObject *Py_UNUSED(ignored)) {
    Py_ssize_t n = self->n_keys, size = n ? (Py_ssize_t)self->offsets[n] + n - 1 : 0;
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL)
        return NULL;
    char *p = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t a = self->offsets[i], b = self->offsets[i + 1];
        if (i)
            *p++ = '\n';
        memcpy(p, self->blob + a, (size_t)(b - a));
        p += b - a;
    }
    return out;
}

/* -- name_keys: the keys of a table's names -------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static int grow(Buf *b, size_t more) {
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + more)
        cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (!data)
        return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

/* The distinct keys met so far: their bytes (blob, one after another; key i at offsets[i]) and a
 * table of key id + 1 by the hash of the key's bytes (0: an empty slot). */
typedef struct {
    Buf blob;     /* the keys joined by newlines */
    Buf offsets;  /* int64 start of each key in blob */
    Buf hashes;   /* uint64 hash of each key */
    uint32_t *table;
    uint64_t mask;
    int64_t n;
} KeySet;

static int keyset_rehash(KeySet *ks, uint64_t size) {
    uint32_t *table = PyMem_Calloc((size_t)size, sizeof(uint32_t));
    if (!table)
        return -1;
    const uint64_t *hashes = (const uint64_t *)ks->hashes.data;
    for (int64_t i = 0; i < ks->n; i++) {
        uint64_t j = hashes[i] & (size - 1);
        while (table[j])
            j = (j + 1) & (size - 1);
        table[j] = (uint32_t)(i + 1);
    }
    PyMem_Free(ks->table);
    ks->table = table;
    ks->mask = size - 1;
    return 0;
}

/* The id of the key k[0:len], added when new; -1 when out of memory. */
static int64_t keyset_id(KeySet *ks, const char *k, size_t len) {
    uint64_t h = mix(word_hash((const unsigned char *)k, (Py_ssize_t)len, (Py_ssize_t)len));
    const uint64_t *hashes = (const uint64_t *)ks->hashes.data;
    const int64_t *offsets = (const int64_t *)ks->offsets.data;
    uint64_t j = h & ks->mask;
    for (; ks->table[j]; j = (j + 1) & ks->mask) {
        int64_t id = (int64_t)ks->table[j] - 1;
        if (hashes[id] != h)
            continue;
        int64_t a = offsets[id];
        size_t have = (id + 1 < ks->n ? (size_t)(offsets[id + 1] - 1) : ks->blob.len) - (size_t)a;
        if (have == len && memcmp(ks->blob.data + a, k, len) == 0)
            return id;
    }
    if (ks->n >= (INT32_MAX >> 1) - 2)
        return -2;
    size_t sep = ks->n ? 1 : 0;
    if (grow(&ks->blob, len + sep) < 0 || grow(&ks->offsets, 8) < 0 || grow(&ks->hashes, 8) < 0)
        return -1;
    if (sep)
        ks->blob.data[ks->blob.len++] = '\n';
    int64_t at = (int64_t)ks->blob.len;
    memcpy(ks->blob.data + ks->blob.len, k, len);
    ks->blob.len += len;
    memcpy(ks->offsets.data + ks->offsets.len, &at, 8);
    ks->offsets.len += 8;
    memcpy(ks->hashes.data + ks->hashes.len, &h, 8);
    ks->hashes.len += 8;
    int64_t id = ks->n++;
    ks->table[j] = (uint32_t)(id + 1);
    if ((uint64_t)ks->n * 2 > ks->mask + 1 && keyset_rehash(ks, (ks->mask + 1) * 2) < 0)
        return -1;
    return id;
}

static PyObject *name_keys(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer view;
    int max_gap_words;
    if (!PyArg_ParseTuple(args, "y*i", &view, &max_gap_words))
        return NULL;
    if (max_gap_words < 2 || max_gap_words > 16) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "max_gap_words must be from 2 to 16");
        return NULL;
    }
    const char *t = view.buf, *end = t + view.len;
    Py_ssize_t n_names = 1;
    for (const char *q = t; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        n_names++;
    KeySet ks = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, NULL, 0, 0};
    Buf name_key = {NULL, 0, 0}, scratch = {NULL, 0, 0}, words = {NULL, 0, 0};
    int64_t *name_off = PyMem_Malloc(sizeof(int64_t) * ((size_t)n_names + 1));
    PyObject *out = NULL;
    int64_t got = 0;
    if (!name_off || keyset_rehash(&ks, 1 << 12) < 0)
        goto nomem;
    name_off[0] = 0;
    const char *line = t;
    for (Py_ssize_t i = 0; i < n_names; i++) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *a = line, *b = nl ? nl : end;
        line = b + 1;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        /* its words, as (start, length) pairs */
        words.len = 0;
        for (const char *p = a; p < b;) {
            const char *w = p;
            while (p < b && *p != ' ')
                p++;
            int64_t pair[2] = {w - a, p - w};
            if (grow(&words, sizeof pair) < 0)
                goto nomem;
            memcpy(words.data + words.len, pair, sizeof pair);
            words.len += sizeof pair;
            while (p < b && *p == ' ')
                p++;
        }
        const int64_t *wp = (const int64_t *)words.data;
        size_t n = words.len / (2 * sizeof(int64_t)), own = (size_t)(b - a);
        uint64_t variants = 0; /* gap variants besides the view: 2^(n-1), or 1 (one-space join) */
        if (n >= 2)
            variants = n <= (size_t)max_gap_words ? UINT64_C(1) << (n - 1) : 1;
        if (n >= 1) { /* the view itself first */
            if ((got = keyset_id(&ks, a, own)) < 0 || grow(&name_key, 8) < 0)
                goto fail;
            memcpy(name_key.data + name_key.len, &got, 8);
            name_key.len += 8;
        }
        for (uint64_t v = 0; v < variants; v++) {
            /* bit g of v set: gap g is two spaces (for long names, v = 0 only: one space each) */
            scratch.len = 0;
            if (grow(&scratch, own + n + 1) < 0)
                goto nomem;
            for (size_t w = 0; w < n; w++) {
                if (w) {
                    scratch.data[scratch.len++] = ' ';
                    if (v >> (w - 1) & 1)
                        scratch.data[scratch.len++] = ' ';
                }
                memcpy(scratch.data + scratch.len, a + wp[2 * w], (size_t)wp[2 * w + 1]);
                scratch.len += (size_t)wp[2 * w + 1];
            }
            if (scratch.len == own && memcmp(scratch.data, a, own) == 0)
                continue; /* the view's own gaps */
            if ((got = keyset_id(&ks, scratch.data, scratch.len)) < 0 || grow(&name_key, 8) < 0)
                goto fail;
            memcpy(name_key.data + name_key.len, &got, 8);
            name_key.len += 8;
        }
        name_off[i + 1] = (int64_t)(name_key.len / 8);
    }
    out = Py_BuildValue("(y#y#y#)", ks.blob.data ? ks.blob.data : "", (Py_ssize_t)ks.blob.len,
                        name_key.data ? name_key.data : "", (Py_ssize_t)name_key.len,
                        (const char *)name_off, (Py_ssize_t)(sizeof(int64_t) * ((size_t)n_names + 1)));
    goto done;
fail:
    if (got == -2) {
        PyErr_SetString(PyExc_ValueError, "too many keys");
        goto done;
    }
nomem:
    PyErr_NoMemory();
done:
    PyBuffer_Release(&view);
    PyMem_Free(ks.blob.data);
    PyMem_Free(ks.offsets.data);
    PyMem_Free(ks.hashes.data);
    PyMem_Free(ks.table);
    PyMem_Free(name_key.data);
    PyMem_Free(scratch.data);
    PyMem_Free(words.data);
    PyMem_Free(name_off);
    return out;
}

/* expand(offsets, rows) -> (owner, flat): for each rows[i], the entries offsets[r]:offsets[r + 1]
 * (r = rows[i]), concatenated: flat the entry indexes, owner the i of each (both int64, as bytes).
 * offsets and rows are buffers of int64; each row must be < len(offsets) - 1. */
static PyObject *expand(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer off, rows;
    if (!PyArg_ParseTuple(args, "y*y*", &off, &rows))
        return NULL;
    PyObject *out = NULL, *owner = NULL, *flat = NULL;
    if (off.len % 8 || rows.len % 8 || off.len < 8) {
        PyErr_SetString(PyExc_ValueError, "offsets and rows must be int64 arrays, offsets not empty");
        goto done;
    }
    const int64_t *o = off.buf, *r = rows.buf;
    Py_ssize_t n_off = off.len / 8, n_rows = rows.len / 8, total = 0;
    for (Py_ssize_t i = 0; i < n_rows; i++) {
        if (r[i] < 0 || r[i] >= n_off - 1 || o[r[i] + 1] < o[r[i]]) {
            PyErr_Format(PyExc_ValueError, "row %zd is out of range or its offsets fall", i);
            goto done;
        }
        total += (Py_ssize_t)(o[r[i] + 1] - o[r[i]]);
    }
    owner = PyBytes_FromStringAndSize(NULL, total * 8);
    flat = owner ? PyBytes_FromStringAndSize(NULL, total * 8) : NULL;
    if (!flat)
        goto done;
    int64_t *w = (int64_t *)PyBytes_AS_STRING(owner), *f = (int64_t *)PyBytes_AS_STRING(flat);
    for (Py_ssize_t i = 0; i < n_rows; i++)
        for (int64_t k = o[r[i]], end = o[r[i] + 1]; k < end; k++) {
            *w++ = i;
            *f++ = k;
        }
    out = PyTuple_Pack(2, owner, flat);
done:
    Py_XDECREF(owner);
    Py_XDECREF(flat);
    PyBuffer_Release(&off);
    PyBuffer_Release(&rows);
    return out;
}

/* word_counts(data) -> dict: the pieces of ASCII bytes cut at whitespace (what str.split() cuts
 * an ASCII str at: space, \t \n \v \f \r and \x1c to \x1f), each piece (a str) with how often it
 * occurs. ValueError for a byte over 127. */
static PyObject *word_counts(PyObject *Py_UNUSED(module), PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *t = view.buf;
    const Py_ssize_t n = view.len;
    static unsigned char space[256];
    if (!space[' ']) {
        const char *ws = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f";
        for (const char *c = ws; *c; c++)
            space[(unsigned char)*c] = 1;
    }
    typedef struct {
        Py_ssize_t start, len, count;
        uint64_t hash;
    } Piece;
    Piece *pieces = NULL;
    int64_t *table = NULL; /* piece index + 1, 0 for an empty slot */
    size_t n_pieces = 0, cap = 1024, size = 2048;
    PyObject *out = NULL;
    pieces = PyMem_Malloc(cap * sizeof(Piece));
    table = PyMem_Calloc(size, sizeof(int64_t));
    if (!pieces || !table) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n;) {
        while (i < n && space[t[i]])
            i++;
        if (i >= n)
            break;
        Py_ssize_t w = i;
        while (i < n && !space[t[i]]) {
            if (t[i] > 127) {
                PyErr_SetString(PyExc_ValueError, "word_counts takes ASCII bytes");
                goto done;
            }
            i++;
        }
        uint64_t h = mix(word_hash(t + w, i - w, n - w));
        size_t j = h & (size - 1);
        for (; table[j]; j = (j + 1) & (size - 1)) {
            Piece *p = &pieces[table[j] - 1];
            if (p->hash == h && p->len == i - w && memcmp(t + p->start, t + w, (size_t)(i - w)) == 0)
                break;
        }
        if (table[j]) {
            pieces[table[j] - 1].count++;
            continue;
        }
        if (n_pieces == cap) {
            cap *= 2;
            Piece *more = PyMem_Realloc(pieces, cap * sizeof(Piece));
            if (!more) {
                PyErr_NoMemory();
                goto done;
            }
            pieces = more;
        }
        pieces[n_pieces] = (Piece){w, i - w, 1, h};
        table[j] = (int64_t)++n_pieces;
        if (n_pieces * 2 > size) { /* grow: the pieces go in again by their hashes */
            size *= 2;
            int64_t *bigger = PyMem_Calloc(size, sizeof(int64_t));
            if (!bigger) {
                PyErr_NoMemory();
                goto done;
            }
            for (size_t k = 0; k < n_pieces; k++) {
                size_t m = pieces[k].hash & (size - 1);
                while (bigger[m])
                    m = (m + 1) & (size - 1);
                bigger[m] = (int64_t)k + 1;
            }
            PyMem_Free(table);
            table = bigger;
        }
    }
    out = PyDict_New();
    for (size_t k = 0; out && k < n_pieces; k++) {
        PyObject *key = PyUnicode_DecodeASCII((const char *)t + pieces[k].start, pieces[k].len, NULL);
        PyObject *count = key ? PyLong_FromSsize_t(pieces[k].count) : NULL;
        if (!count || PyDict_SetItem(out, key, count) < 0)
            Py_CLEAR(out);
        Py_XDECREF(key);
        Py_XDECREF(count);
    }
done:
    PyMem_Free(pieces);
    PyMem_Free(table);
    PyBuffer_Release(&view);
    return out;
}

/* -- normalisation -------------------------------------------------------------------------- */

/* The output of fold_texts for one text: code points, whitespace collapsed as they go in (a run
 * of whitespace becomes one space before the next other character; none at either end), which
 * is " ".join(s.split()) of the code points put in. */
typedef struct {
    Py_UCS4 *buf;
    Py_ssize_t len, cap;
    int pending; /* whitespace went in since the last other character */
} Out;

static int out_grow(Out *o, Py_ssize_t more) {
    if (o->len + more + 1 <= o->cap)
        return 0;
    Py_ssize_t cap = o->cap ? o->cap : 1024;
    while (cap < o->len + more + 1)
        cap *= 2;
    Py_UCS4 *bigger = PyMem_Realloc(o->buf, (size_t)cap * sizeof(Py_UCS4));
    if (!bigger) {
        PyErr_NoMemory();
        return -1;
    }
    o->buf = bigger;
    o->cap = cap;
    return 0;
}

/* One code point in (room for it and a space must have been made). */
static inline void out_put(Out *o, Py_UCS4 c) {
    if (Py_UNICODE_ISSPACE(c)) {
        o->pending = 1;
        return;
    }
    if (o->pending && o->len)
        o->buf[o->len++] = ' ';
    o->pending = 0;
    o->buf[o->len++] = c;
}

/* The code points of a str in (its folded form, from Python). */
static int out_put_str(Out *o, PyObject *s) {
    if (!PyUnicode_Check(s)) {
        PyErr_SetString(PyExc_TypeError, "fold_texts: the segment function must return str or None");
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (out_grow(o, 2 * n) < 0)
        return -1;
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++)
        out_put(o, PyUnicode_READ(kind, data, i));
    return 0;
}

/* An ASCII text, lowercased with its whitespace collapsed: the str, or NULL with an error set.
 * The lowercase is made in one branch-free pass that also notes whether anything is to be
 * collapsed (a control character, which every ASCII space but the space is, or two spaces in a
 * row); only then the text goes again, character by character. */
static PyObject *fold_ascii(PyObject *text) {
    const Py_UCS1 *t = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *out = PyUnicode_New(n, 127);
    if (!out)
        return NULL;
    Py_UCS1 *o = PyUnicode_1BYTE_DATA(out);
    unsigned control = 0, twice = 0, prev = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned c = t[i];
        control |= c < 0x20;
        twice |= (c == ' ') & (prev == ' ');
        prev = c;
        o[i] = (Py_UCS1)(c + (((c - 'A') < 26u) << 5));
    }
    if (!control && !twice && (n == 0 || (t[0] != ' ' && t[n - 1] != ' ')))
        return out;
    static unsigned char space[128];
    if (!space[' ']) {
        const char *ws = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f";
        for (const char *c = ws; *c; c++)
            space[(unsigned char)*c] = 1;
    }
    Py_ssize_t len = 0;
    int pending = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS1 c = o[i];
        if (space[c]) {
            pending = 1;
            continue;
        }
        if (pending && len)
            o[len++] = ' ';
        pending = 0;
        o[len++] = c;
    }
    PyObject *shorter = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, o, len);
    Py_DECREF(out);
    return shorter;
}

/* One text that is not ASCII: its ASCII characters lowercased here, each run of other characters
 * (with the character before it: a mark may compose with it) folded by segment() through the
 * cache; whole(text) when segment() says the run cannot be folded on its own (None). */
static PyObject *fold_mixed(PyObject *text, PyObject *segment, PyObject *whole, PyObject *cache, Out *o) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    o->len = 0;
    o->pending = 0;
    if (out_grow(o, 2 * n) < 0)
        return NULL;
    Py_ssize_t before_len = 0; /* the output as it was before the last ASCII character went in */
    int before_pending = 0;
    for (Py_ssize_t i = 0; i < n;) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 128) {
            before_len = o->len;
            before_pending = o->pending;
            out_put(o, (c >= 'A' && c <= 'Z') ? c + 32 : c);
            i++;
            continue;
        }
        Py_ssize_t end = i + 1;
        while (end < n && PyUnicode_READ(kind, data, end) >= 128)
            end++;
        Py_ssize_t start = i;
        if (i > 0) { /* the character before goes again, with the run */
            start = i - 1;
            o->len = before_len;
            o->pending = before_pending;
        }
        PyObject *key = PyUnicode_Substring(text, start, end);
        if (!key)
            return NULL;
        /* short runs recur (quotes, dashes, accented words) and are kept; a long one (a text in
         * another script) is folded as it comes */
        int keep = end - start <= 32;
        PyObject *folded = keep ? PyDict_GetItemWithError(cache, key) : NULL; /* borrowed */
        if (folded)
            Py_INCREF(folded);
        else if (!PyErr_Occurred()) {
            folded = PyObject_CallOneArg(segment, key);
            if (keep && folded && PyDict_GET_SIZE(cache) >= (1 << 16))
                PyDict_Clear(cache); /* a bound on what a diverse corpus keeps */
            if (keep && folded && PyDict_SetItem(cache, key, folded) < 0)
                Py_CLEAR(folded);
        }
        Py_DECREF(key);
        if (!folded)
            return NULL;
        if (folded == Py_None) {
            Py_DECREF(folded);
            return PyObject_CallOneArg(whole, text);
        }
        int err = out_put_str(o, folded);
        Py_DECREF(folded);
        if (err < 0 || out_grow(o, 2 * (n - end)) < 0)
            return NULL;
        i = end;
    }
    return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, o->buf, o->len);
}

/* fold_texts(texts, segment, whole, cache) -> list: see the module's docstring. */
static PyObject *fold_texts(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *texts, *segment, *whole, *cache;
    if (!PyArg_ParseTuple(args, "OOOO!", &texts, &segment, &whole, &PyDict_Type, &cache))
        return NULL;
    PyObject *seq = PySequence_Fast(texts, "fold_texts takes a sequence of str");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *result = PyList_New(n);
    Out o = {NULL, 0, 0, 0};
    for (Py_ssize_t k = 0; result && k < n; k++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, k);
        PyObject *folded;
        if (!PyUnicode_Check(t)) {
            PyErr_Format(PyExc_TypeError, "fold_texts: item %zd is not a str", k);
            folded = NULL;
        } else if (PyUnicode_IS_ASCII(t))
            folded = fold_ascii(t);
        else
            folded = fold_mixed(t, segment, whole, cache, &o);
        if (!folded)
            Py_CLEAR(result);
        else
            PyList_SET_ITEM(result, k, folded);
    }
    PyMem_Free(o.buf);
    Py_DECREF(seq);
    return result;
}

/* A character of word_view that is not ASCII: its UTF-8 bytes where it is alphanumeric, else a space. */
static inline Py_ssize_t view_char(unsigned char *v, Py_UCS4 c) {
    if (!Py_UNICODE_ISALNUM(c)) {
        v[0] = ' ';
        return 1;
    }
    if (c < 0x800) {
        v[0] = (unsigned char)(0xC0 | (c >> 6));
        v[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        v[0] = (unsigned char)(0xE0 | (c >> 12));
        v[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        v[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    v[0] = (unsigned char)(0xF0 | (c >> 18));
    v[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    v[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    v[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

/* The loop of word_view for one width of code unit: ASCII from a table, the rest by the
 * Unicode database. */
#define VIEW_LOOP(T)                                                  \
    do {                                                              \
        const T *d = (const T *)data;                                 \
        for (Py_ssize_t i = 0; i < n; i++) {                          \
            Py_UCS4 c = d[i];                                         \
            if (c < 128) {                                            \
                a[i] = (unsigned char)c;                              \
                v[len++] = ascii_view[c];                             \
            } else {                                                  \
                a[i] = 0;                                             \
                len += view_char(v + len, c);                         \
            }                                                         \
        }                                                             \
    } while (0)

/* word_view(text) -> (view, ascii): see the module's docstring. */
static PyObject *word_view(PyObject *Py_UNUSED(module), PyObject *text) {
    static unsigned char ascii_view[128];
    if (!ascii_view[0]) {
        for (int c = 0; c < 128; c++)
            ascii_view[c] = (c == '\n' || Py_UNICODE_ISALNUM(c)) ? (unsigned char)c : ' ';
    }
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "word_view takes a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t most = kind == PyUnicode_1BYTE_KIND ? 2 : kind == PyUnicode_2BYTE_KIND ? 3 : 4;
    PyObject *view = PyBytes_FromStringAndSize(NULL, n * most);
    PyObject *ascii = PyBytes_FromStringAndSize(NULL, n);
    if (!view || !ascii) {
        Py_XDECREF(view);
        Py_XDECREF(ascii);
        return NULL;
    }
    unsigned char *v = (unsigned char *)PyBytes_AS_STRING(view), *a = (unsigned char *)PyBytes_AS_STRING(ascii);
    Py_ssize_t len = 0;
    if (kind == PyUnicode_1BYTE_KIND)
        VIEW_LOOP(Py_UCS1);
    else if (kind == PyUnicode_2BYTE_KIND)
        VIEW_LOOP(Py_UCS2);
    else
        VIEW_LOOP(Py_UCS4);
    if (_PyBytes_Resize(&view, len) < 0) {
        Py_DECREF(ascii);
        return NULL;
    }
    return Py_BuildValue("(NN)", view, ascii);
}

/* split_counts's hash of a piece: its code units, 8 bytes at a time, and which kind of piece. */
static inline uint64_t piece_hash(const unsigned char *p, size_t len, int first) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)first;
    size_t k = 0;
    for (; k + 8 <= len; k += 8) {
        uint64_t x;
        memcpy(&x, p + k, 8);
        h = mix(h ^ x);
    }
    if (k < len) {
        uint64_t x = 0;
        memcpy(&x, p + k, len - k);
        h = mix(h ^ x);
    }
    return mix(h ^ len);
}

/* The end of the piece of text that starts at i (the next sep or doc_sep, or n), for one width
 * of code unit; -1 where a character of before, or sep, comes right before a sep. Each character
 * from 128 up is marked in seen. */
#define PIECE_END(T)                                                                    \
    static Py_ssize_t piece_end_##T(const T *d, Py_ssize_t i, Py_ssize_t n, Py_UCS4 sep, \
                                    Py_UCS4 doc_sep, const unsigned char *before,        \
                                    unsigned char *seen) {                               \
        for (; i < n; i++) {                                                             \
            Py_UCS4 c = d[i];                                                            \
            if (c == sep || c == doc_sep)                                                \
                break;                                                                   \
            if (c >= 128)                                                                \
                seen[c >> 3] |= (unsigned char)(1u << (c & 7));                          \
        }                                                                                \
        if (i < n && d[i] == sep && i > 0) {                                             \
            Py_UCS4 b = d[i - 1];                                                        \
            if (b == sep || (b < 0x3100 && (before[b >> 3] >> (b & 7)) & 1))             \
                return -1;                                                               \
        }                                                                                \
        return i;                                                                        \
    }
PIECE_END(Py_UCS1)
PIECE_END(Py_UCS2)
PIECE_END(Py_UCS4)

/* The distinct pieces of a str and their counts (split_counts, text_word_counts): open
 * addressing over piece_hash, a piece compared by its code units where the hashes agree. */
typedef struct {
    Py_ssize_t start, len, count;
    uint64_t hash;
    int first;
} Piece;

typedef struct {
    const unsigned char *bytes; /* the str's code units */
    int kind;
    Piece *pieces;
    int64_t *table; /* piece index + 1, 0 for an empty slot */
    size_t n, cap, size;
} Pieces;

static int pieces_init(Pieces *t, PyObject *text) {
    *t = (Pieces){PyUnicode_DATA(text), PyUnicode_KIND(text), NULL, NULL, 0, 1024, 2048};
    t->pieces = PyMem_Malloc(t->cap * sizeof(Piece));
    t->table = PyMem_Calloc(t->size, sizeof(int64_t));
    if (!t->pieces || !t->table) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void pieces_free(Pieces *t) {
    PyMem_Free(t->pieces);
    PyMem_Free(t->table);
}

/* text[w:i] once more, as a first piece of a document or not. */
static int pieces_add(Pieces *t, Py_ssize_t w, Py_ssize_t i, int first) {
    const unsigned char *p = t->bytes + w * t->kind;
    size_t len = (size_t)(i - w) * (size_t)t->kind;
    uint64_t h = piece_hash(p, len, first);
    size_t j = h & (t->size - 1);
    for (; t->table[j]; j = (j + 1) & (t->size - 1)) {
        Piece *q = &t->pieces[t->table[j] - 1];
        if (q->hash == h && q->first == first && q->len == i - w && memcmp(t->bytes + q->start * t->kind, p, len) == 0) {
            q->count++;
            return 0;
        }
    }
    if (t->n == t->cap) {
        Piece *more = PyMem_Realloc(t->pieces, 2 * t->cap * sizeof(Piece));
        if (!more) {
            PyErr_NoMemory();
            return -1;
        }
        t->pieces = more;
        t->cap *= 2;
    }
    t->pieces[t->n] = (Piece){w, i - w, 1, h, first};
    t->table[j] = (int64_t)++t->n;
    if (t->n * 2 > t->size) { /* grow: the pieces go in again by their hashes */
        size_t size = 2 * t->size;
        int64_t *bigger = PyMem_Calloc(size, sizeof(int64_t));
        if (!bigger) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t m = 0; m < t->n; m++) {
            size_t k = t->pieces[m].hash & (size - 1);
            while (bigger[k])
                k = (k + 1) & (size - 1);
            bigger[k] = (int64_t)m + 1;
        }
        PyMem_Free(t->table);
        t->table = bigger;
        t->size = size;
    }
    return 0;
}

/* Each piece (a str of text) with its count, into firsts or rest. */
static int pieces_out(Pieces *t, PyObject *text, PyObject *firsts, PyObject *rest) {
    for (size_t m = 0; m < t->n; m++) {
        const Piece *q = &t->pieces[m];
        PyObject *key = PyUnicode_Substring(text, q->start, q->start + q->len);
        PyObject *count = key ? PyLong_FromSsize_t(q->count) : NULL;
        int err = !count || PyDict_SetItem(q->first ? firsts : rest, key, count) < 0;
        Py_XDECREF(key);
        Py_XDECREF(count);
        if (err)
            return -1;
    }
    return 0;
}

/* text_word_counts(text) -> dict: word_counts of a str of any characters, cut where str.split()
 * cuts it. */
static PyObject *text_word_counts(PyObject *Py_UNUSED(module), PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text_word_counts takes a str");
        return NULL;
    }
    Pieces t;
    PyObject *out = NULL;
    if (pieces_init(&t, text) < 0)
        goto done;
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n;) {
        while (i < n && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)))
            i++;
        if (i >= n)
            break;
        Py_ssize_t w = i;
        while (i < n && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)))
            i++;
        if (pieces_add(&t, w, i, 0) < 0)
            goto done;
    }
    out = PyDict_New();
    if (out && pieces_out(&t, text, out, out) < 0)
        Py_CLEAR(out);
done:
    pieces_free(&t);
    return out;
}

/* split_counts(text, sep, doc_sep, before) -> (firsts, rest, others) or None: see the module's
 * docstring. */
static PyObject *split_counts(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *text, *before_str;
    int sep, doc_sep;
    if (!PyArg_ParseTuple(args, "UCCU", &text, &sep, &doc_sep, &before_str))
        return NULL;
    if (sep >= 128 || doc_sep >= 128) {
        PyErr_SetString(PyExc_ValueError, "split_counts: the separators must be ASCII");
        return NULL;
    }
    unsigned char before[0x3100 / 8] = {0};
    for (Py_ssize_t k = 0; k < PyUnicode_GET_LENGTH(before_str); k++) {
        Py_UCS4 b = PyUnicode_READ_CHAR(before_str, k);
        if (b >= 0x3100) {
            PyErr_SetString(PyExc_ValueError, "split_counts: a character before a space is over U+30FF");
            return NULL;
        }
        before[b >> 3] |= (unsigned char)(1u << (b & 7));
    }
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Pieces t;
    unsigned char *seen = NULL; /* a bit for each character from 128 up that the text holds */
    PyObject *firsts = NULL, *rest = NULL, *others = NULL, *out = NULL;
    seen = kind == PyUnicode_1BYTE_KIND ? PyMem_Calloc(32, 1) : PyMem_Calloc(0x110000 / 8, 1);
    if (pieces_init(&t, text) < 0 || !seen) {
        PyErr_NoMemory();
        goto done;
    }
    int first = 1;
    for (Py_ssize_t i = 0; i <= n;) {
        Py_ssize_t w = i;
        if (kind == PyUnicode_1BYTE_KIND)
            i = piece_end_Py_UCS1(data, i, n, (Py_UCS4)sep, (Py_UCS4)doc_sep, before, seen);
        else if (kind == PyUnicode_2BYTE_KIND)
            i = piece_end_Py_UCS2(data, i, n, (Py_UCS4)sep, (Py_UCS4)doc_sep, before, seen);
        else
            i = piece_end_Py_UCS4(data, i, n, (Py_UCS4)sep, (Py_UCS4)doc_sep, before, seen);
        if (i < 0) { /* not clean: the caller goes document by document */
            out = Py_None;
            Py_INCREF(out);
            goto done;
        }
        if (pieces_add(&t, w, i, first) < 0)
            goto done;
        first = i < n && PyUnicode_READ(kind, data, i) == (Py_UCS4)doc_sep;
        i++; /* past the separator (or past the end) */
    }
    firsts = PyDict_New();
    rest = PyDict_New();
    if (!firsts || !rest || pieces_out(&t, text, firsts, rest) < 0)
        goto done;
    Py_UCS4 found[256];
    Py_ssize_t n_found = 0;
    others = PyUnicode_New(0, 0);
    /* the marked characters, a word of the bitmap at a time (most words are 0) */
    for (size_t word = 0; others && word < (kind == PyUnicode_1BYTE_KIND ? 32u : 0x110000u / 8) / 8; word++) {
        uint64_t bits;
        memcpy(&bits, seen + word * 8, 8);
        for (int b = 0; bits && b < 64; b++) {
            if (!((bits >> b) & 1))
                continue;
            found[n_found++] = (Py_UCS4)(word * 64 + (size_t)b);
            if (n_found == 256) { /* flush: others += the characters found */
                PyObject *more = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, found, n_found);
                Py_SETREF(others, more ? PyUnicode_Concat(others, more) : NULL);
                Py_XDECREF(more);
                n_found = 0;
                if (!others)
                    break;
            }
        }
    }
    if (others && n_found) {
        PyObject *more = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, found, n_found);
        Py_SETREF(others, more ? PyUnicode_Concat(others, more) : NULL);
        Py_XDECREF(more);
    }
    if (others)
        out = PyTuple_Pack(3, firsts, rest, others);
done:
    Py_XDECREF(firsts);
    Py_XDECREF(rest);
    Py_XDECREF(others);
    pieces_free(&t);
    PyMem_Free(seen);
    return out;
}

/* count_lines(data) -> int: the newlines (b"\n") in a bytes-like object, counted with the GIL let
 * go (memchr: several GB/s, against bytes.count's 1-2). The parent of a parallel run counts the
 * lines before each task it cuts while its workers scan. */
static PyObject *count_lines(PyObject *Py_UNUSED(module), PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const char *p = view.buf, *end = p + view.len;
    Py_ssize_t n = 0;
    Py_BEGIN_ALLOW_THREADS
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(n);
}

static PyMethodDef module_methods[] = {
    {"expand", expand, METH_VARARGS,
     "expand(offsets, rows) -> (owner, flat): compressed-row lookup of int64 arrays, as bytes."},
    {"word_counts", word_counts, METH_O,
     "word_counts(data) -> dict: each whitespace-separated piece of ASCII bytes (a str), with its count."},
    {"name_keys", name_keys, METH_VARARGS,
     "name_keys(views, max_gap_words) -> (keys, name_key, name_off): see the module's docstring."},
    {"text_word_counts", text_word_counts, METH_O,
     "text_word_counts(text) -> dict: each str.split() piece of a str, with its count."},
    {"split_counts", split_counts, METH_VARARGS,
     "split_counts(text, sep, doc_sep, before) -> (firsts, rest, others) or None: see the module's docstring."},
    {"fold_texts", fold_texts, METH_VARARGS,
     "fold_texts(texts, segment, whole, cache) -> list: audit.normalize.normalize of each text."},
    {"count_lines", count_lines, METH_O, "count_lines(data) -> int: the newlines in a bytes-like object."},
    {"word_view", word_view, METH_O,
     "word_view(text) -> (view, ascii): the UTF-8 word view of a text and its ASCII bytes (0 elsewhere)."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef Scanner_methods[] = {
    {"joined", (PyCFunction)Scanner_joined, METH_NOARGS,
     "joined() -> bytes: the keys in id order, joined by newlines."},
    {"find", (PyCFunction)Scanner_find, METH_O,
     "find(data) -> bytes: every hit as int64 triples (start, end, key id), offsets of the padded key."},
    {"n_keys", (PyCFunction)Scanner_len, METH_NOARGS, "n_keys() -> the number of keys."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "audit._scan.Scanner",
    .tp_doc = PyDoc_STR("Scanner(keys): whole-word matching of many keys (see the module's docstring)."),
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT, "audit._scan",
    "Whole-word multi-key matching (the compiled scanner of audit.extract).", -1, module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) {
    if (PyType_Ready(&ScannerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&scan_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
