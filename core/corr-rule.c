/*
 * Correlation rule compilation. Placeholder until the correlation engine lands: every
 * correlation rule is refused with a clear message.
 */
#include "corr.h"

int
corr_rule_compile(const struct ynode *corr, struct rule *rule, struct errlist *errs)
{
    errlist_add(errs, rule->file, corr->line, corr->col,
                "rule %s: correlation rules are not supported by this build", rule->id);
    return -1;
}

int
corr_rules_link(struct rule **rules, size_t nrules, struct errlist *errs)
{
    return 0;
}

void
corr_rule_free(struct corr_rule *cr)
{
}
