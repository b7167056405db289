"""Scrub secret values out of any text we (or the SDK) might print, and make server text inert.

The SDK logs request headers under DEBUG=sdk, including x-acs-security-token;
rather than trusting every code path, every known secret is replaced wherever
it appears in log records and error messages. A server may echo a secret in
any field, and its text may carry newlines or terminal escape sequences that
would forge output lines or drive the operator's terminal: `printable` escapes
them, `safe_text` does both.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Optional

MASK = "***"
_MIN_SECRET_LENGTH = 4
_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: Optional[str]) -> None:
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


# Secrets this process never registered: the session token and secret the SDK itself
# obtains for a RAM role (AssumeRole / ECS metadata) and then logs under DEBUG=sdk as a
# request header and in the STS response body.
_UNREGISTERED = re.compile(
    r"(?i)(x-acs-security-token\s*:\s*"
    r"|[\"']?(?:AccessKeySecret|SecurityToken)[\"']?\s*[:=]\s*[\"']?)"
    r"(?!\*\*\*)([^\s\"'&,}]+)"
)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _UNREGISTERED.sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """Formats the record early so arguments holding secrets are masked too."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        return True


_FILTER = RedactingFilter()
_PREFIXES = ("aliyunsdkcore", "foas_refjobs")
# SDK modules imported only on first use (an error body to read): their loggers are made
# now, filter attached, so the module finds them ready when it is imported.
_LATER = ("aliyunsdkcore.client", "aliyunsdkcore.http.http_response",
          "aliyunsdkcore.auth.signers.access_key_signer", "aliyunsdkcore.auth.signers.sts_token_signer")


def install_log_redaction() -> None:
    """Attach the filter to every SDK and package logger that exists now (idempotent)."""
    names = [n for n in list(logging.root.manager.loggerDict) if n.startswith(_PREFIXES)]
    for name in [*_PREFIXES, *_LATER, *names]:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, keep_newlines: bool = False) -> str:
    """Control, format (bidi, zero-width), separator and unassigned characters as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or (keep_newlines and c == "\n") else _escape_char(c)
                   for c in text)


def safe_text(text: str, keep_newlines: bool = False) -> str:
    """Server-provided text as it may be printed: secrets masked, then escaped."""
    return printable(redact(text), keep_newlines)


def redact_tree(value: Any) -> Any:
    """`value` (JSON-like: dicts, lists, strings) with every string redacted, for JSON output."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value


def shorten(text: str, limit: int) -> str:
    """At most about `limit` characters: the head and the tail, the middle replaced by a count."""
    if len(text) <= limit:
        return text
    keep = max(limit - 40, 2)
    head, tail = text[: keep * 3 // 4], text[len(text) - keep // 4:]
    return f"{head}...[{len(text) - len(head) - len(tail)} characters cut]...{tail}"
