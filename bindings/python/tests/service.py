# SPDX-License-Identifier: MIT
"""The Python service the tests' private xpcd starts on demand.

Serves the name xpcd started it for with xpc.main() and answers
{"op": ...}:
  echo      {"value": msg["value"], "pid": its pid}
  types     the whole message back, as received (every type round trip)
  listener  {"endpoint": the endpoint of an anonymous listener of its own
            that echoes the same way}: for connections from an endpoint
  fd        writes msg["text"] into the file msg["fd"] (a pipe's write end)
            and answers {"fd": the read end of a new pipe holding "pong"}
  shmem     writes msg["text"] at the start of msg["shmem"] and answers
            {"shmem": a new SharedMemory starting with b"from service",
            "len": len(msg["shmem"])}
  notify    sends msg["count"] one-way messages {"n": i} back on the same
            connection, then answers {"sent": count}
  slow      sleeps msg["secs"] seconds, then answers {"slept": secs}
  crash     SIGKILLs itself (no answer)
"""
import ctypes
import os
import signal
import time

import xpc

KEEP = []  # the listeners made for "listener" requests


def echo(msg):
    return {"value": msg.get("value"), "pid": os.getpid()}


def op_fd(msg):
    with msg["fd"] as f:
        f.write(msg["text"].encode())
    r, w = os.pipe()
    os.write(w, b"pong")
    os.close(w)
    return {"fd": open(r, "rb")}  # sent as a duplicate; ours closes when collected


def op_shmem(msg):
    shm = msg["shmem"]
    text = msg["text"].encode()
    shm.buf[: len(text)] = text
    mine = xpc.SharedMemory(4096)
    mine.buf[:12] = b"from service"
    return {"shmem": mine, "len": len(shm)}


def op_listener(msg):
    listener = xpc.Listener(echo)
    KEEP.append(listener)
    return {"endpoint": listener.endpoint}


def op_notify(msg):
    conn = msg.connection
    for i in range(msg["count"]):
        conn.send({"n": i})
    return {"sent": msg["count"]}


def op_slow(msg):
    time.sleep(msg["secs"])
    return {"slept": msg["secs"]}


def op_crash(msg):
    os.kill(os.getpid(), signal.SIGKILL)


OPS = {
    "echo": echo,
    "types": dict,
    "fd": op_fd,
    "shmem": op_shmem,
    "listener": op_listener,
    "notify": op_notify,
    "slow": op_slow,
    "crash": op_crash,
}


def handle(msg):
    return OPS[msg["op"]](msg)


if __name__ == "__main__":
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: dies with the test's xpcd
    xpc.main(handle)
