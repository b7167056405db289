"""DEBUG=sdk: each request and response head on stderr, as the SDK's own send path printed them.

Secrets are masked by the logger's filter. Imported on the first dump only, so
the handler exists only in a process that asked for it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .redaction import RedactingFilter, redact


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time of the record, unless a stream was set."""

    def __init__(self) -> None:
        self._stream: Any = None
        super().__init__()
        self._stream = None

    @property
    def stream(self) -> Any:
        return self._stream if self._stream is not None else sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        self._stream = value if value is not sys.stderr else None


http_debug = logging.getLogger("foas_refjobs.http_debug")
http_debug.setLevel(logging.DEBUG)
DEBUG_HANDLER = _StderrHandler()
http_debug.addHandler(DEBUG_HANDLER)
http_debug.addFilter(RedactingFilter())


def dump(method: str, url: str, headers: Mapping[str, str], status: int,
          reply_headers: Mapping[str, str]) -> None:
    parts = urlsplit(url)
    lines = [f"> {method} {url} HTTP/1.1", f"> Host : {parts.netloc}"]
    lines += [f"> {k} : {v}" for k, v in headers.items()]
    lines.append(f"< HTTP/1.1 {status}")
    lines += [f"< {k} : {v}" for k, v in reply_headers.items()]
    http_debug.debug(redact("\n" + "\n".join(lines)))
