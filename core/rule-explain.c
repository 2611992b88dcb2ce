/*
 * Rule test mode (`kizunad --test-rules`): for one decoded event, say which detection rules
 * match (with the fields they capture) and, verbosely, why each other rule does not: what
 * the prefilter missed, which selection is false and which test of it failed on what.
 * Every rule is evaluated (the prefilter is only reported, never trusted).
 */
#include <string.h>

#include "rule-int.h"

#define EXPLAIN_VALUE_MAX 80

static void
explain_quote(FILE *out, const char *s, size_t len)
{
    fputc('\'', out);
    for (size_t i = 0; i < len && i < EXPLAIN_VALUE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\x%02x", c);
        } else {
            fputc(c, out);
        }
    }
    fputs(len > EXPLAIN_VALUE_MAX ? "...'" : "'", out);
}

static void
explain_values(FILE *out, const struct rule_test *t)
{
    if (t->nvals == 1) {
        explain_quote(out, t->vals[0].text, strlen(t->vals[0].text));
        return;
    }
    fputs(t->all ? "all of [" : "any of [", out);
    for (uint32_t i = 0; i < t->nvals; i++) {
        if (i > 0) {
            fputs(", ", out);
        }
        explain_quote(out, t->vals[i].text, strlen(t->vals[i].text));
    }
    fputc(']', out);
}

/* Why test t is false on ev (t is known to be false). */
static void
explain_test(FILE *out, const struct rule_test *t, const struct event *ev, const char *indent)
{
    const struct event_field *f = t->field != NULL ? event_get(ev, t->field)
                                                   : rule_match_keyword_field(ev);
    const char *name = t->field != NULL ? t->field : "message";

    fprintf(out, "%s%s (line %d): ", indent, t->key, t->line);
    switch (t->op) {
    case RULE_T_EXISTS:
        fprintf(out, "field %s is %s\n", name, f != NULL ? "present" : "absent");
        return;
    case RULE_T_NULL:
        fprintf(out, "field %s is not empty\n", name);
        return;
    case RULE_T_VALUES:
        break;
    }
    if (f == NULL) {
        fprintf(out, "no field %s%s\n", name,
                t->field == NULL ? " (nor event.original)" : "");
        return;
    }
    explain_quote(out, f->value, f->value_len);
    if (event_find_next(ev, f) != NULL) {
        fputs(" (and more values)", out);
    }
    fputs(t->neq ? " matches " : " does not match ", out);
    explain_values(out, t);
    fputc('\n', out);
}

static void
explain_rule_detail(struct ruleset *rs, const struct rule *rule, struct event *ev, FILE *out)
{
    const struct rule_detection *det = rule->det;
    struct rule_mctx *m = &rs->m;
    uint32_t n0 = ev->nfields;

    fprintf(out, "      condition: %s\n", det->cond_text);
    memset(m->memo, 0, det->nsels);
    for (uint32_t i = 0; i < det->nproducers; i++) {
        (void)rule_match_sel(m, rule, det->producers[i], ev);
    }
    for (uint32_t s = 0; s < det->nsels; s++) {
        const struct rule_sel *sel = &det->sels[s];
        int r = rule_match_sel(m, rule, s, ev);

        fprintf(out, "      selection %s: %s\n", sel->name, r ? "true" : "false");
        if (r) {
            continue;
        }
        for (uint32_t g = 0; g < sel->ngroups; g++) {
            const struct rule_group *grp = &sel->groups[g];
            uint32_t g0 = ev->nfields;
            if (sel->ngroups > 1) {
                fprintf(out, "        alternative %u (line %d):\n", g + 1, grp->line);
            }
            for (uint32_t t = 0; t < grp->ntests; t++) {
                if (!rule_match_test(m, &grp->tests[t], ev)) {
                    explain_test(out, &grp->tests[t], ev, sel->ngroups > 1 ? "          "
                                                                           : "        ");
                    break;
                }
            }
            ev->nfields = g0;
        }
    }
    ev->nfields = n0;
}

/*
 * Print to out which detection rules match ev and, with verbose, why each other one does
 * not (see rule.h). Returns the number of matches. Uses the set's matching scratch, so the
 * same thread as ruleset_match(); ev gets its fields back as they were.
 */
int
ruleset_explain(struct ruleset *rs, struct event *ev, FILE *out, int verbose)
{
    uint32_t n0 = ev->nfields;
    int count = 0;

    for (size_t i = 0; i < rs->nrules; i++) {
        const struct rule *rule = rs->rules[i];
        int matched;

        if (rule->kind != RULE_DETECTION || rule->det == NULL) {
            if (verbose) {
                fprintf(out, "  rule %s: correlation rule, fed by detection matches\n",
                        rule->id);
            }
            continue;
        }
        matched = rule_match_rule(&rs->m, rule, ev);
        if (matched) {
            count++;
            fprintf(out, "  rule %s: MATCH (%s) %s\n", rule->id, rule_level_name(rule->level),
                    rule->title);
            for (uint32_t f = n0; f < ev->nfields; f++) {
                fprintf(out, "      captured %.*s = ", (int)ev->fields[f].name_len,
                        ev->fields[f].name);
                explain_quote(out, ev->fields[f].value, ev->fields[f].value_len);
                fputc('\n', out);
            }
        } else if (verbose) {
            fprintf(out, "  rule %s: no match\n", rule->id);
        }
        ev->nfields = n0;
        if (!verbose) {
            continue;
        }
        if (rs->pf != NULL) {
            uint32_t di = 0;
            while (di < rs->ndet && rs->det[di] != rule) {
                di++;
            }
            if (!rule_prefilter_explain(rs->pf, di, ev, out) && matched) {
                fprintf(out, "      prefilter: BUG: skipped a matching rule, please report\n");
            }
        }
        if (!matched) {
            explain_rule_detail(rs, rule, ev, out);
        }
    }
    return count;
}
