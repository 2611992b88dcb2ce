#!/bin/sh
# Detection benchmark: events/s of one kizuna process (load + syslog decode + match) for
# rule sets of 1, 50, 500 and 2000 rules, the naive loop (every rule's regex on every line,
# no prefilter) for 50 rules, and SEC 2.9 with its 1-rule and 50-rule baselines on the same
# file, in one invocation. Prints a table with ratios.
#
#   contrib/bench/bench-detect.sh [BUILD_DIR]
#   env: LINES (default 1000000), RUNS (default 3, best run kept), SEC_LINES (default: LINES;
#        SEC with 50 rules runs at ~17k lines/s), SHARED (default $top_srcdir/../shared),
#        WORK (default: a temporary directory, removed afterwards)
#
# Rates are measured on CPU time (user + system) of the process, which a busy machine
# disturbs less than wall time; bench-detect also prints wall-clock rates.
set -eu

top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top_srcdir}
LINES=${LINES:-1000000}
RUNS=${RUNS:-3}
SEC_LINES=${SEC_LINES:-$LINES}
SHARED=${SHARED:-$top_srcdir/../shared}
driver=$build/contrib/bench/bench-detect

if [ ! -x "$driver" ]; then
    echo "bench-detect.sh: $driver not built (make contrib/bench/bench-detect)" >&2
    exit 2
fi
if [ ! -r "$SHARED/bench/gen-sshd.py" ]; then
    echo "bench-detect.sh: $SHARED/bench/gen-sshd.py not found (set SHARED)" >&2
    exit 2
fi
if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/kz-bench-detect.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"

log=$WORK/auth.log
python3 "$SHARED/bench/gen-sshd.py" --lines "$LINES" --seed 42 --out "$log" 2>/dev/null
for n in 1 50 500 2000; do
    python3 "$top_srcdir/contrib/bench/gen-rules.py" --rules "$n" --seed 1 --out "$WORK/rules$n.yml"
done

# best CPU rate of RUNS runs of: bench-detect ARGS...
best() {
    b=0
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        r=$("$driver" "$@" | sed -n 's/.* cpu_events_per_s=\([0-9]*\) .*/\1/p')
        [ "$r" -gt "$b" ] && b=$r
        i=$((i + 1))
    done
    echo "$b"
}

# lines/s of SEC on the first SEC_LINES lines: sec_rate CONF
sec_rate() {
    sed "s#@OUT@#$WORK#g" "$1" >"$WORK/sec.conf"
    head -n "$SEC_LINES" "$log" >"$WORK/sec-input.log"
    /usr/bin/time -f '%U %S' -o "$WORK/sec.time" \
        sec --conf="$WORK/sec.conf" --input="$WORK/sec-input.log" --notail --log=/dev/null \
        --dump=/dev/null >/dev/null 2>&1
    awk -v n="$SEC_LINES" '{ printf "%d\n", n / ($1 + $2) }' "$WORK/sec.time"
}

echo "machine: $(nproc) CPU, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1);" \
    "$(uname -sr); lines: $LINES"
decode=$(best -d "$log")
r1=$(best "$log" "$WORK/rules1.yml")
r50=$(best "$log" "$WORK/rules50.yml")
r500=$(best "$log" "$WORK/rules500.yml")
r2000=$(best "$log" "$WORK/rules2000.yml")
n50=$(best -n "$log" "$WORK/rules50.yml")
if command -v sec >/dev/null 2>&1; then
    s1=$(sec_rate "$SHARED/bench/sec/ssh_bruteforce.sec")
    s50=$(sec_rate "$SHARED/bench/sec/rules50.sec")
else
    s1=0
    s50=0
fi

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'
}
printf '%-44s %14s %10s\n' "what (events/s, CPU time, best of $RUNS)" "events/s" "vs SEC"
printf '%-44s %14s %10s\n' "decode only (syslog), no rules" "$decode" "-"
printf '%-44s %14s %10s\n' "kizuna, 1 rule" "$r1" "$(ratio "$r1" "$s1")"
printf '%-44s %14s %10s\n' "kizuna, 50 rules" "$r50" "$(ratio "$r50" "$s50")"
printf '%-44s %14s %10s\n' "kizuna, 500 rules" "$r500" "-"
printf '%-44s %14s %10s\n' "kizuna, 2000 rules" "$r2000" "-"
printf '%-44s %14s %10s\n' "naive loop, 50 rules (no prefilter)" "$n50" "$(ratio "$n50" "$s50")"
printf '%-44s %14s %10s\n' "SEC 2.9, 1 rule ($SEC_LINES lines)" "$s1" "1.0x"
printf '%-44s %14s %10s\n' "SEC 2.9, 50 rules ($SEC_LINES lines)" "$s50" "1.0x"
printf '%-44s %14s\n' "kizuna 50 rules vs naive loop" "$(ratio "$r50" "$n50")"
