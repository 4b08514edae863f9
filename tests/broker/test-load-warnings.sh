#!/bin/sh
# SPDX-License-Identifier: MIT
# xpcctl load's warnings and --strict (a typo, an unsupported key, a macOS
# key accepted silently, a LaunchEvents stream xpcd does not serve),
# LimitLoadToHosts/FromHosts, KeepAlive.AfterInitialDemand, and
# KeepAlive.OtherJobEnabled driven by loads, against a private broker.
# Usage: test-load-warnings.sh XPCD XPCCTL
set -u
xpcd=$1 xpcctl=$2
dir=$(mktemp -d /tmp/xpcd-warn-test.XXXXXX)
fail=0
check() { # check DESCRIPTION EXPECTED_STATUS COMMAND...  (stderr in ERR, stdout in OUT)
	desc=$1 want=$2; shift 2
	"$@" >"$dir/out" 2>"$dir/err"; got=$?
	OUT=$(cat "$dir/out") ERR=$(cat "$dir/err")
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $desc: exit $got, wanted $want: $OUT $ERR"; fail=1
	fi
}
has() { # has TEXT WHERE DESCRIPTION
	case "$2" in *"$1"*) ;; *) echo "FAIL: $3: lacks '$1': $2"; fail=1;; esac
}
lacks() {
	case "$2" in *"$1"*) echo "FAIL: $3: has '$1': $2"; fail=1;; esac
}
job() { # job FILE LABEL EXTRA-KEYS
	cat > "$dir/$1" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>$2</string>
<key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string><string>sleep 30</string></array>
<key>ThrottleInterval</key><integer>0</integer>
$3
</dict></plist>
PLIST
}
mkdir "$dir/jobs"
export XPCD_SOCKET="$dir/xpcd.sock"
"$xpcd" --socket "$XPCD_SOCKET" --jobs "$dir/jobs" >"$dir/xpcd.log" 2>&1 &
broker=$!
for i in $(seq 100); do [ -S "$XPCD_SOCKET" ] && break; sleep 0.05; done

# a typo and an unsupported key: loaded, with the warnings on xpcctl's stderr
job typo.plist t.typo '<key>Runatload</key><true/><key>LimitLoadToHardware</key><dict/>
<key>KeepAlive</key><dict><key>NetworkState</key><true/><key>Bogus</key><true/></dict>
<key>Sockets</key><dict><key>S</key><dict><key>SockPathName</key><string>'"$dir"'/s.sock</string>
<key>Bonjour</key><true/></dict></dict>'
check "load with warnings" 0 "$xpcctl" load "$dir/typo.plist"
has "loaded t.typo" "$OUT" "load with warnings"
has "warning: $dir/typo.plist: Runatload: unknown key ignored" "$ERR" "typo"
has "LimitLoadToHardware: not supported on Linux" "$ERR" "unsupported key"
has "KeepAlive: unknown condition Bogus ignored" "$ERR" "unknown KeepAlive condition"
lacks "Bonjour" "$ERR" "Bonjour (accepted: no DNS-SD advertisement, xpcd.plist(5))"
lacks "NetworkState" "$ERR" "NetworkState (ignored by launchd itself)"
grep -q "typo.plist: Runatload: unknown key ignored" "$dir/xpcd.log" || { echo "FAIL: not in the broker log"; fail=1; }
# Sockets' MulticastGroup and SecureSocketWithKey are checked at load
job mcast.plist t.mcast '<key>Sockets</key><dict><key>M</key><dict><key>SockServiceName</key><integer>9</integer>
<key>MulticastGroup</key><string>239.1.2.3</string></dict></dict>'
check "MulticastGroup on a stream socket" 1 "$xpcctl" load "$dir/mcast.plist"
has "needs a listening internet datagram socket" "$ERR" "MulticastGroup on a stream socket"
job secure.plist t.secure '<key>Sockets</key><dict><key>S</key><dict>
<key>SecureSocketWithKey</key><string>XPCD_LISTEN_FDS</string></dict></dict>'
check "SecureSocketWithKey naming xpcd's own variable" 1 "$xpcctl" load "$dir/secure.plist"
has "not an environment variable name" "$ERR" "SecureSocketWithKey XPCD_*"
# --strict refuses it, and nothing is loaded
job strict.plist t.strict '<key>Runatload</key><true/>'
check "load --strict" 1 "$xpcctl" load --strict "$dir/strict.plist"
has "refused (--strict)" "$ERR" "load --strict"
has "Runatload" "$ERR" "load --strict names the key"
check "strict job not loaded" 1 "$xpcctl" print t.strict
# macOS-only keys: silent, so --strict loads the file
job mac.plist t.mac '<key>WaitForDebugger</key><false/><key>ProcessType</key><string>Background</string>
<key>LimitLoadToSessionType</key><string>Aqua</string><key>POSIXSpawnType</key><string>App</string>
<key>LaunchEvents</key><dict><key>com.apple.xpc.activity</key><dict><key>com.example.tick</key>
<dict><key>Interval</key><integer>3600</integer></dict></dict></dict>'
check "load --strict silent keys" 0 "$xpcctl" load --strict "$dir/mac.plist"
has "loaded t.mac" "$OUT" "silent keys"
[ -z "$ERR" ] || { echo "FAIL: silent keys warned: $ERR"; fail=1; }
# LaunchEvents streams xpcd does not serve (all but com.apple.xpc.activity,
# which mac.plist above loads silently): kept, a warning each
job streams.plist t.streams '<key>LaunchEvents</key><dict>
<key>com.apple.notifyd.matching</key><dict><key>com.example.note</key><dict>
<key>Notification</key><string>com.example.changed</string></dict></dict>
<key>com.apple.iokit.matching</key><dict/>
<key>com.apple.xpc.activity</key><dict><key>com.example.tick</key>
<dict><key>Interval</key><integer>3600</integer></dict></dict></dict>'
check "load unserved streams" 0 "$xpcctl" load "$dir/streams.plist"
has "loaded t.streams" "$OUT" "unserved streams"
has "warning: $dir/streams.plist: LaunchEvents: stream com.apple.notifyd.matching is not served on Linux" \
	"$ERR" "unserved notifyd stream"
has "LaunchEvents: stream com.apple.iokit.matching is not served on Linux" "$ERR" "unserved iokit stream"
lacks "com.apple.xpc.activity" "$ERR" "the served activity stream"
grep -q "streams.plist: LaunchEvents: stream com.apple.notifyd.matching is not served" "$dir/xpcd.log" ||
	{ echo "FAIL: unserved stream not in the broker log"; fail=1; }
job strictstream.plist t.strictstream '<key>LaunchEvents</key><dict>
<key>com.apple.fsevents.matching</key><dict/></dict>'
check "load --strict unserved stream" 1 "$xpcctl" load --strict "$dir/strictstream.plist"
has "refused (--strict)" "$ERR" "load --strict unserved stream"
has "com.apple.fsevents.matching" "$ERR" "load --strict names the stream"
check "strict stream job not loaded" 1 "$xpcctl" print t.strictstream
# a bad value is an error naming the key
job bad.plist t.bad '<key>StartCalendarInterval</key><dict><key>Hour</key><integer>24</integer></dict>'
check "load bad value" 1 "$xpcctl" load "$dir/bad.plist"
has "StartCalendarInterval.Hour" "$ERR" "bad value"

# LimitLoadToHosts / LimitLoadFromHosts
job tohosts.plist t.tohosts '<key>LimitLoadToHosts</key><array><string>no-such-host.invalid</string></array>'
check "LimitLoadToHosts elsewhere" 1 "$xpcctl" load "$dir/tohosts.plist"
has "LimitLoadToHosts: not for this host" "$ERR" "LimitLoadToHosts"
job tohere.plist t.tohere "<key>LimitLoadToHosts</key><array><string>$(hostname)</string></array>"
check "LimitLoadToHosts here" 0 "$xpcctl" load "$dir/tohere.plist"
job fromhosts.plist t.fromhosts '<key>LimitLoadFromHosts</key><array><string>no-such-host.invalid</string></array>'
check "LimitLoadFromHosts elsewhere" 0 "$xpcctl" load "$dir/fromhosts.plist"
# KeepAlive.AfterInitialDemand: not started at load, although SuccessfulExit implies RunAtLoad
job demand.plist t.demand '<key>KeepAlive</key><dict><key>SuccessfulExit</key><false/><key>AfterInitialDemand</key><true/></dict>'
check "load AfterInitialDemand" 0 "$xpcctl" load "$dir/demand.plist"
sleep 0.3
grep -q "t.demand: started" "$dir/xpcd.log" && { echo "FAIL: AfterInitialDemand job started at load"; fail=1; }

# KeepAlive.OtherJobEnabled: runs while t.other is loaded
job keeper.plist t.keeper '<key>KeepAlive</key><dict><key>OtherJobEnabled</key><dict><key>t.other</key><true/></dict></dict>'
job other.plist t.other ''
check "load keeper" 0 "$xpcctl" load "$dir/keeper.plist"
sleep 0.3
grep -q "t.keeper: started" "$dir/xpcd.log" && { echo "FAIL: keeper started without t.other"; fail=1; }
check "load other" 0 "$xpcctl" load "$dir/other.plist"
for i in $(seq 100); do grep -q "t.keeper: started" "$dir/xpcd.log" && break; sleep 0.05; done
grep -q "t.keeper: KeepAlive.OtherJobEnabled: launching" "$dir/xpcd.log" || { echo "FAIL: keeper not started by t.other"; fail=1; }

kill "$broker"; wait "$broker" 2>/dev/null
while read -r pid start label; do kill -9 "-$pid" "$pid" 2>/dev/null; done < "$XPCD_SOCKET.state"
[ "$fail" -ne 0 ] && cat "$dir/xpcd.log"
rm -rf "$dir"
exit "$fail"
