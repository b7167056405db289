"""The seam between signing and sending: what any transport takes and gives back.

The SDK adapter (`_sdk`) turns a request into (method, url, headers) signed
by the SDK; a transport sends exactly that and returns the raw answer. A
transport raises OSError when there is no HTTP answer (the client maps it to
NetworkError) and the two subclasses below when a bound was hit.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import NamedTuple, Optional, Protocol

from . import errors
from .redaction import redact
from .settings import Endpoint

BODY_TOO_LARGE = "response body exceeds"
DEADLINE_PASSED = "response took longer than"


class Reply(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """Sends one signed request; never retries, never reads ~/.netrc, never re-signs."""

    def send(self, method: str, url: str, headers: Mapping[str, str]) -> Reply: ...

    def close(self) -> None: ...


class BodyTooLargeError(OSError):
    """The (decoded) body passed the client's cap; the transport stopped reading."""

    def __init__(self, limit: int, detail: str = "") -> None:
        super().__init__(f"{BODY_TOO_LARGE} {limit} bytes{detail}")


class DeadlineExceededError(OSError):
    """The whole response (connect, headers, body) took longer than its total deadline."""

    def __init__(self, deadline: float) -> None:
        super().__init__(f"{DEADLINE_PASSED} {deadline:g}s")


# OpenSSL's reasons when the peer answers a ClientHello with plain HTTP ("HTTP/1.1 400 ...").
_PLAIN_HTTP_REASONS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                       "HTTP_REQUEST")


def _answered_tls_in_plain_http(exc: BaseException, message: str) -> bool:
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
    upper = message.upper()
    return any(f"[SSL: {reason}]" in upper for reason in _PLAIN_HTTP_REASONS)


def error_for_no_answer(exc: BaseException, endpoint: Optional[Endpoint] = None) -> errors.FoasError:
    """The one mapping of transport failures: too large is malformed, anything else a network fault."""
    message = redact(str(exc))
    if endpoint is not None and endpoint.scheme == "https" and _answered_tls_in_plain_http(exc, message):
        return errors.NetworkError(
            f"{endpoint.netloc} answered the TLS handshake in plain HTTP; for a plain-HTTP server "
            f"(such as the emulator) write the endpoint as http://{endpoint.netloc}",
            code=errors.PLAIN_HTTP_SERVER)
    if isinstance(exc, BodyTooLargeError) or BODY_TOO_LARGE in message:
        return errors.MalformedResponseError(message[message.index(BODY_TOO_LARGE):])
    if isinstance(exc, DeadlineExceededError) or DEADLINE_PASSED in message:
        return errors.NetworkError(message[message.index(DEADLINE_PASSED):], code="Timeout")
    lowered = message.lower()
    kind = "Timeout" if "timed out" in lowered or "timeout" in lowered else "NetworkError"
    return errors.NetworkError(message, code=kind)
