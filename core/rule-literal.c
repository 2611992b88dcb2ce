/*
 * Required literals of a regular expression, for the prefilter: a set of strings such that
 * every match of the pattern contains at least one of them (compared ASCII-case-
 * insensitively, so they are returned lowercased). The parser is deliberately conservative:
 * anything it does not fully understand (\Q, \x, backreferences, conditionals, verbs,
 * (?x), ambiguous braces) makes it give up, which only costs speed, never a match.
 *
 * The pattern has already been compiled by PCRE2, so it is valid; patterns are compiled in
 * byte mode (no UTF unless the pattern starts with a (*...) verb, where we give up), so
 * caseless matching folds ASCII only, like the prefilter.
 */
#include <stdlib.h>
#include <string.h>

#include "rule-int.h"
#include "xmalloc.h"

#define RL_MAX_DEPTH 64
#define RL_MAX_SET 32
#define RL_MAX_EXACT 256

struct rl_buf {
    char *s;
    size_t n;
    size_t cap;
};

struct rl_res {
    int exact;          /* the sub-pattern matches exactly ex and nothing else */
    struct rl_buf ex;
    struct rule_litset req; /* every match contains one of these (n == 0: unknown) */
};

struct rl_parser {
    const char *p;
    const char *end;
    int fail;
    int depth;
    int top_alt;              /* the pattern has a top-level '|' */
    struct rule_litset *cands; /* every requirement of the top-level sequence */
    size_t ncands;
};

enum rl_kind { RL_EXACT, RL_EXACT_BREAK, RL_ZW, RL_OTHER };

static void
rl_buf_add(struct rl_buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

/* Release a literal set (the struct itself is the caller's). */
void
rule_litset_free(struct rule_litset *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        free(ls->lits[i]);
    }
    free(ls->lits);
    free(ls->lens);
    memset(ls, 0, sizeof(*ls));
}

static void
rl_set_add(struct rule_litset *ls, const char *s, size_t n)
{
    char *c = xmalloc(n + 1);

    for (size_t i = 0; i < n; i++) {
        c[i] = (char)rule_value_lower[(unsigned char)s[i]];
    }
    c[n] = '\0';
    ls->lits = xreallocarray(ls->lits, ls->n + 1, sizeof(*ls->lits));
    ls->lens = xreallocarray(ls->lens, ls->n + 1, sizeof(*ls->lens));
    ls->lits[ls->n] = c;
    ls->lens[ls->n++] = n;
}

/* Higher is more selective: the shortest literal counts, then fewer alternatives. */
static long
rl_set_score(const struct rule_litset *ls)
{
    size_t min = SIZE_MAX;

    if (ls->n == 0) {
        return -1;
    }
    for (size_t i = 0; i < ls->n; i++) {
        if (ls->lens[i] < min) {
            min = ls->lens[i];
        }
    }
    if (min > 64) {
        min = 64;
    }
    return (long)min * 64 - (long)(ls->n > 63 ? 63 : ls->n);
}

/* Keep the better of *best and *cand in *best; cand is consumed. */
static void
rl_set_take_better(struct rule_litset *best, struct rule_litset *cand)
{
    if (rl_set_score(cand) > rl_set_score(best)) {
        struct rule_litset t = *best;
        *best = *cand;
        *cand = t;
    }
    rule_litset_free(cand);
}

static void
rl_res_free(struct rl_res *r)
{
    free(r->ex.s);
    rule_litset_free(&r->req);
    memset(r, 0, sizeof(*r));
}

static struct rl_res rl_alt(struct rl_parser *P);

/* Skip a character class; P->p is at '['. */
static void
rl_class(struct rl_parser *P)
{
    const char *p = P->p + 1;

    if (p < P->end && *p == '^') {
        p++;
    }
    if (p < P->end && *p == ']') {
        p++;
    }
    while (p < P->end && *p != ']') {
        if (*p == '\\') {
            if (p + 1 < P->end && (p[1] == 'Q' || p[1] == 'E')) {
                P->fail = 1;
                return;
            }
            p += 2;
        } else if (*p == '[' && p + 1 < P->end && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
            char close = p[1];
            p += 2;
            while (p + 1 < P->end && !(p[0] == close && p[1] == ']')) {
                p++;
            }
            p += 2;
        } else {
            p++;
        }
    }
    if (p >= P->end) {
        P->fail = 1;
        return;
    }
    P->p = p + 1;
}

/* Parse "{n}", "{n,}", "{n,m}" at P->p; returns 0 and min/max (max -1: unbounded). */
static int
rl_braces(struct rl_parser *P, long *min, long *max)
{
    const char *p = P->p + 1;
    long a = 0, b;
    int digits = 0;

    while (p < P->end && *p >= '0' && *p <= '9' && a < 100000) {
        a = a * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || p >= P->end) {
        return -1;
    }
    if (*p == '}') {
        *min = *max = a;
        P->p = p + 1;
        return 0;
    }
    if (*p != ',') {
        return -1;
    }
    p++;
    b = 0;
    digits = 0;
    while (p < P->end && *p >= '0' && *p <= '9' && b < 100000) {
        b = b * 10 + (*p++ - '0');
        digits++;
    }
    if (p >= P->end || *p != '}') {
        return -1;
    }
    *min = a;
    *max = digits ? b : -1;
    P->p = p + 1;
    return 0;
}

/* The group at P->p ('('); fills r and returns the item kind. */
static enum rl_kind
rl_group(struct rl_parser *P, struct rl_res *r)
{
    const char *p = P->p + 1;
    int zero_width = 0;
    struct rl_res inner;

    if (p >= P->end || *p == '*') {
        P->fail = 1; /* (*VERB) */
        return RL_OTHER;
    }
    if (*p == '?') {
        p++;
        if (p >= P->end) {
            P->fail = 1;
            return RL_OTHER;
        }
        if (*p == ':' || *p == '|' || *p == '>') {
            p++;
        } else if (*p == '=' || *p == '!') {
            p++;
            zero_width = 1;
        } else if (*p == '<' && p + 1 < P->end && (p[1] == '=' || p[1] == '!')) {
            p += 2;
            zero_width = 1;
        } else if (*p == '<' || *p == '\'' || (*p == 'P' && p + 1 < P->end && p[1] == '<')) {
            char close = *p == '\'' ? '\'' : '>';
            p += *p == 'P' ? 2 : 1;
            while (p < P->end && *p != close) {
                p++;
            }
            if (p >= P->end) {
                P->fail = 1;
                return RL_OTHER;
            }
            p++;
        } else if (*p == '#') {
            while (p < P->end && *p != ')') {
                p++;
            }
            if (p >= P->end) {
                P->fail = 1;
                return RL_OTHER;
            }
            P->p = p + 1;
            return RL_ZW;
        } else {
            /* Option letters: (?i) (?-s) (?i:...); anything else we do not try. */
            const char *q = p;
            while (q < P->end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                                  *q == '-' || *q == '^')) {
                if (*q == 'x') {
                    P->fail = 1;
                    return RL_OTHER;
                }
                q++;
            }
            if (q == p || q >= P->end || (*q != ')' && *q != ':')) {
                P->fail = 1;
                return RL_OTHER;
            }
            if (*q == ')') {
                P->p = q + 1;
                return RL_ZW;
            }
            p = q + 1;
        }
    }
    P->p = p;
    inner = rl_alt(P);
    if (P->fail || P->p >= P->end || *P->p != ')') {
        rl_res_free(&inner);
        P->fail = 1;
        return RL_OTHER;
    }
    P->p++;
    if (zero_width) {
        rl_res_free(&inner);
        return RL_ZW;
    }
    *r = inner;
    return r->exact ? RL_EXACT : RL_OTHER;
}

/* One atom and its quantifier; r receives its exact string or requirement. */
static enum rl_kind
rl_item(struct rl_parser *P, struct rl_res *r)
{
    enum rl_kind kind = RL_OTHER;
    char c = *P->p;
    long min = 1, max = 1;

    memset(r, 0, sizeof(*r));
    switch (c) {
    case '(':
        kind = rl_group(P, r);
        break;
    case '[':
        rl_class(P);
        break;
    case '.':
        P->p++;
        break;
    case '^':
    case '$':
        P->p++;
        kind = RL_ZW;
        break;
    case '*':
    case '+':
    case '?':
    case '{':
        P->fail = 1;
        break;
    case '\\': {
        char e;
        if (P->p + 1 >= P->end) {
            P->fail = 1;
            break;
        }
        e = P->p[1];
        P->p += 2;
        if (!((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))) {
            r->exact = 1;
            rl_buf_add(&r->ex, &e, 1);
            kind = RL_EXACT;
            break;
        }
        switch (e) {
        case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
        case 'h': case 'H': case 'v': case 'V': case 'R': case 'X':
            break;
        case 'b': case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
            kind = RL_ZW;
            break;
        case 't': case 'n': case 'r': case 'f': case 'e': case 'a': {
            char lit = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r'
                     : e == 'f' ? '\f' : e == 'e' ? '\033' : '\a';
            r->exact = 1;
            rl_buf_add(&r->ex, &lit, 1);
            kind = RL_EXACT;
            break;
        }
        default:
            P->fail = 1;
            break;
        }
        break;
    }
    default:
        r->exact = 1;
        rl_buf_add(&r->ex, &c, 1);
        P->p++;
        kind = RL_EXACT;
        break;
    }
    if (P->fail) {
        return RL_OTHER;
    }

    /* Quantifier. */
    if (P->p < P->end) {
        int quant = 1;
        if (*P->p == '?') {
            min = 0;
            max = 1;
            P->p++;
        } else if (*P->p == '*') {
            min = 0;
            max = -1;
            P->p++;
        } else if (*P->p == '+') {
            min = 1;
            max = -1;
            P->p++;
        } else if (*P->p == '{') {
            if (rl_braces(P, &min, &max) < 0) {
                P->fail = 1;
                return RL_OTHER;
            }
        } else {
            quant = 0;
        }
        if (quant && P->p < P->end && (*P->p == '?' || *P->p == '+')) {
            P->p++; /* lazy or possessive */
        }
        if (quant && P->p < P->end && (*P->p == '*' || *P->p == '+' || *P->p == '?' ||
                                       *P->p == '{')) {
            P->fail = 1;
            return RL_OTHER;
        }
    }
    if (kind == RL_ZW) {
        return RL_ZW;
    }
    if (min == 0) {
        rl_res_free(r);
        return RL_OTHER;
    }
    if (kind == RL_EXACT && !(min == 1 && max == 1)) {
        if (min == max && r->ex.n * (size_t)min <= RL_MAX_EXACT) {
            struct rl_buf rep = {0};
            for (long i = 0; i < min; i++) {
                rl_buf_add(&rep, r->ex.s, r->ex.n);
            }
            free(r->ex.s);
            r->ex = rep;
            return RL_EXACT;
        }
        /* x+ or x{2,}: one x is there for sure, then something else. */
        return RL_EXACT_BREAK;
    }
    return kind;
}

/* Offer cand as the requirement of a sequence; at the top level, also keep a copy. */
static void
rl_offer(struct rl_parser *P, struct rule_litset *best, struct rule_litset *cand)
{
    if (P->depth == 1 && cand->n > 0) {
        struct rule_litset *c;
        P->cands = xreallocarray(P->cands, P->ncands + 1, sizeof(*P->cands));
        c = &P->cands[P->ncands++];
        memset(c, 0, sizeof(*c));
        for (size_t i = 0; i < cand->n; i++) {
            rl_set_add(c, cand->lits[i], cand->lens[i]);
        }
    }
    rl_set_take_better(best, cand);
}

static void
rl_close_run(struct rl_parser *P, struct rl_buf *run, struct rule_litset *best)
{
    if (run->n > 0) {
        struct rule_litset cand = {0};
        rl_set_add(&cand, run->s, run->n);
        rl_offer(P, best, &cand);
        run->n = 0;
    }
}

/* A concatenation, up to '|' or ')' or the end. */
static struct rl_res
rl_seq(struct rl_parser *P)
{
    struct rl_res res = {.exact = 1};
    struct rl_buf run = {0};

    rl_buf_add(&run, "", 0);
    while (!P->fail && P->p < P->end && *P->p != '|' && *P->p != ')') {
        struct rl_res it;
        enum rl_kind kind = rl_item(P, &it);

        if (P->fail) {
            rl_res_free(&it);
            break;
        }
        switch (kind) {
        case RL_EXACT:
            rl_buf_add(&run, it.ex.s, it.ex.n);
            break;
        case RL_EXACT_BREAK:
            rl_buf_add(&run, it.ex.s, it.ex.n);
            rl_close_run(P, &run, &res.req);
            res.exact = 0;
            break;
        case RL_ZW:
            rl_close_run(P, &run, &res.req);
            res.exact = 0;
            break;
        case RL_OTHER:
            rl_close_run(P, &run, &res.req);
            res.exact = 0;
            rl_offer(P, &res.req, &it.req);
            break;
        }
        rl_res_free(&it);
    }
    if (res.exact) {
        rl_buf_add(&res.ex, run.s, run.n);
    }
    rl_close_run(P, &run, &res.req);
    free(run.s);
    return res;
}

/* Alternatives separated by '|', up to ')' or the end. */
static struct rl_res
rl_alt(struct rl_parser *P)
{
    struct rl_res first, res = {0};
    int none = 0;

    if (++P->depth > RL_MAX_DEPTH) {
        P->fail = 1;
        return res;
    }
    first = rl_seq(P);
    if (P->fail || P->p >= P->end || *P->p != '|') {
        P->depth--;
        return first;
    }
    if (P->depth == 1) {
        P->top_alt = 1;
    }
    none = first.req.n == 0;
    res.req = first.req;
    memset(&first.req, 0, sizeof(first.req));
    rl_res_free(&first);
    while (!P->fail && P->p < P->end && *P->p == '|') {
        struct rl_res b;
        P->p++;
        b = rl_seq(P);
        if (b.req.n == 0) {
            none = 1;
        }
        for (size_t i = 0; !none && i < b.req.n; i++) {
            rl_set_add(&res.req, b.req.lits[i], b.req.lens[i]);
        }
        rl_res_free(&b);
    }
    if (none || res.req.n > RL_MAX_SET) {
        rule_litset_free(&res.req);
    }
    P->depth--;
    return res;
}

/* Release a literal CNF (the struct itself is the caller's). */
void
rule_litcnf_free(struct rule_litcnf *cnf)
{
    for (size_t i = 0; i < cnf->n; i++) {
        rule_litset_free(&cnf->sets[i]);
    }
    free(cnf->sets);
    memset(cnf, 0, sizeof(*cnf));
}

/*
 * Find the literals that every match of the regex pat[0..len) contains: out->sets[i] are
 * alternatives (a match contains one literal of each set, for every i). Several sets come
 * from a pattern that is one sequence ("a.*b": {a}, {b}); the most selective set is first.
 * out->n == 0 when nothing is known. Caller frees out with rule_litcnf_free(). Returns 0.
 */
int
rule_literal_extract(const char *pat, size_t len, struct rule_litcnf *out)
{
    struct rl_parser P = {.p = pat, .end = pat + len};
    struct rl_res r;

    memset(out, 0, sizeof(*out));
    r = rl_alt(&P);
    if (!P.fail && P.p == P.end && r.req.n > 0) {
        out->sets = xcalloc(P.top_alt ? 1 : P.ncands + 1, sizeof(*out->sets));
        out->sets[out->n++] = r.req; /* the best one first */
        memset(&r.req, 0, sizeof(r.req));
        for (size_t i = 0; !P.top_alt && i < P.ncands; i++) {
            int same = P.cands[i].n == out->sets[0].n;
            for (size_t k = 0; same && k < P.cands[i].n; k++) {
                same = strcmp(P.cands[i].lits[k], out->sets[0].lits[k]) == 0;
            }
            if (!same) {
                out->sets[out->n++] = P.cands[i];
                memset(&P.cands[i], 0, sizeof(P.cands[i]));
            }
        }
    }
    for (size_t i = 0; i < P.ncands; i++) {
        rule_litset_free(&P.cands[i]);
    }
    free(P.cands);
    rl_res_free(&r);
    return 0;
}
