#!/bin/sh
# SPDX-License-Identifier: MIT
# The session example on a private broker (also run as the test
# 'session-example'):
#   1. xpcd starts with one job, org.example.session (session-server, not
#      running yet);
#   2. session-client opens a session (the check-in launches the server),
#      greets it, asks who it is, cancels; the server's per-session count
#      and its cancel handler show the session's life;
#   3. a second client gets a new session (the count starts again);
#   4. with the job's name unknown, session-client fails at creation.
# Usage: examples/session-demo.sh BUILD_DIR
set -eu
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d /tmp/xpc-session-demo.XXXXXX)
xpcd=""
# the server's pid, from its log: xpcd started it, and a killed xpcd leaves it
stop_server() {
	for p in $(sed -n 's/^\[session-server\] pid \([0-9]*\):.*/\1/p' "$tmp/server.log" 2>/dev/null | sort -u); do
		kill -9 "$p" 2>/dev/null || true
	done
}
cleanup() {
	[ -z "$xpcd" ] || kill -9 "$xpcd" 2>/dev/null || true
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
say() { printf '\n==> %s\n' "$*"; }
fail() { echo "session-demo: $*" >&2; cat "$tmp/server.log" >&2 2>/dev/null || true; exit 1; }

mkdir -p "$tmp/jobs"
cat > "$tmp/jobs/org.example.session.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key><string>org.example.session</string>
	<key>Program</key><string>$build/examples/session-server</string>
	<key>MachServices</key><dict><key>org.example.session</key><true/></dict>
	<key>StandardOutPath</key><string>$tmp/server.log</string>
</dict>
</plist>
PLIST
export XPCD_SOCKET="$tmp/xpcd.sock"

say "starting a private broker: xpcd --socket $XPCD_SOCKET --jobs $tmp/jobs"
"$build/src/broker/xpcd" --socket "$XPCD_SOCKET" --jobs "$tmp/jobs" 2>"$tmp/xpcd.log" &
xpcd=$!
for i in $(seq 100); do [ -S "$XPCD_SOCKET" ] && break; sleep 0.1; done

say "first session"
"$build/examples/session-client" alice 3 | tee "$tmp/c1.log"
grep -q "hello, alice (request 3 of this session)" "$tmp/c1.log" || fail "no third greeting"
grep -q "sees me as pid" "$tmp/c1.log" || fail "no audit token answer"
grep -q "session cancelled: Session manually canceled" "$tmp/c1.log" || fail "no cancel"

say "second session: its own state"
"$build/examples/session-client" bob 1 | tee "$tmp/c2.log"
grep -q "hello, bob (request 1 of this session)" "$tmp/c2.log" || fail "the count did not start again"

say "the server's side"
for i in $(seq 50); do [ "$(grep -c 'session ended' "$tmp/server.log" 2>/dev/null)" -ge 2 ] && break; sleep 0.1; done
cat "$tmp/server.log"
[ "$(grep -c 'session ended after' "$tmp/server.log")" -ge 2 ] || fail "the server saw fewer than two sessions end"

say "an unknown name fails at creation"
rm "$tmp/jobs/org.example.session.plist"
kill -9 "$xpcd"; wait "$xpcd" 2>/dev/null || true
stop_server
"$build/src/broker/xpcd" --socket "$XPCD_SOCKET" --jobs "$tmp/jobs" 2>>"$tmp/xpcd.log" &
xpcd=$!
for i in $(seq 100); do [ -S "$XPCD_SOCKET" ] && break; sleep 0.1; done
sleep 0.2
if "$build/examples/session-client" carol 1 2>"$tmp/c3.err"; then fail "a session to an unknown name was made"; fi
cat "$tmp/c3.err"
grep -q "cannot activate the session: .*unknown name" "$tmp/c3.err" || fail "no 'unknown name' error"
say "done"
