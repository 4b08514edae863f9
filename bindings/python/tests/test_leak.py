# SPDX-License-Identifier: MIT
"""No leak over many messages: after a warm-up, N more requests (sync,
one-way, callbacks, asyncio; each with 1 KiB of data, so a leaked message
shows in RSS) leave RSS, Python's object count and the descriptors where
they were.  N is PYXPC_LEAK_MESSAGES (20 000 in `make check`; `make stress`
runs 1 000 000).  Also: connections made and cancelled by the hundred."""
import asyncio
import gc
import os
import threading

import pytest

import xpc
from conftest import open_fds, rss_kib, wait_until, SANITIZED

N = int(os.environ.get("PYXPC_LEAK_MESSAGES", "20000"))
PAYLOAD = b"p" * 1024
RSS_SLACK_KIB = 12 * 1024


def echo(msg):
    return {"data": msg["data"], "i": msg["i"]}


def run_messages(conn, n):
    done = threading.Event()
    left = [n // 4]

    def cb(reply):
        assert reply["data"] == PAYLOAD
        left[0] -= 1
        if left[0] == 0:
            done.set()

    async def batch(k):
        rs = await asyncio.gather(*[conn.request_async({"i": i, "data": PAYLOAD}) for i in range(k)])
        assert len(rs) == k

    for i in range(n // 4):
        assert conn.request({"i": i, "data": PAYLOAD})["i"] == i
        conn.send({"i": i, "data": PAYLOAD})
    for i in range(n // 4):
        conn.send_with_reply({"i": i, "data": PAYLOAD}, cb)
        if i % 256 == 255:  # bounded in flight
            wait_until(lambda: left[0] <= n // 4 - i + 64, 30, 0.001)
    assert done.wait(60)
    loop = asyncio.new_event_loop()
    for _ in range(max(1, n // 4 // 500)):
        loop.run_until_complete(batch(500))
    loop.close()
    conn.request({"i": -1, "data": PAYLOAD})  # the one-way ones were handled


@pytest.mark.skipif(SANITIZED, reason="ASan's allocator holds freed memory (quarantine)")
def test_many_messages_bounded():
    with xpc.Listener(echo) as listener:
        with xpc.Connection(endpoint=listener.endpoint) as conn:
            run_messages(conn, 4000)
            gc.collect()
            rss0, objs0, fds0 = rss_kib(), len(gc.get_objects()), open_fds()
            run_messages(conn, N)
            gc.collect()
            rss1, objs1 = rss_kib(), len(gc.get_objects())
    print("%d messages: RSS %d -> %d KiB, objects %d -> %d" % (N, rss0, rss1, objs0, objs1))
    assert rss1 - rss0 < RSS_SLACK_KIB
    assert objs1 - objs0 < 500
    assert wait_until(lambda: open_fds() <= fds0, 5)


def test_many_connections(no_fd_leak):
    with xpc.Listener(echo) as listener:
        ep = listener.endpoint
        for i in range(300):
            with xpc.Connection(endpoint=ep, on_error=lambda e: None) as c:
                assert c.request({"i": i, "data": b""})["i"] == i
        gc.collect()
        objs0 = len(gc.get_objects())
        for i in range(300):
            c = xpc.Connection(endpoint=ep, on_message=print)
            c.request({"i": i, "data": b""})
            c.cancel()
            del c
        assert wait_until(lambda: (gc.collect(), len(gc.get_objects()) - objs0 < 100)[1], 10)
