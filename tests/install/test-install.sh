#!/bin/sh
# test-install.sh - what a user of the installed package does: `meson install`
# into a scratch DESTDIR, then build programs written as on macOS against the
# installed headers with nothing but `clang -fblocks` and
# `pkg-config --cflags --libs libxpc`, and run them against the installed
# libxpc.so.  Also checks the installed file set: soname link, pkg-config
# file, headers, xpcd, xpcctl, man pages and systemd units.
#
#   test-install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

option() {
	meson introspect "$build" --buildoptions |
		python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]))' "$1"
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
for f in include/xpc/xpc.h include/xpc/connection.h include/xpc/endpoint.h include/dispatch/dispatch.h \
	bin/xpcctl share/man/man1/xpcctl.1 share/man/man8/xpcd.8 share/man/man5/xpcd.plist.5; do
	[ -e "$root/$f" ] || fail "missing $f"
done
find "$root" -name xpcd -type f | grep -q . || fail "xpcd not installed"
find "$tmp/root" -name 'xpcd*.service' | grep -q . || fail "no systemd units installed"
so=$(find "$root" -name 'libxpc.so.0' | head -1)
[ -n "$so" ] || fail "no libxpc.so.0 (soname link)"
readelf -d "$so" | grep -q 'SONAME.*libxpc.so.0' || fail "soname is not libxpc.so.0"
# Only the API is exported: no internal layer names leak out.
if nm -D --defined-only "$so" | awk '{print $3}' | grep -v -e '^xpc_' -e '^dispatch_' -e '^_xpc_' -e '^_dispatch_' -e '^XPC_' -e '^LIBXPC_' | grep .; then
	fail "symbols outside the API are exported"
fi

export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --define-variable=prefix="$root" --cflags --libs libxpc) || fail "pkg-config libxpc failed"
for prog in "$src/tests/object/macos-style.c" "$src/tests/install/macos-client.c"; do
	exe="$tmp/$(basename "$prog" .c)"
	# shellcheck disable=SC2086
	clang -fblocks -Wall -Werror -o "$exe" "$prog" $flags || fail "cannot build $prog against the installed package"
	LD_LIBRARY_PATH=$(dirname "$so") "$exe" || fail "$(basename "$prog") failed"
done
echo "test-install: ok ($(nm -D --defined-only "$so" | wc -l) exported symbols)"
