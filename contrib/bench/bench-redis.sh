#!/bin/sh
# Redis state benchmark (docs/PERFORMANCE.md, section "Redis state"): the whole kizunad on
# the shared sshd workload (gen-sshd.py --seed 42, ~30 % "Failed password"), one
# event_count rule (contrib/bench/ssh-bruteforce.yml), read from a file and from Kafka (the
# mock cluster in its own process), with in-memory state and with Redis state on a local
# redis-server, in one invocation. Prints input lines/s, alerts, script calls per input
# line and per match, operations answered locally (known suppressions), and Redis memory
# per group.
#
#   contrib/bench/bench-redis.sh [BUILD_DIR]
#   env: LINES (default 1000000), RUNS (default 3, median and best kept), PARTITIONS
#        (default 32: the mock keeps ~5 MiB per partition), SHARED (default
#        $top_srcdir/../shared), WORK (default: a temporary directory, removed afterwards)
#
# Wall-clock rates: Redis and kizunad run side by side, so the process's own CPU time
# would not count Redis' part.
set -eu

top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top_srcdir}
LINES=${LINES:-1000000}
RUNS=${RUNS:-3}
PARTITIONS=${PARTITIONS:-32}
SHARED=${SHARED:-$top_srcdir/../shared}
kz=$build/kizunad
tool=$build/tests/kafka-tool
rules=$top_srcdir/contrib/bench/ssh-bruteforce.yml

for f in "$kz" "$tool"; do
    [ -x "$f" ] || { echo "bench-redis.sh: $f not built (make check builds it)" >&2; exit 2; }
done
[ -r "$SHARED/bench/gen-sshd.py" ] || {
    echo "bench-redis.sh: $SHARED/bench/gen-sshd.py not found (set SHARED)" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "bench-redis.sh: no redis-server" >&2; exit 2; }
if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/kz-bench-redis.XXXXXX")
    trap 'kill $PIDS 2>/dev/null; rm -rf "$WORK"' EXIT
else
    trap 'kill $PIDS 2>/dev/null' EXIT
fi
PIDS=""
mkdir -p "$WORK/redis"
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# wait_for SECONDS CMD...: poll a condition with a deadline
wait_for() {
    deadline=$(( $(date +%s) + $1 )); shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
}

log=$WORK/auth.log
python3 "$SHARED/bench/gen-sshd.py" --lines "$LINES" --seed 42 --out "$log" >/dev/null 2>&1

RP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --dir "$WORK/redis" --save '' --appendonly no \
    --daemonize no >"$WORK/redis.log" 2>&1 &
PIDS="$PIDS $!"
rcli() { redis-cli -p "$RP" "$@"; }
wait_for 20 sh -c "[ \"\$(redis-cli -p $RP PING)\" = PONG ]"

# conf NAME INPUT STATE: a config; INPUT and STATE are YAML fragments
conf() {
    cat >"$WORK/$1.yaml" <<YAML
inputs:
$2
rules: [$rules]
outputs:
  - { name: out, plugin: json, path: $WORK/$1.ndjson }
$3
YAML
    if [ -n "${MPORT:-}" ]; then
        echo "metrics: { listen: \"127.0.0.1:$MPORT\" }" >>"$WORK/$1.yaml"
    fi
}
REDIS="state: { backend: redis, redis: { url: \"redis://127.0.0.1:$RP/0\", prefix: bench } }"
NOABS="state: { backend: redis, redis: { url: \"redis://127.0.0.1:$RP/0\", prefix: bench, local_absorb: false } }"
FILE_IN="  - { type: file, path: $log, format: syslog }"

totals() { # totals LOGFILE KEY: the value of KEY= in the totals lines
    sed -n "s/.*totals: .* $2=\([0-9]*\).*/\1/p" "$1" | tail -1
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# --- file input ---
echo "# file input: $LINES lines, $RUNS runs each"
printf '| state | median s | best s | lines/s (median) | alerts | script calls / line | calls / match | answered locally |\n|---|---|---|---|---|---|---|---|\n'
for mode in memory redis redis-noabsorb; do
    case $mode in
    memory) st="" ;;
    redis) st=$REDIS ;;
    *) st=$NOABS ;;
    esac
    MPORT="" conf "f-$mode" "$FILE_IN" "time: { allowed_lateness: 0s }
$st"
    : >"$WORK/times"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        [ "$mode" = memory ] || rcli FLUSHALL >/dev/null
        rm -f "$WORK/f-$mode.ndjson"
        t0=$(date +%s.%N)
        "$kz" -c "$WORK/f-$mode.yaml" 2>"$WORK/f-$mode.log"
        t1=$(date +%s.%N)
        echo "$t1 - $t0" | bc >>"$WORK/times"
        i=$((i + 1))
    done
    med=$(median <"$WORK/times")
    best=$(sort -n "$WORK/times" | head -1)
    alerts=$(wc -l <"$WORK/f-$mode.ndjson")
    matched=$(totals "$WORK/f-$mode.log" matched)
    calls=$(totals "$WORK/f-$mode.log" calls)
    local_ab=$(totals "$WORK/f-$mode.log" absorbed_locally)
    python3 - "$mode" "$med" "$best" "$LINES" "$alerts" "$matched" "${calls:-}" "${local_ab:-}" <<'PY'
import sys
mode, med, best, lines, alerts, matched, calls, loc = sys.argv[1:]
med, best, lines, matched = float(med), float(best), int(lines), int(matched)
if calls:
    c = int(calls)
    print("| %s | %.3f | %.3f | %.2f M | %s | %.4f | %.3f | %.1f %% |" % (
        mode, med, best, lines / med / 1e6, alerts, c / lines, c / matched,
        100.0 * int(loc or 0) / matched))
else:
    print("| %s | %.3f | %.3f | %.2f M | %s | - | - | - |" % (
        mode, med, best, lines / med / 1e6, alerts))
PY
done

# --- Redis memory per group, after one file run ---
rcli FLUSHALL >/dev/null
base=$(rcli INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p' | tr -d '\r')
"$kz" -c "$WORK/f-redis.yaml" 2>/dev/null
python3 - "$RP" "$base" <<'PY'
import subprocess, sys
port, base = sys.argv[1], int(sys.argv[2])
def cli(*a):
    return subprocess.run(["redis-cli", "-p", port] + list(a), capture_output=True,
                          text=True).stdout
groups = [k for k in cli("--scan", "--pattern", "{bench:*}:g:*").split("\n") if k]
decs = [k for k in cli("--scan", "--pattern", "{bench:*}:d:*").split("\n") if k]
def usage(keys):
    return sum(int(cli("MEMORY", "USAGE", k, "SAMPLES", "0").strip() or 0) for k in keys)
ug, ud = usage(groups), usage(decs)
used = int([l for l in cli("INFO", "memory").split("\n")
            if l.startswith("used_memory:")][0].split(":")[1])
n = max(len(groups), 1)
print("\n# Redis memory: %d groups (%d with a decisions list): MEMORY USAGE %.0f bytes per "
      "group key, %.0f per decisions list; used_memory grew %.0f bytes per group "
      "(keys, timers, allocator)" % (len(groups), len(decs), ug / n,
                                     ud / max(len(decs), 1), (used - base) / n))
PY

# --- Kafka input ---
mkfifo "$WORK/mock.in"
"$tool" mock --topics logs --partitions "$PARTITIONS" <"$WORK/mock.in" >"$WORK/mock.out" \
    2>"$WORK/mock.log" &
PIDS="$PIDS $!"
exec 9>"$WORK/mock.in"
wait_for 30 grep -q bootstrap= "$WORK/mock.out"
B=$(sed -n 's/^bootstrap=//p' "$WORK/mock.out" | head -1)
"$tool" produce -b "$B" -t logs <"$log" 2>/dev/null
echo
echo "# Kafka input: $LINES records over $PARTITIONS partitions (mock cluster, own process)"
printf '| state | s (first to last record) | records/s | alerts | script calls / record | answered locally |\n|---|---|---|---|---|---|\n'
run=0
for mode in memory redis; do
    case $mode in
    memory) st="" ;;
    *) st=$REDIS ;;
    esac
    run=$((run + 1))
    MPORT=$(free_port)
    [ "$mode" = memory ] || rcli FLUSHALL >/dev/null
    conf "k-$mode" "  - type: kafka
    brokers: $B
    topics: [logs]
    group: bench-$run
    format: syslog
    kafka: { fetch.wait.max.ms: \"10\", session.timeout.ms: \"6000\",
             partition.assignment.strategy: cooperative-sticky }" "$st"
    "$kz" -c "$WORK/k-$mode.yaml" 2>"$WORK/k-$mode.log" &
    kp=$!
    PIDS="$PIDS $kp"
    python3 - "$MPORT" "$LINES" >"$WORK/k-$mode.rate" <<'PY'
import re, sys, time, urllib.request
port, want = sys.argv[1], int(sys.argv[2])
first = None
deadline = time.time() + 600
while time.time() < deadline:
    try:
        text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=2).read()
    except Exception:
        time.sleep(0.05)
        continue
    n = sum(float(m) for m in re.findall(rb'^kizuna_input_records_total\{[^}]*\} (\S+)',
                                         text, re.M))
    now = time.time()
    if n > 0 and first is None:
        first = (now, n)
    if n >= want:
        print("%.3f %d" % (now - first[0], want - first[1]))
        break
    time.sleep(0.02)
PY
    kill -TERM "$kp"
    wait "$kp" || true
    read -r secs recs <"$WORK/k-$mode.rate"
    alerts=$(wc -l <"$WORK/k-$mode.ndjson")
    calls=$(totals "$WORK/k-$mode.log" calls)
    matched=$(totals "$WORK/k-$mode.log" matched)
    local_ab=$(totals "$WORK/k-$mode.log" absorbed_locally)
    python3 - "$mode" "$secs" "$recs" "$LINES" "$alerts" "${calls:-}" "$matched" "${local_ab:-}" <<'PY'
import sys
mode, secs, recs, lines, alerts, calls, matched, loc = sys.argv[1:]
secs, recs, lines = float(secs), int(recs), int(lines)
c = "%.4f" % (int(calls) / lines) if calls else "-"
l = "%.1f %%" % (100.0 * int(loc or 0) / int(matched)) if calls else "-"
print("| %s | %.2f | %.2f M | %s | %s | %s |" % (mode, secs, recs / secs / 1e6, alerts, c, l))
PY
done
exec 9>&-
