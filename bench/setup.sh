#!/bin/sh
# bench/setup.sh - the connect + first reply figures alone, interleaved with
# their raw baseline in the same run (bench-xpc setup):
#
#   bench/setup.sh [BUILD_DIR] [N]     (defaults: build, 300)
#
# Starts a private xpcd whose one job is `bench-xpc service`, runs
# `bench-xpc setup`, kills the job and the broker on exit.
set -eu
BUILD=${1:-build}
N=${2:-300}
NAME=org.xpc.bench.echo
B=$(cd "$BUILD/bench" && pwd)
XPCD=$(cd "$BUILD/src/broker" && pwd)/xpcd
SCRIPT=setup
. "$(dirname "$0")/private-xpcd.sh"
XPCD_SOCKET=$TMP/xpcd.sock "$B/bench-xpc" setup "$NAME" "$N"
