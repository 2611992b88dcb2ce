/*
 * A multi-literal scanner for large literal sets: the q-gram hash filter (in the spirit of
 * Wu-Manber). Each literal (ASCII-case-insensitive, at least 3 bytes) is indexed by one of
 * its 8-byte windows (4 bytes for literals of 4 to 7 bytes, 3 for 3-byte ones), chosen so
 * that as few literals as possible share it. Scanning tests, at every text position, a
 * hash of the next 8 (4, 3) bytes against small bitmaps that stay in L1 cache; only on a
 * hit are the literals indexed by that exact window compared. Positions are independent
 * of each other, unlike an automaton's state chain, so the CPU overlaps them: for
 * thousands of literals this beats a dense Aho-Corasick automaton that no longer fits in
 * cache. Same interface as rule-ac.c: add, build once, scan (callbacks may repeat an id).
 */
#include <stdlib.h>
#include <string.h>

#include "rule-int.h"
#include "xmalloc.h"

#define GRAM_NONE UINT32_MAX

struct gram_pat {
    char *s; /* lowercased */
    uint32_t len;
    uint32_t id;
};

struct gram_ent {
    uint64_t gram; /* folded window */
    uint32_t pat;
    uint32_t off;  /* offset of the window in the literal */
    uint32_t next; /* chain in the bucket, GRAM_NONE at the end */
};

struct gram_index {
    uint64_t *bits;  /* filter bitmap over hash(window) */
    uint32_t bshift; /* hash >> bshift: bit index */
    uint32_t *head;  /* buckets over hash(window) */
    uint32_t hshift;
    int used;
};

struct rule_gram {
    struct gram_pat *pats;
    uint32_t npats;
    struct gram_ent *ents;
    uint32_t nents;
    struct gram_index g8; /* windows of 8 bytes, literals of 8 bytes or more */
    struct gram_index g4; /* windows of 4 bytes, literals of 4 to 7 bytes */
    struct gram_index g3; /* 3-byte literals */
};

/*
 * Fold for the filter: two bytes equal ignoring ASCII case are equal once 0x20 is set
 * (no false negatives; a few other bytes collide, which only costs a comparison).
 */
static inline uint64_t
gram_fold8(const unsigned char *p)
{
    uint64_t w;

    memcpy(&w, p, 8); /* host byte order, the same for literals and text */
    return w | 0x2020202020202020ull;
}

static inline uint64_t
gram_fold4(const unsigned char *p)
{
    uint32_t w;

    memcpy(&w, p, 4);
    return w | 0x20202020u;
}

/* The first three bytes of a four-byte load (the caller makes sure p[3] is readable). */
static inline uint64_t
gram_fold3_fast(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return gram_fold4(p) & 0xffffff00u;
#else
    return gram_fold4(p) & 0x00ffffffu;
#endif
}

/* The same value from three single bytes (the last position of a text, and literals). */
static inline uint64_t
gram_fold3(const unsigned char *p)
{
    unsigned char b[4] = {p[0], p[1], p[2], 0};

    return gram_fold3_fast(b);
}

static inline uint32_t
gram_hash(uint64_t g)
{
    return (uint32_t)((g * 0x9e3779b97f4a7c15ull) >> 32);
}

/* A new empty scanner; free with rule_gram_free(). */
struct rule_gram *
rule_gram_new(void)
{
    return xcalloc(1, sizeof(struct rule_gram));
}

/* Add literal lit[0..len) (len >= 3) reported as id. */
void
rule_gram_add(struct rule_gram *g, const char *lit, size_t len, uint32_t id)
{
    struct gram_pat *p;

    if (len < 3) {
        return;
    }
    g->pats = xreallocarray(g->pats, g->npats + 1, sizeof(*g->pats));
    p = &g->pats[g->npats++];
    p->s = xmalloc(len);
    for (size_t i = 0; i < len; i++) {
        p->s[i] = (char)rule_value_lower[(unsigned char)lit[i]];
    }
    p->len = (uint32_t)len;
    p->id = id;
}

static void
gram_index_init(struct gram_index *ix, uint32_t n)
{
    uint32_t bits = 12, hb = 8;

    while (bits < 18 && (1u << bits) < n * 32) {
        bits++;
    }
    while (hb < 20 && (1u << hb) < n * 2) {
        hb++;
    }
    ix->bits = xcalloc(((size_t)1 << bits) / 64, sizeof(*ix->bits));
    ix->bshift = 32 - bits;
    ix->head = xmalloc(((size_t)1 << hb) * sizeof(*ix->head));
    memset(ix->head, 0xff, ((size_t)1 << hb) * sizeof(*ix->head));
    ix->hshift = 32 - hb;
    ix->used = n > 0;
}

static void
gram_index_add(struct rule_gram *g, struct gram_index *ix, uint64_t gram, uint32_t pat,
               uint32_t off)
{
    uint32_t h = gram_hash(gram), b = h >> ix->hshift, bit = h >> ix->bshift;
    struct gram_ent *e;

    ix->bits[bit >> 6] |= (uint64_t)1 << (bit & 63);
    g->ents = xreallocarray(g->ents, g->nents + 1, sizeof(*g->ents));
    e = &g->ents[g->nents];
    e->gram = gram;
    e->pat = pat;
    e->off = off;
    e->next = ix->head[b];
    ix->head[b] = g->nents++;
}

/* Literals already indexed under exactly this window (to pick a less shared one). */
static uint32_t
gram_count(const struct rule_gram *g, const struct gram_index *ix, uint64_t gram)
{
    uint32_t n = 0;

    for (uint32_t e = ix->head[gram_hash(gram) >> ix->hshift]; e != GRAM_NONE;
         e = g->ents[e].next) {
        n += g->ents[e].gram == gram;
    }
    return n;
}

/* Compile the added literals. Call once. */
void
rule_gram_build(struct rule_gram *g)
{
    uint32_t n3 = 0, n4 = 0, n8 = 0;

    for (uint32_t i = 0; i < g->npats; i++) {
        n3 += g->pats[i].len == 3;
        n4 += g->pats[i].len >= 4 && g->pats[i].len < 8;
        n8 += g->pats[i].len >= 8;
    }
    gram_index_init(&g->g8, n8);
    gram_index_init(&g->g4, n4);
    gram_index_init(&g->g3, n3);
    for (uint32_t i = 0; i < g->npats; i++) {
        const struct gram_pat *p = &g->pats[i];
        const unsigned char *s = (const unsigned char *)p->s;
        uint32_t q = p->len >= 8 ? 8 : p->len >= 4 ? 4 : 3;
        struct gram_index *ix = q == 8 ? &g->g8 : q == 4 ? &g->g4 : &g->g3;
        uint32_t best = 0, best_n = UINT32_MAX;

        for (uint32_t off = 0; off + q <= p->len; off++) {
            uint64_t w = q == 8 ? gram_fold8(s + off) : q == 4 ? gram_fold4(s + off)
                                                               : gram_fold3(s + off);
            uint32_t c = gram_count(g, ix, w);
            if (c < best_n) {
                best_n = c;
                best = off;
            }
        }
        gram_index_add(g, ix,
                       q == 8 ? gram_fold8(s + best) : q == 4 ? gram_fold4(s + best)
                                                          : gram_fold3(s + best),
                       i, best);
    }
}

static __attribute__((noinline)) void
gram_verify(const struct rule_gram *g, const struct gram_index *ix, uint64_t gram,
            const unsigned char *s, size_t len, size_t i, rule_ac_hit_cb cb, void *arg)
{
    for (uint32_t e = ix->head[gram_hash(gram) >> ix->hshift]; e != GRAM_NONE;
         e = g->ents[e].next) {
        const struct gram_ent *en = &g->ents[e];
        const struct gram_pat *p;
        size_t start;

        if (en->gram != gram || en->off > i) {
            continue;
        }
        p = &g->pats[en->pat];
        start = i - en->off;
        if (start + p->len > len) {
            continue;
        }
        if (rule_lower_eq(s + start, p->s, p->len)) {
            cb(arg, p->id);
        }
    }
}

/* One pass of the filter with window size q over the text (invariants kept in registers). */
static inline void
gram_pass(const struct rule_gram *g, const struct gram_index *ix, int q,
          const unsigned char *s, size_t len, rule_ac_hit_cb cb, void *arg)
{
    const uint64_t *bits = ix->bits;
    const uint32_t shift = ix->bshift;

    for (size_t i = 0; i + (size_t)q <= len; i++) {
        uint64_t w = q == 8   ? gram_fold8(s + i)
                     : q == 4 ? gram_fold4(s + i)
                     : i + 4 <= len ? gram_fold3_fast(s + i) : gram_fold3(s + i);
        uint32_t bit = gram_hash(w) >> shift;
        if ((bits[bit >> 6] >> (bit & 63)) & 1) {
            gram_verify(g, ix, w, s, len, i, cb, arg);
        }
    }
}

/* Scan s[0..len); cb(arg, id) for every literal occurrence. */
void
rule_gram_scan(const struct rule_gram *g, const char *text, size_t len, rule_ac_hit_cb cb,
               void *arg)
{
    const unsigned char *s = (const unsigned char *)text;

    if (g->g8.used) {
        gram_pass(g, &g->g8, 8, s, len, cb, arg);
    }
    if (g->g4.used) {
        gram_pass(g, &g->g4, 4, s, len, cb, arg);
    }
    if (g->g3.used) {
        gram_pass(g, &g->g3, 3, s, len, cb, arg);
    }
}

/* Release the scanner (accepts NULL). */
void
rule_gram_free(struct rule_gram *g)
{
    if (g == NULL) {
        return;
    }
    for (uint32_t i = 0; i < g->npats; i++) {
        free(g->pats[i].s);
    }
    free(g->pats);
    free(g->ents);
    free(g->g8.bits);
    free(g->g8.head);
    free(g->g4.bits);
    free(g->g4.head);
    free(g->g3.bits);
    free(g->g3.head);
    free(g);
}
