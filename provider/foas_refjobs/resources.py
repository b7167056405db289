"""Pulumi dynamic resources: a live list of referencing jobs, and a guard against deleting a used jar.

Both providers are pickled into Pulumi state with each resource (dill; the
class by reference, so module and class names here are part of the state
format). They carry only a timeout and a retry count: credentials and
settings are resolved in the provider host from the stack config that the
engine sends to Configure, and are never pickled.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Optional

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime import rpc

from .client_cache import shared_client
from .errors import FoasError, InvalidInputError
from .model import Job, JobList
from .options import DEFAULT_MAX_ATTEMPTS
from .options import FIELD_VALIDATORS as OPTION_VALIDATORS
from .pulumi_settings import FoasSettings, settings_from_config
from .query import FIELD_VALIDATORS as QUERY_VALIDATORS
from .query import Query
from .settings import DEFAULT_TIMEOUT

UNKNOWN = rpc.UNKNOWN
DIGEST = "jobs_digest"
BLOCK_ON_VALUES = ("any", "committed")
MAX_JOBS_NAMED = 200

REF_INPUTS = ("project_name", "package_name", "region_id", "endpoint", "job_type", "committed_only",
              "enable_details")
# A listing made by check() is what create()/update() record, when the engine asks for them this
# soon after and the checked digest is still the one planned on.
REUSE_SECONDS = 60.0
GUARD_INPUTS = ("project_name", "package_name", "block_on", "region_id", "endpoint", "jar_id")
_IDENTITY = ("project_name", "package_name")

Validator = Callable[[Any], Any]


class PackageInUseError(FoasError):
    """The guard's refusal: jobs still reference the package.

    Printed on several lines (one per job): the engine shows the provider's
    error text as is, and a list of jobs is what the operator has to act on.
    """

    default_code = "PackageInUse"

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class GuardCheckFailedError(FoasError):
    """The guard could not establish that no job references the package, so it refuses."""

    default_code = "GuardCheckFailed"


def jobs_digest(jobs: Iterable[Job], details: bool = True) -> str:
    """Fingerprint of what the outputs record of the jobs; independent of the order the service sent them in.

    Every field with `details`, else ids and names: stamped into checked
    inputs and into outputs, so that the engine's ordinary input/output
    comparison notices exactly the changes the outputs would show.
    """
    records = ([j.to_dict() for j in jobs] if details
               else [{"job_id": j.job_id, "job_name": j.job_name or ""} for j in jobs])
    canonical = json.dumps(sorted(records, key=lambda d: str(d["job_id"])),
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def listing_fields(job_list: JobList, details: bool) -> dict[str, Any]:
    """What RefPackageJobs and the functions expose of a listing: `jobs` (every field) only with details.

    Ids, names, counts and `referenced` are always there; the per-job detail
    (code, plan, properties) is most of the size, and the engine
    deserialises recorded outputs on every diff.
    """
    fields = job_list.summary()
    if not details:
        fields["jobs"] = None
    return fields


def _plain(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value)


def _is_unknown(value: Any) -> bool:
    """The host hands unknown inputs over as Unknown objects; the wire form is the UNKNOWN string."""
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


def _jar_id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"jar_id must be a non-empty string, got {value!r}")
    return value


def _enable_details(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"enable_details must be a boolean, got {value!r}")
    return value


def _block_on(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in BLOCK_ON_VALUES:
        raise InvalidInputError(f"block_on must be one of {', '.join(BLOCK_ON_VALUES)}, got {value!r}")
    return value.strip().lower()


# Derived from the Query and ClientOptions rules, so an input is valid here exactly when it
# is valid for the client.
_INPUT_VALIDATORS: dict[str, Validator] = {**QUERY_VALIDATORS, **OPTION_VALIDATORS,
                                           "block_on": _block_on, "jar_id": _jar_id,
                                           "enable_details": _enable_details}
_REF_VALIDATORS: dict[str, Validator] = {k: _INPUT_VALIDATORS[k] for k in REF_INPUTS}
_GUARD_VALIDATORS: dict[str, Validator] = {k: _INPUT_VALIDATORS[k] for k in GUARD_INPUTS}
_DEFAULTS: dict[str, Any] = {"committed_only": False, "block_on": "any", "enable_details": False}


def _check_inputs(news: Mapping[str, Any], validators: Mapping[str, Validator]
                  ) -> tuple[dict[str, Any], list[CheckFailure], bool]:
    """(normalized inputs, failures, whether any input is still unknown)."""
    inputs: dict[str, Any] = {}
    failures: list[CheckFailure] = []
    unknown = False
    for key, validate in validators.items():
        value = _plain(news.get(key))
        if value is None:
            if key in _IDENTITY:
                failures.append(CheckFailure(key, f"{key} is required"))
            elif key in _DEFAULTS:
                inputs[key] = _DEFAULTS[key]
            continue
        if _is_unknown(value):
            inputs[key] = value
            unknown = True
            continue
        try:
            normalized = validate(value)
        except InvalidInputError as exc:
            failures.append(CheckFailure(key, exc.message))
            inputs[key] = value
            continue
        if normalized is not None:
            inputs[key] = normalized
    return inputs, failures, unknown


def _validated(props: Mapping[str, Any], validators: Mapping[str, Validator]) -> dict[str, Any]:
    """Inputs as check() would return them, or InvalidInputError (state written by hand, old versions)."""
    inputs, failures, unknown = _check_inputs(props, validators)
    if failures:
        raise InvalidInputError("; ".join(f"{f.property}: {f.reason}" for f in failures))
    if unknown:
        raise InvalidInputError("inputs are not known yet")
    return inputs


def _normalized(key: str, value: Any) -> Any:
    """The value as check() would store it (an invalid one as is), for comparing olds and news."""
    value = _plain(value)
    if value is None or value == "":
        return _DEFAULTS.get(key)
    validate = _INPUT_VALIDATORS.get(key)
    if validate is None or _is_unknown(value):
        return value
    try:
        normalized = validate(value)
    except InvalidInputError:
        return value
    return _DEFAULTS.get(key) if normalized is None else normalized


def _changed(olds: Mapping[str, Any], news: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    return [k for k in keys
            if _is_unknown(_plain(news.get(k)))
            or _normalized(k, olds.get(k)) != _normalized(k, news.get(k))]


class _FoasProvider(ResourceProvider):
    """What both providers share: pickled state, configuration, and one way to list."""

    _settings: Optional[FoasSettings]

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        super().__init__()
        self.timeout = OPTION_VALIDATORS["timeout"](timeout)
        self.max_attempts = OPTION_VALIDATORS["max_attempts"](max_attempts)
        self._settings = None

    def __getstate__(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "max_attempts": self.max_attempts}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self.timeout = float(state["timeout"])
        self.max_attempts = int(state["max_attempts"])
        self._settings = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(timeout={self.timeout!r}, max_attempts={self.max_attempts!r})"

    def configure(self, req: ConfigureRequest) -> None:
        self._settings = settings_from_config(req.config.get)

    def _list(self, inputs: Mapping[str, Any], *, committed_only: bool,
              job_type: Optional[str] = None) -> JobList:
        options = (self._settings or FoasSettings()).options(
            region_id=inputs.get("region_id"), endpoint=inputs.get("endpoint"),
            timeout=self.timeout, max_attempts=self.max_attempts)
        query = Query.one(inputs["project_name"], inputs["package_name"], job_type=job_type,
                          committed_only=committed_only)
        with shared_client(options) as client:
            return client.list(query)


# --- RefPackageJobs --------------------------------------------------------------------

# Per process (the provider host), not per provider object: the host may unpickle a fresh
# provider for each request. Keyed by the inputs; the credentials are the process's own.
_RECENT: dict[str, tuple[float, str, JobList]] = {}
_RECENT_LOCK = threading.Lock()


def _ref_outputs(inputs: Mapping[str, Any], job_list: JobList) -> dict[str, Any]:
    details = bool(inputs.get("enable_details"))
    outs: dict[str, Any] = {k: inputs[k] for k in REF_INPUTS if inputs.get(k) is not None}
    outs.update({k: v for k, v in listing_fields(job_list, details).items() if v is not None})
    outs[DIGEST] = jobs_digest(job_list.jobs, details)
    if job_list.inconsistency:
        outs["inconsistency"] = job_list.inconsistency
    return outs


def _reuse_key(inputs: Mapping[str, Any]) -> str:
    return json.dumps([inputs.get(k) for k in REF_INPUTS], default=str)


class RefPackageJobsProvider(_FoasProvider):
    """A data source: reads on check/create/update/read, never writes, forgets on delete.

    `pulumi up` checks (lists) and then creates or updates (lists again) in
    the same provider process moments later; the second step records the
    listing the first one planned on instead, when its digest is the planned
    one. So a changed `up` lists twice (the preview's check, the update's
    check), not three times, and what is recorded is what the plan showed.
    """

    def _read(self, inputs: Mapping[str, Any]) -> JobList:
        return self._list(inputs, committed_only=bool(inputs.get("committed_only")),
                          job_type=inputs.get("job_type"))

    def _remember(self, inputs: Mapping[str, Any], job_list: JobList, digest: str) -> None:
        with _RECENT_LOCK:
            _RECENT[_reuse_key(inputs)] = (time.monotonic(), digest, job_list)
            while len(_RECENT) > 8:
                _RECENT.pop(next(iter(_RECENT)))

    def _planned(self, inputs: Mapping[str, Any], news: Mapping[str, Any]) -> JobList:
        """The listing check() made for these inputs, if recent and the one planned on; else a new one."""
        with _RECENT_LOCK:
            recent = _RECENT.pop(_reuse_key(inputs), None)
        planned = _plain(news.get(DIGEST))
        if recent is not None and recent[1] == planned \
                and time.monotonic() - recent[0] <= REUSE_SECONDS:
            return recent[2]
        return self._read(inputs)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures, unknown = _check_inputs(news, _REF_VALIDATORS)
        if failures:
            return CheckResult(inputs, failures)
        if unknown:
            inputs[DIGEST] = UNKNOWN
            return CheckResult(inputs, [])
        job_list = self._read(inputs)
        inputs[DIGEST] = jobs_digest(job_list.jobs, bool(inputs.get("enable_details")))
        self._remember(inputs, job_list, inputs[DIGEST])
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = _changed(olds, news, (*REF_INPUTS, DIGEST))
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = _validated(props, _REF_VALIDATORS)
        return CreateResult(f"refjobs-{uuid.uuid4().hex}",
                            _ref_outputs(inputs, self._planned(inputs, props)))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = _validated(news, _REF_VALIDATORS)
        return UpdateResult(_ref_outputs(inputs, self._planned(inputs, news)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = _validated(props, _REF_VALIDATORS)
        return ReadResult(id_, _ref_outputs(inputs, self._read(inputs)))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


def _as_int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _jobs_from_state(jobs: Any) -> Any:
    if not isinstance(jobs, list):
        return jobs
    return [Job.from_dict(j).to_dict() if isinstance(j, Mapping) else j for j in jobs]


class RefPackageJobs(Resource, module="foas", name="RefPackageJobs"):
    """The jobs that reference a jar, re-read on every `pulumi up`, `preview` and `refresh`.

    Nothing is created in the cloud. `job_ids`, `job_names`, `total_count`
    and `referenced` are always there; `jobs` (every field of every job) only
    with `enable_details=True`, as pulumi-alicloud's data sources do, and
    then as a secret output because a job's code and properties can carry
    connector credentials.
    """

    project_name: pulumi.Output[str]
    package_name: pulumi.Output[str]
    region_id: pulumi.Output[Optional[str]]
    endpoint: pulumi.Output[Optional[str]]
    job_type: pulumi.Output[Optional[str]]
    committed_only: pulumi.Output[bool]
    enable_details: pulumi.Output[bool]
    total_count: pulumi.Output[int]
    referenced: pulumi.Output[bool]
    job_ids: pulumi.Output[list[str]]
    job_names: pulumi.Output[list[str]]
    jobs: pulumi.Output[Optional[list[dict[str, Any]]]]
    jobs_digest: pulumi.Output[str]
    consistent: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        project_name: pulumi.Input[str],
        package_name: pulumi.Input[str],
        *,
        region_id: Optional[pulumi.Input[str]] = None,
        endpoint: Optional[pulumi.Input[str]] = None,
        job_type: Optional[pulumi.Input[str]] = None,
        committed_only: pulumi.Input[bool] = False,
        enable_details: pulumi.Input[bool] = False,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        props: dict[str, Any] = {
            "project_name": project_name, "package_name": package_name, "region_id": region_id,
            "endpoint": endpoint, "job_type": job_type, "committed_only": committed_only,
            "enable_details": enable_details, "total_count": None, "referenced": None,
            "job_ids": None, "job_names": None, "jobs": None, DIGEST: None, "consistent": None,
        }
        secret_jobs = pulumi.ResourceOptions(additional_secret_outputs=["jobs"])
        super().__init__(RefPackageJobsProvider(), resource_name, props,
                         pulumi.ResourceOptions.merge(opts, secret_jobs))
        self.total_count = self.total_count.apply(_as_int)
        self.jobs = self.jobs.apply(_jobs_from_state)


# --- PackageDeletionGuard --------------------------------------------------------------


def _guard_outputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: inputs[k] for k in GUARD_INPUTS if inputs.get(k) is not None}


def refusal_message(job_list: JobList, block_on: str) -> str:
    """Names every referencing job (up to a bound) and the two ways forward."""
    what = "committed job(s)" if block_on == "committed" else "job(s)"
    lines = [
        f"refusing to delete the deletion guard: package {job_list.package_name!r} in project "
        f"{job_list.project_name!r} is still referenced by {job_list.total_count} {what}:"
    ]
    for job in job_list.jobs[:MAX_JOBS_NAMED]:
        name = (job.job_name or "(unnamed)").replace("\r", "\\r").replace("\n", "\\n")
        lines.append(f"  - {name} (id {job.job_id})")
    if job_list.total_count > MAX_JOBS_NAMED:
        lines.append(f"  ... and {job_list.total_count - MAX_JOBS_NAMED} more")
    lines.append(
        "To proceed, delete these jobs or remove the package from them, then run the Pulumi "
        "operation again; to drop the guard deliberately instead, run "
        "`pulumi state delete <urn of this PackageDeletionGuard>` (`pulumi stack --show-urns` "
        "lists the URNs)."
    )
    return "\n".join(lines)


class PackageDeletionGuardProvider(_FoasProvider):
    """Creating is free; deleting lists the jobs and refuses while any references the package."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures, _unknown = _check_inputs(news, _GUARD_VALIDATORS)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = _changed(olds, news, GUARD_INPUTS)
        replaces = [k for k in changed if k in _IDENTITY or (
            k == "jar_id" and (_plain(olds.get(k)) is not None or _is_unknown(_plain(news.get(k)))))]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = _validated(props, _GUARD_VALIDATORS)
        guard_id = f"guard-{uuid.uuid4().hex}"
        return CreateResult(guard_id, _guard_outputs(inputs))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_guard_outputs(_validated(news, _GUARD_VALIDATORS)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, _guard_outputs(_validated(props, _GUARD_VALIDATORS)))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        project, package = _plain(props.get("project_name")), _plain(props.get("package_name"))
        where = f"package {package!r} in project {project!r}"
        try:
            if self._settings is None:
                raise InvalidInputError(
                    "the provider was never configured with the stack config (the Pulumi SDK in "
                    "the program's environment is older than 3.139); upgrade pulumi")
            inputs = _validated(props, _GUARD_VALIDATORS)
            block_on = inputs["block_on"]
            job_list = self._list(inputs, committed_only=block_on == "committed")
            job_list.require_consistent()
        except FoasError as exc:
            raise GuardCheckFailedError(
                f"refusing to delete the deletion guard of {where}: could not confirm that no job "
                f"references it: {exc.one_line()}"
            ) from None
        if job_list.jobs:
            raise PackageInUseError(refusal_message(job_list, block_on))


class PackageDeletionGuard(Resource, module="foas", name="PackageDeletionGuard"):
    """Blocks deleting a jar (the `jar` resource) while Realtime Compute jobs reference it.

    Pulumi deletes dependents first, so this guard's delete runs (and can
    refuse) before the jar's. `jar` makes the guard depend on the jar through
    an input (`jar_id`), not only through `depends_on`: when the jar is
    replaced the guard is replaced with it, and with `delete_before_replace`
    the engine then deletes the guard before the old jar. A `depends_on`
    alone does not bring the guard into that replacement, and the engine
    deletes the old jar first. Changing the project or package also replaces
    the guard, so the old package is checked before its guard goes away.
    """

    project_name: pulumi.Output[str]
    package_name: pulumi.Output[str]
    block_on: pulumi.Output[str]
    region_id: pulumi.Output[Optional[str]]
    endpoint: pulumi.Output[Optional[str]]
    jar_id: pulumi.Output[Optional[str]]

    def __init__(
        self,
        resource_name: str,
        project_name: pulumi.Input[str],
        package_name: pulumi.Input[str],
        *,
        block_on: pulumi.Input[str] = "any",
        region_id: Optional[pulumi.Input[str]] = None,
        endpoint: Optional[pulumi.Input[str]] = None,
        jar: Optional[pulumi.Resource] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        props: dict[str, Any] = {
            "project_name": project_name, "package_name": package_name, "block_on": block_on,
            "region_id": region_id, "endpoint": endpoint, "jar_id": None,
        }
        if jar is not None:
            props["jar_id"] = jar.id if isinstance(jar, pulumi.CustomResource) else jar.urn
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[jar]))
        super().__init__(PackageDeletionGuardProvider(), resource_name, props, opts)
