"""fast_json against the reference reader: the same value, or it declines and the reference decides.

Bodies are written by hand so that what orjson and the standard library read
differently can be written: duplicate keys (at any depth, with values that
hold ':'), characters escaped as \\uXXXX (':' among them), integers beyond 64
bits, floats, NaN, odd whitespace, more objects than the budget.
"""

from __future__ import annotations

import json
import random
from typing import Any, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foas_refjobs import MalformedResponseError, fast_json
from foas_refjobs.emulator.datagen import generate_jobs
from foas_refjobs.response import loads_strict, read_strictly


class Obj:
    """An object as written: pairs in order, duplicates allowed."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


Tree = Union[None, bool, int, float, str, list[Any], Obj]

_TEXT = st.text(alphabet=st.sampled_from(list('ab:{}[]",\\ é\n\x01😀')), max_size=6)
_SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
)


def _objects(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Obj]:
    pairs = st.lists(st.tuples(_TEXT, children), max_size=4)
    return st.builds(lambda ps, dup: Obj(ps + ps[:1] if dup else ps), pairs, st.booleans())


TREES: st.SearchStrategy[Tree] = st.recursive(
    _SCALARS, lambda children: st.one_of(st.lists(children, max_size=4), _objects(children)),
    max_leaves=12)


def _string(text: str, rnd: random.Random) -> str:
    out = []
    for char in text:
        if char in '"\\' or ord(char) < 0x20 or rnd.random() < 0.3:
            for unit in _utf16(char):
                out.append(f"\\u{unit:04{'x' if rnd.random() < 0.5 else 'X'}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def render(tree: Tree, rnd: random.Random) -> str:
    space = rnd.choice(["", " ", "\n\t", "\r\n "])
    if isinstance(tree, Obj):
        return "{" + ",".join(f"{space}{_string(k, rnd)}{space}:{space}{render(v, rnd)}"
                              for k, v in tree.pairs) + space + "}"
    if isinstance(tree, list):
        return "[" + ",".join(space + render(v, rnd) for v in tree) + space + "]"
    if isinstance(tree, str):
        return _string(tree, rnd)
    return json.dumps(tree)


def outcome(read: Any, body: bytes, limit: int) -> tuple[str, str]:
    try:
        return "ok", repr(read(body, limit))  # repr tells 1 from 1.0 and True, and -0.0 from 0.0
    except MalformedResponseError:
        return "malformed", ""


@settings(max_examples=400, deadline=None, derandomize=True)
@given(tree=TREES, seed=st.integers(0, 2**32), limit=st.integers(0, 8))
def test_fast_json_reads_as_the_reference_reads_or_declines(tree: Tree, seed: int,
                                                            limit: int) -> None:
    body = render(tree, random.Random(seed)).encode("utf-8", "surrogatepass")
    reference = outcome(read_strictly, body, limit)
    fast = fast_json.loads(body, limit)
    if fast is not fast_json.DECLINED:
        assert reference == ("ok", repr(fast))
    assert outcome(loads_strict, body, limit) == reference


@pytest.mark.parametrize("body", [
    b'\xef\xbb\xbf{"a": 1}', b'{"a": 1} x', b'{"a": 1,}', b"[1,]", b"[tru]", b"", b"\x00",
    b"[1]\x00", b"\x0c[1]", b"[1]\xc2\xa0", b"NaN", b"[Infinity]", b"[-Infinity]", b"[1E400]",
    b'["a\x01b"]', b'["\\x"]', b'["\\ud800"]', b'["\xff"]', b'["\xc0\xaf"]', b'["\xed\xa0\x80"]',
    b"[01]", b"[+1]", b"[.5]", b"[1.]", b"{'a': 1}", b"// c\n[1]", b'{"a" 1}', b"[" * 2000 + b"]" * 2000,
    b'["\\u0000", "\xef\xbf\xbe", "\\ud83d\\ude00"]', b"[-0, -0.0, 1e-400, 18446744073709551615]",
])
def test_odd_json_is_read_as_the_reference_reads_it_or_declined(body: bytes) -> None:
    reference = outcome(read_strictly, body, 10)
    fast = fast_json.loads(body, 10)
    if fast is not fast_json.DECLINED:
        assert reference == ("ok", repr(fast))
    assert outcome(loads_strict, body, 10) == reference


def _page(jobs: int = 50) -> bytes:
    return json.dumps({"RequestId": "R", "PageIndex": 1, "PageSize": 50, "TotalCount": jobs,
                       "TotalPage": 1, "Jobs": {"Job": generate_jobs("p", "a.jar", jobs)}}).encode()


def test_a_real_page_is_read_by_orjson() -> None:
    body = _page()
    data = fast_json.loads(body, (50 + 2) * 4)
    assert data is not fast_json.DECLINED
    assert data == json.loads(body)


@pytest.mark.parametrize("body", [
    # the one key orjson keeps, balanced by a ':' written as an escape elsewhere
    b'{"TotalCount": 1, "x": "\\u003a", "TotalCount": 0}',
    b'{"TotalCount": 1, "x": "\\u003A", "TotalCount": 0}',
    # the dropped duplicate's value held the ':'
    b'{"Jobs": "a:b", "Jobs": []}',
    # a key that is only a duplicate once its escapes are read
    b'{"TotalCount": 1, "Total\\u0043ount": 0}',
    b'{"Jobs": {"Job": [{"JobId": "j", "JobId": "k"}]}}',
])
def test_duplicate_keys_are_declined_and_malformed(body: bytes) -> None:
    assert fast_json.loads(body, 100) is fast_json.DECLINED
    with pytest.raises(MalformedResponseError, match="duplicate key"):
        loads_strict(body, 100)


def test_an_integer_beyond_64_bits_stays_exact() -> None:
    body = b'{"TotalCount": 123456789012345678901234, "Jobs": []}'
    assert fast_json.loads(body, 10) is fast_json.DECLINED  # orjson reads it as a float
    assert loads_strict(body, 10)["TotalCount"] == 123456789012345678901234


def test_the_object_budget_holds_on_the_fast_path() -> None:
    body = json.dumps({"a": [{"b": {}}, {}], "c": {}}).encode()  # five objects
    assert fast_json.loads(body, 5) == json.loads(body)
    assert fast_json.loads(body, 4) is fast_json.DECLINED
    with pytest.raises(MalformedResponseError, match="more than 4 JSON objects"):
        loads_strict(body, 4)


def test_a_body_over_the_size_bound_is_left_to_the_reference() -> None:
    body = b'{"x": "' + b"a" * fast_json.MAX_BYTES + b'"}'
    assert fast_json.loads(body, 1) is fast_json.DECLINED
    assert len(loads_strict(body, 1)["x"]) == fast_json.MAX_BYTES


def test_without_orjson_the_reference_reads_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_json, "_parser", lambda: None)
    body = _page(3)
    assert fast_json.loads(body, 20) is fast_json.DECLINED
    assert loads_strict(body, 20) == json.loads(body)


def test_pages_are_read_without_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the fast path: a real page never reaches the standard library's reader."""
    from foas_refjobs import response
    from foas_refjobs.model import Page

    def refuse(*_args: object, **_kwargs: object) -> Any:
        raise AssertionError("the reference reader was used")

    monkeypatch.setattr(response, "read_strictly", refuse)
    page = Page.from_body(_page(), 1, 50)
    assert len(page.jobs) == 50
