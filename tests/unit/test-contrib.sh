#!/bin/sh
# Checks of the service files in contrib/: the systemd unit with `systemd-analyze verify`
# (ExecStart pointed at the built kizunad, the man page on a private MANPATH) and the
# logrotate file with `logrotate -d` (the kizuna user replaced by root, which exists).
# Each part is skipped when the tool is not installed.
set -u
. "$top_srcdir/tests/integration/lib.sh"

unit="$top_srcdir/contrib/systemd/kizunad.service"
for key in Type=notify WatchdogSec=30s NotifyAccess=main 'ExecReload=/bin/kill -HUP $MAINPID' \
    User=kizuna NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/kizuna \
    MemoryDenyWriteExecute=no 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'; do
    grep -qxF "$key" "$unit"
    ok $? "unit sets $key"
done

if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$T/man/man8"
    cp "$top_srcdir/docs/kizunad.8" "$T/man/man8/"
    sed "s#/usr/sbin/kizunad#$KIZUNAD#" "$unit" >"$T/kizunad.service"
    out=$(cd "$T" && MANPATH="$T/man" systemd-analyze verify ./kizunad.service 2>&1)
    rc=$?
    ok $rc "systemd-analyze verify accepts the unit"
    is "$out" "" "systemd-analyze verify prints no warning"
else
    echo "# systemd-analyze not installed: unit not verified"
fi

if command -v logrotate >/dev/null 2>&1; then
    mkdir -p "$T/lib"
    : >"$T/lib/alerts.ndjson"
    sed -e "s#/var/lib/kizuna#$T/lib#" -e 's#create 0600 kizuna kizuna#create 0600 root root#' \
        "$top_srcdir/contrib/logrotate/kizuna" >"$T/logrotate.conf"
    out=$(logrotate -d -s "$T/state" "$T/logrotate.conf" 2>&1)
    ok $? "logrotate -d accepts the configuration"
    echo "$out" | grep -q "alerts.ndjson"
    ok $? "logrotate considers the .ndjson files"
else
    echo "# logrotate not installed: configuration not checked"
fi
done_testing
