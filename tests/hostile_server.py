"""A hostile HTTP server for tests: raw sockets on 127.0.0.1, any bytes, at any pace.

The emulator is honest: it always answers well-formed HTTP and well-formed
JSON. The failures that matter for a deletion gate come from servers (or
proxies, or races) that are not. This server sends exactly the bytes a test
scripts, with the delays it scripts, so a test can reproduce a trickled header,
a stacked-gzip bomb, a `Content-Length: ²`, a connection cut mid-body, a body
with duplicate JSON keys, or a job list that changes between two page reads.
It does not verify signatures: it is the other side of a broken network, not
the service.

API
---
Start it with the ``hostile_server`` fixture (or ``with HostileServer() as s``):

    def test_x(hostile_server: HostileServer) -> None:
        hostile_server.queue(Reply.json({"TotalCount": 0, ...}))
        client = FoasClient(endpoint=hostile_server.url, ...)

``server.url``            ``http://127.0.0.1:<port>``
``server.queue(*replies)``  replies served in order, one per request (any connection)
``server.handler``        ``Callable[[Request], Reply]`` used once the queue is empty
                          (default: ``Reply.status(599)``, so a test that forgot to
                          script a request fails loudly)
``server.requests``       every request received, in order: ``Request`` objects
                          (method, target, path, query dict, lower-cased headers, body,
                          ``page_index``/``page_size`` as int or None, connection number)
``server.connections``    how many TCP connections were accepted
``server.stop()``         closes the listener and every open connection; pauses end early

A ``Reply`` is a list of steps run in order on the connection:

``Reply.raw(data)``                            send these exact bytes, then close
``Reply.http(status, headers, body)``          a status line, the headers exactly as given
                                               (a list of (name, value) pairs, str or bytes,
                                               duplicates and odd values kept), the body;
                                               ``content_length=True`` adds a correct
                                               Content-Length unless one is given
``Reply.json(obj_or_bytes, status=200)``       ``http`` with ``application/json``; a ``str``
                                               or ``bytes`` body is sent verbatim (use that
                                               for duplicate keys)
``Reply.status(code, body=b"")``               a bare status answer
``Reply.gzip_bomb(decoded_bytes, layers=2)``   ``Content-Encoding: gzip, gzip`` (one name per
                                               layer) whose decoded size is ``decoded_bytes``
``reply.then_send(data, delay=0)``             another chunk after ``delay`` seconds
``reply.then_trickle(data, interval, size=1)`` ``size`` bytes every ``interval`` seconds
``reply.then_pause(seconds)``                  wait (ends early on ``stop()``)
``reply.then_close()`` / ``reply.then_reset()`` FIN / RST (SO_LINGER 0) now
``reply.keep_alive()``                         do not close after the steps: the next
                                               request on the connection is read and answered

Builders also take ``delay=`` (pause before the first byte) and
``trickle_headers=`` (interval in seconds: the status line and headers go out one
byte at a time at that pace, then the body at full speed).

``FoasPages`` is a handler that pages a mutable list of job objects the way the
service does (``pageIndex``/``pageSize`` from the query, ``TotalCount``,
``TotalPage``, ``Jobs.Job``), with hooks to mutate the list before a given page
(``before_page``) and to rewrite a page's body (``transform``, returning a dict,
a str or bytes) - the race and property tests are built on it.
"""

from __future__ import annotations

import gzip
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union
from urllib.parse import parse_qsl, urlsplit

Header = tuple[Union[str, bytes], Union[str, bytes]]
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
_MAX_REQUEST_HEAD = 64 * 1024


def _b(value: Union[str, bytes]) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


@dataclass
class Request:
    """One request as received: enough to assert what the client sent."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int
    received_at: float

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    def _int_param(self, name: str) -> Optional[int]:
        value = self.query.get(name)
        return int(value) if value is not None and value.isascii() and value.isdigit() else None

    @property
    def page_index(self) -> Optional[int]:
        return self._int_param("pageIndex")

    @property
    def page_size(self) -> Optional[int]:
        return self._int_param("pageSize")


# A step is (kind, payload, number, number): "send" data delay | "trickle" data interval size
# | "pause" - seconds | "close" | "reset".
Step = tuple[str, bytes, float, int]


@dataclass
class Reply:
    """What to do on the connection for one request; build with the class methods."""

    steps: list[Step] = field(default_factory=list)
    close: bool = True

    # --- builders -----------------------------------------------------------------
    @classmethod
    def raw(cls, data: Union[str, bytes], *, delay: float = 0.0) -> Reply:
        return cls([("send", _b(data), delay, 0)])

    @classmethod
    def http(cls, status: Union[int, str] = 200, headers: Sequence[Header] = (),
             body: Union[str, bytes] = b"", *, content_length: bool = True,
             delay: float = 0.0, trickle_headers: Optional[float] = None) -> Reply:
        body = _b(body)
        if isinstance(status, int):
            status_line = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}".encode()
        else:
            status_line = _b(status)
        lines = [status_line]
        names = {_b(name).lower() for name, _ in headers}
        for name, value in headers:
            lines.append(_b(name) + b": " + _b(value))
        if content_length and b"content-length" not in names and b"transfer-encoding" not in names:
            lines.append(b"Content-Length: " + str(len(body)).encode())
        if b"connection" not in names:
            lines.append(b"Connection: close")
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        reply = cls()
        if delay:
            reply.then_pause(delay)
        if trickle_headers is not None:
            reply.then_trickle(head, trickle_headers)
            reply.then_send(body)
        else:
            reply.then_send(head + body)
        return reply

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: Sequence[Header] = (), **kwargs: Any) -> Reply:
        body = obj if isinstance(obj, (str, bytes)) else json.dumps(obj)
        return cls.http(status, [("Content-Type", "application/json;charset=utf-8"), *headers],
                        body, **kwargs)

    @classmethod
    def status(cls, code: int, body: Union[str, bytes] = b"", **kwargs: Any) -> Reply:
        return cls.http(code, [("Content-Type", "text/plain")], body, **kwargs)

    @classmethod
    def gzip_bomb(cls, decoded_bytes: int, layers: int = 2, *, fill: bytes = b" ",
                  status: int = 200, **kwargs: Any) -> Reply:
        """`decoded_bytes` of `fill` (whitespace by default: valid JSON padding) gzipped
        `layers` times, announced as `Content-Encoding: gzip, gzip, ...`."""
        data = _gzip_repeated(fill, decoded_bytes)
        for _ in range(layers - 1):
            data = gzip.compress(data, compresslevel=9, mtime=0)
        encoding = ", ".join(["gzip"] * layers)
        return cls.http(status, [("Content-Type", "application/json"),
                                 ("Content-Encoding", encoding)], data, **kwargs)

    # --- further steps ----------------------------------------------------------------
    def then_send(self, data: Union[str, bytes], delay: float = 0.0) -> Reply:
        self.steps.append(("send", _b(data), delay, 0))
        return self

    def then_trickle(self, data: Union[str, bytes], interval: float, size: int = 1) -> Reply:
        self.steps.append(("trickle", _b(data), interval, size))
        return self

    def then_pause(self, seconds: float) -> Reply:
        self.steps.append(("pause", b"", seconds, 0))
        return self

    def then_close(self) -> Reply:
        self.steps.append(("close", b"", 0.0, 0))
        return self

    def then_reset(self) -> Reply:
        self.steps.append(("reset", b"", 0.0, 0))
        return self

    def keep_alive(self) -> Reply:
        self.close = False
        return self


def _gzip_repeated(fill: bytes, size: int) -> bytes:
    """gzip of `fill * size` without holding `size` bytes in memory."""
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = (fill * ((1 << 20) // max(len(fill), 1) + 1))[: 1 << 20]
    out = [compressor.compress(b"")]
    remaining = size
    while remaining > 0:
        piece = block[: min(remaining, len(block))]
        out.append(compressor.compress(piece))
        remaining -= len(piece)
    out.append(compressor.flush())
    return b"".join(out)


class _Closed(Exception):
    """The connection ended (by the peer, a scripted close, or stop())."""


class HostileServer:
    """See the module docstring."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[Request] = []
        self.handler: Callable[[Request], Reply] = lambda _request: Reply.status(599, b"unscripted")
        self.connections = 0
        self.errors: list[str] = []
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name="hostile-accept", daemon=True)
        self._acceptor.start()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def queue(self, *replies: Reply) -> HostileServer:
        with self._lock:
            self._queue.extend(replies)
        return self

    def reset(self) -> None:
        """Forget scripted replies, recorded requests and the handler (fixtures reuse a server)."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.errors.clear()
            self.connections = 0
        self.handler = lambda _request: Reply.status(599, b"unscripted")

    def stop(self) -> None:
        self._stopping.set()
        _shutdown(self._listener)  # wakes the blocked accept(); close() alone does not
        try:
            self._listener.close()
        except OSError:
            self.errors.append("listener close failed")
        with self._lock:
            open_now = list(self._open)
        for conn in open_now:
            _shutdown(conn)
        for thread in [self._acceptor, *self._threads]:
            thread.join(timeout=5)

    # --- serving --------------------------------------------------------------------
    def _accept_loop(self) -> None:
        for number in itertools.count(1):
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                conn.close()
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
                self._open.add(conn)
            thread = threading.Thread(target=self._serve, args=(conn, number),
                                      name=f"hostile-conn-{number}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        buffer = b""
        try:
            while not self._stopping.is_set():
                request, buffer = self._read_request(conn, buffer, number)
                with self._lock:
                    self.requests.append(request)
                    reply = self._queue.pop(0) if self._queue else None
                if reply is None:
                    try:
                        reply = self.handler(request)
                    except Exception as exc:  # noqa: BLE001 - a broken test handler answers 598
                        self.errors.append(f"handler raised {type(exc).__name__}: {exc}")
                        reply = Reply.status(598, f"handler raised {type(exc).__name__}: {exc}")
                self._run(conn, reply)
                if reply.close:
                    break
        except _Closed:
            pass
        finally:
            with self._lock:
                self._open.discard(conn)
            try:
                conn.close()
            except OSError:
                self.errors.append("close failed")

    def _read_request(self, conn: socket.socket, buffer: bytes, number: int) -> tuple[Request, bytes]:
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > _MAX_REQUEST_HEAD:
                raise _Closed
            chunk = self._recv(conn)
            buffer += chunk
        head, rest = buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, *_ = (lines[0].split(" ") + ["", ""])[:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(rest) < length:
            rest += self._recv(conn)
        body, rest = rest[:length], rest[length:]
        return Request(method, target, headers, body, number, time.monotonic()), rest

    def _recv(self, conn: socket.socket) -> bytes:
        try:
            chunk = conn.recv(65536)
        except OSError as exc:
            raise _Closed from exc
        if not chunk:
            raise _Closed
        return chunk

    def _run(self, conn: socket.socket, reply: Reply) -> None:
        for kind, data, number, size in reply.steps:
            if kind == "send":
                self._pause(number)
                self._send(conn, data)
            elif kind == "trickle":
                for start in range(0, len(data), max(size, 1)):
                    if start:
                        self._pause(number)
                    self._send(conn, data[start:start + max(size, 1)])
            elif kind == "pause":
                self._pause(number)
            elif kind == "close":
                _shutdown(conn)
                raise _Closed
            elif kind == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                raise _Closed

    def _pause(self, seconds: float) -> None:
        if seconds > 0 and self._stopping.wait(seconds):
            raise _Closed

    def _send(self, conn: socket.socket, data: bytes) -> None:
        try:
            conn.sendall(data)
        except OSError as exc:  # the client gave up (its deadline) or reset
            raise _Closed from exc


def _shutdown(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        return


# --- the service's page shape --------------------------------------------------------
def job(job_id: str, **fields: Any) -> dict[str, Any]:
    """A job object as GetRefPackageJob sends it (PascalCase), committed BATCH by default."""
    return {"JobId": job_id, "JobName": f"name-{job_id}", "JobType": "BATCH",
            "IsCommitted": True, "Packages": "udf.jar", "ProjectName": "proj", **fields}


def page_body(jobs: Sequence[dict[str, Any]], *, total_count: Optional[int] = None,
              page_index: int = 1, page_size: int = 50,
              request_id: str = "hostile-request") -> dict[str, Any]:
    """One well-formed page: the documented fields and nothing else."""
    total = len(jobs) if total_count is None else total_count
    return {"RequestId": request_id, "PageIndex": page_index, "PageSize": page_size,
            "TotalCount": total, "TotalPage": -(-total // page_size) if page_size else 0,
            "Jobs": {"Job": list(jobs)}}


PageTransform = Callable[[dict[str, Any], Request], Union[dict[str, Any], str, bytes, Reply]]


class FoasPages:
    """A handler that pages `jobs` honestly, unless a hook says otherwise.

    `before_page(index, pages)` runs before each page is cut (mutate `pages.jobs`
    there to race the client); `transform(body, request)` may return a new dict,
    raw text, or a whole Reply.
    """

    def __init__(self, jobs: Sequence[dict[str, Any]] = (), *,
                 before_page: Optional[Callable[[int, FoasPages], None]] = None,
                 transform: Optional[PageTransform] = None,
                 reply_kwargs: Optional[dict[str, Any]] = None,
                 max_page_size: Optional[int] = None) -> None:
        self.jobs: list[dict[str, Any]] = list(jobs)
        self.max_page_size = max_page_size  # a larger pageSize is answered at this size
        self.before_page = before_page
        self.transform = transform
        self.reply_kwargs = reply_kwargs or {}
        self.served = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        index = request.page_index or 1
        size = request.page_size or 50
        if self.max_page_size is not None:
            size = min(size, self.max_page_size)
        with self._lock:
            self.served += 1
            if self.before_page is not None:
                self.before_page(index, self)
            window = self.jobs[(index - 1) * size: index * size]
            body: Any = page_body(window, total_count=len(self.jobs), page_index=index,
                                  page_size=size)
        if self.transform is not None:
            body = self.transform(body, request)
        if isinstance(body, Reply):
            return body
        return Reply.json(body, **self.reply_kwargs)


try:  # benchmarks import this module without pytest
    import pytest
except ImportError:  # pragma: no cover
    pass
else:
    @pytest.fixture
    def hostile_server() -> Iterator[HostileServer]:
        """A fresh hostile server per test, stopped (every connection cut) afterwards."""
        with HostileServer() as server:
            yield server
