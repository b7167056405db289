"""Sending one signed request on urllib3 and reading its answer within bounds.

Takes method, URL and headers exactly as signed elsewhere and returns status,
headers and the decoded body. Every bound a hostile server could stretch is
enforced here: one total deadline per request (connect, response headers and
body together, not per read), a cap on raw and on decoded bytes (every layer
of a stacked Content-Encoding), a strict Content-Length. Every failure leaves
as one of our errors, mapped in `_no_answer`; nothing partial is returned.

Proxies follow the environment as curl and requests do (HTTP_PROXY,
HTTPS_PROXY, NO_PROXY, either case); ~/.netrc is never read. TLS is verified,
against REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or SSL_CERT_FILE when set, else
the system's store.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import os
import platform
import re
import socket
import ssl
import sys
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import make_headers

from . import __version__, errors
from .redaction import RedactingFilter, redact, register_secret
from .sending import Reply
from .watchdog import WATCHDOG

PACKAGE = "pulumi-foas-refjobs"
USER_AGENT = (f"{PACKAGE}/{__version__} Python/{platform.python_version()} "
              f"urllib3/{getattr(urllib3, '__version__', '2')}")
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
_READ_SIZE = 1 << 16
_DIGITS = re.compile(r"[0-9]{1,18}")
_MAX_TEXT = 300


# --- DEBUG=sdk, as the SDK's own send path had it -------------------------------------------


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


def _debug_enabled(env: Mapping[str, str]) -> bool:
    return (env.get("DEBUG") or "").lower() == "sdk"


def _dump(method: str, url: str, headers: Mapping[str, str], status: int,
          reply_headers: Mapping[str, str]) -> None:
    parts = urlsplit(url)
    lines = [f"> {method} {url} HTTP/1.1", f"> Host : {parts.netloc}"]
    lines += [f"> {k} : {v}" for k, v in headers.items()]
    lines.append(f"< HTTP/1.1 {status}")
    lines += [f"< {k} : {v}" for k, v in reply_headers.items()]
    http_debug.debug(redact("\n" + "\n".join(lines)))


# --- the total deadline -------------------------------------------------------------------


class _Attempt:
    """The connection one request is using, so the watchdog can cut it at the deadline."""

    __slots__ = ("connection", "sock", "expired")

    def __init__(self) -> None:
        self.connection: Optional[HTTPConnection] = None
        self.sock: Optional[socket.socket] = None  # kept: http.client drops conn.sock on "close"
        self.expired = False

    def expire(self) -> None:
        self.expired = True
        sock = self.sock
        if sock is None and self.connection is not None:
            sock = self.connection.sock  # still connecting: the raw socket, before TLS wraps it
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)  # ends a blocked connect/recv/handshake at once


_current = threading.local()


def _track(connection: HTTPConnection, sent: bool = False) -> None:
    attempt: Optional[_Attempt] = getattr(_current, "attempt", None)
    if attempt is not None:
        attempt.connection = connection
        if sent:
            attempt.sock = connection.sock


class _TrackedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _track(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:  # a pooled connection skips connect()
        _track(self)
        super().request(*args, **kwargs)
        _track(self, sent=True)


class _TrackedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _track(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self)
        super().request(*args, **kwargs)
        _track(self, sent=True)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


# --- proxies ------------------------------------------------------------------------------


def _env(env: Mapping[str, str], name: str) -> Optional[str]:
    """Lower case first, as curl and requests read them; empty means unset."""
    return env.get(name.lower()) or env.get(name.upper()) or None


@dataclass(frozen=True)
class ProxyRules:
    """HTTP_PROXY/HTTPS_PROXY/NO_PROXY as curl and requests apply them.

    NO_PROXY entries are comma- or space-separated: `*` (every host), a host
    name (itself and every subdomain; a leading `.` or `*.` is allowed), an IP
    address, or a CIDR range; an entry with `:port` matches that port only.
    """

    http: Optional[str] = None
    https: Optional[str] = None
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> ProxyRules:
        env = os.environ if env is None else env
        all_proxy = _env(env, "all_proxy")
        # A CGI script gets the client's `Proxy:` header as HTTP_PROXY: ignore it there.
        http_proxy = env.get("http_proxy") or (None if "REQUEST_METHOD" in env
                                                else env.get("HTTP_PROXY")) or all_proxy
        https_proxy = _env(env, "https_proxy") or all_proxy
        entries = (_env(env, "no_proxy") or "").replace(",", " ").split()
        for proxy in (http_proxy, https_proxy):
            if proxy:
                _check_proxy_url(proxy)
        return cls(http_proxy or None, https_proxy or None, tuple(e.lower() for e in entries))

    def proxy_for(self, scheme: str, host: str, port: int) -> Optional[str]:
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or self.bypass(host, port):
            return None
        return proxy

    def bypass(self, host: str, port: int) -> bool:
        host = host.lower().strip("[]").rstrip(".")
        try:
            address: Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]] = \
                ipaddress.ip_address(host)
        except ValueError:
            address = None
        for entry in self.no_proxy:
            if entry == "*":
                return True
            name, entry_port = _split_entry(entry)
            if entry_port is not None and entry_port != port:
                continue
            if address is not None:
                try:
                    if address in ipaddress.ip_network(name, strict=False):
                        return True
                except ValueError:
                    pass
                continue
            name = name.removeprefix("*").lstrip(".").rstrip(".")
            if name and (host == name or host.endswith("." + name)):
                return True
        return False


def _split_entry(entry: str) -> tuple[str, Optional[int]]:
    if entry.startswith("["):  # [::1]:8080
        inside, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return inside, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, int(port) if port.isdigit() else None
    return entry, None


def _check_proxy_url(proxy: str) -> None:
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    if parts.scheme not in ("http", "https"):
        raise errors.InvalidInputError(
            f"proxy scheme {parts.scheme!r} is not supported (use an http:// or https:// proxy)")
    if not parts.hostname:
        raise errors.InvalidInputError("a proxy variable is set but names no host")
    register_secret(parts.password)


def _proxy_parts(proxy: str) -> tuple[str, dict[str, str]]:
    """The proxy URL without user-info, and the Proxy-Authorization that carries it instead."""
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    headers: dict[str, str] = {}
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers.update(make_headers(proxy_basic_auth=credentials))
        register_secret(headers["proxy-authorization"])
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}", headers


# --- TLS ----------------------------------------------------------------------------------


def ca_bundle_from_env(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    env = os.environ if env is None else env
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        if env.get(name):
            return env[name]
    return None


_contexts: dict[Optional[str], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def tls_context(ca_bundle: Optional[str] = None) -> ssl.SSLContext:
    """Verifying context: the given bundle, else the system store (which honours SSL_CERT_DIR).

    One per bundle for the process: loading the system store costs more CPU
    than a whole listing's requests, and a context is safe to share.
    """
    context = _contexts.get(ca_bundle)
    if context is not None:
        return context
    if ca_bundle is not None and not os.path.isfile(ca_bundle):
        raise errors.InvalidInputError(f"CA bundle {ca_bundle!r} is not a readable file")
    try:
        context = ssl.create_default_context(cafile=ca_bundle)
    except (ssl.SSLError, OSError) as exc:
        raise errors.InvalidInputError(f"CA bundle {ca_bundle!r} cannot be loaded: {exc}") from None
    with _contexts_lock:
        return _contexts.setdefault(ca_bundle, context)


# --- decoding -----------------------------------------------------------------------------


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


# --- the transport ------------------------------------------------------------------------


def _content_length(value: Optional[str]) -> Optional[int]:
    if value is None:
        return None
    text = value.strip(" \t")
    if not _DIGITS.fullmatch(text):
        raise errors.MalformedResponseError(
            f"Content-Length {redact(value)[:40]!r} is not a number of bytes")
    return int(text)


class Transport:
    """A pooled keep-alive connection manager per client (one pool per proxy), never retrying.

    Retries, signing and reading the body as JSON belong to the caller.
    """

    def __init__(self, *, pool_size: int = 10, connect_timeout: float = 5.0,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, ca_bundle: Optional[str] = None,
                 env: Optional[Mapping[str, str]] = None, user_agent: str = USER_AGENT) -> None:
        env = os.environ if env is None else env
        self.proxies = ProxyRules.from_env(env)
        self.connect_timeout = connect_timeout
        self.max_body_bytes = max_body_bytes
        self.user_agent = user_agent
        self.debug = _debug_enabled(env)
        self._ca_bundle = ca_bundle if ca_bundle is not None else ca_bundle_from_env(env)
        if self._ca_bundle is not None and not os.path.isfile(self._ca_bundle):
            raise errors.InvalidInputError(f"CA bundle {self._ca_bundle!r} is not a readable file")
        self._pool_kw: dict[str, Any] = dict(maxsize=pool_size, block=False, retries=False)
        self._managers: dict[Optional[str], urllib3.PoolManager] = {}
        self._routes: dict[str, tuple[Any, bool]] = {}
        self._lock = threading.Lock()

    def __reduce__(self) -> Any:
        raise TypeError("a Transport is never pickled: it holds open connections")

    def _manager(self, proxy: Optional[str]) -> urllib3.PoolManager:
        manager = self._managers.get(proxy)
        if manager is not None:
            return manager
        with self._lock:
            manager = self._managers.get(proxy)
            if manager is None:
                if proxy is None:
                    manager = urllib3.PoolManager(num_pools=4, **self._pool_kw)
                else:
                    url, auth = _proxy_parts(proxy)
                    manager = urllib3.ProxyManager(url, num_pools=4, proxy_headers=auth,
                                                   **self._pool_kw)
                manager.pool_classes_by_scheme = _POOLS
                self._managers[proxy] = manager
        return manager

    def _route(self, url: str) -> tuple[Any, bool, str]:
        """(what to call urlopen on, whether it is a direct pool, the path and query).

        Per origin, the proxy decision and the pool are looked up once: a direct
        pool takes the path alone, skipping the manager's URL parsing per request.
        """
        start = url.find("://") + 3
        cut = url.find("/", start)
        origin, target = (url, "/") if cut < 0 else (url[:cut], url[cut:])
        route = self._routes.get(origin)
        if route is None or (route[1] and route[0].pool is None):  # a cleared pool is closed
            parts = urlsplit(origin)
            scheme, host = parts.scheme, parts.hostname or ""
            port = parts.port or (443 if scheme == "https" else 80)
            proxy = self.proxies.proxy_for(scheme, host, port)
            manager = self._manager(proxy)
            if scheme == "https" and "ssl_context" not in manager.connection_pool_kw:
                # Made on the first https origin only: plain http never pays for it.
                manager.connection_pool_kw["ssl_context"] = tls_context(self._ca_bundle)
            route = ((manager.connection_from_host(host, port, scheme), True) if proxy is None
                     else (manager, False))
            self._routes[origin] = route
        return route[0], route[1], target

    def close(self) -> None:
        with self._lock:
            self._routes = {}
            managers, self._managers = list(self._managers.values()), {}
        for manager in managers:
            manager.clear()

    def send(self, method: str, url: str, headers: Mapping[str, str], *,
             timeout: float = 10.0, deadline: Optional[float] = None,
             body: Optional[bytes] = None) -> Reply:
        """One request; `deadline` (time.monotonic()) defaults to now + `timeout`, for everything."""
        started = time.monotonic()
        deadline = started + timeout if deadline is None else min(deadline, started + timeout)
        if deadline <= started:
            raise errors.NetworkError(f"no time left for this request (timeout {timeout:g}s)",
                                      code="Timeout")
        opener, direct, target = self._route(url)
        sent = {"User-Agent": self.user_agent, **headers}
        attempt = _Attempt()
        _current.attempt = attempt
        watch = WATCHDOG.schedule(deadline, attempt.expire)
        response: Any = None
        try:
            remaining = max(deadline - time.monotonic(), 0.001)
            response = opener.urlopen(
                method, target if direct else url, body=body, headers=sent, redirect=False, retries=False,
                preload_content=False, decode_content=False, assert_same_host=False,
                timeout=urllib3.Timeout(connect=min(self.connect_timeout, remaining), read=remaining))
            _current.attempt = None
            if response.status == 407 and not direct:
                raise errors.AuthError("the proxy refused our proxy credentials (HTTP 407)",
                                       code="ProxyAuthenticationRequired", http_status=407)
            reply = self._read(response, method)
            if self.debug:
                _dump(method, url, sent, reply.status, reply.headers)
        except errors.FoasError:
            self._discard(response)
            if attempt.expired:  # a cut connection looks like a short body
                raise _no_answer(OSError(), True, deadline - started) from None
            raise
        except (u3.HTTPError, OSError, http.client.HTTPException, ValueError) as exc:
            self._discard(response)
            error = _no_answer(exc, attempt.expired, deadline - started, url)
            raise error from None
        finally:
            _current.attempt = None
            WATCHDOG.cancel(watch)
        if attempt.expired:  # the last bytes raced the watchdog: the connection is cut
            raise _no_answer(OSError(), True, deadline - started)
        return reply

    def _read(self, response: Any, method: str) -> Reply:
        headers = response.headers
        if "transfer-encoding" in headers and "content-length" in headers:
            raise errors.MalformedResponseError("response has both Transfer-Encoding and "
                                                "Content-Length")
        expected = _content_length(headers.get("content-length"))
        limit = self.max_body_bytes
        if expected is not None and expected > limit:
            raise errors.MalformedResponseError(
                f"response body exceeds {limit} bytes (Content-Length {expected})")
        if method == "HEAD" or response.status in (204, 304):
            raw = b""
        elif expected is not None:
            raw = response.read(expected)
            if len(raw) < expected:
                raise errors.NetworkError(f"connection closed after {len(raw)} of {expected} "
                                          "body bytes")
        else:
            chunks: list[bytes] = []
            seen = 0
            while True:
                chunk = response.read(_READ_SIZE)
                if not chunk:
                    break
                seen += len(chunk)
                if seen > limit:
                    raise errors.MalformedResponseError(f"response body exceeds {limit} bytes")
                chunks.append(chunk)
            raw = b"".join(chunks)
        response.release_conn()
        body = decode_body(headers.get("content-encoding"), raw, limit)
        return Reply(response.status, headers, body)

    @staticmethod
    def _discard(response: Any) -> None:
        if response is not None:
            response.close()  # never back to the pool half-read
            response.release_conn()


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


def _no_answer(exc: BaseException, expired: bool, budget: float,
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
