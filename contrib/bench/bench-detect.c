/*
 * bench-detect: detection throughput of one process, one core. Loads rule files, then reads
 * a log file through one reused 1 MiB buffer (as an input would) and for every line: decode
 * (syslog by default) and match against the rule set. Prints one line of key=value
 * results: events_per_s counts the whole run (rule load included) on the wall clock,
 * cpu_events_per_s the same on CPU time (user + system, less disturbed by other processes
 * on a shared machine), match_cpu_events_per_s the decode-and-match loop only.
 *
 *   bench-detect [-n] [-f FORMAT] [-r REPEAT] [-d] LOGFILE RULES...
 *     -n  no prefilter (every rule evaluated on every event: the naive loop)
 *     -f  decoder (auto, syslog, json, cef, kv; default syslog)
 *     -r  run over the file REPEAT times (default 1)
 *     -d  decode only (no rules matched), to separate decoding from matching
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "decode.h"
#include "event.h"
#include "rule.h"
#include "xmalloc.h"

static double
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
bench_cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
bench_cb(void *arg, const struct rule *rule, struct event *ev)
{
    (*(uint64_t *)arg)++;
}

#define BENCH_BUF (1024 * 1024)

/* Decode and match every line of fd, reading through one buffer. Returns lines seen. */
static uint64_t
bench_run(int fd, struct ruleset *rs, enum decode_format fmt, const struct decode_ctx *dctx,
          int decode_only, struct event *ev, uint64_t *bad, uint64_t *matches)
{
    static char buf[BENCH_BUF];
    size_t have = 0;
    uint64_t events = 0;

    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - have);
        const char *p = buf, *end;
        if (n < 0) {
            fprintf(stderr, "bench-detect: read failed: %s\n", strerror(errno));
            exit(2);
        }
        if (n == 0 && have == 0) {
            break;
        }
        end = buf + have + (size_t)n;
        for (;;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            char err[128];
            size_t len;
            if (nl == NULL) {
                if (n > 0 || p == end) {
                    break;
                }
                nl = end; /* last line without newline */
            }
            len = (size_t)(nl - p);
            event_reset(ev);
            events++;
            if (decode_line(fmt, ev, p, len, dctx, err, sizeof(err)) != 0) {
                (*bad)++;
            } else if (!decode_only && rs != NULL) {
                ruleset_match(rs, ev, bench_cb, matches);
            }
            p = nl < end ? nl + 1 : end;
        }
        have = (size_t)(end - p);
        memmove(buf, p, have);
        if (n == 0) {
            break;
        }
        if (have == sizeof(buf)) {
            have = 0; /* a line longer than the buffer: dropped */
        }
    }
    return events;
}

int
main(int argc, char **argv)
{
    struct ruleset_opts opts = {.match_limit = 100000, .depth_limit = 10000};
    enum decode_format fmt = DECODE_SYSLOG;
    struct decode_ctx dctx = {.now_us = 1726000000000000};
    struct errlist errs = {0};
    struct ruleset *rs = NULL;
    struct ruleset_stats st;
    struct rusage ru;
    struct event ev;
    uint64_t events = 0, bad = 0, matches = 0;
    int repeat = 1, decode_only = 0, c;
    double t0 = bench_now(), c0 = bench_cpu(), t1, t2, c1, c2;

    while ((c = getopt(argc, argv, "nf:r:d")) != -1) {
        switch (c) {
        case 'n':
            opts.no_prefilter = 1;
            break;
        case 'f':
            if (decode_format_parse(optarg, &fmt) < 0) {
                fprintf(stderr, "bench-detect: unknown format %s\n", optarg);
                return 2;
            }
            break;
        case 'r':
            repeat = atoi(optarg);
            break;
        case 'd':
            decode_only = 1;
            break;
        default:
            fprintf(stderr, "usage: bench-detect [-n] [-d] [-f FORMAT] [-r REPEAT] LOGFILE "
                            "RULES...\n");
            return 2;
        }
    }
    if (argc - optind < 1) {
        fprintf(stderr, "usage: bench-detect [-n] [-d] [-f FORMAT] [-r REPEAT] LOGFILE "
                        "RULES...\n");
        return 2;
    }
    if (argc - optind > 1 &&
        ruleset_load((const char *const *)argv + optind + 1, (size_t)(argc - optind - 1), &opts,
                     &rs, &errs) < 0) {
        for (size_t i = 0; i < errs.n; i++) {
            fprintf(stderr, "%s\n", errs.msgs[i]);
        }
        return 2;
    }
    for (size_t i = 0; i < errs.n && i < 10; i++) {
        fprintf(stderr, "%s\n", errs.msgs[i]);
    }
    t1 = bench_now();
    c1 = bench_cpu();
    event_init(&ev);
    for (int r = 0; r < repeat; r++) {
        int fd = open(argv[optind], O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "bench-detect: open(\"%s\") failed: %s\n", argv[optind],
                    strerror(errno));
            return 2;
        }
        events += bench_run(fd, rs, fmt, &dctx, decode_only, &ev, &bad, &matches);
        close(fd);
    }
    t2 = bench_now();
    c2 = bench_cpu();
    memset(&st, 0, sizeof(st));
    if (rs != NULL) {
        ruleset_get_stats(rs, &st);
    }
    getrusage(RUSAGE_SELF, &ru);
    printf("rules=%zu prefilter=%s events=%llu undecodable=%llu matches=%llu evaluated=%llu "
           "limit_hits=%llu load_s=%.3f run_s=%.3f cpu_s=%.3f events_per_s=%.0f "
           "cpu_events_per_s=%.0f match_cpu_events_per_s=%.0f maxrss_kb=%ld\n",
           rs != NULL ? ruleset_count(rs) : 0, opts.no_prefilter ? "off" : "on",
           (unsigned long long)events, (unsigned long long)bad, (unsigned long long)matches,
           (unsigned long long)st.evaluated, (unsigned long long)st.match_limit_hits, t1 - t0,
           t2 - t1, c2 - c0, (double)events / (t2 - t0), (double)events / (c2 - c0),
           (double)events / (c2 - c1), ru.ru_maxrss);
    event_free(&ev);
    ruleset_free(rs);
    errlist_free(&errs);
    return 0;
}
