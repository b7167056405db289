"""Every touch of the credential library's HTTP, in one place: its requests go out through our Transport.

alibabacloud-credentials sends every STS (AssumeRole, AssumeRoleWithOIDC),
ECS metadata, credentials-URI, CloudSSO and OAuth request with Tea's
`TeaCore.do_action`, which calls `requests.Session.send` with a proxies dict
it builds itself: NO_PROXY is never applied (`Session.send` skips the
environment merge that would), the CA bundle variables are not read (certifi
plus the system store), the timeouts are per socket operation, not a
total, and a redirect is followed with ~/.netrc credentials added to it
(`Session.rebuild_auth`). The library's own option (`HttpOptions`: one
proxy, connect and read timeouts) cannot say "direct", because an empty
proxy falls back to the environment's.

So while a `CredentialSource` asks its provider for credentials (`routed`),
`TeaCore.do_action` called on that thread is answered by our Transport: the
same NO_PROXY rule, proxy variables and CA bundle variables as the API calls,
one total deadline per request (name resolution included), no ~/.netrc, no
redirects. A call on any other thread, such as an application's own use of
the library, goes to Tea unchanged. urllib3's request-line log gets our
redacting filter: an STS query carries the OIDC or STS token.

Library internals relied on, each pinned by tests/test_credential_http.py:
- providers send with `Tea.core.TeaCore.do_action(request, runtime_options)`,
  synchronously on the thread that called `get_credentials()`;
- a TeaRequest's `method`, `headers` (with `host`), `body`, and the URL
  `TeaCore.compose_url` builds from it;
- providers read a TeaResponse's `status_code`, `headers` and `body` (bytes).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from . import errors
from .redaction import RedactingFilter, register_secret
from .settings import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT

MAX_BODY_BYTES = 1 << 20
# What our Transport reads from the environment: proxies, NO_PROXY, the CA bundle.
_ENV_NAMES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
              "no_proxy", "NO_PROXY", "REQUEST_METHOD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
              "SSL_CERT_FILE")
_SECRET_QUERY = ("OIDCToken", "SecurityToken")
_SECRET_HEADERS = ("authorization", "x-aliyun-ecs-metadata-token")


@dataclass(frozen=True)
class CredentialHttp:
    """How a source's credential requests are sent: the environment read once, and the deadline."""

    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, *, timeout: float = DEFAULT_TIMEOUT,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> CredentialHttp:
        from .proxies import ProxyRules
        from .transport import ca_bundle_from_env

        env = os.environ if env is None else env
        kept = {name: env[name] for name in _ENV_NAMES if env.get(name)}
        # A malformed proxy variable or a missing CA bundle is an error now, not at the first refresh.
        ProxyRules.from_env(kept)
        bundle = ca_bundle_from_env(kept)
        if bundle is not None and not os.path.isfile(bundle):
            raise errors.InvalidInputError(f"CA bundle {bundle!r} is not a readable file")
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise errors.InvalidInputError(f"credential {name} must be a positive number of "
                                               f"seconds, got {value!r}")
        return cls(kept, float(timeout), float(connect_timeout))


_route = threading.local()
_install_lock = threading.Lock()
_installed = False


class _Call:
    """The credential requests of one `get()`, each on a connection of its own.

    Credential requests are rare (one refresh an hour or so): a kept-alive
    connection would sit idle until a server or proxy dropped it, and the next
    refresh would fail on it, as nothing here retries.
    """

    def __init__(self, http: CredentialHttp) -> None:
        self.http = http

    def send(self, request: Any) -> Any:
        from Tea.core import TeaCore
        from Tea.response import TeaResponse

        from .transport import Transport

        url = _with_path(TeaCore.compose_url(request))
        method = str(request.method or "GET").upper()
        headers: dict[str, str] = {}
        for name, value in (request.headers or {}).items():
            if str(name).lower() == "host":  # the URL's; Tea puts the bare endpoint here
                continue
            headers[str(name)] = str(value)
            if str(name).lower() in _SECRET_HEADERS:
                register_secret(str(value).removeprefix("Bearer "))
        for name, value in parse_qsl(urlsplit(url).query):
            if name in _SECRET_QUERY:
                register_secret(value)
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)  # a Tea stream
        transport = Transport(pool_size=1, connect_timeout=self.http.connect_timeout,
                              max_body_bytes=MAX_BODY_BYTES, env=self.http.env)
        try:  # one total deadline, the name lookup included (see `name_lookup`)
            reply = transport.send(method, url, headers, timeout=self.http.timeout, body=body or None)
        finally:
            transport.close()
        response = TeaResponse()
        response.status_code = reply.status
        response.status_message = ""
        response.headers = {str(k).lower(): str(v) for k, v in reply.headers.items()}
        response.body = reply.body
        response.response = None
        return response


def _with_path(url: str) -> str:
    """Tea leaves the path empty for STS (`https://sts.aliyuncs.com?Action=...`); HTTP needs `/`."""
    parts = urlsplit(url)
    return url if parts.path else urlunsplit(parts._replace(path="/"))


def install() -> None:
    """Make `TeaCore.do_action` answer routed threads (idempotent; other threads unchanged)."""
    global _installed
    if _installed:
        return
    from Tea.core import TeaCore

    with _install_lock:
        current = TeaCore.__dict__["do_action"]
        original = current.__func__ if isinstance(current, staticmethod) else current
        if getattr(original, "_foas_routed", False):
            _installed = True
            return

        def do_action(request: Any, runtime_option: Any = None) -> Any:
            call: Optional[_Call] = getattr(_route, "call", None)
            if call is None:
                return original(request, runtime_option)
            return call.send(request)

        do_action._foas_routed = True  # type: ignore[attr-defined]
        do_action.__wrapped__ = original  # type: ignore[attr-defined]
        TeaCore.do_action = staticmethod(do_action)
        # urllib3 logs each request line at DEBUG; an STS query carries the OIDC or STS token.
        for name in ("urllib3.connectionpool", "urllib3.connection"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, RedactingFilter) for f in logger.filters):
                logger.addFilter(RedactingFilter())
        _installed = True


@contextmanager
def routed(http: CredentialHttp) -> Iterator[_Call]:
    """Credential requests made on this thread, inside the block, go through our Transport."""
    install()
    previous: Optional[_Call] = getattr(_route, "call", None)
    call = _Call(http)
    _route.call = call
    try:
        yield call
    finally:
        _route.call = previous
