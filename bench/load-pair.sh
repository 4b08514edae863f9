#!/bin/sh
# SPDX-License-Identifier: MIT
#
# load-pair.sh - two builds of libxpc under load, alternating, for a change
# whose effect is smaller than the machine's noise (docs/performance.md,
# "The service's work per request").
#
#   bench/load-pair.sh BASE_BUILD NEW_BUILD [RUNS [POINTS]]
#
# NEW_BUILD "-" runs BASE_BUILD alone (bench/goals.sh).
# RUNS times (default 5) each build in turn runs one `bench-load sweep` of
# POINTS (default 8x8,64x1,8x32; BENCH_LOAD_POINTS syntax) without sd-bus,
# against a private xpcd of its own build whose echo job is that build's
# `bench-load service`, as bench/run.sh starts them.  Printed: a `RUN BUILD
# I LOADAVG` line before each sweep and its LOAD lines prefixed with the
# build's tag (base, new); bench/load-pair.py turns them into medians.
# With PERF=1 the echo job is also counted by `perf stat -p` during the
# sweep (system calls it enters, context switches, CPU time) into
# OUT.ps.BUILD.I (OUT from $PERF_OUT, default /tmp/load-pair): divide by
# the sweep's requests (req/s x BENCH_LOAD_SECS x points) for figures per
# request.  With WRAP="valgrind --tool=callgrind ..." the job runs under it
# (its pid stays xpcd's child: no fork) and gets SIGTERM at the end, so the
# tool writes its output.
set -eu

[ $# -ge 2 ] || { echo "usage: $0 BASE_BUILD NEW_BUILD [RUNS [POINTS]]" >&2; exit 2; }
BASE=$1 NEW=$2 RUNS=${3:-5} POINTS=${4:-8x8,64x1,8x32}
NAME=org.xpc.bench.load
EVENTS=$(for s in recvmmsg recvmsg sendmsg epoll_wait epoll_ctl futex; do printf 'syscalls:sys_enter_%s,' $s; done)cs,task-clock
ulimit -n "$(ulimit -Hn)"

# The echo job (it outlives xpcd) and xpcd of the current sweep, with $1.
stop() {
	[ -n "${xpcd:-}" ] || return 0
	for p in $(pgrep -P "$xpcd" || :); do kill -s "$1" "$p" 2>/dev/null || :; done
	[ -n "${WRAP:-}" ] && sleep 4
	kill -s TERM "$xpcd" 2>/dev/null || :
	wait "$xpcd" 2>/dev/null || :
	xpcd=""
}
trap 'stop KILL; [ -n "${tmp:-}" ] && rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

# One sweep of build $1 tagged $2, run $3.
sweep() {
	b=$(cd "$1" && pwd) tag=$2 i=$3
	tmp=$(mktemp -d /tmp/load-pair.XXXXXX)
	wrap=""
	for w in ${WRAP:-}; do wrap="$wrap<string>$w</string>"; done
	mkdir "$tmp/jobs"
	cat >"$tmp/jobs/$NAME.plist" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>$NAME</string>
<key>ProgramArguments</key><array>$wrap<string>$b/bench/bench-load</string><string>service</string></array>
<key>MachServices</key><dict><key>$NAME</key><true/></dict>
</dict></plist>
EOF
	"$b/src/broker/xpcd" --socket "$tmp/x.sock" --jobs "$tmp/jobs" 2>>"$tmp/xpcd.log" &
	xpcd=$!
	n=0
	until [ -S "$tmp/x.sock" ]; do
		n=$((n + 1))
		[ $n -gt 500 ] && { echo "load-pair: xpcd did not start" >&2; exit 1; }
		sleep 0.01
	done
	perf=""
	if [ "${PERF:-0}" = 1 ]; then
		( # the echo job starts at the first connection: wait for its pid
			while :; do
				sp=$(awk '{print $1; exit}' "$tmp/x.sock.state" 2>/dev/null || :)
				[ -n "$sp" ] && [ "$sp" -gt 0 ] 2>/dev/null && break
				sleep 0.05
			done
			exec perf stat -e "$EVENTS" -p "$sp" -o "${PERF_OUT:-/tmp/load-pair}.ps.$tag.$i"
		) &
		perf=$!
	fi
	echo "RUN $tag $i $(cut -d' ' -f1 /proc/loadavg)"
	BENCH_LOAD_POINTS=$POINTS XPCD_SOCKET=$tmp/x.sock "$b/bench/bench-load" sweep "$NAME" "$xpcd" - 0 "$tmp" |
		sed -n "s/^LOAD/$tag LOAD/p"
	if [ -n "$perf" ]; then # (perf itself once exec'd; SIGINT ends the wait loop too)
		kill -s INT "$perf" 2>/dev/null || :
		wait "$perf" 2>/dev/null || :
	fi
	if [ -n "${WRAP:-}" ]; then stop TERM; else stop KILL; fi
	rm -rf "$tmp"
	tmp=""
}

i=1
while [ $i -le "$RUNS" ]; do
	sweep "$BASE" base $i
	[ "$NEW" = - ] || sweep "$NEW" new $i
	i=$((i + 1))
done
