/*
 * Tests of the syslog transport (core/deliver-syslog.c) against tests/partner-sink.py:
 * TCP with RFC 6587 octet counting parsed back by the receiver (every record once, in
 * order, including messages with newlines), the receiver hanging up mid-stream and going
 * down then up again, UDP datagrams, an over-long record rejected, config checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "errlist.h"
#include "tap.h"
#include "test-deliver-util.h"

static uv_loop_t loop;

static int
submit_range(struct deliver *d, int from, int to)
{
    char id[32], data[256];

    for (int i = from; i < to; i++) {
        int r;
        snprintf(id, sizeof(id), "s-%06d", i);
        /* an RFC 5424 line as out_syslog writes it; the id is the last word. Every 10th
           message has an embedded newline (octet counting carries it). */
        snprintf(data, sizeof(data),
                 "<132>1 2026-11-27T01:02:03.000004Z sensor kizuna - alert - rule%s"
                 "matched s-%06d\n",
                 i % 10 == 0 ? "\n" : " ", i);
        r = deliver_submit(d, id, data, strlen(data));
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

static void
check_sink(struct dt_sink *s, int n, int max_dups, const char *what)
{
    struct dt_ids ids;
    char cmd[64];

    snprintf(cmd, sizeof(cmd), "wait %d 10", n);
    dt_sink_cmd(s, "%s", cmd);
    dt_ids_check(dt_sink_cmd(s, "ids"), "s-", n, &ids);
    ok(ids.unique == n && ids.missing == 0 && ids.unknown == 0 && ids.order,
       "%s: %d messages arrived, in order (%d received, %d missing)", what, n, ids.n, ids.missing);
    ok(ids.dups <= max_dups, "%s: duplicates %d <= %d", what, ids.dups, max_dups);
}

static void
test_tcp(void)
{
    struct deliver_stats st;
    struct dt_sink s;
    struct deliver *d;
    struct dt_wait w;
    const char *dump;

    if (dt_sink_start(&s, "tcp", NULL) != 0) {
        tap_skip(1, "no sink");
        return;
    }
    d = dt_deliver_new(&loop, "syslogtcp", dt_path("state"),
                       dt_yaml("type: syslog\naddress: tcp://127.0.0.1:%d\ntimeout: 1s\n"
                               "retry: {initial: 10ms, max: 50ms}\n",
                               s.port));
    ok(d != NULL, "syslog tcp transport starts");
    if (d == NULL) {
        dt_sink_stop(&s);
        return;
    }
    submit_range(d, 0, 500);
    w.d = d;
    w.n = 500;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000),
       "500 delivered (acknowledged by the receiver's TCP)");
    check_sink(&s, 500, 0, "tcp");
    is_str(dt_sink_cmd(&s, "errors"), "0", "the receiver parsed every octet-counted frame");
    dump = dt_sink_cmd(&s, "dump");
    ok(strstr(dump, "\"msg\": \"<132>1 2026-11-27T01:02:03.000004Z sensor kizuna - alert - "
                    "rule\\nmatched s-000010\"") != NULL,
       "a message with a newline arrives whole, trailing newline stripped");

    /* the receiver hangs up while records flow */
    submit_range(d, 500, 1500);
    w.n = 700;
    dt_run_until(&loop, dt_delivered_at_least, &w, 10000);
    dt_sink_cmd(&s, "kick");
    w.n = 1500;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "all 1500 after a hang-up");
    deliver_get_stats(d, &st);
    check_sink(&s, 1500, (int)st.failed, "hang-up");

    /* the receiver goes away, then comes back */
    dt_sink_cmd(&s, "down");
    dt_run_for(&loop, 50); /* the transport sees the hang-up */
    submit_range(d, 1500, 1600);
    dt_run_for(&loop, 300);
    deliver_get_stats(d, &st);
    ok(st.delivered < 1600 && !st.up && st.retries > 0,
       "receiver down: failing, retries counted (%llu)", (unsigned long long)st.retries);
    dt_sink_cmd(&s, "up");
    w.n = 1600;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "receiver up: all 1600");
    deliver_get_stats(d, &st);
    check_sink(&s, 1600, (int)st.failed, "down/up");
    is_str(dt_sink_cmd(&s, "errors"), "0", "no framing error through reconnections");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
    dt_sink_stop(&s);
}

static void
test_udp(void)
{
    struct deliver_stats st;
    struct dt_sink s;
    struct deliver *d;
    struct dt_wait w;
    char big[300];

    if (dt_sink_start(&s, "udp", NULL) != 0) {
        tap_skip(1, "no sink");
        return;
    }
    d = dt_deliver_new(
        &loop, "syslogudp", dt_path("state"),
        dt_yaml("type: syslog\naddress: udp://127.0.0.1:%d\nmax_message: 200\n", s.port));
    ok(d != NULL, "syslog udp transport starts");
    if (d == NULL) {
        dt_sink_stop(&s);
        return;
    }
    submit_range(d, 0, 200);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    deliver_submit(d, "big", big, strlen(big));
    w.d = d;
    w.n = 200;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "200 datagrams sent");
    check_sink(&s, 200, 0, "udp");
    deliver_get_stats(d, &st);
    is_int(st.rejected, 1, "the record longer than max_message is rejected, not cut");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
    dt_sink_stop(&s);
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
    check_error("type: syslog\naddress: 127.0.0.1:514\n", "deliver.address: expected tcp://",
                "scheme required");
    check_error("type: syslog\naddress: tcp://host\n", "expected host:port", "port required");
    check_error("type: syslog\naddress: udp://[::1]:70000\n", "bad port", "port range");
    check_error("type: syslog\naddress: udp://h:514\nmax_message: 1MiB\n",
                "a UDP datagram holds at most 65507 bytes", "udp max_message");
}

int
main(void)
{
    dt_init();
    uv_loop_init(&loop);
    test_config();
    test_tcp();
    test_udp();
    dt_run_for(&loop, 10);
    is_int(uv_loop_close(&loop), 0, "every handle closed");
    dt_cleanup();
    return tap_done();
}
