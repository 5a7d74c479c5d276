/* port.c: the harness protocol (docs/harness-protocol.md) in one C11 file, as a C/C++ or
 * mobile port would speak it. Only libc, libm and a few POSIX calls (open, fstat, mkdir).
 *
 *   port --bundle DIR --out DIR --mode isolated|chained [--cases FILE]
 *
 * Reads DIR/manifest.json, runs each case's steps, writes OUT/<case>/<index>_<op>.npy for
 * every step it ran and OUT/harness.json last. Implemented steps (knobs in conformance/spec.py):
 *
 *   crop       mode center (offset_rounding floor | round (half even) | round_half_up,
 *              if_smaller error | pad with pad_extra after | before and value) or box;
 *              uint8 or float32 input (conformance/reference/geometry.py crop, _offset, _pad_before)
 *   normalize  order scale_first | mean_first | fused, scale or divisor, scale_dtype
 *              compute | float64, compute_dtype float32 | float64, per-channel mean/std,
 *              output float32 (conformance/reference/normalize.py)
 *   layout     hwc | chw, batch, channel_order keep | reverse (conformance/reference/layout.py)
 *   color      rgb_to_bgr | bgr_to_rgb (reverse the channels; conformance/reference/color.py)
 *
 * Every other op (decode, resize, pad, letterbox, other colour conversions) and every knob or
 * knob value it does not know is reported `unsupported` with the reason. Nothing read is
 * trusted: JSON nesting, string and file sizes, .npy headers (shape product against the bytes
 * present), names that become paths and bundle paths are checked before use; a bad case gets
 * an error record and the other cases go on.
 *
 * Float32 arithmetic must be IEEE single, each operation rounded: build without fused
 * multiply-add contraction (-ffp-contract=off) and with FLT_EVAL_METHOD 0 (checked below).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "float32 results need FLT_EVAL_METHOD 0 (SSE/NEON float arithmetic, not x87)"
#endif

#define PORT_VERSION "0.1.0"
#define MAX_MANIFEST_BYTES ((size_t)256 << 20)
#define MAX_NPY_BYTES ((size_t)1 << 30)
#define MAX_CASES_FILE_BYTES ((size_t)64 << 20)
#define MAX_PIXELS ((size_t)1 << 26) /* the reference's DEFAULT_MAX_PIXELS */
#define MAX_DIMS 8
#define MAX_JSON_DEPTH 64
#define MAX_NAME 200
#define ERR_LEN 512

/* ------------------------------------------------------------------------------------------
 * Growing text buffer
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} Buf;

static void buf_add(Buf *b, const char *s, size_t len) {
    if (b->oom) return;
    if (len > SIZE_MAX / 2 - b->n - 1) { b->oom = 1; return; }
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void buf_str(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* A JSON string literal; bytes outside printable ASCII become \u00XX or '?', so the output is
 * valid UTF-8 whatever the input held. */
static void buf_json_string(Buf *b, const char *s) {
    buf_add(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\'; esc[1] = (char)*c;
            buf_add(b, esc, 2);
        } else if (*c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *c);
            buf_add(b, esc, 6);
        } else if (*c >= 0x7f) {
            buf_add(b, "?", 1);
        } else {
            buf_add(b, (const char *)c, 1);
        }
    }
    buf_add(b, "\"", 1);
}

/* ------------------------------------------------------------------------------------------
 * Files
 * ---------------------------------------------------------------------------------------- */

/* Reads a regular file (symbolic links refused) of at most `limit` bytes; a NUL is appended. */
static unsigned char *read_file(const char *path, size_t limit, size_t *size, char *err) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0) { snprintf(err, ERR_LEN, "%s: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, ERR_LEN, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)limit) {
        snprintf(err, ERR_LEN, "%s: %lld bytes, over the limit of %zu", path, (long long)st.st_size, limit);
        close(fd);
        return NULL;
    }
    size_t want = (size_t)st.st_size, got = 0;
    unsigned char *data = malloc(want + 1);
    if (!data) { snprintf(err, ERR_LEN, "%s: out of memory", path); close(fd); return NULL; }
    while (got < want) {
        ssize_t r = read(fd, data + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            snprintf(err, ERR_LEN, "%s: short read", path);
            free(data);
            close(fd);
            return NULL;
        }
        got += (size_t)r;
    }
    close(fd);
    data[want] = '\0';
    *size = want;
    return data;
}

/* Writes `path` atomically: a temporary sibling, then rename. */
static int write_atomically(const char *path, const void *a, size_t na, const void *b, size_t nb, char *err) {
    Buf tmp = {0};
    buf_str(&tmp, path);
    buf_str(&tmp, ".tmp");
    if (tmp.oom) { snprintf(err, ERR_LEN, "out of memory"); return -1; }
    FILE *f = fopen(tmp.p, "wb");
    int ok = f != NULL;
    if (ok && na) ok = fwrite(a, 1, na, f) == na;
    if (ok && nb) ok = fwrite(b, 1, nb, f) == nb;
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp.p, path) != 0) ok = 0;
    if (!ok) {
        snprintf(err, ERR_LEN, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp.p);
    }
    free(tmp.p);
    return ok ? 0 : -1;
}

/* The protocol's names (case ids, ops): ^[A-Za-z0-9][A-Za-z0-9._-]*$, at most 200 bytes. */
static int safe_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > MAX_NAME) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return 0;
    }
    return 1;
}

/* A bundle path: relative, '/'-separated, no empty, '.' or '..' component, no backslash. */
static int safe_bundle_path(const char *s) {
    if (!*s || *s == '/' || strlen(s) > 4096 || strchr(s, '\\')) return 0;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
        p += n;
        if (*p == '/') p++;
        if (e && !*p) return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * JSON: a small strict reader (RFC 8259): objects, arrays, strings, numbers, true/false/null
 * ---------------------------------------------------------------------------------------- */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct J {
    int type;
    int boolean;
    double num;
    char *str;       /* J_STR: NUL-terminated (a \u0000 escape is refused) */
    struct J **items; /* J_ARR, J_OBJ values */
    char **keys;     /* J_OBJ */
    size_t n;
} J;

typedef struct {
    const char *begin, *s, *end;
    char err[ERR_LEN];
} JParser;

static void j_free(J *v) {
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) {
        j_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

static void j_ws(JParser *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int j_fail(JParser *p, const char *what) {
    if (!p->err[0]) snprintf(p->err, ERR_LEN, "%s at byte %ld", what, (long)(p->s - p->begin));
    return -1;
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static char *j_string(JParser *p) {
    /* p->s at the opening quote */
    p->s++;
    Buf b = {0};
    buf_add(&b, "", 0);
    while (1) {
        if (p->s >= p->end) { j_fail(p, "unterminated string"); break; }
        unsigned char c = (unsigned char)*p->s;
        if (c == '"') { p->s++; if (b.oom) break; return b.p; }
        if (c < 0x20) { j_fail(p, "control character in string"); break; }
        if (c != '\\') { buf_add(&b, p->s, 1); p->s++; continue; }
        if (p->end - p->s < 2) { j_fail(p, "bad escape"); break; }
        char e = p->s[1];
        p->s += 2;
        const char *simple = "\"\\/bfnrt", *val = "\"\\/\b\f\n\r\t";
        const char *k = e ? strchr(simple, e) : NULL;
        if (k) { buf_add(&b, val + (k - simple), 1); continue; }
        if (e != 'u') { j_fail(p, "bad escape"); break; }
        unsigned cp, lo;
        if (p->end - p->s < 4 || hex4(p->s, &cp) != 0) { j_fail(p, "bad \\u escape"); break; }
        p->s += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (p->end - p->s < 6 || p->s[0] != '\\' || p->s[1] != 'u' || hex4(p->s + 2, &lo) != 0 ||
                lo < 0xDC00 || lo > 0xDFFF) { j_fail(p, "unpaired surrogate"); break; }
            p->s += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) { j_fail(p, "unpaired surrogate"); break; }
        if (cp == 0) { j_fail(p, "\\u0000 in string"); break; }
        char u[4];
        size_t n;
        if (cp < 0x80) { u[0] = (char)cp; n = 1; }
        else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
        else if (cp < 0x10000) { u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                                 u[2] = (char)(0x80 | (cp & 0x3F)); n = 3; }
        else { u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
               u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4; }
        buf_add(&b, u, n);
    }
    if (b.oom) j_fail(p, "out of memory");
    free(b.p);
    return NULL;
}

static J *j_value(JParser *p, int depth);

static int j_push(J *v, J *item, char *key) {
    if ((v->n & (v->n - 1)) == 0) { /* grow at powers of two */
        size_t cap = v->n ? v->n * 2 : 1;
        if (cap > SIZE_MAX / sizeof(J *)) return -1;
        J **items = realloc(v->items, cap * sizeof(J *));
        if (!items) return -1;
        v->items = items;
        if (v->type == J_OBJ) {
            char **keys = realloc(v->keys, cap * sizeof(char *));
            if (!keys) return -1;
            v->keys = keys;
        }
    }
    v->items[v->n] = item;
    if (v->type == J_OBJ) v->keys[v->n] = key;
    v->n++;
    return 0;
}

static J *j_value(JParser *p, int depth) {
    if (depth > MAX_JSON_DEPTH) { j_fail(p, "nesting too deep"); return NULL; }
    j_ws(p);
    if (p->s >= p->end) { j_fail(p, "unexpected end"); return NULL; }
    J *v = calloc(1, sizeof(J));
    if (!v) { j_fail(p, "out of memory"); return NULL; }
    char c = *p->s;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        v->type = c == '{' ? J_OBJ : J_ARR;
        p->s++;
        j_ws(p);
        if (p->s < p->end && *p->s == close) { p->s++; return v; }
        while (1) {
            char *key = NULL;
            j_ws(p);
            if (v->type == J_OBJ) {
                if (p->s >= p->end || *p->s != '"') { j_fail(p, "expected a key"); break; }
                key = j_string(p);
                if (!key) break;
                j_ws(p);
                if (p->s >= p->end || *p->s != ':') { free(key); j_fail(p, "expected ':'"); break; }
                p->s++;
            }
            J *item = j_value(p, depth + 1);
            if (!item) { free(key); break; }
            if (j_push(v, item, key) != 0) { j_free(item); free(key); j_fail(p, "out of memory"); break; }
            j_ws(p);
            if (p->s < p->end && *p->s == ',') { p->s++; continue; }
            if (p->s < p->end && *p->s == close) { p->s++; return v; }
            j_fail(p, "expected ',' or a closing bracket");
            break;
        }
        j_free(v);
        return NULL;
    }
    if (c == '"') {
        v->type = J_STR;
        v->str = j_string(p);
        if (!v->str) { free(v); return NULL; }
        return v;
    }
    static const struct { const char *word; int type, b; } words[] = {
        {"true", J_BOOL, 1}, {"false", J_BOOL, 0}, {"null", J_NULL, 0}};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(p->end - p->s) >= n && memcmp(p->s, words[i].word, n) == 0) {
            v->type = words[i].type;
            v->boolean = words[i].b;
            p->s += n;
            return v;
        }
    }
    /* number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
    const char *q = p->s;
    if (q < p->end && *q == '-') q++;
    const char *digits = q;
    while (q < p->end && *q >= '0' && *q <= '9') q++;
    int ok = q > digits && !(*digits == '0' && q - digits > 1);
    if (ok && q < p->end && *q == '.') {
        const char *f = ++q;
        while (q < p->end && *q >= '0' && *q <= '9') q++;
        ok = q > f;
    }
    if (ok && q < p->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < p->end && (*q == '+' || *q == '-')) q++;
        const char *f = q;
        while (q < p->end && *q >= '0' && *q <= '9') q++;
        ok = q > f;
    }
    char tok[64];
    if (!ok || (size_t)(q - p->s) >= sizeof tok) { free(v); j_fail(p, "bad value"); return NULL; }
    memcpy(tok, p->s, (size_t)(q - p->s));
    tok[q - p->s] = '\0';
    v->type = J_NUM;
    v->num = strtod(tok, NULL);
    p->s = q;
    if (!isfinite(v->num)) { free(v); j_fail(p, "number out of range"); return NULL; }
    return v;
}

static J *j_parse(const char *text, size_t len, char *err) {
    JParser p = {text, text, text + len, {0}};
    J *v = j_value(&p, 0);
    if (v) {
        j_ws(&p);
        if (p.s != p.end) { j_free(v); v = NULL; j_fail(&p, "trailing data"); }
    }
    if (!v) snprintf(err, ERR_LEN, "%.500s", p.err);
    return v;
}

/* The value of `key` in an object (the last one, as Python's json keeps), or NULL. */
static const J *j_get(const J *obj, const char *key) {
    if (!obj || obj->type != J_OBJ) return NULL;
    for (size_t i = obj->n; i-- > 0;)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

static const char *j_str(const J *obj, const char *key) {
    const J *v = j_get(obj, key);
    return v && v->type == J_STR ? v->str : NULL;
}

/* ------------------------------------------------------------------------------------------
 * Arrays and .npy (format 1.0 written; 1.0-3.0 read; '|u1' and '<f4', C order)
 * ---------------------------------------------------------------------------------------- */

enum { DT_U8 = 1, DT_F32 = 4 }; /* the value is the item size */

typedef struct {
    int dtype;
    int ndim;
    size_t shape[MAX_DIMS];
    size_t count; /* product of shape */
    unsigned char *data;
} Tensor;

static void tensor_free(Tensor *t) {
    free(t->data);
    memset(t, 0, sizeof *t);
}

static int host_little_endian(void) {
    uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap4(unsigned char *p, size_t count) {
    for (size_t i = 0; i < count; i++, p += 4) {
        unsigned char a = p[0], b = p[1];
        p[0] = p[3]; p[1] = p[2]; p[2] = b; p[3] = a;
    }
}

/* Allocates a tensor; refuses a shape whose element count overflows or exceeds the limit. */
static int tensor_alloc(Tensor *t, int dtype, int ndim, const size_t *shape, char *err) {
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && count > (MAX_NPY_BYTES / 4) / shape[i]) {
            snprintf(err, ERR_LEN, "array too large");
            return -1;
        }
        count *= shape[i];
    }
    memset(t, 0, sizeof *t);
    t->data = malloc(count * (size_t)dtype + 1);
    if (!t->data) { snprintf(err, ERR_LEN, "out of memory"); return -1; }
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof(size_t));
    t->count = count;
    return 0;
}

/* Finds `'key':` in a .npy header dictionary and returns the text after the colon. */
static const char *npy_field(const char *header, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *s = strstr(header, pat);
    if (!s) return NULL;
    s += strlen(pat);
    while (*s == ' ') s++;
    if (*s != ':') return NULL;
    s++;
    while (*s == ' ') s++;
    return s;
}

/* Reads a .npy file: the header is checked (dtype, C order, shape, shape product against the
 * bytes present) before any data is used. */
static int npy_read(const char *path, Tensor *t, char *err) {
    size_t size = 0;
    char ferr[ERR_LEN];
    unsigned char *raw = read_file(path, MAX_NPY_BYTES, &size, ferr);
    if (!raw) { snprintf(err, ERR_LEN, "%.500s", ferr); return -1; }
    int rc = -1;
    char *header = NULL;
    if (size < 10 || memcmp(raw, "\x93NUMPY", 6) != 0) { snprintf(err, ERR_LEN, "%s: not a .npy file", path); goto done; }
    size_t hlen, start;
    if (raw[6] == 1) { hlen = (size_t)raw[8] | ((size_t)raw[9] << 8); start = 10; }
    else if ((raw[6] == 2 || raw[6] == 3) && size >= 12) {
        hlen = (size_t)raw[8] | ((size_t)raw[9] << 8) | ((size_t)raw[10] << 16) | ((size_t)raw[11] << 24);
        start = 12;
    } else { snprintf(err, ERR_LEN, "%s: unknown .npy version %u", path, raw[6]); goto done; }
    if (hlen > size - start || hlen > 65536) { snprintf(err, ERR_LEN, "%s: truncated .npy header", path); goto done; }
    header = malloc(hlen + 1);
    if (!header) { snprintf(err, ERR_LEN, "out of memory"); goto done; }
    memcpy(header, raw + start, hlen);
    header[hlen] = '\0';
    if (strlen(header) != hlen) { snprintf(err, ERR_LEN, "%s: NUL in .npy header", path); goto done; }
    const char *d = npy_field(header, "descr"), *f = npy_field(header, "fortran_order"),
               *s = npy_field(header, "shape");
    if (!d || !f || !s) { snprintf(err, ERR_LEN, "%s: .npy header lacks descr, fortran_order or shape", path); goto done; }
    int dtype;
    if (!strncmp(d, "'|u1'", 5) || !strncmp(d, "'<u1'", 5) || !strncmp(d, "'u1'", 4)) dtype = DT_U8;
    else if (!strncmp(d, "'<f4'", 5)) dtype = DT_F32;
    else { snprintf(err, ERR_LEN, "%s: dtype %.16s is neither uint8 nor little-endian float32", path, d); goto done; }
    if (strncmp(f, "False", 5) != 0) { snprintf(err, ERR_LEN, "%s: Fortran order", path); goto done; }
    if (*s != '(') { snprintf(err, ERR_LEN, "%s: bad shape", path); goto done; }
    s++;
    size_t shape[MAX_DIMS];
    int ndim = 0;
    while (1) {
        while (*s == ' ') s++;
        if (*s == ')') break;
        if (*s < '0' || *s > '9') { snprintf(err, ERR_LEN, "%s: bad shape", path); goto done; }
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            if (v > (UINT64_MAX - 9) / 10) { snprintf(err, ERR_LEN, "%s: absurd shape", path); goto done; }
            v = v * 10 + (uint64_t)(*s++ - '0');
        }
        if (ndim == MAX_DIMS || v > MAX_NPY_BYTES) { snprintf(err, ERR_LEN, "%s: absurd shape", path); goto done; }
        shape[ndim++] = (size_t)v;
        while (*s == ' ') s++;
        if (*s == ',') s++;
        else if (*s != ')') { snprintf(err, ERR_LEN, "%s: bad shape", path); goto done; }
    }
    char aerr[ERR_LEN];
    if (tensor_alloc(t, dtype, ndim, shape, aerr) != 0) { snprintf(err, ERR_LEN, "%.300s: %.200s", path, aerr); goto done; }
    size_t nbytes = t->count * (size_t)dtype;
    if (size - start - hlen != nbytes) {
        snprintf(err, ERR_LEN, "%s: the header's shape needs %zu bytes of data, the file has %zu", path, nbytes,
                 size - start - hlen);
        tensor_free(t);
        goto done;
    }
    memcpy(t->data, raw + start + hlen, nbytes);
    if (dtype == DT_F32 && !host_little_endian()) swap4(t->data, t->count);
    rc = 0;
done:
    free(header);
    free(raw);
    return rc;
}

/* Writes numpy's format 1.0: magic, header padded with spaces to a multiple of 64, data. */
static int npy_write(const char *path, const Tensor *t, char *err) {
    Buf h = {0};
    char num[32];
    buf_add(&h, "\x93NUMPY\x01\x00", 8);
    buf_add(&h, "..", 2); /* header length, filled in below */
    buf_str(&h, "{'descr': '");
    buf_str(&h, t->dtype == DT_U8 ? "|u1" : "<f4");
    buf_str(&h, "', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < t->ndim; i++) {
        snprintf(num, sizeof num, i ? ", %zu" : "%zu", t->shape[i]);
        buf_str(&h, num);
    }
    buf_str(&h, t->ndim == 1 ? ",), }" : "), }");
    while (!h.oom && (h.n + 1) % 64 != 0) buf_add(&h, " ", 1);
    buf_add(&h, "\n", 1);
    if (h.oom || h.n - 10 > 65535) { free(h.p); snprintf(err, ERR_LEN, "out of memory"); return -1; }
    size_t hlen = h.n - 10;
    h.p[8] = (char)(hlen & 0xFF);
    h.p[9] = (char)(hlen >> 8);
    size_t nbytes = t->count * (size_t)t->dtype;
    int rc;
    if (t->dtype == DT_F32 && !host_little_endian()) {
        unsigned char *copy = malloc(nbytes + 1);
        if (!copy) { free(h.p); snprintf(err, ERR_LEN, "out of memory"); return -1; }
        memcpy(copy, t->data, nbytes);
        swap4(copy, t->count);
        rc = write_atomically(path, h.p, h.n, copy, nbytes, err);
        free(copy);
    } else {
        rc = write_atomically(path, h.p, h.n, t->data, nbytes, err);
    }
    free(h.p);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Knobs
 * ---------------------------------------------------------------------------------------- */

enum { ST_OK, ST_UNSUPPORTED, ST_ERROR };

/* `unsupported` for a knob this port does not know (a newer spec's knob must not be ignored
 * silently); `preset` is provenance only. */
static int check_known_knobs(const J *step, const char *const *known, char *why) {
    for (size_t i = 0; i < step->n; i++) {
        const char *k = step->keys[i];
        int found = !strcmp(k, "op") || !strcmp(k, "preset");
        for (const char *const *q = known; *q && !found; q++) found = !strcmp(k, *q);
        if (!found) {
            snprintf(why, ERR_LEN, "knob '%.100s' is unknown to this port", k);
            return ST_UNSUPPORTED;
        }
    }
    return ST_OK;
}

/* A string knob whose value must be one of `allowed` (NULL-terminated); `unsupported` names
 * the value otherwise. Returns the index of the value. */
static int knob_choice(const J *step, const char *key, const char *const *allowed, int *index, char *why) {
    const char *v = j_str(step, key);
    if (!v) { snprintf(why, ERR_LEN, "knob '%s' is missing or not a string", key); return ST_ERROR; }
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(v, allowed[i])) { *index = i; return ST_OK; }
    snprintf(why, ERR_LEN, "%s '%.100s' is not implemented by this port", key, v);
    return ST_UNSUPPORTED;
}

static int knob_int(const J *step, const char *key, long lo, long hi, long *out, char *why) {
    const J *v = j_get(step, key);
    if (!v || v->type != J_NUM || v->num != floor(v->num) || v->num < (double)lo || v->num > (double)hi) {
        snprintf(why, ERR_LEN, "knob '%s' must be an integer %ld..%ld", key, lo, hi);
        return ST_ERROR;
    }
    *out = (long)v->num;
    return ST_OK;
}

static int knob_number(const J *step, const char *key, double *out, char *why) {
    const J *v = j_get(step, key);
    if (!v || v->type != J_NUM) { snprintf(why, ERR_LEN, "knob '%s' must be a number", key); return ST_ERROR; }
    *out = v->num;
    return ST_OK;
}

/* A per-channel knob (one value broadcasts): `channels` doubles into `out`. */
static int knob_channels(const J *step, const char *key, size_t channels, double *out, char *why) {
    const J *v = j_get(step, key);
    if (v && v->type == J_NUM) {
        for (size_t c = 0; c < channels; c++) out[c] = v->num;
        return ST_OK;
    }
    if (!v || v->type != J_ARR || (v->n != 1 && v->n != channels)) {
        snprintf(why, ERR_LEN, "knob '%s' needs 1 or %zu numbers", key, channels);
        return ST_ERROR;
    }
    for (size_t c = 0; c < channels; c++) {
        const J *x = v->items[v->n == 1 ? 0 : c];
        if (x->type != J_NUM) { snprintf(why, ERR_LEN, "knob '%s' needs numbers", key); return ST_ERROR; }
        out[c] = x->num;
    }
    return ST_OK;
}

static int need_hwc(const Tensor *in, const char *op, char *why) {
    if (in->ndim != 3 || in->shape[2] == 0 || in->shape[2] > 64) {
        snprintf(why, ERR_LEN, "%s needs an (H, W, C) array with 1..64 channels, got %d dimensions", op, in->ndim);
        return ST_ERROR;
    }
    return ST_OK;
}

#define TRY(x) do { int st_ = (x); if (st_ != ST_OK) return st_; } while (0)

/* ------------------------------------------------------------------------------------------
 * Steps. Each: check (knob names and values it can run) then run (the arithmetic).
 * ---------------------------------------------------------------------------------------- */

static const char *const CROP_KNOBS[] = {"mode", "height", "width", "top", "left", "offset_rounding",
                                         "if_smaller", "pad_extra", "value", NULL};
static const char *const CROP_MODES[] = {"center", "box", NULL};
static const char *const ROUNDINGS[] = {"floor", "round", "round_half_up", NULL};
static const char *const IF_SMALLER[] = {"error", "pad", NULL};
static const char *const PAD_EXTRA[] = {"after", "before", NULL};

/* Offset that centres a window: rule(extra / 2) for extra >= 0 (reference geometry._offset):
 * floor = extra / 2; round = half to even (Python round: 1 -> 0, 3 -> 2); round_half_up =
 * floor(extra / 2 + 0.5). */
static size_t centre_offset(size_t extra, int rule) {
    size_t half = extra / 2;
    if (extra % 2 == 0 || rule == 0) return half;
    if (rule == 1) return half % 2 == 0 ? half : half + 1;
    return half + 1;
}

static int crop_check(const J *step, char *why) {
    int i;
    TRY(check_known_knobs(step, CROP_KNOBS, why));
    TRY(knob_choice(step, "mode", CROP_MODES, &i, why));
    TRY(knob_choice(step, "offset_rounding", ROUNDINGS, &i, why));
    TRY(knob_choice(step, "if_smaller", IF_SMALLER, &i, why));
    TRY(knob_choice(step, "pad_extra", PAD_EXTRA, &i, why));
    return ST_OK;
}

/* Crop (reference geometry.crop): centre mode, per axis of length n and window k: k <= n
 * crops at offset_rounding((n - k) / 2); k > n is an error, or with if_smaller=pad the axis is
 * padded with `value` to length k, before = d / 2 (pad_extra after) or ceil(d / 2) (before).
 * Box mode: the window at top, left, inside the image. */
static int crop_run(const J *step, const Tensor *in, Tensor *out, char *why) {
    int mode, rounding, if_smaller, pad_extra;
    long height, width, top = 0, left = 0;
    TRY(need_hwc(in, "crop", why));
    TRY(knob_choice(step, "mode", CROP_MODES, &mode, why));
    TRY(knob_choice(step, "offset_rounding", ROUNDINGS, &rounding, why));
    TRY(knob_choice(step, "if_smaller", IF_SMALLER, &if_smaller, why));
    TRY(knob_choice(step, "pad_extra", PAD_EXTRA, &pad_extra, why));
    TRY(knob_int(step, "height", 1, 65536, &height, why));
    TRY(knob_int(step, "width", 1, 65536, &width, why));
    if (mode == 1) {
        TRY(knob_int(step, "top", 0, 1L << 30, &top, why));
        TRY(knob_int(step, "left", 0, 1L << 30, &left, why));
    }
    size_t h = in->shape[0], w = in->shape[1], c = in->shape[2];
    size_t kh = (size_t)height, kw = (size_t)width;
    /* window origin in image coordinates; negative = padding (centre mode with pad only) */
    long long y0, x0;
    if (mode == 1) {
        if ((size_t)top + kh > h || (size_t)left + kw > w) {
            snprintf(why, ERR_LEN, "crop box top=%ld left=%ld %zux%zu leaves the image %zux%zu", top, left, kh, kw, h, w);
            return ST_ERROR;
        }
        y0 = top;
        x0 = left;
    } else {
        if ((kh > h || kw > w) && if_smaller == 0) {
            snprintf(why, ERR_LEN, "crop window %zux%zu is larger than the image %zux%zu", kh, kw, h, w);
            return ST_ERROR;
        }
        y0 = kh <= h ? (long long)centre_offset(h - kh, rounding)
                     : -(long long)(pad_extra == 0 ? (kh - h) / 2 : (kh - h + 1) / 2);
        x0 = kw <= w ? (long long)centre_offset(w - kw, rounding)
                     : -(long long)(pad_extra == 0 ? (kw - w) / 2 : (kw - w + 1) / 2);
    }
    double fill[64] = {0};
    int padding = y0 < 0 || x0 < 0;
    if (padding) {
        TRY(knob_channels(step, "value", c, fill, why));
        for (size_t ch = 0; ch < c && in->dtype == DT_U8; ch++)
            if (fill[ch] != floor(fill[ch]) || fill[ch] < 0 || fill[ch] > 255) {
                snprintf(why, ERR_LEN, "fill %g does not fit uint8", fill[ch]);
                return ST_ERROR;
            }
    }
    size_t shape[3] = {kh, kw, c};
    if (kh * kw > MAX_PIXELS) { snprintf(why, ERR_LEN, "crop would make %zux%zu pixels, over the limit", kh, kw); return ST_ERROR; }
    char aerr[ERR_LEN];
    if (tensor_alloc(out, in->dtype, 3, shape, aerr) != 0) { snprintf(why, ERR_LEN, "%.500s", aerr); return ST_ERROR; }
    size_t item = (size_t)in->dtype, px = c * item;
    for (size_t y = 0; y < kh; y++) {
        long long sy = y0 + (long long)y;
        for (size_t x = 0; x < kw; x++) {
            long long sx = x0 + (long long)x;
            unsigned char *dst = out->data + (y * kw + x) * px;
            if (sy >= 0 && sx >= 0 && (size_t)sy < h && (size_t)sx < w) {
                memcpy(dst, in->data + ((size_t)sy * w + (size_t)sx) * px, px);
            } else {
                for (size_t ch = 0; ch < c; ch++) {
                    if (in->dtype == DT_U8) dst[ch] = (unsigned char)fill[ch];
                    else { float f = (float)fill[ch]; memcpy(dst + ch * 4, &f, 4); }
                }
            }
        }
    }
    return ST_OK;
}

static const char *const NORMALIZE_KNOBS[] = {"dtype", "compute_dtype", "scale", "divisor", "mean", "std",
                                              "order", "scale_dtype", "input_range", NULL};
static const char *const OUT_DTYPES[] = {"float32", NULL};
static const char *const COMPUTE_DTYPES[] = {"float32", "float64", NULL};
static const char *const ORDERS[] = {"scale_first", "mean_first", "fused", NULL};
static const char *const SCALE_DTYPES[] = {"compute", "float64", NULL};

static int normalize_check(const J *step, char *why) {
    int i;
    TRY(check_known_knobs(step, NORMALIZE_KNOBS, why));
    TRY(knob_choice(step, "dtype", OUT_DTYPES, &i, why));
    TRY(knob_choice(step, "compute_dtype", COMPUTE_DTYPES, &i, why));
    TRY(knob_choice(step, "order", ORDERS, &i, why));
    TRY(knob_choice(step, "scale_dtype", SCALE_DTYPES, &i, why));
    return ST_OK;
}

static double in_value(const Tensor *t, size_t i) {
    if (t->dtype == DT_U8) return t->data[i];
    float f;
    memcpy(&f, t->data + i * 4, 4);
    return f;
}

/* Normalize (reference normalize.normalize), every operation rounded to the compute dtype c
 * (float or double variables; FLT_EVAL_METHOD 0 and no FMA contraction make that so):
 *   scale_first: out = (x*scale - mean) / std, x*scale = x / divisor when divisor is set;
 *                scale_dtype float64: x*scale in double, rounded once to c;
 *   mean_first:  out = (x - mean)*scale / std;
 *   fused:       k = c(divisor or 1/scale (double)), M = c(mean)*k, S = c(std)*k, out = (x - M) / S.
 * mean and std are rounded to c first; the result is cast to float32. */
static int normalize_run(const J *step, const Tensor *in, Tensor *out, char *why) {
    int odt, cdt, order, sdt;
    double scale = 0, divisor = 0, mean[64], std[64];
    TRY(need_hwc(in, "normalize", why));
    TRY(knob_choice(step, "dtype", OUT_DTYPES, &odt, why));
    TRY(knob_choice(step, "compute_dtype", COMPUTE_DTYPES, &cdt, why));
    TRY(knob_choice(step, "order", ORDERS, &order, why));
    TRY(knob_choice(step, "scale_dtype", SCALE_DTYPES, &sdt, why));
    size_t c = in->shape[2];
    TRY(knob_channels(step, "mean", c, mean, why));
    TRY(knob_channels(step, "std", c, std, why));
    const J *dv = j_get(step, "divisor");
    int has_div = dv && dv->type != J_NULL;
    if (has_div) {
        TRY(knob_number(step, "divisor", &divisor, why));
        if (divisor == 0) { snprintf(why, ERR_LEN, "divisor must not be 0"); return ST_ERROR; }
    } else {
        TRY(knob_number(step, "scale", &scale, why));
        if (order == 2 && scale == 0) { snprintf(why, ERR_LEN, "fused order needs a non-zero scale"); return ST_ERROR; }
    }
    for (size_t ch = 0; ch < c; ch++)
        if (std[ch] == 0) { snprintf(why, ERR_LEN, "std must not be 0"); return ST_ERROR; }
    if (sdt == 1 && order != 0) { snprintf(why, ERR_LEN, "scale_dtype float64 is defined only for order scale_first"); return ST_ERROR; }
    char aerr[ERR_LEN];
    if (tensor_alloc(out, DT_F32, 3, in->shape, aerr) != 0) { snprintf(why, ERR_LEN, "%.500s", aerr); return ST_ERROR; }
    double k = has_div ? divisor : 1.0 / scale; /* fused: the folded factor, in double */
    for (size_t i = 0; i < in->count; i++) {
        size_t ch = i % c;
        double x = in_value(in, i);
        float r;
        if (cdt == 0) {
            float xf = (float)x, m = (float)mean[ch], s = (float)std[ch], t;
            if (order == 0) {
                if (sdt == 1) t = (float)(has_div ? x / divisor : x * scale);
                else t = has_div ? xf / (float)divisor : xf * (float)scale;
                r = (t - m) / s;
            } else if (order == 1) {
                float d = xf - m;
                t = has_div ? d / (float)divisor : d * (float)scale;
                r = t / s;
            } else {
                float kf = (float)k, mk = m * kf, sk = s * kf, d = xf - mk;
                r = d / sk;
            }
        } else {
            double m = mean[ch], s = std[ch], t;
            if (order == 0) { t = has_div ? x / divisor : x * scale; r = (float)((t - m) / s); }
            else if (order == 1) { t = has_div ? (x - m) / divisor : (x - m) * scale; r = (float)(t / s); }
            else r = (float)((x - m * k) / (s * k));
        }
        memcpy(out->data + i * 4, &r, 4);
    }
    return ST_OK;
}

static const char *const LAYOUT_KNOBS[] = {"layout", "batch", "channel_order", NULL};
static const char *const LAYOUTS[] = {"hwc", "chw", NULL};
static const char *const CHANNEL_ORDERS[] = {"keep", "reverse", NULL};

static int layout_check(const J *step, char *why) {
    int i;
    TRY(check_known_knobs(step, LAYOUT_KNOBS, why));
    TRY(knob_choice(step, "layout", LAYOUTS, &i, why));
    TRY(knob_choice(step, "channel_order", CHANNEL_ORDERS, &i, why));
    return ST_OK;
}

/* Layout (reference layout.layout): channels reversed if asked, HWC -> CHW if asked, a
 * leading axis of length 1 if batch. */
static int layout_run(const J *step, const Tensor *in, Tensor *out, char *why) {
    int lay, rev;
    TRY(need_hwc(in, "layout", why));
    TRY(knob_choice(step, "layout", LAYOUTS, &lay, why));
    TRY(knob_choice(step, "channel_order", CHANNEL_ORDERS, &rev, why));
    const J *batch = j_get(step, "batch");
    if (!batch || batch->type != J_BOOL) { snprintf(why, ERR_LEN, "knob 'batch' must be true or false"); return ST_ERROR; }
    size_t h = in->shape[0], w = in->shape[1], c = in->shape[2], shape[4];
    int nd = 0;
    if (batch->boolean) shape[nd++] = 1;
    if (lay == 1) { shape[nd++] = c; shape[nd++] = h; shape[nd++] = w; }
    else { shape[nd++] = h; shape[nd++] = w; shape[nd++] = c; }
    char aerr[ERR_LEN];
    if (tensor_alloc(out, in->dtype, nd, shape, aerr) != 0) { snprintf(why, ERR_LEN, "%.500s", aerr); return ST_ERROR; }
    size_t item = (size_t)in->dtype;
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
            for (size_t ch = 0; ch < c; ch++) {
                size_t src_ch = rev ? c - 1 - ch : ch;
                size_t src = ((y * w + x) * c + src_ch) * item;
                size_t dst = lay == 1 ? ((ch * h + y) * w + x) * item : ((y * w + x) * c + ch) * item;
                memcpy(out->data + dst, in->data + src, item);
            }
    return ST_OK;
}

static const char *const COLOR_KNOBS[] = {"conversion", "gray_coefficients", "arithmetic", "rounding", "alpha",
                                          "background", NULL};
static const char *const CONVERSIONS[] = {"rgb_to_bgr", "bgr_to_rgb", NULL};

static int color_check(const J *step, char *why) {
    int i;
    TRY(check_known_knobs(step, COLOR_KNOBS, why));
    TRY(knob_choice(step, "conversion", CONVERSIONS, &i, why));
    return ST_OK;
}

/* rgb_to_bgr / bgr_to_rgb: reverse the channel axis (reference color: image[..., ::-1]). */
static int color_run(const J *step, const Tensor *in, Tensor *out, char *why) {
    (void)step;
    TRY(need_hwc(in, "color", why));
    char aerr[ERR_LEN];
    if (tensor_alloc(out, in->dtype, 3, in->shape, aerr) != 0) { snprintf(why, ERR_LEN, "%.500s", aerr); return ST_ERROR; }
    size_t c = in->shape[2], item = (size_t)in->dtype;
    for (size_t p = 0; p < in->count / c; p++)
        for (size_t ch = 0; ch < c; ch++)
            memcpy(out->data + (p * c + ch) * item, in->data + (p * c + c - 1 - ch) * item, item);
    return ST_OK;
}

typedef struct {
    const char *op;
    int (*check)(const J *, char *);
    int (*run)(const J *, const Tensor *, Tensor *, char *);
    const char *call;
} Op;

static const Op OPS[] = {
    {"crop", crop_check, crop_run, "port.c crop_run (index arithmetic, memcpy per pixel)"},
    {"normalize", normalize_check, normalize_run, "port.c normalize_run (float/double per operation)"},
    {"layout", layout_check, layout_run, "port.c layout_run (transpose, channel reversal)"},
    {"color", color_check, color_run, "port.c color_run (channel reversal)"},
};

/* Why an op this port has no code for is unsupported, in words a porter can act on. */
static const char *unsupported_reason(const char *op) {
    if (!strcmp(op, "decode")) return "the C example port has no PNG/JPEG decoder (link libpng/libjpeg-turbo or stb_image to add one)";
    if (!strcmp(op, "resize")) return "the C example port has no resampling filters";
    if (!strcmp(op, "pad") || !strcmp(op, "letterbox")) return "the C example port does not implement pad/letterbox";
    return "op unknown to the C example port";
}

/* ------------------------------------------------------------------------------------------
 * The protocol loop
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    const char *bundle, *out;
    int chained;
} Run;

static char *join(const char *a, const char *b, const char *c) {
    Buf p = {0};
    buf_str(&p, a);
    buf_str(&p, "/");
    buf_str(&p, b);
    if (c) { buf_str(&p, "/"); buf_str(&p, c); }
    if (p.oom) { free(p.p); return NULL; }
    return p.p;
}

/* The reference output of step `index` of `c` (isolated mode's input of step index + 1). */
static int load_expected(const Run *run, const J *c, long index, Tensor *t, char *err) {
    const J *steps = j_get(c, "steps");
    if (!steps || steps->type != J_ARR) { snprintf(err, ERR_LEN, "the case has no steps list"); return -1; }
    for (size_t i = 0; i < steps->n; i++) {
        const J *ix = j_get(steps->items[i], "index");
        if (!ix || ix->type != J_NUM || ix->num != (double)index) continue;
        const char *rel = j_str(steps->items[i], "output");
        if (!rel || !safe_bundle_path(rel)) { snprintf(err, ERR_LEN, "step %ld: output is not a safe relative path", index); return -1; }
        char *path = join(run->bundle, rel, NULL);
        if (!path) { snprintf(err, ERR_LEN, "out of memory"); return -1; }
        int rc = npy_read(path, t, err);
        free(path);
        return rc;
    }
    snprintf(err, ERR_LEN, "the manifest lists no expected output of step %ld", index);
    return -1;
}

static void record(Buf *r, size_t index, const char *op, const char *status, const char *key, const char *text) {
    char num[32];
    snprintf(num, sizeof num, "%zu", index);
    if (r->n > 1) buf_str(r, ", ");
    buf_str(r, "{\"index\": ");
    buf_str(r, num);
    buf_str(r, ", \"op\": ");
    buf_json_string(r, op);
    buf_str(r, ", \"status\": ");
    buf_json_string(r, status);
    if (key) {
        buf_str(r, ", ");
        buf_json_string(r, key);
        buf_str(r, ": ");
        buf_json_string(r, text);
    }
    buf_str(r, "}");
}

/* Runs one case; appends `"<id>": {"steps": [...]}` or `{"error": ...}` to `doc`. */
static void run_case(const Run *run, const J *pipelines, const J *c, const char *id, Buf *doc) {
    char err[ERR_LEN] = {0};
    Buf steps_json = {0};
    Tensor prev = {0};
    int have_prev = 0, blocked = 0;
    char blocked_why[ERR_LEN] = {0};
    buf_str(&steps_json, "[");
    const char *pid = j_str(c, "pipeline"), *expect = j_str(c, "expect");
    const J *pipeline = pid ? j_get(pipelines, pid) : NULL;
    const J *steps = j_get(pipeline, "steps");
    if (!steps || steps->type != J_ARR || steps->n == 0 || steps->n > 10000) {
        snprintf(err, ERR_LEN, "pipeline %.200s: missing or without steps", pid ? pid : "(none)");
        goto fail;
    }
    for (size_t i = 0; i < steps->n; i++) {
        const char *op = j_str(steps->items[i], "op");
        if (!op || !safe_name(op) || steps->items[i]->type != J_OBJ) {
            snprintf(err, ERR_LEN, "pipeline %.200s: step %zu has no op that is a safe name", pid, i);
            goto fail;
        }
    }
    size_t n = expect && !strcmp(expect, "error") ? 1 : steps->n; /* negative vector: decode only */
    char *case_dir = join(run->out, id, NULL);
    if (!case_dir) { snprintf(err, ERR_LEN, "out of memory"); goto fail; }
    for (size_t i = 0; i < n; i++) {
        const J *step = steps->items[i];
        const char *op = j_str(step, "op");
        char why[ERR_LEN] = {0};
        if (run->chained && blocked) { record(&steps_json, i, op, "skipped", "message", blocked_why); continue; }
        const Op *impl = NULL;
        for (size_t k = 0; k < sizeof OPS / sizeof OPS[0]; k++)
            if (!strcmp(OPS[k].op, op)) impl = &OPS[k];
        int st = impl ? impl->check(step, why) : ST_UNSUPPORTED;
        if (!impl) snprintf(why, ERR_LEN, "%s", unsupported_reason(op));
        if (st == ST_OK && i == 0) {
            st = ST_UNSUPPORTED;
            snprintf(why, ERR_LEN, "step 0 reads the encoded file and this port has no decoder");
        }
        Tensor input = {0}, output = {0};
        if (st == ST_OK) {
            if (run->chained) {
                input = prev;
                memset(&prev, 0, sizeof prev);
                have_prev = 0;
            } else if (load_expected(run, c, (long)i - 1, &input, err) != 0) {
                free(case_dir);
                goto fail; /* the bundle is broken for this case: a case-level error */
            }
            st = impl->run(step, &input, &output, why);
            tensor_free(&input);
        }
        if (st == ST_OK) {
            char name[64 + MAX_NAME];
            snprintf(name, sizeof name, "%zu_%s.npy", i, op);
            char *path = join(run->out, id, name);
            if (!path || (mkdir(case_dir, 0777) != 0 && errno != EEXIST) || npy_write(path, &output, why) != 0) {
                if (!why[0]) snprintf(why, ERR_LEN, "cannot create %s", case_dir);
                st = ST_ERROR;
                tensor_free(&output);
            }
            free(path);
        }
        if (st == ST_OK) {
            record(&steps_json, i, op, "ok", "call", impl->call);
            if (run->chained) { prev = output; have_prev = 1; }
            else tensor_free(&output);
        } else {
            record(&steps_json, i, op, st == ST_UNSUPPORTED ? "unsupported" : "error", "message", why);
            blocked = 1;
            snprintf(blocked_why, ERR_LEN, "not run: step %zu (%s) was %s", i, op,
                     st == ST_UNSUPPORTED ? "unsupported" : "error");
        }
    }
    free(case_dir);
    if (have_prev) tensor_free(&prev);
    buf_str(&steps_json, "]");
    if (steps_json.oom) { snprintf(err, ERR_LEN, "out of memory"); goto fail; }
    buf_json_string(doc, id);
    buf_str(doc, ": {\"steps\": ");
    buf_str(doc, steps_json.p);
    buf_str(doc, "}");
    free(steps_json.p);
    return;
fail:
    if (have_prev) tensor_free(&prev);
    free(steps_json.p);
    buf_json_string(doc, id);
    buf_str(doc, ": {\"error\": ");
    buf_json_string(doc, err);
    buf_str(doc, "}");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int usage(const char *msg) {
    fprintf(stderr, "port: %s\nusage: port --bundle DIR --out DIR --mode isolated|chained [--cases FILE]\n", msg);
    return 2;
}

int main(int argc, char **argv) {
    const char *bundle = NULL, *out = NULL, *mode = NULL, *cases_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--bundle") ? &bundle : !strcmp(argv[i], "--out") ? &out
                          : !strcmp(argv[i], "--mode") ? &mode : !strcmp(argv[i], "--cases") ? &cases_file : NULL;
        if (!slot) return usage("unknown argument");
        if (i + 1 >= argc) return usage("an option lacks its value");
        *slot = argv[++i];
    }
    if (!bundle || !out || !mode) return usage("--bundle, --out and --mode are required");
    if (strcmp(mode, "isolated") && strcmp(mode, "chained")) return usage("--mode is isolated or chained");
    Run run = {bundle, out, !strcmp(mode, "chained")};

    char err[ERR_LEN];
    size_t size = 0;
    char *mpath = join(bundle, "manifest.json", NULL);
    unsigned char *text = mpath ? read_file(mpath, MAX_MANIFEST_BYTES, &size, err) : NULL;
    if (!text) { fprintf(stderr, "port: %s\n", mpath ? err : "out of memory"); free(mpath); return 1; }
    J *manifest = j_parse((const char *)text, size, err);
    free(text);
    if (!manifest) { fprintf(stderr, "port: %s: invalid JSON: %s\n", mpath, err); free(mpath); return 1; }
    const J *cases = j_get(manifest, "cases"), *pipelines = j_get(manifest, "pipelines");
    if (!cases || cases->type != J_ARR || !pipelines || pipelines->type != J_OBJ) {
        fprintf(stderr, "port: %s: no cases list or pipelines object\n", mpath);
        free(mpath);
        j_free(manifest);
        return 1;
    }
    free(mpath);

    /* --cases: ids one per line, sorted for bsearch */
    char **wanted = NULL, *wanted_text = NULL;
    size_t n_wanted = 0;
    if (cases_file) {
        wanted_text = (char *)read_file(cases_file, MAX_CASES_FILE_BYTES, &size, err);
        if (!wanted_text) { fprintf(stderr, "port: %s\n", err); j_free(manifest); return 1; }
        wanted = malloc((size + 1) * sizeof(char *));
        if (!wanted) { fprintf(stderr, "port: out of memory\n"); j_free(manifest); free(wanted_text); return 1; }
        for (char *line = wanted_text; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = '\0';
            size_t len = strlen(line);
            while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t')) line[--len] = '\0';
            while (*line == ' ' || *line == '\t') line++;
            if (*line) wanted[n_wanted++] = line;
            line = nl ? nl + 1 : NULL;
        }
        qsort(wanted, n_wanted, sizeof(char *), cmp_str);
    }

    Buf doc = {0};
    buf_str(&doc, "{\"protocol\": 1, \"name\": \"c-port\", \"version\": \"" PORT_VERSION "\", "
                  "\"libraries\": {\"libc\": \"any\"}, \"cases\": {");
    int first = 1;
    for (size_t i = 0; i < cases->n; i++) {
        const J *c = cases->items[i];
        const char *id = j_str(c, "id");
        if (!id) { fprintf(stderr, "port: case %zu has no id\n", i); continue; }
        if (wanted && !bsearch(&id, wanted, n_wanted, sizeof(char *), cmp_str)) continue;
        if (!first) buf_str(&doc, ", ");
        first = 0;
        if (!safe_name(id)) {
            buf_json_string(&doc, id);
            buf_str(&doc, ": {\"error\": \"the case id is not a safe name\"}");
            continue;
        }
        run_case(&run, pipelines, c, id, &doc);
    }
    buf_str(&doc, "}}\n");
    free(wanted);
    free(wanted_text);
    j_free(manifest);
    char *hpath = join(out, "harness.json", NULL);
    if (doc.oom || !hpath) { fprintf(stderr, "port: out of memory\n"); free(doc.p); free(hpath); return 1; }
    int rc = write_atomically(hpath, doc.p, doc.n, NULL, 0, err);
    if (rc != 0) fprintf(stderr, "port: %s\n", err);
    free(hpath);
    free(doc.p);
    return rc == 0 ? 0 : 1;
}
