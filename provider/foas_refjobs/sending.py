"""The seam between signing and sending: what any transport takes and gives back.

The SDK adapter (`_sdk`) turns a request into (method, url, headers) signed
by the SDK; a transport sends exactly that and returns the raw answer. A
transport raises OSError when there is no HTTP answer (the client maps it to
NetworkError) and the two subclasses below when a bound was hit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, Protocol

from . import errors
from .redaction import redact

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


def error_for_no_answer(exc: BaseException) -> errors.FoasError:
    """The one mapping of transport failures: too large is malformed, anything else a network fault."""
    message = redact(str(exc))
    if isinstance(exc, BodyTooLargeError) or BODY_TOO_LARGE in message:
        return errors.MalformedResponseError(message[message.index(BODY_TOO_LARGE):])
    if isinstance(exc, DeadlineExceededError) or DEADLINE_PASSED in message:
        return errors.NetworkError(message[message.index(DEADLINE_PASSED):], code="Timeout")
    lowered = message.lower()
    kind = "Timeout" if "timed out" in lowered or "timeout" in lowered else "NetworkError"
    return errors.NetworkError(message, code=kind)
