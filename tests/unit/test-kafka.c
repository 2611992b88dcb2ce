/*
 * The Kafka input against a real Kafka protocol endpoint: librdkafka's mock cluster on
 * loopback (kafka-embedded.c), a real librdkafka producer, and kafka_input on a uv loop.
 * Every wait runs the loop until a condition holds, with a deadline; nothing sleeps.
 * Mock-cluster timings (librdkafka 2.0.2): forming a consumer group takes ~3 s, so the file
 * forms as few groups as it can.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <uv.h>

#include "kafka.h"
#include "log.h"
#include "tap.h"
#include "xmalloc.h"

#define NPART 3

static uv_loop_t *loop;
static struct kafka_embedded *ke;
static const char *bootstrap;
static int delivery_failures;

/* librdkafka properties that keep the mock cluster's group protocol quick */
static const char *const fast_props[] = {
    "session.timeout.ms",       "6000", "heartbeat.interval.ms", "300",
    "statistics.interval.ms",   "200",  "reconnect.backoff.ms",  "50",
    "reconnect.backoff.max.ms", "300",
};

/* ---- loop helpers ---- */

static int deadline_hit;

static void
deadline_cb(uv_timer_t *t)
{
    deadline_hit = 1;
}

/* Run the loop until cond(arg) holds or timeout_ms pass; returns cond(arg). */
static int
run_until(int (*cond)(void *), void *arg, uint64_t timeout_ms)
{
    uv_timer_t t;

    deadline_hit = 0;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, deadline_cb, timeout_ms, 0);
    while (!cond(arg) && !deadline_hit) {
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return cond(arg);
}

static int
flag_set(void *arg)
{
    return *(int *)arg != 0;
}

static void
stopped_cb(void *arg)
{
    *(int *)arg = 1;
}

/* Stop ki, wait for done, free it. Returns 1 when done came in time. */
static int
input_stop_free(struct kafka_input *ki)
{
    int stopped = 0;
    int r;

    kafka_input_stop(ki, stopped_cb, &stopped);
    r = run_until(flag_set, &stopped, 20000);
    kafka_input_free(ki);
    return r;
}

/* ---- producer and committed offsets (plain librdkafka) ---- */

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        delivery_failures++;
    }
}

/* The test clients' own logs: only with KZ_TEST_DEBUG (the outage test makes them noisy). */
static void
client_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (log_level >= LOG_LVL_DEBUG) {
        fprintf(stderr, "# client %s %s: %s\n", rd_kafka_name(rk), fac, buf);
    }
}

static void
client_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    client_log_cb(rk, LOG_LVL_ERR, "ERROR", reason);
}

static rd_kafka_t *
producer_new(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];
    rd_kafka_t *rk;

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "linger.ms", "2", errstr, sizeof(errstr));
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_log_cb(conf, client_log_cb);
    rd_kafka_conf_set_error_cb(conf, client_error_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "producer: %s\n", errstr);
        abort();
    }
    return rk;
}

static void
produce(rd_kafka_t *p, const char *topic, int32_t partition, const char *payload)
{
    rd_kafka_resp_err_t e;

    for (;;) {
        e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_VALUE((void *)payload, strlen(payload)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            break;
        }
        rd_kafka_poll(p, 10);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
        abort();
    }
}

/* Committed offsets of group for topic partitions 0..NPART-1 into out; returns 0 on success. */
static int
committed(const char *group, const char *topic, int64_t *out)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
    char errstr[256];
    rd_kafka_t *rk;
    rd_kafka_resp_err_t e;

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr));
    rd_kafka_conf_set_log_cb(conf, client_log_cb);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    for (int i = 0; i < NPART; i++) {
        rd_kafka_topic_partition_list_add(l, topic, i);
    }
    e = rd_kafka_committed(rk, l, 10000);
    for (int i = 0; i < NPART; i++) {
        out[i] = l->elems[i].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* ---- a record collector ---- */

struct rec {
    int32_t partition;
    int64_t offset;
    char *payload;
};

struct coll {
    struct rec *v;
    size_t n, cap;
    size_t want;
    const char *name0; /* event_source.name of the first record */
    int name_stable;   /* every record had the same name pointer */
    int bad_source;    /* wrong input index or topic, or missing timestamp */
    uint32_t input;
    const char *topic;
    int64_t last[NPART]; /* last offset per partition, for the order check */
    int out_of_order;
    void (*hook)(struct coll *c); /* after each record */
};

static void
coll_init(struct coll *c, const char *topic, uint32_t input, size_t want)
{
    memset(c, 0, sizeof(*c));
    c->topic = topic;
    c->input = input;
    c->want = want;
    c->name_stable = 1;
    for (int i = 0; i < NPART; i++) {
        c->last[i] = -1;
    }
}

static void
coll_free(struct coll *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].payload);
    }
    free(c->v);
}

static void
coll_add(struct coll *c, const struct event_source *src, const char *data, size_t len, int64_t ts)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
    }
    c->v[c->n].partition = src->partition;
    c->v[c->n].offset = src->offset;
    c->v[c->n].payload = xstrndup(data, len);
    c->n++;
    if (c->name0 == NULL) {
        c->name0 = src->name;
    } else if (c->name0 != src->name) {
        c->name_stable = 0;
    }
    if (src->input != c->input || strcmp(src->name, c->topic) != 0 || ts <= 0 ||
        src->partition < 0 || src->partition >= NPART || src->line != 0) {
        c->bad_source = 1;
        return;
    }
    if (src->offset <= c->last[src->partition]) {
        c->out_of_order = 1;
    }
    c->last[src->partition] = src->offset;
}

static int
coll_record_cb(void *arg, const struct event_source *src, const char *data, size_t len, int64_t ts)
{
    struct coll *c = arg;

    coll_add(c, src, data, len, ts);
    if (c->hook != NULL) {
        c->hook(c);
    }
    return KAFKA_RECORD_DONE;
}

static int
coll_full(void *arg)
{
    struct coll *c = arg;
    return c->n >= c->want;
}

static int
rec_cmp(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;

    if (x->partition != y->partition) {
        return x->partition < y->partition ? -1 : 1;
    }
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * Every (partition, offset) with offsets from[p] .. from[p]+per-1 exactly once, and the
 * payload at each is fmt with i = (offset - from[p]) * NPART + p + base.
 */
static int
coll_check_exact(struct coll *c, const int64_t *from, int64_t per, const char *fmt, int base)
{
    char want[64];
    size_t k = 0;

    if (c->n != (size_t)(per * NPART)) {
        tap_diag("got %zu records, want %" PRId64, c->n, per * NPART);
        return 0;
    }
    qsort(c->v, c->n, sizeof(*c->v), rec_cmp);
    for (int p = 0; p < NPART; p++) {
        for (int64_t o = 0; o < per; o++, k++) {
            const struct rec *r = &c->v[k];
            if (r->partition != p || r->offset != from[p] + o) {
                tap_diag("record %zu is %" PRId32 "@%" PRId64 ", want %d@%" PRId64, k, r->partition,
                         r->offset, p, from[p] + o);
                return 0;
            }
            snprintf(want, sizeof(want), fmt, (int)(o * NPART + p + base));
            if (strcmp(r->payload, want) != 0) {
                tap_diag("payload at %d@%" PRId64 " is \"%s\", want \"%s\"", p, r->offset,
                         r->payload, want);
                return 0;
            }
        }
    }
    return 1;
}

static int64_t commit_interval_ms = 200; /* of the inputs input_new() builds */
static const char *const *props;         /* NULL: fast_props */

/*
 * The mock cluster refuses offset commits while the group rebalances, which is exactly when
 * the eager protocol revokes (a real broker accepts the current generation's commits until
 * the sync). With cooperative-sticky, revocation comes after the sync: the hand-over commit
 * can be checked against the mock.
 */
static const char *const cooperative[] = {
    "session.timeout.ms",
    "3000",
    /* the mock waits session.timeout.ms - 1 s per rebalance */ "heartbeat.interval.ms",
    "300",
    "statistics.interval.ms",
    "200",
    "reconnect.backoff.ms",
    "50",
    "reconnect.backoff.max.ms",
    "300",
    "partition.assignment.strategy",
    "cooperative-sticky",
};

static struct kafka_input *
input_new(const char *topic, const char *group, uint32_t index, kafka_record_cb cb, void *arg,
          uint32_t max_pending, int64_t stop_timeout_ms)
{
    const char *topics[] = {topic};
    struct kafka_input_conf kc = {0};
    struct kafka_input *ki = NULL;
    char err[512];

    kc.brokers = bootstrap;
    kc.embedded = 1;
    kc.topics = topics;
    kc.ntopics = 1;
    kc.group = group;
    kc.props = props != NULL ? props : fast_props;
    kc.nprops = props != NULL ? sizeof(cooperative) / sizeof(cooperative[0]) / 2
                              : sizeof(fast_props) / sizeof(fast_props[0]) / 2;
    kc.input_index = index;
    kc.commit_interval_ms = commit_interval_ms;
    kc.max_pending = max_pending;
    kc.stop_timeout_ms = stop_timeout_ms;
    if (kafka_input_new(loop, &kc, cb, arg, &ki, err, sizeof(err)) != 0) {
        tap_diag("kafka_input_new: %s", err);
        return NULL;
    }
    if (kafka_input_start(ki) != 0) {
        kafka_input_free(ki);
        return NULL;
    }
    return ki;
}

/* ---- 1. configuration errors (no network) ---- */

static void
test_conf_errors(void)
{
    const char *topics[] = {"t"};
    const char *managed[] = {"enable.auto.offset.store", "true"};
    const char *unknown[] = {"no.such.property", "1"};
    struct kafka_input_conf kc = {0};
    struct kafka_input *ki = (void *)1;
    char err[512];

    kc.brokers = "127.0.0.1:1";
    kc.topics = topics;
    kc.ntopics = 1;
    kc.group = "g";
    kc.props = managed;
    kc.nprops = 1;
    ok(kafka_input_new(loop, &kc, coll_record_cb, NULL, &ki, err, sizeof(err)) == -1 &&
           ki == NULL && strstr(err, "enable.auto.offset.store") != NULL &&
           strstr(err, "managed") != NULL,
       "a property kizuna manages is refused: %s", err);
    kc.props = unknown;
    ok(kafka_input_new(loop, &kc, coll_record_cb, NULL, &ki, err, sizeof(err)) == -1 &&
           strstr(err, "no.such.property") != NULL,
       "an unknown librdkafka property is refused: %s", err);
    kc.props = NULL;
    kc.nprops = 0;
    kc.ntopics = 0;
    ok(kafka_input_new(loop, &kc, coll_record_cb, NULL, &ki, err, sizeof(err)) == -1,
       "an input without topics is refused: %s", err);
    kc.ntopics = 1;
    kc.group = NULL;
    ok(kafka_input_new(loop, &kc, coll_record_cb, NULL, &ki, err, sizeof(err)) == -1,
       "an input without a group is refused: %s", err);
    kc.group = "g";
    ok(kafka_input_new(loop, &kc, coll_record_cb, NULL, &ki, err, sizeof(err)) == 0 &&
           strcmp(kafka_input_brokers(ki), "127.0.0.1:1") == 0,
       "a valid input is built without connecting");
    kafka_input_free(ki);
}

/* ---- 1b. no broker at all: the outage is reported, and stop ends within its bound ---- */

static int
input_down(void *arg)
{
    struct kafka_input_stats st;

    kafka_input_get_stats(arg, &st);
    return st.brokers_down && st.outages == 1;
}

static void
test_no_broker(void)
{
    const char *topics[] = {"t"};
    struct kafka_input_conf kc = {0};
    struct kafka_input *ki = NULL;
    int stopped = 0, r;
    uint64_t t0;
    char err[512];

    kc.brokers = "127.0.0.1:1"; /* nothing listens on port 1 */
    kc.topics = topics;
    kc.ntopics = 1;
    kc.group = "g";
    kc.stop_timeout_ms = 1000;
    r = kafka_input_new(loop, &kc, coll_record_cb, NULL, &ki, err, sizeof(err)) == 0 &&
        kafka_input_start(ki) == 0;
    ok(r, "an input without a reachable broker starts");
    if (!r) {
        kafka_input_free(ki);
        return;
    }
    r = run_until(input_down, ki, 10000);
    ok(r, "the outage shows in its stats (brokers_down, one outage)");
    uv_update_time(loop);
    t0 = uv_now(loop);
    kafka_input_stop(ki, stopped_cb, &stopped);
    kafka_input_stop(ki, stopped_cb, &stopped); /* ignored */
    r = run_until(flag_set, &stopped, 5000);
    uv_update_time(loop);
    ok(r && uv_now(loop) - t0 <= 1500, "stop finished within stop_timeout (%" PRIu64 " ms)",
       uv_now(loop) - t0);
    kafka_input_free(ki);

    /* freed while running: handles closed, memory released by their close callbacks */
    ki = NULL;
    r = kafka_input_new(loop, &kc, coll_record_cb, NULL, &ki, err, sizeof(err)) == 0 &&
        kafka_input_start(ki) == 0;
    kafka_input_free(ki);
    uv_run(loop, UV_RUN_NOWAIT);
    ok(r && !uv_loop_alive(loop), "an input freed while running leaves nothing on the loop");
}

/* ---- 2. exactly once, then a second consumer of the group honours the commit ---- */

static void
test_exactly_once_and_commit(rd_kafka_t *prod)
{
    const int per = 1000;
    struct coll c;
    struct kafka_input *ki;
    struct kafka_input_stats st;
    int64_t from[NPART] = {0, 0, 0}, comm[NPART] = {-1, -1, -1};
    char payload[64];
    int ok_stats, r;

    for (int i = 0; i < per * NPART; i++) {
        snprintf(payload, sizeof(payload), "t3-%05d", i);
        produce(prod, "t3", i % NPART, payload);
    }
    ok(rd_kafka_flush(prod, 10000) == 0 && delivery_failures == 0, "produced %d records",
       per * NPART);

    coll_init(&c, "t3", 7, (size_t)(per * NPART));
    ki = input_new("t3", "gA", 7, coll_record_cb, &c, 0, 0);
    ok(ki != NULL, "first input started");
    if (ki == NULL) {
        return;
    }
    r = run_until(coll_full, &c, 30000);
    ok(r, "all %d records delivered (%zu)", per * NPART, c.n);
    ok(coll_check_exact(&c, from, per, "t3-%05d", 0),
       "each (partition, offset) exactly once, payloads intact");
    ok(!c.out_of_order && !c.bad_source && c.name_stable,
       "offset order per partition; source input/topic/timestamp right; topic name stable");
    kafka_input_get_stats(ki, &st);
    ok_stats = st.messages == (uint64_t)(per * NPART) && st.bytes == (uint64_t)(per * NPART) * 8 &&
               st.npartitions == NPART && st.refused == 0 && st.rebalances >= 1;
    for (size_t i = 0; ok_stats && i < st.npartitions; i++) {
        const struct kafka_partition_stats *ps = &st.partitions[i];
        ok_stats = ps->stored == per && ps->pending == 0 && !ps->paused &&
                   ps->high_watermark == per && ps->lag == 0;
        if (!ok_stats) {
            tap_diag("%s[%d]: stored %" PRId64 " hwm %" PRId64 " lag %" PRId64, ps->topic,
                     ps->partition, ps->stored, ps->high_watermark, ps->lag);
        }
    }
    ok(ok_stats, "stats: %" PRIu64 " messages, %zu partitions, stored = high watermark, lag 0",
       st.messages, st.npartitions);
    ok(input_stop_free(ki), "first input stopped (final commit, left the group)");
    r = committed("gA", "t3", comm) == 0;
    ok(r && comm[0] == per && comm[1] == per && comm[2] == per,
       "the stop committed every processed offset (%" PRId64 ", %" PRId64 ", %" PRId64 ")", comm[0],
       comm[1], comm[2]);
    coll_free(&c);

    /* the same group again: only records produced from now on */
    coll_init(&c, "t3", 8, 300);
    ki = input_new("t3", "gA", 8, coll_record_cb, &c, 0, 0);
    ok(ki != NULL, "second input of the same group started");
    if (ki == NULL) {
        return;
    }
    for (int i = 0; i < 300; i++) {
        snprintf(payload, sizeof(payload), "new-%03d", i);
        produce(prod, "t3", i % NPART, payload);
    }
    r = run_until(coll_full, &c, 30000);
    ok(r, "the 300 new records delivered (%zu)", c.n);
    for (int p = 0; p < NPART; p++) {
        from[p] = per;
    }
    ok(coll_check_exact(&c, from, 100, "new-%03d", 0),
       "nothing old redelivered, the new ones exactly once from the committed offsets");
    ok(input_stop_free(ki), "second input stopped");
    r = committed("gA", "t3", comm) == 0;
    ok(r && comm[0] == per + 100 && comm[1] == per + 100 && comm[2] == per + 100,
       "committed offsets moved to %" PRId64, comm[0]);
    ok(rd_kafka_flush(prod, 10000) == 0 && delivery_failures == 0, "producer flushed");
    coll_free(&c);
}

/* ---- 3. "not now", PENDING with out-of-order acks, max_pending, stop with pending ---- */

struct bp {
    struct coll c;
    struct kafka_input *ki;
    uv_timer_t resume_timer;
    uv_timer_t ack_timer;
    unsigned calls;
    unsigned refusals;
    struct event_source refused[64];
    size_t nrefused;
    int refused_not_redelivered_first;
    int64_t expect_next[NPART]; /* after a refusal on p: the next accepted offset */
    struct event_source pending[4096];
    size_t npending;
    size_t max_pending_seen[NPART];
    int stored_passed_pending; /* the stored offset went past an unacknowledged record */
    int stats_checks;
    int64_t last_offset; /* per partition: never acked (tests stop with pending) */
    int acks_done;
};

static void
bp_resume_cb(uv_timer_t *t)
{
    struct bp *b = t->data;
    kafka_input_resume(b->ki);
}

/* Acknowledge the pending records, newest first (out of order), after checking that no
   stored offset passed one of them. */
static void
bp_ack_cb(uv_timer_t *t)
{
    struct bp *b = t->data;
    struct kafka_input_stats st;
    size_t keep = 0;

    if (b->npending == 0) {
        return;
    }
    kafka_input_get_stats(b->ki, &st);
    b->stats_checks++;
    for (size_t i = 0; i < st.npartitions; i++) {
        for (size_t j = 0; j < b->npending; j++) {
            if (b->pending[j].partition == st.partitions[i].partition &&
                st.partitions[i].stored > b->pending[j].offset) {
                b->stored_passed_pending = 1;
            }
        }
    }
    for (size_t j = b->npending; j-- > 0;) {
        if (b->pending[j].offset != b->last_offset) {
            kafka_input_ack(b->ki, &b->pending[j]);
        }
    }
    for (size_t j = 0; j < b->npending; j++) {
        if (b->pending[j].offset == b->last_offset) {
            b->pending[keep++] = b->pending[j]; /* never acknowledged */
        }
    }
    b->npending = keep;
}

static int
bp_record_cb(void *arg, const struct event_source *src, const char *data, size_t len, int64_t ts)
{
    struct bp *b = arg;
    size_t per_part = 0;
    int already = 0;

    b->calls++;
    for (size_t i = 0; i < b->nrefused; i++) {
        if (b->refused[i].partition == src->partition && b->refused[i].offset == src->offset) {
            already = 1;
        }
    }
    if (b->calls % 7 == 0 && !already && b->nrefused < 64) {
        b->refused[b->nrefused++] = *src;
        b->refusals++;
        if (b->expect_next[src->partition] < 0) {
            b->expect_next[src->partition] = src->offset;
        }
        uv_timer_start(&b->resume_timer, bp_resume_cb, 1, 0);
        return KAFKA_RECORD_AGAIN;
    }
    if (b->expect_next[src->partition] >= 0) {
        if (src->offset != b->expect_next[src->partition]) {
            b->refused_not_redelivered_first = 1;
        }
        b->expect_next[src->partition] = -1;
    }
    coll_add(&b->c, src, data, len, ts);
    if (b->c.n % 3 == 0 || src->offset == b->last_offset) {
        b->pending[b->npending++] = *src;
        for (size_t i = 0; i < b->npending; i++) {
            per_part += b->pending[i].partition == src->partition;
        }
        if (per_part > b->max_pending_seen[src->partition]) {
            b->max_pending_seen[src->partition] = per_part;
        }
        return KAFKA_RECORD_PENDING;
    }
    return KAFKA_RECORD_DONE;
}

static int
bp_all_but_last_acked(void *arg)
{
    struct bp *b = arg;

    return b->c.n >= b->c.want && b->npending == NPART;
}

static void
test_backpressure(rd_kafka_t *prod)
{
    const int per = 200;
    struct bp *b = xcalloc(1, sizeof(*b));
    int64_t from[NPART] = {0, 0, 0}, comm[NPART] = {-1, -1, -1};
    struct kafka_input_stats st;
    char payload[64];
    size_t maxp = 0;
    int r;

    for (int i = 0; i < per * NPART; i++) {
        snprintf(payload, sizeof(payload), "bp-%04d", i);
        produce(prod, "bp", i % NPART, payload);
    }
    ok(rd_kafka_flush(prod, 10000) == 0 && delivery_failures == 0, "produced %d records",
       per * NPART);
    coll_init(&b->c, "bp", 1, (size_t)(per * NPART));
    b->last_offset = per - 1;
    for (int p = 0; p < NPART; p++) {
        b->expect_next[p] = -1;
    }
    uv_timer_init(loop, &b->resume_timer);
    uv_timer_init(loop, &b->ack_timer);
    b->resume_timer.data = b->ack_timer.data = b;
    b->ki = input_new("bp", "gB", 1, bp_record_cb, b, 20, 1000);
    ok(b->ki != NULL, "input started (max_pending 20, stop_timeout 1 s)");
    if (b->ki == NULL) {
        return;
    }
    uv_timer_start(&b->ack_timer, bp_ack_cb, 3, 3);
    r = run_until(bp_all_but_last_acked, b, 30000);
    ok(r,
       "all records accepted despite refusals, all acknowledged but the last of each partition "
       "(%zu accepted, %zu pending)",
       b->c.n, b->npending);
    ok(coll_check_exact(&b->c, from, per, "bp-%04d", 0) && !b->c.out_of_order,
       "each record accepted exactly once, in offset order per partition");
    ok(b->refusals > 10 && !b->refused_not_redelivered_first,
       "%u refused records were each offered again before anything later of their partition",
       b->refusals);
    kafka_input_get_stats(b->ki, &st);
    ok(st.refused == b->refusals, "stats count the refusals (%" PRIu64 ")", st.refused);
    for (int p = 0; p < NPART; p++) {
        maxp = b->max_pending_seen[p] > maxp ? b->max_pending_seen[p] : maxp;
    }
    ok(maxp <= 20 && maxp > 1,
       "never more than max_pending unacknowledged records in a "
       "partition (max %zu)",
       maxp);
    ok(!b->stored_passed_pending && b->stats_checks > 0,
       "the stored offset never passed an unacknowledged record (%d checks)", b->stats_checks);
    {
        int good = st.npartitions == NPART;
        for (size_t i = 0; good && i < st.npartitions; i++) {
            good = st.partitions[i].stored == per - 1 && st.partitions[i].pending == 1;
        }
        ok(good, "stored offsets stop at the unacknowledged last record of each partition");
    }
    uv_timer_stop(&b->ack_timer);
    ok(input_stop_free(b->ki), "stop gave up waiting for the last acks after its timeout");
    r = committed("gB", "bp", comm) == 0;
    ok(r && comm[0] == per - 1 && comm[1] == per - 1 && comm[2] == per - 1,
       "committed offsets end before the records never acknowledged (%" PRId64 ")", comm[0]);
    uv_close((uv_handle_t *)&b->resume_timer, NULL);
    uv_close((uv_handle_t *)&b->ack_timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    coll_free(&b->c);
    free(b);
}

/* ---- 4. the broker goes down mid-stream and comes back ---- */

static rd_kafka_t *down_prod;
static struct kafka_input *down_ki;
static uv_timer_t up_timer;
static int broker_was_down;

static void
up_cb(uv_timer_t *t)
{
    rd_kafka_mock_broker_set_up(kafka_embedded_cluster(ke), 1);
}

static void
down_hook(struct coll *c)
{
    char payload[64];

    if (c->n != 300) {
        return;
    }
    rd_kafka_mock_broker_set_down(kafka_embedded_cluster(ke), 1);
    broker_was_down = 1;
    for (int i = 900; i < 1800; i++) {
        snprintf(payload, sizeof(payload), "dn-%04d", i);
        produce(down_prod, "down", i % NPART, payload);
    }
    uv_timer_start(&up_timer, up_cb, 1500, 0);
}

static int
down_recovered(void *arg)
{
    struct kafka_input_stats st;

    kafka_input_get_stats(down_ki, &st);
    return st.outages > 0 && !st.brokers_down;
}

static void
test_broker_down(rd_kafka_t *prod)
{
    struct coll c;
    int64_t from[NPART] = {0, 0, 0};
    struct kafka_input_stats st;
    char payload[64];
    int r;

    for (int i = 0; i < 900; i++) {
        snprintf(payload, sizeof(payload), "dn-%04d", i);
        produce(prod, "down", i % NPART, payload);
    }
    ok(rd_kafka_flush(prod, 10000) == 0 && delivery_failures == 0, "produced 900 records");
    down_prod = prod;
    uv_timer_init(loop, &up_timer);
    coll_init(&c, "down", 2, 1800);
    c.hook = down_hook;
    down_ki = input_new("down", "gC", 2, coll_record_cb, &c, 0, 0);
    ok(down_ki != NULL, "input started");
    if (down_ki == NULL) {
        return;
    }
    r = run_until(coll_full, &c, 40000);
    ok(r && broker_was_down, "all 1800 records arrived across a 1.5 s broker outage (%zu)", c.n);
    ok(coll_check_exact(&c, from, 600, "dn-%04d", 0) && !c.out_of_order,
       "each exactly once, in order per partition");
    ok(run_until(down_recovered, NULL, 10000), "the outage was noticed and its end too");
    kafka_input_get_stats(down_ki, &st);
    tap_diag("outages %" PRIu64 ", errors %" PRIu64, st.outages, st.errors);
    ok(input_stop_free(down_ki), "input stopped");
    ok(rd_kafka_flush(prod, 10000) == 0 && delivery_failures == 0,
       "the records produced during the outage were all delivered");
    uv_close((uv_handle_t *)&up_timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    coll_free(&c);
}

/* ---- 5. a second member joins: the first one's progress is handed over exactly ---- */

struct rb {
    struct coll c; /* everything accepted, by either member */
    struct kafka_input *x, *y;
    size_t nx, ny;
    int x_open; /* X accepts again */
};

static int
rb_x_cb(void *arg, const struct event_source *src, const char *data, size_t len, int64_t ts)
{
    struct rb *b = arg;

    if (b->nx >= 100 && !b->x_open) {
        return KAFKA_RECORD_AGAIN; /* X is stuck: its partitions pause */
    }
    b->nx++;
    coll_add(&b->c, src, data, len, ts);
    return KAFKA_RECORD_DONE;
}

static int
rb_y_cb(void *arg, const struct event_source *src, const char *data, size_t len, int64_t ts)
{
    struct rb *b = arg;

    b->ny++;
    coll_add(&b->c, src, data, len, ts);
    return KAFKA_RECORD_DONE;
}

static int
rb_x_stuck(void *arg)
{
    struct rb *b = arg;
    struct kafka_input_stats st;

    kafka_input_get_stats(b->x, &st);
    return b->nx == 100 && st.refused > 0;
}

/* Once the join of Y revoked X's partitions, let X go on; done when all arrived. */
static int
rb_all(void *arg)
{
    struct rb *b = arg;
    struct kafka_input_stats st;

    kafka_input_get_stats(b->x, &st);
    if (!b->x_open && st.rebalances >= 2) {
        b->x_open = 1;
        kafka_input_resume(b->x);
    }
    return b->c.n >= b->c.want;
}

static void
test_rebalance(rd_kafka_t *prod)
{
    struct rb *b = xcalloc(1, sizeof(*b));
    int64_t from[NPART] = {0, 0, 0};
    char payload[64];
    int r;

    for (int i = 0; i < 600; i++) {
        snprintf(payload, sizeof(payload), "rb-%04d", i);
        produce(prod, "rb", i % NPART, payload);
    }
    ok(rd_kafka_flush(prod, 10000) == 0 && delivery_failures == 0, "produced 600 records");
    coll_init(&b->c, "rb", 4, 600);
    b->c.input = 0;              /* X is input 4, Y input 5: not checked */
    commit_interval_ms = 600000; /* only the hand-over on revocation can commit */
    props = cooperative;
    b->x = input_new("rb", "gR", 4, rb_x_cb, b, 0, 0);
    r = b->x != NULL && run_until(rb_x_stuck, b, 20000);
    ok(r, "member X took 100 records and is stuck (partitions paused)");
    if (!r) {
        commit_interval_ms = 200;
        props = NULL;
        return;
    }
    b->y = input_new("rb", "gR", 5, rb_y_cb, b, 0, 0);
    r = b->y != NULL && run_until(rb_all, b, 30000);
    commit_interval_ms = 200;
    props = NULL;
    ok(r, "member Y joined; X and Y together got all 600 records (X %zu, Y %zu)", b->nx, b->ny);
    b->c.last[0] = b->c.last[1] = b->c.last[2] = -1;
    ok(coll_check_exact(&b->c, from, 200, "rb-%04d", 0),
       "none twice: the offsets X stored were committed when its partitions were revoked");
    ok(b->ny > 0 && b->nx > 100, "both members consumed after the rebalance");
    ok(input_stop_free(b->x) && input_stop_free(b->y), "both members stopped");
    coll_free(&b->c);
    free(b);
}

/* ---- 6. brokers: embedded ---- */

static void
test_embedded_input(void)
{
    const char *topics[] = {"emb"};
    struct kafka_input_conf kc = {0};
    struct kafka_input *ki = NULL;
    const char *saved = bootstrap;
    rd_kafka_t *prod;
    struct coll c;
    char err[512], payload[64];
    int64_t from[NPART] = {0, 0, 0};
    int r;

    kc.brokers = "embedded";
    kc.topics = topics;
    kc.ntopics = 1;
    kc.group = "gE";
    kc.props = fast_props;
    kc.nprops = sizeof(fast_props) / sizeof(fast_props[0]) / 2;
    kc.input_index = 3;
    kc.embedded_partitions = NPART;
    coll_init(&c, "emb", 3, 30);
    r = kafka_input_new(loop, &kc, coll_record_cb, &c, &ki, err, sizeof(err));
    ok(r == 0 && strncmp(kafka_input_brokers(ki), "127.0.0.1:", 10) == 0 &&
           strcmp(kafka_input_brokers(ki), bootstrap) != 0,
       "brokers: embedded starts its own mock cluster on %s", ki ? kafka_input_brokers(ki) : "-");
    if (ki == NULL) {
        return;
    }
    ok(kafka_input_start(ki) == 0, "embedded input started");
    bootstrap = kafka_input_brokers(ki);
    prod = producer_new();
    for (int i = 0; i < 30; i++) {
        snprintf(payload, sizeof(payload), "emb-%02d", i);
        produce(prod, "emb", i % NPART, payload);
    }
    ok(run_until(coll_full, &c, 30000) && coll_check_exact(&c, from, 10, "emb-%02d", 0),
       "records produced to the embedded cluster arrive exactly once");
    ok(rd_kafka_flush(prod, 10000) == 0, "producer flushed");
    rd_kafka_destroy(prod);
    bootstrap = saved;
    ok(input_stop_free(ki), "embedded input stopped and freed (cluster released)");
    coll_free(&c);
}

int
main(void)
{
    const char *topics[] = {"t3", "bp", "down", "rb"};
    rd_kafka_t *prod;
    char err[512];
    uv_timer_t dummy;
    int r;

    log_set_level(getenv("KZ_TEST_DEBUG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_WARNING);
    tap_plan(54);
    loop = xmalloc(sizeof(*loop));
    uv_loop_init(loop);

    test_conf_errors();
    test_no_broker();

    ke = NULL;
    r = kafka_embedded_start(topics, 4, NPART, &ke, err, sizeof(err));
    ok(r == 0, "mock cluster started on %s", ke ? kafka_embedded_bootstrap(ke) : err);
    if (ke == NULL) {
        return tap_done();
    }
    bootstrap = kafka_embedded_bootstrap(ke);
    prod = producer_new();

    test_exactly_once_and_commit(prod);
    test_backpressure(prod);
    test_broker_down(prod);
    test_rebalance(prod);
    rd_kafka_destroy(prod);
    test_embedded_input();

    kafka_embedded_stop(ke);
    uv_timer_init(loop, &dummy); /* make sure nothing of ours is left on the loop */
    uv_close((uv_handle_t *)&dummy, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    ok(uv_loop_close(loop) == 0, "every handle of the inputs was closed");
    free(loop);
    return tap_done();
}
