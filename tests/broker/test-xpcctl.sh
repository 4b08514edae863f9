#!/bin/sh
# SPDX-License-Identifier: MIT
# xpcctl end to end against a private broker: list, print, lookup, send,
# kickstart, kill, disable/enable, unload, load, and its exit codes.
# Usage: test-xpcctl.sh XPCD XPCCTL ECHO_SERVICE
set -u
xpcd=$1 xpcctl=$2 echo_service=$3
dir=$(mktemp -d /tmp/xpcctl-test.XXXXXX)
fail=0
check() { # check DESCRIPTION EXPECTED_STATUS COMMAND...
	desc=$1 want=$2; shift 2
	out=$("$@" 2>&1); got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $desc: exit $got, wanted $want: $out"; fail=1
	fi
	LAST=$out
}
contains() { case "$LAST" in *"$1"*) ;; *) echo "FAIL: output lacks '$1': $LAST"; fail=1;; esac; }
mkdir "$dir/jobs"
cat > "$dir/jobs/echo.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>org.xpc.test.echo</string>
<key>ProgramArguments</key><array><string>$echo_service</string><string>org.xpc.test.echo</string></array>
<key>MachServices</key><dict><key>org.xpc.test.echo</key><true/></dict>
<key>ThrottleInterval</key><integer>1</integer>
<key>ExitTimeOut</key><integer>2</integer>
</dict></plist>
PLIST
sed 's/org.xpc.test.echo/org.xpc.test.second/g' "$dir/jobs/echo.plist" > "$dir/second.plist"
export XPCD_SOCKET="$dir/xpcd.sock"
"$xpcd" --socket "$XPCD_SOCKET" --jobs "$dir/jobs" >"$dir/xpcd.log" 2>&1 &
broker=$!
for i in $(seq 100); do [ -S "$XPCD_SOCKET" ] && break; sleep 0.05; done

check "list" 0 "$xpcctl" list; contains "org.xpc.test.echo"
check "print" 0 "$xpcctl" print --json org.xpc.test.echo; contains '"label": "org.xpc.test.echo"'
check "print unknown" 1 "$xpcctl" print no.such.job
check "lookup" 0 "$xpcctl" lookup org.xpc.test.echo; contains "endpoint received"
check "lookup unknown" 1 "$xpcctl" lookup no.such.name; contains "unknown name"
check "send" 0 "$xpcctl" send org.xpc.test.echo '{"op": "echo", "value": 42}'; contains '"value": 42'
check "send --description" 0 "$xpcctl" send --description org.xpc.test.echo '{"op": "echo", "value": 7}'
contains "<dictionary: "
check "send bad json" 2 "$xpcctl" send org.xpc.test.echo '[1, 2'
check "send unknown name" 3 "$xpcctl" send no.such.name '{}'
check "kill" 0 "$xpcctl" kill TERM org.xpc.test.echo
check "kickstart -k" 0 "$xpcctl" kickstart -k org.xpc.test.echo
check "kill bad signal" 2 "$xpcctl" kill NOPE org.xpc.test.echo
check "disable" 0 "$xpcctl" disable org.xpc.test.echo
check "lookup disabled" 1 "$xpcctl" lookup org.xpc.test.echo
check "enable" 0 "$xpcctl" enable org.xpc.test.echo
check "load" 0 "$xpcctl" load "$dir/second.plist"; contains "loaded org.xpc.test.second"
check "load twice" 1 "$xpcctl" load "$dir/second.plist"; contains "already loaded"
check "send second" 0 "$xpcctl" send org.xpc.test.second '{"op": "echo", "value": 1}'
# unload answers once the instance stopped (here after ExitTimeOut's 2 s:
# it ignores SIGTERM), so loading the same file right after succeeds
check "ignore-term" 0 "$xpcctl" send org.xpc.test.second '{"op": "ignore-term"}'
check "unload running" 0 "$xpcctl" unload org.xpc.test.second
check "load right after unload" 0 "$xpcctl" load "$dir/second.plist"; contains "loaded org.xpc.test.second"
check "unload" 0 "$xpcctl" unload org.xpc.test.second
check "lookup unloaded" 1 "$xpcctl" lookup org.xpc.test.second
check "usage" 2 "$xpcctl" frobnicate
kill "$broker"; wait "$broker" 2>/dev/null
while read -r pid start label; do kill -9 "-$pid" "$pid" 2>/dev/null; done < "$XPCD_SOCKET.state"
check "no broker" 3 "$xpcctl" list
[ "$fail" -ne 0 ] && cat "$dir/xpcd.log"
rm -rf "$dir"
exit "$fail"
