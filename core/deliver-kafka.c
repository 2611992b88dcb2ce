/*
 * The Kafka transport: a librdkafka idempotent producer (enable.idempotence=true, acks=all),
 * one message per record, key = alert id. A record is delivered when its delivery report
 * says so. Delivery reports, errors and librdkafka's logs all arrive on the producer's main
 * queue, which writes a byte to a pipe when it becomes non-empty; a uv_poll on the pipe
 * serves the queue on the loop thread (as the Kafka input does in kafka.c).
 *
 * librdkafka retries on its own until message.timeout.ms (default 5 minutes here); a report
 * with an error (time-out, authorization ...) sends the record again after a backoff. After
 * a fatal error (the idempotent producer cannot go on) the producer is replaced by a new one
 * and every record in flight is sent again. Ordering: per Kafka partition (the key spreads
 * records over the topic's partitions).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "deliver-int.h"
#include "log.h"
#include "xmalloc.h"

#define KAFKA_OUT_KEEPALIVE_MS 500 /* serve the queue at least this often */

struct deliver_kafka_conf {
    char *brokers;
    char *topic;
    char **props;
};

static const struct deliver_key deliver_kafka_keys[] = {
    {"brokers", DK_STRING, NULL, 0, 0, offsetof(struct deliver_kafka_conf, brokers), NULL, NULL, 1,
     "bootstrap servers, host:port,..."},
    {"topic", DK_STRING, NULL, 0, 0, offsetof(struct deliver_kafka_conf, topic), NULL, NULL, 1,
     "topic the records are produced to"},
    {"kafka", DK_PROPS, NULL, 0, 0, offsetof(struct deliver_kafka_conf, props), NULL, NULL, 0,
     "librdkafka producer properties, passed through"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0, NULL},
};

/* Properties kizuna sets and a config may not change. */
static const char *const deliver_kafka_managed[] = {
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "bootstrap.servers",
    "metadata.broker.list",
    "log.queue",
    NULL,
};

struct deliver_kafka {
    struct deliver *d;
    char *tag;
    char *brokers;
    char *topic;
    char **props; /* borrowed from the conf, which outlives the transport */
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* main queue */
    int fds[2];
    uv_poll_t poll;
    uv_timer_t timer;
    int handles_open;
    int destroying; /* rd_kafka_destroy() running on the threadpool */
    uv_work_t destroy_work;
    rd_kafka_t *dying;
    int closing;
    int fatal;     /* the producer hit a fatal error: replace it before sending */
    int conn_down; /* all brokers down was reported (logged once per change) */
};

static int
deliver_kafka_managed_prop(const char *key)
{
    for (size_t i = 0; deliver_kafka_managed[i] != NULL; i++) {
        if (strcmp(key, deliver_kafka_managed[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
deliver_kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct deliver_kafka *k = opaque;
    struct deliver_rec *rec = m->_private;
    enum deliver_result res = DELIVER_OK;
    char reason[512];

    if (k->closing || rk != k->rk || rec == NULL) {
        return; /* purged at close, or from a producer that was replaced */
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(reason, sizeof(reason), "Kafka %s topic %s: %s", k->brokers, k->topic,
                 rd_kafka_err2str(m->err));
        res = m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
                      m->err == RD_KAFKA_RESP_ERR_INVALID_RECORD
                  ? DELIVER_REJECT
                  : DELIVER_RETRY;
    } else if (k->conn_down) {
        k->conn_down = 0;
    }
    deliver_done(k->d, rec, res, res == DELIVER_OK ? NULL : reason);
}

static void
deliver_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct deliver_kafka *k = opaque;
    char buf[512];

    if (rk != k->rk || k->closing) {
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        log_err("%s: Kafka producer fatal error: %s; replacing the producer", k->tag, buf);
        k->fatal = 1;
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (!k->conn_down) {
            log_warn("%s: Kafka %s: all brokers down (records wait in librdkafka's queue "
                     "until message.timeout.ms, then in the spool)",
                     k->tag, k->brokers);
        }
        k->conn_down = 1;
        return;
    }
    log_debug("%s: Kafka error %s: %s", k->tag, rd_kafka_err2name((rd_kafka_resp_err_t)err),
              reason);
}

static void
deliver_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct deliver_kafka *k = rd_kafka_opaque(rk);
    int lvl = level < LOG_LVL_ERR ? LOG_LVL_ERR : level > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : level;

    if (strcmp(fac, "FAIL") == 0 || strcmp(fac, "ERROR") == 0) {
        lvl = LOG_LVL_DEBUG; /* connection failures: the error callback reports them */
    }
    if (log_level >= lvl) {
        log_write(lvl, NULL, "%s: librdkafka %s: %s", k != NULL ? k->tag : "kafka", fac, buf);
    }
}

static void
deliver_kafka_serve(struct deliver_kafka *k)
{
    char buf[256];

    while (k->fds[0] >= 0 && read(k->fds[0], buf, sizeof(buf)) > 0) {
    }
    /* serves every queued event (reports, errors, logs) */
    while (k->rk != NULL && !k->closing && rd_kafka_poll(k->rk, 0) > 0) {
    }
}

static void
deliver_kafka_poll_cb(uv_poll_t *h, int status, int events)
{
    deliver_kafka_serve(h->data);
}

static void
deliver_kafka_timer_cb(uv_timer_t *h)
{
    deliver_kafka_serve(h->data);
}

/* Build and start a producer. Returns 0 or -1 with a message. */
static int
deliver_kafka_start(struct deliver_kafka *k, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    int r = -1;

    const char *const defaults[] = {
        "client.id", "kizunad", "linger.ms", "5", "message.timeout.ms", "300000", NULL,
    };
    for (size_t i = 0; defaults[i] != NULL; i += 2) {
        if (rd_kafka_conf_set(conf, defaults[i], defaults[i + 1], errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "librdkafka property \"%s\": %s", defaults[i], errstr);
            goto out;
        }
    }
    for (size_t i = 0; k->props != NULL && k->props[i] != NULL; i += 2) {
        if (rd_kafka_conf_set(conf, k->props[i], k->props[i + 1], errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "librdkafka property \"%s\": %s", k->props[i], errstr);
            goto out;
        }
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", k->brokers, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "acks", "all", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log.queue", "true", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "librdkafka: %s", errstr);
        goto out;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, deliver_kafka_dr_cb);
    rd_kafka_conf_set_error_cb(conf, deliver_kafka_error_cb);
    rd_kafka_conf_set_log_cb(conf, deliver_kafka_log_cb);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (k->rk == NULL) {
        snprintf(err, errlen, "rd_kafka_new() failed: %s", errstr);
        goto out;
    }
    conf = NULL;
    rd_kafka_set_log_queue(k->rk, NULL);
    k->q = rd_kafka_queue_get_main(k->rk);
    rd_kafka_queue_io_event_enable(k->q, k->fds[1], "k", 1);
    k->fatal = 0;
    r = 0;
out:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    return r;
}

static void
deliver_kafka_destroy_work_cb(uv_work_t *req)
{
    struct deliver_kafka *k = req->data;

    rd_kafka_destroy(k->dying);
}

static void deliver_kafka_maybe_closed(struct deliver_kafka *k);

static void
deliver_kafka_destroy_after_cb(uv_work_t *req, int status)
{
    struct deliver_kafka *k = req->data;

    k->dying = NULL;
    k->destroying = 0;
    deliver_kafka_maybe_closed(k);
}

/* Stop serving the current producer and destroy it on the threadpool. */
static void
deliver_kafka_retire(struct deliver_kafka *k)
{
    rd_kafka_t *rk = k->rk;

    if (rk == NULL) {
        return;
    }
    rd_kafka_queue_io_event_enable(k->q, -1, NULL, 0);
    rd_kafka_queue_destroy(k->q);
    k->q = NULL;
    k->rk = NULL;
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT |
                           RD_KAFKA_PURGE_F_NON_BLOCKING);
    if (k->destroying) {
        rd_kafka_destroy(rk); /* one already dying: rare, do this one here */
        return;
    }
    k->dying = rk;
    k->destroying = 1;
    k->destroy_work.data = k;
    if (uv_queue_work(deliver_loop(k->d), &k->destroy_work, deliver_kafka_destroy_work_cb,
                      deliver_kafka_destroy_after_cb) != 0) {
        rd_kafka_destroy(rk);
        k->dying = NULL;
        k->destroying = 0;
    }
}

static void
deliver_kafka_send(void *state, struct deliver_rec *rec)
{
    struct deliver_kafka *k = state;
    rd_kafka_resp_err_t e;
    char reason[512];

    if (k->fatal) {
        deliver_kafka_retire(k);
        deliver_retry_sent(k->d, rec, "Kafka producer replaced after a fatal error");
        if (deliver_kafka_start(k, reason, sizeof(reason)) != 0) {
            log_err("%s: %s", k->tag, reason);
            deliver_done(k->d, rec, DELIVER_RETRY, reason);
            return;
        }
    }
    if (k->rk == NULL && deliver_kafka_start(k, reason, sizeof(reason)) != 0) {
        deliver_done(k->d, rec, DELIVER_RETRY, reason);
        return;
    }
    e = rd_kafka_producev(
        k->rk, RD_KAFKA_V_TOPIC(k->topic), RD_KAFKA_V_KEY(rec->sr->id, rec->sr->id_len),
        RD_KAFKA_V_VALUE(rec->sr->data, rec->sr->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(rec), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(reason, sizeof(reason), "Kafka produce to %s: %s", k->topic, rd_kafka_err2str(e));
        deliver_done(k->d, rec,
                     e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? DELIVER_REJECT : DELIVER_RETRY,
                     reason);
    }
}

static int
deliver_kafka_check(const void *conf, const struct deliver_ctx *cx, struct errlist *errs)
{
    const struct deliver_kafka_conf *c = conf;
    int r = 0;

    for (size_t i = 0; c->props != NULL && c->props[i] != NULL; i += 2) {
        if (deliver_kafka_managed_prop(c->props[i])) {
            deliver_conf_error(cx, ynode_get(cx->node, "kafka"), errs,
                               "deliver.kafka.%s: set by kizuna (idempotent producer, acks=all; "
                               "use brokers)",
                               c->props[i]);
            r = -1;
        } else {
            /* let librdkafka say whether it knows the property and the value */
            rd_kafka_conf_t *rc = rd_kafka_conf_new();
            char errstr[256];
            if (rd_kafka_conf_set(rc, c->props[i], c->props[i + 1], errstr, sizeof(errstr)) !=
                RD_KAFKA_CONF_OK) {
                deliver_conf_error(cx, ynode_get(cx->node, "kafka"), errs, "deliver.kafka.%s: %s",
                                   c->props[i], errstr);
                r = -1;
            }
            rd_kafka_conf_destroy(rc);
        }
    }
    return r;
}

static int
deliver_kafka_open(struct deliver *d, const void *conf, void **state, char *err, size_t errlen)
{
    const struct deliver_kafka_conf *c = conf;
    struct deliver_kafka *k = xcalloc(1, sizeof(*k));

    k->d = d;
    k->tag = xstrdup(deliver_tag(d));
    k->brokers = xstrdup(c->brokers);
    k->topic = xstrdup(c->topic);
    k->props = c->props;
    k->fds[0] = k->fds[1] = -1;
    if (pipe2(k->fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe2() failed: %s", strerror(errno));
        goto fail;
    }
    if (deliver_kafka_start(k, err, errlen) != 0) {
        goto fail;
    }
    uv_poll_init(deliver_loop(d), &k->poll, k->fds[0]);
    uv_timer_init(deliver_loop(d), &k->timer);
    k->poll.data = k->timer.data = k;
    k->handles_open = 2;
    uv_poll_start(&k->poll, UV_READABLE, deliver_kafka_poll_cb);
    uv_timer_start(&k->timer, deliver_kafka_timer_cb, KAFKA_OUT_KEEPALIVE_MS,
                   KAFKA_OUT_KEEPALIVE_MS);
    *state = k;
    return 0;
fail:
    if (k->fds[0] >= 0) {
        close(k->fds[0]);
        close(k->fds[1]);
    }
    free(k->tag);
    free(k->brokers);
    free(k->topic);
    free(k);
    return -1;
}

static void
deliver_kafka_maybe_closed(struct deliver_kafka *k)
{
    struct deliver *d = k->d;

    if (!k->closing || k->handles_open > 0 || k->destroying) {
        return;
    }
    close(k->fds[0]);
    close(k->fds[1]);
    free(k->tag);
    free(k->brokers);
    free(k->topic);
    free(k);
    deliver_transport_closed(d);
}

static void
deliver_kafka_handle_closed_cb(uv_handle_t *h)
{
    struct deliver_kafka *k = h->data;

    k->handles_open--;
    deliver_kafka_maybe_closed(k);
}

static void
deliver_kafka_close(void *state)
{
    struct deliver_kafka *k = state;

    k->closing = 1;
    deliver_kafka_retire(k);
    uv_close((uv_handle_t *)&k->poll, deliver_kafka_handle_closed_cb);
    uv_close((uv_handle_t *)&k->timer, deliver_kafka_handle_closed_cb);
}

const struct deliver_transport deliver_kafka_transport = {
    .type = "kafka",
    .keys = deliver_kafka_keys,
    .conf_size = sizeof(struct deliver_kafka_conf),
    .window = 1000,
    .window_max = 100000,
    .check = deliver_kafka_check,
    .open = deliver_kafka_open,
    .send = deliver_kafka_send,
    .reopen = NULL,
    .close = deliver_kafka_close,
};
