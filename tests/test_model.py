"""Parsing GetRefPackageJob responses: the reference's sample, shapes, and helpers."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from foas_refjobs import Job, JobList, MalformedResponseError, PlanEdge
from foas_refjobs.emulator.datagen import generate_job
from foas_refjobs.job_details import parse_properties
from foas_refjobs.model import Page, split_packages

DATA = Path(__file__).parent / "data"
# Verbatim excerpts of the API reference, shipped so the sample checks run in every checkout.
REFERENCE_EXCERPT = DATA / "GetRefPackageJob.reference.md"
# The full reference, present only next to the team's checkouts: proves the excerpt verbatim.
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "api" / "GetRefPackageJob.md"

# The Job fields of the reference's response table, in its order (PascalCase, as sent).
DOCUMENTED_JOB_FIELDS = (
    "ApiType", "ClusterId", "Code", "CreateTime", "Creator", "Description", "EngineVersion",
    "FolderId", "IsCommitted", "JobId", "JobName", "JobType", "Modifier", "ModifyTime",
    "Packages", "PlanJson", "ProjectName", "Properties", "QueueName",
)

SAMPLE_CODE = (
    "blink.main.class=com.hjc.test.blink_test.ChinanTopSpeedWindowing2\r\n"
    "blink.job.name=datastream_prestest"
)
SAMPLE_PROPERTIES = (
    "#checkpoint模式：EXACTLY_ONCE 或者 AT_LEAST_ONCE\n"
    "#blink.checkpoint.mode=EXACTLY_ONCE\n"
    "\n"
    "#checkpoint间隔时间，单位毫秒\n"
    "#blink.checkpoint.interval.ms=180000\n"
    "\n"
    "#rocksdb的数据生命周期，单位毫秒\n"
    "#state.backend.rocksdb.ttl.ms=129600000\n"
)
TRIGGER_WINDOW = (
    "TriggerWindow(GlobalWindows(), ListStateDescriptor{serializer=org.apache.flink.api.common."
    "typeutils.base.ListSerializer@b2107f67}, DeltaTrigger(com.hjc.test.blink_test."
    "ChinanTopSpeedWindowing$1@350aac89, 50.0), TimeEvictor(10000), "
    "WindowedStream.reduce(WindowedStream.java:258))"
)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.fixture
def sample() -> dict:
    return json.loads((DATA / "sample_response.json").read_text(encoding="utf-8"))


@pytest.fixture
def sample_job_raw(sample) -> dict:
    return sample["Jobs"]["Job"][0]


def minimal_body(jobs) -> dict:
    return {"TotalCount": 1, "TotalPage": 1, "PageSize": 10, "PageIndex": 1,
            "RequestId": "RID-1", "Jobs": jobs}


def _reference_json_sample(text: str) -> dict:
    block = re.search(r"```\n(.*?)\n```", text.split("`JSON` 格式", 1)[1], re.S)
    assert block is not None
    return json.loads(block.group(1))


def _reference_job_fields(text: str) -> tuple[str, ...]:
    table = re.split(r"^\|Job\|.*$", text, maxsplit=1, flags=re.M)[1].split("|PageIndex|", 1)[0]
    return tuple(re.findall(r"^\|([A-Za-z]+)\|", table, re.M))


def test_fixture_is_the_reference_sample_verbatim(sample):
    assert _reference_json_sample(REFERENCE_EXCERPT.read_text(encoding="utf-8")) == sample


def test_documented_job_fields_are_the_reference_table():
    assert _reference_job_fields(REFERENCE_EXCERPT.read_text(encoding="utf-8")) == DOCUMENTED_JOB_FIELDS


def test_reference_excerpt_is_verbatim():
    if not REFERENCE.is_file():
        pytest.skip("the full API reference is not next to this checkout (the excerpt tests still ran)")
    reference = REFERENCE.read_text(encoding="utf-8")
    excerpt = REFERENCE_EXCERPT.read_text(encoding="utf-8").split("-->\n\n", 1)[1]
    for section in excerpt.split("\n\n`JSON` 格式"):
        assert section.strip() in reference
    assert "`JSON` 格式" + excerpt.split("`JSON` 格式", 1)[1].rstrip("\n") in reference


def test_sample_page_fields(sample):
    page = Page.from_api(sample, requested_index=1)
    assert (page.total_count, page.total_page, page.page_size, page.page_index) == (1, 1, 10, 1)
    assert page.request_id == "31FDAE27-F135-4DAB-9C75-FADD6B0C4D1D"
    assert len(page.jobs) == 1


def test_sample_job_has_exactly_the_reference_values(sample, sample_job_raw):
    job = Page.from_api(sample, 1).jobs[0]
    expected = Job(
        job_id="9t9m6jfw8rb44iexhbpv3tnz",
        job_name="job1",
        project_name="bayes_team",
        job_type="FLINK_STREAM",
        api_type="DATASTREAM",
        is_committed=True,
        packages=("blink_test_datastream.jar",),
        cluster_id="et2cloud****",
        queue_name="root.bayes_team",
        engine_version="blink-3.4.4",
        folder_id=10148,
        creator="1709064687573327",
        modifier="1709064687573327",
        create_time=1551161842000,
        modify_time=1583722910000,
        description="",
        code=SAMPLE_CODE,
        plan_json=sample_job_raw["PlanJson"],
        properties=SAMPLE_PROPERTIES,
    )
    assert job == expected
    # Exact types: ints stay ints (not floats/strings), the empty description stays "".
    for attr in ("folder_id", "create_time", "modify_time"):
        assert type(getattr(job, attr)) is int
    assert job.is_committed is True
    assert job.description == "" and job.description is not None
    # The multi-line strings are not normalised: CRLF in Code, blank lines and the trailing
    # newline in Properties, the pretty-printed indentation of PlanJson.
    assert "\r\n" in job.code
    assert job.properties.endswith("ms=129600000\n")
    assert job.plan_json.startswith('{\n  "nodes": [\n    {\n      "id": 1,')
    assert job.plan_json.endswith("\n  ]\n}")


def test_sample_plan_nodes(sample):
    job = Page.from_api(sample, 1).jobs[0]
    nodes = job.plan_nodes()
    assert [n.id for n in nodes] == [1, 2, 4, 5]
    assert [n.type for n in nodes] == ["Source: Custom Source", "Timestamps/Watermarks",
                                       TRIGGER_WINDOW, "Sink: Unnamed"]
    assert [n.pact for n in nodes] == ["Data Source", "Operator", "Operator", "Data Sink"]
    assert [n.contents for n in nodes] == [n.type for n in nodes]
    assert [n.parallelism for n in nodes] == [1, 1, 1, 1]
    assert [n.predecessors for n in nodes] == [
        (),
        (PlanEdge(1, "FORWARD", "second"),),
        (PlanEdge(2, "KEY-GROUP", "second"),),
        (PlanEdge(4, "FORWARD", "second"),),
    ]


def test_sample_properties_are_all_comments(sample):
    job = Page.from_api(sample, 1).jobs[0]
    assert job.properties_dict() == {}
    # The Code field uses the same key=value format, with CRLF line ends.
    assert parse_properties(job.code) == {
        "blink.main.class": "com.hjc.test.blink_test.ChinanTopSpeedWindowing2",
        "blink.job.name": "datastream_prestest",
    }


def test_properties_dict_of_a_generated_job():
    job = Job.from_api(generate_job("p", ["a.jar"], 3))
    assert job.properties_dict() == {
        "blink.checkpoint.interval.ms": str(60_000 * 4),
        "blink.checkpoint.mode": "EXACTLY_ONCE",
    }


@pytest.mark.parametrize(("text", "expected"), [
    (None, {}),
    ("", {}),
    ("a=1\n b = 2 \n#c=3\n!d=4\nno_equals\n\ne=x=y", {"a": "1", "b": "2", "e": "x=y"}),
    ("k=v\r\nk2=v2\r\n", {"k": "v", "k2": "v2"}),
])
def test_parse_properties(text, expected):
    assert parse_properties(text) == expected


@pytest.mark.parametrize(("plan", "expected_ids"), [
    (None, []),
    ("", []),
    ("   ", []),
    ('{"nodes": []}', []),
    ('{"nodes": [{"id": "7", "parallelism": "2"}]}', [7]),
])
def test_plan_nodes_edge_cases(plan, expected_ids):
    assert [n.id for n in Job("j", plan_json=plan).plan_nodes()] == expected_ids


@pytest.mark.parametrize("plan", ["not json", "[1, 2]", '{"nodes": {}}', '{"nodes": [{"type": "x"}]}',
                                  '{"nodes": [5]}', '{"nodes": [{"id": "x"}]}'])
def test_plan_nodes_malformed(plan):
    with pytest.raises(MalformedResponseError):
        Job("j", plan_json=plan).plan_nodes()


def test_to_dict_keys_are_the_documented_fields_in_snake_case(sample, sample_job_raw):
    assert set(sample_job_raw) == set(DOCUMENTED_JOB_FIELDS)
    job = Page.from_api(sample, 1).jobs[0]
    out = job.to_dict()
    assert set(out) == {snake(name) for name in DOCUMENTED_JOB_FIELDS}
    assert {f.name for f in fields(Job)} == set(out)
    assert out["packages"] == ["blink_test_datastream.jar"]
    # Every value is the raw one under its snake_case name (packages split into a list).
    expected = {snake(k): v for k, v in sample_job_raw.items()}
    expected["packages"] = sample_job_raw["Packages"].split(",")
    assert out == expected
    json.dumps(out)  # serialisable as is


def test_to_dict_from_dict_round_trip_with_float_numbers(sample):
    job = Page.from_api(sample, 1).jobs[0]
    data = job.to_dict()
    data.update({k: float(data[k]) for k in ("create_time", "modify_time", "folder_id")})
    assert Job.from_dict(data) == job


def test_joblist_to_dict_top_level_keys(sample):
    page = Page.from_api(sample, 1)
    listing = JobList("bayes_team", "blink_test_datastream.jar", page.jobs, server_total_count=1)
    out = listing.to_dict()
    assert list(out) == ["project_name", "package_name", "total_count", "jobs"]
    assert out["total_count"] == 1 == len(listing)
    assert out["jobs"] == [page.jobs[0].to_dict()]
    assert listing.referenced and listing.job_ids == ["9t9m6jfw8rb44iexhbpv3tnz"]


# --- Jobs.Job in the representations XML conversion produces --------------------------------


def _job(i: int) -> dict:
    return {"JobId": f"job-{i}", "JobName": f"name-{i}"}


@pytest.mark.parametrize(("jobs", "expected_ids"), [
    pytest.param({"Job": [_job(1), _job(2)]}, ["job-1", "job-2"], id="list"),
    pytest.param({"Job": _job(1)}, ["job-1"], id="single-object"),
    pytest.param({"Job": []}, [], id="empty-list"),
    pytest.param({"Job": None}, [], id="job-null"),
    pytest.param({"Job": ""}, [], id="job-empty-string"),
    pytest.param({}, [], id="jobs-empty-object"),
    pytest.param("", [], id="jobs-empty-string"),
    pytest.param(None, [], id="jobs-null"),
    pytest.param([_job(3)], ["job-3"], id="jobs-bare-list"),
])
def test_jobs_job_representations(jobs, expected_ids):
    page = Page.from_api(minimal_body(jobs), 1)
    assert [j.job_id for j in page.jobs] == expected_ids


def test_jobs_key_missing_means_no_jobs():
    body = minimal_body(None)
    del body["Jobs"]
    assert Page.from_api(body, 1).jobs == ()


def test_missing_optional_fields_are_none():
    job = Job.from_api({"JobId": "only-id"})
    assert job.job_id == "only-id"
    assert job.packages == ()
    for f in fields(Job):
        if f.name not in ("job_id", "packages"):
            assert getattr(job, f.name) is None, f.name


@pytest.mark.parametrize(("raw", "attr", "expected"), [
    ({"CreateTime": "1551161842000"}, "create_time", 1551161842000),
    ({"CreateTime": 1551161842000.0}, "create_time", 1551161842000),
    ({"CreateTime": ""}, "create_time", None),
    ({"FolderId": " 12 "}, "folder_id", 12),
    ({"IsCommitted": "false"}, "is_committed", False),
    ({"IsCommitted": "TRUE"}, "is_committed", True),
    ({"JobName": 42}, "job_name", "42"),
    ({"Packages": " a.jar , b.jar,,"}, "packages", ("a.jar", "b.jar")),
    ({"Packages": ""}, "packages", ()),
])
def test_lenient_representations(raw, attr, expected):
    assert getattr(Job.from_api({"JobId": "x", **raw}), attr) == expected


def test_page_counts_from_strings_and_total_page_from_page_size():
    body = {"TotalCount": "21", "PageSize": "10", "PageIndex": "3", "Jobs": {"Job": []}}
    page = Page.from_api(body, requested_index=3)
    assert (page.total_count, page.total_page, page.page_size, page.page_index) == (21, 3, 10, 3)
    assert page.request_id is None


def test_page_index_defaults_to_the_requested_one():
    body = minimal_body({"Job": []})
    del body["PageIndex"]
    assert Page.from_api(body, requested_index=7).page_index == 7


def _with_job(**changes) -> dict:
    return minimal_body({"Job": [{"JobId": "x", **changes}]})


def _without(key: str) -> dict:
    body = minimal_body({"Job": []})
    del body[key]
    return body


def _replace(**changes) -> dict:
    return {**minimal_body({"Job": []}), **changes}


MALFORMED = [
    pytest.param([], id="body-list"),
    pytest.param("text", id="body-string"),
    pytest.param(None, id="body-null"),
    pytest.param(_without("TotalCount"), id="no-total-count"),
    pytest.param(_replace(TotalCount=None), id="total-count-null"),
    pytest.param(_replace(TotalCount="many"), id="total-count-word"),
    pytest.param(_replace(TotalCount=-1), id="total-count-negative"),
    pytest.param(_replace(TotalCount=True), id="total-count-bool"),
    pytest.param(_replace(TotalCount=1.5), id="total-count-fraction"),
    pytest.param(_replace(TotalCount="１"), id="total-count-fullwidth-digit"),
    pytest.param(_replace(TotalCount={"n": 1}), id="total-count-object"),
    pytest.param(_replace(TotalPage="x"), id="total-page-word"),
    pytest.param(_replace(TotalPage=-2), id="total-page-negative"),
    pytest.param({"TotalCount": 1, "Jobs": {"Job": []}}, id="no-total-page-no-page-size"),
    pytest.param(_replace(PageSize="ten"), id="page-size-word"),
    pytest.param(_replace(PageIndex=[1]), id="page-index-list"),
    pytest.param(_replace(Jobs=5), id="jobs-number"),
    pytest.param(_replace(Jobs="jobs"), id="jobs-string"),
    pytest.param(_replace(Jobs={"Job": "x"}), id="job-string"),
    pytest.param(_replace(Jobs={"Job": 5}), id="job-number"),
    pytest.param(_replace(Jobs={"Job": [5]}), id="job-item-number"),
    pytest.param(_replace(Jobs={"Job": [["JobId", "x"]]}), id="job-item-list"),
    pytest.param(_replace(Jobs={"Job": [None]}), id="job-item-null"),
    pytest.param(_with_job(JobId=None), id="job-id-null"),
    pytest.param(_with_job(JobId=""), id="job-id-empty"),
    pytest.param(_with_job(JobId={"id": 1}), id="job-id-object"),
    pytest.param(_with_job(CreateTime="yesterday"), id="create-time-word"),
    pytest.param(_with_job(CreateTime=True), id="create-time-bool"),
    pytest.param(_with_job(ModifyTime=1.25), id="modify-time-fraction"),
    pytest.param(_with_job(FolderId=[1]), id="folder-id-list"),
    pytest.param(_with_job(IsCommitted="yes"), id="is-committed-yes"),
    pytest.param(_with_job(IsCommitted=1), id="is-committed-int"),
    pytest.param(_with_job(Packages=["a.jar"]), id="packages-list"),
    pytest.param(_with_job(JobName={"x": 1}), id="job-name-object"),
    pytest.param(_with_job(Code=True), id="code-bool"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_wrong_shapes_raise_malformed_never_keyerror(body):
    with pytest.raises(MalformedResponseError) as info:
        Page.from_api(copy.deepcopy(body), 1)
    assert info.value.code == "MalformedResponse"
    assert info.value.message


def test_malformed_error_carries_the_request_id():
    with pytest.raises(MalformedResponseError) as info:
        Page.from_api(_with_job(CreateTime="soon"), 1)
    assert info.value.request_id == "RID-1"
    assert "CreateTime" in info.value.message


@pytest.mark.parametrize(("value", "expected"), [
    (None, ()), ("", ()), ("a.jar", ("a.jar",)), ("a.jar,b.jar", ("a.jar", "b.jar")),
    (" a.jar ,  ,b.jar ", ("a.jar", "b.jar")),
])
def test_split_packages(value, expected):
    assert split_packages(value) == expected


def test_a_parsed_job_is_a_complete_job_value() -> None:
    """Job.from_api fills the instance without calling __init__: every field must still be set."""
    parsed = Job.from_api({"JobId": "j-1"})
    built = Job(job_id="j-1")
    assert parsed == built and hash(parsed) == hash(built) and repr(parsed) == repr(built)
    assert set(vars(parsed)) == {f.name for f in fields(Job)}
    with pytest.raises(AttributeError):
        parsed.job_id = "other"  # type: ignore[misc]
