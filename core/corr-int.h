/*
 * Correlation internals shared by corr.c, corr-rule.c, corr-engine.c and the type files
 * (corr-count.c, corr-sum.c, corr-distinct.c, corr-sequence.c, corr-absence.c). Nothing
 * outside corr-*.c includes this header.
 */
#ifndef KZ_CORR_INT_H
#define KZ_CORR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "corr.h"
#include "state.h"

/* Longest group key kept verbatim; longer keys are cut and suffixed with a hash. */
#define CORR_KEY_MAX 1024
/* Most rules one correlation may reference. */
#define CORR_MAX_REFS 16
/* Longest timespan or suppression (ten years), so that times plus durations cannot overflow. */
#define CORR_MAX_DURATION_US (INT64_C(3650) * 86400 * 1000000)
/* Event times the engine accepts: years 1 to 9999 (others are skipped and counted). */
#define CORR_MIN_TIME_US (-INT64_C(62135596800000000))
#define CORR_MAX_TIME_US INT64_C(253402300799999999)

/* A field name with its precomputed event_name_hash(). */
struct corr_field {
    char *name; /* owned */
    size_t len;
    uint32_t hash;
};

/* One entry of `rules:`. */
struct corr_ref {
    char *id;                  /* as written (owned) */
    int line;
    int col;
    const struct rule *rule;   /* resolved by corr_rules_link(); not owned */
    struct corr_field *group;  /* ngroup fields read from this rule's events (aliases applied) */
    struct corr_field *values; /* nvalues fields of the `field:` (aliases applied) */
};

struct corr_type;

/* A compiled `correlation:` block; hangs off rule->corr and is owned by the rule. */
struct corr_rule {
    const struct corr_type *type;
    struct corr_ref *refs;
    size_t nrefs;
    char **group_by;      /* group-by names as written (alert group field names) */
    size_t ngroup;
    char **value_names;   /* `field:` names as written */
    size_t nvalues;
    char *value_label;    /* the value field name in evidence ("a" or "a,b") */
    int64_t timespan_us;
    int64_t suppress_us;  /* -1: until the end of the window that fired */
    int generate;         /* `generate:` (default 0, as in Sigma) */
    int line;
    int col;
    struct state_slot_spec spec; /* spec.rule_id points at the rule's id */
};

/* What a type needs to process one event of reference `ref`. */
struct corr_feed_ctx {
    struct state_store *st;
    uint32_t slot;
    const struct corr_rule *cr;
    uint32_t ref;
    const char *key;
    size_t key_len;
    const struct event *ev;
    struct buf *scratch;   /* reusable buffer for values */
};

/* One correlation type: its name, how it compiles, how it feeds the state store. */
struct corr_type {
    const char *name;
    /*
     * Check the type's constraints (rules, condition, field) on a parsed rule and fill
     * cr->spec. cond_node may be NULL. Errors go to errs naming file:line:col. Returns 0/-1.
     */
    int (*compile)(struct corr_rule *cr, const struct rule *rule, const struct ynode *corr,
                   const struct ynode *cond_node, struct errlist *errs);
    /*
     * Feed one event: in has time and source set; the type adds its part (step, value,
     * number) and calls the state operation. Returns 0 (res filled), 1 when the event lacks
     * what the type needs (not counted), -1 on a store failure.
     */
    int (*feed)(const struct corr_feed_ctx *ctx, struct state_input *in, struct state_result *res);
};

extern const struct corr_type corr_count_event_type;    /* event_count (corr-count.c) */
extern const struct corr_type corr_sum_type;            /* value_sum (corr-sum.c) */
extern const struct corr_type corr_sum_avg_type;        /* value_avg (corr-sum.c) */
extern const struct corr_type corr_distinct_value_type; /* value_count (corr-distinct.c) */
extern const struct corr_type corr_distinct_temporal_type; /* temporal (corr-distinct.c) */
extern const struct corr_type corr_sequence_type;       /* temporal_ordered (corr-sequence.c) */
extern const struct corr_type corr_absence_type;        /* absence (corr-absence.c) */

/* The type called name, or NULL. */
const struct corr_type *corr_type_find(const char *name);

/*
 * Set b to the group key of ev for fields f[0..n): values joined by '|', '|' and '\'
 * escaped with '\'; the first value of a multi-valued field. Keys longer than CORR_KEY_MAX
 * are cut and end in '#' and 16 hex digits of a hash of the whole key. Returns 0, or -1
 * when a field is missing (the event does not take part).
 */
int corr_key_build(struct buf *b, const struct event *ev, const struct corr_field *f, size_t n);
/*
 * Split a key built by corr_key_build back into n values, appended as name=value pairs
 * (names[i]) to fl. A cut key yields its visible part.
 */
void corr_key_split(struct alert_fields *fl, const char *key, size_t len, char *const *names,
                    size_t n);
/* Parse a field value as a finite number. Returns 0 or -1. */
int corr_number_parse(const char *s, size_t len, double *out);
/*
 * Parse a Sigma condition map (gt/gte/lt/lte/eq/neq; `field` is skipped) into c. Errors go
 * to errs. Returns 0/-1. An absent condition (node NULL) leaves c empty (always true).
 */
int corr_cond_parse(const struct ynode *node, const struct rule *rule, struct state_cond *c,
                    struct errlist *errs);
/* 1 if the condition has an upper bound or a `neq` (it can only be decided at window close). */
int corr_cond_needs_close(const struct state_cond *c);
/*
 * The smallest count that satisfies a lower-bounded condition (gte 5 -> 5, gt 5 -> 6), or 0
 * when the condition has no lower bound.
 */
uint64_t corr_cond_min_count(const struct state_cond *c);
/* Describe a condition as text ("gte 5", "gt 1 and lte 9") into buf. */
void corr_cond_format(const struct state_cond *c, char *buf, size_t len);

#endif
