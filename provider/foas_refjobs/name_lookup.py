"""Opening a connection to a host NAME within the request's deadline, the name lookup included.

`getaddrinfo` cannot be interrupted and happens before there is a socket for
the deadline watchdog to cut, so a stalled resolver would hold a request (and
a listing's worker) until the system's resolver gives up. Here the lookup runs
on a thread of its own and the caller waits at most its budget, leaving an
overrunning lookup behind. At most `MAX_LOOKUPS` lookups run at once, so a
resolver that hangs costs a bounded number of threads, each ending with its
lookup. Nothing is cached: every new connection asks the resolver, which keeps
its own rules (hosts file, search domains, TTLs).

Only a new connection to a name comes here: a pooled connection never
resolves, and an IP literal is connected to by urllib3 as before. Imported on
the first such connection.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Optional

from urllib3 import exceptions as u3

from . import errors
from .settings import DEFAULT_TIMEOUT
from .watchdog import block_interrupts_in_this_thread

MAX_LOOKUPS = 8

if TYPE_CHECKING:
    from urllib3.connection import HTTPConnection

AddrInfo = tuple[Any, Any, int, str, Any]

_slots = threading.BoundedSemaphore(MAX_LOOKUPS)


def _reset_after_fork() -> None:
    global _slots
    _slots = threading.BoundedSemaphore(MAX_LOOKUPS)  # lookup threads do not survive a fork


os.register_at_fork(after_in_child=_reset_after_fork)


def _too_slow(host: str, budget: float) -> errors.NetworkError:
    return errors.NetworkError(f"looking up {host} took longer than {budget:.3g}s "
                               "(the request's deadline)", code="Timeout")


def lookup(host: str, port: int, family: int, deadline: float) -> list[AddrInfo]:
    """`socket.getaddrinfo(host, port, family, SOCK_STREAM)`, or NetworkError `Timeout` at `deadline`.

    `deadline` is a time.monotonic() value. The resolver's own failure
    (socket.gaierror) is raised as it is.
    """
    budget = deadline - time.monotonic()
    slots = _slots
    if budget <= 0 or not slots.acquire(timeout=budget):
        raise _too_slow(host, max(budget, 0.0))
    outcome: list[Any] = []
    done = threading.Event()

    def run() -> None:
        block_interrupts_in_this_thread()
        try:
            outcome.append(socket.getaddrinfo(host, port, family, socket.SOCK_STREAM))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller as is
            outcome.append(exc)
        finally:
            slots.release()
            done.set()

    try:
        threading.Thread(target=run, name="foas-name-lookup", daemon=True).start()
    except BaseException:
        slots.release()
        raise
    if not done.wait(max(deadline - time.monotonic(), 0.0)):
        raise _too_slow(host, budget)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return list(result)


def connect_any(addresses: list[AddrInfo], timeout: Optional[float], deadline: float,
                source_address: Optional[tuple[str, int]],
                socket_options: Optional[list[tuple[int, int, Any]]]) -> socket.socket:
    """A socket connected to the first of `addresses` (in the resolver's order) that accepts.

    Each attempt gets the connect `timeout`, never past `deadline`; the last
    attempt's OSError is raised when none accepts.
    """
    failure: Optional[OSError] = None
    for family, kind, proto, _, address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no time left to connect") from failure
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(left if timeout is None else min(timeout, left))
            if source_address:
                sock.bind(source_address)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            failure = exc
    if failure is not None:
        raise failure
    raise OSError("the resolver returned no addresses")


def connect_by_name(connection: HTTPConnection, deadline: Optional[float]) -> socket.socket:
    """What urllib3's `_new_conn` does, with the name lookup bounded by `deadline`
    (a time.monotonic() value; None: the connect timeout alone bounds it).

    urllib3 internals relied on, all here and pinned by tests/test_name_lookup.py:
    `HTTPConnection._new_conn()` makes every new connection's socket (urllib3 2.x),
    connecting to `_dns_host` (the proxy's name when proxied), while `host`
    (the same without a trailing dot) is what TLS verifies; `timeout` is the
    connect timeout by then; `allowed_gai_family()` picks IPv4 or both.
    """
    from urllib3.util.connection import allowed_gai_family

    name = connection._dns_host
    try:
        name.encode("idna")
    except UnicodeError:
        raise u3.LocationParseError(f"'{name}', label empty or too long") from None
    timeout = connection.timeout if isinstance(connection.timeout, (int, float)) else None
    if deadline is None:
        deadline = time.monotonic() + (timeout or DEFAULT_TIMEOUT)
    try:
        addresses = lookup(name, connection.port or 0, allowed_gai_family(),
                           deadline if timeout is None else min(deadline, time.monotonic() + timeout))
    except socket.gaierror as exc:
        raise u3.NameResolutionError(connection.host, connection, exc) from exc
    try:
        sock = connect_any(addresses, timeout, deadline, connection.source_address,
                           connection.socket_options)
    except TimeoutError as exc:
        raise u3.ConnectTimeoutError(connection, f"Connection to {connection.host} timed out. "
                                     f"(connect timeout={timeout})") from exc
    except OSError as exc:
        raise u3.NewConnectionError(connection, f"Failed to establish a new connection: {exc}") from exc
    sys.audit("http.client.connect", connection, connection.host, connection.port)
    return sock
