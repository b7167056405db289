"""get_ref_package_jobs / get_ref_package_jobs_output: the data-source pair, shaped like pulumi-alicloud's.

Unlike alicloud's, these call the service from the program process itself (no
provider invoke), with credentials from stack config (foas:*, then alicloud:*)
and then the environment. So values are there at preview as soon as the
arguments are known, and nothing is written to state unless the program
exports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional, Union

import pulumi
import pulumi.runtime

from .client_cache import shared_client
from .errors import InvalidInputError
from .pulumi_settings import FoasSettings, settings_from_config
from .query import Query, validate_packages
from .resources import listing_fields

__all__ = [
    "AwaitableGetPackageVerdictsResult",
    "AwaitableGetRefPackageJobsResult",
    "GetPackageVerdictsResult",
    "GetRefPackageJobsResult",
    "get_package_verdicts",
    "get_package_verdicts_output",
    "get_ref_package_jobs",
    "get_ref_package_jobs_output",
]


@pulumi.output_type
class GetRefPackageJobsResult:
    """A collection of values returned by get_ref_package_jobs."""

    def __init__(__self__, id: Optional[str] = None, project_name: Optional[str] = None,
                 package_name: Optional[str] = None, total_count: Optional[int] = None,
                 referenced: Optional[bool] = None, job_ids: Optional[list[str]] = None,
                 job_names: Optional[list[str]] = None,
                 jobs: Optional[list[dict[str, Any]]] = None,
                 consistent: Optional[bool] = None) -> None:
        if id and not isinstance(id, str):
            raise TypeError("Expected argument 'id' to be a str")
        pulumi.set(__self__, "id", id)
        pulumi.set(__self__, "project_name", project_name)
        pulumi.set(__self__, "package_name", package_name)
        pulumi.set(__self__, "total_count", total_count)
        pulumi.set(__self__, "referenced", referenced)
        pulumi.set(__self__, "job_ids", job_ids)
        pulumi.set(__self__, "job_names", job_names)
        pulumi.set(__self__, "jobs", jobs)
        pulumi.set(__self__, "consistent", consistent)

    @property
    @pulumi.getter
    def id(self) -> str:
        """`project/package`: stable for the same query, like alicloud's data-source ids."""
        return pulumi.get(self, "id")  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name="projectName")
    def project_name(self) -> str:
        return pulumi.get(self, "project_name")  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name="packageName")
    def package_name(self) -> str:
        return pulumi.get(self, "package_name")  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name="totalCount")
    def total_count(self) -> int:
        return pulumi.get(self, "total_count")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def referenced(self) -> bool:
        return pulumi.get(self, "referenced")  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name="jobIds")
    def job_ids(self) -> list[str]:
        return pulumi.get(self, "job_ids")  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name="jobNames")
    def job_names(self) -> list[str]:
        return pulumi.get(self, "job_names")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def jobs(self) -> Optional[list[dict[str, Any]]]:
        """Every Job field, snake_case, as Job.to_dict(); only with `enable_details=True`, else None.

        In get_ref_package_jobs_output's result it is a secret, like
        RefPackageJobs.jobs: a job's code and properties can carry connector
        credentials.
        """
        return pulumi.get(self, "jobs")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def consistent(self) -> bool:
        """False when the pages disagreed with TotalCount even after a re-read."""
        return pulumi.get(self, "consistent")  # type: ignore[no-any-return]


class AwaitableGetRefPackageJobsResult(GetRefPackageJobsResult):
    def __await__(self) -> Any:
        if False:
            yield self
        return GetRefPackageJobsResult(
            id=self.id, project_name=self.project_name, package_name=self.package_name,
            total_count=self.total_count, referenced=self.referenced, job_ids=self.job_ids,
            job_names=self.job_names, jobs=self.jobs, consistent=self.consistent)


def program_settings() -> FoasSettings:
    """The foas:*/alicloud:* stack config as the running program sees it."""
    return settings_from_config(pulumi.runtime.get_config)


def _listed(project_name: str, package_name: str, region_id: Optional[str],
            endpoint: Optional[str], job_type: Optional[str],
            committed_only: Optional[bool], enable_details: Optional[bool]) -> dict[str, Any]:
    """The result's fields, from a listing with the program's settings."""
    if enable_details is not None and not isinstance(enable_details, bool):
        raise InvalidInputError(f"enable_details must be a boolean, got {enable_details!r}")
    query = Query.one(project_name, package_name, job_type=job_type,
                      committed_only=False if committed_only is None else committed_only)
    with shared_client(program_settings().options(region_id=region_id, endpoint=endpoint)) as client:
        job_list = client.list(query)
    return {"id": f"{job_list.project_name}/{job_list.package_name}",
            **listing_fields(job_list, bool(enable_details))}


def get_ref_package_jobs(
    project_name: str,
    package_name: str,
    region_id: Optional[str] = None,
    endpoint: Optional[str] = None,
    job_type: Optional[str] = None,
    committed_only: Optional[bool] = None,
    enable_details: Optional[bool] = None,
    opts: Optional[pulumi.InvokeOptions] = None,
) -> AwaitableGetRefPackageJobsResult:
    """List the jobs now, in the program; raises a FoasError subclass when the service says no.

    `opts` is accepted for signature compatibility with generated functions
    and ignored: no provider is involved.
    """
    return AwaitableGetRefPackageJobsResult(
        **_listed(project_name, package_name, region_id, endpoint, job_type, committed_only,
                  enable_details))


def _dependencies(opts: Optional[Union[pulumi.InvokeOptions, pulumi.InvokeOutputOptions]]
                  ) -> list[pulumi.Output[Any]]:
    depends_on = getattr(opts, "depends_on", None)
    if depends_on is None:
        return []
    resources: Sequence[Any] = depends_on if isinstance(depends_on, Sequence) else [depends_on]
    return [r.id if isinstance(r, pulumi.CustomResource) else r.urn for r in resources]


def get_ref_package_jobs_output(
    project_name: pulumi.Input[str],
    package_name: pulumi.Input[str],
    region_id: pulumi.Input[Optional[str]] = None,
    endpoint: pulumi.Input[Optional[str]] = None,
    job_type: pulumi.Input[Optional[str]] = None,
    committed_only: pulumi.Input[Optional[bool]] = None,
    enable_details: pulumi.Input[Optional[bool]] = None,
    opts: Optional[Union[pulumi.InvokeOptions, pulumi.InvokeOutputOptions]] = None,
) -> pulumi.Output[GetRefPackageJobsResult]:
    """The same listing once the arguments (and `opts.depends_on` resources) are known.

    Unknown arguments at preview make the whole result unknown, as with any
    Output; known ones are listed during preview too. `.jobs` is a secret
    Output (read it lifted, `result.jobs`, or with `apply`).
    """
    args = pulumi.Output.all(project_name, package_name, region_id, endpoint, job_type,
                             committed_only, enable_details, *_dependencies(opts))

    def result(values: list[Any]) -> GetRefPackageJobsResult:
        fields = _listed(*values[:7])
        fields["jobs"] = pulumi.Output.secret(fields["jobs"])
        return GetRefPackageJobsResult(**fields)

    return args.apply(result)


# --- many jars: which of these can go? ------------------------------------------------------


@pulumi.output_type
class GetPackageVerdictsResult:
    """One verdict per jar, and the jars no (matching) job references."""

    def __init__(__self__, id: Optional[str] = None, project_name: Optional[str] = None,
                 package_names: Optional[list[str]] = None,
                 packages: Optional[list[dict[str, Any]]] = None,
                 unreferenced: Optional[list[str]] = None, referenced: Optional[list[str]] = None,
                 failed: Optional[list[str]] = None) -> None:
        pulumi.set(__self__, "id", id)
        pulumi.set(__self__, "project_name", project_name)
        pulumi.set(__self__, "package_names", package_names)
        pulumi.set(__self__, "packages", packages)
        pulumi.set(__self__, "unreferenced", unreferenced)
        pulumi.set(__self__, "referenced", referenced)
        pulumi.set(__self__, "failed", failed)

    @property
    @pulumi.getter
    def id(self) -> str:
        """`project/jar1,jar2,...`: stable for the same query."""
        return pulumi.get(self, "id")  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name="projectName")
    def project_name(self) -> str:
        return pulumi.get(self, "project_name")  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name="packageNames")
    def package_names(self) -> list[str]:
        return pulumi.get(self, "package_names")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def packages(self) -> list[dict[str, Any]]:
        """Per jar, in the order asked: package_name, verdict (unreferenced / referenced /
        error), and total_count, job_ids, job_names, consistent, or error and error_code."""
        return pulumi.get(self, "packages")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def unreferenced(self) -> list[str]:
        """Jars with a complete, consistent listing and no (matching) job: safe to clean up."""
        return pulumi.get(self, "unreferenced")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def referenced(self) -> list[str]:
        return pulumi.get(self, "referenced")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def failed(self) -> list[str]:
        """Jars whose listing failed or was inconsistent: neither in `unreferenced` nor `referenced`."""
        return pulumi.get(self, "failed")  # type: ignore[no-any-return]


class AwaitableGetPackageVerdictsResult(GetPackageVerdictsResult):
    def __await__(self) -> Any:
        if False:
            yield self
        return GetPackageVerdictsResult(
            id=self.id, project_name=self.project_name, package_names=self.package_names,
            packages=self.packages, unreferenced=self.unreferenced, referenced=self.referenced,
            failed=self.failed)


def _verdicts(project_name: str, package_names: Sequence[str], region_id: Optional[str],
              endpoint: Optional[str], job_type: Optional[str],
              committed_only: Optional[bool]) -> dict[str, Any]:
    query = Query(project_name, validate_packages(package_names), job_type=job_type,
                  committed_only=False if committed_only is None else committed_only)
    with shared_client(program_settings().options(region_id=region_id, endpoint=endpoint)) as client:
        many = client.list_many(query)
    for outcome in many:
        if outcome.verdict == "error":
            pulumi.log.warn(f"foas: {outcome.package_name}: {outcome.detail}")
    summary = many.to_dict()
    return {"id": f"{query.project_name}/{','.join(query.package_names)}",
            "package_names": list(query.package_names), **summary}


def get_package_verdicts(
    project_name: str,
    package_names: Sequence[str],
    region_id: Optional[str] = None,
    endpoint: Optional[str] = None,
    job_type: Optional[str] = None,
    committed_only: Optional[bool] = None,
    opts: Optional[pulumi.InvokeOptions] = None,
) -> AwaitableGetPackageVerdictsResult:
    """Which of these jars does any (matching) job reference? One listing per jar, concurrently.

    A jar whose listing fails is reported in `failed` (and warned about), never
    in `unreferenced`; invalid arguments raise InvalidInputError.
    """
    return AwaitableGetPackageVerdictsResult(
        **_verdicts(project_name, package_names, region_id, endpoint, job_type, committed_only))


def get_package_verdicts_output(
    project_name: pulumi.Input[str],
    package_names: pulumi.Input[Sequence[pulumi.Input[str]]],
    region_id: pulumi.Input[Optional[str]] = None,
    endpoint: pulumi.Input[Optional[str]] = None,
    job_type: pulumi.Input[Optional[str]] = None,
    committed_only: pulumi.Input[Optional[bool]] = None,
    opts: Optional[Union[pulumi.InvokeOptions, pulumi.InvokeOutputOptions]] = None,
) -> pulumi.Output[GetPackageVerdictsResult]:
    """The same verdicts once the arguments (and `opts.depends_on` resources) are known."""
    args = pulumi.Output.all(project_name, pulumi.Output.from_input(package_names), region_id,
                             endpoint, job_type, committed_only, *_dependencies(opts))
    return args.apply(lambda values: GetPackageVerdictsResult(**_verdicts(*values[:6])))
