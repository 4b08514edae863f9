# SPDX-License-Identifier: MIT
"""Fixtures of the Python bindings' tests.

`broker`: a private xpcd (the binary named by $XPCD, set by meson) on a
socket in a temp dir, with one job, NAME, running tests/service.py on
demand; clients find it through $XPCD_SOCKET.  At the end the broker and
every job it started (pids from SOCKET.state, each the leader of its
process group) are killed and the temp dir removed; if this process is
killed instead (a timeout), both die with their parent (PR_SET_PDEATHSIG).

`warm_up` (every session): one round trip first, so libxpc's runtime
descriptors exist before any count.

`no_fd_leak`: the test must leave as many descriptors open as it found
(waiting up to 10 s for libxpc to close what cancelled connections held).
"""
import ctypes
import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

NAME = "org.xpc.pytest.echo"
HERE = os.path.dirname(os.path.abspath(__file__))
SANITIZED = os.environ.get("PYXPC_SANITIZED") == "1"

JOB = """<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>{name}</string>
<key>ProgramArguments</key><array><string>{python}</string><string>{service}</string></array>
<key>MachServices</key><dict><key>{name}</key><true/></dict>
<key>EnvironmentVariables</key><dict>{env}</dict>
<key>ThrottleInterval</key><integer>1</integer>
</dict></plist>
"""


def _env_plist():
    keep = ["PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS"]
    items = []
    for k in keep:
        if k in os.environ:
            items.append("<key>%s</key><string>%s</string>" % (k, os.environ[k]))
    return "".join(items)


def die_with_parent():
    """SIGKILL when the parent goes (a test run killed by its timeout must
    leave no broker or service behind; tests/service.py does the same)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def wait_until(cond, timeout=10.0, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


class Broker:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="xpc-pytest.")
        self.sock = os.path.join(self.dir, "xpcd.sock")
        self.jobs = os.path.join(self.dir, "jobs")
        os.mkdir(self.jobs)
        with open(os.path.join(self.jobs, NAME + ".plist"), "w") as f:
            f.write(JOB.format(name=NAME, python=sys.executable,
                               service=os.path.join(HERE, "service.py"), env=_env_plist()))
        self.log = open(os.path.join(self.dir, "xpcd.log"), "wb")
        xpcd = os.environ.get("XPCD")
        if not xpcd:
            pytest.skip("XPCD not set (run through meson test)")
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)  # ASan build: xpcd carries its own runtime
        self.proc = subprocess.Popen([xpcd, "--socket", self.sock, "--jobs", self.jobs], env=env,
                                     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent)
        if not wait_until(lambda: os.path.exists(self.sock), 20):
            self.stop()
            raise RuntimeError("xpcd did not start")
        os.environ["XPCD_SOCKET"] = self.sock

    def job_pids(self):
        try:
            with open(self.sock + ".state") as f:
                return [int(line.split()[0]) for line in f if line.split() and int(line.split()[0]) > 0]
        except (OSError, ValueError):
            return []

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        for pid in self.job_pids():
            for target in (-pid, pid):
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def broker():
    b = Broker()
    yield b
    b.stop()


def open_fds():
    """This process's descriptors (without the one listdir itself used)."""
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            os.readlink("/proc/self/fd/" + fd)
            fds.add(fd)
        except OSError:
            pass
    return fds


@pytest.fixture(scope="session", autouse=True)
def warm_up():
    """The first connection starts libxpc's runtime (its epoll, eventfd,
    timerfd and signalfd stay): before any descriptor count."""
    import xpc

    with xpc.Listener(lambda m: {}) as listener:
        with xpc.Connection(endpoint=listener.endpoint) as conn:
            conn.request({})


@pytest.fixture
def no_fd_leak():
    before = open_fds()
    yield
    gc.collect()  # tracebacks kept by pytest.raises hold frames in a cycle
    ok = wait_until(lambda: open_fds() <= before, 10)
    assert ok, "descriptors left open: %s" % describe_fds(open_fds() - before)


def describe_fds(fds):
    out = []
    for fd in sorted(fds, key=int):
        try:
            out.append("%s -> %s" % (fd, os.readlink("/proc/self/fd/" + fd)))
        except OSError:
            pass
    return ", ".join(out)


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
