#!/bin/sh
# SPDX-License-Identifier: MIT
# test-deb.sh - the Debian packages as an administrator meets them: build
# libxpc0, libxpc-dev, xpcd and python3-xpc from a copy of the tree with
# `dpkg-buildpackage -us -uc -b`, check them with lintian (errors and
# warnings fail; debian/*.lintian-overrides explain what is left), install
# them with dpkg, run the README's tutorial against the installed files
# (test-readme.py --installed), build plain C with gcc and libxpc.pc, check
# that the installed library loads its RemoteXPC module, open
# the manual by function name and through apropos, then purge the packages
# and check that nothing they installed is left.
#
# Runs only as root with dpkg-buildpackage (make check in CI); skipped
# (exit 77) otherwise, or when a libxpc package is already installed (it
# would be purged).  Target: under 3 minutes on 2 cores.
#
# The machine's package database is shared: dpkg waits for its lock
# (another dpkg or apt: apt-daily, a second test-deb) for up to 10 min
# instead of failing at once, and the install ... purge part holds
# /run/lock/libxpc-test-deb.lock (/tmp without /run/lock), so two runs on
# one machine (two build directories, two checkouts) never install or
# purge under each other.  (Seen: "dpkg frontend lock was locked by
# another process" failed the test while another checkout's ran.)
#
#   test-deb.sh SOURCE_DIR
set -eu
src=$(cd "$1" && pwd)
skip() { echo "test-deb: skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "not root"
command -v dpkg-buildpackage >/dev/null && command -v dpkg >/dev/null || skip "no dpkg-buildpackage"
for p in libxpc0 libxpc-dev xpcd python3-xpc; do
	! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		skip "$p is installed on this machine already"
done
tmp=$(mktemp -d /tmp/test-deb.XXXXXX)
installed=""
fail() { echo "test-deb: $*" >&2; exit 1; }
lintian_pid=""
# dpkg ARGS..., output in $tmp/dpkg.out; waits for dpkg's lock (above).
dpkg_locked() {
	n=0
	until dpkg "$@" >"$tmp/dpkg.out" 2>&1; do
		grep -q "lock" "$tmp/dpkg.out" && [ "$n" -lt 600 ] || return 1
		n=$((n + 1))
		sleep 1
	done
}
cleanup() {
	[ -z "$lintian_pid" ] || kill "$lintian_pid" 2>/dev/null || true
	[ -z "$installed" ] || dpkg_locked --purge python3-xpc xpcd libxpc-dev libxpc0 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP # meson's timeout: purge on the way out too
start=$(date +%s)

# ---- build, from a copy (the tree stays clean; the .debs land in $tmp) ----
mkdir "$tmp/src"
if [ -d "$src/.git" ] || [ -f "$src/.git" ]; then
	(cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$tmp/src"
else
	tar -C "$src" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -xf - -C "$tmp/src"
fi
(cd "$tmp/src" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2" \
	dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1) || { tail -40 "$tmp/build.log"; fail "dpkg-buildpackage failed"; }
debs=$(ls "$tmp"/libxpc0_*.deb "$tmp"/libxpc-dev_*.deb "$tmp"/xpcd_*.deb "$tmp"/python3-xpc_*.deb) ||
	fail "missing .deb files"
built=$(date +%s)

# ---- lintian, in the background while the packages are used ----
command -v lintian >/dev/null || fail "no lintian (scripts/install-deps.sh installs it)"
# shellcheck disable=SC2086
lintian --fail-on error,warning $debs >"$tmp/lintian.log" 2>&1 &
lintian_pid=$!

# ---- install; what the packages own, and which of it existed before ----
lockdir=/run/lock
[ -d "$lockdir" ] || lockdir=/tmp
exec 9>"$lockdir/libxpc-test-deb.lock"
flock -w 1200 9 || fail "another test-deb held $lockdir/libxpc-test-deb.lock for 20 min"
for p in libxpc0 libxpc-dev xpcd python3-xpc; do # (again: under the lock)
	! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		skip "$p is installed on this machine already"
done
for d in $debs; do dpkg-deb -c "$d"; done | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||; s| ->.*||' | grep -v '^/$' |
	sort -u >"$tmp/paths"
while read -r p; do [ -e "$p" ] && echo "$p"; done <"$tmp/paths" >"$tmp/before" || true
installed=yes
# shellcheck disable=SC2086
dpkg_locked -i $debs || { cat "$tmp/dpkg.out"; fail "dpkg -i failed"; }
t_installed=$(date +%s)
[ -x /usr/sbin/xpcd ] && [ -x /usr/bin/xpcctl ] && [ -d /etc/xpcd/LaunchDaemons ] || fail "xpcd files missing"
ldd /usr/sbin/xpcd | grep -Eq 'libxpc\.so\.0 => /(usr/)?lib/' || fail "xpcd does not link the installed libxpc.so.0: $(ldd /usr/sbin/xpcd)"
# the RemoteXPC module ships in libxpc0 and the installed library finds it:
# a remote call to a closed port is refused by TCP, not by a missing module
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
dpkg -S "/usr/lib/$triplet/libxpc/libxpc-remote.so" 2>/dev/null | grep -q '^libxpc0:' ||
	fail "libxpc0 does not ship /usr/lib/$triplet/libxpc/libxpc-remote.so"
cat >"$tmp/remote.c" <<'EOF_C'
#include <errno.h>
#include <stdio.h>
#include <xpc/remote.h>
int main(void)
{
	char *err = NULL;
	if (!xpc_linux_remote_copy_services("127.0.0.1", 1, &err) && errno == ECONNREFUSED)
		return 0;
	fprintf(stderr, "remote: %s\n", err ? err : "no error");
	return 1;
}
EOF_C
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Werror -o "$tmp/remote" "$tmp/remote.c" $(pkg-config --cflags --libs libxpc) ||
	fail "gcc with the installed libxpc.pc failed (remote.c)"
timeout 20 "$tmp/remote" || fail "the installed libxpc.so does not load its RemoteXPC module"

# ---- use it: the tutorial, plain C with gcc, the manual ----
python3 "$src/tests/package/test-readme.py" "$src" --installed || fail "the README tutorial failed on the installed packages"
t_tutorial=$(date +%s)
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Wextra -Werror -o "$tmp/plain-c" "$src/tests/install/plain-c.c" $(pkg-config --cflags --libs libxpc) ||
	fail "gcc with the installed libxpc.pc failed"
[ "$(timeout 10 "$tmp/plain-c")" = "plain-c: ok" ] || fail "plain-c against the installed library failed"
# dpkg's man-db trigger has indexed the pages (mandb) already
man -w xpc_dictionary_set_string >/dev/null 2>&1 || fail "man xpc_dictionary_set_string finds no page"
man -w dispatch_async >/dev/null 2>&1 || fail "man dispatch_async finds no page"
apropos xpc_connection_create_mach_service 2>/dev/null | grep -q . || fail "apropos does not know xpc_connection_create_mach_service"

# ---- purge: nothing left ----
dpkg_locked --purge python3-xpc xpcd libxpc-dev libxpc0 || { cat "$tmp/dpkg.out"; fail "dpkg --purge failed"; }
installed=""
for p in libxpc0 libxpc-dev xpcd python3-xpc; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "not-installed" ||
		! dpkg-query -W "$p" >/dev/null 2>&1 || fail "$p is still known to dpkg: $(dpkg-query -W -f='${Status}' "$p")"
done
left=""
while read -r p; do
	[ -e "$p" ] || [ -L "$p" ] || continue
	grep -qxF "$p" "$tmp/before" || left="$left $p"
done <"$tmp/paths"
[ -z "$left" ] || fail "left behind after purge:$left"
[ ! -e /etc/xpcd ] || fail "/etc/xpcd left behind"
used=$(date +%s)

wait "$lintian_pid" || { cat "$tmp/lintian.log"; fail "lintian reports errors or warnings (above)"; }
grep -v 'running with root privileges' "$tmp/lintian.log" | sed 's/^/test-deb: lintian: /' || true
end=$(date +%s)
echo "test-deb: built in $((built - start)) s, installed in $((t_installed - built)) s, tutorial $((t_tutorial - t_installed)) s, purged clean at $((used - start)) s; lintian clean at $((end - start)) s"

