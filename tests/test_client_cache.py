"""The per-process client cache the Pulumi front ends list through, against the emulator."""

from __future__ import annotations

import pickle

import pytest

from foas_refjobs import ClientOptions, Credentials, Query
from foas_refjobs.client_cache import MAX_CLIENTS, ClientKey, close_shared_clients, shared_client
from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FoasEmulator

PROJECT = "bayes_team"
PACKAGE = "blink_test_datastream.jar"


def options(emu: FoasEmulator, secret: str = DEFAULT_ACCESS_KEY_SECRET, **extra: object) -> ClientOptions:
    return ClientOptions(endpoint=emu.url, credentials=Credentials(DEFAULT_ACCESS_KEY_ID, secret),
                         **extra)  # type: ignore[arg-type]


def test_equal_settings_share_a_client_and_changed_ones_do_not(emulator: FoasEmulator) -> None:
    close_shared_clients()
    with shared_client(options(emulator)) as first:
        assert first.list(Query.one(PROJECT, PACKAGE)).total_count == 15
    # Settings read again (new objects, same values) give the same client.
    with shared_client(options(emulator)) as again:
        assert again is first
    with shared_client(options(emulator, secret="another-secret-value")) as other_secret:
        assert other_secret is not first
    with shared_client(options(emulator, timeout=3.0)) as other_timeout:
        assert other_timeout is not first
    close_shared_clients()
    with shared_client(options(emulator)) as after_close:
        assert after_close is not first


def test_the_cache_is_bounded_and_closes_what_it_drops(emulator: FoasEmulator) -> None:
    close_shared_clients()
    made = []
    for n in range(MAX_CLIENTS + 1):
        with shared_client(options(emulator, timeout=1.0 + n)) as client:
            made.append(client)
            if n == 0:
                client.list(Query.one(PROJECT, PACKAGE))
                assert client._transport._managers  # type: ignore[attr-defined]
    with shared_client(options(emulator, timeout=1.0)) as oldest_again:
        assert oldest_again is not made[0]  # dropped as least recently used
    with shared_client(options(emulator, timeout=1.0 + MAX_CLIENTS)) as newest_again:
        assert newest_again is made[-1]
    # The dropped client was closed: its connection pools are gone.
    assert made[0]._transport._managers == {}  # type: ignore[attr-defined]
    close_shared_clients()


def test_a_key_never_shows_or_pickles_a_secret(emulator: FoasEmulator) -> None:
    key = ClientKey(options(emulator))
    assert DEFAULT_ACCESS_KEY_SECRET not in repr(key)
    assert key == ClientKey(options(emulator)) and hash(key) == hash(ClientKey(options(emulator)))
    assert key != ClientKey(options(emulator, secret="another-secret-value"))
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with shared_client(options(emulator)) as client, pytest.raises(TypeError):
        pickle.dumps(client)
    close_shared_clients()


def test_without_credentials_the_environment_is_part_of_the_settings(
        emulator: FoasEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    close_shared_clients()
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEFAULT_ACCESS_KEY_SECRET)
    chain = ClientOptions(endpoint=emulator.url)
    with shared_client(chain) as first:
        assert first.list(Query.one(PROJECT, PACKAGE)).total_count == 15
    with shared_client(ClientOptions(endpoint=emulator.url)) as again:
        assert again is first
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "a-rotated-secret")
    with shared_client(ClientOptions(endpoint=emulator.url)) as rotated:
        assert rotated is not first
    assert "a-rotated-secret" not in repr(ClientKey(chain))
    close_shared_clients()
