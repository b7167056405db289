"""examples/gate_jar_deletion under the engine: every way the engine can delete the jar.

The program is the example unchanged; its OSS bucket and object are local stand-ins
(standins/pulumi_alicloud), so "the jar survived" is a file that still exists. In every path
the jar must survive while a job references the package, and the same operation must delete it
once none does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from foas_refjobs.emulator import FoasEmulator

from .conftest import PACKAGE, PROJECT, Engine, Result, stand_in_env

BUCKET = "jars-bucket"
OTHER_PACKAGE = "blink_udf_v2.jar"


@dataclass
class Gate:
    engine: Engine
    emulator: FoasEmulator
    project: Path
    oss: Path

    def jar(self, package: str = PACKAGE) -> Path:
        return self.oss / BUCKET / "jars" / package

    def run(self, *args: str, ok: bool = True) -> Result:
        return self.engine.run(self.project, *args, ok=ok)

    def refused(self, *args: str) -> Result:
        """The operation fails, naming the guard's refusal, and the jar is still there."""
        result = self.run(*args, ok=False)
        assert result.returncode != 0, result.text
        assert "PackageInUse" in result.text or "GuardCheckFailed" in result.text, result.text
        return result

    def names(self) -> set[str]:
        return set(self.engine.resources(self.project))

    def unreference(self, package: str = PACKAGE) -> None:
        assert self.emulator.state.remove_jobs_referencing(PROJECT, package) > 0
        assert not self.emulator.state.referencing_jobs(PROJECT, package)


def make_gate(engine: Engine, emulator: FoasEmulator, tmp_path: Path,
              edit: Callable[[str], str] = lambda text: text) -> Gate:
    """The example up and running, its jar referenced; `edit` changes the program first."""
    stand_in_env(engine, tmp_path / "oss")
    project = engine.project("gate_jar_deletion")
    main = project / "__main__.py"
    main.write_text(edit(main.read_text()))
    jar_file = tmp_path / PACKAGE
    jar_file.write_bytes(b"PK\x03\x04 a jar")
    engine.stack(project, emulator, project=PROJECT, bucket=BUCKET, jarPath=str(jar_file))
    g = Gate(engine, emulator, project, tmp_path / "oss")
    g.run("up", "--yes", "--skip-preview")
    assert g.jar().is_file()
    assert emulator.state.referencing_jobs(PROJECT, PACKAGE)
    return g


@pytest.fixture
def gate(engine: Engine, emulator: FoasEmulator, tmp_path: Path) -> Gate:
    return make_gate(engine, emulator, tmp_path)


def test_destroy(gate: Gate) -> None:
    refused = gate.refused("destroy", "--yes", "--skip-preview")
    for job in gate.emulator.state.referencing_jobs(PROJECT, PACKAGE):
        assert f"{job['JobName']} (id {job['JobId']})" in refused.text
    assert "pulumi state delete" in refused.text
    assert gate.jar().is_file()
    assert {"jars", "jar", "jar-guard"} <= gate.names()

    gate.unreference()
    gate.run("destroy", "--yes", "--skip-preview")
    assert not gate.jar().exists()
    assert gate.names() == set()


def _drop_jar_and_guard(gate: Gate) -> None:
    """The program as a user would edit it: the jar and its guard deleted, the bucket kept."""
    main = gate.project / "__main__.py"
    text = main.read_text()
    start, end = text.index("jar = alicloud.oss.BucketObject"), text.index('pulumi.export("jar_key"')
    main.write_text(text[:start] + text[end:].replace('pulumi.export("jar_key", jar.key)\n', "")
                    .replace('pulumi.export("guarded_package", guard.package_name)\n', ""))


def test_jar_and_guard_removed_from_the_program(gate: Gate) -> None:
    _drop_jar_and_guard(gate)
    gate.refused("up", "--yes", "--skip-preview")
    assert gate.jar().is_file()
    assert {"jar", "jar-guard"} <= gate.names()

    gate.unreference()
    gate.run("up", "--yes", "--skip-preview")
    assert not gate.jar().exists()
    assert gate.names() == {"jars"}


def _delete_before_replace(text: str) -> str:
    old = "source=jar_path)"
    assert text.count(old) == 1
    return text.replace(old, "source=jar_path,\n    opts=pulumi.ResourceOptions(delete_before_replace=True))")


def _depends_on_only(text: str) -> str:
    old = "    jar=jar,\n"
    assert text.count(old) == 1
    return text.replace(old, "    opts=pulumi.ResourceOptions(depends_on=[jar]),\n")


def test_depends_on_alone_loses_the_jar_under_delete_before_replace(
        engine: Engine, emulator: FoasEmulator, tmp_path: Path) -> None:
    """Why the guard takes `jar=`: with only depends_on, the engine deletes the old jar first."""
    gate = make_gate(engine, emulator, tmp_path,
                     lambda text: _delete_before_replace(_depends_on_only(text)))
    gate.run("config", "set", "package", OTHER_PACKAGE)
    result = gate.refused("up", "--yes", "--skip-preview")
    assert not gate.jar().exists(), result.text


@pytest.mark.parametrize("order", ["create-before-delete", "delete-before-replace"])
def test_jar_replaced_and_the_guard_follows_it(gate: Gate, order: str) -> None:
    if order == "delete-before-replace":
        main = gate.project / "__main__.py"
        main.write_text(_delete_before_replace(main.read_text()))
    gate.run("config", "set", "package", OTHER_PACKAGE)
    refused = gate.refused("up", "--yes", "--skip-preview")
    assert gate.jar().is_file(), refused.text
    names = gate.names()
    if order == "create-before-delete":
        # The new jar and guard exist; the old ones wait, pending deletion, for the next up.
        assert gate.jar(OTHER_PACKAGE).is_file()
        assert {"jar", "jar#delete", "jar-guard", "jar-guard#delete"} <= names, names
    else:
        assert not gate.jar(OTHER_PACKAGE).exists()
        assert {"jar", "jar-guard"} <= names, names

    gate.unreference()
    gate.run("up", "--yes", "--skip-preview")
    assert not gate.jar().exists()
    assert gate.jar(OTHER_PACKAGE).is_file()
    resources = gate.engine.resources(gate.project)
    assert set(resources) == {"jars", "jar", "jar-guard"}
    assert resources["jar-guard"]["outputs"]["package_name"] == OTHER_PACKAGE


def test_destroy_targeting_the_jar_alone_is_refused_by_the_engine(gate: Gate) -> None:
    """Without --target-dependents the engine itself will not delete a jar that has a guard."""
    target = ["--target", gate.engine.urn(gate.project, "jar")]
    for referenced in (True, False):
        if not referenced:
            gate.unreference()
        result = gate.run("destroy", "--yes", "--skip-preview", *target, ok=False)
        assert result.returncode != 0
        assert "was not specified in --target list" in result.text
        assert "--target-dependents" in result.text
        assert gate.jar().is_file()
        assert {"jar", "jar-guard"} <= gate.names()


def test_destroy_targeting_the_jar_with_its_dependents(gate: Gate) -> None:
    flags = ["--target", gate.engine.urn(gate.project, "jar"), "--target-dependents"]
    gate.refused("destroy", "--yes", "--skip-preview", *flags)
    assert gate.jar().is_file()
    assert {"jar", "jar-guard"} <= gate.names()

    gate.unreference()
    gate.run("destroy", "--yes", "--skip-preview", *flags)
    assert not gate.jar().exists()
    assert gate.names() == {"jars"}


def test_destroy_continue_on_error(gate: Gate) -> None:
    refused = gate.refused("destroy", "--yes", "--skip-preview", "--continue-on-error")
    assert gate.jar().is_file()
    assert {"jars", "jar", "jar-guard"} <= gate.names(), refused.text

    gate.unreference()
    gate.run("destroy", "--yes", "--skip-preview", "--continue-on-error")
    assert not gate.jar().exists()
    assert gate.names() == set()


def test_refresh_then_destroy(gate: Gate) -> None:
    gate.run("refresh", "--yes", "--skip-preview")
    assert {"jar", "jar-guard"} <= gate.names()
    gate.refused("destroy", "--yes", "--skip-preview")
    assert gate.jar().is_file()

    gate.unreference()
    gate.run("refresh", "--yes", "--skip-preview")
    gate.run("destroy", "--yes", "--skip-preview")
    assert not gate.jar().exists()


@pytest.mark.parametrize("fault", ["503", "403", "timeout"])
def test_service_failing_during_the_delete(gate: Gate, fault: str) -> None:
    faults = gate.emulator.faults
    if fault == "timeout":
        faults.add("latency", latency_ms=15_000, times=None)
    else:
        faults.add("error", status=int(fault), times=None)
    gate.unreference()
    refused = gate.refused("destroy", "--yes", "--skip-preview")
    assert "GuardCheckFailed" in refused.text
    assert gate.jar().is_file()
    assert {"jar", "jar-guard"} <= gate.names()

    faults.clear()
    gate.run("destroy", "--yes", "--skip-preview")
    assert not gate.jar().exists()
    assert gate.names() == set()
