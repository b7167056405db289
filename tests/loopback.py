"""Small real servers on 127.0.0.1 for transport tests: a forwarding proxy and a TLS origin.

`ForwardProxy` forwards absolute-URI requests (GET, PUT, POST: plain http through a proxy) and
tunnels CONNECT (https through a proxy), like squid or tinyproxy would, but only
ever to loopback addresses; it records what it was asked and can demand
Basic proxy credentials. `TlsOrigin` is an HTTPS server with the test CA's
certificate for 127.0.0.1 and localhost (tests/data/tls).
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

import pytest

TLS_DIR = Path(__file__).parent / "data" / "tls"
CA_FILE = TLS_DIR / "ca.pem"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class ProxyRecord:
    method: str
    target: str
    proxy_authorization: Optional[str]


def _pipe(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    while True:
        readable, _, _ = select.select(sockets, [], [], 10)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


class ForwardProxy:
    """A forwarding HTTP proxy on loopback that refuses any non-loopback target."""

    def __init__(self, require_auth: Optional[str] = None) -> None:
        self.records: list[ProxyRecord] = []
        self.require_auth = require_auth  # the exact Proxy-Authorization value to demand
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _admit(self) -> bool:
                auth = self.headers.get("Proxy-Authorization")
                proxy.records.append(ProxyRecord(self.command, self.path, auth))
                if proxy.require_auth is not None and auth != proxy.require_auth:
                    self.send_response(407)
                    self.send_header("Proxy-Authenticate", 'Basic realm="test"')
                    self.send_header("Content-Length", "0")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    return False
                return True

            def do_CONNECT(self) -> None:
                if not self._admit():
                    return
                host, _, port = self.path.rpartition(":")
                if host.strip("[]") not in _LOOPBACK:
                    self.send_error(403, "loopback only")
                    return
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
                self.send_response(200, "Connection established")
                self.end_headers()
                try:
                    _pipe(self.connection, upstream)
                finally:
                    upstream.close()
                    self.close_connection = True

            def do_GET(self) -> None:
                if not self._admit():
                    return
                parts = urlsplit(self.path)
                if parts.scheme != "http" or parts.hostname not in _LOOPBACK:
                    self.send_error(403, "loopback http only")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                upstream = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
                try:
                    target = parts.path + (f"?{parts.query}" if parts.query else "")
                    lines = [f"{self.command} {target} HTTP/1.1"]
                    for name, value in self.headers.items():
                        if name.lower() not in ("proxy-authorization", "proxy-connection", "connection"):
                            lines.append(f"{name}: {value}")
                    lines.append("Connection: close")
                    upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
                    while True:
                        data = upstream.recv(65536)
                        if not data:
                            break
                        self.connection.sendall(data)
                finally:
                    upstream.close()
                    self.close_connection = True

            do_PUT = do_POST = do_GET  # the metadata token step and CloudSSO

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class TlsOrigin:
    """HTTPS on 127.0.0.1 (the test CA's certificate) answering every GET with JSON: `answer`'s
    value for the request, by default the path and User-Agent."""

    def __init__(self, answer: Optional[Callable[[BaseHTTPRequestHandler], Any]] = None) -> None:
        def path_and_agent(request: BaseHTTPRequestHandler) -> Any:
            return {"path": request.path, "ua": request.headers.get("User-Agent")}

        respond = answer or path_and_agent

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                body = json.dumps(respond(self)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(TLS_DIR / "server.pem", TLS_DIR / "server.key")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def forward_proxy() -> Iterator[ForwardProxy]:
    proxy = ForwardProxy()
    yield proxy
    proxy.stop()


@pytest.fixture
def tls_origin() -> Iterator[TlsOrigin]:
    origin = TlsOrigin()
    yield origin
    origin.stop()
