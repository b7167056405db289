"""One way for tests to make a client for a test server (emulator or hostile server).

Every test module used to spell this out itself (endpoint, the emulator's
AccessKey, a fast retry policy); they now differ only in the defaults they pass.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol

from foas_refjobs import ClientOptions, Credentials, FoasClient, RetryPolicy
from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET

# Retries stay on, waits nearly vanish: a retried request costs milliseconds, not seconds.
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.005, throttle_base_delay=0.001)


class HasUrl(Protocol):
    @property
    def url(self) -> str: ...


def emulator_credentials() -> Credentials:
    return Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)


def client_for_server(server: HasUrl, credentials: Optional[Credentials] = None,
                      **options: Any) -> FoasClient:
    """A FoasClient for `server`; `options` are ClientOptions fields (retry_policy defaults to FAST_RETRY)."""
    options.setdefault("retry_policy", FAST_RETRY)  # retry_policy=None: one of max_attempts
    return FoasClient(ClientOptions(endpoint=server.url, credentials=credentials or emulator_credentials(),
                                    **options))
