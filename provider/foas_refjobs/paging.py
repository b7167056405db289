"""Reading every page of one listing, concurrently, and deciding whether to trust it.

Generic over an `Operation`: page 1 tells TotalPage; pages 2..N are then
fetched by a few workers on the client's executor, each taking the next page
when done, while the client's limiter bounds how many are in flight. The result is
checked against the service's own counts, and a listing that fails the check
is read once more from scratch before it is reported.
"""

from __future__ import annotations

import gc
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Optional, TypeVar, Union

from .errors import FoasError, InconsistentListingError
from .limiter import AdaptiveLimiter
from .operation import Operation, PageLike
from .retry import RetryPolicy, call_with_retries
from .watchdog import block_interrupts_in_this_thread

P = TypeVar("P", bound=PageLike)
T = TypeVar("T")

MAX_GROWTH_ROUNDS = 3
WAKE_INTERVAL = 0.25

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PagingResult(Generic[T]):
    items: tuple[T, ...]
    server_total_count: int
    pages_fetched: int
    problem: Optional[str] = None
    hard_problem: bool = False


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic garbage collection while pages are read, then as before.

    A listing keeps every job it reads alive until it returns, so each full
    collection during it walks all of them again: at a million jobs that was a
    third of the wall time, growing faster than the listing. Reference counting
    still frees everything that is not cyclic; cycles wait until the end.
    Nested and concurrent listings share one pause.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def pages_needed(total_count: int, page_size: int) -> int:
    return -(-total_count // page_size) if page_size > 0 else 0


class _Attempt(Generic[P, T]):
    """One full read of all pages."""

    def __init__(self, fetch: Callable[[int, int], P], operation: Operation[P, T], *, page_size: int,
                 width: int, max_pages: Optional[int], progress: Optional[Progress],
                 executor: Optional[Executor], first_page: Optional[P]) -> None:
        self.fetch = fetch
        self.operation = operation
        self.page_size = page_size
        self.width = width
        self.max_pages = max_pages
        self.progress = progress
        self.executor = executor
        self.first_page = first_page
        self.pages: dict[int, P] = {}
        self.size = page_size

    def _report(self, total: int) -> None:
        if self.progress is not None:
            self.progress(len(self.pages), total)

    def _fetch_range(self, indexes: range, total: int) -> None:
        if self.width <= 1 or len(indexes) <= 1:
            for i in indexes:
                self.pages[i] = self.fetch(i, self.size)
                self._report(total)
            return
        workers = min(self.width, len(indexes))
        own = None
        executor = self.executor
        if executor is None:
            own = executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="foas-page",
                                                initializer=block_interrupts_in_this_thread)
        # A few workers each take the next page until none is left: no task, future or
        # wake-up of this thread per page (only with `progress`), and nothing queued
        # ahead of what is in flight, even for a million jobs.
        todo = iter(indexes)
        take = threading.Lock()
        stop = threading.Event()
        events: queue.SimpleQueue[Union[int, None, BaseException]] = queue.SimpleQueue()
        report = self.progress is not None
        reported = len(self.pages)  # the workers fill self.pages ahead of the reports

        def work() -> None:
            try:
                while not stop.is_set():
                    with take:
                        index = next(todo, None)
                    if index is None:
                        break
                    self.pages[index] = self.fetch(index, self.size)
                    if report:
                        events.put(index)
            except BaseException as exc:  # noqa: BLE001 - raised again in the listing's thread
                stop.set()
                events.put(exc)
            else:
                events.put(None)

        futures = [executor.submit(work) for _ in range(workers)]
        interrupted = False
        try:
            running = workers
            while running:
                # Timed, so that Ctrl-C is seen at once even when the signal lands on a
                # page thread (an untimed wait would only wake when a page completes).
                try:
                    event = events.get(timeout=WAKE_INTERVAL)
                except queue.Empty:
                    if any(f.cancelled() for f in futures) and all(f.done() for f in futures) \
                            and events.empty():
                        raise FoasError("the client was closed while the pages were being read",
                                        code="ClientClosed") from None
                    continue
                if event is None:
                    running -= 1
                elif isinstance(event, BaseException):
                    raise event
                elif self.progress is not None:
                    reported += 1
                    self.progress(reported, total)
        except KeyboardInterrupt:
            interrupted = True  # Ctrl-C: do not wait for the requests in flight
            raise
        finally:
            stop.set()
            for fut in futures:
                fut.cancel()
            if not interrupted:  # a cancelled future never finishes: wait for the running ones
                wait([fut for fut in futures if not fut.cancelled()])
            if own is not None:
                own.shutdown(wait=not interrupted, cancel_futures=True)

    def _bound_problem(self, total_page: int, total_count: int, size: int) -> Optional[str]:
        if self.max_pages is not None and total_page > self.max_pages:
            return (f"the service reports {total_page} pages, over the bound of {self.max_pages} "
                    "(max_pages)")
        implied = pages_needed(total_count, size)
        if total_page > implied:
            return (f"the service reports {total_page} pages, but TotalCount {total_count} at "
                    f"PageSize {size} fills only {implied}")
        return None

    def run(self) -> PagingResult[T]:
        first = self.first_page if self.first_page is not None else self.fetch(1, self.page_size)
        self.pages[1] = first
        # A service that answers with a smaller page than asked pages at its size: later
        # pages are asked at that size, or their offsets would skip jobs.
        size = self.size = min(self.page_size, first.page_size or self.page_size)
        total_page = first.total_page
        self._report(max(total_page, 1))
        rounds = 0
        fetched_to = 1
        while True:
            counts = max(p.total_count for p in self.pages.values())
            problem = self._bound_problem(total_page, counts, size)
            if problem is not None:
                return self._hard(problem)
            if total_page <= fetched_to:
                break
            if rounds > MAX_GROWTH_ROUNDS:
                return self._hard(f"TotalPage kept growing ({total_page} after "
                                  f"{MAX_GROWTH_ROUNDS} extra rounds)")
            self._fetch_range(range(fetched_to + 1, total_page + 1), total_page)
            fetched_to = total_page
            total_page = max(p.total_page for p in self.pages.values())
            rounds += 1
        return self._assemble()

    def _hard(self, problem: str) -> PagingResult[T]:
        return PagingResult((), 0, len(self.pages), problem, hard_problem=True)

    def _assemble(self) -> PagingResult[T]:
        ordered = sorted(self.pages.items())
        server_total = ordered[-1][1].total_count
        items_of, item_id = self.operation.items, self.operation.item_id
        seen: set[str] = set()
        jobs: list[T] = []
        previous_ids: Optional[tuple[str, ...]] = None
        for index, page in ordered:
            page_items: Sequence[T] = items_of(page)
            ids = tuple(map(item_id, page_items))
            if ids and ids == previous_ids:
                return self._hard(f"page {index} repeats page {index - 1}")
            previous_ids = ids
            fresh = set(ids)
            if len(fresh) == len(ids) and seen.isdisjoint(fresh):
                seen |= fresh
                jobs.extend(page_items)
                continue
            for job, key in zip(page_items, ids, strict=True):
                if key not in seen:
                    seen.add(key)
                    jobs.append(job)
        for index, page in ordered:
            if not items_of(page) and len(jobs) < server_total:
                return self._hard(f"page {index} is empty while only {len(jobs)} of "
                                  f"{server_total} jobs were read")
        problem = None
        counts = [page.total_count for _, page in ordered]
        if len(set(counts)) > 1:
            # Jobs were added or removed between pages: a removal shifts later jobs onto
            # pages already read, so one can be missed even when the final counts agree.
            problem = (f"TotalCount changed from {counts[0]} to {counts[-1]} while the pages "
                       "were read")
        elif len(jobs) != server_total:
            problem = f"read {len(jobs)} distinct jobs but the service reports TotalCount {server_total}"
        return PagingResult(tuple(jobs), server_total, len(self.pages), problem)


def collect_all_pages(
    fetch_once: Callable[[int, int], P],
    operation: Operation[P, T],
    policy: RetryPolicy,
    *,
    page_size: int,
    max_concurrency: int,
    max_pages: Optional[int] = None,
    progress: Optional[Progress] = None,
    limiter: Optional[AdaptiveLimiter] = None,
    executor: Optional[Executor] = None,
    first_page: Optional[P] = None,
    sleep: Optional[Callable[[float], None]] = None,
) -> PagingResult[T]:
    """Every page, retried per policy; a doubtful listing is re-read once.

    `fetch_once(index, size)` reads one page. `first_page`, when given, stands
    for page 1 of the first read (the client may already hold it). Raises
    InconsistentListingError when the paging itself is broken (pages
    repeating, TotalPage growing or beyond what TotalCount implies, empty
    pages with jobs missing) twice in a row. A plain
    count mismatch twice in a row is returned with `problem` set, for the
    caller to show (list) or refuse on (deletion gates).
    """
    shared = limiter if limiter is not None else AdaptiveLimiter(max_concurrency)

    def fetch(index: int, size: int) -> P:
        return call_with_retries(lambda: shared.run(lambda: fetch_once(index, size)), policy,
                                 sleep=sleep)

    def attempt(first: Optional[P]) -> PagingResult[T]:
        return _Attempt(fetch, operation, page_size=page_size, width=max_concurrency,
                        max_pages=max_pages, progress=progress, executor=executor,
                        first_page=first).run()

    with gc_paused():
        result = attempt(first_page)
        if result.problem is None:
            return result
        result = attempt(None)
    if result.hard_problem:
        raise InconsistentListingError(f"paging is inconsistent: {result.problem}")
    return result
