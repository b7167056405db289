"""Reading every page of one listing, concurrently, and deciding whether to trust it.

Page 1 tells TotalPage; pages 2..N are then fetched by a bounded pool whose
width shrinks when the service throttles. The result is checked against the
service's own counts, and a listing that fails the check is read once more
from scratch before it is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, Optional, TypeVar

from .errors import InconsistentListingError
from .limiter import AdaptiveLimiter
from .operation import Operation, PageLike
from .retry import RetryPolicy, call_with_retries

P = TypeVar("P", bound=PageLike)
T = TypeVar("T")

DEFAULT_MAX_CONCURRENCY = 8
MAX_PAGES = 10_000
MAX_GROWTH_ROUNDS = 3

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PagingResult(Generic[T]):
    items: tuple[T, ...]
    server_total_count: int
    pages_fetched: int
    problem: Optional[str] = None
    hard_problem: bool = False


class _Attempt(Generic[P, T]):
    """One full read of all pages."""

    def __init__(self, fetch: Callable[[int], P], operation: Operation[P, T], max_concurrency: int,
                 max_pages: int, progress: Optional[Progress]) -> None:
        self.fetch = fetch
        self.operation = operation
        self.max_concurrency = max_concurrency
        self.max_pages = max_pages
        self.progress = progress
        self.pages: dict[int, P] = {}

    def _report(self, total: int) -> None:
        if self.progress is not None:
            self.progress(len(self.pages), total)

    def _fetch_range(self, indexes: range, total: int) -> None:
        if self.max_concurrency <= 1 or len(indexes) <= 1:
            for i in indexes:
                self.pages[i] = self.fetch(i)
                self._report(total)
            return
        pool = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(indexes)),
                                  thread_name_prefix="foas-page")
        interrupted = False
        try:
            futures: dict[Future[P], int] = {pool.submit(self.fetch, i): i for i in indexes}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in done:
                    self.pages[futures[fut]] = fut.result()
                    self._report(total)
        except KeyboardInterrupt:
            interrupted = True  # Ctrl-C: do not wait for the requests in flight
            raise
        finally:
            pool.shutdown(wait=not interrupted, cancel_futures=True)

    def run(self) -> PagingResult[T]:
        first = self.fetch(1)
        self.pages[1] = first
        total_page = first.total_page
        self._report(max(total_page, 1))
        rounds = 0
        fetched_to = 1
        while True:
            if total_page > self.max_pages:
                return self._hard(f"the service reports {total_page} pages, over the bound of "
                                  f"{self.max_pages}")
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
            ids = tuple(item_id(j) for j in page_items)
            if ids and ids == previous_ids:
                return self._hard(f"page {index} repeats page {index - 1}")
            previous_ids = ids
            for job in page_items:
                key = item_id(job)
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
    fetch_once: Callable[[int], P],
    operation: Operation[P, T],
    policy: RetryPolicy,
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    max_pages: int = MAX_PAGES,
    progress: Optional[Progress] = None,
    limiter: Optional[AdaptiveLimiter] = None,
) -> PagingResult[T]:
    """Every page, retried per policy; a doubtful listing is re-read once.

    Raises InconsistentListingError when the paging itself is broken (pages
    repeating, TotalPage growing, empty pages with jobs missing) twice in a
    row. A plain count mismatch twice in a row is returned with `problem` set,
    for the caller to show (list) or refuse on (deletion gates).
    """
    shared = limiter if limiter is not None else AdaptiveLimiter(max_concurrency)

    def fetch(index: int) -> P:
        return call_with_retries(lambda: shared.run(lambda: fetch_once(index)), policy)

    result = _Attempt(fetch, operation, max_concurrency, max_pages, progress).run()
    if result.problem is None:
        return result
    result = _Attempt(fetch, operation, max_concurrency, max_pages, progress).run()
    if result.hard_problem:
        raise InconsistentListingError(f"paging is inconsistent: {result.problem}")
    return result
