/*
 * temporal_ordered: the referenced rules seen per group in the listed order, the whole
 * sequence within the timespan (first step at s, last before s + timespan). A rule may be
 * listed more than once ("fail, fail, success"); one event advances one step.
 */
#include "corr-int.h"

static int
corr_sequence_compile(struct corr_rule *cr, const struct rule *rule, const struct ynode *corr,
                      const struct ynode *cond, struct errlist *errs)
{
    const char *file = rule->file ? rule->file : "?";

    if (cr->nrefs < 2) {
        errlist_add(errs, file, cr->line, cr->col,
                    "rule %s: temporal_ordered needs at least two rules", rule->id);
        return -1;
    }
    if (cr->nvalues > 0) {
        errlist_add(errs, file, cr->line, cr->col, "rule %s: temporal_ordered takes no field",
                    rule->id);
        return -1;
    }
    if (cond != NULL) {
        errlist_add(errs, file, cond->line, cond->col,
                    "rule %s: temporal_ordered takes no condition: every step must be seen, "
                    "in order", rule->id);
        return -1;
    }
    cr->spec.kind = STATE_SEQUENCE;
    cr->spec.nsteps = (uint32_t)cr->nrefs;
    return 0;
}

static int
corr_sequence_feed(const struct corr_feed_ctx *ctx, struct state_input *in,
                   struct state_result *res)
{
    in->step = ctx->ref;
    return state_sequence_advance(ctx->st, ctx->slot, ctx->key, ctx->key_len, in, res);
}

const struct corr_type corr_sequence_type = {
    .name = "temporal_ordered",
    .compile = corr_sequence_compile,
    .feed = corr_sequence_feed,
};
