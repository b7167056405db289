"""The dynamic providers, driven over gRPC through the real provider host, against the emulator.

Calls are made as the engine makes them: Configure with the stack config
(namespaced keys, secrets marked), Check on the program's inputs, Diff/Update/
Delete with the previous *outputs* as olds, Read with the outputs of the last
operation. configure() runs once per serialized-provider string per host
process, so each test serializes a provider of its own (a distinct timeout).
"""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from foas_refjobs import Job, PackageDeletionGuardProvider, RefPackageJobsProvider
from foas_refjobs.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    FoasEmulator,
)
from foas_refjobs.resources import GuardCheckFailedError, jobs_digest
from isolation import child_env
from pulumi_host import ProviderCallError, ProviderHost, stack_config

PROJECT = "bayes_team"
PACKAGE = "blink_test_datastream.jar"
UNUSED = "unused-udf.jar"
STS_ID, STS_SECRET, STS_TOKEN = "STS.EmulatorDemoKey", "emulator-sts-secret", "emulator-sts-token-CAIS"
WRONG_SECRET = "wrong-secret-that-must-never-leak"
NO_FOAS_KEYS: dict[str, str | None] = {"accessKeyId": None, "accessKeySecret": None}
STS_KEYS = {"accessKeyId": STS_ID, "accessKeySecret": STS_SECRET, "securityToken": STS_TOKEN}
DEMO_ALICLOUD_KEYS = {"accessKey": DEFAULT_ACCESS_KEY_ID, "secretKey": DEFAULT_ACCESS_KEY_SECRET}
NEVER_SEEN = (DEFAULT_ACCESS_KEY_SECRET, STS_SECRET, STS_TOKEN, WRONG_SECRET)
JOB_FIELDS = {f.name for f in fields(Job)}

def referencing_ids(emu: FoasEmulator, package: str = PACKAGE, *, committed_only: bool = False,
                    job_type: str | None = None) -> list[str]:
    return [j["JobId"] for j in emu.state.referencing_jobs(PROJECT, package)
            if (not committed_only or j.get("IsCommitted") is True)
            and (job_type is None or j.get("JobType") == job_type)]


def assert_no_secrets(host: ProviderHost, *providers: str) -> None:
    """Nothing the host returned or printed, and no provider string, carries a secret."""
    blobs = [host.transcript.blob(), host.output()]
    blobs += [base64.b64decode(p) for p in providers]
    blobs += [p.encode() for p in providers]
    for blob in blobs:
        for value in NEVER_SEEN:
            assert value.encode() not in blob


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderHost]:
    workdir = tmp_path_factory.mktemp("provider-host")
    with ProviderHost(workdir, env=child_env(tmp_path_factory.mktemp("host-home"))) as h:
        yield h
    assert h.process.returncode is not None


def create_ref(host: ProviderHost, provider: str, **inputs: Any) -> tuple[str, dict[str, Any],
                                                                             dict[str, Any]]:
    news = {"project_name": PROJECT, "package_name": PACKAGE, **inputs}
    checked, failures = host.check(provider, news)
    assert failures == []
    id_, outs = host.create(provider, checked)
    return id_, checked, outs


# --- RefPackageJobs --------------------------------------------------------------------


def test_create_lists_exactly_the_jobs_the_service_has(host: ProviderHost,
                                                       emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    id_, checked, outs = create_ref(host, provider, enable_details=True)
    expected = referencing_ids(emulator)
    assert len(expected) == 15
    assert id_.startswith("refjobs-")
    assert outs["job_ids"] == expected
    assert outs["job_names"] == [j["JobName"] for j in emulator.state.referencing_jobs(PROJECT, PACKAGE)]
    assert outs["total_count"] == 15
    assert outs["referenced"] is True
    assert outs["consistent"] is True
    assert outs["project_name"] == PROJECT and outs["package_name"] == PACKAGE
    assert outs["committed_only"] is False and outs["enable_details"] is True
    assert [j["job_id"] for j in outs["jobs"]] == expected
    assert all(set(j) == JOB_FIELDS for j in outs["jobs"])
    assert outs["jobs"][0]["packages"] == [PACKAGE]
    assert Job.from_dict(outs["jobs"][0]).create_time == 1551161842000
    assert checked["jobs_digest"] == outs["jobs_digest"]
    assert outs["jobs_digest"].startswith("sha256:")
    assert_no_secrets(host, provider)


def test_per_job_detail_is_opt_in(host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    _id, checked, outs = create_ref(host, provider)
    assert "jobs" not in outs and outs["enable_details"] is False
    assert outs["job_ids"] == referencing_ids(emulator) and outs["total_count"] == 15
    assert outs["referenced"] is True and len(outs["job_names"]) == 15
    _id, _checked, detailed = create_ref(host, provider, enable_details=True)
    assert len(detailed["jobs"]) == 15
    assert detailed["jobs_digest"] != outs["jobs_digest"] == checked["jobs_digest"]


def test_update_records_the_listing_its_check_planned_on(host: ProviderHost,
                                                          emulator: FoasEmulator) -> None:
    """check lists; create/update moments later reuse that listing when its digest is the planned one."""
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    pages = -(-15 // 50)
    before = len(emulator.requests)
    id_, checked, outs = create_ref(host, provider)
    assert len(emulator.requests) - before == pages
    emulator.state.put_job(PROJECT, {"JobId": "reuse-1", "JobName": "reuse_job", "Packages": PACKAGE})
    before = len(emulator.requests)
    news, _ = host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE})
    updated = host.update(provider, id_, outs, news)
    assert len(emulator.requests) - before == pages
    assert "reuse-1" in updated["job_ids"] and updated["jobs_digest"] == news["jobs_digest"]
    # Nothing to reuse (a second update, or a digest that is not the planned one): list again.
    before = len(emulator.requests)
    assert host.update(provider, id_, updated, news)["total_count"] == 16
    stale = {**news, "jobs_digest": checked["jobs_digest"]}
    host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE})
    assert host.update(provider, id_, updated, stale)["total_count"] == 16
    assert len(emulator.requests) - before == 3 * pages


def test_the_host_probes_the_page_size_once_per_settings(host: ProviderHost,
                                                         emulator: FoasEmulator) -> None:
    """The host keeps one client per settings: a second listing sends no page-size probe."""
    package = "probe-once.jar"
    for n in range(120):
        emulator.state.put_job(PROJECT, {"JobId": f"probe-{n:03d}", "JobName": f"probe_{n}",
                                         "Packages": package})
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    news = {"project_name": PROJECT, "package_name": package}

    def listing() -> list[tuple[str, int]]:
        before = len(emulator.requests)
        checked, failures = host.check(provider, news)
        assert failures == [] and checked["jobs_digest"].startswith("sha256:")
        return [(r.query["pageSize"], r.status) for r in list(emulator.requests)[before:]]

    first = listing()
    assert ("1000", 400) in first and ("200", 400) in first  # discovery: refused sizes
    second = listing()
    assert second == [("100", 200), ("100", 200)]
    assert_no_secrets(host, provider)


def test_preview_is_quiet_when_nothing_changed(host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    id_, _checked, outs = create_ref(host, provider)
    again, failures = host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE})
    assert failures == []
    assert again["jobs_digest"] == outs["jobs_digest"]
    diff = host.diff(provider, id_, outs, again)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    assert list(diff.replaces) == []


def test_second_up_rereads_the_live_list(host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    id_, _checked, outs = create_ref(host, provider)

    emulator.state.put_job(PROJECT, {"JobId": "new-job-1", "JobName": "fresh_job",
                                     "Packages": PACKAGE, "IsCommitted": True,
                                     "JobType": "FLINK_STREAM"})
    news, _ = host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE})
    assert news["jobs_digest"] != outs["jobs_digest"]
    diff = host.diff(provider, id_, outs, news)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []

    updated = host.update(provider, id_, outs, news)
    assert updated["total_count"] == 16
    assert updated["job_ids"] == referencing_ids(emulator)
    assert "new-job-1" in updated["job_ids"] and "fresh_job" in updated["job_names"]
    assert updated["jobs_digest"] == news["jobs_digest"]

    third, _ = host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE})
    assert host.diff(provider, id_, updated, third).changes == provider_pb2.DiffResponse.DIFF_NONE


def test_a_modified_job_changes_the_digest_of_what_is_recorded(host: ProviderHost,
                                                               emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    plain_id, _checked, plain = create_ref(host, provider)
    detail_id, _checked, detailed = create_ref(host, provider, enable_details=True)
    job = emulator.state.referencing_jobs(PROJECT, PACKAGE)[3]
    emulator.state.put_job(PROJECT, {**job, "ModifyTime": job["ModifyTime"] + 1000})
    query = {"project_name": PROJECT, "package_name": PACKAGE}
    news, _ = host.check(provider, {**query, "enable_details": True})
    assert host.diff(provider, detail_id, detailed, news).changes == provider_pb2.DiffResponse.DIFF_SOME
    news, _ = host.check(provider, query)
    assert host.diff(provider, plain_id, plain, news).changes == provider_pb2.DiffResponse.DIFF_NONE
    emulator.state.put_job(PROJECT, {**job, "JobName": "renamed_job"})
    news, _ = host.check(provider, query)
    assert host.diff(provider, plain_id, plain, news).changes == provider_pb2.DiffResponse.DIFF_SOME


def test_refresh_reads_the_new_list_and_keeps_inputs(host: ProviderHost,
                                                     emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    id_, checked, outs = create_ref(host, provider)
    assert emulator.state.remove_jobs_referencing(PROJECT, PACKAGE) == 15

    read_id, refreshed, inputs = host.read(provider, id_, outs, inputs=checked)
    assert read_id == id_
    assert refreshed["total_count"] == 0
    assert refreshed["referenced"] is False
    assert refreshed["job_ids"] == [] and "jobs" not in refreshed
    assert refreshed["jobs_digest"] == jobs_digest([], details=False)
    assert set(inputs) <= {"__provider"}

    only_inputs_id, from_inputs, _ = host.read(provider, id_, None, inputs=checked)
    assert only_inputs_id == id_ and from_inputs["total_count"] == 0


def test_input_changes_are_updates_not_replaces(host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    id_, _checked, outs = create_ref(host, provider)
    for change in ({"package_name": UNUSED}, {"committed_only": True},
                   {"job_type": "flink_batch"}, {"endpoint": emulator.url},
                   {"region_id": "cn-shanghai"}):
        news, failures = host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE,
                                               **change})
        assert failures == []
        diff = host.diff(provider, id_, outs, news)
        assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME, change
        assert list(diff.replaces) == []

    news, _ = host.check(provider, {"project_name": PROJECT, "package_name": UNUSED})
    updated = host.update(provider, id_, outs, news)
    assert updated["package_name"] == UNUSED
    assert updated["total_count"] == 0 and updated["referenced"] is False


def test_filters_match_the_service_data(host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    _id, checked, outs = create_ref(host, provider, job_type="flink_batch", committed_only=True,
                                    enable_details=True)
    assert checked["job_type"] == "FLINK_BATCH"
    expected = referencing_ids(emulator, committed_only=True, job_type="FLINK_BATCH")
    assert expected and len(expected) < 15
    assert outs["job_ids"] == expected
    assert outs["total_count"] == len(expected)
    assert all(j["is_committed"] is True and j["job_type"] == "FLINK_BATCH" for j in outs["jobs"])


def test_unknown_inputs_leave_the_digest_unknown_without_a_request(
        host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    id_, _checked, outs = create_ref(host, provider)
    before = emulator.faults.requests
    news, failures = host.check(provider, {"project_name": PROJECT, "package_name": rpc.UNKNOWN})
    assert failures == []
    assert isinstance(news["jobs_digest"], Unknown)
    assert isinstance(news["package_name"], Unknown)
    assert emulator.faults.requests == before
    assert host.diff(provider, id_, outs, news).changes == provider_pb2.DiffResponse.DIFF_SOME


@pytest.mark.parametrize(("inputs", "bad"), [
    ({"project_name": PROJECT, "package_name": ".."}, "package_name"),
    ({"project_name": "", "package_name": PACKAGE}, "project_name"),
    ({"package_name": PACKAGE}, "project_name"),
    ({"project_name": PROJECT, "package_name": PACKAGE, "job_type": "SPARK"}, "job_type"),
    ({"project_name": PROJECT, "package_name": PACKAGE, "committed_only": "yes"}, "committed_only"),
    ({"project_name": PROJECT, "package_name": PACKAGE, "endpoint": "ftp://x"}, "endpoint"),
    ({"project_name": PROJECT, "package_name": PACKAGE, "region_id": "Not A Region"}, "region_id"),
])
def test_bad_inputs_are_check_failures_before_any_request(
        host: ProviderHost, emulator: FoasEmulator, inputs: dict[str, Any], bad: str) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    _checked, failures = host.check(provider, inputs)
    assert [p for p, _reason in failures] == [bad]
    assert emulator.faults.requests == 0


def test_listing_errors_fail_check_with_the_service_message(host: ProviderHost,
                                                            emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    with pytest.raises(ProviderCallError) as caught:
        host.check(provider, {"project_name": "no_such_project", "package_name": PACKAGE})
    assert "Project.NotExist" in caught.value.details
    assert_no_secrets(host, provider)


def test_deleting_the_data_source_sends_nothing(host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url))
    id_, _checked, outs = create_ref(host, provider)
    before = emulator.faults.requests
    host.delete(provider, id_, outs)
    assert emulator.faults.requests == before


# --- PackageDeletionGuard --------------------------------------------------------------


def create_guard(host: ProviderHost, provider: str, **inputs: Any) -> tuple[str, dict[str, Any]]:
    checked, failures = host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE,
                                              **inputs})
    assert failures == []
    return host.create(provider, checked)


def test_guard_follows_its_jar(host: ProviderHost, emulator: FoasEmulator) -> None:
    """A new jar id, or one not known yet (the engine's probe for delete-before-replace), replaces
    the guard; a guard from before `jar=` takes the id in place."""
    provider = host.provider(PackageDeletionGuardProvider, stack_config(emulator.url))
    query = {"project_name": PROJECT, "package_name": PACKAGE}
    id_, outs = create_guard(host, provider, jar_id="bucket:jars/a.jar")
    assert outs["jar_id"] == "bucket:jars/a.jar"
    same, _ = host.check(provider, {**query, "jar_id": "bucket:jars/a.jar"})
    assert host.diff(provider, id_, outs, same).changes == provider_pb2.DiffResponse.DIFF_NONE
    for jar_id in ("bucket:jars/b.jar", rpc.UNKNOWN):
        news, failures = host.check(provider, {**query, "jar_id": jar_id})
        assert failures == []
        diff = host.diff(provider, id_, outs, news)
        assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
        assert list(diff.replaces) == ["jar_id"]
    old_id, old_outs = create_guard(host, provider)
    assert "jar_id" not in old_outs
    news, _ = host.check(provider, {**query, "jar_id": "bucket:jars/a.jar"})
    diff = host.diff(provider, old_id, old_outs, news)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME and list(diff.replaces) == []
    assert host.check(provider, {**query, "jar_id": 7})[1][0][0] == "jar_id"


def test_guard_create_is_offline_and_delete_refuses_naming_every_job(
        host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(PackageDeletionGuardProvider, stack_config(emulator.url))
    id_, outs = create_guard(host, provider)
    assert emulator.faults.requests == 0
    assert outs["block_on"] == "any"

    with pytest.raises(ProviderCallError) as caught:
        host.delete(provider, id_, outs)
    details = caught.value.details
    assert "PackageInUse" in details and "15 job(s)" in details
    for job in emulator.state.referencing_jobs(PROJECT, PACKAGE):
        assert f"- {job['JobName']} (id {job['JobId']})" in details
    assert "pulumi state delete" in details
    assert "remove the package from them" in details

    assert emulator.state.remove_jobs_referencing(PROJECT, PACKAGE) == 15
    host.delete(provider, id_, outs)
    assert_no_secrets(host, provider)


def test_guard_blocking_on_committed_jobs_ignores_drafts(host: ProviderHost,
                                                         empty_emulator: FoasEmulator) -> None:
    emu = empty_emulator
    for n in (1, 2):
        emu.state.put_job(PROJECT, {"JobId": f"draft-{n}", "JobName": f"draft_{n}",
                                    "Packages": PACKAGE, "IsCommitted": False})
    provider = host.provider(PackageDeletionGuardProvider, stack_config(emu.url))

    committed_id, committed_outs = create_guard(host, provider, block_on="committed")
    any_id, any_outs = create_guard(host, provider, block_on="ANY")
    assert committed_outs["block_on"] == "committed" and any_outs["block_on"] == "any"

    with pytest.raises(ProviderCallError) as caught:
        host.delete(provider, any_id, any_outs)
    assert "draft_1 (id draft-1)" in caught.value.details
    host.delete(provider, committed_id, committed_outs)

    emu.state.put_job(PROJECT, {"JobId": "live-1", "JobName": "live_1", "Packages": PACKAGE,
                                "IsCommitted": True})
    with pytest.raises(ProviderCallError) as caught:
        host.delete(provider, committed_id, committed_outs)
    assert "live_1 (id live-1)" in caught.value.details
    assert "draft_1" not in caught.value.details
    assert "committed job(s)" in caught.value.details


def test_guard_fails_closed_when_the_service_keeps_failing(host: ProviderHost,
                                                           empty_emulator: FoasEmulator) -> None:
    provider = host.provider(PackageDeletionGuardProvider, stack_config(empty_emulator.url), max_attempts=2)
    empty_emulator.state.add_package(PROJECT, PACKAGE)
    id_, outs = create_guard(host, provider)
    empty_emulator.faults.add("error", status=503, times=None)
    with pytest.raises(ProviderCallError) as caught:
        host.delete(provider, id_, outs)
    details = caught.value.details
    assert "GuardCheckFailed" in details and "could not confirm" in details
    assert "ServiceUnavailable" in details and "RequestId" in details
    assert empty_emulator.faults.requests == 2


def test_guard_fails_closed_on_a_torn_listing(host: ProviderHost,
                                              empty_emulator: FoasEmulator) -> None:
    for n in range(120):
        empty_emulator.state.put_job(PROJECT, {"JobId": f"job-{n:03d}", "JobName": f"j{n}",
                                               "Packages": PACKAGE, "IsCommitted": True})
    provider = host.provider(PackageDeletionGuardProvider, stack_config(empty_emulator.url))
    id_, outs = create_guard(host, provider)
    empty_emulator.faults.add("ignore_page_index", times=None)
    with pytest.raises(ProviderCallError) as caught:
        host.delete(provider, id_, outs)
    assert "GuardCheckFailed" in caught.value.details
    assert "InconsistentListing" in caught.value.details


def test_guard_fails_closed_with_a_wrong_secret(host: ProviderHost,
                                                emulator: FoasEmulator) -> None:
    config = stack_config(emulator.url, accessKeySecret=WRONG_SECRET)
    provider = host.provider(PackageDeletionGuardProvider, config)
    id_, outs = create_guard(host, provider)
    emulator.state.remove_jobs_referencing(PROJECT, PACKAGE)
    with pytest.raises(ProviderCallError) as caught:
        host.delete(provider, id_, outs)
    assert "GuardCheckFailed" in caught.value.details
    assert "SignatureDoesNotMatch" in caught.value.details
    assert_no_secrets(host, provider)


def test_guard_fails_closed_when_the_endpoint_is_unreachable(host: ProviderHost,
                                                             emulator: FoasEmulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    provider = host.provider(PackageDeletionGuardProvider, stack_config(dead_url), max_attempts=1)
    id_, outs = create_guard(host, provider)
    with pytest.raises(ProviderCallError) as caught:
        host.delete(provider, id_, outs)
    assert "GuardCheckFailed" in caught.value.details
    assert "NetworkError" in caught.value.details


def test_guard_without_credentials_fails_closed(host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(PackageDeletionGuardProvider, stack_config(emulator.url, **NO_FOAS_KEYS))
    id_, outs = create_guard(host, provider)
    with pytest.raises(ProviderCallError) as caught:
        host.delete(provider, id_, outs)
    assert "CredentialsNotFound" in caught.value.details
    assert emulator.faults.requests == 0


def test_guard_identity_changes_replace_other_changes_update(host: ProviderHost,
                                                             emulator: FoasEmulator) -> None:
    provider = host.provider(PackageDeletionGuardProvider, stack_config(emulator.url))
    id_, outs = create_guard(host, provider)
    cases = [
        ({}, provider_pb2.DiffResponse.DIFF_NONE, []),
        ({"package_name": UNUSED}, provider_pb2.DiffResponse.DIFF_SOME, ["package_name"]),
        ({"project_name": "other"}, provider_pb2.DiffResponse.DIFF_SOME, ["project_name"]),
        ({"block_on": "committed"}, provider_pb2.DiffResponse.DIFF_SOME, []),
        ({"region_id": "cn-shanghai"}, provider_pb2.DiffResponse.DIFF_SOME, []),
        ({"package_name": rpc.UNKNOWN}, provider_pb2.DiffResponse.DIFF_SOME, ["package_name"]),
    ]
    for change, changes, replaces in cases:
        news, failures = host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE,
                                               **change})
        assert failures == []
        diff = host.diff(provider, id_, outs, news)
        assert (diff.changes, list(diff.replaces)) == (changes, replaces), change
        assert diff.deleteBeforeReplace is False
    assert emulator.faults.requests == 0


@pytest.mark.parametrize(("inputs", "bad"), [
    ({"block_on": "all"}, "block_on"),
    ({"block_on": 1}, "block_on"),
    ({"package_name": ""}, "package_name"),
    ({"project_name": "  "}, "project_name"),
    ({"package_name": "."}, "package_name"),
])
def test_guard_check_rejects_bad_inputs(host: ProviderHost, emulator: FoasEmulator,
                                        inputs: dict[str, Any], bad: str) -> None:
    provider = host.provider(PackageDeletionGuardProvider, stack_config(emulator.url))
    _checked, failures = host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE,
                                               **inputs})
    assert [p for p, _reason in failures] == [bad]


# --- where settings come from ----------------------------------------------------------


def test_alicloud_keys_are_the_fallback(host: ProviderHost, emulator: FoasEmulator) -> None:
    config = stack_config(emulator.url, **NO_FOAS_KEYS,
                          alicloud={**DEMO_ALICLOUD_KEYS, "region": "cn-beijing"})
    provider = host.provider(RefPackageJobsProvider, config)
    _id, _checked, outs = create_ref(host, provider)
    assert outs["job_ids"] == referencing_ids(emulator)
    assert {r.query.get("RegionId") for r in emulator.requests} == {"cn-beijing"}
    assert {r.access_key_id for r in emulator.requests} == {DEFAULT_ACCESS_KEY_ID}
    assert_no_secrets(host, provider)


def test_foas_keys_win_over_alicloud_keys(host: ProviderHost, emulator: FoasEmulator) -> None:
    config = stack_config(emulator.url, accessKeySecret=WRONG_SECRET, region="cn-shanghai",
                          alicloud={**DEMO_ALICLOUD_KEYS, "region": "cn-beijing"})
    provider = host.provider(RefPackageJobsProvider, config)
    with pytest.raises(ProviderCallError) as caught:
        host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE})
    assert "SignatureDoesNotMatch" in caught.value.details
    assert {r.query.get("RegionId") for r in emulator.requests} == {"cn-shanghai"}
    assert_no_secrets(host, provider)


def test_resource_region_overrides_config(host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url, region="cn-shanghai"))
    _id, _checked, outs = create_ref(host, provider, region_id="cn-shenzhen")
    assert outs["region_id"] == "cn-shenzhen"
    assert {r.query.get("RegionId") for r in emulator.requests} == {"cn-shenzhen"}


def test_half_set_config_pair_is_an_error_naming_the_missing_key(
        host: ProviderHost, emulator: FoasEmulator) -> None:
    provider = host.provider(RefPackageJobsProvider, stack_config(emulator.url, accessKeySecret=None))
    with pytest.raises(ProviderCallError) as caught:
        host.check(provider, {"project_name": PROJECT, "package_name": PACKAGE})
    assert "foas:accessKeySecret is not" in caught.value.details
    assert emulator.faults.requests == 0


def test_sts_token_from_config_is_sent_and_never_returned(host: ProviderHost,
                                                          emulator: FoasEmulator) -> None:
    ref = host.provider(RefPackageJobsProvider, stack_config(emulator.url, **STS_KEYS))
    guard = host.provider(PackageDeletionGuardProvider, stack_config(emulator.url, **STS_KEYS))
    _id, _checked, outs = create_ref(host, ref)
    assert outs["total_count"] == 15
    guard_id, guard_outs = create_guard(host, guard)
    with pytest.raises(ProviderCallError):
        host.delete(guard, guard_id, guard_outs)
    assert {r.access_key_id for r in emulator.requests} == {STS_ID}
    assert_no_secrets(host, ref, guard)


def test_environment_is_the_last_resort(tmp_path: Path, emulator: FoasEmulator) -> None:
    env = child_env(tmp_path, ALIBABA_CLOUD_ACCESS_KEY_ID=DEFAULT_ACCESS_KEY_ID,
                    ALIBABA_CLOUD_ACCESS_KEY_SECRET=DEFAULT_ACCESS_KEY_SECRET,
                    ALIBABA_CLOUD_REGION_ID="cn-hongkong")
    with ProviderHost(tmp_path, env=env, name="env-host") as own:
        provider = own.provider(RefPackageJobsProvider, stack_config(emulator.url, **NO_FOAS_KEYS))
        checked, failures = own.check(provider, {"project_name": PROJECT, "package_name": PACKAGE})
        assert failures == []
        _id, outs = own.create(provider, checked)
        assert outs["job_ids"] == referencing_ids(emulator)
        assert {r.query.get("RegionId") for r in emulator.requests} == {"cn-hongkong"}
        assert DEFAULT_ACCESS_KEY_SECRET.encode() not in own.transcript.blob()
    assert DEFAULT_ACCESS_KEY_SECRET.encode() not in own.output()


def test_pulumi_alicloud_profile_file_and_assume_role_through_the_host(tmp_path: Path,
                                                                      emulator: FoasEmulator) -> None:
    """The keys a pulumi-alicloud stack already has: alicloud:profile in
    alicloud:sharedCredentialsFile, and alicloud:assumeRole (an object, sent as JSON text)."""
    import json

    role = "acs:ram::1234567890:role/pulumi-deployer"
    emulator.state.add_role(role)
    shared = tmp_path / "shared-config.json"
    shared.write_text(json.dumps({"current": "default", "profiles": [
        {"name": "deploy", "mode": "AK", "region_id": "cn-shanghai",
         "access_key_id": DEFAULT_ACCESS_KEY_ID, "access_key_secret": DEFAULT_ACCESS_KEY_SECRET}]}),
        encoding="utf-8")
    env = child_env(tmp_path, ALIBABA_CLOUD_STS_ENDPOINT=emulator.url)
    config = stack_config(emulator.url, **NO_FOAS_KEYS, alicloud={
        "profile": "deploy", "sharedCredentialsFile": str(shared),
        "assumeRole": json.dumps({"roleArn": role, "sessionName": "pulumi", "sessionExpiration": 1800})})
    with ProviderHost(tmp_path, env=env, name="alicloud-host") as own:
        provider = own.provider(RefPackageJobsProvider, config)
        checked, failures = own.check(provider, {"project_name": PROJECT, "package_name": PACKAGE})
        assert failures == []
        _id, outs = own.create(provider, checked)
        assert outs["job_ids"] == referencing_ids(emulator)
        issued = emulator.state.issued
        assert issued and {c.issued_to for c in issued} == {role}
        assert {r.access_key_id for r in emulator.requests} <= {c.access_key_id for c in issued}
        assert {r.query.get("RegionId") for r in emulator.requests} == {"cn-shanghai"}
        blob = own.transcript.blob()
        for secret in (DEFAULT_ACCESS_KEY_SECRET, *(c.access_key_secret for c in issued),
                       *(c.security_token for c in issued)):
            assert secret.encode() not in blob
    assert DEFAULT_ACCESS_KEY_SECRET.encode() not in own.output()


# --- what goes into state --------------------------------------------------------------


@pytest.mark.parametrize("cls", [RefPackageJobsProvider, PackageDeletionGuardProvider])
def test_a_configured_provider_pickles_without_settings(cls: type) -> None:
    unconfigured = serialize_provider(cls())
    provider = cls()
    provider.configure(ConfigureRequest(Config({
        "foas:accessKeyId": STS_ID, "foas:accessKeySecret": STS_SECRET,
        "foas:securityToken": STS_TOKEN, "foas:endpoint": "http://127.0.0.1:1"}, "p")))
    assert provider._settings is not None and provider._settings.credentials is not None
    configured = serialize_provider(provider)
    assert configured == unconfigured
    raw = base64.b64decode(configured)
    name = cls.__name__.encode()
    assert b"foas_refjobs.resources\x94\x8c" + bytes([len(name)]) + name in raw
    for value in (STS_SECRET, STS_TOKEN, "127.0.0.1"):
        assert value.encode() not in raw
    with pytest.raises(TypeError):
        __import__("pickle").dumps(provider._settings)


def test_an_unconfigured_guard_refuses_instead_of_guessing(emulator: FoasEmulator,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Pulumi before 3.139 never calls configure(): the guard must not fall back silently."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEFAULT_ACCESS_KEY_SECRET)
    emulator.state.remove_jobs_referencing(PROJECT, PACKAGE)
    guard = PackageDeletionGuardProvider()
    props = {"project_name": PROJECT, "package_name": PACKAGE, "endpoint": emulator.url}
    with pytest.raises(GuardCheckFailedError, match="never configured"):
        guard.delete("guard-1", props)
    assert emulator.faults.requests == 0
    guard.configure(ConfigureRequest(Config({}, "p")))
    guard.delete("guard-1", props)
    assert emulator.faults.requests == 1


def test_the_library_side_never_imports_pulumi() -> None:
    code = ("import sys, foas_refjobs, foas_refjobs.client, foas_refjobs.model, "
            "foas_refjobs.settings, foas_refjobs.pulumi_settings, foas_refjobs.emulator; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'grpc', 'dill')); "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
