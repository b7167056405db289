"""The `foas-refjobs` CLI: in-process with capsys, and as a real subprocess, against the emulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from foas_refjobs import cli
from foas_refjobs.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
)

PROJECT = "bayes_team"
BLINK = "blink_test_datastream.jar"
JOB_FIELDS = (
    "ApiType", "ClusterId", "Code", "CreateTime", "Creator", "Description", "EngineVersion",
    "FolderId", "IsCommitted", "JobId", "JobName", "JobType", "Modifier", "ModifyTime",
    "Packages", "PlanJson", "ProjectName", "Properties", "QueueName",
)
ERROR_LINE = re.compile(r"^error: (?P<code>[\w.]+): (?P<message>.+) \(RequestId (?P<rid>[0-9A-F-]{36})\)$")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def as_cli_json(raw: dict) -> dict:
    """What the CLI should print for one job, computed from the emulator's PascalCase data."""
    out = {snake(k): raw.get(k) for k in JOB_FIELDS}
    out["packages"] = [p.strip() for p in raw["Packages"].split(",") if p.strip()]
    return out


def run(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def listing_args(emu, command, package, project=PROJECT, *extra):
    return [command, "--project", project, "--package", package, "--endpoint", emu.url, *extra]


def referencing(emu, package, project=PROJECT):
    return emu.state.referencing_jobs(project, package)


# --- list ---------------------------------------------------------------------------------


def test_list_table(emulator_env, capsys):
    code, out, err = run(capsys, *listing_args(emulator_env, "list", BLINK))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["JOB_ID", "JOB_NAME", "TYPE", "API", "COMMITTED", "ENGINE", "MODIFIED",
                                "(UTC)"]
    jobs = referencing(emulator_env, BLINK)
    assert [line.split()[0] for line in lines[1:-1]] == [j["JobId"] for j in jobs]
    first = lines[1].split()
    assert first[:6] == ["9t9m6jfw8rb44iexhbpv3tnz", "job1", "FLINK_STREAM", "DATASTREAM", "yes",
                         "blink-3.4.4"]
    assert " ".join(first[6:]) == "2020-03-09 03:01"  # ModifyTime 1583722910000 in UTC
    assert lines[-1] == f"{len(jobs)} jobs reference {BLINK} in project {PROJECT}"


def test_list_table_singular_and_empty(emulator_env, capsys):
    emulator_env.state.put_job(PROJECT, {"JobId": "only", "Packages": "solo.jar"})
    code, out, _ = run(capsys, *listing_args(emulator_env, "list", "solo.jar"))
    assert code == 0
    assert out.splitlines()[-1] == f"1 job references solo.jar in project {PROJECT}"
    assert out.splitlines()[1].split() == ["only", "-", "-", "-", "?", "-", "-"]
    code, out, _ = run(capsys, *listing_args(emulator_env, "list", "unused-udf.jar"))
    assert code == 0
    assert out.splitlines() == ["JOB_ID  JOB_NAME  TYPE  API  COMMITTED  ENGINE  MODIFIED (UTC)",
                                f"0 jobs reference unused-udf.jar in project {PROJECT}"]


def test_list_json_exact_shape(emulator_env, capsys):
    code, out, err = run(capsys, *listing_args(emulator_env, "list", BLINK, PROJECT, "--format", "json"))
    assert code == 0 and err == ""
    data = json.loads(out)
    assert list(data) == ["project_name", "package_name", "total_count", "jobs"]
    jobs = referencing(emulator_env, BLINK)
    assert data["project_name"] == PROJECT and data["package_name"] == BLINK
    assert data["total_count"] == len(jobs) == 15
    assert data["jobs"] == [as_cli_json(j) for j in jobs]
    for job in data["jobs"]:
        assert set(job) == {snake(k) for k in JOB_FIELDS}
        assert isinstance(job["packages"], list)


def test_list_json_multi_package_and_special_name(emulator_env, capsys):
    name = "my jar (v2)/final#1.jar"
    code, out, _ = run(capsys, *listing_args(emulator_env, "list", name, PROJECT, "--format", "json"))
    assert code == 0
    data = json.loads(out)
    assert data["package_name"] == name
    assert data["jobs"] == [as_cli_json(j) for j in referencing(emulator_env, name)]
    code, out, _ = run(capsys, *listing_args(emulator_env, "list", "udf-common.jar", PROJECT,
                                             "--format", "json"))
    multi = [j for j in json.loads(out)["jobs"] if len(j["packages"]) > 1]
    assert multi and all(j["packages"] == [BLINK, "udf-common.jar"] for j in multi)


@pytest.mark.parametrize(("extra", "keep"), [
    (["--committed-only"], lambda j: j["IsCommitted"] is True),
    (["--job-type", "FLINK_BATCH"], lambda j: j["JobType"] == "FLINK_BATCH"),
    (["--job-type", "flink_stream"], lambda j: j["JobType"] == "FLINK_STREAM"),
    (["--job-type", "FLINK_STREAM", "--committed-only"],
     lambda j: j["JobType"] == "FLINK_STREAM" and j["IsCommitted"] is True),
])
def test_list_filters(emulator_env, capsys, extra, keep):
    code, out, _ = run(capsys, *listing_args(emulator_env, "list", BLINK), "--format", "json", *extra)
    assert code == 0
    data = json.loads(out)
    expected = [j["JobId"] for j in referencing(emulator_env, BLINK) if keep(j)]
    assert 0 < len(expected) < 15
    assert [j["job_id"] for j in data["jobs"]] == expected
    assert data["total_count"] == len(expected)


@pytest.mark.parametrize("extra", [["--page-size", "1"], ["--page-size", "4", "--max-concurrency", "1"],
                                   ["--page-size", "100"]])
def test_list_page_size_and_concurrency(emulator_env, capsys, extra):
    code, out, _ = run(capsys, *listing_args(emulator_env, "list", BLINK), "--format", "json", *extra)
    assert code == 0
    expected = [j["JobId"] for j in referencing(emulator_env, BLINK)]
    assert [j["job_id"] for j in json.loads(out)["jobs"]] == expected
    assert {r.query["pageSize"] for r in emulator_env.requests} == {extra[1]}


# --- check-unreferenced ---------------------------------------------------------------------


def test_check_unreferenced_exit_0(emulator_env, capsys):
    code, out, err = run(capsys, *listing_args(emulator_env, "check-unreferenced", "unused-udf.jar"))
    assert code == 0 and err == ""
    assert out == f"unreferenced: no job in project {PROJECT} references unused-udf.jar\n"


def test_check_referenced_exit_3_lists_the_jobs(emulator_env, capsys):
    code, out, err = run(capsys, *listing_args(emulator_env, "check-unreferenced", BLINK))
    assert code == 3 and err == ""
    lines = out.splitlines()
    jobs = referencing(emulator_env, BLINK)
    assert len(jobs) == 15
    assert lines[0] == f"referenced: 15 job(s) in project {PROJECT} reference {BLINK}:"
    expected = [f"  {j['JobName']} ({j['JobId']}) committed={'yes' if j['IsCommitted'] else 'no'}"
                for j in jobs]
    assert lines[1:] == expected


def test_check_committed_only(emulator_env, capsys):
    # wordcount.jar: some jobs committed, some not; a package used only by uncommitted jobs passes.
    for i in range(2):
        emulator_env.state.put_job(PROJECT, {"JobId": f"draft-{i}", "Packages": "draft.jar",
                                             "IsCommitted": False, "JobName": f"draft{i}"})
    code, out, _ = run(capsys, *listing_args(emulator_env, "check-unreferenced", "draft.jar"))
    assert code == 3
    code, out, _ = run(capsys, *listing_args(emulator_env, "check-unreferenced", "draft.jar", PROJECT,
                                             "--committed-only"))
    assert code == 0
    assert out.startswith("unreferenced: no committed job")
    code, out, _ = run(capsys, *listing_args(emulator_env, "check-unreferenced", "wordcount.jar", PROJECT,
                                             "--committed-only"))
    committed = [j["JobId"] for j in referencing(emulator_env, "wordcount.jar") if j["IsCommitted"]]
    assert code == 3
    assert out.splitlines()[0].startswith(f"referenced: {len(committed)} committed job(s)")
    assert [line.split("(")[1].split(")")[0] for line in out.splitlines()[1:]] == committed


def test_check_job_type(emulator_env, capsys):
    batch = [j["JobId"] for j in referencing(emulator_env, "package1.jar", "project1")
             if j["JobType"] == "FLINK_BATCH"]
    code, out, _ = run(capsys, *listing_args(emulator_env, "check-unreferenced", "package1.jar", "project1",
                                             "--job-type", "FLINK_BATCH"))
    assert code == 3
    assert [line.split("(")[1].split(")")[0] for line in out.splitlines()[1:]] == batch


@pytest.mark.parametrize(("package", "expected_code", "referenced"), [
    ("unused-udf.jar", 0, False), (BLINK, 3, True),
])
def test_check_json(emulator_env, capsys, package, expected_code, referenced):
    """Only what the verdict needs: no job's code or properties (connector passwords) in CI logs."""
    code, out, _ = run(capsys, *listing_args(emulator_env, "check-unreferenced", package, PROJECT,
                                             "--format", "json"))
    assert code == expected_code
    data = json.loads(out)
    assert list(data) == ["project_name", "package_name", "total_count", "jobs", "referenced"]
    assert data["referenced"] is referenced
    assert data["jobs"] == [{"job_id": j["JobId"], "job_name": j["JobName"], "is_committed": j["IsCommitted"]}
                            for j in referencing(emulator_env, package)]
    assert "blink.main.class" not in out and "checkpoint" not in out


def test_check_json_detail_on_request(emulator_env, capsys):
    code, out, _ = run(capsys, *listing_args(emulator_env, "check-unreferenced", BLINK, PROJECT,
                                             "--format", "json", "--detail"))
    assert code == 3
    data = json.loads(out)
    assert data["referenced"] is True
    assert data["jobs"] == [as_cli_json(j) for j in referencing(emulator_env, BLINK)]


# --- errors ---------------------------------------------------------------------------------


def _error_line(err: str):
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(("command", "package", "project", "code"), [
    ("list", "nope.jar", PROJECT, "Package.NotExist"),
    ("check-unreferenced", "nope.jar", PROJECT, "Package.NotExist"),
    ("check-unreferenced", "unused-udf.jar", "no-such-project", "Project.NotExist"),
])
def test_service_error_is_one_line_with_code_and_request_id(emulator_env, capsys, command, package, project,
                                                             code):
    status, out, err = run(capsys, *listing_args(emulator_env, command, package, project))
    assert status == 1 and out == ""
    match = ERROR_LINE.match(_error_line(err))
    assert match, err
    assert match["code"] == code
    assert package in match["message"] or project in match["message"]


def test_wrong_secret_is_one_line(emulator_env, capsys, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-secret")
    status, out, err = run(capsys, *listing_args(emulator_env, "check-unreferenced", "unused-udf.jar"))
    assert status == 1 and out == ""
    match = ERROR_LINE.match(_error_line(err))
    assert match and match["code"] == "SignatureDoesNotMatch"
    assert "wrong-secret" not in err


@pytest.mark.parametrize(("kind", "params", "code"), [
    ("error", {"status": 503}, "ServiceUnavailable"),
    ("not_json", {}, "MalformedResponse"),
    ("wrong_shape", {}, "MalformedResponse"),
    ("truncated_json", {}, "MalformedResponse"),
])
def test_an_error_never_reads_as_unreferenced(emulator_env, capsys, kind, params, code):
    emulator_env.faults.add(kind, times=None, **params)
    status, out, err = run(capsys, *listing_args(emulator_env, "check-unreferenced", "unused-udf.jar"))
    assert status == 1
    assert "unreferenced" not in out
    line = _error_line(err)
    assert line.startswith(f"error: {code}: ")


def test_a_doubtful_listing_is_refused_by_check_but_shown_by_list(emulator_env, capsys):
    """Jobs removed while page 2 is read, in both reads: counts disagree, the listing is doubtful."""
    state = emulator_env.state
    for i in range(10):
        state.put_job("shifty", {"JobId": f"job-{i:02d}", "Packages": "lib.jar"})

    def remove_first(number):
        if number % 2 == 0:
            state.remove_job("shifty", state.referencing_jobs("shifty", "lib.jar")[0]["JobId"])

    emulator_env.before_request.append(remove_first)
    extra = ("--page-size", "5", "--max-concurrency", "1")
    status, out, err = run(capsys, *listing_args(emulator_env, "check-unreferenced", "lib.jar", "shifty",
                                                 *extra))
    assert status == 1 and out == ""
    assert _error_line(err).startswith("error: InconsistentListing: ")
    status, out, err = run(capsys, *listing_args(emulator_env, "list", "lib.jar", "shifty", *extra))
    assert status == 0
    assert _error_line(err).startswith("warning: ")
    assert "listing may be incomplete" in err


def test_no_credentials(emulator, capsys):
    status, out, err = run(capsys, *listing_args(emulator, "check-unreferenced", "unused-udf.jar"))
    assert status == 1 and out == ""
    line = _error_line(err)
    assert line.startswith("error: CredentialsNotFound: ")
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in line
    assert len(emulator.requests) == 0


@pytest.mark.parametrize("extra", [
    ["--page-size", "0"], ["--page-size", "101"], ["--endpoint", "ftp://example.com"],
    ["--timeout", "0"], ["--max-concurrency", "0"], ["--region", "Not A Region"],
])
def test_invalid_values_exit_1_before_any_request(emulator_env, capsys, extra):
    status, out, err = run(capsys, *listing_args(emulator_env, "list", BLINK), *extra)
    assert status == 1 and out == ""
    assert _error_line(err).startswith("error: InvalidInput: ")
    assert len(emulator_env.requests) == 0


@pytest.mark.parametrize("package", [".", "..", " "])
def test_invalid_names_exit_1(emulator_env, capsys, package):
    status, _, err = run(capsys, *listing_args(emulator_env, "check-unreferenced", package))
    assert status == 1
    assert _error_line(err).startswith("error: InvalidInput: package_name")
    assert len(emulator_env.requests) == 0


@pytest.mark.parametrize("argv", [
    [],
    ["bogus"],
    ["list"],
    ["list", "--project", "p"],
    ["check-unreferenced", "--package", "x.jar"],
    ["list", "--project", "p", "--package", "x", "--page-size", "ten"],
    ["list", "--project", "p", "--package", "x", "--format", "xml"],
    ["list", "--project", "p", "--package", "x", "--job-type", "SQL"],
    ["list", "--project", "p", "--package", "x", "--no-such-flag"],
    ["emulator", "--port", "eighty"],
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv):
    """argparse's convention: a gate can tell a typo (2) from an outage (1)."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    line = _error_line(err)
    assert line.startswith("error: ") and line.endswith("--help)")


@pytest.mark.parametrize("argv", [[], ["list"], ["check-unreferenced"], ["emulator"]])
def test_help_on_every_command(capsys, argv):
    with pytest.raises(SystemExit) as info:
        cli.main([*argv, "--help"])
    assert info.value.code == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"usage: foas-refjobs {' '.join(argv)}".rstrip())
    assert err == ""
    for option in {"list": ["--project", "--package", "--committed-only", "--job-type", "--format"],
                   "check-unreferenced": ["--project", "--package", "--committed-only"],
                   "emulator": ["--host", "--port", "--data", "--latency-ms"]}.get(" ".join(argv), []):
        assert option in out


def test_version(capsys):
    from importlib.metadata import version

    from foas_refjobs import __version__

    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    python = "{}.{}.{}".format(*sys.version_info[:3])
    assert capsys.readouterr().out == (f"foas-refjobs {__version__} (aliyun-python-sdk-core "
                                       f"{version('aliyun-python-sdk-core')}, Python {python})\n")


# --- as a real process ----------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "ALIBABA_CLOUD_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET, "PYTHONIOENCODING": "utf-8"}


def _cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "foas_refjobs", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env or _env(), timeout=120, check=False)


def test_subprocess_list_json_and_check(emulator):
    proc = _cli(*listing_args(emulator, "list", BLINK, PROJECT, "--format", "json"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)
    assert list(data) == ["project_name", "package_name", "total_count", "jobs"]
    assert data["jobs"] == [as_cli_json(j) for j in referencing(emulator, BLINK)]

    proc = _cli(*listing_args(emulator, "check-unreferenced", BLINK))
    assert proc.returncode == 3, proc.stderr
    assert len(proc.stdout.splitlines()) == 1 + 15

    proc = _cli(*listing_args(emulator, "check-unreferenced", "unused-udf.jar"))
    assert proc.returncode == 0, proc.stderr


def test_subprocess_error_exit_1_one_line_no_traceback(emulator):
    env = {**_env(), "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "wrong-secret"}
    proc = _cli(*listing_args(emulator, "check-unreferenced", "unused-udf.jar"), env=env)
    assert proc.returncode == 1
    assert proc.stdout == ""
    match = ERROR_LINE.match(_error_line(proc.stderr))
    assert match and match["code"] == "SignatureDoesNotMatch"


def test_subprocess_emulator_command(tmp_path, capsys, monkeypatch):
    data = {"access_keys": {"AK-file": "secret-file"},
            "projects": {"demo": {"packages": ["spare.jar"],
                                  "jobs": [{"JobId": "j-1", "JobName": "one", "Packages": "app.jar"}]}}}
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "foas_refjobs", "emulator", "--port", "0", "--data",
                             str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline().strip()
        match = re.fullmatch(r"FOAS emulator listening on (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "AK-file")
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret-file")
        code = cli.main(["check-unreferenced", "--project", "demo", "--package", "app.jar",
                         "--endpoint", match[1]])
        assert code == 3
        code = cli.main(["check-unreferenced", "--project", "demo", "--package", "spare.jar",
                         "--endpoint", match[1]])
        assert code == 0
    finally:
        proc.terminate()
        try:
            rest, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "demo AccessKey" not in first + rest  # only printed for the default data set
    assert "emulator stopped" in err


def test_emulator_command_with_bad_data_file(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    status, out, err = run(capsys, "emulator", "--port", "0", "--data", str(path))
    assert status == 1 and out == ""
    assert _error_line(err).startswith("error: InvalidData: cannot load emulator data")
