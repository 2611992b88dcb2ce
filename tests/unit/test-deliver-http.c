/*
 * Tests of the HTTP transport (core/deliver-http.c) against tests/partner-sink.py on
 * loopback: order and headers, failures (500, hang past the timeout, closed connection, 503,
 * 429) then recovery, a rejected record kept in the rejected file, backpressure and the
 * writable callback, kill -9 of a delivering child and restart on its spool, TAXII
 * envelopes, stop with a request hanging, config checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deliver.h"
#include "errlist.h"
#include "tap.h"
#include "test-deliver-util.h"

static uv_loop_t loop;
static struct dt_sink sink;
static char url[128];

static int
submit_range(struct deliver *d, int from, int to)
{
    char id[32], data[256];

    for (int i = from; i < to; i++) {
        int r;
        snprintf(id, sizeof(id), "h-%06d", i);
        snprintf(data, sizeof(data), "{\"alert\":\"h-%06d\",\"n\":%d}\n", i, i);
        r = deliver_submit(d, id, data, strlen(data));
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

static void
check_ids(int expected, const char *what)
{
    struct dt_ids ids;

    dt_ids_check(dt_sink_cmd(&sink, "ids"), "h-", expected, &ids);
    ok(ids.unique == expected && ids.dups == 0 && ids.order && ids.unknown == 0,
       "%s: %d records arrived once each, in order (got %d, %d dups, %d missing)", what, expected,
       ids.n, ids.dups, ids.missing);
}

static struct deliver *
new_http(const char *partner, const char *extra)
{
    return dt_deliver_new(&loop, partner, dt_path("state"),
                          dt_yaml("type: http\nurl: %s\n%s", url, extra != NULL ? extra : ""));
}

static void
reset_sink(void)
{
    dt_sink_stop(&sink);
    if (dt_sink_start(&sink, "http", NULL) != 0) {
        exit(1);
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/alerts", sink.port);
}

static void
test_basic(void)
{
    const char *hf = dt_path("headers");
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;
    const char *last;
    char extra[600];
    FILE *f;

    f = fopen(hf, "w");
    fputs("# partner token\nAuthorization: Bearer s3cret\n\nX-Tenant: blue\n", f);
    fclose(f);
    chmod(hf, 0600);
    snprintf(extra, sizeof(extra), "headers_file: %s\n", hf);
    d = new_http("basic", extra);
    ok(d != NULL, "http transport starts");
    if (d == NULL) {
        return;
    }
    submit_range(d, 0, 50);
    w.d = d;
    w.n = 50;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "50 delivered");
    check_ids(50, "basic");
    last = dt_sink_cmd(&sink, "last");
    ok(strstr(last, "\"authorization\": \"Bearer s3cret\"") != NULL &&
           strstr(last, "\"x-tenant\": \"blue\"") != NULL,
       "headers from headers_file sent");
    ok(strstr(last, "\"content-type\": \"application/json\"") != NULL, "content type");
    ok(strstr(last, "\"x-kizuna-alert-id\": \"h-000049\"") != NULL, "alert id header");
    ok(strstr(last, "\"body\": \"{\\\"alert\\\":\\\"h-000049\\\",\\\"n\\\":49}\\n\"") != NULL,
       "body is the record's bytes");
    deliver_get_stats(d, &st);
    ok(st.delivered == 50 && st.retries == 0 && st.failed == 0 && st.up, "stats clean");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
}

static void
test_fail_hang_recover(void)
{
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;

    reset_sink();
    dt_sink_cmd(&sink, "script 500 500 hang close 503 429");
    d = new_http("flaky", "timeout: 300ms\nretry: {initial: 10ms, max: 40ms}\n");
    ok(d != NULL, "flaky endpoint");
    if (d == NULL) {
        return;
    }
    submit_range(d, 0, 20);
    w.d = d;
    w.n = 20;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 15000),
       "all 20 delivered through 500, 500, a hang past the timeout, a closed connection, "
       "503 and 429");
    check_ids(20, "flaky");
    deliver_get_stats(d, &st);
    is_int(st.failed, 6, "6 failed attempts counted");
    is_int(st.retries, 6, "6 backoff rounds counted");
    is_int(st.up, 1, "recovered");
    is_str(dt_sink_cmd(&sink, "requests"), "26", "26 requests: 6 failed + 20");
    dt_sink_cmd(&sink, "release");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
}

static void
test_reject(void)
{
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;
    struct dt_ids ids;
    char *text = NULL;
    size_t cap = 0;
    FILE *f;

    reset_sink();
    dt_sink_cmd(&sink, "script 200 422 200");
    d = new_http("rejecting", NULL);
    submit_range(d, 0, 10);
    w.d = d;
    w.n = 9;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "9 delivered");
    deliver_get_stats(d, &st);
    is_int(st.rejected, 1, "one rejected (422)");
    is_int(st.retries, 0, "a rejection is not retried");
    dt_ids_check(dt_sink_cmd(&sink, "ids"), "h-", 10, &ids);
    ok(ids.unique == 9 && ids.missing == 1 && ids.order && ids.dups == 0,
       "the others arrived once, in order");
    f = fopen(dt_path("state/spool/rejecting/rejected"), "r");
    ok(f != NULL && getdelim(&text, &cap, '\0', f) > 0, "rejected file written");
    ok(text != NULL && strstr(text, "\"alert_id\":\"h-000001\"") != NULL &&
           strstr(text, "HTTP 422") != NULL &&
           strstr(text, "\"data\":\"{\\\"alert\\\":\\\"h-000001\\\",\\\"n\\\":1}\\n\"") != NULL,
       "it holds the record, its id and the reason");
    free(text);
    if (f != NULL) {
        fclose(f);
    }
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
}

static int writable_calls;

static void
writable_cb(void *arg)
{
    (void)arg;
    writable_calls++;
}

static int
writable_seen(void *arg)
{
    (void)arg;
    return writable_calls > 0;
}

static void
test_backpressure(void)
{
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;
    int n, r = 0;

    reset_sink();
    dt_sink_cmd(&sink, "default 503");
    d = new_http("slow", "retry: {initial: 20ms, max: 50ms}\n"
                         "spool: {max_bytes: 64KiB, segment_bytes: 4KiB}\n");
    deliver_set_writable_cb(d, writable_cb, NULL);
    for (n = 0; n < 10000; n++) {
        r = submit_range(d, n, n + 1);
        if (r != 0) {
            break;
        }
    }
    is_int(r, -EAGAIN, "spool full while the partner fails: -EAGAIN");
    dt_run_for(&loop, 100);
    is_int(writable_calls, 0, "no writable callback while failing");
    dt_sink_cmd(&sink, "default 200");
    ok(dt_run_until(&loop, writable_seen, NULL, 10000), "writable callback after recovery");
    is_int(writable_calls, 1, "called once");
    is_int(submit_range(d, n, n + 1), 0, "the refused record is accepted now");
    w.d = d;
    w.n = (uint64_t)n + 1;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 20000), "all %d delivered", n + 1);
    check_ids(n + 1, "backpressure");
    deliver_get_stats(d, &st);
    is_int(st.refused, 1, "one refusal counted");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
}

/* Child: deliver 200 records to the sink; tell the parent once some went through and
   delivery is failing; wait to be killed. */
static void
kill9_child(int fd, const char *state)
{
    struct deliver_stats st;
    struct deliver *d;
    uv_loop_t l;

    uv_loop_init(&l);
    d = dt_deliver_new(&l, "crashy", state,
                       dt_yaml("type: http\nurl: %s\nretry: {initial: 10ms, max: 20ms}\n", url));
    if (d == NULL || submit_range(d, 0, 200) != 0) {
        _exit(1);
    }
    for (;;) {
        dt_run_for(&l, 10);
        deliver_get_stats(d, &st);
        if (st.delivered >= 30 && st.retries >= 2) {
            break;
        }
    }
    if (write(fd, "r", 1) != 1) {
        _exit(1);
    }
    for (;;) {
        dt_run_for(&l, 1000);
    }
}

static void
test_kill9_restart(void)
{
    const char *state = dt_path("state-crash");
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;
    struct dt_ids ids;
    int p[2], status;
    pid_t pid;
    char c;

    reset_sink();
    dt_sink_cmd(&sink, "script 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 "
                       "200 200 200 200 200 200 200 200 200 200 200 200 200 200 200");
    dt_sink_cmd(&sink, "default 500");
    if (pipe(p) != 0) {
        return;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        kill9_child(p[1], state);
    }
    close(p[1]);
    ok(read(p[0], &c, 1) == 1, "child delivered 30 records, then the partner went down");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(p[0]);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child killed with -9");
    dt_sink_cmd(&sink, "default 200");
    d = dt_deliver_new(&loop, "crashy", state,
                       dt_yaml("type: http\nurl: %s\nretry: {initial: 10ms, max: 20ms}\n", url));
    ok(d != NULL, "a new delivery opens the dead child's spool");
    if (d == NULL) {
        return;
    }
    deliver_get_stats(d, &st);
    ok(st.recovered >= 170 && st.recovered <= 200, "%llu records recovered",
       (unsigned long long)st.recovered);
    w.d = d;
    w.n = st.recovered;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 20000), "all recovered delivered");
    deliver_get_stats(d, &st);
    dt_ids_check(dt_sink_cmd(&sink, "ids"), "h-", 200, &ids);
    ok(ids.unique == 200 && ids.missing == 0 && ids.unknown == 0,
       "every one of the 200 arrived (%d unique)", ids.unique);
    ok(ids.order, "first arrivals in order");
    ok(ids.dups <= (int)st.redelivered_after_restart && ids.dups <= 30,
       "duplicates (%d) only across the crash and counted (%llu redelivered after restart)",
       ids.dups, (unsigned long long)st.redelivered_after_restart);
    is_int(st.redelivered_after_restart, st.recovered, "redeliveries counted separately");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
}

static void
test_taxii(void)
{
    const char *bundle = "{\"type\":\"bundle\",\"id\":\"bundle--1\",\"objects\":[{\"type\":"
                         "\"indicator\",\"id\":\"indicator--a\",\"name\":\"x]}\\\"\"}]}\n";
    const char *object = "{\"type\":\"sighting\",\"id\":\"sighting--b\"}\n";
    struct deliver *d;
    struct dt_wait w;
    const char *last;

    reset_sink();
    d = new_http("taxii", "taxii: true\n");
    deliver_submit(d, "h-000000", bundle, strlen(bundle));
    w.d = d;
    w.n = 1;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 5000), "TAXII envelope delivered");
    last = dt_sink_cmd(&sink, "last");
    ok(strstr(last, "\"content-type\": \"application/taxii+json;version=2.1\"") != NULL &&
           strstr(last, "\"accept\": \"application/taxii+json;version=2.1\"") != NULL,
       "TAXII media types");
    ok(strstr(last, "\"body\": \"{\\\"objects\\\":[{\\\"type\\\":\\\"indicator\\\",\\\"id\\\":"
                    "\\\"indicator--a\\\",\\\"name\\\":\\\"x]}\\\\\\\"\\\"}]}\"") != NULL,
       "the bundle's objects array in an envelope (strings with brackets kept whole)");
    deliver_submit(d, "h-000001", object, strlen(object));
    w.n = 2;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 5000), "a single object delivered");
    last = dt_sink_cmd(&sink, "last");
    ok(strstr(last, "\"body\": \"{\\\"objects\\\":[{\\\"type\\\":\\\"sighting\\\",\\\"id\\\":"
                    "\\\"sighting--b\\\"}]}\"") != NULL,
       "a single object is wrapped in a one-element array");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
}

static void
test_stop_hanging(void)
{
    const char *state = dt_path("state-hang");
    struct deliver *d;
    struct dt_wait w;
    struct deliver_stats st;

    reset_sink();
    dt_sink_cmd(&sink, "script hang");
    d = dt_deliver_new(&loop, "hang", state,
                       dt_yaml("type: http\nurl: %s\ndrain_timeout: 100ms\n", url));
    submit_range(d, 0, 3);
    dt_run_for(&loop, 100);
    ok(dt_deliver_stop(&loop, d, 2000), "stop returns after drain_timeout with a request "
                                        "hanging");
    dt_sink_cmd(&sink, "release");
    d = dt_deliver_new(&loop, "hang", state, dt_yaml("type: http\nurl: %s\n", url));
    deliver_get_stats(d, &st);
    is_int(st.recovered, 3, "the 3 records wait in the spool");
    w.d = d;
    w.n = 3;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 5000), "and are delivered after restart");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
}

/* A partner whose endpoint hangs and whose spool is full does not hold up another one. */
static void
test_independent(void)
{
    struct deliver *stuck, *fine;
    struct deliver_stats st;
    struct dt_wait w;
    int r = 0, n;

    reset_sink();
    dt_sink_cmd(&sink, "default hang");
    stuck = dt_deliver_new(&loop, "stuck", dt_path("state"),
                           dt_yaml("type: http\nurl: %s\ntimeout: 30s\ndrain_timeout: 10ms\n"
                                   "spool: {max_bytes: 64KiB, segment_bytes: 4KiB}\n",
                                   url));
    fine = dt_deliver_new(&loop, "fine", dt_path("state"),
                          dt_yaml("type: file\npath: %s\n", dt_path("fine.log")));
    if (!ok(stuck != NULL && fine != NULL, "two partners")) {
        return;
    }
    for (n = 0; n < 5000 && r == 0; n++) {
        r = submit_range(stuck, n, n + 1);
    }
    is_int(r, -EAGAIN, "the stuck partner's spool is full");
    is_int(submit_range(fine, 0, 300), 0, "the other partner still accepts");
    w.d = fine;
    w.n = 300;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 5000),
       "and delivers while the first one's request hangs");
    deliver_get_stats(stuck, &st);
    ok(st.delivered == 0 && st.in_flight == 1, "the stuck one has one request hanging");
    ok(dt_deliver_stop(&loop, fine, 5000), "stop the fine one");
    ok(dt_deliver_stop(&loop, stuck, 5000), "stop the stuck one (drain_timeout)");
    dt_sink_cmd(&sink, "release");
    dt_sink_cmd(&sink, "default 200");
}

/* HTTPS: verification on by default, ca_file, tls_verify: false. */
static void
test_tls(void)
{
    const char *cert = dt_path("cert.pem"), *key = dt_path("key.pem");
    struct deliver_stats st;
    struct dt_sink tls;
    struct deliver *d;
    struct dt_wait w;
    char cmd[2048], args[1100], surl[128];

    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' -days 2 "
             "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    snprintf(args, sizeof(args), "'%s' '%s'", cert, key);
    if (system(cmd) != 0 || dt_sink_start(&tls, "https", args) != 0) {
        tap_skip(6, "openssl or python ssl unavailable");
        return;
    }
    snprintf(surl, sizeof(surl), "https://127.0.0.1:%d/alerts", tls.port);
    d = dt_deliver_new(&loop, "tlsca", dt_path("state"),
                       dt_yaml("type: http\nurl: %s\nca_file: %s\n", surl, cert));
    submit_range(d, 0, 5);
    w.d = d;
    w.n = 5;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "https with ca_file: delivered");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");

    d = dt_deliver_new(&loop, "tlsstrict", dt_path("state"),
                       dt_yaml("type: http\nurl: %s\ndrain_timeout: 10ms\n"
                               "retry: {initial: 20ms, max: 50ms}\n",
                               surl));
    submit_range(d, 0, 5);
    dt_run_for(&loop, 500);
    deliver_get_stats(d, &st);
    ok(st.delivered == 0 && st.failed > 0 && !st.up,
       "a self-signed certificate is refused by default (verification on)");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");

    d = dt_deliver_new(&loop, "tlsoff", dt_path("state"),
                       dt_yaml("type: http\nurl: %s\ntls_verify: false\n", surl));
    submit_range(d, 0, 5);
    w.d = d;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "tls_verify: false: delivered");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
    dt_sink_stop(&tls);
}

static void
check_error(const char *yaml, const char *want, const char *what)
{
    struct deliver_conf dc = {"p", NULL, dt_yaml("%s", yaml), "test.yaml", NULL};
    struct errlist errs = {NULL, 0};
    int found = 0;

    is_int(deliver_check(&dc, &errs), -1, what);
    for (size_t i = 0; i < errs.n; i++) {
        found |= strstr(errs.msgs[i], want) != NULL;
    }
    if (!ok(found, "%s: \"%s\"", what, want)) {
        for (size_t i = 0; i < errs.n; i++) {
            tap_diag("got: %s", errs.msgs[i]);
        }
    }
    errlist_free(&errs);
}

static void
test_config(void)
{
    const char *hf = dt_path("open-headers");
    char y[700];
    FILE *f = fopen(hf, "w");

    fputs("Authorization: Bearer x\n", f);
    fclose(f);
    chmod(hf, 0644);
    snprintf(y, sizeof(y), "type: http\nurl: http://x/\nheaders_file: %s\n", hf);
    check_error(y, "must not be accessible by group or others", "world-readable headers_file");
    f = fopen(hf, "w");
    fputs("no colon here\n", f);
    fclose(f);
    chmod(hf, 0600);
    check_error(y, "line 1: expected \"Name: value\"", "malformed headers_file");
    check_error("type: http\nurl: ftp://x/\n", "deliver.url: must start with http", "non-http url");
    check_error("type: http\nurl: http://x/\nmax_in_flight: 4\n",
                "deliver.max_in_flight: at most 1 for http", "http keeps order");
    check_error("type: http\nurl: http://x/\ntls_verify: perhaps\n",
                "deliver.tls_verify: expected true or false", "bad boolean");
}

int
main(void)
{
    dt_init();
    uv_loop_init(&loop);
    if (dt_sink_start(&sink, "http", NULL) != 0) {
        printf("1..0 # SKIP python3 partner sink unavailable\n");
        return 0;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/alerts", sink.port);
    test_config();
    test_basic();
    test_fail_hang_recover();
    test_reject();
    test_backpressure();
    test_kill9_restart();
    test_taxii();
    test_stop_hanging();
    test_independent();
    test_tls();
    dt_sink_stop(&sink);
    dt_run_for(&loop, 10);
    is_int(uv_loop_close(&loop), 0, "every handle closed");
    dt_cleanup();
    return tap_done();
}
