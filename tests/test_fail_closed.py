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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

from _figures import record
from foas_refjobs import (
    AuthError,
    Credentials,
    FoasClient,
    FoasError,
    MalformedResponseError,
    NotFoundError,
)
from foas_refjobs.cli import main
from hostile_server import HostileServer, Reply, job

PROJECT, PACKAGE = "proj", "udf.jar"
KEY_ID, SECRET = "hostile-key-id", "hostile-secret-value-0123"
JOBS = [job("j1"), job("j2"), job("j3")]
J = [json.dumps(j) for j in JOBS]


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


def _client(server: HostileServer) -> FoasClient:
    return FoasClient(endpoint=server.url, credentials=Credentials(KEY_ID, SECRET), max_attempts=1,
                      max_concurrency=1)


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
def test_cli_gate(hostile_server: HostileServer, case: Case, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> None:
    _serve(hostile_server, case)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
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

_serial = itertools.count(1)


@pytest.fixture(scope="module")
def guard_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, HostileServer, str]]:
    pytest.importorskip("pulumi")
    from foas_refjobs import PackageDeletionGuardProvider
    from pulumi_host import ProviderHost, serialized

    home = tmp_path_factory.mktemp("guard-home")
    env = {k: v for k, v in __import__("os").environ.items()
           if not k.startswith(("ALIBABA_CLOUD_", "ALICLOUD_", "ALIYUN_"))}
    env["HOME"] = str(home)
    with HostileServer() as server:
        host = ProviderHost(Path(tmp_path_factory.mktemp("guard-host")), env=env)
        try:
            provider = serialized(PackageDeletionGuardProvider(max_attempts=1, timeout=5.0))
            host.configure({"foas:accessKeyId": KEY_ID, "foas:accessKeySecret": SECRET,
                            "foas:endpoint": server.url}, ("foas:accessKeySecret",))
            yield host, server, provider
        finally:
            host.close()


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
