#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/idle.sh - the idle client's resident set (docs/performance.md,
# "The idle client"), interleaved with the raw client's in one run:
#
#   bench/idle.sh [BUILD_DIR] [N] [BEFORE_LIBDIR]   (defaults: build, 5)
#
# Starts a private xpcd whose one job is `bench-xpc service`, then N times:
# `bench-raw rss` (an idle process holding one connected SEQPACKET socket
# after one round trip), `bench-xpc rss` (an idle process with one named
# connection that got one reply), and, with BEFORE_LIBDIR, `bench-xpc rss`
# again with LD_LIBRARY_PATH=BEFORE_LIBDIR (another build's libxpc.so, to
# compare two builds in one run).  Prints every sample's VmRSS (KiB) and
# the medians.  Kills the job and the broker on exit.
set -eu
BUILD=${1:-build}
N=${2:-5}
BEFORE=${3:-}
NAME=org.xpc.bench.echo
B=$(cd "$BUILD/bench" && pwd)
XPCD=$(cd "$BUILD/src/broker" && pwd)/xpcd
SCRIPT=idle
. "$(dirname "$0")/private-xpcd.sh"
kib() { awk '$1 == "RESULT" { print $5 }'; }
: >"$TMP/raw"; : >"$TMP/xpc"; : >"$TMP/before"
for r in $(seq "$N"); do
	raw=$("$B/bench-raw" rss "$TMP" | kib)
	xpc=$(XPCD_SOCKET=$TMP/xpcd.sock "$B/bench-xpc" rss "$NAME" | kib)
	line="round $r: raw $raw KiB, xpc $xpc KiB"
	echo "$raw" >>"$TMP/raw"
	echo "$xpc" >>"$TMP/xpc"
	if [ -n "$BEFORE" ]; then
		before=$(LD_LIBRARY_PATH=$BEFORE XPCD_SOCKET=$TMP/xpcd.sock "$B/bench-xpc" rss "$NAME" | kib)
		echo "$before" >>"$TMP/before"
		line="$line, xpc with $BEFORE $before KiB"
	fi
	echo "$line"
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median of $N: raw $(median "$TMP/raw") KiB, xpc $(median "$TMP/xpc") KiB${BEFORE:+, xpc with $BEFORE $(median "$TMP/before") KiB}"
