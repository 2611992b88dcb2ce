/*
 * Correlation rules: compile a `correlation:` block into a struct corr_rule
 * (corr_rule_compile), resolve the rules it references once the whole rule set is loaded
 * (corr_rules_link: ids, chains, cycles, `generate`), and free it. The keys are those of
 * Sigma correlations v2.1 (type, rules, group-by, timespan, condition, field, aliases,
 * generate) plus kizuna's `suppress`; docs/CORRELATION.md describes them.
 */
#include <stdlib.h>
#include <string.h>

#include "corr-int.h"
#include "timeutil.h"
#include "xmalloc.h"

static const char *
corr_rule_file(const struct rule *rule)
{
    return rule->file != NULL ? rule->file : "?";
}

static int
corr_rule_bool(const struct ynode *n, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    if (n->type != YNODE_SCALAR) {
        return -1;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(n->str, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(n->str, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* A list of non-empty scalars (or one scalar) into a new array. Returns 0 or -1. */
static int
corr_rule_strings(const struct ynode *n, const struct rule *rule, const char *what,
                  char ***out, size_t *nout, struct errlist *errs)
{
    const struct ynode *const *items = (const struct ynode *const *)&n;
    size_t count = 1;

    if (n->type == YNODE_SEQ) {
        items = (const struct ynode *const *)n->items;
        count = n->n;
    } else if (n->type != YNODE_SCALAR) {
        errlist_add(errs, corr_rule_file(rule), n->line, n->col,
                    "rule %s: %s must be a list of names, not a %s", rule->id, what,
                    ynode_type_name(n));
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (items[i]->type != YNODE_SCALAR || items[i]->len == 0) {
            errlist_add(errs, corr_rule_file(rule), items[i]->line, items[i]->col,
                        "rule %s: %s: each entry must be a non-empty name", rule->id, what);
            return -1;
        }
    }
    *out = xcalloc(count ? count : 1, sizeof(**out));
    for (size_t i = 0; i < count; i++) {
        (*out)[i] = xstrdup(items[i]->str);
    }
    *nout = count;
    return 0;
}

static void
corr_field_set(struct corr_field *f, const char *name)
{
    f->name = xstrdup(name);
    f->len = strlen(name);
    f->hash = event_name_hash(f->name, f->len);
}

/* The field an alias maps to for reference ref_id, or NULL. */
static const char *
corr_rule_alias(const struct ynode *aliases, const char *name, const char *ref_id)
{
    const struct ynode *m = aliases != NULL ? ynode_get(aliases, name) : NULL;
    const struct ynode *f = m != NULL ? ynode_get(m, ref_id) : NULL;

    return f != NULL && f->type == YNODE_SCALAR ? f->str : NULL;
}

static int
corr_rule_check_aliases(const struct ynode *aliases, const struct corr_rule *cr,
                        const struct rule *rule, struct errlist *errs)
{
    int bad = 0;

    if (aliases->type != YNODE_MAP) {
        errlist_add(errs, corr_rule_file(rule), aliases->line, aliases->col,
                    "rule %s: aliases must be a map {alias: {rule: field}}", rule->id);
        return -1;
    }
    for (size_t i = 0; i < aliases->n; i++) {
        const struct ynode *m = aliases->items[i];
        if (m->type != YNODE_MAP) {
            errlist_add(errs, corr_rule_file(rule), m->line, m->col,
                        "rule %s: alias %s must map rule names to field names", rule->id,
                        aliases->keys[i]->str);
            bad = 1;
            continue;
        }
        for (size_t j = 0; j < m->n; j++) {
            size_t k;
            for (k = 0; k < cr->nrefs; k++) {
                if (strcmp(cr->refs[k].id, m->keys[j]->str) == 0) {
                    break;
                }
            }
            if (k == cr->nrefs) {
                errlist_add(errs, corr_rule_file(rule), m->keys[j]->line, m->keys[j]->col,
                            "rule %s: alias %s names '%s', which is not in rules:", rule->id,
                            aliases->keys[i]->str, m->keys[j]->str);
                bad = 1;
            }
            if (m->items[j]->type != YNODE_SCALAR || m->items[j]->len == 0) {
                errlist_add(errs, corr_rule_file(rule), m->items[j]->line, m->items[j]->col,
                            "rule %s: alias %s: the field for '%s' must be a name", rule->id,
                            aliases->keys[i]->str, m->keys[j]->str);
                bad = 1;
            }
        }
    }
    return bad ? -1 : 0;
}

/* Free a compiled correlation. NULL is accepted. */
void
corr_rule_free(struct corr_rule *cr)
{
    if (cr == NULL) {
        return;
    }
    for (size_t i = 0; i < cr->nrefs; i++) {
        struct corr_ref *r = &cr->refs[i];
        free(r->id);
        for (size_t j = 0; r->group != NULL && j < cr->ngroup; j++) {
            free(r->group[j].name);
        }
        for (size_t j = 0; r->values != NULL && j < cr->nvalues; j++) {
            free(r->values[j].name);
        }
        free(r->group);
        free(r->values);
    }
    free(cr->refs);
    for (size_t i = 0; i < cr->ngroup; i++) {
        free(cr->group_by[i]);
    }
    free(cr->group_by);
    for (size_t i = 0; i < cr->nvalues; i++) {
        free(cr->value_names[i]);
    }
    free(cr->value_names);
    free(cr->value_label);
    free(cr);
}

static int
corr_rule_duration(const struct ynode *n, const struct rule *rule, const char *what,
                   int64_t *out, struct errlist *errs)
{
    if (n->type != YNODE_SCALAR || time_parse_duration(n->str, out) != 0) {
        errlist_add(errs, corr_rule_file(rule), n->line, n->col,
                    "rule %s: %s must be a duration such as 60s, 10m, 2h, 1d", rule->id, what);
        return -1;
    }
    if (*out > CORR_MAX_DURATION_US) {
        errlist_add(errs, corr_rule_file(rule), n->line, n->col,
                    "rule %s: %s may be at most 3650d", rule->id, what);
        return -1;
    }
    return 0;
}

static int
corr_rule_key_known(const char *k)
{
    static const char *const keys[] = {"type",      "rules",   "group-by", "timespan",
                                       "condition", "field",   "aliases",  "generate",
                                       "suppress"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(k, keys[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Compile a `correlation:` map into rule->corr (owned by the rule). Every problem goes to
 * errs as FILE:LINE:COL. Returns 0 or -1 (rule->corr unchanged).
 */
int
corr_rule_compile(const struct ynode *corr, struct rule *rule, struct errlist *errs)
{
    struct corr_rule *cr = NULL;
    const struct ynode *n, *cond, *aliases, *field_node = NULL;
    char **refs = NULL;
    size_t nrefs = 0, nerr = errs->n;
    int r = -1;

    if (corr->type != YNODE_MAP) {
        errlist_add(errs, corr_rule_file(rule), corr->line, corr->col,
                    "rule %s: correlation must be a map", rule->id);
        goto out;
    }
    cr = xcalloc(1, sizeof(*cr));
    cr->line = corr->line;
    cr->col = corr->col;
    cr->suppress_us = -1;
    for (size_t i = 0; i < corr->n; i++) {
        if (!corr_rule_key_known(corr->keys[i]->str)) {
            errlist_add(errs, corr_rule_file(rule), corr->keys[i]->line, corr->keys[i]->col,
                        "rule %s: unknown key '%s' in correlation", rule->id,
                        corr->keys[i]->str);
        }
    }

    n = ynode_get(corr, "type");
    if (n == NULL || n->type != YNODE_SCALAR) {
        errlist_add(errs, corr_rule_file(rule), n ? n->line : corr->line, n ? n->col : corr->col,
                    "rule %s: correlation needs a type (event_count, value_count, value_sum, "
                    "value_avg, temporal, temporal_ordered, absence)", rule->id);
        goto out;
    }
    cr->type = corr_type_find(n->str);
    if (cr->type == NULL) {
        if (strcmp(n->str, "value_percentile") == 0) {
            errlist_add(errs, corr_rule_file(rule), n->line, n->col,
                        "rule %s: value_percentile is not supported: it ranks a value against "
                        "the distribution over all groups, which a streaming engine cannot "
                        "decide per group", rule->id);
        } else {
            errlist_add(errs, corr_rule_file(rule), n->line, n->col,
                        "rule %s: unknown correlation type '%s' (event_count, value_count, "
                        "value_sum, value_avg, temporal, temporal_ordered, absence)",
                        rule->id, n->str);
        }
        goto out;
    }

    n = ynode_get(corr, "rules");
    if (n == NULL) {
        errlist_add(errs, corr_rule_file(rule), corr->line, corr->col,
                    "rule %s: correlation needs rules: (the rules it correlates)", rule->id);
        goto out;
    }
    if (corr_rule_strings(n, rule, "rules", &refs, &nrefs, errs) != 0) {
        goto out;
    }
    if (nrefs == 0 || nrefs > CORR_MAX_REFS) {
        errlist_add(errs, corr_rule_file(rule), n->line, n->col,
                    "rule %s: rules: needs 1 to %d entries", rule->id, CORR_MAX_REFS);
        goto out;
    }
    cr->refs = xcalloc(nrefs, sizeof(*cr->refs));
    cr->nrefs = nrefs;
    for (size_t i = 0; i < nrefs; i++) {
        const struct ynode *item = n->type == YNODE_SEQ ? n->items[i] : n;
        cr->refs[i].id = refs[i];
        refs[i] = NULL;
        cr->refs[i].line = item->line;
        cr->refs[i].col = item->col;
        if (strcmp(cr->refs[i].id, rule->id) == 0) {
            errlist_add(errs, corr_rule_file(rule), item->line, item->col,
                        "rule %s: a correlation cannot reference itself", rule->id);
        }
        for (size_t j = 0; j < i && cr->type != &corr_sequence_type; j++) {
            if (strcmp(cr->refs[j].id, cr->refs[i].id) == 0) {
                errlist_add(errs, corr_rule_file(rule), item->line, item->col,
                            "rule %s: '%s' is listed twice in rules:", rule->id,
                            cr->refs[i].id);
            }
        }
    }

    n = ynode_get(corr, "group-by");
    if (n != NULL && !ynode_is_null(n)) {
        if (corr_rule_strings(n, rule, "group-by", &cr->group_by, &cr->ngroup, errs) != 0) {
            goto out;
        }
        for (size_t i = 0; i < cr->ngroup; i++) {
            for (size_t j = 0; j < i; j++) {
                if (strcmp(cr->group_by[i], cr->group_by[j]) == 0) {
                    errlist_add(errs, corr_rule_file(rule), n->line, n->col,
                                "rule %s: group-by lists '%s' twice", rule->id, cr->group_by[i]);
                }
            }
        }
    }

    n = ynode_get(corr, "timespan");
    if (n == NULL) {
        errlist_add(errs, corr_rule_file(rule), corr->line, corr->col,
                    "rule %s: correlation needs a timespan (e.g. 60s, 10m, 1h)", rule->id);
    } else if (corr_rule_duration(n, rule, "timespan", &cr->timespan_us, errs) == 0 &&
               cr->timespan_us <= 0) {
        errlist_add(errs, corr_rule_file(rule), n->line, n->col,
                    "rule %s: timespan must be longer than 0", rule->id);
    }
    n = ynode_get(corr, "suppress");
    if (n != NULL) {
        corr_rule_duration(n, rule, "suppress", &cr->suppress_us, errs);
    }
    n = ynode_get(corr, "generate");
    if (n != NULL && corr_rule_bool(n, &cr->generate) != 0) {
        errlist_add(errs, corr_rule_file(rule), n->line, n->col,
                    "rule %s: generate must be true or false", rule->id);
    }

    cond = ynode_get(corr, "condition");
    if (cond != NULL && ynode_is_null(cond)) {
        cond = NULL;
    }
    if (cond != NULL && cond->type == YNODE_MAP) {
        field_node = ynode_get(cond, "field");
    }
    n = ynode_get(corr, "field");
    if (n != NULL && field_node != NULL) {
        errlist_add(errs, corr_rule_file(rule), n->line, n->col,
                    "rule %s: field is given twice (here and in condition)", rule->id);
    } else if (n != NULL) {
        field_node = n;
    }
    if (field_node != NULL) {
        if (corr_rule_strings(field_node, rule, "field", &cr->value_names, &cr->nvalues,
                              errs) != 0) {
            goto out;
        }
        {
            struct buf label = {0};
            for (size_t i = 0; i < cr->nvalues; i++) {
                if (i > 0) {
                    buf_putc(&label, ',');
                }
                buf_puts(&label, cr->value_names[i]);
            }
            cr->value_label = xstrdup(buf_cstr(&label));
            buf_free(&label);
        }
    }

    aliases = ynode_get(corr, "aliases");
    if (aliases != NULL && ynode_is_null(aliases)) {
        aliases = NULL;
    }
    if (aliases != NULL && corr_rule_check_aliases(aliases, cr, rule, errs) != 0) {
        goto out;
    }
    for (size_t i = 0; i < cr->nrefs; i++) {
        struct corr_ref *ref = &cr->refs[i];
        ref->group = xcalloc(cr->ngroup ? cr->ngroup : 1, sizeof(*ref->group));
        for (size_t j = 0; j < cr->ngroup; j++) {
            const char *f = corr_rule_alias(aliases, cr->group_by[j], ref->id);
            corr_field_set(&ref->group[j], f != NULL ? f : cr->group_by[j]);
        }
        ref->values = xcalloc(cr->nvalues ? cr->nvalues : 1, sizeof(*ref->values));
        for (size_t j = 0; j < cr->nvalues; j++) {
            const char *f = corr_rule_alias(aliases, cr->value_names[j], ref->id);
            corr_field_set(&ref->values[j], f != NULL ? f : cr->value_names[j]);
        }
    }

    if (errs->n > nerr) {
        goto out;
    }
    memset(&cr->spec, 0, sizeof(cr->spec));
    if (cr->type->compile(cr, rule, corr, cond, errs) != 0 || errs->n > nerr) {
        goto out;
    }
    cr->spec.rule_id = rule->id;
    cr->spec.timespan_us = cr->timespan_us;
    cr->spec.suppress_us = cr->suppress_us;

    corr_rule_free(rule->corr);
    rule->corr = cr;
    cr = NULL;
    rule->kind = RULE_CORRELATION;
    rule->generate = 1;
    r = 0;
out:
    for (size_t i = 0; refs != NULL && i < nrefs; i++) {
        free(refs[i]);
    }
    free(refs);
    corr_rule_free(cr);
    return r;
}

/* --- linking --- */

struct corr_link_index {
    const char *id;
    size_t i;
};

static int
corr_link_cmp(const void *a, const void *b)
{
    return strcmp(((const struct corr_link_index *)a)->id,
                  ((const struct corr_link_index *)b)->id);
}

static long
corr_link_find(const struct corr_link_index *idx, size_t n, const char *id)
{
    struct corr_link_index key = {id, 0};
    const struct corr_link_index *hit = bsearch(&key, idx, n, sizeof(*idx), corr_link_cmp);

    return hit != NULL ? (long)hit->i : -1;
}

/* Depth-first search for cycles among correlations; marks rules on a cycle bad. */
static void
corr_link_visit(struct rule **rules, const struct corr_link_index *idx, size_t nrules, size_t i,
                unsigned char *color, unsigned char *bad, struct errlist *errs)
{
    const struct corr_rule *cr = rules[i]->corr;

    color[i] = 1;
    for (size_t k = 0; k < cr->nrefs; k++) {
        const struct rule *t = cr->refs[k].rule;
        long j;
        if (t == NULL || t->kind != RULE_CORRELATION || t->corr == NULL) {
            continue;
        }
        j = corr_link_find(idx, nrules, t->id);
        if (color[j] == 1) {
            errlist_add(errs, corr_rule_file(rules[i]), cr->refs[k].line, cr->refs[k].col,
                        "rule %s: correlation chain loops back through '%s'", rules[i]->id,
                        t->id);
            bad[i] = 1;
        } else if (color[j] == 0) {
            corr_link_visit(rules, idx, nrules, (size_t)j, color, bad, errs);
        }
    }
    color[i] = 2;
}

/*
 * Resolve references, refuse cycles, mark unusable rules (corr = NULL) and set
 * rule->generate of referenced rules. Returns the number of errors added.
 */
int
corr_rules_link(struct rule **rules, size_t nrules, struct errlist *errs)
{
    struct corr_link_index *idx = xcalloc(nrules ? nrules : 1, sizeof(*idx));
    unsigned char *bad = xcalloc(nrules ? nrules : 1, 1);
    unsigned char *color = xcalloc(nrules ? nrules : 1, 1);
    size_t nerr = errs->n;
    int changed;

    for (size_t i = 0; i < nrules; i++) {
        idx[i].id = rules[i]->id;
        idx[i].i = i;
    }
    qsort(idx, nrules, sizeof(*idx), corr_link_cmp);

    for (size_t i = 0; i < nrules; i++) {
        struct corr_rule *cr = rules[i]->corr;
        if (rules[i]->kind != RULE_CORRELATION || cr == NULL) {
            continue;
        }
        for (size_t k = 0; k < cr->nrefs; k++) {
            long j = corr_link_find(idx, nrules, cr->refs[k].id);
            if (j < 0) {
                errlist_add(errs, corr_rule_file(rules[i]), cr->refs[k].line, cr->refs[k].col,
                            "rule %s: correlation references unknown rule '%s'", rules[i]->id,
                            cr->refs[k].id);
                bad[i] = 1;
                continue;
            }
            cr->refs[k].rule = rules[j];
        }
    }
    for (size_t i = 0; i < nrules; i++) {
        if (rules[i]->kind == RULE_CORRELATION && rules[i]->corr != NULL && !bad[i] &&
            color[i] == 0) {
            corr_link_visit(rules, idx, nrules, i, color, bad, errs);
        }
    }
    /* A correlation built on an unusable rule is unusable too. */
    do {
        changed = 0;
        for (size_t i = 0; i < nrules; i++) {
            const struct corr_rule *cr = rules[i]->corr;
            if (rules[i]->kind != RULE_CORRELATION || cr == NULL || bad[i]) {
                continue;
            }
            for (size_t k = 0; k < cr->nrefs; k++) {
                const struct rule *t = cr->refs[k].rule;
                if (t != NULL && t->kind == RULE_CORRELATION &&
                    (t->corr == NULL || bad[corr_link_find(idx, nrules, t->id)])) {
                    errlist_add(errs, corr_rule_file(rules[i]), cr->refs[k].line,
                                cr->refs[k].col,
                                "rule %s: references correlation '%s', which is unusable",
                                rules[i]->id, t->id);
                    bad[i] = 1;
                    changed = 1;
                    break;
                }
            }
        }
    } while (changed);
    for (size_t i = 0; i < nrules; i++) {
        if (bad[i]) {
            corr_rule_free(rules[i]->corr);
            rules[i]->corr = NULL;
        }
    }
    /*
     * generate (Sigma v2): a rule that a correlation references raises alerts of its own
     * only if one of the correlations referencing it says `generate: true`.
     */
    for (size_t i = 0; i < nrules; i++) {
        const struct corr_rule *cr = rules[i]->corr;
        for (size_t k = 0; cr != NULL && k < cr->nrefs; k++) {
            rules[corr_link_find(idx, nrules, cr->refs[k].id)]->generate = 0;
        }
    }
    for (size_t i = 0; i < nrules; i++) {
        const struct corr_rule *cr = rules[i]->corr;
        for (size_t k = 0; cr != NULL && cr->generate && k < cr->nrefs; k++) {
            rules[corr_link_find(idx, nrules, cr->refs[k].id)]->generate = 1;
        }
    }
    free(idx);
    free(bad);
    free(color);
    return (int)(errs->n - nerr);
}
