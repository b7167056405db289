"""The public surface, pinned: a name added to or dropped from `__all__` is a decision, made here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import foas_refjobs

PUBLIC = {
    # the client, what it is asked and what it answers
    "FoasClient", "ClientOptions", "Query", "Credentials", "RetryPolicy", "list_ref_package_jobs",
    "Job", "JobList", "PlanEdge", "PlanNode", "ManyJobLists", "PackageOutcome",
    # errors
    "FoasError", "AuthError", "CredentialsNotFoundError", "DeadlineExceededError", "InconsistentListingError",
    "InvalidInputError", "MalformedResponseError", "NetworkError", "NotFoundError",
    "ParameterError", "ServerError", "ThrottlingError",
    # Pulumi, loaded on first use
    "RefPackageJobs", "RefPackageJobsProvider", "PackageDeletionGuard", "PackageDeletionGuardProvider",
    "get_ref_package_jobs", "get_ref_package_jobs_output", "GetRefPackageJobsResult",
    "AwaitableGetRefPackageJobsResult", "get_package_verdicts", "get_package_verdicts_output",
    "GetPackageVerdictsResult", "AwaitableGetPackageVerdictsResult",
}


def test_all_is_pinned() -> None:
    assert set(foas_refjobs.__all__) == PUBLIC
    assert len(foas_refjobs.__all__) == len(PUBLIC)
    lazy = set(foas_refjobs._LAZY_EXPORTS)
    assert lazy <= PUBLIC


def test_every_exported_name_resolves_and_is_listed_by_dir() -> None:
    for name in foas_refjobs.__all__:
        value = getattr(foas_refjobs, name)
        assert getattr(value, "__module__", "").startswith("foas_refjobs"), name
    assert set(foas_refjobs.__all__) <= set(dir(foas_refjobs))


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        foas_refjobs.RefPackageJobsProviderr  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "RefPackageJobsProviderr" in str(exc)
    else:
        raise AssertionError("a misspelt export resolved")


def test_mypy_sees_the_lazy_pulumi_names(tmp_path: Path) -> None:
    """The lazy exports are typed: a typo fails mypy --strict, the right name passes."""
    good = tmp_path / "good.py"
    good.write_text("from foas_refjobs import RefPackageJobsProvider, get_package_verdicts\n"
                    "provider: RefPackageJobsProvider = RefPackageJobsProvider()\n"
                    "verdicts = get_package_verdicts\n")
    bad = tmp_path / "bad.py"
    bad.write_text("import foas_refjobs\nfoas_refjobs.RefPackageJobsProviderr()\n")
    run = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent"]
    ok = subprocess.run([*run, str(good)], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout
    typo = subprocess.run([*run, str(bad)], capture_output=True, text=True, timeout=300)
    assert typo.returncode == 1 and "RefPackageJobsProviderr" in typo.stdout, typo.stdout
