"""How long does listing every job that references one package take?

Starts the emulator in its own process (so it does not compete with the client
for the GIL) with an injected latency per request and N jobs referencing one
package, then times, alternating, several repetitions each:

  A  the loop a user writes today: aliyun-python-sdk-foas's GetRefPackageJobRequest
     and an AcsClient, page by page, json.loads each page;
  B  foas_refjobs.list_ref_package_jobs with max_concurrency=1 (sequential);
  C  foas_refjobs.list_ref_package_jobs with the default max_concurrency.

Every repetition builds its own client, as a `pulumi preview` or a CLI call does,
and every result is checked (same job ids, same order) before it is counted.
Client CPU is this process's CPU time (every thread; the emulator is another
process) across one listing, divided by pages and by jobs.
Peak memory of C is the growth of the peak RSS (VmHWM, reset just before) of a
fresh child process across one listing, baseline taken after imports and client
construction: what listing 10,000 jobs costs on top of the process.

    make bench                       # installs the '.[bench]' extra first
    python benchmarks/bench_listing.py [--jobs 10000] [--page-size 50]
        [--latency-ms 25] [--reps 5] [--concurrency 8]

A script that prints figures, not a timed test: its targets are reported, and
the exit code is 0 whether they are met or not (1 only if a listing is wrong).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Emulator, clean_environment, vm_hwm_kib

PROJECT = "bench_project"
PACKAGE = "bench-udf.jar"
REGION = "cn-hangzhou"

TARGET_A_OVER_C = 12.0
TARGET_C_OVER_BOUND = 1.2
TARGET_C_CPU_PER_JOB_US = 15.0
TARGET_RSS_MB = 80.0
TARGET_CPU_PER_PAGE_MS = 0.5

Lister = Callable[[], list[str]]



def _write_data(directory: Path, jobs: int) -> tuple[Path, list[str]]:
    from foas_refjobs.emulator.datagen import generate_jobs

    generated = generate_jobs(PROJECT, PACKAGE, jobs)
    data = {
        "access_keys": {ACCESS_KEY_ID: ACCESS_KEY_SECRET},
        "projects": {PROJECT: {"packages": [PACKAGE], "jobs": generated}},
    }
    path = directory / "jobs.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, [j["JobId"] for j in generated]



def sdk_request(hostport: str, page_size: int, index: int) -> Any:
    """One page's request as a user writes it with aliyun-python-sdk-foas."""
    from aliyunsdkfoas.request.v20181111.GetRefPackageJobRequest import GetRefPackageJobRequest

    request = GetRefPackageJobRequest()
    request.set_endpoint(hostport)
    request.set_protocol_type("http")
    request.set_projectName(PROJECT)
    request.set_packageName(PACKAGE)
    request.set_pageSize(page_size)
    request.set_pageIndex(index)
    return request


def sdk_loop(hostport: str, page_size: int) -> list[str]:
    """A: what a user writes today with aliyun-python-sdk-foas."""
    from aliyunsdkcore.client import AcsClient

    client = AcsClient(ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION)
    job_ids: list[str] = []
    page = 1
    while True:
        body = json.loads(client.do_action_with_exception(sdk_request(hostport, page_size, page)))
        job_ids.extend(job["JobId"] for job in body["Jobs"]["Job"])
        if page >= int(body["TotalPage"]):
            break
        page += 1
    return job_ids


def our_client(url: str, page_size: int, concurrency: int) -> list[str]:
    """B and C: foas_refjobs, a fresh client per listing."""
    from foas_refjobs import Credentials, list_ref_package_jobs

    jobs = list_ref_package_jobs(
        PROJECT, PACKAGE, region_id=REGION, endpoint=url, page_size=page_size,
        credentials=Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET), max_concurrency=concurrency)
    if not jobs.consistent:
        raise AssertionError(f"inconsistent listing: {jobs.inconsistency}")
    return jobs.job_ids


def warm_page_cpu(hostport: str, url: str, page_size: int, pages: int, rounds: int = 5
                  ) -> dict[str, list[float]]:
    """CPU per page, back to back against an emulator without added latency, alternating:
    A's `do_action_with_exception` + `json.loads`, and this package's `fetch_page` (signing,
    sending, strict parsing into typed jobs). Warm caches: the figure the client's own code
    costs, without the idle gaps of a latency-bound listing."""
    from aliyunsdkcore.client import AcsClient

    from foas_refjobs import Credentials, FoasClient

    sdk = AcsClient(ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION)
    ours = FoasClient(region_id=REGION, endpoint=url,
                      credentials=Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))

    def sdk_page(index: int) -> None:
        json.loads(sdk.do_action_with_exception(sdk_request(hostport, page_size, index)))

    def our_page(index: int) -> None:
        ours.fetch_page(PROJECT, PACKAGE, index, page_size)

    cpu: dict[str, list[float]] = {"A": [], "ours": []}
    for fetch in (sdk_page, our_page):  # warm-up
        for index in range(1, 21):
            fetch(index)
    for rep in range(rounds):
        order = [("A", sdk_page), ("ours", our_page)]
        for name, fetch in order if rep % 2 == 0 else order[::-1]:
            started = time.process_time()
            for index in range(1, pages + 1):
                fetch(index)
            cpu[name].append((time.process_time() - started) / pages)
    ours.close()
    return cpu



def _child_memory(url: str, page_size: int, concurrency: int) -> None:
    """Run in a fresh process: one listing of C, report peak RSS growth (MiB) as JSON."""
    import psutil

    from foas_refjobs import Credentials, FoasClient

    client = FoasClient(region_id=REGION, endpoint=url, max_concurrency=concurrency,
                        credentials=Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    before_rss = psutil.Process().memory_info().rss
    try:  # reset the high-water mark to the current RSS (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        before_peak = vm_hwm_kib()
    except OSError:
        before_peak = before_rss // 1024
    jobs = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=page_size)
    after_peak = vm_hwm_kib()
    after_rss = psutil.Process().memory_info().rss
    client.close()
    print(json.dumps({
        "jobs": len(jobs),
        "baseline_mib": before_rss / 2**20,
        "peak_growth_mib": (after_peak - before_peak) / 1024,
        "retained_growth_mib": (after_rss - before_rss) / 2**20,
    }))


def measure_memory(url: str, page_size: int, concurrency: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--_child-memory", url, "--page-size", str(page_size),
         "--concurrency", str(concurrency)],
        capture_output=True, text=True, check=True, timeout=300)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _time(lister: Lister, expected: list[str], name: str) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one listing."""
    cpu_started = time.process_time()
    started = time.perf_counter()
    ids = lister()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if ids != expected:
        raise SystemExit(f"{name} returned a wrong listing ({len(ids)} ids, expected {len(expected)})")
    return elapsed, cpu


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs referencing the package")
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=25.0, help="added by the emulator "
                        "to every request")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions of each variant")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="C's max_concurrency (default: the client's default)")
    parser.add_argument("--_child-memory", dest="child_memory", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    clean_environment()
    from foas_refjobs.options import DEFAULT_MAX_CONCURRENCY

    for module in ("aliyunsdkfoas", "psutil"):
        try:
            __import__(module)
        except ImportError:
            raise SystemExit(f"{module} is missing: pip install -e '.[bench]' "
                             "(or run `make bench`)") from None

    concurrency = args.concurrency or DEFAULT_MAX_CONCURRENCY
    if args.child_memory:
        _child_memory(args.child_memory, args.page_size, concurrency)
        return 0

    pages = math.ceil(args.jobs / args.page_size)
    latency = args.latency_ms / 1000.0
    bound = (math.ceil((pages - 1) / concurrency) + 1) * latency
    # No latency, no bound to compare with: the run then measures CPU alone.
    c_over_bound = "n/a (no latency)"
    print(f"# {args.jobs} jobs, page size {args.page_size} ({pages} pages), "
          f"{args.latency_ms:g} ms latency per request, {args.reps} reps each, "
          f"C at max_concurrency={concurrency}")
    load_at_start = os.getloadavg()[0]
    print(f"# Python {platform.python_version()}, {os.cpu_count()} CPUs, load at start {_load()}; "
          "the emulator runs in its own process", flush=True)

    with tempfile.TemporaryDirectory(prefix="foas-bench-") as tmp:
        data, expected = _write_data(Path(tmp), args.jobs)
        emulator = Emulator(data, args.latency_ms)
        try:
            variants: dict[str, Lister] = {
                "A": lambda: sdk_loop(emulator.hostport, args.page_size),
                "B": lambda: our_client(emulator.url, args.page_size, 1),
                "C": lambda: our_client(emulator.url, args.page_size, concurrency),
            }
            for name, lister in variants.items():  # warm-up: imports, first connections
                _time(lister, expected, name)
            times: dict[str, list[float]] = {name: [] for name in variants}
            cpus: dict[str, list[float]] = {name: [] for name in variants}
            for rep in range(args.reps):
                order = list(variants)
                order = order[rep % 3:] + order[:rep % 3]  # alternate who goes first
                for name in order:
                    wall, cpu = _time(variants[name], expected, name)
                    times[name].append(wall)
                    cpus[name].append(cpu)
                # CPU per page beside each time: on a shared host, all three rise and fall
                # together from rep to rep, which tells the host's speed from the client's work.
                print(f"# rep {rep + 1}: " + "  ".join(
                    f"{n}={times[n][-1] * 1000:.0f} ms ({cpus[n][-1] / pages * 1000:.2f} ms CPU/page)"
                    for n in variants), flush=True)
            memory = measure_memory(emulator.url, args.page_size, concurrency)
        finally:
            emulator.stop()
        fast = Emulator(data, 0.0)
        try:
            warm = warm_page_cpu(fast.hostport, fast.url, args.page_size, pages)
        finally:
            fast.stop()

    med = {name: statistics.median(values) for name, values in times.items()}
    a, b, c = med["A"], med["B"], med["C"]
    if bound > 0:
        c_over_bound = f"{c / bound:.2f}"
    growth_mib = memory["peak_growth_mib"]
    growth_mb = growth_mib * 2**20 / 1e6

    def spread(name: str) -> str:
        return f"{min(times[name]) * 1000:.0f}–{max(times[name]) * 1000:.0f} ms"

    def per_page(name: str) -> float:
        return statistics.median(cpus[name]) / pages

    def cpu_spread(name: str) -> str:
        return f"{min(cpus[name]) / pages * 1000:.2f}–{max(cpus[name]) / pages * 1000:.2f} ms"

    rows = [
        ("A: aliyun-python-sdk-foas loop, page by page", f"{a * 1000:.0f} ms", spread("A"),
         f"A/C = {a / c:.1f}×"),
        ("B: foas_refjobs, max_concurrency=1", f"{b * 1000:.0f} ms", spread("B"),
         f"B/C = {b / c:.1f}×, B/A = {b / a:.2f}"),
        (f"C: foas_refjobs, max_concurrency={concurrency} (default)", f"{c * 1000:.0f} ms",
         spread("C"), "—"),
        (f"latency bound (⌈({pages}−1)/{concurrency}⌉+1) × {args.latency_ms:g} ms",
         f"{bound * 1000:.0f} ms", "", f"C/bound = {c_over_bound}"),
        (f"peak RSS growth of C, {memory['jobs']:,} jobs", f"{growth_mib:.1f} MiB", "",
         f"{growth_mb:.1f} MB"),
        *[(f"client CPU per page of {args.page_size}, {name}", f"{per_page(name) * 1000:.2f} ms",
           cpu_spread(name), f"{per_page(name) / args.page_size * 1e6:.1f} µs per job")
          for name in variants],
        ("C − latency bound", f"{(c - bound) * 1000:.0f} ms", "",
         f"½ × C's client CPU = {statistics.median(cpus['C']) / 2 * 1000:.0f} ms"),
        *[(f"client CPU per page of {args.page_size}, back to back (0 ms), {label}",
           f"{statistics.median(warm[key]) * 1000:.2f} ms",
           f"{min(warm[key]) * 1000:.2f}–{max(warm[key]) * 1000:.2f} ms",
           f"{statistics.median(warm[key]) / args.page_size * 1e6:.1f} µs per job")
          for key, label in (("A", "A's SDK call + json.loads"), ("ours", "fetch_page"))],
    ]
    print()
    print(f"| {args.jobs:,} jobs, {pages} pages of {args.page_size}, {args.latency_ms:g} ms per request "
          f"| median of {args.reps} | range | ratio |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print(f"Peak RSS growth: VmHWM of a fresh process running one listing of C (high-water mark "
          f"reset after imports and client construction; baseline {memory['baseline_mib']:.1f} MiB, "
          f"retained afterwards {memory['retained_growth_mib']:.1f} MiB).")
    load_end = _load()
    print(f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
          f"Python {platform.python_version()}; load average at end {load_end}")
    if max(os.getloadavg()[0], load_at_start) > 1.0:
        print("warning: load average above 1 during the run; figures may be noisy, re-run when idle")
    print()
    defaults = (args.jobs, args.page_size, args.latency_ms) == (10_000, 50, 25.0)
    print("Targets" + ("" if defaults else " (set for the default run: 10,000 jobs, page size 50, "
                       "25 ms; this run differs)") + ":")
    print(f"  C at least {TARGET_A_OVER_C:g}× faster than A: A/C = {a / c:.1f}  "
          f"{_verdict(a / c >= TARGET_A_OVER_C)}")
    print(f"  C within {TARGET_C_OVER_BOUND:g}× of the latency bound: C/bound = {c_over_bound}  "
          f"{_verdict(c / bound <= TARGET_C_OVER_BOUND) if bound > 0 else ''}")
    print(f"  B no slower than A: B/A = {b / a:.2f}  {_verdict(b <= a)}")
    print(f"  peak RSS growth under {TARGET_RSS_MB:g} MB: {growth_mb:.1f} MB  "
          f"{_verdict(growth_mb < TARGET_RSS_MB)}")
    c_per_job = per_page("C") / args.page_size * 1e6
    print(f"  C's client CPU at most {TARGET_C_CPU_PER_JOB_US:g} µs per job: {c_per_job:.1f} µs  "
          f"{_verdict(c_per_job <= TARGET_C_CPU_PER_JOB_US)}")
    warm_ours = statistics.median(warm["ours"]) * 1000
    print(f"  client CPU per {args.page_size}-job page at most {TARGET_CPU_PER_PAGE_MS:g} ms "
          f"(fetch_page, back to back): {warm_ours:.2f} ms  "
          f"{_verdict(warm_ours <= TARGET_CPU_PER_PAGE_MS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
