/*
 * Tests of the metrics registry (core/metrics.c), the HTTP endpoint (core/metrics-server.c)
 * and the process statistics (core/procstat.c).
 *
 * The rendering is checked as text (HELP/TYPE once per family, samples of several
 * collectors together, label and HELP escaping, number formats). Then a real server runs
 * on 127.0.0.1 (port 0) on a uv loop in this thread while a second thread fetches URLs
 * with libcurl; each batch of requests ends with a uv_async_send() that stops the loop, and
 * a deadline timer stops it if the server never answers. Every exposition fetched is
 * parsed line by line against the 0.0.4 grammar before values are compared.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "buf.h"
#include "metrics-server.h"
#include "metrics.h"
#include "procstat.h"
#include "tap.h"

#define DEADLINE_MS 20000

/* ---- exposition helpers ---- */

/* The value of the series `series` ("name" or "name{labels}") in text, or NAN if absent. */
static double
series_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *line = text;

    while (line != NULL && *line != '\0') {
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            const char *v = line + n + 1;
            if (strncmp(v, "+Inf", 4) == 0) {
                return INFINITY;
            }
            return strtod(v, NULL);
        }
        line = strchr(line, '\n');
        if (line != NULL) {
            line++;
        }
    }
    return NAN;
}

static int
count_substr(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static int
name_char(char c, int first, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/*
 * Check one sample line against the 0.0.4 grammar: name, optional {label="value",...} with
 * only \\ \" \n escapes, one space, a float (or NaN, +Inf, -Inf). Returns 1 when valid.
 */
static int
sample_line_valid(const char *s, const char *end)
{
    const char *p = s;
    char num[64];
    char *numend;

    if (p == end || !name_char(*p, 1, 1)) {
        return 0;
    }
    while (p < end && name_char(*p, 0, 1)) {
        p++;
    }
    if (p < end && *p == '{') {
        p++;
        while (p < end && *p != '}') {
            if (!name_char(*p, 1, 0)) {
                return 0;
            }
            while (p < end && name_char(*p, 0, 0)) {
                p++;
            }
            if (end - p < 2 || p[0] != '=' || p[1] != '"') {
                return 0;
            }
            p += 2;
            while (p < end && *p != '"') {
                if (*p == '\\') {
                    if (p + 1 >= end || (p[1] != '\\' && p[1] != '"' && p[1] != 'n')) {
                        return 0;
                    }
                    p++;
                } else if (*p == '\n') {
                    return 0;
                }
                p++;
            }
            if (p >= end) {
                return 0;
            }
            p++; /* closing quote */
            if (p < end && *p == ',') {
                p++;
            }
        }
        if (p >= end) {
            return 0;
        }
        p++; /* '}' */
    }
    if (p >= end || *p != ' ') {
        return 0;
    }
    p++;
    if ((size_t)(end - p) >= sizeof(num) || p == end) {
        return 0;
    }
    memcpy(num, p, (size_t)(end - p));
    num[end - p] = '\0';
    if (strcmp(num, "NaN") == 0 || strcmp(num, "+Inf") == 0 || strcmp(num, "-Inf") == 0) {
        return 1;
    }
    strtod(num, &numend);
    return *numend == '\0';
}

/*
 * Parse a whole exposition: every line is "# HELP name text", "# TYPE name type" or a
 * valid sample; each family's HELP and TYPE appear once, before its samples. Returns the
 * number of the first bad line (1-based) or 0.
 */
static int
exposition_check(const char *text)
{
    const char *line = text;
    int lineno = 0;
    char seen[64][128];
    int nseen = 0;

    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        lineno++;
        if (end == NULL) {
            return lineno; /* the last line must end with a newline too */
        }
        if (strncmp(line, "# HELP ", 7) == 0) {
            const char *name = line + 7;
            const char *sp = memchr(name, ' ', (size_t)(end - name));
            size_t n = sp ? (size_t)(sp - name) : 0;
            if (n == 0 || n >= 128 || nseen == 64) {
                return lineno;
            }
            for (int i = 0; i < nseen; i++) {
                if (strlen(seen[i]) == n && memcmp(seen[i], name, n) == 0) {
                    return lineno; /* HELP twice */
                }
            }
            memcpy(seen[nseen], name, n);
            seen[nseen++][n] = '\0';
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            const char *t = memchr(line + 7, ' ', (size_t)(end - line - 7));
            if (t == NULL) {
                return lineno;
            }
            t++;
            if (!((end - t == 7 && memcmp(t, "counter", 7) == 0) ||
                  (end - t == 5 && memcmp(t, "gauge", 5) == 0) ||
                  (end - t == 7 && memcmp(t, "untyped", 7) == 0))) {
                return lineno;
            }
        } else if (!sample_line_valid(line, end)) {
            return lineno;
        }
        line = end + 1;
    }
    return 0;
}

/* ---- collectors used by the tests ---- */

struct input_stats {
    const char *name;
    int partition;
    uint64_t events;
};

static void
input_events_collect(struct metrics_writer *w, void *arg)
{
    struct input_stats *in = arg;
    char part[16];

    snprintf(part, sizeof(part), "%d", in->partition);
    metrics_sample_labels(w, (double)in->events, "input", in->name, "partition", part, NULL);
}

static void
odd_values_collect(struct metrics_writer *w, void *arg)
{
    metrics_sample(w, "v=\"half\"", 0.5);
    metrics_sample(w, "v=\"tenth\"", 0.1);
    metrics_sample(w, "v=\"third\"", 1.0 / 3.0);
    metrics_sample(w, "v=\"nan\"", NAN);
    metrics_sample(w, "v=\"inf\"", INFINITY);
    metrics_sample(w, "v=\"-inf\"", -INFINITY);
    metrics_sample(w, "v=\"neg\"", -2.5e-7);
    metrics_sample_u64(w, "v=\"big\"", UINT64_C(9007199254740993)); /* 2^53 + 1 */
    metrics_sample(w, NULL, 42);
}

static void
escape_collect(struct metrics_writer *w, void *arg)
{
    struct buf labels = {0};

    buf_puts(&labels, "path=\"");
    metrics_label_escape(&labels, "C:\\logs\\\"auth\"\nx");
    buf_puts(&labels, "\"");
    metrics_sample(w, buf_cstr(&labels), 1);
    buf_free(&labels);
    metrics_sample_labels(w, 2, "a", "q\"uote", "b", "back\\slash", "c", "new\nline", NULL);
}

static void
test_render(void)
{
    struct metrics_registry *reg = metrics_registry_new();
    struct input_stats auth = {"auth", 0, 17};
    struct input_stats fw = {"fire\"wall", 3, 5};
    uint64_t reloads = 4;
    struct buf out = {0};
    const char *text;
    const char *p1;
    const char *p2;
    const char *p3;

    metrics_register(reg, "kizuna_input_events_total", METRICS_COUNTER, "Events read by the input.",
                     input_events_collect, &auth);
    metrics_register_u64(reg, "kizuna_reloads_total", METRICS_COUNTER, "Configuration reloads.",
                         &reloads);
    metrics_register(reg, "kizuna_input_events_total", METRICS_COUNTER, "ignored help",
                     input_events_collect, &fw);
    metrics_register(reg, "test_values", METRICS_GAUGE, "Help with \\ backslash\nand newline",
                     odd_values_collect, NULL);
    metrics_register(reg, "test_escape", METRICS_UNTYPED, "Escapes.", escape_collect, NULL);
    reloads = 5; /* read at render time, not at registration */
    metrics_render(reg, &out);
    text = buf_cstr(&out);
    is_int(exposition_check(text), 0, "render: every line follows the 0.0.4 grammar");
    is_int(count_substr(text, "# HELP kizuna_input_events_total "), 1,
           "render: one HELP for a family with two collectors");
    ok(strstr(text,
              "# HELP kizuna_input_events_total Events read by the input.\n"
              "# TYPE kizuna_input_events_total counter\n"
              "kizuna_input_events_total{input=\"auth\",partition=\"0\"} 17\n"
              "kizuna_input_events_total{input=\"fire\\\"wall\",partition=\"3\"} 5\n") != NULL,
       "render: family samples together, in registration order, first help kept");
    ok(strstr(text, "# TYPE kizuna_reloads_total counter\nkizuna_reloads_total 5\n") != NULL,
       "render: u64 by pointer read at scrape time");
    ok(strstr(text, "# HELP test_values Help with \\\\ backslash\\nand newline\n") != NULL,
       "render: HELP escapes backslash and newline");
    ok(strstr(text, "test_values{v=\"half\"} 0.5\n") != NULL, "value 0.5");
    ok(strstr(text, "test_values{v=\"tenth\"} 0.1\n") != NULL, "value 0.1 in shortest form");
    ok(strstr(text, "test_values{v=\"third\"} 0.33333333333333331\n") != NULL,
       "value 1/3 with the digits to read back exactly");
    ok(strstr(text, "test_values{v=\"nan\"} NaN\n") != NULL, "NaN");
    ok(strstr(text, "test_values{v=\"inf\"} +Inf\n") != NULL, "+Inf");
    ok(strstr(text, "test_values{v=\"-inf\"} -Inf\n") != NULL, "-Inf");
    ok(strstr(text, "test_values{v=\"neg\"} -2.5e-07\n") != NULL, "negative exponent");
    ok(strstr(text, "test_values{v=\"big\"} 9007199254740993\n") != NULL, "u64 beyond 2^53 exact");
    ok(strstr(text, "\ntest_values 42\n") != NULL, "sample without labels");
    ok(strstr(text, "test_escape{path=\"C:\\\\logs\\\\\\\"auth\\\"\\nx\"} 1\n") != NULL,
       "metrics_label_escape: backslash, quote, newline");
    ok(strstr(text, "test_escape{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\"} 2\n") !=
           NULL,
       "metrics_sample_labels escapes every value");
    p1 = strstr(text, "# HELP kizuna_input_events_total");
    p2 = strstr(text, "# HELP kizuna_reloads_total");
    p3 = strstr(text, "# HELP test_escape");
    ok(p1 != NULL && p2 != NULL && p3 != NULL && p1 < p2 && p2 < p3,
       "render: families in registration order");

    is_int(metrics_unregister_arg(reg, &auth), 1, "unregister_arg removes one collector");
    buf_reset(&out);
    metrics_render(reg, &out);
    text = buf_cstr(&out);
    ok(strstr(text, "input=\"auth\"") == NULL && strstr(text, "input=\"fire") != NULL,
       "the other collector of the family stays");
    is_int(metrics_unregister_arg(reg, &fw), 1, "unregister the last collector");
    buf_reset(&out);
    metrics_render(reg, &out);
    text = buf_cstr(&out);
    ok(strstr(text, "kizuna_input_events_total") == NULL,
       "a family without collectors disappears, HELP and TYPE too");
    is_int(metrics_unregister_arg(reg, &reloads), 1, "u64 unregisters by its pointer");
    is_int(metrics_unregister(reg, "test_values"), 0, "unregister by name");
    is_int(metrics_unregister(reg, "test_values"), -1, "unregister unknown name");
    buf_reset(&out);
    metrics_render(reg, &out);
    ok(strncmp(buf_cstr(&out), "# HELP test_escape ", 19) == 0 &&
           exposition_check(buf_cstr(&out)) == 0,
       "only test_escape is left");
    buf_free(&out);
    metrics_registry_free(reg);
}

/* ---- the HTTP server ---- */

struct fetch {
    const char *method; /* GET, HEAD, POST */
    const char *path;
    long status;
    char ctype[128];
    struct buf body;
    int curl_rc;
};

struct phase {
    uv_async_t *done;
    int port;
    struct fetch *fetches;
    size_t nfetches;
};

static size_t
fetch_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    buf_append(arg, data, size * nmemb);
    return size * nmemb;
}

/* Client thread: fetch every URL of the phase, then wake the loop. */
static void
phase_thread(void *arg)
{
    struct phase *ph = arg;
    CURL *curl = curl_easy_init();

    for (size_t i = 0; i < ph->nfetches; i++) {
        struct fetch *f = &ph->fetches[i];
        char url[256];
        char *ctype = NULL;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ph->port, f->path);
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)DEADLINE_MS / 2);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fetch_write_cb);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &f->body);
        if (strcmp(f->method, "HEAD") == 0) {
            curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        } else if (strcmp(f->method, "POST") == 0) {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "x=1");
        }
        f->curl_rc = (int)curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &f->status);
        if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL) {
            snprintf(f->ctype, sizeof(f->ctype), "%s", ctype);
        }
    }
    curl_easy_cleanup(curl);
    uv_async_send(ph->done);
}

static int phase_finished;
static int phase_timed_out;

static void
phase_async_cb(uv_async_t *handle)
{
    phase_finished = 1;
    uv_stop(handle->loop);
}

static void
phase_deadline_cb(uv_timer_t *handle)
{
    phase_timed_out = 1;
    uv_stop(handle->loop);
}

/* Run the loop while a thread fetches the URLs; returns 1 when all came back in time. */
static int
phase_run(uv_loop_t *loop, uv_async_t *done, int port, struct fetch *fetches, size_t n)
{
    struct phase ph = {done, port, fetches, n};
    uv_thread_t tid;
    uv_timer_t deadline;

    phase_finished = 0;
    phase_timed_out = 0;
    uv_timer_init(loop, &deadline);
    uv_timer_start(&deadline, phase_deadline_cb, DEADLINE_MS, 0);
    if (uv_thread_create(&tid, phase_thread, &ph) != 0) {
        return 0;
    }
    while (!phase_finished && !phase_timed_out) {
        uv_run(loop, UV_RUN_DEFAULT);
    }
    if (phase_timed_out) {
        tap_diag("deadline reached before the server answered; the client may hang");
        return 0; /* do not join: the client thread may be stuck */
    }
    uv_thread_join(&tid);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return 1;
}

static int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n - 1;
}

struct readiness {
    int ready;
    const char *reason;
    int calls;
};

static int
ready_cb(void *arg, struct buf *reason)
{
    struct readiness *r = arg;

    r->calls++;
    if (!r->ready) {
        buf_puts(reason, r->reason);
    }
    return r->ready;
}

/* Block the loop the way a slow callback would, to be measured as loop lag. */
static void
block_cb(uv_timer_t *handle)
{
    uint64_t until = uv_hrtime() + 150 * 1000000ull;

    while (uv_hrtime() < until) {
        /* busy: this is the stall being measured, not a wait for work */
    }
}

static struct procstat *lag_ps;

static void
lag_seen_check_cb(uv_check_t *handle)
{
    if (procstat_lag_max(lag_ps, 0) >= 0.1) {
        uv_check_stop(handle);
        uv_stop(handle->loop);
    }
}

static void
fds_collect(struct metrics_writer *w, void *arg)
{
    metrics_sample(w, NULL, count_fds());
}

static void
test_bad_listen(uv_loop_t *loop, struct metrics_registry *reg)
{
    static const char *const bad[] = {
        "9464",      "127.0.0.1", "127.0.0.1:99999",  "127.0.0.1:http",
        "[::1:9464", "::1:9464",  "example.com:9464", "127.0.0.1:",
    };
    struct metrics_server *srv = (struct metrics_server *)&srv;
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ok(metrics_server_start(loop, bad[i], reg, &srv, err, sizeof(err)) == -1 && srv == NULL &&
               strstr(err, bad[i]) != NULL,
           "listen \"%s\" refused: %s", bad[i], err);
    }
}

static void
test_server(void)
{
    uv_loop_t loop;
    uv_async_t done;
    uv_check_t check;
    uv_timer_t blocker;
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_server *srv = NULL;
    struct metrics_server *srv2 = NULL;
    struct procstat *ps = NULL;
    struct input_stats auth = {"auth", 1, 123};
    struct readiness rd = {0, "kafka: partitions not assigned", 0};
    struct timeval now;
    char err[256] = "";
    char listen2[64];
    int fds_before;
    int port;
    const char *text;

    uv_loop_init(&loop);
    test_bad_listen(&loop, reg);
    fds_before = count_fds();
    uv_async_init(&loop, &done, phase_async_cb);
    is_int(procstat_start(&loop, reg, 10, &ps), 0, "procstat_start");
    lag_ps = ps;
    metrics_register(reg, "kizuna_input_events_total", METRICS_COUNTER, "Events read by the input.",
                     input_events_collect, &auth);
    metrics_register(reg, "test_fds", METRICS_GAUGE, "Open fds counted by the test.", fds_collect,
                     NULL);
    if (!ok(metrics_server_start(&loop, "127.0.0.1:0", reg, &srv, err, sizeof(err)) == 0,
            "server starts on 127.0.0.1:0 (%s)", err)) {
        return;
    }
    port = metrics_server_port(srv);
    ok(port > 0 && port < 65536, "an ephemeral port was picked (%d)", port);

    snprintf(listen2, sizeof(listen2), "127.0.0.1:%d", port);
    ok(metrics_server_start(&loop, listen2, reg, &srv2, err, sizeof(err)) == -1 && srv2 == NULL &&
           strstr(err, "bind() failed") != NULL && strstr(err, listen2),
       "a second server on the same port fails naming bind(): %s", err);

    /* Phase 1: before readiness is known. */
    {
        struct fetch f[] = {
            {.method = "GET", .path = "/metrics"},     {.method = "GET", .path = "/healthz"},
            {.method = "GET", .path = "/readyz"},      {.method = "GET", .path = "/nope"},
            {.method = "POST", .path = "/metrics"},    {.method = "HEAD", .path = "/metrics"},
            {.method = "GET", .path = "/metrics?x=1"},
        };
        if (!ok(phase_run(&loop, &done, port, f, 7), "phase 1: all answers before deadline")) {
            return;
        }
        text = buf_cstr(&f[0].body);
        is_int(f[0].curl_rc, 0, "GET /metrics: transfer ok");
        is_int(f[0].status, 200, "GET /metrics: 200");
        is_str(f[0].ctype, "text/plain; version=0.0.4; charset=utf-8",
               "GET /metrics: content type of the text format 0.0.4");
        is_int(exposition_check(text), 0, "GET /metrics: exposition parses");
        ok(strstr(text, "# HELP kizuna_input_events_total Events read by the input.\n"
                        "# TYPE kizuna_input_events_total counter\n") != NULL,
           "HELP and TYPE of a registered family");
        ok(series_value(text, "kizuna_input_events_total{input=\"auth\",partition=\"1\"}") == 123,
           "registered counter value over HTTP");
        ok(strstr(text, "# TYPE process_resident_memory_bytes gauge\n") != NULL &&
               strstr(text, "# TYPE process_open_fds gauge\n") != NULL &&
               strstr(text, "# TYPE process_cpu_seconds_total counter\n") != NULL &&
               strstr(text, "# TYPE process_start_time_seconds gauge\n") != NULL &&
               strstr(text, "# TYPE kizuna_loop_lag_seconds gauge\n") != NULL &&
               strstr(text, "# TYPE kizuna_loop_lag_max_seconds gauge\n") != NULL,
           "process metrics present with their types");
        ok(series_value(text, "process_resident_memory_bytes") > 1024 * 1024,
           "resident memory > 1 MiB (%.0f)", series_value(text, "process_resident_memory_bytes"));
        ok(series_value(text, "process_open_fds") == series_value(text, "test_fds") &&
               series_value(text, "process_open_fds") >= 3,
           "open fds as counted by the test in the same scrape (%.0f vs %.0f)",
           series_value(text, "process_open_fds"), series_value(text, "test_fds"));
        gettimeofday(&now, NULL);
        ok(series_value(text, "process_start_time_seconds") <= (double)now.tv_sec + 1 &&
               series_value(text, "process_start_time_seconds") > (double)now.tv_sec - 3600,
           "process start time is recent (%.3f, now %ld)",
           series_value(text, "process_start_time_seconds"), (long)now.tv_sec);
        ok(series_value(text, "process_cpu_seconds_total") >= 0, "cpu seconds present");
        ok(series_value(text, "process_max_fds") > 0, "max fds present");
        ok(series_value(text, "kizuna_build_info{version=\"" KZ_VERSION "\"}") == 1,
           "build info with the version label");
        is_int(f[1].status, 200, "GET /healthz: 200");
        is_str(buf_cstr(&f[1].body), "ok\n", "GET /healthz: ok");
        is_int(f[2].status, 503, "GET /readyz without a readiness callback: 503");
        is_str(buf_cstr(&f[2].body), "not ready: starting\n", "GET /readyz: starting");
        is_int(f[3].status, 404, "GET /nope: 404");
        is_int(f[4].status, 405, "POST /metrics: 405");
        is_int(f[5].status, 200, "HEAD /metrics: 200");
        is_int((int64_t)f[5].body.len, 0, "HEAD /metrics: no body");
        is_int(f[6].status, 200, "GET /metrics?x=1: query string ignored");
        for (size_t i = 0; i < 7; i++) {
            buf_free(&f[i].body);
        }
    }

    /* Block the loop, wait (with the phase deadline) until the lag probe has seen it. */
    uv_timer_init(&loop, &blocker);
    uv_timer_start(&blocker, block_cb, 1, 0);
    uv_check_init(&loop, &check);
    uv_check_start(&check, lag_seen_check_cb);
    {
        uv_timer_t deadline;
        phase_timed_out = 0;
        uv_timer_init(&loop, &deadline);
        uv_timer_start(&deadline, phase_deadline_cb, DEADLINE_MS, 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        ok(!phase_timed_out && procstat_lag_max(ps, 0) >= 0.1,
           "loop lag probe measured the 150 ms stall (%.3f s)", procstat_lag_max(ps, 0));
        uv_close((uv_handle_t *)&deadline, NULL);
        uv_close((uv_handle_t *)&blocker, NULL);
        uv_close((uv_handle_t *)&check, NULL);
        uv_run(&loop, UV_RUN_NOWAIT); /* finish the closes before the stack goes */
    }

    /* Phase 2: a readiness callback that says no, with a reason. */
    metrics_server_set_ready_cb(srv, ready_cb, &rd);
    auth.events = 124;
    {
        struct fetch f[] = {{.method = "GET", .path = "/readyz"},
                            {.method = "GET", .path = "/metrics"}};
        if (!ok(phase_run(&loop, &done, port, f, 2), "phase 2: answers before deadline")) {
            return;
        }
        text = buf_cstr(&f[1].body);
        is_int(f[0].status, 503, "GET /readyz not ready: 503");
        is_str(buf_cstr(&f[0].body), "not ready: kafka: partitions not assigned\n",
               "GET /readyz: the callback's reason");
        ok(series_value(text, "kizuna_loop_lag_max_seconds") >= 0.1,
           "scrape shows the max loop lag (%.3f)",
           series_value(text, "kizuna_loop_lag_max_seconds"));
        ok(series_value(text, "kizuna_input_events_total{input=\"auth\",partition=\"1\"}") == 124,
           "counter read again at the second scrape");
        ok(series_value(text, "kizuna_loop_lag_seconds") <=
               series_value(text, "kizuna_loop_lag_max_seconds"),
           "last lag <= max lag");
        buf_free(&f[0].body);
        buf_free(&f[1].body);
    }

    /* Phase 3: ready. */
    rd.ready = 1;
    {
        struct fetch f[] = {{.method = "GET", .path = "/readyz"}};
        if (!ok(phase_run(&loop, &done, port, f, 1), "phase 3: answer before deadline")) {
            return;
        }
        is_int(f[0].status, 200, "GET /readyz once ready: 200");
        is_str(buf_cstr(&f[0].body), "ready\n", "GET /readyz: ready");
        buf_free(&f[0].body);
    }
    is_int(rd.calls, 2, "readiness callback called once per /readyz");

    metrics_server_stop(srv);
    procstat_stop(ps);
    uv_close((uv_handle_t *)&done, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(count_fds(), fds_before, "after stop: listening socket and epoll fd closed");
    {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0,
           "after stop: nothing listens on the port");
        close(fd);
    }
    is_int(uv_loop_close(&loop), 0, "uv_loop_close: every handle closed");
    metrics_registry_free(reg);
}

static void
test_procstat_read(void)
{
    struct procstat_sample s;
    struct timeval now;

    is_int(procstat_read(&s), 0, "procstat_read reads /proc");
    gettimeofday(&now, NULL);
    ok(s.resident_bytes > 0 && s.virtual_bytes >= s.resident_bytes, "memory figures");
    ok(s.open_fds >= 3, "at least stdin, stdout, stderr open (%llu)",
       (unsigned long long)s.open_fds);
    ok(s.start_time > 1e9 && s.start_time <= (double)now.tv_sec + 1, "start time (%.2f)",
       s.start_time);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_render();
    test_procstat_read();
    test_server();
    curl_global_cleanup();
    return tap_done();
}
