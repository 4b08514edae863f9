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
TMP=$(mktemp -d /tmp/xpc-idle.XXXXXX)
XPID=""
cleanup() {
	if [ -f "$TMP/xpcd.sock.state" ]; then
		while read -r pid _start _label; do
			[ "$pid" -gt 0 ] 2>/dev/null || continue
			grep -q bench-xpc "/proc/$pid/cmdline" 2>/dev/null || continue
			kill -KILL "$pid" 2>/dev/null || :
		done <"$TMP/xpcd.sock.state"
	fi
	[ -n "$XPID" ] && { kill -KILL "$XPID" 2>/dev/null || :; wait "$XPID" 2>/dev/null || :; }
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$TMP/jobs"
cat >"$TMP/jobs/$NAME.plist" <<EOP
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>$NAME</string>
<key>ProgramArguments</key><array><string>$B/bench-xpc</string><string>service</string><string>$NAME</string></array>
<key>MachServices</key><dict><key>$NAME</key><true/></dict>
</dict></plist>
EOP
"$XPCD" --socket "$TMP/xpcd.sock" --jobs "$TMP/jobs" 2>>"$TMP/xpcd.log" &
XPID=$!
i=0
while [ ! -S "$TMP/xpcd.sock" ]; do
	i=$((i + 1))
	[ $i -gt 500 ] && { echo "idle.sh: xpcd did not start" >&2; cat "$TMP/xpcd.log" >&2; exit 1; }
	sleep 0.01
done
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
