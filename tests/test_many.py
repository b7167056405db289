"""Many jars at once: one verdict per jar, one pool and one throttle budget, errors kept apart."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from clients import client_for_server
from foas_refjobs import (
    FoasClient,
    InvalidInputError,
    Job,
    JobList,
    ManyJobLists,
    PackageOutcome,
    Query,
    RetryPolicy,
)
from foas_refjobs.cli import main
from foas_refjobs.emulator import (
    FoasEmulator,
)
from foas_refjobs.emulator.datagen import generate_jobs
from foas_refjobs.options import DEFAULT_MAX_CONCURRENCY

PROJECT = "bayes_team"
REFERENCED = "wordcount.jar"
UNUSED = "unused-udf.jar"
MISSING = "no-such.jar"
FAST = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01, throttle_base_delay=0.002)


def client(emu: FoasEmulator, **kwargs: Any) -> FoasClient:
    return client_for_server(emu, **kwargs)


def server_ids(emu: FoasEmulator, package: str, project: str = PROJECT) -> list[str]:
    return [j["JobId"] for j in emu.state.referencing_jobs(project, package)]


def test_one_outcome_per_jar_in_the_order_asked(emulator: FoasEmulator) -> None:
    query = Query(PROJECT, (UNUSED, REFERENCED, MISSING, "udf-common.jar"))
    with client(emulator) as c:
        many = c.list_many(query)
    assert [o.package_name for o in many] == list(query.package_names)
    assert [o.verdict for o in many] == ["unreferenced", "referenced", "error", "referenced"]
    assert many.unreferenced == [UNUSED]
    assert many.referenced == [REFERENCED, "udf-common.jar"]
    assert many.failed == [MISSING] and not many.all_unreferenced
    referenced = many.outcome(REFERENCED).jobs
    assert referenced is not None and referenced.job_ids == server_ids(emulator, REFERENCED)
    missing = many.outcome(MISSING)
    assert missing.error is not None and missing.error.code == "Package.NotExist"
    assert missing.to_dict()["error_code"] == "Package.NotExist"


def test_duplicate_names_are_asked_once(emulator: FoasEmulator) -> None:
    with client(emulator) as c:
        many = c.list_many(Query(PROJECT, (UNUSED, UNUSED, REFERENCED)))
    assert [o.package_name for o in many] == [UNUSED, REFERENCED]
    assert len(emulator.requests) == 2


def test_an_error_never_reads_as_unreferenced(emulator: FoasEmulator) -> None:
    """Every request of one jar fails: that jar is an error, the others keep their own verdicts."""
    emulator.faults.add("html", times=None, status=502)
    with client(emulator) as c:
        many = c.list_many(Query(PROJECT, (UNUSED, REFERENCED)))
    assert many.unreferenced == [] and many.referenced == []
    assert many.failed == [UNUSED, REFERENCED]
    assert all(o.error is not None and o.error.code == "HTTP502" for o in many)


def test_a_torn_listing_is_an_error_not_unreferenced(empty_emulator: FoasEmulator) -> None:
    state = empty_emulator.state
    state.add_package(PROJECT, "empty.jar")
    for job in generate_jobs(PROJECT, "busy.jar", 3):
        state.put_job(PROJECT, job)
    # both reads of the first jar (sequential at concurrency 1) claim two jobs and list none
    empty_emulator.faults.add("raw_body", times=2, params={"body": json.dumps(
        {"RequestId": "R", "TotalCount": 2, "TotalPage": 1, "PageSize": 50, "Jobs": {"Job": []}})})
    with client(empty_emulator, max_concurrency=1) as c:
        many = c.list_many(Query(PROJECT, ("empty.jar", "busy.jar")))
    torn = many.outcome("empty.jar")
    assert torn.verdict == "error" and torn.error is not None
    assert torn.error.code == "InconsistentListing"
    assert many.outcome("busy.jar").verdict == "referenced"
    assert many.unreferenced == []


def test_a_count_mismatch_without_jobs_is_undecided() -> None:
    doubtful = JobList(PROJECT, "x.jar", (), server_total_count=1, consistent=False,
                       inconsistency="read 0 distinct jobs but the service reports TotalCount 1")
    outcome = PackageOutcome("x.jar", jobs=doubtful)
    assert outcome.verdict == "error" and "TotalCount 1" in outcome.detail
    assert ManyJobLists(PROJECT, (outcome,)).unreferenced == []
    referenced = JobList(PROJECT, "y.jar", (Job("j1"),), consistent=False, inconsistency="torn")
    assert PackageOutcome("y.jar", jobs=referenced).verdict == "referenced"


def test_many_jars_share_one_throttle_budget_and_survive_a_throttling_service(
        empty_emulator: FoasEmulator) -> None:
    """30 jars of 1-3 pages at the default concurrency against a service that throttles above 4."""
    state = empty_emulator.state
    names = [f"udf-1.2.{i}.jar" for i in range(30)]
    for i, name in enumerate(names):
        state.add_package(PROJECT, name)
        for job in generate_jobs(PROJECT, name, [0, 5, 12][i % 3], seed=i):
            state.put_job(PROJECT, job)
    empty_emulator.max_in_flight = 4
    empty_emulator.latency_ms = 20  # requests overlap, as against a real service
    policy = RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.02, throttle_base_delay=0.002)
    with client(empty_emulator, retry_policy=policy) as c:  # the default concurrency
        assert c.limiter.maximum == DEFAULT_MAX_CONCURRENCY == 16
        many = c.list_many(Query(PROJECT, tuple(names), page_size=5))
        limiter = c.limiter
    assert empty_emulator.throttled > 0
    assert limiter.throttle_events == empty_emulator.throttled
    assert limiter.lowest_limit <= 4 < limiter.maximum
    assert many.failed == []
    for i, name in enumerate(names):
        outcome = many.outcome(name)
        assert outcome.jobs is not None and outcome.jobs.job_ids == server_ids(empty_emulator, name)
        assert outcome.verdict == ("unreferenced" if i % 3 == 0 else "referenced")


def test_query_rejects_bad_package_lists_before_any_request(emulator: FoasEmulator) -> None:
    for bad in ((), ("ok.jar", ""), ("ok.jar", ".."), "not-a-tuple-but-fine", 42):
        if bad == "not-a-tuple-but-fine":
            assert Query(PROJECT, bad).package_names == (bad,)  # type: ignore[arg-type]
            continue
        with pytest.raises(InvalidInputError):
            Query(PROJECT, bad)  # type: ignore[arg-type]
    assert len(emulator.requests) == 0


# --- the CLI ------------------------------------------------------------------------------


def cli(emu: FoasEmulator, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--project", PROJECT, "--endpoint", emu.url])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_every_jar_unreferenced_exits_0(emulator_env: FoasEmulator,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    emulator_env.state.add_package(PROJECT, "spare.jar")
    code, out, _ = cli(emulator_env, capsys, "check-unreferenced", "--package", UNUSED,
                       "--package", "spare.jar")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["PACKAGE", "VERDICT", "JOBS", "DETAIL"]
    assert lines[1].split() == [UNUSED, "unreferenced", "0"]
    assert lines[2].split() == ["spare.jar", "unreferenced", "0"]
    assert lines[3].startswith("2 of 2 packages unreferenced")


def test_check_any_referenced_exits_3(emulator_env: FoasEmulator,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(emulator_env, capsys, "check-unreferenced", "--package", UNUSED,
                       "--package", REFERENCED)
    assert code == 3
    row = next(line for line in out.splitlines() if line.startswith(REFERENCED))
    assert row.split()[1:3] == ["referenced", str(len(server_ids(emulator_env, REFERENCED)))]


def test_check_any_error_exits_1_and_keeps_the_other_verdicts(
        emulator_env: FoasEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(emulator_env, capsys, "check-unreferenced", "--package", UNUSED,
                       "--package", REFERENCED, "--package", MISSING, "--format", "json")
    assert code == 1
    body = json.loads(out)
    assert body["exit_code"] == 1
    assert [(p["package_name"], p["verdict"]) for p in body["packages"]] == [
        (UNUSED, "unreferenced"), (REFERENCED, "referenced"), (MISSING, "error")]
    assert body["unreferenced"] == [UNUSED] and body["failed"] == [MISSING]
    assert body["packages"][2]["error_code"] == "Package.NotExist"
    assert body["packages"][1]["job_ids"] == server_ids(emulator_env, REFERENCED)


def test_packages_from_a_file_and_from_stdin(emulator_env: FoasEmulator, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    listing = tmp_path / "jars.txt"
    listing.write_text(f"# jars to clean up\n{UNUSED}\n\n  {REFERENCED}  \n", encoding="utf-8")
    code, out, _ = cli(emulator_env, capsys, "check-unreferenced", "--packages-from", str(listing),
                       "--format", "json")
    assert code == 3
    assert [p["package_name"] for p in json.loads(out)["packages"]] == [UNUSED, REFERENCED]
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{UNUSED}\n"))
    code, out, _ = cli(emulator_env, capsys, "check-unreferenced", "--package", "x.jar",
                       "--packages-from", "-", "--format", "json")
    assert code == 1  # x.jar does not exist
    assert [p["package_name"] for p in json.loads(out)["packages"]] == ["x.jar", UNUSED]


def test_packages_from_a_missing_file_is_one_line(emulator_env: FoasEmulator, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(emulator_env, capsys, "check-unreferenced", "--packages-from",
                         str(tmp_path / "nope.txt"))
    assert code == 1 and out == ""
    assert err.startswith("error: InvalidInput: cannot read --packages-from") and err.count("\n") == 1
    assert len(emulator_env.requests) == 0


def test_list_takes_several_packages(emulator_env: FoasEmulator,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(emulator_env, capsys, "list", "--package", REFERENCED, "--package", UNUSED,
                       "--format", "json")
    assert code == 0
    packages = json.loads(out)["packages"]
    assert [p["package_name"] for p in packages] == [REFERENCED, UNUSED]
    assert [j["job_id"] for j in packages[0]["jobs"]] == server_ids(emulator_env, REFERENCED)
    assert packages[1]["jobs"] == [] and packages[1]["total_count"] == 0
    code, out, err = cli(emulator_env, capsys, "list", "--package", REFERENCED, "--package", MISSING)
    assert code == 1
    assert f"jobs reference {REFERENCED}" in out and f"{MISSING}: error: " in out
    assert f"error: {MISSING}: " in err
