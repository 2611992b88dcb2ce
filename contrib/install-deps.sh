#!/bin/sh
# Install the Debian packages kizuna needs to build, test and benchmark, if any is missing.
# Runs apt-get as root (directly, or through sudo).
set -e
PKGS="build-essential autoconf automake libtool pkg-config
 librdkafka-dev libpcre2-dev libuv1-dev libhiredis-dev libyaml-dev libssl-dev
 libcurl4-openssl-dev libmicrohttpd-dev
 redis-server kcat python3 python3-jsonschema libxml2-utils clang valgrind curl"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
