"""The example programs under `pulumi.runtime.set_mocks`: their wiring, with real providers behind the mocks.

Mocks never run provider code, so `new_resource` runs it: each dynamic
resource's serialized `__provider` is unpickled, configured with the program's
config and taken through check + create against the emulator, as the engine
would. What the program then sees has been through protobuf like real
outputs (numbers as floats), so the int conversion is exercised too.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import logging
import runpy
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, Optional, Union

import dill
import pulumi
import pulumi.runtime
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import ROOT, get_root_resource
from pulumi.runtime.sync_await import _sync_await

from foas_refjobs import (
    InvalidInputError,
    PackageDeletionGuardProvider,
    RefPackageJobs,
    RefPackageJobsProvider,
    get_package_verdicts,
    get_package_verdicts_output,
    get_ref_package_jobs,
    get_ref_package_jobs_output,
)
from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FoasEmulator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROJECT = "bayes_team"
PACKAGE = "blink_test_datastream.jar"
SECRET_KEYS = ["foas:accessKeySecret", "foas:securityToken"]


class Registration(NamedTuple):
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    additional_secret_outputs: list[str]


class RecordingMonitor(MockMonitor):
    """The mock monitor, keeping each registration's (and read's) inputs and dependency data."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        self.registrations[request.name] = Registration(
            request.type, request.name, response.urn, rpc.deserialize_properties(request.object),
            list(request.dependencies),
            {k: list(v.urns) for k, v in request.propertyDependencies.items()},
            list(request.additionalSecretOutputs))
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().ReadResource(request)
        self.registrations[request.name] = Registration(
            request.type, request.name, response.urn,
            {"id": request.id, **rpc.deserialize_properties(request.properties)},
            list(request.dependencies), {}, list(request.additionalSecretOutputs))
        return response


class ProgramMocks(pulumi.runtime.Mocks):
    """Dynamic resources get real provider check+create; others echo their inputs."""

    def __init__(self, config: dict[str, str], *, preview: bool = False,
                 stack_outputs: Optional[dict[str, Any]] = None) -> None:
        self.config = config
        self.preview = preview
        self.stack_outputs = stack_outputs or {}
        self.providers: dict[str, Any] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {"name": args.inputs["name"], "outputs": self.stack_outputs,
                               "secretOutputNames": []}
        if args.typ.startswith("pulumi-python:dynamic"):
            inputs = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items()}
            provider = dill.loads(base64.b64decode(inputs.pop("__provider")))
            self.providers[args.name] = provider
            provider.configure(ConfigureRequest(Config(self.config, "test")))
            checked = provider.check({}, inputs)
            assert checked.failures == [], [(f.property, f.reason) for f in checked.failures]
            if self.preview:
                return None, {}
            created = provider.create(checked.inputs)
            return created.id, created.outs
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, Optional[list]]:
        raise AssertionError(f"unexpected provider call {args.token}")


class Run(NamedTuple):
    outputs: dict[str, Any]
    known: dict[str, bool]
    monitor: RecordingMonitor
    mocks: ProgramMocks


def run_program(example: Union[str, Callable[[], None]], project: str, config: dict[str, str],
                mocks: ProgramMocks, logger: Optional[logging.Logger] = None) -> Run:
    """Run examples/<example>/__main__.py (or a function) as the `pulumi` CLI would, on the mocks."""

    def body() -> Run:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            return in_loop()
        finally:
            loop.close()
            asyncio.set_event_loop(None)

    def in_loop() -> Run:
        ROOT.set(None)
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=project, stack="dev", preview=mocks.preview,
                                 monitor=monitor, logger=logger)
        pulumi.runtime.set_all_config(config, SECRET_KEYS)

        def program() -> Any:
            if callable(example):
                example()
            else:
                runpy.run_path(str(EXAMPLES / example / "__main__.py"), run_name="__main__")
            return None

        pulumi.runtime.test(program)()
        root = get_root_resource()
        assert root is not None
        exported = {k: pulumi.Output.from_input(v) for k, v in root.outputs.items()}  # type: ignore[attr-defined]
        known = {k: _sync_await(o.is_known()) for k, o in exported.items()}
        values = {k: _sync_await(o.future()) for k, o in exported.items() if known[k]}
        return Run(values, known, monitor, mocks)

    return contextvars.copy_context().run(body)


def emulator_config(emu: FoasEmulator, project_ns: str, **values: str) -> dict[str, str]:
    return {"foas:accessKeyId": DEFAULT_ACCESS_KEY_ID,
            "foas:accessKeySecret": DEFAULT_ACCESS_KEY_SECRET,
            "foas:endpoint": emu.url,
            **{f"{project_ns}:{k}": v for k, v in values.items()}}


@pytest.fixture
def dead_endpoint() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


def referencing(emu: FoasEmulator, *, committed_only: bool = False) -> list[dict[str, Any]]:
    return [j for j in emu.state.referencing_jobs(PROJECT, PACKAGE)
            if not committed_only or j.get("IsCommitted") is True]


# --- examples/stack_outputs ------------------------------------------------------------


def test_stack_outputs_exports_the_live_list(emulator: FoasEmulator) -> None:
    ns = "foas-refjobs-stack-outputs"
    config = emulator_config(emulator, ns, project=PROJECT, package=PACKAGE)
    run = run_program("stack_outputs", ns, config, ProgramMocks(config))

    jobs = referencing(emulator)
    assert run.outputs["job_ids"] == [j["JobId"] for j in jobs]
    assert run.outputs["job_names"] == [j["JobName"] for j in jobs]
    assert run.outputs["total_count"] == 15 and type(run.outputs["total_count"]) is int
    assert run.outputs["referenced"] is True
    assert run.outputs["project_name"] == PROJECT and run.outputs["package_name"] == PACKAGE
    committed = run.outputs["committed_count"]
    assert committed == len(referencing(emulator, committed_only=True)) and type(committed) is int

    reg = run.monitor.registrations["ref-jobs"]
    assert reg.type == "pulumi-python:dynamic/foas:RefPackageJobs"
    assert reg.additional_secret_outputs == ["jobs"]
    assert isinstance(run.mocks.providers["ref-jobs"], RefPackageJobsProvider)
    provider_bytes = base64.b64decode(rpc.unwrap_rpc_secret(reg.inputs["__provider"]))
    assert DEFAULT_ACCESS_KEY_SECRET.encode() not in provider_bytes
    assert DEFAULT_ACCESS_KEY_SECRET not in repr(reg.inputs)


def test_stack_outputs_preview_knows_function_values_not_new_outputs(
        emulator: FoasEmulator) -> None:
    ns = "foas-refjobs-stack-outputs"
    config = emulator_config(emulator, ns, project=PROJECT, package=PACKAGE,
                             committedOnly="true", jobType="FLINK_STREAM")
    run = run_program("stack_outputs", ns, config, ProgramMocks(config, preview=True))
    assert run.known["total_count"] is False
    assert run.known["job_ids"] is False
    assert run.known["committed_count"] is True
    assert run.outputs["committed_count"] == len(referencing(emulator, committed_only=True))
    inputs = run.monitor.registrations["ref-jobs"].inputs
    assert inputs["committed_only"] is True and inputs["job_type"] == "FLINK_STREAM"


def test_stack_outputs_unused_package(emulator: FoasEmulator) -> None:
    ns = "foas-refjobs-stack-outputs"
    config = emulator_config(emulator, ns, project=PROJECT, package="unused-udf.jar")
    run = run_program("stack_outputs", ns, config, ProgramMocks(config))
    assert run.outputs["referenced"] is False
    assert run.outputs["total_count"] == 0 and run.outputs["job_ids"] == []


def test_resource_outputs_hold_ints_where_users_see_them(emulator: FoasEmulator) -> None:
    config = emulator_config(emulator, "inline")

    def program() -> None:
        jobs = RefPackageJobs("direct", PROJECT, PACKAGE, enable_details=True)
        pulumi.export("total_count", jobs.total_count)
        pulumi.export("jobs", jobs.jobs)
        pulumi.export("committed_only", jobs.committed_only)

    run = run_program(program, "inline", config, ProgramMocks(config))
    assert type(run.outputs["total_count"]) is int
    first = run.outputs["jobs"][0]
    assert first["job_id"] == "9t9m6jfw8rb44iexhbpv3tnz"
    assert type(first["create_time"]) is int and first["create_time"] == 1551161842000
    assert type(first["folder_id"]) is int and type(first["modify_time"]) is int
    assert first["packages"] == [PACKAGE] and first["description"] == ""
    assert run.outputs["committed_only"] is False


def test_get_function_reads_config_and_returns_plain_values(emulator: FoasEmulator) -> None:
    config = emulator_config(emulator, "inline")
    seen: dict[str, Any] = {}

    def program() -> None:
        result = get_ref_package_jobs(PROJECT, PACKAGE, job_type="flink_stream", enable_details=True)
        seen["result"] = result
        pulumi.export("id", result.id)

    run = run_program(program, "inline", config, ProgramMocks(config))
    result = seen["result"]
    expected = [j["JobId"] for j in referencing(emulator) if j.get("JobType") == "FLINK_STREAM"]
    assert result.job_ids == expected and result.total_count == len(expected)
    assert result.referenced is True and result.consistent is True
    assert [j["job_id"] for j in result.jobs] == expected
    assert run.outputs["id"] == f"{PROJECT}/{PACKAGE}"


def test_verdict_function_names_the_jars_a_program_may_clean_up(emulator: FoasEmulator) -> None:
    config = emulator_config(emulator, "inline")
    seen: dict[str, Any] = {}
    jars = ["unused-udf.jar", PACKAGE, "gone.jar"]

    def program() -> None:
        result = get_package_verdicts(PROJECT, jars)
        seen["result"] = result
        output = get_package_verdicts_output(PROJECT, pulumi.Output.from_input(jars))
        pulumi.export("unreferenced", output.unreferenced)
        pulumi.export("id", output.id)

    run = run_program(program, "inline", config, ProgramMocks(config))
    result = seen["result"]
    assert result.unreferenced == ["unused-udf.jar"] and run.outputs["unreferenced"] == ["unused-udf.jar"]
    assert result.referenced == [PACKAGE] and result.failed == ["gone.jar"]
    assert [(p["package_name"], p["verdict"]) for p in result.packages] == [
        ("unused-udf.jar", "unreferenced"), (PACKAGE, "referenced"), ("gone.jar", "error")]
    assert result.packages[1]["job_ids"] == [j["JobId"] for j in referencing(emulator)]
    assert result.packages[2]["error_code"] == "Package.NotExist"
    assert run.outputs["id"] == f"{PROJECT}/unused-udf.jar,{PACKAGE},gone.jar"


def test_verdict_function_refuses_a_string_for_a_boolean(emulator: FoasEmulator) -> None:
    with pytest.raises(InvalidInputError):
        get_package_verdicts(PROJECT, [PACKAGE], committed_only="false")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        get_ref_package_jobs(PROJECT, PACKAGE, committed_only="false")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        get_ref_package_jobs(PROJECT, PACKAGE, enable_details="yes")  # type: ignore[arg-type]
    assert len(emulator.requests) == 0


# --- examples/gate_jar_deletion --------------------------------------------------------


def test_gate_guard_depends_on_the_jar_and_creates_offline(dead_endpoint: str) -> None:
    ns = "foas-refjobs-gate-jar-deletion"
    config = {"foas:endpoint": dead_endpoint, f"{ns}:project": PROJECT,
              f"{ns}:bucket": "my-jars", f"{ns}:jarPath": "build/libs/blink_test_datastream.jar",
              f"{ns}:blockOn": "committed"}
    run = run_program("gate_jar_deletion", ns, config, ProgramMocks(config))
    regs = run.monitor.registrations
    bucket, jar, guard = regs["jars"], regs["jar"], regs["jar-guard"]
    assert bucket.type == "alicloud:oss/bucket:Bucket" and bucket.inputs["bucket"] == "my-jars"
    assert jar.type == "alicloud:oss/bucketObject:BucketObject"
    assert jar.inputs["key"] == f"jars/{PACKAGE}" and jar.inputs["bucket"] == "my-jars"
    assert bucket.urn in jar.dependencies

    assert guard.type == "pulumi-python:dynamic/foas:PackageDeletionGuard"
    assert jar.urn in guard.dependencies
    assert guard.inputs["package_name"] == PACKAGE and guard.inputs["block_on"] == "committed"
    assert isinstance(run.mocks.providers["jar-guard"], PackageDeletionGuardProvider)
    assert run.outputs["guarded_package"] == PACKAGE
    assert run.outputs["jar_key"] == f"jars/{PACKAGE}"


# --- examples/consume_outputs ----------------------------------------------------------


def producer_outputs(emu: FoasEmulator) -> dict[str, Any]:
    jobs = referencing(emu)
    return {"project_name": PROJECT, "package_name": PACKAGE, "referenced": bool(jobs),
            "job_ids": [j["JobId"] for j in jobs], "job_names": [j["JobName"] for j in jobs],
            "total_count": len(jobs)}


def test_consumer_keeps_a_referenced_jar_and_rechecks_live(emulator: FoasEmulator) -> None:
    ns = "foas-refjobs-consume-outputs"
    producer = "organization/foas-refjobs-stack-outputs/dev"
    config = emulator_config(emulator, ns, producerStack=producer)
    logger = logging.getLogger("consume-outputs-test")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        run = run_program("consume_outputs", ns, config,
                          ProgramMocks(config, stack_outputs=producer_outputs(emulator)), logger)
    finally:
        logger.removeHandler(handler)

    ref = run.monitor.registrations[producer]
    assert ref.type == "pulumi:pulumi:StackReference" and ref.inputs["id"] == producer
    assert run.outputs["jar_decision"] == "keep"
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "15 job(s)" in warnings[0] and "sql_job_00001" in warnings[0]

    recheck = run.monitor.registrations["recheck"]
    assert recheck.inputs["project_name"] == PROJECT and recheck.inputs["package_name"] == PACKAGE
    assert ref.urn in recheck.property_dependencies["package_name"]
    assert run.outputs["live_committed_job_ids"] == [
        j["JobId"] for j in referencing(emulator, committed_only=True)]
    assert type(run.outputs["live_committed_count"]) is int


def test_consumer_allows_deleting_an_unreferenced_jar(emulator: FoasEmulator) -> None:
    ns = "foas-refjobs-consume-outputs"
    config = emulator_config(emulator, ns, producerStack="organization/p/dev")
    outputs = {**producer_outputs(emulator), "package_name": "unused-udf.jar",
               "referenced": False, "job_ids": [], "job_names": [], "total_count": 0}
    run = run_program("consume_outputs", ns, config, ProgramMocks(config, stack_outputs=outputs))
    assert run.outputs["jar_decision"] == "safe-to-delete"
    assert run.outputs["live_committed_count"] == 0


def test_output_function_waits_for_depends_on(emulator: FoasEmulator) -> None:
    config = emulator_config(emulator, "inline")

    def program() -> None:
        first = RefPackageJobs("first", PROJECT, PACKAGE)
        after = get_ref_package_jobs_output(
            PROJECT, PACKAGE, opts=pulumi.InvokeOutputOptions(depends_on=[first]))
        plain = get_ref_package_jobs_output(PROJECT, PACKAGE)
        pulumi.export("after", after.total_count)
        pulumi.export("plain", plain.total_count)

    preview = run_program(program, "inline", config, ProgramMocks(config, preview=True))
    assert preview.known == {"after": False, "plain": True}
    assert preview.outputs["plain"] == 15
    up = run_program(program, "inline", config, ProgramMocks(config))
    assert up.outputs == {"after": 15, "plain": 15}
