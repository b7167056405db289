"""Many jars at once, and throughput against a throttling service.

Starts the emulator in its own process (latency per request injected) with
50 jars of 1–3 pages each and one jar of 10,000 jobs, then times, alternating,
with a fresh client per repetition as a CLI call makes one:

  M   FoasClient.list_many over the 50 jars (page size 50, default concurrency)
  S   one listing of the 10,000-job jar (200 pages of 50, default concurrency)
  S8  the same listing at max_concurrency=8 (the old default)

Target: M takes no more than 2× S (the work is total pages ÷ concurrency, not
jars × round trips). Then a second emulator answers 429 Throttling.User to
requests beyond --max-in-flight; S at the default concurrency must still
list every job, and the figures show how the AIMD limiter settled.

    python benchmarks/bench_many.py [--latency-ms 25] [--reps 5] [--max-in-flight 8]

Prints figures (medians and ranges); exits 1 only if a listing is wrong.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

from _common import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Emulator, clean_environment

PROJECT = "bench_project"
BIG = "bench-udf.jar"
PAGE_SIZE = 50
JARS = 50
TARGET_M_OVER_S = 2.0



def jar_names() -> list[str]:
    return [f"udf-1.{i // 10}.{i % 10}.jar" for i in range(JARS)]


def jobs_of(i: int) -> int:
    """1, 2 or 3 pages of 50, never a full last page."""
    return PAGE_SIZE * (i % 3) + 1 + (i * 17) % (PAGE_SIZE - 1)


def write_data(directory: Path) -> tuple[Path, dict[str, list[str]]]:
    jobs: list[dict[str, Any]] = []
    expected: dict[str, list[str]] = {}

    def job(n: int, package: str) -> dict[str, Any]:
        return {"JobId": f"job-{n:07d}", "JobName": f"job {n}", "Packages": package,
                "JobType": "FLINK_STREAM", "IsCommitted": n % 2 == 0, "ProjectName": PROJECT}

    n = 0
    for package, count in [(BIG, 10_000), *((name, jobs_of(i)) for i, name in enumerate(jar_names()))]:
        expected[package] = []
        for _ in range(count):
            jobs.append(job(n, package))
            expected[package].append(f"job-{n:07d}")
            n += 1
    data = {"access_keys": {ACCESS_KEY_ID: ACCESS_KEY_SECRET},
            "projects": {PROJECT: {"packages": [BIG, *jar_names()], "jobs": jobs}}}
    path = directory / "jobs.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, expected



def client(url: str, concurrency: Optional[int] = None) -> Any:
    from foas_refjobs import ClientOptions, Credentials, FoasClient, RetryPolicy

    options = ClientOptions(endpoint=url, credentials=Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET),
                            retry_policy=RetryPolicy(max_attempts=8))
    return FoasClient(options if concurrency is None else options.replace(max_concurrency=concurrency))


def many(url: str, expected: dict[str, list[str]]) -> dict[str, Any]:
    from foas_refjobs import Query

    with client(url) as c:
        result = c.list_many(Query(PROJECT, tuple(jar_names()), page_size=PAGE_SIZE))
    for outcome in result:
        if outcome.jobs is None or outcome.jobs.job_ids != expected[outcome.package_name]:
            raise SystemExit(f"M: wrong listing of {outcome.package_name}: {outcome.detail}")
    return {}


def single(url: str, expected: dict[str, list[str]], concurrency: Optional[int] = None) -> dict[str, Any]:
    from foas_refjobs import Query

    with client(url, concurrency) as c:
        jobs = c.list(Query.one(PROJECT, BIG, page_size=PAGE_SIZE))
        limiter = c.limiter
    if jobs.job_ids != expected[BIG] or not jobs.consistent:
        raise SystemExit(f"S: wrong listing ({len(jobs.job_ids)} ids, {jobs.inconsistency})")
    return {"throttles": limiter.throttle_events, "lowest_limit": limiter.lowest_limit,
            "limit_at_end": limiter.limit, "peak_in_flight": limiter.highest_in_flight}


def run(variants: dict[str, Callable[[], dict[str, Any]]], reps: int
        ) -> tuple[dict[str, list[float]], dict[str, list[dict[str, Any]]]]:
    for fn in variants.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {n: [] for n in variants}
    info: dict[str, list[dict[str, Any]]] = {n: [] for n in variants}
    names = list(variants)
    for rep in range(reps):
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            started = time.perf_counter()
            info[name].append(variants[name]())
            times[name].append(time.perf_counter() - started)
        print(f"# rep {rep + 1}: " + "  ".join(f"{n}={times[n][-1] * 1000:.0f} ms" for n in names),
              flush=True)
    return times, info


def fmt(values: list[float]) -> tuple[str, str]:
    return (f"{statistics.median(values) * 1000:.0f} ms",
            f"{min(values) * 1000:.0f}–{max(values) * 1000:.0f} ms")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--max-in-flight", type=int, default=8,
                        help="the throttling emulator's limit (requests at once)")
    args = parser.parse_args(argv)
    clean_environment()
    from foas_refjobs.options import DEFAULT_MAX_CONCURRENCY as conc

    total_pages = sum(math.ceil(jobs_of(i) / PAGE_SIZE) for i in range(JARS))
    latency = args.latency_ms / 1000
    print(f"# {JARS} jars of 1–3 pages ({total_pages} pages), one jar of 200 pages; page size "
          f"{PAGE_SIZE}, {args.latency_ms:g} ms per request, default max_concurrency={conc}, "
          f"{args.reps} reps; Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="foas-bench-many-") as tmp:
        data, expected = write_data(Path(tmp))
        emu = Emulator(data, args.latency_ms)
        try:
            times, _ = run({"M": lambda: many(emu.url, expected),
                            "S": lambda: single(emu.url, expected),
                            "S8": lambda: single(emu.url, expected, 8)}, args.reps)
        finally:
            emu.stop()
        throttling = Emulator(data, args.latency_ms, "--max-in-flight", str(args.max_in_flight))
        try:
            ttimes, tinfo = run({"T": lambda: single(throttling.url, expected),
                                 "T8": lambda: single(throttling.url, expected, 8)}, args.reps)
        finally:
            throttling.stop()

    m, s = statistics.median(times["M"]), statistics.median(times["S"])
    bound_s = (math.ceil(199 / conc) + 1) * latency
    bound_m = (math.ceil(JARS / conc) + math.ceil((total_pages - JARS) / conc)) * latency
    print()
    print(f"| {args.latency_ms:g} ms per request, page size {PAGE_SIZE} | median of {args.reps} | range |"
          " latency bound |")
    print("|---|---:|---:|---:|")
    print(f"| M: {JARS} jars, {total_pages} pages, list_many, concurrency {conc} | "
          + " | ".join(fmt(times["M"])) + f" | {bound_m * 1000:.0f} ms |")
    print(f"| S: 1 jar, 200 pages, concurrency {conc} | " + " | ".join(fmt(times["S"]))
          + f" | {bound_s * 1000:.0f} ms |")
    print("| S8: 1 jar, 200 pages, concurrency 8 | " + " | ".join(fmt(times["S8"]))
          + f" | {(math.ceil(199 / 8) + 1) * latency * 1000:.0f} ms |")
    print(f"| T: S against a service throttling above {args.max_in_flight} in flight | "
          + " | ".join(fmt(ttimes["T"])) + " | |")
    print("| T8: S8 against the same service | " + " | ".join(fmt(ttimes["T8"])) + " | |")
    print()
    verdict = "met" if m / s <= TARGET_M_OVER_S else "NOT met"
    print(f"M/S = {m / s:.2f} (target ≤ {TARGET_M_OVER_S:g}: {verdict});"
          f" S/bound = {s / bound_s:.2f}; S8/S = {statistics.median(times['S8']) / s:.2f}")
    for name in ("T", "T8"):
        throttles = [i["throttles"] for i in tinfo[name]]
        lowest = [i["lowest_limit"] for i in tinfo[name]]
        peak = [i["peak_in_flight"] for i in tinfo[name]]
        print(f"{name}: every listing complete; 429s per listing {min(throttles)}–{max(throttles)} "
              f"(median {statistics.median(throttles):g}), lowest limit {min(lowest)}–{max(lowest)}, "
              f"peak in flight {min(peak)}–{max(peak)}")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
