"""What `_sdk` relies on in aliyun-python-sdk-core, pinned, and the proof that our requests are
signed byte for byte as the official aliyun-python-sdk-foas request signs them.

Both clients send to the hostile server (which records raw requests) with the
SDK's clock pinned to one Date, so every signed header can be compared.
"""

from __future__ import annotations

from typing import Any

import pytest

from foas_refjobs import Credentials, FoasClient, RetryPolicy
from foas_refjobs._sdk import SdkSigner, sdk_signer
from foas_refjobs.credentials import resolve_source
from foas_refjobs.settings import parse_endpoint
from hostile_server import HostileServer, Reply, page_body

DATE = "Mon, 30 Nov 2026 12:00:00 GMT"
KEYS = {
    "access-key": ("LTAI5tAdapterKey", "adapter-secret-0123456789", None),
    "sts": ("STS.AdapterKey", "adapter-sts-secret-9876543210", "CAISadapterToken" + "x" * 40),
}
SIGNED = ("authorization", "date", "accept", "content-md5", "content-type")


@pytest.fixture
def fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    from aliyunsdkcore.auth.composer import roa_signature_composer

    monkeypatch.setattr(roa_signature_composer.helper, "get_rfc_2616_date", lambda: DATE)


def signed_part(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k in SIGNED or k.startswith("x-acs-")}


@pytest.mark.parametrize("kind", KEYS)
def test_signed_exactly_as_the_official_sdk_signs(hostile_server: HostileServer, fixed_date: None,
                                                  kind: str) -> None:
    aliyunsdkfoas = pytest.importorskip("aliyunsdkfoas.request.v20181111.GetRefPackageJobRequest")
    from aliyunsdkcore.auth.credentials import StsTokenCredential
    from aliyunsdkcore.client import AcsClient

    key_id, secret, token = KEYS[kind]
    hostile_server.queue(Reply.json(page_body([])), Reply.json(page_body([])))
    with FoasClient(endpoint=hostile_server.url, credentials=Credentials(key_id, secret, token),
                    retry_policy=RetryPolicy(max_attempts=1)) as ours:
        ours.fetch_page("bayes_team", "udf-common.jar", 2, 50)

    if token:
        official = AcsClient(credential=StsTokenCredential(key_id, secret, token), region_id="cn-hangzhou")
    else:
        official = AcsClient(key_id, secret, "cn-hangzhou")
    request = aliyunsdkfoas.GetRefPackageJobRequest()
    request.set_projectName("bayes_team")
    request.set_packageName("udf-common.jar")
    request.set_pageSize(50)  # the order a caller sets them is the order on the wire
    request.set_pageIndex(2)
    request.set_endpoint(hostile_server.url.removeprefix("http://"))
    request.set_protocol_type("http")
    official.do_action_with_exception(request)

    mine, theirs = hostile_server.requests
    assert mine.method == theirs.method == "GET"
    assert mine.target == theirs.target  # path and query, byte for byte
    assert signed_part(mine.headers) == signed_part(theirs.headers)
    assert mine.headers["authorization"].startswith(f"acs {key_id}:")
    assert ("x-acs-security-token" in mine.headers) is bool(token)


def test_signer_returns_headers_and_path_and_keeps_the_string_to_sign(fixed_date: None) -> None:
    from aliyunsdkcore.request import RoaRequest

    request = RoaRequest("foas", "2018-11-11", "GetRefPackageJob", "foas", method="GET",
                         uri_pattern="/api/v2/projects/[projectName]/packages/[packageName]/jobs")
    request.set_path_params({"projectName": "p", "packageName": "k"})
    request.add_query_param("pageIndex", "1")
    # Distinct values: every secret a Credentials object sees is masked process-wide afterwards.
    creds = Credentials("LTAI5tPinKey", "pin-secret-0123456789", "CAISpinToken0123456789")
    headers, path = sdk_signer(creds).sign("cn-hangzhou", request)
    assert isinstance(headers, dict) and headers["Authorization"].startswith("acs LTAI5tPinKey:")
    assert headers["x-acs-security-token"] == "CAISpinToken0123456789"
    assert path.startswith("/api/v2/projects/p/packages/k/jobs?") and "RegionId=cn-hangzhou" in path
    assert request.string_to_sign.startswith("GET\n")
    assert request.string_to_sign.endswith("/api/v2/projects/p/packages/k/jobs?RegionId=cn-hangzhou"
                                           "&pageIndex=1")  # the query sorted, as it is signed


@pytest.mark.parametrize("status,body,expected", [
    (400, b'{"Code":"SignatureDoesNotMatch","Message":"bad:x","RequestId":"R1"}',
     ("SignatureDoesNotMatch", "bad:x", 400, "R1")),
    (404, b'{"Code":"Package.NotExist","Message":"no","RequestId":"R2"}',
     ("Package.NotExist", "no", 404, "R2")),
    (502, b"<html>bad gateway</html>", ("SDK.UnknownServerError", None, 502, None)),
])
def test_error_bodies_are_read_as_the_sdk_reads_them(status: int, body: bytes,
                                                     expected: tuple[Any, ...]) -> None:
    signer = SdkSigner(resolve_source(Credentials("LTAI5tPinKey", "pin-secret-0123456789")), "cn-hangzhou",
                       parse_endpoint("http://127.0.0.1:1"))
    exc = signer.acs_client._get_server_exception(status, body, "127.0.0.1:1", "GET\n")
    code, message, http_status, request_id = expected
    assert exc.get_error_code() == code and exc.get_http_status() == http_status
    assert exc.get_request_id() == request_id
    if message is not None:
        assert exc.get_error_msg() == message
    assert signer.acs_client._get_server_exception(200, b"{}", "h", "s") is None
