"""What a failed send means: what urllib3, http.client, ssl or the socket raised, as one of our errors.

Imported only when a request fails. Text from the exception is redacted and
shortened, and URL user-info is masked, before it reaches an error message.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
from typing import Any, Optional
from urllib.parse import urlsplit

from urllib3 import exceptions as u3

from . import errors
from .redaction import redact

_MAX_TEXT = 300


def _text(exc: BaseException) -> str:
    text = redact(str(exc))
    text = re.sub(r"://[^/@\s]*@", "://***@", text)
    return text[:_MAX_TEXT]


# OpenSSL's reasons when the peer answers a ClientHello with plain HTTP ("HTTP/1.1 400 ...").
_PLAIN_HTTP_REASONS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                       "HTTP_REQUEST")


def _answered_tls_in_plain_http(exc: BaseException) -> bool:
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError) and current.reason in _PLAIN_HTTP_REASONS:
            return True
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        pending += [a for a in current.args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
    upper = str(exc).upper()
    return any(f"[SSL: {reason}]" in upper for reason in _PLAIN_HTTP_REASONS)


def no_answer(exc: BaseException, expired: bool, budget: float,
               url: Optional[str] = None) -> errors.FoasError:
    """The one mapping from what urllib3/http.client/the socket raised to our errors."""
    parts = urlsplit(url) if url else None
    if parts is not None and parts.scheme == "https" and _answered_tls_in_plain_http(exc):
        return errors.NetworkError(
            f"{parts.netloc} answered the TLS handshake in plain HTTP; for a plain-HTTP server "
            f"(such as the emulator) write the endpoint as http://{parts.netloc}",
            code=errors.PLAIN_HTTP_SERVER)
    if expired:
        return errors.NetworkError(f"response took longer than {budget:.3g}s "
                                   "(connect, headers and body together)", code="Timeout")
    cause: BaseException = exc
    while True:  # urllib3 wraps: MaxRetryError(reason=ProtocolError(..., RemoteDisconnected))
        inner = getattr(cause, "reason", None)
        if isinstance(inner, BaseException):
            cause = inner
            continue
        args: tuple[Any, ...] = getattr(cause, "args", ())
        if isinstance(cause, u3.ProtocolError) and len(args) > 1 and isinstance(args[1], BaseException):
            cause = args[1]
            continue
        break
    if isinstance(cause, (u3.InvalidHeader, u3.HeaderParsingError, http.client.LineTooLong,
                          u3.DecodeError)):
        return errors.MalformedResponseError(f"malformed response: {_text(cause)}")
    if isinstance(cause, http.client.IncompleteRead):
        return errors.NetworkError(f"connection closed mid-body: {_text(cause)}")
    if isinstance(cause, (ConnectionError, http.client.RemoteDisconnected, u3.NewConnectionError)):
        return errors.NetworkError(f"connection failed: {_text(cause)}")
    if isinstance(cause, http.client.HTTPException):  # BadStatusLine, too many headers, ...
        return errors.MalformedResponseError(f"not an HTTP response: {_text(cause)}")
    if isinstance(cause, (u3.TimeoutError, socket.timeout, TimeoutError)):
        return errors.NetworkError(f"timed out: {_text(cause)}", code="Timeout")
    if isinstance(cause, (u3.SSLError, ssl.SSLError)):
        return errors.NetworkError(f"TLS failed: {_text(cause)}", code="TLSError")
    if isinstance(cause, u3.ProxyError) or "Tunnel connection failed" in str(cause):
        if " 407" in str(cause):
            return errors.AuthError("the proxy refused our proxy credentials (HTTP 407)",
                                    code="ProxyAuthenticationRequired", http_status=407)
        return errors.NetworkError(f"proxy failed: {_text(cause)}", code="ProxyError")
    if isinstance(cause, u3.LocationParseError):
        return errors.InvalidInputError(f"cannot send to this URL: {_text(cause)}")
    return errors.NetworkError(f"{type(cause).__name__}: {_text(cause)}")
