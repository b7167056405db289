"""The AccessKey secret and the STS token never show: reprs, exceptions, logs (the DEBUG=sdk
request/response header dump and the SDK's ServerException log included), CLI output, serialized
providers.

Every test first makes sure the place it greps really carries the surrounding
text (the header line, the echoed string to sign), so a grep that finds nothing
because nothing was printed cannot pass.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import logging
import pickle
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from _figures import record
from clients import client_for_server
from foas_refjobs import AuthError, Credentials, FoasClient, FoasError, JobList, RetryPolicy
from foas_refjobs.cli import main
from foas_refjobs.emulator import EmulatorState, FoasEmulator
from foas_refjobs.emulator.datagen import generate_jobs
from foas_refjobs.redaction import MASK, redact
from isolation import child_env

PROJECT, PACKAGE = "bayes_team", "udf.jar"
AK_ID, AK_SECRET = "LTAI5tSecretsTest", "sk-Secrets-Test-0123456789abcdefXYZ"
STS_ID, STS_SECRET = "STS.NTsecretsTest", "sts-Secrets-Test-9876543210fedcba"
STS_TOKEN = "CAIS" + "Q2xvdWRTZWN1cml0eVRva2Vu" * 8 + "/+=="
WRONG_SECRET = "wrong-Secret-That-Must-Not-Leak-42"
WRONG_TOKEN = "CAISwrongTokenThatMustNotLeak" + "x" * 40
SECRETS = (AK_SECRET, STS_SECRET, STS_TOKEN, WRONG_SECRET, WRONG_TOKEN)


def assert_clean(*texts: str | bytes, where: str) -> None:
    for text in texts:
        blob = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        for secret in SECRETS:
            assert secret not in blob, f"{where}: a secret appears in {blob[:200]!r}"
    record("secret_grep", where=where, texts=len(texts))


@pytest.fixture
def emu(emulator_with: Callable[[EmulatorState], FoasEmulator]) -> FoasEmulator:
    state = EmulatorState.with_jobs(PROJECT, PACKAGE, generate_jobs(PROJECT, PACKAGE, 12),
                                    key_id=AK_ID, secret=AK_SECRET)
    state.add_sts(STS_ID, STS_SECRET, STS_TOKEN)
    return emulator_with(state)


CREDENTIALS = {
    "access-key": (AK_ID, AK_SECRET, None),
    "sts": (STS_ID, STS_SECRET, STS_TOKEN),
}

# id, credentials, expected code of the refusal
REFUSALS = [
    ("sts-wrong-secret", (STS_ID, WRONG_SECRET, STS_TOKEN), "SignatureDoesNotMatch"),
    ("sts-wrong-token", (STS_ID, STS_SECRET, WRONG_TOKEN), "InvalidSecurityToken.MismatchWithAccessKey"),
    ("ak-wrong-secret", (AK_ID, WRONG_SECRET, None), "SignatureDoesNotMatch"),
    ("unknown-key", ("LTAI5tUnknown", WRONG_SECRET, WRONG_TOKEN), "InvalidAccessKeyId.NotFound"),
]


def client(emu: FoasEmulator, key: tuple[str, str, str | None], **kwargs: Any) -> FoasClient:
    return client_for_server(emu, Credentials(*key), retry_policy=RetryPolicy(max_attempts=1), **kwargs)


# --- reprs, pickling ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CREDENTIALS)
def test_reprs_and_strs_hide_the_secret(emu: FoasEmulator, kind: str) -> None:
    creds = Credentials(*CREDENTIALS[kind])
    with client(emu, CREDENTIALS[kind]) as c:
        jobs = c.list_ref_package_jobs(PROJECT, PACKAGE)
        texts = [repr(creds), str(creds), repr(c), str(c), repr(c.credentials), repr(jobs),
                 json.dumps(jobs.to_dict()), repr(c.retry_policy), repr(c.endpoint)]
    assert "secret=***" in repr(creds)
    assert_clean(*texts, where=f"reprs:{kind}")


@pytest.mark.parametrize("kind", CREDENTIALS)
@pytest.mark.parametrize("how", [pickle.dumps, copy.copy, copy.deepcopy])
def test_objects_holding_the_secret_refuse_to_be_copied_out(emu: FoasEmulator, kind: str, how: Any) -> None:
    creds = Credentials(*CREDENTIALS[kind])
    with client(emu, CREDENTIALS[kind]) as c:
        for obj in (creds, c):
            with pytest.raises(TypeError, match="never pickled"):
                how(obj)


# --- exceptions --------------------------------------------------------------------------------


def _exception_texts(exc: BaseException) -> list[str]:
    chained = [e for e in (exc.__cause__, exc.__context__) if e is not None]
    return [str(exc), repr(exc), *(str(a) for a in exc.args),
            "".join(traceback.format_exception(exc)),
            exc.one_line() if isinstance(exc, FoasError) else "",
            *(str(e) for e in chained)]


@pytest.mark.parametrize(("key", "code"), [pytest.param(k, c, id=i) for i, k, c in REFUSALS])
def test_refusals_carry_no_secret(emu: FoasEmulator, key: tuple[str, str, str | None], code: str) -> None:
    with client(emu, key) as c, pytest.raises(AuthError) as info:
        c.list_ref_package_jobs(PROJECT, PACKAGE)
    assert info.value.code == code
    # nothing chained: the SDK's own exception text is not redacted
    assert info.value.__cause__ is None and info.value.__context__ is None
    texts = _exception_texts(info.value)
    if code == "SignatureDoesNotMatch":
        # the service echoes its string to sign, security token header included
        assert "server string to sign is:GET" in str(info.value)
        if key[2]:
            assert f"x-acs-security-token:{MASK}" in str(info.value)
    assert_clean(*texts, where=f"exception:{code}")


# --- logs: the SDK's own handlers and anything attached to its loggers --------------------------


@pytest.fixture
def sdk_debug(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """DEBUG=sdk as a user would set it; the request/response dump's stderr handler in a buffer."""
    from foas_refjobs.http_debug import DEBUG_HANDLER as handler

    monkeypatch.setenv("DEBUG", "sdk")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


@pytest.mark.parametrize("kind", CREDENTIALS)
def test_sdk_debug_header_dump_is_redacted(emu: FoasEmulator, sdk_debug: io.StringIO,
                                           caplog: pytest.LogCaptureFixture, kind: str) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="aliyunsdkcore")
    with client(emu, CREDENTIALS[kind]) as c:
        c.list_ref_package_jobs(PROJECT, PACKAGE)
    dump = sdk_debug.getvalue()
    assert "> Authorization : acs " in dump  # the request headers were written
    if kind == "sts":
        assert f"> x-acs-security-token : {MASK}" in dump
    assert_clean(dump, caplog.text, where=f"sdk-debug:{kind}")


@pytest.mark.parametrize(("key", "code"), [pytest.param(k, c, id=i) for i, k, c in REFUSALS])
def test_sdk_server_exception_log_is_redacted(emu: FoasEmulator, sdk_debug: io.StringIO,
                                              caplog: pytest.LogCaptureFixture,
                                              key: tuple[str, str, str | None], code: str) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="aliyunsdkcore")
    with client(emu, key) as c, pytest.raises(AuthError):
        c.list_ref_package_jobs(PROJECT, PACKAGE)
    assert "ServerException occurred" in caplog.text and code in caplog.text
    if code == "SignatureDoesNotMatch" and key[2]:
        assert f"x-acs-security-token:{MASK}" in caplog.text
    assert_clean(sdk_debug.getvalue(), caplog.text, where=f"sdk-error-log:{code}")


def test_a_stream_logger_attached_like_the_sdk_documents_is_redacted(emu: FoasEmulator,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """AcsClient.set_stream_logger() attaches to 'aliyunsdkcore' at DEBUG."""
    monkeypatch.setenv("DEBUG", "sdk")
    buffer = io.StringIO()
    with client(emu, (STS_ID, WRONG_SECRET, STS_TOKEN)) as c:
        c._signer.acs_client.set_stream_logger(stream=buffer)
        logger = logging.getLogger("aliyunsdkcore")
        try:
            with pytest.raises(AuthError):
                c.list_ref_package_jobs(PROJECT, PACKAGE)
        finally:
            for handler in list(logger.handlers):
                if getattr(handler, "stream", None) is buffer:
                    logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
    text = buffer.getvalue()
    assert "ServerException occurred" in text and "SignatureDoesNotMatch" in text
    assert_clean(text, where="sdk-stream-logger")


@pytest.mark.parametrize("text", [
    pytest.param("> x-acs-security-token : CAISunregisteredSessionToken==", id="header-dump"),
    pytest.param("x-acs-security-token:CAISunregisteredSessionToken==\nx-acs-version:1", id="string-to-sign"),
    pytest.param('{"Credentials":{"AccessKeySecret":"unregisteredSecret","SecurityToken":'
                 '"CAISunregisteredSessionToken=="}}', id="assume-role-body"),
    pytest.param("Action=GetX&SecurityToken=CAISunregisteredSessionToken%3D%3D&x=1", id="query"),
])
def test_session_credentials_the_sdk_fetched_itself_are_masked_in_its_logs(
        text: str, caplog: pytest.LogCaptureFixture) -> None:
    """RAM-role credentials come from the SDK's own AssumeRole/metadata calls: never registered
    with us, still masked by shape when the SDK logs them."""
    caplog.set_level(logging.DEBUG, logger="aliyunsdkcore")
    logging.getLogger("aliyunsdkcore.client").debug("Response received. Response-body: %s", text)
    assert "unregistered" not in caplog.text and "CAISunregistered" not in caplog.text
    assert MASK in caplog.text
    assert "unregistered" not in redact(text)


# --- CLI output --------------------------------------------------------------------------------


@pytest.fixture
def sts_env(emu: FoasEmulator, monkeypatch: pytest.MonkeyPatch) -> FoasEmulator:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", STS_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", STS_SECRET)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", STS_TOKEN)
    return emu


@pytest.mark.parametrize("argv", [
    pytest.param(["list"], id="list-table"),
    pytest.param(["list", "--format", "json"], id="list-json"),
    pytest.param(["check-unreferenced"], id="check-table"),
    pytest.param(["check-unreferenced", "--format", "json"], id="check-json"),
    pytest.param(["list", "--project", "no_such_project"], id="not-found"),
])
def test_cli_output_in_process_is_clean(sts_env: FoasEmulator, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    monkeypatch.setenv("DEBUG", "sdk")
    args = [*argv, "--endpoint", sts_env.url]
    if "--project" not in args:
        args += ["--project", PROJECT]
    code = main([*args, "--package", PACKAGE])
    out, err = capsys.readouterr()
    assert code in (0, 1, 3) and (out or err)
    assert_clean(out, err, where=f"cli:{' '.join(argv)}")


@pytest.mark.parametrize("secret_env", [
    pytest.param({"ALIBABA_CLOUD_ACCESS_KEY_SECRET": WRONG_SECRET}, id="wrong-secret"),
    pytest.param({"ALIBABA_CLOUD_SECURITY_TOKEN": WRONG_TOKEN}, id="wrong-token"),
])
def test_cli_refusal_in_process_is_one_clean_line(sts_env: FoasEmulator, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str],
                                                  secret_env: dict[str, str]) -> None:
    for name, value in secret_env.items():
        monkeypatch.setenv(name, value)
    code = main(["check-unreferenced", "--project", PROJECT, "--package", PACKAGE,
                 "--endpoint", sts_env.url])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert_clean(out, err, where="cli-refusal")


def _subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    return child_env(home, **{"DEBUG": "sdk", "ALIBABA_CLOUD_ACCESS_KEY_ID": STS_ID,
                              "ALIBABA_CLOUD_ACCESS_KEY_SECRET": STS_SECRET,
                              "ALIBABA_CLOUD_SECURITY_TOKEN": STS_TOKEN, **extra})


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("extra", "command", "exit_code"), [
    pytest.param({}, "list", 0, id="list"),
    pytest.param({}, "check-unreferenced", 3, id="check"),
    pytest.param({"ALIBABA_CLOUD_ACCESS_KEY_SECRET": WRONG_SECRET}, "list", 1, id="wrong-secret"),
    pytest.param({"ALIBABA_CLOUD_SECURITY_TOKEN": WRONG_TOKEN}, "list", 1, id="wrong-token"),
])
def test_cli_subprocess_with_sdk_debug_is_clean(emu: FoasEmulator, tmp_path: Path, extra: dict[str, str],
                                                command: str, exit_code: int) -> None:
    """The real entry point with DEBUG=sdk: the header dump goes to the real stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "foas_refjobs", command, "--project", PROJECT, "--package", PACKAGE,
         "--endpoint", emu.url, "--format", "json"],
        env=_subprocess_env(tmp_path, **extra), capture_output=True, text=True, timeout=100)
    assert proc.returncode == exit_code, proc.stderr[-2000:]
    assert "> Authorization : acs " in proc.stderr  # the request headers were dumped
    assert f"> x-acs-security-token : {MASK}" in proc.stderr
    assert_clean(proc.stdout, proc.stderr, where=f"cli-subprocess:{command}:{sorted(extra)}")


# --- serialized Pulumi providers and their outputs ----------------------------------------------


@pytest.mark.parametrize("cls_name", ["RefPackageJobsProvider", "PackageDeletionGuardProvider"])
def test_configured_provider_serializes_without_secrets(emu: FoasEmulator, cls_name: str) -> None:
    resources = pytest.importorskip("foas_refjobs.resources")
    from pulumi.dynamic import ConfigureRequest
    from pulumi.dynamic.dynamic import serialize_provider

    provider = getattr(resources, cls_name)()
    config = {"foas:accessKeyId": STS_ID, "foas:accessKeySecret": STS_SECRET,
              "foas:securityToken": STS_TOKEN, "foas:endpoint": emu.url}
    provider.configure(ConfigureRequest(SimpleNamespace(get=config.get)))  # type: ignore[arg-type]
    props = {"project_name": PROJECT, "package_name": PACKAGE}
    checked = provider.check({}, props)
    assert checked.failures == []
    texts: list[str | bytes] = [repr(provider), json.dumps(checked.inputs, default=str)]
    if cls_name == "RefPackageJobsProvider":
        created = provider.create(checked.inputs)
        assert created.outs["total_count"] == 12  # it really listed, signed with the STS token
        texts.append(json.dumps(created.outs, default=str))
    serialized = serialize_provider(provider)
    texts += [serialized, base64.b64decode(serialized)]
    assert_clean(*texts, where=f"pulumi:{cls_name}")


def test_joblist_from_a_listing_carries_nothing_but_jobs(emu: FoasEmulator) -> None:
    with client(emu, CREDENTIALS["sts"]) as c:
        jobs = c.list_ref_package_jobs(PROJECT, PACKAGE)
    assert isinstance(jobs, JobList)
    assert_clean(pickle.dumps(jobs), json.dumps(jobs.to_dict()), where="joblist-pickle")
