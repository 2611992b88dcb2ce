/*
 * The correlation state store: the operations the correlation types need, not a key-value
 * API. Each operation works on one group of one slot (a slot is the state of one correlation
 * rule) and is atomic: it adds the event, slides the window, evaluates the condition and, when
 * the condition holds and the group is not suppressed, decides the alert once (records the
 * suppression and resets the group) before it returns. A Redis backend implements the same
 * operations as server-side scripts, so two instances can never both decide one alert.
 *
 * Semantics (docs/CORRELATION.md is the reference): windows are measured on event time and
 * hold [first, first + timespan); an operation must be called in event-time order per group
 * (the engine guarantees it); timers (window close, absence) fire through state_fire_due()
 * in deadline order, before any event whose time is >= the deadline. The store never holds
 * whole events: times, source positions, numbers, distinct values (truncated copies for
 * evidence), step progress. Every structure is bounded; reaching a bound evicts the oldest,
 * logs the rule id (rate-limited) and counts.
 *
 * Backends: state-memory.c (one process, synchronous) and state-redis.c (shared by several
 * processes; asynchronous: see "Asynchronous operations" below and docs/STATE.md). Every
 * backend passes tests/unit/test-corr-state.c. All calls happen on the loop thread.
 */
#ifndef KZ_STATE_H
#define KZ_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "buf.h"

enum state_kind {
    STATE_WINDOW,   /* events in a window: count, sum, average (event_count, value_sum/avg) */
    STATE_DISTINCT, /* distinct values in a window (value_count; temporal: values are steps) */
    STATE_SEQUENCE, /* steps seen in order within a window (temporal_ordered) */
    STATE_ABSENCE,  /* a heartbeat that stops (1 step), or step 0 not followed by step 1 */
};

enum state_agg {
    STATE_AGG_COUNT, /* number of events (STATE_WINDOW), of distinct values (STATE_DISTINCT) */
    STATE_AGG_SUM,   /* sum of the numbers of the events */
    STATE_AGG_AVG,   /* their average */
};

/* A condition on the aggregate: every bound that is set must hold (Sigma gt/gte/lt/lte/eq/neq). */
struct state_cond {
    int has_lo, lo_strict; /* x > lo (strict) or x >= lo */
    double lo;
    int has_hi, hi_strict; /* x < hi (strict) or x <= hi */
    double hi;
    int has_neq;           /* x != neq */
    double neq;
};

/* 1 if x satisfies c. */
static inline int
state_cond_holds(const struct state_cond *c, double x)
{
    if (c->has_lo && (c->lo_strict ? !(x > c->lo) : !(x >= c->lo))) {
        return 0;
    }
    if (c->has_hi && (c->hi_strict ? !(x < c->hi) : !(x <= c->hi))) {
        return 0;
    }
    if (c->has_neq && x == c->neq) {
        return 0;
    }
    return 1;
}

/* How one slot behaves; fixed when the slot is opened. */
struct state_slot_spec {
    const char *rule_id;   /* copied; names the rule in log lines and dumps */
    enum state_kind kind;
    enum state_agg agg;    /* STATE_WINDOW: what the condition is tested on */
    int at_close;          /* 1: evaluate once when the window [first, first + timespan) closes
                              (a timer); 0: after every event, on the sliding window */
    int64_t timespan_us;   /* > 0 */
    int64_t suppress_us;   /* >= 0: after an alert, absorb the group's events for this long
                              from the alert time; < 0: until the end of the window that fired */
    struct state_cond cond;
    uint32_t nsteps;       /* DISTINCT over steps, SEQUENCE: number of steps; ABSENCE: 1 or 2 */
    uint32_t max_entries;  /* bound on events / values kept per group (0: default) */
    /* Appended: */
    const char *rule_hash; /* the rule's definition hash, or NULL: a shared store names its
                              keys by rule id and hash, so a changed rule starts afresh */
};

/* Where a contributing event came from (for evidence). */
struct state_ref {
    const char *source; /* file path or topic; NULL when unknown */
    int32_t partition;  /* Kafka partition; -1 for files */
    int64_t pos;        /* line number (files) or offset (Kafka) */
};

/* What an operation needs of one event; never the event itself. */
struct state_input {
    int64_t time_us;
    struct state_ref ref;
    uint32_t step;        /* index of the matched rule in the correlation's `rules:` */
    double num;           /* STATE_AGG_SUM / AVG: the event's number */
    const char *val;      /* STATE_DISTINCT over values: the value (need not be NUL-ended) */
    size_t val_len;
};

/* One contributing event of an alert. Pointers are valid until the next store call. */
struct state_evidence {
    int64_t time_us;
    struct state_ref ref;
    uint32_t step;
    int has_num;
    double num;
    const char *val; /* distinct value (possibly truncated), or NULL */
    size_t val_len;
};

/* What an operation or a timer decided. Pointers are valid until the next store call. */
struct state_result {
    int fired;              /* 1: raise an alert (decided: the group is suppressed/reset) */
    int absorbed;           /* 1: the event fell in a suppression period, not counted */
    int64_t time_us;        /* event time of the decision */
    int64_t window_start_us;
    int64_t first_us;
    int64_t last_us;
    uint64_t count;         /* events (window), distinct values, steps, trigger events */
    int has_value;
    double value;           /* sum, average, distinct count */
    uint32_t slot;          /* which group (timers) */
    const char *key;
    size_t key_len;
    struct state_evidence ev[ALERT_MAX_EVIDENCE]; /* the most recent contributing events */
    size_t nev;
};

/* Counters of one slot, or of the whole store (slot = UINT32_MAX). */
struct state_stats {
    uint64_t groups;        /* live groups */
    uint64_t created;
    uint64_t expired;       /* dropped because their window and suppression ended */
    uint64_t evicted;       /* dropped early because a limit was reached */
    uint64_t truncated;     /* entries dropped early from a full group (max_entries) */
    uint64_t fired;
    uint64_t absorbed;
    uint64_t bytes;         /* memory held (allocator sizes), 0 if unknown */
};

struct state_limits {
    uint64_t max_groups_per_slot; /* 0: 1,000,000 */
    uint64_t max_groups_total;    /* 0: 4,000,000 */
};

struct state_store;
struct state_op;

/* Backend operations; see the state_* wrappers below for each contract. */
struct state_backend {
    const char *name;
    void (*free)(struct state_store *st);
    int (*slot_open)(struct state_store *st, uint32_t slot, const struct state_slot_spec *spec);
    void (*slot_drop)(struct state_store *st, uint32_t slot);
    int (*window_add)(struct state_store *st, uint32_t slot, const char *key, size_t len,
                      const struct state_input *in, struct state_result *res);
    int (*distinct_add)(struct state_store *st, uint32_t slot, const char *key, size_t len,
                        const struct state_input *in, struct state_result *res);
    int (*sequence_advance)(struct state_store *st, uint32_t slot, const char *key, size_t len,
                            const struct state_input *in, struct state_result *res);
    int (*absence_touch)(struct state_store *st, uint32_t slot, const char *key, size_t len,
                         const struct state_input *in, struct state_result *res);
    int64_t (*next_due)(struct state_store *st);
    int (*fire_due)(struct state_store *st, int64_t upto_us, struct state_result *res);
    void (*expire)(struct state_store *st, int64_t watermark_us);
    void (*stats)(struct state_store *st, uint32_t slot, struct state_stats *out);
    int (*dump_slot)(struct state_store *st, uint32_t slot, struct buf *out);
    /* Appended for asynchronous backends (Redis); NULL in synchronous ones (see below). */
    int (*submit)(struct state_store *st, struct state_op *op);
    int (*ready)(struct state_store *st);
    void (*advance)(struct state_store *st, int64_t clock_us);
    uint64_t (*inflight)(struct state_store *st);
    void (*publish)(struct state_store *st, const char *source, int32_t partition,
                    int64_t watermark_us, int idle);
};

/* Asynchronous decisions: see state_set_hooks(). */
typedef void (*state_timer_cb)(void *arg, const struct state_result *res);
typedef void (*state_ready_cb)(void *arg);

/* Every backend's store starts with this. */
struct state_store {
    const struct state_backend *be;
    state_timer_cb timer_cb; /* set by state_set_hooks() */
    state_ready_cb ready_cb;
    void *hook_arg;
};

/* The in-memory backend (state-memory.c). Caller frees with state_free(). */
struct state_store *state_memory_new(const struct state_limits *limits);

/* Release the store and every group in it. NULL is accepted. */
static inline void
state_free(struct state_store *st)
{
    if (st != NULL) {
        st->be->free(st);
    }
}

/* Create (or re-create, emptied) slot number `slot` with spec. Returns 0 or -1. */
static inline int
state_slot_open(struct state_store *st, uint32_t slot, const struct state_slot_spec *spec)
{
    return st->be->slot_open(st, slot, spec);
}

/* Drop every group of a slot and forget the slot. */
static inline void
state_slot_drop(struct state_store *st, uint32_t slot)
{
    st->be->slot_drop(st, slot);
}

/*
 * STATE_WINDOW: add one event to the group's window and evaluate. With at_close == 0 the
 * window slides: events e with e + timespan <= in->time_us leave it first. Returns 0 and
 * fills res (res->fired, res->absorbed), or -1 on a backend failure.
 */
static inline int
state_window_add(struct state_store *st, uint32_t slot, const char *key, size_t len,
                 const struct state_input *in, struct state_result *res)
{
    return st->be->window_add(st, slot, key, len, in, res);
}

/*
 * STATE_DISTINCT: add one value (in->val, or in->step when the slot has nsteps > 0) with its
 * time; a value seen again only moves its time forward. Sliding as for windows: values last
 * seen at v with v + timespan <= in->time_us leave first. The aggregate is the number of
 * distinct values.
 */
static inline int
state_distinct_add(struct state_store *st, uint32_t slot, const char *key, size_t len,
                   const struct state_input *in, struct state_result *res)
{
    return st->be->distinct_add(st, slot, key, len, in, res);
}

/* STATE_SEQUENCE: the event matched step in->step; advance partial sequences and evaluate. */
static inline int
state_sequence_advance(struct state_store *st, uint32_t slot, const char *key, size_t len,
                       const struct state_input *in, struct state_result *res)
{
    return st->be->sequence_advance(st, slot, key, len, in, res);
}

/*
 * STATE_ABSENCE: with nsteps == 1, a heartbeat (re-arms the deadline time + timespan); with
 * nsteps == 2, step 0 arms a deadline unless one is pending, step 1 clears a pending one.
 * Alerts come from state_fire_due() when a deadline passes.
 */
static inline int
state_absence_touch(struct state_store *st, uint32_t slot, const char *key, size_t len,
                    const struct state_input *in, struct state_result *res)
{
    return st->be->absence_touch(st, slot, key, len, in, res);
}

/* The earliest pending timer deadline of any slot, or INT64_MAX when none. */
static inline int64_t
state_next_due(struct state_store *st)
{
    return st->be->next_due(st);
}

/*
 * Fire the earliest timer if its deadline is <= upto_us: evaluates a closing window or an
 * absence. Returns 1 when a timer was processed (res->fired says whether it raised an alert;
 * res->slot/key name the group), 0 when none is due.
 */
static inline int
state_fire_due(struct state_store *st, int64_t upto_us, struct state_result *res)
{
    return st->be->fire_due(st, upto_us, res);
}

/*
 * The event clock reached watermark_us: drop groups whose window and suppression have ended
 * (they behave exactly like absent groups). Never raises alerts.
 */
static inline void
state_expire(struct state_store *st, int64_t watermark_us)
{
    st->be->expire(st, watermark_us);
}

/* Counters of one slot, or of the whole store when slot == UINT32_MAX. */
static inline void
state_stats(struct state_store *st, uint32_t slot, struct state_stats *out)
{
    st->be->stats(st, slot, out);
}

/*
 * Append the live groups of a slot to out as a JSON array of objects (group, window_start,
 * count, ..., suppressed_until, expires), oldest first. Returns 0 or -1.
 */
static inline int
state_dump_slot(struct state_store *st, uint32_t slot, struct buf *out)
{
    return st->be->dump_slot(st, slot, out);
}

/*
 * --- Asynchronous operations ---
 * A backend whose answers arrive later (Redis: a script's reply) implements `submit`: the
 * operation is queued (and may be combined with others of the same group into one call) and
 * its completion runs on the loop when the answer is in, in submission order per group. A
 * synchronous backend (memory) has no `submit`: state_submit() runs the operation at once and
 * calls the completion before returning, so both kinds are driven the same way and the
 * memory path keeps its plain function calls (corr-engine.c uses them directly).
 */

/*
 * Completion of one submitted operation: rc 0 (res filled) or -1 (the slot is not open, or a
 * bad argument; never a transient failure: the backend retries those itself). res and every
 * pointer in it are valid during the call only.
 */
typedef void (*state_op_cb)(struct state_op *op, int rc, const struct state_result *res);

/* One operation; owned by the caller, which keeps it (and what it points to) until cb ran. */
struct state_op {
    enum state_kind kind;  /* which operation: window_add, distinct_add, sequence_advance,
                              absence_touch */
    uint32_t slot;
    const char *key;
    size_t key_len;
    struct state_input in; /* in.val and in.ref.source: borrowed until cb */
    state_op_cb cb;
    void *arg;             /* for the caller */
    struct state_op *be_next; /* backend use */
};

/* 1 when the store answers later (it has `submit`). */
static inline int
state_is_async(const struct state_store *st)
{
    return st->be->submit != NULL;
}

/*
 * Register the store's callbacks (an asynchronous store needs them; a synchronous one never
 * calls them): timer_cb(arg, res) with each timer decision the backend takes by itself (a
 * window that closed or an absence deadline that passed, found while applying a later event
 * of the group, or by state_advance()); it runs before the completion of the operation that
 * found it. ready_cb(arg) when state_ready() turns true again after it was false.
 */
static inline void
state_set_hooks(struct state_store *st, state_timer_cb timer_cb, state_ready_cb ready_cb,
                void *arg)
{
    st->timer_cb = timer_cb;
    st->ready_cb = ready_cb;
    st->hook_arg = arg;
}

/* Run op at once against a synchronous backend and call its completion. */
static inline int
state_submit_sync(struct state_store *st, struct state_op *op)
{
    struct state_result res;
    int rc = -1;

    switch (op->kind) {
    case STATE_WINDOW:
        rc = st->be->window_add(st, op->slot, op->key, op->key_len, &op->in, &res);
        break;
    case STATE_DISTINCT:
        rc = st->be->distinct_add(st, op->slot, op->key, op->key_len, &op->in, &res);
        break;
    case STATE_SEQUENCE:
        rc = st->be->sequence_advance(st, op->slot, op->key, op->key_len, &op->in, &res);
        break;
    case STATE_ABSENCE:
        rc = st->be->absence_touch(st, op->slot, op->key, op->key_len, &op->in, &res);
        break;
    }
    op->cb(op, rc, &res);
    return 0;
}

/*
 * Submit op: its completion runs later (asynchronous store) or before this returns
 * (synchronous store). Returns 0, or -1 when the store cannot take it at all (op->cb is then
 * not called). Operations on one group complete in the order they were submitted.
 */
static inline int
state_submit(struct state_store *st, struct state_op *op)
{
    if (st->be->submit != NULL) {
        return st->be->submit(st, op);
    }
    return state_submit_sync(st, op);
}

/*
 * 1 when the store takes more operations now; 0 while it is saturated or unreachable (the
 * caller stops feeding it: inputs pause) until ready_cb. Synchronous stores are always ready.
 */
static inline int
state_ready(struct state_store *st)
{
    return st->be->ready == NULL || st->be->ready(st);
}

/*
 * The caller's event clock reached clock_us and every operation of events up to it has been
 * submitted: an asynchronous store may fire due timers (through timer_cb). Synchronous stores
 * do nothing here (their timers go through state_next_due() / state_fire_due()).
 */
static inline void
state_advance(struct state_store *st, int64_t clock_us)
{
    if (st->be->advance != NULL) {
        st->be->advance(st, clock_us);
    }
}

/* Operations submitted and not completed yet (0 for synchronous stores). */
static inline uint64_t
state_inflight(struct state_store *st)
{
    return st->be->inflight != NULL ? st->be->inflight(st) : 0;
}

/*
 * The watermark of one source (Kafka topic and partition, or file with partition -1) as this
 * process has applied it: every event of the source up to it has been submitted. idle: the
 * source has had nothing to read for a while (it should not hold a clock back). A shared
 * store combines the sources of every process into the clock that fires its timers
 * (docs/STATE.md); others ignore it.
 */
static inline void
state_publish(struct state_store *st, const char *source, int32_t partition,
              int64_t watermark_us, int idle)
{
    if (st->be->publish != NULL) {
        st->be->publish(st, source, partition, watermark_us, idle);
    }
}

#endif
