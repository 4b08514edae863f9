# SPDX-License-Identifier: MIT
# bench/private-xpcd.sh - sourced by bench/setup.sh and bench/idle.sh: a
# private xpcd in a fresh temporary directory whose one job is
# `bench-xpc service NAME`.  Expects B (the build's bench directory), XPCD
# (the xpcd binary), NAME and SCRIPT (the caller's name, for messages);
# sets TMP and XPID.  On exit it kills the job and the broker and removes
# TMP.
TMP=$(mktemp -d "/tmp/xpc-$SCRIPT.XXXXXX")
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
	[ $i -gt 500 ] && { echo "$SCRIPT.sh: xpcd did not start" >&2; cat "$TMP/xpcd.log" >&2; exit 1; }
	sleep 0.01
done
