"""Shared fixtures: a real emulator on loopback, credentials for it, a clean environment."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from foas_refjobs import Credentials
from foas_refjobs.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    EmulatorState,
    FaultPlan,
    FoasEmulator,
)
from hostile_server import hostile_server  # noqa: F401  (the fixture, for every test module)
from isolation import is_cleared
from loopback import forward_proxy, tls_origin  # noqa: F401  (fixtures: a forwarding proxy, an HTTPS origin)

IDLE_TIMEOUT = 60.0  # seconds a test's abandoned requests may take to finish at the shared emulator


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No credential, region or proxy variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if is_cleared(name):
            monkeypatch.delenv(name, raising=False)
    # An empty HOME: no ~/.alibabacloud/credentials or ~/.aliyun/config.json of the developer.
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="module")
def _module_server() -> Iterator[FoasEmulator]:
    """One emulator per test module: the fixtures below hand it out reset, as if new."""
    with FoasEmulator(EmulatorState()) as emu:
        yield emu


def _reset(emu: FoasEmulator, state: EmulatorState) -> FoasEmulator:
    emu.state = state
    emu.faults = FaultPlan()
    emu.requests.clear()
    emu.credential_calls.clear()
    emu.before_request.clear()
    emu.latency_ms = 0.0
    emu.verify_signatures = True
    emu.max_in_flight = None
    emu.peak_in_flight = emu.throttled = 0
    return emu


@pytest.fixture
def emulator_with(_module_server: FoasEmulator) -> Iterator[Callable[[EmulatorState], FoasEmulator]]:
    """Hands out the module's emulator serving `state` (a module's own data set), reset as if new."""
    emu = _module_server
    yield functools.partial(_reset, emu)
    # A request the test's client abandoned is still answered here; let it finish now, so its
    # record and fault-plan number cannot land in the next test's log.
    if not emu.wait_idle(IDLE_TIMEOUT):
        pytest.fail(f"the test left requests in flight at the shared emulator after {IDLE_TIMEOUT} s "
                    "(release its before_request hooks or use a private emulator)")


@pytest.fixture
def emulator(emulator_with: Callable[[EmulatorState], FoasEmulator]) -> FoasEmulator:
    """The emulator with its default data set, on 127.0.0.1 and a free port; requests count from 1."""
    return emulator_with(EmulatorState.default())


@pytest.fixture
def empty_emulator(emulator_with: Callable[[EmulatorState], FoasEmulator]) -> FoasEmulator:
    """An emulator that knows the default AccessKey and nothing else; tests fill its state."""
    state = EmulatorState()
    state.add_access_key(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    return emulator_with(state)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home directory (tests point HOME or the config paths at it)."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def creds() -> Credentials:
    return Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)


@pytest.fixture
def emulator_env(emulator: FoasEmulator, monkeypatch: pytest.MonkeyPatch) -> FoasEmulator:
    """The emulator, with its AccessKey in the documented environment variables."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEFAULT_ACCESS_KEY_SECRET)
    return emulator
