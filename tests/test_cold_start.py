"""Cold start: the CLI imports neither pulumi nor grpc, so a shell gate stays fast.

Each case runs the real entry point in a fresh interpreter under
`python -X importtime` and reads the module names it imported from stderr.
A plain listing (keys in the environment, a direct http endpoint, an
unencoded answer) also leaves out what only other cases need; each of those
cases is run too, so a module that is never imported cannot pass unnoticed.
How long a start takes is measured by benchmarks/cold_start.py, not here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FoasEmulator
from isolation import child_env

FORBIDDEN = ("pulumi", "grpc")
# Loaded only when a listing needs them: the case that does, and the module it loads.
ONLY_WHEN_NEEDED = {
    "proxy variable set": "foas_refjobs.proxies",
    "DEBUG=sdk": "foas_refjobs.http_debug",
    "check-unreferenced": "foas_refjobs.verdict_output",
    "several packages": "foas_refjobs.results",
    "request failed": "foas_refjobs.transport_errors",
    "keys in a profile file": "foas_refjobs.credential_providers",
}
# Never loaded by a plain listing: encoded bodies, the emulator, the credential chain past the
# environment's keys, the credential library and its HTTP routing, the SDK's own send stack,
# the ini-file reader, shell completion, the reader of a job's plan and properties.
NEVER_FOR_A_PLAIN_LISTING = ("foas_refjobs.decoding", "foas_refjobs.emulator", "foas_refjobs.job_details",
                             "foas_refjobs.credential_providers",
                             "foas_refjobs._credentials_http", "alibabacloud_credentials", "Tea",
                             "aliyunsdkcore.client", "configparser", "shtab")


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


def run_importtime(args: list[str], tmp_path: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = child_env(tmp_path, also_drop=("PYTHONPROFILEIMPORTTIME",), **{
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tColdStartKey",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "cold-start-secret",
        "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
        **extra_env,
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


def _listing(emulator: FoasEmulator, tmp_path: Path, case: str) -> set[str]:
    """The modules one `list` run imported; `case` names what differs from a plain listing."""
    command = "check-unreferenced" if case == "check-unreferenced" else "list"
    packages = ["--package", "udf-common.jar"]
    if case == "several packages":
        packages += ["--package", "unused-udf.jar"]
    endpoint = "http://127.0.0.1:1" if case == "request failed" else emulator.url
    extra = {"ALIBABA_CLOUD_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
             "ALIBABA_CLOUD_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET}
    if case == "proxy variable set":  # a proxy that NO_PROXY bypasses for 127.0.0.1
        extra["HTTP_PROXY"] = "http://127.0.0.1:9"
    if case == "DEBUG=sdk":
        extra["DEBUG"] = "sdk"
    if case == "keys in a profile file":  # an empty variable is an unset one
        extra = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ""}
        (tmp_path / ".alibabacloud").mkdir()
        (tmp_path / ".alibabacloud" / "credentials").write_text(
            f"[default]\ntype = access_key\naccess_key_id = {DEFAULT_ACCESS_KEY_ID}\n"
            f"access_key_secret = {DEFAULT_ACCESS_KEY_SECRET}\n", encoding="utf-8")
    proc = run_importtime(["-m", "foas_refjobs", command, "--project", "bayes_team", *packages,
                           "--endpoint", endpoint, "--max-concurrency", "1", "--timeout", "5"],
                          tmp_path, **extra)
    expected = {"list": 0, "check-unreferenced": 3}[command] if case != "request failed" else 1
    assert proc.returncode == expected, proc.stderr[-2000:]
    if expected != 1:
        assert "udf-common.jar" in proc.stdout
    return imported_modules(proc.stderr)


def test_a_plain_listing_loads_only_what_it_uses(emulator: FoasEmulator, tmp_path: Path) -> None:
    modules = _listing(emulator, tmp_path, "plain")
    assert {"foas_refjobs.client", "foas_refjobs.transport", "foas_refjobs.output", "urllib3"} <= modules
    assert not modules & set(ONLY_WHEN_NEEDED.values())
    assert not {m for m in modules if m.startswith(NEVER_FOR_A_PLAIN_LISTING)}
    assert forbidden_imports(modules) == set()


@pytest.mark.parametrize("case", sorted(ONLY_WHEN_NEEDED))
def test_each_lazy_module_loads_when_needed(emulator: FoasEmulator, tmp_path: Path, case: str) -> None:
    modules = _listing(emulator, tmp_path, case)
    loaded = {name for name in ONLY_WHEN_NEEDED.values() if name in modules}
    assert ONLY_WHEN_NEEDED[case] in loaded
    assert forbidden_imports(modules) == set()


def test_check_catches_a_heavy_import(tmp_path: Path) -> None:
    """The check can fail: the Pulumi resources module does import pulumi and grpc."""
    pytest.importorskip("pulumi")
    proc = run_importtime(["-c", "import foas_refjobs.resources"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = {m.split(".")[0] for m in forbidden_imports(imported_modules(proc.stderr))}
    assert found == {"pulumi", "grpc"}
