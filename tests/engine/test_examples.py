"""examples/stack_outputs and consume_outputs under the engine; RefPackageJobs as a live data source."""

from __future__ import annotations

import json
import re
from pathlib import Path

from foas_refjobs.emulator import FoasEmulator

from .conftest import PACKAGE, PROJECT, Engine

PRODUCER_STACK = "organization/foas-refjobs-stack-outputs/dev"


def _ids(emulator: FoasEmulator, committed_only: bool = False) -> list[str]:
    return [j["JobId"] for j in emulator.state.referencing_jobs(PROJECT, PACKAGE)
            if not committed_only or j.get("IsCommitted") is True]


def _output_line(text: str, name: str) -> str:
    """The value the CLI printed for stack output `name` in its Outputs section."""
    match = re.search(rf"^\s*[~+]?\s*{name}\s*:\s*(.*)$", text, re.M)
    assert match, f"no {name} in:\n{text}"
    return match.group(1).strip()


def _producer(engine: Engine, emulator: FoasEmulator) -> Path:
    project = engine.project("stack_outputs")
    engine.stack(project, emulator, project=PROJECT, package=PACKAGE)
    return project


def test_stack_outputs_end_to_end(engine: Engine, emulator: FoasEmulator) -> None:
    project = _producer(engine, emulator)
    engine.run(project, "up", "--yes")
    outs = engine.outputs(project)
    assert outs["job_ids"] == _ids(emulator)
    assert outs["total_count"] == len(_ids(emulator)) == 15
    assert outs["referenced"] is True
    assert outs["committed_count"] == len(_ids(emulator, committed_only=True))
    assert outs["project_name"] == PROJECT and outs["package_name"] == PACKAGE

    engine.run(project, "preview", "--expect-no-changes")
    engine.run(project, "refresh", "--yes")
    assert engine.outputs(project)["job_ids"] == _ids(emulator)
    engine.run(project, "preview", "--expect-no-changes")
    engine.run(project, "destroy", "--yes")
    assert engine.resources(project) == {}


def test_live_list_changes_between_runs(engine: Engine, emulator: FoasEmulator) -> None:
    project = _producer(engine, emulator)
    engine.run(project, "up", "--yes")
    emulator.state.put_job(PROJECT, {"JobId": "live-new", "JobName": "live_new",
                                     "Packages": PACKAGE, "IsCommitted": True})

    changed = engine.run(project, "preview", "--expect-no-changes", ok=False)
    assert changed.returncode != 0
    assert re.search(r"~\s+pulumi-python:dynamic/foas:RefPackageJobs ref-jobs update", changed.text)
    # The stack's own outputs of an existing resource that will update keep the recorded values.
    assert "total_count" not in changed.text
    assert _output_line(changed.text, "committed_count") == "12 => 13"

    engine.run(project, "up", "--yes")
    outs = engine.outputs(project)
    assert outs["total_count"] == 16 and "live-new" in outs["job_ids"]
    engine.run(project, "preview", "--expect-no-changes")

    emulator.state.remove_jobs_referencing(PROJECT, PACKAGE)
    engine.run(project, "refresh", "--yes")
    # Refresh re-reads the resource; the stack's outputs follow at the next up (program run).
    recorded = engine.resources(project)["ref-jobs"]["outputs"]
    assert recorded["total_count"] == 0 and recorded["referenced"] is False
    assert engine.outputs(project)["total_count"] == 16
    preview = engine.run(project, "preview", "--expect-no-changes", ok=False)
    engine.run(project, "up", "--yes")
    outs = engine.outputs(project)
    assert outs["total_count"] == 0 and outs["referenced"] is False and outs["job_ids"] == []
    engine.run(project, "preview", "--expect-no-changes")
    assert preview.returncode == 0, preview.text


def test_what_is_known_at_preview(engine: Engine, emulator: FoasEmulator) -> None:
    project = _producer(engine, emulator)
    first = engine.run(project, "preview")
    # New resource: outputs unknown. The function lists in the program, so it is known.
    assert _output_line(first.text, "total_count") == "[unknown]"
    assert _output_line(first.text, "job_ids") == "[unknown]"
    assert _output_line(first.text, "committed_count") == str(len(_ids(emulator, True)))

    engine.run(project, "up", "--yes")
    again = engine.run(project, "preview", "--diff")
    # Existing, unchanged resource: the recorded outputs (no change, so no Outputs diff).
    assert "ref-jobs" not in again.stdout.split("Resources:")[-1]
    assert "2 unchanged" in again.text


DETAIL_PROGRAM = f"""
import pulumi
from foas_refjobs import RefPackageJobs, get_ref_package_jobs_output

light = RefPackageJobs("light", "{PROJECT}", "{PACKAGE}")
full = RefPackageJobs("full", "{PROJECT}", "{PACKAGE}", enable_details=True)
func = get_ref_package_jobs_output("{PROJECT}", "{PACKAGE}", enable_details=True)
pulumi.export("light_jobs", light.jobs)
pulumi.export("light_ids", light.job_ids)
pulumi.export("full_jobs", full.jobs)
pulumi.export("func_jobs", func.jobs)
pulumi.export("func_ids", func.job_ids)
"""


def test_per_job_detail_is_opt_in_and_secret_in_both_forms(engine: Engine, emulator: FoasEmulator) -> None:
    project = engine.program("detail", DETAIL_PROGRAM)
    engine.stack(project, emulator)
    engine.run(project, "up", "--yes", "--skip-preview")
    shown = engine.run(project, "stack", "output", "--json").stdout
    outs = dict(json.loads(shown))
    assert outs["full_jobs"] == "[secret]" and outs["func_jobs"] == "[secret]"
    assert outs["light_ids"] == outs["func_ids"] == _ids(emulator)
    assert "light_jobs" not in outs
    revealed = engine.outputs(project)
    assert [j["job_id"] for j in revealed["full_jobs"]] == _ids(emulator)
    assert revealed["func_jobs"] == revealed["full_jobs"]
    state = engine.resources(project)
    assert "jobs" not in state["light"]["outputs"]
    assert set(state["full"]["outputs"]["jobs"]) == {"4dabf18193072939515e22adb298388d", "ciphertext"}
    engine.run(project, "destroy", "--yes", "--skip-preview")


def test_consume_outputs_reads_the_producer_through_a_stack_reference(
        engine: Engine, emulator: FoasEmulator) -> None:
    producer = _producer(engine, emulator)
    engine.run(producer, "up", "--yes", "--skip-preview")
    consumer = engine.project("consume_outputs")
    engine.stack(consumer, emulator, producerStack=PRODUCER_STACK)
    up = engine.run(consumer, "up", "--yes")
    assert "still used by 15 job(s)" in up.text and "keep it" in up.text
    outs = engine.outputs(consumer)
    assert outs["jar_decision"] == "keep"
    assert outs["live_committed_job_ids"] == _ids(emulator, committed_only=True)
    assert outs["live_committed_count"] == len(_ids(emulator, committed_only=True))

    emulator.state.remove_jobs_referencing(PROJECT, PACKAGE)
    engine.run(producer, "up", "--yes", "--skip-preview")
    engine.run(consumer, "up", "--yes", "--skip-preview")
    outs = engine.outputs(consumer)
    assert outs["jar_decision"] == "safe-to-delete"
    assert outs["live_committed_count"] == 0
    engine.run(consumer, "destroy", "--yes", "--skip-preview")
    engine.run(producer, "destroy", "--yes", "--skip-preview")
