"""The throttle budget: one AIMD concurrency limit per client, shared by all its listings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from .errors import ThrottlingError

T = TypeVar("T")

PROBE_WINDOWS = 8


class AdaptiveLimiter:
    """A concurrency limit that halves on throttling and creeps back up on success (AIMD).

    Shared by every request of one client, so that many listings at once spend
    one budget: a throttle seen by one jar's pages slows the others too.

    One burst is one signal: the requests already in flight when the limit
    was halved were sent under the old limit, so their throttles do not halve
    it again (otherwise 16 requests against a service that takes 8 would drive
    the limit to 1), but each of them lowers the ceiling by one (not below the
    halved limit): 16 sent, 8 throttled, means 8 fit. Below the ceiling
    the limit grows by one per `recover_after` successes; above it, by one
    per PROBE_WINDOWS windows of `limit` successes, so that it settles just
    under what the service takes instead of being throttled again every few
    round trips.
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
        self._epoch = 0  # bumped by every decrease
        self.ceiling = maximum  # one below the lowest limit that was throttled

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def run(self, call: Callable[[], T]) -> T:
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait(0.25)  # timed: Ctrl-C reaches a waiting main thread at once
            self._in_flight += 1
            self.highest_in_flight = max(self.highest_in_flight, self._in_flight)
            epoch = self._epoch
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
                    if epoch == self._epoch:  # the first sign of a burst
                        self._epoch += 1
                        self.ceiling = max(1, min(self.ceiling, self.limit - 1))
                        self.limit = max(1, self.limit // 2)
                        self.lowest_limit = min(self.lowest_limit, self.limit)
                    elif epoch == self._epoch - 1:  # more of it: each one was one too many
                        self.ceiling = max(self.limit, self.ceiling - 1)
                    self._successes = 0
                else:
                    self._successes += 1
                    needed = (self._recover_after if self.limit < self.ceiling
                              else PROBE_WINDOWS * self.limit)
                    if self._successes >= needed and self.limit < self.maximum:
                        self.limit += 1
                        self._successes = 0
                self._cond.notify_all()
