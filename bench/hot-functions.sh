#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/hot-functions.sh - the libxpc.so functions an idle client runs, as
# the lines of src/libxpc-hot.ld (docs/performance.md, "The idle client
# (goal 3)"):
#
#   bench/hot-functions.sh [RUNS]    (default 12; run from the source tree)
#
# Configures and builds libxpc.so, xpcd and bench-xpc with
# -finstrument-functions-after-inlining in a temporary directory, the hook
# bench/hot-hook.c linked into each, runs `bench-xpc idle-client` RUNS
# times against a private xpcd (bench/private-xpcd.sh), and prints the
# union of the functions entered, sorted, one `*(.text.NAME)` a line.
set -eu
RUNS=${1:-12}
SRC=$(pwd)
WORK=$(mktemp -d /tmp/xpc-hot.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
${CC:-clang} -O2 -fPIC -c "$SRC/bench/hot-hook.c" -o "$WORK/hook.o"
CC=${CC:-clang} meson setup "$WORK/build" "$SRC" --wrap-mode=nodownload \
	-Dc_args=-finstrument-functions-after-inlining -Dc_link_args="$WORK/hook.o" >"$WORK/setup.log"
ninja -C "$WORK/build" -j2 libxpc.so.0.1.0 bench/bench-xpc src/broker/xpcd >"$WORK/build.log"
(
	NAME=org.xpc.bench.echo
	B=$WORK/build/bench
	XPCD=$WORK/build/src/broker/xpcd
	SCRIPT=hot-functions
	. "$SRC/bench/private-xpcd.sh"
	for _ in $(seq "$RUNS"); do
		HOT_OUT=$WORK/offsets XPCD_SOCKET=$TMP/xpcd.sock "$B/bench-xpc" idle-client "$NAME" >"$TMP/ready" &
		c=$!
		i=0
		while ! grep -q ready "$TMP/ready"; do
			i=$((i + 1))
			[ $i -gt 600 ] && { echo "hot-functions.sh: the client did not get its reply" >&2; kill -KILL "$c"; exit 1; }
			sleep 0.05
		done
		sleep 0.2
		kill -KILL "$c"
		wait "$c" 2>/dev/null || :
	done
)
nm "$WORK/build/libxpc.so.0.1.0" | awk -v offsets="$WORK/offsets" '
	BEGIN { while ((getline o < offsets) > 0) hot[o] = 1 }
	NF == 3 && $2 ~ /^[tT]$/ { a = $1; sub(/^0+/, "", a); if (a in hot) print "    *(.text." $3 ")" }' | sort -u
