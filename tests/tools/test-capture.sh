#!/bin/sh
# SPDX-License-Identifier: MIT
# XPC_CAPTURE=FILE (src/transport/capture.c) opened by tshark with the
# dissector tools/wireshark/xpc.lua: every frame kind of a check-in through
# the broker (the client's request, the CHECKIN the broker sends) and of a
# request, an out-of-line body decoded whole, two processes sharing
# one file, "%p" in the name, no malformed item.  Skipped (77) without
# tshark (scripts/install-deps.sh --check installs it).
# Usage: test-capture.sh XPCD XPCCTL ECHO_SERVICE SRCDIR
XPCD=$1 XPCCTL=$2 ECHO_SERVICE=$3 SRC=$4
command -v tshark >/dev/null || { echo "test-capture: skipped: no tshark (apt-get install tshark)"; exit 77; }
. "$SRC/tests/tools/tools-common.sh"
x=$XPCCTL
lua="$SRC/tools/wireshark/xpc.lua"
ts() { tshark -X lua_script:"$lua" "$@" 2>"$dir/tshark.err"; }
job_plist org.xpc.t.echo "$dir/jobs/echo.plist"
export XPC_CAPTURE="$dir/broker.pcapng" # the broker's own frames: the check-ins it makes
start_broker
unset XPC_CAPTURE

cap="$dir/one.pcapng"
check "send, captured" 0 env XPC_CAPTURE="$cap" "$x" send org.xpc.t.echo '{"op": "echo", "value": 42, "s": "hello"}'
check "tshark reads it" 0 ts -r "$cap" -V
for k in "XPC MESSAGE id 1" "XPC REPLY id 1 reply to 1" "XPC HELLO" "Wants reply: True" \
	"Body magic: message (CPX@)" '"xpcd.op" = string: "checkin"' '"name" = string: "org.xpc.t.echo"' \
	'"value" = int64: 42' '"s" = string: "hello"' "pid=" "Direction: Outbound" "Direction: Inbound"; do
	contains "$k"
done
lacks "Malformed"; lacks "Lua Error"
# the broker checked the client's link in (src/broker/vend.c)
check "tshark reads the broker's" 0 ts -r "$dir/broker.pcapng" -V
contains "XPC CHECKIN"
lacks "Malformed"; lacks "Lua Error"
[ "$(stat -c %a "$cap")" = 600 ] || { echo "FAIL: capture mode $(stat -c %a "$cap")"; fail=1; }

# an out-of-line body (over 80 KiB), decoded whole
big=$(python3 -c 'print("x" * 90000)')
check "big send, captured" 0 env XPC_CAPTURE="$dir/big.pcapng" "$x" send org.xpc.t.echo "{\"op\": \"echo\", \"value\": \"$big\"}"
check "tshark: out of line" 0 ts -r "$dir/big.pcapng" -Y 'xpc.flags.ool == 1 && xpc.key == "value"' -T fields -e xpc.length
contains "90001"

# two processes, one file (two sections); %p names a file per process
check "second process" 0 env XPC_CAPTURE="$cap" "$x" send org.xpc.t.echo '{"op": "echo", "value": 43}'
check "both sections" 0 ts -r "$cap" -T fields -e xpc.int64 -Y 'xpc.kind == 1 && xpc.key == "value"'
contains "42"; contains "43"
check "%p" 0 env XPC_CAPTURE="$dir/per-%p.pcapng" "$x" lookup org.xpc.t.echo
n=$(ls "$dir"/per-*.pcapng 2>/dev/null | wc -l)
[ "$n" -eq 1 ] || { echo "FAIL: %p: $n files"; fail=1; }
[ "$(od -An -tx1 -N4 "$dir"/per-*.pcapng | tr -d ' ')" = 0a0d0d0a ] || { echo "FAIL: %p: not pcapng"; fail=1; }
# a file that cannot be opened: said once, the message still goes
check "unwritable capture" 0 env XPC_CAPTURE="$dir/no/such/dir/c.pcapng" "$x" send org.xpc.t.echo '{"op": "echo", "value": 1}'
contains "XPC_CAPTURE=$dir/no/such/dir/c.pcapng: No such file or directory; not capturing"
finish
