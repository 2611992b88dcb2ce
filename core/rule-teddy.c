/*
 * A SIMD multi-literal scanner for small literal sets (up to RULE_TEDDY_MAX literals), after
 * the "Teddy" algorithm of Hyperscan: literals, sorted, are spread over 8 buckets; for each
 * of their first four bytes (three if a literal is that short), two 16-byte tables give,
 * for the low and the high nibble of a text byte, the buckets whose literals may have that
 * byte there. PSHUFB looks up 16 text
 * positions at once; AND-ing the byte positions leaves the positions where some literal
 * may start. There, the text's first three bytes are looked up in a small hash table of the
 * literals' first three bytes, and only literals that share them are compared. Letters enter
 * both of their cases into the tables, so the search is ASCII-case-insensitive like the
 * other scanners. (Literals' rarest windows instead of prefixes were tried: slower on logs.)
 * Two to four times faster than a byte-at-a-time automaton on log lines.
 *
 * Sets of up to RULE_TEDDY_FEW literals (a handful of rules, the common small deployment) are
 * scanned differently: for each literal, two of its bytes, the rarest in log text, are
 * compared at 16 candidate starts at once (OR 0x20 folds letters), and only starts where
 * both agree are verified; a literal is reported once, at its first occurrence. That is
 * about a third of the instructions of the nibble tables for one or two literals.
 *
 * x86-64 with SSSE3 only (checked at run time); elsewhere rule_teddy_new() returns NULL and
 * the prefilter uses rule-ac.c. Same interface otherwise: add, build once, scan.
 */
#include <stdlib.h>
#include <string.h>

#include "rule-int.h"
#include "xmalloc.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TEDDY_X86 1
#include <immintrin.h>
#endif

struct teddy_pat {
    char *s; /* lowercased */
    uint32_t len;
    uint32_t id;
    /* Sets of up to RULE_TEDDY_FEW literals: the two probe offsets, their bytes (lowercased),
     * and 0x20 where the byte is a letter (text bytes are OR-ed with it to fold case). */
    uint32_t off[2];
    uint8_t byte[2];
    uint8_t fold[2];
};

struct rule_teddy {
    struct teddy_pat *pats;
    uint32_t npats;
    uint8_t lo[4][16] __attribute__((aligned(16))); /* buckets by low nibble, per position */
    uint8_t hi[4][16] __attribute__((aligned(16))); /* buckets by high nibble */
    int m;                                          /* fingerprint bytes: 3, or 4 */
    uint32_t *bucket[8];                            /* literal indexes per bucket */
    uint32_t nbucket[8];
    /* Exact windows: a candidate position is checked against the literals whose folded
     * window equals the text's, found through this table (open addressing). */
    uint32_t wkey[128];   /* folded window + 1, 0: empty */
    uint32_t wfirst[128]; /* first literal (index into pats, sorted by window) */
    uint32_t wcount[128];
};

#define TEDDY_WSLOTS 128

static inline uint32_t
teddy_wfold(const unsigned char *p)
{
    return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16) | 0x202020u;
}

static inline uint32_t
teddy_wslot(uint32_t w)
{
    return (w * 2654435761u) >> 25;
}

/* A new scanner, or NULL when this CPU cannot run it. Free with rule_teddy_free(). */
struct rule_teddy *
rule_teddy_new(void)
{
#ifdef TEDDY_X86
    if (__builtin_cpu_supports("ssse3")) {
        return xcalloc(1, sizeof(struct rule_teddy));
    }
#endif
    return NULL;
}

/* Add literal lit[0..len) (len >= 3) reported as id. At most RULE_TEDDY_MAX literals. */
void
rule_teddy_add(struct rule_teddy *t, const char *lit, size_t len, uint32_t id)
{
    struct teddy_pat *p;

    if (len < 3 || t->npats >= RULE_TEDDY_MAX) {
        return;
    }
    t->pats = xreallocarray(t->pats, t->npats + 1, sizeof(*t->pats));
    p = &t->pats[t->npats++];
    p->s = xmalloc(len);
    for (size_t i = 0; i < len; i++) {
        p->s[i] = (char)rule_value_lower[(unsigned char)lit[i]];
    }
    p->len = (uint32_t)len;
    p->id = id;
}

static int
teddy_cmp(const void *a, const void *b)
{
    const struct teddy_pat *x = a, *y = b;
    uint32_t wx = teddy_wfold((const unsigned char *)x->s);
    uint32_t wy = teddy_wfold((const unsigned char *)y->s);

    return (wx > wy) - (wx < wy);
}

static void
teddy_mark(struct rule_teddy *t, int pos, unsigned char c, uint8_t bit)
{
    t->lo[pos][c & 15] |= bit;
    t->hi[pos][c >> 4] |= bit;
    if (c >= 'a' && c <= 'z') {
        t->hi[pos][(c - 32) >> 4] |= bit;
    }
}

/* How common byte c (lowercased) is in log text, roughly: higher is more common. */
static int
teddy_commonness(unsigned char c)
{
    static const char letters[] = "etaoinshrdlcumwfgypbvkjxqz"; /* English, commonest first */

    if (c == ' ') {
        return 300;
    }
    if (c >= 'a' && c <= 'z') {
        return 260 - 4 * (int)(strchr(letters, c) - letters);
    }
    if (c >= '0' && c <= '9') {
        return 200;
    }
    if (c == '.' || c == ':' || c == '-' || c == '/' || c == '=' || c == '_' || c == ',') {
        return 190;
    }
    if (c < 0x20 || c >= 0x7f) {
        return 10;
    }
    return 100;
}

/* Choose p's two probe bytes: the rarest, then the rarest other byte value (or position). */
static void
teddy_pick_probes(struct teddy_pat *p)
{
    const unsigned char *b = (const unsigned char *)p->s;
    uint32_t first = 0, second = UINT32_MAX;

    for (uint32_t i = 1; i < p->len; i++) {
        if (teddy_commonness(b[i]) < teddy_commonness(b[first])) {
            first = i;
        }
    }
    for (int distinct = 1; distinct >= 0 && second == UINT32_MAX; distinct--) {
        for (uint32_t i = 0; i < p->len; i++) {
            if (i == first || (distinct && b[i] == b[first])) {
                continue;
            }
            if (second == UINT32_MAX || teddy_commonness(b[i]) < teddy_commonness(b[second])) {
                second = i;
            }
        }
    }
    p->off[0] = first;
    p->off[1] = second;
    for (int k = 0; k < 2; k++) {
        p->byte[k] = b[p->off[k]];
        p->fold[k] = p->byte[k] >= 'a' && p->byte[k] <= 'z' ? 0x20 : 0;
    }
}

/* Compile the added literals: sort them by their first bytes, cut into 8 buckets. */
void
rule_teddy_build(struct rule_teddy *t)
{
    uint32_t per;

    if (t->npats > 1) {
        qsort(t->pats, t->npats, sizeof(*t->pats), teddy_cmp);
    }
    for (uint32_t i = 0; i < t->npats; i++) {
        uint32_t w = teddy_wfold((const unsigned char *)t->pats[i].s);
        uint32_t h = teddy_wslot(w);
        while (t->wkey[h] != 0 && t->wkey[h] != w + 1) {
            h = (h + 1) & (TEDDY_WSLOTS - 1);
        }
        if (t->wkey[h] == 0) {
            t->wkey[h] = w + 1;
            t->wfirst[h] = i; /* sorted: literals with one window are adjacent */
        }
        t->wcount[h]++;
    }
    t->m = 4;
    for (uint32_t i = 0; i < t->npats; i++) {
        if (t->pats[i].len < 4) {
            t->m = 3;
        }
    }
    for (uint32_t i = 0; i < t->npats; i++) {
        teddy_pick_probes(&t->pats[i]); /* literals are at least 3 bytes long */
    }
    per = (t->npats + 7) / 8;
    for (uint32_t i = 0; i < t->npats; i++) {
        uint32_t b = per > 0 ? i / per : 0;
        t->bucket[b] = xreallocarray(t->bucket[b], t->nbucket[b] + 1, sizeof(*t->bucket[b]));
        t->bucket[b][t->nbucket[b]++] = i;
        for (int k = 0; k < t->m; k++) {
            teddy_mark(t, k, (unsigned char)t->pats[i].s[k], (uint8_t)(1u << b));
        }
    }
}

static inline void
teddy_verify(const struct rule_teddy *t, const unsigned char *s, size_t len, size_t pos,
             rule_ac_hit_cb cb, void *arg)
{
    uint32_t w = teddy_wfold(s + pos), h = teddy_wslot(w);

    while (t->wkey[h] != 0) {
        if (t->wkey[h] == w + 1) {
            for (uint32_t k = 0; k < t->wcount[h]; k++) {
                const struct teddy_pat *p = &t->pats[t->wfirst[h] + k];
                if (pos + p->len <= len && rule_lower_eq(s + pos, p->s, p->len)) {
                    cb(arg, p->id);
                }
            }
            return;
        }
        h = (h + 1) & (TEDDY_WSLOTS - 1);
    }
}

#ifdef TEDDY_X86
/* Candidate buckets for the 16 positions starting at p (p[0..16 + m - 1) readable). */
__attribute__((target("ssse3"))) static inline __m128i
teddy_block(const struct rule_teddy *t, const unsigned char *p)
{
    const __m128i nib = _mm_set1_epi8(0x0f);
    __m128i r = _mm_set1_epi8((char)0xff);

    for (int k = 0; k < t->m; k++) {
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
        __m128i lo = _mm_shuffle_epi8(_mm_load_si128((const __m128i *)(const void *)t->lo[k]),
                                      _mm_and_si128(c, nib));
        __m128i hi = _mm_shuffle_epi8(_mm_load_si128((const __m128i *)(const void *)t->hi[k]),
                                      _mm_and_si128(_mm_srli_epi16(c, 4), nib));
        r = _mm_and_si128(r, _mm_and_si128(lo, hi));
    }
    return r;
}

__attribute__((target("ssse3"))) static void
teddy_scan_ssse3(const struct rule_teddy *t, const unsigned char *s, size_t len,
                 rule_ac_hit_cb cb, void *arg)
{
    unsigned char tail[32];
    size_t i = 0, m = (size_t)t->m;

    for (; i + 15 + m <= len; i += 16) {
        __m128i r = teddy_block(t, s + i);
        unsigned mask = 0xffffu & ~(unsigned)_mm_movemask_epi8(
                                      _mm_cmpeq_epi8(r, _mm_setzero_si128()));
        if (mask != 0) {
            while (mask != 0) {
                unsigned j = (unsigned)__builtin_ctz(mask);
                mask &= mask - 1;
                teddy_verify(t, s, len, i + j, cb, arg);
            }
        }
    }
    if (i + 3 <= len && len >= 15 + m) {
        /* The last positions: one more block ending at the end of the text, overlapping
         * the previous one (positions before i are done already). */
        size_t j0 = len - 15 - m;
        __m128i r = teddy_block(t, s + j0);
        unsigned mask = 0xffffu & ~(unsigned)_mm_movemask_epi8(
                                     _mm_cmpeq_epi8(r, _mm_setzero_si128()));
        mask &= ~((1u << (i - j0)) - 1);
        while (mask != 0) {
            unsigned j = (unsigned)__builtin_ctz(mask);
            mask &= mask - 1;
            teddy_verify(t, s, len, j0 + j, cb, arg);
        }
    } else if (i + 3 <= len) {
        /* A short text: from a zero-padded copy; candidates past len - 3 are moot
         * (with a 4-byte fingerprint the padding cannot match a literal's fourth byte, but
         * 3-byte literals are not in such a set, so nothing is lost). */
        size_t n = len - i;
        __m128i r;
        unsigned mask;

        memset(tail, 0, sizeof(tail));
        memcpy(tail, s + i, n);
        r = teddy_block(t, tail);
        mask = 0xffffu & ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(r, _mm_setzero_si128()));
        mask &= n >= 18 ? 0xffffu : (1u << (n - 2)) - 1;
        while (mask != 0) {
            unsigned j = (unsigned)__builtin_ctz(mask);
            mask &= mask - 1;
            teddy_verify(t, s, len, i + j, cb, arg);
        }
    }
}
#endif

#ifdef TEDDY_X86
/* Is literal p at s[at] (both probe bytes first)? */
static inline int
teddy_few_at(const struct teddy_pat *p, const unsigned char *s, size_t at)
{
    return (s[at + p->off[0]] | p->fold[0]) == p->byte[0] &&
           (s[at + p->off[1]] | p->fold[1]) == p->byte[1] &&
           rule_lower_eq(s + at, p->s, p->len);
}

/* Positions of the 16 starts from at where both probe bytes of p agree (a bit mask). */
__attribute__((target("ssse3"))) static inline unsigned
teddy_few_block(const struct teddy_pat *p, const unsigned char *s, size_t at)
{
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + at + p->off[0]));
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + at + p->off[1]));

    a = _mm_cmpeq_epi8(_mm_or_si128(a, _mm_set1_epi8((char)p->fold[0])),
                       _mm_set1_epi8((char)p->byte[0]));
    b = _mm_cmpeq_epi8(_mm_or_si128(b, _mm_set1_epi8((char)p->fold[1])),
                       _mm_set1_epi8((char)p->byte[1]));
    return (unsigned)_mm_movemask_epi8(_mm_and_si128(a, b));
}

/* Report each of the (at most RULE_TEDDY_FEW) literals that occur in s, once. */
__attribute__((target("ssse3"))) static void
teddy_scan_few(const struct rule_teddy *t, const unsigned char *s, size_t len,
               rule_ac_hit_cb cb, void *arg)
{
    for (uint32_t k = 0; k < t->npats; k++) {
        const struct teddy_pat *p = &t->pats[k];
        size_t at = 0, last;
        int found = 0;

        if (len < p->len) {
            continue;
        }
        last = len - p->len; /* the last possible start */
        /* Sixteen starts at a time; every byte read lies below at + 15 + len of p. */
        for (; !found && at + 15 <= last; at += 16) {
            unsigned mask = teddy_few_block(p, s, at);
            while (mask != 0 && !found) {
                unsigned j = (unsigned)__builtin_ctz(mask);
                mask &= mask - 1;
                found = rule_lower_eq(s + at + j, p->s, p->len);
            }
        }
        if (!found && at <= last && last >= 15) {
            /* The remaining starts: one block of the last 16, overlapping the ones done. */
            unsigned mask = teddy_few_block(p, s, last - 15) & ~((1u << (at - (last - 15))) - 1);
            while (mask != 0 && !found) {
                unsigned j = (unsigned)__builtin_ctz(mask);
                mask &= mask - 1;
                found = rule_lower_eq(s + last - 15 + j, p->s, p->len);
            }
            at = last + 1;
        }
        for (; !found && at <= last; at++) {
            found = teddy_few_at(p, s, at);
        }
        if (found) {
            cb(arg, p->id);
        }
    }
}

#endif

/*
 * Scan s[0..len); cb(arg, id) for every literal that occurs (at least once per literal; sets
 * of more than RULE_TEDDY_FEW literals report every occurrence).
 */
void
rule_teddy_scan(const struct rule_teddy *t, const char *s, size_t len, rule_ac_hit_cb cb,
                void *arg)
{
#ifdef TEDDY_X86
    if (t->npats <= RULE_TEDDY_FEW) {
        teddy_scan_few(t, (const unsigned char *)s, len, cb, arg);
    } else {
        teddy_scan_ssse3(t, (const unsigned char *)s, len, cb, arg);
    }
#else
    (void)t;
    (void)s;
    (void)len;
    (void)cb;
    (void)arg;
#endif
}

/* Release the scanner (accepts NULL). */
void
rule_teddy_free(struct rule_teddy *t)
{
    if (t == NULL) {
        return;
    }
    for (uint32_t i = 0; i < t->npats; i++) {
        free(t->pats[i].s);
    }
    free(t->pats);
    for (int b = 0; b < 8; b++) {
        free(t->bucket[b]);
    }
    free(t);
}
