"""What a hostile server costs a listing: peak memory, and the price of the race confirmation.

Memory. A child process lists against the hostile test server (tests/hostile_server.py)
and reports its peak RSS (VmHWM) and outcome, for:

  amplification  three pages of ~11 MiB, each a list of minimal job objects
                 ({"JobId": "j0000001"}), TotalCount to match;
  gzip-bomb      one page sent as `Content-Encoding: gzip, gzip` that decodes to
                 --bomb-mib MiB of JSON whitespace.

Variants alternate, --reps runs each: `after` is this checkout; `before` is the
package as of another commit (--before-src: a directory holding a
`foas_refjobs` package, e.g. `git archive e12b7ec provider/foas_refjobs | tar -x
-C /tmp/before`), left out when not given.

Confirmation. Against the emulator with --latency-ms per request, one
`check-unreferenced --committed-only` style listing of --jobs uncommitted jobs (an
empty filtered result over several pages: confirmed by a second listing) against
the same listing with one committed job (referenced: not confirmed); pages of 50,
so page-size discovery is not part of the figure; medians and ranges of wall
time and request counts.

    python benchmarks/bench_hostile.py [--before-src DIR] [--reps 3] [--bomb-mib 256]
        [--jobs 1000] [--latency-ms 10] [--skip-memory]

Prints figures; exit code 0 unless a run gives a wrong verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hostile_server import HostileServer, Reply  # noqa: E402

PAGE_BYTES = 11 * 1024 * 1024
CHILD = r"""
import json, re, sys
from foas_refjobs import Credentials, FoasError, list_ref_package_jobs

def hwm():
    return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) * 1024

base = hwm()
try:
    jobs = list_ref_package_jobs("proj", "udf.jar", endpoint=sys.argv[1], max_attempts=1,
                                 credentials=Credentials("ak", "secret-value"), max_concurrency=1)
    outcome = f"listed {len(jobs.jobs)} jobs, consistent={jobs.consistent}"
except FoasError as exc:
    outcome = exc.one_line()[:100]
except MemoryError:
    outcome = "MemoryError"
print(json.dumps({"peak": hwm(), "base": base, "outcome": outcome}))
"""


def _minimal_page(index: int, per_page: int, total: int) -> bytes:
    items = ",".join(f'{{"JobId":"j{index * per_page + i:07d}"}}' for i in range(per_page))
    return (f'{{"RequestId":"R","PageIndex":{index + 1},"PageSize":50,"TotalCount":{total},'
            f'"TotalPage":3,"Jobs":{{"Job":[{items}]}}}}').encode()


def _amplification(server: HostileServer) -> None:
    per_page = PAGE_BYTES // len('{"JobId":"j0000000"},')
    pages = [_minimal_page(i, per_page, 3 * per_page) for i in range(3)]
    server.handler = lambda request: Reply.json(pages[(request.page_index or 1) - 1])


def _bomb(server: HostileServer, mib: int) -> None:
    reply = Reply.gzip_bomb(mib * 1024 * 1024, layers=2)
    server.handler = lambda _request: reply


def _child(src: Optional[str], url: str) -> dict[str, Any]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    done = subprocess.run([sys.executable, "-c", CHILD, url], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    if done.returncode != 0:
        return {"peak": 0, "base": 0, "outcome": f"exit {done.returncode}: {done.stderr[-200:]!r}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def memory(args: argparse.Namespace) -> None:
    variants = [("after", None)] + ([("before", args.before_src)] if args.before_src else [])
    for case in ("amplification", "gzip-bomb"):
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in variants}
        with HostileServer() as server:
            _amplification(server) if case == "amplification" else _bomb(server, args.bomb_mib)
            for _ in range(args.reps):
                for name, src in variants:
                    runs[name].append(_child(src, server.url))
        for name, results in runs.items():
            peaks = [r["peak"] / 2**20 for r in results]
            growth = [(r["peak"] - r["base"]) / 2**20 for r in results]
            print(f"{case:14} {name:6} peak RSS median {statistics.median(peaks):7.1f} MiB "
                  f"(range {min(peaks):.1f}-{max(peaks):.1f}); growth over imports "
                  f"{statistics.median(growth):7.1f} MiB; outcome: {results[-1]['outcome']}")


def confirmation(args: argparse.Namespace) -> int:
    from foas_refjobs import Credentials, FoasClient
    from foas_refjobs.emulator import EmulatorState, FoasEmulator

    state = EmulatorState()
    state.add_access_key("ak", "secret-value")
    for i in range(args.jobs):
        state.put_job("proj", {"JobId": f"u{i:06d}", "JobName": f"u{i}", "Packages": "udf.jar",
                               "IsCommitted": False, "JobType": "FLINK_BATCH"})
    figures: dict[str, list[float]] = {"unreferenced": [], "referenced": []}
    requests: dict[str, int] = {}
    wrong = 0
    with FoasEmulator(state, latency_ms=args.latency_ms) as emu:
        for _ in range(args.reps):
            for case in ("unreferenced", "referenced"):
                if case == "referenced":
                    state.put_job("proj", {"JobId": "a-committed", "Packages": "udf.jar",
                                           "IsCommitted": True, "JobType": "FLINK_BATCH"})
                emu.requests.clear()
                started = time.perf_counter()
                with FoasClient(endpoint=emu.url, credentials=Credentials("ak", "secret-value")) as client:
                    listing = client.list_ref_package_jobs("proj", "udf.jar", committed_only=True,
                                                           page_size=50)
                figures[case].append(time.perf_counter() - started)
                requests[case] = len(emu.requests)
                wrong += int(listing.referenced != (case == "referenced") or not listing.consistent)
                if case == "referenced":
                    state.remove_job("proj", "a-committed")
    pages = -(-args.jobs // 50)
    for case, times in figures.items():
        print(f"confirmation   {case:12} {args.jobs} jobs, {pages} pages, {args.latency_ms:g} ms latency: "
              f"median {statistics.median(times) * 1000:7.1f} ms (range {min(times) * 1000:.1f}-"
              f"{max(times) * 1000:.1f}), {requests[case]} requests")
    ratio = statistics.median(figures["unreferenced"]) / statistics.median(figures["referenced"])
    print(f"confirmation   cost: an unreferenced filtered verdict takes {ratio:.2f}x the time of a "
          "referenced one over the same pages")
    return 1 if wrong else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before-src", help="directory holding an older foas_refjobs package")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--bomb-mib", type=int, default=256)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    if not args.skip_memory:
        memory(args)
    return confirmation(args)


if __name__ == "__main__":
    sys.exit(main())
