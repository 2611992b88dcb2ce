#!/bin/sh
# Redis state under faults, the daemon end to end (docs/STATE.md): Redis stopped for a while
# mid-stream and started again (on its dump): consumption pauses (Kafka keeps the records),
# one log line when Redis goes and one when it is back, /readyz says why, and the alerts are
# those of an uninterrupted run, none lost and none repeated. A wrong password: refused with
# a clear line (once), nothing consumed; --check-config names it, and an unreachable server.
# on_unavailable: memory: the loud fallback, and correlation goes on in memory.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/redis-lib.sh"
[ -x "$TOOL" ] || skip_all "tests/kafka-tool not built"

python3 "$STREAM" gen "$T/s" --chunks 3 --lines 4000 --partitions 3 --lateness 20 --seed 5
ok $? "stream generated"
reference; ok $? "uninterrupted reference: $(wc -l <"$T/ref.ids") alerts"
redis_start; ok $? "redis-server on port $REDIS_PORT"
mock_start 3 logs; ok $? "Kafka mock cluster at $BROKERS"

http_status() { python3 -c 'import sys,urllib.request,urllib.error
try: print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except urllib.error.HTTPError as e: print(e.code)
except Exception: print(0)' "$1"; }
not_ready() { [ "$(http_status "http://127.0.0.1:$1/readyz")" = 503 ]; }
redis_up_metric() { # redis_up_metric PORT VALUE: kizuna_state_redis_up is VALUE
    python3 -c 'import sys,urllib.request
t = urllib.request.urlopen(sys.argv[1], timeout=2).read().decode()
sys.exit(0 if ("kizuna_state_redis_up " + sys.argv[2]) in t.split("\n") else 1)' \
        "http://127.0.0.1:$1/metrics" "$2"
}
is_ready() { [ "$(http_status "http://127.0.0.1:$1/readyz")" = 200 ]; }
lines() { grep -c -- "$2" "$1" 2>/dev/null || true; }

# --- Redis stopped mid-stream ---
MP=$(free_port)
kz_conf kz "$MP"
produce_chunk 1
start_kizunad kz -c "$T/kz.yaml"
P=$KZ_PID
wait_for 90 lag_is 1 "$MP"; ok $? "chunk 1 read with Redis up"
redis_cli SHUTDOWN SAVE >/dev/null 2>&1
wait_for 20 redis_down; ok $? "redis-server stopped (SHUTDOWN SAVE)"
produce_chunk 2; ok $? "chunk 2 produced while Redis is down"
wait_for 20 file_has "$T/kz.log" "state store: Redis at .* unavailable"
ok $? "kizunad logs that Redis is unavailable and that inputs pause"
wait_for 20 not_ready "$MP"; ok $? "/readyz: 503 while Redis is down"
wait_for 20 redis_up_metric "$MP" 0; ok $? "/metrics: kizuna_state_redis_up 0"
python3 -c 'import urllib.request,sys
try: urllib.request.urlopen(sys.argv[1])
except Exception as e: print(e.read().decode())' "http://127.0.0.1:$MP/readyz" | grep "Redis unreachable" >/dev/null
ok $? "/readyz says why: Redis unreachable"
! lag_is 2 "$MP"; ok $? "chunk 2 is not consumed meanwhile (Kafka keeps it)"
# let the reconnect backoff go round a few times: still one line
wait_for 3 file_has "$T/kz.log" "no-such-line"; is "$(lines "$T/kz.log" 'state store: Redis at .*unavailable')" 1 "one log line for the outage, not one per retry"
redis_start; ok $? "redis-server started again on its dump"
wait_for 30 file_has "$T/kz.log" "reachable again"; ok $? "kizunad logs that Redis is back"
wait_for 90 lag_is 2 "$MP"; ok $? "chunk 2 read after the outage"
wait_for 20 is_ready "$MP"; ok $? "/readyz: 200 again"
wait_for 20 redis_up_metric "$MP" 1; ok $? "/metrics: kizuna_state_redis_up 1"
produce_chunk 3
wait_for 90 lag_is 3 "$MP"; ok $? "chunk 3 read"
kill -TERM "$P"; wait_exit "$P" 60; is "$EXIT_STATUS" 0 "SIGTERM: exit 0"
python3 "$STREAM" ids "$T/kz.ndjson" >"$T/got.ids"
diff "$T/ref.ids" "$T/got.ids" >/dev/null; ok $? "alert ids equal the uninterrupted run's ($(wc -l <"$T/got.ids"))"
is "$(wc -l <"$T/kz.ndjson")" "$(wc -l <"$T/got.ids")" "no alert delivered twice"

# --- a wrong password ---
redis_cli CONFIG SET requirepass right-one >/dev/null
REDIS_PASS=right-one
printf 'wrong-one\n' >"$T/pw"; chmod 600 "$T/pw"
MP2=$(free_port)
kz_conf bad "$MP2"
sed -i "s#prefix: kzt, timeout: 2s }#prefix: kzt, timeout: 2s, password_file: $T/pw }#" "$T/bad.yaml"
"$KIZUNAD" -c "$T/bad.yaml" --check-config >"$T/check.out" 2>&1
st=$?
test "$st" -ne 0 && grep -q "bad.yaml:[0-9]*:1: state.redis: Redis at redis://127.0.0.1:$REDIS_PORT/0: AUTH refused: WRONGPASS" "$T/check.out"
ok $? "--check-config reports the wrong password at the state.redis line (exit $st)"
start_kizunad bad -c "$T/bad.yaml"
PB=$KZ_PID
wait_for 20 file_has "$T/bad.log" "AUTH refused: WRONGPASS"; ok $? "the daemon logs the refusal"
wait_for 20 not_ready "$MP2"; ok $? "/readyz: 503"
wait_for 3 file_has "$T/bad.log" "no-such-line"
is "$(lines "$T/bad.log" 'AUTH refused')" 1 "once, not once per retry"
kill -TERM "$PB"; wait_exit "$PB" 60; is "$EXIT_STATUS" 0 "it stops cleanly"
test ! -s "$T/bad.ndjson"; ok $? "nothing was correlated without the state store"

# --- unreachable ---
sed "s#127.0.0.1:$REDIS_PORT/0#127.0.0.1:$(free_port)/0#" "$T/bad.yaml" >"$T/unreach.yaml"
"$KIZUNAD" -c "$T/unreach.yaml" --check-config >"$T/check2.out" 2>&1
test $? -ne 0 && grep -q "state.redis: Redis at .* unreachable: Connection refused" "$T/check2.out"
ok $? "--check-config reports an unreachable Redis"

# --- on_unavailable: memory ---
MP3=$(free_port)
sed -e "s#127.0.0.1:$REDIS_PORT/0#127.0.0.1:$(free_port)/0#" -e "s#group: kzg#group: kzmem#" \
    -e "s#127.0.0.1:$MP2#127.0.0.1:$MP3#" -e "s#bad.ndjson#mem.ndjson#" -e "s#bad.state#mem.state#" \
    "$T/bad.yaml" >"$T/mem.yaml"
printf '  on_unavailable: memory\n' >>"$T/mem.yaml"
start_kizunad mem -c "$T/mem.yaml"
PM=$KZ_PID
wait_for 30 file_has "$T/mem.log" "falling back to in-memory state as configured"
ok $? "on_unavailable: memory: the fallback is logged loudly"
grep -q "no longer shared.*lost when kizunad stops" "$T/mem.log"; ok $? "saying what it costs"
wait_for 90 lag_is 3 "$MP3"; ok $? "all chunks read with in-memory state"
kill -TERM "$PM"; wait_exit "$PM" 60; is "$EXIT_STATUS" 0 "exit 0"
python3 "$STREAM" ids "$T/mem.ndjson" >"$T/mem.ids"
diff "$T/ref.ids" "$T/mem.ids" >/dev/null; ok $? "one process in memory: the same alerts"
exec 9>&-
done_testing
