/*
 * absence: an expected event does not arrive. With one rule, a heartbeat: a group (host,
 * sensor) that was seen and then stays silent for the timespan raises an alert when the
 * event-time clock passes last + timespan. With two rules, "A not followed by B": the first
 * A with nothing pending starts a window; a B of the same group within it answers it; the
 * alert fires when the clock passes first A + timespan. Alerts come from the engine's timers.
 */
#include "corr-int.h"

static int
corr_absence_compile(struct corr_rule *cr, const struct rule *rule, const struct ynode *corr,
                     const struct ynode *cond, struct errlist *errs)
{
    const char *file = rule->file ? rule->file : "?";

    if (cr->nrefs > 2) {
        errlist_add(errs, file, cr->line, cr->col,
                    "rule %s: absence takes one rule (a heartbeat) or two (A not followed by "
                    "B)", rule->id);
        return -1;
    }
    if (cr->nvalues > 0 || cond != NULL) {
        errlist_add(errs, file, cond ? cond->line : cr->line, cond ? cond->col : cr->col,
                    "rule %s: absence takes no field and no condition", rule->id);
        return -1;
    }
    cr->spec.kind = STATE_ABSENCE;
    cr->spec.nsteps = (uint32_t)cr->nrefs;
    return 0;
}

static int
corr_absence_feed(const struct corr_feed_ctx *ctx, struct state_input *in,
                  struct state_result *res)
{
    in->step = ctx->ref;
    return state_absence_touch(ctx->st, ctx->slot, ctx->key, ctx->key_len, in, res);
}

const struct corr_type corr_absence_type = {
    .name = "absence",
    .compile = corr_absence_compile,
    .feed = corr_absence_feed,
};
