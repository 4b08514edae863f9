#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# test-h2-attack.py - hostile HTTP/2 peers against xpc-remoted's service
# port, with frames written by hand (raw sockets), one attack per run:
#
#   test-h2-attack.py ATTACK SERVICE_PORT REMOTED_PID REMOTED_LOG
#
# Each attack checks, besides its own rule: xpc-remoted's resident memory
# (/proc/PID/status VmRSS) grows by less than a bound, the hostile session
# is closed by the server where the rule says so (within a timeout), and a
# well-behaved client (a request answered with its value) is served
# during and after the attack.  The message wrapper and Apple's object
# encoding come from test-h2.py (same folder).  Run by test-remote's
# "attack-*" scenarios (tests/remote/meson.build), which start xpcd and
# xpc-remoted on 127.0.0.1 (and kill both at the end); the figures measured
# are printed on stderr.  Exit status 0 on success.
import importlib.util
import os
import select
import socket
import struct
import sys
import time

spec = importlib.util.spec_from_file_location("testh2", os.path.join(os.path.dirname(__file__), "test-h2.py"))
th = importlib.util.module_from_spec(spec)
spec.loader.exec_module(th)
wrap, body, unwrap = th.wrap, th.body, th.unwrap
ALWAYS_SET, DATA_PRESENT, SETUP = th.ALWAYS_SET, th.DATA_PRESENT, th.SETUP
WANTING_REPLY, REPLY, INIT_HANDSHAKE = th.WANTING_REPLY, th.REPLY, th.INIT_HANDSHAKE

HOST = "127.0.0.1"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_HEADERS = 0x4
SHARE = 8  # sessions one address may hold on one port (serve.h)
SECRET = "org.xpc.test.remote.secret"  # root's job that is not exported (test-remote.c)
# under ASan or TSan (test-remote says so) memory bounds are 16 times as
# wide: freed memory waits in ASan's quarantine, TSan keeps shadow memory
SANITIZER = 16 if os.environ.get("TEST_H2_ATTACK_SANITIZER") else 1
failures = 0
port = pid = 0
log_path = ""


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)
    return cond


def note(text):
    print("test-h2-attack:", text, file=sys.stderr)


def rss_kib():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def log_text():
    with open(log_path, errors="replace") as f:
        return f.read()


# ---- frames ------------------------------------------------------------------

def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def window_update(stream, n):
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", n))


def headers(stream, block=b"", flags=END_HEADERS):
    return frame(HEADERS, flags, stream, block)


def data_frames(stream, raw, size=16384):
    return b"".join(frame(DATA, 0, stream, raw[i:i + size]) for i in range(0, len(raw), size))


def setup_bytes():
    """What a client sends first (docs/remote.md, "Set-up")."""
    return (PREFACE + settings((3, 100), (4, 16 << 20)) + window_update(0, (16 << 20) - 65535) +
            headers(1) + headers(3) + data_frames(1, wrap(ALWAYS_SET, 0, body({}))) +
            data_frames(1, wrap(ALWAYS_SET | SETUP, 0)) + data_frames(3, wrap(ALWAYS_SET | INIT_HANDSHAKE, 0)))


def request(msg_id, obj):
    return wrap(ALWAYS_SET | DATA_PRESENT | WANTING_REPLY, msg_id, body(obj))


# ---- peers -----------------------------------------------------------------------

def connect(source=None, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if source:
        s.bind((source, 0))
    s.settimeout(10)
    s.connect((HOST, port))
    return s


def send_some(s, data, seconds):
    """Sends @data without blocking for more than @seconds in all.
    Return: (bytes sent, "sent" | "stalled" | "closed")."""
    s.setblocking(False)
    off, deadline = 0, time.monotonic() + seconds
    try:
        while off < len(data):
            left = deadline - time.monotonic()
            if left <= 0:
                return off, "stalled"
            _, w, _ = select.select([], [s], [], min(left, 0.5))
            if w:
                try:
                    off += s.send(data[off:off + (1 << 20)])
                except BlockingIOError:
                    pass
    except (BrokenPipeError, ConnectionResetError):
        return off, "closed"
    finally:
        s.setblocking(True)
        s.settimeout(10)
    return off, "sent"


def closed_within(s, seconds):
    """True when the server closes the connection within @seconds (what it
    sent before is read and dropped)."""
    deadline = time.monotonic() + seconds
    s.settimeout(1)
    while time.monotonic() < deadline:
        try:
            if not s.recv(1 << 20):
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


class Good:
    """A well-behaved client: set-up, then requests answered on stream 3."""

    def __init__(self, source=None):
        self.s = connect(source)
        self.s.sendall(setup_bytes())
        self.raw, self.bufs, self.replies = b"", {1: b"", 3: b""}, {}
        self.next_id = 100

    def pump(self, until, seconds=30):
        deadline = time.monotonic() + seconds
        while not until() and time.monotonic() < deadline:
            try:
                chunk = self.s.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return False
            if not chunk:
                return until()
            self.raw += chunk
            while len(self.raw) >= 9:
                n = struct.unpack(">I", b"\0" + self.raw[:3])[0]
                if len(self.raw) < 9 + n:
                    break
                ftype, flags, stream = self.raw[3], self.raw[4], struct.unpack(">I", self.raw[5:9])[0] & 0x7FFFFFFF
                payload, self.raw = self.raw[9:9 + n], self.raw[9 + n:]
                if ftype == SETTINGS and not flags & 1:
                    self.s.sendall(frame(SETTINGS, 1, 0))
                elif ftype == DATA and stream in self.bufs:
                    self.bufs[stream] += payload
                    msgs, self.bufs[stream] = unwrap(self.bufs[stream])
                    for f, i, obj in msgs:
                        if stream == 3 and f & REPLY:
                            self.replies[i] = obj
                    if payload:  # return what was read, as nghttp2 would
                        self.s.sendall(window_update(0, len(payload)) + window_update(stream, len(payload)))
        return until()

    def echo(self, value, raw_request=None):
        self.next_id += 1
        i = self.next_id
        self.s.sendall(raw_request(i) if raw_request else data_frames(1, request(i, {"op": "echo", "value": value})))
        return self.replies.get(i) if self.pump(lambda: i in self.replies) else None

    def close(self):
        self.s.close()


def as_other(fn, what):
    """Runs fn() as another local user (daemon) in a child when this runs
    as root: the attacks' sessions hold root's share of the port (one
    local user's, by uid).  Return: fn()'s truth."""
    if os.getuid() != 0:
        return fn()
    child = os.fork()
    if child == 0:
        global failures
        failures, ok = 0, False  # the child's own
        try:
            os.setgroups([])
            os.setgid(1)
            os.setuid(1)
            ok = fn()
        except BaseException as e:
            print("FAIL:", what, repr(e), file=sys.stderr)
        os._exit(0 if ok and not failures else 1)
    _, status = os.waitpid(child, 0)
    return check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, what)


def served(what, source=None):
    def run():
        g = Good(source)
        r = g.echo(what)
        g.close()
        return check(isinstance(r, dict) and r.get("value") == what, "a well-behaved client is served " + what)
    return as_other(run, "a well-behaved client (daemon) is served " + what)


def memory_bound(before, limit_kib, what):
    after = rss_kib()
    limit_kib *= SANITIZER
    note("%s: xpc-remoted VmRSS %d KiB -> %d KiB (+%d KiB)" % (what, before, after, after - before))
    check(after - before < limit_kib, "%s: memory grew by %d KiB (bound %d KiB)" % (what, after - before, limit_kib))


# ---- attacks ----------------------------------------------------------------------

def flood(what, first, unit, count, expect_close, limit_kib=8 << 10, rcvbuf=4096, seconds=20):
    """One peer sends @first then @count copies of @unit without reading."""
    served("before " + what)
    before = rss_kib()
    s = connect(rcvbuf=rcvbuf)
    sent, how = send_some(s, first + unit * count, seconds)
    note("%s: %d of %d frames sent (%s)" % (what, max(0, sent - len(first)) // len(unit), count, how))
    check(how != "sent" or expect_close or closed_within(s, 10),
          what + ": xpc-remoted stops reading or ends the session")
    served("during " + what)
    if expect_close:
        check(how == "closed" or closed_within(s, 15), what + ": the session is closed")
    memory_bound(before, limit_kib, what)
    s.close()
    served("after " + what)


def attack_settings():
    # every SETTINGS wants an ACK; the peer reads none of them
    flood("130000 SETTINGS", PREFACE, settings((4, 65535)), 130000, True)


def attack_ping():
    # the answers do not leave, so xpc-remoted stops reading: the peer's
    # sends stall (or nghttp2 ends the session for flooding); either way
    # nothing grows and other sessions are served
    flood("410000 PINGs", setup_bytes(), frame(PING, 0, 0, b"12345678"), 410000, False, seconds=6)


def attack_window():
    # increments that never overflow: nothing grows, the session goes on
    served("before WINDOW_UPDATE flood")
    before = rss_kib()
    s = connect()
    sent, how = send_some(s, setup_bytes() + window_update(0, 1) * 250000 + window_update(1, 1) * 250000, 30)
    check(how == "sent", "500000 WINDOW_UPDATEs are all read (%s)" % how)
    served("during WINDOW_UPDATE flood")
    memory_bound(before, 4 << 10, "500000 WINDOW_UPDATEs")
    # one that overflows the window (2^31 - 1) is a FLOW_CONTROL_ERROR
    s.sendall(window_update(0, 0x7FFFFFFF))
    check(closed_within(s, 10), "a window beyond 2^31-1 ends the session")
    s.close()
    served("after WINDOW_UPDATE flood")


def attack_hpack():
    # one 4000-byte dynamic table entry referred to 12000 times: 48 MB of
    # header fields once expanded, in a 16 KB frame
    name, value = b"x-bomb", b"v" * 4000
    entry = b"\x40" + bytes([len(name)]) + name + b"\x7f\xa1\x1e" + value  # 4000 = 127 + 3873
    served("before HPACK bomb")
    before = rss_kib()
    s = connect()
    s.sendall(PREFACE + settings() + headers(1, entry + b"\xbe" * 12000))
    check(closed_within(s, 10), "HPACK bomb: the session is closed")
    memory_bound(before, 4 << 10, "HPACK bomb (48 MB expanded)")
    s.close()
    check("limit exceeded: header fields" in log_text(), "HPACK bomb: xpc-remoted's log says why")
    served("after HPACK bomb")


def attack_continuation():
    flood("100000 CONTINUATIONs", setup_bytes() + headers(1, b"", 0), frame(CONTINUATION, 0, 1, b""),
          100000, True, limit_kib=4 << 10)
    check("limit exceeded: header frames" in log_text(), "CONTINUATION flood: xpc-remoted's log says why")


def attack_streams():
    # concurrent streams beyond 1 and 3: the first ends the session
    s = connect()
    before = rss_kib()
    sent, how = send_some(s, setup_bytes() + b"".join(headers(i) for i in range(5, 2005, 2)), 10)
    check(how == "closed" or closed_within(s, 10), "1000 streams: the session is closed")
    memory_bound(before, 4 << 10, "1000 streams")
    s.close()
    check("protocol violation: a stream other than 1 and 3" in log_text(), "streams: xpc-remoted's log says why")
    served("after 1000 streams")


def attack_reset():
    # rapid reset (CVE-2023-44487): HEADERS + RST_STREAM in a loop, in one
    # session, then 300 sessions that reset stream 1 right after set-up
    served("before rapid reset")
    before = rss_kib()
    s = connect()
    unit = headers(5) + frame(RST_STREAM, 0, 5, struct.pack(">I", 8))
    sent, how = send_some(s, setup_bytes() + unit * 20000, 10)
    check(how == "closed" or closed_within(s, 10), "rapid reset: the session is closed")
    s.close()
    socks = []
    for i in range(300):
        t = connect()
        t.sendall(setup_bytes() + frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))
        socks.append(t)
        if len(socks) >= SHARE:
            check(closed_within(socks.pop(0), 10), "RST_STREAM on stream 1 ends the session")
    for t in socks:
        check(closed_within(t, 10), "RST_STREAM on stream 1 ends the session")
        t.close()
    served("during/after rapid reset")
    memory_bound(before, 8 << 10, "rapid reset (20000 + 300 sessions)")
    check("stream reset by peer" in log_text(), "rapid reset: xpc-remoted's log says why")
    ended = log_text().count("session ended")
    note("rapid reset: %d lines about ended sessions in the log for 301 sessions" % ended)
    check(ended <= 3 * 16, "301 ended sessions: the log holds %d lines (16 per 10 s)" % ended)


def attack_frames():
    served("before frame attacks")
    before = rss_kib()
    # a DATA frame announced at 16 MiB - 1 (beyond MAX_FRAME_SIZE 1 MiB)
    s = connect()
    s.sendall(setup_bytes() + struct.pack(">I", (16 << 20) - 1)[1:] + bytes([DATA, 0]) + struct.pack(">I", 1) +
              b"x" * 1000)
    check(closed_within(s, 10), "a DATA frame beyond MAX_FRAME_SIZE ends the session")
    s.close()
    time.sleep(0.2)
    check("protocol violation: " in log_text() and "session ended: session ended" not in log_text(),
          "an oversized frame: xpc-remoted's log has nghttp2's reason")
    note("log: " + " | ".join(l for l in log_text().splitlines() if "session ended" in l))
    # a 64 KiB request in 1-byte DATA frames: answered, nothing grows
    g = Good()
    value = bytes(range(256)) * 256
    r = g.echo(value, lambda i: data_frames(1, request(i, {"op": "echo", "value": value}), size=1))
    check(isinstance(r, dict) and r.get("value") == value, "a message in 65000 DATA frames of 1 byte is answered")
    g.close()
    # flags and ids out of range: an unknown frame type (ignored), DATA
    # with flags nobody defined, the stream id's reserved bit set, message
    # id 2^64-1: the session goes on and the request is answered
    g = Good()
    g.s.sendall(frame(0xEE, 0xFF, 1, b"junk") + frame(DATA, 0xF6, 1, b""))
    top = 0xFFFFFFFFFFFFFFFF
    raw = wrap(ALWAYS_SET | DATA_PRESENT | WANTING_REPLY, top, body({"op": "echo", "value": 3}))
    g.s.sendall(frame(DATA, 0, 0x80000001, raw))
    g.pump(lambda: top in g.replies)
    check((g.replies.get(top) or {}).get("value") == 3, "reserved bit, odd flags, id 2^64-1: answered")
    g.close()
    for what, raw in [("DATA on stream 0", frame(DATA, 0, 0, b"x")),
                      ("HEADERS on stream 0x7fffffff", headers(0x7FFFFFFF)),
                      ("WINDOW_UPDATE of 0", window_update(0, 0)),
                      ("reply flag from the client", data_frames(1, wrap(ALWAYS_SET | DATA_PRESENT | REPLY, 1,
                                                                         body({}))))]:
        s = connect()
        s.sendall(setup_bytes() + raw)
        if what.startswith("reply"):
            # a REPLY sent to the server is no request: dropped, session up
            check(not closed_within(s, 1), what + ": taken without ending the session")
        else:
            check(closed_within(s, 10), what + ": the session is closed")
        s.close()
    memory_bound(before, 8 << 10, "frame attacks")
    served("after frame attacks")


def attack_body():
    served("before body attacks")
    before = rss_kib()
    g = Good()
    # nesting beyond the decoder's 64 levels: an error-shaped reply
    nested = {"op": "echo"}
    for _ in range(200):
        nested = {"n": nested}
    r = g.echo(None, lambda i: data_frames(1, request(i, nested)))
    check(isinstance(r, dict) and "bad request" in r.get("XPCErrorDescription", ""),
          "200 nested dictionaries: an error-shaped reply (%r)" % (r and r.get("XPCErrorDescription")))
    # an enormous dictionary: 100 000 keys (about 1.7 MB): answered
    big = {"op": "echo", "value": 9}
    for k in range(100000):
        big["k%d" % k] = k
    r = g.echo(None, lambda i: data_frames(1, request(i, big)))
    check(isinstance(r, dict) and r.get("value") == 9, "100 000 keys: answered")
    # a dictionary whose count claims 2^32-1 entries in 16 bytes
    raw = struct.pack("<II", th.OBJECT_MAGIC, 5) + struct.pack("<III", 0xF000, 8, 0xFFFFFFFF) + b"\0" * 4
    r = g.echo(None, lambda i: data_frames(1, wrap(ALWAYS_SET | DATA_PRESENT | WANTING_REPLY, i, raw)))
    check(isinstance(r, dict) and "bad request" in r.get("XPCErrorDescription", ""), "a lying count: error reply")
    g.close()
    memory_bound(before, 32 << 10, "body attacks")
    served("after body attacks")


def attack_bodies():
    """Partial bodies: sessions that announce 16 MiB messages on both
    streams and send 15 MiB of each.  xpc-remoted holds at most its budget
    of incoming bytes for all sessions (128 MiB, message.c), not 2 x 16
    MiB for each; messages of up to 64 KiB are still read."""
    served("before partial bodies")
    before = rss_kib()
    chunk = 15 << 20
    socks = []
    for i in range(SHARE):
        s = connect()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        raw = setup_bytes()
        for stream in (1, 3):
            hdr = struct.pack("<IIQQ", th.WRAPPER_MAGIC, ALWAYS_SET | DATA_PRESENT | WANTING_REPLY, 16 << 20, 1)
            raw += data_frames(stream, hdr + b"\0" * chunk)
        _, how = send_some(s, raw, 8)
        socks.append((s, how))
    peak = rss_kib()
    note("partial bodies: %d sessions x 2 streams x 15 MiB: VmRSS %d KiB -> %d KiB, log: %s" %
         (SHARE, before, peak, [h for _, h in socks]))
    check(peak - before < (144 << 10) * SANITIZER, "partial bodies of %d sessions: held %d KiB (bound %d MiB)" %
          (SHARE, peak - before, 144 * SANITIZER))
    served("during partial bodies")

    def small():
        g = Good()
        r = g.echo(b"m" * 60000)
        g.close()
        return check(isinstance(r, dict) and r.get("value") == b"m" * 60000,
                     "a 60 KB message is read while the budget is held")
    as_other(small, "a 60 KB message is read while the budget is held")
    for s, _ in socks:
        s.close()
    check("limit exceeded: memory for incoming messages" in log_text(), "partial bodies: xpc-remoted's log says why")
    served("after partial bodies")
    time.sleep(0.5)  # the attackers' sessions end
    g = Good()
    r = g.echo(b"M" * (4 << 20))
    check(isinstance(r, dict) and r.get("value") == b"M" * (4 << 20), "a 4 MiB message is read afterwards")
    g.close()


def attack_replies():
    """Sessions that send requests for large replies and read nothing:
    the replies queue in xpc-remoted; all sessions together may queue at
    most its output budget (session-out.c), not 64 MiB each."""
    served("before unread replies")
    before = rss_kib()
    value = b"r" * (1 << 20)
    socks = []
    raw = setup_bytes() + b"".join(data_frames(1, request(i, {"op": "echo", "value": value})) for i in range(1, 25))
    for k in range(SHARE):
        s = connect(rcvbuf=4096)
        _, how = send_some(s, raw, 1)
        socks.append((s, how))
    time.sleep(2)  # the replies come back from the service
    peak = rss_kib()
    note("unread replies: %d sessions x 24 MiB asked: VmRSS %d KiB -> %d KiB, %s" %
         (SHARE, before, peak, [h for _, h in socks]))
    check(peak - before < (200 << 10) * SANITIZER, "unread replies: held %d KiB (bound %d MiB)" %
          (peak - before, 200 * SANITIZER))
    served("during unread replies")
    for s, _ in socks:
        s.close()
    served("after unread replies")


def attack_pending():
    """1100 requests the service never answers ("hang") in one session:
    the first 1024 wait, the rest get an error-shaped reply at once
    (REMOTE_MAX_PENDING_SERVED); the session and other clients go on."""
    served("before 1100 pending requests")
    before = rss_kib()
    g = Good()
    g.s.sendall(b"".join(data_frames(1, request(i, {"op": "hang"})) for i in range(1, 1101)))
    ok = g.pump(lambda: len(g.replies) >= 76, 20)
    limited = [i for i, r in g.replies.items() if "limit exceeded: pending requests" in
               (r or {}).get("XPCErrorDescription", "")]
    note("1100 pending requests: %d answered at once with the limit (ids %s..%s)" %
         (len(limited), min(limited or [0]), max(limited or [0])))
    check(ok and len(limited) == 76 and min(limited) == 1025, "requests beyond 1024 pending: error replies")
    served("during 1100 pending requests")
    r = g.echo(None, lambda i: data_frames(1, request(i, {"op": "echo", "value": 8})))
    check(isinstance(r, dict) and "limit exceeded" in r.get("XPCErrorDescription", ""),
          "the session goes on: the next request is refused while 1024 wait")
    memory_bound(before, 16 << 10, "1100 pending requests")
    g.close()
    served("after 1100 pending requests")


def attack_silent():
    """70 silent connections of one local user from 8 addresses (127.0.0.2
    to .9) and one that sends its preface a byte a second (slowloris): the
    user gets its share, whatever the source address, the rest are closed
    at once, another user's client is served while they hang, and all of
    them are closed after the 10 s set-up time."""
    served("before silent connections")
    before = rss_kib()
    slow = connect()
    t0 = time.monotonic()
    socks = [connect("127.0.0.%d" % (2 + i % 8)) for i in range(70)]
    gone, deadline = set(), time.monotonic() + 6  # "at once": well before the 10 s set-up time
    while len(gone) < 70 - SHARE and time.monotonic() < deadline:
        time.sleep(0.2)
        for k, s in enumerate(socks):
            if k in gone:
                continue
            s.setblocking(False)
            try:
                if s.recv(65536) == b"":
                    gone.add(k)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                gone.add(k)
            s.setblocking(True)
    at_once = len(gone)
    note("70 silent connections of one user from 8 addresses: %d closed at once" % at_once)
    check(at_once >= 70 - SHARE, "one local user holds at most %d sessions (%d closed at once)" % (SHARE, at_once))
    served("while 70 connections hang")
    slow_closed, i = None, 0
    while time.monotonic() - t0 < 25 and slow_closed is None:
        try:
            slow.send(PREFACE[i % len(PREFACE):i % len(PREFACE) + 1])
            i += 1
        except (BrokenPipeError, ConnectionResetError):
            slow_closed = time.monotonic() - t0
            break
        r, _, _ = select.select([slow], [], [], 1)
        if r:
            try:
                if slow.recv(65536) == b"":
                    slow_closed = time.monotonic() - t0
            except ConnectionResetError:
                slow_closed = time.monotonic() - t0
    note("slowloris (1 byte/s): closed after %s s" % (slow_closed and round(slow_closed, 1)))
    check(slow_closed is not None and 9 < slow_closed < 20, "slowloris closed by the 10 s set-up time")
    check(all(closed_within(s, 10) for s in socks), "all silent connections closed after the set-up time")
    for s in socks + [slow]:
        s.close()
    memory_bound(before, 8 << 10, "71 silent connections")
    check("set-up timed out" in log_text(), "silent: xpc-remoted's log says why")
    check("sessions from one local user" in log_text(), "silent: xpc-remoted's log names the share")
    served("after silent connections")


IDLE = 4  # xpc-remoted's idle timeout in the "idle" attack (test-remote sets XPC_REMOTE_IDLE_TIMEOUT)


def still_open(s):
    """True when the server has not closed @s (what it sent is dropped)."""
    s.setblocking(False)
    try:
        while True:
            if s.recv(1 << 20) == b"":
                return False
    except BlockingIOError:
        return True
    except (ConnectionResetError, BrokenPipeError):
        return False
    finally:
        s.setblocking(True)


def attack_idle():
    """Eight sessions of this local user complete the set-up and go silent,
    one of them after a request the service never answers ("hang"): they
    hold the user's whole share, a ninth connection is closed at once.
    After the idle timeout (IDLE s) the seven idle sessions are closed, the
    one whose request is pending is not, and the same user is served."""
    before = rss_kib()
    socks = [connect() for _ in range(SHARE)]
    for s in socks:
        s.sendall(setup_bytes())
    socks[0].sendall(data_frames(1, request(7, {"op": "hang"})))
    time.sleep(0.5)  # all eight are sessions before the ninth comes
    t0 = time.monotonic()
    ninth = connect()
    refused = closed_within(ninth, 2)
    ninth.close()
    note("8 silent sessions: a ninth connection of the same user %s" % ("refused" if refused else "admitted"))
    check(refused and time.monotonic() - t0 < IDLE, "8 silent sessions hold the user's share")
    deadline = t0 + IDLE + 15
    idle_closed = [closed_within(s, max(0.1, deadline - time.monotonic())) for s in socks[1:]]
    took = time.monotonic() - t0
    note("%d of 7 idle sessions closed after %.1f s (idle timeout %d s)" % (sum(idle_closed), took, IDLE))
    check(all(idle_closed), "idle sessions closed after the idle timeout")
    check(still_open(socks[0]), "a session whose request is pending is not idle")
    g = Good()
    r = g.echo("after idle")
    g.close()
    check(isinstance(r, dict) and r.get("value") == "after idle", "the same user is served after the idle timeout")
    check(still_open(socks[0]), "the pending session is still open")
    for s in socks:
        s.close()
    memory_bound(before, 8 << 10, "8 idle sessions")
    check("idle timed out" in log_text(), "idle: xpc-remoted's log says why")
    served("after idle sessions")


def attack_identity():
    """Run as another local user (test-remote runs it as daemon): the
    service sees xpc-remoted's account (nobody), never this user's uid, and
    the TCP peer's address as accepted, whatever the message claims; a
    session reaches only the name its port serves, whatever it names."""
    import pwd
    nobody, me = pwd.getpwnam("nobody").pw_uid, os.getuid()
    note("client uid %d, xpc-remoted's account nobody (%d)" % (me, nobody))
    for source in ("127.0.0.1", "127.0.0.2", "127.0.0.77"):
        g = Good(source)
        forged = {"op": "echo", "value": 1, "XPCRemotePeerAddress": "203.0.113.9:1", "euid": 0}
        r = g.echo(None, lambda i: data_frames(1, request(i, forged)))
        check(isinstance(r, dict) and r.get("euid") == nobody and r.get("euid") != me,
              "from %s: the service sees nobody's uid (%r)" % (source, r and r.get("euid")))
        check(isinstance(r, dict) and str(r.get("remote", "")).startswith(source + ":"),
              "from %s: XPCRemotePeerAddress is the accepted address (%r)" % (source, r and r.get("remote")))
        # a second copy of the key in the same dictionary: still replaced
        raw = body({"op": "echo", "value": 2, "XPCRemotePeerAddress": "198.51.100.1:2"})
        r = g.echo(None, lambda i: data_frames(1, wrap(ALWAYS_SET | DATA_PRESENT | WANTING_REPLY, i, raw)))
        check(isinstance(r, dict) and str(r.get("remote", "")).startswith(source + ":"), "key replaced again")
        # names of other services in the message change nothing: the port
        # serves one name (the secret job is never started)
        r = g.echo(None, lambda i: data_frames(1, request(i, {"op": "echo", "value": 3, "service": SECRET,
                                                            "MachService": SECRET, "name": SECRET})))
        check(isinstance(r, dict) and r.get("value") == 3, "a message naming another service reaches this one")
        g.close()
    check(("%s: started" % "secret") not in open(os.path.join(os.path.dirname(log_path), "xpcd.log")).read(),
          "the job that is not exported was never started")


ATTACKS = {
    "settings": attack_settings, "ping": attack_ping, "window": attack_window, "hpack": attack_hpack,
    "continuation": attack_continuation, "streams": attack_streams, "reset": attack_reset,
    "frames": attack_frames, "body": attack_body, "bodies": attack_bodies, "silent": attack_silent,
    "identity": attack_identity, "replies": attack_replies, "pending": attack_pending,
    "idle": attack_idle,
}


def main():
    global port, pid, log_path
    attack, port, pid, log_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    ATTACKS[attack]()
    note("%s: %d failure(s)" % (attack, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
