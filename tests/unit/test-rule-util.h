/*
 * Helpers shared by the rule tests: write YAML into a temporary directory, load it as a
 * rule set, build events from name/value lists.
 */
#ifndef KZ_TEST_RULE_UTIL_H
#define KZ_TEST_RULE_UTIL_H

#include "errlist.h"
#include "event.h"
#include "rule.h"

/* A fresh temporary directory (removed by rt_cleanup at exit). */
const char *rt_dir(void);
/* Write text to rt_dir()/name; returns the path (static buffer rotated over 8 calls). */
const char *rt_write(const char *name, const char *text);
/* Load one path with opts (may be NULL); errors are appended to errs (may be NULL: printed). */
struct ruleset *rt_load(const char *path, const struct ruleset_opts *opts, struct errlist *errs);
/* Reset ev and add fields from {name, value, name, value, ..., NULL}. */
void rt_event(struct event *ev, const char *const *kv);
/* Remove the temporary directory. */
void rt_cleanup(void);

#endif
