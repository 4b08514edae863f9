import xpc
def test_smoke():
    assert xpc.convert({"a": 1}) == {"a": 1}
