/*
 * Helpers shared by the correlation tests: load rules from YAML text, feed hand-built
 * events to an engine, and record the alerts it raises.
 */
#ifndef KZ_TEST_CORR_UTIL_H
#define KZ_TEST_CORR_UTIL_H

#include <stdint.h>

#include "alert.h"
#include "corr.h"
#include "rule.h"

#define CT_SEC INT64_C(1000000)
/* An arbitrary epoch for test streams: 2024-09-10T06:55:00Z. */
#define CT_T0 INT64_C(1725951300000000)

/* One recorded alert (copies of what the tests look at). */
struct ct_alert {
    char id[33];
    char *rule;
    const char *type;
    char *key;
    int64_t time_us;
    int64_t first_us;
    int64_t last_us;
    uint64_t count;
    int has_value;
    double value;
    size_t nev;
    char *evidence;  /* "source@time;source@time;..." */
    char *ev_values; /* value / rule.id field of each evidence entry, ';'-separated */
    char *group;     /* "name=value,name=value" */
    char *fields;    /* "name=value,..." of the alert's fields */
};

struct ct_sink {
    struct ct_alert *v;
    size_t n;
};

/* corr_alert_cb that appends a copy to the struct ct_sink in arg. */
void ct_sink_cb(void *arg, struct alert *a);
void ct_sink_reset(struct ct_sink *s);
/* Alerts as text lines "rule key time first last count" (one per line, for comparisons). */
char *ct_sink_text(const struct ct_sink *s);

/* Write yaml to a temporary file and load it; load errors are printed as TAP comments. */
struct ruleset *ct_load(const char *yaml);
/* Same, collecting errors into errs instead (for tests of refusals). */
struct ruleset *ct_load_errs(const char *yaml, struct errlist *errs);

/*
 * Feed one match of rule `rule_id` at time t with fields {name, value, ..., NULL}; source
 * "test.log" at line `line`. Returns what corr_engine_feed returned (-1: no such rule).
 */
int ct_feed(struct corr_engine *eng, const struct ruleset *rs, const char *rule_id, int64_t t,
            uint64_t line, const char *const *kv);

/* Remove the temporary files. */
void ct_cleanup(void);

#endif
