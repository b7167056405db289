"""What a test, and every process it starts, may take from the developer's shell.

Nothing that picks credentials, a region or a proxy (the client would read them before
anything a test sets up), and not their HOME (~/.alibabacloud, ~/.aliyun).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

CLEARED_PREFIXES = ("ALIBABA_CLOUD_", "ALICLOUD_", "ALIYUN_")
CLEARED = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "DEBUG")


def is_cleared(name: str) -> bool:
    return name.startswith(CLEARED_PREFIXES) or name in CLEARED


def child_env(home: Optional[Path] = None, *, also_drop: tuple[str, ...] = (),
              **extra: str) -> dict[str, str]:
    """This process's environment without the developer's settings (nor variables starting with
    `also_drop`), HOME at `home` (default: as it is, the test's own once `clean_env` ran), then `extra`."""
    env = {k: v for k, v in os.environ.items() if not is_cleared(k) and not k.startswith(also_drop)}
    if home is not None:
        env["HOME"] = str(home)
    env.update(extra)
    return env
