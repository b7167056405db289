"""Bad responses and injected faults, against the emulator: each retried within its bound,
then failed with the right error class, or survived with the complete list.

A listing either returns every job the service holds, in the service's order,
or raises: no test here accepts a shorter list. Rows of the table in
docs/reliability.md point at these tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

from _figures import record
from clients import client_for_server
from foas_refjobs import (
    AuthError,
    Credentials,
    FoasClient,
    FoasError,
    MalformedResponseError,
    NetworkError,
    ParameterError,
    RetryPolicy,
    ServerError,
    ThrottlingError,
)
from foas_refjobs.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    EmulatorState,
    FoasEmulator,
)
from foas_refjobs.emulator.datagen import generate_jobs

PROJECT, PACKAGE = "bayes_team", "udf.jar"
ATTEMPTS = 3


@dataclass(frozen=True)
class RecordingPolicy(RetryPolicy):
    """The package's policy with short delays, remembering every backoff it chose."""

    delays: list[tuple[str, int, float]] = field(default_factory=list, compare=False, hash=False)

    def delay(self, error: BaseException, attempt: int, rng: Any = None) -> float:
        chosen = super().delay(error, attempt, rng)
        self.delays.append((type(error).__name__, attempt, chosen))
        return chosen


def fast_policy(max_attempts: int = ATTEMPTS) -> RecordingPolicy:
    return RecordingPolicy(max_attempts=max_attempts, base_delay=0.02, max_delay=0.1,
                           throttle_base_delay=0.04)


def _state(jobs: int, **job_overrides: Any) -> EmulatorState:
    raw = generate_jobs(PROJECT, PACKAGE, jobs)
    for job in raw:
        job.update(job_overrides)
    return EmulatorState.with_jobs(PROJECT, PACKAGE, raw)


@pytest.fixture
def small(emulator_with: Callable[[EmulatorState], FoasEmulator]) -> FoasEmulator:
    """Three jobs: every listing is one request."""
    return emulator_with(_state(3))


@pytest.fixture
def paged(emulator_with: Callable[[EmulatorState], FoasEmulator]) -> FoasEmulator:
    """40 jobs: eight pages of five."""
    return emulator_with(_state(40))


def expected_ids(emu: FoasEmulator) -> list[str]:
    return [j["JobId"] for j in emu.state.referencing_jobs(PROJECT, PACKAGE)]


def client_for(emu: FoasEmulator, policy: Optional[RetryPolicy] = None, **kwargs: Any) -> FoasClient:
    return client_for_server(emu, retry_policy=policy or fast_policy(), **kwargs)


# --- bad responses ---------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000

# id, fault kind, fault options, error class, error code (None: any), requests sent
BAD_RESPONSES: list[tuple[str, str, dict[str, Any], type[FoasError], Optional[str], int]] = [
    ("html-502-proxy", "html", {}, ServerError, "HTTP502", ATTEMPTS),
    ("html-503-proxy", "html", {"status": 503}, ServerError, "HTTP503", ATTEMPTS),
    ("html-403-waf", "html", {"status": 403}, AuthError, "HTTP403", 1),
    ("html-200", "html", {"status": 200}, MalformedResponseError, "MalformedResponse", 1),
    ("plain-text-200", "not_json", {}, MalformedResponseError, "MalformedResponse", 1),
    ("plain-text-503", "raw_body", {"status": 503, "params": {"body": "Service Unavailable"}},
     ServerError, "HTTP503", ATTEMPTS),
    ("plain-text-latin1-502", "raw_body", {"status": 502, "params": {"body": "Dienst nicht verf\xfcgbar"
                                                                     .encode("latin-1")}},
     MalformedResponseError, "SDK.InternalError", 1),
    ("truncated-json", "truncated_json", {}, MalformedResponseError, "MalformedResponse", 1),
    ("wrong-shape", "wrong_shape", {}, MalformedResponseError, "MalformedResponse", 1),
    ("non-numeric-count", "non_numeric_count", {}, MalformedResponseError, "MalformedResponse", 1),
    ("empty-body-200", "raw_body", {"params": {"body": ""}}, MalformedResponseError, None, 1),
    ("json-null", "raw_body", {"params": {"body": "null"}}, MalformedResponseError, None, 1),
    ("json-array", "raw_body", {"params": {"body": "[]"}}, MalformedResponseError, None, 1),
    ("json-string", "raw_body", {"params": {"body": '"ok"'}}, MalformedResponseError, None, 1),
    # A 2xx that names an error is that error (issue 9), retried like any InternalError.
    ("error-shape-200", "raw_body", {"params": {"body": json.dumps(
        {"RequestId": "R-1", "Code": "InternalError", "Message": "oops"})}},
     ServerError, "InternalError", ATTEMPTS),
    ("job-without-id", "raw_body", {"params": {"body": json.dumps(
        {"RequestId": "R-2", "TotalCount": 1, "TotalPage": 1, "Jobs": {"Job": [{"JobName": "x"}]}})}},
     MalformedResponseError, "MalformedResponse", 1),
    ("jobs-is-text", "raw_body", {"params": {"body": json.dumps(
        {"RequestId": "R-3", "TotalCount": 1, "TotalPage": 1, "Jobs": "job-1"})}},
     MalformedResponseError, "MalformedResponse", 1),
    ("count-negative", "raw_body", {"params": {"body": json.dumps(
        {"RequestId": "R-4", "TotalCount": -1, "TotalPage": 1, "Jobs": {"Job": []}})}},
     MalformedResponseError, "MalformedResponse", 1),
    ("count-double-minus", "raw_body", {"params": {"body": json.dumps(
        {"RequestId": "R-5", "TotalCount": "--5", "TotalPage": 1, "Jobs": {"Job": []}})}},
     MalformedResponseError, "MalformedResponse", 1),
    ("count-5000-digits", "raw_body", {"params": {"body": json.dumps(
        {"RequestId": "R-6", "TotalCount": "9" * 5000, "TotalPage": 1, "Jobs": {"Job": []}})}},
     MalformedResponseError, "MalformedResponse", 1),
    ("count-float-text", "raw_body", {"params": {"body": json.dumps(
        {"RequestId": "R-7", "TotalCount": "1.5", "TotalPage": 1, "Jobs": {"Job": []}})}},
     MalformedResponseError, "MalformedResponse", 1),
    ("total-page-missing", "raw_body", {"params": {"body": json.dumps(
        {"RequestId": "R-8", "TotalCount": 3, "Jobs": {"Job": []}})}},
     MalformedResponseError, "MalformedResponse", 1),
    ("deeply-nested-json", "raw_body", {"params": {"body": DEEP}}, MalformedResponseError, None, 1),
    ("invalid-utf8-200", "raw_body", {"params": {"body": b'{"TotalCount": "\xff\xfe"}'}},
     MalformedResponseError, None, 1),
    ("error-without-request-id", "raw_body", {"status": 500, "params": {"body": json.dumps(
        {"Code": "InternalError", "Message": "boom"})}}, ServerError, "InternalError", ATTEMPTS),
    ("huge-body-announced", "huge_body", {"size": 2 * 1024 * 1024}, MalformedResponseError,
     "MalformedResponse", 1),
    ("huge-body-unannounced", "huge_body", {"size": 2 * 1024 * 1024, "params": {"no_length": True}},
     MalformedResponseError, "MalformedResponse", 1),
]


@pytest.mark.parametrize(("kind", "options", "error", "code", "requests"),
                         [pytest.param(*row[1:], id=row[0]) for row in BAD_RESPONSES])
def test_bad_response_fails_with_the_right_class(small: FoasEmulator, kind: str, options: dict[str, Any],
                                                 error: type[FoasError], code: Optional[str],
                                                 requests: int) -> None:
    small.faults.add(kind, times=None, **options)
    # A 1 MiB cap stands in for the 32 MiB default, so the huge-body rows stay small.
    with client_for(small, max_body_bytes=1024 * 1024) as client, pytest.raises(FoasError) as info:
        client.list_ref_package_jobs(PROJECT, PACKAGE)
    exc = info.value
    ok = type(exc) is error and (code is None or exc.code == code)
    record("bad_response", case=kind, options=repr(options)[:60], ok=ok, requests=small.faults.requests)
    assert type(exc) is error, repr(exc)
    if code is not None:
        assert exc.code == code
    assert small.faults.requests == requests
    assert "\n" not in str(exc)


def test_missing_request_id_is_accepted_and_the_list_is_complete(small: FoasEmulator) -> None:
    """RequestId is for support tickets only: its absence does not make a listing doubtful."""
    small.faults.add("no_request_id", times=None)
    with client_for(small) as client:
        jobs = client.list_ref_package_jobs(PROJECT, PACKAGE)
    assert jobs.job_ids == expected_ids(small) and jobs.consistent
    record("bad_response", case="no_request_id", options="{}", ok=True, requests=small.faults.requests)


def test_error_without_request_id_has_no_request_id_in_its_line(small: FoasEmulator) -> None:
    small.faults.add("raw_body", status=400, params={"body": json.dumps(
        {"Code": "InvalidParameter", "Message": "bad pageSize"})})
    with client_for(small) as client, pytest.raises(FoasError) as info:
        client.list_ref_package_jobs(PROJECT, PACKAGE)
    assert type(info.value) is ParameterError
    assert info.value.request_id is None
    assert info.value.one_line() == "InvalidParameter: bad pageSize"


def test_a_client_hanging_up_mid_body_leaves_the_emulator_quiet(
        small: FoasEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    """The client refuses a body over its cap and closes the connection while the emulator
    is still writing: no traceback from the emulator, and it keeps serving."""
    small.faults.add("huge_body", size=8 * 1024 * 1024, times=1)
    with client_for(small, max_body_bytes=64 * 1024) as client, \
            pytest.raises(MalformedResponseError):
        client.list_ref_package_jobs(PROJECT, PACKAGE)
    assert small.wait_idle(10)
    with client_for(small) as client:
        assert client.list_ref_package_jobs(PROJECT, PACKAGE).job_ids == expected_ids(small)
    assert "Traceback" not in capsys.readouterr().err


# --- huge bodies: bounded memory ------------------------------------------------------------

_SERVE = """
import sys
from foas_refjobs.emulator import EmulatorState, FoasEmulator
from foas_refjobs.emulator.datagen import generate_jobs
state = EmulatorState.with_jobs("p", "a.jar", generate_jobs("p", "a.jar", 3))
emu = FoasEmulator(state).start()
emu.faults.add("huge_body", size=int(sys.argv[1]), times=None,
               params={"no_length": sys.argv[2] == "1"})
print(emu.url, flush=True)
sys.stdin.read()
emu.stop()
"""


@pytest.fixture
def huge_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """An emulator in another process (its 64 MiB body is not counted here) serving huge bodies."""
    no_length = request.param
    proc = subprocess.Popen([sys.executable, "-c", _SERVE, str(64 * 1024 * 1024), "1" if no_length else "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    assert proc.stdout is not None and proc.stdin is not None
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("huge_server", "cap", "ceiling"), [
    pytest.param(False, 32 * 1024 * 1024, 2 * 1024 * 1024, id="announced-64MiB-default-cap"),
    pytest.param(True, 4 * 1024 * 1024, 4 * 1024 * 1024 + 2 * 1024 * 1024, id="unannounced-64MiB-4MiB-cap"),
], indirect=["huge_server"])
def test_huge_body_is_rejected_within_bounded_memory(huge_server: str, cap: int, ceiling: int) -> None:
    """Peak traced allocation while a 64 MiB answer is refused stays below `ceiling`.

    Announced (Content-Length over the cap): refused before a byte of the body is read.
    Unannounced (no Content-Length): read up to the cap, then refused.
    """
    client = FoasClient(endpoint=huge_server, credentials=Credentials(DEFAULT_ACCESS_KEY_ID,
                                                                      DEFAULT_ACCESS_KEY_SECRET),
                        retry_policy=RetryPolicy(max_attempts=1), max_body_bytes=cap)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        with pytest.raises(MalformedResponseError) as info:
            client.list_ref_package_jobs("p", "a.jar")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
    assert "response body exceeds" in str(info.value)
    growth = peak - base
    record("huge_body", cap=cap, body=64 * 1024 * 1024, peak_growth=growth)
    assert growth < ceiling, f"peak grew by {growth} bytes"


# --- faults: survived within the bound, or the right error after it ---------------------------

# id, fault kind, fault options, client options, outcome: None = survived, else (class, code)
FAULTS: list[tuple[str, str, dict[str, Any], dict[str, Any], Optional[tuple[type[FoasError], str]], int]] = [
    ("latency-past-timeout-burst", "latency", {"latency_ms": 1500, "times": ATTEMPTS - 1},
     {"timeout": 0.3}, None, ATTEMPTS),
    ("latency-past-timeout-always", "latency", {"latency_ms": 1500, "times": None},
     {"timeout": 0.3}, (NetworkError, "Timeout"), ATTEMPTS),
    ("slow-server-below-timeout", "latency", {"latency_ms": 300, "times": None},
     {"timeout": 5}, None, 1),
    ("reset-mid-body-once", "reset", {}, {}, None, 2),
    ("reset-mid-body-always", "reset", {"times": None}, {}, (NetworkError, "NetworkError"), ATTEMPTS),
    ("drop-connection-once", "drop_connection", {}, {}, None, 2),
    ("drop-connection-always", "drop_connection", {"times": None}, {}, (NetworkError, "NetworkError"),
     ATTEMPTS),
    ("throttle-burst", "throttle", {"times": ATTEMPTS - 1}, {}, None, ATTEMPTS),
    ("throttle-always", "throttle", {"times": None}, {}, (ThrottlingError, "Throttling.User"), ATTEMPTS),
    ("throttle-503-burst", "throttle", {"status": 503, "times": ATTEMPTS - 1}, {}, None, ATTEMPTS),
    ("http-500-burst", "error", {"status": 500, "times": ATTEMPTS - 1}, {}, None, ATTEMPTS),
    ("http-502-burst", "error", {"status": 502, "times": ATTEMPTS - 1}, {}, None, ATTEMPTS),
    ("http-503-burst", "error", {"status": 503, "times": ATTEMPTS - 1}, {}, None, ATTEMPTS),
    ("http-500-always", "error", {"status": 500, "times": None}, {}, (ServerError, "InternalError"),
     ATTEMPTS),
    ("http-502-always", "error", {"status": 502, "times": None}, {}, (ServerError, "BadGateway"), ATTEMPTS),
    ("http-503-always", "error", {"status": 503, "times": None}, {},
     (ServerError, "ServiceUnavailable"), ATTEMPTS),
    ("proxy-502-page-burst", "html", {"times": ATTEMPTS - 1}, {}, None, ATTEMPTS),
    ("slow-body-within-deadline", "slow_body", {"latency_ms": 1, "times": None}, {}, None, 1),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("kind", "options", "client_options", "outcome", "requests"),
                         [pytest.param(*row[1:], id=row[0]) for row in FAULTS])
def test_fault_is_survived_or_fails_with_the_right_error(
        small: FoasEmulator, kind: str, options: dict[str, Any], client_options: dict[str, Any],
        outcome: Optional[tuple[type[FoasError], str]], requests: int) -> None:
    rule = small.faults.add(kind, **options)
    policy = fast_policy()
    with client_for(small, policy, **client_options) as client:
        if outcome is None:
            jobs = client.list_ref_package_jobs(PROJECT, PACKAGE)
            partial = int(jobs.job_ids != expected_ids(small))
            record("fault", case=kind, options=repr(options), outcome="survived",
                   injected=rule.applied, requests=small.faults.requests, partial=partial)
            assert jobs.job_ids == expected_ids(small) and jobs.consistent
        else:
            with pytest.raises(FoasError) as info:
                client.list_ref_package_jobs(PROJECT, PACKAGE)
            record("fault", case=kind, options=repr(options), outcome="error",
                   injected=rule.applied, requests=small.faults.requests, partial=0)
            assert type(info.value) is outcome[0], repr(info.value)
            assert info.value.code == outcome[1]
    assert small.faults.requests == requests
    # every retry waited: one backoff per failed attempt, none after the last
    assert len(policy.delays) == requests - 1
    assert all(d > 0 for _, _, d in policy.delays)


@pytest.mark.timeout(60)
def test_body_trickling_below_the_read_timeout_is_cut_at_the_deadline(
        emulator_with: Callable[[EmulatorState], FoasEmulator]) -> None:
    """64 bytes every 200 ms of a ~40 KB body would take over two minutes per attempt.

    Each read returns well within the 0.5 s timeout, so only the total deadline
    of each request (timeout = 0.5 s for connect, headers and body together)
    stops it; the test's 60 s limit fails a client that reads the whole trickle.
    """
    emu = emulator_with(_state(3, Description="d" * 12_000))
    rule = emu.faults.add("slow_body", latency_ms=200, times=None)
    with client_for(emu, timeout=0.5, connect_timeout=0.5) as client, \
            pytest.raises(NetworkError) as info:
        client.list_ref_package_jobs(PROJECT, PACKAGE)
    record("fault", case="slow_body-trickle", options="latency_ms=200", outcome="error",
           injected=rule.applied, requests=emu.faults.requests, partial=0)
    assert info.value.code == "Timeout"
    assert "response took longer than 0.5s" in str(info.value)
    assert emu.faults.requests == ATTEMPTS


# --- faults in the middle of a multi-page listing --------------------------------------------

MID_LISTING = [
    ("reset", {}),
    ("drop_connection", {}),
    ("throttle", {}),
    ("error", {"status": 503}),
    ("html", {"status": 502}),
    ("latency", {"latency_ms": 1500}),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("kind", "options"), [pytest.param(k, o, id=k) for k, o in MID_LISTING])
@pytest.mark.parametrize("concurrency", [1, 4])
def test_fault_on_later_pages_is_survived_with_the_complete_list(
        paged: FoasEmulator, kind: str, options: dict[str, Any], concurrency: int) -> None:
    rule = paged.faults.add(kind, after=2, times=ATTEMPTS - 1, **options)
    with client_for(paged, timeout=0.3, max_concurrency=concurrency) as client:
        jobs = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=5)
    partial = int(jobs.job_ids != expected_ids(paged))
    record("fault", case=f"{kind}-on-later-pages", options=f"concurrency={concurrency}",
           outcome="survived", injected=rule.applied, requests=paged.faults.requests, partial=partial)
    assert jobs.job_ids == expected_ids(paged)
    assert jobs.consistent and jobs.pages_fetched == 8
    assert paged.faults.requests == 8 + ATTEMPTS - 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("kind", "options"), [pytest.param(k, o, id=k) for k, o in MID_LISTING])
@pytest.mark.parametrize("concurrency", [1, 4])
def test_persistent_fault_on_later_pages_never_returns_the_pages_read(
        paged: FoasEmulator, kind: str, options: dict[str, Any], concurrency: int) -> None:
    """Pages 1-2 answered, the rest never does: an error, not a list of ten jobs."""
    rule = paged.faults.add(kind, after=2, times=None, **options)
    with client_for(paged, timeout=0.3, max_concurrency=concurrency) as client, \
            pytest.raises(FoasError) as info:
        client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=5)
    record("fault", case=f"{kind}-always-on-later-pages", options=f"concurrency={concurrency}",
           outcome="error", injected=rule.applied, requests=paged.faults.requests, partial=0)
    assert isinstance(info.value, (NetworkError, ThrottlingError, ServerError)), repr(info.value)


# --- throttling bursts shrink the page pool, then it recovers --------------------------------


@pytest.mark.timeout(60)
def test_throttling_burst_halves_concurrency_backs_off_and_is_survived(
        paged: FoasEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = paged.faults.add("throttle", after=1, times=4)
    policy = fast_policy(max_attempts=5)
    with client_for(paged, policy, max_concurrency=8) as client:
        jobs = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=5)
        limiter = client.limiter
    record("fault", case="throttle-burst-8-wide", options="after=1 times=4", outcome="survived",
           injected=rule.applied, requests=paged.faults.requests,
           partial=int(jobs.job_ids != expected_ids(paged)), lowest_limit=limiter.lowest_limit)
    assert jobs.job_ids == expected_ids(paged) and jobs.consistent
    assert limiter.throttle_events == 4
    assert paged.faults.requests == 8 + 4
    assert limiter.lowest_limit < 8
    throttle_delays = [d for name, _, d in policy.delays if name == "ThrottlingError"]
    assert len(throttle_delays) == 4
    # throttling backs off from its own, longer base (half of it at least, with full jitter)
    assert all(d >= policy.throttle_base_delay / 2 for d in throttle_delays)
