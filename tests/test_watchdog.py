"""The process-wide deadline watchdog behind the whole-response deadline (watchdog.Watchdog)."""

from __future__ import annotations

import threading
import time

from foas_refjobs.watchdog import Watchdog as _Watchdog


def _watchdog_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "foas-deadline-watchdog"}


def _wait_until(condition, within: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    until = time.monotonic() + within
    while not condition():
        if time.monotonic() > until:
            return False
        time.sleep(0.01)
    return True


def test_runs_due_actions_in_deadline_order_and_skips_cancelled_ones() -> None:
    dog = _Watchdog(idle=0.2, poll=0.05)
    fired: list[str] = []
    now = time.monotonic()
    dog.schedule(now + 0.20, lambda: fired.append("late"))
    cancelled = dog.schedule(now + 0.05, lambda: fired.append("cancelled"))
    dog.schedule(now + 0.10, lambda: fired.append("early"))
    dog.cancel(cancelled)
    assert _wait_until(lambda: len(fired) == 2)
    time.sleep(0.1)
    assert fired == ["early", "late"]


def test_an_earlier_deadline_scheduled_later_is_not_delayed() -> None:
    dog = _Watchdog(idle=0.2, poll=10.0)  # only a notify can wake it before 10 s
    fired = threading.Event()
    dog.schedule(time.monotonic() + 30, lambda: None)
    started = time.monotonic()
    dog.schedule(time.monotonic() + 0.05, fired.set)
    assert fired.wait(5)
    assert time.monotonic() - started < 2


def test_thread_ends_when_idle_and_restarts_on_demand() -> None:
    dog = _Watchdog(idle=0.1, poll=0.02)
    before = _watchdog_threads()  # the client's own watchdog may come and go meanwhile
    entries = [dog.schedule(time.monotonic() + 60, lambda: None) for _ in range(100)]
    mine = _watchdog_threads() - before
    assert len(mine) == 1  # one thread, however many responses
    for entry in entries:
        dog.cancel(entry)
    assert _wait_until(lambda: not any(t.is_alive() for t in mine))
    fired = threading.Event()
    dog.schedule(time.monotonic(), fired.set)
    assert fired.wait(5)
    assert _wait_until(lambda: not dog.running)


def test_an_action_that_raises_does_not_disable_the_watchdog() -> None:
    dog = _Watchdog(idle=0.1, poll=0.02)

    def boom() -> None:
        raise OSError("socket already gone")

    dog.schedule(time.monotonic(), boom)
    fired = threading.Event()
    dog.schedule(time.monotonic() + 0.05, fired.set)
    assert fired.wait(5)


def test_deadlines_follow_the_injected_clock_not_the_wall_clock() -> None:
    """On fake time: nothing fires until the fake clock passes the deadline."""
    now = [1000.0]
    dog = _Watchdog(idle=60, poll=0.01, clock=lambda: now[0])
    fired = threading.Event()
    dog.schedule(1005.0, fired.set)
    assert not fired.wait(0.2)  # real time passes, fake time does not
    now[0] = 1005.0
    dog.wake()
    assert fired.wait(5)
    now[0] += 61  # idle for longer than `idle` on the fake clock: the thread ends
    dog.wake()
    assert _wait_until(lambda: not dog.running)
