/*
 * Aho-Corasick automaton over ASCII-lowercased bytes, for the rule prefilter: add literals
 * with an id, build once, then scan any text in one pass and get a callback for every
 * occurrence of every literal (ids may repeat; the caller de-duplicates).
 *
 * The automaton is a dense DFA over byte classes (bytes that occur in no literal share one
 * class), with row offsets pre-multiplied so the inner loop is two loads per byte. States
 * that report something are numbered last, so "does this state report?" is one compare.
 * Memory is states x classes x 4 bytes; scanning never allocates.
 */
#include <stdlib.h>
#include <string.h>

#include "rule-int.h"
#include "xmalloc.h"

#define AC_NONE UINT32_MAX

struct ac_pat {
    char *s;
    size_t len;
    uint32_t id;
};

struct rule_ac {
    struct ac_pat *pats; /* until built */
    size_t npats;
    uint8_t cls[256];
    uint32_t stride;   /* number of byte classes */
    uint32_t *delta;   /* [state * stride + class] = next state * stride */
    uint32_t nstates;
    uint32_t out_thr;  /* states * stride >= out_thr report */
    uint32_t *out_off; /* own ids of state s: out_ids[out_off[s] .. out_off[s + 1]) */
    uint32_t *out_ids;
    uint32_t *dict;    /* next state on the failure chain with own ids, or AC_NONE */
};

/* A new empty automaton; free with rule_ac_free(). */
struct rule_ac *
rule_ac_new(void)
{
    return xcalloc(1, sizeof(struct rule_ac));
}

/* Add literal lit[0..len) (len > 0) reported as id; compared ASCII-case-insensitively. */
void
rule_ac_add(struct rule_ac *ac, const char *lit, size_t len, uint32_t id)
{
    struct ac_pat *p;

    if (len == 0) {
        return;
    }
    ac->pats = xreallocarray(ac->pats, ac->npats + 1, sizeof(*ac->pats));
    p = &ac->pats[ac->npats++];
    p->s = xmalloc(len);
    for (size_t i = 0; i < len; i++) {
        p->s[i] = (char)rule_value_lower[(unsigned char)lit[i]];
    }
    p->len = len;
    p->id = id;
}

struct ac_pair {
    uint32_t state;
    uint32_t id;
};

static int
ac_pair_cmp(const void *a, const void *b)
{
    const struct ac_pair *x = a, *y = b;

    if (x->state != y->state) {
        return x->state < y->state ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Compile the added literals into the scanning tables. Call once. */
void
rule_ac_build(struct rule_ac *ac)
{
    uint32_t stride, nst = 1, cap = 64;
    uint32_t *trie, *fail, *dict, *queue, *order, *newid;
    uint8_t *own;
    struct ac_pair *pairs;
    size_t npairs = 0;
    uint32_t qh = 0, qt = 0, nout = 0, nplain;

    /* Byte classes: 0 for bytes in no literal. Upper-case letters share their lower class. */
    memset(ac->cls, 0, sizeof(ac->cls));
    stride = 1;
    for (size_t i = 0; i < ac->npats; i++) {
        for (size_t k = 0; k < ac->pats[i].len; k++) {
            unsigned char c = (unsigned char)ac->pats[i].s[k];
            if (ac->cls[c] == 0) {
                ac->cls[c] = (uint8_t)stride++;
            }
        }
    }
    for (int c = 'A'; c <= 'Z'; c++) {
        ac->cls[c] = ac->cls[c + 32];
    }
    ac->stride = stride;

    /* Trie. */
    trie = xcalloc((size_t)cap * stride, sizeof(*trie));
    pairs = xcalloc(ac->npats > 0 ? ac->npats : 1, sizeof(*pairs));
    for (size_t i = 0; i < ac->npats; i++) {
        uint32_t s = 0;
        for (size_t k = 0; k < ac->pats[i].len; k++) {
            uint32_t c = ac->cls[(unsigned char)ac->pats[i].s[k]];
            if (trie[(size_t)s * stride + c] == 0) {
                if (nst == cap) {
                    trie = xreallocarray(trie, (size_t)cap * 2 * stride, sizeof(*trie));
                    memset(trie + (size_t)cap * stride, 0, (size_t)cap * stride * sizeof(*trie));
                    cap *= 2;
                }
                trie[(size_t)s * stride + c] = nst++;
            }
            s = trie[(size_t)s * stride + c];
        }
        pairs[npairs].state = s;
        pairs[npairs++].id = ac->pats[i].id;
        free(ac->pats[i].s);
    }
    free(ac->pats);
    ac->pats = NULL;
    ac->npats = 0;

    own = xcalloc(nst, 1);
    for (size_t i = 0; i < npairs; i++) {
        own[pairs[i].state] = 1;
    }

    /* Failure links in breadth-first order; complete the transition function. */
    fail = xcalloc(nst, sizeof(*fail));
    dict = xmalloc((size_t)nst * sizeof(*dict));
    queue = xmalloc((size_t)nst * sizeof(*queue));
    dict[0] = AC_NONE;
    queue[qt++] = 0;
    while (qh < qt) {
        uint32_t s = queue[qh++];
        for (uint32_t c = 0; c < stride; c++) {
            uint32_t child = trie[(size_t)s * stride + c];
            if (child != 0) {
                uint32_t f = s == 0 ? 0 : trie[(size_t)fail[s] * stride + c];
                fail[child] = f;
                dict[child] = own[f] ? f : dict[f];
                queue[qt++] = child;
            } else {
                trie[(size_t)s * stride + c] = s == 0 ? 0 : trie[(size_t)fail[s] * stride + c];
            }
        }
    }

    /* Renumber: states that report go last. */
    order = queue; /* BFS order, root first */
    newid = xmalloc((size_t)nst * sizeof(*newid));
    for (uint32_t i = 0; i < nst; i++) {
        uint32_t s = order[i];
        if (!(own[s] || dict[s] != AC_NONE)) {
            newid[s] = nout++;
        }
    }
    nplain = nout;
    for (uint32_t i = 0; i < nst; i++) {
        uint32_t s = order[i];
        if (own[s] || dict[s] != AC_NONE) {
            newid[s] = nout++;
        }
    }
    ac->nstates = nst;
    ac->out_thr = nplain * stride;
    ac->delta = xmalloc((size_t)nst * stride * sizeof(*ac->delta));
    ac->dict = xmalloc((size_t)nst * sizeof(*ac->dict));
    for (uint32_t s = 0; s < nst; s++) {
        for (uint32_t c = 0; c < stride; c++) {
            ac->delta[(size_t)newid[s] * stride + c] = newid[trie[(size_t)s * stride + c]] * stride;
        }
        ac->dict[newid[s]] = dict[s] == AC_NONE ? AC_NONE : newid[dict[s]];
    }
    for (size_t i = 0; i < npairs; i++) {
        pairs[i].state = newid[pairs[i].state];
    }
    qsort(pairs, npairs, sizeof(*pairs), ac_pair_cmp);
    ac->out_off = xcalloc((size_t)nst + 1, sizeof(*ac->out_off));
    ac->out_ids = xcalloc(npairs > 0 ? npairs : 1, sizeof(*ac->out_ids));
    for (size_t i = 0; i < npairs; i++) {
        ac->out_off[pairs[i].state + 1]++;
        ac->out_ids[i] = pairs[i].id;
    }
    for (uint32_t s = 0; s < nst; s++) {
        ac->out_off[s + 1] += ac->out_off[s];
    }

    free(trie);
    free(pairs);
    free(own);
    free(fail);
    free(dict);
    free(queue);
    free(newid);
}

static void
ac_report(const struct rule_ac *ac, uint32_t s, rule_ac_hit_cb cb, void *arg)
{
    while (s != AC_NONE) {
        for (uint32_t i = ac->out_off[s]; i < ac->out_off[s + 1]; i++) {
            cb(arg, ac->out_ids[i]);
        }
        s = ac->dict[s];
    }
}

/* Scan s[0..len); cb(arg, id) for every literal occurrence (in text order). */
void
rule_ac_scan(const struct rule_ac *ac, const char *s, size_t len, rule_ac_hit_cb cb, void *arg)
{
    const uint32_t *delta = ac->delta;
    const uint8_t *cls = ac->cls;
    const unsigned char *p = (const unsigned char *)s;
    uint32_t st = 0, thr = ac->out_thr;

    if (delta == NULL) {
        return;
    }
    for (size_t i = 0; i < len; i++) {
        st = delta[st + cls[p[i]]];
        if (st >= thr) {
            ac_report(ac, st / ac->stride, cb, arg);
        }
    }
}

/* Number of states (for statistics). */
size_t
rule_ac_nstates(const struct rule_ac *ac)
{
    return ac->nstates;
}

/* Size of the transition table in bytes (what has to stay in cache while scanning). */
size_t
rule_ac_table_bytes(const struct rule_ac *ac)
{
    return (size_t)ac->nstates * ac->stride * sizeof(*ac->delta);
}

/* Release the automaton (accepts NULL). */
void
rule_ac_free(struct rule_ac *ac)
{
    if (ac == NULL) {
        return;
    }
    for (size_t i = 0; i < ac->npats; i++) {
        free(ac->pats[i].s);
    }
    free(ac->pats);
    free(ac->delta);
    free(ac->out_off);
    free(ac->out_ids);
    free(ac->dict);
    free(ac);
}
