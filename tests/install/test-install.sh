#!/bin/sh
# SPDX-License-Identifier: MIT
# test-install.sh - what a user of the installed package does: `meson install`
# into a scratch DESTDIR, then build programs written as on macOS against the
# installed headers with nothing but `clang -fblocks` and
# `pkg-config --cflags --libs libxpc`, and run them against the installed
# libxpc.so.  Also checks the installed file set: soname link, pkg-config
# file, headers, xpcd, xpcctl, man pages and systemd units, and the
# RemoteXPC module beside the library.
#
# The macOS programs: macos-style.c and macos-client.c run alone;
# macos-app.c talks to macos-service.c, started on demand by the installed
# xpcd on a private socket from two launchd plists (an xpc_main service and
# a MACH_SERVICE_LISTENER daemon); their output is compared line by line.
# The public headers must be warning-free (-Wall -Wextra -Wpedantic -Werror)
# in C99, C11 and C++ (clang++ -fblocks: macos-cxx.cpp is built and run),
# and usable without blocks (plain C, gcc -Wall -Wextra); plain-c.c (the
# _f functions) builds with gcc and libxpc.pc alone and runs.
#
#   test-install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
xpcd_pid=""
cleanup() {
	stop_jobs
	[ -z "$xpcd_pid" ] || kill -9 "$xpcd_pid" 2>/dev/null || true
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
stop_jobs() { :; }
trap cleanup EXIT

meson introspect "$build" --buildoptions >"$tmp/options.json"
option() {
	python3 -c 'import json,sys; print(next(o["value"] for o in json.load(open(sys.argv[2])) if o["name"]==sys.argv[1]))' "$1" "$tmp/options.json"
}
# A sanitizer build's library needs the sanitizer runtime in every program.
[ "$(option b_sanitize)" = none ] || { echo "test-install: skipped in a sanitizer build"; exit 77; }
prefix=$(option prefix)
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; exit 1; }
root="$tmp/root$prefix"

fail() { echo "test-install: $*" >&2; exit 1; }
pc=$(find "$root" -name libxpc.pc | head -1)
[ -n "$pc" ] || fail "no libxpc.pc installed"
for f in include/xpc/xpc.h include/xpc/connection.h include/xpc/endpoint.h include/libxpc/dispatch/dispatch.h \
	include/xpc/session.h include/xpc/listener.h include/xpc/rich_error.h include/xpc/private.h \
	include/bsm/audit.h include/bsm/libbsm.h include/launch.h \
	bin/xpcctl share/man/man1/xpcctl.1 share/man/man8/xpcd.8 share/man/man5/xpcd.plist.5 \
	share/bash-completion/completions/xpcctl share/zsh/vendor-completions/_xpcctl share/libxpc/wireshark/xpc.lua; do
	[ -e "$root/$f" ] || fail "missing $f"
done
find "$root" -name xpcd -type f | grep -q . || fail "xpcd not installed"
find "$tmp/root" -name 'xpcd*.service' | grep -q . || fail "no systemd units installed"
so=$(find "$root" -name 'libxpc.so.0' | head -1)
[ -n "$so" ] || fail "no libxpc.so.0 (soname link)"
readelf -d "$so" | grep -q 'SONAME.*libxpc.so.0' || fail "soname is not libxpc.so.0"
# Only the API is exported: no internal layer names leak out.
if nm -D --defined-only "$so" | awk '{print $3}' | grep -v -e '^xpc_' -e '^dispatch_' -e '^_xpc_' -e '^_dispatch_' -e '^XPC_' -e '^LIBXPC_' -e '^launch_activate_socket@' | grep .; then
	fail "symbols outside the API are exported"
fi

export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --define-variable=prefix="$root" --cflags --libs libxpc-blocks) || fail "pkg-config libxpc-blocks failed"
cflags=$(pkg-config --define-variable=prefix="$root" --cflags libxpc-blocks)
# libxpc.pc suits any C compiler: -fblocks only in libxpc-blocks.pc and the
# variable blocks_cflags (docs/packaging.md)
plain=$(pkg-config --define-variable=prefix="$root" --cflags --libs libxpc) || fail "pkg-config libxpc failed"
case " $plain " in *-fblocks*) fail "libxpc.pc's flags carry -fblocks: $plain" ;; esac
[ "$(pkg-config --variable=blocks_cflags libxpc)" = -fblocks ] || fail "libxpc.pc has no blocks_cflags"
case " $cflags " in *" -fblocks "*) ;; *) fail "libxpc-blocks.pc's Cflags lack -fblocks: $cflags" ;; esac
libdir=$(dirname "$so")
# RemoteXPC's nghttp2 and OpenSSL are the module's, loaded on first use
# (src/transport/remote/module.h): libxpc.so does not need them, and the
# module, in libdir/libxpc, exports its entry alone.
[ -f "$libdir/libxpc/libxpc-remote.so" ] || fail "no libxpc/libxpc-remote.so (the RemoteXPC module) beside $so"
if readelf -d "$so" | grep NEEDED | grep -e libssl -e libcrypto -e libnghttp2 -e libplist; then
	fail "libxpc.so links OpenSSL, nghttp2 or libplist itself (each is loaded on use)"
fi
[ "$(nm -D --defined-only "$libdir/libxpc/libxpc-remote.so" | awk '{print $3}')" = _xpc_linux_remote_module_entry ] ||
	fail "the RemoteXPC module exports more than its entry"
build_c() { # build_c SOURCE [compiler flags...]: with the installed flags only
	prog=$1; shift
	exe="$tmp/$(basename "$prog" .c)"
	# shellcheck disable=SC2086
	clang -fblocks -Wall -Werror "$@" -o "$exe" "$prog" $flags || fail "cannot build $prog against the installed package"
}
for prog in "$src/tests/object/macos-style.c" "$src/tests/install/macos-client.c"; do
	build_c "$prog"
	LD_LIBRARY_PATH=$libdir timeout 10 "$tmp/$(basename "$prog" .c)" || fail "$(basename "$prog") failed"
done

# ---- plain C with gcc: the _f functions, no blocks, libxpc.pc only ----
command -v gcc >/dev/null || fail "no gcc (scripts/install-deps.sh installs it)"
# shellcheck disable=SC2086
gcc -std=c11 -Wall -Wextra -Werror -o "$tmp/plain-c" "$src/tests/install/plain-c.c" $plain ||
	fail "gcc \$(pkg-config --cflags --libs libxpc) cannot build plain-c.c"
out=$(LD_LIBRARY_PATH=$libdir timeout 10 "$tmp/plain-c") || fail "plain-c failed: $out"
[ "$out" = "plain-c: ok" ] || fail "plain-c printed: $out"

# ---- the headers: warning-free in C99, C11, without blocks, in C++ ----
cat >"$tmp/headers.c" <<'EOF_C'
#include <xpc/xpc.h>
#include <dispatch/dispatch.h>
#include <xpc/xpc.h>
int main(void)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	dispatch_queue_t q = dispatch_queue_create("h", DISPATCH_QUEUE_SERIAL);
	int ok = xpc_get_type(d) == XPC_TYPE_DICTIONARY && XPC_ARRAY_APPEND == (size_t)-1;
	dispatch_release(q);
	xpc_release(d);
	return ok ? 0 : 1;
}
EOF_C
warn="-Wall -Wextra -Wpedantic -Werror"
for std in c99 gnu11; do
	# shellcheck disable=SC2086
	clang -std=$std $warn -fsyntax-only "$tmp/headers.c" $cflags ||
		fail "the headers are not clean with clang -std=$std $warn"
done
# shellcheck disable=SC2086
clang -fblocks -std=c11 $warn -o "$tmp/headers" "$tmp/headers.c" $flags ||
	fail "the headers are not clean with clang -std=c11 $warn"
LD_LIBRARY_PATH=$libdir "$tmp/headers" || fail "headers program failed"
incs=$(pkg-config --define-variable=prefix="$root" --cflags-only-I libxpc)
# shellcheck disable=SC2086
clang -std=c11 $warn -fsyntax-only $incs "$tmp/headers.c" || fail "the headers need blocks in plain C"
if command -v gcc >/dev/null; then
	# not -Wpedantic: gcc flags every call through GCD's transparent union
	# dispatch_object_t (dispatch_release(q)), as with Apple's own header
	# shellcheck disable=SC2086
	gcc -std=c11 -Wall -Wextra -Werror -fsyntax-only $incs "$tmp/headers.c" || fail "the headers are not clean with gcc"
fi
# the macOS 14 session API, the audit-token SPI and Apple's newer base.h
# macros (blocks only, as on macOS), in C99, C11 and C++11
for std in c99 c11; do
	# shellcheck disable=SC2086
	clang -fblocks -std=$std $warn -c -o "$tmp/macos-session.o" "$src/tests/install/macos-session.c" $cflags ||
		fail "macos-session.c: the headers are not clean with clang -fblocks -std=$std $warn"
done
# shellcheck disable=SC2086
clang++ -fblocks -x c++ -std=c++11 $warn -fsyntax-only "$src/tests/install/macos-session.c" $cflags ||
	fail "macos-session.c: the headers are not clean in C++11"
# shellcheck disable=SC2086
clang++ -std=c++11 $warn -fsyntax-only "$src/tests/install/macos-cxx.cpp" $cflags ||
	fail "macos-cxx.cpp: the headers are not clean in C++11"
# shellcheck disable=SC2086
clang++ -fblocks -std=c++17 $warn -o "$tmp/macos-cxx" "$src/tests/install/macos-cxx.cpp" $flags ||
	fail "cannot build macos-cxx.cpp against the installed headers"
out=$(LD_LIBRARY_PATH=$libdir timeout 10 "$tmp/macos-cxx") || fail "macos-cxx failed: $out"
[ "$out" = "macos-cxx: ab! ok" ] || fail "macos-cxx printed: $out"

# ---- an app and its services, started on demand by the installed xpcd ----
build_c "$src/tests/install/macos-service.c" -Wextra
build_c "$src/tests/install/macos-app.c" -Wextra
xpcd=$(find "$root" -name xpcd -type f | head -1)
xpcctl="$root/bin/xpcctl"
mkdir "$tmp/jobs"
job() { # job LABEL MACH-NAME OUTPUT [ARGUMENT]
	cat >"$tmp/jobs/$1.plist" <<EOF_PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key><string>$1</string>
	<key>ProgramArguments</key>
	<array><string>$tmp/macos-service</string>${4:+<string>$4</string>}</array>
	<key>MachServices</key><dict><key>$2</key><true/></dict>
	<key>EnvironmentVariables</key><dict><key>LD_LIBRARY_PATH</key><string>$libdir</string></dict>
	<key>StandardOutPath</key><string>$tmp/$3</string>
	<key>StandardErrorPath</key><string>$tmp/$3</string>
</dict>
</plist>
EOF_PLIST
}
job com.example.service com.example.service service.out
job com.example.daemon com.example.daemon daemon.out daemon
export XPCD_SOCKET="$tmp/xpcd.sock"
ctl() { LD_LIBRARY_PATH=$libdir timeout 5 "$xpcctl" "$@"; }
LD_LIBRARY_PATH=$libdir "$xpcd" --socket "$XPCD_SOCKET" --jobs "$tmp/jobs" >"$tmp/xpcd.log" 2>&1 &
xpcd_pid=$!
stop_jobs() {
	ctl unload com.example.service >/dev/null 2>&1 || true
	ctl unload com.example.daemon >/dev/null 2>&1 || true
}
for _ in $(seq 100); do [ -S "$XPCD_SOCKET" ] && break; sleep 0.05; done
[ -S "$XPCD_SOCKET" ] || { cat "$tmp/xpcd.log"; fail "xpcd did not start"; }

LD_LIBRARY_PATH=$libdir timeout 10 "$tmp/macos-app" >"$tmp/app.out" 2>&1 ||
	{ cat "$tmp/app.out" "$tmp/service.out" "$tmp/daemon.out" "$tmp/xpcd.log" 2>/dev/null; fail "macos-app failed"; }
# the description line varies (addresses); the rest is exact, in this order
cat >"$tmp/app.expected" <<EOF_OUT
app: sum 1..10 = 55
app: service is another process: yes
app: service read through the fd: "written before sending"
app: service mapped 4096 bytes, region now "SHARED MEMORY"
app: service counted 5 keys besides op
EOF_OUT
sed '/^app: request /,/^}$/d' "$tmp/app.out" >"$tmp/app.lines"
head -5 "$tmp/app.lines" | diff -u "$tmp/app.expected" - ||
	fail "macos-app: unexpected output (above)"
expect() { grep -qxF -- "$1" "$tmp/app.out" || { cat "$tmp/app.out"; fail "macos-app did not print: $1"; }; }
expect 'app: late reply: yes'
expect 'app: barrier ran'
grep -q '^app: daemon says "hello app, pid [0-9]*" (euid ok: yes)$' "$tmp/app.out" || fail "no greeting from the daemon"
expect 'app: daemon connection: Connection invalid'
expect 'app: service connection: Connection invalid'
expect 'app: timer fired 3 times, then cancelled'
expect 'app: SIGUSR1 delivered to a dispatch source'
expect 'app: done'
grep -q '^app: request <dictionary: 0x[0-9a-f]*> { count = 6, transaction: 0, voucher = 0x0, contents =$' "$tmp/app.out" &&
	grep -qxF '	"id" => <uuid: 0x'"$(sed -n 's/^	"id" => <uuid: 0x\([0-9a-f]*\)> .*/\1/p' "$tmp/app.out")"'> 01020304-0506-0708-090A-0B0C0D0E0F10' "$tmp/app.out" &&
	grep -qF '	"ratio" => <double: 0x' "$tmp/app.out" ||
	{ cat "$tmp/app.out"; fail "xpc_copy_description: not Apple's form"; }
[ "$(wc -l <"$tmp/app.lines")" -eq 13 ] || { cat "$tmp/app.out"; fail "macos-app printed other lines"; }

# launchd-style stop: SIGTERM reaches the daemon's signal source
ctl kill 15 com.example.daemon >/dev/null || fail "xpcctl kill failed"
for _ in $(seq 100); do grep -q 'SIGTERM, exiting' "$tmp/daemon.out" 2>/dev/null && break; sleep 0.05; done
printf 'daemon: listening\ndaemon: SIGTERM, exiting\n' | diff -u - "$tmp/daemon.out" || fail "daemon output (above)"
echo "test-install: ok ($(nm -D --defined-only "$so" | wc -l) exported symbols; macOS app, service and daemon ran)"
