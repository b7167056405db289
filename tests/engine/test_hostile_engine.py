"""Issue 9 under the real engine: a hostile answer to the guard's listing never lets `destroy` delete the jar.

The example program is brought up against the emulator; then its `foas:endpoint` is pointed at
the hostile test server (and recorded by one more `up`, which lists nothing), which answers the
guard's delete with a forged "no jobs" page. The
control answers with an honest empty page, and the same `destroy` then deletes the jar.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from foas_refjobs.emulator import FoasEmulator
from hostile_server import HostileServer, Reply

from .conftest import Engine
from .test_guard_paths import make_gate

EMPTY = '{"RequestId": "R", "PageIndex": 1, "PageSize": 10, "TotalCount": 0, "TotalPage": 0'
FORGED = {
    "duplicate-total-count": EMPTY.replace('"TotalCount": 0', '"TotalCount": 1') +
    ', "Jobs": {"Job": [{"JobId": "j1", "JobName": "still-here"}]}, "TotalCount": 0, "TotalPage": 0}',
    "jobs-under-unknown-key": EMPTY + ', "JobList": [{"JobId": "j1", "JobName": "still-here"}]}',
    "error-in-a-2xx": EMPTY + ', "Code": "Package.NotExist", "Message": "no such package"}',
}


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.mark.parametrize("kind", [*FORGED, "honest-empty-page"])
def test_destroy_against_a_hostile_listing(engine: Engine, emulator: FoasEmulator, tmp_path: Path,
                                           hostile: HostileServer, kind: str) -> None:
    gate = make_gate(engine, emulator, tmp_path)
    body = FORGED.get(kind, EMPTY + "}")
    hostile.handler = lambda _request: Reply.json(body)
    gate.run("config", "set", "foas:endpoint", hostile.url)
    gate.run("up", "--yes", "--skip-preview")  # the provider's new config is recorded; no listing
    assert not hostile.requests
    if kind == "honest-empty-page":
        gate.run("destroy", "--yes", "--skip-preview")
        assert not gate.jar().exists()
        return
    refused = gate.refused("destroy", "--yes", "--skip-preview")
    assert "GuardCheckFailed" in refused.text, refused.text
    assert gate.jar().is_file()
    assert hostile.requests, "the guard's listing reached the hostile server"
