/*
 * bench-corr: throughput and memory of kizuna's correlation, without the daemon around it.
 *
 *   bench-corr pipeline RULES LOG [LATENESS_S]
 *       the log is read into memory first; then each line is decoded (syslog), matched
 *       against RULES and fed to the correlation engine, as the daemon's pipeline does
 *       (no input or output plugins). Prints lines/s and alerts.
 *   bench-corr engine GROUPS EVENTS [SPAN_S [LATENESS_S]]
 *       correlation only: EVENTS failed-password matches from GROUPS source addresses
 *       (round robin, so every group is live), spread evenly over SPAN_S seconds of event
 *       time (default 3600), fed to one event_count rule (5 in 60 s). Prints events/s, live
 *       groups and the state's bytes per group.
 *
 * Output: one line of key=value pairs. contrib/bench/bench-corr.py runs it beside SEC and
 * syslog-ng. The bench reads the wall clock to time itself; the engine never does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "corr.h"
#include "decode.h"
#include "rule.h"
#include "timeutil.h"
#include "xmalloc.h"

static const char *engine_rules =
    "id: ssh-failed-password\n"
    "detection: {s: {message|contains: 'Failed password'}, condition: s}\n"
    "---\n"
    "id: ssh-bruteforce\n"
    "correlation: {type: event_count, rules: [ssh-failed-password], group-by: [source.ip],"
    " timespan: 60s, condition: {gte: 5}}\n";

static uint64_t bench_alerts;

static double
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
bench_rss_kb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void
bench_alert_cb(void *arg, struct alert *a)
{
    (void)arg;
    (void)a;
    bench_alerts++;
}

static void
bench_match_cb(void *arg, const struct rule *rule, struct event *ev)
{
    corr_engine_feed(arg, rule, ev);
}

static struct ruleset *
bench_load(const char *path)
{
    struct errlist errs = {0};
    struct ruleset *rs = NULL;
    const char *paths[1] = {path};

    if (ruleset_load(paths, 1, NULL, &rs, &errs) != 0 || errs.n > 0) {
        for (size_t i = 0; i < errs.n; i++) {
            fprintf(stderr, "%s\n", errs.msgs[i]);
        }
        exit(1);
    }
    errlist_free(&errs);
    return rs;
}

static char *
bench_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
        perror(path);
        exit(1);
    }
    rewind(f);
    data = xmalloc((size_t)n + 1);
    if (fread(data, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)n;
    return data;
}

static struct corr_engine *
bench_engine(const struct ruleset *rs, int64_t lateness)
{
    struct corr_opts o = {0};
    struct corr_engine *eng;

    o.auto_watermark = 1;
    o.allowed_lateness_us = lateness;
    o.max_groups_per_rule = 4000000;
    o.max_groups_total = 4000000;
    eng = corr_engine_new(&o, bench_alert_cb, NULL);
    corr_engine_set_ruleset(eng, rs);
    return eng;
}

static int
bench_pipeline(const char *rules, const char *log, double lateness_s)
{
    struct ruleset *rs = bench_load(rules);
    struct corr_engine *eng = bench_engine(rs, (int64_t)(lateness_s * 1e6));
    struct decode_ctx ctx = {0};
    struct corr_stats st;
    struct event ev;
    size_t len;
    char *data = bench_read(log, &len), *p = data, *end = data + len;
    char err[256];
    uint64_t lines = 0, decoded = 0, matched = 0;
    double t0, t1;

    time_parse_rfc3339("2024-12-31T00:00:00Z", 20, &ctx.now_us);
    event_init(&ev);
    t0 = bench_now();
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL) {
            eol = end;
        }
        event_reset(&ev);
        ev.src.name = log;
        ev.src.line = ++lines;
        if (decode_line(DECODE_SYSLOG, &ev, p, (size_t)(eol - p), &ctx, err, sizeof(err)) == 0) {
            decoded++;
            matched += (uint64_t)ruleset_match(rs, &ev, bench_match_cb, eng);
        }
        p = eol + 1;
    }
    corr_engine_finish(eng);
    t1 = bench_now();
    corr_engine_get_stats(eng, &st);
    printf("mode=pipeline lines=%" PRIu64 " decoded=%" PRIu64 " matched=%" PRIu64
           " alerts=%" PRIu64 " seconds=%.3f lines_per_s=%.0f groups_created=%" PRIu64
           " groups_live=%" PRIu64 " state_bytes=%" PRIu64 " rss_kb=%ld\n",
           lines, decoded, matched, bench_alerts, t1 - t0, (double)lines / (t1 - t0),
           st.created, st.groups, st.state_bytes, bench_rss_kb());
    event_free(&ev);
    corr_engine_free(eng);
    ruleset_free(rs);
    free(data);
    return 0;
}

static int
bench_engine_only(uint64_t groups, uint64_t events, double span_s, double lateness_s)
{
    char path[] = "/tmp/bench-corr-XXXXXX";
    int fd = mkstemp(path);
    struct ruleset *rs;
    struct corr_engine *eng;
    const struct rule *r;
    struct corr_stats st;
    struct event ev;
    char (*ips)[16] = xcalloc(groups, sizeof(*ips));
    uint8_t *iplen = xcalloc(groups, 1);
    int64_t t0us, step;
    long rss0;
    double t0, t1;

    if (fd < 0 || write(fd, engine_rules, strlen(engine_rules)) < 0) {
        perror(path);
        return 1;
    }
    close(fd);
    rs = bench_load(path);
    unlink(path);
    r = ruleset_find(rs, "ssh-failed-password");
    for (uint64_t i = 0; i < groups; i++) {
        iplen[i] = (uint8_t)snprintf(ips[i], sizeof(ips[i]), "%u.%u.%u.%u",
                                     (unsigned)(11 + (i >> 24) % 200), (unsigned)((i >> 16) & 255),
                                     (unsigned)((i >> 8) & 255), (unsigned)(i & 255));
    }
    time_parse_rfc3339("2024-09-10T06:55:00Z", 20, &t0us);
    step = (int64_t)(span_s * 1e6 / (double)events);
    if (step < 1) {
        step = 1;
    }
    rss0 = bench_rss_kb();
    eng = bench_engine(rs, (int64_t)(lateness_s * 1e6));
    event_init(&ev);
    ev.src.name = "/var/log/auth.log";
    t0 = bench_now();
    for (uint64_t i = 0; i < events; i++) {
        uint64_t g = i % groups;
        event_reset(&ev);
        ev.src.name = "/var/log/auth.log";
        ev.src.line = i + 1;
        ev.time_us = t0us + (int64_t)i * step;
        event_add(&ev, "source.ip", 9, ips[g], iplen[g]);
        corr_engine_feed(eng, r, &ev);
    }
    t1 = bench_now();
    corr_engine_get_stats(eng, &st);
    printf("mode=engine groups=%" PRIu64 " events=%" PRIu64 " alerts=%" PRIu64
           " seconds=%.3f events_per_s=%.0f groups_live=%" PRIu64 " state_bytes=%" PRIu64
           " bytes_per_group=%.1f rss_delta_kb=%ld rss_per_group=%.1f\n",
           groups, events, bench_alerts, t1 - t0, (double)events / (t1 - t0), st.groups,
           st.state_bytes, st.groups ? (double)st.state_bytes / (double)st.groups : 0.0,
           bench_rss_kb() - rss0,
           st.groups ? (double)(bench_rss_kb() - rss0) * 1024.0 / (double)st.groups : 0.0);
    event_free(&ev);
    corr_engine_free(eng);
    ruleset_free(rs);
    free(ips);
    free(iplen);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "pipeline") == 0) {
        return bench_pipeline(argv[2], argv[3], argc > 4 ? atof(argv[4]) : 0);
    }
    if (argc >= 4 && strcmp(argv[1], "engine") == 0) {
        return bench_engine_only(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
                                 argc > 4 ? atof(argv[4]) : 3600, argc > 5 ? atof(argv[5]) : 0);
    }
    fprintf(stderr, "usage: bench-corr pipeline RULES LOG [LATENESS_S]\n"
                    "       bench-corr engine GROUPS EVENTS [SPAN_S [LATENESS_S]]\n");
    return 2;
}
