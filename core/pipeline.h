/*
 * The path of one event (see DESIGN.md): size check -> decode -> late check -> detection
 * (prefilter + rules) -> correlation -> outputs. Inputs hand raw records to
 * pipeline_process(); it returns once the record is complete (decoded or dead-lettered,
 * matched, correlated, its alerts handed to every output), so the input may acknowledge it.
 *
 * The pipeline also keeps the event-time clock: one watermark per source (input, Kafka
 * partition) = highest event time seen minus the allowed lateness; the clock is the minimum
 * over active sources (a source idle longer than time.idle_source, or finished, stops
 * holding it back). The clock never goes backwards and never reads the wall clock except
 * to decide idleness.
 *
 * Runs on the loop thread only. The pipeline borrows conf, rule set, outputs, dead-letter
 * sink and correlation engine; their owner (main.c) keeps them alive and may swap the rule
 * set and outputs between two calls (SIGHUP).
 */
#ifndef KZ_PIPELINE_H
#define KZ_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "corr.h"
#include "deadletter.h"
#include "decode.h"
#include "event.h"
#include "output.h"
#include "rule.h"

struct pipeline_stats {
    uint64_t records;      /* records submitted */
    uint64_t bytes;
    uint64_t decoded;
    uint64_t dead_lettered;
    uint64_t no_time;      /* events stamped with their arrival time */
    uint64_t late;         /* events older than the watermark: they still raise detection
                              alerts; time.late_events decides whether correlations see
                              them (process), not (drop), or not and a copy goes to the
                              dead-letter sink (dead_letter) */
    uint64_t rule_matches; /* (event, detection rule) matches */
    uint64_t alerts;       /* alerts handed to the outputs */
};

/* Counters of one input (all its sources/partitions together). */
struct pipeline_input_stats {
    uint64_t records;
    uint64_t bytes;
    uint64_t decoded;
    uint64_t dead_lettered;
    uint64_t late;
    uint64_t no_time;
};

/* Counters of one rule of the current rule set (reset when a reload swaps the set). */
struct pipeline_rule_stats {
    uint64_t matches; /* detection rules: events matched */
    uint64_t alerts;  /* alerts raised by the rule (detection or correlation) */
};

struct pipeline;

struct pipeline *pipeline_new(const struct conf *conf, struct deadletter *dl);
/*
 * Like pipeline_new() with the correlation state in st (taken over; NULL: in memory). With
 * an asynchronous store (Redis) register pipeline_set_ack_cb() too.
 */
struct pipeline *pipeline_new_with_state(const struct conf *conf, struct deadletter *dl,
                                         struct state_store *st);
void pipeline_free(struct pipeline *p);
/* Swap in a new rule set / output set / conf between two events (borrowed). */
void pipeline_set_ruleset(struct pipeline *p, struct ruleset *rs);
void pipeline_set_outputs(struct pipeline *p, struct output_set *os);
void pipeline_set_conf(struct pipeline *p, const struct conf *conf);
/* The correlation engine the pipeline feeds (owned by the pipeline). */
struct corr_engine *pipeline_corr(struct pipeline *p);

/* pipeline_process() returns this when the record completes later (see pipeline_set_ack_cb). */
#define PIPELINE_PENDING 1

/*
 * Process one raw record (a line without its newline). src is copied as needed; data need
 * not be NUL-terminated. Returns 0: the record is complete and may be acknowledged; or, only
 * when an ack callback is registered, PIPELINE_PENDING: some of its correlation work waits
 * (in the reorder buffer, or for the state store's answer), and ack_cb will name src once
 * it is complete.
 */
int pipeline_process(struct pipeline *p, const struct event_source *src,
                     enum decode_format fmt, const char *data, size_t len);

/* A record that returned PIPELINE_PENDING is complete (src: its source position). */
typedef void (*pipeline_ack_cb)(void *arg, const struct event_source *src);
/* pipeline_ready() turned true again because the state store drained. */
typedef void (*pipeline_ready_cb)(void *arg);
/*
 * Track completion of records whose correlation is held (asynchronous state store, reorder
 * buffer): pipeline_process() may then return PIPELINE_PENDING for records of the inputs
 * named by pipeline_ack_input(), and ack(arg, src) follows for each such record once its
 * state writes are acknowledged and its alerts handed to the outputs. ready(arg) when the
 * store takes work again after pipeline_ready() said 0.
 * Without this call every record is complete when pipeline_process() returns.
 */
void pipeline_set_ack_cb(struct pipeline *p, pipeline_ack_cb ack, pipeline_ready_cb ready,
                         void *arg);
/*
 * Records of input `input` complete through the ack callback (Kafka: offsets are stored
 * then); records of other inputs (files) are complete when pipeline_process() returns,
 * whatever correlation work they left behind (pipeline_busy() still counts it).
 */
void pipeline_ack_input(struct pipeline *p, uint32_t input);
/* Records returned PIPELINE_PENDING and not acknowledged yet. */
uint64_t pipeline_pending(const struct pipeline *p);
/*
 * Stopping: hand every match waiting in the reorder buffer to the state store now (without
 * moving the clock), so their records can complete. Asynchronous stores only.
 */
void pipeline_release(struct pipeline *p);
/*
 * 1 while correlation work is in flight to the state store (operations, timer rounds). At
 * shutdown the daemon waits for 0 after pipeline_finish(), before the outputs stop.
 */
int pipeline_busy(struct pipeline *p);
/*
 * 1 when the pipeline can take a record now; 0 while an output cannot accept alerts (a
 * partner's spool is full) or the state store is saturated or unreachable: inputs pause
 * (Kafka: the record is offered again later) and resume when the output set calls its
 * writable callback, or the pipeline its ready callback (pipeline_set_ack_cb).
 */
int pipeline_ready(const struct pipeline *p);
/*
 * Records handed over between these two calls share one arrival time (read once), which
 * saves a clock read per record when an input hands over a whole chunk at once.
 */
void pipeline_begin_batch(struct pipeline *p);
void pipeline_end_batch(struct pipeline *p);
/*
 * Declare a file or stdin input before it starts: until it has produced its first event
 * (or finished, or been idle for time.idle_source) it holds the event clock back, so a
 * slow-starting input's events are not taken as late. Kafka partitions are declared when
 * they are assigned (pipeline_add_partition()).
 */
void pipeline_add_source(struct pipeline *p, uint32_t input);
/*
 * A Kafka partition was assigned to input `input`: like pipeline_add_source(), it holds the
 * event clock back until its first record (or until it has been idle for
 * time.idle_source), so that the partition that delivers its backlog first does not make
 * the others' events late. A partition seen before keeps its watermark.
 */
void pipeline_add_partition(struct pipeline *p, uint32_t input, int32_t partition);
/*
 * The partitions[0..n) are all input `input` is assigned now (polled by the daemon): the
 * others were revoked and stop holding the clock at once (not after time.idle_source), and
 * a shared store no longer hears about them from this process.
 */
void pipeline_set_partitions(struct pipeline *p, uint32_t input, const int32_t *parts,
                             size_t n);
/* Input `input` reached its end (finite inputs): it stops holding the clock back. */
void pipeline_source_done(struct pipeline *p, uint32_t input);
/*
 * Every input is finished (replay mode): move the clock to the highest event time seen,
 * so buffered windows are evaluated and absence deadlines up to the last event fire.
 */
void pipeline_finish(struct pipeline *p);
/* Re-evaluate idleness of sources (called from a periodic timer). */
void pipeline_tick(struct pipeline *p);
/* Flush outputs and the dead-letter sink. */
void pipeline_flush(struct pipeline *p);
void pipeline_get_stats(const struct pipeline *p, struct pipeline_stats *out);
/* Counters of input number `input` (zeros for an input that saw nothing). */
void pipeline_get_input_stats(const struct pipeline *p, uint32_t input,
                              struct pipeline_input_stats *out);
/* Counters of the rule at index `rule_index` of the current rule set. */
void pipeline_get_rule_stats(const struct pipeline *p, uint32_t rule_index,
                             struct pipeline_rule_stats *out);
/* The rule set in use (borrowed; may be NULL). */
const struct ruleset *pipeline_ruleset(const struct pipeline *p);
/* The current event-time clock (µs), or INT64_MIN before any event. */
int64_t pipeline_clock(const struct pipeline *p);

#endif
