"""Property tests for issue 9: mutating a valid body never buys an "unreferenced" it does not prove.

Bodies are built as ordered key/value pairs (so a duplicate key can be
written), mutated (duplicate a key, rename one, change a value's type, delete
one, add an error marker) and served by the hostile server to the real
client. The oracle is independent of the implementation: a mutated body
proves "unreferenced" only if it is a plain JSON object without duplicate keys
or error markers whose `Jobs.Job` holds no job the filter could keep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _figures import record
from foas_refjobs import Credentials, FoasClient, FoasError, MalformedResponseError
from hostile_server import HostileServer, Reply

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@dataclass
class Obj:
    """A JSON object as written: pairs in order, duplicates allowed."""

    pairs: list[tuple[str, Any]] = field(default_factory=list)


def dumps(value: Any) -> str:
    if isinstance(value, Obj):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def valid_body(jobs: list[dict[str, Any]]) -> Obj:
    total = len(jobs)
    job_objs = [Obj([(k, v) for k, v in j.items()]) for j in jobs]
    return Obj([("RequestId", "R-prop"), ("PageIndex", 1), ("PageSize", 50), ("TotalCount", total),
                ("TotalPage", -(-total // 50)), ("Jobs", Obj([("Job", job_objs)]))])


def objects(body: Obj) -> list[Obj]:
    """Every object of the body: the top, Jobs, each job."""
    found = [body]
    for _key, value in body.pairs:
        if isinstance(value, Obj):
            found += objects(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Obj):
                    found += objects(item)
    return found


KEY_VARIANTS = [str.lower, str.upper, lambda k: k + "\u200b", lambda k: " " + k, lambda k: k + "s",
                lambda k: "X" + k, lambda k: k.replace("I", "\u0406", 1)]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6),
                   st.sampled_from(["", "x", "0", "false", "true"]), st.just([]), st.just(Obj()),
                   st.builds(lambda: [Obj([("JobId", "hidden")])]),
                   st.builds(lambda: Obj([("Job", [Obj([("JobId", "hidden")])])])))
MARKERS = [("Code", "Package.NotExist"), ("Code", "Forbidden.RAM"), ("Success", False),
           ("success", "false"), ("ErrorCode", "X"), ("errCode", 500), ("Message", "boom"),
           ("Error", Obj([("Code", "X")])), ("Errors", ["x"])]


@st.composite
def mutated(draw: st.DrawFn, mutations: tuple[str, ...]) -> tuple[str, list[str]]:
    n = draw(st.integers(0, 4))
    types = st.sampled_from(["FLINK_BATCH", "FLINK_STREAM"])
    jobs = [{"JobId": f"j{i}", "JobName": f"n{i}", "JobType": draw(types),
             "IsCommitted": draw(st.booleans()), "Packages": "udf.jar"} for i in range(n)]
    body = valid_body(jobs)
    applied = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(mutations))
        target = draw(st.sampled_from(objects(body)))
        if kind == "marker":
            key, value = draw(st.sampled_from(MARKERS))
            body.pairs.insert(draw(st.integers(0, len(body.pairs))), (key, value))
            applied.append(f"marker {key}")
            continue
        if not target.pairs:
            continue
        index = draw(st.integers(0, len(target.pairs) - 1))
        key, value = target.pairs[index]
        if kind == "duplicate":
            target.pairs.insert(draw(st.integers(0, len(target.pairs))), (key, draw(VALUES)))
        elif kind == "rename":
            target.pairs[index] = (draw(st.sampled_from(KEY_VARIANTS))(key), value)
        elif kind == "retype":
            target.pairs[index] = (key, draw(VALUES))
        elif kind == "delete":
            del target.pairs[index]
        applied.append(f"{kind} {key}")
    return dumps(body), applied


# --- the oracle: written from the rule, not from the implementation ---------------------------

class _Duplicate(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise _Duplicate
    return dict(pairs)


# What each kind of error marker may hold in a successful answer (the rule in docs/reliability.md).
_CODE_KEYS = {"code", "errorcode", "errcode", "resultcode"}
_SUCCESS_KEYS = {"success", "succeeded", "issuccess"}
_TEXT_KEYS = {"message", "errormessage", "errmsg", "msg", "error", "errors", "errormsg", "resultmessage"}


def _benign_marker(key: str, value: Any) -> bool:
    folded = "".join(c for c in key.casefold() if c.isalnum())
    if folded in _CODE_KEYS:
        text = value if isinstance(value, str) else json.dumps(value)
        return value is None or text.strip().casefold() in {"", "0", "200", "ok", "success"}
    if folded in _SUCCESS_KEYS:
        return value is True or (isinstance(value, str) and value.strip().casefold() == "true")
    if folded in _TEXT_KEYS:
        return value is None or value == ""
    return True
_DOCUMENTED = {"RequestId", "PageIndex", "PageSize", "TotalCount", "TotalPage", "Jobs"}


def proves_unreferenced(text: str, committed_only: bool) -> bool:
    try:
        body = json.loads(text, object_pairs_hook=_no_duplicates)
    except (_Duplicate, ValueError):
        return False
    if not isinstance(body, dict) or body.get("TotalCount") not in (0, "0") and not (
            committed_only and isinstance(body.get("TotalCount"), int)):
        return False
    if not all(_benign_marker(k, v) for k, v in body.items()):
        return False
    for key, value in body.items():  # anything beyond the documented keys must be a scalar
        if key not in _DOCUMENTED and isinstance(value, (dict, list)):
            return False
    if any(k not in _DOCUMENTED and "".join(c for c in k.casefold() if c.isalnum())
           in {d.casefold() for d in _DOCUMENTED} for k in body):
        return False
    jobs = body.get("Jobs")
    if isinstance(jobs, dict):
        if set(jobs) - {"Job"}:
            return False
        jobs = jobs.get("Job")
    items = jobs if isinstance(jobs, list) else [jobs] if isinstance(jobs, dict) else []
    return all(committed_only and isinstance(j, dict) and j.get("IsCommitted") in (False, "false")
               for j in items)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[HostileServer, FoasClient]]:
    with HostileServer() as server, FoasClient(endpoint=server.url, credentials=Credentials("ak", "secret-v"),
                                               max_attempts=1, max_concurrency=1) as client:
        yield server, client


def _verdict(served: tuple[HostileServer, FoasClient], text: str, committed_only: bool) -> Optional[str]:
    server, client = served
    server.handler = lambda _request: Reply.json(text)
    try:
        listing = client.list_ref_package_jobs("proj", "udf.jar", committed_only=committed_only)
    except FoasError as exc:
        return type(exc).__name__
    if not listing.consistent:
        return "inconsistent"
    return "referenced" if listing.referenced else "unreferenced"


@SETTINGS
@given(case=mutated(("duplicate", "rename", "retype", "delete", "marker")), committed_only=st.booleans())
def test_no_mutation_buys_an_unproven_unreferenced(served: tuple[HostileServer, FoasClient],
                                                   case: tuple[str, list[str]], committed_only: bool) -> None:
    text, applied = case
    verdict = _verdict(served, text, committed_only)
    if verdict == "unreferenced":
        assert proves_unreferenced(text, committed_only), (applied, text)
    record("fail_closed_property", case="any-mutation", mutations=";".join(applied), verdict=verdict)


@SETTINGS
@given(case=mutated(("duplicate",)), committed_only=st.booleans())
def test_a_duplicate_key_anywhere_is_malformed(served: tuple[HostileServer, FoasClient],
                                               case: tuple[str, list[str]], committed_only: bool) -> None:
    text, applied = case
    if not applied:
        return
    assert _verdict(served, text, committed_only) == MalformedResponseError.__name__, applied


@SETTINGS
@given(case=mutated(("marker",)), committed_only=st.booleans())
def test_an_error_marker_is_an_error(served: tuple[HostileServer, FoasClient],
                                     case: tuple[str, list[str]], committed_only: bool) -> None:
    text, applied = case
    verdict = _verdict(served, text, committed_only)
    assert verdict not in ("referenced", "unreferenced", "inconsistent"), (applied, verdict)


@SETTINGS
@given(extra=st.lists(st.tuples(
    st.text(st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1, max_size=12),
    st.one_of(st.none(), st.integers(), st.text(max_size=20),
              st.floats(allow_nan=False, allow_infinity=False))),
    max_size=4))
def test_new_scalar_fields_keep_a_proof(served: tuple[HostileServer, FoasClient],
                                        extra: list[tuple[str, Any]]) -> None:
    body = valid_body([])
    for key, value in extra:
        if key in {k for k, _ in body.pairs}:
            continue
        body.pairs.append((key, value))
    text = dumps(body)
    expected = "unreferenced" if proves_unreferenced(text, False) else None
    verdict = _verdict(served, text, False)
    if expected:
        assert verdict == "unreferenced", (extra, verdict)
    else:
        assert verdict != "unreferenced", extra
