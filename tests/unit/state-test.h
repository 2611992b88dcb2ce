/*
 * The backend under test for the state store conformance suite (test-corr-state.c). Built
 * plain, the suite drives the in-memory store with direct calls (the functions below are the
 * store's own). Built with -DSTATE_TEST_REDIS (test-corr-state-redis), it drives a Redis
 * store against a redis-server the suite starts on a free loopback port
 * (state-test-redis.c): each operation is submitted and the loop runs until it completes,
 * so the same assertions apply unchanged.
 *
 * A few assertions are about what only an in-memory store can know: live group counts,
 * expiry at an exact event time, eviction at a group limit, the dump and bytes per group
 * (Redis expires keys by TTL, bounds memory with maxmemory, and is inspected with redis-cli;
 * docs/STATE.md). The suite skips those, naming the reason, when st_caps.local is 0.
 */
#ifndef KZ_STATE_TEST_H
#define KZ_STATE_TEST_H

#include <stdint.h>

#include "state.h"

struct st_caps {
    int local;       /* group counts, expiry, eviction, dump, bytes are observable */
    const char *why; /* when not: why (for the SKIP lines) */
};

#ifdef STATE_TEST_REDIS

extern const struct st_caps st_caps;
/* Start redis-server; 0, or -1 (the suite then skips everything). */
int st_setup(void);
void st_teardown(void);
/* A fresh store (the server is flushed). */
struct state_store *st_new(const struct state_limits *lim);
void st_free(struct state_store *st);
int st_window_add(struct state_store *st, uint32_t slot, const char *key, size_t len,
                  const struct state_input *in, struct state_result *res);
int st_distinct_add(struct state_store *st, uint32_t slot, const char *key, size_t len,
                    const struct state_input *in, struct state_result *res);
int st_sequence_advance(struct state_store *st, uint32_t slot, const char *key, size_t len,
                        const struct state_input *in, struct state_result *res);
int st_absence_touch(struct state_store *st, uint32_t slot, const char *key, size_t len,
                     const struct state_input *in, struct state_result *res);
int64_t st_next_due(struct state_store *st);
int st_fire_due(struct state_store *st, int64_t upto, struct state_result *res);

#else

static const struct st_caps st_caps = {1, NULL};

static inline int
st_setup(void)
{
    return 0;
}

static inline void
st_teardown(void)
{
}

static inline struct state_store *
st_new(const struct state_limits *lim)
{
    return state_memory_new(lim);
}

static inline void
st_free(struct state_store *st)
{
    state_free(st);
}

static inline int
st_window_add(struct state_store *st, uint32_t slot, const char *key, size_t len,
              const struct state_input *in, struct state_result *res)
{
    return state_window_add(st, slot, key, len, in, res);
}

static inline int
st_distinct_add(struct state_store *st, uint32_t slot, const char *key, size_t len,
                const struct state_input *in, struct state_result *res)
{
    return state_distinct_add(st, slot, key, len, in, res);
}

static inline int
st_sequence_advance(struct state_store *st, uint32_t slot, const char *key, size_t len,
                    const struct state_input *in, struct state_result *res)
{
    return state_sequence_advance(st, slot, key, len, in, res);
}

static inline int
st_absence_touch(struct state_store *st, uint32_t slot, const char *key, size_t len,
                 const struct state_input *in, struct state_result *res)
{
    return state_absence_touch(st, slot, key, len, in, res);
}

static inline int64_t
st_next_due(struct state_store *st)
{
    return state_next_due(st);
}

static inline int
st_fire_due(struct state_store *st, int64_t upto, struct state_result *res)
{
    return state_fire_due(st, upto, res);
}

#endif

#endif
