/* The byte loops of audit.minhash, for where numpy makes a pass over the data per operation:
 * the same numbers as its numpy formulas (the tests compare them on random inputs).
 *
 * word_hashes(data) -> (hashes, starts), two bytearrays: data the lowercased texts as audit.minhash.word_hashes
 * joins them (UTF-8, a newline before each and after the last). A word is a maximal run of bytes
 * that are ASCII letters or digits or 0x80 and above; its hash is sum_j b_j P**j over its bytes
 * (j from 0, mod 2**64), xor its length times M2, through murmur3's fmix64. hashes: uint64, one
 * a word in order; starts: int64, the offset of each word's first byte in data.
 *
 * bloom_check_insert(bits, keys, salt, m, k) -> bytes: audit.minhash.BloomLSH.check_and_insert
 * for band keys in stream order. bits: the filters' bits, a writable buffer of b * m / 8 bytes,
 * band i's filter from bit i * m; keys: uint64, n rows of b band keys; salt: uint64, one a band.
 * A key's bits are (g1 + t * g2) mod m for t < k, g1 = fmix64(key ^ salt), g2 = fmix64(g1 ^ M1)
 * | 1 (mod 2**64). One byte a row: 1 where all bits of some band key of the row were set before
 * the row (by earlier rows, or earlier calls); then the row's bits are set.
 *
 * min_bins(hashes, first, consts, salt, num_perm) -> bytearray: the one-permutation bins of
 * audit.minhash.signatures before densification, n rows of num_perm uint64 (2**32 for an empty
 * bin). hashes: uint64 word hashes of n texts, text i's words hashes[first[i]:first[i + 1]]
 * (first: int64, n + 1 offsets); consts: uint64, the width + 1 shingle constants c. A shingle of
 * width words from word j hashes to fmix64(sum_t hashes[j + t] * c[t]); a text of 0 < w < width
 * words has one, fmix64(sum_{t<w} hashes[t] * c[t] ^ w * c[width]); each then goes through
 * h = fmix64(h ^ salt), and bin (h >> 32) * num_perm >> 32 keeps the least h mod 2**32.
 *
 * densify(sig, num_perm, base0, base1): audit.minhash._densify in place on the rows of sig (a
 * writable buffer of uint64, num_perm a row): in a row with some non-empty bin, an empty bin c
 * takes the value of bin j = (fmix64(c * base0 + a * base1) >> 32) * num_perm >> 32 for the
 * first attempt a = 1, 2, ... where bin j was not empty before.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define M1 UINT64_C(0xFF51AFD7ED558CCD)
#define M2 UINT64_C(0xC4CEB9FE1A85EC53)
#define P (UINT64_C(0x100000001B3) * 2 + 1)

static inline uint64_t fmix64(uint64_t x) {
    x ^= x >> 33;
    x *= M1;
    x ^= x >> 33;
    x *= M2;
    x ^= x >> 33;
    return x;
}

#define POWERS 64 /* a power of 2: len & (POWERS - 1) is a valid index */

static unsigned char is_word[256];
static uint64_t power[POWERS]; /* P**j mod 2**64 */

static PyObject *word_hashes(PyObject *Py_UNUSED(module), PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *d = view.buf;
    Py_ssize_t n = view.len;
    /* at most one word in two bytes, and room for the slot each byte writes */
    Py_ssize_t cap = n / 2 + 2;
    PyObject *hashes = PyByteArray_FromStringAndSize(NULL, cap * 8);
    PyObject *starts = PyByteArray_FromStringAndSize(NULL, cap * 8);
    if (hashes == NULL || starts == NULL) {
        Py_XDECREF(hashes);
        Py_XDECREF(starts);
        PyBuffer_Release(&view);
        return NULL;
    }
    uint64_t *h_out = (uint64_t *)PyByteArray_AS_STRING(hashes);
    int64_t *s_out = (int64_t *)PyByteArray_AS_STRING(starts);
    Py_ssize_t words = 0;
    Py_BEGIN_ALLOW_THREADS
    /* Without a branch a byte (a word ends every few bytes, unpredictably): each byte writes the
     * hash so far as the next word's and moves past it where a word just ended; the powers of P
     * come from a table, so the multiplications do not wait on each other. */
    uint64_t h = 0, len = 0;
    Py_ssize_t i = 0;
    while (i < n) {
        uint64_t c = d[i];
        uint64_t w = is_word[c];
        uint64_t keep = (uint64_t)0 - w;
        h_out[words] = h ^ len * M2;
        s_out[words] = i - (Py_ssize_t)len;
        words += (Py_ssize_t)((w ^ 1) & (len != 0));
        h = (h + c * power[len & (POWERS - 1)]) & keep; /* past a long word: a non-word byte */
        len = (len + 1) & keep;
        i++;
        if (len == POWERS) { /* a long word: the rest of it with a running power */
            uint64_t p = power[POWERS - 1] * P;
            while (i < n && is_word[d[i]]) {
                h += (uint64_t)d[i] * p;
                p *= P;
                i++;
                len++;
            }
        }
    }
    if (len) { /* data ending in a word (audit.minhash ends it with a newline) */
        h_out[words] = h ^ len * M2;
        s_out[words] = i - (Py_ssize_t)len;
        words++;
    }
    for (Py_ssize_t j = 0; j < words; j++)
        h_out[j] = fmix64(h_out[j]);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (PyByteArray_Resize(hashes, words * 8) < 0 || PyByteArray_Resize(starts, words * 8) < 0) {
        Py_DECREF(hashes);
        Py_DECREF(starts);
        return NULL;
    }
    return Py_BuildValue("(NN)", hashes, starts);
}

static PyObject *bloom_check_insert(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer bits, keys, salt; /* "w*" and "y*": a buffer each, released on a parse error */
    unsigned long long m;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "w*y*y*Kn:bloom_check_insert", &bits, &keys, &salt, &m, &k))
        return NULL;
    Py_ssize_t b = salt.len / 8;
    PyObject *out = NULL;
    if (m == 0 || k < 1) {
        PyErr_SetString(PyExc_ValueError, "bloom_check_insert: m and k must be positive");
        goto done;
    }
    if (b < 1 || salt.len % 8 || keys.len % (8 * b) || (unsigned long long)bits.len * 8 < b * m) {
        PyErr_SetString(PyExc_ValueError, "bloom_check_insert: keys, salt and bits do not agree");
        goto done;
    }
    Py_ssize_t n = keys.len / (8 * b);
    out = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL)
        goto done;
    {
        unsigned char *hit = (unsigned char *)PyBytes_AS_STRING(out);
        unsigned char *bv = bits.buf;
        const uint64_t *kv = keys.buf;
        const uint64_t *sv = salt.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t r = 0; r < n; r++) {
            const uint64_t *row = kv + r * b;
            unsigned char any = 0;
            for (Py_ssize_t band = 0; band < b && !any; band++) {
                uint64_t g1 = fmix64(row[band] ^ sv[band]);
                uint64_t g2 = fmix64(g1 ^ M1) | 1;
                uint64_t base = (uint64_t)band * m;
                unsigned char all = 1;
                for (Py_ssize_t t = 0; t < k && all; t++) {
                    uint64_t g = (g1 + (uint64_t)t * g2) % m + base;
                    all = (bv[g >> 3] >> (g & 7)) & 1;
                }
                any = all;
            }
            hit[r] = any;
            for (Py_ssize_t band = 0; band < b; band++) {
                uint64_t g1 = fmix64(row[band] ^ sv[band]);
                uint64_t g2 = fmix64(g1 ^ M1) | 1;
                uint64_t base = (uint64_t)band * m;
                for (Py_ssize_t t = 0; t < k; t++) {
                    uint64_t g = (g1 + (uint64_t)t * g2) % m + base;
                    bv[g >> 3] |= (unsigned char)(1u << (g & 7));
                }
            }
        }
        Py_END_ALLOW_THREADS
    }
done:
    PyBuffer_Release(&bits);
    PyBuffer_Release(&keys);
    PyBuffer_Release(&salt);
    return out;
}

static inline void put_shingle(uint64_t *bins, uint64_t acc, uint64_t salt, uint64_t k) {
    uint64_t h = fmix64(fmix64(acc) ^ salt);
    uint64_t bin = ((h >> 32) * k) >> 32;
    uint64_t v = h & UINT64_C(0xFFFFFFFF);
    if (v < bins[bin])
        bins[bin] = v;
}

static PyObject *min_bins(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer hv, fv, cv; /* "y*": a buffer each, released on a parse error */
    unsigned long long salt;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "y*y*y*Kn:min_bins", &hv, &fv, &cv, &salt, &k))
        return NULL;
    PyObject *out = NULL;
    Py_ssize_t words = hv.len / 8, n = fv.len / 8 - 1, width = cv.len / 8 - 1;
    const uint64_t *wh = hv.buf, *c = cv.buf;
    const int64_t *first = fv.buf;
    int ok = k >= 1 && width >= 1 && n >= 0 && hv.len % 8 == 0 && fv.len % 8 == 0 && cv.len % 8 == 0;
    for (Py_ssize_t i = 0; ok && i < n; i++)
        ok = first[i] >= 0 && first[i] <= first[i + 1] && first[i + 1] <= words;
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "min_bins: hashes, offsets and constants do not agree");
        goto done;
    }
    out = PyByteArray_FromStringAndSize(NULL, n * k * 8);
    if (out == NULL)
        goto done;
    {
        uint64_t *bins = (uint64_t *)PyByteArray_AS_STRING(out);
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n * k; i++)
            bins[i] = UINT64_C(1) << 32;
        for (Py_ssize_t i = 0; i < n; i++) {
            const uint64_t *w = wh + first[i];
            Py_ssize_t cnt = first[i + 1] - first[i];
            uint64_t *row = bins + i * k;
            if (cnt == 0)
                continue;
            if (cnt < width) {
                uint64_t acc = 0;
                for (Py_ssize_t t = 0; t < cnt; t++)
                    acc += w[t] * c[t];
                put_shingle(row, acc ^ (uint64_t)cnt * c[width], salt, (uint64_t)k);
                continue;
            }
            for (Py_ssize_t j = 0; j + width <= cnt; j++) {
                uint64_t acc = 0;
                for (Py_ssize_t t = 0; t < width; t++)
                    acc += w[j + t] * c[t];
                put_shingle(row, acc, salt, (uint64_t)k);
            }
        }
        Py_END_ALLOW_THREADS
    }
done:
    PyBuffer_Release(&hv);
    PyBuffer_Release(&fv);
    PyBuffer_Release(&cv);
    return out;
}

#define EMPTY (UINT64_C(1) << 32)

static PyObject *densify(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *sig_obj;
    Py_ssize_t k;
    unsigned long long base0, base1;
    if (!PyArg_ParseTuple(args, "OnKK:densify", &sig_obj, &k, &base0, &base1))
        return NULL;
    Py_buffer sv;
    if (PyObject_GetBuffer(sig_obj, &sv, PyBUF_WRITABLE) < 0)
        return NULL;
    if (k < 1 || sv.len % (8 * k)) {
        PyBuffer_Release(&sv);
        PyErr_SetString(PyExc_ValueError, "densify: the signature is not rows of num_perm uint64");
        return NULL;
    }
    unsigned char *was_empty = PyMem_Malloc((size_t)k);
    if (was_empty == NULL) {
        PyBuffer_Release(&sv);
        return PyErr_NoMemory();
    }
    Py_ssize_t n = sv.len / (8 * k);
    uint64_t *sig = sv.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < n; r++) {
        uint64_t *row = sig + r * k;
        Py_ssize_t holes = 0;
        for (Py_ssize_t c = 0; c < k; c++)
            holes += was_empty[c] = row[c] == EMPTY;
        if (holes == 0 || holes == k)
            continue;
        for (Py_ssize_t c = 0; c < k; c++) {
            if (!was_empty[c])
                continue;
            for (uint64_t a = 1;; a++) {
                uint64_t j = (fmix64((uint64_t)c * base0 + a * base1) >> 32) * (uint64_t)k >> 32;
                if (!was_empty[j]) {
                    row[c] = row[j];
                    break;
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(was_empty);
    PyBuffer_Release(&sv);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"word_hashes", word_hashes, METH_O, "(hashes, starts) of the words of joined texts (see the module)."},
    {"bloom_check_insert", bloom_check_insert, METH_VARARGS, "Check band keys against the Bloom bits, then set them."},
    {"min_bins", min_bins, METH_VARARGS, "The one-permutation bins of word hashes (see the module)."},
    {"densify", densify, METH_VARARGS, "Fill the empty bins of signature rows in place (see the module)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef minhash_module = {
    PyModuleDef_HEAD_INIT, "audit._minhash",
    "The byte loops of audit.minhash (see audit/_minhash.c).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__minhash(void) {
    for (int c = 0; c < 256; c++)
        is_word[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
    power[0] = 1;
    for (int j = 1; j < POWERS; j++)
        power[j] = power[j - 1] * P;
    return PyModule_Create(&minhash_module);
}
