"""What does the Pulumi path cost? `pulumi preview` and `pulumi up` under the real engine.

Three stacks on a file backend, against the emulator (in this process, no latency):

  empty   a program with no resource (the engine's and the runner's own cost)
  10      one RefPackageJobs whose package 10 jobs reference
  10000   one RefPackageJobs whose package 10,000 jobs reference

For each, alternating between the stacks in every repetition: `pulumi preview`, an unchanged
`pulumi up`, and a changed `pulumi up` (one job renamed in the emulator first). The first `up`
(create) is timed once. Wall times are medians with ranges. The listings per operation come
from the emulator's request log (a listing starts with a request for page 1 of FIRST_PAGE_SIZE;
the client's page-size probes that may follow are not counted as listings). Programs run
through tools/run_inline.py (the Automation API's inline route, `pulumi ... --client`).

Then Diff alone, through the provider host (`python -m pulumi.dynamic`, over gRPC, as the
engine calls it), with the outputs recorded for 10,000 jobs, with and without
`enable_details`; and the size of each stack's state (`pulumi stack export`).

    make bench-pulumi            # builds the engine first if needed (make engine)
    python benchmarks/bench_pulumi.py [--reps 3] [--jobs 10000]

A script that prints figures, not a timed test: targets are reported, the exit code is 0
whether they are met or not (1 only if a result is wrong).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from foas_refjobs.client import FIRST_PAGE_SIZE  # noqa: E402

PROJECT = "bench_project"
PACKAGE = "bench-udf.jar"
TARGET_CHANGED_UP_LISTINGS = 2
TARGET_DIFF_S = 0.1

PROGRAM = """
import pulumi
from foas_refjobs import RefPackageJobs

config = pulumi.Config()
package = config.get("package")
if package:
    jobs = RefPackageJobs("ref-jobs", "{project}", package)
    pulumi.export("total_count", jobs.total_count)
"""


def find_pulumi() -> str:
    found = shutil.which("pulumi") or str(REPO / ".tools" / "bin" / "pulumi")
    if not os.access(found, os.X_OK):
        raise SystemExit("bench-pulumi: no pulumi CLI (run `make engine`)")
    return found


def jobs_for(package: str, count: int) -> list[dict[str, Any]]:
    from foas_refjobs.emulator.datagen import generate_jobs

    return generate_jobs(PROJECT, package, count, seed=len(package) * 1000 + count)


class Bench:
    def __init__(self, root: Path, emulator: Any) -> None:
        self.root = root
        self.emulator = emulator
        pulumi = find_pulumi()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("ALIBABA_CLOUD_", "ALICLOUD_", "ALIYUN_", "PULUMI_"))}
        self.env.update(
            PATH=f"{os.path.dirname(pulumi)}:{self.env.get('PATH', '')}:{REPO / '.tools' / 'bin'}",
            PULUMI_HOME=str(root / "home"), PULUMI_BACKEND_URL=f"file://{root / 'state'}",
            PULUMI_CONFIG_PASSPHRASE="bench", PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true", PULUMI_PYTHON_CMD=sys.executable)
        (root / "state").mkdir()
        self.project = root / "project"
        self.project.mkdir()
        (self.project / "__main__.py").write_text(PROGRAM.format(project=PROJECT))
        (self.project / "Pulumi.yaml").write_text(
            f"name: bench\nruntime:\n  name: python\n  options:\n    virtualenv: {sys.prefix}\n")

    def run(self, *args: str) -> str:
        command = [sys.executable, str(REPO / "tools" / "run_inline.py"), *args, "--non-interactive"]
        proc = subprocess.run(command, cwd=self.project, env=self.env, capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"pulumi {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def timed(self, *args: str) -> tuple[float, int]:
        """(seconds, listings) of one CLI operation."""
        before = len(self.emulator.requests)
        start = time.perf_counter()
        self.run(*args)
        elapsed = time.perf_counter() - start
        listings = sum(1 for r in list(self.emulator.requests)[before:]
                       if r.query.get("pageIndex") == "1"
                       and r.query.get("pageSize") == str(FIRST_PAGE_SIZE))
        return elapsed, listings


def stat(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} s ({min(values):.2f}-{max(values):.2f})"


def diff_times(jobs: int, reps: int) -> dict[str, list[float]]:
    """Diff through the provider host with the outputs that would be recorded for `jobs` jobs."""
    from pulumi.runtime.proto import provider_pb2

    from foas_refjobs import RefPackageJobsProvider
    from foas_refjobs.model import Job
    from foas_refjobs.resources import jobs_digest
    from pulumi_host import STACK_URN, ProviderHost, secret, serialized, to_struct

    listed = [Job.from_api(raw) for raw in jobs_for(PACKAGE, jobs)]
    provider = serialized(RefPackageJobsProvider())
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        host = ProviderHost(Path(tmp))
        try:
            requests = {}
            for details in (False, True):
                news = {"project_name": PROJECT, "package_name": PACKAGE, "committed_only": False,
                        "enable_details": details, "jobs_digest": jobs_digest(listed, details)}
                olds = {**news, "total_count": jobs, "referenced": True, "consistent": True,
                        "job_ids": [j.job_id for j in listed],
                        "job_names": [j.job_name or "" for j in listed]}
                if details:
                    olds["jobs"] = secret([j.to_dict() for j in listed])
                requests[details] = provider_pb2.DiffRequest(
                    id="x", urn=f"{STACK_URN}::r", olds=to_struct({**olds, "__provider": provider}),
                    news=to_struct({**news, "__provider": provider}))
            for _ in range(reps):
                for details, request in requests.items():
                    start = time.perf_counter()
                    response = host.stub.Diff(request, timeout=120)
                    results.setdefault("with enable_details" if details else "default", []).append(
                        time.perf_counter() - start)
                    if response.changes != provider_pb2.DiffResponse.DIFF_NONE:
                        raise SystemExit("bench-pulumi: Diff of identical inputs reported a change")
        finally:
            host.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()

    from foas_refjobs.emulator import (
        DEFAULT_ACCESS_KEY_ID,
        DEFAULT_ACCESS_KEY_SECRET,
        EmulatorState,
        FoasEmulator,
    )

    sizes = {"empty": 0, "10": 10, str(args.jobs): args.jobs}
    state = EmulatorState()
    state.add_access_key(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    for label, count in sizes.items():
        if count:
            for job in jobs_for(f"{label}-{PACKAGE}", count):
                state.put_job(PROJECT, job)

    print(f"bench-pulumi: {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, pulumi {find_pulumi()}")
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print("bench-pulumi: warning: the machine is busy; compare ratios, not absolute times")
    figures: dict[tuple[str, str], list[float]] = {}
    listings: dict[tuple[str, str], set[int]] = {}
    wrong = False
    with tempfile.TemporaryDirectory() as tmp, FoasEmulator(state) as emulator:
        bench = Bench(Path(tmp), emulator)
        for label, count in sizes.items():
            bench.run("stack", "init", f"s{label}")
            bench.run("config", "set", "foas:endpoint", emulator.url, "--stack", f"s{label}")
            bench.run("config", "set", "foas:accessKeyId", DEFAULT_ACCESS_KEY_ID, "--stack", f"s{label}")
            bench.run("config", "set", "--secret", "foas:accessKeySecret", DEFAULT_ACCESS_KEY_SECRET,
                      "--stack", f"s{label}")
            if count:
                bench.run("config", "set", "package", f"{label}-{PACKAGE}", "--stack", f"s{label}")
            elapsed, listed = bench.timed("up", "--yes", "--stack", f"s{label}")
            figures[(label, "create (first up)")] = [elapsed]
            listings[(label, "create (first up)")] = {listed}

        operations: list[tuple[str, Callable[[str], None], tuple[str, ...]]] = [
            ("preview", lambda _label: None, ("preview",)),
            ("unchanged up", lambda _label: None, ("up", "--yes")),
            ("changed up", lambda label: rename_one(emulator, label), ("up", "--yes")),
        ]
        for rep in range(args.reps):
            for name, prepare, command in operations:
                for label, count in sizes.items():
                    if name == "changed up" and not count:
                        continue
                    prepare(label)
                    elapsed, listed = bench.timed(*command, "--stack", f"s{label}")
                    figures.setdefault((label, name), []).append(elapsed)
                    listings.setdefault((label, name), set()).add(listed)
            print(f"bench-pulumi: repetition {rep + 1}/{args.reps} done", flush=True)

        state_sizes = {}
        for label, count in sizes.items():
            exported = bench.run("stack", "export", "--stack", f"s{label}")
            state_sizes[label] = len(exported.encode())
            outputs = json.loads(bench.run("stack", "output", "--json", "--stack", f"s{label}"))
            if count and outputs.get("total_count") != count:
                print(f"bench-pulumi: WRONG: stack {label} recorded {outputs.get('total_count')} jobs")
                wrong = True

    print()
    print(f"| stack | operation | wall time, median (range) of {args.reps} | listings |")
    print("|---|---|---:|---:|")
    for (label, name), values in figures.items():
        counts = ",".join(str(c) for c in sorted(listings[(label, name)]))
        print(f"| {label} | {name} | {stat(values)} | {counts if label != 'empty' else '-'} |")
    print()
    print("| stack | state (`pulumi stack export`) |")
    print("|---|---:|")
    for label, size in state_sizes.items():
        print(f"| {label} | {size / 1024:.1f} KiB |")

    diffs = diff_times(args.jobs, max(args.reps, 5))
    print()
    print(f"| Diff through the provider host, {args.jobs} jobs recorded | median (range) |")
    print("|---|---:|")
    for label, values in diffs.items():
        print(f"| {label} | {statistics.median(values) * 1000:.0f} ms "
              f"({min(values) * 1000:.0f}-{max(values) * 1000:.0f}) |")

    changed = max(listings[(str(args.jobs), "changed up")] | listings[("10", "changed up")])
    diff_default = statistics.median(diffs["default"])
    print()
    print(f"target: a changed up lists at most {TARGET_CHANGED_UP_LISTINGS} times: "
          f"{changed} ({'met' if changed <= TARGET_CHANGED_UP_LISTINGS else 'NOT met'})")
    print(f"target: Diff under {TARGET_DIFF_S} s at {args.jobs} jobs (default outputs): "
          f"{diff_default:.3f} s ({'met' if diff_default < TARGET_DIFF_S else 'NOT met'})")
    return 1 if wrong else 0


def rename_one(emulator: Any, label: str) -> None:
    """Rename the first job referencing the stack's package, so its outputs change."""
    package = f"{label}-{PACKAGE}"
    job = emulator.state.referencing_jobs(PROJECT, package)[0]
    emulator.state.put_job(PROJECT, {**job, "JobName": f"renamed_{time.monotonic_ns()}"})


if __name__ == "__main__":
    raise SystemExit(main())
