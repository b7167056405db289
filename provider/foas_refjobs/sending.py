"""The seam between signing and sending: what any transport takes and gives back.

The SDK adapter (`_sdk`) turns a request into (method, url, headers) signed
by the SDK; a transport (`transport.Transport`) sends exactly that within a
deadline and returns the answer, or raises one of our errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, Optional, Protocol


class Reply(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """Sends one signed request; never retries, never reads ~/.netrc, never re-signs."""

    def send(self, method: str, url: str, headers: Mapping[str, str], *, timeout: float,
             deadline: Optional[float] = None) -> Reply: ...

    def close(self) -> None: ...
