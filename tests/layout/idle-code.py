#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""idle-code.py - an idle named client has one 64 KiB block of libxpc.so's
code resident, and called neither clock_gettime nor pthread_mutex_trylock
of libc (docs/performance.md, "The idle client (goal 3)").

src/libxpc-hot.ld puts the functions a named client runs ahead of the rest
of .text, and the library's segments are 64 KiB-aligned; the kernel maps a
cached file 64 KiB around each page that faults.  So a client that made a
named connection and got one reply has at most 64 KiB of libxpc.so's code
resident; with the plain layout it had 164 KiB.  A function added to the
client's path but not to the list, or a list grown past the block, fails
this test (bench/hot-functions.sh regenerates the list).

Each of those two libc functions costs an idle client a 64 KiB block of
libc that nothing else it runs touches (clock_gettime's code, and the jump
table pthread_mutex_trylock reads): src/shared/clock.c reads the vDSO's
clock_gettime, and a connection's rx.lock is a rwlock.  The client runs
with tests/layout/idle-libc.so preloaded, which counts the calls; it
fails on the library before those changes.

  idle-code.py XPCD IDLE_CODE IDLE_LIBC   (the build's xpcd,
      tests/layout/idle-code and tests/layout/idle-libc.so)

Starts a private xpcd whose one job is `idle-code service`, runs
`idle-code client` against it, and checks the figures it prints.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

NAME = "org.xpc.test.idle-code"
LIMIT_KIB = 64


def check_libc_calls(line):
    """The client's "libc C T C1 T1": no calls before its own one of each."""
    if len(line) != 5 or line[0] != "libc":
        sys.exit("idle-code: the client said %r (is idle-libc.so preloaded?)" % line)
    clk, trylock, clk1, trylock1 = (int(v) for v in line[1:])
    print("libc calls in an idle named client: clock_gettime %d, pthread_mutex_trylock %d" % (clk, trylock))
    if clk1 != clk + 1 or trylock1 != trylock + 1:
        sys.exit("idle-code: idle-libc.so does not see the calls (%r)" % line)
    if clk or trylock:
        sys.exit("idle-code: the client called libc's clock_gettime %d times and pthread_mutex_trylock %d"
                 " times; each maps a 64 KiB block of libc" % (clk, trylock))


def main():
    xpcd, prog, shim = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    tmp = tempfile.mkdtemp(prefix="xpc-idle-code.")
    broker = client = None
    try:
        os.mkdir(os.path.join(tmp, "jobs"))
        with open(os.path.join(tmp, "jobs", NAME + ".plist"), "w") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
                    '<key>Label</key><string>%s</string>'
                    '<key>ProgramArguments</key><array><string>%s</string><string>service</string>'
                    '<string>%s</string></array>'
                    '<key>MachServices</key><dict><key>%s</key><true/></dict>'
                    '</dict></plist>\n' % (NAME, prog, NAME, NAME))
        sock = os.path.join(tmp, "xpcd.sock")
        broker = subprocess.Popen([xpcd, "--socket", sock, "--jobs", os.path.join(tmp, "jobs")],
                                  stderr=open(os.path.join(tmp, "xpcd.log"), "w"))
        deadline = time.monotonic() + 20
        while not os.path.exists(sock):
            if time.monotonic() > deadline or broker.poll() is not None:
                sys.exit("idle-code: xpcd did not start: " + open(os.path.join(tmp, "xpcd.log")).read())
            time.sleep(0.01)
        client = subprocess.Popen([prog, "client", NAME], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  env=dict(os.environ, XPCD_SOCKET=sock, LD_PRELOAD=shim), text=True)
        line = client.stdout.readline().split()
        if len(line) != 2 or line[0] != "code":
            sys.exit("idle-code: the client said %r" % line)
        kib = int(line[1])
        print("libxpc.so code resident in an idle named client: %d KiB (limit %d)" % (kib, LIMIT_KIB))
        if not 0 < kib <= LIMIT_KIB:
            sys.exit("idle-code: %d KiB of libxpc.so's code resident, more than one %d KiB block"
                     % (kib, LIMIT_KIB))
        check_libc_calls(client.stdout.readline().split())
    finally:
        if client:
            client.kill()
            client.wait()
        if broker:
            state = os.path.join(tmp, "xpcd.sock.state")
            if os.path.exists(state):  # the job outlives the broker: stop it first
                for row in open(state):
                    pid = int(row.split()[0]) if row.split() and row.split()[0].isdigit() else 0
                    if pid > 0:
                        try:
                            os.kill(pid, 9)
                        except ProcessLookupError:
                            pass
            broker.kill()
            broker.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
