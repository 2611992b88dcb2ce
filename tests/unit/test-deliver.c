/*
 * Tests of partner delivery that need no network (core/deliver.c, core/deliver-file.c):
 * config validation with FILE:LINE:COL messages, the file transport (order, reopen for
 * logrotate), draining at stop, records left in the spool delivered after a restart, a
 * failing sink with the block policy, the loop left clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver.h"
#include "errlist.h"
#include "tap.h"
#include "test-deliver-util.h"

static uv_loop_t loop;

/* Space-separated first words of every line of a file. */
static char *
file_ids(const char *path)
{
    FILE *f = fopen(path, "r");
    char *out = calloc(1, 1 << 20), line[4096];
    size_t len = 0;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        size_t w = strcspn(line, " \n");
        if (len + w + 2 < (1 << 20)) {
            memcpy(out + len, line, w);
            len += w;
            out[len++] = ' ';
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return out;
}

static int
submit_range(struct deliver *d, int from, int to)
{
    char id[32], data[128];

    for (int i = from; i < to; i++) {
        int r;
        snprintf(id, sizeof(id), "t-%06d", i);
        snprintf(data, sizeof(data), "t-%06d payload of record %d\n", i, i);
        r = deliver_submit(d, id, data, strlen(data));
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

/* Expect deliver_check() to fail with a message containing want. */
static void
check_error(const char *yaml, const char *partner, const char *want, const char *what)
{
    struct deliver_conf dc = {partner, NULL, dt_yaml("%s", yaml), "test.yaml", "/etc/kz"};
    struct errlist errs = {NULL, 0};
    int found = 0;

    is_int(deliver_check(&dc, &errs), -1, what);
    for (size_t i = 0; i < errs.n; i++) {
        if (strstr(errs.msgs[i], want) != NULL) {
            found = 1;
        }
    }
    if (!ok(found, "%s: message has \"%s\"", what, want)) {
        for (size_t i = 0; i < errs.n; i++) {
            tap_diag("got: %s", errs.msgs[i]);
        }
    }
    errlist_free(&errs);
}

static void
test_config(void)
{
    struct deliver_conf dc = {"soc", NULL, NULL, "test.yaml", "/etc/kz"};
    struct errlist errs = {NULL, 0};

    dc.deliver = dt_yaml("type: file\npath: out.json\nretry: {initial: 10ms, max: 1s}\n"
                         "spool: {max_bytes: 10MiB, policy: drop_oldest, fsync_interval: 0}\n");
    is_int(deliver_check(&dc, &errs), 0, "a valid file transport config passes");
    is_int(errs.n, 0, "no messages for a valid config");
    errlist_free(&errs);

    check_error("type: file\npath: x\nbogus: 1\n", "soc",
                "test.yaml:3:1: partner 'soc': deliver.bogus: unknown key", "unknown key");
    check_error("type: carrier-pigeon\n", "soc",
                "test.yaml:1:7: partner 'soc': deliver.type: unknown transport",
                "unknown transport");
    check_error("type: file\n", "soc", "deliver: missing key 'path'", "missing required key");
    check_error("type: file\npath: x\nretry: {initial: soon}\n", "soc",
                "deliver.retry.initial: expected a duration", "bad duration");
    check_error("type: file\npath: x\nspool: {max_bytes: 1KiB}\n", "soc",
                "deliver.spool.max_bytes: 1KiB is out of range", "size out of range");
    check_error("type: file\npath: x\nspool: {policy: maybe}\n", "soc",
                "deliver.spool.policy: unknown value \"maybe\"", "bad enum");
    check_error("type: file\npath: x\nretry: {initial: 10s, max: 1s}\n", "soc",
                "deliver.retry: max is smaller than initial", "retry max < initial");
    check_error("type: file\npath: x\n", "../etc", "invalid partner name", "partner name");
    check_error("- type: file\n", "soc", "deliver: expected a map, got a list", "not a map");
}

static void
test_file_order_reopen(void)
{
    struct dt_wait w;
    struct deliver_stats st;
    struct deliver *d;
    struct dt_ids ids;
    char *list;
    const char *out = dt_path("out.log"), *rotated = dt_path("out.log.1");

    d = dt_deliver_new(&loop, "filep", dt_path("state"),
                       dt_yaml("type: file\npath: %s\nmax_in_flight: 7\n", out));
    ok(d != NULL, "file transport starts");
    if (d == NULL) {
        return;
    }
    is_int(submit_range(d, 0, 1000), 0, "1000 records spooled");
    w.d = d;
    w.n = 1000;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "1000 delivered");
    list = file_ids(out);
    dt_ids_check(list, "t-", 1000, &ids);
    free(list);
    ok(ids.n == 1000 && ids.unique == 1000 && ids.dups == 0 && ids.order,
       "file has each record once, in order (%d lines, %d dups)", ids.n, ids.dups);
    ok(rename(out, rotated) == 0, "logrotate moves the file");
    deliver_reopen(d);
    submit_range(d, 1000, 1010);
    w.n = 1010;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "10 more delivered");
    list = file_ids(out);
    dt_ids_check(list, "t-", 1010, &ids);
    free(list);
    is_int(ids.n, 10, "after reopen the new file gets the new records");
    deliver_get_stats(d, &st);
    is_int(st.spool_records, 0, "spool empty once delivered");
    ok(st.up && st.failed == 0 && st.retries == 0, "no failures");
    ok(dt_deliver_stop(&loop, d, 5000), "stop completes");
}

static void
test_stop_drains(void)
{
    const char *out = dt_path("drain.log");
    struct deliver *d;
    struct dt_ids ids;
    char *list;

    d = dt_deliver_new(&loop, "drain", dt_path("state"), dt_yaml("type: file\npath: %s\n", out));
    submit_range(d, 0, 500);
    ok(dt_deliver_stop(&loop, d, 10000), "stop right after submitting");
    list = file_ids(out);
    dt_ids_check(list, "t-", 500, &ids);
    free(list);
    ok(ids.unique == 500 && ids.dups == 0 && ids.order, "stop drained all 500 in order");
}

static int writable_called;

static void
writable_cb(void *arg)
{
    (void)arg;
    writable_called++;
}

static void
test_failing_block_then_restart(void)
{
    const char *state = dt_path("state-fail");
    const char *out = dt_path("later.log");
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;
    struct dt_ids ids;
    char *list;
    int r = 0, n;

    /* /dev/full: every write fails with ENOSPC */
    d = dt_deliver_new(&loop, "stuck", state,
                       dt_yaml("type: file\npath: /dev/full\nretry: {initial: 5ms, max: 20ms}\n"
                               "drain_timeout: 50ms\n"
                               "spool: {max_bytes: 64KiB, segment_bytes: 4KiB}\n"));
    ok(d != NULL, "a failing sink starts");
    if (d == NULL) {
        return;
    }
    deliver_set_writable_cb(d, writable_cb, NULL);
    for (n = 0; n < 5000; n++) {
        r = submit_range(d, n, n + 1);
        if (r != 0) {
            break;
        }
        if (n % 50 == 0) {
            dt_run_for(&loop, 1);
        }
    }
    is_int(r, -EAGAIN, "block: the full spool refuses with -EAGAIN");
    ok(n > 500 && n < 2000, "block: about 64 KiB were spooled (%d records)", n);
    dt_run_for(&loop, 100);
    deliver_get_stats(d, &st);
    ok(st.retries >= 3, "retries counted while failing (%llu)", (unsigned long long)st.retries);
    ok(st.failed >= st.retries, "failed attempts counted");
    is_int(st.up, 0, "partner is down");
    is_int(st.delivered, 0, "nothing delivered");
    is_int(st.refused, 1, "one refusal counted");
    is_int(writable_called, 0, "no writable callback while still full");
    ok(dt_deliver_stop(&loop, d, 5000), "stop gives up after drain_timeout");

    /* restart with a working path: everything spooled arrives, in order */
    d = dt_deliver_new(&loop, "stuck", state, dt_yaml("type: file\npath: %s\n", out));
    ok(d != NULL, "restart on the same spool");
    if (d == NULL) {
        return;
    }
    deliver_get_stats(d, &st);
    is_int(st.recovered, n, "restart: every spooled record recovered");
    w.d = d;
    w.n = (uint64_t)n;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "restart: all delivered");
    deliver_get_stats(d, &st);
    is_int(st.redelivered_after_restart, n, "restart: counted as delivered after restart");
    list = file_ids(out);
    dt_ids_check(list, "t-", n, &ids);
    free(list);
    ok(ids.unique == n && ids.dups == 0 && ids.order, "restart: each once, in order");
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
}

static void
test_too_large(void)
{
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;
    char big[2000], *text = NULL;
    size_t cap = 0;
    FILE *f;

    d = dt_deliver_new(
        &loop, "toolarge", dt_path("state"),
        dt_yaml("type: file\npath: %s\nspool: {max_record: 1KiB}\n", dt_path("toolarge.log")));
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    is_int(deliver_submit(d, "t-big", big, strlen(big)), 0,
           "a record over max_record is not refused (no endless backpressure)");
    is_int(submit_range(d, 0, 1), 0, "the next one is spooled");
    w.d = d;
    w.n = 1;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 5000), "and delivered");
    deliver_get_stats(d, &st);
    ok(st.rejected == 1 && st.refused == 0 && st.submitted == 1, "counted as rejected");
    f = fopen(dt_path("state/spool/toolarge/rejected"), "r");
    ok(f != NULL && getdelim(&text, &cap, '\0', f) > 0 && strstr(text, "\"alert_id\":\"t-big\"") &&
           strstr(text, "larger than spool.max_record") && strstr(text, "bbbbbbbbbb"),
       "it is kept in the rejected file with the reason");
    free(text);
    if (f != NULL) {
        fclose(f);
    }
    ok(dt_deliver_stop(&loop, d, 5000), "stop");
}

static void
stopped_cb(void *arg)
{
    *(int *)arg = 1;
}

static int
flag_set(void *arg)
{
    return *(int *)arg != 0;
}

static void
test_drop_oldest_and_free(void)
{
    int stopped = 0;
    const char *state = dt_path("state-drop");
    struct deliver_stats st;
    struct deliver *d;
    struct dt_wait w;
    struct dt_ids ids;
    char *list;
    int r = 0, n;

    d = dt_deliver_new(&loop, "dropper", state,
                       dt_yaml("type: file\npath: /dev/full\nretry: {initial: 5ms, max: 20ms}\n"
                               "spool: {max_bytes: 64KiB, segment_bytes: 4KiB, "
                               "policy: drop_oldest, fsync_interval: 0}\n"));
    ok(d != NULL, "drop_oldest with fsync after every record");
    if (d == NULL) {
        return;
    }
    for (n = 0; n < 3000 && r == 0; n++) {
        r = submit_range(d, n, n + 1);
    }
    is_int(r, 0, "drop_oldest: the failing partner never refuses a submit");
    deliver_get_stats(d, &st);
    ok(st.dropped > 1000, "oldest records dropped and counted (%llu)",
       (unsigned long long)st.dropped);
    ok(st.spool_bytes <= 64 * 1024, "spool stays within max_bytes");
    /* free without stop: handles close on the loop, the rest stays in the spool */
    deliver_free(d);
    dt_run_for(&loop, 20);
    d = dt_deliver_new(&loop, "dropper", state,
                       dt_yaml("type: file\npath: %s\n", dt_path("dropper.log")));
    ok(d != NULL, "freed without stop: the spool opens again");
    if (d == NULL) {
        return;
    }
    deliver_get_stats(d, &st);
    ok(st.recovered > 0 && st.recovered < 3000, "%llu newest records recovered",
       (unsigned long long)st.recovered);
    w.d = d;
    w.n = st.recovered;
    ok(dt_run_until(&loop, dt_delivered_at_least, &w, 10000), "and delivered");
    list = file_ids(dt_path("dropper.log"));
    dt_ids_check(list, "t-", 3000, &ids);
    ok(ids.order && ids.dups == 0 && (uint64_t)ids.unique == st.recovered &&
           strstr(list, "t-002999 ") != NULL,
       "in order, each once, ending with the newest");
    free(list);
    deliver_stop(d, stopped_cb, &stopped);
    ok(dt_run_until(&loop, flag_set, &stopped, 5000), "stop");
    is_int(deliver_submit(d, "x", "y", 1), -ESHUTDOWN, "a stopped delivery refuses submits");
    deliver_free(d);
}

int
main(void)
{
    dt_init();
    uv_loop_init(&loop);
    test_config();
    test_file_order_reopen();
    test_stop_drains();
    test_failing_block_then_restart();
    test_drop_oldest_and_free();
    test_too_large();
    dt_run_for(&loop, 10);
    is_int(uv_loop_close(&loop), 0, "every handle closed");
    dt_cleanup();
    return tap_done();
}
