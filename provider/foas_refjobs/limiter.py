"""The throttle budget: one AIMD concurrency limit per client, shared by all its listings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from .errors import ThrottlingError

T = TypeVar("T")


class AdaptiveLimiter:
    """A concurrency limit that halves on throttling and creeps back up on success (AIMD).

    Shared by every request of one client, so that many listings at once spend
    one budget: a throttle seen by one jar's pages slows the others too.
    """

    def __init__(self, maximum: int, recover_after: int = 4) -> None:
        self.maximum = maximum
        self.limit = maximum
        self._in_flight = 0
        self._successes = 0
        self._recover_after = recover_after
        self._cond = threading.Condition()
        self.throttle_events = 0
        self.lowest_limit = maximum
        self.highest_in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def run(self, call: Callable[[], T]) -> T:
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait(0.25)  # timed: Ctrl-C reaches a waiting main thread at once
            self._in_flight += 1
            self.highest_in_flight = max(self.highest_in_flight, self._in_flight)
        throttled = False
        try:
            return call()
        except ThrottlingError:
            throttled = True
            raise
        finally:
            with self._cond:
                self._in_flight -= 1
                if throttled:
                    self.throttle_events += 1
                    self.limit = max(1, self.limit // 2)
                    self.lowest_limit = min(self.lowest_limit, self.limit)
                    self._successes = 0
                else:
                    self._successes += 1
                    if self._successes >= self._recover_after and self.limit < self.maximum:
                        self.limit += 1
                        self._successes = 0
                self._cond.notify_all()
