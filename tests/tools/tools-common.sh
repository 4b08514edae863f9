# SPDX-License-Identifier: MIT
# tools-common.sh - what the shell tests of tests/tools share: a private
# xpcd run as the user broker of a private $XDG_RUNTIME_DIR (so the
# default, --user and gui/UID targets all find it, and no other broker of
# the machine is ever asked), a job file for the echo service, check() and
# contains() that count failures, and clean-up that leaves no process.
# Sourced with XPCD XPCCTL ECHO_SERVICE set.
set -u
fail=0
dir=$(mktemp -d /tmp/xpc-tools-test.XXXXXX)
chmod 755 "$dir"
export XDG_RUNTIME_DIR="$dir/rt"
unset XPCD_SOCKET
mkdir -m 700 "$XDG_RUNTIME_DIR" "$dir/jobs"
sock="$XDG_RUNTIME_DIR/xpcd/user.sock"
broker=""

check() { # check DESCRIPTION EXPECTED_STATUS COMMAND...
	desc=$1 want=$2; shift 2
	out=$("$@" 2>&1); got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $desc: exit $got, wanted $want: $out"; fail=1
	fi
	LAST=$out
}
contains() { case "$LAST" in *"$1"*) ;; *) echo "FAIL: output lacks '$1': $LAST"; fail=1;; esac; }
lacks() { case "$LAST" in *"$1"*) echo "FAIL: output has '$1': $LAST"; fail=1;; esac; }

job_plist() { # job_plist LABEL FILE [THROTTLE]
	cat > "$2" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>$1</string>
<key>ProgramArguments</key><array><string>$ECHO_SERVICE</string><string>$1</string></array>
<key>MachServices</key><dict><key>$1</key><true/></dict>
<key>ThrottleInterval</key><integer>${3:-1}</integer>
<key>ExitTimeOut</key><integer>2</integer>
</dict></plist>
PLIST
}

start_broker() {
	mkdir -p -m 700 "$XDG_RUNTIME_DIR/xpcd"
	"$XPCD" --socket "$sock" --jobs "$dir/jobs" >>"$dir/xpcd.log" 2>&1 &
	broker=$!
	for _ in $(seq 200); do [ -S "$sock" ] && return; sleep 0.05; done
	echo "FAIL: xpcd did not start"; cat "$dir/xpcd.log"; fail=1
}

stop_broker() { # the broker and every job it started
	[ -n "$broker" ] || return
	kill "$broker" 2>/dev/null; wait "$broker" 2>/dev/null
	if [ -f "$sock.state" ]; then
		while read -r pid _ _; do kill -9 "-$pid" "$pid" 2>/dev/null; done < "$sock.state"
	fi
	broker=""
}

finish() {
	stop_broker
	[ "$fail" -ne 0 ] && cat "$dir/xpcd.log"
	rm -rf "$dir"
	exit "$fail"
}
