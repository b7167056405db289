"""Jobs created or removed while the pages of one listing are read, and servers whose paging lies.

The emulator's `before_request` hooks change its data between page requests.
Outcomes: the listing is complete (after at most one re-list), or it says it is
not (JobList.consistent False: `list` warns, `check-unreferenced` and the
deletion guard refuse), or it raises InconsistentListingError. Never a shorter
list that calls itself complete.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from _figures import record
from clients import client_for_server
from foas_refjobs import FoasClient, InconsistentListingError, RetryPolicy
from foas_refjobs.cli import main
from foas_refjobs.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    EmulatorState,
    FoasEmulator,
)
from foas_refjobs.emulator.datagen import generate_job, generate_jobs
from foas_refjobs.model import Job, Page
from foas_refjobs.operation import GET_REF_PACKAGE_JOB
from foas_refjobs.paging import MAX_GROWTH_ROUNDS, collect_all_pages

PROJECT, PACKAGE = "bayes_team", "udf.jar"
PAGE_SIZE = 10
JOBS = 25  # three pages: 10, 10, 5


@pytest.fixture
def emu(emulator_with: Callable[[EmulatorState], FoasEmulator]) -> FoasEmulator:
    return emulator_with(EmulatorState.with_jobs(PROJECT, PACKAGE, generate_jobs(PROJECT, PACKAGE, JOBS)))


def client_for(emu: FoasEmulator, concurrency: int = 1) -> FoasClient:
    return client_for_server(emu, max_concurrency=concurrency,
                             retry_policy=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02))


def live_ids(emu: FoasEmulator) -> list[str]:
    return [j["JobId"] for j in emu.state.referencing_jobs(PROJECT, PACKAGE)]


_counter = itertools.count(10_000)


def new_job() -> dict[str, Any]:
    return generate_job(PROJECT, [PACKAGE], next(_counter))


def on_request(emu: FoasEmulator, numbers: Callable[[int], bool],
               change: Callable[[EmulatorState], None]) -> None:
    emu.before_request.append(lambda n: change(emu.state) if numbers(n) else None)


def remove_first(state: EmulatorState) -> None:
    state.remove_job(PROJECT, state.referencing_jobs(PROJECT, PACKAGE)[0]["JobId"])


def move_fourth_to_end(state: EmulatorState) -> None:
    job = state.referencing_jobs(PROJECT, PACKAGE)[3]
    state.remove_job(PROJECT, job["JobId"])
    state.put_job(PROJECT, job)


# id, which requests change the data, the change, requests the listing needs
ONE_CHANGE = [
    ("remove-a-read-job", lambda n: n == 2, remove_first, 6),
    ("add-a-job", lambda n: n == 2, lambda s: s.put_job(PROJECT, new_job()), 6),
    ("move-a-read-job-to-the-end", lambda n: n == 2, move_fourth_to_end, 6),
    ("remove-an-unread-job", lambda n: n == 3,
     lambda s: s.remove_job(PROJECT, s.referencing_jobs(PROJECT, PACKAGE)[-1]["JobId"]), 6),
    ("add-then-remove-before-page-1", lambda n: n == 1,
     lambda s: (s.put_job(PROJECT, new_job()), remove_first(s)), 3),
]


@pytest.mark.parametrize(("numbers", "change", "requests"),
                         [pytest.param(*row[1:], id=row[0]) for row in ONE_CHANGE])
def test_one_change_during_the_read_ends_in_the_complete_current_list(
        emu: FoasEmulator, numbers: Callable[[int], bool], change: Callable[[EmulatorState], None],
        requests: int) -> None:
    """Removing a job from a page already read shifts the next page's first job onto it: that job
    is missed although the final counts agree. A TotalCount that moved between pages triggers the
    re-list that finds it."""
    on_request(emu, numbers, change)
    with client_for(emu) as client:
        jobs = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=PAGE_SIZE)
    wrong = int(jobs.job_ids != live_ids(emu))
    record("consistency", case="one-change", wrong=wrong, requests=emu.faults.requests)
    assert jobs.job_ids == live_ids(emu)
    assert len(set(jobs.job_ids)) == len(jobs.job_ids)
    assert jobs.consistent and jobs.inconsistency is None
    assert emu.faults.requests == requests


def test_duplicates_across_pages_are_dropped_by_job_id() -> None:
    """A job seen on two pages (the service shifted it) counts once; the order is the first sighting."""
    a, b, c = (Job(job_id=x) for x in "abc")
    pages = {1: Page(1, 2, 3, 2, (a, b), "r1"), 2: Page(2, 2, 3, 2, (b, c), "r2")}
    result = collect_all_pages(lambda index, _size: pages[index], GET_REF_PACKAGE_JOB,
                               RetryPolicy(max_attempts=1), page_size=2, max_concurrency=1)
    assert [j.job_id for j in result.items] == ["a", "b", "c"]
    assert result.problem is None and result.pages_fetched == 2
    record("consistency", case="dedup", wrong=0)


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("aab", "cd", "abcd"),    # a job twice on one page
    ("ab", "cdc", "abcd"),
    ("ab", "cdb", "abcd"),    # a later page repeats one job and brings new ones
    ("ab", "ba", "ab"),
])
def test_each_job_id_counts_once_in_the_order_first_seen(first: str, second: str,
                                                         expected: str) -> None:
    pages = {1: Page(1, 3, 4, 2, tuple(Job(job_id=x) for x in first), "r1"),
             2: Page(2, 3, 4, 2, tuple(Job(job_id=x) for x in second), "r2")}
    result = collect_all_pages(lambda index, _size: pages[index], GET_REF_PACKAGE_JOB,
                               RetryPolicy(max_attempts=1), page_size=3, max_concurrency=1)
    assert "".join(j.job_id for j in result.items) == expected
    assert (result.problem is None) == (len(expected) == 4)


# --- churn on every request: the listing says it is not trustworthy ---------------------------


@pytest.fixture
def churning(emu: FoasEmulator) -> FoasEmulator:
    """A job is created before every request after the first: no two pages agree on TotalCount."""
    on_request(emu, lambda n: n > 1, lambda s: s.put_job(PROJECT, new_job()))
    return emu


@pytest.mark.parametrize("concurrency", [1, 4])
def test_churn_through_both_reads_is_reported_not_hidden(churning: FoasEmulator, concurrency: int) -> None:
    with client_for(churning, concurrency) as client:
        jobs = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=PAGE_SIZE)
    record("consistency", case="churn", wrong=int(jobs.consistent))
    assert not jobs.consistent
    assert jobs.inconsistency and "TotalCount changed" in jobs.inconsistency
    with pytest.raises(InconsistentListingError) as info:
        jobs.require_consistent()
    assert "refusing to decide" in str(info.value)


def _cli(emu: FoasEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         command: str) -> tuple[int, str, str]:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEFAULT_ACCESS_KEY_SECRET)
    code = main([command, "--project", PROJECT, "--package", PACKAGE, "--endpoint", emu.url,
                 "--page-size", str(PAGE_SIZE), "--max-concurrency", "1"])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_list_warns_on_stderr_and_keeps_exit_0(churning: FoasEmulator, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(churning, monkeypatch, capsys, "list")
    assert code == 0
    assert err.startswith("warning: TotalCount changed") and "listing may be incomplete" in err
    assert err.count("\n") == 1
    assert "jobs reference udf.jar" in out


def test_cli_check_unreferenced_refuses(churning: FoasEmulator, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(churning, monkeypatch, capsys, "check-unreferenced")
    assert code == 1
    assert out == ""
    assert err.startswith("error: InconsistentListing: ") and err.count("\n") == 1


# --- servers whose paging lies: cut off after a bound, reported --------------------------------

LIES = [
    ("total-page-grows-forever", "grow_total_page", {"times": None}),
    ("pages-repeat", "ignore_page_index", {"times": None}),
    ("empty-page-with-jobs-missing", "raw_body", {"after": 1, "times": None, "params": {"body": (
        '{"RequestId": "R", "TotalCount": 25, "TotalPage": 3, "PageSize": 10, "Jobs": {"Job": []}}')}}),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("kind", "options"), [pytest.param(k, o, id=i) for i, k, o in LIES])
@pytest.mark.parametrize("concurrency", [1, 4])
def test_lying_pagination_raises_after_a_bounded_number_of_requests(
        emu: FoasEmulator, kind: str, options: dict[str, Any], concurrency: int) -> None:
    emu.faults.add(kind, **options)
    with client_for(emu, concurrency) as client, pytest.raises(InconsistentListingError) as info:
        client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=PAGE_SIZE)
    record("consistency", case=kind, wrong=0, requests=emu.faults.requests)
    assert "paging is inconsistent" in str(info.value)
    # two reads, each cut off after at most MAX_GROWTH_ROUNDS + 1 rounds of page requests
    assert emu.faults.requests <= 2 * (1 + (MAX_GROWTH_ROUNDS + 1) * 2 * 25)


def test_total_page_over_the_bound_is_refused_without_fetching_it(emu: FoasEmulator) -> None:
    emu.faults.add("grow_total_page", times=None)
    with client_for(emu) as client, pytest.raises(InconsistentListingError) as info:
        client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=PAGE_SIZE, max_pages=2)
    assert "over the bound of 2" in str(info.value)
    assert emu.faults.requests == 2  # page 1 of each read, nothing else
    record("consistency", case="total-page-over-bound", wrong=0, requests=emu.faults.requests)


def test_a_single_lie_is_survived_by_the_re_list(emu: FoasEmulator) -> None:
    emu.faults.add("ignore_page_index", after=1, times=1)
    with client_for(emu) as client:
        jobs = client.list_ref_package_jobs(PROJECT, PACKAGE, page_size=PAGE_SIZE)
    assert jobs.job_ids == live_ids(emu) and jobs.consistent
    assert emu.faults.requests == 6
    record("consistency", case="single-lie", wrong=int(jobs.job_ids != live_ids(emu)))


# --- the deletion guard fails closed ----------------------------------------------------------


def _guard_provider(emu: FoasEmulator) -> Any:
    resources = pytest.importorskip("foas_refjobs.resources")
    from pulumi.dynamic import ConfigureRequest

    provider = resources.PackageDeletionGuardProvider(max_attempts=1)
    config = {"foas:accessKeyId": DEFAULT_ACCESS_KEY_ID, "foas:accessKeySecret": DEFAULT_ACCESS_KEY_SECRET,
              "foas:endpoint": emu.url}
    provider.configure(ConfigureRequest(SimpleNamespace(get=config.get)))  # type: ignore[arg-type]
    return provider


def test_guard_refuses_to_delete_on_an_inconsistent_listing(churning: FoasEmulator) -> None:
    """Three pages of 50 (the guard's page size) with a job created before every request."""
    resources = pytest.importorskip("foas_refjobs.resources")
    for job in generate_jobs(PROJECT, PACKAGE, 100, seed=8):
        churning.state.put_job(PROJECT, job)
    provider = _guard_provider(churning)
    props = {"project_name": PROJECT, "package_name": PACKAGE, "block_on": "any"}
    with pytest.raises(resources.GuardCheckFailedError) as info:
        provider.delete("guard-1", props)
    assert "InconsistentListing" in str(info.value)


def test_guard_refuses_when_the_count_cannot_be_met(emu: FoasEmulator) -> None:
    """One job listed, TotalCount 2, on every read: refused as doubtful, not as 'in use'."""
    resources = pytest.importorskip("foas_refjobs.resources")
    emu.faults.add("raw_body", times=None, params={"body": (
        '{"RequestId": "R", "TotalCount": 2, "TotalPage": 1, "PageSize": 50, '
        '"Jobs": {"Job": [{"JobId": "j-1", "JobName": "only"}]}}')})
    provider = _guard_provider(emu)
    with pytest.raises(resources.GuardCheckFailedError) as info:
        provider.delete("guard-1", {"project_name": PROJECT, "package_name": PACKAGE, "block_on": "any"})
    assert "InconsistentListing" in str(info.value) and "TotalCount 2" in str(info.value)
    assert emu.faults.requests == 2


def test_guard_refuses_when_pagination_lies_even_if_no_job_is_read(emu: FoasEmulator) -> None:
    """Every page after the first is empty while TotalCount says 25: never 'unreferenced'."""
    resources = pytest.importorskip("foas_refjobs.resources")
    emu.faults.add("raw_body", times=None, params={"body": (
        '{"RequestId": "R", "TotalCount": 25, "TotalPage": 3, "PageSize": 10, "Jobs": {"Job": []}}')})
    provider = _guard_provider(emu)
    with pytest.raises(resources.GuardCheckFailedError):
        provider.delete("guard-1", {"project_name": PROJECT, "package_name": PACKAGE, "block_on": "any"})


@pytest.mark.parametrize("block_on", ["bogus", "", "ANY ", 1, None])
def test_guard_check_rejects_unknown_block_on(block_on: Any) -> None:
    resources = pytest.importorskip("foas_refjobs.resources")
    result = resources.PackageDeletionGuardProvider().check(
        {}, {"project_name": PROJECT, "package_name": PACKAGE, "block_on": block_on})
    if block_on in ("ANY ", None):  # normalised / defaulted, not an error
        assert result.failures == []
        assert result.inputs["block_on"] == "any"
        return
    assert [f.property for f in result.failures] == ["block_on"]
    assert "block_on must be one of any, committed" in result.failures[0].reason
    record("bad_input", case=f"block_on:{block_on!r}", requests=0)
