/*
 * One YAML rule document -> struct rule: metadata (id, title, level, tags), the hash of its
 * definition, and for detection rules the compiled selections, condition and capture
 * mapping. Correlation documents are handed to corr_rule_compile(). Every problem of a
 * document is reported (not just the first), as "FILE:LINE:COL: rule ID: message".
 */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "corr.h"
#include "rule-int.h"
#include "xmalloc.h"

struct parse_ctx {
    const char *file;
    const char *label; /* rule id, or "(document N)" before the id is known */
    struct errlist *errs;
    int bad;
};

/* Top-level keys that document a rule and do not change what it does (not hashed). */
static const char *const parse_doc_keys[] = {
    "description", "author", "status", "references", "falsepositives", "date", "modified",
    "license", "related", "simulation", "regression_tests_path", NULL,
};
/* Further top-level keys accepted and ignored (Sigma metadata). */
static const char *const parse_other_keys[] = {
    "logsource", "name", "taxonomy", "scope", NULL,
};

static int
parse_in(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], s) == 0) {
            return 1;
        }
    }
    return 0;
}

static void perr_at(struct parse_ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
perr_at(struct parse_ctx *c, int line, int col, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errlist_add(c->errs, c->file, line, col, "rule %s: %s", c->label, msg);
    c->bad = 1;
}

#define perr(c, node, ...) perr_at((c), (node)->line, (node)->col, __VA_ARGS__)

/* Column of byte off of a scalar (exact for single-line plain and quoted scalars). */
static int
parse_col(const struct ynode *n, size_t off)
{
    if (strchr(n->str, '\n') != NULL) {
        return n->col;
    }
    return n->col + (n->plain ? 0 : 1) + (int)off;
}

/* ---- hash of the definition ---------------------------------------------------------- */

static void
parse_hash_node(EVP_MD_CTX *md, const struct ynode *n, int top)
{
    unsigned char hdr[10];
    uint64_t len = n->type == YNODE_SCALAR ? strlen(n->str) : n->n;

    for (size_t i = 0; top && n->type == YNODE_MAP && i < n->n; i++) {
        len -= parse_in(parse_doc_keys, n->keys[i]->str);
    }

    hdr[0] = n->type == YNODE_SCALAR ? 'S' : n->type == YNODE_SEQ ? 'L' : 'M';
    hdr[1] = (unsigned char)(n->type == YNODE_SCALAR && n->plain ? 'p' : 'q');
    for (int i = 0; i < 8; i++) {
        hdr[2 + i] = (unsigned char)(len >> (8 * i));
    }
    EVP_DigestUpdate(md, hdr, sizeof(hdr));
    if (n->type == YNODE_SCALAR) {
        EVP_DigestUpdate(md, n->str, (size_t)len);
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->type == YNODE_MAP) {
            if (top && parse_in(parse_doc_keys, n->keys[i]->str)) {
                continue;
            }
            parse_hash_node(md, n->keys[i], 0);
        }
        parse_hash_node(md, n->items[i], 0);
    }
}

/* rule->hash: SHA-256 over a canonical serialisation of the document, documentation keys
 * left out, first 8 bytes in hex. */
static void
parse_hash(const struct ynode *doc, char out[17])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        abort(); /* only on OOM */
    }
    parse_hash_node(md, doc, 1);
    EVP_DigestFinal_ex(md, dig, &dlen);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 8; i++) {
        snprintf(out + 2 * i, 3, "%02x", dig[i]);
    }
}

/* ---- values and tests ----------------------------------------------------------------- */

enum parse_mod {
    MOD_CONTAINS = 1 << 0,
    MOD_STARTSWITH = 1 << 1,
    MOD_ENDSWITH = 1 << 2,
    MOD_RE = 1 << 3,
    MOD_CIDR = 1 << 4,
    MOD_EXISTS = 1 << 5,
    MOD_LT = 1 << 6,
    MOD_LTE = 1 << 7,
    MOD_GT = 1 << 8,
    MOD_GTE = 1 << 9,
    MOD_CASED = 1 << 10,
    MOD_ALL = 1 << 11,
    MOD_NEQ = 1 << 12,
    MOD_I = 1 << 13,
    MOD_M = 1 << 14,
    MOD_S = 1 << 15,
};

#define MOD_KIND_MASK                                                                          \
    (MOD_CONTAINS | MOD_STARTSWITH | MOD_ENDSWITH | MOD_RE | MOD_CIDR | MOD_EXISTS | MOD_LT |  \
     MOD_LTE | MOD_GT | MOD_GTE)
#define MOD_NUM_MASK (MOD_LT | MOD_LTE | MOD_GT | MOD_GTE)

static const struct {
    const char *name;
    int mod;
} parse_mods[] = {
    {"contains", MOD_CONTAINS}, {"startswith", MOD_STARTSWITH}, {"endswith", MOD_ENDSWITH},
    {"re", MOD_RE},             {"cidr", MOD_CIDR},             {"exists", MOD_EXISTS},
    {"lt", MOD_LT},             {"lte", MOD_LTE},               {"gt", MOD_GT},
    {"gte", MOD_GTE},           {"cased", MOD_CASED},           {"all", MOD_ALL},
    {"neq", MOD_NEQ},           {"i", MOD_I},                   {"m", MOD_M},
    {"s", MOD_S},
};

/* Sigma modifiers kizuna knows of but does not implement. */
static const char *const parse_unsupported_mods[] = {
    "windash", "base64", "base64offset", "utf16", "utf16le", "utf16be", "wide", "expand",
    "fieldref", "minute", "hour", "day", "week", "month", "year", NULL,
};

static const char *
parse_mod_name(int mod)
{
    for (size_t i = 0; i < sizeof(parse_mods) / sizeof(parse_mods[0]); i++) {
        if (parse_mods[i].mod == mod) {
            return parse_mods[i].name;
        }
    }
    return "?";
}

/* Compile one value node v of test t. */
static void
parse_value(struct parse_ctx *c, struct rule_test *t, int mods, const struct ynode *n,
            struct rule_value *v)
{
    const char *s = n->str;
    size_t len = strlen(s);

    v->text = xstrdup(s);
    v->line = n->line;
    v->col = n->col;
    if (mods & MOD_RE) {
        char err[256];
        size_t off;
        uint32_t flags = 0;
        flags |= (mods & MOD_I) ? PCRE2_CASELESS : 0;
        flags |= (mods & MOD_M) ? PCRE2_MULTILINE : 0;
        flags |= (mods & MOD_S) ? PCRE2_DOTALL : 0;
        if (rule_regex_compile(v, s, len, flags, err, sizeof(err), &off) < 0) {
            perr_at(c, n->line, parse_col(n, off),
                    "invalid regular expression in '%s': %s at offset %zu", t->key, err, off);
        }
        return;
    }
    if (mods & MOD_CIDR) {
        v->kind = RULE_V_CIDR;
        if (rule_value_cidr_parse(s, len, v->net, &v->prefix) < 0) {
            perr(c, n, "invalid CIDR network '%s' in '%s'", s, t->key);
        }
        return;
    }
    if (mods & MOD_NUM_MASK) {
        v->kind = RULE_V_NUMCMP;
        v->cmp = (mods & MOD_LT) ? RULE_CMP_LT : (mods & MOD_LTE) ? RULE_CMP_LTE
                 : (mods & MOD_GT) ? RULE_CMP_GT : RULE_CMP_GTE;
        if (rule_value_num_parse(s, len, &v->num) < 0) {
            perr(c, n, "'%s' is not a number (in '%s')", s, t->key);
        }
        return;
    }
    if (t->field != NULL && n->plain && !(mods & (MOD_CONTAINS | MOD_STARTSWITH | MOD_ENDSWITH)) &&
        rule_value_num_key(s, len, v->numkey) == 0) {
        v->kind = RULE_V_NUMEQ;
        return;
    }
    if (t->field == NULL && !(mods & (MOD_STARTSWITH | MOD_ENDSWITH))) {
        mods |= MOD_CONTAINS; /* keywords are found anywhere in the message */
    }
    rule_value_glob_compile(v, s, len, t->cased, (mods & (MOD_CONTAINS | MOD_ENDSWITH)) != 0,
                            (mods & (MOD_CONTAINS | MOD_STARTSWITH)) != 0);
}

/* Split "field|mod|mod" and check the modifiers; returns the mask or -1. */
static int
parse_modifiers(struct parse_ctx *c, const struct ynode *key, size_t *field_len)
{
    const char *k = key->str;
    const char *bar = strchr(k, '|');
    int mods = 0, bad = 0;

    *field_len = bar != NULL ? (size_t)(bar - k) : strlen(k);
    while (bar != NULL) {
        const char *m = bar + 1;
        const char *end = strchr(m, '|');
        size_t mlen = end != NULL ? (size_t)(end - m) : strlen(m);
        int found = 0;

        for (size_t i = 0; i < sizeof(parse_mods) / sizeof(parse_mods[0]); i++) {
            if (strlen(parse_mods[i].name) == mlen && memcmp(parse_mods[i].name, m, mlen) == 0) {
                found = parse_mods[i].mod;
            }
        }
        if (mlen == 0) {
            perr_at(c, key->line, parse_col(key, (size_t)(m - k)), "empty modifier in '%s'", k);
            bad = 1;
        } else if (found == 0) {
            int known = 0;
            for (size_t i = 0; parse_unsupported_mods[i] != NULL; i++) {
                known |= strlen(parse_unsupported_mods[i]) == mlen &&
                         memcmp(parse_unsupported_mods[i], m, mlen) == 0;
            }
            perr_at(c, key->line, parse_col(key, (size_t)(m - k)),
                    known ? "modifier '%.*s' is not supported (in '%s')"
                          : "unknown modifier '%.*s' in '%s'",
                    (int)mlen, m, k);
            bad = 1;
        } else if (found & mods) {
            perr_at(c, key->line, parse_col(key, (size_t)(m - k)),
                    "modifier '%.*s' given twice in '%s'", (int)mlen, m, k);
            bad = 1;
        } else if ((found & MOD_KIND_MASK) && (mods & MOD_KIND_MASK)) {
            perr_at(c, key->line, parse_col(key, (size_t)(m - k)),
                    "modifiers '%s' and '%.*s' cannot be combined in '%s'",
                    parse_mod_name(mods & MOD_KIND_MASK), (int)mlen, m, k);
            bad = 1;
        }
        mods |= found;
        bar = end;
    }
    if (bad) {
        return -1;
    }
    if ((mods & (MOD_I | MOD_M | MOD_S)) && !(mods & MOD_RE)) {
        perr(c, key, "modifiers 'i', 'm' and 's' only apply to 're' (in '%s')", k);
        return -1;
    }
    if ((mods & MOD_CASED) && (mods & (MOD_RE | MOD_CIDR | MOD_EXISTS | MOD_NUM_MASK))) {
        perr(c, key, "modifier 'cased' does not apply to '%s' (in '%s')",
             parse_mod_name(mods & MOD_KIND_MASK), k);
        return -1;
    }
    if ((mods & MOD_EXISTS) && (mods & (MOD_NEQ | MOD_ALL))) {
        perr(c, key, "modifier 'exists' cannot be combined with '%s' (in '%s')",
             (mods & MOD_NEQ) ? "neq" : "all", k);
        return -1;
    }
    if (*field_len == 0 && (mods & (MOD_CIDR | MOD_EXISTS | MOD_NUM_MASK))) {
        perr(c, key, "modifier '%s' needs a field name (in '%s')",
             parse_mod_name(mods & MOD_KIND_MASK), k);
        return -1;
    }
    return mods;
}

/* One field test from a map entry key: value. Returns 0, or -1 (reported). */
static int
parse_test(struct parse_ctx *c, const struct ynode *key, const struct ynode *val,
           struct rule_test *t)
{
    size_t flen = 0;
    int mods = 0;
    const struct ynode *const *items;
    size_t nitems;

    t->line = key != NULL ? key->line : val->line;
    t->col = key != NULL ? key->col : val->col;
    if (key == NULL) {
        t->key = xstrdup("keywords"); /* a bare list of strings */
    } else {
        t->key = xstrdup(key->str);
        mods = parse_modifiers(c, key, &flen);
        if (mods < 0) {
            return -1;
        }
        if (flen == 0 && strchr(key->str, '|') == NULL) {
            perr(c, key, "empty field name");
            return -1;
        }
    }
    if (flen > 0) {
        t->field = xstrndup(key->str, flen);
        t->field_len = (uint32_t)flen;
        t->field_hash = event_name_hash(t->field, flen);
    }
    t->cased = (mods & MOD_CASED) != 0;
    t->all = (mods & MOD_ALL) != 0;
    t->neq = (mods & MOD_NEQ) != 0;

    if (mods & MOD_EXISTS) {
        t->op = RULE_T_EXISTS;
        if (val->type != YNODE_SCALAR ||
            !(strcasecmp(val->str, "true") == 0 || strcasecmp(val->str, "false") == 0)) {
            perr(c, val, "'exists' needs true or false (in '%s')", t->key);
            return -1;
        }
        t->exists = strcasecmp(val->str, "true") == 0;
        return 0;
    }
    if (val->type == YNODE_SCALAR && ynode_is_null(val)) {
        if (mods != 0 || t->field == NULL) {
            perr(c, val, "null cannot be used with modifiers or as a keyword (in '%s')",
                 t->key);
            return -1;
        }
        t->op = RULE_T_NULL;
        return 0;
    }
    if (val->type == YNODE_MAP) {
        perr(c, val, "value of '%s' must be a string, a number or a list of them, not a map",
             t->key);
        return -1;
    }
    if (val->type == YNODE_SCALAR) {
        items = (const struct ynode *const *)&val;
        nitems = 1;
    } else {
        items = (const struct ynode *const *)val->items;
        nitems = val->n;
        if (nitems == 0) {
            perr(c, val, "empty list of values for '%s'", t->key);
            return -1;
        }
    }
    t->op = RULE_T_VALUES;
    t->vals = xcalloc(nitems, sizeof(*t->vals));
    t->nvals = (uint32_t)nitems;
    for (size_t i = 0; i < nitems; i++) {
        const struct ynode *n = items[i];
        if (n->type != YNODE_SCALAR) {
            perr(c, n, "values of '%s' must be strings or numbers, not a %s", t->key,
                 ynode_type_name(n));
            continue;
        }
        if (ynode_is_null(n)) {
            perr(c, n, "null cannot be part of a list of values (in '%s'); use a separate "
                 "selection", t->key);
            continue;
        }
        parse_value(c, t, mods, n, &t->vals[i]);
    }
    return 0;
}

static void
parse_test_free(struct rule_test *t)
{
    for (uint32_t i = 0; i < t->nvals; i++) {
        rule_value_free(&t->vals[i]);
    }
    free(t->vals);
    free(t->field);
    free(t->key);
}

/* A group from a YAML map. */
static void
parse_group(struct parse_ctx *c, const char *sel, const struct ynode *map, struct rule_group *g)
{
    g->line = map->line;
    g->col = map->col;
    if (map->n == 0) {
        perr(c, map, "empty map in selection '%s'", sel);
        return;
    }
    g->tests = xcalloc(map->n, sizeof(*g->tests));
    g->ntests = (uint32_t)map->n;
    for (size_t i = 0; i < map->n; i++) {
        parse_test(c, map->keys[i], map->items[i], &g->tests[i]);
    }
}

/* A group holding one keyword test with the given scalars. */
static void
parse_keywords(struct parse_ctx *c, const struct ynode *node, struct rule_group *g)
{
    g->line = node->line;
    g->col = node->col;
    g->tests = xcalloc(1, sizeof(*g->tests));
    g->ntests = 1;
    parse_test(c, NULL, node, &g->tests[0]);
}

static void
parse_sel(struct parse_ctx *c, const struct ynode *name, const struct ynode *val,
          struct rule_sel *s)
{
    s->name = xstrdup(name->str);
    s->line = name->line;
    s->col = name->col;
    if (val->type == YNODE_MAP) {
        s->groups = xcalloc(1, sizeof(*s->groups));
        s->ngroups = 1;
        parse_group(c, s->name, val, &s->groups[0]);
        return;
    }
    if (val->type == YNODE_SCALAR) {
        if (ynode_is_null(val)) {
            perr(c, val, "selection '%s' is empty", s->name);
            return;
        }
        s->groups = xcalloc(1, sizeof(*s->groups));
        s->ngroups = 1;
        parse_keywords(c, val, &s->groups[0]);
        return;
    }
    if (val->n == 0) {
        perr(c, val, "selection '%s' is empty", s->name);
        return;
    }
    {
        size_t nmaps = 0, nscalars = 0;
        for (size_t i = 0; i < val->n; i++) {
            nmaps += val->items[i]->type == YNODE_MAP;
            nscalars += val->items[i]->type == YNODE_SCALAR;
        }
        if (nscalars == val->n) {
            s->groups = xcalloc(1, sizeof(*s->groups));
            s->ngroups = 1;
            parse_keywords(c, val, &s->groups[0]);
            return;
        }
        if (nmaps != val->n) {
            perr(c, val, "selection '%s' must be a map, a list of maps or a list of strings",
                 s->name);
            return;
        }
    }
    s->groups = xcalloc(val->n, sizeof(*s->groups));
    s->ngroups = (uint32_t)val->n;
    for (size_t i = 0; i < val->n; i++) {
        parse_group(c, s->name, val->items[i], &s->groups[i]);
    }
}

/* Release a compiled detection (accepts NULL). */
void
rule_parse_free_detection(struct rule_detection *det)
{
    if (det == NULL) {
        return;
    }
    for (uint32_t i = 0; i < det->nsels; i++) {
        struct rule_sel *s = &det->sels[i];
        for (uint32_t g = 0; g < s->ngroups; g++) {
            for (uint32_t t = 0; t < s->groups[g].ntests; t++) {
                parse_test_free(&s->groups[g].tests[t]);
            }
            free(s->groups[g].tests);
        }
        free(s->groups);
        free(s->name);
    }
    free(det->sels);
    rule_cond_free(det->cond);
    free(det->cond_text);
    free(det->producers);
    free(det);
}

/* The k-th test of selection s counting through all its groups, or NULL past the end. */
static struct rule_test *
parse_sel_test(const struct rule_sel *s, uint32_t k)
{
    for (uint32_t g = 0; g < s->ngroups; g++) {
        if (k < s->groups[g].ntests) {
            return &s->groups[g].tests[k];
        }
        k -= s->groups[g].ntests;
    }
    return NULL;
}

/* Does selection s test a field that one of fields[0..n) names? */
static int
parse_sel_reads(const struct rule_sel *s, char **fields, size_t n)
{
    const struct rule_test *tt;

    for (uint32_t k = 0; (tt = parse_sel_test(s, k)) != NULL; k++) {
        for (size_t i = 0; tt->field != NULL && i < n; i++) {
            if (strcmp(tt->field, fields[i]) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/*
 * Apply `fields:` to the named captures, mark tests of captured fields, and find the
 * producer selections (whose captures other selections read).
 */
static void
parse_captures(struct parse_ctx *c, struct rule_detection *det, const struct ynode *fields)
{
    char **all = NULL;
    size_t nall = 0;

    if (fields != NULL && fields->type == YNODE_MAP) {
        for (size_t i = 0; i < fields->n; i++) {
            int used = 0;
            if (fields->items[i]->type != YNODE_SCALAR || fields->items[i]->str[0] == '\0') {
                perr(c, fields->items[i], "'fields' maps capture names to field names; '%s' "
                     "needs a field name", fields->keys[i]->str);
                continue;
            }
            for (uint32_t si = 0; si < det->nsels; si++) {
                struct rule_test *tt;
                for (uint32_t kk = 0; (tt = parse_sel_test(&det->sels[si], kk)) != NULL; kk++) {
                    for (uint32_t v = 0; v < tt->nvals; v++) {
                        struct rule_value *vv = &tt->vals[v];
                        for (uint32_t k = 0; k < vv->ncaps; k++) {
                            if (strcmp(vv->caps[k].field, fields->keys[i]->str) == 0) {
                                used = 1;
                            }
                        }
                    }
                }
            }
            if (!used) {
                perr(c, fields->keys[i], "'fields': '%s' is not a named capture of any re test",
                     fields->keys[i]->str);
            }
        }
    }

    /* Rename captures, and collect the field names every selection produces. */
    for (uint32_t si = 0; si < det->nsels; si++) {
        struct rule_sel *s = &det->sels[si];
        struct rule_test *tt;
        for (uint32_t kk = 0; (tt = parse_sel_test(s, kk)) != NULL; kk++) {
            for (uint32_t v = 0; v < tt->nvals; v++) {
                struct rule_value *vv = &tt->vals[v];
                for (uint32_t k = 0; k < vv->ncaps; k++) {
                    struct rule_capture *cap = &vv->caps[k];
                    const struct ynode *to = fields != NULL && fields->type == YNODE_MAP
                                                 ? ynode_get(fields, cap->field) : NULL;
                    if (to != NULL && to->type == YNODE_SCALAR && to->str[0] != '\0') {
                        free(cap->field);
                        cap->field = xstrdup(to->str);
                        cap->field_len = (uint32_t)strlen(cap->field);
                    }
                    s->captures = 1;
                    all = xreallocarray(all, nall + 1, sizeof(*all));
                    all[nall++] = cap->field;
                }
                if (vv->re != NULL) {
                    uint32_t cc = 0;
                    pcre2_pattern_info(vv->re, PCRE2_INFO_CAPTURECOUNT, &cc);
                    if (cc + 1 > det->max_groups) {
                        det->max_groups = cc + 1;
                    }
                }
            }
        }
    }

    for (uint32_t si = 0; si < det->nsels; si++) {
        struct rule_sel *s = &det->sels[si];
        char **mine = NULL;
        size_t nmine = 0;
        struct rule_test *tt;

        for (uint32_t kk = 0; (tt = parse_sel_test(s, kk)) != NULL; kk++) {
            for (size_t i = 0; tt->field != NULL && i < nall; i++) {
                if (strcmp(tt->field, all[i]) == 0) {
                    tt->captured = 1;
                }
            }
            for (uint32_t v = 0; v < tt->nvals; v++) {
                for (uint32_t k = 0; k < tt->vals[v].ncaps; k++) {
                    mine = xreallocarray(mine, nmine + 1, sizeof(*mine));
                    mine[nmine++] = tt->vals[v].caps[k].field;
                }
            }
        }
        for (uint32_t o = 0; nmine > 0 && o < det->nsels; o++) {
            if (o != si && parse_sel_reads(&det->sels[o], mine, nmine)) {
                s->producer = 1;
            }
        }
        if (s->producer) {
            det->producers = xreallocarray(det->producers, det->nproducers + 1,
                                           sizeof(*det->producers));
            det->producers[det->nproducers++] = si;
        }
        free(mine);
    }
    free(all);
}

static struct rule_detection *
parse_detection(struct parse_ctx *c, const struct ynode *node, const struct ynode *fields)
{
    struct rule_detection *det = xcalloc(1, sizeof(*det));
    const struct ynode *cond = NULL;
    det->max_groups = 1;
    if (node->type != YNODE_MAP) {
        perr(c, node, "'detection' must be a map, not a %s", ynode_type_name(node));
        goto fail;
    }
    det->sels = xcalloc(node->n > 0 ? node->n : 1, sizeof(*det->sels));
    for (size_t i = 0; i < node->n; i++) {
        const char *k = node->keys[i]->str;
        if (strcmp(k, "condition") == 0) {
            cond = node->items[i];
            continue;
        }
        if (strcmp(k, "timeframe") == 0) {
            perr(c, node->keys[i], "'timeframe' is not supported in detection; use a "
                 "correlation rule");
            continue;
        }
        if (k[0] == '\0' || strpbrk(k, " \t()|") != NULL) {
            perr(c, node->keys[i], "invalid selection name '%s'", k);
            continue;
        }
        parse_sel(c, node->keys[i], node->items[i], &det->sels[det->nsels++]);
    }
    if (cond == NULL) {
        perr(c, node, "detection has no 'condition'");
        goto fail;
    }
    if (det->nsels == 0) {
        perr(c, node, "detection has no selections");
        goto fail;
    }
    det->cond = rule_cond_parse(c->file, c->label, cond, det->sels, det->nsels, c->errs);
    if (det->cond == NULL) {
        c->bad = 1;
        goto fail;
    }
    if (cond->type == YNODE_SCALAR) {
        det->cond_text = xstrdup(cond->str);
    } else {
        size_t len = 1;
        for (size_t i = 0; i < cond->n; i++) {
            len += strlen(cond->items[i]->str) + 6;
        }
        det->cond_text = xcalloc(1, len);
        for (size_t i = 0; i < cond->n; i++) {
            if (i > 0) {
                strcat(det->cond_text, " or ");
            }
            strcat(det->cond_text, "(");
            strcat(det->cond_text, cond->items[i]->str);
            strcat(det->cond_text, ")");
        }
    }
    parse_captures(c, det, fields);
    if (c->bad) {
        goto fail;
    }
    return det;
fail:
    rule_parse_free_detection(det);
    return NULL;
}

/* ---- metadata ------------------------------------------------------------------------- */

static char *
parse_scalar(struct parse_ctx *c, const struct ynode *n, const char *what)
{
    if (n->type != YNODE_SCALAR) {
        perr(c, n, "'%s' must be a string, not a %s", what, ynode_type_name(n));
        return NULL;
    }
    return xstrdup(n->str);
}

static void
parse_tags(struct parse_ctx *c, const struct ynode *n, struct rule *rule)
{
    if (n->type == YNODE_SCALAR) {
        rule->tags = xcalloc(1, sizeof(*rule->tags));
        rule->tags[0] = xstrdup(n->str);
        rule->ntags = 1;
        return;
    }
    if (n->type != YNODE_SEQ) {
        perr(c, n, "'tags' must be a list of strings, not a %s", ynode_type_name(n));
        return;
    }
    rule->tags = xcalloc(n->n > 0 ? n->n : 1, sizeof(*rule->tags));
    for (size_t i = 0; i < n->n; i++) {
        if (n->items[i]->type != YNODE_SCALAR) {
            perr(c, n->items[i], "'tags' must be a list of strings, not of %ss",
                 ynode_type_name(n->items[i]));
            continue;
        }
        rule->tags[rule->ntags++] = xstrdup(n->items[i]->str);
    }
}

/*
 * Compile one rule document (docno counts from 1 within file). Returns 0 and a new rule in
 * *out (caller frees with rule_free), or -1 after adding every problem to errs.
 */
int
rule_parse_doc(const char *file, int docno, const struct ynode *doc, struct rule **out,
               struct errlist *errs)
{
    struct parse_ctx c = {.file = file, .errs = errs};
    char label[64];
    struct rule *rule = xcalloc(1, sizeof(*rule));
    const struct ynode *id, *det = NULL, *corr = NULL, *fields = NULL;
    int r = -1;

    *out = NULL;
    snprintf(label, sizeof(label), "(document %d)", docno);
    c.label = label;
    rule->file = xstrdup(file);
    rule->line = doc->line;
    rule->generate = 1;
    rule->level = RULE_LEVEL_MEDIUM;
    if (doc->type != YNODE_MAP) {
        perr(&c, doc, "a rule document must be a map, not a %s", ynode_type_name(doc));
        goto out;
    }
    id = ynode_get(doc, "id");
    if (id == NULL) {
        perr(&c, doc, "missing required key 'id'");
    } else if (id->type != YNODE_SCALAR || id->str[0] == '\0' ||
               strpbrk(id->str, " \t\r\n") != NULL) {
        perr(&c, id, "'id' must be a non-empty string without spaces");
    } else {
        rule->id = xstrdup(id->str);
        c.label = rule->id;
    }

    for (size_t i = 0; i < doc->n; i++) {
        const char *k = doc->keys[i]->str;
        const struct ynode *v = doc->items[i];

        if (strcmp(k, "id") == 0) {
            continue;
        } else if (strcmp(k, "title") == 0) {
            free(rule->title);
            rule->title = parse_scalar(&c, v, "title");
        } else if (strcmp(k, "level") == 0) {
            if (v->type != YNODE_SCALAR || rule_level_parse(v->str, &rule->level) < 0) {
                perr(&c, v, "unknown level '%s' (informational, low, medium, high, critical)",
                     v->type == YNODE_SCALAR ? v->str : ynode_type_name(v));
            }
        } else if (strcmp(k, "tags") == 0) {
            parse_tags(&c, v, rule);
        } else if (strcmp(k, "detection") == 0) {
            det = v;
        } else if (strcmp(k, "correlation") == 0) {
            corr = v;
        } else if (strcmp(k, "fields") == 0) {
            fields = v;
            if (v->type == YNODE_SCALAR) {
                perr(&c, v, "'fields' must be a map (capture: field) or a list");
            }
        } else if (strcmp(k, "generate") == 0) {
            perr(&c, doc->keys[i], "unknown key 'generate' ('generate' belongs inside "
                 "'correlation:')");
        } else if (!parse_in(parse_doc_keys, k) && !parse_in(parse_other_keys, k)) {
            perr(&c, doc->keys[i], "unknown key '%s'", k);
        }
    }
    if (det != NULL && corr != NULL) {
        perr(&c, corr, "'detection' and 'correlation' cannot both be present");
        goto out;
    }
    if (det == NULL && corr == NULL) {
        perr(&c, doc, "missing required key 'detection' (or 'correlation')");
        goto out;
    }
    if (corr != NULL && fields != NULL) {
        perr(&c, fields, "'fields' belongs to detection rules");
    }
    if (rule->title == NULL && rule->id != NULL) {
        rule->title = xstrdup(rule->id);
    }
    parse_hash(doc, rule->hash);
    if (det != NULL) {
        rule->kind = RULE_DETECTION;
        rule->det = parse_detection(&c, det, fields);
    } else if (rule->id != NULL) {
        rule->kind = RULE_CORRELATION;
        if (corr_rule_compile(corr, rule, errs) < 0) {
            c.bad = 1;
        }
    }
    if (c.bad || rule->id == NULL) {
        goto out;
    }
    *out = rule;
    rule = NULL;
    r = 0;
out:
    rule_free(rule);
    return r;
}
