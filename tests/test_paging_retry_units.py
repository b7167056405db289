"""Paging and retry on their own: fake pages, fake time, no server."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional

import pytest

from foas_refjobs import (
    FoasError,
    InconsistentListingError,
    NetworkError,
    ParameterError,
    RetryPolicy,
    ThrottlingError,
)
from foas_refjobs.operation import Operation
from foas_refjobs.paging import collect_all_pages, pages_needed
from foas_refjobs.retry import call_with_retries


@dataclass(frozen=True)
class FakePage:
    """Not the model's Page: paging must need nothing but these fields."""

    total_count: int
    total_page: int
    page_size: Optional[int]
    names: tuple[str, ...]


def parse(body: bytes, index: int, size: int) -> FakePage:
    raise AssertionError("paging never parses")


OP: Operation[FakePage, str] = Operation(
    action="ListThings", uri_pattern="/things", path_params=(), parse_page=parse,
    items=lambda page: page.names, item_id=lambda name: name)
NO_RETRY = RetryPolicy(max_attempts=1)


def server(names: list[str], *, reported_total_page: Optional[int] = None, max_size: int = 1000):
    calls: list[tuple[int, int]] = []
    lock = threading.Lock()

    def fetch(index: int, size: int) -> FakePage:
        with lock:
            calls.append((index, size))
        size = min(size, max_size)
        window = tuple(names[(index - 1) * size:index * size])
        total_page = (reported_total_page if reported_total_page is not None
                      else pages_needed(len(names), size))
        return FakePage(len(names), total_page, size, window)

    return fetch, calls


@pytest.mark.parametrize("width", [1, 4])
def test_every_page_once_in_order_whatever_the_width(width: int) -> None:
    names = [f"n{i}" for i in range(23)]
    fetch, calls = server(names)
    result = collect_all_pages(fetch, OP, NO_RETRY, page_size=5, max_concurrency=width)
    assert list(result.items) == names and result.problem is None
    assert sorted(calls) == [(i, 5) for i in range(1, 6)] and result.pages_fetched == 5


def test_a_smaller_answered_page_size_is_followed() -> None:
    names = [f"n{i}" for i in range(23)]
    fetch, calls = server(names, max_size=4)
    result = collect_all_pages(fetch, OP, NO_RETRY, page_size=10, max_concurrency=1)
    assert list(result.items) == names
    assert calls == [(1, 10), *((i, 4) for i in range(2, 7))]


def test_the_page_cap_comes_from_total_count_and_page_size() -> None:
    """TotalPage beyond what TotalCount fills is refused before a page beyond it is asked."""
    fetch, calls = server([f"n{i}" for i in range(12)], reported_total_page=1_000_000)
    with pytest.raises(InconsistentListingError) as info:
        collect_all_pages(fetch, OP, NO_RETRY, page_size=5, max_concurrency=4)
    assert "TotalCount 12 at PageSize 5 fills only 3" in str(info.value)
    assert calls == [(1, 5), (1, 5)]  # page 1 of each of the two reads


def test_max_pages_is_named_when_it_is_the_limit() -> None:
    fetch, _ = server([f"n{i}" for i in range(30)])
    with pytest.raises(InconsistentListingError) as info:
        collect_all_pages(fetch, OP, NO_RETRY, page_size=5, max_concurrency=2, max_pages=4)
    assert "6 pages, over the bound of 4 (max_pages)" in str(info.value)


def test_a_long_listing_never_has_more_pages_in_flight_than_its_width() -> None:
    names = [f"n{i}" for i in range(2000)]
    in_flight = [0]
    peak = [0]
    lock = threading.Lock()
    fetch, _ = server(names)

    def counting(index: int, size: int) -> FakePage:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            return fetch(index, size)
        finally:
            with lock:
                in_flight[0] -= 1

    result = collect_all_pages(counting, OP, NO_RETRY, page_size=2, max_concurrency=3)
    assert len(result.items) == 2000 and peak[0] <= 3


class CountingExecutor(ThreadPoolExecutor):
    """A shared executor like the client's, counting the tasks a listing gives it."""

    def __init__(self, workers: int) -> None:
        super().__init__(max_workers=workers)
        self.tasks = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.tasks += 1
        return super().submit(*args, **kwargs)


def test_a_listing_gives_the_executor_a_task_per_worker_not_per_page() -> None:
    names = [f"n{i}" for i in range(500)]
    fetch, calls = server(names)
    with CountingExecutor(8) as executor:
        result = collect_all_pages(fetch, OP, NO_RETRY, page_size=5, max_concurrency=4,
                                   executor=executor)
    assert list(result.items) == names and len(calls) == 100
    assert executor.tasks == 4


def test_progress_is_reported_once_per_page_from_the_listing_thread() -> None:
    fetch, _ = server([f"n{i}" for i in range(60)])
    seen: list[tuple[int, int, str]] = []
    collect_all_pages(fetch, OP, NO_RETRY, page_size=5, max_concurrency=4,
                      progress=lambda done, total: seen.append(
                          (done, total, threading.current_thread().name)))
    assert [done for done, _, _ in seen] == list(range(1, 13))
    assert {total for _, total, _ in seen} == {12}
    assert {name for _, _, name in seen} == {threading.current_thread().name}


def test_a_failed_page_stops_the_workers_from_taking_more() -> None:
    names = [f"n{i}" for i in range(1000)]
    fetch, calls = server(names)

    def failing(index: int, size: int) -> FakePage:
        if index == 5:
            raise ParameterError("page 5 is refused", code="InvalidParameter")
        return fetch(index, size)

    with pytest.raises(ParameterError, match="page 5"):
        collect_all_pages(failing, OP, NO_RETRY, page_size=2, max_concurrency=3)
    assert len(calls) < 50  # of 500 pages: the others stopped at the failure


def test_workers_cancelled_by_a_closed_executor_end_the_listing_instead_of_hanging() -> None:
    names = [f"n{i}" for i in range(40)]
    fetch, _ = server(names)
    executor = ThreadPoolExecutor(max_workers=1)
    gate = threading.Event()
    executor.submit(gate.wait, 10)  # the only thread is busy: the listing's workers queue
    closer = threading.Timer(0.3, lambda: (executor.shutdown(wait=False, cancel_futures=True),
                                           gate.set()))
    closer.start()
    try:
        with pytest.raises(FoasError, match="closed while the pages were being read"):
            collect_all_pages(fetch, OP, NO_RETRY, page_size=5, max_concurrency=4,
                              executor=executor)
    finally:
        closer.join()
        gate.set()


# --- retry, on fake time ---------------------------------------------------------------------


def test_retries_only_what_may_succeed_and_sleeps_per_policy() -> None:
    slept: list[float] = []
    failures = [ThrottlingError("429"), NetworkError("reset")]

    def flaky() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    policy = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=5.0, throttle_base_delay=0.5)
    assert call_with_retries(flaky, policy, sleep=slept.append) == "done"
    assert len(slept) == 2
    assert 0.25 <= slept[0] <= 0.5  # throttling: its own, longer base, full jitter over the upper half
    assert 0.2 <= slept[1] <= 0.4  # second attempt: base 0.2 doubled, jittered


def test_a_parameter_error_is_never_retried() -> None:
    slept: list[float] = []
    calls = [0]

    def refused() -> str:
        calls[0] += 1
        raise ParameterError("bad pageSize")

    with pytest.raises(ParameterError):
        call_with_retries(refused, RetryPolicy(max_attempts=5), sleep=slept.append)
    assert calls == [1] and slept == []


def test_attempts_are_bounded_and_delays_capped() -> None:
    slept: list[float] = []

    def down() -> str:
        raise NetworkError("down")

    policy = RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=2.0)
    with pytest.raises(NetworkError):
        call_with_retries(down, policy, sleep=slept.append)
    assert len(slept) == 5 and max(slept) <= 2.0


def test_delay_is_reproducible_with_an_injected_random() -> None:
    policy = RetryPolicy()
    error = NetworkError("x")
    assert policy.delay(error, 3, random.Random(1)) == policy.delay(error, 3, random.Random(1))
