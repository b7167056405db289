"""Which Realtime Compute (foas) jobs reference this jar package?

The client, model and errors import without Pulumi, so the CLI starts fast;
the Pulumi pieces are loaded on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"  # before the imports: the transport names it in its User-Agent

from .client import FoasClient, list_ref_package_jobs
from .errors import (
    AuthError,
    CredentialsNotFoundError,
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
from .model import Job, JobList, PlanEdge, PlanNode
from .retry import RetryPolicy
from .settings import Credentials

_PULUMI_EXPORTS = {
    "RefPackageJobs": "resources",
    "RefPackageJobsProvider": "resources",
    "PackageDeletionGuard": "resources",
    "PackageDeletionGuardProvider": "resources",
    "get_ref_package_jobs": "functions",
    "get_ref_package_jobs_output": "functions",
    "GetRefPackageJobsResult": "functions",
    "AwaitableGetRefPackageJobsResult": "functions",
}

__all__ = [
    "AuthError", "Credentials", "CredentialsNotFoundError", "FoasClient", "FoasError",
    "InconsistentListingError", "InvalidInputError", "Job", "JobList", "MalformedResponseError",
    "NetworkError", "NotFoundError", "ParameterError", "PlanEdge", "PlanNode", "RetryPolicy",
    "ServerError", "ThrottlingError", "list_ref_package_jobs", *_PULUMI_EXPORTS,
]


def __getattr__(name: str) -> Any:
    module = _PULUMI_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'foas_refjobs' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
