"""One FoasClient per distinct ClientOptions in a process, so what a client learns is kept.

The Pulumi front ends list once per resource or function call; a client made
for each listing would re-learn the page size every time (the probe costs
requests the service refuses). The provider host and the program process keep
at most MAX_CLIENTS clients here, for as long as the process lives. Clients
live only in this module's memory: providers hold no client, so nothing here
reaches the pickled provider or Pulumi state.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .client import FoasClient
from .credentials import CredentialSource
from .options import ClientOptions
from .settings import Credentials

MAX_CLIENTS = 8
# What the credential chain reads from the environment, when the options carry no credentials.
_CHAIN_PREFIXES = ("ALIBABA_CLOUD_", "ALICLOUD_", "ALIYUN_")
_SALT = secrets.token_bytes(16)


def _environment_digest() -> str:
    """Salted digest of the chain's variables: a changed variable gives a new client, no value is kept."""
    chosen = sorted((k, v) for k, v in os.environ.items() if k.startswith(_CHAIN_PREFIXES) or k == "HOME")
    digest = hashlib.sha256(_SALT)
    for name, value in chosen:
        digest.update(f"{name}\0{value}\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _credentials_part(credentials: object) -> Any:
    # The hash never sees a secret: equality (ClientOptions.__eq__) compares the secrets.
    if isinstance(credentials, Credentials):
        return ("credentials", credentials.access_key_id, credentials.role_arn,
                credentials.role_session_name, credentials.ecs_role_name)
    if isinstance(credentials, CredentialSource):
        return ("source", id(credentials))  # compared by identity, as ClientOptions does
    return ("environment", _environment_digest())


class ClientKey:
    """ClientOptions made hashable; repr is the options' own, which never shows a secret."""

    __slots__ = ("options", "_parts", "_hash")

    def __init__(self, options: ClientOptions) -> None:
        self.options = options
        self._parts = tuple(_credentials_part(getattr(options, name)) if name == "credentials"
                            else getattr(options, name) for name in ClientOptions.__slots__)
        self._hash = hash(self._parts)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClientKey):
            return NotImplemented
        return self._parts == other._parts and self.options == other.options

    def __repr__(self) -> str:
        return f"ClientKey({self.options!r})"

    def __reduce__(self) -> Any:
        raise TypeError("a ClientKey is never pickled: its options may hold credentials")


class _Entry:
    __slots__ = ("client", "users", "retired")

    def __init__(self, client: FoasClient) -> None:
        self.client = client
        self.users = 0
        self.retired = False


_CLIENTS: OrderedDict[ClientKey, _Entry] = OrderedDict()
_LOCK = threading.Lock()


def _retire(entry: _Entry) -> bool:
    """Mark an entry dropped from the cache; True when nobody uses it and it can close now."""
    entry.retired = True
    return entry.users == 0


@contextmanager
def shared_client(options: ClientOptions) -> Iterator[FoasClient]:
    """The process's client for these options, made on first use.

    A client dropped from the cache (least recently used beyond MAX_CLIENTS, or
    after an interrupt) closes once its last listing ends. With credentials
    None the client resolves the environment chain when made; a change to the
    chain's variables gives a new client.
    """
    key = ClientKey(options)
    with _LOCK:
        entry = _CLIENTS.get(key)
        if entry is not None:
            _CLIENTS.move_to_end(key)
            entry.users += 1
    if entry is None:
        made = FoasClient(options)
        to_close: list[FoasClient] = []
        with _LOCK:
            entry = _CLIENTS.get(key)
            if entry is None:
                entry = _CLIENTS[key] = _Entry(made)
                while len(_CLIENTS) > MAX_CLIENTS:
                    _old_key, old = _CLIENTS.popitem(last=False)
                    if _retire(old):
                        to_close.append(old.client)
            else:
                to_close.append(made)
            entry.users += 1
        for client in to_close:
            client.close()
    interrupted = False
    try:
        yield entry.client
    except BaseException as exc:
        interrupted = not isinstance(exc, Exception)
        raise
    finally:
        with _LOCK:
            entry.users -= 1
            if interrupted and _CLIENTS.get(key) is entry:
                del _CLIENTS[key]
                entry.retired = True
            close_now = entry.retired and entry.users == 0
        if close_now:
            entry.client.close(wait=not interrupted)


def close_shared_clients() -> None:
    """Close every cached client (at process exit); one still in use closes when its listing ends."""
    with _LOCK:
        entries = list(_CLIENTS.values())
        _CLIENTS.clear()
        idle = [entry.client for entry in entries if _retire(entry)]
    for client in idle:
        client.close(wait=False)


atexit.register(close_shared_clients)
