"""Alibaba Cloud ROA signature (HMAC-SHA1), written from the protocol, not from the SDK.

The emulator verifies requests with this so that a test passing against it
proves the SDK really signed what went over the wire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl


def canonical_headers(headers: Mapping[str, str]) -> str:
    acs = sorted((k.lower(), v) for k, v in headers.items() if k.lower().startswith("x-acs-"))
    return "".join(f"{k}:{v}\n" for k, v in acs)


def canonical_resource(raw_path: str, raw_query: str) -> str:
    """Path exactly as sent; query decoded, sorted by name, joined without re-encoding."""
    pairs: Iterable[tuple[str, str]] = parse_qsl(raw_query, keep_blank_values=True)
    ordered = sorted(pairs, key=lambda kv: kv[0])
    if not ordered:
        return raw_path
    return raw_path + "?" + "&".join(f"{k}={v}" for k, v in ordered)


def string_to_sign(method: str, headers: Mapping[str, str], raw_path: str, raw_query: str) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    lines = [
        method.upper(),
        lowered.get("accept", ""),
        lowered.get("content-md5", ""),
        lowered.get("content-type", ""),
        lowered.get("date", ""),
    ]
    return "\n".join(lines) + "\n" + canonical_headers(headers) + canonical_resource(raw_path, raw_query)


def sign(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def parse_authorization(value: str) -> tuple[str, str] | None:
    """`acs <AccessKeyId>:<signature>` -> (id, signature)."""
    if not value.startswith("acs "):
        return None
    key_id, sep, signature = value[4:].strip().rpartition(":")
    if not sep or not key_id or not signature:
        return None
    return key_id, signature
