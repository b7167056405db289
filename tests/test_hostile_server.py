"""The hostile server itself: it must send exactly what it is told, at the pace it is told."""

from __future__ import annotations

import gzip
import json
import socket
import time

from foas_refjobs import Credentials, FoasClient
from hostile_server import FoasPages, HostileServer, Reply, job, page_body


def _exchange(server: HostileServer, request: bytes = b"GET /x?pageIndex=2 HTTP/1.1\r\nHost: h\r\n\r\n",
              timeout: float = 5.0) -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


def test_sends_scripted_bytes_verbatim_and_records_the_request(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.http(200, [("Content-Length", "²"), ("X-Dup", "1"), ("X-Dup", "2")],
                                    b"{}"))
    received, _ = _exchange(hostile_server)
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert "Content-Length: ²".encode() in received and received.count(b"X-Dup") == 2
    assert b"Content-Length: 2\r\n" not in received  # a given Content-Length is not corrected
    assert received.endswith(b"\r\n\r\n{}")
    request = hostile_server.requests[0]
    assert (request.method, request.path, request.page_index) == ("GET", "/x", 2)
    assert request.headers["host"] == "h"


def test_trickles_headers_at_the_scripted_pace(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.http(200, [("X-Pad", "abcdefgh")], b"ok", trickle_headers=0.02))
    received, elapsed = _exchange(hostile_server)
    assert received.endswith(b"ok")
    head_bytes = received.index(b"\r\n\r\n") + 4
    assert elapsed >= 0.02 * (head_bytes - 1) * 0.9


def test_gzip_bomb_is_small_on_the_wire_and_decodes_to_the_announced_size(
        hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.gzip_bomb(10 * 1024 * 1024, layers=2))
    received, _ = _exchange(hostile_server)
    head, body = received.split(b"\r\n\r\n", 1)
    assert b"Content-Encoding: gzip, gzip" in head
    assert len(body) < 20_000
    assert len(gzip.decompress(gzip.decompress(body))) == 10 * 1024 * 1024


def test_close_mid_body_and_unscripted_requests_fail_loudly(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.http(200, [("Content-Length", "100")], b"", content_length=False)
                         .then_send(b'{"Total', delay=0.01).then_close())
    received, _ = _exchange(hostile_server)
    assert received.endswith(b'{"Total')
    received, _ = _exchange(hostile_server)
    assert received.startswith(b"HTTP/1.1 599 ")


def test_stop_ends_a_long_pause(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.http(200, [], b"late", delay=60))
    sock = socket.create_connection(("127.0.0.1", hostile_server.port), timeout=10)
    sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
    time.sleep(0.1)
    started = time.monotonic()
    hostile_server.stop()
    assert sock.recv(100) == b""
    assert time.monotonic() - started < 5
    sock.close()


def test_keep_alive_serves_two_requests_on_one_connection(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.http(200, [("Connection", "keep-alive")], b"a").keep_alive(),
                         Reply.http(200, [], b"b"))
    received, _ = _exchange(hostile_server, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
    assert received.endswith(b"b") and received.count(b"HTTP/1.1 200") == 2
    assert [r.connection for r in hostile_server.requests] == [1, 1]


def test_the_real_client_lists_through_foas_pages(hostile_server: HostileServer) -> None:
    pages = FoasPages([job(f"j{i}") for i in range(7)])
    hostile_server.handler = pages
    with FoasClient(endpoint=hostile_server.url, credentials=Credentials("ak", "secret-value"),
                    max_concurrency=1) as client:
        listing = client.list_ref_package_jobs("proj", "udf.jar", page_size=3)
    assert listing.job_ids == [f"j{i}" for i in range(7)] and listing.consistent
    assert [r.page_index for r in hostile_server.requests] == [1, 2, 3]
    assert hostile_server.requests[0].path == "/api/v2/projects/proj/packages/udf.jar/jobs"
    assert json.loads(json.dumps(page_body([job("a")])))["TotalPage"] == 1
