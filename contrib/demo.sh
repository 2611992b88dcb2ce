#!/bin/sh
# The demo: install what is missing, build, and run kizunad on the embedded default
# (conf/demo.yaml: real sshd and firewall logs from tests/data, no Kafka or Redis needed).
# Alerts are printed on stdout as JSON lines; the daemon exits when the logs are replayed.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/install-deps.sh"
"$top/contrib/build.sh"
exec "$top/build/kizunad" -c "$top/conf/demo.yaml" "$@"
