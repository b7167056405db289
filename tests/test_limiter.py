"""The throttle budget on its own: AIMD with one decrease per burst and a learned ceiling."""

from __future__ import annotations

import threading

import pytest

from foas_refjobs import ThrottlingError
from foas_refjobs.limiter import PROBE_WINDOWS, AdaptiveLimiter


def ok() -> str:
    return "ok"


def throttled() -> str:
    raise ThrottlingError("slow down")


def test_successes_below_the_ceiling_raise_the_limit_every_few_calls() -> None:
    limiter = AdaptiveLimiter(8, recover_after=4)
    limiter.limit = 2
    for _ in range(4):
        limiter.run(ok)
    assert limiter.limit == 3


def test_one_burst_halves_once_and_teaches_the_ceiling() -> None:
    """16 requests sent under one limit, 8 throttled: one halving, and 8 is what fits."""
    limiter = AdaptiveLimiter(16)
    started = threading.Barrier(17)
    throttle_now = threading.Event()
    succeed_now = threading.Event()
    outcomes: list[str] = []

    def call(fail: bool) -> str:
        started.wait(30)
        if fail:
            throttle_now.wait(30)
            raise ThrottlingError("429")
        succeed_now.wait(30)
        return "ok"

    def worker(fail: bool) -> None:
        try:
            outcomes.append(limiter.run(lambda: call(fail)))
        except ThrottlingError:
            outcomes.append("throttled")

    threads = [threading.Thread(target=worker, args=(i >= 8,)) for i in range(16)]
    for t in threads:
        t.start()
    started.wait(30)  # all 16 in flight under the first limit
    throttle_now.set()
    while outcomes.count("throttled") < 8:
        threading.Event().wait(0.01)
    succeed_now.set()
    for t in threads:
        t.join(30)
    assert outcomes.count("throttled") == 8 and outcomes.count("ok") == 8
    assert limiter.throttle_events == 8
    assert limiter.lowest_limit == 8  # halved once, not to 1
    assert limiter.ceiling == 8 and limiter.limit == 8  # and no probing above it yet


def test_above_the_ceiling_the_limit_probes_slowly() -> None:
    limiter = AdaptiveLimiter(16, recover_after=4)
    with pytest.raises(ThrottlingError):
        limiter.run(throttled)  # 16 -> 8, ceiling 15
    limiter.ceiling = 8
    for _ in range(PROBE_WINDOWS * 8 - 1):
        limiter.run(ok)
    assert limiter.limit == 8
    limiter.run(ok)
    assert limiter.limit == 9


def test_never_more_in_flight_than_the_limit() -> None:
    limiter = AdaptiveLimiter(3)
    gate = threading.Event()
    threads = [threading.Thread(target=limiter.run, args=(lambda: gate.wait(5),)) for _ in range(10)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert limiter.highest_in_flight == 3 and limiter.in_flight == 0


def test_gc_pause_is_shared_restored_and_respects_a_disabled_gc() -> None:
    import gc

    from foas_refjobs.paging import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # a second listing at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # the caller's choice stays
    finally:
        gc.enable()
