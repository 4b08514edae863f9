# SPDX-License-Identifier: MIT
"""A Python service (tests/service.py, serving with xpc.main) started on
demand by a private xpcd, and Python clients in this process: named
connections, a connection from an endpoint the service made, every value
type across processes, descriptors, shared memory, and the errors when the
service dies (with the reason libxpc gives)."""
import datetime
import os
import signal
import threading
import uuid

import pytest

import xpc
from conftest import NAME, wait_until

UTC = datetime.timezone.utc


@pytest.fixture
def conn(broker):
    c = xpc.Connection(NAME)
    yield c
    c.cancel()


def test_named_request(conn):
    r = conn.request({"op": "echo", "value": "hi"})
    assert r["value"] == "hi"
    assert r["pid"] != os.getpid() and conn.pid == r["pid"]
    assert conn.name == NAME


def test_every_type_across_processes(conn, tmp_path):
    value = {
        "op": "types", "str": "h\u00e9llo", "int": -5, "int64max": 2**63 - 1, "uint": 2**64 - 1,
        "forced": xpc.UInt64(1), "float": 2.5, "true": True, "false": False, "none": None,
        "bytes": bytes(range(256)), "list": [1, [2, {"x": 3}]], "dict": {"a": {"b": None}},
        "uuid": uuid.uuid4(), "date": datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        "big": b"x" * 200000,  # beyond the inline limit: out of line
    }
    r = conn.request(value)
    assert r == value
    assert type(r["uint"]) is xpc.UInt64 and type(r["forced"]) is xpc.UInt64
    assert type(r["int"]) is int and type(r["int64max"]) is int


def test_fd_passing(conn):
    r, w = os.pipe()
    with open(w, "wb") as wf:
        reply = conn.request({"op": "fd", "fd": wf, "text": "hello"})
    assert os.read(r, 100) == b"hello"
    os.close(r)
    with reply["fd"] as f:
        assert f.read() == b"pong"


def test_shared_memory(conn):
    shm = xpc.SharedMemory(8192)
    shm.buf[:5] = b"....."
    reply = conn.request({"op": "shmem", "shmem": shm, "text": "written"})
    assert bytes(shm.buf[:7]) == b"written"  # the service wrote into our pages
    assert reply["len"] == 8192
    theirs = reply["shmem"]
    assert bytes(theirs.buf[:12]) == b"from service"
    theirs.close()
    shm.close()


def test_endpoint_from_the_service(conn):
    ep = conn.request({"op": "listener"})["endpoint"]
    assert isinstance(ep, xpc.Endpoint)
    with xpc.Connection(endpoint=ep) as direct:
        r = direct.request({"value": 5})
        assert r["value"] == 5 and direct.pid == r["pid"] and r["pid"] == conn.pid


def test_async_named(conn):
    import asyncio

    async def go():
        return await asyncio.gather(*[conn.request_async({"op": "echo", "value": i}) for i in range(50)])

    assert [r["value"] for r in asyncio.run(go())] == list(range(50))


def test_messages_from_the_service(broker):
    got, done = [], threading.Event()

    def on_message(m):
        got.append(m["n"])
        if len(got) == 20:
            done.set()

    with xpc.Connection(NAME, on_message=on_message) as c:
        assert c.request({"op": "notify", "count": 20}) == {"sent": 20}
        assert done.wait(10)
    assert got == list(range(20))


def test_service_killed_named_interrupted(broker):
    """A named connection whose service dies gets ConnectionInterrupted
    (pending request and handler), stays usable, and the next request
    relaunches the service."""
    errors = []
    c = xpc.Connection(NAME, on_error=errors.append)
    pid = c.request({"op": "echo"})["pid"]
    with pytest.raises(xpc.ConnectionInterrupted) as e:
        c.request({"op": "crash"})
    assert e.value.reason is None  # interrupted: the connection is still valid
    assert wait_until(lambda: any(isinstance(x, xpc.ConnectionInterrupted) for x in errors))
    # the broker relaunches it (ThrottleInterval 1 s)
    pid2 = c.request({"op": "echo"})["pid"]
    assert pid2 != pid
    c.cancel()


def test_service_killed_endpoint_invalid_with_reason(conn):
    """A connection from an endpoint to a process that dies becomes invalid;
    the exception carries the reason."""
    ep = conn.request({"op": "listener"})["endpoint"]
    direct = xpc.Connection(endpoint=ep)
    pid = direct.request({"value": 1})["pid"]
    errors, done = [], threading.Event()
    direct.set_event_handler(on_error=lambda e: (errors.append(e), done.set()))
    os.kill(pid, signal.SIGKILL)
    assert done.wait(10)
    assert isinstance(errors[-1], xpc.ConnectionInvalid)
    assert errors[-1].reason == "peer exited"
    with pytest.raises(xpc.ConnectionInvalid) as e:
        direct.request({"value": 2})
    assert e.value.reason == "peer exited"
    assert "peer exited" in str(e.value)
    assert direct.invalidation_reason == "peer exited"


def test_unknown_name(broker):
    c = xpc.Connection("org.xpc.pytest.nobody")
    with pytest.raises(xpc.ConnectionInvalid) as e:
        c.request({})
    assert e.value.reason == "unknown name"


def test_listener_for_a_name_not_ours(broker):
    with pytest.raises(xpc.ConnectionInvalid) as e:
        xpc.Listener(lambda m: None, name=NAME)
    assert e.value.reason.startswith("denied")


def test_main_outside_xpcd():
    with pytest.raises(xpc.Error):
        xpc.main(lambda m: None)
    assert xpc.service_names() == []
