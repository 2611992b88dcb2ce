/*
 * Tests of the Kafka transport (core/deliver-kafka.c) against librdkafka's mock cluster in
 * this process (kafka-embedded.c): each record once and in order (one partition, key = alert
 * id), the broker down then up, delivery reports that time out and are sent again, config
 * checks. What arrived is read back with a plain consumer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "deliver.h"
#include "errlist.h"
#include "kafka-embedded.h"
#include "tap.h"
#include "test-deliver-util.h"

static uv_loop_t loop;
static struct kafka_embedded *ke;
static const char *bootstrap;

static int
submit_range(struct deliver *d, int from, int to)
{
    char id[32], data[128];

    for (int i = from; i < to; i++) {
        int r;
        snprintf(id, sizeof(id), "k-%06d", i);
        snprintf(data, sizeof(data), "{\"alert\":\"k-%06d\"}\n", i);
        r = deliver_submit(d, id, data, strlen(data));
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

/*
 * Read partition 0 of topic from the beginning until n messages or timeout_ms; returns the
 * keys space-separated (caller frees); *bad counts messages whose value lacks their key.
 */
static char *
consume_keys(const char *topic, int n, int timeout_ms, int *bad)
{
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256], *out = calloc(1, 1 << 20);
    size_t len = 0;
    int got = 0, waited = 0;
    rd_kafka_t *rk;

    *bad = 0;
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", "test-reader", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        tap_diag("consumer: %s", errstr);
        return out;
    }
    rd_kafka_poll_set_consumer(rk);
    parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    while (got < n && waited < timeout_ms) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL) {
            waited += 100;
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (m->key_len < 64 && len + m->key_len + 2 < (1 << 20)) {
                memcpy(out + len, m->key, m->key_len);
                out[len + m->key_len] = '\0';
                if (memmem(m->payload, m->len, out + len, m->key_len) == NULL) {
                    (*bad)++;
                }
                len += m->key_len;
                out[len++] = ' ';
            }
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    /* a little more, to see duplicates that would follow */
    for (int i = 0; i < 3; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m != NULL && m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->key_len < 64 &&
            len + m->key_len + 2 < (1 << 20)) {
            memcpy(out + len, m->key, m->key_len);
            len += m->key_len;
            out[len++] = ' ';
        }
        if (m != NULL) {
            rd_kafka_message_destroy(m);
        }
    }
    out[len] = '\0';
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return out;
}

static void
check_topic(const char *topic, int n, const char *what, int max_dups)
{
    struct dt_ids ids;
    char *keys;
    int bad;

    keys = consume_keys(topic, n, 10000, &bad);
    dt_ids_check(keys, "k-", n, &ids);
    free(keys);
    ok(ids.unique == n && ids.missing == 0 && ids.unknown == 0 && ids.order,
       "%s: all %d in the topic, in order (%d read, %d missing)", what, n, ids.n, ids.missing);
    ok(ids.dups <= max_dups, "%s: duplicates %d <= %d", what, ids.dups, max_dups);
    is_int(bad, 0, "key = alert id of the record");
}

static struct deliver *
new_kafka(const char *partner, const char *topic, const char *extra)
{
    return dt_deliver_new(&loop, partner, dt_path("state"),
                          dt_yaml("type: kafka\nbrokers: %s\ntopic: %s\n"
                                  "retry: {initial: 20ms, max: 200ms}\n%s",
                                  bootstrap, topic, extra != NULL ? extra : ""));
}

static void
test_basic(void)
{
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;

    d = new_kafka("kbasic", "t1", "kafka: {linger.ms: 1}\n");
    ok(d != NULL, "kafka transport starts");
    if (d == NULL) {
        return;
    }
    submit_range(d, 0, 300);
    w.d = d;
    w.n = 300;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 20000), "300 delivery reports OK");
    deliver_get_stats(d, &st);
    ok(st.failed == 0 && st.retries == 0 && st.spool_records == 0, "no failures, spool empty");
    ok(dt_deliver_stop(&loop, d, 10000), "stop");
    check_topic("t1", 300, "basic", 0);
}

static void
test_broker_down_up(void)
{
    rd_kafka_mock_cluster_t *mc = kafka_embedded_cluster(ke);
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;

    d = new_kafka("kdown", "t2", "kafka: {linger.ms: 1, reconnect.backoff.max.ms: 200}\n");
    w.d = d;
    w.n = 100;
    submit_range(d, 0, 100);
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 20000), "100 delivered while up");
    rd_kafka_mock_broker_set_down(mc, 1);
    submit_range(d, 100, 400);
    dt_run_for(&loop, 1000);
    deliver_get_stats(d, &st);
    ok(st.delivered < 400, "broker down: not all delivered (%llu)",
       (unsigned long long)st.delivered);
    rd_kafka_mock_broker_set_up(mc, 1);
    w.n = 400;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 30000), "broker up again: all 400");
    ok(dt_deliver_stop(&loop, d, 10000), "stop");
    check_topic("t2", 400, "down/up", 0);
}

static void
test_timeouts(void)
{
    rd_kafka_mock_cluster_t *mc = kafka_embedded_cluster(ke);
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;

    d = new_kafka("ktimeout", "t3",
                  "kafka: {linger.ms: 1, message.timeout.ms: 300, "
                  "reconnect.backoff.max.ms: 100}\n");
    w.d = d;
    w.n = 10;
    submit_range(d, 0, 10);
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 20000), "10 delivered while up");
    rd_kafka_mock_broker_set_down(mc, 1);
    submit_range(d, 10, 200);
    dt_run_for(&loop, 1500);
    deliver_get_stats(d, &st);
    ok(st.failed >= 190 && st.retries >= 1 && !st.up,
       "reports time out: failed %llu, retries %llu, partner down", (unsigned long long)st.failed,
       (unsigned long long)st.retries);
    rd_kafka_mock_broker_set_up(mc, 1);
    w.n = 200;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 30000), "all 200 after the broker is up");
    deliver_get_stats(d, &st);
    is_int(st.up, 1, "recovered");
    ok(dt_deliver_stop(&loop, d, 10000), "stop");
    check_topic("t3", 200, "timeouts", (int)st.failed);
}

static void
test_config(void)
{
    struct deliver_conf dc = {"p", NULL, NULL, "test.yaml", NULL};
    struct errlist errs = {NULL, 0};
    int found = 0;

    dc.deliver = dt_yaml("type: kafka\nbrokers: x:9092\ntopic: t\n"
                         "kafka: {acks: '1', no.such.property: 3}\n");
    is_int(deliver_check(&dc, &errs), -1, "bad kafka properties refused");
    for (size_t i = 0; i < errs.n; i++) {
        found |= strstr(errs.msgs[i], "deliver.kafka.acks: set by kizuna") != NULL ? 1 : 0;
        found |= strstr(errs.msgs[i], "deliver.kafka.no.such.property:") != NULL ? 2 : 0;
    }
    is_int(found, 3, "managed and unknown properties named");
    errlist_free(&errs);
    dc.deliver = dt_yaml("type: kafka\nbrokers: x:9092\n");
    is_int(deliver_check(&dc, &errs), -1, "topic required");
    errlist_free(&errs);
}

int
main(void)
{
    const char *topics[] = {"t1", "t2", "t3"};
    char err[256];

    dt_init();
    uv_loop_init(&loop);
    if (kafka_embedded_start(topics, 3, 1, &ke, err, sizeof(err)) != 0) {
        printf("1..0 # SKIP mock cluster: %s\n", err);
        return 0;
    }
    bootstrap = kafka_embedded_bootstrap(ke);
    test_config();
    test_basic();
    test_broker_down_up();
    test_timeouts();
    dt_run_for(&loop, 10);
    is_int(uv_loop_close(&loop), 0, "every handle closed");
    kafka_embedded_stop(ke);
    dt_cleanup();
    return tap_done();
}
