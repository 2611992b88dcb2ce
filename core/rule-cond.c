/*
 * The condition of a detection rule: `and`, `or`, `not`, parentheses, `1 of PATTERN`,
 * `any of PATTERN`, `all of PATTERN` (PATTERN uses * wildcards, or is `them`: every
 * selection not starting with '_'). Precedence, loosest first: or, and, not, x of,
 * parentheses (as in Sigma). A list of conditions means any of them. Operators are
 * case-insensitive. Compiled into a tree of rule_cexpr over selection indexes.
 */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rule-int.h"
#include "xmalloc.h"

enum cond_ttype { COND_T_WORD, COND_T_LP, COND_T_RP, COND_T_END };

struct cond_tok {
    enum cond_ttype type;
    const char *s;
    size_t len;
    size_t off;
};

struct cond_parser {
    const char *file;
    const char *rule_id;
    const struct ynode *node;
    const struct rule_sel *sels;
    uint32_t nsels;
    struct errlist *errs;
    const char *text;
    size_t len;
    size_t pos;
    struct cond_tok tok; /* current token */
    int failed;
};

static void
cond_error(struct cond_parser *P, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cond_error(struct cond_parser *P, size_t off, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int col = P->node->col;

    if (P->failed) {
        return; /* one message per condition: later ones are consequences */
    }
    P->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (memchr(P->text, '\n', P->len) == NULL) {
        col += (P->node->plain ? 0 : 1) + (int)off;
    }
    errlist_add(P->errs, P->file, P->node->line, col, "rule %s: %s", P->rule_id, msg);
}

static void
cond_next(struct cond_parser *P)
{
    const char *t = P->text;
    size_t i = P->pos;

    while (i < P->len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) {
        i++;
    }
    P->tok.off = i;
    P->tok.s = t + i;
    if (i >= P->len) {
        P->tok.type = COND_T_END;
        P->tok.len = 0;
    } else if (t[i] == '(' || t[i] == ')') {
        P->tok.type = t[i] == '(' ? COND_T_LP : COND_T_RP;
        P->tok.len = 1;
        i++;
    } else {
        size_t start = i;
        while (i < P->len && t[i] != ' ' && t[i] != '\t' && t[i] != '\n' && t[i] != '\r' &&
               t[i] != '(' && t[i] != ')') {
            i++;
        }
        P->tok.type = COND_T_WORD;
        P->tok.len = i - start;
    }
    P->pos = i;
}

static int
cond_is(const struct cond_tok *tok, const char *word)
{
    return tok->type == COND_T_WORD && tok->len == strlen(word) &&
           strncasecmp(tok->s, word, tok->len) == 0;
}

static int
cond_is_keyword(const struct cond_tok *tok)
{
    return cond_is(tok, "and") || cond_is(tok, "or") || cond_is(tok, "not") ||
           cond_is(tok, "of");
}

static struct rule_cexpr *
cond_new(enum rule_cop op)
{
    struct rule_cexpr *e = xcalloc(1, sizeof(*e));

    e->op = op;
    return e;
}

static void
cond_add_kid(struct rule_cexpr *e, struct rule_cexpr *kid)
{
    e->kids = xreallocarray(e->kids, e->nkids + 1, sizeof(*e->kids));
    e->kids[e->nkids++] = kid;
}

/* Release a condition tree. */
void
rule_cond_free(struct rule_cexpr *e)
{
    if (e == NULL) {
        return;
    }
    for (uint32_t i = 0; i < e->nkids; i++) {
        rule_cond_free(e->kids[i]);
    }
    free(e->kids);
    free(e);
}

static void
cond_describe(const struct cond_tok *tok, char *buf, size_t len)
{
    if (tok->type == COND_T_END) {
        snprintf(buf, len, "end of condition");
    } else {
        snprintf(buf, len, "'%.*s'", (int)(tok->len > 64 ? 64 : tok->len), tok->s);
    }
}

static struct rule_cexpr *cond_or(struct cond_parser *P);

/* `1 of X` / `all of X`; the quantifier word is the current token. */
static struct rule_cexpr *
cond_of(struct cond_parser *P, int all)
{
    struct rule_cexpr *e;
    char what[80];
    char pat[256];
    int them;

    cond_next(P);
    if (!cond_is(&P->tok, "of")) {
        cond_describe(&P->tok, what, sizeof(what));
        cond_error(P, P->tok.off, "syntax error in condition: expected 'of', found %s", what);
        return NULL;
    }
    cond_next(P);
    if (P->tok.type != COND_T_WORD || cond_is_keyword(&P->tok)) {
        cond_describe(&P->tok, what, sizeof(what));
        cond_error(P, P->tok.off,
                   "syntax error in condition: expected a selection pattern or 'them' after "
                   "'of', found %s", what);
        return NULL;
    }
    if (P->tok.len >= sizeof(pat)) {
        cond_error(P, P->tok.off, "selection pattern too long in condition");
        return NULL;
    }
    memcpy(pat, P->tok.s, P->tok.len);
    pat[P->tok.len] = '\0';
    them = strcasecmp(pat, "them") == 0;
    e = cond_new(all ? RULE_C_AND : RULE_C_OR);
    for (uint32_t i = 0; i < P->nsels; i++) {
        int hit = them ? P->sels[i].name[0] != '_' : fnmatch(pat, P->sels[i].name, 0) == 0;
        if (hit) {
            struct rule_cexpr *s = cond_new(RULE_C_SEL);
            s->sel = i;
            cond_add_kid(e, s);
        }
    }
    if (e->nkids == 0) {
        cond_error(P, P->tok.off, "no selection matches '%s' in condition", pat);
        rule_cond_free(e);
        return NULL;
    }
    cond_next(P);
    return e;
}

static struct rule_cexpr *
cond_primary(struct cond_parser *P)
{
    char what[80];

    if (P->tok.type == COND_T_LP) {
        size_t open = P->tok.off;
        struct rule_cexpr *e;
        cond_next(P);
        e = cond_or(P);
        if (e == NULL) {
            return NULL;
        }
        if (P->tok.type != COND_T_RP) {
            cond_describe(&P->tok, what, sizeof(what));
            cond_error(P, P->tok.type == COND_T_END ? open : P->tok.off,
                       "syntax error in condition: missing ')' (found %s)", what);
            rule_cond_free(e);
            return NULL;
        }
        cond_next(P);
        return e;
    }
    if (cond_is(&P->tok, "1") || cond_is(&P->tok, "any")) {
        return cond_of(P, 0);
    }
    if (cond_is(&P->tok, "all")) {
        return cond_of(P, 1);
    }
    if (P->tok.type == COND_T_WORD && !cond_is_keyword(&P->tok)) {
        for (uint32_t i = 0; i < P->nsels; i++) {
            if (strlen(P->sels[i].name) == P->tok.len &&
                memcmp(P->sels[i].name, P->tok.s, P->tok.len) == 0) {
                struct rule_cexpr *e = cond_new(RULE_C_SEL);
                e->sel = i;
                cond_next(P);
                return e;
            }
        }
        cond_error(P, P->tok.off, "unknown selection '%.*s' in condition",
                   (int)(P->tok.len > 128 ? 128 : P->tok.len), P->tok.s);
        return NULL;
    }
    cond_describe(&P->tok, what, sizeof(what));
    cond_error(P, P->tok.off, "syntax error in condition: expected a selection, found %s", what);
    return NULL;
}

static struct rule_cexpr *
cond_not(struct cond_parser *P)
{
    if (cond_is(&P->tok, "not")) {
        struct rule_cexpr *e, *kid;
        cond_next(P);
        kid = cond_not(P);
        if (kid == NULL) {
            return NULL;
        }
        e = cond_new(RULE_C_NOT);
        cond_add_kid(e, kid);
        return e;
    }
    return cond_primary(P);
}

/* A chain of `sub op sub op ...` flattened into one node (or the single operand). */
static struct rule_cexpr *
cond_chain(struct cond_parser *P, const char *op, enum rule_cop cop,
           struct rule_cexpr *(*sub)(struct cond_parser *))
{
    struct rule_cexpr *first = sub(P), *e = NULL;

    if (first == NULL) {
        return NULL;
    }
    while (cond_is(&P->tok, op)) {
        struct rule_cexpr *next;
        cond_next(P);
        next = sub(P);
        if (next == NULL) {
            rule_cond_free(e != NULL ? e : first);
            return NULL;
        }
        if (e == NULL) {
            e = cond_new(cop);
            cond_add_kid(e, first);
        }
        cond_add_kid(e, next);
    }
    return e != NULL ? e : first;
}

static struct rule_cexpr *
cond_and(struct cond_parser *P)
{
    return cond_chain(P, "and", RULE_C_AND, cond_not);
}

static struct rule_cexpr *
cond_or(struct cond_parser *P)
{
    return cond_chain(P, "or", RULE_C_OR, cond_and);
}

static struct rule_cexpr *
cond_parse_one(struct cond_parser *P, const struct ynode *node)
{
    struct rule_cexpr *e;
    char what[80];

    P->node = node;
    P->text = node->str;
    P->len = node->len;
    P->pos = 0;
    P->failed = 0;
    cond_next(P);
    if (P->tok.type == COND_T_END) {
        cond_error(P, 0, "empty condition");
        return NULL;
    }
    e = cond_or(P);
    if (e != NULL && P->tok.type != COND_T_END) {
        cond_describe(&P->tok, what, sizeof(what));
        cond_error(P, P->tok.off, "syntax error in condition: unexpected %s", what);
        rule_cond_free(e);
        e = NULL;
    }
    return e;
}

/*
 * Compile the condition node (a string, or a list of strings meaning any of them) against
 * the selections sels[0..nsels). Errors go to errs as "FILE:LINE:COL: rule ID: ...", the
 * column pointing at the offending word. Returns a tree the caller frees with
 * rule_cond_free(), or NULL after reporting.
 */
struct rule_cexpr *
rule_cond_parse(const char *file, const char *rule_id, const struct ynode *node,
                const struct rule_sel *sels, uint32_t nsels, struct errlist *errs)
{
    struct cond_parser P = {
        .file = file, .rule_id = rule_id, .sels = sels, .nsels = nsels, .errs = errs,
    };
    struct rule_cexpr *e = NULL;
    int bad = 0;

    if (node->type == YNODE_SCALAR) {
        return cond_parse_one(&P, node);
    }
    if (node->type != YNODE_SEQ || node->n == 0) {
        errlist_add(errs, file, node->line, node->col,
                    "rule %s: 'condition' must be a string or a list of strings", rule_id);
        return NULL;
    }
    e = cond_new(RULE_C_OR);
    for (size_t i = 0; i < node->n; i++) {
        struct rule_cexpr *kid;
        if (node->items[i]->type != YNODE_SCALAR) {
            errlist_add(errs, file, node->items[i]->line, node->items[i]->col,
                        "rule %s: 'condition' must be a string or a list of strings", rule_id);
            bad = 1;
            continue;
        }
        kid = cond_parse_one(&P, node->items[i]);
        if (kid == NULL) {
            bad = 1;
            continue;
        }
        cond_add_kid(e, kid);
    }
    if (bad) {
        rule_cond_free(e);
        return NULL;
    }
    return e;
}

/* Write e with selection names, fully parenthesised, to out. */
void
rule_cond_print(const struct rule_cexpr *e, const struct rule_sel *sels, FILE *out)
{
    const char *op = e->op == RULE_C_AND ? " and " : " or ";

    switch (e->op) {
    case RULE_C_SEL:
        fputs(sels[e->sel].name, out);
        break;
    case RULE_C_NOT:
        fputs("not ", out);
        rule_cond_print(e->kids[0], sels, out);
        break;
    case RULE_C_AND:
    case RULE_C_OR:
        fputc('(', out);
        for (uint32_t i = 0; i < e->nkids; i++) {
            if (i > 0) {
                fputs(op, out);
            }
            rule_cond_print(e->kids[i], sels, out);
        }
        fputc(')', out);
        break;
    }
}
