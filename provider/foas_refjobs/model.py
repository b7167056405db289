"""Job and JobList: the service's response, typed, with every field of the reference.

Parsing is strict about shape (a wrong shape raises MalformedResponseError, never
KeyError or an empty list) and lenient about representation (a number sent as a
string, `Jobs.Job` as one object instead of a list), because both occur in
Alibaba Cloud responses that went through XML conversion.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NoReturn, Optional

from .errors import MalformedResponseError
from .response import OBJECTS_PER_JOB, check_shape, loads_strict

if TYPE_CHECKING:
    from .job_details import PlanNode

_STRING_FIELDS = {
    "api_type": "ApiType", "cluster_id": "ClusterId", "code": "Code", "creator": "Creator",
    "description": "Description", "engine_version": "EngineVersion", "job_id": "JobId",
    "job_name": "JobName", "job_type": "JobType", "modifier": "Modifier",
    "plan_json": "PlanJson", "project_name": "ProjectName", "properties": "Properties",
    "queue_name": "QueueName",
}
_INT_TEXT = re.compile(r"-?[0-9]{1,18}")  # not "--5", "１２" or 5,000 digits (int() raises)
_INT_FIELDS = {"create_time": "CreateTime", "folder_id": "FolderId", "modify_time": "ModifyTime"}
_JOB_ID = attrgetter("job_id")


def _malformed(message: str, request_id: Optional[str] = None) -> NoReturn:
    raise MalformedResponseError(message, request_id=request_id)


def _as_int(name: str, value: Any, request_id: Optional[str] = None) -> int:
    if isinstance(value, bool):
        _malformed(f"{name} is a boolean, expected an integer", request_id)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    _malformed(f"{name} is not an integer: {str(value)[:40]!r}", request_id)


def _as_str(name: str, value: Any, request_id: Optional[str]) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    _malformed(f"{name} is a {type(value).__name__}, expected a string", request_id)


def _as_bool(name: str, value: Any, request_id: Optional[str]) -> Optional[bool]:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    _malformed(f"{name} is not a boolean: {str(value)[:40]!r}", request_id)


@dataclass(frozen=True)
class Job:
    """One job that references the package. Times are epoch milliseconds, as sent."""

    job_id: str
    job_name: Optional[str] = None
    project_name: Optional[str] = None
    job_type: Optional[str] = None
    api_type: Optional[str] = None
    is_committed: Optional[bool] = None
    packages: tuple[str, ...] = ()
    cluster_id: Optional[str] = None
    queue_name: Optional[str] = None
    engine_version: Optional[str] = None
    folder_id: Optional[int] = None
    creator: Optional[str] = None
    modifier: Optional[str] = None
    create_time: Optional[int] = None
    modify_time: Optional[int] = None
    description: Optional[str] = None
    code: Optional[str] = field(default=None, repr=False)
    plan_json: Optional[str] = field(default=None, repr=False)
    properties: Optional[str] = field(default=None, repr=False)

    @classmethod
    def from_api(cls, raw: Any, request_id: Optional[str] = None) -> Job:
        """Build from one element of `Jobs.Job` (PascalCase keys)."""
        if type(raw) is not dict and not isinstance(raw, Mapping):
            _malformed(f"a job is a {type(raw).__name__}, expected an object", request_id)
        # Values already of the right type (nearly all of them) skip the converters:
        # this runs once per job, 10,000 times for a big listing.
        get = raw.get
        # Filled directly, without the frozen __init__'s object.__setattr__ per field.
        job = object.__new__(cls)
        values: dict[str, Any] = job.__dict__
        for attr, key in _STRING_FIELDS.items():
            value = get(key)
            values[attr] = (value if value is None or type(value) is str
                            else _as_str(key, value, request_id))
        for attr, key in _INT_FIELDS.items():
            value = get(key)
            values[attr] = (value if type(value) is int
                            else None if value is None or value == ""
                            else _as_int(key, value, request_id))
        value = get("IsCommitted")
        values["is_committed"] = (value if value is None or type(value) is bool
                                  else _as_bool("IsCommitted", value, request_id))
        packages = get("Packages")
        if type(packages) is not str:
            packages = _as_str("Packages", packages, request_id)
        values["packages"] = _shared_packages(packages) if packages else ()
        if not values["job_id"]:
            _malformed("a job has no JobId", request_id)
        return job

    def to_dict(self) -> dict[str, Any]:
        """snake_case, every field, packages as a list: the CLI's and Pulumi's JSON shape."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["packages"] = list(self.packages)
        return dict(sorted(out.items()))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        """Inverse of to_dict, for values read back from Pulumi state (numbers come back as floats)."""
        values = {f.name: data.get(f.name) for f in fields(cls)}
        values["packages"] = tuple(values["packages"] or ())
        for attr in _INT_FIELDS:
            if values[attr] is not None:
                values[attr] = _as_int(attr, values[attr])
        return cls(**values)  # type: ignore[arg-type]

    def plan_nodes(self) -> tuple[PlanNode, ...]:
        """The deployed execution plan's nodes; empty when the job has no plan yet."""
        from .job_details import plan_nodes

        return plan_nodes(self.job_id, self.plan_json)

    def properties_dict(self) -> dict[str, str]:
        """`key=value` lines of the job's run properties; comments and blank lines skipped."""
        from .job_details import parse_properties

        return parse_properties(self.properties)


@lru_cache(maxsize=256)
def _shared_packages(value: str) -> tuple[str, ...]:
    """split_packages, one tuple per distinct value: thousands of jobs list the same jars,
    and a fresh tuple per job would also wake the garbage collector more often."""
    return split_packages(value)


def split_packages(value: Optional[str]) -> tuple[str, ...]:
    if not value:
        return ()
    if "," not in value:  # the common case: a job that uses one jar
        value = value.strip()
        return (value,) if value else ()
    return tuple(p.strip() for p in value.split(",") if p.strip())


@dataclass(frozen=True)
class Page:
    """One response of GetRefPackageJob, as the paginator needs it."""

    page_index: int
    page_size: Optional[int]
    total_count: int
    total_page: int
    jobs: tuple[Job, ...]
    request_id: Optional[str]

    @classmethod
    def from_body(cls, body: bytes, requested_index: int, requested_size: int) -> Page:
        """A page from the raw response, held to the rules in `response`.

        A page with more jobs than were asked for is malformed: kept, it would let
        one response grow the listing's memory without bound.
        """
        data = loads_strict(body, max_objects=(requested_size + 2) * OBJECTS_PER_JOB)
        check_shape(data)
        page = cls.from_api(data, requested_index)
        rid = page.request_id
        if len(page.jobs) > requested_size:
            _malformed(f"page {requested_index} holds {len(page.jobs)} jobs, more than the "
                       f"{requested_size} requested", rid)
        return page

    @classmethod
    def from_api(cls, body: Any, requested_index: int) -> Page:
        if not isinstance(body, Mapping):
            _malformed(f"response body is a {type(body).__name__}, expected an object")
        rid = body.get("RequestId")
        request_id = rid if isinstance(rid, str) and rid else None
        total_count = _required_count(body, "TotalCount", request_id)
        jobs_raw = body.get("Jobs")
        if jobs_raw in (None, "", [], {}):
            items: list[Any] = []
        elif isinstance(jobs_raw, list):
            items = jobs_raw
        elif isinstance(jobs_raw, Mapping):
            inner = jobs_raw.get("Job")
            if inner in (None, "", []):
                items = []
            elif isinstance(inner, list):
                items = inner
            elif isinstance(inner, Mapping):
                items = [inner]
            else:
                _malformed(f"Jobs.Job is a {type(inner).__name__}, expected a list", request_id)
        else:
            _malformed(f"Jobs is a {type(jobs_raw).__name__}, expected an object", request_id)
        from_api = Job.from_api
        jobs = tuple([from_api(item, request_id) for item in items])
        page_size = body.get("PageSize")
        size = None if page_size in (None, "") else _as_int("PageSize", page_size, request_id)
        if "TotalPage" in body and body["TotalPage"] not in (None, ""):
            total_page = _required_count(body, "TotalPage", request_id)
        elif size:
            total_page = -(-total_count // size)
        else:
            _malformed("response has neither TotalPage nor PageSize", request_id)
        index = body.get("PageIndex")
        page_index = requested_index if index in (None, "") else _as_int("PageIndex", index, request_id)
        return cls(page_index, size, total_count, total_page, jobs, request_id)


def _required_count(body: Mapping[str, Any], key: str, request_id: Optional[str]) -> int:
    if key not in body or body[key] in (None, ""):
        _malformed(f"response has no {key}", request_id)
    value = _as_int(key, body[key], request_id)
    if value < 0:
        _malformed(f"{key} is negative: {value}", request_id)
    return value


@dataclass(frozen=True)
class JobList:
    """Every job referencing one package, in server order, de-duplicated by JobId.

    `total_count` counts the jobs in this list (after the job_type/committed
    filters); `server_total_count` is what the service last reported.
    `consistent` is False when the pages disagreed with TotalCount even after a
    fresh re-list, or when an empty result of several pages could not be
    confirmed by a second listing with the same JobIds (`confirmations` counts
    those extra listings): fine to display, never to gate a deletion on. A
    non-empty result is not re-read: a job that moved between pages may be
    missing from `jobs`, but `referenced` is certain.
    """

    project_name: str
    package_name: str
    jobs: tuple[Job, ...]
    server_total_count: Optional[int] = None
    consistent: bool = True
    inconsistency: Optional[str] = None
    pages_fetched: int = 0
    confirmations: int = 0

    @property
    def total_count(self) -> int:
        return len(self.jobs)

    @property
    def job_ids(self) -> list[str]:
        return list(map(_JOB_ID, self.jobs))

    @property
    def job_names(self) -> list[str]:
        return [j.job_name or "" for j in self.jobs]

    @property
    def referenced(self) -> bool:
        return bool(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def require_consistent(self) -> JobList:
        """Raise unless the listing is trustworthy enough to gate a deletion on."""
        if not self.consistent:
            from .errors import InconsistentListingError

            raise InconsistentListingError(
                f"listing of {self.project_name}/{self.package_name} is inconsistent: "
                f"{self.inconsistency}; refusing to decide"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_name": self.project_name,
            "package_name": self.package_name,
            "total_count": self.total_count,
            "jobs": [j.to_dict() for j in self.jobs],
        }

    def summary(self) -> dict[str, Any]:
        """to_dict() plus the derived values Pulumi outputs and function results expose."""
        return {
            **self.to_dict(),
            "referenced": self.referenced,
            "job_ids": self.job_ids,
            "job_names": self.job_names,
            "consistent": self.consistent,
        }
