"""Bad input: each case fails with InvalidInputError and a one-line message, before any request.

Every case runs against a live emulator and asserts that the emulator saw no
request at all, so "before any network call" is measured, not assumed.
Rows of the table in docs/reliability.md point at these tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from _figures import record
from clients import client_for_server
from foas_refjobs import Credentials, FoasClient, InvalidInputError, RetryPolicy, list_ref_package_jobs
from foas_refjobs.cli import main
from foas_refjobs.emulator import FoasEmulator
from foas_refjobs.query import MAX_NAME_LENGTH

PASSWORD = "hunter2-in-the-url"

# (case id, bad value, words the message must contain)
NAME_CASES = [
    ("empty", "", "must not be empty"),
    ("space", " ", "must not be empty"),
    ("whitespace-mix", " \t\u3000", "must not be empty"),
    ("too-long", "j" * (MAX_NAME_LENGTH + 1), f"the limit is {MAX_NAME_LENGTH}"),
    ("too-long-cjk", "包" * (MAX_NAME_LENGTH + 1), f"the limit is {MAX_NAME_LENGTH}"),
    ("nul", "udf\x00.jar", "U+0000"),
    ("newline", "udf\n.jar", "U+000A"),
    ("carriage-return", "udf.jar\r", "U+000D"),
    ("escape", "\x1b[31mudf.jar", "U+001B"),
    ("delete", "udf\x7f.jar", "U+007F"),
    ("c1-next-line", "udf\x85.jar", "U+0085"),
    ("lone-surrogate", "udf\ud800.jar", "U+D800"),
    ("dot", ".", "dot segment"),
    ("dot-dot", "..", "dot segment"),
    ("none", None, "must be a string"),
    ("int", 42, "must be a string"),
    ("bytes", b"udf.jar", "must be a string"),
]

PAGE_SIZE_CASES = [
    ("zero", 0, "between 1 and 100"),
    ("negative", -1, "between 1 and 100"),
    ("over-max", 101, "between 1 and 100"),
    ("huge", 10**12, "between 1 and 100"),
    ("bool", True, "must be an integer"),
    ("float", 10.0, "must be an integer"),
    ("string", "10", "must be an integer"),
]

JOB_TYPE_CASES = [
    ("unknown", "FLINK_SQL", "must be one of"),
    ("empty", "", "must be one of"),
    ("almost", "FLINK", "must be one of"),
    ("int", 1, "must be one of"),
]

REGION_CASES = [
    ("space", "cn hangzhou", "is not a region id"),
    ("underscore", "cn_hangzhou", "is not a region id"),
    ("upper", "CN-HANGZHOU", "is not a region id"),
    ("leading-dash", "-cn-hangzhou", "is not a region id"),
    ("trailing-dash", "cn-hangzhou-", "is not a region id"),
    ("double-dash", "cn--hangzhou", "is not a region id"),
    ("slash", "cn-hangzhou/../x", "is not a region id"),
    ("newline", "cn-hangzhou\n", "is not a region id"),
    ("fullwidth", "ｃｎ-hangzhou", "is not a region id"),
    ("too-long", "cn-" + "a" * 62, "is not a region id"),
    ("dot", "cn.hangzhou", "is not a region id"),
]

ENDPOINT_CASES = [
    ("userinfo-http", f"http://admin:{PASSWORD}@127.0.0.1:8400", "user-info"),
    ("userinfo-bare", f"admin:{PASSWORD}@foas.aliyuncs.com", "user-info"),
    ("userinfo-user-only", "admin@foas.aliyuncs.com", "user-info"),
    ("scheme-ftp", "ftp://foas.aliyuncs.com", "scheme 'ftp' is not supported"),
    ("scheme-file", "file:///etc/passwd", "scheme 'file' is not supported"),
    ("scheme-gopher", "gopher://foas.aliyuncs.com", "scheme 'gopher' is not supported"),
    ("scheme-ws", "ws://foas.aliyuncs.com", "scheme 'ws' is not supported"),
    ("scheme-userinfo", f"ftp://admin:{PASSWORD}@h", "must not contain user-info"),
    ("empty", "", "non-empty string"),
    ("blank", "   ", "non-empty string"),
    ("not-a-string", 8400, "non-empty string"),
    ("path", "http://foas.aliyuncs.com/api", "not a URL path"),
    ("query", "foas.aliyuncs.com?x=1", "not a URL path"),
    ("fragment", "foas.aliyuncs.com#f", "not a URL path"),
    ("port-range", "foas.aliyuncs.com:99999", "invalid port"),
    ("port-text", "foas.aliyuncs.com:http", "invalid port"),
    ("no-host", "http://", "has no host"),
    ("space-in-host", "foas aliyuncs.com", "whitespace or control"),
    ("control", "foas.aliyuncs.com\x00", "whitespace or control"),
    ("bad-host", "foas_aliyuncs!.com", "not a valid host name"),
    ("ipv6-unclosed", "http://[::1", "not a valid URL"),
    ("ipv6-invalid", "http://[not:an:ip]:8400", "not a valid URL"),
    ("ipv6-unclosed-userinfo", f"http://admin:{PASSWORD}@[::1", "must not contain user-info"),
]


def _client(emu: FoasEmulator, creds: Credentials, **kwargs: Any) -> FoasClient:
    return client_for_server(emu, creds, retry_policy=RetryPolicy(max_attempts=1), **kwargs)


def _assert_one_line(exc: InvalidInputError, needle: str) -> None:
    text = str(exc)
    assert needle in text
    assert "\n" not in text and "\r" not in text
    assert exc.code == "InvalidInput"
    assert text.startswith("InvalidInput: ")


def _assert_no_request(emu: FoasEmulator, case: str) -> None:
    assert emu.faults.requests == 0
    assert len(emu.requests) == 0
    record("bad_input", case=case, requests=emu.faults.requests)


@pytest.mark.parametrize("field", ["project_name", "package_name"])
@pytest.mark.parametrize(("value", "needle"), [pytest.param(v, n, id=i) for i, v, n in NAME_CASES])
def test_bad_name_rejected_before_any_request(empty_emulator: FoasEmulator, creds: Credentials,
                                              field: str, value: Any, needle: str) -> None:
    names: dict[str, Any] = {"project_name": "bayes_team", "package_name": "udf.jar", field: value}
    with _client(empty_emulator, creds) as client, pytest.raises(InvalidInputError) as info:
        client.list_ref_package_jobs(names["project_name"], names["package_name"])
    _assert_one_line(info.value, needle)
    assert field in str(info.value)
    _assert_no_request(empty_emulator, f"{field}:{needle}")


@pytest.mark.parametrize(("value", "needle"), [pytest.param(v, n, id=i) for i, v, n in PAGE_SIZE_CASES])
def test_bad_page_size_rejected_before_any_request(empty_emulator: FoasEmulator, creds: Credentials,
                                                   value: Any, needle: str) -> None:
    with _client(empty_emulator, creds) as client, pytest.raises(InvalidInputError) as info:
        client.list_ref_package_jobs("bayes_team", "udf.jar", page_size=value)
    _assert_one_line(info.value, needle)
    _assert_no_request(empty_emulator, f"page_size:{value!r}")


@pytest.mark.parametrize(("value", "needle"), [pytest.param(v, n, id=i) for i, v, n in JOB_TYPE_CASES])
def test_bad_job_type_rejected_before_any_request(empty_emulator: FoasEmulator, creds: Credentials,
                                                  value: Any, needle: str) -> None:
    with _client(empty_emulator, creds) as client, pytest.raises(InvalidInputError) as info:
        client.list_ref_package_jobs("bayes_team", "udf.jar", job_type=value)
    _assert_one_line(info.value, needle)
    _assert_no_request(empty_emulator, f"job_type:{value!r}")


@pytest.mark.parametrize(("value", "needle"), [pytest.param(v, n, id=i) for i, v, n in REGION_CASES])
def test_bad_region_rejected_before_any_request(empty_emulator: FoasEmulator, creds: Credentials,
                                                value: str, needle: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        _client(empty_emulator, creds, region_id=value)
    _assert_one_line(info.value, needle)
    _assert_no_request(empty_emulator, f"region:{value!r}")


def test_bad_region_from_environment_names_the_variable(empty_emulator: FoasEmulator, creds: Credentials,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_REGION_ID", "cn hangzhou")
    with pytest.raises(InvalidInputError) as info:
        _client(empty_emulator, creds)
    _assert_one_line(info.value, "ALIBABA_CLOUD_REGION_ID")
    _assert_no_request(empty_emulator, "region:env")


@pytest.mark.parametrize(("value", "needle"), [pytest.param(v, n, id=i) for i, v, n in ENDPOINT_CASES])
def test_bad_endpoint_rejected_before_any_request(empty_emulator: FoasEmulator, creds: Credentials,
                                                  value: Any, needle: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        FoasClient(endpoint=value, credentials=creds)
    _assert_one_line(info.value, needle)
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value)
    _assert_no_request(empty_emulator, f"endpoint:{value!r}")


@pytest.mark.parametrize(("kwargs", "needle"), [
    pytest.param({"timeout": 0}, "timeout must be > 0", id="timeout-zero"),
    pytest.param({"timeout": -1.0}, "timeout must be > 0", id="timeout-negative"),
    pytest.param({"timeout": float("nan")}, "timeout must be > 0", id="timeout-nan"),
    pytest.param({"timeout": "5"}, "timeout must be a number", id="timeout-text"),
    pytest.param({"connect_timeout": 0}, "connect_timeout must be > 0", id="connect-timeout-zero"),
    pytest.param({"max_attempts": 0}, "max_attempts must be 1..20", id="attempts-zero"),
    pytest.param({"max_attempts": 21}, "max_attempts must be 1..20", id="attempts-over"),
    pytest.param({"max_concurrency": 0}, "max_concurrency must be 1..64", id="concurrency-zero"),
    pytest.param({"max_concurrency": 65}, "max_concurrency must be 1..64", id="concurrency-over"),
])
def test_bad_client_option_rejected(empty_emulator: FoasEmulator, creds: Credentials,
                                    kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        FoasClient(endpoint=empty_emulator.url, credentials=creds, **kwargs)
    _assert_one_line(info.value, needle)
    _assert_no_request(empty_emulator, f"option:{kwargs!r}")


def test_committed_only_must_be_a_boolean(empty_emulator: FoasEmulator, creds: Credentials) -> None:
    with _client(empty_emulator, creds) as client, pytest.raises(InvalidInputError) as info:
        client.list_ref_package_jobs("bayes_team", "udf.jar", committed_only="yes")  # type: ignore[arg-type]
    _assert_one_line(info.value, "committed_only must be a boolean")
    _assert_no_request(empty_emulator, "committed_only:'yes'")


def test_names_are_checked_before_credentials_are_looked_up() -> None:
    """No credentials anywhere: a bad name still reports the name, not missing credentials."""
    with pytest.raises(InvalidInputError) as info:
        list_ref_package_jobs("bayes_team", " ", endpoint="http://127.0.0.1:9")
    _assert_one_line(info.value, "package_name must not be empty")
    record("bad_input", case="no-credentials:package_name", requests=0)


def test_longest_allowed_name_reaches_the_service_as_one_segment(empty_emulator: FoasEmulator,
                                                                creds: Credentials) -> None:
    """The bound is inclusive: 255 characters (of any script) are sent, and arrive intact."""
    project, package = "p" * MAX_NAME_LENGTH, "包" * (MAX_NAME_LENGTH - 4) + ".jar"
    empty_emulator.state.add_package(project, package)
    with _client(empty_emulator, creds) as client:
        jobs = client.list_ref_package_jobs(project, package)
    assert jobs.total_count == 0 and jobs.consistent
    assert [r.segments for r in empty_emulator.requests] == [(project, package)]


# --- the CLI: exit 1 (2 for usage errors), exactly one line on stderr, nothing on stdout ----------


CLI_CASES = [
    ("empty-project", ["--project", "", "--package", "udf.jar"], "project_name must not be empty"),
    ("blank-package", ["--project", "bayes_team", "--package", "  "], "package_name must not be empty"),
    ("control-char", ["--project", "bayes_team", "--package", "udf\x01.jar"], "U+0001"),
    ("too-long", ["--project", "bayes_team", "--package", "x" * 256], "the limit is 255"),
    ("dot-dot", ["--project", "..", "--package", "udf.jar"], "dot segment"),
    ("page-size-zero", ["--project", "p", "--package", "udf.jar", "--page-size", "0"], "between 1 and 100"),
    ("page-size-big", ["--project", "p", "--package", "udf.jar", "--page-size", "1000"],
     "between 1 and 100"),
    ("page-size-text", ["--project", "p", "--package", "udf.jar", "--page-size", "ten"],
     "invalid int value"),
    ("job-type", ["--project", "p", "--package", "udf.jar", "--job-type", "flink_sql"], "invalid choice"),
    ("region", ["--project", "p", "--package", "udf.jar", "--region", "CN HANGZHOU"],
     "is not a region id"),
    ("endpoint-userinfo", ["--project", "p", "--package", "udf.jar", "--endpoint",
                           f"http://u:{PASSWORD}@127.0.0.1:1"], "user-info"),
    ("endpoint-scheme", ["--project", "p", "--package", "udf.jar", "--endpoint", "ftp://127.0.0.1"],
     "not supported"),
    ("timeout", ["--project", "p", "--package", "udf.jar", "--timeout", "0"], "timeout must be > 0"),
    ("concurrency", ["--project", "p", "--package", "udf.jar", "--max-concurrency", "0"],
     "max_concurrency must be 1..64"),
    ("missing-package", ["--project", "p"], "--package"),
]
# Rejected by argparse itself: a usage error, exit 2 (the rest parse, then fail validation: exit 1).
USAGE_ERRORS = {"page-size-text", "job-type", "missing-package"}


@pytest.mark.parametrize("command", ["list", "check-unreferenced"])
@pytest.mark.parametrize(("args", "needle", "expected"),
                         [pytest.param(a, n, 2 if i in USAGE_ERRORS else 1, id=i) for i, a, n in CLI_CASES])
def test_cli_bad_input_is_one_line_on_stderr_and_exit_1_or_2(
        emulator_env: FoasEmulator, capsys: pytest.CaptureFixture[str], command: str,
        args: list[str], needle: str, expected: int) -> None:
    argv = [command, *args]
    if "--endpoint" not in args:
        argv += ["--endpoint", emulator_env.url]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors exit from inside parse_args
        code = exc.code
    out, err = capsys.readouterr()
    assert code == expected
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert needle in err
    assert PASSWORD not in err
    _assert_no_request(emulator_env, f"cli:{command}:{needle}")
