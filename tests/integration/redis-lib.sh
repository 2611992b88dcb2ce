# Helpers for the Redis state integration tests (sourced after lib.sh): a private
# redis-server on a free loopback port with its own directory, killed at exit; the Kafka
# mock cluster in its own process; kizunad configs with Redis state; waiting on the stream
# helper's conditions. No sleeps: every wait polls a condition with a deadline.
command -v redis-server >/dev/null || skip_all "redis-server not installed"
TOOL="$top_builddir/tests/kafka-tool"
STREAM="$top_srcdir/tests/integration/redis-stream.py"

# redis_start [ARGS...]: start redis-server on a free port (REDIS_PORT, REDIS_PID), data in
# $T/redis (no persistence unless ARGS say so).
redis_start() {
    REDIS_PORT=${REDIS_PORT:-$(free_port)}
    mkdir -p "$T/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save '' \
        --appendonly no --daemonize no "$@" >"$T/redis.out" 2>&1 &
    REDIS_PID=$!
    KZ_PIDS="$KZ_PIDS $REDIS_PID"
    wait_for 20 redis_up
}
redis_cli() { redis-cli -p "$REDIS_PORT" ${REDIS_PASS:+--no-auth-warning -a "$REDIS_PASS"} "$@"; }
redis_up() { [ "$(redis_cli PING 2>/dev/null)" = PONG ]; }
redis_down() { ! redis_up; }
redis_kill() { kill -9 "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; wait_for 20 redis_down; }

# mock_start PARTITIONS TOPIC: the Kafka mock cluster (BROKERS), alive while fd 9 is open.
mock_start() {
    mkfifo "$T/mock.in"
    "$TOOL" mock --topics "$2" --partitions "$1" <"$T/mock.in" >"$T/mock.out" 2>"$T/mock.log" &
    KZ_PIDS="$KZ_PIDS $!"
    exec 9>"$T/mock.in"
    wait_for 20 file_has "$T/mock.out" "bootstrap=" || return 1
    BROKERS=$(sed -n 's/^bootstrap=//p' "$T/mock.out" | head -1)
}

# produce_chunk K: chunk K of the generated stream, each partition's lines to it.
produce_chunk() {
    for f in "$T"/s/c"$1".p*; do
        p=${f##*.p}
        "$TOOL" produce -b "$BROKERS" -t logs --partition "$p" <"$f" || return 1
    done
}

# kz_conf NAME MPORT [EXTRA]: a config reading topic logs in group kzg with Redis state;
# alerts to $T/NAME.ndjson through a partner's spool in $T/NAME.state (an alert handed to
# the spool survives SIGKILL and is delivered when that process runs again); Prometheus on
# 127.0.0.1:MPORT. EXTRA is appended (YAML).
kz_conf() {
    cat >"$T/$1.yaml" <<YAML
state_dir: $T/$1.state
inputs:
  - type: kafka
    brokers: $BROKERS
    topics: [logs]
    group: kzg
    format: syslog
    commit_interval: ${COMMIT_INTERVAL:-100ms}
    kafka: { fetch.wait.max.ms: "10", session.timeout.ms: "6000", heartbeat.interval.ms: "300",
             partition.assignment.strategy: cooperative-sticky,
             max.partition.fetch.bytes: "4096" }
rules: [$T/rules.yml]
partners:
  - name: soc
    format: json
    tlp: red
    deliver: { type: file, path: $T/$1.ndjson }
time: { allowed_lateness: ${LATENESS:-20}s }
metrics: { listen: "127.0.0.1:$2" }
state:
  dump_path: $T/$1.dump.json
  backend: redis
  redis: { url: "redis://127.0.0.1:$REDIS_PORT/0", prefix: kzt, timeout: 2s }
${3:-}
YAML
}

# The correlation rule of every test: SEC's SingleWithThreshold, 5 in 60 s per address.
cp "$top_srcdir/contrib/bench/ssh-bruteforce.yml" "$T/rules.yml"

# reference: the alert ids of an uninterrupted run over the file with in-memory state.
reference() {
    cat >"$T/ref.yaml" <<YAML
inputs:
  - { type: file, path: $T/s/all.log, format: syslog }
rules: [$T/rules.yml]
outputs:
  - { name: soc, plugin: json, path: $T/ref.ndjson }
time: { allowed_lateness: 0s }
YAML
    "$KIZUNAD" -c "$T/ref.yaml" 2>"$T/ref.log" && python3 "$STREAM" ids "$T/ref.ndjson" >"$T/ref.ids"
}

# owners_are N PORT...: the group settled: N partitions, each owned by one of these
# processes, each process owning at least one.
owners_are() {
    n=$1; shift
    urls=""
    for p in "$@"; do urls="$urls http://127.0.0.1:$p/metrics"; done
    python3 "$STREAM" owners "$n" $urls
}

# lag_is K PORT...: every partition shows the lag expected once chunks 1..K are read.
lag_is() {
    k=$1; shift
    urls=""
    for p in "$@"; do urls="$urls http://127.0.0.1:$p/metrics"; done
    python3 "$STREAM" lag "$T/s/lag$k" $urls
}
