/*
 * Rules: what every rule has (identity, metadata) and the rule set the daemon matches
 * events against. Detection rules are compiled by rule-parse.c / rule-match.c; correlation
 * rules (a `correlation:` block) are compiled by corr-rule.c and evaluated by corr.c.
 *
 * A rule set is built completely, then swapped in between two events (SIGHUP); it is
 * immutable while in use. It owns every rule in it.
 */
#ifndef KZ_RULE_H
#define KZ_RULE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "errlist.h"
#include "event.h"

enum rule_level {
    RULE_LEVEL_INFORMATIONAL = 0,
    RULE_LEVEL_LOW,
    RULE_LEVEL_MEDIUM,
    RULE_LEVEL_HIGH,
    RULE_LEVEL_CRITICAL,
};

enum rule_kind { RULE_DETECTION, RULE_CORRELATION };

struct rule_detection;  /* private to rule-*.c */
struct corr_rule;       /* private to corr-*.c */

struct rule {
    char *id;
    char *title;
    enum rule_level level;
    char **tags;
    size_t ntags;
    char *file;   /* where it was defined */
    int line;
    char hash[17]; /* 16 hex digits: hash of the rule's canonical definition */
    enum rule_kind kind;
    int generate; /* 1: alerts on its own; 0: only feeds correlations (see corr) */
    uint32_t index; /* position in the rule set */
    struct rule_detection *det;
    struct corr_rule *corr;
};

struct ruleset_opts {
    uint32_t match_limit; /* PCRE2 match limit (0: library default) */
    uint32_t depth_limit; /* PCRE2 depth limit (0: library default) */
    int no_prefilter;     /* 1: evaluate every rule (tests, benchmarks) */
};

struct ruleset;

/*
 * Load every rule from the files matched by the globs `paths[0..npaths)`. Errors are
 * appended to errs as "FILE:LINE:COL: rule ID: message"; a bad rule (or file) does not stop
 * the others loading. Returns 0 and a new rule set in *out (caller frees) even when some
 * rules were refused; returns -1 only when nothing could be built.
 */
int ruleset_load(const char *const *paths, size_t npaths, const struct ruleset_opts *opts,
                 struct ruleset **out, struct errlist *errs);
void ruleset_free(struct ruleset *rs);

size_t ruleset_count(const struct ruleset *rs);
const struct rule *ruleset_rule(const struct ruleset *rs, size_t i);
const struct rule *ruleset_find(const struct ruleset *rs, const char *id);

/*
 * Called once per detection rule that matches, in rule order. Inside the callback the event
 * also carries the fields the rule captured (named captures mapped by `fields:`); they are
 * removed again when the callback returns.
 */
typedef void (*ruleset_match_cb)(void *arg, const struct rule *rule, struct event *ev);

/* Match one event against every detection rule. Returns the number of rules matched. */
int ruleset_match(struct ruleset *rs, struct event *ev, ruleset_match_cb cb, void *arg);

/* Counters, for metrics and the shutdown summary. */
struct ruleset_stats {
    uint64_t evaluated;     /* rules evaluated after the prefilter */
    uint64_t matched;
    uint64_t match_limit_hits;
};
void ruleset_get_stats(const struct ruleset *rs, struct ruleset_stats *out);

const char *rule_level_name(enum rule_level level);
int rule_level_parse(const char *s, enum rule_level *out);

/*
 * Rule test mode: evaluate every detection rule on ev (no prefilter shortcut) and print to
 * out which match, with the fields they capture; with verbose, also why each other rule
 * does not match (the prefilter's verdict, the condition, each selection's value and the
 * first failing test of every false selection, with the event's value). Returns the number
 * of matching rules. Captured fields are removed again; the stats are not counted.
 */
int ruleset_explain(struct ruleset *rs, struct event *ev, FILE *out, int verbose);

#endif
