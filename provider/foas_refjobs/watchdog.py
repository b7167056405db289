"""One process-wide thread that runs actions at their deadlines (shuts a stalled socket).

A thread per response (threading.Timer) cost more client CPU than parsing the
page, so every response of every client shares this one, which lives while
responses are being read and for `idle` seconds after the last one.
"""

from __future__ import annotations

import heapq
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Clock = Callable[[], float]


def block_interrupts_in_this_thread() -> None:
    """Every thread of ours but the main one runs this first.

    Ctrl-C (SIGINT) is then always delivered to the main thread. Caught by
    another thread, CPython (3.11) sets its flag but may not wake the main
    thread to act on it, and the command would wait for requests in flight.
    """
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


class Watchdog:
    """Runs scheduled actions at their deadline unless cancelled first.

    `clock` is injectable for tests; it must be monotonic and in seconds.
    """

    def __init__(self, idle: float = 2.0, poll: float = 1.0, clock: Clock = time.monotonic) -> None:
        self._idle = idle
        self._poll = poll
        self._clock = clock
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # the thread does not survive a fork

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[list[Any]] = []  # [when, sequence, action or None]
        self._sequence = 0
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def schedule(self, when: float, action: Callable[[], None]) -> list[Any]:
        with self._cond:
            self._sequence += 1
            entry = [when, self._sequence, action]
            heapq.heappush(self._heap, entry)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="foas-deadline-watchdog",
                                 daemon=True).start()
            elif self._heap[0] is entry:
                self._cond.notify()
            return entry

    def cancel(self, entry: list[Any]) -> None:
        with self._cond:
            entry[2] = None

    def wake(self) -> None:
        """Re-check deadlines now (a test that moved its fake clock calls this)."""
        with self._cond:
            self._cond.notify()

    def _run(self) -> None:
        block_interrupts_in_this_thread()
        clock = self._clock
        last_active = clock()
        with self._cond:
            try:
                while True:
                    now = clock()
                    while self._heap and (self._heap[0][2] is None or self._heap[0][0] <= now):
                        action = heapq.heappop(self._heap)[2]
                        if action is not None:
                            self._cond.release()
                            try:
                                action()
                            except OSError as exc:  # e.g. a socket the peer already closed
                                log.debug("deadline watchdog: %s", exc)
                            finally:
                                self._cond.acquire()
                            now = clock()
                    if self._heap:
                        last_active = now
                    elif now - last_active >= self._idle:
                        return
                    wait = self._heap[0][0] - now if self._heap else self._idle
                    self._cond.wait(min(max(wait, 0.0), self._poll))
            finally:  # the next schedule() starts a new thread, even after an error here
                self._running = False


WATCHDOG = Watchdog()
