"""What a many-jar query answers: one outcome per jar, and which jars can go.

A jar is "unreferenced" only on positive evidence: its own listing completed,
was consistent and matched no job. An error, or a torn listing, is its own
verdict ("error") and never counts as unreferenced, whatever the other jars say.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Optional

from .errors import FoasError
from .model import JobList
from .paging import WAKE_INTERVAL
from .redaction import redact
from .watchdog import block_interrupts_in_this_thread

if TYPE_CHECKING:
    from .query import Query

Verdict = Literal["unreferenced", "referenced", "error"]


@dataclass(frozen=True)
class PackageOutcome:
    """One jar: its listing, or the error that stopped it."""

    package_name: str
    jobs: Optional[JobList] = None
    error: Optional[FoasError] = None

    @property
    def verdict(self) -> Verdict:
        if self.error is not None or self.jobs is None:
            return "error"
        if self.jobs.referenced:
            return "referenced"
        return "unreferenced" if self.jobs.consistent else "error"

    @property
    def detail(self) -> str:
        """One line: the error, the inconsistency, or how many jobs reference the jar."""
        if self.error is not None:
            return self.error.one_line()
        if self.jobs is None:
            return "not listed"
        if not self.jobs.consistent and not self.jobs.referenced:
            return f"InconsistentListing: {self.jobs.inconsistency}"
        return f"{self.jobs.total_count} job(s)"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"package_name": self.package_name, "verdict": self.verdict}
        if self.jobs is not None:
            out.update(total_count=self.jobs.total_count, job_ids=self.jobs.job_ids,
                       job_names=self.jobs.job_names, consistent=self.jobs.consistent)
        if self.verdict == "error":
            out["error"] = self.detail
            if self.error is not None:
                out["error_code"] = self.error.code
        return out


@dataclass(frozen=True)
class ManyJobLists:
    """Every jar of one query, in the order asked."""

    project_name: str
    outcomes: tuple[PackageOutcome, ...]

    def _named(self, verdict: Verdict) -> list[str]:
        return [o.package_name for o in self.outcomes if o.verdict == verdict]

    @property
    def unreferenced(self) -> list[str]:
        """The jars that no (matching) job references: safe to delete as of this listing."""
        return self._named("unreferenced")

    @property
    def referenced(self) -> list[str]:
        return self._named("referenced")

    @property
    def failed(self) -> list[str]:
        return self._named("error")

    @property
    def all_unreferenced(self) -> bool:
        return all(o.verdict == "unreferenced" for o in self.outcomes)

    def outcome(self, package_name: str) -> PackageOutcome:
        for o in self.outcomes:
            if o.package_name == package_name:
                return o
        raise KeyError(package_name)

    def __iter__(self) -> Iterator[PackageOutcome]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_name": self.project_name,
            "packages": [o.to_dict() for o in self.outcomes],
            "unreferenced": self.unreferenced,
            "referenced": self.referenced,
            "failed": self.failed,
        }


def list_each(query: Query, list_one: Callable[[str], JobList], *, width: int,
              progress: Optional[Callable[[int, int], None]] = None) -> ManyJobLists:
    """Each jar of `query` listed by `list_one`, `width` jars at a time, into one outcome each.

    One jar's error (even an unexpected one) is recorded for that jar and never
    makes another look unreferenced. `progress` is called with (jars done, jars asked).
    """
    names = query.package_names
    outcomes: dict[str, PackageOutcome] = {}
    lock = threading.Lock()

    def one(name: str) -> None:
        try:
            outcome = PackageOutcome(name, jobs=list_one(name))
        except FoasError as exc:
            outcome = PackageOutcome(name, error=exc)
        except Exception as exc:  # noqa: BLE001 - contained to this jar, reported as its error
            outcome = PackageOutcome(name, error=FoasError(
                f"unexpected {type(exc).__name__}: {redact(str(exc))}", code="InternalError"))
        with lock:
            outcomes[name] = outcome
            done = len(outcomes)
        if progress is not None:
            progress(done, len(names))

    if width <= 1:
        for name in names:
            one(name)
    else:
        jars = ThreadPoolExecutor(max_workers=width, thread_name_prefix="foas-jar",
                                  initializer=block_interrupts_in_this_thread)
        interrupted = False
        try:
            futures = [jars.submit(one, name) for name in names]
            while not all(f.done() for f in futures):
                wait(futures, timeout=WAKE_INTERVAL)  # timed: Ctrl-C is seen at once
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            jars.shutdown(wait=not interrupted, cancel_futures=True)
    return ManyJobLists(query.project_name, tuple(outcomes[name] for name in names))
