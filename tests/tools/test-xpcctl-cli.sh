#!/bin/sh
# SPDX-License-Identifier: MIT
# xpcctl's command line (man/xpcctl.1) against a private user broker:
# global options anywhere, help and version, exit codes, domains and
# targets without a silent fallback, load/unload by file and directory,
# bootstrap/bootout, JSON output parsed, the person-readable print,
# signal names, completion scripts that parse.
# Usage: test-xpcctl-cli.sh XPCD XPCCTL ECHO_SERVICE SRCDIR
XPCD=$1 XPCCTL=$2 ECHO_SERVICE=$3 SRC=$4
. "$SRC/tests/tools/tools-common.sh"
x=$XPCCTL
uid=$(id -u)
job_plist org.xpc.t.echo "$dir/jobs/echo.plist"
mkdir "$dir/more"
job_plist org.xpc.t.a "$dir/more/a.plist"
job_plist org.xpc.t.b "$dir/more/b.plist"
echo "not a job" > "$dir/more/README"

# ---- no broker: every path tried is named; nothing changes elsewhere ----
check "no user broker: load" 3 "$x" load "$dir/more/a.plist"
contains "$sock (the user broker)"; contains "not asked: this command changes state"
if [ ! -e /run/xpcd/system.sock ]; then
	check "no broker at all: list" 3 "$x" list
	contains "$sock (the user broker)"; contains "/run/xpcd/system.sock (the system broker)"
fi
check "--socket missing" 3 "$x" list --socket "$dir/none.sock"; contains "$dir/none.sock (--socket)"

start_broker
# ---- global options anywhere, help, version, usage errors ----
check "default domain" 0 "$x" list; contains "org.xpc.t.echo"
check "--user before" 0 "$x" --user list; contains "org.xpc.t.echo"
check "--user after" 0 "$x" list --user; contains "org.xpc.t.echo"
check "--socket between" 0 "$x" print --socket "$sock" org.xpc.t.echo
check "--socket=PATH" 0 "$x" list --socket="$sock"
check "XPCD_SOCKET" 0 env XPCD_SOCKET="$sock" XDG_RUNTIME_DIR=/nonexistent "$x" list
check "two domains" 2 "$x" --system list --user; contains "only one of"
check "-h" 0 "$x" -h; contains "commands:"; contains "kickstart"
check "--help after a command" 0 "$x" kill --help; contains "usage: xpcctl [GLOBAL OPTIONS] kill"
check "help COMMAND" 0 "$x" help bootstrap; contains "DOMAIN [--strict] PATH"
check "help unknown" 2 "$x" help frobnicate
check "--version" 0 "$x" --version; contains "xpcctl "
check "no command" 2 "$x"
check "unknown command" 2 "$x" frobnicate; contains "no such command"
check "print: extra word" 2 "$x" print a b; contains "usage: xpcctl [GLOBAL OPTIONS] print"
check "--psk-file alone" 2 "$x" --psk-file /dev/null list

# ---- print and list: a person's form, JSON with plain numbers ----
check "print" 0 "$x" print org.xpc.t.echo
contains "org.xpc.t.echo = {"; contains "	state = waiting"; contains "broker = $sock (the user broker)"
contains "last exit status = (never exited)"; lacks '$uint64'
check "send" 0 "$x" send org.xpc.t.echo '{"op": "echo", "value": 5}'; contains '"value": 5'
check "print --json" 0 "$x" print --json org.xpc.t.echo
echo "$LAST" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["label"] == "org.xpc.t.echo", j
assert type(j["runs"]) is int and j["runs"] >= 1, j
assert type(j["throttle_interval"]) is int and type(j["pid"]) is int, j
' || { echo "FAIL: print --json: $LAST"; fail=1; }
check "list --json" 0 "$x" --json list
echo "$LAST" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert [e["label"] for e in j] == ["org.xpc.t.echo"], j
assert type(j[0]["pid"]) is int and j[0]["state"] == "running", j
' || { echo "FAIL: list --json: $LAST"; fail=1; }
check "print unknown" 1 "$x" print no.such.job

# ---- targets: gui/UID and user/UID are this user's broker ----
check "print gui/UID/LABEL" 0 "$x" print "gui/$uid/org.xpc.t.echo"; contains "org.xpc.t.echo = {"
check "print user/UID/LABEL" 0 "$x" print "user/$uid/org.xpc.t.echo"
check "target against --socket" 2 "$x" --socket "$sock" print "gui/$uid/org.xpc.t.echo"
check "bad target uid" 2 "$x" print "gui/abc/org.xpc.t.echo"; contains "not a service target"
check "bad domain" 2 "$x" bootstrap nowhere "$dir/more/a.plist"; contains "not a domain"

# ---- load and unload: files, directories, labels; launchctl spellings ----
check "load DIR" 0 "$x" load "$dir/more"; contains "loaded org.xpc.t.a"; contains "loaded org.xpc.t.b"
check "load twice" 1 "$x" load "$dir/more/a.plist"; contains "already loaded"
check "unload PATH" 0 "$x" unload "$dir/more/a.plist"
check "lookup unloaded" 1 "$x" lookup org.xpc.t.a; contains "unknown name"
check "unload LABEL" 0 "$x" unload org.xpc.t.b
check "bootstrap gui/UID DIR" 0 "$x" bootstrap "gui/$uid" "$dir/more"; contains "loaded org.xpc.t.a"
check "bootout gui/UID/LABEL" 0 "$x" bootout "gui/$uid/org.xpc.t.a"
check "bootout gui/UID PATH" 0 "$x" bootout "gui/$uid" "$dir/more/b.plist"
check "list after bootout" 0 "$x" list; lacks "org.xpc.t.a"; lacks "org.xpc.t.b"
check "load missing" 1 "$x" load "$dir/none.plist"; contains "No such file"
check "unload unknown" 1 "$x" unload no.such.job

# ---- kill: every signal name, numbers, RT signals ----
check "kill -l" 0 "$x" kill -l; contains "RTMIN+1"; contains "WINCH"; contains "SYS"
# each name reaches the job: it dies of it, and list names the signal
kill_and_see() { # kill_and_see SIGNAL-ARGUMENT NAME-IN-LIST
	check "send before kill $1" 0 "$x" send org.xpc.t.echo '{"op": "echo", "value": 1}'
	check "kill $1" 0 "$x" kill "$1" org.xpc.t.echo
	for _ in $(seq 100); do
		"$x" list | grep -q "^- *$2 *org.xpc.t.echo" && return
		sleep 0.05
	done
	echo "FAIL: kill $1: list does not show $2: $("$x" list)"; fail=1
}
kill_and_see USR1 SIGUSR1
kill_and_see sigusr2 SIGUSR2
kill_and_see 15 SIGTERM
kill_and_see RTMIN+1 "SIGRTMIN+1"
kill_and_see SIGRTMAX-2 "SIGRTMIN+$(( $(kill -l RTMAX 2>/dev/null || echo 64) - $(kill -l RTMIN 2>/dev/null || echo 34) - 2 ))"
check "kill WINCH (ignored)" 0 "$x" send org.xpc.t.echo '{"op": "echo", "value": 1}'
check "kill WINCH" 0 "$x" kill WINCH "gui/$uid/org.xpc.t.echo"
check "kill 0" 2 "$x" kill 0 org.xpc.t.echo
check "kill NOPE" 2 "$x" kill NOPE org.xpc.t.echo; contains "not a signal"
check "kill RTMIN+99" 2 "$x" kill RTMIN+99 org.xpc.t.echo

# ---- completion scripts parse ----
check "bash completion" 0 bash -n "$SRC/tools/completion/xpcctl.bash"
if command -v zsh >/dev/null; then check "zsh completion" 0 zsh -n "$SRC/tools/completion/_xpcctl"; fi
check "bash completes commands" 0 env PATH="$(dirname "$x"):$PATH" bash -c ". '$SRC/tools/completion/xpcctl.bash'; COMP_WORDS=(xpcctl boot); COMP_CWORD=1; _xpcctl; echo \"\${COMPREPLY[*]}\""
contains "bootstrap bootout"
check "bash completes labels" 0 env PATH="$(dirname "$x"):$PATH" bash -c ". '$SRC/tools/completion/xpcctl.bash'; COMP_WORDS=(xpcctl print org.xpc.t); COMP_CWORD=2; _xpcctl; echo \"\${COMPREPLY[*]}\""
contains "org.xpc.t.echo"
finish
