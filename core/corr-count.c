/*
 * event_count: N events of the referenced rules per group within the timespan. With a lower
 * bound only ({gte: 5}) the window slides and the alert fires on the event that reaches the
 * bound (SEC SingleWithThreshold on event time); with an upper bound, eq or neq the window
 * [first, first + timespan) is evaluated once when it closes.
 */
#include "corr-int.h"

static int
corr_count_compile(struct corr_rule *cr, const struct rule *rule, const struct ynode *corr,
                   const struct ynode *cond, struct errlist *errs)
{
    struct state_cond c;
    uint64_t min;

    if (cr->nvalues > 0) {
        errlist_add(errs, rule->file ? rule->file : "?", cr->line, cr->col,
                    "rule %s: event_count takes no field (did you mean value_count?)", rule->id);
        return -1;
    }
    if (cond == NULL) {
        errlist_add(errs, rule->file ? rule->file : "?", corr->line, corr->col,
                    "rule %s: event_count needs a condition such as {gte: 5}", rule->id);
        return -1;
    }
    if (corr_cond_parse(cond, rule, &c, errs) != 0) {
        return -1;
    }
    if (!c.has_lo && !c.has_hi && !c.has_neq) {
        errlist_add(errs, rule->file ? rule->file : "?", cond->line, cond->col,
                    "rule %s: condition needs gt, gte, lt, lte, eq or neq", rule->id);
        return -1;
    }
    cr->spec.kind = STATE_WINDOW;
    cr->spec.agg = STATE_AGG_COUNT;
    cr->spec.cond = c;
    cr->spec.at_close = corr_cond_needs_close(&c);
    if (!cr->spec.at_close) {
        min = corr_cond_min_count(&c);
        if (min > 65535) {
            errlist_add(errs, rule->file ? rule->file : "?", cond->line, cond->col,
                        "rule %s: a sliding event_count keeps every event of the window; "
                        "thresholds above 65535 are not supported", rule->id);
            return -1;
        }
        cr->spec.max_entries = (uint32_t)min;
    }
    return 0;
}

static int
corr_count_feed(const struct corr_feed_ctx *ctx, struct state_input *in,
                struct state_result *res)
{
    return state_window_add(ctx->st, ctx->slot, ctx->key, ctx->key_len, in, res);
}

const struct corr_type corr_count_event_type = {
    .name = "event_count",
    .compile = corr_count_compile,
    .feed = corr_count_feed,
};
