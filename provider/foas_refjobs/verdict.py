"""From pages to a verdict: which jobs a filter keeps, and when a listing must be read twice.

Filters are fail-closed. A job is left out only when its value is known not to
match: `IsCommitted` exactly false for `committed_only`, a `JobType` that is
exactly one of the documented types and a different one for `job_type`. A
missing, null, lower-case, padded or unheard-of value keeps the job, so a gate
blocks on a job it cannot classify.

Offset paging can tear: a job deleted from a page already read shifts a later
job onto it, and a job created at the same time keeps every count equal, so
the listing looks consistent while missing a job. That only changes a verdict
when the filtered result is empty (a missed job can turn "referenced" into
"unreferenced", never the reverse), and only a listing of two or more pages can
tear. Exactly then the listing is read again and the JobId sets must agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Optional

from .model import Job, JobList
from .paging import PagingResult
from .query import Query

MAX_CONFIRMATIONS = 2


def filter_description(job_type: Optional[str], committed_only: bool) -> Optional[str]:
    """The filter in words, for the "unreferenced" line; None when there is none."""
    parts = []
    if committed_only:
        parts.append("committed (IsCommitted true or unknown)")
    if job_type is not None:
        parts.append(f"JobType {job_type} (or unknown)")
    return " and ".join(parts) if parts else None


def _ids(jobs: Iterable[Job]) -> frozenset[str]:
    return frozenset(j.job_id for j in jobs)


def job_list(collect: Callable[[], PagingResult[Job]], project_name: str, package_name: str,
             query: Query) -> JobList:
    """The filtered JobList, confirmed by a second listing where the verdict depends on it."""
    result = collect()
    jobs = query.keep(result.items)
    problem = result.problem
    confirmations = 0
    while problem is None and not jobs and result.pages_fetched > 1:
        if confirmations == MAX_CONFIRMATIONS:
            problem = (f"the set of jobs changed between each of {MAX_CONFIRMATIONS + 1} "
                       "consecutive listings; a job may have moved between pages")
            break
        confirmations += 1
        again = collect()
        same = again.problem is None and _ids(again.items) == _ids(result.items)
        result = again
        jobs = query.keep(result.items)
        problem = result.problem
        if same:
            break
    return JobList(
        project_name=project_name,
        package_name=package_name,
        jobs=jobs,
        server_total_count=result.server_total_count,
        consistent=problem is None,
        inconsistency=problem,
        pages_fetched=result.pages_fetched,
        confirmations=confirmations,
    )
