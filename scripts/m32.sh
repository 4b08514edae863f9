#!/bin/sh
# SPDX-License-Identifier: MIT
# make check-m32 (part of make check): a 32-bit (i386, -m32 -Werror) build of
# every target of libxpc, and a run of the unit suites in it, to catch
# size_t/long/pointer-width assumptions (format strings above all).
#
# The dependencies.  Debian 12 cannot install the i386 versions of ours
# beside the amd64 ones: libblocksruntime0 is not Multi-Arch (its i386
# package removes the amd64 one and libblocksruntime-dev), and the
# Multi-Arch: same libraries (libssl3, linux-libc-dev under libc6-dev) must
# carry the same version in both architectures, which fails whenever the
# amd64 one came from bookworm-security and the i386 index lags.  So
# make deps installs only gcc-multilib (32-bit crt files, libgcc, libc for
# -m32, all amd64 packages) and qemu-user (scripts/install-deps.sh --check),
# and this script fetches the i386 packages of the dependencies with
# `apt-get download` (Debian's package registry is all it needs), unpacked
# into a private sysroot (build-m32-sysroot/) that a meson cross file points
# at.  Nothing i386 is installed into the system; the sysroot is fetched
# once (build-m32-sysroot/.done holds the package list it was made from).
#
# Running the tests.  A tiny static -m32 program says whether the kernel
# execs i386 binaries (kernels without IA-32 emulation, such as this
# project's development VM, return ENOEXEC):
# - it does: the unit suites run natively (SUITES, default below);
# - it does not but qemu-i386 runs the probe: the same suites under
#   qemu-user but the tests that execute an i386 program (QEMU_EXCLUDE),
#   each test with a hard timeout;
# - neither: the run is one skipped test, with the reason.
# All three end in build-m32/meson-logs/testlog.json, which make check sums
# with the other builds' (scripts/summarize-tests.py); a build failure
# leaves none, which the sum counts as a failure.
#
#   scripts/m32.sh [SUITE...]   default suites: shared object wire dispatch fuzz
#   M32_RUNNER=qemu (where the kernel could run them) or skip: to measure
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
SYSROOT=$ROOT/build-m32-sysroot
CROSS=$SYSROOT/i386.cross
RUN=$SYSROOT/run-i386
LOG=build-m32/meson-logs/testlog.json
PKGS="libblocksruntime0 libblocksruntime-dev libuuid1 uuid-dev libjansson4 libjansson-dev
libplist3 libplist-dev libnghttp2-14 libnghttp2-dev libssl3 libssl-dev"
SUITES=${*:-shared object wire dispatch fuzz}
# Under qemu-i386: the same suites but the tests that execute an i386
# program (qemu-user follows no execve without binfmt_misc): test-oom
# re-executes itself, test-main runs its helpers; and test-source-signal:
# qemu-i386 keeps one GDT for all guest threads, so a thread that returns
# from a signal handler reloads %gs from the entry the newest thread wrote
# and runs on that thread's TLS from then on (seen: the main thread finding
# a worker's queue frame, 4 % of runs; natively 0 of 300).  Each test gets its
# meson timeout times QEMU_TIMEOUT_MULTIPLIER (60 s or 120 s: 30 or 60 s)
# as a hard limit; the whole subset took 26 s (docs/CONTRIBUTING.md).
QEMU_EXCLUDE="test-oom test-main test-source-signal"
QEMU_TIMEOUT_MULTIPLIER=0.5
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# The result of a run that did not happen, as testlog.json's one line.
skip() {
	echo "m32: skipped: $*"
	mkdir -p "$(dirname "$LOG")"
	printf '{"name": "m32: the 32-bit unit suites", "result": "SKIP", "stdout": "%s"}\n' "$*" > "$LOG"
	exit 0
}

# The i386 .debs of PKGS into $SYSROOT/debs, in one apt-get call.
download() {
	rm -rf "$SYSROOT/debs"
	mkdir -p "$SYSROOT/debs"
	chmod 777 "$SYSROOT/debs" # apt-get download fetches as _apt
	# shellcheck disable=SC2046
	(cd "$SYSROOT/debs" && apt-get download -q $(for p in $PKGS; do echo "$p:i386"; done))
}

fetch_sysroot() {
	if ! dpkg --print-foreign-architectures | grep -qx i386; then
		$SUDO dpkg --add-architecture i386
	fi
	rm -rf "$SYSROOT"
	# the i386 index is read again only when it is missing or stale (a
	# download fails); one that fails to download in part (a mirror
	# mid-sync) is not fatal as long as the packages come
	if ! apt-cache show libblocksruntime0:i386 >/dev/null 2>&1 || ! download; then
		$SUDO apt-get update -qq || echo "m32: apt-get update reported errors (see above); trying anyway"
		download || return 1
	fi
	for d in "$SYSROOT"/debs/*.deb; do
		dpkg-deb -x "$d" "$SYSROOT"
	done
	echo "$PKGS" > "$SYSROOT/.done"
}

# native, qemu, or a reason to skip (on stdout); writes the wrapper $RUN
# that meson runs each test binary through (and its configure-time check).
choose_runner() {
	printf 'int main(void) { return sizeof(void *) == 4 ? 0 : 1; }\n' > "$SYSROOT/probe.c"
	if ! clang -m32 -static -o "$SYSROOT/probe" "$SYSROOT/probe.c" 2>/dev/null; then
		echo "a static -m32 program does not link (no 32-bit libc.a: gcc-multilib)"
	elif [ "${M32_RUNNER:-}" != qemu ] && "$SYSROOT/probe" 2>/dev/null; then
		printf '#!/bin/sh\nexec "$@"\n' > "$RUN"
		echo native
	elif command -v qemu-i386 >/dev/null && qemu-i386 "$SYSROOT/probe"; then
		printf '#!/bin/sh\nexec qemu-i386 "$@"\n' > "$RUN"
		echo qemu
	else
		echo "the kernel cannot exec i386 programs (no IA-32 emulation) and qemu-i386 (qemu-user) is missing"
	fi
	chmod +x "$RUN" 2>/dev/null || true
}

# The cross file; with an exe_wrapper only where something can run the
# binaries (meson checks at set-up that the wrapper runs one).  A change
# (a machine that gained or lost a runner) sets build-m32 up anew.
write_cross() {
	LIB=$SYSROOT/usr/lib/i386-linux-gnu
	wrapper=""
	case $1 in native | qemu) wrapper="exe_wrapper = '$RUN'" ;; esac
	cat > "$CROSS.new" <<CROSS
[binaries]
c = 'clang'
pkgconfig = 'pkg-config'
$wrapper

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
	if ! cmp -s "$CROSS.new" "$CROSS"; then
		mv "$CROSS.new" "$CROSS"
		rm -rf build-m32
	fi
	rm -f "$CROSS.new"
}

suite_args() {
	for s in $SUITES; do printf -- '--suite %s ' "$s"; done
}

rm -f "$LOG"
if ! dpkg-query -W -f='${Status}' gcc-multilib 2>/dev/null | grep -q "install ok installed"; then
	skip "gcc-multilib (32-bit libc and libgcc for -m32) is not installed (make deps: scripts/install-deps.sh --check)"
fi
if [ ! -f "$SYSROOT/.done" ] || [ "$(cat "$SYSROOT/.done")" != "$PKGS" ]; then
	fetch_sysroot || skip "the i386 packages of the dependencies cannot be downloaded (apt-get download)"
fi
runner=$(choose_runner)
write_cross "$runner"
[ "${M32_RUNNER:-}" = skip ] && runner="M32_RUNNER=skip"
if [ ! -f build-m32/build.ninja ]; then
	meson setup build-m32 --wrap-mode=nodownload --cross-file "$CROSS" -Dwerror=true -Dpython=disabled
fi
ninja -C build-m32
file build-m32/libxpc.so.0.1.0 | grep -q "ELF 32-bit" || { echo "m32: libxpc.so is not 32-bit"; exit 1; }
# the RemoteXPC module (nghttp2, OpenSSL of the sysroot), dlopen()ed by libxpc.so
file build-m32/libxpc-remote.so | grep -q "ELF 32-bit" || { echo "m32: libxpc-remote.so is not 32-bit"; exit 1; }
case $runner in
native)
	echo "m32: the kernel runs i386 programs: suites $SUITES"
	# shellcheck disable=SC2086
	meson test -C build-m32 --num-processes "${JOBS:-2}" --print-errorlogs $(suite_args) || true
	;;
qemu)
	# shellcheck disable=SC2086
	tests=$(meson test -C build-m32 --list $(suite_args) 2>/dev/null | sed -n 's|^.* / ||p' |
		grep -vxF "$(echo $QEMU_EXCLUDE | tr ' ' '\n')")
	echo "m32: the kernel cannot exec i386 programs: suites $SUITES under qemu-i386, but $QEMU_EXCLUDE"
	# shellcheck disable=SC2086
	meson test -C build-m32 --num-processes "${JOBS:-2}" --print-errorlogs \
		--timeout-multiplier $QEMU_TIMEOUT_MULTIPLIER $tests || true
	;;
*)
	skip "$runner"
	;;
esac
