"""The real-engine suite: the pulumi CLI (built by `make engine`, or on PATH) against the emulator.

Every test gets a file backend, a PULUMI_HOME and a HOME in a temporary directory, passphrase
secrets, and no credential variable of the caller's shell. Programs run as Automation API inline
programs through tools/run_inline.py (`pulumi up --client=...`): the Python language host is not
available as a Go module. Dynamic providers run in this interpreter's environment
(PULUMI_PYTHON_CMD), so the suite tests whichever `pulumi` SDK runs pytest.

Without a `pulumi` binary the suite is not collected; `make test` says why in one line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FoasEmulator
from isolation import child_env

REPO = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO / ".tools" / "bin"
RUNNER = REPO / "tools" / "run_inline.py"
STANDINS = Path(__file__).resolve().parent / "standins"
PASSPHRASE = "engine-suite-passphrase"
PROJECT = "bayes_team"
PACKAGE = "blink_test_datastream.jar"


def find_pulumi() -> Optional[str]:
    """A `pulumi` on PATH wins (nothing gets built then); else the one `make engine` built."""
    on_path = shutil.which("pulumi")
    if on_path:
        return on_path
    built = TOOLS_BIN / "pulumi"
    return str(built) if os.access(built, os.X_OK) else None


PULUMI = find_pulumi()
if PULUMI is None:
    collect_ignore_glob = ["test_*.py"]


@dataclass
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Engine:
    """One isolated Pulumi workspace: backend, home and project copies under `root`."""

    root: Path
    env: dict[str, str]
    transcript: list[Result] = field(default_factory=list)

    def project(self, example: str, *, source: Optional[Path] = None, name: Optional[str] = None) -> Path:
        """A copy of examples/<example> whose `virtualenv` is this interpreter's environment."""
        target = self.root / (name or example)
        shutil.copytree(source or REPO / "examples" / example, target,
                        ignore=shutil.ignore_patterns(".venv", "Pulumi.*.yaml", "__pycache__"))
        spec = target / "Pulumi.yaml"
        text = spec.read_text()
        assert "virtualenv: .venv" in text
        spec.write_text(text.replace("virtualenv: .venv", f"virtualenv: {sys.prefix}"))
        return target

    def program(self, name: str, source: str) -> Path:
        """A project of its own whose __main__.py is `source`."""
        target = self.root / name
        target.mkdir()
        (target / "__main__.py").write_text(source)
        (target / "Pulumi.yaml").write_text(
            f"name: {name}\nruntime:\n  name: python\n  options:\n    virtualenv: {sys.prefix}\n")
        return target

    def run(self, cwd: Path, *args: str, ok: bool = True, timeout: float = 600) -> Result:
        """`pulumi ARGS` (through the inline runner for up/preview/refresh/destroy)."""
        assert PULUMI is not None
        command = [sys.executable, str(RUNNER), *args, "--non-interactive"]
        proc = subprocess.run(command, cwd=cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        result = Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)
        self.transcript.append(result)
        if ok and proc.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {proc.returncode}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return result

    def stack(self, cwd: Path, emulator: FoasEmulator, stack: str = "dev", *,
              credentials: bool = True, **config: str) -> None:
        self.run(cwd, "stack", "init", stack)
        for key, value in config.items():
            self.run(cwd, "config", "set", key, value)
        self.run(cwd, "config", "set", "foas:endpoint", emulator.url)
        if credentials:
            self.run(cwd, "config", "set", "foas:accessKeyId", DEFAULT_ACCESS_KEY_ID)
            self.run(cwd, "config", "set", "--secret", "foas:accessKeySecret",
                     DEFAULT_ACCESS_KEY_SECRET)

    def outputs(self, cwd: Path) -> dict[str, Any]:
        return dict(json.loads(self.run(cwd, "stack", "output", "--json", "--show-secrets").stdout))

    def export(self, cwd: Path) -> dict[str, Any]:
        return dict(json.loads(self.run(cwd, "stack", "export").stdout))

    def resources(self, cwd: Path) -> dict[str, dict[str, Any]]:
        """The stack's non-Pulumi resources by name (pending deletions included, suffixed)."""
        found: dict[str, dict[str, Any]] = {}
        for res in self.export(cwd)["deployment"].get("resources") or []:
            if res["type"].startswith("pulumi:"):
                continue
            name = res["urn"].rsplit("::", 1)[-1]
            found[name + ("#delete" if res.get("delete") else "")] = res
        return found

    def urn(self, cwd: Path, name: str) -> str:
        return str(self.resources(cwd)[name]["urn"])

    def files_containing(self, needle: str) -> list[Path]:
        """Every file under the workspace (backend, home, projects) whose bytes contain `needle`."""
        data = needle.encode()
        return [p for p in self.root.rglob("*") if p.is_file() and data in p.read_bytes()]


def engine_env(root: Path, **extra: str) -> dict[str, str]:
    return child_env(
        root / "home", also_drop=("PULUMI_",),
        PATH=f"{os.environ.get('PATH', '')}:{TOOLS_BIN}",
        PULUMI_HOME=str(root / "home" / ".pulumi"),
        PULUMI_BACKEND_URL=f"file://{root / 'state'}",
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_PYTHON_CMD=sys.executable,
        **extra,
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    (tmp_path / "state").mkdir()
    (tmp_path / "home").mkdir()
    yield Engine(tmp_path, engine_env(tmp_path))


def stand_in_env(engine: Engine, oss_dir: Path) -> None:
    """pulumi_alicloud's OSS resources replaced by local-directory stand-ins (see standins/)."""
    oss_dir.mkdir(exist_ok=True)
    engine.env["PYTHONPATH"] = str(STANDINS)
    engine.env["FOAS_STANDIN_OSS_DIR"] = str(oss_dir)
