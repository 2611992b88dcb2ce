/*
 * The Kafka input: a librdkafka high-level consumer (consumer group) driven by the libuv
 * loop. librdkafka runs its own threads and wakes the loop through its queue event fd;
 * every callback below runs on the loop thread. A record's offset is stored for commit only
 * once the record is complete (at-least-once; see docs/KAFKA.md), and a record the pipeline
 * cannot take yet pauses its partition until kafka_input_resume().
 *
 * Life cycle: kafka_input_new() -> kafka_input_start() -> ... -> kafka_input_stop() ->
 * (done callback) -> kafka_input_free(). All functions must be called on the loop thread.
 */
#ifndef KZ_KAFKA_H
#define KZ_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "event.h"
#include "kafka-embedded.h"

struct kafka_input;

/*
 * Configuration of one Kafka input. kafka_input_new() copies what it needs; the caller may
 * free this struct and everything it points to afterwards. Zero means "default" for every
 * numeric field.
 */
struct kafka_input_conf {
    const char *name;          /* tag of log lines ("[NAME] ..."); NULL: "kafka:in<index>" */
    const char *brokers;       /* "host:port,..." or "embedded" (the process's shared mock
                                  cluster, started by the input, see kafka_input_new()) */
    int embedded;              /* 1: brokers is a mock cluster (kafka_embedded_start()):
                                  apply the embedded defaults (fetch.wait.max.ms=10) */
    const char *const *topics; /* topic names; a name starting with '^' is a regex */
    size_t ntopics;
    const char *group;          /* consumer group id (required) */
    const char *const *props;   /* librdkafka properties passed through: key,value,key,... */
    size_t nprops;              /* number of pairs */
    uint32_t input_index;       /* goes into event_source.input */
    int64_t commit_interval_ms; /* auto.commit.interval.ms; default 1000 */
    int embedded_partitions;    /* brokers "embedded": partitions per topic; default 1 */
    uint32_t max_pending;       /* records per partition handed out with PENDING and not
                                   acknowledged yet before the partition pauses;
                                   default 10000 */
    int64_t stop_timeout_ms;    /* bound on kafka_input_stop() (waiting for acks, final
                                   commit, leaving the group); default 30000 */
};

/* Return values of a kafka_record_cb. */
#define KAFKA_RECORD_DONE 0 /* complete: the offset may be stored now */
#define KAFKA_RECORD_AGAIN                                                                         \
    1 /* "not now" (backpressure); any value other than these three                                \
         means the same */
#define KAFKA_RECORD_PENDING                                                                       \
    2 /* accepted, completes later: the caller will call                                           \
         kafka_input_ack() with the same source position */

/*
 * Called on the loop thread once per record, in offset order within each partition.
 * src (topic name owned by the input, valid until kafka_input_free()), data[0..len) (owned by
 * the input, valid only during the call; not NUL-terminated; len 0 for a null value) and the
 * Kafka timestamp in ms since the epoch (-1 when the record has none).
 *   KAFKA_RECORD_DONE: the record has been fully processed (decoded or dead-lettered,
 *       matched, alerts handed to outputs); its offset is stored for the next commit.
 *   KAFKA_RECORD_PENDING: accepted, but complete only when kafka_input_ack(src) is called
 *       (e.g. after Redis acknowledged the state writes). Offsets are stored in order: the
 *       stored offset of a partition never passes a record that is not complete yet.
 *   anything else: "not now". The partition is paused and the same record is offered again
 *       after kafka_input_resume(); nothing is skipped and per-partition order is kept.
 * The callback may call kafka_input_resume(), kafka_input_ack() and kafka_input_stop(), but
 * never kafka_input_free().
 */
typedef int (*kafka_record_cb)(void *arg, const struct event_source *src, const char *data,
                               size_t len, int64_t kafka_timestamp_ms);

/*
 * Build an input (no connection yet). Validates conf: brokers, at least one topic, group, and
 * the pass-through properties (unknown ones, and the ones kizuna manages, such as
 * enable.auto.offset.store, are refused). With brokers "embedded" the input uses the
 * process's embedded mock cluster (started on first use, shared by every embedded input) and
 * creates its topics there. Returns 0 and *out (owned by the caller, released with
 * kafka_input_free()), or -1 with a message in err.
 */
int kafka_input_new(uv_loop_t *loop, const struct kafka_input_conf *conf, kafka_record_cb cb,
                    void *arg, struct kafka_input **out, char *err, size_t errlen);

/*
 * Join the group (subscribe) and start delivering records through the callback as the
 * loop runs. Returns 0, or -1 (logged) when the subscription or the loop handles fail.
 */
int kafka_input_start(struct kafka_input *ki);

/*
 * The pipeline has room again: offer the records held back by "not now" answers again
 * (on the next loop iteration, in the order they were refused) and resume their partitions
 * once they are accepted. Cheap when nothing is held; may be called at any time.
 */
void kafka_input_resume(struct kafka_input *ki);

/*
 * Mark the record at src (as passed to the callback that returned KAFKA_RECORD_PENDING) as
 * complete. src need not be the pointer the callback got; topic, partition and offset are
 * compared. Acks for partitions no longer assigned are ignored (another consumer re-reads
 * those records: at-least-once).
 */
void kafka_input_ack(struct kafka_input *ki, const struct event_source *src);

/*
 * Stop consuming: deliver no more records, drop the ones held by "not now", wait for the
 * PENDING records to be acknowledged, commit the stored offsets, leave the group and close
 * the loop handles; then call done(arg) on the loop. Bounded by stop_timeout_ms (what is not
 * complete by then is not committed and will be read again). If the input was never started
 * (or its start failed), done(arg) is called right away; a second call while stopping is
 * ignored (done comes once).
 */
void kafka_input_stop(struct kafka_input *ki, void (*done)(void *arg), void *arg);

/*
 * Release the input: normally after the done callback of kafka_input_stop() (may be called
 * from it), or when kafka_input_start() was never called. Called while the input runs or
 * stops, it destroys the consumer without leaving the group or committing anything more and
 * closes its loop handles; their memory is released in the close callbacks, so run the loop
 * afterwards (done is then never called). Never from the record callback. Accepts NULL. May
 * block briefly while librdkafka joins its threads.
 */
void kafka_input_free(struct kafka_input *ki);

/*
 * Called on the loop thread for each partition the group assigns to this input, before any
 * of its records is delivered (topic owned by the input). The pipeline uses it so that an
 * assigned partition holds the event clock back until its first record, like a file input
 * that has not started yet: otherwise the first partition to deliver a backlog would move
 * the clock past the other partitions' events, which would all arrive late.
 */
typedef void (*kafka_assign_cb)(void *arg, const char *topic, int32_t partition);

/* Set (or clear, with NULL) the assignment callback; before kafka_input_start(). */
void kafka_input_set_assign_cb(struct kafka_input *ki, kafka_assign_cb cb, void *arg);

/* The bootstrap servers in use (for "embedded", the mock cluster's 127.0.0.1:PORT). */
const char *kafka_input_brokers(const struct kafka_input *ki);

struct kafka_partition_stats {
    const char *topic; /* owned by the input */
    int32_t partition;
    int64_t position;       /* next offset to fetch, -1 unknown */
    int64_t stored;         /* next offset to commit (everything below is complete), -1 none */
    int64_t high_watermark; /* as of the last fetch response (cached, non-blocking), -1 unknown */
    int64_t lag;            /* high_watermark - stored (or - position), -1 unknown */
    uint32_t pending;       /* records delivered and not complete yet */
    int paused;             /* 1 while paused by "not now" or max_pending */
};

struct kafka_input_stats {
    uint64_t messages;   /* records accepted by the callback (DONE or PENDING) */
    uint64_t bytes;      /* their payload bytes */
    uint64_t errors;     /* errors reported by librdkafka (consumer and client errors) */
    uint64_t refused;    /* "not now" answers */
    uint64_t rebalances; /* assignments and revocations */
    uint64_t outages;    /* times all brokers became unreachable or the connection broke */
    int brokers_down;    /* 1 while in an outage */
    size_t npartitions;  /* currently assigned partitions ... */
    const struct kafka_partition_stats *partitions; /* ... owned by the input, valid until the
                                                       next kafka_input_get_stats() call */
};

/* Fill st with the input's counters and per-partition positions and lag. Non-blocking. */
void kafka_input_get_stats(struct kafka_input *ki, struct kafka_input_stats *st);

#endif
