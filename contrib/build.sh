#!/bin/sh
# Build kizuna out of tree in build/ (./build/kizunad, plugins in build/plugins/.libs).
# Extra arguments go to configure on the first run.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
mkdir -p build
cd build
[ -f Makefile ] || "$top/configure" -q "$@"
make -j"$(nproc)" >build.log 2>&1 || { tail -40 build.log; exit 1; }
