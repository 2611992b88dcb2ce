# Shared helpers for the integration tests (sourced). TAP output; every test runs the real
# kizunad in a private temporary directory and waits on conditions with deadlines.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?}" "${KIZUNAD:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/kz-test.XXXXXX")
KZ_PIDS=""
tap_n=0
tap_failed=0

kz_cleanup() {
    for p in $KZ_PIDS; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "$tap_failed" -eq 0 ]; then rm -rf "$T"; else echo "# kept $T"; fi
}
trap kz_cleanup EXIT

ok() { # ok COND-EXIT-STATUS DESCRIPTION
    tap_n=$((tap_n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"; else echo "not ok $tap_n - $2"; tap_failed=$((tap_failed + 1)); fi
}
is() { # is GOT WANT DESCRIPTION
    tap_n=$((tap_n + 1))
    if [ "$1" = "$2" ]; then echo "ok $tap_n - $3"
    else echo "not ok $tap_n - $3"; echo "#   got:  '$1'"; echo "#   want: '$2'"; tap_failed=$((tap_failed + 1)); fi
}
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
done_testing() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }

# wait_for SECONDS CMD...: run CMD until it succeeds or the deadline passes (status 1).
# KZ_TIME_SCALE=N multiplies every deadline (tests/valgrind.sh runs kizunad ~20-50x slower).
wait_for() {
    deadline=$(( $(date +%s) + $1 * ${KZ_TIME_SCALE:-1} )); shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
    return 0
}
# line_count FILE: number of lines (0 when the file does not exist)
line_count() { [ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }
at_least_lines() { [ "$(line_count "$1")" -ge "$2" ]; }
file_has() { grep -q -- "$2" "$1" 2>/dev/null; }

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_kizunad NAME ARGS...: run kizunad in the background, stderr to $T/NAME.log;
# sets KZ_PID.
start_kizunad() {
    name=$1; shift
    "$KIZUNAD" "$@" >"$T/$name.out" 2>"$T/$name.log" &
    KZ_PID=$!
    KZ_PIDS="$KZ_PIDS $KZ_PID"
}
# wait_exit PID SECONDS: wait for our child to exit; sets EXIT_STATUS to its status, or
# "timeout". (Not for use in $(...): a subshell cannot wait for the parent's children.)
# A child that exited stays a zombie until waited for, and kill -0 still succeeds on it.
running() { st=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }
not_running() { ! running "$1"; }
wait_exit() {
    if wait_for "$2" not_running "$1"; then
        wait "$1" 2>/dev/null; EXIT_STATUS=$?
    else
        EXIT_STATUS=timeout
    fi
}
# json_field FILE FIELD: the values of a field (dotted path into nested objects, e.g.
# rule.id) in a JSON-lines file, one per line ("" when absent).
json_field() {
    python3 - "$1" "$2" <<'PY'
import json, sys
def get(o, parts):
    # ECS keys may be nested objects or flat dotted keys: try both, shortest key first.
    for i in range(1, len(parts) + 1):
        key = ".".join(parts[:i])
        if key not in o: continue
        if i == len(parts): return o[key]
        if isinstance(o[key], dict):
            v = get(o[key], parts[i:])
            if v is not None: return v
    return None
for l in open(sys.argv[1]):
    l = l.strip()
    if l:
        v = get(json.loads(l), sys.argv[2].split("."))
        print("" if v is None else v)
PY
}
