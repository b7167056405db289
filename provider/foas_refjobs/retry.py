"""The retry policy, in one place: what is retried, how often, how long to wait."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional, TypeVar

from .errors import NEVER_RETRIED_CODES, RETRYABLE_ERRORS, FoasError, InvalidInputError, ThrottlingError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter (spreads retries of concurrent pages).

    Only throttling, 5xx and network faults are retried: a 4xx about
    parameters or permissions fails the same way however often it is sent.
    """

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    throttle_base_delay: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise InvalidInputError("max_attempts must be an integer")
        if not 1 <= self.max_attempts <= 20:
            raise InvalidInputError(f"max_attempts must be 1..20, got {self.max_attempts}")

    def is_retryable(self, error: BaseException) -> bool:
        return isinstance(error, RETRYABLE_ERRORS) and error.code not in NEVER_RETRIED_CODES

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """`attempt` is 1 for the first try."""
        return attempt < self.max_attempts and self.is_retryable(error)

    def delay(self, error: BaseException, attempt: int, rng: random.Random | None = None) -> float:
        base = self.throttle_base_delay if isinstance(error, ThrottlingError) else self.base_delay
        ceiling = min(self.max_delay, base * (2 ** (attempt - 1)))
        return (rng or random).uniform(ceiling / 2, ceiling)



def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Optional[Callable[[float], None]] = None,
    on_retry: Optional[Callable[[BaseException, int, float], None]] = None,
) -> T:
    """Run `call` until it succeeds, fails with a non-retryable error, or attempts run out.

    `sleep` (default time.sleep) is injectable so that tests run on fake time.
    """
    attempt = 1
    while True:
        try:
            return call()
        except FoasError as error:
            if not policy.should_retry(error, attempt):
                raise
            wait = policy.delay(error, attempt)
            if on_retry is not None:
                on_retry(error, attempt, wait)
            (sleep or time.sleep)(wait)
            attempt += 1
