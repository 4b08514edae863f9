#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# test-h2.py - the serving side of RemoteXPC (xpc-remoted) driven by an
# independent HTTP/2 implementation: python3-h2 (hyper-h2) for HTTP/2 and
# hyperframe to look at raw frames, with the message wrapper and Apple's
# object encoding written here from docs/remote.md and docs/wire.md.
#
#   test-h2.py DISCOVERY_PORT SERVICE_PORT SERVICE_NAME
#
# Checks: the server's SETTINGS is its first frame, before it read
# anything; the set-up messages are answered in kind; the discovery
# handshake's contents; a request and its reply matched by id; a large
# request in one DATA frame and its reply in DATA frames of at most 16 KiB;
# garbage (bad wrapper magic, unknown flags, a stream other than 1 and 3,
# bytes that are not HTTP/2) ends the session; a body that does not decode
# gets an error-shaped reply.  Only 127.0.0.1.  Exit status 0 on success.
import socket
import struct
import sys
import uuid

import h2.config
import h2.connection
import h2.events
import h2.settings
from hyperframe.frame import Frame

HOST = "127.0.0.1"
WRAPPER_MAGIC = 0x29B00B92
OBJECT_MAGIC = 0x42133742
ALWAYS_SET, DATA_PRESENT, SETUP = 0x1, 0x100, 0x200
WANTING_REPLY, REPLY, INIT_HANDSHAKE = 0x10000, 0x20000, 0x400000
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


# ---- Apple's object encoding (the subset these tests use) ------------------

def pad(b):
    return b + b"\0" * (-len(b) % 4)


def enc(v):
    if isinstance(v, bool):
        return struct.pack("<II", 0x2000, int(v))
    if isinstance(v, int):
        return struct.pack("<Iq", 0x3000, v)
    if isinstance(v, str):
        b = v.encode() + b"\0"
        return struct.pack("<II", 0x9000, len(b)) + pad(b)
    if isinstance(v, bytes):
        return struct.pack("<II", 0x8000, len(v)) + pad(v)
    if isinstance(v, uuid.UUID):
        return struct.pack("<I", 0xA000) + v.bytes
    if isinstance(v, dict):
        body = struct.pack("<I", len(v)) + b"".join(pad(k.encode() + b"\0") + enc(x) for k, x in v.items())
        return struct.pack("<II", 0xF000, len(body)) + body
    raise TypeError(v)


def dec(b, o):
    (tag,) = struct.unpack_from("<I", b, o)
    o += 4
    if tag == 0x2000:
        return bool(struct.unpack_from("<I", b, o)[0]), o + 4
    if tag in (0x3000, 0x4000):
        return struct.unpack_from("<q" if tag == 0x3000 else "<Q", b, o)[0], o + 8
    if tag in (0x8000, 0x9000):
        (n,) = struct.unpack_from("<I", b, o)
        v = b[o + 4:o + 4 + n]
        return (v[:-1].decode() if tag == 0x9000 else v), o + 4 + n + (-n % 4)
    if tag == 0xA000:
        return uuid.UUID(bytes=bytes(b[o:o + 16])), o + 16
    if tag == 0xF000:
        (n, count) = struct.unpack_from("<II", b, o)
        o += 8
        d = {}
        for _ in range(count):
            end = b.index(b"\0", o)
            k = b[o:end].decode()
            o = end + 1 + (-(end + 1 - o) % 4)
            d[k], o = dec(b, o)
        return d, o
    raise ValueError("tag %#x" % tag)


def body(obj):
    return struct.pack("<II", OBJECT_MAGIC, 5) + enc(obj)


def wrap(flags, msg_id, payload=b""):
    return struct.pack("<IIQQ", WRAPPER_MAGIC, flags, len(payload), msg_id) + payload


def unwrap(buf):
    """Complete messages at the start of buf: [(flags, id, obj)], rest."""
    out = []
    while len(buf) >= 24:
        magic, flags, n, msg_id = struct.unpack_from("<IIQQ", buf, 0)
        if magic != WRAPPER_MAGIC:
            raise ValueError("bad magic from the server")
        if len(buf) < 24 + n:
            break
        obj = None
        if n:
            m, ver = struct.unpack_from("<II", buf, 24)
            assert m == OBJECT_MAGIC and ver == 5
            obj, _ = dec(buf[:24 + n], 32)
        out.append((flags, msg_id, obj))
        buf = buf[24 + n:]
    return out, buf


# ---- a client session ------------------------------------------------------

class Client:
    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.sock.settimeout(10)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                        validate_outbound_headers=False, validate_inbound_headers=False,
                                        normalize_outbound_headers=False, normalize_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=cfg)
        # h2 cannot send a zero-length header block: an empty header list is
        # sent as one HPACK dynamic-table-size update to 0 (no fields)
        self.conn.encoder.encode = lambda headers, huffman=True: b"\x20"
        self.bufs = {1: b"", 3: b""}
        self.messages = []   # (stream, flags, id, obj)
        self.data_frames = []  # (stream, length) of every DATA frame, in order
        self.raw = b""
        self.closed = False

    def first_frame_before_sending(self):
        hdr = b""
        while len(hdr) < 9:
            chunk = self.sock.recv(9 - len(hdr))
            if not chunk:
                return None
            hdr += chunk
        frame, length = Frame.parse_frame_header(memoryview(hdr))
        rest = b""
        while len(rest) < length:
            rest += self.sock.recv(length - len(rest))
        frame.parse_body(memoryview(rest))
        self.pending_server_bytes = hdr + rest
        return frame

    def setup(self):
        self.conn.local_settings = h2.settings.Settings(client=True, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16 << 20})
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(16711681)
        self.conn.send_headers(1, [])
        self.conn.send_data(1, wrap(ALWAYS_SET, 0, body({})))
        self.conn.send_headers(3, [])
        self.conn.send_data(1, wrap(ALWAYS_SET | SETUP, 0))
        self.conn.send_data(3, wrap(ALWAYS_SET | INIT_HANDSHAKE, 0))
        self.flush()
        if getattr(self, "pending_server_bytes", None):
            self.feed(self.pending_server_bytes)

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def feed(self, data):
        self.raw += data
        # raw frames, to see the sizes and order of DATA frames
        while len(self.raw) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(self.raw[:9]))
            if len(self.raw) < 9 + length:
                break
            if frame.type == 0x0:
                self.data_frames.append((frame.stream_id, length))
            self.raw = self.raw[9 + length:]
        for ev in self.conn.receive_data(data):
            if isinstance(ev, h2.events.DataReceived):
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                self.bufs[ev.stream_id] += ev.data
                msgs, self.bufs[ev.stream_id] = unwrap(self.bufs[ev.stream_id])
                self.messages += [(ev.stream_id,) + m for m in msgs]
            elif isinstance(ev, (h2.events.ConnectionTerminated, h2.events.StreamReset)):
                self.closed = True
        self.flush()

    def pump_until(self, pred):
        while not pred():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            if not data:
                self.closed = True
                return pred()
            self.feed(data)
        return True

    def send(self, stream, raw):
        self.conn.send_data(stream, raw)
        self.flush()

    def wait_closed(self):
        """True when the server closes the TCP connection within 10 s."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except (socket.timeout, ConnectionResetError):
            return not isinstance(sys.exc_info()[1], socket.timeout)


def find(msgs, stream, flags):
    return [m for m in msgs if m[0] == stream and m[1] == flags]


def test_discovery(disc_port, svc_port, name):
    c = Client(disc_port)
    frame = c.first_frame_before_sending()
    check(frame is not None and frame.type == 0x4 and "ACK" not in frame.flags,
          "server's first frame is its SETTINGS, sent before it read")
    settings = getattr(frame, "settings", {})
    check(settings.get(0x3) == 100 and settings.get(0x4) == 16 << 20,
          "server SETTINGS: MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 16 MiB")
    c.setup()
    ok = c.pump_until(lambda: find(c.messages, 1, ALWAYS_SET | DATA_PRESENT))
    check(ok, "handshake arrives on stream 1 with flags 0x101")
    check(find(c.messages, 1, ALWAYS_SET) and find(c.messages, 1, ALWAYS_SET) [0][3] == {}, "{} answered in kind")
    check(find(c.messages, 1, ALWAYS_SET | SETUP), "0x201 answered in kind")
    check(find(c.messages, 3, ALWAYS_SET | INIT_HANDSHAKE), "INIT_HANDSHAKE answered in kind on stream 3")
    hs = find(c.messages, 1, ALWAYS_SET | DATA_PRESENT)[0][3] if ok else {}
    check(hs.get("MessageType") == "Handshake", "MessageType")
    check(hs.get("MessagingProtocolVersion") == 7, "MessagingProtocolVersion")
    check(isinstance(hs.get("UUID"), uuid.UUID), "UUID")
    props = hs.get("Properties", {})
    check(isinstance(props.get("UniqueDeviceID"), str) and isinstance(props.get("ProductType"), str),
          "Properties: UniqueDeviceID, ProductType")
    svc = hs.get("Services", {}).get(name, {})
    check(svc.get("Port") == str(svc_port), "Services: Port as a decimal string")
    # a client's own handshake (with a uuid) is read and needs no answer
    c.send(1, wrap(ALWAYS_SET | DATA_PRESENT, 1, body({"MessageType": "Handshake", "UUID": uuid.uuid4(),
                                                      "Properties": {"RemoteXPCVersionFlags": 1}})))
    n = len(c.messages)
    c.sock.settimeout(0.3)
    c.pump_until(lambda: False)
    check(not c.closed and len(c.messages) == n, "a client handshake is taken silently")
    c.sock.close()


def test_service(svc_port):
    c = Client(svc_port)
    c.setup()
    c.send(1, wrap(ALWAYS_SET | DATA_PRESENT | WANTING_REPLY, 5, body({"op": "echo", "value": 77})))
    check(c.pump_until(lambda: find(c.messages, 3, ALWAYS_SET | DATA_PRESENT | REPLY)), "a reply on stream 3")
    r = find(c.messages, 3, ALWAYS_SET | DATA_PRESENT | REPLY)
    check(r and r[0][2] == 5 and r[0][3].get("value") == 77, "the reply carries the request's id and value")
    # a large request in one DATA frame (the server allows 1 MiB frames);
    # the reply comes back in frames of at most 16 KiB, none interleaved
    big = bytes(range(256)) * 800
    c.conn.max_outbound_frame_size = 1 << 20
    before = len(c.data_frames)
    c.send(1, wrap(ALWAYS_SET | DATA_PRESENT | WANTING_REPLY, 6, body({"op": "echo", "value": big})))
    check(c.pump_until(lambda: len(find(c.messages, 3, ALWAYS_SET | DATA_PRESENT | REPLY)) == 2), "large reply")
    r = find(c.messages, 3, ALWAYS_SET | DATA_PRESENT | REPLY)
    check(len(r) == 2 and r[1][2] == 6 and r[1][3].get("value") == big, "large value echoed")
    frames = c.data_frames[before:]
    check(all(n <= 16384 for _, n in frames), "DATA frames of at most 16 KiB")
    check(len(frames) > 10 and all(s == 3 for s, _ in frames), "the reply's frames all on stream 3")
    # a body that does not decode: an error-shaped reply, the session goes on
    bad = struct.pack("<II", OBJECT_MAGIC, 5) + struct.pack("<II", 0xEE00, 0)
    c.send(1, wrap(ALWAYS_SET | DATA_PRESENT | WANTING_REPLY, 7, bad))
    check(c.pump_until(lambda: len(find(c.messages, 3, ALWAYS_SET | DATA_PRESENT | REPLY)) == 3), "error reply")
    r = find(c.messages, 3, ALWAYS_SET | DATA_PRESENT | REPLY)
    check(len(r) == 3 and r[2][2] == 7 and "bad request" in r[2][3].get("XPCErrorDescription", ""),
          "undecodable body answered with an error")
    c.sock.close()


def garbage(svc_port, what, action):
    c = Client(svc_port)
    c.setup()
    action(c)
    check(c.wait_closed(), "garbage ends the session: " + what)


def test_garbage(svc_port):
    garbage(svc_port, "bad wrapper magic",
            lambda c: c.send(1, b"\x00" * 4 + wrap(ALWAYS_SET, 1)[4:]))
    garbage(svc_port, "unknown flag",
            lambda c: c.send(1, wrap(ALWAYS_SET | 0x100000, 1)))
    garbage(svc_port, "wrapper length beyond the limit",
            lambda c: c.send(1, struct.pack("<IIQQ", WRAPPER_MAGIC, ALWAYS_SET | DATA_PRESENT, 1 << 40, 1)))

    def stream5(c):
        c.conn.send_headers(5, [])
        c.flush()
    garbage(svc_port, "a stream other than 1 and 3", stream5)
    # bytes that are not HTTP/2 at all
    s = socket.create_connection((HOST, svc_port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\xff" * 100)
    closed = False
    try:
        while s.recv(65536):
            pass
        closed = True
    except (socket.timeout, ConnectionResetError) as e:
        closed = not isinstance(e, socket.timeout)
    check(closed, "garbage ends the session: not HTTP/2")
    s.close()


def main():
    disc_port, svc_port, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    test_discovery(disc_port, svc_port, name)
    test_service(svc_port)
    test_garbage(svc_port)
    # still serving after all that
    test_service(svc_port)
    print("test-h2: %d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
