/*
 * The metrics registry and the Prometheus text exposition format (version 0.0.4).
 *
 * A subsystem registers a metric family once (name, type, help) with a collect callback;
 * at scrape time the callback appends the family's samples through a writer:
 *
 *     static void
 *     input_events_collect(struct metrics_writer *w, void *arg)
 *     {
 *         struct input *in = arg;
 *         metrics_sample_labels(w, (double)in->events, "input", in->name, NULL);
 *     }
 *     metrics_register(reg, "kizuna_input_events_total", METRICS_COUNTER,
 *                      "Events read by the input.", input_events_collect, in);
 *
 * Several collectors may register under the same name (one per input, per rule, per
 * partner): the registry keeps one family, prints HELP and TYPE once and calls every
 * collector of the family in registration order, so the family's samples stay together as
 * the format requires. metrics_unregister_arg() removes every collector of one instance
 * (an input closed, a rule set replaced on SIGHUP); a family left without collectors is
 * removed too.
 *
 * For a single unlabelled number there is a shortcut that reads a uint64_t by pointer at
 * scrape time: metrics_register_u64().
 *
 * Threads: everything here runs on the loop thread (the HTTP server calls the collectors
 * from the loop), so collectors read their counters without locks.
 */
#ifndef KZ_METRICS_H
#define KZ_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum metrics_type {
    METRICS_COUNTER, /* only goes up (resets on restart); name ends in _total by convention */
    METRICS_GAUGE,   /* goes up and down */
    METRICS_UNTYPED,
};

struct metrics_registry;
struct metrics_writer;

/* Append the samples of one family to w; arg is the pointer given at registration. */
typedef void (*metrics_collect_cb)(struct metrics_writer *w, void *arg);

/* A new empty registry; the caller owns it and frees it with metrics_registry_free(). */
struct metrics_registry *metrics_registry_new(void);
/* Free the registry and its families (the collectors' args are not touched). NULL is ok. */
void metrics_registry_free(struct metrics_registry *reg);

/*
 * Add a collector to the family `name` (created on first use; name and help are copied).
 * The name must match [a-zA-Z_:][a-zA-Z0-9_:]*; registering an existing name with another
 * type is a programming error (assert; ignored with a log line under NDEBUG). The first
 * registration's help text is kept. arg is borrowed: it must stay valid until the collector
 * is unregistered or the registry freed.
 */
void metrics_register(struct metrics_registry *reg, const char *name, enum metrics_type type,
                      const char *help, metrics_collect_cb cb, void *arg);
/*
 * Shortcut: a family with one unlabelled sample whose value is *value at scrape time.
 * value is borrowed like arg above (unregister it with metrics_unregister_arg(reg, value)).
 */
void metrics_register_u64(struct metrics_registry *reg, const char *name, enum metrics_type type,
                          const char *help, const uint64_t *value);
/* Remove every collector registered with this arg; returns how many were removed. */
int metrics_unregister_arg(struct metrics_registry *reg, const void *arg);
/* Remove the family `name` and all its collectors; returns 0, or -1 when unknown. */
int metrics_unregister(struct metrics_registry *reg, const char *name);

/*
 * Render every family into out (appended) in the text exposition format 0.0.4:
 * "# HELP", "# TYPE", then the samples, families in registration order.
 */
void metrics_render(struct metrics_registry *reg, struct buf *out);

/*
 * Append one sample of the family being collected. labels is NULL or "" for none, or the
 * text between the braces, already escaped: `input="auth",partition="0"` (build label
 * values with metrics_label_escape(), or use metrics_sample_labels()). Values print in the
 * shortest form that reads back exactly; NaN and infinities as NaN, +Inf, -Inf.
 */
void metrics_sample(struct metrics_writer *w, const char *labels, double value);
/* Same, for an integer value (exact above 2^53, where a double would round). */
void metrics_sample_u64(struct metrics_writer *w, const char *labels, uint64_t value);
/*
 * Append one sample with labels given as NULL-terminated (name, value) string pairs; the
 * values are escaped here: metrics_sample_labels(w, 3, "input", "auth", "partition", "0",
 * NULL). Label names are not checked beyond an assert ([a-zA-Z_][a-zA-Z0-9_]*).
 */
void metrics_sample_labels(struct metrics_writer *w, double value, ...) __attribute__((sentinel));

/*
 * Escape a label value for the exposition format (\ -> \\, " -> \", newline -> \n) and
 * append it to out (no quotes added). Bytes are otherwise copied as they are.
 */
void metrics_label_escape(struct buf *out, const char *value);

#endif
