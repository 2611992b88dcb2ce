/*
 * State store conformance: every operation of state.h driven directly, with known answers.
 * Built plain it runs against the in-memory backend; built with -DSTATE_TEST_REDIS
 * (test-corr-state-redis) the same assertions run against the Redis backend on a private
 * redis-server (state-test.h says how, and which few assertions only an in-memory store
 * can answer). Also checks the memory bound per event_count group.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state-test.h"
#include "state.h"
#include "tap.h"
#include "xmalloc.h"

#define S(x) ((int64_t)((x) * 1000000.0))

static struct state_store *
new_store(uint64_t per_slot, uint64_t total)
{
    struct state_limits lim = {per_slot, total};

    return st_new(&lim);
}

static struct state_input
in_at(double secs, const char *src, int64_t pos)
{
    struct state_input in;

    memset(&in, 0, sizeof(in));
    in.time_us = S(secs);
    in.ref.source = src;
    in.ref.partition = -1;
    in.ref.pos = pos;
    return in;
}

static struct state_slot_spec
spec_count(uint32_t gte, int64_t timespan, int64_t suppress)
{
    struct state_slot_spec sp;

    memset(&sp, 0, sizeof(sp));
    sp.rule_id = "count";
    sp.kind = STATE_WINDOW;
    sp.agg = STATE_AGG_COUNT;
    sp.timespan_us = timespan;
    sp.suppress_us = suppress;
    sp.cond.has_lo = 1;
    sp.cond.lo = gte;
    sp.max_entries = gte;
    return sp;
}

static int
add(struct state_store *st, uint32_t slot, const char *key, double t, struct state_result *res)
{
    struct state_input in = in_at(t, "f.log", (int64_t)(t * 10));

    return st_window_add(st, slot, key, strlen(key), &in, res);
}

static void
test_window(void)
{
    struct state_store *st = new_store(0, 0);
    struct state_slot_spec sp = spec_count(3, S(10), -1);
    struct state_input in;
    struct state_result res;
    struct state_stats ss;
    int fired = 0;

    ok(state_slot_open(st, 0, &sp) == 0, "open a sliding count slot");
    add(st, 0, "k", 0, &res);
    add(st, 0, "k", 5, &res);
    add(st, 0, "k", 10, &res);
    ok(!res.fired, "0, 5, 10 with timespan 10: 0 leaves at 10, only 2");
    add(st, 0, "k", 14.999999, &res);
    ok(res.fired && res.count == 3 && res.window_start_us == S(5) && res.time_us == S(14.999999),
       "5, 10, 14.999999: fires, window start 5");
    ok(res.nev == 3 && res.ev[0].time_us == S(5) && strcmp(res.ev[0].ref.source, "f.log") == 0 &&
           res.ev[0].ref.pos == 50 && res.ev[2].ref.pos == 149,
       "evidence: the three events with their source positions");
    ok(res.key_len == 1 && strcmp(res.key, "k") == 0 && res.slot == 0, "result names the group");
    /* Its own position: a store that records event identities takes an event with the
     * trigger's time and position for a replay of the trigger (test-corr-state-redis). */
    in = in_at(14.9999995, "f.log", 1499);
    st_window_add(st, 0, "k", 1, &in, &res);
    ok(res.absorbed && !res.fired, "during the suppression (to 15 = 5 + 10) events are absorbed");
    add(st, 0, "k", 15, &res);
    add(st, 0, "k", 16, &res);
    ok(!res.fired && !res.absorbed, "at 15 a new window starts");
    add(st, 0, "k", 17, &res);
    fired = res.fired && res.window_start_us == S(15);
    ok(fired, "15, 16, 17 fire again");
    state_stats(st, 0, &ss);
    if (st_caps.local) {
        ok(ss.fired == 2 && ss.absorbed == 1 && ss.groups == 1 && ss.created == 1,
           "stats: 2 fired, 1 absorbed, 1 group");
    } else {
        ok(ss.fired == 2 && ss.absorbed == 1, "stats: 2 fired, 1 absorbed");
    }

    /* Expiry: after the suppression (until 25) and the window, the group goes. */
    if (st_caps.local) {
        state_expire(st, S(26.999999));
        state_stats(st, 0, &ss);
        is_int(ss.groups, 1, "kept until last event + timespan (27)");
        state_expire(st, S(27));
        state_stats(st, 0, &ss);
        ok(ss.groups == 0 && ss.expired == 1, "expired at 27");
    } else {
        tap_skip(2, st_caps.why);
    }

    /* Explicit suppression longer than the window. */
    sp = spec_count(2, S(10), S(100));
    state_slot_open(st, 1, &sp);
    add(st, 1, "k", 0, &res);
    add(st, 1, "k", 1, &res);
    ok(res.fired, "slot 1 fires at 1");
    add(st, 1, "k", 100.999999, &res);
    ok(res.absorbed, "suppress 100 s: absorbed until 101");
    if (st_caps.local) {
        state_expire(st, S(100));
        state_stats(st, 1, &ss);
        is_int(ss.groups, 1, "a suppressed group outlives its window");
        state_expire(st, S(101));
        state_stats(st, 1, &ss);
        is_int(ss.groups, 0, "and expires when the suppression ends");
    } else {
        tap_skip(2, st_caps.why);
    }

    /* Keys are per slot; a key with a NUL byte is its own key. */
    sp = spec_count(2, S(10), -1);
    state_slot_open(st, 2, &sp);
    st_window_add(st, 2, "a\0b", 3, &(struct state_input){.time_us = S(0)}, &res);
    st_window_add(st, 2, "a\0c", 3, &(struct state_input){.time_us = S(1)}, &res);
    ok(!res.fired, "keys differing after a NUL byte are different groups");
    st_window_add(st, 2, "a\0b", 3, &(struct state_input){.time_us = S(2)}, &res);
    ok(res.fired && res.key_len == 3 && memcmp(res.key, "a\0b", 3) == 0,
       "the result key keeps its length");
    ok(st_window_add(st, 9, "x", 1, &(struct state_input){.time_us = 0}, &res) == -1,
       "an operation on a slot never opened fails");
    st_free(st);
}

static void
test_sum_truncation(void)
{
    struct state_store *st = new_store(0, 0);
    struct state_slot_spec sp;
    struct state_result res;
    struct state_input in;
    struct state_stats ss;

    memset(&sp, 0, sizeof(sp));
    sp.rule_id = "sum";
    sp.kind = STATE_WINDOW;
    sp.agg = STATE_AGG_SUM;
    sp.timespan_us = S(100);
    sp.suppress_us = -1;
    sp.cond.has_lo = 1;
    sp.cond.lo = 100;
    sp.cond.lo_strict = 1;
    sp.max_entries = 4;
    state_slot_open(st, 0, &sp);
    for (int i = 0; i < 6; i++) {
        in = in_at(i, "f", i + 1);
        in.num = 20;
        st_window_add(st, 0, "g", 1, &in, &res);
    }
    state_stats(st, 0, &ss);
    ok(!res.fired && ss.truncated == 2,
       "max_entries 4: 6 events of 20 keep the newest 4 (sum 80), 2 truncated and counted");
    in = in_at(6, "f", 7);
    in.num = 50;
    st_window_add(st, 0, "g", 1, &in, &res);
    state_stats(st, 0, &ss);
    ok(res.fired && res.has_value && res.value == 110 && res.count == 4 && ss.truncated == 3,
       "a 7th event of 50: 3 x 20 + 50 = 110 > 100 fires over the 4 kept events");
    st_free(st);
}

static void
test_at_close_and_timers(void)
{
    struct state_store *st = new_store(0, 0);
    struct state_slot_spec sp;
    struct state_result res;
    struct state_input in;
    int n;

    memset(&sp, 0, sizeof(sp));
    sp.rule_id = "avg";
    sp.kind = STATE_WINDOW;
    sp.agg = STATE_AGG_AVG;
    sp.at_close = 1;
    sp.timespan_us = S(10);
    sp.suppress_us = -1;
    sp.cond.has_lo = 1;
    sp.cond.lo = 10;
    state_slot_open(st, 0, &sp);
    memset(&sp, 0, sizeof(sp));
    sp.rule_id = "beat";
    sp.kind = STATE_ABSENCE;
    sp.nsteps = 1;
    sp.timespan_us = S(5);
    sp.suppress_us = -1;
    state_slot_open(st, 1, &sp);

    ok(st_next_due(st) == INT64_MAX, "no timers yet");
    in = in_at(0, "a", 1);
    in.num = 8;
    st_window_add(st, 0, "x", 1, &in, &res);
    in = in_at(3, "a", 2);
    in.num = 14;
    st_window_add(st, 0, "x", 1, &in, &res);
    ok(!res.fired, "a window evaluated at close does not fire on events");
    in = in_at(2, "b", 1);
    st_absence_touch(st, 1, "h", 1, &in, &res);
    is_int(st_next_due(st), S(7), "earliest timer: heartbeat at 2 + 5");
    is_int(st_fire_due(st, S(6.999999), &res), 0, "nothing due before 7");
    ok(st_fire_due(st, S(7), &res) == 1 && res.fired && res.slot == 1 &&
           res.time_us == S(7) && res.window_start_us == S(2) && res.count == 0 &&
           res.nev == 1 && strcmp(res.ev[0].ref.source, "b") == 0,
       "absence fires at 7 with the last heartbeat as evidence");
    is_int(st_next_due(st), S(10), "next: the window [0, 10) closes at 10");
    ok(st_fire_due(st, S(100), &res) == 1 && res.fired && res.slot == 0 &&
           res.time_us == S(10) && res.value == 11 && res.count == 2 && res.nev == 2,
       "window closes at 10: average 11 >= 10");
    is_int(st_next_due(st), INT64_MAX, "no timers left");
    n = 0;
    while (st_fire_due(st, INT64_MAX, &res) == 1) {
        n++;
    }
    is_int(n, 0, "fire_due reports nothing more");

    /* Equal deadlines fire in a stable order; chained inserts keep the order sorted. */
    for (int i = 0; i < 5; i++) {
        char k[8];
        snprintf(k, sizeof(k), "h%d", i);
        in = in_at(20 + (i % 2), "b", i);
        st_absence_touch(st, 1, k, strlen(k), &in, &res);
    }
    {
        int64_t last = INT64_MIN;
        int sorted = 1;
        n = 0;
        while (st_fire_due(st, S(100), &res) == 1) {
            sorted &= res.time_us >= last;
            last = res.time_us;
            n++;
        }
        ok(n == 5 && sorted, "5 absence timers fire in deadline order");
    }
    st_free(st);
}

static void
test_distinct(void)
{
    struct state_store *st = new_store(0, 0);
    struct state_slot_spec sp;
    struct state_result res;
    struct state_input in;
    const char *vals[] = {"alice", "bob", "alice", "a-very-long-user-name-that-is-cut-at-31-bytes"};

    memset(&sp, 0, sizeof(sp));
    sp.rule_id = "users";
    sp.kind = STATE_DISTINCT;
    sp.timespan_us = S(60);
    sp.suppress_us = 0;
    sp.cond.has_lo = 1;
    sp.cond.lo = 3;
    sp.max_entries = 3;
    state_slot_open(st, 0, &sp);
    for (int i = 0; i < 4; i++) {
        in = in_at(i * 10, "auth", i);
        in.val = vals[i];
        in.val_len = strlen(vals[i]);
        st_distinct_add(st, 0, "ip", 2, &in, &res);
    }
    ok(res.fired && res.count == 3 && res.window_start_us == S(10),
       "3 distinct values; alice seen again at 20 moves it, bob (10) is the oldest");
    ok(res.nev == 3 && strcmp(res.ev[0].val, "bob") == 0 && strcmp(res.ev[1].val, "alice") == 0 &&
           res.ev[2].val_len == 31 && strncmp(res.ev[2].val, vals[3], 31) == 0,
       "evidence values in order of last sighting; long values cut at 31 bytes");
    /* suppress 0: no suppression, the set restarts empty. */
    in = in_at(31, "auth", 9);
    in.val = "carol";
    in.val_len = 5;
    st_distinct_add(st, 0, "ip", 2, &in, &res);
    ok(!res.fired && !res.absorbed, "suppress 0s: the next event starts a new set");
    in = in_at(100, "auth", 10);
    in.val = "dave";
    in.val_len = 4;
    st_distinct_add(st, 0, "ip", 2, &in, &res);
    ok(!res.fired, "carol left the window (31 + 60 <= 100): one value");

    /* Steps (temporal): values are step numbers. */
    memset(&sp, 0, sizeof(sp));
    sp.rule_id = "temporal";
    sp.kind = STATE_DISTINCT;
    sp.nsteps = 3;
    sp.timespan_us = S(10);
    sp.suppress_us = -1;
    sp.cond.has_lo = 1;
    sp.cond.lo = 3;
    state_slot_open(st, 1, &sp);
    for (uint32_t step = 3; step-- > 0;) {
        in = in_at(3 - step, "x", step);
        in.step = step;
        st_distinct_add(st, 1, "g", 1, &in, &res);
    }
    ok(res.fired && res.nev == 3 && res.ev[0].step == 2 && res.ev[2].step == 0,
       "temporal: steps 2, 1, 0 fire, evidence names the steps");
    st_free(st);
}

static void
test_sequence(void)
{
    struct state_store *st = new_store(0, 0);
    struct state_slot_spec sp;
    struct state_result res;
    struct state_input in;
    struct state_stats ss;

    memset(&sp, 0, sizeof(sp));
    sp.rule_id = "seq";
    sp.kind = STATE_SEQUENCE;
    sp.nsteps = 3;
    sp.timespan_us = S(10);
    sp.suppress_us = -1;
    state_slot_open(st, 0, &sp);
    in = in_at(0, "s", 1);
    in.step = 1;
    st_sequence_advance(st, 0, "g", 1, &in, &res);
    state_stats(st, 0, &ss);
    if (st_caps.local) {
        is_int(ss.groups, 0, "a later step with nothing started creates no state");
    } else {
        ok(!res.fired && !res.absorbed, "a later step with nothing started does nothing");
    }
    in = in_at(1, "s", 2);
    in.step = 0;
    st_sequence_advance(st, 0, "g", 1, &in, &res);
    in = in_at(2, "s", 3);
    in.step = 2;
    st_sequence_advance(st, 0, "g", 1, &in, &res);
    ok(!res.fired, "step 2 right after step 0: out of order, nothing");
    in = in_at(5, "s", 4);
    in.step = 0;
    st_sequence_advance(st, 0, "g", 1, &in, &res);
    in = in_at(6, "s", 5);
    in.step = 1;
    st_sequence_advance(st, 0, "g", 1, &in, &res);
    in = in_at(14.999999, "s", 6);
    in.step = 2;
    st_sequence_advance(st, 0, "g", 1, &in, &res);
    ok(res.fired && res.window_start_us == S(5) && res.count == 3 && res.nev == 3 &&
           res.ev[0].ref.pos == 4 && res.ev[1].ref.pos == 5 && res.ev[2].ref.pos == 6,
       "0 at 5, 1 at 6, 2 at 14.999999: the latest start (5) completes within 10 s");
    in = in_at(20, "s", 7);
    in.step = 0;
    st_sequence_advance(st, 0, "g", 1, &in, &res);
    in = in_at(21, "s", 8);
    in.step = 1;
    st_sequence_advance(st, 0, "g", 1, &in, &res);
    in = in_at(30, "s", 9);
    in.step = 2;
    st_sequence_advance(st, 0, "g", 1, &in, &res);
    ok(!res.fired, "the last step exactly timespan after the first is too late");
    st_free(st);
}

static void
test_absence_pairs(void)
{
    struct state_store *st = new_store(0, 0);
    struct state_slot_spec sp;
    struct state_result res;
    struct state_input in;
    struct state_stats ss;

    memset(&sp, 0, sizeof(sp));
    sp.rule_id = "ab";
    sp.kind = STATE_ABSENCE;
    sp.nsteps = 2;
    sp.timespan_us = S(10);
    sp.suppress_us = S(100);
    state_slot_open(st, 0, &sp);
    in = in_at(0, "j", 1);
    in.step = 1;
    st_absence_touch(st, 0, "g", 1, &in, &res);
    state_stats(st, 0, &ss);
    if (st_caps.local) {
        is_int(ss.groups, 0, "B with nothing pending creates no state");
    } else {
        is_int(st_next_due(st), INT64_MAX, "B with nothing pending arms nothing");
    }
    in.step = 0;
    st_absence_touch(st, 0, "g", 1, &in, &res);
    in = in_at(5, "j", 2);
    in.step = 1;
    st_absence_touch(st, 0, "g", 1, &in, &res);
    is_int(st_next_due(st), INT64_MAX, "A answered by B: no timer");
    in = in_at(20, "j", 3);
    in.step = 0;
    st_absence_touch(st, 0, "g", 1, &in, &res);
    ok(st_fire_due(st, S(30), &res) == 1 && res.fired && res.time_us == S(30) &&
           res.count == 1,
       "A at 20 unanswered: fires at 30");
    in = in_at(40, "j", 4);
    in.step = 0;
    st_absence_touch(st, 0, "g", 1, &in, &res);
    ok(res.absorbed && st_next_due(st) == INT64_MAX,
       "suppress 100 s: a new A at 40 is absorbed");
    in = in_at(130, "j", 5);
    in.step = 0;
    st_absence_touch(st, 0, "g", 1, &in, &res);
    is_int(st_next_due(st), S(140), "after the suppression a new A arms again");
    st_free(st);
}

static void
test_limits(void)
{
    struct state_store *st;
    struct state_slot_spec sp = spec_count(5, S(60), -1);
    struct state_result res;
    struct state_stats ss, total;
    struct buf dump = {0};

    if (!st_caps.local) {
        tap_skip(5, st_caps.why);
        return;
    }
    st = new_store(3, 5);
    state_slot_open(st, 0, &sp);
    sp.rule_id = "other";
    state_slot_open(st, 1, &sp);
    for (int i = 0; i < 5; i++) {
        char k[8];
        snprintf(k, sizeof(k), "a%d", i);
        add(st, 0, k, i, &res);
    }
    state_stats(st, 0, &ss);
    ok(ss.groups == 3 && ss.evicted == 2, "3 groups per slot: the 2 oldest evicted");
    for (int i = 0; i < 3; i++) {
        char k[8];
        snprintf(k, sizeof(k), "b%d", i);
        add(st, 1, k, 10 + i, &res);
    }
    state_stats(st, UINT32_MAX, &total);
    state_stats(st, 0, &ss);
    ok(total.groups == 5 && total.evicted == 3 && ss.groups == 2,
       "5 groups in total: slot 0's oldest gave way to slot 1 (%" PRIu64 " left)", ss.groups);
    state_dump_slot(st, 0, &dump);
    ok(strstr(buf_cstr(&dump), "\"group\":\"a3\"") != NULL &&
           strstr(buf_cstr(&dump), "\"group\":\"a2\"") == NULL,
       "dump: the oldest group (a2) is gone, a3 is there");
    ok(buf_cstr(&dump)[0] == '[' && dump.data[dump.len - 1] == ']', "dump is a JSON array");
    state_slot_drop(st, 0);
    state_stats(st, UINT32_MAX, &total);
    is_int(total.groups, 3, "dropping a slot drops its groups");
    buf_free(&dump);
    st_free(st);
}

static void
test_sources(void)
{
    struct state_store *st = new_store(0, 0);
    struct state_slot_spec sp = spec_count(2, S(60), -1);
    struct state_result res;
    struct state_input in;
    char name[32];

    /* The same buffer carries different source names: each keeps its own. */
    state_slot_open(st, 0, &sp);
    strcpy(name, "topic-a");
    in = in_at(0, name, 100);
    in.ref.partition = 3;
    st_window_add(st, 0, "g", 1, &in, &res);
    strcpy(name, "topic-b");
    in = in_at(1, name, 7);
    in.ref.partition = 3;
    st_window_add(st, 0, "g", 1, &in, &res);
    ok(res.fired && strcmp(res.ev[0].ref.source, "topic-a") == 0 &&
           res.ev[0].ref.partition == 3 && res.ev[0].ref.pos == 100 &&
           strcmp(res.ev[1].ref.source, "topic-b") == 0 && res.ev[1].ref.pos == 7,
       "evidence keeps topic/partition/offset, also when the name buffer is reused");
    in = in_at(100, NULL, 0);
    st_window_add(st, 0, "h", 1, &in, &res);
    in = in_at(101, NULL, 0);
    st_window_add(st, 0, "h", 1, &in, &res);
    ok(res.fired && res.ev[0].ref.source == NULL, "no source: evidence says so (NULL)");
    st_free(st);
}

/* Bytes per event_count group (gte 5, 60 s), each holding `events` events. */
static double
bytes_per_group(size_t ngroups, int events)
{
    struct state_store *st = new_store(0, 0);
    struct state_slot_spec sp = spec_count(5, S(3600), -1);
    struct state_result res;
    struct state_stats total;
    char key[32];
    double per;

    state_slot_open(st, 0, &sp);
    for (int e = 0; e < events; e++) {
        for (size_t i = 0; i < ngroups; i++) {
            struct state_input in = in_at(e, "/var/log/auth.log", (int64_t)i);
            int n = snprintf(key, sizeof(key), "203.%zu.%zu.%zu", (i >> 16) & 255,
                             (i >> 8) & 255, i & 255);
            st_window_add(st, 0, key, (size_t)n, &in, &res);
        }
    }
    state_stats(st, UINT32_MAX, &total);
    per = (double)total.bytes / (double)total.groups;
    st_free(st);
    return per;
}

static void
test_memory(void)
{
    double one, four;

    if (!st_caps.local) {
        tap_skip(2, "redis: bytes per group are measured by contrib/bench (MEMORY USAGE)");
        return;
    }
    one = bytes_per_group(100000, 1);
    four = bytes_per_group(100000, 4);

    ok(one <= 200, "event_count group with 1 event: %.1f bytes (<= 200)", one);
    ok(four <= 200, "event_count group with 4 events (threshold 5): %.1f bytes (<= 200)", four);
}

int
main(void)
{
    if (st_setup() != 0) {
        printf("1..0 # SKIP no redis-server to test against\n");
        return 0;
    }
    test_window();
    test_sum_truncation();
    test_at_close_and_timers();
    test_distinct();
    test_sequence();
    test_absence_pairs();
    test_limits();
    test_sources();
    test_memory();
    st_teardown();
    return tap_done();
}
