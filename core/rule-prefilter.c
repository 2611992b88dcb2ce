/*
 * The prefilter shared by all detection rules of a set: decides, in one pass over an
 * event, which rules can possibly match, so the cost per event does not grow with the
 * number of rules that cannot.
 *
 * For every rule we derive, from its condition, a conjunction of clauses; each clause is a
 * disjunction of atoms that every match of the rule needs:
 *   LIT  field contains a literal (plain strings, contains/startswith/endswith/wildcard
 *        pieces, keywords, required literals of regexes), case-insensitively;
 *   EQ   field equals a string, case-insensitively;
 *   NUM  field equals a number (canonical form, see rule_value_num_key).
 * `A and B` needs the clauses of both; `A or B` needs one clause holding the best clause of
 * each side (no clause if either side has none); `not A` needs nothing. Tests of fields the
 * rule captures itself, neq, null, exists, cidr and lt/gt need nothing.
 *
 * Per event: one Aho-Corasick automaton per field that has LIT atoms scans that field's
 * values (keywords go to `message`, or to a second automaton over event.original when the
 * event has no message); one hash lookup per value of every field that has EQ/NUM atoms.
 * A hit atom marks its clauses; a rule whose clauses are all marked is a candidate. Rules
 * without clauses are always candidates. Stamps (an epoch per event) avoid clearing.
 */
#include <stdlib.h>
#include <string.h>

#include "rule-int.h"
#include "xmalloc.h"

#define PF_EQ_MAXLEN 255

enum pf_akind { PF_LIT, PF_EQ, PF_NUM };

/* ---- build-time CNF ----------------------------------------------------------------- */

struct pf_aref {
    enum pf_akind kind;
    const char *field; /* NULL: keywords */
    uint32_t flen;
    char *s;           /* owned, lowercased */
    uint32_t len;
};

struct pf_clause {
    struct pf_aref *a;
    uint32_t n;
    int score;
};

struct pf_cnf {
    struct pf_clause *c;
    uint32_t n; /* 0: no requirement */
};

static void
pf_clause_free(struct pf_clause *cl)
{
    for (uint32_t i = 0; i < cl->n; i++) {
        free(cl->a[i].s);
    }
    free(cl->a);
    memset(cl, 0, sizeof(*cl));
}

static void
pf_cnf_free(struct pf_cnf *f)
{
    for (uint32_t i = 0; i < f->n; i++) {
        pf_clause_free(&f->c[i]);
    }
    free(f->c);
    memset(f, 0, sizeof(*f));
}

static int
pf_atom_score(const struct pf_aref *a)
{
    if (a->kind == PF_LIT) {
        return a->len > 40 ? 40 : (int)a->len;
    }
    return a->kind == PF_EQ ? 16 : 12;
}

static void
pf_clause_add(struct pf_clause *cl, enum pf_akind kind, const struct rule_test *t,
              const char *s, size_t len)
{
    struct pf_aref *a;
    int sc;

    cl->a = xreallocarray(cl->a, cl->n + 1, sizeof(*cl->a));
    a = &cl->a[cl->n++];
    a->kind = kind;
    a->field = t->field;
    a->flen = t->field_len;
    a->s = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        a->s[i] = (char)rule_value_lower[(unsigned char)s[i]];
    }
    a->s[len] = '\0';
    a->len = (uint32_t)len;
    sc = pf_atom_score(a);
    if (cl->n == 1 || sc < cl->score) {
        cl->score = sc;
    }
}

static void
pf_clause_append(struct pf_clause *dst, struct pf_clause *src)
{
    for (uint32_t i = 0; i < src->n; i++) {
        int sc = pf_atom_score(&src->a[i]);
        dst->a = xreallocarray(dst->a, dst->n + 1, sizeof(*dst->a));
        dst->a[dst->n++] = src->a[i];
        if (dst->n == 1 || sc < dst->score) {
            dst->score = sc;
        }
    }
    free(src->a);
    memset(src, 0, sizeof(*src));
}

static void
pf_cnf_push(struct pf_cnf *f, struct pf_clause *cl)
{
    f->c = xreallocarray(f->c, f->n + 1, sizeof(*f->c));
    f->c[f->n++] = *cl;
    memset(cl, 0, sizeof(*cl));
}

static void
pf_cnf_concat(struct pf_cnf *dst, struct pf_cnf *src)
{
    for (uint32_t i = 0; i < src->n; i++) {
        pf_cnf_push(dst, &src->c[i]);
    }
    free(src->c);
    memset(src, 0, sizeof(*src));
}

/* Atoms one of which value v needs; returns 0 when it added some, -1 when v needs none. */
static int
pf_value_atoms(const struct rule_test *t, const struct rule_value *v, struct pf_clause *cl)
{
    switch (v->kind) {
    case RULE_V_EXACT:
        if (t->field != NULL && v->litlen <= PF_EQ_MAXLEN) {
            pf_clause_add(cl, PF_EQ, t, v->lit, v->litlen);
            return 0;
        }
        /* fall through */
    case RULE_V_PREFIX:
    case RULE_V_SUFFIX:
    case RULE_V_CONTAINS:
        if (v->litlen < RULE_LIT_MIN) {
            return -1;
        }
        pf_clause_add(cl, PF_LIT, t, v->lit, v->litlen);
        return 0;
    case RULE_V_GLOB: {
        size_t best = 0, bestlen = 0, i = 0;
        while (i < v->litlen) {
            size_t start = i;
            while (i < v->litlen && v->wild[i] == RULE_W_LIT) {
                i++;
            }
            if (i - start > bestlen) {
                best = start;
                bestlen = i - start;
            }
            i++;
        }
        if (bestlen < RULE_LIT_MIN) {
            return -1;
        }
        pf_clause_add(cl, PF_LIT, t, v->lit + best, bestlen);
        return 0;
    }
    case RULE_V_NUMEQ:
        if (t->field == NULL) {
            return -1;
        }
        pf_clause_add(cl, PF_NUM, t, v->numkey, strlen(v->numkey));
        return 0;
    case RULE_V_RE: {
        struct rule_litset ls;
        int r = -1;
        rule_literal_extract(v->text, strlen(v->text), &ls);
        for (size_t i = 0; i < ls.n; i++) {
            if (ls.lens[i] < RULE_LIT_MIN) {
                r = -1;
                break;
            }
            r = 0;
        }
        for (size_t i = 0; r == 0 && i < ls.n; i++) {
            pf_clause_add(cl, PF_LIT, t, ls.lits[i], ls.lens[i]);
        }
        rule_litset_free(&ls);
        return r;
    }
    case RULE_V_NUMCMP:
    case RULE_V_CIDR:
        return -1;
    }
    return -1;
}

static struct pf_cnf
pf_test_cnf(const struct rule_test *t)
{
    struct pf_cnf f = {0};
    struct pf_clause cl = {0};

    if (t->captured || t->neq || t->op != RULE_T_VALUES) {
        return f;
    }
    if (t->all) {
        for (uint32_t i = 0; i < t->nvals; i++) {
            if (pf_value_atoms(t, &t->vals[i], &cl) == 0) {
                pf_cnf_push(&f, &cl);
            } else {
                pf_clause_free(&cl);
            }
        }
        return f;
    }
    for (uint32_t i = 0; i < t->nvals; i++) {
        if (pf_value_atoms(t, &t->vals[i], &cl) < 0) {
            pf_clause_free(&cl);
            return f;
        }
    }
    pf_cnf_push(&f, &cl);
    return f;
}

/* OR of several CNFs: one clause with the best clause of each (or nothing). Consumes kids. */
static struct pf_cnf
pf_or(struct pf_cnf *kids, uint32_t n)
{
    struct pf_cnf f = {0};
    struct pf_clause cl = {0};
    int none = n == 0;

    for (uint32_t i = 0; i < n && !none; i++) {
        uint32_t best = 0;
        if (kids[i].n == 0) {
            none = 1;
            break;
        }
        for (uint32_t k = 1; k < kids[i].n; k++) {
            if (kids[i].c[k].score > kids[i].c[best].score) {
                best = k;
            }
        }
        pf_clause_append(&cl, &kids[i].c[best]);
    }
    for (uint32_t i = 0; i < n; i++) {
        pf_cnf_free(&kids[i]);
    }
    if (none) {
        pf_clause_free(&cl);
        return f;
    }
    pf_cnf_push(&f, &cl);
    return f;
}

static struct pf_cnf
pf_sel_cnf(const struct rule_sel *s)
{
    struct pf_cnf *kids = xcalloc(s->ngroups > 0 ? s->ngroups : 1, sizeof(*kids));
    struct pf_cnf f;

    for (uint32_t g = 0; g < s->ngroups; g++) {
        for (uint32_t t = 0; t < s->groups[g].ntests; t++) {
            struct pf_cnf tf = pf_test_cnf(&s->groups[g].tests[t]);
            pf_cnf_concat(&kids[g], &tf);
        }
    }
    if (s->ngroups == 1) {
        f = kids[0];
    } else {
        f = pf_or(kids, s->ngroups);
    }
    free(kids);
    return f;
}

static struct pf_cnf
pf_cond_cnf(const struct rule_detection *det, const struct rule_cexpr *e)
{
    struct pf_cnf f = {0};

    switch (e->op) {
    case RULE_C_SEL:
        return pf_sel_cnf(&det->sels[e->sel]);
    case RULE_C_NOT:
        return f;
    case RULE_C_AND:
        for (uint32_t i = 0; i < e->nkids; i++) {
            struct pf_cnf k = pf_cond_cnf(det, e->kids[i]);
            pf_cnf_concat(&f, &k);
        }
        return f;
    case RULE_C_OR: {
        struct pf_cnf *kids = xcalloc(e->nkids, sizeof(*kids));
        for (uint32_t i = 0; i < e->nkids; i++) {
            kids[i] = pf_cond_cnf(det, e->kids[i]);
        }
        f = pf_or(kids, e->nkids);
        free(kids);
        return f;
    }
    }
    return f;
}

static int
pf_clause_cmp(const void *a, const void *b)
{
    const struct pf_clause *x = a, *y = b;

    return (x->score < y->score) - (x->score > y->score);
}

/* ---- the prefilter ------------------------------------------------------------------ */

struct pf_field {
    char *name; /* owned; NULL: the keyword fallback over event.original */
    uint32_t len;
    uint32_t hash;
};

struct pf_target {
    struct pf_field f;
    struct rule_ac *ac;
};

struct pf_eqfield {
    struct pf_field f;
    uint32_t maxlen;
    int has_num;
};

struct pf_eqent {
    uint32_t hash;
    uint32_t atom; /* UINT32_MAX: empty slot */
};

struct pf_atom {
    enum pf_akind kind;
    int32_t where; /* PF_LIT: target index (keywords: message target); else eqfield index */
    int keyword;
    char *s;       /* owned */
    uint32_t len;
};

struct rule_prefilter {
    uint32_t ndet;
    struct pf_target *targets;
    uint32_t ntargets;
    int32_t msg_target;   /* target of `message`, -1 if none */
    int32_t kw_fallback;  /* target over event.original for keywords, -1 if none */
    struct pf_eqfield *eqf;
    uint32_t neqf;
    struct pf_eqent *eqtab;
    uint32_t eqmask;
    struct pf_atom *atoms;
    uint32_t natoms;
    uint32_t *post_off;   /* atom -> clauses */
    uint32_t *post;
    uint32_t nclauses;
    uint32_t *clause_rule;
    uint32_t *clause_off; /* clause -> atoms (explain) */
    uint32_t *clause_atoms;
    uint32_t *rule_coff;  /* rule -> its clauses [rule_coff[r], rule_coff[r + 1]) */
    uint8_t *rule_k;
    uint32_t *always;
    uint32_t nalways;
    /* per-event scratch */
    uint32_t epoch;
    uint32_t *atom_stamp;
    uint32_t *clause_stamp;
    uint32_t *rule_stamp;
    uint8_t *rule_cnt;
    uint32_t *hits;
    uint32_t nhits;
    uint32_t *out;
};

static uint32_t
pf_hash(uint32_t where, enum pf_akind kind, const char *s, size_t len)
{
    uint32_t h = 2166136261u ^ (where * 16777619u) ^ ((uint32_t)kind << 24);

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static int32_t
pf_field_index(struct pf_field **arr, uint32_t *n, size_t elem, const char *name, uint32_t len)
{
    char *base = (char *)*arr;

    for (uint32_t i = 0; i < *n; i++) {
        struct pf_field *f = (struct pf_field *)(base + i * elem);
        if (f->name != NULL && name != NULL && f->len == len && memcmp(f->name, name, len) == 0) {
            return (int32_t)i;
        }
        if (f->name == NULL && name == NULL) {
            return (int32_t)i;
        }
    }
    base = xreallocarray(base, *n + 1, elem);
    memset(base + *n * elem, 0, elem);
    {
        struct pf_field *f = (struct pf_field *)(base + *n * elem);
        f->name = name != NULL ? xstrndup(name, len) : NULL;
        f->len = len;
        f->hash = name != NULL ? event_name_hash(name, len) : 0;
    }
    *arr = (struct pf_field *)base;
    return (int32_t)(*n)++;
}

/* Build-time atom table: (kind, where, keyword, string) -> atom id, linear probing. */
struct pf_atab {
    uint32_t *slot;
    uint32_t mask;
};

static uint32_t
pf_atom_id(struct rule_prefilter *pf, struct pf_atab *tab, const struct pf_aref *a)
{
    int32_t where;
    int keyword = a->kind == PF_LIT && a->field == NULL;
    uint32_t h, i;

    if (a->kind == PF_LIT) {
        where = pf_field_index((struct pf_field **)&pf->targets, &pf->ntargets,
                               sizeof(*pf->targets), keyword ? F_MESSAGE : a->field,
                               keyword ? (uint32_t)strlen(F_MESSAGE) : a->flen);
        if (keyword) {
            pf->msg_target = where;
            pf->kw_fallback = pf_field_index((struct pf_field **)&pf->targets, &pf->ntargets,
                                             sizeof(*pf->targets), NULL, 0);
        } else if (a->flen == strlen(F_MESSAGE) && memcmp(a->field, F_MESSAGE, a->flen) == 0) {
            pf->msg_target = where;
        }
    } else {
        where = pf_field_index((struct pf_field **)&pf->eqf, &pf->neqf, sizeof(*pf->eqf),
                               a->field, a->flen);
        if (a->kind == PF_NUM) {
            pf->eqf[where].has_num = 1;
        }
        if (a->len > pf->eqf[where].maxlen) {
            pf->eqf[where].maxlen = a->len;
        }
    }
    if ((pf->natoms + 1) * 2 > tab->mask) {
        uint32_t ncap = (tab->mask + 1) * 2;
        uint32_t *ns = xmalloc(ncap * sizeof(*ns));
        memset(ns, 0xff, ncap * sizeof(*ns));
        for (uint32_t k = 0; k <= tab->mask; k++) {
            uint32_t id = tab->slot[k];
            if (id != UINT32_MAX) {
                struct pf_atom *at = &pf->atoms[id];
                uint32_t j = pf_hash((uint32_t)at->where * 2 + (uint32_t)at->keyword, at->kind,
                                     at->s, at->len) & (ncap - 1);
                while (ns[j] != UINT32_MAX) {
                    j = (j + 1) & (ncap - 1);
                }
                ns[j] = id;
            }
        }
        free(tab->slot);
        tab->slot = ns;
        tab->mask = ncap - 1;
    }
    h = pf_hash((uint32_t)where * 2 + (uint32_t)keyword, a->kind, a->s, a->len);
    for (i = h & tab->mask; tab->slot[i] != UINT32_MAX; i = (i + 1) & tab->mask) {
        struct pf_atom *at = &pf->atoms[tab->slot[i]];
        if (at->kind == a->kind && at->where == where && at->keyword == keyword &&
            at->len == a->len && memcmp(at->s, a->s, a->len) == 0) {
            return tab->slot[i];
        }
    }
    pf->atoms = xreallocarray(pf->atoms, pf->natoms + 1, sizeof(*pf->atoms));
    pf->atoms[pf->natoms].kind = a->kind;
    pf->atoms[pf->natoms].where = where;
    pf->atoms[pf->natoms].keyword = keyword;
    pf->atoms[pf->natoms].s = xstrndup(a->s, a->len);
    pf->atoms[pf->natoms].len = a->len;
    tab->slot[i] = pf->natoms;
    return pf->natoms++;
}

static void
pf_eq_insert(struct rule_prefilter *pf, uint32_t atom)
{
    const struct pf_atom *a = &pf->atoms[atom];
    uint32_t h = pf_hash((uint32_t)a->where, a->kind, a->s, a->len);
    uint32_t i = h & pf->eqmask;

    while (pf->eqtab[i].atom != UINT32_MAX) {
        i = (i + 1) & pf->eqmask;
    }
    pf->eqtab[i].hash = h;
    pf->eqtab[i].atom = atom;
}

static int
pf_u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/*
 * Build the prefilter for detection rules det[0..ndet) (in rule order). The rules must
 * outlive it. Returns a prefilter the caller frees with rule_prefilter_free().
 */
struct rule_prefilter *
rule_prefilter_build(struct rule **det, uint32_t ndet)
{
    struct rule_prefilter *pf = xcalloc(1, sizeof(*pf));
    struct pf_atab tab;
    uint32_t *clause_atom_n = NULL, ncatoms = 0, *catoms = NULL;
    uint32_t eqcount = 0;

    pf->ndet = ndet;
    pf->msg_target = -1;
    pf->kw_fallback = -1;
    pf->rule_k = xcalloc(ndet > 0 ? ndet : 1, 1);
    pf->rule_coff = xcalloc((size_t)ndet + 1, sizeof(*pf->rule_coff));
    pf->always = xcalloc(ndet > 0 ? ndet : 1, sizeof(*pf->always));
    tab.mask = 63;
    tab.slot = xmalloc(64 * sizeof(*tab.slot));
    memset(tab.slot, 0xff, 64 * sizeof(*tab.slot));

    for (uint32_t r = 0; r < ndet; r++) {
        struct pf_cnf f = pf_cond_cnf(det[r]->det, det[r]->det->cond);
        uint32_t keep = 0;

        if (f.n > 1) {
            qsort(f.c, f.n, sizeof(*f.c), pf_clause_cmp);
        }
        for (uint32_t i = 0; i < f.n && keep < RULE_MAX_CLAUSES; i++) {
            uint32_t cid = pf->nclauses++;
            pf->clause_rule = xreallocarray(pf->clause_rule, pf->nclauses,
                                            sizeof(*pf->clause_rule));
            pf->clause_rule[cid] = r;
            clause_atom_n = xreallocarray(clause_atom_n, pf->nclauses, sizeof(*clause_atom_n));
            clause_atom_n[cid] = f.c[i].n;
            for (uint32_t k = 0; k < f.c[i].n; k++) {
                catoms = xreallocarray(catoms, ncatoms + 1, sizeof(*catoms));
                catoms[ncatoms++] = pf_atom_id(pf, &tab, &f.c[i].a[k]);
            }
            keep++;
        }
        pf_cnf_free(&f);
        pf->rule_k[r] = (uint8_t)keep;
        pf->rule_coff[r + 1] = pf->nclauses;
        if (keep == 0) {
            pf->always[pf->nalways++] = r;
        }
    }
    free(tab.slot);

    /* clause -> atoms, and atom -> clauses (postings, de-duplicated). */
    pf->clause_off = xcalloc((size_t)pf->nclauses + 1, sizeof(*pf->clause_off));
    for (uint32_t c = 0; c < pf->nclauses; c++) {
        pf->clause_off[c + 1] = pf->clause_off[c] + clause_atom_n[c];
    }
    pf->clause_atoms = catoms;
    pf->post_off = xcalloc((size_t)pf->natoms + 1, sizeof(*pf->post_off));
    for (uint32_t c = 0; c < pf->nclauses; c++) {
        for (uint32_t k = pf->clause_off[c]; k < pf->clause_off[c + 1]; k++) {
            pf->post_off[catoms[k] + 1]++;
        }
    }
    for (uint32_t a = 0; a < pf->natoms; a++) {
        pf->post_off[a + 1] += pf->post_off[a];
    }
    pf->post = xcalloc(ncatoms > 0 ? ncatoms : 1, sizeof(*pf->post));
    {
        uint32_t *fill = xcalloc(pf->natoms > 0 ? pf->natoms : 1, sizeof(*fill));
        for (uint32_t c = 0; c < pf->nclauses; c++) {
            for (uint32_t k = pf->clause_off[c]; k < pf->clause_off[c + 1]; k++) {
                uint32_t a = catoms[k];
                pf->post[pf->post_off[a] + fill[a]++] = c;
            }
        }
        free(fill);
    }
    free(clause_atom_n);

    /* Automata and the equality table. */
    for (uint32_t t = 0; t < pf->ntargets; t++) {
        pf->targets[t].ac = rule_ac_new();
    }
    for (uint32_t a = 0; a < pf->natoms; a++) {
        const struct pf_atom *at = &pf->atoms[a];
        if (at->kind == PF_LIT) {
            rule_ac_add(pf->targets[at->where].ac, at->s, at->len, a);
            if (at->keyword) {
                rule_ac_add(pf->targets[pf->kw_fallback].ac, at->s, at->len, a);
            }
        } else {
            eqcount++;
        }
    }
    for (uint32_t t = 0; t < pf->ntargets; t++) {
        rule_ac_build(pf->targets[t].ac);
    }
    pf->eqmask = 15;
    while (pf->eqmask + 1 < eqcount * 2) {
        pf->eqmask = pf->eqmask * 2 + 1;
    }
    pf->eqtab = xmalloc(((size_t)pf->eqmask + 1) * sizeof(*pf->eqtab));
    memset(pf->eqtab, 0xff, ((size_t)pf->eqmask + 1) * sizeof(*pf->eqtab));
    for (uint32_t a = 0; a < pf->natoms; a++) {
        if (pf->atoms[a].kind != PF_LIT) {
            pf_eq_insert(pf, a);
        }
    }

    pf->atom_stamp = xcalloc(pf->natoms > 0 ? pf->natoms : 1, sizeof(*pf->atom_stamp));
    pf->clause_stamp = xcalloc(pf->nclauses > 0 ? pf->nclauses : 1, sizeof(*pf->clause_stamp));
    pf->rule_stamp = xcalloc(ndet > 0 ? ndet : 1, sizeof(*pf->rule_stamp));
    pf->rule_cnt = xcalloc(ndet > 0 ? ndet : 1, 1);
    pf->hits = xcalloc(ndet > 0 ? ndet : 1, sizeof(*pf->hits));
    pf->out = xcalloc(ndet > 0 ? ndet : 1, sizeof(*pf->out));
    return pf;
}

/* Release the prefilter (accepts NULL). */
void
rule_prefilter_free(struct rule_prefilter *pf)
{
    if (pf == NULL) {
        return;
    }
    for (uint32_t t = 0; t < pf->ntargets; t++) {
        free(pf->targets[t].f.name);
        rule_ac_free(pf->targets[t].ac);
    }
    free(pf->targets);
    for (uint32_t e = 0; e < pf->neqf; e++) {
        free(pf->eqf[e].f.name);
    }
    free(pf->eqf);
    free(pf->eqtab);
    for (uint32_t a = 0; a < pf->natoms; a++) {
        free(pf->atoms[a].s);
    }
    free(pf->atoms);
    free(pf->post_off);
    free(pf->post);
    free(pf->clause_rule);
    free(pf->clause_off);
    free(pf->clause_atoms);
    free(pf->rule_coff);
    free(pf->rule_k);
    free(pf->always);
    free(pf->atom_stamp);
    free(pf->clause_stamp);
    free(pf->rule_stamp);
    free(pf->rule_cnt);
    free(pf->hits);
    free(pf->out);
    free(pf);
}

/* ---- per event ---------------------------------------------------------------------- */

static void
pf_hit(void *arg, uint32_t atom)
{
    struct rule_prefilter *pf = arg;
    uint32_t epoch = pf->epoch;

    if (pf->atom_stamp[atom] == epoch) {
        return;
    }
    pf->atom_stamp[atom] = epoch;
    for (uint32_t k = pf->post_off[atom]; k < pf->post_off[atom + 1]; k++) {
        uint32_t c = pf->post[k], r;
        if (pf->clause_stamp[c] == epoch) {
            continue;
        }
        pf->clause_stamp[c] = epoch;
        r = pf->clause_rule[c];
        if (pf->rule_stamp[r] != epoch) {
            pf->rule_stamp[r] = epoch;
            pf->rule_cnt[r] = 0;
        }
        if (++pf->rule_cnt[r] == pf->rule_k[r]) {
            pf->hits[pf->nhits++] = r;
        }
    }
}

static void
pf_eq_lookup(struct rule_prefilter *pf, uint32_t where, enum pf_akind kind, const char *s,
             size_t len)
{
    uint32_t h = pf_hash(where, kind, s, len);

    for (uint32_t i = h & pf->eqmask; pf->eqtab[i].atom != UINT32_MAX; i = (i + 1) & pf->eqmask) {
        const struct pf_atom *a = &pf->atoms[pf->eqtab[i].atom];
        if (pf->eqtab[i].hash == h && a->kind == kind && a->where == (int32_t)where &&
            a->len == len && memcmp(a->s, s, len) == 0) {
            pf_hit(pf, pf->eqtab[i].atom);
        }
    }
}

static void
pf_scan_field(struct rule_prefilter *pf, const struct event *ev, const struct pf_target *t,
              const struct event_field *f)
{
    for (; f != NULL; f = event_find_next(ev, f)) {
        rule_ac_scan(t->ac, f->value, f->value_len, pf_hit, pf);
    }
}

static void
pf_collect(struct rule_prefilter *pf, const struct event *ev)
{
    int have_message = 0;

    if (++pf->epoch == 0) {
        memset(pf->atom_stamp, 0, (pf->natoms > 0 ? pf->natoms : 1) * sizeof(uint32_t));
        memset(pf->clause_stamp, 0, (pf->nclauses > 0 ? pf->nclauses : 1) * sizeof(uint32_t));
        memset(pf->rule_stamp, 0, (pf->ndet > 0 ? pf->ndet : 1) * sizeof(uint32_t));
        pf->epoch = 1;
    }
    pf->nhits = 0;
    for (uint32_t t = 0; t < pf->ntargets; t++) {
        const struct pf_target *tg = &pf->targets[t];
        const struct event_field *f;
        if (tg->f.name == NULL) {
            continue;
        }
        f = event_find(ev, tg->f.name, tg->f.len, tg->f.hash);
        if (f != NULL && (int32_t)t == pf->msg_target) {
            have_message = 1;
        }
        pf_scan_field(pf, ev, tg, f);
    }
    if (pf->kw_fallback >= 0 && !have_message) {
        const struct event_field *f = rule_match_keyword_field(ev);
        pf_scan_field(pf, ev, &pf->targets[pf->kw_fallback], f);
    }
    for (uint32_t e = 0; e < pf->neqf; e++) {
        const struct pf_eqfield *q = &pf->eqf[e];
        const struct event_field *f = event_find(ev, q->f.name, q->f.len, q->f.hash);
        for (; f != NULL; f = event_find_next(ev, f)) {
            char buf[PF_EQ_MAXLEN + 1];
            if (f->value_len <= q->maxlen) {
                for (uint32_t i = 0; i < f->value_len; i++) {
                    buf[i] = (char)rule_value_lower[(unsigned char)f->value[i]];
                }
                pf_eq_lookup(pf, e, PF_EQ, buf, f->value_len);
            }
            if (q->has_num && rule_value_num_key(f->value, f->value_len, buf) == 0) {
                pf_eq_lookup(pf, e, PF_NUM, buf, strlen(buf));
            }
        }
    }
}

/*
 * The detection rules (indexes into the det array, ascending) that may match ev. The array
 * belongs to the prefilter and is valid until the next call. Single-threaded.
 */
const uint32_t *
rule_prefilter_run(struct rule_prefilter *pf, const struct event *ev, uint32_t *n)
{
    uint32_t i = 0, j = 0, k = 0;

    if (pf->natoms == 0) {
        *n = pf->nalways;
        return pf->always;
    }
    pf_collect(pf, ev);
    if (pf->nhits > 1) {
        if (pf->nhits <= 16) {
            for (uint32_t a = 1; a < pf->nhits; a++) {
                uint32_t x = pf->hits[a], b = a;
                while (b > 0 && pf->hits[b - 1] > x) {
                    pf->hits[b] = pf->hits[b - 1];
                    b--;
                }
                pf->hits[b] = x;
            }
        } else {
            qsort(pf->hits, pf->nhits, sizeof(*pf->hits), pf_u32_cmp);
        }
    }
    if (pf->nalways == 0) {
        *n = pf->nhits;
        return pf->hits;
    }
    while (i < pf->nhits || j < pf->nalways) {
        if (j >= pf->nalways || (i < pf->nhits && pf->hits[i] < pf->always[j])) {
            pf->out[k++] = pf->hits[i++];
        } else {
            pf->out[k++] = pf->always[j++];
        }
    }
    *n = k;
    return pf->out;
}

static void
pf_print_atom(const struct rule_prefilter *pf, const struct pf_atom *a, FILE *out)
{
    if (a->kind == PF_LIT) {
        const struct pf_target *t = &pf->targets[a->where];
        fprintf(out, "'%s' in %s", a->s, a->keyword ? "keywords (message)" : t->f.name);
    } else {
        fprintf(out, "%s == '%s'", pf->eqf[a->where].f.name, a->s);
    }
}

/*
 * Explain the prefilter's decision for detection rule i on ev: print the clauses none of
 * whose atoms were found. Returns 1 if the rule is a candidate, 0 if it was skipped.
 */
int
rule_prefilter_explain(struct rule_prefilter *pf, uint32_t i, const struct event *ev, FILE *out)
{
    int missing = 0;

    if (pf->rule_k[i] == 0) {
        fprintf(out, "    prefilter: no required literal, always evaluated\n");
        return 1;
    }
    if (pf->natoms > 0) {
        pf_collect(pf, ev);
    }
    for (uint32_t c = pf->rule_coff[i]; c < pf->rule_coff[i + 1]; c++) {
        if (pf->clause_stamp[c] == pf->epoch) {
            continue;
        }
        fprintf(out, "    prefilter: skipped, none of: ");
        for (uint32_t k = pf->clause_off[c]; k < pf->clause_off[c + 1]; k++) {
            if (k > pf->clause_off[c]) {
                fprintf(out, ", ");
            }
            pf_print_atom(pf, &pf->atoms[pf->clause_atoms[k]], out);
        }
        fprintf(out, "\n");
        missing = 1;
    }
    if (!missing) {
        fprintf(out, "    prefilter: candidate (required literals present)\n");
    }
    return !missing;
}
