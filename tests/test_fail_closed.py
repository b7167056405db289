"""Issue 9: a hostile server must never get "unreferenced" out of the library, the CLI or the guard.

Every case is one response body (or a scripted server) and runs three ways:
the library (`FoasClient.list_ref_package_jobs`), the CLI gate
(`foas-refjobs check-unreferenced`, in process) and the deletion guard
through the real dynamic-provider host over gRPC. A case either proves
"unreferenced" (the controls: new scalar fields, success markers) or must
end in the named error / a refusal.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

import pytest

from _figures import record
from clients import client_for_server
from foas_refjobs import (
    AuthError,
    Credentials,
    DeadlineExceededError,
    FoasClient,
    FoasError,
    MalformedResponseError,
    NotFoundError,
    RetryPolicy,
)
from foas_refjobs.cli import main
from hostile_server import FoasPages, HostileServer, Reply, job
from isolation import child_env

PROJECT, PACKAGE = "proj", "udf.jar"
KEY_ID, SECRET = "hostile-key-id", "hostile-secret-value-0123"
JOBS = [job("j1"), job("j2"), job("j3")]
J = [json.dumps(j) for j in JOBS]


@pytest.fixture
def env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hostile server's AccessKey in the documented variables, where the CLI gate reads it."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)


def _body(total: int, jobs: str = "", extra: str = "", *, page_size: int = 50) -> str:
    """A page as text, so duplicate keys and odd keys survive."""
    pages = -(-total // page_size)
    return (f'{{"RequestId": "R-hostile", "PageIndex": 1, "PageSize": {page_size}, '
            f'"TotalCount": {total}, "TotalPage": {pages}, "Jobs": {{"Job": [{jobs}]}}{extra}}}')


@dataclass(frozen=True)
class Case:
    id: str
    body: str
    error: Optional[type[FoasError]]  # None: the body proves "unreferenced"
    code: Optional[str] = None
    committed_only: bool = False


_EMPTY_HEAD = '{"RequestId": "R", "PageIndex": 1, "PageSize": 50, "TotalCount": 0, "TotalPage": 0'


def _empty(extra: str = "") -> str:
    """A page claiming no jobs, with `extra` members appended at the top level."""
    return _EMPTY_HEAD + extra + "}"


CASES = [
    # 1. duplicate keys, at any depth
    Case("dup-total-count", _body(3, ", ".join(J))[:-1] + ', "TotalCount": 0, "TotalPage": 0}',
         MalformedResponseError, "MalformedResponse"),
    Case("dup-jobs", _empty(', "Jobs": {"Job": [' + ", ".join(J) + ']}, "Jobs": {"Job": []}'),
         MalformedResponseError),
    Case("dup-job-inside-jobs", _empty(', "Jobs": {"Job": [' + ", ".join(J) + '], "Job": []}'),
         MalformedResponseError),
    Case("dup-is-committed", _body(1, '{"JobId": "j1", "IsCommitted": true, "IsCommitted": false}'),
         MalformedResponseError, committed_only=True),
    Case("dup-request-id", _empty(', "RequestId": "R2"'), MalformedResponseError),
    # 2. a 2xx body that names an error
    Case("code-package-not-exist", _empty(', "Code": "Package.NotExist", "Message": "no"'),
         NotFoundError, "Package.NotExist"),
    Case("code-forbidden-ram", _empty(', "Code": "Forbidden.RAM"'), AuthError, "Forbidden.RAM"),
    Case("success-false", _empty(', "Success": false'), FoasError, "UnsuccessfulResponse"),
    Case("success-string-false", _empty(', "success": "false"'), FoasError,
         "UnsuccessfulResponse"),
    Case("error-code-lower", _empty(', "errorCode": "Throttling.User"'), FoasError,
         "Throttling.User"),
    Case("message-only", _empty(', "Message": "project not found"'), FoasError,
         "UnsuccessfulResponse"),
    Case("error-object", _empty(', "Error": {"Code": "X"}'), FoasError, "UnsuccessfulResponse"),
    # 3. jobs under a key we do not know, while TotalCount is 0
    Case("key-jobs-lower", _empty(', "jobs": {"Job": [' + J[0] + ']}'), MalformedResponseError),
    Case("key-joblist", _empty(', "JobList": [' + J[0] + ']'), MalformedResponseError),
    Case("key-data", _empty(', "Data": {"Jobs": [' + J[0] + ']}'), MalformedResponseError),
    Case("key-zero-width", _empty(', "Jobs\\u200b": {"Job": [' + J[0] + ']}'),
         MalformedResponseError),
    Case("key-nbsp-total", _empty(', "TotalCount\\u00a0": 3'), MalformedResponseError),
    Case("key-beside-job", _empty(', "Jobs": {"Job": [], "Items": [' + J[0] + ']}'),
         MalformedResponseError),
    Case("empty-unknown-list", _empty(', "Data": []'), MalformedResponseError),
    Case("body-is-list", "[" + J[0] + "]", MalformedResponseError),
    Case("nan-total", _empty().replace('"TotalCount": 0', '"TotalCount": NaN'),
         MalformedResponseError),
    Case("not-utf8", (_empty(', "Note": "\xff"')), MalformedResponseError),
    # limits: more jobs than a page holds
    Case("page-overfull", _body(51, ", ".join(json.dumps(job(f"j{i}")) for i in range(51))),
         MalformedResponseError),
    # controls: what an unreferenced page may look like
    Case("ok-plain", _empty(), None),
    Case("ok-new-scalars", _empty(', "Region": "cn-hangzhou", "Took": 3, "Flag": null'), None),
    Case("ok-success-markers", _empty(', "Success": true, "Code": "200", "Message": ""'), None),
    Case("ok-empty-job-list", _body(0), None),
]


def _encoded(case: Case) -> bytes:
    if case.id == "not-utf8":
        return case.body.encode("latin-1")
    return case.body.encode()


def _serve(server: HostileServer, case: Case) -> None:
    server.reset()
    server.handler = lambda _request: Reply.json(_encoded(case))


def _client(server: HostileServer, **options: Any) -> FoasClient:
    return client_for_server(server, Credentials(KEY_ID, SECRET), max_attempts=1, retry_policy=None,
                             max_concurrency=1, **options)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_library(hostile_server: HostileServer, case: Case) -> None:
    _serve(hostile_server, case)
    with _client(hostile_server) as client:
        if case.error is None:
            listing = client.list_ref_package_jobs(PROJECT, PACKAGE, committed_only=case.committed_only)
            assert not listing.referenced and listing.consistent
            record("fail_closed", case=case.id, path="library", ok=True)
            return
        with pytest.raises(FoasError) as info:
            client.list_ref_package_jobs(PROJECT, PACKAGE, committed_only=case.committed_only)
    assert isinstance(info.value, case.error), repr(info.value)
    if case.code is not None:
        assert info.value.code == case.code
    record("fail_closed", case=case.id, path="library", ok=True)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_gate(hostile_server: HostileServer, case: Case, env_keys: None,
                  capsys: pytest.CaptureFixture[str]) -> None:
    _serve(hostile_server, case)
    argv = ["check-unreferenced", "--project", PROJECT, "--package", PACKAGE,
            "--endpoint", hostile_server.url]
    if case.committed_only:
        argv.append("--committed-only")
    rc = main(argv)
    out, err = capsys.readouterr()
    if case.error is None:
        assert rc == 0 and out.startswith("unreferenced:")
    else:
        assert rc == 1, (out, err)
        assert "unreferenced" not in out
        assert err.startswith("error: ") and err.count("\n") == 1
        if case.code is not None:
            assert f"error: {case.code}: " in err
    assert SECRET not in out + err
    record("fail_closed", case=case.id, path="cli", ok=True)


# --- the guard, through the real provider host ---------------------------------------------

@pytest.fixture(scope="module")
def guard_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, HostileServer, str]]:
    pytest.importorskip("pulumi")
    from foas_refjobs import PackageDeletionGuardProvider
    from pulumi_host import ProviderHost, stack_config

    env = child_env(tmp_path_factory.mktemp("guard-home"))
    with HostileServer() as server, ProviderHost(tmp_path_factory.mktemp("guard-host"), env=env) as host:
        config = stack_config(server.url, accessKeyId=KEY_ID, accessKeySecret=SECRET)
        provider = host.provider(PackageDeletionGuardProvider, config, max_attempts=1, timeout=5.0)
        yield host, server, provider


def guard_delete(guard_env: tuple[Any, HostileServer, str], *, block_on: str = "any") -> Optional[str]:
    """None when the guard allowed the delete, else the refusal text the engine would show."""
    from pulumi_host import ProviderCallError

    host, _server, provider = guard_env
    checked, failures = host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE,
                                              "block_on": block_on})
    assert failures == []
    id_, outs = host.create(provider, checked)
    try:
        host.delete(provider, id_, outs)
    except ProviderCallError as exc:
        assert SECRET not in exc.details
        return exc.details
    return None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_guard(guard_env: tuple[Any, HostileServer, str], case: Case) -> None:
    _serve(guard_env[1], case)
    refusal = guard_delete(guard_env, block_on="committed" if case.committed_only else "any")
    if case.error is None:
        assert refusal is None
    else:
        assert refusal is not None and "GuardCheckFailed" in refusal, refusal
        if case.code is not None:
            assert case.code in refusal
    record("fail_closed", case=case.id, path="guard", ok=True)


# --- 5. filters on values we cannot read: unknown counts as matching -----------------------

def _one_job(**fields: Any) -> bytes:
    raw = {"JobId": "j1", "JobName": "n1", "Packages": PACKAGE}
    raw.update(fields)
    raw = {k: v for k, v in raw.items() if v is not _MISSING}
    return _body(1, json.dumps(raw)).encode()


_MISSING: Any = object()

# (id, job fields, committed_only, job_type, referenced?)
FILTER_CASES = [
    ("committed-missing", {"IsCommitted": _MISSING, "JobType": "FLINK_BATCH"}, True, None, True),
    ("committed-null", {"IsCommitted": None, "JobType": "FLINK_BATCH"}, True, None, True),
    ("committed-false", {"IsCommitted": False, "JobType": "FLINK_BATCH"}, True, None, False),
    ("committed-string-false", {"IsCommitted": "false", "JobType": "FLINK_BATCH"}, True, None, False),
    ("type-missing", {"IsCommitted": True, "JobType": _MISSING}, False, "FLINK_STREAM", True),
    ("type-null", {"IsCommitted": True, "JobType": None}, False, "FLINK_STREAM", True),
    ("type-lower", {"IsCommitted": True, "JobType": "flink_batch"}, False, "FLINK_STREAM", True),
    ("type-padded", {"IsCommitted": True, "JobType": " FLINK_BATCH"}, False, "FLINK_STREAM", True),
    ("type-unheard-of", {"IsCommitted": True, "JobType": "FLINK_SQL"}, False, "FLINK_STREAM", True),
    ("type-other", {"IsCommitted": True, "JobType": "FLINK_BATCH"}, False, "FLINK_STREAM", False),
    ("both-unknown", {"IsCommitted": None, "JobType": "batch"}, True, "FLINK_STREAM", True),
]


@pytest.mark.parametrize(("fields", "committed_only", "job_type", "referenced"),
                         [pytest.param(*c[1:], id=c[0]) for c in FILTER_CASES])
def test_filters_keep_unreadable_values(hostile_server: HostileServer, fields: dict[str, Any],
                                        committed_only: bool, job_type: Optional[str], referenced: bool,
                                        env_keys: None,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    hostile_server.handler = lambda _request: Reply.json(_one_job(**fields))
    with _client(hostile_server) as client:
        listing = client.list_ref_package_jobs(PROJECT, PACKAGE, committed_only=committed_only,
                                               job_type=job_type)
    assert listing.referenced is referenced and listing.consistent

    argv = ["check-unreferenced", "--project", PROJECT, "--package", PACKAGE, "--endpoint",
            hostile_server.url, *(["--committed-only"] if committed_only else []),
            *(["--job-type", job_type] if job_type else [])]
    rc = main(argv)
    out, _err = capsys.readouterr()
    assert rc == (3 if referenced else 0)
    if not referenced:
        assert out.startswith("unreferenced: no ") and out.count("\n") == 1
        if committed_only:
            assert out.startswith("unreferenced: no committed job") and "IsCommitted true or unknown" in out
        if job_type:
            assert f"no {job_type} job" in out and f"JobType {job_type} (or unknown)" in out
    record("fail_closed", case="filter-" + str(fields), path="library+cli", ok=True)


@pytest.mark.parametrize(("fields", "referenced"), [
    pytest.param({"IsCommitted": _MISSING}, True, id="committed-missing"),
    pytest.param({"IsCommitted": None}, True, id="committed-null"),
    pytest.param({"IsCommitted": "yes"}, None, id="committed-unreadable"),
    pytest.param({"IsCommitted": False}, False, id="committed-false"),
])
def test_guard_blocking_on_committed_keeps_unknown_commit_state(
        guard_env: tuple[Any, HostileServer, str], fields: dict[str, Any],
        referenced: Optional[bool]) -> None:
    server = guard_env[1]
    server.reset()
    server.handler = lambda _request: Reply.json(_one_job(**fields))
    refusal = guard_delete(guard_env, block_on="committed")
    if referenced is False:
        assert refusal is None
    elif referenced is None:  # a value that is not a boolean at all: the page is malformed
        assert refusal is not None and "GuardCheckFailed" in refusal and "MalformedResponse" in refusal
    else:
        assert refusal is not None and "PackageInUse" in refusal and "n1 (id j1)" in refusal


# --- 4. a job deleted and another created between two page reads ---------------------------

def _race_pages(size: int, *, churn_forever: bool = False) -> FoasPages:
    """size uncommitted jobs, then one committed job alone on page 2.

    Before page 2 is cut, the first job is deleted and an uncommitted one is
    created at the end: counts stay equal, the committed job shifts onto page 1
    (already read) and page 2 shows only the new job. `churn_forever` instead
    swaps the last uncommitted job on every page-2 read: no committed job ever,
    but no two listings agree.
    """
    jobs = [job(f"u{i:03d}", IsCommitted=False) for i in range(size)]
    if not churn_forever:
        jobs.append(job("committed-1", IsCommitted=True))
    counter = itertools.count()

    def before_page(index: int, pages: FoasPages) -> None:
        if index != 2:
            return
        n = next(counter)
        if churn_forever:
            pages.jobs[-1] = job(f"churn-{n}", IsCommitted=False)
        elif n == 0:
            del pages.jobs[0]
            pages.jobs.append(job("new-1", IsCommitted=False))

    if churn_forever:
        jobs.append(job("churn-start", IsCommitted=False))
    # a service that pages at most `size` jobs: the client cannot read it all in one answer
    return FoasPages(jobs, before_page=before_page, max_page_size=size)


def test_race_is_caught_by_the_confirmation_in_the_library(hostile_server: HostileServer) -> None:
    hostile_server.handler = _race_pages(3)
    with _client(hostile_server) as client:
        listing = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=3, committed_only=True)
    assert listing.referenced and listing.job_ids == ["committed-1"] and listing.consistent
    assert listing.confirmations == 1
    requests = len(hostile_server.requests)
    assert requests == 4  # 2 pages, then 2 more to confirm
    record("race_confirmation", case="delete+create", requests=requests, confirmations=1)


def test_without_a_filter_a_torn_listing_is_still_referenced_and_not_re_read(
        hostile_server: HostileServer) -> None:
    hostile_server.handler = _race_pages(3)
    with _client(hostile_server) as client:
        listing = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=3)
    assert listing.referenced and listing.confirmations == 0
    assert len(hostile_server.requests) == 2


def test_an_unreferenced_verdict_over_several_pages_costs_one_more_listing(
        hostile_server: HostileServer) -> None:
    hostile_server.handler = FoasPages([job(f"u{i}", IsCommitted=False) for i in range(7)])
    with _client(hostile_server) as client:
        listing = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=3, committed_only=True)
        assert not listing.referenced and listing.consistent and listing.confirmations == 1
        assert len(hostile_server.requests) == 6
        hostile_server.reset()
        hostile_server.handler = FoasPages([job(f"u{i}", IsCommitted=False) for i in range(3)])
        single = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=3, committed_only=True)
    assert not single.referenced and single.confirmations == 0
    assert len(hostile_server.requests) == 1  # one page is one atomic answer: nothing to confirm
    record("race_confirmation", case="unreferenced-3-pages", requests=6, baseline=3)


def test_listings_that_never_agree_are_inconsistent(hostile_server: HostileServer) -> None:
    hostile_server.handler = _race_pages(3, churn_forever=True)
    with _client(hostile_server) as client:
        listing = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=3, committed_only=True)
    assert not listing.consistent and "changed between" in (listing.inconsistency or "")
    with pytest.raises(FoasError):
        listing.require_consistent()
    assert len(hostile_server.requests) == 6


def test_race_through_the_cli_gate(hostile_server: HostileServer, env_keys: None,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check-unreferenced", "--project", PROJECT, "--package", PACKAGE, "--endpoint",
            hostile_server.url, "--committed-only", "--page-size", "3"]
    hostile_server.handler = _race_pages(3)
    assert main(argv) == 3
    assert "committed-1" in capsys.readouterr().out
    hostile_server.reset()
    hostile_server.handler = _race_pages(3, churn_forever=True)
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == "" and "changed between" in err


def test_race_through_the_guard(guard_env: tuple[Any, HostileServer, str]) -> None:
    server = guard_env[1]
    server.reset()
    server.handler = _race_pages(50)  # the guard reads 50 jobs a page
    refusal = guard_delete(guard_env, block_on="committed")
    assert refusal is not None and "PackageInUse" in refusal and "committed-1" in refusal
    server.reset()
    server.handler = _race_pages(50, churn_forever=True)
    refusal = guard_delete(guard_env, block_on="committed")
    assert refusal is not None and "GuardCheckFailed" in refusal and "changed between" in refusal


@pytest.mark.parametrize("value", ["false", "true", 0, 1, "no"])
def test_get_ref_package_jobs_rejects_non_booleans(hostile_server: HostileServer, value: Any,
                                                   env_keys: None) -> None:
    """bool("false") is True: a string must not silently turn the filter on."""
    pytest.importorskip("pulumi")
    from foas_refjobs import InvalidInputError, get_ref_package_jobs

    with pytest.raises(InvalidInputError, match="committed_only must be a boolean"):
        get_ref_package_jobs(PROJECT, PACKAGE, endpoint=hostile_server.url, committed_only=value)
    assert hostile_server.requests == []


# --- a total deadline for the whole listing ------------------------------------------------

def _slow_pages(delay: float, jobs: int = 5000) -> FoasPages:
    """Every page answered `delay` seconds late: each one within the per-request timeout."""
    return FoasPages([job(f"j{i:05d}") for i in range(jobs)], reply_kwargs={"delay": delay})


def test_many_slow_pages_end_at_the_total_timeout(hostile_server: HostileServer) -> None:
    hostile_server.handler = _slow_pages(0.3)
    started = time.monotonic()
    with _client(hostile_server, total_timeout=1.5) as client, \
            pytest.raises(DeadlineExceededError) as info:
        client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=50)
    elapsed = time.monotonic() - started
    assert "total timeout of 1.5s" in str(info.value)
    assert 1.5 <= elapsed < 3.0
    assert len(hostile_server.requests) < 10  # not the 100 pages the listing has
    record("deadline", case="slow-pages-library", elapsed=round(elapsed, 2))


def test_a_stalled_request_is_cut_at_the_total_timeout(hostile_server: HostileServer) -> None:
    """The per-request timeout is 10 s; the listing's 1 s wins."""
    hostile_server.handler = lambda _r: Reply.json(_empty(), delay=30)
    started = time.monotonic()
    with _client(hostile_server, total_timeout=1.0) as client, pytest.raises(FoasError):
        client.list_ref_package_jobs(PROJECT, PACKAGE)
    assert time.monotonic() - started < 2.5


def test_a_retry_backoff_is_cut_at_the_total_timeout(hostile_server: HostileServer) -> None:
    """Backoffs of 4-5 s against a listing allowed 1 s: the wait is cut, not served in full."""
    hostile_server.handler = lambda _r: Reply.status(503, b"busy")
    slow_backoff = RetryPolicy(max_attempts=5, base_delay=4.0, max_delay=5.0)
    started = time.monotonic()
    with client_for_server(hostile_server, Credentials(KEY_ID, SECRET), retry_policy=slow_backoff,
                           max_concurrency=1, total_timeout=1.0) as client, \
            pytest.raises(DeadlineExceededError):
        client.list_ref_package_jobs(PROJECT, PACKAGE)
    assert time.monotonic() - started < 2.0
    assert len(hostile_server.requests) == 1


def test_total_timeout_through_the_cli(hostile_server: HostileServer, env_keys: None,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    hostile_server.handler = _slow_pages(0.3)
    started = time.monotonic()
    rc = main(["check-unreferenced", "--project", PROJECT, "--package", PACKAGE, "--endpoint",
               hostile_server.url, "--timeout", "1", "--total-timeout", "1.5", "--page-size", "50"])
    out, err = capsys.readouterr()
    assert rc == 1 and out == "" and err.startswith("error: DeadlineExceeded: ")
    assert time.monotonic() - started < 3.5


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan"), 1e300, "5", True])
def test_total_timeout_must_be_a_usable_number(value: Any) -> None:
    from foas_refjobs import InvalidInputError, list_ref_package_jobs

    with pytest.raises(InvalidInputError, match="total_timeout"):
        list_ref_package_jobs(PROJECT, PACKAGE, total_timeout=value,
                              credentials=Credentials(KEY_ID, SECRET), endpoint="http://127.0.0.1:9")


# --- transport bounds, through the library, the CLI gate and the guard ----------------------
# (implemented in transport.py; the hostile server produces them)

TRANSPORT_CASES = {
    "header-trickle": (lambda: Reply.http(200, [("X-Pad", "p" * 40)], _empty(), trickle_headers=0.5),
                       "Timeout"),
    "gzip-gzip-bomb": (lambda: Reply.gzip_bomb(64 * 1024 * 1024, layers=2), "MalformedResponse"),
    "content-length-superscript": (
        lambda: Reply.http(200, [("Content-Type", "application/json"), ("Content-Length", "²")],
                           _empty(), content_length=False), "MalformedResponse"),
}


@pytest.mark.parametrize("kind", list(TRANSPORT_CASES))
def test_transport_bounds_through_library_cli_and_guard(
        kind: str, hostile_server: HostileServer, guard_env: tuple[Any, HostileServer, str],
        env_keys: None, capsys: pytest.CaptureFixture[str]) -> None:
    make, code = TRANSPORT_CASES[kind]
    hostile_server.handler = lambda _r: make()
    started = time.monotonic()
    with _client(hostile_server, timeout=2.0) as client, pytest.raises(FoasError) as info:
        client.list_ref_package_jobs(PROJECT, PACKAGE)
    assert code in info.value.one_line() and time.monotonic() - started < 4

    rc = main(["check-unreferenced", "--project", PROJECT, "--package", PACKAGE, "--endpoint",
               hostile_server.url, "--timeout", "2"])
    out, err = capsys.readouterr()
    assert rc == 1 and out == "" and code in err and err.count("\n") == 1

    server = guard_env[1]
    server.reset()
    server.handler = lambda _r: make()
    started = time.monotonic()
    refusal = guard_delete(guard_env)
    assert refusal is not None and "GuardCheckFailed" in refusal and code in refusal
    assert time.monotonic() - started < 5.0 * 4 + 10  # the guard's 5 s per attempt, bounded
    record("fail_closed", case=kind, path="library+cli+guard", ok=True)
