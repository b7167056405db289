"""What is asked: one validated query (project, jars, filters, page size), and the filter itself.

Validated once, where the question enters (CLI arguments, a Pulumi input, a
library call), so a typo fails in microseconds with a one-line message before
any credential is looked up. Filtering lives here too: the service cannot
filter by job type or commit state, so the listing is filtered after paging.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NoReturn, Optional

from .errors import InvalidInputError
from .model import Job

MAX_NAME_LENGTH = 255
MIN_PAGE_SIZE = 1
MAX_PAGE_SIZE = 100
JOB_TYPES = ("FLINK_STREAM", "FLINK_BATCH")
MAX_PACKAGES = 1000
_KNOWN_TYPES = frozenset(JOB_TYPES)


def _invalid(message: str) -> NoReturn:
    raise InvalidInputError(message)


def validate_name(kind: str, value: object) -> str:
    """Return the name unchanged, or raise: it goes into the URL path as one segment."""
    if not isinstance(value, str):
        _invalid(f"{kind} must be a string, got {type(value).__name__}")
    if not value.strip():
        _invalid(f"{kind} must not be empty or whitespace")
    if len(value) > MAX_NAME_LENGTH:
        _invalid(f"{kind} is {len(value)} characters long; the limit is {MAX_NAME_LENGTH}")
    if value in (".", ".."):
        _invalid(f"{kind} {value!r} is a dot segment and cannot name a {kind.split('_')[0]}")
    for ch in value:
        if "\udc80" <= ch <= "\udcff":
            # How Python hands over a byte that the locale could not decode (PEP 383).
            _invalid(f"{kind} contains the undecodable byte 0x{ord(ch) - 0xDC00:02X}: the command line "
                     "or environment is not valid in the locale's encoding (use a UTF-8 locale, "
                     "e.g. LC_ALL=C.UTF-8)")
        if unicodedata.category(ch) == "Cs":
            _invalid(f"{kind} contains the unpaired surrogate U+{ord(ch):04X}, which is not text")
        if unicodedata.category(ch) == "Cc":
            _invalid(f"{kind} contains the control character U+{ord(ch):04X}")
    return value


def validate_page_size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _invalid(f"page_size must be an integer, got {value!r}")
    if not MIN_PAGE_SIZE <= value <= MAX_PAGE_SIZE:
        _invalid(f"page_size must be between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}, got {value}")
    return value


def validate_job_type(value: object) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in JOB_TYPES:
        _invalid(f"job_type must be one of {', '.join(JOB_TYPES)}, got {value!r}")
    return value.upper()


def validate_bool(kind: str, value: object) -> bool:
    """Only True/False: bool("false") is True, so a string here is refused, not coerced."""
    if not isinstance(value, bool):
        _invalid(f"{kind} must be a boolean, got {value!r}")
    return value


def validate_packages(value: object) -> tuple[str, ...]:
    """One name or several; duplicates dropped (first wins), order kept."""
    names: Iterable[object]
    if isinstance(value, str):
        names = (value,)
    elif isinstance(value, (list, tuple)):
        names = value
    else:
        _invalid(f"package_names must be a list of names, got {type(value).__name__}")
    result = tuple(dict.fromkeys(validate_name("package_name", n) for n in names))
    if not result:
        _invalid("give at least one package name")
    if len(result) > MAX_PACKAGES:
        _invalid(f"{len(result)} package names; the limit is {MAX_PACKAGES} per query")
    return result


@dataclass(frozen=True)
class Query:
    """Which jobs: those of `project_name` referencing any of `package_names`, filtered.

    `page_size` None lets the client use the largest page size the service
    accepts (found at run time and remembered per client).
    """

    project_name: str
    package_names: tuple[str, ...]
    job_type: Optional[str] = None
    committed_only: bool = False
    page_size: Optional[int] = None

    def __post_init__(self) -> None:
        validate_name("project_name", self.project_name)
        object.__setattr__(self, "package_names", validate_packages(self.package_names))
        object.__setattr__(self, "job_type", validate_job_type(self.job_type))
        validate_bool("committed_only", self.committed_only)
        if self.page_size is not None:
            validate_page_size(self.page_size)

    @classmethod
    def one(cls, project_name: str, package_name: str, *, job_type: Optional[str] = None,
            committed_only: bool = False, page_size: Optional[int] = None) -> Query:
        """The common case: one jar (a package name is never split or de-duplicated)."""
        validate_name("package_name", package_name)
        return cls(project_name, (package_name,), job_type, committed_only, page_size)

    @property
    def package_name(self) -> str:
        """The jar of a one-jar query."""
        if len(self.package_names) != 1:
            _invalid(f"this query names {len(self.package_names)} packages, not one")
        return self.package_names[0]

    def for_package(self, package_name: str) -> Query:
        return replace(self, package_names=(package_name,))

    def matches(self, job: Job) -> bool:
        """Fail closed: False only when the job's own values show it does not match.

        A missing, null, lower-case, padded or unheard-of IsCommitted or
        JobType keeps the job, so a gate blocks on a job it cannot classify.
        """
        if self.committed_only and job.is_committed is False:
            return False
        return not (self.job_type is not None and job.job_type in _KNOWN_TYPES
                    and job.job_type != self.job_type)

    def keep(self, jobs: Iterable[Job]) -> tuple[Job, ...]:
        """The jobs `matches` keeps, in order; a query without a filter keeps all of them
        without asking each one."""
        if not self.committed_only and self.job_type is None:
            return tuple(jobs)
        return tuple(j for j in jobs if self.matches(j))


def _optional_job_type(value: Any) -> Optional[str]:
    return None if value == "" else validate_job_type(value)


# Per input, how a front end (Pulumi inputs) validates and normalises it: the same rules as Query.
FIELD_VALIDATORS: Mapping[str, Callable[[Any], Any]] = {
    "project_name": lambda value: validate_name("project_name", value),
    "package_name": lambda value: validate_name("package_name", value),
    "package_names": validate_packages,
    "job_type": _optional_job_type,
    "committed_only": lambda value: validate_bool("committed_only", value),
    "page_size": validate_page_size,
}
