/*
 * kizunad: the daemon. Parses the command line, loads config, rules and plugins, builds
 * the pipeline and the inputs on one libuv loop, and handles signals:
 *   SIGTERM/SIGINT  stop reading, finish in-flight events, flush outputs, commit Kafka
 *                   offsets, exit 0;
 *   SIGHUP          re-read config and rules; if anything is invalid, log why and keep
 *                   running the old set (the swap happens between two events);
 *   SIGUSR1         log the counters.
 * When every input is finite (stdin, files with follow: false) the daemon exits 0 after the
 * last event is processed and every alert is flushed (replay mode).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "conf.h"
#include "corr.h"
#include "deadletter.h"
#include "input-file.h"
#include "kafka.h"
#include "log.h"
#include "metrics-server.h"
#include "metrics.h"
#include "observe.h"
#include "output.h"
#include "pipeline.h"
#include "plugin-loader.h"
#include "privdrop.h"
#include "procstat.h"
#include "reveal.h"
#include "redis-server.h"
#include "rule.h"
#include "sdnotify.h"
#include "state-redis.h"
#include "test-rules.h"
#include "timeutil.h"
#include "xmalloc.h"

/* One running input of either kind. */
struct daemon_input {
    struct daemon *d;
    uint32_t index;
    struct file_input *file;
    struct kafka_input *kafka;
    int running;
};

struct daemon {
    uv_loop_t *loop;
    const char *conf_path;
    struct conf *boot_conf;   /* inputs borrow from it: lives until exit */
    struct conf *conf;        /* active config (== boot_conf until a reload) */
    struct ruleset *rs;
    struct plugin_registry *plugins;
    struct output_set *outputs;
    struct deadletter *dl;
    struct pipeline *pipe;

    struct daemon_input *inputs;
    size_t ninputs;
    size_t running;
    int finite;               /* every input is finite */
    int stopping;

    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;
    uv_timer_t tick;
    uv_timer_t resume; /* resumes paused inputs when the outputs have room again */
    struct metrics_registry *metrics;
    struct metrics_server *msrv;
    struct procstat *procstat;
    struct observe *observe;
    struct kafka_input **kafka; /* by input index, for the collectors */
    struct sdnotify_watchdog *watchdog;
    int started;
    const char *dump_at_exit; /* --dump-state FILE */
    int exit_code;
    struct state_store *state; /* the Redis store (owned by the pipeline), or NULL */
    uv_timer_t drain;          /* shutdown: waits for state operations in flight */
    uint64_t drain_started;
    /* Kafka records complete but for alerts that wait in memory for a full spool: they
       are acknowledged once every output is writable again (daemon_release_held). */
    struct event_source *held;
    size_t nheld, held_cap;
};

/* Shutdown waits at most this long for the state store's answers (then exits anyway). */
#define DAEMON_DRAIN_MAX_MS 30000

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: kizunad -c FILE [options]\n"
            "  -c, --config FILE       configuration file (YAML)\n"
            "      --check-config      validate config, rules and plugins, then exit\n"
            "      --test-rules [FILE] decode events from FILE (or stdin) and show which\n"
            "                          rules match (-v: why the others do not)\n"
            "      --format FMT        decoder for --test-rules (default: the first input's)\n"
            "      --list-plugins      show the plugins in the plugin directory\n"
            "      --dump-state FILE   at exit (end of a replay, SIGTERM) write the live\n"
            "                          correlation state to FILE as JSON (live: SIGUSR1)\n"
            "      --config-reference  print every configuration key as Markdown\n"
            "      --reveal PSEUDONYM  print what a pseudonym stands for, from the reveal maps\n"
            "                          of the config (exit 1 if unknown)\n"
            "  -v, --verbose           more detail (--test-rules), or debug logging\n"
            "      --version           print the version\n"
            "  -h, --help              this help\n");
}

/* The plugin directory: config, $KIZUNA_PLUGIN_DIR, the build tree, then PKGLIBDIR. */
static char *
daemon_plugin_dir(const struct conf *conf)
{
    const char *env = getenv("KIZUNA_PLUGIN_DIR");
    char exe[PATH_MAX];
    ssize_t n;
    struct stat st;

    if (conf != NULL && conf->plugin_dir != NULL) {
        return xstrdup(conf->plugin_dir);
    }
    if (env != NULL && env[0] != '\0') {
        return xstrdup(env);
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        char *slash, *dir;
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            dir = xasprintf("%s/plugins/.libs", exe);
            if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
                return dir;
            }
            free(dir);
        }
    }
    return xstrdup(PKGLIBDIR);
}

static void
daemon_print_errors(const struct errlist *errs)
{
    for (size_t i = 0; i < errs->n; i++) {
        fprintf(stderr, "%s\n", errs->msgs[i]);
    }
}

static struct ruleset_opts
daemon_rule_opts(const struct conf *conf)
{
    struct ruleset_opts o = {0};

    o.match_limit = (uint32_t)conf->regex_match_limit;
    o.depth_limit = (uint32_t)conf->regex_depth_limit;
    return o;
}

static void
daemon_log_stats(struct daemon *d, const char *why)
{
    struct pipeline_stats st;
    struct ruleset_stats rst = {0};

    pipeline_get_stats(d->pipe, &st);
    if (d->rs != NULL) {
        ruleset_get_stats(d->rs, &rst);
    }
    log_notice("%s: records=%" PRIu64 " decoded=%" PRIu64 " dead_lettered=%" PRIu64
               " late=%" PRIu64 " no_time=%" PRIu64 " matched=%" PRIu64 " alerts=%" PRIu64
               " regex_limit_hits=%" PRIu64,
               why, st.records, st.decoded, st.dead_lettered, st.late, st.no_time,
               st.rule_matches, st.alerts, rst.match_limit_hits);
    if (d->state != NULL) {
        struct state_redis_stats rs;
        state_redis_get_stats(d->state, &rs);
        log_notice("%s: state store redis: calls=%" PRIu64 " operations=%" PRIu64
                   " absorbed_locally=%" PRIu64 " replays=%" PRIu64 " failed=%" PRIu64
                   " resent=%" PRIu64 " outages=%" PRIu64 " timer_rounds=%" PRIu64
                   " connected=%d fallback=%d",
                   why, rs.calls, rs.events, rs.local_absorbed, rs.replays, rs.failed,
                   rs.resent, rs.outages, rs.timer_rounds, rs.connected, rs.fallback);
    }
}

static void daemon_shutdown(struct daemon *d);

/* Write the live correlation state as JSON to path, atomically (temp file + rename). */
static int
daemon_dump_state(struct daemon *d, const char *path)
{
    char *tmp = xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int r = -1;

    if (f == NULL) {
        log_err("fopen(\"%s\") failed: %s", tmp, strerror(errno));
        goto out;
    }
    if (corr_engine_dump(pipeline_corr(d->pipe), f) != 0 || fclose(f) != 0) {
        log_err("writing the state dump to %s failed: %s", tmp, strerror(errno));
        f = NULL;
        unlink(tmp);
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        log_err("rename(\"%s\", \"%s\") failed: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    log_notice("correlation state written to %s", path);
    r = 0;
out:
    free(tmp);
    return r;
}

/* An input has finished (end of file/stdin, or stopped). */
static void
daemon_input_finished(struct daemon_input *di)
{
    struct daemon *d = di->d;

    if (!di->running) {
        return;
    }
    di->running = 0;
    d->running--;
    pipeline_source_done(d->pipe, di->index);
    if (d->running == 0) {
        daemon_shutdown(d);
    }
}

static void
daemon_file_done_cb(void *arg, struct file_input *fi)
{
    daemon_input_finished(arg);
}

static void
daemon_kafka_stopped_cb(void *arg)
{
    daemon_input_finished(arg);
}

/*
 * Keep a complete record's acknowledgement back: an alert handed to the outputs waits in
 * memory because a partner's spool refused it (full disk, spool.max_bytes), and a record is
 * complete only once its alerts are spooled (DESIGN.md). Acknowledging it now would let a
 * crash lose that alert for good.
 */
static void
daemon_hold(struct daemon *d, const struct event_source *src)
{
    if (d->nheld == d->held_cap) {
        d->held_cap = d->held_cap ? 2 * d->held_cap : 64;
        d->held = xreallocarray(d->held, d->held_cap, sizeof(*d->held));
    }
    d->held[d->nheld++] = *src;
}

/* Every output accepts alerts again: what was held is spooled, acknowledge it. */
static void
daemon_release_held(struct daemon *d)
{
    if (d->nheld == 0 || !output_set_writable(d->outputs)) {
        return;
    }
    for (size_t i = 0; i < d->nheld; i++) {
        const struct event_source *src = &d->held[i];
        if (src->input < d->ninputs && d->inputs[src->input].kafka != NULL) {
            kafka_input_ack(d->inputs[src->input].kafka, src);
        }
    }
    d->nheld = 0;
}

static int
daemon_kafka_record_cb(void *arg, const struct event_source *src, const char *data, size_t len,
                       int64_t kafka_timestamp_ms)
{
    struct daemon_input *di = arg;
    const struct conf_input *ci = &di->d->boot_conf->inputs[di->index];

    if (!pipeline_ready(di->d->pipe)) {
        return KAFKA_RECORD_AGAIN; /* offered again after daemon_writable_cb */
    }
    if (pipeline_process(di->d->pipe, src, ci->format, data, len) == PIPELINE_PENDING) {
        return KAFKA_RECORD_PENDING; /* daemon_ack_cb completes it */
    }
    if (!output_set_writable(di->d->outputs)) {
        daemon_hold(di->d, src); /* one of its alerts waits for a spool */
        return KAFKA_RECORD_PENDING;
    }
    return KAFKA_RECORD_DONE;
}

/*
 * A record that returned PIPELINE_PENDING is complete: its state writes were acknowledged
 * by the store and its alerts handed to the outputs. Kafka may store its offset now, unless
 * an alert waits for a full spool (then it is held like in daemon_kafka_record_cb).
 */
static void
daemon_ack_cb(void *arg, const struct event_source *src)
{
    struct daemon *d = arg;

    if (!output_set_writable(d->outputs)) {
        daemon_hold(d, src);
        return;
    }
    if (src->input < d->ninputs && d->inputs[src->input].kafka != NULL) {
        kafka_input_ack(d->inputs[src->input].kafka, src);
    }
}

/* A partition was assigned: it holds the event clock until its first record. */
static void
daemon_kafka_assign_cb(void *arg, const char *topic, int32_t partition)
{
    struct daemon_input *di = arg;

    pipeline_add_partition(di->d->pipe, di->index, partition);
}

static void
daemon_close_cb(uv_handle_t *h)
{
}

/* Resume the paused inputs, from the loop (never from inside an input's own callback). */
static void
daemon_resume_cb(uv_timer_t *t)
{
    struct daemon *d = t->data;

    for (size_t i = 0; i < d->ninputs; i++) {
        struct daemon_input *di = &d->inputs[i];
        if (!di->running) {
            continue;
        }
        if (di->file != NULL) {
            file_input_resume(di->file);
        } else if (di->kafka != NULL) {
            kafka_input_resume(di->kafka);
        }
    }
}

/* The outputs can take alerts again after a full spool. */
static void
daemon_writable_cb(void *arg)
{
    struct daemon *d = arg;

    daemon_release_held(d); /* also while stopping: the final commit can include them */
    if (!d->stopping) {
        uv_timer_start(&d->resume, daemon_resume_cb, 0, 0);
    }
}

static void
daemon_outputs_stopped_cb(void *arg)
{
    struct daemon *d = arg;

    metrics_server_stop(d->msrv);
    d->msrv = NULL;
    procstat_stop(d->procstat);
    d->procstat = NULL;
    sdnotify_watchdog_stop(d->watchdog);
    d->watchdog = NULL;

    uv_close((uv_handle_t *)&d->sig_term, daemon_close_cb);
    uv_close((uv_handle_t *)&d->sig_int, daemon_close_cb);
    uv_close((uv_handle_t *)&d->sig_hup, daemon_close_cb);
    uv_close((uv_handle_t *)&d->sig_usr1, daemon_close_cb);
    uv_close((uv_handle_t *)&d->tick, daemon_close_cb);
    uv_close((uv_handle_t *)&d->resume, daemon_close_cb);
}

/* The state store has answered everything (or the wait ran out): stop the outputs. */
static void
daemon_shutdown_outputs(struct daemon *d)
{
    daemon_log_stats(d, "totals");
    if (d->dump_at_exit != NULL) {
        daemon_dump_state(d, d->dump_at_exit);
    }
    /* Partners drain their spools for a bounded time; the handles close after. */
    output_set_stop(d->outputs, daemon_outputs_stopped_cb, d);
}

/* Shutdown: poll until the state store answered every operation in flight. */
static void
daemon_drain_cb(uv_timer_t *t)
{
    struct daemon *d = t->data;

    if (pipeline_busy(d->pipe) && uv_now(d->loop) - d->drain_started < DAEMON_DRAIN_MAX_MS) {
        return;
    }
    if (pipeline_busy(d->pipe)) {
        log_err("state store: %" PRIu64 " record(s) still waiting for Redis after %d s; "
                "exiting without them (Kafka offers them again)",
                pipeline_pending(d->pipe), DAEMON_DRAIN_MAX_MS / 1000);
    }
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, daemon_close_cb);
    daemon_shutdown_outputs(d);
}

/* Everything has stopped reading: flush, close the loop's handles, and let it end. */
static void
daemon_shutdown(struct daemon *d)
{
    if (d->finite && !d->stopping) {
        log_info("all inputs finished");
    }
    pipeline_finish(d->pipe);
    if (pipeline_busy(d->pipe)) {
        /* Alerts of the last events wait for the state store's answers. */
        uv_timer_init(d->loop, &d->drain);
        d->drain.data = d;
        d->drain_started = uv_now(d->loop);
        uv_timer_start(&d->drain, daemon_drain_cb, 5, 5);
        return;
    }
    daemon_shutdown_outputs(d);
}

static void
daemon_stop(struct daemon *d, const char *why)
{
    if (d->stopping) {
        return;
    }
    d->stopping = 1;
    sdnotify_stopping();
    log_notice("%s: stopping inputs, finishing in-flight events", why);
    for (size_t i = 0; i < d->ninputs; i++) {
        struct daemon_input *di = &d->inputs[i];
        if (!di->running) {
            continue;
        }
        if (di->file != NULL) {
            file_input_stop(di->file);
        } else if (di->kafka != NULL) {
            kafka_input_stop(di->kafka, daemon_kafka_stopped_cb, di);
        }
    }
    if (d->state != NULL) {
        /* Matches waiting for the clock go to Redis now, so that their records complete
         * and their offsets are committed before the inputs stop. */
        pipeline_release(d->pipe);
    }
}

static void
daemon_old_outputs_stopped_cb(void *arg)
{
    output_set_free(arg);
}

/* SIGHUP: build config, rules and outputs beside the running ones; swap only if valid. */
static void
daemon_reload(struct daemon *d)
{
    struct errlist errs = {0};
    struct conf *conf = NULL;
    struct ruleset *rs = NULL;
    struct output_set *os = NULL;
    struct ruleset_opts ro;

    log_notice("SIGHUP: reloading %s", d->conf_path);
    sdnotify_reloading();
    if (conf_load(d->conf_path, &conf, &errs) != 0) {
        goto refused;
    }
    ro = daemon_rule_opts(conf);
    if (ruleset_load((const char *const *)conf->rules, conf->nrules, &ro, &rs, &errs) != 0 ||
        errs.n > 0) {
        goto refused;
    }
    if (output_set_new(conf, d->plugins, d->loop, 0, d->outputs, &os, &errs) != 0) {
        goto refused;
    }
    output_set_set_writable_cb(os, daemon_writable_cb, d);
    if (conf->ninputs != d->boot_conf->ninputs) {
        log_warn("reload: the inputs changed; restart kizunad to apply input changes");
    }
    pipeline_flush(d->pipe);
    pipeline_set_conf(d->pipe, conf);
    pipeline_set_ruleset(d->pipe, rs);
    pipeline_set_outputs(d->pipe, os);
    /* Partners that left the config drain and stop; the others moved to the new set. */
    output_set_stop(d->outputs, daemon_old_outputs_stopped_cb, d->outputs);
    ruleset_free(d->rs);
    if (d->conf != d->boot_conf) {
        conf_free(d->conf);
    }
    d->conf = conf;
    d->rs = rs;
    d->outputs = os;
    output_set_reopen(os);
    deadletter_reopen(d->dl);
    log_set_level(conf->log_level);
    log_notice("reload done: %zu rules active", ruleset_count(rs));
    sdnotify_ready();
    errlist_free(&errs);
    return;

refused:
    for (size_t i = 0; i < errs.n; i++) {
        log_err("reload: %s", errs.msgs[i]);
    }
    log_err("reload refused (%zu problems); still running the previous config and %zu rules",
            errs.n, d->rs ? ruleset_count(d->rs) : (size_t)0);
    output_set_free(os);
    ruleset_free(rs);
    conf_free(conf);
    errlist_free(&errs);
    sdnotify_ready();
}

static void
daemon_signal_cb(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;

    switch (signum) {
    case SIGTERM:
        daemon_stop(d, "SIGTERM");
        break;
    case SIGINT:
        daemon_stop(d, "SIGINT");
        break;
    case SIGHUP:
        if (!d->stopping) {
            daemon_reload(d);
        }
        break;
    case SIGUSR1: {
        char *path = d->conf->state_dump_path
                         ? xstrdup(d->conf->state_dump_path)
                         : xasprintf("%s/state-dump.json", d->conf->state_dir);
        daemon_log_stats(d, "SIGUSR1");
        daemon_dump_state(d, path);
        free(path);
        break;
    }
    }
}

static void
daemon_tick_cb(uv_timer_t *t)
{
    struct daemon *d = t->data;

    /* Partitions revoked by a rebalance stop holding the clock (and, with Redis state,
     * are no longer this process's to publish). */
    for (size_t i = 0; i < d->ninputs; i++) {
        struct kafka_input_stats st;
        int32_t *parts;
        if (d->inputs[i].kafka == NULL || !d->inputs[i].running) {
            continue;
        }
        kafka_input_get_stats(d->inputs[i].kafka, &st);
        parts = xcalloc(st.npartitions + 1, sizeof(*parts));
        for (size_t k = 0; k < st.npartitions; k++) {
            parts[k] = st.partitions[k].partition;
        }
        pipeline_set_partitions(d->pipe, (uint32_t)i, parts, st.npartitions);
        free(parts);
    }
    pipeline_tick(d->pipe);
    pipeline_flush(d->pipe);
}

/* /readyz: ready once the inputs run, while no Kafka input has lost its brokers. */
static int
daemon_ready_cb(void *arg, struct buf *reason)
{
    struct daemon *d = arg;

    if (d->stopping) {
        buf_puts(reason, "stopping");
        return 0;
    }
    if (!d->started) {
        buf_puts(reason, "starting");
        return 0;
    }
    if (d->state != NULL) {
        struct state_redis_stats rs;
        state_redis_get_stats(d->state, &rs);
        if (!rs.connected && !rs.fallback) {
            buf_puts(reason, "state store: Redis unreachable (inputs paused)");
            return 0;
        }
    }
    for (size_t i = 0; i < d->ninputs; i++) {
        struct kafka_input_stats st;
        if (d->inputs[i].kafka == NULL) {
            continue;
        }
        kafka_input_get_stats(d->inputs[i].kafka, &st);
        if (st.brokers_down) {
            buf_printf(reason, "input %s: Kafka brokers unreachable",
                       d->boot_conf->inputs[i].name);
            return 0;
        }
    }
    return 1;
}

/* 1 when every input of conf ends by itself (stdin, files not followed). */
static int
daemon_conf_finite(const struct conf *conf)
{
    for (size_t i = 0; i < conf->ninputs; i++) {
        if (conf->inputs[i].type == INPUT_KAFKA || conf->inputs[i].follow) {
            return 0;
        }
    }
    return 1;
}

/* One metric of the Redis state store: a field of struct state_redis_stats. */
struct daemon_redis_metric {
    const char *name;
    enum metrics_type type;
    const char *help;
    size_t off;
    int is_int; /* an int field (else uint64_t) */
};

static const struct daemon_redis_metric daemon_redis_metrics[] = {
    {"kizuna_state_redis_calls_total", METRICS_COUNTER, "Script calls Redis answered.",
     offsetof(struct state_redis_stats, calls), 0},
    {"kizuna_state_redis_operations_total", METRICS_COUNTER,
     "State operations Redis answered (events of a group, timers aside).",
     offsetof(struct state_redis_stats, events), 0},
    {"kizuna_state_redis_absorbed_locally_total", METRICS_COUNTER,
     "Operations answered without Redis: the group's suppression was known.",
     offsetof(struct state_redis_stats, local_absorbed), 0},
    {"kizuna_state_redis_replays_total", METRICS_COUNTER,
     "Operations that repeated applied ones (re-read events): no-ops.",
     offsetof(struct state_redis_stats, replays), 0},
    {"kizuna_state_redis_failed_total", METRICS_COUNTER,
     "Operations the script refused (bugs, bad arguments).",
     offsetof(struct state_redis_stats, failed), 0},
    {"kizuna_state_redis_resent_total", METRICS_COUNTER,
     "Calls sent again after a lost connection, a time-out or NOSCRIPT.",
     offsetof(struct state_redis_stats, resent), 0},
    {"kizuna_state_redis_outages_total", METRICS_COUNTER, "Times Redis became unavailable.",
     offsetof(struct state_redis_stats, outages), 0},
    {"kizuna_state_redis_timer_rounds_total", METRICS_COUNTER,
     "Rounds that fired timers up to the shared clock.",
     offsetof(struct state_redis_stats, timer_rounds), 0},
    {"kizuna_state_redis_inflight", METRICS_GAUGE,
     "Operations submitted and not answered yet.", offsetof(struct state_redis_stats, inflight),
     0},
    {"kizuna_state_redis_up", METRICS_GAUGE, "1 while connected with the script loaded.",
     offsetof(struct state_redis_stats, connected), 1},
    {"kizuna_state_redis_fallback", METRICS_GAUGE,
     "1 once switched to in-memory state (on_unavailable: memory).",
     offsetof(struct state_redis_stats, fallback), 1},
};

static struct daemon *daemon_metrics_daemon; /* the daemon whose store the collectors read */

static void
daemon_redis_metric_cb(struct metrics_writer *w, void *arg)
{
    const struct daemon_redis_metric *m = arg;
    struct state_redis_stats rs;
    const char *p = (const char *)&rs + m->off;

    if (daemon_metrics_daemon == NULL || daemon_metrics_daemon->state == NULL) {
        return;
    }
    state_redis_get_stats(daemon_metrics_daemon->state, &rs);
    if (m->is_int) {
        metrics_sample(w, NULL, (double)*(const int *)(const void *)p);
    } else {
        metrics_sample_u64(w, NULL, *(const uint64_t *)(const void *)p);
    }
}

/*
 * The Prometheus endpoint: where the config says, or by default on 127.0.0.1:9464 for a
 * daemon with an endless input (a replay has none unless configured). A configured address
 * that cannot be bound stops the start; the default one only warns.
 */
static int
daemon_start_metrics(struct daemon *d)
{
    const struct conf *conf = d->boot_conf;
    const char *listen = conf->metrics_listen;
    struct observe_sources src = {0};
    char err[512];

    if (listen != NULL && strcmp(listen, "off") == 0) {
        return 0;
    }
    if (listen == NULL && daemon_conf_finite(conf)) {
        return 0;
    }
    d->metrics = metrics_registry_new();
    if (procstat_start(d->loop, d->metrics, 0, &d->procstat) != 0) {
        log_warn("process metrics unavailable");
    }
    src.pipe = d->pipe;
    src.outputs = &d->outputs;
    src.conf = (const struct conf **)&d->boot_conf;
    src.kafka = d->kafka;
    src.ninputs = d->ninputs;
    d->observe = observe_register(d->metrics, &src);
    if (d->state != NULL) {
        daemon_metrics_daemon = d;
        for (size_t i = 0; i < sizeof(daemon_redis_metrics) / sizeof(daemon_redis_metrics[0]);
             i++) {
            const struct daemon_redis_metric *m = &daemon_redis_metrics[i];
            metrics_register(d->metrics, m->name, m->type, m->help, daemon_redis_metric_cb,
                             (void *)m);
        }
    }
    if (metrics_server_start(d->loop, listen ? listen : "127.0.0.1:9464", d->metrics, &d->msrv,
                             err, sizeof(err)) != 0) {
        if (listen != NULL) {
            log_err("metrics: %s", err);
            return -1;
        }
        log_warn("metrics: %s; running without the metrics endpoint", err);
        return 0;
    }
    metrics_server_set_ready_cb(d->msrv, daemon_ready_cb, d);
    log_info("metrics on http://%s/metrics", listen ? listen : "127.0.0.1:9464");
    return 0;
}

static int
daemon_start_inputs(struct daemon *d)
{
    const struct conf *conf = d->boot_conf;
    char err[1024];

    d->inputs = xcalloc(conf->ninputs, sizeof(*d->inputs));
    d->ninputs = conf->ninputs;
    d->finite = 1;
    for (size_t i = 0; i < conf->ninputs; i++) {
        const struct conf_input *ci = &conf->inputs[i];
        struct daemon_input *di = &d->inputs[i];

        di->d = d;
        di->index = (uint32_t)i;
        if (ci->type == INPUT_KAFKA) {
            struct kafka_input_conf kc = {0};

            d->finite = 0;
            kc.name = ci->name;
            kc.brokers = ci->brokers;
            kc.embedded_partitions = (int)ci->partitions;
            kc.topics = (const char *const *)ci->topics;
            kc.ntopics = ci->ntopics;
            kc.group = ci->group;
            kc.props = (const char *const *)ci->props;
            kc.nprops = ci->nprops;
            kc.input_index = (uint32_t)i;
            kc.commit_interval_ms = ci->commit_interval_ms;
            if (d->state != NULL) {
                /* Records wait for Redis and for the clock (reorder buffer): the real bounds
                 * are state.redis.max_in_flight and the reorder buffer's bytes. */
                kc.max_pending = 2000000;
                pipeline_ack_input(d->pipe, (uint32_t)i);
            }
            if (kafka_input_new(d->loop, &kc, daemon_kafka_record_cb, di, &di->kafka, err,
                                sizeof(err)) != 0) {
                log_err("input %zu (%s): %s", i, ci->name, err);
                return -1;
            }
            kafka_input_set_assign_cb(di->kafka, daemon_kafka_assign_cb, di);
        } else {
            pipeline_add_source(d->pipe, (uint32_t)i);
            if (file_input_new(d->loop, ci, (uint32_t)i, d->pipe, conf->max_event_bytes,
                               daemon_file_done_cb, di, &di->file, err, sizeof(err)) != 0) {
                log_err("input %zu: %s", i, err);
                return -1;
            }
            if (ci->follow) {
                d->finite = 0;
            }
        }
    }
    d->kafka = xcalloc(d->ninputs + 1, sizeof(*d->kafka));
    for (size_t i = 0; i < d->ninputs; i++) {
        d->kafka[i] = d->inputs[i].kafka;
    }
    if (daemon_start_metrics(d) != 0) {
        return -1;
    }
    /* Everything that needs root is open (input files, ports, spools): drop privileges
     * before any event is read. */
    if (conf->run_user != NULL) {
        if (privdrop_to(conf->run_user, conf->run_group, err, sizeof(err)) != 0) {
            log_err("%s", err);
            return -1;
        }
        log_info("running as user %s", conf->run_user);
    }
    for (size_t i = 0; i < d->ninputs; i++) {
        struct daemon_input *di = &d->inputs[i];
        di->running = 1;
        d->running++;
    }
    for (size_t i = 0; i < d->ninputs; i++) {
        struct daemon_input *di = &d->inputs[i];
        if (di->file != NULL) {
            file_input_start(di->file);
        } else if (kafka_input_start(di->kafka) != 0) {
            log_err("input %zu (%s): could not start the Kafka consumer", i,
                    conf->inputs[i].name);
            return -1;
        }
    }
    d->started = 1;
    sdnotify_ready();
    sdnotify_status("running");
    if (sdnotify_watchdog_start(d->loop, &d->watchdog) != 0) {
        log_warn("systemd watchdog could not be started");
    }
    return 0;
}

static void
daemon_free(struct daemon *d)
{
    for (size_t i = 0; i < d->ninputs; i++) {
        file_input_free(d->inputs[i].file);
        kafka_input_free(d->inputs[i].kafka);
    }
    metrics_server_stop(d->msrv);
    procstat_stop(d->procstat);
    sdnotify_watchdog_stop(d->watchdog);
    if (d->loop != NULL) {
        uv_run(d->loop, UV_RUN_DEFAULT); /* let close callbacks run */
    }
    metrics_registry_free(d->metrics);
    observe_free(d->observe);
    free(d->kafka);
    free(d->inputs);
    free(d->held);
    pipeline_free(d->pipe); /* and the state store, whose handles close on the loop: */
    if (d->loop != NULL && d->state != NULL) {
        uv_run(d->loop, UV_RUN_DEFAULT);
    }
    output_set_free(d->outputs);
    ruleset_free(d->rs);
    deadletter_close(d->dl);
    plugin_registry_free(d->plugins);
    if (d->conf != d->boot_conf) {
        conf_free(d->conf);
    }
    conf_free(d->boot_conf);
}

/* The Redis settings of conf (password read from its file into *password; caller frees). */
static int
daemon_redis_conf(const struct conf *conf, struct state_redis_conf *rc, char **password,
                  char *err, size_t errlen)
{
    memset(rc, 0, sizeof(*rc));
    *password = NULL;
    if (conf->redis_password_file != NULL &&
        redis_server_read_password(conf->redis_password_file, password, err, errlen) != 0) {
        return -1;
    }
    rc->url = conf->redis_url;
    rc->username = conf->redis_username;
    rc->password = *password;
    rc->prefix = conf->redis_prefix;
    rc->timeout_us = conf->redis_timeout_us;
    rc->batch = (uint32_t)conf->redis_batch;
    rc->max_inflight = (uint32_t)conf->redis_max_inflight;
    rc->ttl_margin_us = conf->redis_ttl_margin_us;
    rc->fallback_memory = conf->state_on_unavailable == STATE_UNAVAILABLE_MEMORY;
    rc->idle_source_us = conf->idle_source_us;
    rc->no_local_absorb = !conf->redis_local_absorb;
    rc->limits.max_groups_per_slot = (uint64_t)conf->max_groups_per_rule;
    rc->limits.max_groups_total = (uint64_t)conf->max_groups_total;
    return 0;
}

/* The Redis state store of the config (it connects on the loop). */
static int
daemon_state_new(struct daemon *d, struct state_store **out)
{
    struct state_redis_conf rc;
    char *password = NULL, err[512];
    int r = -1;

    if (daemon_redis_conf(d->conf, &rc, &password, err, sizeof(err)) != 0 ||
        state_redis_new(d->loop, &rc, out, err, sizeof(err)) != 0) {
        log_err("state.redis: %s", err);
        goto out;
    }
    log_info("correlation state in Redis at %s (prefix %s, on_unavailable: %s)",
             d->conf->redis_url, d->conf->redis_prefix,
             rc.fallback_memory ? "memory" : "pause");
    r = 0;
out:
    if (password != NULL) {
        memset(password, 0, strlen(password));
        free(password);
    }
    return r;
}

/* Load everything the daemon needs; with check_only, report every problem and stop. */
static int
daemon_load(struct daemon *d, int check_only)
{
    struct errlist errs = {0};
    struct ruleset_opts ro;
    char *dir = NULL;
    int r = -1;

    if (conf_load(d->conf_path, &d->boot_conf, &errs) != 0 &&
        (!check_only || d->boot_conf == NULL)) {
        daemon_print_errors(&errs);
        goto out;
    }
    d->conf = d->boot_conf;
    if (!check_only) {
        log_set_level(d->conf->log_level);
        log_set_target(d->conf->log_syslog ? LOG_TARGET_SYSLOG : LOG_TARGET_STDERR,
                       d->conf->log_json);
    }
    ro = daemon_rule_opts(d->conf);
    if (ruleset_load((const char *const *)d->conf->rules, d->conf->nrules, &ro, &d->rs,
                     &errs) != 0) {
        d->rs = NULL;
    }
    dir = daemon_plugin_dir(d->conf);
    d->plugins = plugin_registry_new(dir);
    output_set_new(d->conf, d->plugins, d->loop, check_only, NULL, &d->outputs, &errs);
    if (check_only && d->conf->state_backend == STATE_BACKEND_REDIS) {
        /* A short blocking probe: unreachable, wrong password, ACL refusals. */
        struct state_redis_conf rc;
        char *password = NULL, err[768];
        if (daemon_redis_conf(d->conf, &rc, &password, err, sizeof(err)) != 0 ||
            state_redis_check(&rc, err, sizeof(err)) != 0) {
            errlist_add(&errs, d->conf->file, d->conf->state_redis_line, 1, "state.redis: %s",
                        err);
        }
        if (password != NULL) {
            memset(password, 0, strlen(password));
            free(password);
        }
    }
    if (check_only) {
        daemon_print_errors(&errs);
        if (errs.n == 0) {
            printf("%s: OK (%zu inputs, %zu rules, %zu outputs)\n", d->conf_path,
                   d->conf->ninputs, d->rs ? ruleset_count(d->rs) : (size_t)0,
                   d->conf->noutputs);
            r = 0;
        }
        goto out;
    }
    /* Rule errors do not stop the good rules; output errors do stop the start. */
    for (size_t i = 0; i < errs.n; i++) {
        log_err("%s", errs.msgs[i]);
    }
    if (d->outputs == NULL || d->rs == NULL) {
        log_err("cannot start: %s", d->rs == NULL ? "no rule set" : "outputs not usable");
        goto out;
    }
    if (errs.n > 0) {
        log_warn("%zu problems in the configuration; starting with %zu valid rules", errs.n,
                 ruleset_count(d->rs));
    }
    r = 0;
out:
    free(dir);
    errlist_free(&errs);
    return r;
}

static int
daemon_run(struct daemon *d)
{
    char err[512];

    if (deadletter_open(d->conf->dead_letter_path, &d->dl, err, sizeof(err)) != 0) {
        log_err("dead_letter: %s", err);
        return 1;
    }
    if (d->conf->state_backend == STATE_BACKEND_REDIS) {
        if (daemon_state_new(d, &d->state) != 0) {
            return 1;
        }
        d->pipe = pipeline_new_with_state(d->conf, d->dl, d->state);
        pipeline_set_ack_cb(d->pipe, daemon_ack_cb, daemon_writable_cb, d);
    } else {
        d->pipe = pipeline_new(d->conf, d->dl);
    }
    pipeline_set_ruleset(d->pipe, d->rs);
    pipeline_set_outputs(d->pipe, d->outputs);
    output_set_set_writable_cb(d->outputs, daemon_writable_cb, d);

    uv_signal_init(d->loop, &d->sig_term);
    uv_signal_init(d->loop, &d->sig_int);
    uv_signal_init(d->loop, &d->sig_hup);
    uv_signal_init(d->loop, &d->sig_usr1);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d->sig_usr1.data = d;
    uv_signal_start(&d->sig_term, daemon_signal_cb, SIGTERM);
    uv_signal_start(&d->sig_int, daemon_signal_cb, SIGINT);
    uv_signal_start(&d->sig_hup, daemon_signal_cb, SIGHUP);
    uv_signal_start(&d->sig_usr1, daemon_signal_cb, SIGUSR1);
    uv_timer_init(d->loop, &d->tick);
    d->tick.data = d;
    uv_timer_start(&d->tick, daemon_tick_cb, 1000, 1000);
    uv_unref((uv_handle_t *)&d->tick);
    uv_timer_init(d->loop, &d->resume);
    d->resume.data = d;

    log_info("kizunad %s started: %zu inputs, %zu rules, %zu outputs", KZ_VERSION,
             d->conf->ninputs, ruleset_count(d->rs), d->conf->noutputs);
    if (daemon_start_inputs(d) != 0) {
        d->exit_code = 1;
        daemon_stop(d, "start-up failed");
    }
    uv_run(d->loop, UV_RUN_DEFAULT);
    return d->exit_code;
}

static int
daemon_list_plugins(const char *conf_path)
{
    struct errlist errs = {0};
    struct conf *conf = NULL;
    struct plugin_registry *reg;
    char *dir;
    int r;

    if (conf_path != NULL && conf_load(conf_path, &conf, &errs) != 0) {
        daemon_print_errors(&errs);
        errlist_free(&errs);
        conf_free(conf);
        return 1;
    }
    dir = daemon_plugin_dir(conf);
    reg = plugin_registry_new(dir);
    r = plugin_registry_load_all(reg, &errs);
    printf("plugin directory: %s\n", dir);
    for (size_t i = 0; i < plugin_registry_count(reg); i++) {
        printf("\n");
        plugin_describe(plugin_registry_get(reg, i), stdout);
    }
    daemon_print_errors(&errs);
    plugin_registry_free(reg);
    errlist_free(&errs);
    conf_free(conf);
    free(dir);
    return r == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    enum { OPT_CHECK = 256, OPT_VERSION, OPT_TEST_RULES, OPT_FORMAT, OPT_LIST, OPT_REF,
           OPT_REVEAL, OPT_DUMP };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"test-rules", optional_argument, NULL, OPT_TEST_RULES},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"list-plugins", no_argument, NULL, OPT_LIST},
        {"config-reference", no_argument, NULL, OPT_REF},
        {"reveal", required_argument, NULL, OPT_REVEAL},
        {"dump-state", required_argument, NULL, OPT_DUMP},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct daemon d = {0};
    int check = 0, list = 0, test_rules = 0, verbose = 0, c, r;
    const char *test_file = NULL, *format = NULL, *reveal = NULL;

    while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            d.conf_path = optarg;
            break;
        case OPT_CHECK:
            check = 1;
            break;
        case OPT_TEST_RULES:
            test_rules = 1;
            if (optarg != NULL) {
                test_file = optarg;
            } else if (optind < argc && argv[optind][0] != '-') {
                test_file = argv[optind++];
            }
            break;
        case OPT_FORMAT:
            format = optarg;
            break;
        case OPT_LIST:
            list = 1;
            break;
        case OPT_REF:
            conf_print_reference(stdout);
            return 0;
        case OPT_DUMP:
            d.dump_at_exit = optarg;
            break;
        case OPT_REVEAL:
            reveal = optarg;
            break;
        case 'v':
            verbose++;
            break;
        case OPT_VERSION:
            printf("kizunad %s (plugin ABI %d.%d)\n", KZ_VERSION, KZ_ABI_MAJOR, KZ_ABI_MINOR);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (list) {
        return daemon_list_plugins(d.conf_path);
    }
    if (d.conf_path == NULL) {
        usage(stderr);
        return 2;
    }
    if (test_rules) {
        return test_rules_run(d.conf_path, test_file, format, verbose, stdout);
    }
    if (reveal != NULL) {
        return reveal_run(d.conf_path, reveal, stdout);
    }
    d.loop = uv_default_loop();
    if (daemon_load(&d, check) != 0) {
        daemon_free(&d);
        return 1;
    }
    if (verbose) {
        log_set_level(LOG_LVL_DEBUG);
    }
    if (check) {
        daemon_free(&d);
        return 0;
    }
    r = daemon_run(&d);
    daemon_free(&d);
    uv_loop_close(uv_default_loop());
    return r;
}
