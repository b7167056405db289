"""A ~/.netrc never replaces the signature (requests would send its entry as Basic auth)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from foas_refjobs import Credentials, FoasClient
from foas_refjobs.emulator import FoasEmulator


@pytest.mark.parametrize("entry", ["default login someone password hunter2",
                                   "machine 127.0.0.1 login someone password hunter2"])
def test_netrc_entry_does_not_replace_the_signed_authorization(
        emulator: FoasEmulator, creds: Credentials, entry: str) -> None:
    netrc = Path(os.environ["HOME"]) / ".netrc"
    netrc.write_text(entry + "\n", encoding="ascii")
    netrc.chmod(0o600)
    with FoasClient(endpoint=emulator.url, credentials=creds) as client:
        jobs = client.list_ref_package_jobs("bayes_team", "wordcount.jar")
    assert jobs.total_count > 0
    assert all(r.access_key_id == creds.access_key_id for r in emulator.requests)
