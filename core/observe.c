/*
 * The daemon's counters as Prometheus metrics: per input, per Kafka partition, per rule,
 * per partner, and the totals of the detection and correlation stages. Collectors read the
 * live objects through struct observe_sources at scrape time (on the loop thread), so a
 * SIGHUP that swaps the rule set or the partners is seen without re-registering.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "kafka.h"
#include "observe.h"
#include "output.h"
#include "pipeline.h"
#include "rule.h"
#include "xmalloc.h"

/* One input's name, for labels. */
static const char *
observe_input_name(const struct observe_sources *src, size_t i)
{
    return (*src->conf)->inputs[i].name;
}

static void
observe_input_records(struct metrics_writer *w, void *arg)
{
    const struct observe_sources *src = arg;

    for (size_t i = 0; i < src->ninputs; i++) {
        struct pipeline_input_stats st;
        pipeline_get_input_stats(src->pipe, (uint32_t)i, &st);
        metrics_sample_labels(w, (double)st.records, "input", observe_input_name(src, i), NULL);
    }
}

/* One collector per input counter; the field is chosen by offset. */
struct observe_input_field {
    const char *name;
    const char *help;
    size_t offset;
};

static const struct observe_input_field observe_input_fields[] = {
    {"kizuna_input_bytes_total", "Bytes of records read by the input.",
     offsetof(struct pipeline_input_stats, bytes)},
    {"kizuna_input_decoded_total", "Records decoded into events.",
     offsetof(struct pipeline_input_stats, decoded)},
    {"kizuna_input_dead_lettered_total",
     "Records sent to the dead-letter sink (undecodable, too large, too many fields, late "
     "with late_events: dead_letter).",
     offsetof(struct pipeline_input_stats, dead_lettered)},
    {"kizuna_input_late_total", "Events older than the event-time watermark.",
     offsetof(struct pipeline_input_stats, late)},
    {"kizuna_input_no_time_total", "Events without a usable time, stamped on arrival.",
     offsetof(struct pipeline_input_stats, no_time)},
};

struct observe_input_closure {
    const struct observe_sources *src;
    size_t field;
};

#define OBS_NINPUT_FIELDS (sizeof(observe_input_fields) / sizeof(observe_input_fields[0]))

static void
observe_input_field(struct metrics_writer *w, void *arg)
{
    const struct observe_input_closure *c = arg;
    const struct observe_input_field *f = &observe_input_fields[c->field];

    for (size_t i = 0; i < c->src->ninputs; i++) {
        struct pipeline_input_stats st;
        uint64_t v;
        pipeline_get_input_stats(c->src->pipe, (uint32_t)i, &st);
        memcpy(&v, (const char *)&st + f->offset, sizeof(v));
        metrics_sample_labels(w, (double)v, "input", observe_input_name(c->src, i), NULL);
    }
}

static void
observe_kafka_lag(struct metrics_writer *w, void *arg)
{
    const struct observe_sources *src = arg;

    for (size_t i = 0; i < src->ninputs; i++) {
        struct kafka_input_stats st;
        if (src->kafka[i] == NULL) {
            continue;
        }
        kafka_input_get_stats(src->kafka[i], &st);
        for (size_t j = 0; j < st.npartitions; j++) {
            const struct kafka_partition_stats *ps = &st.partitions[j];
            char part[16];
            if (ps->lag < 0) {
                continue;
            }
            snprintf(part, sizeof(part), "%" PRId32, ps->partition);
            metrics_sample_labels(w, (double)ps->lag, "input", observe_input_name(src, i),
                                  "topic", ps->topic, "partition", part, NULL);
        }
    }
}

static void
observe_kafka_brokers_down(struct metrics_writer *w, void *arg)
{
    const struct observe_sources *src = arg;

    for (size_t i = 0; i < src->ninputs; i++) {
        struct kafka_input_stats st;
        if (src->kafka[i] == NULL) {
            continue;
        }
        kafka_input_get_stats(src->kafka[i], &st);
        metrics_sample_labels(w, st.brokers_down ? 1.0 : 0.0, "input",
                              observe_input_name(src, i), NULL);
    }
}

static void
observe_rule_matches(struct metrics_writer *w, void *arg)
{
    const struct observe_sources *src = arg;
    const struct ruleset *rs = pipeline_ruleset(src->pipe);

    for (size_t i = 0; rs != NULL && i < ruleset_count(rs); i++) {
        const struct rule *r = ruleset_rule(rs, i);
        struct pipeline_rule_stats st;
        if (r->kind != RULE_DETECTION) {
            continue;
        }
        pipeline_get_rule_stats(src->pipe, (uint32_t)i, &st);
        metrics_sample_labels(w, (double)st.matches, "rule", r->id, NULL);
    }
}

static void
observe_rule_alerts(struct metrics_writer *w, void *arg)
{
    const struct observe_sources *src = arg;
    const struct ruleset *rs = pipeline_ruleset(src->pipe);

    for (size_t i = 0; rs != NULL && i < ruleset_count(rs); i++) {
        const struct rule *r = ruleset_rule(rs, i);
        struct pipeline_rule_stats st;
        pipeline_get_rule_stats(src->pipe, (uint32_t)i, &st);
        metrics_sample_labels(w, (double)st.alerts, "rule", r->id, NULL);
    }
}

static void
observe_regex_limit(struct metrics_writer *w, void *arg)
{
    const struct observe_sources *src = arg;
    const struct ruleset *rs = pipeline_ruleset(src->pipe);
    struct ruleset_stats st = {0};

    if (rs != NULL) {
        ruleset_get_stats(rs, &st);
    }
    metrics_sample_u64(w, NULL, st.match_limit_hits);
}

/* Correlation totals, one family per counter. */
struct observe_corr_field {
    const char *name;
    enum metrics_type type;
    const char *help;
    size_t offset;
};

static const struct observe_corr_field observe_corr_fields[] = {
    {"kizuna_correlation_groups", METRICS_GAUGE, "Live correlation groups.",
     offsetof(struct corr_stats, groups)},
    {"kizuna_correlation_evicted_total", METRICS_COUNTER,
     "Groups evicted early because a state limit was reached.",
     offsetof(struct corr_stats, evicted)},
    {"kizuna_correlation_expired_total", METRICS_COUNTER,
     "Groups dropped because their window and suppression ended.",
     offsetof(struct corr_stats, expired)},
    {"kizuna_correlation_late_total", METRICS_COUNTER,
     "Matches that reached correlation below the watermark.",
     offsetof(struct corr_stats, late)},
    {"kizuna_correlation_absorbed_total", METRICS_COUNTER,
     "Events absorbed by a suppression period.", offsetof(struct corr_stats, absorbed)},
    {"kizuna_correlation_pending", METRICS_GAUGE,
     "Events waiting in the reorder buffer for the watermark.",
     offsetof(struct corr_stats, pending)},
};

struct observe_corr_closure {
    const struct observe_sources *src;
    size_t field;
};

#define OBS_NCORR_FIELDS (sizeof(observe_corr_fields) / sizeof(observe_corr_fields[0]))

static void
observe_corr_field(struct metrics_writer *w, void *arg)
{
    const struct observe_corr_closure *c = arg;
    struct corr_stats st;
    uint64_t v;

    corr_engine_get_stats(pipeline_corr(c->src->pipe), &st);
    memcpy(&v, (const char *)&st + observe_corr_fields[c->field].offset, sizeof(v));
    metrics_sample_u64(w, NULL, v);
}

/* Partners: one collector per counter, labelled by partner and format. */
enum observe_partner_counter {
    OBS_ACCEPTED,
    OBS_FAILED,
    OBS_FILTERED,
    OBS_WITHHELD,
    OBS_PENDING,
    OBS_DELIVERED,
    OBS_RETRIES,
    OBS_REJECTED,
    OBS_SPOOL_RECORDS,
    OBS_SPOOL_BYTES,
    OBS_UP,
    OBS_NCOUNTERS,
};

static const struct {
    const char *name;
    enum metrics_type type;
    const char *help;
    int partners_only;
} observe_partner_fields[OBS_NCOUNTERS] = {
    {"kizuna_partner_sent_total", METRICS_COUNTER,
     "Alerts accepted for the partner (written, or safely spooled).", 0},
    {"kizuna_partner_failed_total", METRICS_COUNTER, "Alerts the format plugin or sink failed.",
     0},
    {"kizuna_partner_filtered_total", METRICS_COUNTER, "Alerts the partner's filter kept out.",
     0},
    {"kizuna_partner_withheld_total", METRICS_COUNTER,
     "Alerts above the partner's TLP clearance.", 0},
    {"kizuna_partner_pending", METRICS_GAUGE,
     "Alerts waiting in memory for a full spool (inputs are paused meanwhile).", 0},
    {"kizuna_partner_delivered_total", METRICS_COUNTER, "Alerts the partner confirmed.", 1},
    {"kizuna_partner_retries_total", METRICS_COUNTER, "Delivery backoff rounds.", 1},
    {"kizuna_partner_rejected_total", METRICS_COUNTER,
     "Alerts the partner refused permanently (kept in the rejected file).", 1},
    {"kizuna_partner_spool_records", METRICS_GAUGE, "Alerts in the spool, not yet delivered.",
     1},
    {"kizuna_partner_spool_bytes", METRICS_GAUGE, "Size of the partner's spool.", 1},
    {"kizuna_partner_up", METRICS_GAUGE, "1 unless delivery to the partner is failing.", 1},
};

struct observe_partner_closure {
    const struct observe_sources *src;
    enum observe_partner_counter which;
};

/* What observe_register() allocates: the collectors' closures. */
struct observe {
    struct observe_sources src;
    struct observe_input_closure input[OBS_NINPUT_FIELDS];
    struct observe_corr_closure corr[OBS_NCORR_FIELDS];
    struct observe_partner_closure partner[OBS_NCOUNTERS];
};

static void
observe_partner(struct metrics_writer *w, void *arg)
{
    const struct observe_partner_closure *c = arg;
    const struct output_set *os = *c->src->outputs;

    for (size_t i = 0; os != NULL && i < output_set_count(os); i++) {
        struct output_stats st;
        struct deliver_stats ds = {0};
        const struct deliver *d = output_set_deliver(os, i);
        double v = 0;

        output_set_get_stats(os, i, &st);
        if (d != NULL) {
            deliver_get_stats(d, &ds);
        } else if (observe_partner_fields[c->which].partners_only) {
            continue;
        }
        switch (c->which) {
        case OBS_ACCEPTED:
            v = (double)st.accepted;
            break;
        case OBS_FAILED:
            v = (double)st.failed;
            break;
        case OBS_FILTERED:
            v = (double)st.filtered;
            break;
        case OBS_WITHHELD:
            v = (double)st.withheld;
            break;
        case OBS_PENDING:
            v = (double)st.pending;
            break;
        case OBS_DELIVERED:
            v = (double)ds.delivered;
            break;
        case OBS_RETRIES:
            v = (double)ds.retries;
            break;
        case OBS_REJECTED:
            v = (double)ds.rejected;
            break;
        case OBS_SPOOL_RECORDS:
            v = (double)ds.spool_records;
            break;
        case OBS_SPOOL_BYTES:
            v = (double)ds.spool_bytes;
            break;
        case OBS_UP:
            v = ds.up ? 1.0 : 0.0;
            break;
        case OBS_NCOUNTERS:
            break;
        }
        metrics_sample_labels(w, v, "partner", st.name, "format", st.plugin, NULL);
    }
}

struct observe *
observe_register(struct metrics_registry *reg, const struct observe_sources *sources)
{
    struct observe *ob = xcalloc(1, sizeof(*ob));
    const struct observe_sources *src = &ob->src;

    ob->src = *sources;
    metrics_register(reg, "kizuna_input_records_total", METRICS_COUNTER,
                     "Records read by the input.", observe_input_records, (void *)src);
    for (size_t i = 0; i < OBS_NINPUT_FIELDS; i++) {
        ob->input[i].src = src;
        ob->input[i].field = i;
        metrics_register(reg, observe_input_fields[i].name, METRICS_COUNTER,
                         observe_input_fields[i].help, observe_input_field, &ob->input[i]);
    }
    metrics_register(reg, "kizuna_kafka_consumer_lag", METRICS_GAUGE,
                     "Messages behind the partition's high watermark.", observe_kafka_lag,
                     (void *)src);
    metrics_register(reg, "kizuna_kafka_brokers_down", METRICS_GAUGE,
                     "1 while the input's brokers are unreachable.", observe_kafka_brokers_down,
                     (void *)src);
    metrics_register(reg, "kizuna_rule_matches_total", METRICS_COUNTER,
                     "Events matched by the detection rule (since the last reload).",
                     observe_rule_matches, (void *)src);
    metrics_register(reg, "kizuna_rule_alerts_total", METRICS_COUNTER,
                     "Alerts raised by the rule (since the last reload).", observe_rule_alerts,
                     (void *)src);
    metrics_register(reg, "kizuna_regex_match_limit_hits_total", METRICS_COUNTER,
                     "Regex tests that hit the PCRE2 match or depth limit (since the last "
                     "reload).",
                     observe_regex_limit, (void *)src);
    for (size_t i = 0; i < OBS_NCORR_FIELDS; i++) {
        ob->corr[i].src = src;
        ob->corr[i].field = i;
        metrics_register(reg, observe_corr_fields[i].name, observe_corr_fields[i].type,
                         observe_corr_fields[i].help, observe_corr_field, &ob->corr[i]);
    }
    for (int i = 0; i < OBS_NCOUNTERS; i++) {
        ob->partner[i].src = src;
        ob->partner[i].which = (enum observe_partner_counter)i;
        metrics_register(reg, observe_partner_fields[i].name, observe_partner_fields[i].type,
                         observe_partner_fields[i].help, observe_partner, &ob->partner[i]);
    }
    return ob;
}

void
observe_free(struct observe *ob)
{
    free(ob);
}
