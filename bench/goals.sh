#!/bin/sh
# SPDX-License-Identifier: MIT
#
# goals.sh - issue 17's goals 2-4 measured together, RUNS rounds, each
# figure against its baseline of the same run (docs/performance.md, "On a
# quiet machine"):
#
#   bench/goals.sh [BUILD_DIR [RUNS]]          (defaults: build, 5)
#
# Every round runs, one after the other, so that a slow phase of the VM
# touches every figure alike: a `bench-load` sweep of 1x1, 8x8, 64x1 and
# 8x32 against the raw epoll server (bench/load-pair.sh with one build),
# `bench-connection --sizes` (64 B and 64 KiB round trips against raw
# SEQPACKET; then the same with shared rings, XPC_SHARED_RING=1 and
# =futex: docs/transport.md, "Shared rings"), `bench-connection` without
# sd-bus and one-way (1 MiB against
# raw SOCK_STREAM), bench/setup.sh (named connect + first reply against a
# raw connect + round trip) and one round of bench/idle.sh (the idle
# client's resident set against the raw client's).  The raw output goes to
# $GOALS_LOG (default /tmp/goals.log); bench/goals.py prints the medians,
# ranges and which goals hold.  Run it with the machine otherwise idle:
# other work moves the ratios both ways.
set -eu
BUILD=${1:-build}
RUNS=${2:-5}
LOG=${GOALS_LOG:-/tmp/goals.log}
HERE=$(dirname "$0")
B=$BUILD/bench

: >"$LOG"
r=1
while [ "$r" -le "$RUNS" ]; do
	echo "ROUND $r $(cut -d' ' -f1 /proc/loadavg)" >>"$LOG"
	sh "$HERE/load-pair.sh" "$BUILD" - 1 1x1,8x8,64x1,8x32 >>"$LOG" 2>&1
	echo "SIZES" >>"$LOG"
	BENCH_NO_SDBUS=1 "$B/bench-connection" --sizes 2000 >>"$LOG" 2>&1
	echo "RING" >>"$LOG"
	XPC_SHARED_RING=1 BENCH_NO_SDBUS=1 "$B/bench-connection" --sizes 2000 >>"$LOG" 2>&1
	echo "RINGFUTEX" >>"$LOG"
	XPC_SHARED_RING=futex BENCH_NO_SDBUS=1 "$B/bench-connection" --sizes 2000 >>"$LOG" 2>&1
	echo "BULK" >>"$LOG"
	BENCH_NO_SDBUS=1 BENCH_NO_ONEWAY=1 "$B/bench-connection" 2000 >>"$LOG" 2>&1
	echo "SETUP" >>"$LOG"
	sh "$HERE/setup.sh" "$BUILD" 300 >>"$LOG" 2>&1
	echo "IDLE" >>"$LOG"
	sh "$HERE/idle.sh" "$BUILD" 1 >>"$LOG" 2>&1
	echo "round $r of $RUNS done" >&2
	r=$((r + 1))
done
python3 "$HERE/goals.py" "$LOG"
