"""One package referenced by 10,000 jobs, through up, preview and refresh (with and without detail).

The times and sizes are printed (`pytest -s`) and measured properly by `make bench-pulumi`;
what is asserted is that every step works at this size: no gRPC message limit, every job
recorded, a quiet preview.
"""

from __future__ import annotations

import time

import pytest

from foas_refjobs.emulator import EmulatorState, FoasEmulator
from foas_refjobs.emulator.datagen import generate_jobs

from .conftest import Engine

JOBS = 10_000
PROJECT = "scale_project"
PACKAGE = "scale-udf.jar"
SCALE_PROGRAM = f"""
import pulumi
from foas_refjobs import RefPackageJobs

light = RefPackageJobs("light", "{PROJECT}", "{PACKAGE}")
full = RefPackageJobs("full", "{PROJECT}", "{PACKAGE}", enable_details=True)
pulumi.export("light_count", light.total_count)
pulumi.export("full_count", full.total_count)
"""


@pytest.mark.timeout(900)
def test_ten_thousand_jobs_through_up_preview_and_refresh(engine: Engine,
                                                         empty_emulator: FoasEmulator) -> None:
    jobs = generate_jobs(PROJECT, PACKAGE, JOBS)
    empty_emulator.state = EmulatorState.with_jobs(PROJECT, PACKAGE, jobs)
    project = engine.program("scale", SCALE_PROGRAM)
    engine.stack(project, empty_emulator)
    times: dict[str, float] = {}
    for step in (("up", "--yes"), ("preview", "--expect-no-changes"), ("refresh", "--yes")):
        start = time.perf_counter()
        engine.run(project, *step)
        times[step[0]] = time.perf_counter() - start

    assert engine.outputs(project) == {"light_count": JOBS, "full_count": JOBS}
    state = engine.export(project)
    resources = {r["urn"].rsplit("::", 1)[-1]: r for r in state["deployment"]["resources"]}
    expected = [j["JobId"] for j in jobs]
    assert resources["light"]["outputs"]["job_ids"] == expected
    assert resources["full"]["outputs"]["job_ids"] == expected
    assert "jobs" not in resources["light"]["outputs"]
    size = len(engine.run(project, "stack", "export").stdout.encode())
    engine.run(project, "preview", "--expect-no-changes")
    print(f"\n10,000 jobs: up {times['up']:.1f} s, preview {times['preview']:.1f} s, "
          f"refresh {times['refresh']:.1f} s; state {size / 2**20:.1f} MiB")
    engine.run(project, "destroy", "--yes", "--skip-preview")
