"""Property tests: any valid Unicode name is one path segment end to end; no JSON crashes the parser.

One emulator (and one client) serves every example of the module, so the
properties cost requests, not servers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from _figures import record
from foas_refjobs import Credentials, FoasClient, InvalidInputError, MalformedResponseError, RetryPolicy
from foas_refjobs.client import encode_segment
from foas_refjobs.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    EmulatorState,
    FoasEmulator,
)
from foas_refjobs.emulator.datagen import generate_job
from foas_refjobs.model import Page
from foas_refjobs.query import MAX_NAME_LENGTH, validate_name

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[FoasEmulator, FoasClient]]:
    state = EmulatorState()
    state.add_access_key(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    with FoasEmulator(state) as emu, FoasClient(
            endpoint=emu.url, credentials=Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET),
            retry_policy=RetryPolicy(max_attempts=1)) as client:
        yield emu, client


# Everything validate_name accepts: no control characters or surrogates, not blank, not a dot segment.
NAMES = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1,
                max_size=40).filter(lambda s: bool(s.strip()) and s not in (".", ".."))

TRICKY = ["a/b", "../etc", "%2F", "%", "a?b=c", "#frag", "a b", "+", "a;b", "[projectName]",
          "包.jar", "🙂", "e\u0301", "a\u2028b", "\u200b", "\ufeff", "...", ". ", "a&b=c", "\\", "~",
          "x" * MAX_NAME_LENGTH]


@SETTINGS
@given(project=NAMES, package=NAMES)
@example(project="a/b", package="..%2F..")
@example(project="[packageName]", package="[projectName]")
@example(project="x" * MAX_NAME_LENGTH, package="包" * MAX_NAME_LENGTH)
@example(project=" leading", package="trailing ")
def test_any_valid_name_travels_as_exactly_one_segment(shared: tuple[FoasEmulator, FoasClient],
                                                       project: str, package: str) -> None:
    emu, client = shared
    assert validate_name("project_name", project) == project
    emu.state.add_package(project, package)
    job_id = None
    if "," not in package and package == package.strip():  # the Packages field is comma-separated
        job = generate_job(project, [package], len(emu.requests))
        job_id = job["JobId"]
        emu.state.put_job(project, job)
    before = len(emu.requests)
    jobs = client.list_ref_package_jobs(project, package)
    sent = list(emu.requests)[before:]
    record("property", name="names", examples=1)
    assert len(sent) == 1 and sent[0].status == 200  # signature verified on the encoded path
    assert sent[0].segments == (project, package)
    assert sent[0].raw_path.split("?")[0] == (f"/api/v2/projects/{encode_segment(project)}/packages/"
                                              f"{encode_segment(package)}/jobs")
    assert jobs.project_name == project and jobs.package_name == package
    if job_id is not None:
        assert job_id in jobs.job_ids


@pytest.mark.parametrize("name", TRICKY)
def test_tricky_names_round_trip(shared: tuple[FoasEmulator, FoasClient], name: str) -> None:
    emu, client = shared
    emu.state.add_package("tricky", name)
    client.list_ref_package_jobs("tricky", name)
    assert emu.requests[-1].segments == ("tricky", name)


@SETTINGS
@given(name=st.text(min_size=0, max_size=300))
def test_every_string_is_either_a_valid_name_or_a_one_line_invalid_input(name: str) -> None:
    try:
        assert validate_name("package_name", name) == name
    except InvalidInputError as exc:
        assert "\n" not in str(exc)
    record("property", name="validate", examples=1)


# --- arbitrary JSON -------------------------------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
           | st.sampled_from(["", "1", "-1", "--5", "１２", "1e3", " 7 ", "many", "9" * 30, "true"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
JOB_KEYS = ["JobId", "JobName", "ProjectName", "JobType", "ApiType", "IsCommitted", "Packages",
            "CreateTime", "ModifyTime", "FolderId", "PlanJson", "Properties", "Code", "EngineVersion"]
PLAN = st.one_of(JSON.map(json.dumps), st.just('{"nodes": [{"id": 1, "predecessors": 5}]}'),
                 st.just("[" * 5000), st.text(max_size=30))
JOBS = st.lists(st.fixed_dictionaries({}, optional={**{k: JSON for k in JOB_KEYS}, "PlanJson": PLAN}),
                max_size=3)
BODIES = JSON | st.fixed_dictionaries({}, optional={
    "RequestId": JSON, "TotalCount": JSON, "TotalPage": JSON, "PageSize": JSON, "PageIndex": JSON,
    "Jobs": JSON | st.fixed_dictionaries({}, optional={"Job": JSON | JOBS}) | JOBS,
})


def _parse_everything(body: Any) -> None:
    page = Page.from_api(body, 1)
    for job in page.jobs:
        job.to_dict()
        job.plan_nodes()
        job.properties_dict()


@SETTINGS
@given(body=BODIES)
@example(body={"TotalCount": "--5", "TotalPage": 1})
@example(body={"TotalCount": 1, "TotalPage": 1, "Jobs": {"Job": {"JobId": "j", "PlanJson": "[" * 5000}}})
@example(body={"TotalCount": "9" * 5000, "TotalPage": 1})
def test_arbitrary_json_parses_or_is_malformed(body: Any) -> None:
    record("property", name="json", examples=1)
    try:
        _parse_everything(body)
    except MalformedResponseError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES)
@example(body="[" * 100_000)
def test_arbitrary_json_over_the_wire_parses_or_is_malformed(shared: tuple[FoasEmulator, FoasClient],
                                                            body: Any) -> None:
    """The same bodies served by the emulator, through the SDK and the client's own parsing."""
    emu, client = shared
    emu.state.add_package("wire", "any.jar")
    emu.faults.clear()
    text = body if isinstance(body, str) and body.startswith("[[") else json.dumps(body)
    emu.faults.add("raw_body", params={"body": text})
    record("property", name="wire-json", examples=1)
    try:
        page = client.fetch_page("wire", "any.jar", 1)
        for job in page.jobs:
            job.plan_nodes()
    except MalformedResponseError as exc:
        assert "\n" not in str(exc)
    finally:
        emu.faults.clear()
