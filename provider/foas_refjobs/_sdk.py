"""Every touch of aliyun-python-sdk-core, in one place: composing and signing with the SDK.

The SDK composes (`RoaRequest`) and its own signers (`AccessKeySigner`,
`StsTokenSigner`) produce the signed headers and URL; what leaves this module
is (method, url, headers) for the transport. Credentials come from a
`CredentialSource` on every request, so refreshed STS credentials are used as
soon as the library has them. No `AcsClient` sends anything, so the SDK's
vendored requests never runs and ALIYUN_* variables cannot replace our key.
SDK internals used here, each pinned by a test in tests/test_sdk_adapter.py:
- `Signer.sign(region_id, request)` returns (signed headers, path with query).
- `RoaRequest.string_to_sign` is set by signing; error reading compares a
  SignatureDoesNotMatch message against it.
- `AcsClient._get_server_exception` reads Code/Message/RequestId from an error
  body exactly as the SDK always has (an AcsClient is made on the first error).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
from aliyunsdkcore.auth.signers.access_key_signer import AccessKeySigner
from aliyunsdkcore.auth.signers.sts_token_signer import StsTokenSigner
from aliyunsdkcore.request import RoaRequest

from . import errors
from .credentials import CredentialSource
from .redaction import install_log_redaction, redact
from .sending import Reply
from .settings import Credentials, Endpoint

log = logging.getLogger(__name__)

_AUTH_CODES = (
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidAccessKeySecret", "IncompleteSignature",
    "InvalidSecurityToken", "Forbidden", "NoPermission", "InvalidAuthorization", "SignatureNonceUsed",
    "InvalidTimeStamp", "AccessDenied", "Unauthorized",
)
SDK_CLIENT_HEADER = "python/2.0.0"  # what AcsClient sends as x-sdk-client


class Signed(NamedTuple):
    """A request as the SDK signed it; `string_to_sign` stays here, never on the wire."""

    method: str
    url: str
    headers: dict[str, str]
    string_to_sign: str


def sdk_signer(credentials: Credentials) -> Any:
    """The SDK's own signer for these credentials: STS when there is a token."""
    if credentials.security_token:
        return StsTokenSigner(StsTokenCredential(credentials.access_key_id,
                                                 credentials.access_key_secret,
                                                 credentials.security_token))
    return AccessKeySigner(AccessKeyCredential(credentials.access_key_id, credentials.access_key_secret))


class SdkSigner:
    """Signs requests exactly as the SDK does, with the credentials the source gives now."""

    def __init__(self, source: CredentialSource, region_id: str, endpoint: Endpoint) -> None:
        self.source = source
        self.region_id = region_id
        self.endpoint = endpoint
        self._signer_for: tuple[Optional[Credentials], Any] = (None, None)
        self._acs: Any = None
        self._lock = threading.Lock()

    @property
    def acs_client(self) -> Any:
        """An AcsClient used only to read error bodies as the SDK does (made on first use)."""
        if self._acs is None:
            with self._lock:
                if self._acs is None:
                    from aliyunsdkcore.client import AcsClient

                    self._acs = AcsClient(ak="unused", secret="unused", region_id=self.region_id,
                                          auto_retry=False)
                    install_log_redaction()  # the SDK's loggers exist only now
        return self._acs

    def _signer(self) -> Any:
        credentials = self.source.get()
        cached, signer = self._signer_for
        if cached is not credentials:
            signer = sdk_signer(credentials)
            self._signer_for = (credentials, signer)
        return signer

    def sign(self, *, product: str, version: str, action: str, method: str, uri_pattern: str,
             path_params: Mapping[str, str], query: Mapping[str, str]) -> Signed:
        """One request, composed by `RoaRequest` and signed by the SDK's signer.

        Path parameters must already be encoded: the SDK substitutes them verbatim.
        """
        signer = self._signer()
        request = RoaRequest(product, version, action, product, method=method, uri_pattern=uri_pattern)
        request.set_path_params(dict(path_params))
        for key, value in query.items():
            request.add_query_param(key, value)
        request.set_accept_format("JSON")
        request.add_header("Accept-Encoding", "identity")
        headers = request.get_headers()
        error: Optional[errors.FoasError] = None
        try:
            signed_headers, path = signer.sign(self.region_id, request)
        except ServerException as exc:
            error = map_server_exception(exc)
        except ClientException as exc:
            error = map_client_exception(exc)
        if error is not None:
            raise error  # outside the handler: the SDK's text may echo the token
        headers.update(signed_headers)
        headers["x-sdk-client"] = SDK_CLIENT_HEADER
        return Signed(method, self.endpoint.url + path, dict(headers), request.string_to_sign or "")

    def error_for(self, reply: Reply, signed: Signed) -> errors.FoasError:
        """The error a non-2xx answer stands for, read from its body as the SDK reads it."""
        try:
            exc = self.acs_client._get_server_exception(reply.status, reply.body, self.endpoint.netloc,
                                                        signed.string_to_sign)
        except (IndexError, KeyError, AttributeError, TypeError, UnicodeDecodeError,
                RecursionError) as exc:
            # The SDK trips over some error bodies (e.g. a message without ':', latin-1 text).
            return errors.MalformedResponseError(
                f"the SDK could not handle the response: {type(exc).__name__}: {redact(str(exc))}",
                code="SDK.InternalError")
        if exc is None:  # the SDK calls it a success after all
            return errors.MalformedResponseError(f"unexpected HTTP {reply.status}")
        return map_server_exception(exc)


def map_server_exception(exc: ServerException) -> errors.FoasError:
    code = str(exc.get_error_code() or "")
    message = redact(str(exc.get_error_msg() or ""))
    status = exc.get_http_status()
    request_id = exc.get_request_id()
    kwargs: dict[str, Any] = {"code": code or None, "http_status": status, "request_id": request_id}
    if code == "SDK.UnknownServerError":
        message = _summarise_non_json(message, status)
        kwargs["code"] = f"HTTP{status}"
    cls: type[errors.FoasError]
    if status == 429 or code.startswith("Throttling") or code in ("ServiceUnavailable.Throttling",):
        cls = errors.ThrottlingError
    elif status is not None and status >= 500:
        cls = errors.ServerError
    elif code.startswith(_AUTH_CODES) or status in (401, 403):
        cls = errors.AuthError
    elif status == 404 or code.endswith(("NotExist", "NotFound")):
        cls = errors.NotFoundError
    else:
        cls = errors.ParameterError
    return cls(message, **kwargs)


def _summarise_non_json(message: str, status: Optional[int]) -> str:
    body = message.removeprefix("ServerResponseBody: ")
    body = body.removeprefix("b'").removeprefix('b"')
    snippet = " ".join(body.split())[:120]
    return f"HTTP {status} with a non-JSON body (a proxy or gateway page?): {snippet}"


def map_client_exception(exc: ClientException) -> errors.FoasError:
    """What the SDK raises on its own (e.g. a RAM-role signer's failed AssumeRole)."""
    code = str(exc.get_error_code() or "")
    message = redact(str(exc.get_error_msg() or ""))
    if code == "SDK.HttpError":
        return errors.NetworkError(message)
    if code in ("SDK.InvalidCredential",):
        return errors.CredentialsNotFoundError(message, code=code)
    if code.startswith("SDK.Invalid"):
        return errors.InvalidInputError(message, code=code)
    return errors.FoasError(message, code=code or None)
