/*
 * The event path: decode, late check, detection, correlation, outputs; and the event-time
 * clock built from per-source watermarks.
 *
 * Completion (with an ack callback): the correlation engine "retains" a match it copies
 * (reorder buffer, or operations in flight to an asynchronous state store) and reports it
 * finished later. A record with retained matches is pending; a small hash table keyed by
 * (input, partition, position) counts its unfinished matches, and the ack callback names the
 * record when the count reaches zero.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "log.h"
#include "pipeline.h"
#include "state.h"
#include "timeutil.h"
#include "xmalloc.h"

#define PIPELINE_PUBLISH_US INT64_C(50000) /* source watermarks to the store at most this often */

/* Event-time progress of one source: an input, or one partition of a Kafka input. */
struct source_clock {
    uint32_t input;
    int32_t partition;
    char *name;          /* the source's name (topic or path), for a shared store's clock */
    int64_t max_time;    /* highest event time seen, INT64_MIN before the first */
    int64_t last_wall;   /* wall clock of the last event, for idleness */
    int done;
    int revoked;         /* a Kafka partition no longer assigned here */
};

struct pipeline {
    const struct conf *conf;
    struct ruleset *rs;
    struct output_set *outputs;
    struct deadletter *dl;
    struct corr_engine *corr;
    struct event ev;
    struct decode_ctx dctx;
    struct pipeline_stats stats;

    struct source_clock *sources;
    size_t nsources;
    struct pipeline_input_stats *inputs; /* by input index */
    size_t ninputs;
    struct pipeline_rule_stats *rules;   /* by rule index of rs */
    size_t nrules;
    int64_t clock;       /* the daemon's event-time clock (monotonic) */
    int64_t max_seen;    /* highest event time over all sources */
    int64_t clock_wall;  /* wall time of the last pipeline_update_clock() from an event */
    int late;            /* the event being processed is behind the clock */
    int64_t batch_wall;  /* wall clock of the current batch, 0 outside a batch */
    char reason[512];

    /* completion of records whose correlation is held (pipeline_set_ack_cb) */
    pipeline_ack_cb ack_cb;
    pipeline_ready_cb ready_cb;
    void *ack_arg;
    struct pipeline_pend *pend;  /* open addressing; count 0 = free */
    size_t pend_cap;
    size_t npend;
    const struct event_source *cur; /* the record being processed */
    uint64_t cur_done;              /* its matches finished during processing */
    int64_t published_wall;
    unsigned char *acked;  /* by input: its records complete through ack_cb (Kafka) */
    size_t nacked;
    int own_time;        /* shared state: late against the event's own source, see below */
};

/* Unfinished matches of one pending record. */
struct pipeline_pend {
    uint32_t input;
    int32_t partition;
    int64_t pos;
    uint32_t count;
};

static void
pipeline_emit(struct pipeline *p, struct alert *a)
{
    p->stats.alerts++;
    if (a->rule->index < p->nrules) {
        p->rules[a->rule->index].alerts++;
    }
    if (p->outputs != NULL) {
        output_set_emit(p->outputs, a);
    }
}

static void
pipeline_corr_alert_cb(void *arg, struct alert *a)
{
    pipeline_emit(arg, a);
}

struct pipeline *
pipeline_new(const struct conf *conf, struct deadletter *dl)
{
    return pipeline_new_with_state(conf, dl, NULL);
}

struct pipeline *
pipeline_new_with_state(const struct conf *conf, struct deadletter *dl, struct state_store *st)
{
    struct pipeline *p = xcalloc(1, sizeof(*p));
    struct corr_opts copts = {0};

    p->dl = dl;
    p->clock = INT64_MIN;
    p->max_seen = INT64_MIN;
    event_init(&p->ev);
    pipeline_set_conf(p, conf);
    copts.allowed_lateness_us = conf->allowed_lateness_us;
    copts.max_groups_per_rule = (uint64_t)conf->max_groups_per_rule;
    copts.max_groups_total = (uint64_t)conf->max_groups_total;
    copts.process_late = conf->late_policy == LATE_PROCESS;
    p->corr = corr_engine_new_with_store(&copts, st, pipeline_corr_alert_cb, p);
    return p;
}

void
pipeline_free(struct pipeline *p)
{
    if (p == NULL) {
        return;
    }
    corr_engine_free(p->corr);
    event_free(&p->ev);
    for (size_t i = 0; i < p->nsources; i++) {
        free(p->sources[i].name);
    }
    free(p->sources);
    free(p->pend);
    free(p->acked);
    free(p->inputs);
    free(p->rules);
    free(p);
}

void
pipeline_set_ruleset(struct pipeline *p, struct ruleset *rs)
{
    p->rs = rs;
    free(p->rules);
    p->nrules = rs != NULL ? ruleset_count(rs) : 0;
    p->rules = xcalloc(p->nrules + 1, sizeof(*p->rules));
    corr_engine_set_ruleset(p->corr, rs);
}

void
pipeline_set_outputs(struct pipeline *p, struct output_set *os)
{
    p->outputs = os;
}

void
pipeline_set_conf(struct pipeline *p, const struct conf *conf)
{
    p->conf = conf;
    p->ev.max_fields = (uint32_t)conf->max_fields;
    p->dctx.max_depth = (uint32_t)conf->max_depth;
}

struct corr_engine *
pipeline_corr(struct pipeline *p)
{
    return p->corr;
}

static struct source_clock *
pipeline_source(struct pipeline *p, uint32_t input, int32_t partition)
{
    struct source_clock *s;

    for (size_t i = 0; i < p->nsources; i++) {
        if (p->sources[i].input == input && p->sources[i].partition == partition) {
            return &p->sources[i];
        }
    }
    p->sources = xreallocarray(p->sources, p->nsources + 1, sizeof(*p->sources));
    s = &p->sources[p->nsources++];
    memset(s, 0, sizeof(*s));
    s->input = input;
    s->partition = partition;
    s->max_time = INT64_MIN;
    return s;
}

/*
 * Tell a shared state store how far this process applied each source it reads: the
 * source's own watermark, but not beyond the clock (events above it wait in the reorder
 * buffer), and whether the source is idle (finished, or silent for time.idle_source): an
 * idle source does not hold the shared clock back, as it does not hold this process's.
 * Revoked partitions are another process's to publish. Throttled.
 */
static void
pipeline_publish(struct pipeline *p, int64_t wall, int all)
{
    if (p->ack_cb == NULL || p->clock == INT64_MIN ||
        (!all && wall - p->published_wall < PIPELINE_PUBLISH_US)) {
        return;
    }
    p->published_wall = wall;
    for (size_t i = 0; i < p->nsources; i++) {
        const struct source_clock *s = &p->sources[i];
        int64_t wm;
        int idle;
        if (s->name == NULL || s->max_time == INT64_MIN || s->revoked) {
            continue;
        }
        wm = s->max_time - p->conf->allowed_lateness_us;
        if (wm > p->clock) {
            wm = p->clock;
        }
        idle = s->done ||
               (p->conf->idle_source_us > 0 && wall - s->last_wall > p->conf->idle_source_us);
        corr_engine_publish(p->corr, s->name, s->partition, wm, idle);
    }
}

/* Recompute the clock from the sources; advance correlation if it moved forward. */
static void
pipeline_update_clock(struct pipeline *p, int64_t wall)
{
    int64_t lateness = p->conf->allowed_lateness_us;
    int64_t lo = INT64_MAX;
    int any_active = 0;

    for (size_t i = 0; i < p->nsources; i++) {
        const struct source_clock *s = &p->sources[i];
        if (s->done || s->revoked) {
            continue;
        }
        if (p->conf->idle_source_us > 0 && wall - s->last_wall > p->conf->idle_source_us) {
            continue;
        }
        if (s->max_time == INT64_MIN) {
            return; /* a known source has not spoken yet: it may still bring older events */
        }
        any_active = 1;
        if (s->max_time < lo) {
            lo = s->max_time;
        }
    }
    if (!any_active) {
        lo = p->max_seen;
    }
    if (lo == INT64_MIN || lo == INT64_MAX) {
        return;
    }
    lo -= lateness;
    if (lo > p->clock) {
        p->clock = lo;
        pipeline_publish(p, wall, 0); /* before: a timer round the advance starts sends it */
        corr_engine_advance(p->corr, p->clock);
        return;
    }
    pipeline_publish(p, wall, 0);
}

/* --- completion of pending records --- */

static uint64_t
pipeline_pend_hash(uint32_t input, int32_t partition, int64_t pos)
{
    uint64_t h = ((uint64_t)input << 32 | (uint32_t)partition) ^ (uint64_t)pos;

    /* murmur3's finalizer: consecutive positions land far apart */
    h ^= (uint64_t)pos >> 32;
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

static int64_t
pipeline_src_pos(const struct event_source *src)
{
    return src->partition >= 0 ? src->offset : (int64_t)src->line;
}

static struct pipeline_pend *
pipeline_pend_find(struct pipeline *p, const struct event_source *src, int create)
{
    int64_t pos = pipeline_src_pos(src);
    size_t i;

    if (create && (p->npend + 1) * 2 > p->pend_cap) {
        size_t cap = p->pend_cap ? p->pend_cap * 2 : 1024;
        struct pipeline_pend *t = xcalloc(cap, sizeof(*t));
        for (size_t j = 0; j < p->pend_cap; j++) {
            struct pipeline_pend *e = &p->pend[j];
            size_t k;
            if (e->count == 0) {
                continue;
            }
            k = pipeline_pend_hash(e->input, e->partition, e->pos) & (cap - 1);
            while (t[k].count != 0) {
                k = (k + 1) & (cap - 1);
            }
            t[k] = *e;
        }
        free(p->pend);
        p->pend = t;
        p->pend_cap = cap;
    }
    if (p->pend_cap == 0) {
        return NULL;
    }
    for (i = pipeline_pend_hash(src->input, src->partition, pos) & (p->pend_cap - 1);
         p->pend[i].count != 0; i = (i + 1) & (p->pend_cap - 1)) {
        struct pipeline_pend *e = &p->pend[i];
        if (e->input == src->input && e->partition == src->partition && e->pos == pos) {
            return e;
        }
    }
    if (!create) {
        return NULL;
    }
    p->pend[i].input = src->input;
    p->pend[i].partition = src->partition;
    p->pend[i].pos = pos;
    p->npend++;
    return &p->pend[i];
}

/* Remove entry e, shifting later entries of its probe run back (no tombstones). */
static void
pipeline_pend_del(struct pipeline *p, struct pipeline_pend *e)
{
    size_t mask = p->pend_cap - 1, i = (size_t)(e - p->pend), j = i;

    for (;;) {
        size_t k;
        j = (j + 1) & mask;
        if (p->pend[j].count == 0) {
            break;
        }
        k = pipeline_pend_hash(p->pend[j].input, p->pend[j].partition, p->pend[j].pos) & mask;
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        p->pend[i] = p->pend[j];
        i = j;
    }
    memset(&p->pend[i], 0, sizeof(p->pend[i]));
    p->npend--;
}

static int
pipeline_same_src(const struct event_source *a, const struct event_source *b)
{
    return a->input == b->input && a->partition == b->partition &&
           pipeline_src_pos(a) == pipeline_src_pos(b);
}

/* The engine finished one retained match of the record at src. */
static void
pipeline_corr_done_cb(void *arg, const struct event_source *src)
{
    struct pipeline *p = arg;
    struct pipeline_pend *e;
    struct event_source copy;

    if (src->input >= p->nacked || !p->acked[src->input]) {
        return; /* an input whose records are complete when pipeline_process() returns */
    }
    if (p->cur != NULL && pipeline_same_src(p->cur, src)) {
        p->cur_done++; /* finished while its record is still being processed */
        return;
    }
    e = pipeline_pend_find(p, src, 0);
    if (e == NULL) {
        return;
    }
    if (--e->count > 0) {
        return;
    }
    copy = *src;
    pipeline_pend_del(p, e);
    p->ack_cb(p->ack_arg, &copy);
}

static void
pipeline_corr_ready_cb(void *arg)
{
    struct pipeline *p = arg;

    if (p->ready_cb != NULL && pipeline_ready(p)) {
        p->ready_cb(p->ack_arg);
    }
}

void
pipeline_set_ack_cb(struct pipeline *p, pipeline_ack_cb ack, pipeline_ready_cb ready, void *arg)
{
    p->ack_cb = ack;
    p->ready_cb = ready;
    p->ack_arg = arg;
    /*
     * A shared (asynchronous) store: every group comes from one source (docs/STATE.md), so an
     * event is late only against its own source's watermark. A partition taken over from
     * another process, or a backlog, restarts behind this process's clock; its events are
     * correlated at their own time instead of being dropped as late.
     */
    p->own_time = ack != NULL && state_is_async(corr_engine_store(p->corr));
    corr_engine_set_done_cb(p->corr, ack != NULL ? pipeline_corr_done_cb : NULL,
                            pipeline_corr_ready_cb, p);
}

void
pipeline_ack_input(struct pipeline *p, uint32_t input)
{
    if (input >= p->nacked) {
        p->acked = xreallocarray(p->acked, input + 1, 1);
        memset(p->acked + p->nacked, 0, input + 1 - p->nacked);
        p->nacked = input + 1;
    }
    p->acked[input] = 1;
}

uint64_t
pipeline_pending(const struct pipeline *p)
{
    return p->npend;
}

void
pipeline_release(struct pipeline *p)
{
    corr_engine_release(p->corr);
}

int
pipeline_busy(struct pipeline *p)
{
    return corr_engine_inflight(p->corr) > 0 ||
           state_inflight(corr_engine_store(p->corr)) > 0;
}

/* The counters of input `input`, grown on first use. */
static struct pipeline_input_stats *
pipeline_input(struct pipeline *p, uint32_t input)
{
    if (input >= p->ninputs) {
        p->inputs = xreallocarray(p->inputs, input + 1, sizeof(*p->inputs));
        memset(p->inputs + p->ninputs, 0, (input + 1 - p->ninputs) * sizeof(*p->inputs));
        p->ninputs = input + 1;
    }
    return &p->inputs[input];
}

static void
pipeline_dead_letter(struct pipeline *p, const struct event_source *src, const char *reason,
                     const char *data, size_t len)
{
    p->stats.dead_lettered++;
    pipeline_input(p, src->input)->dead_lettered++;
    deadletter_write(p->dl, src, reason, data, len);
}

static void
pipeline_match_cb(void *arg, const struct rule *rule, struct event *ev)
{
    struct pipeline *p = arg;
    char key[512];

    p->stats.rule_matches++;
    if (rule->index < p->nrules) {
        p->rules[rule->index].matches++;
    }
    if (rule->generate) {
        struct alert *a = alert_new(rule);
        struct alert_fields *evd;
        char src[320];

        a->time_us = ev->time_us;
        a->first_us = ev->time_us;
        a->last_us = ev->time_us;
        a->count = 1;
        alert_fields_from_event(&a->fields, ev);
        /* A detection alert is identified by the event that raised it. */
        if (ev->src.partition >= 0) {
            snprintf(src, sizeof(src), "%s/%" PRId32 "/%" PRId64,
                     ev->src.name ? ev->src.name : "", ev->src.partition, ev->src.offset);
        } else {
            snprintf(src, sizeof(src), "%s:%" PRIu64, ev->src.name ? ev->src.name : "",
                     ev->src.line);
        }
        snprintf(key, sizeof(key), "event:%s", src);
        alert_compute_id(a, key, ev->time_us);
        free(a->group_key);
        a->group_key = xstrdup("");
        evd = alert_add_evidence(a);
        alert_fields_add(evd, "kizuna.source", 13, src, strlen(src));
        {
            char when[32];
            size_t n = time_format_rfc3339(ev->time_us, when);
            alert_fields_add(evd, F_TIMESTAMP, sizeof(F_TIMESTAMP) - 1, when, n);
        }
        pipeline_emit(p, a);
        alert_free(a);
    }
    if (p->own_time) {
        if (!p->late || p->conf->late_policy == LATE_PROCESS) {
            corr_engine_feed_own_time(p->corr, rule, ev);
        }
        return;
    }
    if (!p->late || p->conf->late_policy == LATE_PROCESS) {
        corr_engine_feed(p->corr, rule, ev);
    }
}

int
pipeline_process(struct pipeline *p, const struct event_source *src, enum decode_format fmt,
                 const char *data, size_t len)
{
    struct event *ev = &p->ev;
    struct source_clock *sc;
    int64_t wall = p->batch_wall ? p->batch_wall : time_now_us();
    struct pipeline_input_stats *is = pipeline_input(p, src->input);
    uint64_t retained = 0;
    int tracked, raised;

    p->stats.records++;
    p->stats.bytes += len;
    is->records++;
    is->bytes += len;
    if ((int64_t)len > p->conf->max_event_bytes) {
        snprintf(p->reason, sizeof(p->reason), "event of %zu bytes exceeds limits.max_event_bytes"
                 " (%" PRId64 ")", len, p->conf->max_event_bytes);
        pipeline_dead_letter(p, src, p->reason, data, len);
        return 0;
    }
    event_reset(ev);
    ev->src = *src;
    ev->arrival_us = wall;
    p->dctx.now_us = wall;
    p->reason[0] = '\0';
    if (decode_line(fmt, ev, data, len, &p->dctx, p->reason, sizeof(p->reason)) != 0) {
        if (p->reason[0] == '\0') {
            snprintf(p->reason, sizeof(p->reason), "%s decoder refused the event",
                     decode_format_name(fmt));
        }
        pipeline_dead_letter(p, src, p->reason, data, len);
        return 0;
    }
    p->stats.decoded++;
    is->decoded++;

    p->late = 0;
    raised = 0;
    if (ev->time_from_arrival) {
        p->stats.no_time++;
        is->no_time++;
    } else {
        sc = pipeline_source(p, src->input, src->partition);
        if (p->own_time ? sc->max_time != INT64_MIN &&
                              ev->time_us < sc->max_time - p->conf->allowed_lateness_us
                        : p->clock != INT64_MIN && ev->time_us < p->clock) {
            /* Late: detection still alerts; the late policy decides about correlation. */
            p->stats.late++;
            is->late++;
            p->late = 1;
        }
        sc->last_wall = wall;
        if (sc->name == NULL && src->name != NULL && p->ack_cb != NULL) {
            sc->name = xstrdup(src->name);
        }
        if (ev->time_us > sc->max_time) {
            sc->max_time = ev->time_us;
            raised = 1;
        }
        if (ev->time_us > p->max_seen) {
            p->max_seen = ev->time_us;
        }
    }

    tracked = p->ack_cb != NULL && src->input < p->nacked && p->acked[src->input];
    if (tracked) {
        retained = corr_engine_retained(p->corr);
        p->cur = src;
        p->cur_done = 0;
    }
    if (p->rs != NULL) {
        ruleset_match(p->rs, ev, pipeline_match_cb, p);
    }
    if (p->late && p->conf->late_policy == LATE_DEAD_LETTER) {
        snprintf(p->reason, sizeof(p->reason),
                 "late event: %" PRId64 " us behind the watermark; not correlated",
                 p->clock - ev->time_us);
        pipeline_dead_letter(p, src, p->reason, data, len);
    }
    /* The clock is the least of the sources' highest times, less the lateness, and only
     * moves forward: it can advance when this event raised its source's highest time, or
     * when the wall time moved (a source may have become idle). Otherwise an event (most
     * of them: lines share their second) leaves it where it is, and so does the
     * recomputation, which is skipped. */
    if (!ev->time_from_arrival && (raised || wall != p->clock_wall)) {
        p->clock_wall = wall;
        pipeline_update_clock(p, wall);
    }
    if (tracked) {
        uint64_t held = corr_engine_retained(p->corr) - retained - p->cur_done;
        p->cur = NULL;
        if (held > 0) {
            struct pipeline_pend *e = pipeline_pend_find(p, src, 1);
            e->count += (uint32_t)held;
            return PIPELINE_PENDING;
        }
    }
    return 0;
}

void
pipeline_begin_batch(struct pipeline *p)
{
    p->batch_wall = time_now_us();
}

void
pipeline_end_batch(struct pipeline *p)
{
    p->batch_wall = 0;
}

void
pipeline_add_source(struct pipeline *p, uint32_t input)
{
    struct source_clock *s = pipeline_source(p, input, -1);

    s->last_wall = time_now_us();
}

void
pipeline_add_partition(struct pipeline *p, uint32_t input, int32_t partition)
{
    struct source_clock *s = pipeline_source(p, input, partition);

    s->last_wall = time_now_us();
    s->done = 0;
    s->revoked = 0;
}

void
pipeline_set_partitions(struct pipeline *p, uint32_t input, const int32_t *parts, size_t n)
{
    for (size_t i = 0; i < p->nsources; i++) {
        struct source_clock *s = &p->sources[i];
        int assigned = 0;
        if (s->input != input || s->partition < 0) {
            continue;
        }
        for (size_t k = 0; k < n && !assigned; k++) {
            assigned = parts[k] == s->partition;
        }
        s->revoked = !assigned;
    }
}

int
pipeline_ready(const struct pipeline *p)
{
    return (p->outputs == NULL || output_set_writable(p->outputs)) &&
           corr_engine_ready(p->corr);
}

void
pipeline_source_done(struct pipeline *p, uint32_t input)
{
    for (size_t i = 0; i < p->nsources; i++) {
        if (p->sources[i].input == input) {
            p->sources[i].done = 1;
        }
    }
    pipeline_update_clock(p, time_now_us());
}

void
pipeline_finish(struct pipeline *p)
{
    if (p->max_seen != INT64_MIN && p->max_seen > p->clock) {
        p->clock = p->max_seen;
        pipeline_publish(p, time_now_us(), 1);
        corr_engine_advance(p->corr, p->clock);
    } else {
        /* the clock is where it was (lateness 0): a shared store still learns it */
        pipeline_publish(p, time_now_us(), 1);
        corr_engine_advance(p->corr, p->clock);
    }
    pipeline_flush(p);
}

void
pipeline_tick(struct pipeline *p)
{
    pipeline_update_clock(p, time_now_us());
}

void
pipeline_flush(struct pipeline *p)
{
    if (p->outputs != NULL) {
        output_set_flush(p->outputs);
    }
    deadletter_flush(p->dl);
}

void
pipeline_get_stats(const struct pipeline *p, struct pipeline_stats *out)
{
    *out = p->stats;
}

void
pipeline_get_input_stats(const struct pipeline *p, uint32_t input,
                         struct pipeline_input_stats *out)
{
    if (input < p->ninputs) {
        *out = p->inputs[input];
    } else {
        memset(out, 0, sizeof(*out));
    }
}

void
pipeline_get_rule_stats(const struct pipeline *p, uint32_t rule_index,
                        struct pipeline_rule_stats *out)
{
    if (rule_index < p->nrules) {
        *out = p->rules[rule_index];
    } else {
        memset(out, 0, sizeof(*out));
    }
}

const struct ruleset *
pipeline_ruleset(const struct pipeline *p)
{
    return p->rs;
}

int64_t
pipeline_clock(const struct pipeline *p)
{
    return p->clock;
}
