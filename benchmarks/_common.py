"""What every listing benchmark needs: a clean environment, a child emulator, peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ACCESS_KEY_ID = "LTAI5tBenchmarkKey"
ACCESS_KEY_SECRET = "benchmark-secret-not-real"


def clean_environment() -> None:
    """No credential or proxy of the caller's shell may change what is measured."""
    for name in list(os.environ):
        if name.startswith(("ALIBABA_CLOUD_", "ALICLOUD_", "ALIYUN_")) or name.lower() in (
                "http_proxy", "https_proxy", "all_proxy") or name == "DEBUG":
            del os.environ[name]
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


class Emulator:
    """`python -m foas_refjobs emulator` in a child process, so its CPU is not the client's."""

    def __init__(self, data: Path, latency_ms: float, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "foas_refjobs", "emulator", "--port", "0", "--data", str(data),
             "--latency-ms", str(latency_ms), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        prefix = "FOAS emulator listening on "
        if not line.startswith(prefix):
            self.stop()
            raise SystemExit(f"emulator did not start: {line!r}")
        self.url = line[len(prefix):]
        self.hostport = self.url.split("://", 1)[1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def vm_hwm_kib() -> int:
    """Peak RSS of this process (VmHWM survives exec, unlike ru_maxrss)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")
