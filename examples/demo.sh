#!/bin/sh
# The seed scenario on a private broker (make demo):
#   1. xpcd starts with one job, org.example.rendezvous (not running yet);
#   2. A makes an anonymous listener and publishes its endpoint through the
#      service (the first lookup launches it on demand);
#   3. B fetches A's endpoint from the service and talks to A directly;
#   4. midway, the service and then the broker are killed with SIGKILL;
#   5. A and B keep talking: their link is a socketpair of their own.
# Usage: examples/demo.sh BUILD_DIR [ROUNDS]
set -eu
build=$(cd "${1:-build}" && pwd)
rounds=${2:-10}
tmp=$(mktemp -d /tmp/xpc-demo.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	pkill -9 -f "$build/examples/rendezvous" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
say() { printf '\n==> %s\n' "$*"; }

mkdir -p "$tmp/jobs"
cat > "$tmp/jobs/org.example.rendezvous.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key><string>org.example.rendezvous</string>
	<key>Program</key><string>$build/examples/rendezvous</string>
	<key>MachServices</key><dict><key>org.example.rendezvous</key><true/></dict>
	<key>StandardOutPath</key><string>$tmp/rendezvous.log</string>
	<key>StandardErrorPath</key><string>$tmp/rendezvous.log</string>
</dict>
</plist>
PLIST
export XPCD_SOCKET="$tmp/xpcd.sock"

say "starting a private broker: xpcd --socket $XPCD_SOCKET --jobs $tmp/jobs"
"$build/src/broker/xpcd" --socket "$XPCD_SOCKET" --jobs "$tmp/jobs" 2>"$tmp/xpcd.log" &
xpcd=$!; pids="$pids $xpcd"
for i in $(seq 50); do [ -S "$XPCD_SOCKET" ] && break; sleep 0.1; done
"$build/tools/xpcctl/xpcctl" list

say "A: anonymous listener, endpoint published through org.example.rendezvous"
"$build/examples/peer-a" > "$tmp/a.log" 2>&1 &
a=$!; pids="$pids $a"
for i in $(seq 50); do grep -q "endpoint published" "$tmp/a.log" 2>/dev/null && break; sleep 0.1; done
cat "$tmp/a.log"

say "B: fetches A's endpoint from the service, then talks to A directly ($rounds rounds)"
"$build/examples/peer-b" "$rounds" > "$tmp/b.log" 2>&1 &
b=$!; pids="$pids $b"
for i in $(seq 100); do grep -q "round 3:" "$tmp/b.log" 2>/dev/null && break; sleep 0.1; done
cat "$tmp/b.log"

say "killing the rendezvous service and the broker (SIGKILL)"
"$build/tools/xpcctl/xpcctl" list || true
pkill -9 -f "$build/examples/rendezvous" || true
kill -9 "$xpcd" || true
wait "$xpcd" 2>/dev/null || true
sleep 0.2
if pgrep -f "$build/examples/rendezvous" >/dev/null || kill -0 "$xpcd" 2>/dev/null; then
	echo "service or broker still alive?"; exit 1
fi
echo "service and broker are gone; A (pid $a) and B (pid $b) remain"

say "A and B keep talking"
status=0
wait "$b" || status=$?
sed -n '/round 4:/,$p' "$tmp/b.log"
say "what A saw"
cat "$tmp/a.log"
say "what the rendezvous service saw"
cat "$tmp/rendezvous.log" 2>/dev/null || true
say "broker log"
cat "$tmp/xpcd.log"
if [ "$status" -eq 0 ]; then
	say "seed scenario: OK (every round answered, after the service and the broker were gone)"
else
	say "seed scenario: FAILED (peer-b exit $status)"
fi
exit "$status"
