"""Cold start of `foas-refjobs list` with credentials in the environment.

Starts one emulator (its own process), then runs `python -m foas_refjobs list`
against it N times in fresh interpreters and prints the median and range of
the wall time of the whole command (interpreter start, imports, credential
resolution, one signed request, the table). Run it before and after a change
with the same N on an otherwise idle machine and compare the medians.

    .venv/bin/python benchmarks/cold_start.py [N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    emulator = subprocess.Popen([sys.executable, "-m", "foas_refjobs", "emulator", "--port", "0"],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert emulator.stdout is not None
        url = emulator.stdout.readline().split()[-1]
        key_line = emulator.stdout.readline().split()
        keys = dict(item.split("=", 1) for item in key_line if "=" in item)
        with tempfile.TemporaryDirectory() as home:
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ALIBABA_CLOUD_", "ALICLOUD_", "ALIYUN_"))}
            env.update(keys, HOME=home, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
            command = [sys.executable, "-m", "foas_refjobs", "list", "--project", "bayes_team",
                       "--package", "udf-common.jar", "--endpoint", url]
            times = []
            for _ in range(runs + 1):
                started = time.perf_counter()
                proc = subprocess.run(command, env=env, capture_output=True, text=True)
                times.append(time.perf_counter() - started)
                if proc.returncode != 0:
                    print(proc.stderr, file=sys.stderr)
                    return 1
            times = times[1:]  # the first run warms the page cache
    finally:
        emulator.terminate()
        emulator.wait()
    print(f"foas-refjobs list, env credentials, {runs} runs: median {statistics.median(times) * 1000:.0f} ms "
          f"(range {min(times) * 1000:.0f}-{max(times) * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
