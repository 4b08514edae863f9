# SPDX-License-Identifier: MIT
"""Python values <-> XPC objects, without a process (xpc.convert goes to
an XPC object and back; dumps/loads through Apple's byte layout)."""
import datetime
import io
import math
import os
import uuid

import pytest

import xpc

UTC = datetime.timezone.utc


@pytest.mark.parametrize("value", [
    "", "hello", "h\u00e9llo \u2603 \U0001F600", 0, 1, -1, 2**63 - 1, -2**63, 1.5, -0.0,
    float("inf"), True, False, None, b"", b"\x00\xff" * 100, [], [1, "a", [2, [3]]],
    {}, {"a": {"b": {"c": [1, 2, {"d": None}]}}},
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    datetime.datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
])
def test_round_trip(value):
    assert xpc.convert(value) == value
    assert type(xpc.convert(value)) is type(value)
    if not isinstance(value, (uuid.UUID, datetime.datetime)):
        assert xpc.loads(xpc.dumps(value)) == value


def test_int_mapping():
    r = xpc.convert({"a": 5, "b": 2**63, "c": 2**64 - 1, "d": -2**63})
    assert type(r["a"]) is int and r["a"] == 5
    assert type(r["b"]) is xpc.UInt64 and r["b"] == 2**63
    assert type(r["c"]) is xpc.UInt64 and r["c"] == 2**64 - 1
    assert type(r["d"]) is int
    with pytest.raises(OverflowError):
        xpc.convert(2**64)
    with pytest.raises(OverflowError):
        xpc.convert(-2**63 - 1)


def test_int_wrappers_force_the_type():
    assert type(xpc.convert(xpc.UInt64(5))) is xpc.UInt64
    assert type(xpc.convert(xpc.Int64(5))) is int
    assert "uint64" in xpc.describe(xpc.UInt64(5))
    assert "int64" in xpc.describe(5) and "uint64" not in xpc.describe(5)
    assert "int64" in xpc.describe(xpc.Int64(7))
    # a received uint64 keeps its type when forwarded
    assert type(xpc.convert(xpc.convert(xpc.UInt64(1)))) is xpc.UInt64
    assert repr(xpc.UInt64(3)) == "xpc.UInt64(3)"
    assert xpc.UInt64(3) + 1 == 4
    with pytest.raises(OverflowError):
        xpc.UInt64(-1)
    with pytest.raises(OverflowError):
        xpc.Int64(2**63)
    with pytest.raises(OverflowError):
        xpc.UInt64(2**64)


def test_bool_is_not_int():
    assert xpc.convert(True) is True
    assert "bool" in xpc.describe(True)


def test_nan():
    assert math.isnan(xpc.convert(float("nan")))


def test_sequences_become_lists():
    assert xpc.convert((1, 2)) == [1, 2]
    assert xpc.convert(bytearray(b"ab")) == b"ab"
    assert xpc.convert(memoryview(b"abc")[1:]) == b"bc"


def test_strings():
    with pytest.raises(ValueError):
        xpc.convert("a\0b")
    with pytest.raises(ValueError):
        xpc.convert({"a\0b": 1})
    # bytes that are not UTF-8 (surrogateescape) come back unchanged
    odd = b"\xff\xfe".decode("utf-8", "surrogateescape")
    assert xpc.convert(odd) == odd
    assert xpc.convert({odd: 1}) == {odd: 1}
    with pytest.raises(UnicodeEncodeError):
        xpc.convert("\ud800")


def test_keys_must_be_str():
    with pytest.raises(TypeError):
        xpc.convert({1: 2})


def test_depth_and_cycles():
    deep = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValueError):
        xpc.convert(deep)
    cyc = []
    cyc.append(cyc)
    with pytest.raises(ValueError):
        xpc.convert(cyc)
    ok = []
    for _ in range(60):
        ok = [ok]
    assert xpc.convert(ok) == ok


def test_dates():
    naive = datetime.datetime(2001, 2, 3, 4, 5, 6, 7)
    assert xpc.convert(naive) == naive.replace(tzinfo=UTC)  # naive is UTC
    cet = datetime.timezone(datetime.timedelta(hours=1))
    aware = datetime.datetime(2001, 2, 3, 4, 5, 6, tzinfo=cet)
    back = xpc.convert(aware)
    assert back == aware and back.tzinfo is UTC
    with pytest.raises(OverflowError):
        xpc.convert(datetime.datetime(3000, 1, 1))
    assert "2020-01-02 03:04:05.678901000" in xpc.describe(
        datetime.datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))


def test_unknown_type():
    with pytest.raises(TypeError):
        xpc.convert(object())
    with pytest.raises(TypeError):
        xpc.convert({1, 2})


def test_fd_becomes_file(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"content")
    with open(p, "rb") as f:
        got = xpc.convert(f)
    assert isinstance(got, io.FileIO) and got.mode == "rb"
    assert got.read() == b"content"
    got.close()
    r, w = os.pipe()
    with open(w, "wb") as wf:
        wdup = xpc.convert(wf)
    assert wdup.mode == "wb"
    wdup.write(b"x")
    wdup.close()
    assert os.read(r, 1) == b"x"
    os.close(r)


def test_directory_fd_becomes_file_descriptor(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        got = xpc.convert(xpc.FileDescriptor(os.dup(fd)))
        assert isinstance(got, xpc.FileDescriptor)
        assert os.path.samestat(os.fstat(got.fileno()), os.fstat(fd))
        got.close()
        assert got.closed
    finally:
        os.close(fd)


def test_fds_cannot_be_serialized(tmp_path):
    with open(tmp_path / "x", "wb") as f:
        with pytest.raises(ValueError):
            xpc.dumps({"f": f})


def test_shared_memory():
    shm = xpc.SharedMemory(100)
    assert len(shm) == os.sysconf("SC_PAGE_SIZE")
    shm.buf[:5] = b"hello"
    other = xpc.convert(shm)  # a second mapping of the same memory
    assert bytes(other.buf[:5]) == b"hello"
    other.buf[:5] = b"HELLO"
    assert bytes(shm.buf[:5]) == b"HELLO"
    view = memoryview(shm)
    with pytest.raises(BufferError):
        shm.close()
    view.release()
    shm.close()
    other.close()
    assert shm.closed and len(shm) == 0
    with pytest.raises(ValueError):
        xpc.convert(shm)
    with pytest.raises(ValueError):
        xpc.SharedMemory(0)


def test_loads_rejects_garbage():
    with pytest.raises(ValueError):
        xpc.loads(b"not xpc at all")
