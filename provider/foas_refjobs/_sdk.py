"""Every touch of aliyun-python-sdk-core, in one place: signing with the SDK, and its send path.

The SDK composes and signs (`RoaRequest` and its signers); what leaves this
module is (method, url, headers), handed to a `sending.Transport`. The SDK's
own vendored requests session is the default transport until a maintained
HTTP client replaces it. Private SDK attributes used here, and why:
- `AcsClient._signer` is replaced: the SDK lets ALIYUN_ACCESS_KEY_* in the
  environment silently replace a passed credential.
- `AcsClient._implementation_of_do_action` is what the SDK's RAM-role signer
  calls for AssumeRole.
- `AcsClient._get_server_exception` reads Code/Message/RequestId from an
  error body exactly as the SDK always has.
- `RoaRequest.string_to_sign` is what that reading compares a
  SignatureDoesNotMatch message against.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, Optional

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.auth.credentials import (
    AccessKeyCredential,
    EcsRamRoleCredential,
    RamRoleArnCredential,
    StsTokenCredential,
)
from aliyunsdkcore.auth.signers.access_key_signer import AccessKeySigner
from aliyunsdkcore.auth.signers.ecs_ram_role_signer import EcsRamRoleSigner
from aliyunsdkcore.auth.signers.ram_role_arn_signer import RamRoleArnSigner
from aliyunsdkcore.auth.signers.sts_token_signer import StsTokenSigner
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.http.http_response import HttpResponse
from aliyunsdkcore.request import RoaRequest
from aliyunsdkcore.vendored.requests.adapters import HTTPAdapter

from . import errors
from .redaction import redact
from .sending import BodyTooLargeError, DeadlineExceededError, Reply, error_for_no_answer
from .settings import Credentials, Endpoint
from .watchdog import WATCHDOG

log = logging.getLogger(__name__)

_AUTH_CODES = (
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidAccessKeySecret", "IncompleteSignature",
    "InvalidSecurityToken", "Forbidden", "NoPermission", "InvalidAuthorization", "SignatureNonceUsed",
    "InvalidTimeStamp", "AccessDenied", "Unauthorized",
)


class Signed(NamedTuple):
    """A request as the SDK signed it; `string_to_sign` stays here, never on the wire."""

    method: str
    url: str
    headers: dict[str, str]
    string_to_sign: str


def _sdk_credential(creds: Credentials) -> Any:
    if creds.kind == "access_key":
        return AccessKeyCredential(creds.access_key_id, creds.access_key_secret)
    if creds.kind == "sts":
        return StsTokenCredential(creds.access_key_id, creds.access_key_secret, creds.security_token)
    if creds.kind == "ram_role_arn":
        return RamRoleArnCredential(creds.access_key_id, creds.access_key_secret, creds.role_arn,
                                    creds.role_session_name or "pulumi-foas-refjobs")
    return EcsRamRoleCredential(creds.ecs_role_name)


class SdkSigner:
    """Signs requests exactly as the SDK does, for exactly the credential resolved by us."""

    def __init__(self, credentials: Credentials, region_id: str, endpoint: Endpoint,
                 timeout: float, connect_timeout: float, pool_size: int) -> None:
        self.region_id = region_id
        self.endpoint = endpoint
        common: dict[str, Any] = dict(region_id=region_id, auto_retry=False, timeout=timeout,
                                      connect_timeout=connect_timeout, pool_size=pool_size)
        credential = _sdk_credential(credentials)
        if credentials.kind == "access_key":
            acs = AcsClient(ak=credentials.access_key_id, secret=credentials.access_key_secret, **common)
        else:
            acs = AcsClient(credential=credential, **common)
        # the SDK would let ALIYUN_ACCESS_KEY_* replace a credential object: sign with ours.
        if isinstance(credential, AccessKeyCredential):
            acs._signer = AccessKeySigner(credential)
        elif isinstance(credential, StsTokenCredential):
            acs._signer = StsTokenSigner(credential)
        elif isinstance(credential, RamRoleArnCredential):
            acs._signer = RamRoleArnSigner(credential, acs._implementation_of_do_action)
        else:
            acs._signer = EcsRamRoleSigner(credential)
        self._acs = acs
        self._user_agent = self._compose_user_agent(acs)

    @staticmethod
    def _compose_user_agent(acs: AcsClient) -> str:
        base: str = acs.user_agent_header()
        for key, value in acs.default_user_agent().items():
            base += f" {key}/{value}"
        return base

    @property
    def acs_client(self) -> AcsClient:
        """The SDK client behind the signer (its session is the default transport's)."""
        return self._acs

    def sign(self, *, product: str, version: str, action: str, method: str, uri_pattern: str,
             path_params: Mapping[str, str], query: Mapping[str, str]) -> Signed:
        """One request, composed by `RoaRequest` and signed by the SDK's signer.

        Path parameters must already be encoded: the SDK substitutes them verbatim.
        """
        request = RoaRequest(product, version, action, product, method=method, uri_pattern=uri_pattern)
        request.set_path_params(dict(path_params))
        for key, value in query.items():
            request.add_query_param(key, value)
        request.set_accept_format("JSON")
        request.add_header("Accept-Encoding", "identity")
        headers = request.get_headers()
        error: Optional[errors.FoasError] = None
        try:  # a RAM-role signer calls AssumeRole (or the metadata service) here
            signed_headers, path = self._acs._signer.sign(self.region_id, request)
        except ServerException as exc:
            error = map_server_exception(exc)
        except ClientException as exc:
            error = map_client_exception(exc)
        if error is not None:
            raise error  # outside the handler: the SDK's text may echo the token
        headers.update(signed_headers)
        headers["User-Agent"] = self._user_agent
        headers["x-sdk-client"] = "python/2.0.0"
        return Signed(method, self.endpoint.url + path, dict(headers), request.string_to_sign or "")

    def error_for(self, reply: Reply, signed: Signed) -> errors.FoasError:
        """The error a non-2xx answer stands for, read from its body as the SDK reads it."""
        try:
            exc = self._acs._get_server_exception(reply.status, reply.body, self.endpoint.netloc,
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
        return error_for_no_answer(OSError(message))
    if code in ("SDK.InvalidCredential",):
        return errors.CredentialsNotFoundError(message, code=code)
    if code.startswith("SDK.Invalid"):
        return errors.InvalidInputError(message, code=code)
    return errors.FoasError(message, code=code or None)


# --- the SDK's send path, bounded -------------------------------------------------------------


class _BoundedAdapter(HTTPAdapter):  # type: ignore[misc]
    """Caps a response's size and total read time, and notices a body cut short.

    The vendored requests reads the whole body into memory and only applies a
    per-read timeout, so a huge or trickling response would otherwise cost
    unbounded memory or time.
    """

    def __init__(self, pool_size: int, max_body_bytes: int, deadline: float) -> None:
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size)
        self.max_body_bytes = max_body_bytes
        self.deadline = deadline

    def build_response(self, req: Any, resp: Any) -> Any:
        response = super().build_response(req, resp)
        original = resp.stream
        limit, deadline = self.max_body_bytes, self.deadline
        started = time.monotonic()
        announced = resp.headers.get("Content-Length")
        expected = int(announced) if announced and announced.isdigit() else None
        if expected is not None and expected > limit:
            resp.close()
            raise BodyTooLargeError(limit, f" (Content-Length {expected})")

        # One read blocks until its whole buffer is filled, so a body trickling in
        # below the read timeout is only noticed between reads: the watchdog shuts the
        # socket at the deadline (unless the body completed and the connection was
        # released to the pool), which ends the blocked read.
        expired = threading.Event()

        def expire() -> None:
            connection = getattr(resp, "_connection", None)
            sock = getattr(connection, "sock", None)
            if sock is not None:
                expired.set()
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError as exc:  # already closed by the peer: nothing left to stop
                    log.debug("deadline watchdog: %s", exc)

        def bounded(amt: int = 2**16, decode_content: Optional[bool] = None) -> Iterator[bytes]:
            seen = 0
            watch = WATCHDOG.schedule(started + deadline, expire)
            try:
                # requests asks for 10 KiB at a time; one read per 64 KiB is 6x fewer
                # trips through urllib3 for a 50-job page (the watchdog bounds the time).
                for chunk in original(max(amt, 2**16), decode_content=decode_content):
                    seen += len(chunk)
                    if seen > limit:
                        resp.close()
                        raise BodyTooLargeError(limit)
                    if expired.is_set() or time.monotonic() - started > deadline:
                        resp.close()
                        raise DeadlineExceededError(deadline)
                    yield chunk
            except Exception as exc:
                if expired.is_set() and not isinstance(exc, DeadlineExceededError):
                    raise DeadlineExceededError(deadline) from None
                raise
            finally:
                WATCHDOG.cancel(watch)
            if expired.is_set():
                raise DeadlineExceededError(deadline)
            if expected is not None and seen < expected and req.method != "HEAD":
                raise OSError(f"connection closed after {seen} of {expected} body bytes")

        resp.stream = bounded
        return response


class SdkSessionTransport:
    """The SDK's own send path (vendored requests), bounded in size and total time."""

    def __init__(self, signer: SdkSigner, *, timeout: float, connect_timeout: float,
                 pool_size: int, max_body_bytes: int) -> None:
        self._acs = signer.acs_client
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        adapter = _BoundedAdapter(pool_size, max_body_bytes, timeout + connect_timeout)
        session = self._acs.session
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        # trust_env only makes requests look up ~/.netrc on every request, and a
        # matching (or `default`) netrc entry would replace the signed
        # Authorization header with Basic auth. Proxies are unaffected: the SDK
        # reads HTTP(S)_PROXY itself and passes them explicitly.
        session.trust_env = False

    def send(self, method: str, url: str, headers: Mapping[str, str]) -> Reply:
        scheme, _, rest = url.partition("://")
        netloc, slash, path = rest.partition("/")
        protocol = "https" if scheme == "https" else "http"
        response = HttpResponse(f"{scheme}://{netloc}", slash + path, method, dict(headers),
                                protocol, None, 80, read_timeout=self._timeout,
                                connect_timeout=self._connect_timeout, verify=None,
                                session=self._acs.session, proxy=self._acs.proxy)
        status, reply_headers, body = response.get_response_object()
        return Reply(int(status), reply_headers, body)

    def close(self) -> None:
        self._acs.session.close()
