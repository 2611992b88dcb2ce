/*
 * The Redis state store (state-redis.c, server side in state-redis.lua; docs/STATE.md): the
 * operations of state.h as one Lua script per (rule, group) per batch, called with EVALSHA
 * over hiredis' asynchronous API on the libuv loop. Several kizunad processes sharing one
 * Redis share the correlation state: each decision is taken once, atomically, by the script.
 *
 * The store is asynchronous (state_submit() completes later). It batches the operations
 * submitted during one loop iteration (or `batch` of them), combines those of one group into
 * one call, pipelines the calls, and answers in submission order per group. When Redis is
 * unreachable it reconnects with backoff and keeps every operation (resent in order after
 * the script is loaded again; the script makes a repeated operation a no-op); meanwhile
 * state_ready() is 0 so the inputs pause. With fallback_memory it switches to an in-memory
 * store instead, once Redis has been gone for fallback_after_us, and says loudly what that
 * costs. All calls on the loop thread.
 */
#ifndef KZ_STATE_REDIS_H
#define KZ_STATE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "state.h"

/* Key shards: every key carries the hash tag {prefix:NN}, NN in 00..63 (docs/STATE.md). */
#define STATE_REDIS_SHARDS 64

/* Configuration; state_redis_new() copies what it needs. Zero means default. */
struct state_redis_conf {
    const char *url;            /* redis://host[:port][/db] or unix:/path/to/socket */
    const char *username;       /* ACL user (Redis 6+), or NULL */
    const char *password;       /* the password itself, or NULL */
    const char *prefix;         /* key prefix; default "kz"; no '{', '}' or ':' */
    int64_t timeout_us;         /* connect and reply time-out; default 5 s */
    uint32_t batch;             /* operations per pipelined batch at most; default 512 */
    uint32_t max_inflight;      /* operations submitted and not answered before the store
                                   reports not ready; default 20000 */
    int64_t ttl_margin_us;      /* keys outlive their window and suppression by this (wall
                                   clock; covers consumer lag and replays); default 10 min */
    int fallback_memory;        /* 1: on_unavailable: memory */
    int64_t fallback_after_us;  /* Redis gone this long before falling back; default timeout */
    int64_t idle_source_us;     /* the shared clock ignores sources silent this long (server
                                   time); default 60 s */
    int no_local_absorb;        /* 1: never answer an operation without Redis (see
                                   state_redis_stats.local_absorbed) */
    int64_t claim_us;           /* a timer's alert not acknowledged this long (its process
                                   died) is given out again; default 30 s */
    struct state_limits limits; /* of the fallback in-memory store */
};

/* Counters of a Redis store (see state_redis_get_stats()). */
struct state_redis_stats {
    uint64_t calls;   /* script calls answered */
    uint64_t events;  /* operations answered */
    uint64_t replays; /* operations that were repeats of applied ones (no-ops) */
    uint64_t failed;  /* operations the script refused (bugs, bad arguments) */
    uint64_t resent;  /* calls sent again after a lost connection or NOSCRIPT */
    uint64_t outages; /* times the connection was lost */
    uint64_t timer_rounds;
    uint64_t local_absorbed; /* operations answered without Redis: the group's suppression
                                was known from an earlier reply (not counted in events) */
    uint64_t inflight;       /* operations submitted and not answered now */
    int connected;           /* 1 while the connection is up and the script loaded */
    int fallback;            /* 1 once switched to the in-memory store */
    int64_t clock_us;        /* the shared clock the last timer round used (INT64_MIN: none) */
};

/*
 * Create a Redis store on loop. Returns 0 and *out (free with state_free(), then run the
 * loop so its handles close), or -1 with a message in err (bad url or prefix). The
 * connection is made on the loop; nothing blocks here.
 */
int state_redis_new(uv_loop_t *loop, const struct state_redis_conf *conf, struct state_store **out,
                    char *err, size_t errlen);

/*
 * For --check-config: connect (blocking, bounded by the time-out), authenticate, select the
 * database, load the script and call it on a key of the prefix. Returns 0, or -1 with a
 * message naming the server and what failed (unreachable, wrong password, ACL refusal...).
 * Never call it on a running loop.
 */
int state_redis_check(const struct state_redis_conf *conf, char *err, size_t errlen);

/* 1 if st is a Redis store. */
int state_is_redis(const struct state_store *st);
/* Counters of a Redis store (zeros for another store). */
void state_redis_get_stats(struct state_store *st, struct state_redis_stats *out);
/*
 * 1 when nothing is waiting: no operation queued or in flight and no timer round running
 * (tests and shutdown wait for it; also 1 after the fallback to memory).
 */
int state_redis_idle(struct state_store *st);
/*
 * Fire every due timer up to upto_us now (one round over the shards, not waiting for the
 * shared clock); decisions come through the timer callback. For tests and replays of one
 * process.
 */
void state_redis_fire_upto(struct state_store *st, int64_t upto_us);

#endif
