#!/bin/sh
# bench/setup-user.sh - named connect + first reply as root and as an
# unprivileged user, interleaved, against one private xpcd run by root
# (bench-xpc setup; docs/performance.md, "Session 16"):
#
#   bench/setup-user.sh [BUILD_DIR] [N] [ROUNDS] [USER]   (defaults: build, 300, 3, nobody)
#
# xpcd hands a service's channel (W) only to root and the service's own
# user, who cache it; any other user's first named connection is checked
# in by xpcd (src/broker/vend.c), whose answer hands that user a channel
# of its own to the running service (src/broker/user-channels.c), cached
# and used from then on.  Each round prints both lines of bench-xpc setup
# (each against its own raw connect + round trip).  Needs root.
set -eu
BUILD=${1:-build}
N=${2:-300}
ROUNDS=${3:-3}
WHO=${4:-nobody}
NAME=org.xpc.bench.echo
B=$(cd "$BUILD/bench" && pwd)
XPCD=$(cd "$BUILD/src/broker" && pwd)/xpcd
SCRIPT=setup-user
[ "$(id -u)" = 0 ] || { echo "setup-user.sh: run as root" >&2; exit 1; }
. "$(dirname "$0")/private-xpcd.sh"
# the private broker's socket and directory are its owner's only
chmod 0755 "$TMP"
chmod 0666 "$TMP/xpcd.sock"
uid=$(id -u "$WHO")
gid=$(id -g "$WHO")
for _ in $(seq "$ROUNDS"); do
	printf 'root:  %s\n' "$(XPCD_SOCKET=$TMP/xpcd.sock "$B/bench-xpc" setup "$NAME" "$N" 2>&1 | grep medians)"
	printf '%s: %s\n' "$WHO" "$(XPCD_SOCKET=$TMP/xpcd.sock setpriv --reuid="$uid" --regid="$gid" --clear-groups \
		"$B/bench-xpc" setup "$NAME" "$N" 2>&1 | grep medians)"
done
