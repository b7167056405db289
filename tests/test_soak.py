"""Soak: many listings against the emulator, no error, no wrong result, no leaked fd or thread.

Default (`make test`): 1,000 sequential listings through one reused client, 10
through fresh clients, and 50 concurrent listings (half through the shared
client, half through fresh ones). FOAS_SOAK=large (`make soak`) runs ten times
as many. Each listing is one page, so the soak measures the client, not paging.
Run with `-s` to see the figures.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from _figures import record
from foas_refjobs import Credentials, FoasClient, JobList, list_ref_package_jobs
from foas_refjobs.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    EmulatorState,
    FoasEmulator,
)
from foas_refjobs.emulator.datagen import generate_jobs

SCALE = 10 if os.environ.get("FOAS_SOAK") == "large" else 1
SEQUENTIAL = 1_000 * SCALE
FRESH = 10 * SCALE
CONCURRENT = 50 * SCALE
WAVE = 50  # concurrent listings in flight at once
PROJECT, PACKAGE = "bayes_team", "udf.jar"
FD_TOLERANCE = 2
THREAD_TOLERANCE = 1


@pytest.fixture
def emu(emulator_with: Callable[[EmulatorState], FoasEmulator]) -> FoasEmulator:
    state = EmulatorState.with_jobs(PROJECT, PACKAGE, generate_jobs(PROJECT, PACKAGE, 5))
    state.add_package(PROJECT, "other.jar")
    return emulator_with(state)


def _creds() -> Credentials:
    return Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)


def _usage(proc: psutil.Process) -> tuple[int, int]:
    """Open fds, and threads less the client's one process-wide deadline watchdog (a singleton
    that lingers briefly after the last response; it cannot grow)."""
    gc.collect()
    threads = sum(1 for t in threading.enumerate() if t.name != "foas-deadline-watchdog")
    return proc.num_fds(), threads


def _settled(proc: psutil.Process, fds: int, threads: int, within: float = 10.0) -> tuple[int, int]:
    """Usage once closed connections and finished threads are gone (poll, not a timing assertion)."""
    until = time.monotonic() + within
    now = _usage(proc)
    while (now[0] > fds + FD_TOLERANCE or now[1] > threads + THREAD_TOLERANCE) and time.monotonic() < until:
        time.sleep(0.05)
        now = _usage(proc)
    return now


@pytest.mark.timeout(1800 if SCALE > 1 else 300)
def test_soak_sequential_and_concurrent_listings(emu: FoasEmulator) -> None:
    expected = [j["JobId"] for j in emu.state.referencing_jobs(PROJECT, PACKAGE)]
    wrong: list[str] = []
    errors: list[BaseException] = []

    def check(jobs: JobList, package: str = PACKAGE) -> None:
        want = expected if package == PACKAGE else []
        if jobs.job_ids != want or not jobs.consistent or jobs.server_total_count != len(want):
            wrong.append(f"{package}: {jobs.job_ids} consistent={jobs.consistent}")

    def fresh_listing(package: str = PACKAGE) -> JobList:
        return list_ref_package_jobs(PROJECT, package, endpoint=emu.url, credentials=_creds())

    proc = psutil.Process()
    check(fresh_listing())  # warm-up: imports, caches, the emulator's first threads
    base_fds, base_threads = _settled(proc, *_usage(proc))
    started = time.monotonic()

    with FoasClient(endpoint=emu.url, credentials=_creds()) as shared:
        # 1. sequential, one reused client: every 10th listing asks for an unused package
        for i in range(SEQUENTIAL):
            package = "other.jar" if i % 10 == 9 else PACKAGE
            check(shared.list_ref_package_jobs(PROJECT, package), package)
        sequential_s = time.monotonic() - started
        mid_fds, mid_threads = _usage(proc)

        # 2. sequential, a fresh client each time (what each Pulumi operation does)
        for _ in range(FRESH):
            check(fresh_listing())

        # 3. concurrent, in waves of WAVE: even ones share the client, odd ones bring their own
        def one(i: int) -> None:
            try:
                check(shared.list_ref_package_jobs(PROJECT, PACKAGE) if i % 2 == 0 else fresh_listing())
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        concurrent_started = time.monotonic()
        for wave in range(0, CONCURRENT, WAVE):
            size = min(WAVE, CONCURRENT - wave)
            barrier = threading.Barrier(size)

            def gated(i: int, barrier: threading.Barrier = barrier) -> None:
                barrier.wait(timeout=60)
                one(i)

            with ThreadPoolExecutor(max_workers=size) as pool:
                list(pool.map(gated, range(wave, wave + size)))
        concurrent_s = time.monotonic() - concurrent_started

    total_s = time.monotonic() - started
    end_fds, end_threads = _settled(proc, base_fds, base_threads)
    figures = {
        "sequential": SEQUENTIAL, "fresh_client": FRESH, "concurrent": CONCURRENT, "wave": WAVE,
        "errors": len(errors), "wrong_results": len(wrong),
        "sequential_s": round(sequential_s, 2), "concurrent_s": round(concurrent_s, 2),
        "total_s": round(total_s, 2), "requests": emu.faults.requests,
        "fds": [base_fds, mid_fds, end_fds], "threads": [base_threads, mid_threads, end_threads],
    }
    print(f"\nsoak figures: {figures}")
    record("soak", **figures)
    assert not errors, errors[:3]
    assert not wrong, wrong[:3]
    assert emu.faults.requests == 1 + SEQUENTIAL + FRESH + CONCURRENT
    # after the sequential run only the shared client's pooled connection (and its server thread)
    assert mid_fds <= base_fds + 2 + FD_TOLERANCE
    assert mid_threads <= base_threads + 1 + THREAD_TOLERANCE
    # everything closed: back to the start
    assert end_fds <= base_fds + FD_TOLERANCE
    assert end_threads <= base_threads + THREAD_TOLERANCE
