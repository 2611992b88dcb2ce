/*
 * The Redis state store against real redis-server processes (state-redis.c, docs/STATE.md):
 * batching (the operations of one group in one loop iteration are one call), backpressure
 * (max_in_flight, ready callback), Redis unreachable at start and then up, Redis killed
 * with calls in flight and restarted on its append-only file (calls resent, repeats are
 * no-ops, the same decisions), NOSCRIPT after SCRIPT FLUSH (reloaded, resent), a wrong
 * password, an ACL user with and without access to the prefix, a unix socket, keys that
 * expire with their window (TTL), and the fallback to memory. The conformance suite
 * (test-corr-state-redis) covers the operations themselves.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redis-test-util.h"
#include "state-redis.h"
#include "tap.h"
#include "xmalloc.h"

#define S(x) ((int64_t)((x)*1000000.0))

static uv_loop_t loop;

/* Completions recorded in order. */
struct rec {
    int n;
    char keys[64][32];    /* groups seen */
    int64_t last_pos[64]; /* per group (positions increase per group) */
    int ngroups;
    int fired[4096];
    int absorbed[4096];
    int64_t fired_time[4096];
    uint64_t fired_count[4096];
    int order_ok;
    int ready_calls;
};

static struct rec rec;

struct op {
    struct state_op op;
    int idx;
};

static void
op_cb(struct state_op *o, int rc, const struct state_result *res)
{
    struct op *op = (struct op *)o;

    /* Operations of one group complete in submission order (state.h); the groups of a
     * batch interleave. Positions increase within each group. */
    {
        int g;
        for (g = 0; g < rec.ngroups && strcmp(rec.keys[g], op->op.key) != 0; g++) {
        }
        if (g == rec.ngroups && g < 64) {
            snprintf(rec.keys[g], sizeof(rec.keys[g]), "%s", op->op.key);
            rec.last_pos[g] = -1;
            rec.ngroups++;
        }
        if (g >= 64 || op->op.in.ref.pos <= rec.last_pos[g] || rc != 0) {
            rec.order_ok = 0;
        } else {
            rec.last_pos[g] = op->op.in.ref.pos;
        }
    }
    if (rec.n < 4096) {
        rec.fired[rec.n] = res->fired;
        rec.absorbed[rec.n] = res->absorbed;
        rec.fired_time[rec.n] = res->time_us;
        rec.fired_count[rec.n] = res->count;
    }
    rec.n++;
}

static void
ready_cb(void *arg)
{
    (void)arg;
    rec.ready_calls++;
}

static void
rec_reset(void)
{
    memset(&rec, 0, sizeof(rec));
    rec.order_ok = 1;
}

static struct state_slot_spec
spec_count(uint32_t gte, int64_t timespan)
{
    struct state_slot_spec sp;

    memset(&sp, 0, sizeof(sp));
    sp.rule_id = "count";
    sp.rule_hash = "0123456789abcdef";
    sp.kind = STATE_WINDOW;
    sp.agg = STATE_AGG_COUNT;
    sp.timespan_us = timespan;
    sp.suppress_us = -1;
    sp.cond.has_lo = 1;
    sp.cond.lo = gte;
    sp.max_entries = gte;
    return sp;
}

static struct state_store *
store_new(const char *url, const char *user, const char *pass, int fallback, uint32_t max_inflight,
          int64_t margin_us)
{
    struct state_redis_conf c;
    struct state_store *st = NULL;
    struct state_slot_spec sp = spec_count(5, S(60));
    char err[512];

    memset(&c, 0, sizeof(c));
    c.url = url;
    c.username = user;
    c.password = pass;
    c.prefix = "kzf";
    c.timeout_us = 1000000;
    c.fallback_memory = fallback;
    c.fallback_after_us = 300000;
    c.max_inflight = max_inflight;
    c.ttl_margin_us = margin_us;
    c.claim_us = 200000;
    if (state_redis_new(&loop, &c, &st, err, sizeof(err)) != 0) {
        tap_diag("state_redis_new: %s", err);
        return NULL;
    }
    state_set_hooks(st, NULL, ready_cb, NULL);
    state_slot_open(st, 0, &sp);
    return st;
}

static void
store_free(struct state_store *st)
{
    state_free(st);
    uv_run(&loop, UV_RUN_DEFAULT);
}

/* Submit n events of group key (times t0 + i * step, positions pos0 + i) as ops[0..n). */
static void
submit(struct state_store *st, struct op *ops, int first, int n, const char *key, double t0,
       double step, int64_t pos0)
{
    for (int i = 0; i < n; i++) {
        struct op *o = &ops[first + i];
        memset(o, 0, sizeof(*o));
        o->idx = first + i;
        o->op.kind = STATE_WINDOW;
        o->op.slot = 0;
        o->op.key = key;
        o->op.key_len = strlen(key);
        o->op.in.time_us = S(t0 + i * step);
        o->op.in.ref.source = "auth.log";
        o->op.in.ref.partition = -1;
        o->op.in.ref.pos = pos0 + i;
        o->op.cb = op_cb;
        state_submit(st, &o->op);
    }
}

static int want_n;

static int
done_n(void *arg)
{
    (void)arg;
    return rec.n >= want_n;
}

static int
is_connected(void *arg)
{
    struct state_redis_stats s;

    state_redis_get_stats(arg, &s);
    return s.connected;
}

static int
is_fallback(void *arg)
{
    struct state_redis_stats s;

    state_redis_get_stats(arg, &s);
    return s.fallback;
}

static int
count_fired(void)
{
    int f = 0;

    for (int i = 0; i < rec.n && i < 4096; i++) {
        f += rec.fired[i];
    }
    return f;
}

static void
test_batching(struct rt_server *srv)
{
    struct state_store *st = store_new(srv->url, NULL, NULL, 0, 0, 0);
    static struct op ops[300];
    struct state_redis_stats s;

    rt_run_until(&loop, is_connected, st, 5000);
    rec_reset();
    submit(st, ops, 0, 100, "10.0.0.1", 0, 0.1, 1);
    want_n = 100;
    ok(rt_run_until(&loop, done_n, NULL, 5000) && rec.order_ok,
       "100 operations of one group complete, in order");
    state_redis_get_stats(st, &s);
    is_int(s.calls, 1, "they were one call (pre-aggregation within the loop iteration)");
    ok(rec.fired[4] && !rec.fired[3] && rec.fired_count[4] == 5 && rec.absorbed[5] &&
           rec.absorbed[99] && count_fired() == 1,
       "the 5th event fires, the rest (within its window) is absorbed");
    rec_reset();
    for (int g = 0; g < 10; g++) {
        char *key = xasprintf("10.1.0.%d", g);
        submit(st, ops, g * 10, 10, key, 100, 1, 1000 + g * 10);
    }
    want_n = 100;
    ok(rt_run_until(&loop, done_n, NULL, 5000) && rec.order_ok,
       "100 operations over 10 groups complete, each group in submission order");
    state_redis_get_stats(st, &s);
    ok(s.calls >= 2 && s.calls <= 11,
       "at most one call per group (%" PRIu64 " more; groups of one shard share a call)",
       s.calls - 1);
    store_free(st);
}

/* Evidence sources of the last decision, copied (source@pos;...). */
static char last_evidence[1024];

static void
src_cb(struct state_op *o, int rc, const struct state_result *res)
{
    op_cb(o, rc, res);
    if (res->fired) {
        size_t n = 0;
        last_evidence[0] = '\0';
        for (size_t i = 0; i < res->nev && n < sizeof(last_evidence) - 64; i++) {
            n += (size_t)snprintf(last_evidence + n, sizeof(last_evidence) - n, "%s@%" PRId64 ";",
                                  res->ev[i].ref.source ? res->ev[i].ref.source : "-",
                                  res->ev[i].ref.pos);
        }
    }
}

/* A group fed from more sources than its source table keeps (8): evidence stays right. */
static void
test_many_sources(struct rt_server *srv)
{
    struct state_store *st = store_new(srv->url, NULL, NULL, 0, 0, 0);
    static struct op ops[32];
    static char names[32][16];
    struct state_slot_spec sp = spec_count(3, S(10));

    rt_run_until(&loop, is_connected, st, 5000);
    state_slot_open(st, 1, &sp);
    rec_reset();
    /* 12 sources, one event each, 4 s apart: a window of 10 s holds at most 3. */
    for (int i = 0; i < 12; i++) {
        struct op *o = &ops[i];
        snprintf(names[i], sizeof(names[i]), "src-%02d", i);
        memset(o, 0, sizeof(*o));
        o->idx = i;
        o->op.kind = STATE_WINDOW;
        o->op.slot = 1;
        o->op.key = "10.9.0.1";
        o->op.key_len = 8;
        o->op.in.time_us = S(i * 4.0);
        o->op.in.ref.source = names[i];
        o->op.in.ref.partition = -1;
        o->op.in.ref.pos = 100 + i;
        o->op.cb = src_cb;
        state_submit(st, &o->op);
        want_n = i + 1;
        rt_run_until(&loop, done_n, NULL, 5000); /* one call each: the table fills up */
    }
    ok(rec.n == 12 && rec.fired[2] && count_fired() >= 2 &&
           strstr(last_evidence, "src-11@111;") != NULL,
       "12 sources for one group: fires, the evidence names its sources (%s)", last_evidence);
    store_free(st);
}

/* Timer decisions delivered to the timer callback. */
static int nfired_timers;
static int64_t fired_time;
static char fired_key[64];

static void
timer_rec_cb(void *arg, const struct state_result *res)
{
    (void)arg;
    if (res->fired) {
        nfired_timers++;
        fired_time = res->time_us;
        snprintf(fired_key, sizeof(fired_key), "%.*s", (int)res->key_len, res->key);
    }
}

static int
outbox_empty(void *arg)
{
    struct rt_server *srv = arg;
    redisReply *r = rt_cmd(srv, "KEYS {kzf:*}:o");
    int empty = 1;

    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *n = rt_cmd(srv, "ZCARD %s", r->element[i]->str);
        empty &= n != NULL && n->type == REDIS_REPLY_INTEGER && n->integer == 0;
        freeReplyObject(n);
    }
    freeReplyObject(r);
    return empty;
}

static int
one_timer_fired(void *arg)
{
    (void)arg;
    return nfired_timers >= 1;
}

/*
 * A timer's alert whose process died before acknowledging it is given out again by the
 * next round of any process (claim time 200 ms here), and acknowledged once delivered.
 */
static void
test_outbox(struct rt_server *srv)
{
    struct state_store *st = store_new(srv->url, NULL, NULL, 0, 0, 0);
    struct state_slot_spec sp;
    static struct op ops[4];
    redisReply *r;
    char gkey[256] = "", okey[64] = "";
    int shard = -1;

    memset(&sp, 0, sizeof(sp));
    sp.rule_id = "beat";
    sp.kind = STATE_ABSENCE;
    sp.nsteps = 1;
    sp.timespan_us = S(5);
    sp.suppress_us = -1;
    state_slot_open(st, 2, &sp);
    state_set_hooks(st, timer_rec_cb, ready_cb, NULL);
    rt_run_until(&loop, is_connected, st, 5000);
    rec_reset();
    memset(&ops[0], 0, sizeof(ops[0]));
    ops[0].op.kind = STATE_ABSENCE;
    ops[0].op.slot = 2;
    ops[0].op.key = "h1";
    ops[0].op.key_len = 2;
    ops[0].op.in.ref.source = "beats";
    ops[0].op.in.ref.partition = -1;
    ops[0].op.in.ref.pos = 1;
    ops[0].op.cb = op_cb;
    state_submit(st, &ops[0].op);
    want_n = 1;
    rt_run_until(&loop, done_n, NULL, 5000);
    r = rt_cmd(srv, "KEYS {kzf:*}:g:*:h1");
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        snprintf(gkey, sizeof(gkey), "%s", r->element[0]->str);
        sscanf(gkey, "{kzf:%d}", &shard);
        snprintf(okey, sizeof(okey), "{kzf:%02d}:o", shard);
    }
    freeReplyObject(r);
    /* What a process that died before its acknowledgement leaves behind. */
    freeReplyObject(rt_cmd(srv, "EVAL %s 1 %s %s",
                           "local t = redis.call('TIME') "
                           "return redis.call('ZADD', KEYS[1], t[1] * 1000 - 1000, "
                           "cmsgpack.pack({'T', 0, 7000000, 2000000, 2000000, 2000000, 0, 0, "
                           "'', 0, ARGV[1]}))",
                           okey, gkey));
    nfired_timers = 0;
    state_redis_fire_upto(st, S(1)); /* nothing due yet: only the outbox */
    ok(shard >= 0 && rt_run_until(&loop, one_timer_fired, NULL, 5000) && fired_time == S(7) &&
           strcmp(fired_key, "h1") == 0,
       "an unacknowledged timer alert (a second old) is given out again by the next round "
       "(key %s)",
       fired_key);
    ok(rt_run_until(&loop, outbox_empty, srv, 5000), "and acknowledged: the outbox is empty");
    nfired_timers = 0;
    state_redis_fire_upto(st, S(5));
    ok(rt_run_until(&loop, one_timer_fired, NULL, 5000) && fired_time == S(5) &&
           rt_run_until(&loop, outbox_empty, srv, 5000),
       "a deadline fired by a round: delivered, then acknowledged");
    store_free(st);
}

static void
test_backpressure(struct rt_server *srv)
{
    struct state_store *st = store_new(srv->url, NULL, NULL, 0, 16, 0);
    static struct op ops[64];

    rt_run_until(&loop, is_connected, st, 5000);
    rec_reset();
    ok(state_ready(st), "ready while nothing is in flight");
    submit(st, ops, 0, 16, "10.2.0.1", 0, 1, 1);
    ok(!state_ready(st), "16 operations in flight (max_in_flight 16): not ready");
    want_n = 16;
    ok(rt_run_until(&loop, done_n, NULL, 5000) && rec.ready_calls == 1 && state_ready(st),
       "answered: the ready callback ran once, ready again");
    store_free(st);
}

static int
key_gone(void *arg)
{
    struct rt_server *srv = arg;
    redisReply *r = rt_cmd(srv, "KEYS {kzf:*}:g:*:10.3.0.1");
    int gone;

    gone = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 0;
    freeReplyObject(r);
    return gone;
}

static void
test_ttl(struct rt_server *srv)
{
    struct state_store *st = store_new(srv->url, NULL, NULL, 0, 0, 1000000);
    static struct op ops[16];
    redisReply *r;
    long long pttl = -1;

    rt_run_until(&loop, is_connected, st, 5000);
    rec_reset();
    submit(st, ops, 0, 4, "10.3.0.1", 1000, 1, 1);
    want_n = 4;
    rt_run_until(&loop, done_n, NULL, 5000);
    r = rt_cmd(srv, "KEYS {kzf:*}:g:*:10.3.0.1");
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *t = rt_cmd(srv, "PTTL %s", r->element[0]->str);
        pttl = t != NULL && t->type == REDIS_REPLY_INTEGER ? t->integer : -1;
        freeReplyObject(t);
    }
    freeReplyObject(r);
    ok(pttl > 58000 && pttl <= 61000,
       "a group's key expires with its window: TTL %lld ms = 60 s + 1 s margin - age", pttl);
    /* Let it expire (a shorter window would do; here: make Redis expire it now). */
    r = rt_cmd(srv, "KEYS {kzf:*}:g:*:10.3.0.1");
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        freeReplyObject(rt_cmd(srv, "PEXPIRE %s 1", r->element[0]->str));
    }
    freeReplyObject(r);
    ok(rt_run_until(&loop, key_gone, srv, 5000), "the key expired");
    submit(st, ops, 4, 4, "10.3.0.1", 1004, 1, 5);
    want_n = 8;
    rt_run_until(&loop, done_n, NULL, 5000);
    ok(count_fired() == 0 && rec.order_ok,
       "after expiry the group starts afresh: 4 + 4 events do not make 5 (no stale count)");
    store_free(st);
}

static void
test_unreachable_then_up(void)
{
    struct rt_server srv;
    struct state_store *st;
    static struct op ops[16];
    struct state_redis_stats s;

    memset(&srv, 0, sizeof(srv));
    if (rt_server_start(&srv) != 0) {
        tap_skip(4, "redis-server did not start");
        return;
    }
    rt_server_stop(&srv); /* keep its port: nobody listens there now */
    st = store_new(srv.url, NULL, NULL, 0, 0, 0);
    rec_reset();
    submit(st, ops, 0, 6, "10.4.0.1", 0, 1, 1);
    want_n = 6;
    ok(!rt_run_until(&loop, done_n, NULL, 400) && rec.n == 0 && !state_ready(st),
       "Redis unreachable: operations wait (nothing lost), the store is not ready");
    ok(rt_server_restart(&srv) == 0, "redis-server started on that port");
    ok(rt_run_until(&loop, done_n, NULL, 10000) && rec.order_ok && rec.fired[4] &&
           count_fired() == 1 && rec.ready_calls >= 1,
       "reconnected with backoff: the 6 operations complete in order, the 5th fires");
    state_redis_get_stats(st, &s);
    ok(s.connected && s.outages >= 1, "connected; the outage is counted");
    store_free(st);
    rt_server_stop(&srv);
}

static void
test_killed_midstream(void)
{
    struct rt_server srv;
    struct state_store *st, *mem;
    static struct op ops[2000];
    struct state_redis_stats s;
    int fired_mem = 0;
    struct state_slot_spec sp = spec_count(5, S(60));

    memset(&srv, 0, sizeof(srv));
    if (rt_server_start(&srv) != 0) {
        tap_skip(3, "redis-server did not start");
        return;
    }
    /* Durable: every write in the append-only file before it is answered. */
    freeReplyObject(rt_cmd(&srv, "CONFIG SET appendonly yes"));
    freeReplyObject(rt_cmd(&srv, "CONFIG SET appendfsync always"));
    {
        /* appendonly is switched on by a background rewrite: wait for it */
        int done = 0;
        for (int i = 0; i < 500 && !done; i++) {
            redisReply *r = rt_cmd(&srv, "INFO persistence");
            done = r != NULL && r->type == REDIS_REPLY_STRING &&
                   strstr(r->str, "aof_rewrite_in_progress:0") != NULL &&
                   strstr(r->str, "aof_enabled:1") != NULL;
            freeReplyObject(r);
            if (!done) {
                rt_run_until(&loop, done_n, NULL, 10);
            }
        }
    }
    st = store_new(srv.url, NULL, NULL, 0, 100000, 0);
    rt_run_until(&loop, is_connected, st, 5000);
    rec_reset();
    /* 20 groups x 100 events, interleaved; kill the server with calls in flight. */
    for (int i = 0; i < 100; i++) {
        for (int g = 0; g < 20; g++) {
            static char keys[20][16];
            snprintf(keys[g], sizeof(keys[g]), "10.5.0.%d", g);
            submit(st, ops, i * 20 + g, 1, keys[g], i * 3.0, 0, 1000 * g + i);
        }
        if (i % 10 == 9) {
            uv_run(&loop, UV_RUN_NOWAIT);
        }
        if (i == 50) {
            rt_server_kill(&srv);
        }
    }
    ok(rt_server_restart(&srv) == 0, "redis-server killed with calls in flight, restarted on "
                                     "its append-only file");
    want_n = 2000;
    ok(rt_run_until(&loop, done_n, NULL, 20000) && rec.order_ok,
       "all 2000 operations completed (each group in order) after the reconnect");
    /* The same stream through the memory store: the same decisions. */
    mem = state_memory_new(NULL);
    state_slot_open(mem, 0, &sp);
    for (int i = 0; i < 100; i++) {
        for (int g = 0; g < 20; g++) {
            struct state_input in;
            struct state_result res;
            char key[16];
            memset(&in, 0, sizeof(in));
            snprintf(key, sizeof(key), "10.5.0.%d", g);
            in.time_us = S(i * 3.0);
            in.ref.source = "auth.log";
            in.ref.partition = -1;
            in.ref.pos = 1000 * g + i;
            state_window_add(mem, 0, key, strlen(key), &in, &res);
            fired_mem += res.fired;
        }
    }
    state_free(mem);
    state_redis_get_stats(st, &s);
    ok(count_fired() == fired_mem && s.resent > 0,
       "the same %d decisions as the memory store; %" PRIu64 " calls resent, %" PRIu64
       " operations were repeats (no-ops)",
       fired_mem, s.resent, s.replays);
    store_free(st);
    rt_server_stop(&srv);
}

static void
test_noscript(struct rt_server *srv)
{
    struct state_store *st = store_new(srv->url, NULL, NULL, 0, 0, 0);
    static struct op ops[16];
    struct state_redis_stats s;

    rt_run_until(&loop, is_connected, st, 5000);
    rec_reset();
    submit(st, ops, 0, 3, "10.6.0.1", 0, 1, 1);
    want_n = 3;
    rt_run_until(&loop, done_n, NULL, 5000);
    freeReplyObject(rt_cmd(srv, "SCRIPT FLUSH"));
    submit(st, ops, 3, 3, "10.6.0.1", 3, 1, 4);
    want_n = 6;
    ok(rt_run_until(&loop, done_n, NULL, 10000) && rec.order_ok && rec.fired[4] &&
           count_fired() == 1,
       "NOSCRIPT after SCRIPT FLUSH: the script is loaded again, the call resent; the 5th "
       "event fires once");
    state_redis_get_stats(st, &s);
    ok(s.resent >= 1 && s.connected, "resent %" PRIu64 " call(s), connected", s.resent);
    store_free(st);
}

static void
test_auth(void)
{
    struct rt_server srv;
    struct state_store *st;
    struct state_redis_conf c;
    static struct op ops[8];
    char err[512];
    redisReply *r;

    memset(&srv, 0, sizeof(srv));
    snprintf(srv.pass, sizeof(srv.pass), "s3cret-%d", (int)getpid());
    snprintf(srv.sock, sizeof(srv.sock), "%s/redis.sock", rt_tmpdir());
    if (rt_server_start(&srv) != 0) {
        tap_skip(7, "redis-server did not start");
        return;
    }
    st = store_new(srv.url, NULL, "wrong", 0, 0, 0);
    rec_reset();
    submit(st, ops, 0, 1, "10.7.0.1", 0, 1, 1);
    want_n = 1;
    ok(!rt_run_until(&loop, done_n, NULL, 500) && !is_connected(st) && !state_ready(st),
       "a wrong password: not connected, not ready, nothing applied");
    store_free(st);

    memset(&c, 0, sizeof(c));
    c.url = srv.url;
    c.password = "wrong";
    c.timeout_us = 1000000;
    ok(state_redis_check(&c, err, sizeof(err)) != 0 && strstr(err, "AUTH refused") != NULL,
       "--check-config: %s", err);
    c.password = srv.pass;
    ok(state_redis_check(&c, err, sizeof(err)) == 0, "the right password passes the check");

    /* An ACL user limited to other keys, then one allowed on the prefix. */
    r = rt_cmd(&srv, "ACL SETUSER kzbad on >pw1 ~other:* +@all");
    freeReplyObject(r);
    r = rt_cmd(&srv, "ACL SETUSER kzgood on >pw2 ~{kzf:* +@all");
    freeReplyObject(r);
    c.prefix = "kzf";
    c.username = "kzbad";
    c.password = "pw1";
    ok(state_redis_check(&c, err, sizeof(err)) != 0 && strstr(err, "NOPERM") != NULL,
       "an ACL user without the prefix's keys: %s", err);
    c.username = "kzgood";
    c.password = "pw2";
    ok(state_redis_check(&c, err, sizeof(err)) == 0, "an ACL user allowed on {kzf:*: OK");

    /* The same over the unix socket. */
    {
        char url[400];
        snprintf(url, sizeof(url), "unix:%s", srv.sock);
        st = store_new(url, "kzgood", "pw2", 0, 0, 0);
        rec_reset();
        submit(st, ops, 0, 5, "10.7.0.2", 0, 1, 1);
        want_n = 5;
        ok(rt_run_until(&loop, done_n, NULL, 5000) && rec.fired[4],
           "unix socket url with the ACL user: the 5th event fires");
        store_free(st);
    }
    c.url = "redis://127.0.0.1:1/0";
    c.username = NULL;
    c.password = NULL;
    ok(state_redis_check(&c, err, sizeof(err)) != 0 && strstr(err, "unreachable") != NULL,
       "--check-config, nothing listening: %s", err);
    rt_server_stop(&srv);
}

static void
test_fallback(void)
{
    struct rt_server srv;
    struct state_store *st;
    static struct op ops[16];

    memset(&srv, 0, sizeof(srv));
    if (rt_server_start(&srv) != 0) {
        tap_skip(2, "redis-server did not start");
        return;
    }
    rt_server_stop(&srv);
    st = store_new(srv.url, NULL, NULL, 1, 0, 0);
    rec_reset();
    submit(st, ops, 0, 6, "10.8.0.1", 0, 1, 1);
    want_n = 6;
    ok(rt_run_until(&loop, is_fallback, st, 5000), "on_unavailable: memory: switched after "
                                                   "fallback_after");
    ok(rt_run_until(&loop, done_n, NULL, 5000) && rec.order_ok && rec.fired[4] && state_ready(st),
       "the waiting operations were applied to memory, in order; ready");
    store_free(st);
}

int
main(void)
{
    struct rt_server srv;

    memset(&srv, 0, sizeof(srv));
    uv_loop_init(&loop);
    if (rt_server_start(&srv) != 0) {
        printf("1..0 # SKIP no redis-server\n");
        rt_cleanup();
        return 0;
    }
    test_batching(&srv);
    test_many_sources(&srv);
    test_outbox(&srv);
    test_backpressure(&srv);
    test_ttl(&srv);
    test_noscript(&srv);
    rt_server_stop(&srv);
    test_unreachable_then_up();
    test_killed_midstream();
    test_auth();
    test_fallback();
    uv_run(&loop, UV_RUN_DEFAULT);
    ok(uv_loop_close(&loop) == 0, "nothing left on the loop");
    rt_cleanup();
    return tap_done();
}
