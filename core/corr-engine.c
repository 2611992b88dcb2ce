/*
 * The correlation engine: routes rule matches to the correlations that reference the rule,
 * keeps them in event-time order with a reorder buffer released by the watermark, runs the
 * state store's timers (window close, absence) in the same order, turns decisions into
 * alerts, feeds alerts to the correlations that reference correlations (chaining), keeps
 * state across reloads for unchanged rules, and dumps the live state. One engine belongs to
 * the loop thread; nothing here reads the wall clock (docs/CORRELATION.md).
 *
 * With an asynchronous state store (Redis, docs/STATE.md) a released match becomes a
 * "flight": its operations are submitted and the match waits, in release order, until every
 * answer is in; then its alerts are built and chained exactly as on the synchronous path,
 * and the input is told the match is complete (done callback). The synchronous path (memory)
 * is unchanged: its operations are plain calls.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corr-int.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

#define CORR_DEFAULT_PENDING_BYTES (UINT64_C(64) << 20)
#define CORR_DEFAULT_MAX_FLIGHTS UINT64_C(32768)
#define CORR_LOG_EVERY_US INT64_C(60000000)
#define CORR_CHAIN_MAX_FIELDS 4096

/* A match waiting for the watermark: a compact copy of the event's fields and source. */
struct corr_pending {
    int64_t time_us;
    uint64_t seq;
    const struct rule *rule;
    struct event_source src;
    size_t size;
    uint32_t nfields;
    int retained;                /* counted in eng->retained: done_cb when finished */
    struct event_field fields[]; /* followed by the names and values */
};

/* One operation of a flight (asynchronous store). */
struct corr_fop {
    struct state_op op;          /* first: the completion gets it back */
    struct corr_flight *f;
    uint32_t slot_gen;           /* generation of op.slot when submitted (reloads) */
    int done;
    int rc;
    int absorbed;
    int deferred;                /* not submitted yet: waits until its flight is the oldest */
    struct state_result *res;    /* a copy when the decision raised an alert, else NULL */
};

/* A match whose operations are in flight; finished in release order. */
struct corr_flight {
    struct corr_flight *next;
    struct corr_flight *parent;  /* chained: the flight whose alert made this event */
    struct corr_pending *p;      /* the match (owned) */
    int64_t t;                   /* event time it is correlated at */
    uint32_t nops;
    uint32_t ndone;
    uint32_t children;           /* chained flights not finished yet */
    uint32_t ndeferred;          /* operations waiting for the flight to be the oldest */
    int processed;               /* alerts built; waits for its children */
    struct corr_fop *ops;
    char *data;                  /* copies of the keys and values the operations point to */
};

/* A rule feeds reference `ref` of live correlation `corr`. */
struct corr_target {
    uint32_t corr;
    uint32_t ref;
};

/* A correlation rule of the current rule set. */
struct corr_live {
    const struct rule *rule;
    const struct corr_rule *cr;
    uint32_t slot;
    char *chain_src; /* source name of the events its alerts become for chained rules */
    uint64_t alerts;
    uint64_t skipped;
};

/* A state slot: which rule (id and definition hash) its state belongs to. */
struct corr_slot {
    char *id;
    char hash[17];
    int used;
    uint32_t live; /* index in eng->live */
    uint32_t gen;  /* bumped when the slot is (re)opened: answers for an older rule are void */
    int chained_in; /* the correlation references correlations: alerts feed it */
};

/* A store that only records the operation a correlation type asks for (asynchronous path). */
struct corr_capture {
    struct state_store base;
    enum state_kind kind;
    uint32_t slot;
    struct state_input in;
};

struct corr_engine {
    struct corr_opts opts;
    corr_alert_cb cb;
    void *arg;
    struct state_store *st;

    const struct rule **rules;
    size_t nrules;
    struct corr_live *live;
    size_t nlive;
    uint32_t *tstart; /* targets of rule i: targets[tstart[i] .. tstart[i + 1]) */
    struct corr_target *targets;
    struct corr_slot *slots;
    size_t nslots;

    int64_t wm;
    int64_t max_seen;
    uint64_t seq;
    struct corr_pending **heap; /* out-of-order arrivals */
    size_t nheap;
    size_t heapcap;
    struct corr_pending **fifo; /* in-order arrivals: a ring, already sorted */
    size_t fifo_head;
    size_t nfifo;
    size_t fifocap;

    struct buf key;
    struct buf val;
    struct buf chain_name; /* source name of a chained event (asynchronous path) */
    struct event *chain; /* one event per chaining depth */
    size_t nchain;
    size_t depth;

    struct corr_stats stats;
    int64_t forced_log_us;
    int forced_logged;

    uint64_t retained;          /* matches copied (reorder buffer, flights) since start */
    corr_done_cb done_cb;       /* a retained match is finished */
    corr_ready_cb ready_cb;     /* the store takes operations again */
    void *done_arg;
    int async;                  /* operations go through state_submit() */
    struct corr_capture cap;
    struct corr_flight *fhead;  /* flights, oldest first */
    struct corr_flight *ftail;
    uint64_t nflights;
    struct corr_flight *cur;    /* flight being finished: parent of the events its alerts make */
    struct corr_flight *chain_after; /* where cur's next chained flight goes in the queue */
    int draining;
    int flights_full;           /* corr_engine_ready() said 0 for the flight bound */
    uint64_t failed_ops;
    int64_t failed_log_us;
};

/*
 * --- the reorder buffer, ordered on (time, source position, arrival) ---
 * Events with equal times are ordered by where they came from (source name, partition,
 * offset or line), which does not depend on arrival order: a stream reordered within the
 * lateness is released exactly as the sorted stream would be processed. Events that arrive
 * in order (the common case) go to a FIFO ring; the others to a binary heap; release takes
 * the smaller head of the two.
 */

static int
corr_pending_before(const struct corr_pending *a, const struct corr_pending *b)
{
    int64_t pa, pb;
    int c;

    if (a->time_us != b->time_us) {
        return a->time_us < b->time_us;
    }
    if (a->src.name != NULL && b->src.name != NULL) {
        c = strcmp(a->src.name, b->src.name);
        if (c != 0) {
            return c < 0;
        }
        if (a->src.partition != b->src.partition) {
            return a->src.partition < b->src.partition;
        }
        pa = a->src.partition >= 0 ? a->src.offset : (int64_t)a->src.line;
        pb = b->src.partition >= 0 ? b->src.offset : (int64_t)b->src.line;
        if (pa != pb) {
            return pa < pb;
        }
    }
    return a->seq < b->seq;
}

static void
corr_heap_up(struct corr_engine *eng, size_t i)
{
    struct corr_pending *p = eng->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!corr_pending_before(p, eng->heap[parent])) {
            break;
        }
        eng->heap[i] = eng->heap[parent];
        i = parent;
    }
    eng->heap[i] = p;
}

static void
corr_heap_down(struct corr_engine *eng, size_t i)
{
    struct corr_pending *p = eng->heap[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= eng->nheap) {
            break;
        }
        if (c + 1 < eng->nheap && corr_pending_before(eng->heap[c + 1], eng->heap[c])) {
            c++;
        }
        if (!corr_pending_before(eng->heap[c], p)) {
            break;
        }
        eng->heap[i] = eng->heap[c];
        i = c;
    }
    eng->heap[i] = p;
}

static struct corr_pending *
corr_fifo_at(const struct corr_engine *eng, size_t i)
{
    return eng->fifo[(eng->fifo_head + i) & (eng->fifocap - 1)];
}

/* The next event the buffer would release, or NULL. */
static struct corr_pending *
corr_pending_peek(const struct corr_engine *eng)
{
    struct corr_pending *f = eng->nfifo > 0 ? corr_fifo_at(eng, 0) : NULL;
    struct corr_pending *h = eng->nheap > 0 ? eng->heap[0] : NULL;

    if (f == NULL || (h != NULL && corr_pending_before(h, f))) {
        return h;
    }
    return f;
}

/* Take the next event out of the buffer (it must not be empty). */
static struct corr_pending *
corr_pending_pop(struct corr_engine *eng)
{
    struct corr_pending *top = corr_pending_peek(eng);

    if (eng->nfifo > 0 && top == corr_fifo_at(eng, 0)) {
        eng->fifo_head = (eng->fifo_head + 1) & (eng->fifocap - 1);
        eng->nfifo--;
    } else {
        eng->nheap--;
        if (eng->nheap > 0) {
            eng->heap[0] = eng->heap[eng->nheap];
            corr_heap_down(eng, 0);
        }
    }
    eng->stats.pending = eng->nheap + eng->nfifo;
    eng->stats.pending_bytes -= top->size;
    return top;
}

static void
corr_fifo_append(struct corr_engine *eng, struct corr_pending *p)
{
    if (eng->nfifo == eng->fifocap) {
        size_t cap = eng->fifocap ? eng->fifocap * 2 : 256;
        struct corr_pending **f = xcalloc(cap, sizeof(*f));
        for (size_t i = 0; i < eng->nfifo; i++) {
            f[i] = corr_fifo_at(eng, i);
        }
        free(eng->fifo);
        eng->fifo = f;
        eng->fifocap = cap;
        eng->fifo_head = 0;
    }
    eng->fifo[(eng->fifo_head + eng->nfifo) & (eng->fifocap - 1)] = p;
    eng->nfifo++;
}

/* A compact copy of ev (fields and source name) for the reorder buffer or a flight. */
static struct corr_pending *
corr_pending_copy(struct corr_engine *eng, const struct rule *rule, const struct event *ev)
{
    size_t size = sizeof(struct corr_pending) + ev->nfields * sizeof(struct event_field);
    size_t srclen = ev->src.name != NULL ? strlen(ev->src.name) + 1 : 0;
    struct corr_pending *p;
    char *data;

    for (uint32_t i = 0; i < ev->nfields; i++) {
        size += ev->fields[i].name_len + 1 + ev->fields[i].value_len + 1;
    }
    size += srclen;
    p = xmalloc(size);
    p->time_us = ev->time_us;
    p->seq = eng->seq++;
    p->rule = rule;
    p->src = ev->src;
    p->size = size;
    p->nfields = ev->nfields;
    p->retained = 0;
    data = (char *)&p->fields[ev->nfields];
    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct event_field *f = &ev->fields[i];
        struct event_field *c = &p->fields[i];
        *c = *f;
        memcpy(data, f->name, f->name_len);
        data[f->name_len] = '\0';
        c->name = data;
        data += f->name_len + 1;
        memcpy(data, f->value, f->value_len);
        data[f->value_len] = '\0';
        c->value = data;
        data += f->value_len + 1;
    }
    if (srclen > 0) {
        memcpy(data, ev->src.name, srclen);
        p->src.name = data;
    }
    return p;
}

/* Copy a match into the reorder buffer; it is retained until finished. */
static void
corr_heap_push(struct corr_engine *eng, const struct rule *rule, const struct event *ev)
{
    struct corr_pending *p = corr_pending_copy(eng, rule, ev);
    size_t size = p->size;

    p->retained = 1;
    eng->retained++;
    if (eng->nfifo == 0 || !corr_pending_before(p, corr_fifo_at(eng, eng->nfifo - 1))) {
        corr_fifo_append(eng, p);
    } else {
        if (eng->nheap == eng->heapcap) {
            eng->heapcap = eng->heapcap ? eng->heapcap * 2 : 256;
            eng->heap = xreallocarray(eng->heap, eng->heapcap, sizeof(*eng->heap));
        }
        eng->heap[eng->nheap++] = p;
        corr_heap_up(eng, eng->nheap - 1);
    }
    eng->stats.pending = eng->nheap + eng->nfifo;
    eng->stats.pending_bytes += size;
}

/* --- routing --- */

/* The targets of rule, as [*first, *end). Returns 0 when the rule feeds nothing. */
static int
corr_engine_targets(const struct corr_engine *eng, const struct rule *rule, uint32_t *first,
                    uint32_t *end)
{
    uint32_t i = rule->index;

    if (i >= eng->nrules || eng->rules[i] != rule) {
        return 0;
    }
    *first = eng->tstart[i];
    *end = eng->tstart[i + 1];
    return *first < *end;
}

static void corr_engine_process(struct corr_engine *eng, const struct rule *rule,
                                const struct event *ev, int64_t t);

static void
corr_engine_source(struct buf *b, const struct state_ref *ref)
{
    buf_reset(b);
    if (ref->source == NULL) {
        buf_puts(b, "unknown");
    } else if (ref->partition >= 0) {
        buf_printf(b, "%s/%" PRId32 "/%" PRId64, ref->source, ref->partition, ref->pos);
    } else if (ref->pos > 0) {
        buf_printf(b, "%s:%" PRId64, ref->source, ref->pos);
    } else {
        buf_puts(b, ref->source);
    }
}

static void
corr_engine_evidence(struct corr_engine *eng, struct alert *a, const struct corr_live *live,
                     const struct state_result *res)
{
    const struct corr_rule *cr = live->cr;
    struct buf b = {0};
    char when[32];

    for (size_t i = 0; i < res->nev; i++) {
        const struct state_evidence *e = &res->ev[i];
        struct alert_fields *fl = alert_add_evidence(a);
        size_t n;
        if (fl == NULL) {
            break;
        }
        corr_engine_source(&b, &e->ref);
        alert_fields_add(fl, "kizuna.source", 13, b.data, b.len);
        n = time_format_rfc3339(e->time_us, when);
        alert_fields_add(fl, F_TIMESTAMP, sizeof(F_TIMESTAMP) - 1, when, n);
        for (size_t g = 0; g < a->group.n; g++) {
            const struct alert_field *f = &a->group.v[g];
            alert_fields_add(fl, f->name, f->name_len, f->value, f->value_len);
        }
        if (cr->value_label != NULL && e->val != NULL) {
            alert_fields_add(fl, cr->value_label, strlen(cr->value_label), e->val, e->val_len);
        } else if (cr->value_label != NULL && e->has_num) {
            buf_reset(&b);
            buf_printf(&b, "%.17g", e->num);
            alert_fields_add(fl, cr->value_label, strlen(cr->value_label), b.data, b.len);
        }
        if (cr->spec.kind != STATE_WINDOW && cr->value_label == NULL && e->step < cr->nrefs) {
            const char *id = cr->refs[e->step].id;
            alert_fields_add(fl, "rule.id", 7, id, strlen(id));
        }
    }
    buf_free(&b);
    (void)eng;
}

/* Make the alert a decision describes, deliver it, and feed it to chained correlations. */
static void
corr_engine_alert(struct corr_engine *eng, struct corr_live *live, const struct state_result *res,
                  const struct event *ev)
{
    const struct corr_rule *cr = live->cr;
    struct alert *a;
    uint32_t first, end;
    int chained = corr_engine_targets(eng, live->rule, &first, &end);

    live->alerts++;
    eng->stats.alerts++;
    if (!chained && (!live->rule->generate || eng->cb == NULL)) {
        return; /* nobody would see it: counted, not built */
    }
    a = alert_new(live->rule);
    a->corr_type = cr->type->name;
    a->time_us = res->time_us;
    a->first_us = res->first_us;
    a->last_us = res->last_us;
    a->count = res->count;
    a->has_value = res->has_value;
    a->value = res->value;
    corr_key_split(&a->group, res->key, res->key_len, cr->group_by, cr->ngroup);
    if (ev != NULL) {
        alert_fields_from_event(&a->fields, ev);
    } else {
        for (size_t g = 0; g < a->group.n; g++) {
            const struct alert_field *f = &a->group.v[g];
            alert_fields_add(&a->fields, f->name, f->name_len, f->value, f->value_len);
        }
    }
    corr_engine_evidence(eng, a, live, res);
    alert_compute_id(a, res->key, res->window_start_us);
    if (live->rule->generate && eng->cb != NULL) {
        eng->stats.alerts_delivered++;
        eng->cb(eng->arg, a);
    }

    /* Chaining: the alert is an event for the correlations that reference this one. */
    if (chained && eng->depth < eng->nchain) {
        struct event *cev = &eng->chain[eng->depth];
        char count[24];
        event_reset(cev);
        cev->max_fields = CORR_CHAIN_MAX_FIELDS;
        cev->time_us = a->time_us;
        cev->src.name = live->chain_src;
        cev->src.partition = -1;
        if (state_is_async(eng->st) && ev != NULL && ev->src.name != NULL) {
            /* A shared store records event identities: the chained event is named after
             * the event that raised the alert, so a replay of that event is a no-op for the
             * correlations it chains into too ("correlation:ID@source", its position). */
            buf_reset(&eng->chain_name);
            buf_printf(&eng->chain_name, "%s@%s", live->chain_src, ev->src.name);
            cev->src.name = buf_cstr(&eng->chain_name);
            cev->src.partition = ev->src.partition;
            cev->src.offset = ev->src.offset;
            cev->src.line = ev->src.line;
        }
        for (size_t i = 0; i < a->fields.n; i++) {
            const struct alert_field *f = &a->fields.v[i];
            event_add_copy(cev, f->name, f->name_len, f->value, f->value_len);
        }
        for (size_t i = 0; i < a->group.n; i++) {
            const struct alert_field *f = &a->group.v[i];
            event_set(cev, event_strdup(cev, f->name, f->name_len), f->name_len,
                      event_strdup(cev, f->value, f->value_len), f->value_len);
        }
        event_add_copy(cev, "kizuna.alert_id", 15, a->id, strlen(a->id));
        event_add_copy(cev, "kizuna.alert.rule", 17, live->rule->id, strlen(live->rule->id));
        snprintf(count, sizeof(count), "%" PRIu64, a->count);
        event_add_copy(cev, "kizuna.alert.count", 18, count, strlen(count));
        eng->depth++;
        corr_engine_process(eng, live->rule, cev, a->time_us);
        eng->depth--;
    }
    alert_free(a);
}

/* Correlate one match at event time t (normally ev->time_us; the watermark for late ones). */
static void corr_engine_submit(struct corr_engine *eng, struct corr_pending *p, int64_t t);

static void
corr_engine_process(struct corr_engine *eng, const struct rule *rule, const struct event *ev,
                    int64_t t)
{
    uint32_t first, end;

    if (!corr_engine_targets(eng, rule, &first, &end)) {
        return;
    }
    if (eng->async) {
        /* A chained event: its flight belongs to the flight being finished (eng->cur). */
        corr_engine_submit(eng, corr_pending_copy(eng, rule, ev), t);
        return;
    }
    for (uint32_t i = first; i < end; i++) {
        const struct corr_target *tg = &eng->targets[i];
        struct corr_live *live = &eng->live[tg->corr];
        const struct corr_rule *cr = live->cr;
        struct state_input in;
        struct state_result res;
        struct corr_feed_ctx ctx;
        int rc;

        if (corr_key_build(&eng->key, ev, cr->refs[tg->ref].group, cr->ngroup) != 0) {
            live->skipped++;
            eng->stats.skipped++;
            continue;
        }
        memset(&in, 0, sizeof(in));
        in.time_us = t;
        in.ref.source = ev->src.name;
        in.ref.partition = ev->src.partition;
        in.ref.pos = ev->src.partition >= 0 ? ev->src.offset : (int64_t)ev->src.line;
        ctx.st = eng->st;
        ctx.slot = live->slot;
        ctx.cr = cr;
        ctx.ref = tg->ref;
        ctx.key = eng->key.data;
        ctx.key_len = eng->key.len;
        ctx.ev = ev;
        ctx.scratch = &eng->val;
        rc = cr->type->feed(&ctx, &in, &res);
        if (rc == 1) {
            live->skipped++;
            eng->stats.skipped++;
            continue;
        }
        if (rc < 0) {
            log_err("correlation rule %s: state store operation failed", live->rule->id);
            continue;
        }
        if (res.absorbed) {
            eng->stats.absorbed++;
        }
        if (res.fired) {
            corr_engine_alert(eng, live, &res, ev);
        }
    }
}

/* An event that reads the fields and source of a copied match. */
static void
corr_pending_view(const struct corr_pending *p, struct event *view)
{
    memset(view, 0, sizeof(*view));
    view->src = p->src;
    view->time_us = p->time_us;
    view->fields = (struct event_field *)p->fields;
    view->nfields = p->nfields;
    view->fields_cap = p->nfields;
    view->max_fields = p->nfields;
}

static void
corr_engine_process_pending(struct corr_engine *eng, struct corr_pending *p)
{
    struct event view;

    corr_pending_view(p, &view);
    corr_engine_process(eng, p->rule, &view, p->time_us);
}

/* A copied match is finished (correlated, or dropped): tell the input if it was counted. */
static void
corr_pending_finish(struct corr_engine *eng, struct corr_pending *p)
{
    if (p->retained && eng->done_cb != NULL) {
        eng->done_cb(eng->done_arg, &p->src);
    }
    free(p);
}

/*
 * --- the asynchronous path ---
 * A correlation type fills a state_input and calls one store operation; on this path the
 * type talks to a capture store that only records the call, and the engine submits it to the
 * real store with copies of the key and value. Answers fill the flight's operations; flights
 * are finished strictly in the order they were created, so alerts and chaining see the same
 * sequence as on the synchronous path.
 */

static int
corr_capture(struct state_store *base, enum state_kind kind, uint32_t slot,
             const struct state_input *in)
{
    struct corr_capture *c = (struct corr_capture *)base;

    c->kind = kind;
    c->slot = slot;
    c->in = *in;
    return 2;
}

static int
corr_capture_window(struct state_store *st, uint32_t slot, const char *key, size_t len,
                    const struct state_input *in, struct state_result *res)
{
    (void)key, (void)len, (void)res;
    return corr_capture(st, STATE_WINDOW, slot, in);
}

static int
corr_capture_distinct(struct state_store *st, uint32_t slot, const char *key, size_t len,
                      const struct state_input *in, struct state_result *res)
{
    (void)key, (void)len, (void)res;
    return corr_capture(st, STATE_DISTINCT, slot, in);
}

static int
corr_capture_sequence(struct state_store *st, uint32_t slot, const char *key, size_t len,
                      const struct state_input *in, struct state_result *res)
{
    (void)key, (void)len, (void)res;
    return corr_capture(st, STATE_SEQUENCE, slot, in);
}

static int
corr_capture_absence(struct state_store *st, uint32_t slot, const char *key, size_t len,
                     const struct state_input *in, struct state_result *res)
{
    (void)key, (void)len, (void)res;
    return corr_capture(st, STATE_ABSENCE, slot, in);
}

static const struct state_backend corr_capture_backend = {
    .name = "capture",
    .window_add = corr_capture_window,
    .distinct_add = corr_capture_distinct,
    .sequence_advance = corr_capture_sequence,
    .absence_touch = corr_capture_absence,
};

/* The live correlation of slot, if the slot still belongs to the rule of generation gen. */
static struct corr_live *
corr_engine_live_of(struct corr_engine *eng, uint32_t slot, uint32_t gen)
{
    if (slot >= eng->nslots || !eng->slots[slot].used || eng->slots[slot].gen != gen) {
        return NULL;
    }
    return &eng->live[eng->slots[slot].live];
}

/* A decision that raised an alert, copied out of the store's buffers (one allocation). */
static struct state_result *
corr_result_copy(const struct state_result *res)
{
    size_t size = sizeof(*res) + res->key_len + 1;
    struct state_result *c;
    char *data;

    for (size_t i = 0; i < res->nev; i++) {
        const struct state_evidence *e = &res->ev[i];
        size += (e->ref.source != NULL ? strlen(e->ref.source) + 1 : 0) +
                (e->val != NULL ? e->val_len + 1 : 0);
    }
    c = xmalloc(size);
    *c = *res;
    data = (char *)(c + 1);
    memcpy(data, res->key, res->key_len);
    data[res->key_len] = '\0';
    c->key = data;
    data += res->key_len + 1;
    for (size_t i = 0; i < res->nev; i++) {
        struct state_evidence *e = &c->ev[i];
        if (e->ref.source != NULL) {
            size_t n = strlen(e->ref.source) + 1;
            memcpy(data, e->ref.source, n);
            e->ref.source = data;
            data += n;
        }
        if (e->val != NULL) {
            memcpy(data, e->val, e->val_len);
            data[e->val_len] = '\0';
            e->val = data;
            data += e->val_len + 1;
        }
    }
    return c;
}

static void corr_engine_alert(struct corr_engine *eng, struct corr_live *live,
                              const struct state_result *res, const struct event *ev);

/* Free flights that are processed and whose chained flights are finished, up the chain. */
static void
corr_flight_release(struct corr_engine *eng, struct corr_flight *f)
{
    while (f != NULL && f->processed && f->children == 0) {
        struct corr_flight *parent = f->parent;
        corr_pending_finish(eng, f->p);
        for (uint32_t i = 0; i < f->nops; i++) {
            free(f->ops[i].res);
        }
        free(f->ops);
        free(f->data);
        free(f);
        if (parent != NULL) {
            parent->children--;
        }
        f = parent;
    }
}

static void
corr_engine_op_failed(struct corr_engine *eng, const struct corr_live *live, int64_t t)
{
    eng->failed_ops++;
    if (eng->failed_ops == 1 || t - eng->failed_log_us >= CORR_LOG_EVERY_US) {
        log_err("correlation rule %s: state store operation failed (%" PRIu64 " so far)",
                live != NULL ? live->rule->id : "?", eng->failed_ops);
        eng->failed_log_us = t;
    }
}

/* Every answer of f is in: count, build its alerts (which may chain), then release it. */
static void
corr_flight_finish(struct corr_engine *eng, struct corr_flight *f)
{
    struct corr_flight *prev = eng->cur;
    struct event view;

    struct corr_flight *prev_after = eng->chain_after;

    corr_pending_view(f->p, &view);
    eng->cur = f;
    eng->chain_after = NULL;
    for (uint32_t i = 0; i < f->nops; i++) {
        struct corr_fop *fop = &f->ops[i];
        struct corr_live *live = corr_engine_live_of(eng, fop->op.slot, fop->slot_gen);
        if (fop->rc < 0) {
            corr_engine_op_failed(eng, live, f->t);
            continue;
        }
        if (fop->absorbed) {
            eng->stats.absorbed++;
        }
        if (fop->res != NULL && live != NULL) {
            corr_engine_alert(eng, live, fop->res, &view);
        }
    }
    eng->cur = prev;
    eng->chain_after = prev_after;
    f->processed = 1;
    corr_flight_release(eng, f);
}

/*
 * Submit the operations of f that waited for it to be the oldest flight (correlations fed
 * by chained alerts: an earlier flight's alert must reach them first, as on the
 * synchronous path).
 */
static void
corr_flight_submit_deferred(struct corr_engine *eng, struct corr_flight *f)
{
    f->ndeferred = 0;
    for (uint32_t i = 0; i < f->nops; i++) {
        struct corr_fop *fop = &f->ops[i];
        if (!fop->deferred) {
            continue;
        }
        fop->deferred = 0;
        if (state_submit(eng->st, &fop->op) != 0) {
            fop->done = 1;
            fop->rc = -1;
            f->ndone++;
        }
    }
}

/* Finish the flights at the head whose answers are all in, in order. */
static void
corr_engine_drain(struct corr_engine *eng)
{
    if (eng->draining) {
        return; /* a completion inside a finish: the outer loop continues */
    }
    eng->draining = 1;
    while (eng->fhead != NULL) {
        struct corr_flight *f = eng->fhead;
        if (f->ndeferred > 0) {
            corr_flight_submit_deferred(eng, f);
        }
        if (f->ndone < f->nops) {
            break;
        }
        eng->fhead = f->next;
        if (eng->fhead == NULL) {
            eng->ftail = NULL;
        }
        eng->nflights--;
        eng->stats.inflight = eng->nflights;
        corr_flight_finish(eng, f);
    }
    eng->draining = 0;
    if (eng->flights_full && eng->nflights <= eng->opts.max_inflight / 2) {
        eng->flights_full = 0;
        if (eng->ready_cb != NULL && state_ready(eng->st)) {
            eng->ready_cb(eng->done_arg);
        }
    }
}

static void
corr_engine_op_done(struct state_op *op, int rc, const struct state_result *res)
{
    struct corr_fop *fop = (struct corr_fop *)op;
    struct corr_engine *eng = op->arg;

    fop->done = 1;
    fop->rc = rc;
    if (rc == 0) {
        fop->absorbed = res->absorbed;
        if (res->fired) {
            fop->res = corr_result_copy(res);
        }
    }
    fop->f->ndone++;
    corr_engine_drain(eng);
}

/*
 * Correlate the copied match p at time t on the asynchronous path: record the operation of
 * each correlation it feeds, queue the flight, submit. Takes ownership of p.
 */
static void
corr_engine_submit(struct corr_engine *eng, struct corr_pending *p, int64_t t)
{
    struct corr_flight *f = xcalloc(1, sizeof(*f));
    struct buf data = {0};
    struct event view;
    uint32_t first, end;

    corr_pending_view(p, &view);
    f->p = p;
    f->t = t;
    f->parent = eng->cur;
    if (f->parent != NULL) {
        f->parent->children++;
    }
    if (corr_engine_targets(eng, p->rule, &first, &end)) {
        f->ops = xcalloc(end - first, sizeof(*f->ops));
        for (uint32_t i = first; i < end; i++) {
            const struct corr_target *tg = &eng->targets[i];
            struct corr_live *live = &eng->live[tg->corr];
            const struct corr_rule *cr = live->cr;
            struct corr_fop *fop;
            struct state_input in;
            struct state_result res;
            struct corr_feed_ctx ctx;
            int rc;

            if (corr_key_build(&eng->key, &view, cr->refs[tg->ref].group, cr->ngroup) != 0) {
                live->skipped++;
                eng->stats.skipped++;
                continue;
            }
            memset(&in, 0, sizeof(in));
            in.time_us = t;
            in.step = tg->ref; /* part of the event's identity in a shared store */
            in.ref.source = p->src.name;
            in.ref.partition = p->src.partition;
            in.ref.pos = p->src.partition >= 0 ? p->src.offset : (int64_t)p->src.line;
            ctx.st = &eng->cap.base;
            ctx.slot = live->slot;
            ctx.cr = cr;
            ctx.ref = tg->ref;
            ctx.key = eng->key.data;
            ctx.key_len = eng->key.len;
            ctx.ev = &view;
            ctx.scratch = &eng->val;
            rc = cr->type->feed(&ctx, &in, &res);
            if (rc != 2) {
                live->skipped++;
                eng->stats.skipped++;
                continue;
            }
            fop = &f->ops[f->nops++];
            fop->f = f;
            fop->slot_gen = eng->slots[live->slot].gen;
            if (eng->slots[live->slot].chained_in) {
                fop->deferred = 1;
                f->ndeferred++;
            }
            fop->op.kind = eng->cap.kind;
            fop->op.slot = eng->cap.slot;
            fop->op.in = eng->cap.in;
            fop->op.cb = corr_engine_op_done;
            fop->op.arg = eng;
            /* Offsets for now: the buffer may move while it grows. */
            fop->op.key = (const char *)(uintptr_t)data.len;
            fop->op.key_len = eng->key.len;
            buf_append(&data, eng->key.data, eng->key.len);
            if (fop->op.in.val != NULL) {
                size_t off = data.len;
                buf_append(&data, fop->op.in.val, fop->op.in.val_len);
                fop->op.in.val = (const char *)(uintptr_t)off;
            }
        }
    }
    buf_putc(&data, '\0');
    f->data = data.data;
    for (uint32_t i = 0; i < f->nops; i++) {
        struct state_op *op = &f->ops[i].op;
        op->key = f->data + (uintptr_t)op->key;
        if (op->in.val != NULL) {
            op->in.val = f->data + (uintptr_t)op->in.val;
        }
    }
    if (f->parent != NULL && f->parent == eng->cur) {
        /* A chained event goes right after its parent (which was just taken off the head),
         * before the flights released after it: the depth-first order of the synchronous
         * path, for the correlations whose operations wait for their turn. */
        if (eng->chain_after == NULL) {
            f->next = eng->fhead;
            eng->fhead = f;
        } else {
            f->next = eng->chain_after->next;
            eng->chain_after->next = f;
        }
        if (f->next == NULL) {
            eng->ftail = f;
        }
        eng->chain_after = f;
    } else {
        if (eng->ftail != NULL) {
            eng->ftail->next = f;
        } else {
            eng->fhead = f;
        }
        eng->ftail = f;
    }
    eng->nflights++;
    eng->stats.inflight = eng->nflights;
    eng->draining++; /* no finishing before every operation of f is submitted */
    for (uint32_t i = 0; i < f->nops; i++) {
        if (f->ops[i].deferred) {
            continue;
        }
        if (state_submit(eng->st, &f->ops[i].op) != 0) {
            f->ops[i].done = 1;
            f->ops[i].rc = -1;
            f->ndone++;
        }
    }
    eng->draining--;
    corr_engine_drain(eng);
}

/* A decision the store took by itself (a window closed, a deadline passed): alert. */
static void
corr_engine_timer_cb(void *arg, const struct state_result *res)
{
    struct corr_engine *eng = arg;

    if (res->absorbed) {
        eng->stats.absorbed++;
    }
    if (res->fired && res->slot < eng->nslots && eng->slots[res->slot].used) {
        corr_engine_alert(eng, &eng->live[eng->slots[res->slot].live], res, NULL);
    }
}

static void
corr_engine_ready_cb(void *arg)
{
    struct corr_engine *eng = arg;

    if (eng->ready_cb != NULL) {
        eng->ready_cb(eng->done_arg);
    }
}

/* Fire one due timer (deadline <= upto); 0 when none is due. */
static int
corr_engine_fire(struct corr_engine *eng, int64_t upto)
{
    struct state_result res;

    if (state_next_due(eng->st) > upto || state_fire_due(eng->st, upto, &res) != 1) {
        return 0;
    }
    if (res.absorbed) {
        eng->stats.absorbed++;
    }
    if (res.fired && res.slot < eng->nslots && eng->slots[res.slot].used) {
        corr_engine_alert(eng, &eng->live[eng->slots[res.slot].live], &res, NULL);
    }
    return 1;
}

/*
 * Release everything the watermark allows, in event-time order: pending events and timers;
 * a timer at d goes before events at d (a window [s, s + T) does not hold s + T).
 */
static void
corr_engine_run(struct corr_engine *eng)
{
    for (;;) {
        int64_t d = state_next_due(eng->st);
        struct corr_pending *p = corr_pending_peek(eng);
        if (p != NULL && p->time_us <= eng->wm && p->time_us < d) {
            p = corr_pending_pop(eng);
            if (eng->async) {
                corr_engine_submit(eng, p, p->time_us);
            } else {
                corr_engine_process_pending(eng, p);
                corr_pending_finish(eng, p);
            }
        } else if (d <= eng->wm) {
            corr_engine_fire(eng, eng->wm);
        } else {
            break;
        }
    }
    if (eng->async) {
        state_advance(eng->st, eng->wm);
    }
}

/* The reorder buffer is full: release its oldest events early, moving the clock. */
static void
corr_engine_bound_pending(struct corr_engine *eng)
{
    while (eng->stats.pending_bytes > eng->opts.max_pending_bytes && eng->stats.pending > 0) {
        int64_t t = corr_pending_peek(eng)->time_us;
        eng->stats.forced++;
        if (!eng->forced_logged || t - eng->forced_log_us >= CORR_LOG_EVERY_US) {
            log_warn("correlation: reorder buffer full (%" PRIu64 " bytes, %zu events): the "
                     "event clock is moved to %" PRId64 " early; later events below it count "
                     "as late (%" PRIu64 " released early so far)",
                     eng->stats.pending_bytes, (size_t)eng->stats.pending, t, eng->stats.forced);
            eng->forced_logged = 1;
            eng->forced_log_us = t;
        }
        if (t > eng->wm) {
            eng->wm = t;
        }
        corr_engine_run(eng);
    }
}

/* Asynchronous path: copy a match fed by the input and submit it (finished via done_cb). */
static void
corr_engine_submit_retained(struct corr_engine *eng, const struct rule *rule,
                            const struct event *ev, int64_t t)
{
    struct corr_pending *p = corr_pending_copy(eng, rule, ev);

    p->retained = 1;
    eng->retained++;
    corr_engine_submit(eng, p, t);
}

/*
 * One rule match: late check, then correlate now or wait in the reorder buffer (ev is
 * copied, not kept). Returns 0, or 1 for a late event (corr.h).
 */
int
corr_engine_feed(struct corr_engine *eng, const struct rule *rule, const struct event *ev)
{
    uint32_t first, end;
    int64_t t = ev->time_us, wm;

    if (!corr_engine_targets(eng, rule, &first, &end)) {
        return 0;
    }
    eng->stats.fed++;
    if (t < CORR_MIN_TIME_US || t > CORR_MAX_TIME_US) {
        eng->stats.skipped++; /* no sane event time: window arithmetic would overflow */
        return 0;
    }
    if (t < eng->wm) {
        eng->stats.late++;
        if (!eng->opts.process_late) {
            return 1;
        }
        eng->stats.late_processed++;
        if (eng->async) {
            corr_engine_submit_retained(eng, rule, ev, eng->wm);
        } else {
            corr_engine_process(eng, rule, ev, eng->wm);
        }
        return 1;
    }
    if (t > eng->max_seen) {
        eng->max_seen = t;
    }
    wm = eng->wm;
    if (eng->opts.auto_watermark && eng->max_seen - eng->opts.allowed_lateness_us > wm) {
        wm = eng->max_seen - eng->opts.allowed_lateness_us;
    }
    if (t <= wm && (eng->stats.pending == 0 || corr_pending_peek(eng)->time_us > t)) {
        /* Nothing pending before it: correlate now, after the timers due by then. */
        while (corr_engine_fire(eng, t)) {
        }
        if (eng->async) {
            corr_engine_submit_retained(eng, rule, ev, t);
        } else {
            corr_engine_process(eng, rule, ev, t);
        }
        if (wm > eng->wm) {
            eng->wm = wm;
            corr_engine_run(eng);
            state_expire(eng->st, eng->wm);
        }
        return 0;
    }
    corr_heap_push(eng, rule, ev);
    if (wm > eng->wm) {
        eng->wm = wm;
        corr_engine_run(eng);
        state_expire(eng->st, eng->wm);
    }
    corr_engine_bound_pending(eng);
    return 0;
}

/*
 * Like corr_engine_feed(), but a match below the clock is correlated at once at its own
 * time instead of being late (corr.h). Asynchronous stores only; otherwise the same as
 * corr_engine_feed().
 */
int
corr_engine_feed_own_time(struct corr_engine *eng, const struct rule *rule,
                          const struct event *ev)
{
    uint32_t first, end;
    int64_t t = ev->time_us;

    if (!eng->async || t >= eng->wm || !corr_engine_targets(eng, rule, &first, &end)) {
        return corr_engine_feed(eng, rule, ev);
    }
    eng->stats.fed++;
    if (t < CORR_MIN_TIME_US || t > CORR_MAX_TIME_US) {
        eng->stats.skipped++;
        return 0;
    }
    eng->stats.behind++;
    if (t > eng->max_seen) {
        eng->max_seen = t;
    }
    corr_engine_submit_retained(eng, rule, ev, t);
    return 0;
}

/* The clock moved: release waiting matches and due timers in order, then expire groups. */
void
corr_engine_advance(struct corr_engine *eng, int64_t watermark_us)
{
    if (watermark_us <= eng->wm) {
        if (eng->async) {
            state_advance(eng->st, eng->wm); /* a shared clock may have moved meanwhile */
        }
        return;
    }
    eng->wm = watermark_us;
    corr_engine_run(eng);
    state_expire(eng->st, eng->wm);
}

/* End of input: advance to the highest event time fed. */
void
corr_engine_finish(struct corr_engine *eng)
{
    if (eng->max_seen != INT64_MIN) {
        corr_engine_advance(eng, eng->max_seen);
    }
}

/* The engine's clock. */
int64_t
corr_engine_watermark(const struct corr_engine *eng)
{
    return eng->wm;
}

static void
corr_pending_min_of(const struct corr_pending *p, uint32_t input, int32_t partition, int *found,
                    int64_t *pos)
{
    int64_t at = p->src.partition >= 0 ? p->src.offset : (int64_t)p->src.line;

    if (p->src.input == input && p->src.partition == partition && (!*found || at < *pos)) {
        *pos = at;
        *found = 1;
    }
}

/* Lowest waiting source position of (input, partition); 1 if any waits (corr.h). */
int
corr_engine_pending_min(const struct corr_engine *eng, uint32_t input, int32_t partition,
                        int64_t *pos)
{
    int found = 0;

    for (size_t i = 0; i < eng->nheap; i++) {
        corr_pending_min_of(eng->heap[i], input, partition, &found, pos);
    }
    for (size_t i = 0; i < eng->nfifo; i++) {
        corr_pending_min_of(corr_fifo_at(eng, i), input, partition, &found, pos);
    }
    for (const struct corr_flight *f = eng->fhead; f != NULL; f = f->next) {
        corr_pending_min_of(f->p, input, partition, &found, pos);
    }
    return found;
}

/* --- asynchronous stores: completion, backpressure, shutdown --- */

/* Register the input-side callbacks (corr.h). */
void
corr_engine_set_done_cb(struct corr_engine *eng, corr_done_cb done, corr_ready_cb ready,
                        void *arg)
{
    eng->done_cb = done;
    eng->ready_cb = ready;
    eng->done_arg = arg;
}

/* Matches copied so far (corr.h). */
uint64_t
corr_engine_retained(const struct corr_engine *eng)
{
    return eng->retained;
}

/*
 * 1 when the store takes more operations and the flights are within their bound (corr.h):
 * answers may complete flights behind an older one still waiting, which then wait too.
 */
int
corr_engine_ready(struct corr_engine *eng)
{
    if (eng->nflights >= eng->opts.max_inflight) {
        eng->flights_full = 1;
        return 0;
    }
    return state_ready(eng->st);
}

/* Matches whose state operations are in flight (corr.h). */
uint64_t
corr_engine_inflight(const struct corr_engine *eng)
{
    return eng->nflights;
}

/* Stopping: hand every waiting match to the store now, in order, clock unchanged (corr.h). */
void
corr_engine_release(struct corr_engine *eng)
{
    if (!eng->async) {
        return;
    }
    while (eng->stats.pending > 0) {
        struct corr_pending *p = corr_pending_pop(eng);
        corr_engine_submit(eng, p, p->time_us);
    }
}

/* The engine's state store (corr.h). */
struct state_store *
corr_engine_store(struct corr_engine *eng)
{
    return eng->st;
}

/* Tell the store how far this process applied a source (corr.h). */
void
corr_engine_publish(struct corr_engine *eng, const char *source, int32_t partition,
                    int64_t watermark_us, int idle)
{
    state_publish(eng->st, source, partition, watermark_us, idle);
}

/* --- lifecycle and reload --- */

/* A new engine with its in-memory state store; caller frees with corr_engine_free(). */
struct corr_engine *
corr_engine_new(const struct corr_opts *opts, corr_alert_cb cb, void *arg)
{
    return corr_engine_new_with_store(opts, NULL, cb, arg);
}

/* A new engine over store st (taken over), or the in-memory store when st is NULL. */
struct corr_engine *
corr_engine_new_with_store(const struct corr_opts *opts, struct state_store *st,
                           corr_alert_cb cb, void *arg)
{
    struct corr_engine *eng = xcalloc(1, sizeof(*eng));
    struct state_limits lim = {0};

    if (opts != NULL) {
        eng->opts = *opts;
    }
    if (eng->opts.allowed_lateness_us < 0) {
        eng->opts.allowed_lateness_us = 0;
    }
    if (eng->opts.max_pending_bytes == 0) {
        eng->opts.max_pending_bytes = CORR_DEFAULT_PENDING_BYTES;
    }
    if (eng->opts.max_inflight == 0) {
        eng->opts.max_inflight = CORR_DEFAULT_MAX_FLIGHTS;
    }
    lim.max_groups_per_slot = eng->opts.max_groups_per_rule;
    lim.max_groups_total = eng->opts.max_groups_total;
    eng->st = st != NULL ? st : state_memory_new(&lim);
    eng->async = state_is_async(eng->st) || eng->opts.async;
    eng->cap.base.be = &corr_capture_backend;
    state_set_hooks(eng->st, corr_engine_timer_cb, corr_engine_ready_cb, eng);
    eng->cb = cb;
    eng->arg = arg;
    eng->wm = INT64_MIN;
    eng->max_seen = INT64_MIN;
    eng->tstart = xcalloc(1, sizeof(*eng->tstart));
    return eng;
}

static void
corr_engine_free_live(struct corr_engine *eng)
{
    for (size_t i = 0; i < eng->nlive; i++) {
        free(eng->live[i].chain_src);
    }
    free(eng->live);
    eng->live = NULL;
    eng->nlive = 0;
}

/* Free the engine, its state and every waiting match. NULL is accepted. */
void
corr_engine_free(struct corr_engine *eng)
{
    if (eng == NULL) {
        return;
    }
    for (size_t i = 0; i < eng->nheap; i++) {
        free(eng->heap[i]);
    }
    free(eng->heap);
    for (size_t i = 0; i < eng->nfifo; i++) {
        free(corr_fifo_at(eng, i));
    }
    free(eng->fifo);
    /* The store first: it may not call back once freed. Then the flights it still held. */
    state_free(eng->st);
    while (eng->fhead != NULL) {
        struct corr_flight *f = eng->fhead;
        eng->fhead = f->next;
        f->processed = 1;
        f->children = 0;
        f->parent = NULL;
        f->p->retained = 0;
        corr_flight_release(eng, f);
    }
    corr_engine_free_live(eng);
    for (size_t i = 0; i < eng->nslots; i++) {
        free(eng->slots[i].id);
    }
    free(eng->slots);
    free(eng->rules);
    free(eng->tstart);
    free(eng->targets);
    for (size_t i = 0; i < eng->nchain; i++) {
        event_free(&eng->chain[i]);
    }
    free(eng->chain);
    buf_free(&eng->key);
    buf_free(&eng->val);
    buf_free(&eng->chain_name);
    free(eng);
}

static int
corr_rule_ptr_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct rule *const *)a)->id, (*(const struct rule *const *)b)->id);
}

static const struct rule *
corr_engine_find_by_id(const struct rule **sorted, size_t n, const char *id)
{
    struct rule key;
    const struct rule *kp = &key;
    const struct rule **hit;

    memset(&key, 0, sizeof(key));
    key.id = (char *)id;
    hit = bsearch(&kp, sorted, n, sizeof(*sorted), corr_rule_ptr_cmp);
    return hit != NULL ? *hit : NULL;
}

/* The rule with the same id as the pending event's, or NULL (dropped and counted). */
static int
corr_engine_remap_one(struct corr_engine *eng, struct corr_pending *p,
                      const struct rule **sorted, size_t n)
{
    const struct rule *nr = corr_engine_find_by_id(sorted, n, p->rule->id);

    if (nr == NULL) {
        eng->stats.reload_dropped++;
        eng->stats.pending_bytes -= p->size;
        corr_pending_finish(eng, p);
        return 0;
    }
    p->rule = nr;
    return 1;
}

/* Point pending events at the new rule objects (by id); drop those whose rule vanished. */
static void
corr_engine_remap_pending(struct corr_engine *eng, const struct rule **sorted, size_t n)
{
    size_t j = 0, kept = 0;

    for (size_t i = 0; i < eng->nheap; i++) {
        if (corr_engine_remap_one(eng, eng->heap[i], sorted, n)) {
            eng->heap[j++] = eng->heap[i];
        }
    }
    eng->nheap = j;
    for (size_t i = j / 2; i-- > 0;) {
        corr_heap_down(eng, i);
    }
    for (size_t i = 0; i < eng->nfifo; i++) {
        struct corr_pending *p = corr_fifo_at(eng, i);
        if (corr_engine_remap_one(eng, p, sorted, n)) {
            eng->fifo[(eng->fifo_head + kept++) & (eng->fifocap - 1)] = p;
        }
    }
    eng->nfifo = kept;
    eng->stats.pending = eng->nheap + eng->nfifo;
}

/* 1 if a correlation references other correlations (their alerts are its events). */
static int
corr_live_chained_in(const struct corr_live *l)
{
    for (size_t k = 0; k < l->cr->nrefs; k++) {
        const struct rule *r = l->cr->refs[k].rule;
        if (r != NULL && r->kind == RULE_CORRELATION) {
            return 1;
        }
    }
    return 0;
}

/*
 * Switch to a new array of rules: keep the state of unchanged correlations (id and hash),
 * drop the rest, rebuild routing, re-point waiting matches. The rules are not owned.
 */
void
corr_engine_set_rules(struct corr_engine *eng, const struct rule *const *rules, size_t n)
{
    const struct rule **sorted = xcalloc(n ? n : 1, sizeof(*sorted));
    struct corr_live *live;
    size_t nlive = 0, ntargets = 0;
    unsigned char *keep = xcalloc(eng->nslots ? eng->nslots : 1, 1);

    memcpy(sorted, rules, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), corr_rule_ptr_cmp);
    for (size_t i = 0; i < n; i++) {
        if (rules[i]->kind == RULE_CORRELATION && rules[i]->corr != NULL) {
            nlive++;
        }
    }
    live = xcalloc(nlive ? nlive : 1, sizeof(*live));
    nlive = 0;

    /* Which slots survive: same rule id, same definition hash. */
    for (size_t i = 0; i < n; i++) {
        const struct rule *r = rules[i];
        struct corr_live *l;
        if (r->kind != RULE_CORRELATION || r->corr == NULL) {
            continue;
        }
        l = &live[nlive++];
        l->rule = r;
        l->cr = r->corr;
        l->slot = UINT32_MAX;
        l->chain_src = xasprintf("correlation:%s", r->id);
        for (size_t s = 0; s < eng->nslots; s++) {
            if (eng->slots[s].used && !keep[s] && strcmp(eng->slots[s].id, r->id) == 0 &&
                strcmp(eng->slots[s].hash, r->hash) == 0) {
                keep[s] = 1;
                l->slot = (uint32_t)s;
                break;
            }
        }
    }
    /* Drop the state of rules that changed or vanished. */
    for (size_t s = 0; s < eng->nslots; s++) {
        struct state_stats ss;
        if (!eng->slots[s].used || keep[s]) {
            continue;
        }
        state_stats(eng->st, (uint32_t)s, &ss);
        log_notice("correlation rule %s %s: dropping its state (%" PRIu64 " groups)",
                   eng->slots[s].id,
                   corr_engine_find_by_id(sorted, n, eng->slots[s].id) ? "changed" : "removed",
                   ss.groups);
        state_slot_drop(eng->st, (uint32_t)s);
        free(eng->slots[s].id);
        {
            uint32_t gen = eng->slots[s].gen;
            memset(&eng->slots[s], 0, sizeof(eng->slots[s]));
            eng->slots[s].gen = gen + 1;
        }
    }
    /* Open slots for new and changed rules; note the kept ones. */
    for (size_t i = 0; i < nlive; i++) {
        struct corr_live *l = &live[i];
        struct state_slot_spec spec;
        size_t s;
        if (l->slot != UINT32_MAX) {
            struct state_stats ss;
            state_stats(eng->st, l->slot, &ss);
            if (ss.groups > 0) {
                log_info("correlation rule %s unchanged: keeping its state (%" PRIu64
                         " groups)", l->rule->id, ss.groups);
            }
            eng->slots[l->slot].live = (uint32_t)i;
            eng->slots[l->slot].chained_in = corr_live_chained_in(l);
            continue;
        }
        for (s = 0; s < eng->nslots && eng->slots[s].used; s++) {
        }
        if (s == eng->nslots) {
            eng->slots = xreallocarray(eng->slots, eng->nslots + 1, sizeof(*eng->slots));
            memset(&eng->slots[eng->nslots], 0, sizeof(*eng->slots));
            eng->nslots++;
        }
        eng->slots[s].used = 1;
        eng->slots[s].id = xstrdup(l->rule->id);
        memcpy(eng->slots[s].hash, l->rule->hash, sizeof(eng->slots[s].hash));
        eng->slots[s].hash[sizeof(eng->slots[s].hash) - 1] = '\0';
        eng->slots[s].live = (uint32_t)i;
        eng->slots[s].gen++;
        eng->slots[s].chained_in = corr_live_chained_in(l);
        l->slot = (uint32_t)s;
        spec = l->cr->spec;
        spec.rule_hash = l->rule->hash;
        if (state_slot_open(eng->st, l->slot, &spec) != 0) {
            log_err("correlation rule %s: cannot open its state slot", l->rule->id);
        }
    }

    /* Routing: for each rule, the (correlation, reference) pairs it feeds. */
    free(eng->tstart);
    free(eng->targets);
    eng->tstart = xcalloc(n + 1, sizeof(*eng->tstart));
    for (size_t i = 0; i < nlive; i++) {
        for (size_t k = 0; k < live[i].cr->nrefs; k++) {
            const struct rule *t = live[i].cr->refs[k].rule;
            if (t != NULL && t->index < n && rules[t->index] == t) {
                eng->tstart[t->index + 1]++;
                ntargets++;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        eng->tstart[i + 1] += eng->tstart[i];
    }
    eng->targets = xcalloc(ntargets ? ntargets : 1, sizeof(*eng->targets));
    {
        uint32_t *fill = xcalloc(n ? n : 1, sizeof(*fill));
        for (size_t i = 0; i < nlive; i++) {
            /* References in descending order: one event advances one step of a sequence. */
            for (size_t k = live[i].cr->nrefs; k-- > 0;) {
                const struct rule *t = live[i].cr->refs[k].rule;
                if (t != NULL && t->index < n && rules[t->index] == t) {
                    struct corr_target *tg = &eng->targets[eng->tstart[t->index] +
                                                           fill[t->index]++];
                    tg->corr = (uint32_t)i;
                    tg->ref = (uint32_t)k;
                }
            }
        }
        free(fill);
    }

    corr_engine_remap_pending(eng, sorted, n);
    corr_engine_free_live(eng);
    eng->live = live;
    eng->nlive = nlive;
    free(eng->rules);
    eng->rules = xcalloc(n ? n : 1, sizeof(*eng->rules));
    memcpy(eng->rules, rules, n * sizeof(*eng->rules));
    eng->nrules = n;
    for (size_t i = 0; i < eng->nchain; i++) {
        event_free(&eng->chain[i]);
    }
    free(eng->chain);
    eng->nchain = nlive;
    eng->chain = xcalloc(nlive ? nlive : 1, sizeof(*eng->chain));
    for (size_t i = 0; i < nlive; i++) {
        event_init(&eng->chain[i]);
    }
    free(keep);
    free(sorted);
}

/* corr_engine_set_rules() over the rules of a rule set (which must outlive its use). */
void
corr_engine_set_ruleset(struct corr_engine *eng, const struct ruleset *rs)
{
    size_t n = rs != NULL ? ruleset_count(rs) : 0;
    const struct rule **rules = xcalloc(n ? n : 1, sizeof(*rules));

    for (size_t i = 0; i < n; i++) {
        rules[i] = ruleset_rule(rs, i);
    }
    corr_engine_set_rules(eng, rules, n);
    free(rules);
}

/* --- observation --- */

/* Copy the engine's counters and the store's into out. */
void
corr_engine_get_stats(const struct corr_engine *eng, struct corr_stats *out)
{
    struct state_stats ss;

    *out = eng->stats;
    state_stats(eng->st, UINT32_MAX, &ss);
    out->groups = ss.groups;
    out->expired = ss.expired;
    out->evicted = ss.evicted;
    out->truncated = ss.truncated;
    out->state_bytes = ss.bytes;
    out->created = ss.created;
    out->inflight = eng->nflights;
    out->failed_ops = eng->failed_ops;
}

static void
corr_dump_time(struct buf *b, const char *name, int64_t us)
{
    char when[32];

    if (us == INT64_MIN) {
        buf_printf(b, "\"%s\":null", name);
        return;
    }
    time_format_rfc3339(us, when);
    buf_printf(b, "\"%s\":\"%s\",\"%s_us\":%" PRId64, name, when, name, us);
}

/* Write the live state as one JSON object (docs/CORRELATION.md, "Dump"). Returns 0 or -1. */
int
corr_engine_dump(const struct corr_engine *eng, FILE *out)
{
    struct buf b = {0};
    struct corr_stats cs;
    int r = 0;

    corr_engine_get_stats(eng, &cs);
    buf_putc(&b, '{');
    corr_dump_time(&b, "watermark", eng->wm);
    buf_printf(&b, ",\"pending_events\":%" PRIu64 ",\"late_events\":%" PRIu64
                   ",\"groups\":%" PRIu64 ",\"evicted\":%" PRIu64 ",\"state_bytes\":%" PRIu64
                   ",\"rules\":[",
               cs.pending, cs.late, cs.groups, cs.evicted, cs.state_bytes);
    for (size_t i = 0; i < eng->nlive; i++) {
        const struct corr_live *l = &eng->live[i];
        struct state_stats ss;
        char cond[96];
        state_stats(eng->st, l->slot, &ss);
        corr_cond_format(&l->cr->spec.cond, cond, sizeof(cond));
        if (i > 0) {
            buf_putc(&b, ',');
        }
        buf_puts(&b, "{\"rule\":");
        buf_json_string(&b, l->rule->id, strlen(l->rule->id));
        buf_printf(&b, ",\"hash\":\"%s\",\"type\":\"%s\",\"timespan_us\":%" PRId64
                       ",\"condition\":\"%s\",\"evaluation\":\"%s\",\"groups\":%" PRIu64
                       ",\"created\":%" PRIu64 ",\"expired\":%" PRIu64 ",\"evicted\":%" PRIu64
                       ",\"truncated\":%" PRIu64 ",\"alerts\":%" PRIu64 ",\"absorbed\":%" PRIu64
                       ",\"skipped\":%" PRIu64 ",\"state\":",
                   l->rule->hash, l->cr->type->name, l->cr->timespan_us, cond,
                   l->cr->spec.kind == STATE_ABSENCE ? "deadline"
                   : l->cr->spec.at_close            ? "at_close"
                                                     : "sliding",
                   ss.groups, ss.created, ss.expired, ss.evicted, ss.truncated, l->alerts,
                   ss.absorbed, l->skipped);
        state_dump_slot(eng->st, l->slot, &b);
        buf_putc(&b, '}');
    }
    buf_puts(&b, "]}\n");
    if (fwrite(b.data, 1, b.len, out) != b.len) {
        r = -1;
    }
    buf_free(&b);
    return r;
}
