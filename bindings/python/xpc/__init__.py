# SPDX-License-Identifier: MIT
"""xpc: Python bindings for libxpc (Apple's XPC API on Linux).

The work is done by the C extension ``xpc._xpc`` (bindings/python/xpc/*.c),
built against the public headers and libxpc.so only.  This file re-exports
it and adds what is simplest in Python: ``main()`` for a service started by
xpcd, and the shutdown hook that stops libxpc's threads from calling into
an interpreter that is going away.  docs/python.md documents the API.

Values (both ways): dict <-> dictionary, list/tuple -> array (-> list),
str <-> string, bytes-like -> data (-> bytes), bool, None, float <-> double,
int -> int64 (uint64 when >= 2**63; Int64()/UInt64() force one), int64 ->
int, uint64 -> UInt64 (an int subclass), uuid.UUID, datetime (UTC),
objects with fileno() -> fd (-> io.FileIO), SharedMemory, Endpoint.
"""
import atexit
import os
import threading

from ._xpc import (  # noqa: F401  (the public API)
    Connection,
    ConnectionInterrupted,
    ConnectionInvalid,
    Endpoint,
    Error,
    FileDescriptor,
    Int64,
    Listener,
    Message,
    SharedMemory,
    TerminationImminent,
    UInt64,
    convert,
    describe,
    dumps,
    loads,
)
from . import _xpc

__all__ = [
    "Connection", "ConnectionInterrupted", "ConnectionInvalid", "Endpoint", "Error",
    "FileDescriptor", "Int64", "Listener", "Message", "SharedMemory", "TerminationImminent",
    "UInt64", "convert", "describe", "dumps", "loads", "main", "service_names",
]

# Handlers run on libxpc's threads; once the interpreter exits they must not
# enter it any more (events arriving then are dropped).
atexit.register(_xpc._shutdown)


def service_names():
    """The service names xpcd started this process for (XPCD_LISTEN_FDNAMES),
    or [] when it was not started by xpcd."""
    if os.environ.get("XPCD_LISTEN_PID") != str(os.getpid()):
        return []
    names = os.environ.get("XPCD_LISTEN_FDNAMES", "")
    return [n for n in names.split(":") if n]


def main(handler=None, *, name=None, on_peer=None, on_peer_error=None):
    """Serve a named service, as xpc_main() does in C: listen on ``name``
    (default: the first name xpcd started this process for) with
    ``Listener(handler, ...)`` and block until the listener ends (returns)
    or a signal's exception (KeyboardInterrupt) leaves it.  Raises
    ConnectionInvalid at once when the name is not this process's to serve
    (its .reason says why), and Error when no name is given and the process
    was not started by xpcd."""
    if name is None:
        names = service_names()
        if not names:
            raise Error("not started by xpcd for a service name (XPCD_LISTEN_FDNAMES)")
        name = names[0]
    done = threading.Event()

    def on_error(exc):
        if isinstance(exc, ConnectionInvalid):
            done.set()

    listener = Listener(handler, name=name, on_peer=on_peer, on_error=on_error,
                        on_peer_error=on_peer_error)
    try:
        while not done.wait(3600):
            pass
    finally:
        listener.cancel()
