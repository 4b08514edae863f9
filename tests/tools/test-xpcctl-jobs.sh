#!/bin/sh
# SPDX-License-Identifier: MIT
# xpcctl's job commands that need the broker's help: kickstart -k restarts
# at once (ThrottleInterval 30) and prints the new pid; blame says why a
# job runs; procinfo finds a job by pid; disable and enable survive a
# broker restart; monitor prints one timestamped line per event (lookup,
# launch, exit) and capture writes them as pcapng.
# Usage: test-xpcctl-jobs.sh XPCD XPCCTL ECHO_SERVICE SRCDIR
XPCD=$1 XPCCTL=$2 ECHO_SERVICE=$3 SRC=$4
. "$SRC/tests/tools/tools-common.sh"
x=$XPCCTL
job_plist org.xpc.t.echo "$dir/jobs/echo.plist" 30
start_broker

# ---- monitor in the background, for the whole test ----
"$x" monitor > "$dir/monitor.out" 2> "$dir/monitor.err" &
mon=$!
"$x" monitor --json --name org.xpc.t.echo > "$dir/monitor.json" 2>&1 &
monj=$!
for _ in $(seq 100); do grep -q monitoring "$dir/monitor.err" && break; sleep 0.05; done

# ---- blame and procinfo of a job started by a check-in ----
check "send" 0 "$x" send org.xpc.t.echo '{"op": "echo", "value": 1}'
pid1=$(echo "$LAST" | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
check "blame" 0 "$x" blame org.xpc.t.echo; contains "check-in"; contains "org.xpc.t.echo"
check "blame --json" 0 "$x" blame --json org.xpc.t.echo; contains '"reason"'
check "procinfo" 0 "$x" procinfo "$pid1"; contains "org.xpc.t.echo = {"; contains "state = running"
check "procinfo --json" 0 "$x" procinfo --json "$pid1"
echo "$LAST" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["label"] == "org.xpc.t.echo" and j["pid"] == int(sys.argv[1]), j
' "$pid1" || { echo "FAIL: procinfo --json: $LAST"; fail=1; }
check "procinfo of no job" 1 "$x" procinfo $$; contains "no job with that pid"
check "procinfo bad" 2 "$x" procinfo abc

# ---- kickstart -k: at once despite ThrottleInterval 30, the new pid ----
t0=$(date +%s)
check "kickstart -k" 0 "$x" kickstart -k org.xpc.t.echo
t1=$(date +%s)
pid2=$(echo "$LAST" | sed -n 's/^org.xpc.t.echo: pid \([0-9]*\)$/\1/p')
[ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && [ "$pid2" -gt 0 ] || { echo "FAIL: kickstart -k printed '$LAST' (old pid $pid1)"; fail=1; }
[ $((t1 - t0)) -lt 10 ] || { echo "FAIL: kickstart -k took $((t1 - t0)) s"; fail=1; }
kill -0 "$pid2" 2>/dev/null || { echo "FAIL: the new pid $pid2 does not run"; fail=1; }
check "blame after kickstart" 0 "$x" blame org.xpc.t.echo; contains "kickstart"
check "kickstart running" 0 "$x" kickstart org.xpc.t.echo; contains "pid $pid2"

# ---- monitor lines: lookup, launch, exit, kickstart, with timestamps ----
for _ in $(seq 100); do grep -q " exit .*org.xpc.t.echo" "$dir/monitor.out" && break; sleep 0.05; done
LAST=$(cat "$dir/monitor.out")
contains " lookup    org.xpc.t.echo name=org.xpc.t.echo pid="; contains ": ok"
contains " launch    org.xpc.t.echo pid=$pid1"; contains " exit      org.xpc.t.echo pid=$pid1"
contains " kickstart org.xpc.t.echo"
grep -Eq '^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]{6}Z launch ' "$dir/monitor.out" ||
	{ echo "FAIL: no timestamped launch line: $LAST"; fail=1; }
LAST=$(cat "$dir/monitor.json")
contains '"xpcd.event": "launch"'

# ---- disable and enable survive a restart ----
check "disable" 0 "$x" disable org.xpc.t.echo
stop_broker
start_broker
check "print after restart" 0 "$x" print --json org.xpc.t.echo; contains '"disabled": true'
check "lookup disabled" 1 "$x" lookup org.xpc.t.echo; contains "disabled"
check "enable" 0 "$x" enable org.xpc.t.echo
stop_broker
start_broker
check "print after second restart" 0 "$x" print --json org.xpc.t.echo; contains '"disabled": false'
check "lookup enabled" 0 "$x" lookup org.xpc.t.echo
# a label disabled while not loaded stays disabled when it is loaded
job_plist org.xpc.t.late "$dir/late.plist"
check "disable a label not loaded" 0 "$x" disable org.xpc.t.late
check "load it" 0 "$x" load "$dir/late.plist"
check "loaded disabled" 0 "$x" print --json org.xpc.t.late; contains '"disabled": true'
check "enable it" 0 "$x" enable org.xpc.t.late

# the monitors saw the broker go and said so
wait "$mon"; st=$?
[ "$st" -eq 3 ] || { echo "FAIL: monitor exit $st when the broker went"; fail=1; }
wait "$monj" 2>/dev/null

# ---- capture: the events as pcapng, opened by tshark ----
if command -v tshark >/dev/null; then
	"$x" capture "$dir/ev.pcapng" 2>"$dir/capture.err" &
	cap=$!
	for _ in $(seq 100); do grep -q monitoring "$dir/capture.err" && break; sleep 0.05; done
	check "send for capture" 0 "$x" send org.xpc.t.echo '{"op": "echo", "value": 2}'
	for _ in $(seq 100); do [ "$(stat -c %s "$dir/ev.pcapng")" -gt 300 ] && break; sleep 0.05; done
	kill -INT "$cap"; wait "$cap"; st=$?
	[ "$st" -eq 0 ] || { echo "FAIL: capture exit $st after SIGINT"; fail=1; }
	check "tshark reads the events" 0 tshark -X lua_script:"$SRC/tools/wireshark/xpc.lua" -r "$dir/ev.pcapng" \
		-T fields -e xpc.string
	contains "lookup"; contains "launch"
else
	echo "test-xpcctl-jobs: capture not opened: no tshark"
fi
finish
