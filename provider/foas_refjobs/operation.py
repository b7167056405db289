"""The service's operations, described as data: what to call, where, and how to read a page.

`paging` and the client are generic over an `Operation`; a second operation
is one more description here plus its page parser in the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Generic, Optional, Protocol, TypeVar

from .model import Job, Page

PRODUCT = "foas"
API_VERSION = "2018-11-11"


class PageLike(Protocol):
    """What paging needs to know of any page: where it is and how many there are."""

    @property
    def total_count(self) -> int: ...

    @property
    def total_page(self) -> int: ...

    @property
    def page_size(self) -> Optional[int]: ...


P = TypeVar("P", bound=PageLike)
T = TypeVar("T")


@dataclass(frozen=True)
class Operation(Generic[P, T]):
    """One paged ROA operation of the foas API.

    `path_params` name the `[placeholders]` of `uri_pattern`, in call order;
    values are encoded as one path segment each by the client.
    """

    action: str
    uri_pattern: str
    path_params: tuple[str, ...]
    parse_page: Callable[[bytes, int, int], P]  # (raw body, requested index, requested size)
    items: Callable[[P], Sequence[T]]
    item_id: Callable[[T], str]
    method: str = "GET"
    page_index_param: str = "pageIndex"
    page_size_param: str = "pageSize"
    product: str = PRODUCT
    version: str = API_VERSION


def _jobs(page: Page) -> Sequence[Job]:
    return page.jobs


GET_REF_PACKAGE_JOB: Operation[Page, Job] = Operation(
    action="GetRefPackageJob",
    uri_pattern="/api/v2/projects/[projectName]/packages/[packageName]/jobs",
    path_params=("projectName", "packageName"),
    parse_page=Page.from_body,
    items=_jobs,
    item_id=attrgetter("job_id"),
)
