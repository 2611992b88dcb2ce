/*
 * Correlation: rules with a `correlation:` block, evaluated over sliding windows on event
 * time (see docs/CORRELATION.md). corr-rule.c compiles and links correlation rules;
 * corr.c and corr-*.c evaluate them; state goes through the state store (state.h).
 * One engine lives on the loop thread; nothing here reads the wall clock.
 */
#ifndef KZ_CORR_H
#define KZ_CORR_H

#include <stdint.h>
#include <stdio.h>

#include "alert.h"
#include "errlist.h"
#include "event.h"
#include "rule.h"
#include "yaml-tree.h"

/*
 * Compile the `correlation:` node of a rule document into rule->corr (rule->kind is
 * RULE_CORRELATION; id, title, level, tags are already set). Errors go to errs with
 * file:line:col. Returns 0 or -1.
 */
int corr_rule_compile(const struct ynode *corr, struct rule *rule, struct errlist *errs);
/*
 * Resolve the rule ids correlations reference, once every rule of the set is loaded; sets
 * rule->generate of referenced rules per `generate:`. Rules that cannot be linked are
 * reported and marked unusable (rule->corr == NULL). Returns the number of errors.
 */
int corr_rules_link(struct rule **rules, size_t nrules, struct errlist *errs);
void corr_rule_free(struct corr_rule *cr);

/* Called with every alert an engine raises; the engine frees the alert after it returns. */
typedef void (*corr_alert_cb)(void *arg, struct alert *alert);

struct corr_opts {
    int64_t allowed_lateness_us;   /* watermark = highest event time - this */
    uint64_t max_groups_per_rule;  /* 0: default */
    uint64_t max_groups_total;     /* 0: default */
};

struct corr_engine;

struct corr_engine *corr_engine_new(const struct corr_opts *opts, corr_alert_cb cb, void *arg);
void corr_engine_free(struct corr_engine *eng);
/*
 * Use rule set rs from now on. State of correlation rules whose id and definition hash are
 * unchanged is kept; the rest is dropped and logged. rs must outlive its use.
 */
void corr_engine_set_ruleset(struct corr_engine *eng, const struct ruleset *rs);
/* One detection-rule match (called from the ruleset_match callback, in arrival order). */
void corr_engine_feed(struct corr_engine *eng, const struct rule *rule, const struct event *ev);
/* The event-time clock moved to watermark_us: expire windows, fire absence alerts. */
void corr_engine_advance(struct corr_engine *eng, int64_t watermark_us);
/* Write the live state as JSON (for --dump-state and SIGUSR1). */
int corr_engine_dump(const struct corr_engine *eng, FILE *out);

#endif
