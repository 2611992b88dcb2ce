/*
 * Distinct counts: value_count (N distinct values of `field` per group within the
 * timespan: port scans, password spraying) and temporal (the referenced rules all seen per
 * group within the timespan, in any order: a distinct count over which rule matched). A
 * value seen again only moves its time forward; the set slides like an event_count window.
 */
#include "corr-int.h"

static int
corr_distinct_value_compile(struct corr_rule *cr, const struct rule *rule,
                            const struct ynode *corr, const struct ynode *cond,
                            struct errlist *errs)
{
    const char *file = rule->file ? rule->file : "?";
    struct state_cond c;
    uint64_t min;

    if (cr->nvalues == 0) {
        errlist_add(errs, file, cr->line, cr->col,
                    "rule %s: value_count needs the field whose values it counts "
                    "(condition: {field: user.name, gte: 10})", rule->id);
        return -1;
    }
    if (cond == NULL) {
        errlist_add(errs, file, corr->line, corr->col, "rule %s: value_count needs a condition",
                    rule->id);
        return -1;
    }
    if (corr_cond_parse(cond, rule, &c, errs) != 0) {
        return -1;
    }
    if (!c.has_lo && !c.has_hi && !c.has_neq) {
        errlist_add(errs, file, cond->line, cond->col,
                    "rule %s: condition needs gt, gte, lt, lte, eq or neq", rule->id);
        return -1;
    }
    cr->spec.kind = STATE_DISTINCT;
    cr->spec.cond = c;
    cr->spec.at_close = corr_cond_needs_close(&c);
    if (!cr->spec.at_close) {
        min = corr_cond_min_count(&c);
        if (min > 65535) {
            errlist_add(errs, file, cond->line, cond->col,
                        "rule %s: value_count thresholds above 65535 are not supported",
                        rule->id);
            return -1;
        }
        cr->spec.max_entries = (uint32_t)min;
    }
    return 0;
}

static int
corr_distinct_value_feed(const struct corr_feed_ctx *ctx, struct state_input *in,
                         struct state_result *res)
{
    const struct corr_ref *ref = &ctx->cr->refs[ctx->ref];

    if (corr_key_build(ctx->scratch, ctx->ev, ref->values, ctx->cr->nvalues) != 0) {
        return 1;
    }
    in->val = ctx->scratch->data;
    in->val_len = ctx->scratch->len;
    return state_distinct_add(ctx->st, ctx->slot, ctx->key, ctx->key_len, in, res);
}

static int
corr_distinct_temporal_compile(struct corr_rule *cr, const struct rule *rule,
                               const struct ynode *corr, const struct ynode *cond,
                               struct errlist *errs)
{
    const char *file = rule->file ? rule->file : "?";
    struct state_cond c;

    if (cr->nvalues > 0) {
        errlist_add(errs, file, cr->line, cr->col, "rule %s: temporal takes no field",
                    rule->id);
        return -1;
    }
    if (corr_cond_parse(cond, rule, &c, errs) != 0) {
        return -1;
    }
    if (!c.has_lo && !c.has_hi && !c.has_neq) {
        /* Sigma: all the referenced rules. */
        c.has_lo = 1;
        c.lo = (double)cr->nrefs;
    }
    if (c.has_lo && corr_cond_min_count(&c) > cr->nrefs) {
        errlist_add(errs, file, cond ? cond->line : corr->line, cond ? cond->col : corr->col,
                    "rule %s: the condition needs more rules than the %zu listed", rule->id,
                    cr->nrefs);
        return -1;
    }
    cr->spec.kind = STATE_DISTINCT;
    cr->spec.cond = c;
    cr->spec.nsteps = (uint32_t)cr->nrefs;
    cr->spec.at_close = corr_cond_needs_close(&c);
    return 0;
}

static int
corr_distinct_temporal_feed(const struct corr_feed_ctx *ctx, struct state_input *in,
                            struct state_result *res)
{
    in->step = ctx->ref;
    return state_distinct_add(ctx->st, ctx->slot, ctx->key, ctx->key_len, in, res);
}

const struct corr_type corr_distinct_value_type = {
    .name = "value_count",
    .compile = corr_distinct_value_compile,
    .feed = corr_distinct_value_feed,
};

const struct corr_type corr_distinct_temporal_type = {
    .name = "temporal",
    .compile = corr_distinct_temporal_compile,
    .feed = corr_distinct_temporal_feed,
};
