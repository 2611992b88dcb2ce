/*
 * value_sum and value_avg: the sum (average) of a numeric field of the events per group
 * within the timespan. value_sum with a lower bound only slides like event_count and fires
 * on the event that reaches the bound; value_avg, and value_sum with an upper bound, eq or
 * neq, are evaluated once when the window [first, first + timespan) closes. Events whose
 * field is missing or not a number do not take part.
 */
#include "corr-int.h"

static int
corr_sum_compile_common(struct corr_rule *cr, const struct rule *rule, const struct ynode *corr,
                        const struct ynode *cond, struct errlist *errs, int avg)
{
    const char *file = rule->file ? rule->file : "?";
    struct state_cond c;

    if (cr->nvalues != 1) {
        errlist_add(errs, file, cr->line, cr->col,
                    "rule %s: %s needs exactly one numeric field (condition: {field: bytes, "
                    "gt: 1000})", rule->id, avg ? "value_avg" : "value_sum");
        return -1;
    }
    if (cond == NULL) {
        errlist_add(errs, file, corr->line, corr->col, "rule %s: %s needs a condition",
                    rule->id, avg ? "value_avg" : "value_sum");
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
    cr->spec.kind = STATE_WINDOW;
    cr->spec.agg = avg ? STATE_AGG_AVG : STATE_AGG_SUM;
    cr->spec.cond = c;
    cr->spec.at_close = avg || corr_cond_needs_close(&c);
    return 0;
}

static int
corr_sum_compile(struct corr_rule *cr, const struct rule *rule, const struct ynode *corr,
                 const struct ynode *cond, struct errlist *errs)
{
    return corr_sum_compile_common(cr, rule, corr, cond, errs, 0);
}

static int
corr_sum_avg_compile(struct corr_rule *cr, const struct rule *rule, const struct ynode *corr,
                     const struct ynode *cond, struct errlist *errs)
{
    return corr_sum_compile_common(cr, rule, corr, cond, errs, 1);
}

static int
corr_sum_feed(const struct corr_feed_ctx *ctx, struct state_input *in, struct state_result *res)
{
    const struct corr_field *f = &ctx->cr->refs[ctx->ref].values[0];
    const struct event_field *ef = event_find(ctx->ev, f->name, f->len, f->hash);

    if (ef == NULL || corr_number_parse(ef->value, ef->value_len, &in->num) != 0) {
        return 1;
    }
    return state_window_add(ctx->st, ctx->slot, ctx->key, ctx->key_len, in, res);
}

const struct corr_type corr_sum_type = {
    .name = "value_sum",
    .compile = corr_sum_compile,
    .feed = corr_sum_feed,
};

const struct corr_type corr_sum_avg_type = {
    .name = "value_avg",
    .compile = corr_sum_avg_compile,
    .feed = corr_sum_feed,
};
