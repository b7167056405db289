"""Cold start of `foas-refjobs list` with credentials in the environment.

Starts one emulator (its own process), then runs `python -m foas_refjobs list`
against it N times in fresh interpreters and prints the median and range of
the wall time of the whole command (interpreter start, imports, credential
resolution, one signed request, the table). With `--compare DIR` (a `provider`
directory of another version, e.g. from `git archive <commit> provider`), the
two versions run alternately in the same loop, so load on the machine hits
both alike; compare the medians. Each run's CPU time (user + system of the
command's process) is printed too: on a shared machine it moves less with
other processes' load than the wall time does.

    .venv/bin/python benchmarks/cold_start.py [N] [--compare /tmp/old/provider] [--compiled]

`--compiled` writes both trees' bytecode first, as an installed wheel has it.
Without it, both trees' `__pycache__` directories are removed first (Python
reads bytecode it finds even when PYTHONDONTWRITEBYTECODE is set), so with
PYTHONDONTWRITEBYTECODE set every run compiles the package's sources, as an
editable install on such a machine does. Site-packages keep their bytecode in
both modes. Run each mode several times: the machine's load moves the medians.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "provider"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", type=int, nargs="?", default=21)
    parser.add_argument("--compare", type=Path, help="another version's provider/ directory")
    parser.add_argument("--compiled", action="store_true", help="write bytecode for both trees first")
    args = parser.parse_args()
    emulator = subprocess.Popen([sys.executable, "-m", "foas_refjobs", "emulator", "--port", "0"],
                                stdout=subprocess.PIPE, text=True)
    variants = {"this tree": HERE, **({"compared": args.compare.resolve()} if args.compare else {})}
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for provider in variants.values():
        for cache in provider.rglob("__pycache__"):
            shutil.rmtree(cache)
    if args.compiled:
        import compileall

        for provider in variants.values():
            compileall.compile_dir(str(provider), quiet=1)
    try:
        assert emulator.stdout is not None
        url = emulator.stdout.readline().split()[-1]
        key_line = emulator.stdout.readline().split()
        keys = dict(item.split("=", 1) for item in key_line if "=" in item)
        with tempfile.TemporaryDirectory() as home:
            base = {k: v for k, v in os.environ.items()
                    if not k.startswith(("ALIBABA_CLOUD_", "ALICLOUD_", "ALIYUN_", "PYTHONPATH"))}
            base.update(keys, HOME=home, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
            command = [sys.executable, "-m", "foas_refjobs", "list", "--project", "bayes_team",
                       "--package", "udf-common.jar", "--endpoint", url]
            for run in range(args.runs + 1):
                for name, provider in variants.items():
                    env = {**base, "PYTHONPATH": str(provider)}
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    started = time.perf_counter()
                    proc = subprocess.run(command, env=env, capture_output=True, text=True, cwd=home)
                    elapsed = time.perf_counter() - started
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    if proc.returncode != 0:
                        print(f"{name}: {proc.stderr}", file=sys.stderr)
                        return 1
                    if run:  # the first round warms the page cache
                        times[name].append(elapsed)
                        cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    finally:
        emulator.terminate()
        emulator.wait()
    for name, values in times.items():
        print(f"{name}: foas-refjobs list, env credentials, {args.runs} runs: median "
              f"{statistics.median(values) * 1000:.0f} ms (range {min(values) * 1000:.0f}-"
              f"{max(values) * 1000:.0f} ms); CPU median {statistics.median(cpu[name]) * 1000:.0f} ms "
              f"(range {min(cpu[name]) * 1000:.0f}-{max(cpu[name]) * 1000:.0f} ms)")
    if args.compare:
        ratio = statistics.median(times["this tree"]) / statistics.median(times["compared"])
        cpu_ratio = statistics.median(cpu["this tree"]) / statistics.median(cpu["compared"])
        print(f"this tree / compared = {ratio:.2f} (CPU {cpu_ratio:.2f})")
    bytecode = "bytecode written first" if args.compiled else (
        "sources compiled on every run" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "bytecode cached")
    print(f"{bytecode}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
