#!/bin/sh
# Chaos: correlation state in Redis (state.backend: redis), and Redis killed. A private
# redis-server with an append-only file fsynced on every write (what a deployment that
# cares about its state runs) is killed with SIGKILL twice while records flow, and
# restarted from its file each time once kizunad noticed (inputs pause meanwhile:
# state.on_unavailable: pause); then kizunad itself is killed with SIGKILL at a random
# moment and restarted. Because the state survives both, every alert must equal the
# undisturbed run's, correlation included, and no process may decide an alert twice (the
# server-side script decides once and makes a replayed event a no-op). Alerts of records
# read again after the kizunad kill are emitted again with the same ids (the store returns
# its recorded decision): repeats, reported.
. "$top_srcdir/tests/chaos/lib-chaos.sh"
command -v redis-server >/dev/null || skip_all "redis-server not installed"
command -v redis-cli >/dev/null || skip_all "redis-cli not installed"
"$KIZUNAD" --config-reference 2>/dev/null | grep -q '^### state.redis' ||
    skip_all "Redis state backend not built"

REDIS_PORT=$(free_port)
REDIS_N=0
mkdir "$T/redis"
redis_up() { [ "$(redis-cli -p "$REDIS_PORT" PING 2>/dev/null)" = PONG ]; }
redis_start() {
    REDIS_N=$((REDIS_N + 1))
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save '' \
        --appendonly yes --appendfsync always --daemonize no >"$T/redis.$REDIS_N.out" 2>&1 &
    REDIS_PID=$!
    KZ_PIDS="$KZ_PIDS $REDIS_PID"
    wait_for 20 redis_up
}
redis_kill() { kill -KILL "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null; }
noticed() { [ "$(cat "$T"/run*.log | grep -c "unavailable: .*; correlation and inputs pause")" -ge "$1" ]; }

redis_start; ok $? "redis-server (appendfsync always) on port $REDIS_PORT"
chaos_mock_start 1; ok $? "mock cluster at $BROKERS"
chaos_prepare 3000 6
CHAOS_LATENESS=5s
# Two configs that differ only in the file their out_json output writes: what each process
# decided is kept apart. Same group, same spool.
CHAOS_STATE_DIR=$T/state
for name in run run2; do
    chaos_conf $name kz-chaos <<YAML
partners:
  - name: soc
    format: json
    tlp: red
    deliver: { type: file, path: $T/delivered.ndjson }
state:
  backend: redis
  on_unavailable: pause
  redis: { url: "redis://127.0.0.1:$REDIS_PORT/0", prefix: chaos, timeout: 1s }
YAML
done
unset CHAOS_STATE_DIR
progress() { [ "$(chaos_distinct "$T/delivered.ndjson")" -ge "$(chaos_want "$1")" ]; }

chaos_produce "$T/batch.1"; ok $? "batch 1 produced"
start_kizunad run.1 -c "$T/run.yaml"
chaos_wait 60 progress 1; ok $? "batch 1 processed with Redis state"
keys=$(redis-cli -p "$REDIS_PORT" DBSIZE)
[ "$keys" -gt 0 ]; ok $? "the correlation state is in Redis ($keys keys)"

# Redis killed twice while a batch is produced; restarted from its file once kizunad saw it.
for k in 2 3; do
    chaos_produce "$T/batch.$k" &
    PRODUCER=$!
    redis_kill
    chaos_wait 30 noticed $((k - 1)); ok $? "Redis killed during batch $k: kizunad says so"
    redis_start; ok $? "Redis restarted from its append-only file"
    wait "$PRODUCER" || diag "producing batch $k failed"
    chaos_wait 60 progress $k; ok $? "batch $k processed once Redis was back"
done

# kizunad itself killed at a random moment of batch 4.
delay=$(awk "BEGIN {srand($CHAOS_SEED); printf \"%.3f\", rand() * 1.5}")
diag "CHAOS_SEED=$CHAOS_SEED: kizunad killed ${delay} s after batch 4's production started"
chaos_produce "$T/batch.4" &
PRODUCER=$!
sleep "$delay" # the kill point itself, not a wait for work
kill -KILL "$KZ_PID"
wait_exit "$KZ_PID" 10
is "$EXIT_STATUS" 137 "kizunad killed with SIGKILL during batch 4"
start_kizunad run.2 -c "$T/run2.yaml"
wait "$PRODUCER" || diag "producing batch 4 failed"
chaos_wait 60 progress 4; ok $? "restarted kizunad processed batch 4"

chaos_produce "$T/batch.5" && chaos_produce "$T/batch.6" && chaos_markers
ok $? "batches 5, 6 and the end markers produced"
chaos_wait 60 chaos_has_end "$T/delivered.ndjson"; ok $? "the whole stream was processed"
chaos_stop "$KZ_PID" "kizunad exits 0 on SIGTERM"

chaos_reference
cat "$T/run.decided.ndjson" "$T/run2.decided.ndjson" >"$T/decided.ndjson"
chaos_compare "$T/decided.ndjson" \
    "decided (both processes): every alert of the reference, correlation included"
# The state decides each alert once: a repeat inside one process would be a second
# decision. Across the crash, records read again that completed a window get the store's
# recorded decision back, so the restarted process emits that alert again, same id (at
# least once; partners de-duplicate): reported above as repeated.
dups() { grep -o '"alert_id":"[0-9a-f]*"' "$1" | sort | uniq -d | wc -l | tr -d ' '; }
is "$(dups "$T/run.decided.ndjson") $(dups "$T/run2.decided.ndjson")" "0 0" \
    "no process decided an alert twice"
chaos_compare "$T/delivered.ndjson" "delivered: every alert of the reference, correlation included"
diag "scenario took $(elapsed) s"
done_testing
