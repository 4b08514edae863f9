# SPDX-License-Identifier: MIT
"""Connections and listeners inside one process: an anonymous listener and
a connection made from its endpoint (a real socket pair, libxpc's threads
calling the handlers).  Every test checks that it leaves no descriptor."""
import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest

import xpc
from conftest import wait_until

pytestmark = pytest.mark.usefixtures("no_fd_leak")


def echo(msg):
    return {"value": msg.get("value"), "pid": os.getpid()}


class Pair:
    def __init__(self):
        self.listener = xpc.Listener(echo)
        self.conn = xpc.Connection(endpoint=self.listener.endpoint)


@pytest.fixture
def pair():
    """A listener and a connection to it; dropped at the end (pytest keeps
    fixture values until after every teardown, so the holder is emptied)."""
    p = Pair()
    yield p
    p.conn.cancel()
    p.listener.cancel()
    p.conn = p.listener = None


def test_request(pair):
    conn = pair.conn
    assert conn.request({"value": [1, "two"]}) == {"value": [1, "two"], "pid": os.getpid()}
    assert conn.pid == os.getpid() and conn.euid == os.geteuid()
    assert conn.invalidation_reason is None


def test_send_with_reply(pair):
    conn = pair.conn
    got, done = [], threading.Event()

    def cb(reply):
        got.append((reply, threading.get_ident()))
        done.set()

    conn.send_with_reply({"value": 7}, cb)
    assert done.wait(10)
    assert got[0][0]["value"] == 7
    assert got[0][1] != threading.get_ident()  # on a libxpc thread


def test_request_async(pair):
    conn = pair.conn

    async def many():
        return await asyncio.gather(*[conn.request_async({"value": i}) for i in range(200)])

    replies = asyncio.run(many())
    assert [r["value"] for r in replies] == list(range(200))


def test_request_async_error():
    listener = xpc.Listener(echo)
    conn = xpc.Connection(endpoint=listener.endpoint)
    conn.cancel()

    async def one():
        return await conn.request_async({"value": 1})

    with pytest.raises(xpc.ConnectionInvalid) as e:
        asyncio.run(one())
    assert e.value.reason == "cancelled"
    listener.cancel()


def test_request_async_needs_a_loop(pair):
    with pytest.raises(RuntimeError):
        pair.conn.request_async({})


def test_one_way_and_server_messages():
    got, done = [], threading.Event()

    def server(msg):
        got.append(dict(msg))
        if len(got) == 100:
            done.set()

    listener = xpc.Listener(server)
    conn = xpc.Connection(endpoint=listener.endpoint)
    for i in range(100):
        conn.send({"i": i})
    assert done.wait(10)
    assert [m["i"] for m in got] == list(range(100))  # in order
    conn.cancel()
    listener.cancel()


def test_reply_from_message_and_peer_messages():
    """msg.reply() answers; msg.connection sends back to the client, whose
    on_message gets it."""
    def server(msg):
        msg.connection.send({"note": "first"})
        msg.reply({"answer": 42})

    notes, noted = [], threading.Event()
    listener = xpc.Listener(server)
    conn = xpc.Connection(endpoint=listener.endpoint,
                          on_message=lambda m: (notes.append(m), noted.set()))
    assert conn.request({"q": 1}) == {"answer": 42}
    assert noted.wait(10)
    assert isinstance(notes[0], xpc.Message) and notes[0] == {"note": "first"}
    conn.cancel()
    listener.cancel()


def test_reply_twice_raises():
    errors = []

    def server(msg):
        msg.reply({"a": 1})
        try:
            msg.reply({"a": 2})
        except xpc.Error as e:
            errors.append(e)

    listener = xpc.Listener(server)
    conn = xpc.Connection(endpoint=listener.endpoint)
    assert conn.request({}) == {"a": 1}
    assert wait_until(lambda: errors)
    conn.cancel()
    listener.cancel()


def test_on_peer_mode():
    peers = []

    def on_peer(peer):
        peers.append(peer)
        peer.set_event_handler(lambda m: {"seen": m["x"], "peer_pid": peer.pid})
        peer.resume()

    listener = xpc.Listener(on_peer=on_peer)
    conn = xpc.Connection(endpoint=listener.endpoint)
    assert conn.request({"x": 3}) == {"seen": 3, "peer_pid": os.getpid()}
    assert len(peers) == 1 and isinstance(peers[0], xpc.Connection)
    conn.cancel()
    assert wait_until(lambda: peers[0].invalidation_reason is not None)
    listener.cancel()


def test_peer_not_taken_is_cancelled():
    listener = xpc.Listener(on_peer=lambda peer: None)  # dropped: cancelled
    conn = xpc.Connection(endpoint=listener.endpoint)
    with pytest.raises(xpc.ConnectionInvalid):
        conn.request({})
    listener.cancel()


def test_errors_reach_on_error():
    errors, done = [], threading.Event()
    listener = xpc.Listener(echo)
    conn = xpc.Connection(endpoint=listener.endpoint,
                          on_error=lambda e: (errors.append(e), done.set()))
    conn.request({})
    conn.cancel()
    assert done.wait(10)
    assert isinstance(errors[0], xpc.ConnectionInvalid)
    assert errors[0].reason == "cancelled"
    assert errors[0].description == "Connection invalid"
    assert conn.invalidation_reason == "cancelled"
    listener.cancel()


def test_listener_gone():
    listener = xpc.Listener(echo)
    ep = listener.endpoint
    listener.cancel()
    del listener
    conn = xpc.Connection(endpoint=ep)
    with pytest.raises(xpc.ConnectionInvalid) as e:
        conn.request({})
    assert e.value.reason


def test_request_inside_own_handler_refused():
    seen = []

    def server(msg):
        try:
            msg.connection.request({})
        except RuntimeError as e:
            seen.append(e)
        return {}

    listener = xpc.Listener(server)
    conn = xpc.Connection(endpoint=listener.endpoint)
    conn.request({})
    assert seen and "deadlock" in str(seen[0])
    conn.cancel()
    listener.cancel()


def test_handler_exception_is_reported():
    def server(msg):
        raise ValueError("boom")

    hooked = []
    old = sys.unraisablehook
    sys.unraisablehook = hooked.append
    try:
        listener = xpc.Listener(server)
        conn = xpc.Connection(endpoint=listener.endpoint)
        conn.send({})
        assert wait_until(lambda: hooked)
        assert isinstance(hooked[0].exc_value, ValueError)
        conn.cancel()
        listener.cancel()
    finally:
        sys.unraisablehook = old


def test_bad_reply_value_is_reported():
    hooked = []
    old = sys.unraisablehook
    sys.unraisablehook = hooked.append
    try:
        listener = xpc.Listener(lambda m: "not a dict")
        conn = xpc.Connection(endpoint=listener.endpoint)
        conn.send_with_reply({}, lambda r: None)
        assert wait_until(lambda: hooked)
        assert isinstance(hooked[0].exc_value, TypeError)
        conn.cancel()
        listener.cancel()
    finally:
        sys.unraisablehook = old


def test_barrier(pair):
    conn = pair.conn
    done = threading.Event()
    conn.send({"value": 1})
    conn.barrier(lambda _: done.set())
    assert done.wait(10)


def test_context_manager():
    with xpc.Listener(echo) as listener:
        with xpc.Connection(endpoint=listener.endpoint) as conn:
            assert conn.request({"value": 1})["value"] == 1
        with pytest.raises(xpc.ConnectionInvalid):
            conn.request({})


def test_endpoint_in_a_message(pair):
    listener = pair.listener
    ep = xpc.convert({"ep": listener.endpoint})["ep"]
    assert ep == listener.endpoint
    with xpc.Connection(endpoint=ep) as c2:
        assert c2.request({"value": 2})["value"] == 2


def test_messages_must_be_dicts(pair):
    with pytest.raises(TypeError):
        pair.conn.send([1])
    with pytest.raises(TypeError):
        pair.conn.request("x")


def test_constructor_checks():
    with pytest.raises(TypeError):
        xpc.Connection()
    with pytest.raises(TypeError):
        xpc.Connection("a", endpoint=object())
    with pytest.raises(TypeError):
        xpc.Listener(echo, on_peer=echo)
    with pytest.raises(TypeError):
        xpc.Listener(5)


def test_suspend_resume(pair):
    conn = pair.conn
    conn.suspend()
    conn.resume()
    assert conn.request({"value": 1})["value"] == 1


def test_exit_with_live_connections():
    """A program that leaves connections with handlers open still exits."""
    code = ("import xpc\n"
            "l = xpc.Listener(lambda m: {'ok': 1})\n"
            "c = xpc.Connection(endpoint=l.endpoint, on_message=print)\n"
            "for i in range(100): c.send_with_reply({}, lambda r: None)\n"
            "print(c.request({})['ok'])\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == b"1"


def test_handlers_after_idle_workers_exited(pair):
    """libxpc's workers exit after 5 s idle; the thread state each kept for
    Python is dropped then (a pthread key destructor), and new workers
    enter Python afresh."""
    conn = pair.conn
    assert conn.request({"value": 1})["value"] == 1
    threads = len(os.listdir("/proc/self/task"))
    time.sleep(6)
    assert len(os.listdir("/proc/self/task")) < threads  # a worker went
    got, done = [], threading.Event()
    conn.send_with_reply({"value": 2}, lambda r: (got.append(r), done.set()))
    assert done.wait(10) and got[0]["value"] == 2
    assert conn.request({"value": 3})["value"] == 3
