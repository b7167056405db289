"""Which Realtime Compute (foas) jobs reference this jar, or these jars?

The client, model and errors import without Pulumi, so the CLI starts fast;
the Pulumi pieces, the many-jar results and the plan's types are loaded on first use, and are
still visible to type checkers and to dir().
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # before the imports: the transport names it in its User-Agent

from .client import FoasClient, list_ref_package_jobs
from .errors import (
    AuthError,
    CredentialsNotFoundError,
    DeadlineExceededError,
    FoasError,
    InconsistentListingError,
    InvalidInputError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    ParameterError,
    ServerError,
    ThrottlingError,
)
from .model import Job, JobList
from .options import ClientOptions
from .query import Query
from .retry import RetryPolicy
from .settings import Credentials

if TYPE_CHECKING:
    from .functions import (
        AwaitableGetPackageVerdictsResult,
        AwaitableGetRefPackageJobsResult,
        GetPackageVerdictsResult,
        GetRefPackageJobsResult,
        get_package_verdicts,
        get_package_verdicts_output,
        get_ref_package_jobs,
        get_ref_package_jobs_output,
    )
    from .job_details import PlanEdge, PlanNode
    from .resources import (
        PackageDeletionGuard,
        PackageDeletionGuardProvider,
        RefPackageJobs,
        RefPackageJobsProvider,
    )
    from .results import ManyJobLists, PackageOutcome

_LAZY_EXPORTS = {
    "PlanEdge": "job_details",
    "PlanNode": "job_details",
    "ManyJobLists": "results",
    "PackageOutcome": "results",
    "RefPackageJobs": "resources",
    "RefPackageJobsProvider": "resources",
    "PackageDeletionGuard": "resources",
    "PackageDeletionGuardProvider": "resources",
    "get_ref_package_jobs": "functions",
    "get_ref_package_jobs_output": "functions",
    "GetRefPackageJobsResult": "functions",
    "AwaitableGetRefPackageJobsResult": "functions",
    "get_package_verdicts": "functions",
    "get_package_verdicts_output": "functions",
    "GetPackageVerdictsResult": "functions",
    "AwaitableGetPackageVerdictsResult": "functions",
}

# Spelled out (not `*_LAZY_EXPORTS`) so that type checkers see the lazy names as exported.
__all__ = [
    "AuthError", "ClientOptions", "Credentials", "CredentialsNotFoundError", "DeadlineExceededError",
    "FoasClient", "FoasError", "InconsistentListingError", "InvalidInputError", "Job", "JobList",
    "MalformedResponseError", "ManyJobLists", "NetworkError", "NotFoundError", "PackageOutcome",
    "ParameterError", "PlanEdge", "PlanNode", "Query", "RetryPolicy", "ServerError",
    "ThrottlingError", "list_ref_package_jobs",
    "RefPackageJobs", "RefPackageJobsProvider", "PackageDeletionGuard",
    "PackageDeletionGuardProvider", "get_ref_package_jobs", "get_ref_package_jobs_output",
    "GetRefPackageJobsResult", "AwaitableGetRefPackageJobsResult", "get_package_verdicts",
    "get_package_verdicts_output", "GetPackageVerdictsResult", "AwaitableGetPackageVerdictsResult",
]


if not TYPE_CHECKING:  # hidden from type checkers: they see the imports above, so a typo fails

    def __getattr__(name: str) -> Any:
        module = _LAZY_EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'foas_refjobs' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_EXPORTS})
