"""Undoing a response's Content-Encoding within a cap, layer by layer.

We ask for `identity`; this runs only when a server (or a proxy) encodes the
body anyway, so the transport imports it only then. Every layer of a stacked
encoding is decoded in steps that stop one byte past the cap, so a
decompression bomb costs at most the cap in memory.
"""

from __future__ import annotations

import zlib
from typing import Any, Optional

from . import errors


class _TooLarge(Exception):
    pass


def _decoder(name: str) -> Any:
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return None  # zlib or raw deflate: decided on the first bytes
    raise errors.MalformedResponseError(f"unsupported Content-Encoding {name!r}")


def _inflate_layer(name: str, data: bytes, limit: int) -> bytes:
    """One encoding layer, never producing more than `limit` bytes (multi-member gzip allowed)."""
    out: list[bytes] = []
    produced = 0
    if name == "deflate":
        wbits = zlib.MAX_WBITS if len(data) >= 2 and (data[0] * 256 + data[1]) % 31 == 0 \
            and data[0] & 0x0F == 8 else -zlib.MAX_WBITS
        members = [zlib.decompressobj(wbits)]
    else:
        members = [_decoder(name)]
    pending = data
    while True:
        decoder = members[-1]
        while pending:
            chunk = decoder.decompress(pending, limit + 1 - produced)
            produced += len(chunk)
            if produced > limit:
                raise _TooLarge
            out.append(chunk)
            pending = decoder.unconsumed_tail
            if decoder.eof:
                break
        if not decoder.eof:
            raise errors.MalformedResponseError(f"{name} body is truncated")
        rest = decoder.unused_data
        if not rest or name == "deflate":
            if rest.strip(b"\0"):
                raise errors.MalformedResponseError(f"data after the end of the {name} stream")
            break
        members.append(_decoder(name))
        pending = rest
    return b"".join(out)


def decode_body(encoding_header: Optional[str], raw: bytes, limit: int) -> bytes:
    """Undo every Content-Encoding layer, last applied first; each layer capped at `limit`."""
    if not encoding_header or not raw:
        return raw
    names = [n.strip().lower() for n in encoding_header.split(",") if n.strip()]
    for name in names:  # reject an unknown coding before any work
        if name != "identity":
            _decoder(name)
    body = raw
    for name in reversed(names):
        if name == "identity":
            continue
        try:
            body = _inflate_layer(name, body, limit)
        except _TooLarge:
            raise errors.MalformedResponseError(
                f"response body exceeds {limit} bytes once decoded ({name} layer)") from None
        except zlib.error as exc:
            raise errors.MalformedResponseError(f"cannot decode the {name} body: {exc}") from None
    return body
