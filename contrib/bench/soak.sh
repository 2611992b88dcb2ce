#!/bin/sh
# Soak benchmark (not a CI test): kizunad for SOAK_SECONDS (default 10 minutes) at half its
# measured maximum rate, through Kafka (librdkafka's mock cluster in its own process), with
# Redis state when the backend is built (else in-memory state, and says so) and two
# partners: a JSON file partner (rule chaos-invalid-user, about 10 % of the events) and an
# HTTP partner on the loopback sink (correlation alerts). Samples every SOAK_SAMPLE seconds:
# RSS (VmRSS), open fds (/proc/PID/fd), the event loop's lag (/metrics), consumer lag, and
# the latency from an event's production to its alert in the file partner (each line is
# stamped with the wall-clock time it was produced; the newest alert's stamp is compared
# with the time it is read). Prints a summary with the growth after the warm-up.
#
#   contrib/bench/soak.sh [BUILD_DIR]      (BUILD_DIR default: build/; needs kizunad,
#                                          tests/kafka-tool: `make check` builds both)
#   env: SOAK_SECONDS (600), SOAK_WARMUP (60), SOAK_SAMPLE (5), SOAK_RATE (default: half the
#        measured maximum), SOAK_MAX_RECORDS (150000, the backlog of the maximum-rate run),
#        SOAK_PARTITIONS (8), SOAK_IPS (5000 source addresses: groups keep being created and
#        expiring), SOAK_SKEW (0.8: address k has weight 1/k^0.8), SOAK_STATE (redis | memory; default redis when built and redis-server is
#        installed), SOAK_OUT (directory for samples.csv, summary.txt and the logs;
#        default: a new /tmp/kizuna-soak.XXXXXX, kept)
#
# time.allowed_lateness is 1 s: the events arrive in order, in real time, and the lateness
# decides how many matches wait in the reorder buffer (and, with Redis state, how far the
# committed offsets trail: a record completes once the watermark has passed its match).
#
# The mock cluster keeps about 5 MiB per partition: the maximum-rate backlog (150,000 records
# of ~140 bytes) must fit in each partition's share. Records are keyed by source address, so
# the address skew decides how full the fullest partition gets: with 8 partitions and skew
# 0.8 it holds about a fifth of the backlog. During the soak the producer runs at half the
# consumer's speed, so the consumer stays close behind it.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd) || exit 2
KIZUNAD=$build/kizunad
KTOOL=$build/tests/kafka-tool
SECONDS_=${SOAK_SECONDS:-600}
WARMUP=${SOAK_WARMUP:-60}
SAMPLE=${SOAK_SAMPLE:-5}
MAXREC=${SOAK_MAX_RECORDS:-150000}
PARTS=${SOAK_PARTITIONS:-8}
IPS=${SOAK_IPS:-5000}
SKEW=${SOAK_SKEW:-0.8}
OUT=${SOAK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/kizuna-soak.XXXXXX")}
mkdir -p "$OUT"
export KIZUNA_PLUGIN_DIR=${KIZUNA_PLUGIN_DIR:-$build/plugins/.libs}

for f in "$KIZUNAD" "$KTOOL"; do
    [ -x "$f" ] || { echo "soak.sh: $f not built (make check builds it)" >&2; exit 2; }
done
if [ -z "${SOAK_STATE:-}" ]; then
    SOAK_STATE=memory
    if command -v redis-server >/dev/null &&
        "$KIZUNAD" --config-reference | grep -q '^### state.redis'; then
        SOAK_STATE=redis
    fi
fi

PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM
log() { echo "soak: $*" | tee -a "$OUT/soak.log" >&2; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for() { # wait_for SECONDS CMD...
    deadline=$(($(date +%s) + $1)); shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}
metric() { # metric PORT NAME: sum of the samples of NAME
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
        awk -v n="$2" '$1 == n || index($1, n "{") == 1 {s += $2} END {print s + 0}'
}

# --- the world: mock cluster, Redis, the HTTP partner ---------------------------------------
mkfifo "$OUT/mock.in"
"$KTOOL" mock --topics soak.max,soak.run --partitions "$PARTS" <"$OUT/mock.in" \
    >"$OUT/mock.out" 2>"$OUT/mock.log" &
PIDS="$PIDS $!"
exec 7>"$OUT/mock.in"
wait_for 20 grep -q '^bootstrap=' "$OUT/mock.out" || { log "mock cluster did not start"; exit 1; }
BROKERS=$(sed -n 's/^bootstrap=//p' "$OUT/mock.out")

STATE_YAML=""
if [ "$SOAK_STATE" = redis ]; then
    REDIS_PORT=$(free_port)
    mkdir -p "$OUT/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$OUT/redis" --save '' \
        --appendonly no >"$OUT/redis.log" 2>&1 &
    PIDS="$PIDS $!"
    wait_for 20 sh -c "[ \"\$(redis-cli -p $REDIS_PORT PING)\" = PONG ]" ||
        { log "redis-server did not start"; exit 1; }
fi
state_yaml() { # state_yaml PREFIX
    [ "$SOAK_STATE" = redis ] || return 0
    cat <<YAML
state:
  backend: redis
  redis: { url: "redis://127.0.0.1:$REDIS_PORT/0", prefix: $1 }
YAML
}

mkfifo "$OUT/sink.in"
python3 "$top/tests/partner-sink.py" http <"$OUT/sink.in" >"$OUT/sink.out" 2>"$OUT/sink.err" &
PIDS="$PIDS $!"
exec 8>"$OUT/sink.in"
wait_for 10 grep -q '^PORT ' "$OUT/sink.out" || { log "partner sink did not start"; exit 1; }
SINK_PORT=$(sed -n 's/^PORT //p' "$OUT/sink.out")

# conf NAME TOPIC MPORT: a kizunad config
conf() {
    cat >"$OUT/$1.yaml" <<YAML
state_dir: $OUT/$1.state
inputs:
  - type: kafka
    brokers: $BROKERS
    topics: [$2]
    group: $1
    format: syslog
    kafka: { fetch.wait.max.ms: "10", session.timeout.ms: "6000", heartbeat.interval.ms: "300" }
rules: [$top/tests/chaos/rules.yaml]
metrics: { listen: "127.0.0.1:$3" }
time: { allowed_lateness: 1s }
partners:
  - name: file
    format: json
    tlp: red
    filter: { rules: [chaos-invalid-user] }
    deliver: { type: file, path: $OUT/$1.alerts.ndjson }
  - name: http
    format: json
    tlp: red
    filter: { min_level: high }
    deliver: { type: http, url: "http://127.0.0.1:$SINK_PORT/alerts", timeout: 5s }
$(state_yaml "$1")
YAML
}
# run_kizunad NAME: start it (KZ), wait until it owns every partition
run_kizunad() {
    "$KIZUNAD" -c "$OUT/$1.yaml" >"$OUT/$1.out" 2>"$OUT/$1.log" &
    KZ=$!
    PIDS="$PIDS $KZ"
    wait_for 60 grep -q "assigned $PARTS partition" "$OUT/$1.log" ||
        { log "$1: no partition assignment"; exit 1; }
}
stop_kizunad() {
    kill -TERM "$KZ"
    wait "$KZ"
    st=$?
    [ $st -eq 0 ] || log "kizunad exited with status $st"
}

log "results in $OUT; state: $SOAK_STATE; $(nproc) CPUs; $(uname -r)"

# --- 1. maximum rate: a backlog consumed as fast as it goes ---------------------------------
if [ -z "${SOAK_RATE:-}" ]; then
    python3 "$top/tests/chaos/chaos-gen.py" --lines "$MAXREC" --ips "$IPS" --skew "$SKEW" --seed 7 |
        "$KTOOL" produce -b "$BROKERS" -t soak.max --key-lines --timeout 120 2>>"$OUT/mock.log" ||
        { log "producing the backlog failed"; exit 1; }
    MPORT=$(free_port)
    conf max soak.max "$MPORT"
    run_kizunad max
    # rate from the first to the last record read (not counting the group's formation)
    MAXRATE=$(python3 - "$MPORT" "$MAXREC" <<'PY'
import sys, time, urllib.request
port, want = sys.argv[1], int(sys.argv[2])
def records():
    with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=5) as r:
        return sum(float(l.split()[-1]) for l in r.read().decode().splitlines()
                   if l.startswith("kizuna_input_records_total"))
t0 = n0 = None
deadline = time.time() + 300
while time.time() < deadline:
    n, t = records(), time.time()
    if t0 is None and n > 0:
        t0, n0 = t, n
    if n >= want:
        print(int((n - n0) / (t - t0)) if t > t0 else 0)
        sys.exit(0)
    time.sleep(0.05)
print(0)
PY
)
    stop_kizunad
    [ "$MAXRATE" -gt 0 ] || { log "the backlog was not consumed"; exit 1; }
    SOAK_RATE=$((MAXRATE / 2))
    log "maximum rate: $MAXRATE records/s ($MAXREC-record backlog, $PARTS partitions); soak at $SOAK_RATE/s"
else
    log "soak at SOAK_RATE=$SOAK_RATE records/s (maximum not measured)"
fi

# --- 2. the soak ----------------------------------------------------------------------------
MPORT=$(free_port)
conf run soak.run "$MPORT"
run_kizunad run
python3 "$top/tests/chaos/chaos-gen.py" --rate "$SOAK_RATE" --seconds "$SECONDS_" --ips "$IPS" \
    --skew "$SKEW" --seed 11 | "$KTOOL" produce -b "$BROKERS" -t soak.run --key-lines --timeout 120 \
    2>>"$OUT/producer.log" &
PRODUCER=$!
PIDS="$PIDS $PRODUCER"
log "producing $SOAK_RATE records/s for $SECONDS_ s into $PARTS partitions; kizunad pid $KZ"

python3 - "$KZ" "$MPORT" "$OUT/run.alerts.ndjson" "$SAMPLE" "$SECONDS_" "$OUT/samples.csv" \
    "${REDIS_PORT:-}" <<'PY'
import calendar, json, os, subprocess, sys, time, urllib.request
pid, port, alerts, period, duration, csv, rport = sys.argv[1:8]
period, duration = float(period), float(duration)
def metrics():
    out = {}
    with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=5) as r:
        for l in r.read().decode().splitlines():
            if l.startswith("#") or not l.strip():
                continue
            name = l.split("{")[0].split()[0]
            out[name] = out.get(name, 0.0) + float(l.split()[-1])
            if 'partner="http"' in l:
                out[name + ":http"] = float(l.split()[-1])
    return out
def rss_kb():
    for l in open("/proc/%s/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
def newest_alert_age_ms(now):
    # the newest complete line of the file partner, then the file is emptied (the
    # transport appends with O_APPEND, so it goes on at the start)
    try:
        with open(alerts, "rb+") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 8192))
            lines = f.read().split(b"\n")
            f.truncate(0)
    except OSError:
        return ""
    for l in reversed(lines[:-1]):
        try:
            ts = json.loads(l)["@timestamp"]
        except ValueError:
            continue
        t = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
        t += float("0" + ts[19:].rstrip("Z")) if len(ts) > 20 else 0.0
        return "%.1f" % ((now - t) * 1000)
    return ""
def redis_mem():
    if not rport:
        return ""
    out = subprocess.run(["redis-cli", "-p", rport, "INFO", "memory"], capture_output=True,
                         text=True).stdout
    for l in out.splitlines():
        if l.startswith("used_memory:"):
            return l.split(":")[1].strip()
    return ""
cols = ["t", "rss_kb", "fds", "records", "rate", "loop_lag_ms", "loop_lag_max_ms",
        "consumer_lag", "latency_ms", "corr_groups", "spool_records", "http_sent",
        "redis_used_memory"]
t0 = time.time()
last_n, last_t = None, None
with open(csv, "w") as f:
    f.write(",".join(cols) + "\n")
    while time.time() - t0 + period <= duration + 0.5:
        time.sleep(period - ((time.time() - t0) % period))
        now = time.time()
        try:
            m = metrics()
            fds = len(os.listdir("/proc/%s/fd" % pid))
            rss = rss_kb()
        except (OSError, ValueError) as e:
            sys.stderr.write("soak: sampling stopped: %s\n" % e)
            break
        n = m.get("kizuna_input_records_total", 0)
        rate = "" if last_n is None else "%.0f" % ((n - last_n) / (now - last_t))
        last_n, last_t = n, now
        row = ["%.1f" % (now - t0), rss, fds, "%.0f" % n, rate,
               "%.1f" % (1000 * m.get("kizuna_loop_lag_seconds", 0)),
               "%.1f" % (1000 * m.get("kizuna_loop_lag_max_seconds", 0)),
               "%.0f" % m.get("kizuna_kafka_consumer_lag", 0), newest_alert_age_ms(now),
               "%.0f" % m.get("kizuna_correlation_groups", 0),
               "%.0f" % m.get("kizuna_partner_spool_records", 0),
               "%.0f" % m.get("kizuna_partner_sent_total:http", 0), redis_mem()]
        f.write(",".join(str(x) for x in row) + "\n")
        f.flush()
PY
wait "$PRODUCER" || log "the producer failed (see $OUT/producer.log)"
stop_kizunad

# --- 3. summary -----------------------------------------------------------------------------
python3 - "$OUT/samples.csv" "$WARMUP" "$SOAK_RATE" "$SOAK_STATE" <<'PY' | tee "$OUT/summary.txt"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
warm, rate, state = float(sys.argv[2]), sys.argv[3], sys.argv[4]
after = [r for r in rows if float(r["t"]) >= warm]
if len(after) < 2:
    sys.exit("soak: too few samples after the warm-up")
def col(name, rs=after):
    return [float(r[name]) for r in rs if r[name] != ""]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]
t = col("t")
rss = [x / 1024 for x in col("rss_kb")]
n = len(rss)
mt, mr = sum(t) / n, sum(rss) / n
slope = sum((a - mt) * (b - mr) for a, b in zip(t, rss)) / sum((a - mt) ** 2 for a in t)
fds = col("fds")
lat = col("latency_ms")
lag = col("loop_lag_max_ms")
rates = col("rate")
clag = col("consumer_lag")
print("state %s, target rate %s records/s, %d samples after a %.0f s warm-up (%.0f s)"
      % (state, rate, n, warm, t[-1] - t[0]))
print("records/s        mean %.0f  min %.0f  max %.0f" % (sum(rates) / len(rates), min(rates),
                                                          max(rates)))
print("RSS MiB          at warm-up end %.1f  end %.1f  min %.1f  max %.1f  growth %+.1f "
      "(%+.2f MiB/h by least squares)" % (rss[0], rss[-1], min(rss), max(rss), rss[-1] - rss[0],
                                          slope * 3600))
print("open fds         at warm-up end %d  end %d  min %d  max %d"
      % (fds[0], fds[-1], min(fds), max(fds)))
if lat:
    print("latency ms       p50 %.0f  p90 %.0f  p99 %.0f  max %.0f  (first half p50 %.0f, "
          "second half p50 %.0f)" % (pct(lat, 50), pct(lat, 90), pct(lat, 99), max(lat),
                                     pct(lat[:len(lat) // 2], 50), pct(lat[len(lat) // 2:], 50)))
print("loop lag max ms  p50 %.0f  p99 %.0f  max %.0f" % (pct(lag, 50), pct(lag, 99), max(lag)))
print("consumer lag     p50 %.0f  max %.0f records" % (pct(clag, 50), max(clag)))
groups = col("corr_groups")
if groups:
    print("corr groups      min %.0f  max %.0f" % (min(groups), max(groups)))
rm = [x / 1048576 for x in col("redis_used_memory")]
if rm:
    print("Redis used MiB   at warm-up end %.1f  end %.1f  max %.1f" % (rm[0], rm[-1], max(rm)))
PY
log "samples: $OUT/samples.csv"
