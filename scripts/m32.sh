#!/bin/sh
# SPDX-License-Identifier: MIT
# make check-m32: a 32-bit (i386, -m32) build of libxpc and a run of the
# unit suites in it, to catch size_t/long/pointer-width assumptions.
#
# Debian 12 cannot install the i386 versions of our dependencies beside
# the amd64 ones: libblocksruntime0 is not Multi-Arch (its i386 package
# removes the amd64 one and libblocksruntime-dev), and the Multi-Arch:
# same libraries (libssl3, linux-libc-dev under libc6-dev) must carry the
# same version in both architectures, which fails whenever the amd64 one
# came from bookworm-security and the i386 index lags.  So this script
# installs only gcc-multilib (32-bit crt files, libgcc, libc for -m32,
# all amd64 packages), and fetches the i386 packages of the dependencies
# with `apt-get download`, unpacked into a private sysroot
# (build-m32-sysroot/) that a meson cross file points at.  Nothing i386 is
# installed into the system.  The tests run under qemu-i386 (qemu-user):
# kernels built or booted without IA-32 emulation (this project's CI
# machines: "IA-32 emulation off", execve of an i386 binary returns
# ENOEXEC) cannot run them directly.
#
#   scripts/m32.sh [SUITE...]   default suites: shared object wire dispatch
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
SYSROOT=$ROOT/build-m32-sysroot
CROSS=$ROOT/build-m32-sysroot/i386.cross
PKGS="libblocksruntime0 libblocksruntime-dev libuuid1 uuid-dev libjansson4 libjansson-dev
libplist3 libplist-dev libnghttp2-14 libnghttp2-dev libssl3 libssl-dev"
SUITES=${*:-shared object wire dispatch}
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# What the machine cannot give is a skip, said in build-m32-sysroot/SKIPPED
# (make check then leaves the 32-bit run out of its count); a build or test
# failure is a failure.
skip() {
	mkdir -p "$SYSROOT"
	echo "m32: skipped: $*" | tee "$SYSROOT/SKIPPED"
	exit 0
}
rm -f "$SYSROOT/SKIPPED" build-m32/meson-logs/testlog.json
if ! dpkg-query -W -f='${Status}' gcc-multilib 2>/dev/null | grep -q "install ok installed"; then
	$SUDO apt-get update -qq || true
	$SUDO apt-get install -y -qq --no-install-recommends gcc-multilib >/dev/null ||
		skip "gcc-multilib (32-bit libc and libgcc for -m32) is not installable"
fi
if ! command -v qemu-i386 >/dev/null; then
	$SUDO apt-get install -y -qq --no-install-recommends qemu-user >/dev/null ||
		skip "qemu-user (to run i386 tests where the kernel has no IA-32 emulation) is not installable"
fi
if [ ! -f "$SYSROOT/.done" ]; then
	if ! dpkg --print-foreign-architectures | grep -qx i386; then
		$SUDO dpkg --add-architecture i386
	fi
	# an i386 index that fails to download (a mirror mid-sync) is not fatal
	# as long as the main one came: apt-get download says so otherwise
	$SUDO apt-get update -qq || echo "m32: apt-get update reported errors (see above); trying anyway"
	rm -rf "$SYSROOT"
	mkdir -p "$SYSROOT/debs"
	chmod 777 "$SYSROOT/debs" # apt-get download fetches as _apt
	(cd "$SYSROOT/debs" && for p in $PKGS; do apt-get download -q "$p:i386" || exit 1; done) ||
		skip "the i386 packages of the dependencies cannot be downloaded (apt-get download)"
	for d in "$SYSROOT"/debs/*.deb; do
		dpkg-deb -x "$d" "$SYSROOT"
	done
	LIB=$SYSROOT/usr/lib/i386-linux-gnu
	cat > "$CROSS" <<CROSS
[binaries]
c = 'clang'
pkgconfig = 'pkg-config'
exe_wrapper = 'qemu-i386'

[properties]
sys_root = '$SYSROOT'
pkg_config_libdir = ['$LIB/pkgconfig', '$SYSROOT/usr/share/pkgconfig']
needs_exe_wrapper = true

[built-in options]
c_args = ['-m32', '-isystem', '$SYSROOT/usr/include/i386-linux-gnu', '-isystem', '$SYSROOT/usr/include']
c_link_args = ['-m32', '-L$LIB', '-Wl,-rpath,$LIB']

[host_machine]
system = 'linux'
cpu_family = 'x86'
cpu = 'i686'
endian = 'little'
CROSS
	touch "$SYSROOT/.done"
fi
if [ ! -f build-m32/build.ninja ]; then
	meson setup build-m32 --wrap-mode=nodownload --cross-file "$CROSS" -Dwerror=true -Dpython=disabled
fi
ninja -C build-m32
file build-m32/libxpc.so.0.1.0 | grep -q "ELF 32-bit" || { echo "m32: libxpc.so is not 32-bit"; exit 1; }
suites=""
for s in $SUITES; do suites="$suites --suite $s"; done
# shellcheck disable=SC2086
meson test -C build-m32 --num-processes "${JOBS:-2}" --print-errorlogs $suites
