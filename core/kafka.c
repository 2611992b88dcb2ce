/*
 * The Kafka input (see kafka.h and docs/KAFKA.md): a librdkafka high-level consumer driven by
 * the libuv loop.
 *
 * Wake-up: the consumer queue (into which the main queue, and with it librdkafka's logs,
 * errors, rebalances and statistics, is forwarded) writes a byte to a non-blocking pipe when
 * it becomes non-empty; a uv_poll on the read end drains the queue at most KAFKA_BATCH
 * messages at a time, and a uv_idle continues on the next loop iteration while more remain.
 * A slow keep-alive timer polls too, so that an input whose partitions are all paused still
 * calls rd_kafka_consumer_poll() within max.poll.interval.ms.
 *
 * Offsets: enable.auto.commit=true with enable.auto.offset.store=false. Every record handed
 * to the callback gets a slot in its partition's completion ring; a slot is done when the
 * callback returns DONE or when kafka_input_ack() arrives for a PENDING record. The stored
 * offset of a partition advances over the done slots at the head of the ring only, so it
 * never passes a record that is not complete.
 *
 * Backpressure: a record the callback refuses is held (one per partition), its partition is
 * paused, and further records of that partition that were already fetched are dropped. On
 * kafka_input_resume() the held record is offered again; once accepted, the partition is
 * seeked to the record after it and resumed, which re-fetches what was dropped.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kafka.h"
#include "log.h"
#include "xmalloc.h"

#define KAFKA_BATCH 1000        /* records per loop iteration */
#define KAFKA_KEEPALIVE_MS 1000 /* poll at least this often */
#define KAFKA_STOP_CHECK_MS 50  /* while stopping: check whether the consumer closed */
#define KAFKA_BUCKETS 256       /* partition hash table */
#define KAFKA_DEFAULT_COMMIT_MS 1000
#define KAFKA_DEFAULT_MAX_PENDING 10000
#define KAFKA_DEFAULT_STOP_TIMEOUT_MS 30000
#define KAFKA_NHANDLES 4 /* poll, idle, timer, stop_timer */

enum kafka_state {
    KAFKA_NEW, /* built, not started */
    KAFKA_RUNNING,
    KAFKA_STOP_DRAIN,   /* waiting for PENDING records to be acknowledged */
    KAFKA_STOP_CLOSE,   /* final commit and leaving the group */
    KAFKA_STOP_HANDLES, /* closing the loop handles, then done() */
    KAFKA_STOPPED,
};

enum kafka_block {
    KAFKA_BLOCK_NONE,
    KAFKA_BLOCK_REFUSED, /* the callback said "not now": wait for kafka_input_resume() */
    KAFKA_BLOCK_FULL,    /* max_pending records unacknowledged: wait for acks */
};

enum kafka_conn {
    KAFKA_CONN_UP,
    KAFKA_CONN_LOST,     /* a broker connection failed */
    KAFKA_CONN_ALL_DOWN, /* no broker reachable */
};

/* Offer results. */
#define KAFKA_OFFER_ACCEPTED 0
#define KAFKA_OFFER_REFUSED 1
#define KAFKA_OFFER_FULL 2

struct kafka_slot {
    int64_t offset;
    int done;
};

/* One topic partition this input has seen; kept until kafka_input_free(). */
struct kafka_part {
    struct kafka_part *hnext; /* hash chain */
    struct kafka_part *bnext; /* blocked list, in the order partitions were blocked */
    const char *topic;        /* event_source.name of its records (interned) */
    int32_t partition;
    rd_kafka_topic_t *rkt; /* for rd_kafka_offset_store() */
    int assigned;
    int64_t next_offset;     /* offset after the last record accepted, -1 none yet */
    int64_t stored;          /* next offset stored for commit, -1 none */
    struct kafka_slot *ring; /* completion ring: records handed out, in offset order */
    uint32_t ring_cap, ring_head, ring_len;
    uint32_t npending;        /* slots not done */
    rd_kafka_message_t *held; /* refused record, offered again later */
    enum kafka_block blocked;
};

struct kafka_input {
    uv_loop_t *loop;
    kafka_record_cb cb;
    void *arg;
    kafka_assign_cb assign_cb;
    void *assign_arg;
    char *tag;
    char *brokers;
    char *group;
    char **topics;
    size_t ntopics;
    uint32_t input_index;
    uint32_t max_pending;
    int64_t stop_timeout_ms;
    int uses_shared; /* holds a reference on the shared embedded cluster */

    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* consumer queue (main queue forwarded into it) */
    int fds[2];          /* io event pipe */
    uv_poll_t poll;
    uv_idle_t idle;
    uv_timer_t timer;      /* keep-alive, then stop checks */
    uv_timer_t stop_timer; /* stop deadline */
    int handles_open;
    int free_on_close; /* kafka_input_free() ran while handles were open */

    enum kafka_state state;
    int started;
    int closed; /* rd_kafka_consumer_closed() */
    int resume_wanted;
    int retry_full;
    int stop_expired;
    void (*done)(void *arg);
    void *done_arg;

    char **names; /* interned topic names: one pointer per topic */
    size_t nnames;
    struct kafka_part *buckets[KAFKA_BUCKETS];
    struct kafka_part *last; /* lookup cache */
    struct kafka_part *blocked_head;
    uint64_t pending_total;

    enum kafka_conn conn;
    rd_kafka_resp_err_t last_msg_err;
    int commit_failing;
    struct kafka_input_stats stats;
    struct kafka_partition_stats *pstats;
    size_t pstats_cap;
};

/* The process's shared embedded cluster (brokers: embedded); loop thread only. */
static struct kafka_embedded *kafka_shared;
static unsigned kafka_shared_refs;

static void kafka_input_work(struct kafka_input *ki);
static void kafka_input_stop_step(struct kafka_input *ki);
static void kafka_input_idle_cb(uv_idle_t *h);

static uint32_t
kafka_hash(const char *topic, int32_t partition)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)topic; *p != '\0'; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return (h ^ (uint32_t)partition * 2654435761u) % KAFKA_BUCKETS;
}

/* The partition's state, or NULL when this input has never seen it. */
static struct kafka_part *
kafka_input_part_find(struct kafka_input *ki, const char *topic, int32_t partition)
{
    struct kafka_part *p = ki->last;

    if (p != NULL && p->partition == partition &&
        (p->topic == topic || strcmp(p->topic, topic) == 0)) {
        return p;
    }
    for (p = ki->buckets[kafka_hash(topic, partition)]; p != NULL; p = p->hnext) {
        if (p->partition == partition && strcmp(p->topic, topic) == 0) {
            ki->last = p;
            return p;
        }
    }
    return NULL;
}

/* The input's copy of a topic name, the same pointer for every record of that topic. */
static const char *
kafka_input_intern(struct kafka_input *ki, const char *topic)
{
    for (size_t i = 0; i < ki->nnames; i++) {
        if (strcmp(ki->names[i], topic) == 0) {
            return ki->names[i];
        }
    }
    ki->names = xreallocarray(ki->names, ki->nnames + 1, sizeof(*ki->names));
    ki->names[ki->nnames] = xstrdup(topic);
    return ki->names[ki->nnames++];
}

static struct kafka_part *
kafka_input_part_get(struct kafka_input *ki, const char *topic, int32_t partition)
{
    struct kafka_part *p = kafka_input_part_find(ki, topic, partition);
    uint32_t h;

    if (p != NULL) {
        return p;
    }
    p = xcalloc(1, sizeof(*p));
    p->topic = kafka_input_intern(ki, topic);
    p->partition = partition;
    p->rkt = rd_kafka_topic_new(ki->rk, topic, NULL);
    p->next_offset = -1;
    p->stored = -1;
    h = kafka_hash(topic, partition);
    p->hnext = ki->buckets[h];
    ki->buckets[h] = p;
    ki->last = p;
    return p;
}

/* Pause or resume one partition; seek first (resuming) when seek_to >= 0. */
static void
kafka_input_part_flow(struct kafka_input *ki, struct kafka_part *p, int pause, int64_t seek_to)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    rd_kafka_resp_err_t e;
    rd_kafka_error_t *error;

    if (pause) {
        e = rd_kafka_pause_partitions(ki->rk, l);
    } else {
        if (seek_to >= 0) {
            tp->offset = seek_to;
            error = rd_kafka_seek_partitions(ki->rk, l, 0);
            if (error != NULL) {
                log_write(LOG_LVL_WARNING, ki->tag,
                          "rd_kafka_seek_partitions(%s[%" PRId32 "]@%" PRId64 ") failed: %s",
                          p->topic, p->partition, seek_to, rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
            }
            tp->offset = RD_KAFKA_OFFSET_INVALID;
        }
        e = rd_kafka_resume_partitions(ki->rk, l);
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        e = tp->err;
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_write(LOG_LVL_WARNING, ki->tag, "rd_kafka_%s_partitions(%s[%" PRId32 "]) failed: %s",
                  pause ? "pause" : "resume", p->topic, p->partition, rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void
kafka_input_block(struct kafka_input *ki, struct kafka_part *p, rd_kafka_message_t *m,
                  enum kafka_block why)
{
    struct kafka_part **pp;

    p->held = m;
    p->blocked = why;
    for (pp = &ki->blocked_head; *pp != NULL; pp = &(*pp)->bnext) {
    }
    *pp = p;
    p->bnext = NULL;
    kafka_input_part_flow(ki, p, 1, -1);
    log_debug("[%s] %s[%" PRId32 "] paused at offset %" PRId64 " (%s)", ki->tag, p->topic,
              p->partition, m->offset, why == KAFKA_BLOCK_FULL ? "max_pending" : "not now");
}

/* Forget the held record and take p off the blocked list (no resume). */
static void
kafka_input_unhold(struct kafka_input *ki, struct kafka_part *p)
{
    struct kafka_part **pp;

    if (p->held != NULL) {
        rd_kafka_message_destroy(p->held);
        p->held = NULL;
    }
    if (p->blocked == KAFKA_BLOCK_NONE) {
        return;
    }
    for (pp = &ki->blocked_head; *pp != NULL; pp = &(*pp)->bnext) {
        if (*pp == p) {
            *pp = p->bnext;
            break;
        }
    }
    p->bnext = NULL;
    p->blocked = KAFKA_BLOCK_NONE;
}

/* New assignment or revocation: nothing of the old state of p carries over. */
static void
kafka_input_part_reset(struct kafka_input *ki, struct kafka_part *p, int assigned)
{
    kafka_input_unhold(ki, p);
    ki->pending_total -= p->npending;
    p->npending = 0;
    p->ring_head = 0;
    p->ring_len = 0;
    p->next_offset = -1;
    p->stored = -1;
    p->assigned = assigned;
}

/* Store the offset after the done slots at the head of the ring. */
static void
kafka_input_advance(struct kafka_input *ki, struct kafka_part *p)
{
    int64_t last = -1;
    rd_kafka_resp_err_t e;

    while (p->ring_len > 0 && p->ring[p->ring_head].done) {
        last = p->ring[p->ring_head].offset;
        p->ring_head = (p->ring_head + 1) % p->ring_cap;
        p->ring_len--;
    }
    if (last < 0 || !p->assigned) {
        return;
    }
    e = rd_kafka_offset_store(p->rkt, p->partition, last);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_debug("[%s] rd_kafka_offset_store(%s[%" PRId32 "]@%" PRId64 ") failed: %s", ki->tag,
                  p->topic, p->partition, last + 1, rd_kafka_err2str(e));
        return;
    }
    p->stored = last + 1;
}

/* Hand m to the callback. Returns KAFKA_OFFER_*; m stays owned by the caller. */
static int
kafka_input_offer(struct kafka_input *ki, struct kafka_part *p, rd_kafka_message_t *m)
{
    struct event_source src;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts;
    uint32_t idx;
    int r;

    if (p->ring_len >= ki->max_pending) {
        return KAFKA_OFFER_FULL;
    }
    if (p->ring_len == p->ring_cap) {
        /* grow, unrolling the ring so that it starts at 0 */
        uint32_t cap = p->ring_cap == 0 ? 64 : p->ring_cap * 2;
        struct kafka_slot *ring = xreallocarray(NULL, cap, sizeof(*ring));
        for (uint32_t i = 0; i < p->ring_len; i++) {
            ring[i] = p->ring[(p->ring_head + i) % p->ring_cap];
        }
        free(p->ring);
        p->ring = ring;
        p->ring_cap = cap;
        p->ring_head = 0;
    }
    /* the slot exists before the callback runs, so that an ack from within it finds it */
    idx = (p->ring_head + p->ring_len) % p->ring_cap;
    p->ring[idx].offset = m->offset;
    p->ring[idx].done = 0;
    p->ring_len++;
    p->npending++;
    ki->pending_total++;

    src.name = p->topic;
    src.input = ki->input_index;
    src.partition = p->partition;
    src.offset = m->offset;
    src.line = 0;
    ts = rd_kafka_message_timestamp(m, &tstype);
    if (tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) {
        ts = -1;
    }
    r = ki->cb(ki->arg, &src, m->payload != NULL ? (const char *)m->payload : "", m->len, ts);
    if (r != KAFKA_RECORD_DONE && r != KAFKA_RECORD_PENDING && p->ring[idx].done) {
        r = KAFKA_RECORD_DONE; /* acknowledged from within the callback: complete anyway */
    }
    if (r != KAFKA_RECORD_DONE && r != KAFKA_RECORD_PENDING) {
        /* not now: take the slot back (it is the newest; acks only mark slots done) */
        p->npending--;
        ki->pending_total--;
        p->ring_len--;
        ki->stats.refused++;
        return KAFKA_OFFER_REFUSED;
    }
    ki->stats.messages++;
    ki->stats.bytes += m->len;
    p->next_offset = m->offset + 1;
    if (r == KAFKA_RECORD_DONE && !p->ring[idx].done) {
        p->ring[idx].done = 1;
        p->npending--;
        ki->pending_total--;
    }
    kafka_input_advance(ki, p);
    return KAFKA_OFFER_ACCEPTED;
}

static void
kafka_input_conn_up(struct kafka_input *ki, const char *how)
{
    if (ki->conn == KAFKA_CONN_UP) {
        return;
    }
    ki->conn = KAFKA_CONN_UP;
    ki->stats.brokers_down = 0;
    log_write(LOG_LVL_NOTICE, ki->tag, "Kafka brokers reachable again (%s)", how);
}

/* A consumer error delivered as a message (m->err set). */
static void
kafka_input_msg_error(struct kafka_input *ki, const rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        return;
    }
    ki->stats.errors++;
    if (m->err == ki->last_msg_err) {
        log_debug("[%s] consumer error (repeated): %s", ki->tag, rd_kafka_message_errstr(m));
        return;
    }
    ki->last_msg_err = m->err;
    if (m->rkt != NULL) {
        log_write(LOG_LVL_WARNING, ki->tag, "consumer error on %s[%" PRId32 "]: %s",
                  rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_message_errstr(m));
    } else {
        log_write(LOG_LVL_WARNING, ki->tag, "consumer error: %s", rd_kafka_message_errstr(m));
    }
}

/* One message from the consumer queue; takes ownership of m. */
static void
kafka_input_dispatch(struct kafka_input *ki, rd_kafka_message_t *m)
{
    struct kafka_part *p;
    int r;

    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        kafka_input_msg_error(ki, m);
        rd_kafka_message_destroy(m);
        return;
    }
    if (ki->state != KAFKA_RUNNING) {
        /* stopping: neither processed nor stored; read again after a restart */
        rd_kafka_message_destroy(m);
        return;
    }
    ki->last_msg_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (ki->conn != KAFKA_CONN_UP) {
        kafka_input_conn_up(ki, "records arriving");
    }
    p = kafka_input_part_get(ki, rd_kafka_topic_name(m->rkt), m->partition);
    if (p->blocked != KAFKA_BLOCK_NONE || (p->next_offset >= 0 && m->offset < p->next_offset)) {
        /* fetched before the pause took effect (re-fetched after the seek on resume), or
           already accepted once in this assignment */
        rd_kafka_message_destroy(m);
        return;
    }
    r = kafka_input_offer(ki, p, m);
    if (r == KAFKA_OFFER_ACCEPTED) {
        rd_kafka_message_destroy(m);
        return;
    }
    kafka_input_block(ki, p, m, r == KAFKA_OFFER_FULL ? KAFKA_BLOCK_FULL : KAFKA_BLOCK_REFUSED);
}

/* Offer the held records again, in the order their partitions were blocked. */
static void
kafka_input_retry_held(struct kafka_input *ki)
{
    struct kafka_part *p, *next;
    int64_t offset;
    int r;

    for (p = ki->blocked_head; p != NULL; p = next) {
        next = p->bnext;
        if (ki->state != KAFKA_RUNNING) {
            break;
        }
        if (p->blocked == KAFKA_BLOCK_REFUSED && !ki->resume_wanted) {
            continue;
        }
        if (p->blocked == KAFKA_BLOCK_FULL && p->ring_len >= ki->max_pending) {
            continue;
        }
        offset = p->held->offset;
        r = kafka_input_offer(ki, p, p->held);
        if (r == KAFKA_OFFER_ACCEPTED) {
            kafka_input_unhold(ki, p);
            kafka_input_part_flow(ki, p, 0, offset + 1);
            log_debug("[%s] %s[%" PRId32 "] resumed after offset %" PRId64, ki->tag, p->topic,
                      p->partition, offset);
        } else if (r == KAFKA_OFFER_FULL) {
            p->blocked = KAFKA_BLOCK_FULL;
        } else {
            p->blocked = KAFKA_BLOCK_REFUSED;
            break; /* the pipeline is still full */
        }
    }
    ki->resume_wanted = 0;
    ki->retry_full = 0;
}

/* Poll up to KAFKA_BATCH messages; returns 1 when the queue may hold more. */
static int
kafka_input_drain(struct kafka_input *ki)
{
    rd_kafka_message_t *m;

    for (int n = 0; n < KAFKA_BATCH; n++) {
        if (ki->state == KAFKA_STOP_HANDLES || ki->state == KAFKA_STOPPED) {
            return 0;
        }
        m = rd_kafka_consumer_poll(ki->rk, 0);
        if (m == NULL) {
            return 0;
        }
        kafka_input_dispatch(ki, m);
    }
    return 1;
}

/* Everything the loop does for this input: retries, a batch of messages, stop progress. */
static void
kafka_input_work(struct kafka_input *ki)
{
    int more = 0;

    if (ki->state == KAFKA_STOP_HANDLES || ki->state == KAFKA_STOPPED) {
        return;
    }
    if (ki->resume_wanted || ki->retry_full) {
        kafka_input_retry_held(ki);
    }
    more = kafka_input_drain(ki);
    if (ki->state != KAFKA_RUNNING && ki->state != KAFKA_NEW) {
        kafka_input_stop_step(ki);
    }
    if (ki->state == KAFKA_STOP_HANDLES || ki->state == KAFKA_STOPPED) {
        return;
    }
    if (more || ki->resume_wanted || ki->retry_full) {
        uv_idle_start(&ki->idle, kafka_input_idle_cb);
    } else {
        uv_idle_stop(&ki->idle);
    }
}

static void
kafka_input_poll_cb(uv_poll_t *h, int status, int events)
{
    struct kafka_input *ki = h->data;
    char buf[256];

    while (read(ki->fds[0], buf, sizeof(buf)) > 0) {
    }
    kafka_input_work(ki);
}

static void
kafka_input_idle_cb(uv_idle_t *h)
{
    kafka_input_work(h->data);
}

static void
kafka_input_timer_cb(uv_timer_t *h)
{
    kafka_input_work(h->data);
}

/* Ask for kafka_input_work() on the next loop iteration. */
static void
kafka_input_schedule(struct kafka_input *ki)
{
    if (ki->started && ki->state != KAFKA_STOP_HANDLES && ki->state != KAFKA_STOPPED) {
        uv_idle_start(&ki->idle, kafka_input_idle_cb);
    }
}

/* "t[0], t[1], ..." into buf. */
static void
kafka_describe(const rd_kafka_topic_partition_list_t *l, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int i = 0; i < l->cnt && off < len; i++) {
        int n = snprintf(buf + off, len - off, "%s%s[%" PRId32 "]", i > 0 ? ", " : "",
                         l->elems[i].topic, l->elems[i].partition);
        if (n < 0 || (size_t)n >= len - off) {
            if (len > 4) {
                strcpy(buf + len - 4, "...");
            }
            return;
        }
        off += (size_t)n;
    }
}

static void
kafka_input_commit_result(struct kafka_input *ki, rd_kafka_resp_err_t err,
                          const rd_kafka_topic_partition_list_t *offsets, const char *what)
{
    char desc[512];
    size_t off = 0;

    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) {
        return; /* nothing new to commit */
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ki->stats.errors++;
        if (strcmp(what, "periodic") != 0) {
            /* the last chance for these offsets: the next reader starts at the last commit */
            log_write(LOG_LVL_WARNING, ki->tag,
                      "%s offset commit failed: %s (records since "
                      "the last commit will be read again)",
                      what, rd_kafka_err2str(err));
        } else if (!ki->commit_failing) {
            ki->commit_failing = 1;
            log_write(LOG_LVL_WARNING, ki->tag,
                      "offset commit failed: %s (retried with the "
                      "next commit)",
                      rd_kafka_err2str(err));
        }
        return;
    }
    if (ki->commit_failing) {
        ki->commit_failing = 0;
        log_write(LOG_LVL_NOTICE, ki->tag, "offset commits succeed again");
    }
    if (offsets == NULL || log_level < LOG_LVL_INFO) {
        return;
    }
    desc[0] = '\0';
    for (int i = 0; offsets != NULL && i < offsets->cnt && off < sizeof(desc); i++) {
        const rd_kafka_topic_partition_t *tp = &offsets->elems[i];
        int n;
        if (tp->offset < 0) {
            continue;
        }
        n = snprintf(desc + off, sizeof(desc) - off, "%s%s[%" PRId32 "]@%" PRId64,
                     off > 0 ? ", " : "", tp->topic, tp->partition, tp->offset);
        if (n < 0) {
            break;
        }
        off += (size_t)n;
    }
    if (strcmp(what, "final") == 0) {
        log_write(LOG_LVL_INFO, ki->tag, "final offset commit: %s", off > 0 ? desc : "nothing");
    } else {
        log_debug("[%s] %s offset commit: %s", ki->tag, what, desc);
    }
}

static void
kafka_input_offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    kafka_input_commit_result(opaque, err, offsets, "periodic");
}

static void
kafka_input_handover_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    kafka_input_commit_result(opaque, err, offsets, "hand-over");
}

static void
kafka_input_final_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    kafka_input_commit_result(opaque, err, offsets, "final");
}

static void
kafka_input_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kafka_input *ki = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    char desc[512];

    ki->stats.rebalances++;
    kafka_describe(parts, desc, sizeof(desc));
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_write(LOG_LVL_INFO, ki->tag, "assigned %d partition(s): %s", parts->cnt, desc);
        for (int i = 0; i < parts->cnt; i++) {
            struct kafka_part *p =
                kafka_input_part_get(ki, parts->elems[i].topic, parts->elems[i].partition);
            kafka_input_part_reset(ki, p, 1);
            if (ki->assign_cb != NULL) {
                ki->assign_cb(ki->assign_arg, p->topic, p->partition);
            }
        }
        if (ki->conn != KAFKA_CONN_UP) {
            kafka_input_conn_up(ki, "partitions assigned");
        }
        if (coop) {
            error = rd_kafka_incremental_assign(rk, parts);
        } else {
            e = rd_kafka_assign(rk, parts);
        }
        /* librdkafka keeps a partition's pause flag across assignments: one we paused before
           it was revoked would stay paused */
        if (error == NULL && e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_resume_partitions(rk, parts);
        }
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        int lost = rd_kafka_assignment_lost(rk);
        log_write(LOG_LVL_INFO, ki->tag, "%s %d partition(s)%s: %s", lost ? "lost" : "revoking",
                  parts->cnt, lost ? " (not committing: the group has moved on)" : "", desc);
        if (!lost && ki->state == KAFKA_RUNNING) {
            /* what is stored goes out before the partitions do: librdkafka finishes
               outstanding commits before the rebalance completes */
            rd_kafka_commit_queue(rk, NULL, ki->q, kafka_input_handover_commit_cb, ki);
        }
        for (int i = 0; i < parts->cnt; i++) {
            struct kafka_part *p =
                kafka_input_part_find(ki, parts->elems[i].topic, parts->elems[i].partition);
            if (p != NULL) {
                kafka_input_part_reset(ki, p, 0);
            }
        }
        if (coop) {
            error = rd_kafka_incremental_unassign(rk, parts);
        } else {
            e = rd_kafka_assign(rk, NULL);
        }
    } else {
        log_write(LOG_LVL_WARNING, ki->tag, "rebalance failed: %s", rd_kafka_err2str(err));
        e = rd_kafka_assign(rk, NULL);
    }
    if (error != NULL) {
        log_write(LOG_LVL_WARNING, ki->tag, "incremental %s failed: %s",
                  err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assign" : "unassign",
                  rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_write(LOG_LVL_WARNING, ki->tag, "rd_kafka_assign() failed: %s", rd_kafka_err2str(e));
    }
    if (ki->pending_total == 0 && ki->state == KAFKA_STOP_DRAIN) {
        kafka_input_schedule(ki);
    }
}

/* Client errors, on the loop thread. Connectivity is logged once per change of state. */
static void
kafka_input_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct kafka_input *ki = opaque;
    char fatal[512];

    if (!ki->started) {
        /* built but never started (e.g. --check-config): connecting is not its job yet */
        log_debug("[%s] %s", ki->tag, reason);
        return;
    }
    ki->stats.errors++;
    switch (err) {
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        if (ki->conn != KAFKA_CONN_ALL_DOWN) {
            if (ki->conn == KAFKA_CONN_UP) {
                ki->stats.outages++;
            }
            ki->conn = KAFKA_CONN_ALL_DOWN;
            ki->stats.brokers_down = 1;
            log_write(LOG_LVL_WARNING, ki->tag,
                      "all Kafka brokers are down (%s); retrying, "
                      "consumption resumes where it stopped",
                      reason);
        }
        return;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
        if (ki->conn == KAFKA_CONN_UP) {
            ki->stats.outages++;
            ki->conn = KAFKA_CONN_LOST;
            ki->stats.brokers_down = 1;
            log_write(LOG_LVL_WARNING, ki->tag, "Kafka broker connection failed: %s; retrying",
                      reason);
        } else {
            log_debug("[%s] %s", ki->tag, reason);
        }
        return;
    case RD_KAFKA_RESP_ERR__FATAL:
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        log_write(LOG_LVL_ERR, ki->tag, "fatal Kafka consumer error: %s", fatal);
        return;
    default:
        log_write(LOG_LVL_WARNING, ki->tag, "Kafka error %s: %s",
                  rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
        return;
    }
}

/*
 * librdkafka's logs. Served on the loop thread once rd_kafka_set_log_queue() took effect;
 * before that (inside rd_kafka_new()) possibly on librdkafka's threads, which log.c allows.
 * Connection failures ("FAIL") go to debug: the error callback reports them once per change.
 */
static void
kafka_input_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const struct kafka_input *ki = rd_kafka_opaque(rk);
    int lvl = level < LOG_LVL_ERR ? LOG_LVL_ERR : level > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : level;

    if (strcmp(fac, "FAIL") == 0) {
        lvl = LOG_LVL_DEBUG;
    }
    if (log_level >= lvl) {
        log_write(lvl, ki->tag, "librdkafka %s: %s", fac, buf);
    }
}

/* Statistics (statistics.interval.ms): only used to notice that a broker is up again. */
static int
kafka_input_stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    struct kafka_input *ki = opaque;

    /* broker states are upper case ("UP"); the group's are lower case ("up") */
    if (ki->conn != KAFKA_CONN_UP && strstr(json, "\"state\":\"UP\"") != NULL) {
        kafka_input_conn_up(ki, "broker connected");
    }
    return 0;
}

static const char *const kafka_managed_props[] = {
    "bootstrap.servers",
    "metadata.broker.list",
    "group.id",
    "enable.auto.commit",
    "auto.commit.enable",
    "enable.auto.offset.store",
    "auto.commit.interval.ms",
    "log.queue",
    "offset.store.method",
    NULL,
};

static int
kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err, size_t errlen)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "librdkafka property \"%s\": %s", key, errstr);
        return -1;
    }
    return 0;
}

/* librdkafka configuration: our defaults, the pass-through properties, what we manage. */
static rd_kafka_conf_t *
kafka_input_conf_build(struct kafka_input *ki, const struct kafka_input_conf *c, int embedded,
                       char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_t *r = NULL;
    char interval[32];

    if (kafka_conf_set(conf, "client.id", "kizunad", err, errlen) != 0 ||
        kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) != 0 ||
        kafka_conf_set(conf, "statistics.interval.ms", "5000", err, errlen) != 0) {
        goto out;
    }
    if (embedded && kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, errlen) != 0) {
        goto out;
    }
    for (size_t i = 0; i < c->nprops; i++) {
        const char *key = c->props[2 * i], *value = c->props[2 * i + 1];
        for (size_t j = 0; kafka_managed_props[j] != NULL; j++) {
            if (strcmp(key, kafka_managed_props[j]) == 0) {
                snprintf(err, errlen,
                         "librdkafka property \"%s\" is managed by kizuna (offsets "
                         "are stored after processing; use brokers, group and commit_interval)",
                         key);
                goto out;
            }
        }
        if (kafka_conf_set(conf, key, value, err, errlen) != 0) {
            goto out;
        }
    }
    snprintf(interval, sizeof(interval), "%" PRId64,
             c->commit_interval_ms > 0 ? c->commit_interval_ms : KAFKA_DEFAULT_COMMIT_MS);
    if (kafka_conf_set(conf, "bootstrap.servers", ki->brokers, err, errlen) != 0 ||
        kafka_conf_set(conf, "group.id", c->group, err, errlen) != 0 ||
        kafka_conf_set(conf, "enable.auto.commit", "true", err, errlen) != 0 ||
        kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) != 0 ||
        kafka_conf_set(conf, "auto.commit.interval.ms", interval, err, errlen) != 0 ||
        kafka_conf_set(conf, "log.queue", "true", err, errlen) != 0) {
        goto out;
    }
    rd_kafka_conf_set_opaque(conf, ki);
    rd_kafka_conf_set_log_cb(conf, kafka_input_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_input_error_cb);
    rd_kafka_conf_set_rebalance_cb(conf, kafka_input_rebalance_cb);
    rd_kafka_conf_set_stats_cb(conf, kafka_input_stats_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, kafka_input_offset_commit_cb);
    r = conf;
    conf = NULL;
out:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    return r;
}

int
kafka_input_new(uv_loop_t *loop, const struct kafka_input_conf *c, kafka_record_cb cb, void *arg,
                struct kafka_input **out, char *err, size_t errlen)
{
    struct kafka_input *ki = NULL;
    rd_kafka_conf_t *conf = NULL;
    char errstr[512];
    int embedded = c->embedded;
    int r = -1;

    *out = NULL;
    if (c->brokers == NULL || c->brokers[0] == '\0') {
        snprintf(err, errlen, "Kafka input needs brokers");
        goto out;
    }
    if (c->group == NULL || c->group[0] == '\0') {
        snprintf(err, errlen, "Kafka input needs a consumer group");
        goto out;
    }
    if (c->ntopics == 0) {
        snprintf(err, errlen, "Kafka input needs at least one topic");
        goto out;
    }
    for (size_t i = 0; i < c->ntopics; i++) {
        if (c->topics[i] == NULL || c->topics[i][0] == '\0') {
            snprintf(err, errlen, "Kafka input: empty topic name");
            goto out;
        }
    }
    ki = xcalloc(1, sizeof(*ki));
    ki->loop = loop;
    ki->cb = cb;
    ki->arg = arg;
    ki->fds[0] = ki->fds[1] = -1;
    ki->input_index = c->input_index;
    ki->tag = c->name != NULL ? xstrdup(c->name) : xasprintf("kafka:in%" PRIu32, c->input_index);
    ki->max_pending = c->max_pending > 0 ? c->max_pending : KAFKA_DEFAULT_MAX_PENDING;
    ki->stop_timeout_ms =
        c->stop_timeout_ms > 0 ? c->stop_timeout_ms : KAFKA_DEFAULT_STOP_TIMEOUT_MS;
    ki->group = xstrdup(c->group);
    ki->topics = xcalloc(c->ntopics, sizeof(*ki->topics));
    ki->ntopics = c->ntopics;
    for (size_t i = 0; i < c->ntopics; i++) {
        ki->topics[i] = xstrdup(c->topics[i]);
    }
    if (strcmp(c->brokers, "embedded") == 0) {
        if (kafka_shared == NULL) {
            if (kafka_embedded_start(c->topics, c->ntopics, c->embedded_partitions, &kafka_shared,
                                     err, errlen) != 0) {
                goto out;
            }
        } else if (kafka_embedded_add_topics(kafka_shared, c->topics, c->ntopics,
                                             c->embedded_partitions, err, errlen) != 0) {
            goto out;
        }
        kafka_shared_refs++;
        ki->uses_shared = 1;
        embedded = 1;
        ki->brokers = xstrdup(kafka_embedded_bootstrap(kafka_shared));
    } else {
        ki->brokers = xstrdup(c->brokers);
    }
    if (embedded) {
        log_write(LOG_LVL_NOTICE, ki->tag,
                  "embedded Kafka (librdkafka mock cluster) on %s: "
                  "in memory only, for demos and tests",
                  ki->brokers);
    }
    conf = kafka_input_conf_build(ki, c, embedded, err, errlen);
    if (conf == NULL) {
        goto out;
    }
    ki->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (ki->rk == NULL) {
        snprintf(err, errlen, "rd_kafka_new() failed: %s", errstr);
        goto out;
    }
    conf = NULL; /* owned by ki->rk */
    if (rd_kafka_set_log_queue(ki->rk, NULL) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_poll_set_consumer(ki->rk) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "could not route librdkafka's queues to the consumer queue");
        goto out;
    }
    ki->q = rd_kafka_queue_get_consumer(ki->rk);
    if (ki->q == NULL) {
        snprintf(err, errlen, "rd_kafka_queue_get_consumer() failed");
        goto out;
    }
    *out = ki;
    ki = NULL;
    r = 0;
out:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    kafka_input_free(ki);
    return r;
}

int
kafka_input_start(struct kafka_input *ki)
{
    rd_kafka_topic_partition_list_t *topics = NULL;
    rd_kafka_resp_err_t e;
    int r = -1;

    assert(ki->state == KAFKA_NEW && !ki->started);
    if (pipe2(ki->fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        log_write(LOG_LVL_ERR, ki->tag, "pipe2() failed: %s", strerror(errno));
        ki->fds[0] = ki->fds[1] = -1;
        goto out;
    }
    if (uv_poll_init(ki->loop, &ki->poll, ki->fds[0]) != 0) {
        log_write(LOG_LVL_ERR, ki->tag, "uv_poll_init() failed");
        goto out;
    }
    uv_idle_init(ki->loop, &ki->idle);
    uv_timer_init(ki->loop, &ki->timer);
    uv_timer_init(ki->loop, &ki->stop_timer);
    ki->poll.data = ki->idle.data = ki->timer.data = ki->stop_timer.data = ki;
    ki->handles_open = KAFKA_NHANDLES;
    ki->started = 1;
    rd_kafka_queue_io_event_enable(ki->q, ki->fds[1], "k", 1);
    uv_poll_start(&ki->poll, UV_READABLE, kafka_input_poll_cb);
    uv_timer_start(&ki->timer, kafka_input_timer_cb, KAFKA_KEEPALIVE_MS, KAFKA_KEEPALIVE_MS);

    topics = rd_kafka_topic_partition_list_new((int)ki->ntopics);
    for (size_t i = 0; i < ki->ntopics; i++) {
        rd_kafka_topic_partition_list_add(topics, ki->topics[i], RD_KAFKA_PARTITION_UA);
    }
    e = rd_kafka_subscribe(ki->rk, topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_write(LOG_LVL_ERR, ki->tag, "rd_kafka_subscribe() failed: %s", rd_kafka_err2str(e));
        goto out;
    }
    ki->state = KAFKA_RUNNING;
    log_write(LOG_LVL_INFO, ki->tag, "consuming from %s (group %s)", ki->brokers, ki->group);
    /* ops queued before the io event was enabled would not wake us */
    kafka_input_schedule(ki);
    r = 0;
out:
    if (topics != NULL) {
        rd_kafka_topic_partition_list_destroy(topics);
    }
    return r;
}

void
kafka_input_resume(struct kafka_input *ki)
{
    if (ki->blocked_head == NULL || ki->state != KAFKA_RUNNING) {
        return;
    }
    ki->resume_wanted = 1;
    kafka_input_schedule(ki);
}

void
kafka_input_ack(struct kafka_input *ki, const struct event_source *src)
{
    struct kafka_part *p = kafka_input_part_find(ki, src->name, src->partition);
    uint32_t lo = 0, hi, mid;
    struct kafka_slot *s;

    if (p == NULL || p->ring_len == 0) {
        return;
    }
    /* offsets in the ring increase: binary search */
    hi = p->ring_len;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (p->ring[(p->ring_head + mid) % p->ring_cap].offset < src->offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == p->ring_len) {
        return;
    }
    s = &p->ring[(p->ring_head + lo) % p->ring_cap];
    if (s->offset != src->offset || s->done) {
        return;
    }
    s->done = 1;
    p->npending--;
    ki->pending_total--;
    kafka_input_advance(ki, p);
    if (p->blocked == KAFKA_BLOCK_FULL) {
        ki->retry_full = 1;
        kafka_input_schedule(ki);
    }
    if (ki->state == KAFKA_STOP_DRAIN && ki->pending_total == 0) {
        kafka_input_schedule(ki);
    }
}

static void
kafka_input_close_cb(uv_handle_t *h)
{
    struct kafka_input *ki = h->data;

    if (--ki->handles_open > 0) {
        return;
    }
    if (ki->free_on_close) {
        free(ki);
        return;
    }
    ki->state = KAFKA_STOPPED;
    if (ki->done != NULL) {
        ki->done(ki->done_arg);
    }
}

static void
kafka_input_close_handles(struct kafka_input *ki)
{
    uv_close((uv_handle_t *)&ki->poll, kafka_input_close_cb);
    uv_close((uv_handle_t *)&ki->idle, kafka_input_close_cb);
    uv_close((uv_handle_t *)&ki->timer, kafka_input_close_cb);
    uv_close((uv_handle_t *)&ki->stop_timer, kafka_input_close_cb);
}

static void
kafka_input_stop_timer_cb(uv_timer_t *h)
{
    struct kafka_input *ki = h->data;

    ki->stop_expired = 1;
    kafka_input_stop_step(ki);
}

/* Advance the stop sequence as far as it can go now. */
static void
kafka_input_stop_step(struct kafka_input *ki)
{
    rd_kafka_error_t *error;
    struct kafka_part *p;

    if (ki->state == KAFKA_STOP_DRAIN) {
        /* held records were never accepted: they are read again after a restart */
        while ((p = ki->blocked_head) != NULL) {
            kafka_input_unhold(ki, p);
        }
        if (ki->pending_total > 0 && !ki->stop_expired) {
            return;
        }
        if (ki->pending_total > 0) {
            log_write(LOG_LVL_WARNING, ki->tag,
                      "stop: %" PRIu64 " record(s) still not complete "
                      "after %" PRId64 " ms; their offsets are not committed (read again on "
                      "restart)",
                      ki->pending_total, ki->stop_timeout_ms / 2);
        }
        ki->state = KAFKA_STOP_CLOSE;
        ki->stop_expired = 0;
        uv_timer_start(&ki->stop_timer, kafka_input_stop_timer_cb,
                       (uint64_t)(ki->stop_timeout_ms - ki->stop_timeout_ms / 2), 0);
        rd_kafka_commit_queue(ki->rk, NULL, ki->q, kafka_input_final_commit_cb, ki);
        error = rd_kafka_consumer_close_queue(ki->rk, ki->q);
        if (error != NULL) {
            log_write(LOG_LVL_WARNING, ki->tag, "rd_kafka_consumer_close_queue() failed: %s",
                      rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
        kafka_input_schedule(ki);
        return;
    }
    if (ki->state == KAFKA_STOP_CLOSE) {
        ki->closed = rd_kafka_consumer_closed(ki->rk);
        if (!ki->closed && !ki->stop_expired) {
            return;
        }
        if (!ki->closed) {
            log_write(LOG_LVL_WARNING, ki->tag,
                      "stop: leaving the consumer group did not "
                      "finish in time; closing anyway");
        } else {
            log_write(LOG_LVL_INFO, ki->tag, "left the consumer group");
        }
        ki->state = KAFKA_STOP_HANDLES;
        kafka_input_close_handles(ki);
    }
}

void
kafka_input_stop(struct kafka_input *ki, void (*done)(void *arg), void *arg)
{
    rd_kafka_topic_partition_list_t *assignment = NULL;

    if (ki->state == KAFKA_NEW) {
        /* never started (or the start failed): nothing to commit or leave */
        done(arg);
        return;
    }
    if (ki->state != KAFKA_RUNNING) {
        return; /* already stopping: done() comes once */
    }
    ki->done = done;
    ki->done_arg = arg;
    ki->state = KAFKA_STOP_DRAIN;
    /* fetch no more; the held records are dropped by kafka_input_stop_step(), not here: this
       may run inside the record callback that is looking at one of them */
    if (rd_kafka_assignment(ki->rk, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (assignment->cnt > 0) {
            rd_kafka_pause_partitions(ki->rk, assignment);
        }
        rd_kafka_topic_partition_list_destroy(assignment);
    }
    uv_timer_start(&ki->stop_timer, kafka_input_stop_timer_cb, (uint64_t)ki->stop_timeout_ms / 2,
                   0);
    uv_timer_start(&ki->timer, kafka_input_timer_cb, KAFKA_STOP_CHECK_MS, KAFKA_STOP_CHECK_MS);
    log_write(LOG_LVL_INFO, ki->tag, "stopping (%" PRIu64 " record(s) pending)", ki->pending_total);
    kafka_input_schedule(ki);
}

void
kafka_input_free(struct kafka_input *ki)
{
    struct kafka_part *p, *next;

    if (ki == NULL) {
        return;
    }
    /* every message and topic handle goes before rd_kafka_destroy() */
    for (size_t b = 0; b < KAFKA_BUCKETS; b++) {
        for (p = ki->buckets[b]; p != NULL; p = next) {
            next = p->hnext;
            if (p->held != NULL) {
                rd_kafka_message_destroy(p->held);
            }
            if (p->rkt != NULL) {
                rd_kafka_topic_destroy(p->rkt);
            }
            free(p->ring);
            free(p);
        }
    }
    if (ki->q != NULL) {
        if (ki->started) {
            rd_kafka_queue_io_event_enable(ki->q, -1, NULL, 0);
        }
        rd_kafka_queue_destroy(ki->q);
    }
    if (ki->rk != NULL) {
        rd_kafka_destroy_flags(
            ki->rk, ki->started && !ki->closed ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
    }
    if (ki->uses_shared && --kafka_shared_refs == 0) {
        kafka_embedded_stop(kafka_shared);
        kafka_shared = NULL;
    }
    if (ki->fds[0] >= 0) {
        close(ki->fds[0]);
    }
    if (ki->fds[1] >= 0) {
        close(ki->fds[1]);
    }
    for (size_t i = 0; i < ki->ntopics; i++) {
        free(ki->topics[i]);
    }
    free(ki->topics);
    for (size_t i = 0; i < ki->nnames; i++) {
        free(ki->names[i]);
    }
    free(ki->names);
    free(ki->brokers);
    free(ki->group);
    free(ki->tag);
    free(ki->pstats);
    if (ki->started && ki->state != KAFKA_STOPPED) {
        /* handles still open (stop not called or not finished): free in their close cb */
        ki->free_on_close = 1;
        if (ki->state != KAFKA_STOP_HANDLES) {
            kafka_input_close_handles(ki);
        }
        return;
    }
    free(ki);
}

void
kafka_input_set_assign_cb(struct kafka_input *ki, kafka_assign_cb cb, void *arg)
{
    ki->assign_cb = cb;
    ki->assign_arg = arg;
}

const char *
kafka_input_brokers(const struct kafka_input *ki)
{
    return ki->brokers;
}

void
kafka_input_get_stats(struct kafka_input *ki, struct kafka_input_stats *st)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    size_t n = 0;

    *st = ki->stats;
    st->npartitions = 0;
    st->partitions = NULL;
    for (size_t b = 0; b < KAFKA_BUCKETS; b++) {
        for (struct kafka_part *p = ki->buckets[b]; p != NULL; p = p->hnext) {
            n += p->assigned ? 1 : 0;
        }
    }
    if (n == 0 || ki->rk == NULL) {
        return;
    }
    if (n > ki->pstats_cap) {
        ki->pstats = xreallocarray(ki->pstats, n, sizeof(*ki->pstats));
        ki->pstats_cap = n;
    }
    l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t b = 0; b < KAFKA_BUCKETS; b++) {
        for (struct kafka_part *p = ki->buckets[b]; p != NULL; p = p->hnext) {
            if (p->assigned) {
                rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->opaque = p;
            }
        }
    }
    rd_kafka_position(ki->rk, l);
    for (int i = 0; i < l->cnt; i++) {
        struct kafka_part *p = l->elems[i].opaque;
        struct kafka_partition_stats *ps = &ki->pstats[i];
        int64_t lo = -1, hi = -1, base;

        if (rd_kafka_get_watermark_offsets(ki->rk, p->topic, p->partition, &lo, &hi) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0) {
            hi = -1;
        }
        ps->topic = p->topic;
        ps->partition = p->partition;
        ps->position = l->elems[i].offset >= 0 ? l->elems[i].offset : -1;
        ps->stored = p->stored;
        ps->high_watermark = hi;
        base = p->stored >= 0 ? p->stored : ps->position;
        ps->lag = hi >= 0 && base >= 0 ? (hi > base ? hi - base : 0) : -1;
        ps->pending = p->npending;
        ps->paused = p->blocked != KAFKA_BLOCK_NONE;
    }
    st->npartitions = (size_t)l->cnt;
    st->partitions = ki->pstats;
    rd_kafka_topic_partition_list_destroy(l);
}
