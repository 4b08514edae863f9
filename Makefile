# The two set-up commands of the README, and the rest of the workflow.
#
#   make demo    the seed scenario on a private broker (installs what it needs)
#   make check   every test: a plain -Werror build, ASan+UBSan, TSan, and the
#                unit suites of a 32-bit (-m32) build (make check-m32)
#   make fuzz    libFuzzer on every target for FUZZ_TIME seconds each
#   make bench   the benchmark suite: one table + chart in bench/results (docs/performance.md)
#   make stress  the stress tests at full size (docs/reliability.md): 200
#                kill rounds, 64 x 10 000 requests, 1 000 idle connections,
#                1 000 000 Python messages (bindings/python/tests/test_leak.py)
#   make install   meson install of build/ under PREFIX (default /usr/local;
#                  the build is reconfigured to PREFIX each time; DESTDIR
#                  honoured; no apt-get: run make deps first if needed)
#   make uninstall removes what the last make install installed
#   make deb       the Debian packages libxpc0, libxpc-dev, xpcd, python3-xpc in ../
#                  (docs/packaging.md; installs the build-deps first)
CC := clang
export CC
MESON_FLAGS := --wrap-mode=nodownload
FUZZ_TIME ?= 60
FUZZ_MERGE ?= 0
PREFIX ?= /usr/local
JOBS ?= 2

.PHONY: valgrind all deps deb-deps build demo check check-plain check-asan check-tsan check-m32 m32-run fuzz bench bench-setup stress install uninstall deb clean

all: build

deps:
	@./scripts/install-deps.sh

build/build.ninja:
	meson setup build $(MESON_FLAGS) -Dwerror=true --prefix=$(PREFIX)

build: deps build/build.ninja
	ninja -C build

# The ASan build also carries the fault-injection hooks (inert unless a test
# arms them), so the 'fault' suite runs under ASan+UBSan.
build-asan/build.ninja:
	meson setup build-asan $(MESON_FLAGS) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug \
	  -Dfault_injection=true

build-tsan/build.ninja:
	meson setup build-tsan $(MESON_FLAGS) -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug

demo: build
	./examples/demo.sh build

check-plain: build
	@./scripts/install-deps.sh --check
	-meson test -C build --num-processes $(JOBS) --print-errorlogs

check-asan: deps build-asan/build.ninja
	ninja -C build-asan
	-ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C build-asan --num-processes $(JOBS) --print-errorlogs --timeout-multiplier 3

check-tsan: deps build-tsan/build.ninja
	ninja -C build-tsan
	-TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  meson test -C build-tsan --num-processes $(JOBS) --print-errorlogs --timeout-multiplier 4 --suite tsan

# The 32-bit build (scripts/m32.sh): every target with -m32 -Werror from a
# private sysroot of i386 dependencies, then the unit suites where the
# kernel execs i386 programs, a fast subset under qemu-i386 where it does
# not, or one skipped test saying why (docs/CONTRIBUTING.md).
m32-run: deps
	@./scripts/install-deps.sh --m32
	-./scripts/m32.sh

check-m32: m32-run
	@./scripts/summarize-tests.py build-m32/meson-logs/testlog.json

check: check-plain check-asan check-tsan m32-run
	@./scripts/summarize-tests.py build/meson-logs/testlog.json \
	  build-asan/meson-logs/testlog.json build-tsan/meson-logs/testlog.json \
	  build-m32/meson-logs/testlog.json

build-fuzz/build.ninja:
	meson setup build-fuzz $(MESON_FLAGS) -Dfuzzing=true -Db_lundef=false -Dbuildtype=debugoptimized

# New inputs go to build-fuzz/fuzz-new; FUZZ_MERGE=1 adds them to fuzz/corpus.
fuzz: deps build-fuzz/build.ninja
	ninja -C build-fuzz
	FUZZ_MERGE=$(FUZZ_MERGE) ./fuzz/run.sh build-fuzz $(FUZZ_TIME)

bench: build
	./scripts/install-deps.sh --bench
	./bench/run.sh build

# Only the connect + first reply figures, interleaved with their raw baseline.
bench-setup: build
	./bench/setup.sh build

STRESS_ENV := STRESS_ROUNDS=200 STRESS_CLIENTS=64 STRESS_REQUESTS=10000 STRESS_IDLE=1000 STRESS_CONNS=2000 STRESS_BACKLOG_SECS=20 \
  PYXPC_LEAK_MESSAGES=1000000

stress: build
	$(STRESS_ENV) meson test -C build --suite stress --num-processes 1 --print-errorlogs --timeout-multiplier 4 --verbose

# No deps here (no apt-get): install what was built, for PREFIX as given now.
install:
	@[ -f build/build.ninja ] || meson setup build $(MESON_FLAGS) -Dwerror=true --prefix=$(PREFIX)
	meson configure build --prefix=$(PREFIX)
	ninja -C build
	meson install -C build --no-rebuild
	@if [ -z "$(DESTDIR)" ] && command -v mandb >/dev/null; then mandb -q 2>/dev/null || true; fi

# Removes the files of the last make install (build/meson-logs/install-log.txt)
# and the directories it made that are now empty.
uninstall:
	@[ -f build/meson-logs/install-log.txt ] || { echo "make uninstall: nothing was installed from build/"; exit 1; }
	./scripts/uninstall.sh build
	@if [ -z "$(DESTDIR)" ] && command -v mandb >/dev/null; then mandb -q 2>/dev/null || true; fi

deb-deps:
	@./scripts/install-deps.sh --deb

# dpkg-buildpackage -us -uc -b: ../libxpc0_*.deb, ../libxpc-dev_*.deb, ../xpcd_*.deb,
# ../python3-xpc_*.deb
deb: deb-deps
	dpkg-buildpackage -us -uc -b

clean:
	rm -rf build build-asan build-tsan build-fuzz build-valgrind build-m32 build-m32-sysroot

# memcheck over the connection and broker tests and every process they start
# (valgrind 3.19 reads DWARF 4 only, hence its own build directory)
build-valgrind/build.ninja:
	meson setup build-valgrind $(MESON_FLAGS) -Dc_args=-gdwarf-4

valgrind: deps build-valgrind/build.ninja
	ninja -C build-valgrind
	meson test -C build-valgrind --setup valgrind --suite connection --suite broker --num-processes 1 --print-errorlogs
