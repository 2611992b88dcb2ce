/*
 * The Redis side of state-test.h: the conformance suite's operations on a Redis store,
 * each submitted and completed by running the loop, and its timers fired by rounds over the
 * shards (state_redis_fire_upto), the decisions handed out one at a time in deadline order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis-test-util.h"
#include "state-redis.h"
#include "state-test.h"
#include "tap.h"
#include "xmalloc.h"

const struct st_caps st_caps = {0, "redis: live group counts, expiry by event time, "
                                   "eviction and dump are not observable (keys expire by TTL)"};

static uv_loop_t st_loop;
static struct rt_server st_srv;

/* A decision copied out of the store's buffers. */
struct st_copy {
    struct state_result res;
    char key[4096];
    char src[ALERT_MAX_EVIDENCE][256];
    char val[ALERT_MAX_EVIDENCE][64];
};

static struct st_copy st_last;    /* the last operation's result */
static struct st_copy *st_timers; /* timer decisions not handed out yet, by deadline */
static size_t st_ntimers;
static int st_done;
static int st_rc;

/* Point c's result at c's own buffers (after c was moved). */
static void
st_fix(struct st_copy *c)
{
    c->res.key = c->key;
    for (size_t i = 0; i < c->res.nev && i < ALERT_MAX_EVIDENCE; i++) {
        if (c->res.ev[i].ref.source != NULL) {
            c->res.ev[i].ref.source = c->src[i];
        }
        if (c->res.ev[i].val != NULL) {
            c->res.ev[i].val = c->val[i];
        }
    }
}

static void
st_copy_result(struct st_copy *c, const struct state_result *res)
{
    size_t klen = res->key_len < sizeof(c->key) - 1 ? res->key_len : sizeof(c->key) - 1;

    c->res = *res;
    if (res->key != NULL) {
        memcpy(c->key, res->key, klen);
    }
    c->key[klen] = '\0';
    c->res.key = c->key;
    c->res.key_len = klen;
    for (size_t i = 0; i < res->nev && i < ALERT_MAX_EVIDENCE; i++) {
        struct state_evidence *e = &c->res.ev[i];
        if (e->ref.source != NULL) {
            snprintf(c->src[i], sizeof(c->src[i]), "%s", e->ref.source);
            e->ref.source = c->src[i];
        }
        if (e->val != NULL) {
            size_t n = e->val_len < sizeof(c->val[i]) - 1 ? e->val_len : sizeof(c->val[i]) - 1;
            memcpy(c->val[i], e->val, n);
            c->val[i][n] = '\0';
            e->val = c->val[i];
            e->val_len = n;
        }
    }
}

static void
st_timer_cb(void *arg, const struct state_result *res)
{
    size_t i;

    (void)arg;
    st_timers = xreallocarray(st_timers, st_ntimers + 1, sizeof(*st_timers));
    for (i = st_ntimers; i > 0 && st_timers[i - 1].res.time_us > res->time_us; i--) {
        st_timers[i] = st_timers[i - 1];
    }
    st_copy_result(&st_timers[i], res);
    st_ntimers++;
}

static int
st_is_done(void *arg)
{
    (void)arg;
    return st_done;
}

static int
st_idle(void *arg)
{
    return state_redis_idle(arg);
}

static int
st_connected(void *arg)
{
    struct state_redis_stats s;

    state_redis_get_stats(arg, &s);
    return s.connected;
}

/* Start the server (state-test.h). */
int
st_setup(void)
{
    uv_loop_init(&st_loop);
    if (rt_server_start(&st_srv) != 0) {
        return -1;
    }
    return 0;
}

/* Stop the server (state-test.h). */
void
st_teardown(void)
{
    rt_server_stop(&st_srv);
    uv_run(&st_loop, UV_RUN_DEFAULT);
    uv_loop_close(&st_loop);
    free(st_timers);
    rt_cleanup();
}

/* A fresh store over a flushed server (state-test.h). */
struct state_store *
st_new(const struct state_limits *lim)
{
    struct state_redis_conf c;
    struct state_store *st = NULL;
    char err[512];

    freeReplyObject(rt_cmd(&st_srv, "FLUSHALL"));
    memset(&c, 0, sizeof(c));
    c.url = st_srv.url;
    c.prefix = "kzt";
    c.timeout_us = 3000000;
    if (lim != NULL) {
        c.limits = *lim;
    }
    if (state_redis_new(&st_loop, &c, &st, err, sizeof(err)) != 0) {
        tap_diag("state_redis_new: %s", err);
        abort();
    }
    state_set_hooks(st, st_timer_cb, NULL, NULL);
    if (!rt_run_until(&st_loop, st_connected, st, 5000)) {
        tap_diag("the Redis store did not connect");
    }
    st_ntimers = 0;
    return st;
}

/* Free the store and let its handles close (state-test.h). */
void
st_free(struct state_store *st)
{
    state_free(st);
    uv_run(&st_loop, UV_RUN_DEFAULT);
}

static void
st_op_cb(struct state_op *op, int rc, const struct state_result *res)
{
    (void)op;
    st_rc = rc;
    st_copy_result(&st_last, res);
    st_done = 1;
}

static int
st_op(struct state_store *st, enum state_kind kind, uint32_t slot, const char *key, size_t len,
      const struct state_input *in, struct state_result *res)
{
    struct state_op op;

    memset(&op, 0, sizeof(op));
    op.kind = kind;
    op.slot = slot;
    op.key = key;
    op.key_len = len;
    op.in = *in;
    op.cb = st_op_cb;
    st_done = 0;
    st_rc = -1;
    memset(&st_last.res, 0, sizeof(st_last.res));
    if (state_submit(st, &op) != 0) {
        return -1;
    }
    if (!rt_run_until(&st_loop, st_is_done, NULL, 5000)) {
        tap_diag("no answer from the Redis store");
        return -1;
    }
    st_fix(&st_last);
    *res = st_last.res;
    return st_rc;
}

/* The operations (state-test.h). */
int
st_window_add(struct state_store *st, uint32_t slot, const char *key, size_t len,
              const struct state_input *in, struct state_result *res)
{
    return st_op(st, STATE_WINDOW, slot, key, len, in, res);
}

int
st_distinct_add(struct state_store *st, uint32_t slot, const char *key, size_t len,
                const struct state_input *in, struct state_result *res)
{
    return st_op(st, STATE_DISTINCT, slot, key, len, in, res);
}

int
st_sequence_advance(struct state_store *st, uint32_t slot, const char *key, size_t len,
                    const struct state_input *in, struct state_result *res)
{
    return st_op(st, STATE_SEQUENCE, slot, key, len, in, res);
}

int
st_absence_touch(struct state_store *st, uint32_t slot, const char *key, size_t len,
                 const struct state_input *in, struct state_result *res)
{
    return st_op(st, STATE_ABSENCE, slot, key, len, in, res);
}

/* The earliest deadline: of the decisions not handed out, or in the shards' ZSETs. */
int64_t
st_next_due(struct state_store *st)
{
    int64_t due = st_ntimers > 0 ? st_timers[0].res.time_us : INT64_MAX;

    (void)st;
    for (int i = 0; i < STATE_REDIS_SHARDS; i++) {
        redisReply *r = rt_cmd(&st_srv, "ZRANGE {kzt:%02d}:t 0 0 WITHSCORES", i);
        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
            int64_t d = (int64_t)strtod(r->element[1]->str, NULL);
            if (d < due) {
                due = d;
            }
        }
        freeReplyObject(r);
    }
    return due;
}

/* Hand out the earliest due decision, firing a round when none is waiting (state-test.h). */
int
st_fire_due(struct state_store *st, int64_t upto, struct state_result *res)
{
    int64_t d;

    memset(res, 0, sizeof(*res));
    if (st_ntimers == 0 || st_timers[0].res.time_us > upto) {
        d = st_next_due(st);
        if (d == INT64_MAX || d > upto) {
            return 0;
        }
        state_redis_fire_upto(st, d);
        if (!rt_run_until(&st_loop, st_idle, st, 5000)) {
            tap_diag("timer round did not finish");
        }
        if (st_ntimers == 0) {
            return 1; /* evaluated without a decision */
        }
    }
    st_last = st_timers[0];
    memmove(st_timers, st_timers + 1, (st_ntimers - 1) * sizeof(*st_timers));
    st_ntimers--;
    st_fix(&st_last);
    *res = st_last.res;
    return 1;
}
