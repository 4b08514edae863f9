#!/bin/sh
# bench/run.sh - the whole benchmark suite of `make bench` in one run.
#
#   bench/run.sh [BUILD_DIR] [OUT_DIR]     (defaults: build, bench/results)
#
# Builds nothing (the Makefile does).  In a fresh temp dir it starts its own
# daemons on private sockets: an xpcd whose one job is `bench-xpc service`,
# a dbus-daemon with its own configuration, dbus-broker through
# bench/dbus-broker-controller (dbus-broker-launch needs systemd), and at
# the end an xpcd with 1 000 generated jobs to weigh; then the figures under
# load (bench/bench-load.c): an xpcd whose job is `bench-load service` and
# dbus-broker side by side for the P x C sweep and the lookups, the idle
# peers (100, 1 000, 10 000 and, when the hard descriptor limit allows,
# 16 000), and an xpcd with 10 000 generated jobs.  BENCH_LOAD_SECS (default 2)
# is the time of each load point; BENCH_ONLY_LOAD=1 runs the load part alone;
# BENCH_LOAD_POINTS and BENCH_LOAD_ANATOMY go to bench-load (its header).
# Every process it starts gets the RLIMIT_NOFILE hard limit as soft limit.
# It runs bench-xpc, bench-raw and bench-sdbus against them, collects
# their RESULT lines and hands them to bench/report.py, which prints ONE
# table (median, p99, the baseline measured in this run, the ratio) and
# writes OUT_DIR/results.md (the same table in markdown, for
# docs/performance.md), results.txt (the raw lines) and rtt.png (round-trip latency against payload size, gnuplot);
# bench/report-load.py adds the load table (load.md) and chart (load.png).
# Then bench-remote (RemoteXPC over loopback against a raw TCP ping-pong and
# a bare nghttp2 request/response, and large-payload throughput;
# docs/remote.md) prints its own table, kept in OUT_DIR/remote.txt (RESULT
# lines in OUT_DIR/remote-results.txt).
# Then bench-connection --sizes with shared rings (XPC_SHARED_RING=1 and
# =futex) against raw SEQPACKET, kept in OUT_DIR/ring.txt.
# Last, bench/python-rtt.py (the Python bindings against a Python raw socket
# and python3-dbus) prints its own table, also kept in OUT_DIR/python.txt.
# Every daemon and job it started is killed and the temp dir removed on exit,
# also on failure or ^C.
set -eu

BUILD=${1:-build}
OUT=${2:-bench/results}
B=$BUILD/bench
NAME=org.xpc.bench.echo
JOBS=1000

for p in "$B/bench-xpc" "$B/bench-raw" "$B/bench-sdbus" "$B/dbus-broker-controller" "$B/bench-load" \
	"$BUILD/src/broker/xpcd" "$BUILD/tools/xpcctl/xpcctl"; do
	[ -x "$p" ] || { echo "run.sh: $p missing: build first (make bench)" >&2; exit 1; }
done
B=$(cd "$B" && pwd)
XPCD=$(cd "$BUILD/src/broker" && pwd)/xpcd
XPCCTL=$(cd "$BUILD/tools/xpcctl" && pwd)/xpcctl
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/xpc-bench.XXXXXX)
RES=$TMP/results.txt
: >"$RES"
DAEMONS=""

# Kills the jobs an xpcd started (their pids are in SOCKET.state), then it.
stop_xpcd() { # SOCKET PID
	if [ -f "$1.state" ]; then
		while read -r pid _start _label; do
			# a job leads its process group; dash's kill takes no -PGID
			[ "$pid" -gt 0 ] 2>/dev/null || continue
			grep -q -e bench-xpc -e bench-load "/proc/$pid/cmdline" 2>/dev/null || continue # not ours (any more)
			/bin/kill -s KILL -- "-$pid" 2>/dev/null || :
			kill -KILL "$pid" 2>/dev/null || :
		done <"$1.state"
	fi
	kill -KILL "$2" 2>/dev/null || :
	wait "$2" 2>/dev/null || :
}

cleanup() {
	for s in "$TMP/xpcd.sock" "$TMP/xpcd-many.sock" "$TMP/xpcd-load.sock" "$TMP/xpcd-10k.sock"; do
		[ -f "$s.pid" ] && stop_xpcd "$s" "$(cat "$s.pid")"
	done
	for pid in $DAEMONS; do
		kill -TERM "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # PATH
	i=0
	while [ ! -S "$1" ]; do
		i=$((i + 1))
		[ $i -gt 3000 ] && { echo "run.sh: nothing listens on $1" >&2; return 1; }
		sleep 0.01
	done
}

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

result() { echo "RESULT $*" >>"$RES"; }

job_plist() { # FILE LABEL NAME
	cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>$2</string>
<key>ProgramArguments</key><array><string>$B/bench-xpc</string><string>service</string><string>$3</string></array>
<key>MachServices</key><dict><key>$3</key><true/></dict>
</dict></plist>
EOF
}

start_xpcd() { # SOCKET JOBDIR
	"$XPCD" --socket "$1" --jobs "$2" 2>>"$TMP/xpcd.log" &
	echo $! >"$1.pid"
	wait_for "$1"
}

ulimit -n "$(ulimit -Hn)"
echo "bench: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

start_broker() { # SOCKET: dbus-broker through bench/dbus-broker-controller; sets pid, bpid
	"$B/dbus-broker-controller" "$1" >"$TMP/broker.ready" 2>>"$TMP/broker.log" &
	pid=$!
	DAEMONS="$DAEMONS $pid"
	i=0
	until grep -q ready "$TMP/broker.ready" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 500 ] && { cat "$TMP/broker.log" >&2; exit 1; }
		sleep 0.01
	done
	bpid=$(cut -d' ' -f1 "/proc/$pid/task/$pid/children")
}

if [ "${BENCH_ONLY_LOAD:-0}" = 0 ]; then
# ---- libxpc: a private xpcd with the echo job -------------------------------------
mkdir "$TMP/jobs"
job_plist "$TMP/jobs/$NAME.plist" "$NAME" "$NAME"
start_xpcd "$TMP/xpcd.sock" "$TMP/jobs"
result rss xpcd-1-job - "$(rss "$(cat "$TMP/xpcd.sock.pid")")" "$(rss "$(cat "$TMP/xpcd.sock.pid")")" KiB
echo "bench: libxpc" >&2
XPCD_SOCKET=$TMP/xpcd.sock "$B/bench-xpc" "$NAME" >>"$RES"
stop_xpcd "$TMP/xpcd.sock" "$(cat "$TMP/xpcd.sock.pid")"
rm -f "$TMP/xpcd.sock.pid"

# ---- raw sockets ---------------------------------------------------------------------
echo "bench: raw sockets" >&2
"$B/bench-raw" "$TMP" >>"$RES"

# ---- sd-bus: peer to peer, dbus-daemon, dbus-broker ---------------------------------
echo "bench: sd-bus peer to peer" >&2
"$B/bench-sdbus" p2p >>"$RES"

cat >"$TMP/dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$TMP/dbus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="max_message_size">134217728</limit>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
</busconfig>
EOF
if command -v dbus-daemon >/dev/null; then
	echo "bench: sd-bus through dbus-daemon" >&2
	dbus-daemon --config-file="$TMP/dbus.conf" --nofork --nopidfile 2>>"$TMP/dbus.log" &
	pid=$!
	DAEMONS="$DAEMONS $pid"
	wait_for "$TMP/dbus.sock"
	result rss dbus-daemon - "$(rss $pid)" "$(rss $pid)" KiB
	"$B/bench-sdbus" bus "unix:path=$TMP/dbus.sock" daemon >>"$RES"
	kill -TERM $pid && wait $pid 2>/dev/null || :
	DAEMONS=""
else
	echo "bench: no dbus-daemon: skipped" >&2
fi

if [ -x /usr/bin/dbus-broker ]; then
	echo "bench: sd-bus through dbus-broker" >&2
	start_broker "$TMP/broker.sock"
	result rss dbus-broker - "$(rss "$bpid")" "$(rss "$bpid")" KiB
	"$B/bench-sdbus" bus "unix:path=$TMP/broker.sock" broker >>"$RES"
	kill -TERM $pid && wait $pid 2>/dev/null || :
	DAEMONS=""
else
	echo "bench: no dbus-broker: skipped" >&2
fi

# ---- xpcd with 1000 loaded jobs ------------------------------------------------------
echo "bench: xpcd with $JOBS jobs" >&2
mkdir "$TMP/many"
i=0
while [ $i -lt $JOBS ]; do
	job_plist "$TMP/many/job$i.plist" "org.xpc.bench.job$i" "org.xpc.bench.job$i"
	i=$((i + 1))
done
start_xpcd "$TMP/xpcd-many.sock" "$TMP/many"
n=$(XPCD_SOCKET=$TMP/xpcd-many.sock "$XPCCTL" list | grep -c org.xpc.bench.job || :)
[ "$n" -eq $JOBS ] || { echo "run.sh: xpcd loaded $n of $JOBS jobs" >&2; exit 1; }
pid=$(cat "$TMP/xpcd-many.sock.pid")
result rss xpcd-$JOBS-jobs - "$(rss "$pid")" "$(rss "$pid")" KiB
stop_xpcd "$TMP/xpcd-many.sock" "$pid"
rm -f "$TMP/xpcd-many.sock.pid"
fi # BENCH_ONLY_LOAD

# ---- under load: xpc, raw epoll and sd-bus through dbus-broker, alternating ---------
LOAD_NAME=org.xpc.bench.load
mkdir "$TMP/load"
cat >"$TMP/load/$LOAD_NAME.plist" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>$LOAD_NAME</string>
<key>ProgramArguments</key><array><string>$B/bench-load</string><string>service</string></array>
<key>MachServices</key><dict><key>$LOAD_NAME</key><true/></dict>
</dict></plist>
EOF
start_xpcd "$TMP/xpcd-load.sock" "$TMP/load"
xpid=$(cat "$TMP/xpcd-load.sock.pid")
DBUS=- bpid=0
if [ -x /usr/bin/dbus-broker ]; then
	start_broker "$TMP/broker-load.sock"
	DBUS=unix:path=$TMP/broker-load.sock
fi
echo "bench: under load, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "LOADAVG $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RES"
XPCD_SOCKET=$TMP/xpcd-load.sock "$B/bench-load" sweep "$LOAD_NAME" "$xpid" "$DBUS" "$bpid" "$TMP" >>"$RES"
# 16 000 peers (issue 17) when the descriptor limit holds them: one
# descriptor per idle peer in the service and one in the client
IDLE_STEPS="100 1000 10000"
hard=$(ulimit -Hn)
{ [ "$hard" = unlimited ] || [ "$hard" -ge 17000 ]; } && IDLE_STEPS="$IDLE_STEPS 16000"
echo "bench: idle peers ($IDLE_STEPS)" >&2
# shellcheck disable=SC2086
XPCD_SOCKET=$TMP/xpcd-load.sock "$B/bench-load" idle "$LOAD_NAME" $IDLE_STEPS >>"$RES"
stop_xpcd "$TMP/xpcd-load.sock" "$xpid"
rm -f "$TMP/xpcd-load.sock.pid"
for pid in $DAEMONS; do
	kill -TERM "$pid" 2>/dev/null || :
	wait "$pid" 2>/dev/null || :
done
DAEMONS=""

# ---- xpcd with 10 000 loaded jobs: load time, memory, lookup time -------------------
# Each MachServices name holds 2 descriptors in xpcd (docs/broker.md), and
# xpcd keeps the last eighth of its RLIMIT_NOFILE (16 to 1 024) for
# clients, refusing jobs beyond (src/broker/registry.c): under a hard limit
# below 2 x 10 000 + that reserve + 64 the run generates as many as fit.
MANY=10000
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ]; then
	reserve=$((hard / 8))
	[ $reserve -lt 16 ] && reserve=16
	[ $reserve -gt 1024 ] && reserve=1024
	[ "$hard" -lt $((2 * MANY + reserve + 64)) ] && MANY=$(((hard - reserve - 64) / 2))
fi
echo "bench: xpcd with $MANY jobs (descriptor limit $hard)" >&2
mkdir "$TMP/10k"
awk -v n=$MANY -v dir="$TMP/10k" -v prog="$B/bench-load" 'BEGIN {
	for (i = 0; i < n; i++) {
		f = dir "/job" i ".plist"
		l = "org.xpc.bench.many" i
		print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" >f
		print "<plist version=\"1.0\"><dict>" >f
		print "<key>Label</key><string>" l "</string>" >f
		print "<key>ProgramArguments</key><array><string>" prog "</string><string>service</string></array>" >f
		print "<key>MachServices</key><dict><key>" l "</key><true/></dict>" >f
		print "</dict></plist>" >f
		close(f)
	}
}'
t0=$(date +%s%N)
start_xpcd "$TMP/xpcd-10k.sock" "$TMP/10k"
t1=$(date +%s%N)
pid=$(cat "$TMP/xpcd-10k.sock.pid")
n=$(XPCD_SOCKET=$TMP/xpcd-10k.sock "$XPCCTL" list | grep -c org.xpc.bench.many || :)
[ "$n" -eq $MANY ] || { echo "run.sh: xpcd loaded $n of $MANY jobs" >&2; exit 1; }
ms=$(((t1 - t0) / 1000000))
result jobload xpcd-$MANY-jobs - "$ms" "$ms" ms
result rss xpcd-$MANY-jobs - "$(rss "$pid")" "$(rss "$pid")" KiB
XPCD_SOCKET=$TMP/xpcd-10k.sock "$B/bench-load" lookups org.xpc.bench.many $MANY 20000 >>"$RES"
stop_xpcd "$TMP/xpcd-10k.sock" "$pid"
rm -f "$TMP/xpcd-10k.sock.pid"

cp "$RES" "$OUT/results.txt"
[ "${BENCH_ONLY_LOAD:-0}" = 0 ] && python3 "$(dirname "$0")/report.py" "$OUT"
python3 "$(dirname "$0")/report-load.py" "$OUT"

# ---- RemoteXPC over loopback (docs/remote.md) -------------------------------------------
if [ "${BENCH_ONLY_LOAD:-0}" = 0 ] && [ -x "$B/bench-remote" ]; then
	echo "bench: remote (RemoteXPC vs raw TCP vs bare nghttp2)" >&2
	"$B/bench-remote" >"$OUT/remote-results.txt" 2>"$OUT/remote.txt" || { cat "$OUT/remote.txt" >&2; exit 1; }
	sed -n '/^round trip/,$p' "$OUT/remote.txt"
fi

# ---- shared rings (docs/transport.md, "Shared rings") -----------------------------------
# The round trips by size against raw SEQPACKET, with both processes opted
# in, spinning (=1) and not (=futex).
if [ "${BENCH_ONLY_LOAD:-0}" = 0 ]; then
	echo "bench: shared rings" >&2
	for mode in 1 futex; do
		echo "XPC_SHARED_RING=$mode"
		XPC_SHARED_RING=$mode BENCH_NO_SDBUS=1 "$B/bench-connection" --sizes 2000 | sed -n '1,6p'
	done | tee "$OUT/ring.txt"
fi

# ---- the Python bindings against Python baselines (docs/python.md) ---------------------
# With the Debian python3 the module was built for (python3-dbus is there too).
if [ "${BENCH_ONLY_LOAD:-0}" = 0 ] && [ -d "$BUILD/bindings/python/xpc" ]; then
	echo "bench: python bindings" >&2
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=python3
	"$PY" "$(dirname "$0")/python-rtt.py" "$BUILD" | tee "$OUT/python.txt"
fi
