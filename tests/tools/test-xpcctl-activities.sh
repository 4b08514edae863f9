#!/bin/sh
# SPDX-License-Identifier: MIT
# xpcctl activities and run-activity (docs/activities.md) with a periodic
# job in the style of Apple's periodic tools (tests/activity/periodic-job):
# the activity is listed with its job, identifier, state, next due time,
# runs and criteria (also --json); run-activity launches the job at once
# and the run shows in the list; a wrong job or identifier is refused.
# Then, as root against a broker anyone may reach (--system), nobody
# sees none of root's activities and may not run one ("denied").
# Usage: test-xpcctl-activities.sh XPCD XPCCTL ECHO_SERVICE SRCDIR PERIODIC_JOB
XPCD=$1 XPCCTL=$2 ECHO_SERVICE=$3 SRC=$4 PERIODIC_JOB=$5
. "$SRC/tests/tools/tools-common.sh"
x=$XPCCTL
ACT=org.xpc.t.act.hourly

act_plist() { # act_plist FILE LOG
	cat > "$1" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>org.xpc.t.periodic</string>
<key>ProgramArguments</key><array><string>$PERIODIC_JOB</string><string>done</string><string>$2</string><string>$ACT</string></array>
<key>ThrottleInterval</key><integer>0</integer>
<key>LaunchEvents</key><dict><key>com.apple.xpc.activity</key><dict>
  <key>$ACT</key><dict><key>Interval</key><integer>3600</integer><key>Priority</key><string>Maintenance</string></dict>
</dict></dict>
</dict></plist>
PLIST
}
wait_file_has() { # wait_file_has FILE TEXT
	for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	echo "FAIL: $1 never had '$2'"; cat "$1" 2>/dev/null; fail=1; return 1
}

act_plist "$dir/jobs/periodic.plist" "$dir/job.log"
job_plist org.xpc.t.echo "$dir/jobs/echo.plist"
start_broker
wait_file_has "$dir/xpcd.log" "1 activity scheduled"

# ---- the list: one row, due in about an hour, nothing run yet ----
check "activities" 0 "$x" activities
contains "JOB"; contains "IDENTIFIER"; contains "NEXT DUE"
contains "org.xpc.t.periodic"; contains "$ACT"; contains "waiting"; contains "Interval=3600"; contains "Priority=Maintenance"
echo "$LAST" | grep -Eq "$ACT +waiting +in ([0-9]+m[0-9]{2}s|1h00m) +0 " || { echo "FAIL: activities row: $LAST"; fail=1; }
lacks "org.xpc.t.echo" # a job without activities has no row
check "activities --json" 0 "$x" activities --json
echo "$LAST" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
assert len(rows) == 1, rows
r = rows[0]
assert r["job"] == "org.xpc.t.periodic" and r["identifier"] == sys.argv[1], r
assert r["state"] == "waiting" and r["runs"] == 0, r
assert 0 < r["next_run_in"] <= 3600, r
assert r["criteria"]["Interval"] == 3600, r
' "$ACT" || { echo "FAIL: activities --json: $LAST"; fail=1; }
check "activities LABEL" 0 "$x" activities org.xpc.t.periodic; contains "$ACT"
check "activities of a job without any" 0 "$x" activities org.xpc.t.echo; lacks "$ACT"
check "activities of no job" 1 "$x" activities org.xpc.t.nosuch; contains "no job with that label"
check "activities usage" 2 "$x" activities a b

# ---- run-activity: the job is launched now and runs the activity ----
check "run-activity" 0 "$x" run-activity org.xpc.t.periodic "$ACT"
contains "org.xpc.t.periodic: $ACT: running, pid"
wait_file_has "$dir/job.log" "^done ok=1"
for _ in $(seq 100); do
	"$x" activities --json 2>/dev/null | grep -q '"runs": 1' && break; sleep 0.05
done
check "activities after the run" 0 "$x" activities --json; contains '"runs": 1'; contains '"last_end": "done"'
check "run-activity of no such activity" 1 "$x" run-activity org.xpc.t.periodic org.xpc.t.nosuch
contains "no activity of that name"
check "run-activity of no job" 1 "$x" run-activity org.xpc.t.nosuch "$ACT"; contains "no job with that label"
check "run-activity usage" 2 "$x" run-activity org.xpc.t.periodic
check "help run-activity" 0 "$x" help run-activity; contains "IDENTIFIER"
stop_broker

# ---- another user: sees none of root's activities, may not run one ----
if [ "$(id -u)" -eq 0 ]; then
	sys="$dir/sys"
	mkdir -m 755 "$sys" "$sys/jobs"
	act_plist "$sys/jobs/periodic.plist" "$dir/sys-job.log"
	"$XPCD" --system --socket "$sys/xpcd.sock" --jobs "$sys/jobs" >>"$dir/xpcd.log" 2>&1 &
	broker=$!
	sock="$sys/xpcd.sock"
	for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
	wait_file_has "$dir/xpcd.log" "1 activity scheduled"
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env "$@"; }
	check "root sees it" 0 "$x" --socket "$sock" activities; contains "$ACT"
	check "nobody's list" 0 as_nobody "$x" --socket "$sock" activities; lacks "$ACT"
	check "nobody's list of the job" 1 as_nobody "$x" --socket "$sock" activities org.xpc.t.periodic
	check "nobody may not run it" 1 as_nobody "$x" --socket "$sock" run-activity org.xpc.t.periodic "$ACT"
	contains "denied"
	[ -e "$dir/sys-job.log" ] && { echo "FAIL: nobody's run-activity started the job"; fail=1; }
	stop_broker
fi
finish
