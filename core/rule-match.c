/*
 * Matching an event against detection rules: field tests, selections (memoised per rule
 * and event), the condition (short-circuit, left to right), named captures, and
 * ruleset_match() which runs the prefilter's candidates in rule order.
 *
 * Captures: when an `re` value matches, its named groups are added to the event at once
 * (copied into the event arena), so later tests of the same rule see them. A map (group)
 * that fails takes back the captures it added. Selections whose captures other selections
 * read ("producers") are evaluated first, in the order written, so the result does not
 * depend on how the condition is phrased. All captures are removed after the rule (and
 * its callback) is done.
 */
#include <string.h>

#include "rule-int.h"

/* The fields a keyword search reads: every `message`, or `event.original` without one. */
const struct event_field *
rule_match_keyword_field(const struct event *ev)
{
    static const char msg[] = F_MESSAGE, orig[] = F_ORIGINAL;
    const struct event_field *f;

    f = event_find(ev, msg, sizeof(msg) - 1, event_name_hash_inline(msg, sizeof(msg) - 1));
    if (f != NULL) {
        return f;
    }
    return event_find(ev, orig, sizeof(orig) - 1, event_name_hash_inline(orig, sizeof(orig) - 1));
}

static void
match_captures(struct rule_mctx *m, const struct rule_value *v, struct event *ev,
               const char *subject)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
    uint32_t npairs = pcre2_get_ovector_count(m->md);

    for (uint32_t i = 0; i < v->ncaps; i++) {
        uint32_t g = v->caps[i].group;
        if (g >= npairs || ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] < ov[2 * g]) {
            continue;
        }
        (void)event_add(ev, v->caps[i].field, v->caps[i].field_len,
                        event_strdup(ev, subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g]),
                        ov[2 * g + 1] - ov[2 * g]);
    }
}

/* Does any instance (from index first on) match value v? Adds captures on success. */
static int
match_value(struct rule_mctx *m, const struct rule_test *t, const struct rule_value *v,
            struct event *ev, uint32_t first)
{
    const struct event_field *f = &ev->fields[first];

    for (; f != NULL; f = event_find_next(ev, f)) {
        switch (v->kind) {
        case RULE_V_RE:
            if (rule_regex_match(m, v, f->value, f->value_len)) {
                if (v->ncaps > 0) {
                    match_captures(m, v, ev, f->value); /* may move ev->fields */
                }
                return 1;
            }
            break;
        case RULE_V_CIDR:
            if (rule_value_cidr_match(v, f->value, f->value_len)) {
                return 1;
            }
            break;
        case RULE_V_NUMEQ: {
            char key[RULE_NUMKEY_MAX];
            if (rule_value_num_key(f->value, f->value_len, key) == 0 &&
                strcmp(key, v->numkey) == 0) {
                return 1;
            }
            break;
        }
        case RULE_V_NUMCMP: {
            double d;
            if (rule_value_num_parse(f->value, f->value_len, &d) == 0) {
                int r = v->cmp == RULE_CMP_LT    ? d < v->num
                        : v->cmp == RULE_CMP_LTE ? d <= v->num
                        : v->cmp == RULE_CMP_GT  ? d > v->num
                                                 : d >= v->num;
                if (r) {
                    return 1;
                }
            }
            break;
        }
        default:
            if (rule_value_match_str(v, t->cased, f->value, f->value_len)) {
                return 1;
            }
            break;
        }
    }
    return 0;
}

/* Evaluate one field test on ev (may add captures). Returns 1 or 0. */
int
rule_match_test(struct rule_mctx *m, const struct rule_test *t, struct event *ev)
{
    const struct event_field *f;
    uint32_t first;
    int r;

    f = t->field != NULL ? event_find(ev, t->field, t->field_len, t->field_hash)
                         : rule_match_keyword_field(ev);
    switch (t->op) {
    case RULE_T_EXISTS:
        return (f != NULL) == t->exists;
    case RULE_T_NULL:
        for (; f != NULL; f = event_find_next(ev, f)) {
            if (f->value_len > 0) {
                return 0;
            }
        }
        return 1;
    case RULE_T_VALUES:
        break;
    }
    if (f == NULL) {
        return 0; /* a missing field matches nothing, not even neq */
    }
    first = (uint32_t)(f - ev->fields);
    if (t->all) {
        r = 1;
        for (uint32_t i = 0; i < t->nvals && r; i++) {
            r = match_value(m, t, &t->vals[i], ev, first);
        }
    } else {
        r = 0;
        for (uint32_t i = 0; i < t->nvals && !r; i++) {
            r = match_value(m, t, &t->vals[i], ev, first);
        }
    }
    return t->neq ? !r : r;
}

/* Evaluate a group (every test, in order); a failing group takes back its captures. */
int
rule_match_group(struct rule_mctx *m, const struct rule_group *g, struct event *ev)
{
    uint32_t n0 = ev->nfields;

    for (uint32_t i = 0; i < g->ntests; i++) {
        if (!rule_match_test(m, &g->tests[i], ev)) {
            ev->nfields = n0;
            return 0;
        }
    }
    return 1;
}

/* Evaluate selection sel of rule (memoised for this rule evaluation). Returns 1 or 0. */
int
rule_match_sel(struct rule_mctx *m, const struct rule *rule, uint32_t sel, struct event *ev)
{
    const struct rule_sel *s = &rule->det->sels[sel];
    int r = 0;

    if (m->memo[sel] != 0) {
        return m->memo[sel] == 2;
    }
    for (uint32_t g = 0; g < s->ngroups && !r; g++) {
        r = rule_match_group(m, &s->groups[g], ev);
    }
    m->memo[sel] = (uint8_t)(r ? 2 : 1);
    return r;
}

static int
match_cond(struct rule_mctx *m, const struct rule *rule, const struct rule_cexpr *e,
           struct event *ev)
{
    switch (e->op) {
    case RULE_C_SEL:
        return rule_match_sel(m, rule, e->sel, ev);
    case RULE_C_NOT:
        return !match_cond(m, rule, e->kids[0], ev);
    case RULE_C_AND:
        for (uint32_t i = 0; i < e->nkids; i++) {
            if (!match_cond(m, rule, e->kids[i], ev)) {
                return 0;
            }
        }
        return 1;
    case RULE_C_OR:
        for (uint32_t i = 0; i < e->nkids; i++) {
            if (match_cond(m, rule, e->kids[i], ev)) {
                return 1;
            }
        }
        return 0;
    }
    return 0;
}

/*
 * Evaluate a detection rule on ev. Captured fields stay on the event; the caller truncates
 * ev->nfields afterwards. Returns 1 if the rule matches.
 */
int
rule_match_rule(struct rule_mctx *m, const struct rule *rule, struct event *ev)
{
    const struct rule_detection *det = rule->det;

    memset(m->memo, 0, det->nsels);
    for (uint32_t i = 0; i < det->nproducers; i++) {
        (void)rule_match_sel(m, rule, det->producers[i], ev);
    }
    return match_cond(m, rule, det->cond, ev);
}

/*
 * Match ev against the detection rules the prefilter lets through (all of them with
 * no_prefilter), in rule order; cb(arg, rule, ev) for each match, with the rule's captures
 * on ev, removed again afterwards. Returns the number of matches. Never allocates except
 * captured values in ev's arena; not reentrant (one thread, no nested call on one set).
 */
int
ruleset_match(struct ruleset *rs, struct event *ev, ruleset_match_cb cb, void *arg)
{
    const uint32_t *cand;
    uint32_t n, n0 = ev->nfields;
    int count = 0;

    if (rs->opts.no_prefilter || rs->pf == NULL) {
        cand = rs->all_cands;
        n = rs->ndet;
    } else {
        cand = rule_prefilter_run(rs->pf, ev, &n);
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct rule *rule = rs->det[cand[i]];
        rs->stats.evaluated++;
        if (rule_match_rule(&rs->m, rule, ev)) {
            rs->stats.matched++;
            count++;
            if (cb != NULL) {
                cb(arg, rule, ev);
            }
        }
        ev->nfields = n0;
    }
    return count;
}
