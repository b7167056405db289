"""Cold start: the CLI imports neither pulumi nor grpc, so a shell gate stays fast.

Each case runs the real entry point in a fresh interpreter under
`python -X importtime` and reads the module names it imported from stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from isolation import child_env

FORBIDDEN = ("pulumi", "grpc")


def imported_modules(importtime_stderr: str) -> set[str]:
    """Module names of `-X importtime` lines: 'import time: self | cumulative | name'."""
    names = set()
    for line in importtime_stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        columns = line.split("|")
        if len(columns) != 3:
            continue
        name = columns[2].strip()
        if name and name != "imported package":
            names.add(name)
    return names


def forbidden_imports(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in FORBIDDEN}


def run_importtime(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = child_env(tmp_path, also_drop=("PYTHONPROFILEIMPORTTIME",), **{
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tColdStartKey",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "cold-start-secret",
        "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
    })
    return subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True,
                          text=True, env=env, timeout=60, cwd=tmp_path)


def test_parser_reads_module_names() -> None:
    stderr = ("import time: self [us] | cumulative | imported package\n"
              "import time:       188 |        188 |   _io\n"
              "import time:      3805 |     107081 |   foas_refjobs.client\n"
              "import time:        12 |         12 |       grpc._cython.cygrpc\n"
              "some other line\n")
    modules = imported_modules(stderr)
    assert modules == {"_io", "foas_refjobs.client", "grpc._cython.cygrpc"}
    assert forbidden_imports(modules) == {"grpc._cython.cygrpc"}
    assert forbidden_imports({"pulumi", "pulumi_alicloud", "grpcio_tools", "foas_refjobs"}) == {"pulumi"}


def test_help_stays_light(tmp_path: Path) -> None:
    proc = run_importtime(["-m", "foas_refjobs", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "foas-refjobs" in proc.stdout
    modules = imported_modules(proc.stderr)
    assert {"foas_refjobs.cli", "foas_refjobs.client"} <= modules
    assert forbidden_imports(modules) == set()


def test_list_stays_light(tmp_path: Path) -> None:
    # Nothing listens on port 1: the listing fails with a network error (exit 1),
    # after the whole request path (credentials, signing, HTTP, retries) has run.
    proc = run_importtime(["-m", "foas_refjobs", "list", "--project", "p", "--package", "k",
                           "--endpoint", "http://127.0.0.1:1"], tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert error_lines, proc.stderr[-2000:]
    modules = imported_modules(proc.stderr)
    assert {"foas_refjobs.cli", "foas_refjobs.client", "foas_refjobs.transport", "urllib3",
            "aliyunsdkcore.request"} <= modules
    assert forbidden_imports(modules) == set()
    # Environment keys need no credential library, and nothing sends through the SDK's stack.
    assert not {m for m in modules if m.startswith(("alibabacloud_credentials", "Tea"))}
    assert "aliyunsdkcore.client" not in modules


def test_check_catches_a_heavy_import(tmp_path: Path) -> None:
    """The check can fail: the Pulumi resources module does import pulumi and grpc."""
    pytest.importorskip("pulumi")
    proc = run_importtime(["-c", "import foas_refjobs.resources"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = {m.split(".")[0] for m in forbidden_imports(imported_modules(proc.stderr))}
    assert found == {"pulumi", "grpc"}
