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
TMP=$(mktemp -d /tmp/xpc-setup.XXXXXX)
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
	[ $i -gt 500 ] && { echo "setup.sh: xpcd did not start" >&2; cat "$TMP/xpcd.log" >&2; exit 1; }
	sleep 0.01
done
XPCD_SOCKET=$TMP/xpcd.sock "$B/bench-xpc" setup "$NAME" "$N"
