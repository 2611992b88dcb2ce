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
    uint64_t max_groups_per_rule;  /* 0: default (1,000,000) */
    uint64_t max_groups_total;     /* 0: default (4,000,000) */
    /* Appended after 0.1 (zero keeps the old behaviour): */
    int auto_watermark;            /* 1: the engine advances its own clock to the highest
                                      event time fed minus allowed_lateness (one source,
                                      tests, benchmarks); 0: only corr_engine_advance() */
    int process_late;              /* 1: a late event is still correlated, at the watermark
                                      (policy "process"); 0: it is only counted */
    uint64_t max_pending_bytes;    /* bound of the reorder buffer; 0: default (64 MiB) */
    int async;                     /* 1: drive even a synchronous store through its
                                      asynchronous interface (tests); an asynchronous store
                                      (Redis) always is */
    uint64_t max_inflight;         /* asynchronous: matches in flight before
                                      corr_engine_ready() says 0; 0: default (32,768) */
};

struct corr_engine;

struct corr_engine *corr_engine_new(const struct corr_opts *opts, corr_alert_cb cb, void *arg);
void corr_engine_free(struct corr_engine *eng);
/*
 * Use rule set rs from now on. State of correlation rules whose id and definition hash are
 * unchanged is kept; the rest is dropped and logged. rs must outlive its use.
 */
void corr_engine_set_ruleset(struct corr_engine *eng, const struct ruleset *rs);
/*
 * One rule match (called from the ruleset_match callback, in arrival order). The engine
 * copies what it needs; ev is not kept. An event whose time is at or above the watermark
 * waits in a bounded reorder buffer until the watermark passes it, so events within the
 * allowed lateness are correlated in event-time order whatever order they arrived in.
 * Returns 0, or 1 when the event is late (below the watermark): it is counted and, unless
 * opts.process_late, not correlated; the caller applies its late-event policy.
 */
int corr_engine_feed(struct corr_engine *eng, const struct rule *rule, const struct event *ev);
/* The event-time clock moved to watermark_us: expire windows, fire absence alerts. */
void corr_engine_advance(struct corr_engine *eng, int64_t watermark_us);
/* Write the live state as JSON (for --dump-state and SIGUSR1); format in CORRELATION.md. */
int corr_engine_dump(const struct corr_engine *eng, FILE *out);

/*
 * Like corr_engine_set_ruleset() for a plain array of rules (rules[i]->index == i), already
 * linked with corr_rules_link(). The array is copied; the rules must outlive their use.
 */
void corr_engine_set_rules(struct corr_engine *eng, const struct rule *const *rules, size_t n);
/* End of input: advance the clock to the highest event time fed (no further). */
void corr_engine_finish(struct corr_engine *eng);
/* The engine's event-time clock (INT64_MIN before the first advance). */
int64_t corr_engine_watermark(const struct corr_engine *eng);
/*
 * Matches waiting in the reorder buffer are not yet correlated, so their source position
 * must not be acknowledged (committed) yet. Sets *pos to the lowest position (Kafka offset,
 * or line for files) among waiting events of (input, partition) and returns 1; returns 0
 * when none waits. Cost: one pass over the waiting events.
 */
int corr_engine_pending_min(const struct corr_engine *eng, uint32_t input, int32_t partition,
                            int64_t *pos);

struct corr_stats {
    uint64_t fed;              /* matches fed for rules some correlation references */
    uint64_t late;             /* of those, below the watermark */
    uint64_t late_processed;   /* late ones correlated anyway (opts.process_late) */
    uint64_t pending;          /* events waiting in the reorder buffer now */
    uint64_t pending_bytes;
    uint64_t forced;           /* released early because the reorder buffer was full */
    uint64_t skipped;          /* events lacking a group-by or value field */
    uint64_t absorbed;         /* events that fell in a suppression period */
    uint64_t alerts;           /* alerts raised */
    uint64_t alerts_delivered; /* of those, handed to the callback (rule->generate) */
    uint64_t reload_dropped;   /* pending events whose rule vanished on reload */
    uint64_t groups;           /* live groups */
    uint64_t expired;
    uint64_t evicted;          /* groups dropped early at a limit */
    uint64_t truncated;        /* entries dropped early from a full group */
    uint64_t state_bytes;      /* memory held by the state store */
    uint64_t created;          /* groups created since the engine started */
    /* Appended (asynchronous stores): */
    uint64_t inflight;         /* matches whose state operations are in flight */
    uint64_t failed_ops;       /* operations the store refused (not transient failures) */
    uint64_t behind;           /* correlated at their own time below the clock
                                  (corr_engine_feed_own_time) */
};
void corr_engine_get_stats(const struct corr_engine *eng, struct corr_stats *out);

/*
 * --- Asynchronous state stores (Redis; docs/STATE.md) ---
 * The engine then submits the state operations of each released match and finishes the
 * match (alerts, chaining) when every answer is in, in release order. A match the engine
 * copied (into the reorder buffer or in flight) is "retained": the input must not consider
 * its record complete until done_cb names its source. The same holds on the synchronous path
 * for matches that waited in the reorder buffer.
 */
struct state_store;

/* A retained match is finished; src is the event_source it was fed with (a copy). */
typedef void (*corr_done_cb)(void *arg, const struct event_source *src);
/* The state store takes operations again after corr_engine_ready() said 0. */
typedef void (*corr_ready_cb)(void *arg);

/* Like corr_engine_new() over store st, which the engine takes over (NULL: in-memory). */
struct corr_engine *corr_engine_new_with_store(const struct corr_opts *opts,
                                               struct state_store *st, corr_alert_cb cb,
                                               void *arg);
void corr_engine_set_done_cb(struct corr_engine *eng, corr_done_cb done, corr_ready_cb ready,
                             void *arg);
/*
 * Matches retained since the engine started. A caller compares it before and after
 * corr_engine_feed() calls for one event to learn how many done_cb calls to expect (some
 * may already have come during the feed itself).
 */
uint64_t corr_engine_retained(const struct corr_engine *eng);
/*
 * 1 when the state store takes more operations now and the matches in flight are within
 * opts.max_inflight; 0: the input should pause (the ready callback says when to resume).
 */
int corr_engine_ready(struct corr_engine *eng);
/* Matches whose state operations are in flight. */
uint64_t corr_engine_inflight(const struct corr_engine *eng);
/*
 * Stopping (asynchronous stores only): submit every match waiting in the reorder buffer now,
 * in order, without moving the clock, so that their records can be completed and committed.
 */
void corr_engine_release(struct corr_engine *eng);
/*
 * For stores whose groups each come from one source (a Kafka topic keyed by the group, as a
 * shared Redis store requires; docs/STATE.md): a match below the clock is not late here when
 * its own source is not late (the caller decides that against the source's watermark, e.g.
 * a partition taken over from another process, which restarts from its committed offset):
 * it is correlated at once, at its own time, and counted in `behind`. Above the clock it
 * goes through the reorder buffer as with corr_engine_feed(). Asynchronous stores only;
 * with a synchronous one this is corr_engine_feed(). Returns 0.
 */
int corr_engine_feed_own_time(struct corr_engine *eng, const struct rule *rule,
                              const struct event *ev);
/* The engine's state store (owned by the engine). */
struct state_store *corr_engine_store(struct corr_engine *eng);
/*
 * This process applied source (topic, partition) up to watermark_us; idle: nothing to read
 * there lately (see state_publish()).
 */
void corr_engine_publish(struct corr_engine *eng, const char *source, int32_t partition,
                         int64_t watermark_us, int idle);

#endif
