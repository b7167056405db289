"""The real client against the real emulator on loopback: paging, names, errors, retries, credentials."""

from __future__ import annotations

import copy
import pickle
import socket
from urllib.parse import quote

import pytest

from clients import client_for_server
from foas_refjobs import (
    AuthError,
    Credentials,
    FoasClient,
    InvalidInputError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    ParameterError,
    RetryPolicy,
    ServerError,
    ThrottlingError,
    list_ref_package_jobs,
)
from foas_refjobs.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
)
from foas_refjobs.emulator.datagen import generate_jobs

FAST = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.005, throttle_base_delay=0.001)
STS_ID, STS_SECRET, STS_TOKEN = "STS.EmulatorDemoKey", "emulator-sts-secret", "emulator-sts-token-CAIS"
OTHER_ID, OTHER_SECRET = "LTAI5tSomeoneElse", "someone-else-secret"


def client_for(emu, creds=None, **kwargs) -> FoasClient:
    return client_for_server(emu, creds, **kwargs)


def listing(emu, project, package, creds=None, client_kwargs=None, **kwargs):
    with client_for(emu, creds, **(client_kwargs or {})) as client:
        return client.list_ref_package_jobs(project, package, **kwargs)


def server_ids(emu, project, package) -> list[str]:
    return [j["JobId"] for j in emu.state.referencing_jobs(project, package)]


def fill(emu, count, project="proj", package="lib.jar"):
    for job in generate_jobs(project, package, count):
        emu.state.put_job(project, job)
    emu.state.add_package(project, package)  # registered even when no job uses it


# --- paging -------------------------------------------------------------------------------


@pytest.mark.parametrize("max_concurrency", [1, None], ids=["sequential", "default-concurrency"])
@pytest.mark.parametrize(("count", "expected_pages"), [
    pytest.param(0, 1, id="no-jobs"),
    pytest.param(1, 1, id="one-job"),
    pytest.param(5, 1, id="exactly-one-full-page"),
    pytest.param(10, 2, id="two-full-pages"),
    pytest.param(17, 4, id="three-full-pages-and-a-partial-one"),
])
def test_paging(empty_emulator, count, expected_pages, max_concurrency):
    fill(empty_emulator, count)
    kwargs = {} if max_concurrency is None else {"max_concurrency": max_concurrency}
    result = listing(empty_emulator, "proj", "lib.jar", client_kwargs=kwargs, page_size=5)

    expected = server_ids(empty_emulator, "proj", "lib.jar")
    assert len(expected) == count
    assert result.job_ids == expected  # server order, across pages
    assert len(set(result.job_ids)) == count
    assert result.total_count == result.server_total_count == count
    assert result.consistent and result.inconsistency is None
    assert result.pages_fetched == expected_pages

    records = list(empty_emulator.requests)
    indexes = [int(r.query["pageIndex"]) for r in records]
    assert indexes[0] == 1  # page 1 first: it tells how many pages there are
    assert sorted(indexes) == list(range(1, expected_pages + 1))
    if max_concurrency == 1:
        assert indexes == sorted(indexes)
    assert {r.query["pageSize"] for r in records} == {"5"}
    assert {r.status for r in records} == {200}
    assert {r.access_key_id for r in records} == {DEFAULT_ACCESS_KEY_ID}
    assert {r.segments for r in records} == {("proj", "lib.jar")}


def _sizes(emu) -> list[str]:
    sizes = [r.query["pageSize"] for r in emu.requests]
    emu.requests.clear()
    return sizes


def test_a_one_page_listing_asks_50_and_learns_nothing(empty_emulator):
    fill(empty_emulator, 30)
    with client_for(empty_emulator) as client:
        assert client.list_ref_package_jobs("proj", "lib.jar").total_count == 30
        assert client.page_size is None
    assert _sizes(empty_emulator) == ["50"]


def test_page_size_is_found_once_when_larger_ones_are_refused(empty_emulator):
    fill(empty_emulator, 120)
    with client_for(empty_emulator) as client:
        first = client.list_ref_package_jobs("proj", "lib.jar")
        assert _sizes(empty_emulator) == ["50", "1000", "200", "100", "100"]
        assert client.page_size == 100
        second = client.list_ref_package_jobs("proj", "lib.jar")
        assert _sizes(empty_emulator) == ["100", "100"]  # remembered: no probing again
    assert first.job_ids == second.job_ids == server_ids(empty_emulator, "proj", "lib.jar")
    assert first.consistent and len(first.job_ids) == 120


def test_page_size_is_taken_from_a_service_that_clamps(empty_emulator):
    fill(empty_emulator, 700)
    empty_emulator.state.max_page_size = 300
    empty_emulator.state.clamp_page_size = True
    with client_for(empty_emulator) as client:
        jobs = client.list_ref_package_jobs("proj", "lib.jar")
        assert client.page_size == 300
    # page 1 of the probe (asked 1000, answered 300) is kept; pages 2 and 3 are asked at 300
    assert _sizes(empty_emulator) == ["50", "1000", "300", "300"]
    assert jobs.job_ids == server_ids(empty_emulator, "proj", "lib.jar") and jobs.consistent


def test_a_larger_accepted_page_size_is_used(empty_emulator):
    fill(empty_emulator, 450)
    empty_emulator.state.max_page_size = 1000
    with client_for(empty_emulator) as client:
        jobs = client.list_ref_package_jobs("proj", "lib.jar")
        assert client.page_size == 1000
    assert _sizes(empty_emulator) == ["50", "1000"]
    assert len(jobs.job_ids) == 450 and jobs.consistent


def test_a_service_smaller_than_the_first_page_is_followed(empty_emulator):
    fill(empty_emulator, 45)
    empty_emulator.state.max_page_size = 20
    empty_emulator.state.clamp_page_size = True
    with client_for(empty_emulator) as client:
        jobs = client.list_ref_package_jobs("proj", "lib.jar")
        assert client.page_size == 20
    assert _sizes(empty_emulator) == ["50", "20", "20"]
    assert jobs.job_ids == server_ids(empty_emulator, "proj", "lib.jar") and jobs.consistent


def test_an_explicit_page_size_is_asked_and_never_probed(empty_emulator):
    fill(empty_emulator, 120)
    assert listing(empty_emulator, "proj", "lib.jar", page_size=100).total_count == 120
    assert _sizes(empty_emulator) == ["100"] * 2
    empty_emulator.state.max_page_size = 40
    empty_emulator.state.clamp_page_size = True
    jobs = listing(empty_emulator, "proj", "lib.jar", page_size=60)
    # the service answered PageSize 40: the later pages follow it, or offsets would skip jobs
    assert _sizes(empty_emulator) == ["60", "40", "40"]
    assert jobs.total_count == 120 and jobs.consistent


def test_a_job_shifting_onto_a_read_page_is_deduplicated_and_relisted(empty_emulator):
    """A job created at the front while page 2 is read pushes page 1's last job onto page 2."""
    fill(empty_emulator, 10)
    state = empty_emulator.state
    new_job = generate_jobs("proj", "lib.jar", 1, seed=999)[0]

    def insert_at_front(number):
        if number == 2:
            old = state.referencing_jobs("proj", "lib.jar")
            state.remove_jobs_referencing("proj", "lib.jar")
            for job in [new_job, *old]:
                state.put_job("proj", job)

    empty_emulator.before_request.append(insert_at_front)
    result = listing(empty_emulator, "proj", "lib.jar", client_kwargs={"max_concurrency": 1},
                     page_size=5)
    expected = server_ids(empty_emulator, "proj", "lib.jar")
    assert expected[0] == new_job["JobId"] and len(expected) == 11
    assert result.job_ids == expected
    assert len(set(result.job_ids)) == len(result.job_ids)
    assert result.consistent
    # First read: pages 1, 2 (now 3 pages), 3; then a fresh re-read of all 3 pages.
    assert [int(r.query["pageIndex"]) for r in empty_emulator.requests] == [1, 2, 3, 1, 2, 3]


@pytest.mark.parametrize(("kwargs", "keep"), [
    ({}, lambda j: True),
    ({"job_type": "FLINK_BATCH"}, lambda j: j["JobType"] == "FLINK_BATCH"),
    ({"job_type": "flink_stream"}, lambda j: j["JobType"] == "FLINK_STREAM"),
    ({"committed_only": True}, lambda j: j["IsCommitted"] is True),
    ({"committed_only": True, "job_type": "FLINK_STREAM"},
     lambda j: j["IsCommitted"] is True and j["JobType"] == "FLINK_STREAM"),
])
def test_filters(emulator, kwargs, keep):
    result = listing(emulator, "bayes_team", "blink_test_datastream.jar", **kwargs)
    expected = [j["JobId"] for j in emulator.state.referencing_jobs("bayes_team", "blink_test_datastream.jar")
                if keep(j)]
    assert 0 < len(expected) < 15 if kwargs else len(expected) == 15
    assert result.job_ids == expected
    assert result.server_total_count == 15


def test_progress_callback(empty_emulator):
    fill(empty_emulator, 12)
    calls = []
    listing(empty_emulator, "proj", "lib.jar", page_size=5, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (1, 3) and calls[-1] == (3, 3)


# --- names --------------------------------------------------------------------------------


SPECIAL_NAMES = [
    "with space.jar", "dir/inside.jar", "what?.jar", "hash#1.jar", "100%.jar", "a..b.jar", "..x",
    "x..", "名字-ü.jar", "a+b.jar", "a&b.jar", "a=b.jar", "%2F..%2F", "my jar (v2)/final#1.jar",
]


@pytest.mark.parametrize("name", SPECIAL_NAMES)
def test_special_names_round_trip(empty_emulator, name):
    project = f"p {name}"
    empty_emulator.state.put_job(project, {"JobId": "job-1", "Packages": name, "JobName": name})
    empty_emulator.state.put_job(project, {"JobId": "job-2", "Packages": "other.jar"})
    result = listing(empty_emulator, project, name)
    assert result.job_ids == ["job-1"]
    assert result.jobs[0].packages == (name,)
    assert (result.project_name, result.package_name) == (project, name)
    (record,) = empty_emulator.requests
    assert record.status == 200
    assert record.segments == (project, name)
    path = record.raw_path.partition("?")[0]
    parts = path.strip("/").split("/")
    assert len(parts) == 7
    assert parts == ["api", "v2", "projects", quote(project, safe=""), "packages", quote(name, safe=""),
                     "jobs"]


@pytest.mark.parametrize(("project", "package"), [
    (".", "a.jar"), ("..", "a.jar"), ("p", "."), ("p", ".."), ("", "a.jar"), ("p", " "),
    ("p", "a\nb.jar"),
])
def test_dot_segments_and_bad_names_are_rejected_before_any_request(emulator, project, package):
    with pytest.raises(InvalidInputError):
        listing(emulator, project, package)
    with pytest.raises(InvalidInputError):
        list_ref_package_jobs(project, package, endpoint=emulator.url)  # before credentials, too
    assert len(emulator.requests) == 0


# --- errors -------------------------------------------------------------------------------


def _wrong_secret(emu):
    return {"creds": Credentials(DEFAULT_ACCESS_KEY_ID, "wrong-secret")}


def _unknown_key(emu):
    return {"creds": Credentials("LTAI-nobody", "whatever")}


def _sts_without_token(emu):
    return {"creds": Credentials(STS_ID, STS_SECRET)}


def _fault(kind, **params):
    def setup(emu):
        emu.faults.add(kind, times=None, **params)
        return {}
    return setup


# (id, setup, project, package, class, code, http status, has request id, attempts)
ERROR_CASES = [
    ("project-not-exist", None, "nope", "x.jar", NotFoundError, "Project.NotExist", 404, True, 1),
    ("package-not-exist", None, "bayes_team", "nope.jar", NotFoundError, "Package.NotExist", 404, True, 1),
    ("wrong-secret", _wrong_secret, "bayes_team", "wordcount.jar", AuthError, "SignatureDoesNotMatch",
     400, True, 1),
    ("unknown-key", _unknown_key, "bayes_team", "wordcount.jar", AuthError, "InvalidAccessKeyId.NotFound",
     404, True, 1),
    ("sts-without-token", _sts_without_token, "bayes_team", "wordcount.jar", AuthError,
     "InvalidSecurityToken.MismatchWithAccessKey", 400, True, 1),
    ("throttled", _fault("throttle"), "bayes_team", "wordcount.jar", ThrottlingError, "Throttling.User",
     429, True, 4),
    ("503", _fault("error", status=503), "bayes_team", "wordcount.jar", ServerError, "ServiceUnavailable",
     503, True, 4),
    ("500", _fault("error"), "bayes_team", "wordcount.jar", ServerError, "InternalError", 500, True, 4),
    ("html-502", _fault("html"), "bayes_team", "wordcount.jar", ServerError, "HTTP502", 502, False, 4),
    ("not-json-200", _fault("not_json"), "bayes_team", "wordcount.jar", MalformedResponseError,
     "MalformedResponse", None, False, 1),
    ("wrong-shape-200", _fault("wrong_shape"), "bayes_team", "wordcount.jar", MalformedResponseError,
     "MalformedResponse", None, True, 1),
]


@pytest.mark.parametrize(("setup", "project", "package", "cls", "code", "status", "has_rid", "attempts"),
                         [pytest.param(*case[1:], id=case[0]) for case in ERROR_CASES])
def test_error_classes(emulator, setup, project, package, cls, code, status, has_rid, attempts):
    extra = setup(emulator) if setup else {}
    with pytest.raises(cls) as info:
        listing(emulator, project, package, **extra)
    error = info.value
    assert type(error) is cls
    assert error.code == code
    assert error.http_status == status
    assert error.message
    records = list(emulator.requests)
    assert len(records) == attempts  # retried only when retrying can help
    if has_rid:
        assert error.request_id and len(error.request_id) == 36
        assert error.request_id in str(error)
    else:
        assert error.request_id is None
    if status is not None:
        assert records[-1].status == status


def test_error_message_is_the_services(emulator):
    with pytest.raises(NotFoundError) as info:
        listing(emulator, "bayes_team", "nope.jar")
    assert info.value.message == "The package nope.jar does not exist in project bayes_team."
    assert str(info.value) == (f"Package.NotExist: {info.value.message} "
                               f"(RequestId {info.value.request_id})")


@pytest.mark.parametrize(("page_index", "page_size", "param"), [
    (1, 101, "pageSize"), (1, 0, "pageSize"), (0, 10, "pageIndex"),
])
def test_parameter_error_from_the_service(emulator, page_index, page_size, param):
    # The client validates page_size itself; fetch_page is the raw building block that does not.
    with client_for(emulator) as client, pytest.raises(ParameterError) as info:
        client.fetch_page("bayes_team", "wordcount.jar", page_index, page_size)
    assert (info.value.code, info.value.http_status) == ("InvalidParameter", 400)
    assert info.value.request_id and param in info.value.message


@pytest.mark.parametrize("page_size", [0, 101, True, "10"])
def test_page_size_is_validated_before_sending(emulator, page_size):
    with pytest.raises(InvalidInputError):
        listing(emulator, "bayes_team", "wordcount.jar", page_size=page_size)
    assert len(emulator.requests) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_port_is_a_network_error():
    creds = Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    with FoasClient(endpoint=f"http://127.0.0.1:{_free_port()}", credentials=creds,
                    retry_policy=FAST) as client, pytest.raises(NetworkError) as info:
        client.list_ref_package_jobs("bayes_team", "wordcount.jar")
    assert info.value.code == "NetworkError"
    assert info.value.http_status is None and info.value.request_id is None


# --- retries ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "params", "first_statuses"), [
    ("throttle", {}, [429, 429]),
    ("error", {"status": 503}, [503, 503]),
    ("drop_connection", {}, [200, 200]),  # recorded as handled, then the socket was dropped
])
def test_retry_then_success(emulator, kind, params, first_statuses):
    emulator.faults.add(kind, times=2, **params)
    result = listing(emulator, "bayes_team", "wordcount.jar")
    assert result.job_ids == server_ids(emulator, "bayes_team", "wordcount.jar")
    assert [r.status for r in emulator.requests] == [*first_statuses, 200]
    assert len(emulator.requests) == 3


def test_retry_on_a_later_page(empty_emulator):
    fill(empty_emulator, 12)
    empty_emulator.faults.add("throttle", after=1, times=1)
    result = listing(empty_emulator, "proj", "lib.jar", client_kwargs={"max_concurrency": 1}, page_size=5)
    assert result.job_ids == server_ids(empty_emulator, "proj", "lib.jar")
    assert [(r.query["pageIndex"], r.status) for r in empty_emulator.requests] == [
        ("1", 200), ("2", 429), ("2", 200), ("3", 200)]


def test_no_retry_when_max_attempts_is_one(emulator):
    emulator.faults.add("throttle", times=1)
    with pytest.raises(ThrottlingError):
        listing(emulator, "bayes_team", "wordcount.jar", client_kwargs={"retry_policy": RetryPolicy(1)})
    assert len(emulator.requests) == 1


@pytest.mark.parametrize("creds", [
    Credentials(DEFAULT_ACCESS_KEY_ID, "wrong-secret"),
    Credentials("LTAI-nobody", "x-secret"),
    Credentials(STS_ID, STS_SECRET, "wrong-token"),
], ids=["wrong-secret", "unknown-key", "wrong-token"])
def test_no_retry_on_permission_errors(emulator, creds):
    with pytest.raises(AuthError):
        listing(emulator, "bayes_team", "wordcount.jar", creds=creds)
    assert len(emulator.requests) == 1


# --- endpoints and credentials ------------------------------------------------------------


def test_http_endpoint_with_explicit_scheme(emulator):
    creds = Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    result = list_ref_package_jobs("project1", "package1.jar", endpoint=f"http://127.0.0.1:{emulator.port}",
                                   credentials=creds)
    assert result.job_ids == server_ids(emulator, "project1", "package1.jar")


def test_endpoint_without_scheme_means_https(emulator):
    creds = Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    with FoasClient(endpoint=f"127.0.0.1:{emulator.port}", credentials=creds,
                    retry_policy=RetryPolicy(1)) as client:
        assert client.endpoint.url == f"https://127.0.0.1:{emulator.port}"
        with pytest.raises(NetworkError):
            client.list_ref_package_jobs("project1", "package1.jar")
    # A TLS handshake is no API request: the plain-http emulator never served one.
    assert len(emulator.requests) == 0


def test_sts_credentials_work(emulator):
    result = listing(emulator, "project1", "package1.jar", creds=Credentials(STS_ID, STS_SECRET, STS_TOKEN))
    assert result.total_count == 3
    assert emulator.requests[-1].access_key_id == STS_ID


@pytest.mark.parametrize("creds", [
    Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET),
    Credentials(STS_ID, STS_SECRET, STS_TOKEN),
], ids=["access-key", "sts"])
def test_aliyun_env_does_not_override_the_passed_credential(emulator, monkeypatch, creds):
    # Another *valid* key in ALIYUN_*: if the SDK swapped it in, the call would still succeed,
    # but the emulator would record the other key id.
    emulator.state.add_access_key(OTHER_ID, OTHER_SECRET)
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_ID", OTHER_ID)
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_SECRET", OTHER_SECRET)
    assert listing(emulator, "project1", "package1.jar", creds=creds).total_count == 3
    assert [r.access_key_id for r in emulator.requests] == [creds.access_key_id]


def test_the_sdk_alone_would_let_aliyun_env_override(monkeypatch):
    """The premise of the test above: a bare AcsClient swaps an STS credential for ALIYUN_*."""
    from aliyunsdkcore.auth.credentials import StsTokenCredential
    from aliyunsdkcore.auth.signers.access_key_signer import AccessKeySigner
    from aliyunsdkcore.client import AcsClient

    monkeypatch.setenv("ALIYUN_ACCESS_KEY_ID", OTHER_ID)
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_SECRET", OTHER_SECRET)
    bare = AcsClient(credential=StsTokenCredential(STS_ID, STS_SECRET, STS_TOKEN), region_id="cn-hangzhou")
    assert isinstance(bare._signer, AccessKeySigner)


def test_alibaba_cloud_env_is_used_only_without_a_passed_credential(emulator, monkeypatch):
    emulator.state.add_access_key(OTHER_ID, OTHER_SECRET)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", OTHER_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", OTHER_SECRET)
    list_ref_package_jobs("project1", "package1.jar", endpoint=emulator.url)
    list_ref_package_jobs("project1", "package1.jar", endpoint=emulator.url,
                          credentials=Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET))
    assert [r.access_key_id for r in emulator.requests] == [OTHER_ID, DEFAULT_ACCESS_KEY_ID]


def test_region_goes_into_the_query(emulator):
    listing(emulator, "project1", "package1.jar", client_kwargs={"region_id": "cn-shanghai"})
    assert emulator.requests[-1].query["RegionId"] == "cn-shanghai"


def test_client_and_credentials_refuse_pickling_and_hide_secrets(emulator):
    creds = Credentials(STS_ID, STS_SECRET, STS_TOKEN)
    with client_for(emulator, creds) as client:
        for obj in (client, creds):
            with pytest.raises(TypeError):
                pickle.dumps(obj)
            with pytest.raises(TypeError):
                copy.deepcopy(obj)
            for text in (repr(obj), str(obj)):
                assert STS_SECRET not in text
                assert STS_TOKEN not in text
        assert STS_ID in repr(client) and emulator.url in repr(client)


@pytest.mark.parametrize("kwargs", [
    {"max_concurrency": 0}, {"max_concurrency": 65}, {"max_concurrency": True},
    {"timeout": 0}, {"connect_timeout": -1}, {"endpoint": "ftp://x"}, {"region_id": "Bad Region"},
    {"max_attempts": 0},
])
def test_client_options_are_validated(kwargs):
    kwargs.setdefault("credentials", Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET))
    with pytest.raises(InvalidInputError):
        FoasClient(**kwargs)


def test_one_client_serves_many_listings(emulator):
    with client_for(emulator) as client:
        first = client.list_ref_package_jobs("bayes_team", "wordcount.jar")
        second = client.list_ref_package_jobs("bayes_team", "udf-common.jar")
    assert first.job_ids == server_ids(emulator, "bayes_team", "wordcount.jar")
    assert second.job_ids == server_ids(emulator, "bayes_team", "udf-common.jar")
    assert len(emulator.requests) == 2
