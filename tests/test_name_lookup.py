"""The per-request deadline covers the name lookup of a new connection (issue 11).

A resolver is simulated by replacing `socket.getaddrinfo`: a stalled one waits
on an event, a fake one answers loopback for made-up names. Everything else is
the real transport against real loopback servers. Elapsed-time bounds carry
slack for a loaded 2-core machine.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from urllib3.connection import HTTPConnection

from clients import client_for_server
from foas_refjobs import Credentials, NetworkError, name_lookup
from foas_refjobs.transport import Transport, _TrackedHTTPSConnection
from hostile_server import FoasPages, HostileServer, Reply, job
from loopback import CA_FILE, ForwardProxy, TlsOrigin

LOOKUP_THREAD = "foas-name-lookup"
SLACK = 1.0


class Resolver:
    """Stands in for the system resolver: records names, stalls some, maps some to loopback."""

    def __init__(self) -> None:
        self.real = socket.getaddrinfo
        self.calls: list[tuple[str, str]] = []  # (name, thread)
        self.stalled: set[str] = set()
        self.loopback: set[str] = set()
        self.release = threading.Event()
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Names looked up on our lookup threads (a numeric lookup by urllib3 itself is not one)."""
        return [name for name, thread in self.calls if thread == LOOKUP_THREAD]

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((str(host), threading.current_thread().name))
        if host in self.stalled:
            with self._lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
            try:
                self.release.wait(20)
            finally:
                with self._lock:
                    self.running -= 1
            raise socket.gaierror(socket.EAI_AGAIN, "stalled resolver released")
        if host in self.loopback:
            return self.real("127.0.0.1", port, *args, **kwargs)
        return self.real(host, port, *args, **kwargs)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resolver]:
    fake = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield fake
    fake.release.set()


def transport(**kwargs: Any) -> Transport:
    kwargs.setdefault("env", {})
    return Transport(**kwargs)


def test_a_stalled_lookup_fails_as_timeout_within_the_deadline(resolver: Resolver,
                                                               hostile_server: HostileServer) -> None:
    resolver.stalled.add("stalled.invalid")
    t = transport()
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        t.send("GET", f"http://stalled.invalid:{hostile_server.port}/x", {}, timeout=0.5)
    elapsed = time.monotonic() - started
    assert info.value.code == "Timeout" and "stalled.invalid" in info.value.message
    assert 0.45 <= elapsed < 0.5 + SLACK
    assert resolver.names() == ["stalled.invalid"]
    # The connect timeout bounds the lookup too, when it is the shorter.
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        transport(connect_timeout=0.3).send("GET", f"http://stalled.invalid:{hostile_server.port}/x",
                                            {}, timeout=5.0)
    assert info.value.code == "Timeout" and time.monotonic() - started < 0.3 + SLACK
    # The same transport goes on working: nothing of the failed attempt is pooled.
    hostile_server.queue(Reply.json({"ok": True}))
    assert t.send("GET", hostile_server.url + "/y", {}, timeout=5.0).body == b'{"ok": true}'


def test_stalled_lookups_hold_a_bounded_number_of_threads(resolver: Resolver,
                                                          hostile_server: HostileServer) -> None:
    resolver.stalled.add("stalled.invalid")
    t = transport(pool_size=4)
    failures: list[BaseException] = []
    requests = name_lookup.MAX_LOOKUPS + 4

    def one() -> None:
        try:
            t.send("GET", f"http://stalled.invalid:{hostile_server.port}/x", {}, timeout=0.6)
        except NetworkError as exc:
            failures.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert time.monotonic() - started < 0.6 + 2 * SLACK
    assert len(failures) == requests and {getattr(f, "code", None) for f in failures} == {"Timeout"}
    assert resolver.peak == name_lookup.MAX_LOOKUPS
    lookups = [th for th in threading.enumerate() if th.name == LOOKUP_THREAD]
    assert len(lookups) == name_lookup.MAX_LOOKUPS  # the abandoned ones, still in getaddrinfo
    resolver.release.set()
    for thread in lookups:
        thread.join(5)
    assert not [th for th in threading.enumerate() if th.name == LOOKUP_THREAD]


def test_a_listing_retries_a_stalled_lookup_and_asks_the_resolver_again(
        resolver: Resolver, hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retried like any network fault; nothing is cached, so the retry asks the resolver anew."""
    stalled_once = threading.Event()
    inner = resolver.__call__

    def first_stalls(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "foas.flaky.test" and not stalled_once.is_set():
            stalled_once.set()
            resolver.calls.append((host, threading.current_thread().name))
            time.sleep(3)  # ends on its own: nothing will release it
            raise socket.gaierror(socket.EAI_AGAIN, "late")
        return inner(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", first_stalls)
    resolver.loopback.add("foas.flaky.test")
    hostile_server.handler = FoasPages([job("j1"), job("j2")])

    class Flaky:
        url = f"http://foas.flaky.test:{hostile_server.port}"

    started = time.monotonic()
    with client_for_server(Flaky(), Credentials("key-id", "secret-value-0123"), timeout=0.5,
                           max_concurrency=1) as client:
        listing = client.list_ref_package_jobs("proj", "udf.jar")
    assert listing.referenced and [j.job_id for j in listing.jobs] == ["j1", "j2"]
    assert time.monotonic() - started < 0.5 + 2 * SLACK
    assert resolver.names() == ["foas.flaky.test", "foas.flaky.test"]


def test_a_name_resolves_once_per_connection_and_pooled_requests_never_again(
        resolver: Resolver, hostile_server: HostileServer) -> None:
    hostile_server.queue(*[Reply.http(200, [("Connection", "keep-alive")], b"{}").keep_alive()
                           for _ in range(4)])
    t = transport()
    for _ in range(4):
        assert t.send("GET", f"http://localhost:{hostile_server.port}/x", {}, timeout=5.0).body == b"{}"
    assert hostile_server.connections == 1
    assert resolver.names() == ["localhost"]


def test_an_ip_literal_never_reaches_the_lookup_threads(resolver: Resolver,
                                                        hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.json({"ok": True}), Reply.json({"ok": True}))
    t = transport()
    t.send("GET", hostile_server.url + "/x", {}, timeout=5.0)
    t.close()
    t.send("GET", hostile_server.url + "/x", {}, timeout=5.0)
    assert hostile_server.connections == 2
    assert resolver.names() == []
    assert [name for name, _ in resolver.calls] == ["127.0.0.1", "127.0.0.1"]  # urllib3's, numeric


def test_https_verifies_the_certificate_against_the_name_not_the_address(
        resolver: Resolver, tls_origin: TlsOrigin) -> None:
    """The certificate names 127.0.0.1 and localhost: a name it does not list must fail, although
    the address connected to (127.0.0.1) is in it."""
    t = transport(ca_bundle=str(CA_FILE))
    reply = t.send("GET", f"https://localhost:{tls_origin.port}/ok", {}, timeout=5.0)
    assert reply.status == 200 and b'"/ok"' in reply.body
    resolver.loopback.add("not-in-the-cert.test")
    with pytest.raises(NetworkError) as info:
        t.send("GET", f"https://not-in-the-cert.test:{tls_origin.port}/no", {}, timeout=5.0)
    assert info.value.code == "TLSError" and "not-in-the-cert.test" in info.value.message
    assert resolver.names() == ["localhost", "not-in-the-cert.test"]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_through_a_proxy_only_the_proxy_name_is_resolved(resolver: Resolver, forward_proxy: ForwardProxy,
                                                         scheme: str) -> None:
    t = transport(env={f"{scheme.upper()}_PROXY": f"http://localhost:{forward_proxy.port}"})
    try:
        reply = t.send("GET", f"{scheme}://origin.unresolvable.invalid/x", {}, timeout=5.0)
        assert reply.status == 403  # the test proxy forwards to loopback only
    except NetworkError as exc:  # CONNECT refused
        assert scheme == "https" and exc.code == "ProxyError"
    assert resolver.names() == ["localhost"]
    assert [r.target for r in forward_proxy.records] == (
        ["http://origin.unresolvable.invalid/x"] if scheme == "http" else ["origin.unresolvable.invalid:443"])


def test_the_urllib3_internals_relied_on() -> None:
    """Pins what name_lookup.connect_by_name relies on (urllib3 2.x)."""
    assert "_new_conn" in vars(HTTPConnection)
    connection = _TrackedHTTPSConnection("example.test.", 443)
    assert connection._dns_host == "example.test."  # looked up with the dot
    assert connection.host == "example.test"  # verified without it
    from urllib3.util.connection import allowed_gai_family

    assert allowed_gai_family() in (socket.AF_INET, socket.AF_UNSPEC)
