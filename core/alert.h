/*
 * An alert as the host holds it. Plugins read it through the kz_host accessors
 * (plugin-host.c), never as JSON. An alert is built by the detection path (pipeline.c) or a
 * correlation (corr-*.c), handed to every partner, and freed by whoever built it once the
 * partners have formatted it; it does not outlive the rule set it points into.
 */
#ifndef KZ_ALERT_H
#define KZ_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "rule.h"

struct alert_field {
    char *name;  /* NUL-terminated, in the list's storage */
    char *value; /* NUL-terminated, in the list's storage */
    size_t name_len;
    size_t value_len;
};

struct alert_chunk; /* storage of names and values (alert.c) */

/* A list of name/value pairs; it owns its array and the storage of every string. */
struct alert_fields {
    struct alert_field *v;
    size_t n;
    size_t cap;
    struct alert_chunk *chunks;
};

/* Number of evidence events kept per alert. */
#define ALERT_MAX_EVIDENCE 10

struct alert {
    char id[33];               /* kizuna.alert_id */
    const struct rule *rule;   /* not owned */
    const char *corr_type;     /* static string, NULL for detections */
    int64_t time_us;           /* event time the alert was raised at */
    int64_t first_us;
    int64_t last_us;
    uint64_t count;
    double value;
    int has_value;
    char *group_key;            /* owned; "" when no group-by */
    struct alert_fields group;  /* group-by field values */
    struct alert_fields fields; /* fields of the (last) matched event */
    struct alert_fields *evidence; /* owned array of nevidence field lists */
    size_t nevidence;
    /* Set by the host for each delivery. */
    const char *tlp;
    const char *partner;
    const char *host_name;
};

/* A new empty alert for rule; caller frees with alert_free(). */
struct alert *alert_new(const struct rule *rule);
void alert_free(struct alert *a);
/* Append a copy of name/value to a field list. */
void alert_fields_add(struct alert_fields *fl, const char *name, size_t name_len,
                      const char *value, size_t value_len);
/* Copy every field of ev into a field list. */
void alert_fields_from_event(struct alert_fields *fl, const struct event *ev);
void alert_fields_free(struct alert_fields *fl);
/* Add one evidence entry (copies fields); ignored beyond ALERT_MAX_EVIDENCE. */
struct alert_fields *alert_add_evidence(struct alert *a);
/*
 * Compute a->id = hash(rule id, rule hash, group key, window start) as 32 hex digits.
 * Same inputs, same id: on replay, after a crash, on any instance.
 */
void alert_compute_id(struct alert *a, const char *group_key, int64_t window_start_us);
/* Find the first value of a field in a list, or NULL. */
const struct alert_field *alert_fields_get(const struct alert_fields *fl, const char *name);

#endif
