"""The emulator's data: projects, registered packages, jobs and AccessKeys. No HTTP here.

Jobs are kept in the service's own PascalCase shape so that what the handler
returns is byte-for-byte what was loaded (the reference sample stays verbatim).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Optional

DEFAULT_ACCESS_KEY_ID = "LTAI5tEmulatorDemoKey"
DEFAULT_ACCESS_KEY_SECRET = "emulator-demo-secret-do-not-use"


def job_packages(job: Mapping[str, Any]) -> list[str]:
    return [p.strip() for p in str(job.get("Packages") or "").split(",") if p.strip()]


@dataclass
class StsCredential:
    access_key_id: str
    access_key_secret: str
    security_token: str
    expires_at: Optional[float] = None  # time.time(); None: never (the data file's fixed ones)
    issued_to: Optional[str] = None  # the role ARN, "ecs:<role>" or "uri" it was issued for


@dataclass
class _Project:
    packages: list[str] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)


class EmulatorState:
    """Thread-safe in-memory FOAS: what exists, and who may ask."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._projects: dict[str, _Project] = {}
        self.access_keys: dict[str, str] = {}
        self.sts: dict[str, StsCredential] = {}
        # What the credential services (credential_services.py) hand out and to whom.
        self.roles: set[str] = set()  # role ARNs AssumeRole / AssumeRoleWithOIDC may assume
        self.oidc_providers: dict[str, str] = {}  # OIDC provider ARN -> the token it accepts
        self.ecs_roles: set[str] = set()  # RAM roles attached to "this instance"
        self.sso_access_tokens: set[str] = set()  # CloudSSO sign-in tokens /cloud-credentials accepts
        self.sts_lifetime: Optional[float] = None  # seconds; overrides DurationSeconds when set
        self.issued: list[StsCredential] = []
        # Which jobs reference a package, per (project, package), valid for one
        # generation of the data: every request of a listing filters the same
        # thousands of jobs otherwise, which made the emulator, not the client,
        # the bottleneck of concurrent listings.
        self._generation = 0
        self._ref_cache: dict[tuple[str, str], tuple[int, list[dict[str, Any]]]] = {}
        # The largest pageSize the service takes (undocumented for the real one), and what
        # it does with a larger one: refuse it (400 InvalidParameter) or clamp it, answering
        # with the smaller PageSize.
        self.max_page_size = 100
        self.clamp_page_size = False

    # --- credentials ---------------------------------------------------------------
    def add_access_key(self, key_id: str, secret: str) -> None:
        with self._lock:
            self.access_keys[key_id] = secret

    def add_sts(self, key_id: str, secret: str, token: str) -> None:
        with self._lock:
            self.sts[key_id] = StsCredential(key_id, secret, token)

    def secret_for(self, key_id: str) -> Optional[tuple[str, Optional[str]]]:
        """(secret, required STS token or None), or None for an unknown key."""
        with self._lock:
            if key_id in self.access_keys:
                return self.access_keys[key_id], None
            sts = self.sts.get(key_id)
            return (sts.access_key_secret, sts.security_token) if sts else None

    def expired(self, key_id: str, now: Optional[float] = None) -> bool:
        """True for temporary credentials past their expiration."""
        with self._lock:
            sts = self.sts.get(key_id)
        when = time.time() if now is None else now
        return bool(sts and sts.expires_at is not None and when >= sts.expires_at)

    def issue_sts(self, issued_to: str, lifetime: float) -> StsCredential:
        """New temporary credentials that GetRefPackageJob accepts until they expire."""
        lifetime = self.sts_lifetime if self.sts_lifetime is not None else lifetime
        credential = StsCredential(f"STS.{secrets.token_hex(10)}", secrets.token_urlsafe(24),
                                   "CAIS" + secrets.token_urlsafe(48), time.time() + lifetime,
                                   issued_to)
        with self._lock:
            self.sts[credential.access_key_id] = credential
            self.issued.append(credential)
        return credential

    def add_role(self, role_arn: str) -> None:
        with self._lock:
            self.roles.add(role_arn)

    def add_oidc_provider(self, provider_arn: str, token: str) -> None:
        with self._lock:
            self.oidc_providers[provider_arn] = token

    def add_ecs_role(self, role_name: str) -> None:
        with self._lock:
            self.ecs_roles.add(role_name)

    # --- data ----------------------------------------------------------------------
    def add_project(self, name: str) -> None:
        with self._lock:
            self._projects.setdefault(name, _Project())
            self._generation += 1

    def add_package(self, project: str, package: str) -> None:
        with self._lock:
            proj = self._projects.setdefault(project, _Project())
            if package not in proj.packages:
                proj.packages.append(package)

    def put_job(self, project: str, job: Mapping[str, Any]) -> None:
        """Create or replace a job; its packages become registered in the project."""
        job_id = job.get("JobId")
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("a job needs a non-empty string JobId")
        with self._lock:
            proj = self._projects.setdefault(project, _Project())
            proj.jobs[job_id] = dict(job)
            self._generation += 1
            for package in job_packages(job):
                if package not in proj.packages:
                    proj.packages.append(package)

    def remove_job(self, project: str, job_id: str) -> bool:
        with self._lock:
            proj = self._projects.get(project)
            self._generation += 1
            return bool(proj and proj.jobs.pop(job_id, None) is not None)

    def remove_jobs_referencing(self, project: str, package: str) -> int:
        with self._lock:
            ids = [j["JobId"] for j in self.referencing_jobs(project, package)]
            for job_id in ids:
                self.remove_job(project, job_id)
            return len(ids)

    def has_project(self, project: str) -> bool:
        with self._lock:
            return project in self._projects

    def has_package(self, project: str, package: str) -> bool:
        with self._lock:
            proj = self._projects.get(project)
            return bool(proj and package in proj.packages)

    def _referencing(self, project: str, package: str) -> list[dict[str, Any]]:
        """The jobs referencing the package, cached per data generation (caller holds the lock)."""
        cached = self._ref_cache.get((project, package))
        if cached is None or cached[0] != self._generation:
            proj = self._projects.get(project)
            found = [j for j in proj.jobs.values() if package in job_packages(j)] if proj else []
            cached = (self._generation, found)
            self._ref_cache[(project, package)] = cached
        return cached[1]

    def referencing_jobs(self, project: str, package: str) -> list[dict[str, Any]]:
        """Jobs of the project whose Packages list names the package, oldest first."""
        with self._lock:
            return [dict(j) for j in self._referencing(project, package)]

    def referencing_page(self, project: str, package: str, start: int,
                         size: int) -> tuple[int, list[dict[str, Any]]]:
        """(how many jobs reference the package, copies of jobs[start:start + size])."""
        with self._lock:
            jobs = self._referencing(project, package)
            return len(jobs), [dict(j) for j in jobs[start:start + size]]

    def projects(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {n: {"packages": list(p.packages), "jobs": len(p.jobs)}
                    for n, p in self._projects.items()}

    # --- loading -------------------------------------------------------------------
    def load(self, data: Mapping[str, Any]) -> EmulatorState:
        """Load the data-file shape (see docs/emulator.md)."""
        if not isinstance(data, Mapping):
            raise ValueError("emulator data must be a JSON object")
        for key_id, secret in (data.get("access_keys") or {}).items():
            self.add_access_key(str(key_id), str(secret))
        for sts in data.get("sts") or []:
            self.add_sts(sts["access_key_id"], sts["access_key_secret"], sts["security_token"])
        for role_arn in data.get("roles") or []:
            self.add_role(str(role_arn))
        for provider_arn, token in (data.get("oidc_providers") or {}).items():
            self.add_oidc_provider(str(provider_arn), str(token))
        for role_name in data.get("ecs_roles") or []:
            self.add_ecs_role(str(role_name))
        projects = data.get("projects") or {}
        if not isinstance(projects, Mapping):
            raise ValueError("'projects' must map project names to {packages, jobs}")
        for name, body in projects.items():
            self.add_project(name)
            for package in body.get("packages") or []:
                self.add_package(name, package)
            for job in body.get("jobs") or []:
                self.put_job(name, job)
        return self

    @classmethod
    def from_file(cls, path: str | Path) -> EmulatorState:
        with open(path, encoding="utf-8") as fh:
            return cls().load(json.load(fh))

    @classmethod
    def default(cls) -> EmulatorState:
        """The shipped data set: the reference's sample job verbatim plus generated jobs."""
        text = resources.files(__package__).joinpath("data/default_jobs.json").read_text("utf-8")
        return cls().load(json.loads(text))

    @classmethod
    def with_jobs(cls, project: str, package: str, jobs: Iterable[Mapping[str, Any]],
                  key_id: str = DEFAULT_ACCESS_KEY_ID,
                  secret: str = DEFAULT_ACCESS_KEY_SECRET) -> EmulatorState:
        state = cls()
        state.add_access_key(key_id, secret)
        state.add_package(project, package)
        for job in jobs:
            state.put_job(project, job)
        return state
