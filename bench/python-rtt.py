#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""python-rtt.py - the round trip of the Python bindings against Python
baselines, measured in one run.

    bench/python-rtt.py [BUILD_DIR] [ROUND_TRIPS]    (defaults: build, 20000)

Three echo servers, each a Python process of its own, and one Python client
(this process) that sends a 64-byte payload and waits for it back:

  xpc     `import xpc` (BUILD_DIR/bindings/python): a named service started
          on demand by a private xpcd (this script with --serve-xpc, serving
          with xpc.main); request {"data": 64 B} -> reply {"data": 64 B}
  raw     a socketpair(AF_UNIX, SOCK_SEQPACKET): send(64 B) / recv
  dbus    python3-dbus peer to peer (dbus.server.Server, no bus daemon;
          the server runs a GLib main loop): call_blocking Echo(ay)

The transports take turns in blocks of 200 round trips (so a change of the
machine's load hits them alike); every round trip is timed on its own.
Prints the median and p99 of each and the ratios of the medians (xpc/raw,
xpc/dbus).  Needs python3-dbus and python3-gi for the dbus row (skipped
without them).  Everything started is killed at the end.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NAME = "org.xpc.bench.python"
PAYLOAD = bytes(range(64))
BLOCK = 200
HERE = os.path.abspath(__file__)


# ---- servers ---------------------------------------------------------------------------

def serve_xpc():
    import xpc

    xpc.main(lambda msg: {"data": msg["data"]})


def serve_raw(fd):
    s = socket.socket(fileno=fd)
    while True:
        b = s.recv(65536)
        if not b:
            return
        s.send(b)


def serve_dbus():
    import dbus
    import dbus.mainloop.glib
    import dbus.server
    import dbus.service
    from gi.repository import GLib

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)

    class Echo(dbus.service.Object):
        @dbus.service.method("org.xpc.Bench", in_signature="ay", out_signature="ay", byte_arrays=True)
        def Echo(self, data):
            return data

    objects = []
    server = dbus.server.Server("unix:tmpdir=" + tempfile.gettempdir())
    server.on_connection_added.append(lambda conn: objects.append(Echo(conn, "/org/xpc/bench")))
    print(server.address, flush=True)
    GLib.MainLoop().run()


# ---- clients ------------------------------------------------------------------------------

def timed(call, n):
    out = []
    clock = time.perf_counter_ns
    for _ in range(n):
        t = clock()
        call()
        out.append(clock() - t)
    return out


class Xpc:
    name = "xpc"

    def __init__(self, build, tmp):
        pypath = os.path.join(os.path.abspath(build), "bindings", "python")
        sys.path.insert(0, pypath)
        jobs = os.path.join(tmp, "jobs")
        os.mkdir(jobs)
        with open(os.path.join(jobs, NAME + ".plist"), "w") as f:
            f.write(JOB.format(name=NAME, python=sys.executable, script=HERE, path=pypath))
        self.sock = os.path.join(tmp, "xpcd.sock")
        self.xpcd = subprocess.Popen([os.path.join(build, "src", "broker", "xpcd"), "--socket", self.sock,
                                      "--jobs", jobs], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(tmp, "xpcd.log"), "wb"))
        for _ in range(500):
            if os.path.exists(self.sock):
                break
            time.sleep(0.01)
        os.environ["XPCD_SOCKET"] = self.sock
        import xpc

        self.conn = xpc.Connection(NAME)
        self.msg = {"data": PAYLOAD}
        assert self.conn.request(self.msg)["data"] == PAYLOAD

    def run(self, n):
        conn, msg = self.conn, self.msg
        return timed(lambda: conn.request(msg), n)

    def stop(self):
        self.conn.cancel()
        self.xpcd.kill()
        self.xpcd.wait()
        try:
            with open(self.sock + ".state") as f:
                for line in f:
                    pid = int(line.split()[0])
                    if pid > 0:
                        os.killpg(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


JOB = """<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>{name}</string>
<key>ProgramArguments</key><array><string>{python}</string><string>{script}</string>
<string>--serve-xpc</string></array>
<key>MachServices</key><dict><key>{name}</key><true/></dict>
<key>EnvironmentVariables</key><dict><key>PYTHONPATH</key><string>{path}</string></dict>
</dict></plist>
"""


class Raw:
    name = "raw"

    def __init__(self, build, tmp):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen([sys.executable, HERE, "--serve-raw", str(b.fileno())],
                                     pass_fds=[b.fileno()])
        b.close()
        self.sock = a

    def run(self, n):
        s = self.sock

        def rt():
            s.send(PAYLOAD)
            s.recv(65536)

        return timed(rt, n)

    def stop(self):
        self.sock.close()
        self.proc.wait()


class Dbus:
    name = "dbus"

    def __init__(self, build, tmp):
        import dbus.connection

        self.proc = subprocess.Popen([sys.executable, HERE, "--serve-dbus"], stdout=subprocess.PIPE)
        address = self.proc.stdout.readline().decode().strip()
        self.conn = dbus.connection.Connection(address)

    def run(self, n):
        call = self.conn.call_blocking

        def rt():
            call(None, "/org/xpc/bench", "org.xpc.Bench", "Echo", "ay", [PAYLOAD], byte_arrays=True)

        return timed(rt, n)

    def stop(self):
        self.conn.close()
        self.proc.kill()
        self.proc.wait()


def have_dbus():
    try:
        import dbus.mainloop.glib  # noqa: F401
        import gi  # noqa: F401
        return True
    except ImportError:
        return False


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def report(samples):
    med = {k: percentile(v, 0.5) / 1000 for k, v in samples.items()}
    print("python round trip, 64 B payload, %d round trips each, interleaved in blocks of %d"
          % (len(samples["xpc"]), BLOCK))
    print("%-6s %10s %10s" % ("", "median us", "p99 us"))
    for k, v in samples.items():
        print("%-6s %10.1f %10.1f" % (k, med[k], percentile(v, 0.99) / 1000))
    for base in ("raw", "dbus"):
        if base in med:
            print("xpc/%s %.2fx" % (base, med["xpc"] / med[base]))


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    tmp = tempfile.mkdtemp(prefix="xpc-pybench.")
    kinds = [Raw, Xpc] + ([Dbus] if have_dbus() else [])
    started = []
    try:
        for k in kinds:
            started.append(k(build, tmp))
        samples = {t.name: [] for t in started}
        for t in started:  # warm up
            t.run(BLOCK)
        for _ in range(max(1, total // BLOCK)):
            for t in started:
                samples[t.name] += t.run(BLOCK)
        report({k: samples[k] for k in ("xpc", "raw", "dbus") if k in samples})
        if "dbus" not in samples:
            print("(dbus skipped: python3-dbus or python3-gi missing)")
    finally:
        for t in started:
            t.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-xpc":
        serve_xpc()
    elif len(sys.argv) > 2 and sys.argv[1] == "--serve-raw":
        serve_raw(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--serve-dbus":
        serve_dbus()
    else:
        main()
