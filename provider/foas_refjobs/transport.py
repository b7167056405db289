"""Sending one signed request on urllib3 and reading its answer within bounds.

Takes method, URL and headers exactly as signed elsewhere and returns status,
headers and the decoded body. Every bound a hostile server could stretch is
enforced here: one total deadline per request (a new connection's name
lookup, connect, response headers and body together, not per read), a cap on
raw and on decoded bytes (every layer of a stacked Content-Encoding), a strict
Content-Length. Every failure leaves
as one of our errors, mapped in `transport_errors`; nothing partial is returned.
A direct request is made on a connection of urllib3's pool and read by
http.client, without urllib3's response object (it cost more CPU than the
request); without a body, its head is written in one step. A proxied one goes
through urllib3's `urlopen`.

Proxies follow the environment as curl and requests do (HTTP_PROXY,
HTTPS_PROXY, NO_PROXY, either case; the rules are in `proxies`); ~/.netrc is
never read. TLS is verified, against REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or
SSL_CERT_FILE when set, else the system's store. What only some requests need
(proxy rules, looking up a host name, Content-Encoding decoding, the DEBUG=sdk
dump, failure mapping) lives in its own module, imported when first needed: a
direct plain listing to an IP address (the emulator) starts without any of it.
"""

from __future__ import annotations

import email.parser
import errno
import http.client
import os
import platform
import re
import socket
import ssl
import struct
import sys
import threading
import time
import types
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlsplit

import urllib3
from urllib3 import HTTPHeaderDict
from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import SKIP_HEADER
from urllib3.util.retry import Retry

from . import __version__, errors
from .redaction import redact
from .sending import Reply
from .watchdog import WATCHDOG

if TYPE_CHECKING:
    from .proxies import ProxyRules

PACKAGE = "pulumi-foas-refjobs"
USER_AGENT = (f"{PACKAGE}/{__version__} Python/{platform.python_version()} "
              f"urllib3/{getattr(urllib3, '__version__', '2')}")
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
_READ_SIZE = 1 << 16
# What a pooled connection's check reads without a poll (Linux): the TCP state and the
# receive queue (SO_MEMINFO, 55 where the kernel's generic socket numbers apply).
_TCP_INFO: Optional[int] = getattr(socket, "TCP_INFO", None)
_GENERIC_SOCKET_NUMBERS = sys.platform == "linux" and platform.machine() in (
    "x86_64", "aarch64", "ppc64le", "s390x", "riscv64")
_SO_MEMINFO: Optional[int] = getattr(socket, "SO_MEMINFO", 55 if _GENERIC_SOCKET_NUMBERS else None)
_TCP_ESTABLISHED = 1
_MEMINFO = struct.Struct("9I")  # receive queue bytes first, backlog packets eighth
_DIGITS = re.compile(r"[0-9]{1,18}")
# What urlopen makes of retries=False, redirect=False, made once (it is never changed in place).
_NO_RETRIES = Retry(False, redirect=False)
# http.client's own rules for a header line, applied by `putheader` below.
_LEGAL_HEADER_NAME = http.client._is_legal_header_name  # type: ignore[attr-defined]
_ILLEGAL_HEADER_VALUE = http.client._is_illegal_header_value  # type: ignore[attr-defined]
# http.client's refusals of a request line (CVE-2019-9740 and its method twin).
_BAD_TARGET_CHAR = http.client._contains_disallowed_url_pchar_re.search  # type: ignore[attr-defined]
_BAD_METHOD_CHAR = http.client._contains_disallowed_method_pchar_re.search  # type: ignore[attr-defined]
# Methods urllib3 sends without Content-Length when there is no body; only these take the lean head.
_BODILESS = frozenset({"GET", "HEAD"})
# Any of these set means proxy rules apply (NO_PROXY alone changes nothing).
_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


# --- DEBUG=sdk, as the SDK's own send path had it -------------------------------------------


def _debug_enabled(env: Mapping[str, str]) -> bool:
    return (env.get("DEBUG") or "").lower() == "sdk"


def _dump(method: str, url: str, headers: Mapping[str, str], status: int,
          reply_headers: Mapping[str, str]) -> None:
    from .http_debug import dump

    dump(method, url, headers, status, reply_headers)


# --- the total deadline -------------------------------------------------------------------


class _Attempt:
    """The connection one request is using, so the watchdog can cut it at the deadline."""

    __slots__ = ("connection", "sock", "expired", "deadline")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
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


def _is_ip_literal(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except OSError:
            pass
    return False


# --- the response head ----------------------------------------------------------------------

# A value's obsolete line folding (blanks, CRLF, blanks) becomes one space (RFC 9112, 5.2),
# as urllib3 hands it to its callers.
_OBSOLETE_FOLD = re.compile(r"[ \t]*\r\n[ \t]+")
# A header line as servers send it: a token, a colon, a value without CR or LF.
_PLAIN_HEADER_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):([^\r\n]*)\r?\n")


def parse_headers(fp: Any, _class: type[http.client.HTTPMessage] = http.client.HTTPMessage
                  ) -> http.client.HTTPMessage:
    """`http.client.parse_headers`, without its email parser when every line is plain.

    The email parser cost more CPU than anything else in reading a response
    head. Lines are read by http.client's own reader (its line length and
    header count limits); a plain line is stored as the email parser stores
    it (`set_raw`, value without leading blanks or the line end), and a head
    with any other line (a folded value, a line without a colon, a bare CR)
    is handed to the email parser whole, exactly as http.client does.
    """
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]
    message = _class()
    for line in lines[:-1]:  # the last is what ended the head: a blank line, or b"" at EOF
        plain = _PLAIN_HEADER_LINE.fullmatch(line)
        if plain is None:
            return email.parser.Parser(_class=_class).parsestr(b"".join(lines).decode("iso-8859-1"))
        message.set_raw(plain[1].decode("ascii"), plain[2].decode("iso-8859-1").lstrip(" \t"))
    return message


class _Response(http.client.HTTPResponse):
    """http.client's response: the same `begin`, calling `parse_headers` above.

    `begin` is http.client's own code, run with this module's `parse_headers`
    in place of http.client's, so that status line, Content-Length, chunking
    and keep-alive are read exactly as http.client reads them.
    tests/test_transport.py pins that `begin` still looks `parse_headers` up.
    """

    begin = types.FunctionType(
        http.client.HTTPResponse.begin.__code__,
        {**vars(http.client), "parse_headers": parse_headers},
        "begin")

    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: Optional[str] = None,
                 url: Optional[str] = None) -> None:
        super().__init__(_ReadAhead(sock), debuglevel, method, url)  # type: ignore[arg-type]


class _ReadAhead:
    """The socket as `HTTPResponse` sees it: its reader buffers a typical page whole.

    http.client's default buffer takes a page in several reads. Every read of a
    socket with a timeout is a poll and a receive, each letting the other listing
    threads take the interpreter lock and be switched to.
    """

    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def makefile(self, mode: str) -> Any:  # http.client asks for "rb"
        return self._sock.makefile("rb", _READ_SIZE)


class _TrackedHTTPConnection(HTTPConnection):
    """urllib3's connection, seen by the watchdog while in use, looking a host name up within
    the deadline, writing each header in one step and reading the response head lightly."""

    response_class = _Response

    @property
    def is_connected(self) -> bool:
        """Whether a pooled connection can carry the next request: the peer has neither closed
        nor reset it, and nothing it sent waits unread.

        urllib3 polls the socket for that, which lets every other thread take the
        interpreter lock; two socket options read the same facts while holding it.
        """
        sock = self.sock
        if sock is not None and _TCP_INFO is not None and _SO_MEMINFO is not None:
            try:
                state = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 1)[0]
                memory = _MEMINFO.unpack(sock.getsockopt(socket.SOL_SOCKET, _SO_MEMINFO,
                                                         _MEMINFO.size))
            except (OSError, struct.error):
                pass
            else:
                return state == _TCP_ESTABLISHED and memory[0] == 0 and memory[7] == 0
        return bool(super().is_connected)

    def connect(self) -> None:
        _track(self)
        super().connect()

    def _new_conn(self) -> socket.socket:
        if _is_ip_literal(self._dns_host):
            return super()._new_conn()
        from .name_lookup import connect_by_name

        attempt: Optional[_Attempt] = getattr(_current, "attempt", None)
        return connect_by_name(self, attempt.deadline if attempt is not None else None)

    def request(self, *args: Any, **kwargs: Any) -> None:  # a pooled connection skips connect()
        _track(self)
        super().request(*args, **kwargs)
        _track(self, sent=True)

    def putheader(self, header: str, *values: str) -> None:  # type: ignore[override]
        """http.client's own checks for the one shape we send (a str name, one str value),
        without its general path: this runs for every header of a request with a body.
        Anything else, urllib3's SKIP_HEADER included, takes urllib3's and http.client's path."""
        line = _header_line(header, values[0]) if len(values) == 1 else None
        if line is not None:
            self._output(line)  # type: ignore[attr-defined]
            return
        super().putheader(header, *values)


def _header_line(name: str, value: str) -> Optional[bytes]:
    """`name: value` as http.client writes it, or None where its own checks must decide."""
    if type(name) is str and type(value) is str and value != SKIP_HEADER:
        try:
            encoded_name, encoded_value = name.encode("ascii"), value.encode("latin-1")
        except UnicodeEncodeError:
            return None
        if _LEGAL_HEADER_NAME(encoded_name) and not _ILLEGAL_HEADER_VALUE(encoded_value):
            return encoded_name + b": " + encoded_value
    return None


@lru_cache(maxsize=64)
def _host_line(host: str, port: int, default_port: int) -> bytes:
    """The Host line http.client writes for this origin, asked of http.client itself."""
    probe = http.client.HTTPConnection(host, port)
    probe.default_port = default_port
    probe.putrequest("GET", "/", skip_accept_encoding=True)
    line: bytes = probe._buffer[1]  # type: ignore[attr-defined]
    return line


def _request_head(conn: HTTPConnection, method: str, target: str,
                  headers: Mapping[str, str]) -> Optional[bytes]:
    """The bytes urllib3's `request` writes for a request without a body, built in one step;
    None for a head it would refuse or write otherwise, which then takes its path.

    Its path writes them through http.client's `putrequest` and `putheader`, a
    dozen calls per request.
    """
    names = {name.lower() for name in headers if type(name) is str}
    if _BAD_METHOD_CHAR(method) or _BAD_TARGET_CHAR(target) or not target.isascii() \
            or "user-agent" not in names:  # urllib3 would add its own
        return None
    lines = [f"{method} {target} HTTP/1.1".encode("ascii")]
    if "host" not in names:
        lines.append(_host_line(conn.host, conn.port, conn.default_port))
    if "accept-encoding" not in names:
        lines.append(b"Accept-Encoding: identity")
    for name, value in headers.items():
        line = _header_line(name, value)
        if line is None:
            return None
        lines.append(line)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


class _TrackedHTTPSConnection(_TrackedHTTPConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


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
        self.proxies: Optional[ProxyRules] = None
        if any(env.get(name) for name in _PROXY_VARIABLES):
            from .proxies import ProxyRules

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
                    from .proxies import proxy_parts

                    url, auth = proxy_parts(proxy)
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
            proxy = None if self.proxies is None else self.proxies.proxy_for(scheme, host, port)
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
        attempt = _Attempt(deadline)
        _current.attempt = attempt
        watch = WATCHDOG.schedule(deadline, attempt.expire)
        response: Any = None
        try:
            remaining = max(deadline - time.monotonic(), 0.001)
            connect = min(self.connect_timeout, remaining)
            if direct:
                reply = self._exchange(opener, method, target, body, sent, connect, remaining)
            else:
                response = opener.urlopen(
                    method, url, body=body, headers=sent, redirect=False, retries=_NO_RETRIES,
                    preload_content=False, decode_content=False, assert_same_host=False,
                    timeout=urllib3.Timeout(connect=connect, read=remaining))
                _current.attempt = None
                if response.status == 407:
                    raise errors.AuthError("the proxy refused our proxy credentials (HTTP 407)",
                                           code="ProxyAuthenticationRequired", http_status=407)
                raw = self._body(response, response.headers, method)
                response.release_conn()
                reply = self._reply(response.status, response.headers, raw)
            if self.debug:
                _dump(method, url, sent, reply.status, reply.headers)
        except errors.FoasError as exc:
            self._discard(response)
            if attempt.expired and exc.code != "Timeout":  # a cut connection looks like a short body
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

    def _exchange(self, pool: HTTPConnectionPool, method: str, target: str,
                  body: Optional[bytes], headers: Mapping[str, str], connect_timeout: float,
                  read_timeout: float) -> Reply:
        """One request on a pooled connection, as urllib3's `urlopen` makes it with retries and
        redirects off, without its response object: the status, the headers (merged as urllib3
        merges them) and the body, read here by http.client under the same bounds.

        A connection goes back to the pool only after its whole answer was read; after
        anything else it is closed.
        """
        conn: Any = pool._get_conn()  # a pooled connection the peer dropped is reset there
        try:
            conn.timeout = connect_timeout
            if conn.sock is None:  # connect (and shake hands) first: a failure here is never
                conn.connect()     # taken for a peer that hung up mid-request below
            head = (_request_head(conn, method, target, headers)
                    if body is None and method in _BODILESS else None)
            try:
                if head is not None:  # in one write, bounded by the deadline like the answer
                    conn.sock.settimeout(read_timeout)
                    _track(conn, sent=True)
                    conn.sock.sendall(head)
                else:
                    conn.request(method, target, body=body, headers=headers,
                                 preload_content=False, decode_content=False)
            except OSError as exc:  # a peer that answers and hangs up mid-request: read its answer
                if not isinstance(exc, BrokenPipeError) \
                        and exc.errno not in (errno.EPROTOTYPE, errno.ECONNRESET):
                    raise
            _current.attempt = None
            response: http.client.HTTPResponse
            if head is not None:  # what http.client's getresponse does, without its state machine
                response = _Response(conn.sock, method=method)
                response.begin()
                if response.will_close:
                    conn.close()
            else:
                if conn.sock is not None:
                    conn.sock.settimeout(read_timeout)
                response = http.client.HTTPConnection.getresponse(conn)
                conn._response_options = None  # what urllib3's own getresponse resets
            reply_headers = HTTPHeaderDict(
                [(name, _OBSOLETE_FOLD.sub(" ", value) if "\r\n" in value else value)
                 for name, value in response.msg.items()])
            raw = self._body(response, reply_headers, method)
        except BaseException:
            conn.close()
            pool._put_conn(None)  # keeps the pool's slot, as urlopen does
            raise
        pool._put_conn(conn)
        return self._reply(response.status, reply_headers, raw)

    def _body(self, response: Any, headers: Mapping[str, str], method: str) -> bytes:
        """The whole body within the caps; the Content-Encoding is undone by the caller."""
        if "transfer-encoding" in headers and "content-length" in headers:
            raise errors.MalformedResponseError("response has both Transfer-Encoding and "
                                                "Content-Length")
        expected = _content_length(headers.get("content-length"))
        limit = self.max_body_bytes
        if expected is not None and expected > limit:
            raise errors.MalformedResponseError(
                f"response body exceeds {limit} bytes (Content-Length {expected})")
        if method == "HEAD" or response.status in (204, 304):
            return b""
        if expected is not None:
            raw: bytes = response.read()  # http.client reads exactly Content-Length bytes, no more
            if len(raw) < expected:
                raise errors.NetworkError(f"connection closed after {len(raw)} of {expected} "
                                          "body bytes")
            return raw
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
        return b"".join(chunks)

    def _reply(self, status: int, headers: Mapping[str, str], raw: bytes) -> Reply:
        encoding = headers.get("content-encoding")
        if encoding and raw:  # we ask for identity; a server or proxy may encode all the same
            from .decoding import decode_body

            raw = decode_body(encoding, raw, self.max_body_bytes)
        return Reply(status, headers, raw)

    @staticmethod
    def _discard(response: Any) -> None:
        if response is not None:
            response.close()  # never back to the pool half-read
            response.release_conn()


def _no_answer(exc: BaseException, expired: bool, budget: float,
               url: Optional[str] = None) -> errors.FoasError:
    from .transport_errors import no_answer

    return no_answer(exc, expired, budget, url)
