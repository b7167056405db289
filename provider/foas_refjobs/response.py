"""What a GetRefPackageJob body must look like before any of it is believed.

A deletion gate reads "no jobs" as permission, so an odd body must never
collapse into an empty list. The rules, in the order they are applied:

- The body is UTF-8 JSON with no duplicate key in any object (``json.loads``
  keeps the last value, so ``"TotalCount": 3, ..., "TotalCount": 0`` would read
  as empty), no NaN/Infinity, and no more objects than a page of the requested
  size can hold (memory stays proportional to a real page, whatever is sent).
- A body that names an error (``Code`` other than a success value, ``Success``
  other than true, an ``ErrorCode``, an ``Error`` or a ``Message``) is that
  error, even on HTTP 2xx.
- Top level: the documented keys, plus new *scalar* fields the service may add.
  An unknown key holding an object or a list could hold jobs, and a key that
  only differs from a documented one by case or invisible characters (``jobs``,
  ``Jobs\\u200b``, ``totalCount``) is a forgery or a different API: both are
  malformed. ``Jobs`` holds a list, or an object whose only key is ``Job``.

The first rule's reader is the standard library's (`read_strictly`); `fast_json`
reads instead only a body whose reading it can prove to be the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NoReturn, Optional

from . import fast_json
from .errors import FoasError, MalformedResponseError, error_for_code

DOCUMENTED_KEYS = frozenset({"RequestId", "PageIndex", "PageSize", "TotalCount", "TotalPage", "Jobs"})
SUCCESS_CODES = frozenset({"", "0", "200", "ok", "success"})
_ERROR_CODE_KEYS = frozenset({"code", "errorcode", "errcode", "resultcode"})
_SUCCESS_KEYS = frozenset({"success", "succeeded", "issuccess"})
_ERROR_TEXT_KEYS = frozenset({"message", "errormessage", "errmsg", "msg", "error", "errors",
                              "errormsg", "resultmessage"})
OBJECTS_PER_JOB = 4  # a job object plus room for a few nested values the service may add


@lru_cache(maxsize=1024)
def _fold(key: str) -> str:
    """A key as a person would read it: case-folded, only letters and digits (every page
    folds the same few keys)."""
    return "".join(c for c in key.casefold() if c.isalnum())


_DOCUMENTED_FOLDED = {_fold(k): k for k in DOCUMENTED_KEYS}


class _TooManyObjects(Exception):
    pass


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def loads_strict(body: bytes, max_objects: int) -> Any:
    """JSON without duplicate keys, NaN/Infinity or more than `max_objects` objects.

    `fast_json` reads the body when it can prove its reading is this one's;
    everything it declines is read here.
    """
    data = fast_json.loads(body, max_objects)
    if data is not fast_json.DECLINED:
        return data
    return read_strictly(body, max_objects)


def read_strictly(body: bytes, max_objects: int) -> Any:
    """The reference reader: the standard library, every object checked as it is read."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedResponseError(f"response is not UTF-8 (byte {exc.start})") from None
    budget = [max_objects]

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooManyObjects
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise _DuplicateKey(key)
                seen.add(key)
        return obj

    try:
        return json.loads(text, object_pairs_hook=pairs_hook, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        raise MalformedResponseError(
            f"response has a duplicate key {exc.key[:40]!r} in one object") from None
    except _TooManyObjects:
        raise MalformedResponseError(
            f"response holds more than {max_objects} JSON objects, more than a page can") from None
    except (ValueError, RecursionError) as exc:
        snippet = " ".join(text[:80].split())
        raise MalformedResponseError(
            f"response is not JSON ({type(exc).__name__}): {snippet!r}") from None


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def raise_embedded_error(body: Mapping[str, Any]) -> None:
    """Raise the error a 2xx body names, if it names one."""
    code: Optional[str] = None
    message: Optional[str] = None
    failed = False
    for key, value in body.items():
        folded = _fold(key)
        if folded in _ERROR_CODE_KEYS:
            if value is not None and _text(value).strip().casefold() not in SUCCESS_CODES:
                code, failed = _text(value), True
        elif folded in _SUCCESS_KEYS:
            if value is not True and not (isinstance(value, str) and value.strip().lower() == "true"):
                failed = True
        elif folded in _ERROR_TEXT_KEYS and value not in (None, "", [], {}):
            message, failed = _text(value), True
    if failed:
        rid = body.get("RequestId")
        error: FoasError = error_for_code(
            code or "UnsuccessfulResponse",
            f"the service answered 2xx with an error: {message or 'no message'}",
            request_id=rid if isinstance(rid, str) else None)
        raise error


def check_shape(body: Any) -> None:
    """Malformed unless the page is one the verdict may rest on (see the module docstring)."""
    if not isinstance(body, Mapping):
        raise MalformedResponseError(f"response body is a {type(body).__name__}, expected an object")
    raise_embedded_error(body)
    rid = body.get("RequestId")
    request_id = rid if isinstance(rid, str) and rid else None
    for key, value in body.items():
        if key in DOCUMENTED_KEYS:
            continue
        near = _DOCUMENTED_FOLDED.get(_fold(key))
        if near is not None:
            raise MalformedResponseError(
                f"response has a key {key!r} that only looks like {near!r}", request_id=request_id)
        if not _is_scalar(value):
            raise MalformedResponseError(
                f"response has an unknown key {key!r} holding a {type(value).__name__}; it could "
                "hold jobs, so the page is not trusted", request_id=request_id)
    jobs = body.get("Jobs")
    if isinstance(jobs, Mapping):
        extra = [k for k in jobs if k != "Job"]
        if extra:
            raise MalformedResponseError(
                f"Jobs has a key {extra[0]!r} besides Job; it could hold jobs", request_id=request_id)
