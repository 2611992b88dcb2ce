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
 * A rule keeps its RULE_MAX_CLAUSES most selective clauses (longest literals). Per event, one
 * Aho-Corasick automaton per field with LIT atoms scans that field's values once (keywords
 * go to `message`, or to a second automaton over event.original when the event has no
 * message), and each value of a field with EQ/NUM atoms is looked up once in a hash table;
 * every atom found is stamped. One clause of each rule is its primary clause: the one whose
 * atoms the fewest rules share (ties: the most selective). Only primary atoms lead to rules
 * (postings); a rule reached that way is a candidate when each of its other clauses has a
 * stamped atom. So an atom common to many rules, such as `process.name == sshd`, costs a
 * stamp per event, not a walk over every rule that mentions it. Rules without clauses are
 * always candidates. Stamps (an epoch per event) avoid clearing anything between events.
 *
 * Each scanned field gets the fastest scanner for its literal count: SIMD (rule-teddy.c)
 * up to RULE_TEDDY_MAX literals, else an automaton (rule-ac.c) while its table stays in
 * cache, else the q-gram filter (rule-gram.c). When a field's primary literals fit the SIMD
 * scanner but all its literals would not, or are few enough for its fastest form (up to
 * RULE_TEDDY_FEW, which costs per literal), only the primary ones are scanned, and secondary
 * clauses that need another literal of that field are not checked (the rule's own tests
 * will): a weaker filter, never a wrong one. The literals of one regex mostly occur
 * together, so little is lost.
 */
#include <stdlib.h>
#include <string.h>

#include "rule-int.h"
#include "xmalloc.h"

/* Equality values longer than this are not indexed (they gate nothing). */
#define PF_EQ_MAXLEN 255
/* Literals are cut to this many bytes: still selective, and the automaton stays small. */
#define PF_LIT_MAXLEN 24
/* A field whose automaton would be larger than this is scanned with rule-gram.c instead. */
#define PF_AC_MAX_BYTES (48 * 1024)

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
    /* A literal's selectivity grows with its length; a field value such as a process name
     * or an event id is about as selective as a 6-byte literal. */
    if (a->kind == PF_LIT) {
        return (int)a->len;
    }
    return a->kind == PF_EQ ? 6 : 5;
}

static void
pf_clause_add(struct pf_clause *cl, enum pf_akind kind, const struct rule_test *t,
              const char *s, size_t len)
{
    struct pf_aref *a;
    int sc;

    cl->a = xreallocarray(cl->a, cl->n + 1, sizeof(*cl->a));
    if (kind == PF_LIT && len > PF_LIT_MAXLEN) {
        len = PF_LIT_MAXLEN;
    }
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

/* What value v needs, as a CNF (empty: nothing). */
static struct pf_cnf
pf_value_cnf(const struct rule_test *t, const struct rule_value *v)
{
    struct pf_cnf f = {0};
    struct pf_clause cl = {0};

    switch (v->kind) {
    case RULE_V_EXACT:
        if (t->field != NULL && v->litlen <= PF_EQ_MAXLEN) {
            pf_clause_add(&cl, PF_EQ, t, v->lit, v->litlen);
            break;
        }
        /* fall through */
    case RULE_V_PREFIX:
    case RULE_V_SUFFIX:
    case RULE_V_CONTAINS:
        if (v->litlen >= RULE_LIT_MIN) {
            pf_clause_add(&cl, PF_LIT, t, v->lit, v->litlen);
        }
        break;
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
        if (bestlen >= RULE_LIT_MIN) {
            pf_clause_add(&cl, PF_LIT, t, v->lit + best, bestlen);
        }
        break;
    }
    case RULE_V_NUMEQ:
        if (t->field != NULL) {
            pf_clause_add(&cl, PF_NUM, t, v->numkey, strlen(v->numkey));
        }
        break;
    case RULE_V_RE: {
        struct rule_litcnf lc;
        rule_literal_extract(v->text, strlen(v->text), &lc);
        for (size_t k = 0; k < lc.n; k++) {
            const struct rule_litset *ls = &lc.sets[k];
            int usable = ls->n > 0;
            for (size_t i = 0; i < ls->n; i++) {
                usable = usable && ls->lens[i] >= RULE_LIT_MIN;
            }
            for (size_t i = 0; usable && i < ls->n; i++) {
                pf_clause_add(&cl, PF_LIT, t, ls->lits[i], ls->lens[i]);
            }
            if (cl.n > 0) {
                pf_cnf_push(&f, &cl);
            }
        }
        rule_litcnf_free(&lc);
        return f;
    }
    case RULE_V_NUMCMP:
    case RULE_V_CIDR:
        break;
    }
    if (cl.n > 0) {
        pf_cnf_push(&f, &cl);
    }
    return f;
}

static struct pf_cnf
pf_test_cnf(const struct rule_test *t)
{
    struct pf_cnf f = {0};
    struct pf_cnf *kids;

    if (t->captured || t->neq || t->op != RULE_T_VALUES) {
        return f;
    }
    if (t->all || t->nvals == 1) {
        for (uint32_t i = 0; i < t->nvals; i++) {
            struct pf_cnf k = pf_value_cnf(t, &t->vals[i]);
            pf_cnf_concat(&f, &k);
        }
        return f;
    }
    kids = xcalloc(t->nvals, sizeof(*kids));
    for (uint32_t i = 0; i < t->nvals; i++) {
        kids[i] = pf_value_cnf(t, &t->vals[i]);
    }
    f = pf_or(kids, t->nvals);
    free(kids);
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
    char *name; /* owned; NULL: keywords (message, else event.original) */
    uint32_t len;
    uint32_t hash;
};

struct pf_target {
    struct pf_field f; /* NULL name: the keyword fallback over event.original */
    struct rule_teddy *teddy; /* up to RULE_TEDDY_MAX literals, on CPUs with SSSE3 */
    struct rule_ac *ac;       /* otherwise, while its table stays small */
    struct rule_gram *gram;   /* otherwise */
    uint32_t *lits;         /* atoms, until built */
    uint32_t nlits;
};

struct pf_eqfield {
    struct pf_field f;
    uint32_t maxlen; /* longest indexed EQ value */
    int has_num;     /* NUM atoms: canonicalise numeric values */
};

struct pf_eqent {
    uint32_t hash;
    uint32_t atom; /* UINT32_MAX: empty slot */
};

struct pf_atom {
    enum pf_akind kind;
    struct pf_field f;
    char *s; /* owned, lowercased (NUM: canonical) */
    uint32_t len;
    int indexed;   /* added to an automaton or the equality table */
    int32_t where; /* target (LIT) or eqfield (EQ/NUM) index */
    uint32_t nrules; /* rules that need it (build time) */
};

struct rule_prefilter {
    uint32_t ndet;
    enum rule_scan engine;
    struct pf_target *targets;
    uint32_t ntargets;
    int32_t msg_target;  /* target of `message`, -1 if none */
    int32_t kw_fallback; /* target over event.original for keywords, -1 if none */
    struct pf_eqfield *eqf;
    uint32_t neqf;
    struct pf_eqent *eqtab;
    uint32_t eqmask;
    struct pf_atom *atoms;
    uint32_t natoms;
    uint32_t *post_off;  /* indexed atom -> rules whose primary clause holds it */
    uint32_t *post;
    uint32_t nclauses;
    uint32_t *clause_off; /* clause -> atoms */
    uint32_t *clause_atoms;
    uint32_t *rule_coff;  /* rule -> clauses [rule_coff[r], rule_coff[r + 1]), primary first */
    uint8_t *clause_skip; /* secondary clause with an atom that is not scanned */
    uint32_t *always;
    uint32_t nalways;
    /* per-event scratch */
    uint32_t epoch;
    uint32_t *atom_stamp;
    uint32_t *rule_stamp;
    uint32_t *hits;
    uint32_t nhits;
    uint32_t *out;
};

static uint32_t
pf_hash(uint32_t seed, const char *s, size_t len)
{
    uint32_t h = 2166136261u ^ (seed * 16777619u);

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static void
pf_field_set(struct pf_field *f, const char *name, uint32_t len)
{
    f->name = name != NULL ? xstrndup(name, len) : NULL;
    f->len = name != NULL ? len : 0;
    f->hash = name != NULL ? event_name_hash(name, len) : 0;
}

static int
pf_field_eq(const struct pf_field *f, const char *name, uint32_t len)
{
    if (f->name == NULL || name == NULL) {
        return f->name == NULL && name == NULL;
    }
    return f->len == len && memcmp(f->name, name, len) == 0;
}

static int32_t
pf_target_index(struct rule_prefilter *pf, const char *name, uint32_t len)
{
    for (uint32_t i = 0; i < pf->ntargets; i++) {
        if (pf_field_eq(&pf->targets[i].f, name, len)) {
            return (int32_t)i;
        }
    }
    pf->targets = xreallocarray(pf->targets, pf->ntargets + 1, sizeof(*pf->targets));
    memset(&pf->targets[pf->ntargets], 0, sizeof(pf->targets[pf->ntargets]));
    pf_field_set(&pf->targets[pf->ntargets].f, name, len);
    return (int32_t)pf->ntargets++;
}

static int32_t
pf_eqfield_index(struct rule_prefilter *pf, const char *name, uint32_t len)
{
    for (uint32_t i = 0; i < pf->neqf; i++) {
        if (pf_field_eq(&pf->eqf[i].f, name, len)) {
            return (int32_t)i;
        }
    }
    pf->eqf = xreallocarray(pf->eqf, pf->neqf + 1, sizeof(*pf->eqf));
    memset(&pf->eqf[pf->neqf], 0, sizeof(pf->eqf[pf->neqf]));
    pf_field_set(&pf->eqf[pf->neqf].f, name, len);
    return (int32_t)pf->neqf++;
}

/* Build-time atom table: (kind, field, string) -> atom id, linear probing. */
struct pf_atab {
    uint32_t *slot;
    uint32_t mask;
};

static uint32_t
pf_atom_hash(enum pf_akind kind, const char *field, uint32_t flen, const char *s, uint32_t len)
{
    uint32_t h = pf_hash((uint32_t)kind + 1, s, len);

    return field != NULL ? pf_hash(h, field, flen) : h;
}

static uint32_t
pf_atom_id(struct rule_prefilter *pf, struct pf_atab *tab, const struct pf_aref *a)
{
    uint32_t h, i;

    if ((pf->natoms + 1) * 2 > tab->mask) {
        uint32_t ncap = (tab->mask + 1) * 2;
        uint32_t *ns = xmalloc(ncap * sizeof(*ns));
        memset(ns, 0xff, ncap * sizeof(*ns));
        for (uint32_t id = 0; id < pf->natoms; id++) {
            const struct pf_atom *at = &pf->atoms[id];
            uint32_t j = pf_atom_hash(at->kind, at->f.name, at->f.len, at->s, at->len) &
                         (ncap - 1);
            while (ns[j] != UINT32_MAX) {
                j = (j + 1) & (ncap - 1);
            }
            ns[j] = id;
        }
        free(tab->slot);
        tab->slot = ns;
        tab->mask = ncap - 1;
    }
    h = pf_atom_hash(a->kind, a->field, a->flen, a->s, a->len);
    for (i = h & tab->mask; tab->slot[i] != UINT32_MAX; i = (i + 1) & tab->mask) {
        const struct pf_atom *at = &pf->atoms[tab->slot[i]];
        if (at->kind == a->kind && pf_field_eq(&at->f, a->field, a->flen) && at->len == a->len &&
            memcmp(at->s, a->s, a->len) == 0) {
            return tab->slot[i];
        }
    }
    pf->atoms = xreallocarray(pf->atoms, pf->natoms + 1, sizeof(*pf->atoms));
    memset(&pf->atoms[pf->natoms], 0, sizeof(pf->atoms[pf->natoms]));
    pf->atoms[pf->natoms].kind = a->kind;
    pf_field_set(&pf->atoms[pf->natoms].f, a->field, a->flen);
    pf->atoms[pf->natoms].s = xstrndup(a->s, a->len);
    pf->atoms[pf->natoms].len = a->len;
    pf->atoms[pf->natoms].where = -1;
    tab->slot[i] = pf->natoms;
    return pf->natoms++;
}

static uint32_t
pf_eq_hash(uint32_t where, enum pf_akind kind, const char *s, size_t len)
{
    return pf_hash(where * 4 + (uint32_t)kind, s, len);
}

static void
pf_eq_insert(struct rule_prefilter *pf, uint32_t atom)
{
    const struct pf_atom *a = &pf->atoms[atom];
    uint32_t h = pf_eq_hash((uint32_t)a->where, a->kind, a->s, a->len);
    uint32_t i = h & pf->eqmask;

    while (pf->eqtab[i].atom != UINT32_MAX) {
        i = (i + 1) & pf->eqmask;
    }
    pf->eqtab[i].hash = h;
    pf->eqtab[i].atom = atom;
}

static void pf_hit(void *arg, uint32_t atom);

static void
pf_target_add(struct pf_target *t, uint32_t atom)
{
    t->lits = xreallocarray(t->lits, t->nlits + 1, sizeof(*t->lits));
    t->lits[t->nlits++] = atom;
}

/*
 * A scanner for the literals of t: the SIMD one for small sets, else an automaton, or the
 * q-gram filter when the automaton's table would not stay in cache.
 */
static void
pf_target_build(struct rule_prefilter *pf, struct pf_target *t)
{
    if (pf->engine == RULE_SCAN_GRAM) {
        t->gram = rule_gram_new();
        for (uint32_t i = 0; i < t->nlits; i++) {
            const struct pf_atom *a = &pf->atoms[t->lits[i]];
            rule_gram_add(t->gram, a->s, a->len, t->lits[i]);
        }
        rule_gram_build(t->gram);
        free(t->lits);
        t->lits = NULL;
        t->nlits = 0;
        return;
    }
    if (pf->engine != RULE_SCAN_AC && t->nlits <= RULE_TEDDY_MAX &&
        (t->teddy = rule_teddy_new()) != NULL) {
        for (uint32_t i = 0; i < t->nlits; i++) {
            const struct pf_atom *a = &pf->atoms[t->lits[i]];
            rule_teddy_add(t->teddy, a->s, a->len, t->lits[i]);
        }
        rule_teddy_build(t->teddy);
        free(t->lits);
        t->lits = NULL;
        t->nlits = 0;
        return;
    }
    t->ac = rule_ac_new();
    for (uint32_t i = 0; i < t->nlits; i++) {
        const struct pf_atom *a = &pf->atoms[t->lits[i]];
        rule_ac_add(t->ac, a->s, a->len, t->lits[i]);
    }
    rule_ac_build(t->ac);
    if (pf->engine != RULE_SCAN_AC && rule_ac_table_bytes(t->ac) > PF_AC_MAX_BYTES) {
        /* Long literals to the q-gram filter; short ones, if few, to the SIMD scanner (the
         * filter would need extra passes over the text for them). */
        uint32_t nshort = 0;
        rule_ac_free(t->ac);
        t->ac = NULL;
        for (uint32_t i = 0; i < t->nlits; i++) {
            nshort += pf->atoms[t->lits[i]].len < 8;
        }
        if (nshort > 0 && nshort <= RULE_TEDDY_MAX) {
            t->teddy = rule_teddy_new();
        }
        t->gram = rule_gram_new();
        for (uint32_t i = 0; i < t->nlits; i++) {
            const struct pf_atom *a = &pf->atoms[t->lits[i]];
            if (t->teddy != NULL && a->len < 8) {
                rule_teddy_add(t->teddy, a->s, a->len, t->lits[i]);
            } else {
                rule_gram_add(t->gram, a->s, a->len, t->lits[i]);
            }
        }
        if (t->teddy != NULL) {
            rule_teddy_build(t->teddy);
        }
        rule_gram_build(t->gram);
    }
    free(t->lits);
    t->lits = NULL;
    t->nlits = 0;
}

static void
pf_target_scan(struct rule_prefilter *pf, const struct pf_target *t, const char *s, size_t len)
{
    if (t->teddy != NULL) {
        rule_teddy_scan(t->teddy, s, len, pf_hit, pf);
    }
    if (t->ac != NULL) {
        rule_ac_scan(t->ac, s, len, pf_hit, pf);
    }
    if (t->gram != NULL) {
        rule_gram_scan(t->gram, s, len, pf_hit, pf);
    }
}

/* Index atom a: add it to the automaton of its field, or to the equality table. */
static void
pf_index_atom(struct rule_prefilter *pf, uint32_t id)
{
    struct pf_atom *a = &pf->atoms[id];

    if (a->indexed) {
        return;
    }
    a->indexed = 1;
    if (a->kind == PF_LIT && a->f.name == NULL) {
        a->where = pf_target_index(pf, F_MESSAGE, (uint32_t)strlen(F_MESSAGE));
        pf->msg_target = a->where;
        pf->kw_fallback = pf_target_index(pf, NULL, 0);
        pf_target_add(&pf->targets[a->where], id);
        pf_target_add(&pf->targets[pf->kw_fallback], id);
    } else if (a->kind == PF_LIT) {
        a->where = pf_target_index(pf, a->f.name, a->f.len);
        if (pf_field_eq(&pf->targets[a->where].f, F_MESSAGE, (uint32_t)strlen(F_MESSAGE))) {
            pf->msg_target = a->where;
        }
        pf_target_add(&pf->targets[a->where], id);
    } else {
        struct pf_eqfield *q;
        a->where = pf_eqfield_index(pf, a->f.name, a->f.len);
        q = &pf->eqf[a->where];
        if (a->kind == PF_NUM) {
            q->has_num = 1;
        } else if (a->len > q->maxlen) {
            q->maxlen = a->len;
        }
    }
}

static int
pf_u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/*
 * Decide which atoms to index: every EQ/NUM atom, and every literal, except that a field
 * whose primary literals fit the SIMD scanner while all its literals would not, or whose
 * primary literals are at most RULE_TEDDY_FEW, keeps only the primary ones (the others are
 * not checked).
 */
static void
pf_index_policy(struct rule_prefilter *pf, const uint32_t *catoms, uint32_t ndet)
{
    uint8_t *primary = xcalloc(pf->natoms > 0 ? pf->natoms : 1, 1);
    uint32_t *group, *glen = NULL, *nall = NULL, *nprim = NULL, ngroups = 0;
    const char **gname = NULL;

    for (uint32_t r = 0; r < ndet; r++) {
        uint32_t c = pf->rule_coff[r];
        if (c == pf->rule_coff[r + 1]) {
            continue;
        }
        for (uint32_t k = pf->clause_off[c]; k < pf->clause_off[c + 1]; k++) {
            primary[catoms[k]] = 1;
        }
    }
    /* Literal counts per field (keywords count as `message`, where they are scanned). */
    group = xcalloc(pf->natoms > 0 ? pf->natoms : 1, sizeof(*group));
    for (uint32_t a = 0; a < pf->natoms; a++) {
        const struct pf_atom *at = &pf->atoms[a];
        const char *name = at->f.name != NULL ? at->f.name : F_MESSAGE;
        uint32_t len = at->f.name != NULL ? at->f.len : (uint32_t)strlen(F_MESSAGE);
        uint32_t g = 0;
        if (at->kind != PF_LIT) {
            continue;
        }
        while (g < ngroups && !(glen[g] == len && memcmp(gname[g], name, len) == 0)) {
            g++;
        }
        if (g == ngroups) {
            gname = xreallocarray(gname, ngroups + 1, sizeof(*gname));
            glen = xreallocarray(glen, ngroups + 1, sizeof(*glen));
            nall = xreallocarray(nall, ngroups + 1, sizeof(*nall));
            nprim = xreallocarray(nprim, ngroups + 1, sizeof(*nprim));
            gname[g] = name;
            glen[g] = len;
            nall[g] = nprim[g] = 0;
            ngroups++;
        }
        group[a] = g;
        nall[g]++;
        nprim[g] += primary[a];
    }
    for (uint32_t a = 0; a < pf->natoms; a++) {
        uint32_t g = group[a];
        if (pf->atoms[a].kind != PF_LIT || primary[a] ||
            !((nprim[g] <= RULE_TEDDY_FEW && nall[g] > nprim[g]) ||
              (nprim[g] <= RULE_TEDDY_MAX && nall[g] > RULE_TEDDY_MAX))) {
            pf_index_atom(pf, a);
        }
    }
    free(group);
    free(gname);
    free(glen);
    free(nall);
    free(nprim);
    free(primary);
}

/* Make clause b the first of its rule by rotating the atoms of clauses a..b (a <= b). */
static void
pf_clause_swap(struct rule_prefilter *pf, uint32_t *catoms, uint32_t a, uint32_t b)
{
    uint32_t start, mid, end, nb, n;
    uint32_t *tmp;

    if (a == b) {
        return;
    }
    start = pf->clause_off[a];
    mid = pf->clause_off[b];
    end = pf->clause_off[b + 1];
    nb = end - mid;
    n = end - start;
    tmp = xmalloc(n * sizeof(*tmp));
    memcpy(tmp, catoms + mid, nb * sizeof(*tmp));
    memcpy(tmp + nb, catoms + start, (mid - start) * sizeof(*tmp));
    memcpy(catoms + start, tmp, n * sizeof(*tmp));
    free(tmp);
    /* Clause boundaries a+1..b shift by nb (clause b now sits at a). */
    {
        uint32_t *lens = xmalloc((b - a + 1) * sizeof(*lens));
        lens[0] = nb;
        for (uint32_t c = a; c < b; c++) {
            lens[c - a + 1] = pf->clause_off[c + 1] - pf->clause_off[c];
        }
        for (uint32_t c = a; c <= b; c++) {
            pf->clause_off[c + 1] = pf->clause_off[c] + lens[c - a];
        }
        free(lens);
    }
}

/*
 * Build the prefilter for detection rules det[0..ndet) (in rule order). The rules must
 * outlive it. engine is RULE_SCAN_AUTO but for tests, which force one scanner where it can
 * be used. Returns a prefilter the caller frees with rule_prefilter_free().
 */
struct rule_prefilter *
rule_prefilter_build(struct rule **det, uint32_t ndet, enum rule_scan engine)
{
    struct rule_prefilter *pf = xcalloc(1, sizeof(*pf));
    struct pf_atab tab;
    uint32_t *catoms = NULL, ncatoms = 0, eqcount = 0, npost = 0;
    uint32_t one = ndet > 0 ? ndet : 1;

    pf->ndet = ndet;
    pf->engine = engine;
    pf->msg_target = -1;
    pf->kw_fallback = -1;
    pf->rule_coff = xcalloc((size_t)ndet + 1, sizeof(*pf->rule_coff));
    pf->always = xcalloc(one, sizeof(*pf->always));
    pf->clause_off = xcalloc(1, sizeof(*pf->clause_off));
    tab.mask = 63;
    tab.slot = xmalloc(64 * sizeof(*tab.slot));
    memset(tab.slot, 0xff, 64 * sizeof(*tab.slot));

    for (uint32_t r = 0; r < ndet; r++) {
        struct pf_cnf f = pf_cond_cnf(det[r]->det, det[r]->det->cond);
        uint32_t keep = 0, first = ncatoms;

        if (f.n > 1) {
            qsort(f.c, f.n, sizeof(*f.c), pf_clause_cmp);
        }
        for (uint32_t i = 0; i < f.n && keep < RULE_MAX_CLAUSES; i++, keep++) {
            for (uint32_t k = 0; k < f.c[i].n; k++) {
                uint32_t id = pf_atom_id(pf, &tab, &f.c[i].a[k]);
                int seen = 0;
                for (uint32_t j = first; j < ncatoms && !seen; j++) {
                    seen = catoms[j] == id;
                }
                pf->atoms[id].nrules += !seen;
                catoms = xreallocarray(catoms, ncatoms + 1, sizeof(*catoms));
                catoms[ncatoms++] = id;
            }
            pf->nclauses++;
            pf->clause_off = xreallocarray(pf->clause_off, pf->nclauses + 1,
                                           sizeof(*pf->clause_off));
            pf->clause_off[pf->nclauses] = ncatoms;
        }
        pf_cnf_free(&f);
        pf->rule_coff[r + 1] = pf->nclauses;
        if (keep == 0) {
            pf->always[pf->nalways++] = r;
        }
    }
    free(tab.slot);
    pf->clause_atoms = catoms;

    /* Primary clause of each rule: the least shared (moved first); then postings. */
    for (uint32_t r = 0; r < ndet; r++) {
        uint32_t c0 = pf->rule_coff[r], best = c0;
        uint64_t best_share = UINT64_MAX;
        for (uint32_t c = c0; c < pf->rule_coff[r + 1]; c++) {
            uint64_t share = 0;
            for (uint32_t k = pf->clause_off[c]; k < pf->clause_off[c + 1]; k++) {
                share += pf->atoms[catoms[k]].nrules;
            }
            if (share < best_share) {
                best_share = share;
                best = c;
            }
        }
        pf_clause_swap(pf, catoms, c0, best);
    }
    pf_index_policy(pf, catoms, ndet);
    pf->clause_skip = xcalloc(pf->nclauses > 0 ? pf->nclauses : 1, 1);
    for (uint32_t c = 0; c < pf->nclauses; c++) {
        for (uint32_t k = pf->clause_off[c]; k < pf->clause_off[c + 1]; k++) {
            pf->clause_skip[c] |= !pf->atoms[catoms[k]].indexed;
        }
    }
    pf->post_off = xcalloc((size_t)pf->natoms + 1, sizeof(*pf->post_off));
    for (uint32_t r = 0; r < ndet; r++) {
        uint32_t c = pf->rule_coff[r];
        if (c == pf->rule_coff[r + 1]) {
            continue;
        }
        for (uint32_t k = pf->clause_off[c]; k < pf->clause_off[c + 1]; k++) {
            pf->post_off[catoms[k] + 1]++;
        }
    }
    for (uint32_t a = 0; a < pf->natoms; a++) {
        pf->post_off[a + 1] += pf->post_off[a];
    }
    npost = pf->post_off[pf->natoms];
    pf->post = xcalloc(npost > 0 ? npost : 1, sizeof(*pf->post));
    {
        uint32_t *fill = xcalloc(pf->natoms > 0 ? pf->natoms : 1, sizeof(*fill));
        for (uint32_t r = 0; r < ndet; r++) {
            uint32_t c = pf->rule_coff[r];
            if (c == pf->rule_coff[r + 1]) {
                continue;
            }
            for (uint32_t k = pf->clause_off[c]; k < pf->clause_off[c + 1]; k++) {
                pf->post[pf->post_off[catoms[k]] + fill[catoms[k]]++] = r;
            }
        }
        free(fill);
    }

    /* Automata and the equality table. */
    for (uint32_t t = 0; t < pf->ntargets; t++) {
        pf_target_build(pf, &pf->targets[t]);
    }
    for (uint32_t a = 0; a < pf->natoms; a++) {
        eqcount += pf->atoms[a].kind != PF_LIT;
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
    pf->rule_stamp = xcalloc(one, sizeof(*pf->rule_stamp));
    pf->hits = xcalloc(one, sizeof(*pf->hits));
    pf->out = xcalloc(one, sizeof(*pf->out));
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
        rule_gram_free(pf->targets[t].gram);
        rule_teddy_free(pf->targets[t].teddy);
        free(pf->targets[t].lits);
    }
    free(pf->targets);
    for (uint32_t e = 0; e < pf->neqf; e++) {
        free(pf->eqf[e].f.name);
    }
    free(pf->eqf);
    free(pf->eqtab);
    for (uint32_t a = 0; a < pf->natoms; a++) {
        free(pf->atoms[a].f.name);
        free(pf->atoms[a].s);
    }
    free(pf->atoms);
    free(pf->post_off);
    free(pf->post);
    free(pf->clause_off);
    free(pf->clause_atoms);
    free(pf->rule_coff);
    free(pf->clause_skip);
    free(pf->always);
    free(pf->atom_stamp);
    free(pf->rule_stamp);
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
        uint32_t r = pf->post[k];
        if (pf->rule_stamp[r] != epoch) {
            pf->rule_stamp[r] = epoch;
            pf->hits[pf->nhits++] = r;
        }
    }
}

static void
pf_eq_lookup(struct rule_prefilter *pf, uint32_t where, enum pf_akind kind, const char *s,
             size_t len)
{
    uint32_t h = pf_eq_hash(where, kind, s, len);

    for (uint32_t i = h & pf->eqmask; pf->eqtab[i].atom != UINT32_MAX; i = (i + 1) & pf->eqmask) {
        const struct pf_atom *a = &pf->atoms[pf->eqtab[i].atom];
        if (pf->eqtab[i].hash == h && a->kind == kind && a->where == (int32_t)where &&
            a->len == len && memcmp(a->s, s, len) == 0) {
            pf_hit(pf, pf->eqtab[i].atom);
        }
    }
}

static void
pf_collect(struct rule_prefilter *pf, const struct event *ev)
{
    int have_message = 0;

    if (++pf->epoch == 0) {
        memset(pf->atom_stamp, 0, (pf->natoms > 0 ? pf->natoms : 1) * sizeof(uint32_t));
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
        have_message |= f != NULL && (int32_t)t == pf->msg_target;
        for (; f != NULL; f = event_find_next(ev, f)) {
            pf_target_scan(pf, tg, f->value, f->value_len);
        }
    }
    if (pf->kw_fallback >= 0 && !have_message) {
        const struct event_field *f = rule_match_keyword_field(ev);
        for (; f != NULL; f = event_find_next(ev, f)) {
            pf_target_scan(pf, &pf->targets[pf->kw_fallback], f->value, f->value_len);
        }
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

/* Was some atom of clause c found in this event (or is the clause not checked)? */
static int
pf_clause_holds(const struct rule_prefilter *pf, uint32_t c)
{
    if (pf->clause_skip[c]) {
        return 1;
    }
    for (uint32_t k = pf->clause_off[c]; k < pf->clause_off[c + 1]; k++) {
        if (pf->atom_stamp[pf->clause_atoms[k]] == pf->epoch) {
            return 1;
        }
    }
    return 0;
}

/*
 * The detection rules (indexes into the det array, ascending) that may match ev. The array
 * belongs to the prefilter and is valid until the next call. Single-threaded.
 */
const uint32_t *
rule_prefilter_run(struct rule_prefilter *pf, const struct event *ev, uint32_t *n)
{
    uint32_t i = 0, j = 0, k = 0, nh = 0;

    if (pf->nalways == pf->ndet) {
        *n = pf->nalways;
        return pf->always;
    }
    pf_collect(pf, ev);
    for (uint32_t h = 0; h < pf->nhits; h++) {
        uint32_t r = pf->hits[h], c;
        for (c = pf->rule_coff[r] + 1; c < pf->rule_coff[r + 1]; c++) {
            if (!pf_clause_holds(pf, c)) {
                break;
            }
        }
        if (c == pf->rule_coff[r + 1]) {
            pf->hits[nh++] = r;
        }
    }
    pf->nhits = nh;
    if (nh > 1) {
        if (nh <= 16) {
            for (uint32_t a = 1; a < nh; a++) {
                uint32_t x = pf->hits[a], b = a;
                while (b > 0 && pf->hits[b - 1] > x) {
                    pf->hits[b] = pf->hits[b - 1];
                    b--;
                }
                pf->hits[b] = x;
            }
        } else {
            qsort(pf->hits, nh, sizeof(*pf->hits), pf_u32_cmp);
        }
    }
    if (pf->nalways == 0) {
        *n = nh;
        return pf->hits;
    }
    while (i < nh || j < pf->nalways) {
        if (j >= pf->nalways || (i < nh && pf->hits[i] < pf->always[j])) {
            pf->out[k++] = pf->hits[i++];
        } else {
            pf->out[k++] = pf->always[j++];
        }
    }
    *n = k;
    return pf->out;
}

static void
pf_print_atom(const struct pf_atom *a, FILE *out)
{
    const char *field = a->f.name != NULL ? a->f.name : "keywords (message)";

    if (a->kind == PF_LIT) {
        fprintf(out, "'%s' in %s", a->s, field);
    } else {
        fprintf(out, "%s == '%s'", field, a->s);
    }
}

/*
 * Explain the prefilter's decision for detection rule i on ev: print the clauses of which
 * no atom holds. Returns 1 if the rule is a candidate, 0 if it is skipped.
 */
int
rule_prefilter_explain(struct rule_prefilter *pf, uint32_t i, const struct event *ev, FILE *out)
{
    int missing = 0;

    if (pf->rule_coff[i] == pf->rule_coff[i + 1]) {
        fprintf(out, "      prefilter: no required literal, always evaluated\n");
        return 1;
    }
    pf_collect(pf, ev);
    for (uint32_t c = pf->rule_coff[i]; c < pf->rule_coff[i + 1]; c++) {
        int holds = c == pf->rule_coff[i] ? pf->rule_stamp[i] == pf->epoch
                                          : pf_clause_holds(pf, c);
        if (holds) {
            continue;
        }
        fprintf(out, "      prefilter: skipped, none of: ");
        for (uint32_t k = pf->clause_off[c]; k < pf->clause_off[c + 1]; k++) {
            if (k > pf->clause_off[c]) {
                fprintf(out, ", ");
            }
            pf_print_atom(&pf->atoms[pf->clause_atoms[k]], out);
        }
        fprintf(out, "\n");
        missing = 1;
    }
    if (!missing) {
        fprintf(out, "      prefilter: candidate (required literals present)\n");
    }
    return !missing;
}
