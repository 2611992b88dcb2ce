/*
 * The engine against an independent reference (tests/corr-reference.py: SEC's
 * SingleWithThreshold on event time, 5 failed passwords per source IP in 60 s). On the
 * committed tests/data/corr/sshd-small.log the alerts must equal the committed
 * sshd-small.expected, fed three ways: parsed by this test and fed directly; decoded by the
 * syslog decoder and matched by a regex rule (the pipeline's path); and shuffled within the
 * allowed lateness. With /work/shared present, the same on 100,000 lines of the shared
 * generator (gen-sshd.py --seed 7 --rate 20), compared with the reference run now.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "corr.h"
#include "decode.h"
#include "tap.h"
#include "test-corr-util.h"
#include "timeutil.h"
#include "xmalloc.h"

static const char *rules_yaml =
    "id: ssh-failed-password\n"
    "detection:\n"
    "  s:\n"
    "    message|re: 'Failed password for (?:invalid user )?\\S+ from "
    "(?<src>\\d{1,3}(?:\\.\\d{1,3}){3}) port \\d+ ssh2'\n"
    "  condition: s\n"
    "fields: {src: source.ip}\n"
    "---\n"
    "id: ssh-bruteforce\n"
    "title: SSH brute force\n"
    "level: high\n"
    "correlation:\n"
    "  type: event_count\n"
    "  rules: [ssh-failed-password]\n"
    "  group-by: [source.ip]\n"
    "  timespan: 60s\n"
    "  condition: {gte: 5}\n";

struct fail_ev {
    int64_t t;
    int64_t arrival;
    uint64_t line;
    char ip[16];
};

struct fail_list {
    struct fail_ev *v;
    size_t n;
};

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct buf b = {0};
    char tmp[65536];
    size_t n;

    if (f == NULL) {
        return NULL;
    }
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        buf_append(&b, tmp, n);
    }
    fclose(f);
    *len = b.len;
    if (b.data == NULL) {
        return xstrdup("");
    }
    return b.data;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "Failed password for (?:invalid user )?\S+ from (IPv4) port \d+ ssh2" at p, or -1. */
static int
match_failed(const char *p, const char *end, char ip[16])
{
    static const char head[] = "Failed password for ";
    const char *q = p + sizeof(head) - 1, *ipstart;
    int groups = 0;

    if (end - p < (long)sizeof(head) - 1 || memcmp(p, head, sizeof(head) - 1) != 0) {
        return -1;
    }
    if (end - q > 13 && memcmp(q, "invalid user ", 13) == 0) {
        const char *u = q + 13;
        while (u < end && *u != ' ' && *u != '\n') {
            u++;
        }
        if (u > q + 13 && end - u >= 6 && memcmp(u, " from ", 6) == 0) {
            q = u;
        }
    }
    if (q == p + sizeof(head) - 1) {
        const char *u = q;
        while (u < end && *u != ' ' && *u != '\n') {
            u++;
        }
        if (u == q) {
            return -1;
        }
        q = u;
    }
    if (end - q < 6 || memcmp(q, " from ", 6) != 0) {
        return -1;
    }
    q += 6;
    ipstart = q;
    for (;;) {
        int d = 0;
        while (q < end && is_digit(*q) && d < 3) {
            q++;
            d++;
        }
        if (d == 0) {
            return -1;
        }
        if (++groups == 4) {
            break;
        }
        if (q >= end || *q != '.') {
            return -1;
        }
        q++;
    }
    if (q - ipstart >= 16 || end - q < 6 || memcmp(q, " port ", 6) != 0) {
        return -1;
    }
    memcpy(ip, ipstart, (size_t)(q - ipstart));
    ip[q - ipstart] = '\0';
    q += 6;
    if (q >= end || !is_digit(*q)) {
        return -1;
    }
    while (q < end && is_digit(*q)) {
        q++;
    }
    if (end - q < 5 || memcmp(q, " ssh2", 5) != 0) {
        return -1;
    }
    return 0;
}

/* The failed-password events of a log, with their syslog time in 2024 (minimal parse). */
static void
parse_log(const char *data, size_t len, struct fail_list *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *p = data, *end = data + len;
    uint64_t lineno = 0;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *s;
        int mon = -1, day, hh, mm, ss;
        char ip[16];
        if (eol == NULL) {
            eol = end;
        }
        lineno++;
        for (int m = 0; m < 12 && eol - p > 16; m++) {
            if (memcmp(p, months + 3 * m, 3) == 0) {
                mon = m + 1;
            }
        }
        if (mon > 0 && sscanf(p + 4, "%d %d:%d:%d", &day, &hh, &mm, &ss) == 4) {
            for (s = p + 15; s < eol; s++) {
                if (*s == 'F' && match_failed(s, eol, ip) == 0) {
                    struct fail_ev *e;
                    out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
                    e = &out->v[out->n++];
                    e->t = ((time_days_from_civil(2024, (unsigned)mon, (unsigned)day) * 86400) +
                            hh * 3600 + mm * 60 + ss) *
                           INT64_C(1000000);
                    e->line = lineno;
                    e->arrival = e->t;
                    memcpy(e->ip, ip, sizeof(ip));
                    break;
                }
            }
        }
        p = eol + 1;
    }
}

static void
alerts_text(const struct ct_sink *s, struct buf *b)
{
    buf_reset(b);
    for (size_t i = 0; i < s->n; i++) {
        buf_printf(b, "%s %" PRId64 " %" PRId64 " %" PRIu64 "\n", s->v[i].key, s->v[i].time_us,
                   s->v[i].first_us, s->v[i].count);
    }
    if (b->data == NULL) {
        buf_puts(b, "");
    }
}

/* Feed the parsed events in list order; lateness > 0 lets the engine reorder them. */
static void
run_parsed(const struct ruleset *rs, const struct fail_list *fl, int64_t lateness, struct buf *out,
           struct corr_stats *st)
{
    struct ct_sink s = {0};
    struct corr_opts o = {0};
    struct corr_engine *eng;
    const struct rule *r = ruleset_find(rs, "ssh-failed-password");
    struct event ev;

    o.auto_watermark = 1;
    o.allowed_lateness_us = lateness;
    eng = corr_engine_new(&o, ct_sink_cb, &s);
    corr_engine_set_ruleset(eng, rs);
    event_init(&ev);
    for (size_t i = 0; i < fl->n; i++) {
        event_reset(&ev);
        ev.src.name = "sshd.log";
        ev.src.line = fl->v[i].line;
        event_set_time(&ev, fl->v[i].t, 0);
        event_add(&ev, F_SOURCE_IP, sizeof(F_SOURCE_IP) - 1, fl->v[i].ip, strlen(fl->v[i].ip));
        corr_engine_feed(eng, r, &ev);
    }
    corr_engine_finish(eng);
    if (st != NULL) {
        corr_engine_get_stats(eng, st);
    }
    event_free(&ev);
    alerts_text(&s, out);
    corr_engine_free(eng);
    ct_sink_reset(&s);
}

static void
match_cb(void *arg, const struct rule *rule, struct event *ev)
{
    corr_engine_feed(arg, rule, ev);
}

/* The pipeline's path: syslog decoder, regex rule with a capture, engine. */
static void
run_decoded(struct ruleset *rs, const char *data, size_t len, struct buf *out)
{
    struct ct_sink s = {0};
    struct corr_opts o = {0};
    struct corr_engine *eng;
    struct decode_ctx ctx = {0};
    const char *p = data, *end = data + len;
    struct event ev;
    char err[256];
    uint64_t lineno = 0;

    o.auto_watermark = 1;
    eng = corr_engine_new(&o, ct_sink_cb, &s);
    corr_engine_set_ruleset(eng, rs);
    time_parse_rfc3339("2024-12-31T00:00:00Z", 20, &ctx.now_us); /* the year is 2024 */
    event_init(&ev);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL) {
            eol = end;
        }
        event_reset(&ev);
        ev.src.name = "sshd.log";
        ev.src.line = ++lineno;
        if (decode_line(DECODE_SYSLOG, &ev, p, (size_t)(eol - p), &ctx, err, sizeof(err)) == 0) {
            ruleset_match(rs, &ev, match_cb, eng);
        }
        p = eol + 1;
    }
    corr_engine_finish(eng);
    event_free(&ev);
    alerts_text(&s, out);
    corr_engine_free(eng);
    ct_sink_reset(&s);
}

static uint64_t
rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int
by_arrival(const void *a, const void *b)
{
    const struct fail_ev *x = a, *y = b;

    if (x->arrival != y->arrival) {
        return x->arrival < y->arrival ? -1 : 1;
    }
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Arrival order: each event delayed by up to lateness (so none is late). */
static void
shuffle_within(struct fail_list *fl, int64_t lateness, uint64_t seed)
{
    for (size_t i = 0; i < fl->n; i++) {
        fl->v[i].arrival = fl->v[i].t + (int64_t)(rng_next(&seed) % (uint64_t)lateness);
    }
    qsort(fl->v, fl->n, sizeof(*fl->v), by_arrival);
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

static int
same_text(const char *got, const char *want, const char *what)
{
    int same = strcmp(got, want) == 0;

    ok(same, "%s (%zu alerts)", what, count_lines(want));
    if (!same) {
        size_t i = 0, line = 1;
        while (got[i] && got[i] == want[i]) {
            line += got[i] == '\n';
            i++;
        }
        tap_diag("first difference at line %zu (got %zu lines, want %zu)", line,
                 count_lines(got), count_lines(want));
    }
    return same;
}

/* Run a command and return its standard output, or NULL. */
static char *
run_cmd(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    struct buf b = {0};
    char tmp[65536];
    size_t n;

    if (p == NULL) {
        return NULL;
    }
    while ((n = fread(tmp, 1, sizeof(tmp), p)) > 0) {
        buf_append(&b, tmp, n);
    }
    if (pclose(p) != 0) {
        buf_free(&b);
        return NULL;
    }
    if (b.data == NULL) {
        return xstrdup("");
    }
    return b.data;
}

static int
have_python(void)
{
    return system("python3 -c 'import re, calendar' >/dev/null 2>&1") == 0;
}

static void
test_small(const char *srcdir, struct ruleset *rs)
{
    char *path = xasprintf("%s/tests/data/corr/sshd-small.log", srcdir);
    char *exp_path = xasprintf("%s/tests/data/corr/sshd-small.expected", srcdir);
    size_t len = 0, elen = 0;
    char *data = read_file(path, &len), *expected = read_file(exp_path, &elen);
    struct fail_list fl = {0};
    struct buf got = {0};
    struct corr_stats st;

    if (!ok(data != NULL && expected != NULL && count_lines(expected) > 20,
            "committed log and expected alerts are readable")) {
        tap_skip(6, "no data");
        goto out;
    }
    parse_log(data, len, &fl);
    ok(fl.n > 500, "%zu failed-password events parsed", fl.n);
    run_parsed(rs, &fl, 0, &got, NULL);
    same_text(got.data, expected, "engine == reference on the committed log");
    run_decoded(rs, data, len, &got);
    same_text(got.data, expected, "decoder + regex rule + engine == reference");
    shuffle_within(&fl, 30 * CT_SEC, 12345);
    run_parsed(rs, &fl, 30 * CT_SEC, &got, &st);
    ok(st.late == 0 && same_text(got.data, expected, "shuffled within 30 s of lateness == reference"),
       "and no event was late");
    if (have_python()) {
        char *cmd = xasprintf("python3 '%s/tests/corr-reference.py' '%s'", srcdir, path);
        char *ref = run_cmd(cmd);
        ok(ref != NULL && strcmp(ref, expected) == 0,
           "the reference evaluator still produces the committed expected alerts");
        free(ref);
        free(cmd);
    } else {
        tap_skip(1, "python3 not installed");
    }
out:
    free(fl.v);
    buf_free(&got);
    free(data);
    free(expected);
    free(path);
    free(exp_path);
}

static void
test_shared(const char *srcdir, struct ruleset *rs)
{
    char *gen = xasprintf("%s/../shared/bench/gen-sshd.py", srcdir);
    char *log = NULL, *cmd = NULL, *ref = NULL, *data = NULL;
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    struct fail_list fl = {0};
    struct buf got = {0};
    struct corr_stats st;
    size_t len = 0;

    if (access(gen, R_OK) != 0) {
        tap_skip(4, "../shared/bench/gen-sshd.py not found (no /work/shared)");
        goto out;
    }
    if (!have_python()) {
        tap_skip(4, "python3 not installed");
        goto out;
    }
    log = xasprintf("%s/kz-corr-ref-%ld.log", tmpdir, (long)getpid());
    cmd = xasprintf("python3 '%s' --lines 100000 --seed 7 --rate 20 --out '%s' 2>/dev/null", gen,
                    log);
    if (system(cmd) != 0 || (data = read_file(log, &len)) == NULL) {
        tap_skip(4, "gen-sshd.py failed");
        goto out;
    }
    free(cmd);
    cmd = xasprintf("python3 '%s/tests/corr-reference.py' '%s'", srcdir, log);
    ref = run_cmd(cmd);
    if (!ok(ref != NULL && count_lines(ref) > 50, "reference on 100k shared lines: %zu alerts",
            ref ? count_lines(ref) : 0)) {
        tap_skip(3, "no reference output");
        goto out;
    }
    parse_log(data, len, &fl);
    run_parsed(rs, &fl, 0, &got, NULL);
    same_text(got.data, ref, "engine == reference on gen-sshd.py --lines 100000 --seed 7");
    run_decoded(rs, data, len, &got);
    same_text(got.data, ref, "decoder + regex rule + engine == reference on the shared log");
    shuffle_within(&fl, 10 * CT_SEC, 777);
    run_parsed(rs, &fl, 10 * CT_SEC, &got, &st);
    if (!ok(st.late == 0 && strcmp(got.data, ref) == 0,
            "shared log shuffled within 10 s of lateness == reference (%" PRIu64 " late)",
            st.late)) {
        char *dump = xasprintf("%s/kz-corr-ref-shuffled.txt", tmpdir);
        FILE *f = fopen(dump, "w");
        if (f != NULL) {
            fputs(got.data, f);
            fclose(f);
            tap_diag("engine output written to %s", dump);
        }
        free(dump);
    }
out:
    if (log != NULL) {
        unlink(log);
    }
    free(fl.v);
    buf_free(&got);
    free(data);
    free(ref);
    free(cmd);
    free(log);
    free(gen);
}

int
main(void)
{
    const char *srcdir = getenv("top_srcdir");
    struct ruleset *rs;

    if (srcdir == NULL) {
        srcdir = ".";
    }
    tap_plan(12);
    rs = ct_load(rules_yaml);
    if (!ok(rs != NULL && ruleset_count(rs) == 2, "rules load")) {
        tap_skip(11, "no rules");
        return tap_done();
    }
    test_small(srcdir, rs);
    test_shared(srcdir, rs);
    ruleset_free(rs);
    return tap_done();
}
