/*
 * The event path: decode, late check, detection, correlation, outputs; and the event-time
 * clock built from per-source watermarks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "log.h"
#include "pipeline.h"
#include "timeutil.h"
#include "xmalloc.h"

/* Event-time progress of one source: an input, or one partition of a Kafka input. */
struct source_clock {
    uint32_t input;
    int32_t partition;
    int64_t max_time;    /* highest event time seen, INT64_MIN before the first */
    int64_t last_wall;   /* wall clock of the last event, for idleness */
    int done;
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
    int late;            /* the event being processed is behind the clock */
    int64_t batch_wall;  /* wall clock of the current batch, 0 outside a batch */
    char reason[512];
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
    p->corr = corr_engine_new(&copts, pipeline_corr_alert_cb, p);
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
    free(p->sources);
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

/* Recompute the clock from the sources; advance correlation if it moved forward. */
static void
pipeline_update_clock(struct pipeline *p, int64_t wall)
{
    int64_t lateness = p->conf->allowed_lateness_us;
    int64_t lo = INT64_MAX;
    int any_active = 0;

    for (size_t i = 0; i < p->nsources; i++) {
        const struct source_clock *s = &p->sources[i];
        if (s->done) {
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
        corr_engine_advance(p->corr, p->clock);
    }
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
    if (ev->time_from_arrival) {
        p->stats.no_time++;
        is->no_time++;
    } else {
        if (p->clock != INT64_MIN && ev->time_us < p->clock) {
            /* Late: detection still alerts; the late policy decides about correlation. */
            p->stats.late++;
            is->late++;
            p->late = 1;
        }
        sc = pipeline_source(p, src->input, src->partition);
        sc->last_wall = wall;
        if (ev->time_us > sc->max_time) {
            sc->max_time = ev->time_us;
        }
        if (ev->time_us > p->max_seen) {
            p->max_seen = ev->time_us;
        }
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
    if (!ev->time_from_arrival) {
        pipeline_update_clock(p, wall);
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

int
pipeline_ready(const struct pipeline *p)
{
    return p->outputs == NULL || output_set_writable(p->outputs);
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
