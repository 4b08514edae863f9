#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages the build, tests and demo need, only those
# missing.  As root it runs apt-get directly, otherwise through sudo.
#   (no argument)  build and demo
#   --check        + what the plain test run needs: gcc (plain-C builds,
#                  tests/install), man-db (tests/package/test-man.sh), tshark
#                  (tests/tools: the capture opened by the dissector),
#                  the --deb list (tests/package/test-deb.sh) and the --m32 list
#   --m32          + the 32-bit build's (scripts/m32.sh): gcc-multilib (libc,
#                  crt files and libgcc for -m32) and qemu-user (qemu-i386, for
#                  kernels that cannot exec i386 programs)
#   --deb          + make deb: debhelper, dh-python, dpkg-dev, lintian, systemd
#                  (systemd.pc, a build-dep of the packages)
#   --bench        + make bench
set -eu
PKGS="clang meson ninja-build pkg-config libblocksruntime-dev uuid-dev libjansson-dev
libplist-dev libsystemd-dev libclang-rt-14-dev python3 procps python3-dev python3-pytest
libnghttp2-dev libssl-dev python3-h2 python3-hyperframe"
DEB="debhelper dh-python dpkg-dev lintian systemd"
M32="gcc-multilib qemu-user"
[ "${1:-}" = "--check" ] && PKGS="$PKGS gcc man-db tshark $DEB $M32"
[ "${1:-}" = "--m32" ] && PKGS="$PKGS $M32"
[ "${1:-}" = "--deb" ] && PKGS="$PKGS $DEB"
[ "${1:-}" = "--bench" ] && PKGS="$PKGS dbus dbus-broker gnuplot-nox python3-dbus python3-gi"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
