"""Does a listing grow linearly with the number of jobs, and what does one job cost the client?

Starts the emulator in its own process with N small jobs referencing one jar
and a maximum page size of 1000, then lists them in a fresh child process with
the default client (page size found at run time), N = 100,000, 300,000 and
1,000,000, reporting per run: wall time, client CPU (process time of the
child), peak RSS growth, time spent in garbage collection and pages read.
Linear means time per job and memory per job stay flat as N grows.

A second part measures client CPU per job the way the main benchmark lists:
10,000 jobs, 200 pages of 50, 25 ms per request, default concurrency.

    python benchmarks/bench_scale.py [--sizes 100000,300000,1000000] [--reps 3]

Prints figures (medians and ranges); exits 1 only if a listing is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from _common import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Emulator, clean_environment, vm_hwm_kib

PROJECT = "bench_project"
PACKAGE = "bench-udf.jar"
TARGET_CPU_US_PER_JOB = 15.0



def write_data(path: Path, count: int, rich: bool) -> None:
    if rich:
        from foas_refjobs.emulator.datagen import generate_jobs

        jobs = generate_jobs(PROJECT, PACKAGE, count)
    else:
        jobs = [{"JobId": f"job-{n:07d}", "JobName": f"job {n}", "Packages": PACKAGE,
                 "JobType": "FLINK_STREAM", "IsCommitted": n % 2 == 0, "ProjectName": PROJECT,
                 "ModifyTime": 1551161842000 + n} for n in range(count)]
    data = {"access_keys": {ACCESS_KEY_ID: ACCESS_KEY_SECRET},
            "projects": {PROJECT: {"packages": [PACKAGE], "jobs": jobs}}}
    path.write_text(json.dumps(data), encoding="utf-8")




def child(url: str, expected: int, page_size: Optional[int]) -> None:
    """One listing in this fresh process; prints its figures as JSON."""
    import gc

    import psutil

    from foas_refjobs import ClientOptions, Credentials, FoasClient, Query

    gc_time = [0.0]
    gc_runs = [0, 0, 0]
    started_gc = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started_gc[0] = time.perf_counter()
        else:
            gc_time[0] += time.perf_counter() - started_gc[0]
            gc_runs[info["generation"]] += 1

    credentials = Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    client = FoasClient(ClientOptions(endpoint=url, credentials=credentials))
    rss0 = psutil.Process().memory_info().rss
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        pass
    peak0 = vm_hwm_kib()
    gc.callbacks.append(on_gc)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    jobs = client.list(Query.one(PROJECT, PACKAGE, page_size=page_size))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    gc.callbacks.remove(on_gc)
    peak = vm_hwm_kib()
    if len(jobs.job_ids) != expected or not jobs.consistent:
        raise SystemExit(f"wrong listing: {len(jobs.job_ids)} of {expected}, {jobs.inconsistency}")
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": (peak - peak0) / 1024,
                      "rss0_mib": rss0 / 2**20, "gc": gc_time[0], "gc_runs": gc_runs,
                      "pages": jobs.pages_fetched, "page_size": client.page_size or page_size}))
    client.close()


def run_child(url: str, expected: int, page_size: Optional[int]) -> dict[str, Any]:
    args = [sys.executable, __file__, "--_child", url, "--_expected", str(expected)]
    if page_size:
        args += ["--_page-size", str(page_size)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"child failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def spread(values: list[float], unit: str, scale: float = 1.0, digits: int = 1) -> str:
    return (f"{statistics.median(values) * scale:.{digits}f} {unit} "
            f"({min(values) * scale:.{digits}f}–{max(values) * scale:.{digits}f})")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--_child", dest="child")
    parser.add_argument("--_expected", dest="expected", type=int)
    parser.add_argument("--_page-size", dest="page_size", type=int)
    args = parser.parse_args(argv)
    clean_environment()
    if args.child:
        child(args.child, args.expected, args.page_size)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"# Python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
          f"{args.reps} reps per size, a fresh process per listing", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="foas-bench-scale-") as tmp:
        for n in sizes:
            data = Path(tmp) / f"jobs-{n}.json"
            write_data(data, n, rich=False)
            emu = Emulator(data, 0.0, "--max-page-size", "1000")
            try:
                runs = [run_child(emu.url, n, None) for _ in range(args.reps)]
            finally:
                emu.stop()
                data.unlink()
            print(f"# {n:,} jobs: " + "  ".join(f"{r['wall']:.2f} s" for r in runs), flush=True)
            rows.append((n, runs))
        data = Path(tmp) / "jobs-10000.json"
        write_data(data, 10_000, rich=True)
        emu = Emulator(data, 25.0)
        try:
            run_child(emu.url, 10_000, 50)  # warm the emulator's caches
            cpu_runs = [run_child(emu.url, 10_000, 50) for _ in range(args.reps)]
        finally:
            emu.stop()

    print()
    print("| jobs | pages (size) | wall | per job | client CPU per job | peak RSS growth | per job "
          "| GC time (share of wall) | GC runs gen0/1/2 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, runs in rows:
        gc_share = [r["gc"] / r["wall"] for r in runs]
        gens = runs[len(runs) // 2]["gc_runs"]
        print(f"| {n:,} | {runs[0]['pages']} ({runs[0]['page_size']}) "
              f"| {spread([r['wall'] for r in runs], 's', 1, 2)} "
              f"| {spread([r['wall'] / n for r in runs], 'µs', 1e6)} "
              f"| {spread([r['cpu'] / n for r in runs], 'µs', 1e6)} "
              f"| {spread([r['peak_mib'] for r in runs], 'MiB', 1, 0)} "
              f"| {spread([r['peak_mib'] * 1024 / n for r in runs], 'KiB', 1, 2)} "
              f"| {spread([r['gc'] for r in runs], 's', 1, 2)} ({statistics.median(gc_share) * 100:.0f} %) "
              f"| {gens[0]}/{gens[1]}/{gens[2]} |")
    cpu_per_job = [r["cpu"] / 10_000 * 1e6 for r in cpu_runs]
    cpu_per_page = [r["cpu"] / r["pages"] * 1e3 for r in cpu_runs]
    print()
    print(f"Client CPU, 10,000 generated jobs (every field), 200 pages of 50, 25 ms, default concurrency: "
          f"{statistics.median(cpu_per_job):.1f} µs per job ({min(cpu_per_job):.1f}–{max(cpu_per_job):.1f}), "
          f"{statistics.median(cpu_per_page):.2f} ms per page; target ≤ {TARGET_CPU_US_PER_JOB:g} µs: "
          f"{'met' if statistics.median(cpu_per_job) <= TARGET_CPU_US_PER_JOB else 'NOT met'}")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
