"""The emulator itself, spoken to with raw http.client: signatures, paging, data, faults.

Requests are signed with `foas_refjobs.emulator.signature` (written from the protocol, not the
SDK) or captured from a real SDK call, so these tests prove the emulator verifies for real.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from foas_refjobs import Credentials, FoasClient, RetryPolicy
from foas_refjobs.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    FAULT_KINDS,
    EmulatorState,
    FaultRule,
    FoasEmulator,
)
from foas_refjobs.emulator import signature as sig
from foas_refjobs.emulator.datagen import generate_jobs

DATA = Path(__file__).parent / "data"
API_VERSION = "2018-11-11"
STS_ID, STS_SECRET, STS_TOKEN = "STS.EmulatorDemoKey", "emulator-sts-secret", "emulator-sts-token-CAIS"


def jobs_path(project: str, package: str) -> str:
    return f"/api/v2/projects/{quote(project, safe='')}/packages/{quote(package, safe='')}/jobs"


def signed_headers(path: str, query: str, *, key_id=DEFAULT_ACCESS_KEY_ID,
                   secret=DEFAULT_ACCESS_KEY_SECRET, date=None, extra=None, method="GET"):
    headers = {
        "Accept": "application/json",
        "Date": date or formatdate(usegmt=True),
        "x-acs-action": "GetRefPackageJob",
        "x-acs-version": API_VERSION,
        "x-acs-signature-method": "HMAC-SHA1",
        "x-acs-signature-version": "1.0",
        **(extra or {}),
    }
    text = sig.string_to_sign(method, headers, path, query)
    headers["Authorization"] = f"acs {key_id}:{sig.sign(secret, text)}"
    return headers


class Raw:
    """A response read with http.client, body kept as bytes."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def send(emu, path, query="", headers=None, method="GET") -> Raw:
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=30)
    try:
        conn.request(method, path + (f"?{query}" if query else ""), headers=headers or {})
        resp = conn.getresponse()
        return Raw(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def get(emu, project="bayes_team", package="blink_test_datastream.jar", params=None, **sign_kw) -> Raw:
    path = jobs_path(project, package)
    query = urlencode(params or {})
    return send(emu, path, query, signed_headers(path, query, **sign_kw))


def assert_error(resp: Raw, status: int, code: str):
    assert resp.status == status, resp.body
    body = resp.json()
    assert set(body) == {"Code", "Message", "RequestId", "HostId"}
    assert body["Code"] == code
    assert body["Message"] and body["HostId"]
    assert len(body["RequestId"]) == 36
    assert resp.headers.get("x-acs-request-id") == body["RequestId"]
    return body


@pytest.fixture
def sample_job() -> dict:
    return json.loads((DATA / "sample_response.json").read_text("utf-8"))["Jobs"]["Job"][0]


# --- signature verification: both directions ----------------------------------------------


def test_accepts_a_correctly_signed_raw_request(emulator):
    resp = get(emulator, params={"pageSize": 5, "pageIndex": 1})
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["TotalCount"] == 15 and len(body["Jobs"]["Job"]) == 5
    assert emulator.requests[-1].access_key_id == DEFAULT_ACCESS_KEY_ID
    assert emulator.requests[-1].status == 200


def test_accepts_sts_with_its_token(emulator):
    resp = get(emulator, key_id=STS_ID, secret=STS_SECRET, extra={"x-acs-security-token": STS_TOKEN})
    assert resp.status == 200, resp.body


def test_missing_authorization(emulator):
    path = jobs_path("bayes_team", "wordcount.jar")
    headers = signed_headers(path, "")
    del headers["Authorization"]
    assert_error(send(emulator, path, "", headers), 400, "IncompleteSignature")
    assert emulator.requests[-1].access_key_id is None


@pytest.mark.parametrize("auth", ["Bearer abc", "acs ", "acs nokeyorsig", "acs :sig", "acs id:"])
def test_malformed_authorization(emulator, auth):
    path = jobs_path("bayes_team", "wordcount.jar")
    headers = {**signed_headers(path, ""), "Authorization": auth}
    assert_error(send(emulator, path, "", headers), 400, "IncompleteSignature")


def test_wrong_secret(emulator):
    body = assert_error(get(emulator, secret="not-the-secret"), 400, "SignatureDoesNotMatch")
    assert "server string to sign is:" in body["Message"]
    assert emulator.requests[-1].access_key_id == DEFAULT_ACCESS_KEY_ID


def test_unknown_key(emulator):
    assert_error(get(emulator, key_id="LTAI-nobody"), 404, "InvalidAccessKeyId.NotFound")


@pytest.mark.parametrize("extra", [{}, {"x-acs-security-token": "wrong-token"}])
def test_sts_token_is_required(emulator, extra):
    resp = get(emulator, key_id=STS_ID, secret=STS_SECRET, extra=extra)
    assert_error(resp, 400, "InvalidSecurityToken.MismatchWithAccessKey")


@pytest.mark.parametrize(("offset", "status", "code"), [
    (-3600, 400, "InvalidTimeStamp.Expired"),
    (+3600, 400, "InvalidTimeStamp.Expired"),
    (-60, 200, None),
])
def test_date_skew(emulator, offset, status, code):
    resp = get(emulator, date=formatdate(time.time() + offset, usegmt=True))
    if code is None:
        assert resp.status == status, resp.body
    else:
        assert_error(resp, status, code)


@pytest.mark.parametrize("date", ["", "yesterday"])
def test_missing_or_malformed_date(emulator, date):
    path = jobs_path("bayes_team", "wordcount.jar")
    headers = signed_headers(path, "", date="placeholder")
    headers["Date"] = date
    if not date:
        del headers["Date"]
    assert_error(send(emulator, path, "", headers), 400, "MissingParameter.Date")


@pytest.mark.parametrize(("header", "value", "code"), [
    ("x-acs-signature-method", "HMAC-SHA256", "InvalidSignatureMethod"),
    ("x-acs-signature-version", "2.0", "InvalidSignatureMethod"),
    ("x-acs-version", "2017-06-01", "InvalidVersion"),
])
def test_signature_method_and_version(emulator, header, value, code):
    assert_error(get(emulator, extra={header: value}), 400, code)


def test_tampered_query(emulator):
    path = jobs_path("bayes_team", "blink_test_datastream.jar")
    headers = signed_headers(path, "pageIndex=1&pageSize=5")
    assert send(emulator, path, "pageIndex=1&pageSize=5", headers).status == 200
    assert_error(send(emulator, path, "pageIndex=1&pageSize=50", headers), 400, "SignatureDoesNotMatch")
    assert_error(send(emulator, path, "pageIndex=1&pageSize=5&extra=1", headers), 400,
                 "SignatureDoesNotMatch")


def test_tampered_path(emulator):
    signed_for = jobs_path("bayes_team", "blink_test_datastream.jar")
    headers = signed_headers(signed_for, "")
    other = jobs_path("bayes_team", "wordcount.jar")
    assert_error(send(emulator, other, "", headers), 400, "SignatureDoesNotMatch")


def test_tampered_signed_header(emulator):
    path = jobs_path("bayes_team", "wordcount.jar")
    headers = signed_headers(path, "")
    headers["x-acs-action"] = "DeleteJob"
    assert_error(send(emulator, path, "", headers), 400, "SignatureDoesNotMatch")


def test_query_order_does_not_matter_but_values_do(emulator):
    path = jobs_path("bayes_team", "wordcount.jar")
    headers = signed_headers(path, "pageSize=2&pageIndex=1")
    assert send(emulator, path, "pageIndex=1&pageSize=2", headers).status == 200


class _Capture(BaseHTTPRequestHandler):
    """Records the SDK's request and answers an empty page."""

    protocol_version = "HTTP/1.1"
    captured: list = []

    def do_GET(self):
        type(self).captured.append((self.path, dict(self.headers.items())))
        body = json.dumps({"TotalCount": 0, "TotalPage": 0, "PageSize": 5, "PageIndex": 1,
                           "RequestId": "CAPTURED", "Jobs": {"Job": []}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        return


@pytest.fixture
def sdk_request():
    """The exact path and headers the real client (SDK) sends for one page."""
    _Capture.captured = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        creds = Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with FoasClient(endpoint=url, credentials=creds) as client:
            client.list_ref_package_jobs("bayes_team", "blink_test_datastream.jar", page_size=5)
    finally:
        server.shutdown()
        server.server_close()
    assert len(_Capture.captured) == 1
    path, headers = _Capture.captured[0]
    headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
    return path, headers


def test_replayed_sdk_request_is_accepted_and_tampering_is_not(emulator, sdk_request):
    full_path, headers = sdk_request
    path, _, query = full_path.partition("?")
    assert "pageSize=5" in query
    ok = send(emulator, path, query, headers)
    assert ok.status == 200, ok.body
    assert ok.json()["PageSize"] == 5
    assert_error(send(emulator, path, query.replace("pageSize=5", "pageSize=6"), headers),
                 400, "SignatureDoesNotMatch")
    assert_error(send(emulator, path.replace("blink_test_datastream.jar", "wordcount.jar"), query,
                      headers), 400, "SignatureDoesNotMatch")
    assert_error(send(emulator, path, query, {**headers, "Date": formatdate(time.time() + 5, usegmt=True)}),
                 400, "SignatureDoesNotMatch")


def test_verification_can_be_switched_off():
    with FoasEmulator(verify_signatures=False) as emu:
        resp = send(emu, jobs_path("bayes_team", "wordcount.jar"))
        assert resp.status == 200
        assert resp.json()["TotalCount"] == 7
        assert emu.requests[-1].access_key_id is None


# --- routes, paging, errors ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v2/projects/bayes_team/packages/wordcount.jar"),
    ("GET", "/api/v2/projects/bayes_team/jobs"),
    ("POST", "/api/v2/projects/bayes_team/packages/wordcount.jar/jobs"),
    ("DELETE", "/api/v2/projects/bayes_team/packages/wordcount.jar/jobs"),
    ("GET", "/"),
])
def test_unknown_route(emulator, method, path):
    resp = send(emulator, path, "", signed_headers(path, "", method=method), method=method)
    assert_error(resp, 404, "InvalidAction.NotFound")


@pytest.mark.parametrize(("project", "package", "code"), [
    ("no-such-project", "wordcount.jar", "Project.NotExist"),
    ("bayes_team", "no-such.jar", "Package.NotExist"),
    ("project1", "wordcount.jar", "Package.NotExist"),
])
def test_not_found(emulator, project, package, code):
    body = assert_error(get(emulator, project, package), 404, code)
    assert project in body["Message"]


def test_registered_unused_package_is_an_empty_list(emulator):
    resp = get(emulator, "bayes_team", "unused-udf.jar")
    assert resp.status == 200
    body = resp.json()
    assert body["TotalCount"] == 0 and body["TotalPage"] == 0
    assert body["Jobs"] == {"Job": []}


def _paged_state(count: int) -> EmulatorState:
    return EmulatorState.with_jobs("p", "x.jar", generate_jobs("p", "x.jar", count))


@pytest.mark.parametrize(("count", "size", "index", "expected_len"), [
    (23, 10, 1, 10),
    (23, 10, 2, 10),
    (23, 10, 3, 3),
    (23, 10, 4, 0),
    (23, 10, 99, 0),
    (20, 10, 2, 10),
    (20, 10, 3, 0),
    (0, 10, 1, 0),
    (1, 1, 1, 1),
    (100, 100, 1, 100),
])
def test_paging_fields(empty_emulator, count, size, index, expected_len):
    emu = empty_emulator
    emu.state = _paged_state(count)
    resp = get(emu, "p", "x.jar", params={"pageSize": size, "pageIndex": index})
    expected_ids = [j["JobId"] for j in emu.state.referencing_jobs("p", "x.jar")]
    assert resp.status == 200
    body = resp.json()
    assert set(body) == {"TotalCount", "TotalPage", "PageSize", "PageIndex", "RequestId", "Jobs"}
    assert body["TotalCount"] == count
    assert body["TotalPage"] == (count + size - 1) // size
    assert (body["PageSize"], body["PageIndex"]) == (size, index)
    assert body["RequestId"] == resp.headers["x-acs-request-id"]
    ids = [j["JobId"] for j in body["Jobs"]["Job"]]
    assert len(ids) == expected_len
    assert ids == expected_ids[(index - 1) * size:index * size]


def test_default_page_size_is_10_and_index_1(empty_emulator):
    empty_emulator.state = _paged_state(23)
    body = get(empty_emulator, "p", "x.jar").json()
    assert (body["PageSize"], body["PageIndex"], body["TotalPage"]) == (10, 1, 3)
    assert len(body["Jobs"]["Job"]) == 10


@pytest.mark.parametrize("params", [
    {"pageSize": 0}, {"pageSize": 101}, {"pageSize": -5}, {"pageSize": "ten"}, {"pageSize": "1.5"},
    {"pageIndex": 0}, {"pageIndex": -1}, {"pageIndex": "first"},
])
def test_invalid_paging_parameters(emulator, params):
    body = assert_error(get(emulator, params=params), 400, "InvalidParameter")
    assert next(iter(params)) in body["Message"]


def test_empty_paging_parameters_mean_defaults(emulator):
    body = get(emulator, params={"pageSize": "", "pageIndex": ""}).json()
    assert (body["PageSize"], body["PageIndex"]) == (10, 1)


def test_special_character_names_are_decoded_once(empty_emulator):
    name = "my jar (v2)/final#1?.jar%2F"
    empty_emulator.state.put_job("proj ü", {"JobId": "j1", "Packages": name})
    resp = get(empty_emulator, "proj ü", name)
    assert resp.status == 200, resp.body
    assert resp.json()["TotalCount"] == 1
    assert empty_emulator.requests[-1].segments == ("proj ü", name)


def test_request_records(emulator):
    get(emulator, params={"pageSize": 3, "pageIndex": 2})
    get(emulator, secret="bad")
    first, second = list(emulator.requests)[-2:]
    assert second.number == first.number + 1
    assert first.method == "GET"
    assert first.raw_path == jobs_path("bayes_team", "blink_test_datastream.jar") + "?pageSize=3&pageIndex=2"
    assert first.query == {"pageSize": "3", "pageIndex": "2"}
    assert first.segments == ("bayes_team", "blink_test_datastream.jar")
    assert (first.status, second.status) == (200, 400)


# --- data ---------------------------------------------------------------------------------


def test_default_data_contains_the_reference_sample_verbatim(emulator, sample_job):
    stored = [j for j in emulator.state.referencing_jobs("bayes_team", "blink_test_datastream.jar")
              if j["JobId"] == sample_job["JobId"]]
    assert stored == [sample_job]
    served = get(emulator, params={"pageSize": 1, "pageIndex": 1}).json()["Jobs"]["Job"]
    assert served == [sample_job]


def test_default_data_set_contents():
    state = EmulatorState.default()
    assert state.secret_for(DEFAULT_ACCESS_KEY_ID) == (DEFAULT_ACCESS_KEY_SECRET, None)
    assert state.secret_for(STS_ID) == (STS_SECRET, STS_TOKEN)
    projects = state.projects()
    assert set(projects) == {"bayes_team", "project1"}
    counts = {pkg: len(state.referencing_jobs("bayes_team", pkg))
              for pkg in projects["bayes_team"]["packages"]}
    assert counts == {"blink_test_datastream.jar": 15, "udf-common.jar": 7, "wordcount.jar": 7,
                      "unused-udf.jar": 0, "my jar (v2)/final#1.jar": 2}
    assert projects["bayes_team"]["jobs"] == 28
    assert projects["project1"] == {"packages": ["package1.jar"], "jobs": 3}


def test_load_from_json_file(tmp_path, sample_job):
    data = {
        "access_keys": {"AK1": "s1"},
        "sts": [{"access_key_id": "STS.1", "access_key_secret": "s2", "security_token": "t"}],
        "projects": {
            "alpha": {"packages": ["empty.jar"],
                      "jobs": [sample_job, {"JobId": "j2", "Packages": "b.jar,c.jar"}]},
            "beta": {},
        },
    }
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    state = EmulatorState.from_file(path)
    assert state.secret_for("AK1") == ("s1", None)
    assert state.secret_for("STS.1") == ("s2", "t")
    assert state.secret_for(DEFAULT_ACCESS_KEY_ID) is None
    assert state.projects() == {
        "alpha": {"packages": ["empty.jar", "blink_test_datastream.jar", "b.jar", "c.jar"], "jobs": 2},
        "beta": {"packages": [], "jobs": 0},
    }
    with FoasEmulator(state) as emu:
        body = get(emu, "alpha", "blink_test_datastream.jar", key_id="AK1", secret="s1").json()
        assert body["Jobs"]["Job"] == [sample_job]
        assert get(emu, "alpha", "c.jar", key_id="AK1", secret="s1").json()["TotalCount"] == 1
        assert get(emu, "alpha", "empty.jar", key_id="AK1", secret="s1").json()["TotalCount"] == 0
        assert_error(get(emu, "beta", "x.jar", key_id="AK1", secret="s1"), 404, "Package.NotExist")
        assert_error(get(emu, "alpha", "c.jar"), 404, "InvalidAccessKeyId.NotFound")


@pytest.mark.parametrize("data", [[1, 2], {"projects": [1]}])
def test_load_rejects_wrong_shapes(data):
    with pytest.raises(ValueError):
        EmulatorState().load(data)


def test_put_job_requires_a_job_id():
    with pytest.raises(ValueError):
        EmulatorState().put_job("p", {"Packages": "a.jar"})


def test_state_changes_are_served_live(empty_emulator):
    state = empty_emulator.state
    for job in generate_jobs("p", "a.jar", 3):
        state.put_job("p", job)
    assert get(empty_emulator, "p", "a.jar").json()["TotalCount"] == 3
    first = state.referencing_jobs("p", "a.jar")[0]["JobId"]
    assert state.remove_job("p", first) is True
    assert state.remove_job("p", first) is False
    assert get(empty_emulator, "p", "a.jar").json()["TotalCount"] == 2
    assert state.remove_jobs_referencing("p", "a.jar") == 2
    body = get(empty_emulator, "p", "a.jar").json()
    assert body["TotalCount"] == 0  # the package stays registered: an empty list, not 404


# --- faults -------------------------------------------------------------------------------


def _json_body(resp):
    assert resp.headers["content-type"].startswith("application/json")
    return resp.json()


def _check_latency(emu, started):
    resp = get(emu, params={"pageSize": 5})
    assert resp.status == 200 and len(resp.json()["Jobs"]["Job"]) == 5
    assert time.monotonic() - started >= 0.1  # lower bound only: robust to load


def _check_throttle(emu, started):
    body = assert_error(get(emu), 429, "Throttling.User")
    assert "flow control" in body["Message"]


def _check_error(emu, started):
    assert_error(get(emu), 500, "InternalError")


def _check_html(emu, started):
    resp = get(emu)
    assert resp.status == 502
    assert resp.headers["content-type"] == "text/html"
    assert resp.body.startswith(b"<html>") and b"502 Bad Gateway" in resp.body
    assert "x-acs-request-id" not in resp.headers


def _check_not_json(emu, started):
    resp = get(emu)
    assert resp.status == 200 and resp.headers["content-type"] == "text/plain"
    with pytest.raises(ValueError):
        resp.json()


def _check_truncated_json(emu, started):
    resp = get(emu)
    assert resp.status == 200
    assert int(resp.headers["content-length"]) == len(resp.body)
    assert resp.body.startswith(b'{"TotalCount": 15')
    with pytest.raises(ValueError):
        resp.json()


def _check_reset(emu, started):
    with pytest.raises(http.client.IncompleteRead) as info:
        get(emu)
    assert info.value.partial and info.value.expected > 0  # announced more than it sent


def _check_slow_body(emu, started):
    resp = get(emu, params={"pageSize": 1})
    assert resp.status == 200 and resp.json()["TotalCount"] == 15


def _check_huge_body(emu, started):
    body = _json_body(get(emu))
    assert body["Padding"] == "x" * 4096
    assert body["TotalCount"] == 15


def _check_wrong_shape(emu, started):
    body = _json_body(get(emu))
    assert set(body) == {"RequestId", "Data", "Success"}


def _check_non_numeric_count(emu, started):
    assert _json_body(get(emu))["TotalCount"] == "many"


def _check_no_request_id(emu, started):
    resp = get(emu)
    assert "RequestId" not in _json_body(resp)
    assert "x-acs-request-id" not in resp.headers
    assert resp.json()["TotalCount"] == 15


def _check_grow_total_page(emu, started):
    first = _json_body(get(emu, params={"pageSize": 5}))
    second = _json_body(get(emu, params={"pageSize": 5}))
    assert first["TotalPage"] == 3 + 1 and second["TotalPage"] == 3 + 2  # real + request number
    assert first["TotalCount"] == 15


def _check_ignore_page_index(emu, started):
    body = _json_body(get(emu, params={"pageSize": 5, "pageIndex": 3}))
    assert body["PageIndex"] == 1
    expected = [j["JobId"] for j in emu.state.referencing_jobs("bayes_team", "blink_test_datastream.jar")]
    assert [j["JobId"] for j in body["Jobs"]["Job"]] == expected[:5]


RAW_BODY = b"\x00\xff not json \xe4\xb8\xad"


def _check_raw_body(emu, started):
    resp = get(emu)
    assert resp.status == 418
    assert resp.body == RAW_BODY
    assert resp.headers["content-type"] == "text/plain"


def _check_drop_connection(emu, started):
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        get(emu)


FAULT_CHECKS = {
    "latency": ({"latency_ms": 100}, _check_latency),
    "throttle": ({}, _check_throttle),
    "error": ({}, _check_error),
    "html": ({}, _check_html),
    "not_json": ({}, _check_not_json),
    "truncated_json": ({}, _check_truncated_json),
    "reset": ({}, _check_reset),
    "slow_body": ({"latency_ms": 1}, _check_slow_body),
    "huge_body": ({"size": 4096}, _check_huge_body),
    "wrong_shape": ({}, _check_wrong_shape),
    "non_numeric_count": ({}, _check_non_numeric_count),
    "no_request_id": ({}, _check_no_request_id),
    "grow_total_page": ({"times": 2}, _check_grow_total_page),
    "ignore_page_index": ({}, _check_ignore_page_index),
    "drop_connection": ({}, _check_drop_connection),
    "raw_body": ({"status": 418, "params": {"body": RAW_BODY}}, _check_raw_body),
}


def test_every_fault_kind_has_a_check():
    assert set(FAULT_CHECKS) == set(FAULT_KINDS)


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fault_kind(emulator, kind):
    params, check = FAULT_CHECKS[kind]
    rule = emulator.faults.add(kind, **params)
    check(emulator, time.monotonic())
    assert rule.applied == (params.get("times") or 1)
    # The rule is used up: the next request is answered normally.
    resp = get(emulator, params={"pageSize": 2})
    assert resp.status == 200 and resp.json()["TotalCount"] == 15


def test_no_length_param_delimits_the_body_by_closing(emulator):
    emulator.faults.add("latency", params={"no_length": True})
    resp = get(emulator, params={"pageSize": 3})
    assert "content-length" not in resp.headers
    assert resp.headers["connection"] == "close"
    assert len(resp.json()["Jobs"]["Job"]) == 3


@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (502, "BadGateway"),
                                              (503, "ServiceUnavailable")])
def test_error_fault_statuses(emulator, status, code):
    emulator.faults.add("error", status=status)
    assert_error(get(emulator), status, code)


def test_throttle_status_override(emulator):
    emulator.faults.add("throttle", status=503)
    assert_error(get(emulator), 503, "Throttling.User")


def test_fault_after_and_times(emulator):
    emulator.faults.add("throttle", after=1, times=2)
    statuses = [get(emulator).status for _ in range(4)]
    assert statuses == [200, 429, 429, 200]
    assert [r.status for r in list(emulator.requests)[-4:]] == statuses


def test_fault_forever_and_clear(emulator):
    emulator.faults.add("error", status=503, times=None)
    assert [get(emulator).status for _ in range(3)] == [503, 503, 503]
    emulator.faults.clear()
    assert get(emulator).status == 200


def test_faults_do_not_bypass_signature_checks(emulator):
    emulator.faults.add("throttle")
    assert_error(get(emulator, secret="bad"), 400, "SignatureDoesNotMatch")


def test_unknown_fault_kind_is_rejected(emulator):
    with pytest.raises(ValueError, match="unknown fault kind"):
        emulator.faults.add("gremlins")
    with pytest.raises(ValueError):
        FaultRule("gremlins")


def test_emulator_default_latency():
    with FoasEmulator(latency_ms=50) as emu:
        started = time.monotonic()
        assert get(emu).status == 200
        assert time.monotonic() - started >= 0.05


def test_before_request_hook_sees_request_numbers(emulator):
    seen = []
    emulator.before_request.append(seen.append)
    get(emulator)
    get(emulator)
    assert seen == [1, 2]


def test_wait_idle_waits_for_a_request_whose_client_is_gone():
    # A request held past its client's end still lands in the log; wait_idle reports it until then.
    entered, release = threading.Event(), threading.Event()
    with FoasEmulator() as emu:
        emu.before_request.append(lambda n: (entered.set(), release.wait(30)))
        client = threading.Thread(target=lambda: get(emu), daemon=True)
        client.start()
        assert entered.wait(30)
        assert emu.wait_idle(0.05) is False and len(emu.requests) == 0
        release.set()
        assert emu.wait_idle(30) is True
        assert len(emu.requests) == 1
        client.join(30)


def test_fast_client_helper_sanity(emulator):
    # The same emulator serves the real client: one request, signed by the SDK, accepted.
    creds = Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    with FoasClient(endpoint=emulator.url, credentials=creds, retry_policy=RetryPolicy(1)) as c:
        assert c.list_ref_package_jobs("project1", "package1.jar").total_count == 3
    assert [r.status for r in emulator.requests] == [200]


def test_the_in_process_example_in_the_docs_runs():
    doc = Path(__file__).resolve().parents[1] / "docs" / "emulator.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert blocks and "FoasEmulator(state, port=0)" in blocks[0]
    exec(compile(blocks[0], str(doc), "exec"), {})  # our own documentation, checked so it cannot rot


def test_stop_without_start_returns():
    """stop() must not wait for a serve loop that never ran (it used to hang forever)."""
    import threading

    emu = FoasEmulator(EmulatorState())
    stopper = threading.Thread(target=emu.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=5)
    assert not stopper.is_alive()
