"""Reading a body with orjson when that provably gives what the strict reader gives.

`response.read_strictly` (the standard library with a duplicate-key hook) is
the reference: it decides every body this module declines. orjson reads several
times faster, but it keeps the last of two equal keys and reads an integer
beyond 64 bits as a float, so its result is used only when all of these hold:

- orjson accepts the body. Where its JSON differs from the reference's, it
  is the stricter (NaN, Infinity, lone surrogates, over-deep nesting), as
  tests/test_fast_json.py checks against the reference; whatever it refuses
  goes to the reference.
- No object has a duplicate key. Outside strings, every ':' belongs to
  exactly one key; inside strings a ':' is written as itself or as the
  escape \\u003a. With no such escape in the body, the body's ':' count is
  its number of keys plus the ':' in its strings, and orjson's own output of
  what it read writes one ':' per key it kept plus the same ':' in strings
  (fewer if a dropped duplicate's value held some). So the two counts are
  equal exactly when no key was dropped.
- No number came back as a float (which is how orjson reads an integer too
  big for 64 bits).
- It holds no more objects than the budget; a body over it goes to the
  reference, which stops reading there.

A declined body costs one more read: a hostile or malformed one, or one with
an escaped ':', a float or more than MAX_BYTES. orjson is imported on first use.
"""

from __future__ import annotations

import re
from itertools import chain
from typing import Any, Optional

DECLINED = object()
# Above this, the reference reads the body: it stops at the object budget, orjson would not.
MAX_BYTES = 4 << 20
_COLON_ESCAPE = re.compile(rb"\\u003[aA]")

_orjson: Any = None
_unavailable = False


def _parser() -> Any:
    global _orjson, _unavailable
    if _orjson is None and not _unavailable:
        try:
            import orjson
        except ImportError:
            _unavailable = True
        else:
            _orjson = orjson
    return _orjson


def _objects(root: Any, limit: int) -> Optional[int]:
    """How many objects `root` holds, one depth at a time; None above `limit` or on a float."""
    objects = 0
    level: list[Any] = [root]
    while level:
        types = set(map(type, level))
        if float in types:
            return None
        if dict not in types and list not in types:
            break
        dicts = [value for value in level if type(value) is dict]
        objects += len(dicts)
        if objects > limit:
            return None
        lists = [value for value in level if type(value) is list]
        level = list(chain(chain.from_iterable(map(dict.values, dicts)),
                           chain.from_iterable(lists)))
    return objects


def loads(body: bytes, max_objects: int) -> Any:
    """orjson's reading of `body` if it is the strict reader's, else DECLINED."""
    parser = _parser()
    if parser is None or len(body) > MAX_BYTES or _COLON_ESCAPE.search(body) is not None:
        return DECLINED
    try:
        data = parser.loads(body)
        if body.count(b":") != parser.dumps(data).count(b":"):
            return DECLINED  # a key was dropped: a duplicate
    except (ValueError, TypeError):  # orjson's JSONDecodeError and JSONEncodeError
        return DECLINED
    if _objects(data, max_objects) is None:
        return DECLINED
    return data
