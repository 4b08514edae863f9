# SPDX-License-Identifier: MIT
"""The GIL is released while a call waits: another Python thread runs
during a blocking request() (the service takes 0.6 s to answer), and a
handler in this very process (which needs the GIL) can answer a request
made from here."""
import threading
import time

import xpc
from conftest import NAME


def test_other_thread_runs_during_request(broker):
    stamps, stop = [], threading.Event()

    def spin():
        while not stop.is_set():
            stamps.append(time.monotonic())
            time.sleep(0.001)

    with xpc.Connection(NAME) as conn:
        conn.request({"op": "echo"})  # the service is up
        t = threading.Thread(target=spin)
        t.start()
        start = time.monotonic()
        assert conn.request({"op": "slow", "secs": 0.6}) == {"slept": 0.6}
        end = time.monotonic()
        stop.set()
        t.join()
    inside = [s for s in stamps if start + 0.1 < s < end - 0.1]
    assert end - start >= 0.6
    # held through the wait, the GIL would leave none inside the window; a
    # loaded machine may run the spinner rarely, so two are enough
    assert len(inside) >= 2, "no progress while request() waited: %d stamps" % len(inside)


def test_handler_in_same_process_answers_blocking_request():
    ran_on = []

    def handler(msg):
        ran_on.append(threading.get_ident())
        return {"ok": True}

    with xpc.Listener(handler) as listener:
        with xpc.Connection(endpoint=listener.endpoint) as conn:
            for _ in range(100):
                assert conn.request({}) == {"ok": True}
    assert ran_on and threading.get_ident() not in ran_on
