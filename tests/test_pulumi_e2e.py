"""The examples under the real Pulumi CLI and engine, against the emulator.

Skipped unless a `pulumi` binary is on PATH. The state backend, PULUMI_HOME and HOME are
temporary directories; the examples are copied there with `virtualenv` pointing at one shared
virtualenv that gets a regular (non-editable) install of this repository, as the examples'
requirements.txt would do (pip needs the package index for the dependencies).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FoasEmulator

PULUMI = shutil.which("pulumi")
pytestmark = [
    pytest.mark.skipif(PULUMI is None, reason="no `pulumi` CLI on PATH; this test drives the real "
                       "engine (pulumi login/up/preview/refresh/destroy)"),
    pytest.mark.timeout(1200),
]

REPO = Path(__file__).resolve().parent.parent
PROJECT = "bayes_team"
PACKAGE = "blink_test_datastream.jar"
PASSPHRASE = "e2e-passphrase"

GUARD_PROGRAM = '''
import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider

from foas_refjobs import PackageDeletionGuard


class JarStandIn(ResourceProvider):
    """Stands in for the OSS object of examples/gate_jar_deletion (no cloud here)."""

    def create(self, props):
        return CreateResult("jar-1", props)


class Jar(Resource):
    def __init__(self, name):
        super().__init__(JarStandIn(), name, {"key": "jars/blink_test_datastream.jar"})


jar = Jar("jar")
PackageDeletionGuard("jar-guard", "bayes_team", "blink_test_datastream.jar",
                     opts=pulumi.ResourceOptions(depends_on=[jar]))
'''


@dataclass
class Workspace:
    root: Path
    venv: Path
    env: dict[str, str]

    def project(self, example: str, source: Path | None = None) -> Path:
        """A copy of examples/<example> whose Pulumi.yaml uses the shared virtualenv."""
        target = self.root / example
        shutil.copytree(source or REPO / "examples" / example, target,
                        ignore=shutil.ignore_patterns(".venv", "Pulumi.*.yaml", "__pycache__"))
        spec = target / "Pulumi.yaml"
        spec.write_text(spec.read_text().replace("virtualenv: .venv", f"virtualenv: {self.venv}"))
        return target

    def pulumi(self, cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        assert PULUMI is not None
        proc = subprocess.run([PULUMI, *args, "--non-interactive"], cwd=cwd, env=self.env,
                              capture_output=True, text=True, timeout=600, check=False)
        if ok and proc.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        assert "pulumi-resource-foas-refjobs" not in proc.stdout + proc.stderr
        return proc

    def outputs(self, cwd: Path) -> dict[str, object]:
        return dict(json.loads(self.pulumi(cwd, "stack", "output", "--json").stdout))

    def configure(self, cwd: Path, emu: FoasEmulator, **values: str) -> None:
        self.pulumi(cwd, "stack", "init", "dev")
        for key, value in values.items():
            self.pulumi(cwd, "config", "set", key, value)
        self.pulumi(cwd, "config", "set", "foas:endpoint", emu.url)
        self.pulumi(cwd, "config", "set", "foas:accessKeyId", DEFAULT_ACCESS_KEY_ID)
        self.pulumi(cwd, "config", "set", "--secret", "foas:accessKeySecret",
                    DEFAULT_ACCESS_KEY_SECRET)

    def assert_no_secret_on_disk(self) -> None:
        for path in (self.root / "state").rglob("*"):
            if path.is_file():
                assert DEFAULT_ACCESS_KEY_SECRET.encode() not in path.read_bytes(), path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("pulumi-e2e")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip", "setuptools", "wheel"],
                   check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", str(REPO)], check=True)
    (root / "state").mkdir()
    (root / "home").mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ALIBABA_CLOUD_", "ALICLOUD_", "ALIYUN_", "PULUMI_"))}
    env.update(
        HOME=str(root / "home"),
        PULUMI_HOME=str(root / "home" / ".pulumi"),
        PULUMI_BACKEND_URL=f"file://{root / 'state'}",
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK="true",
    )
    ws = Workspace(root, venv, env)
    ws.pulumi(root, "login", "--local")
    yield ws


def test_stack_outputs_and_consumer_follow_the_live_list(workspace: Workspace,
                                                         emulator: FoasEmulator) -> None:
    producer = workspace.project("stack_outputs")
    workspace.configure(producer, emulator, project=PROJECT, package=PACKAGE)
    workspace.pulumi(producer, "up", "--yes")
    outs = workspace.outputs(producer)
    expected = [j["JobId"] for j in emulator.state.referencing_jobs(PROJECT, PACKAGE)]
    assert outs["job_ids"] == expected and outs["total_count"] == 15 and outs["referenced"] is True

    workspace.pulumi(producer, "preview", "--expect-no-changes")
    emulator.state.put_job(PROJECT, {"JobId": "e2e-new", "JobName": "e2e_new",
                                     "Packages": PACKAGE, "IsCommitted": True})
    changed = workspace.pulumi(producer, "preview", "--expect-no-changes", ok=False)
    assert changed.returncode != 0 and "ref-jobs" in changed.stdout
    workspace.pulumi(producer, "up", "--yes")
    assert workspace.outputs(producer)["total_count"] == 16

    consumer = workspace.project("consume_outputs")
    workspace.configure(consumer, emulator,
                        producerStack="organization/foas-refjobs-stack-outputs/dev")
    up = workspace.pulumi(consumer, "up", "--yes")
    assert "e2e_new" in up.stdout
    consumed = workspace.outputs(consumer)
    assert consumed["jar_decision"] == "keep"
    assert consumed["live_committed_job_ids"] == [
        j["JobId"] for j in emulator.state.referencing_jobs(PROJECT, PACKAGE)
        if j.get("IsCommitted") is True]

    emulator.state.remove_jobs_referencing(PROJECT, PACKAGE)
    workspace.pulumi(producer, "refresh", "--yes")
    refreshed = workspace.outputs(producer)
    assert refreshed["total_count"] == 0 and refreshed["referenced"] is False

    workspace.assert_no_secret_on_disk()
    exported = workspace.pulumi(producer, "stack", "export").stdout
    assert DEFAULT_ACCESS_KEY_SECRET not in exported
    workspace.pulumi(consumer, "destroy", "--yes")
    workspace.pulumi(producer, "destroy", "--yes")


def test_guard_blocks_destroy_until_no_job_references_the_jar(workspace: Workspace,
                                                              emulator: FoasEmulator) -> None:
    source = workspace.root / "guard-source"
    source.mkdir()
    (source / "__main__.py").write_text(GUARD_PROGRAM)
    (source / "Pulumi.yaml").write_text(
        "name: foas-refjobs-guard-e2e\nruntime:\n  name: python\n  options:\n"
        "    virtualenv: .venv\n")
    project = workspace.project("guard", source)
    workspace.configure(project, emulator)
    workspace.pulumi(project, "up", "--yes")

    refused = workspace.pulumi(project, "destroy", "--yes", ok=False)
    assert refused.returncode != 0
    text = refused.stdout + refused.stderr
    assert "PackageInUse" in text and "pulumi state delete" in text
    for job in emulator.state.referencing_jobs(PROJECT, PACKAGE):
        assert f"{job['JobName']} (id {job['JobId']})" in text
    state = json.loads(workspace.pulumi(project, "stack", "export").stdout)
    names = {r["urn"].rsplit("::", 1)[-1] for r in state["deployment"].get("resources", [])}
    assert {"jar", "jar-guard"} <= names

    emulator.state.remove_jobs_referencing(PROJECT, PACKAGE)
    workspace.pulumi(project, "destroy", "--yes")
    state = json.loads(workspace.pulumi(project, "stack", "export").stdout)
    assert not [r for r in state["deployment"].get("resources", [])
                if not r["type"].startswith("pulumi:")]
    workspace.assert_no_secret_on_disk()
