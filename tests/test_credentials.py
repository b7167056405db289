"""Every credential source of the chain, for real, against the emulator's STS, metadata and URI endpoints.

Each test resolves a source the way a user configures it (environment,
~/.aliyun/config.json, ~/.alibabacloud/credentials), gets credentials from it
through alibabacloud-credentials, and proves the emulator's GetRefPackageJob
accepts them by listing with them.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from credential_world import OIDC_PROVIDER, OIDC_TOKEN, ROLE, SSO_TOKEN, serve_credential_sources
from foas_refjobs import Credentials, FoasClient
from foas_refjobs.credentials import (
    IMDS_ENDPOINT_VAR,
    SOURCES_IN_ORDER,
    STS_ENDPOINT_VAR,
    AssumeRole,
    CredentialSource,
    resolve_source,
)
from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FoasEmulator
from foas_refjobs.errors import AuthError, CredentialsNotFoundError, InvalidInputError


@pytest.fixture
def emu(empty_emulator: FoasEmulator) -> FoasEmulator:
    return serve_credential_sources(empty_emulator)


def accepted(emu: FoasEmulator, source: CredentialSource) -> Credentials:
    """The credentials the source gives now, after the emulator accepted them for a listing."""
    creds = source.get()
    with FoasClient(endpoint=emu.url, credentials=creds) as client:
        assert client.list_ref_package_jobs("proj", "udf.jar").total_count == 0
    assert emu.requests[-1].access_key_id == creds.access_key_id
    return creds


def cli_config(home: Path, profiles: list[dict[str, Any]], current: str = "default") -> Path:
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"current": current, "profiles": profiles}), encoding="utf-8")
    return path


def ini(home: Path, text: str) -> Path:
    path = home / ".alibabacloud" / "credentials"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def token_file(home: Path) -> Path:
    path = home / "oidc-token"
    path.write_text(OIDC_TOKEN, encoding="utf-8")
    return path


def sts_env(emu: FoasEmulator, **extra: str) -> dict[str, str]:
    return {STS_ENDPOINT_VAR: emu.url, **extra}


AK = {"access_key_id": DEFAULT_ACCESS_KEY_ID, "access_key_secret": DEFAULT_ACCESS_KEY_SECRET}


# --- each source ------------------------------------------------------------------------------

def test_environment_keys_are_static(emu: FoasEmulator, home: Path) -> None:
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET}
    source = resolve_source(env=env, home=home)
    assert not source.refreshes and "ALIBABA_CLOUD_ACCESS_KEY_ID" in source.description
    assert accepted(emu, source).kind == "access_key"
    assert emu.credential_calls == type(emu.credential_calls)()


def test_oidc_role_from_the_environment(emu: FoasEmulator, home: Path) -> None:
    env = sts_env(emu, ALIBABA_CLOUD_ROLE_ARN=ROLE, ALIBABA_CLOUD_OIDC_PROVIDER_ARN=OIDC_PROVIDER,
                  ALIBABA_CLOUD_OIDC_TOKEN_FILE=str(token_file(home)))
    source = resolve_source(env=env, home=home)
    creds = accepted(emu, source)
    assert creds.kind == "sts" and creds.access_key_id.startswith("STS.")
    assert emu.state.issued[-1].issued_to == ROLE
    assert [c[1] for c in emu.credential_calls] == ["/"]


def test_a_wrong_oidc_token_is_refused_in_one_line(emu: FoasEmulator, home: Path,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    bad = home / "bad-token"
    bad.write_text("forged", encoding="utf-8")
    env = sts_env(emu, ALIBABA_CLOUD_ROLE_ARN=ROLE, ALIBABA_CLOUD_OIDC_PROVIDER_ARN=OIDC_PROVIDER,
                  ALIBABA_CLOUD_OIDC_TOKEN_FILE=str(bad))
    with pytest.raises(AuthError) as info:
        resolve_source(env=env, home=home).get()
    assert "AuthenticationFail.OIDCToken.Invalid" in info.value.message
    assert "Traceback" not in capfd.readouterr().err  # the library's stderr handler is gone


@pytest.mark.parametrize("mode", ["AK", "StsToken", "RamRoleArn", "ChainableRamRoleArn", "EcsRamRole",
                                  "OIDC", "CloudSSO", "External"])
def test_aliyun_cli_profile_modes(emu: FoasEmulator, home: Path, mode: str) -> None:
    sts = emu.state.issue_sts("fixed", 3600)
    profiles: dict[str, dict[str, Any]] = {
        "AK": {"mode": "AK", **AK},
        "StsToken": {"mode": "StsToken", "access_key_id": sts.access_key_id,
                     "access_key_secret": sts.access_key_secret, "sts_token": sts.security_token},
        "RamRoleArn": {"mode": "RamRoleArn", **AK, "ram_role_arn": ROLE, "ram_session_name": "s1"},
        "ChainableRamRoleArn": {"mode": "ChainableRamRoleArn", "source_profile": "base",
                                "ram_role_arn": ROLE},
        "EcsRamRole": {"mode": "EcsRamRole", "ram_role_name": "EcsFoasRole"},
        "OIDC": {"mode": "OIDC", "ram_role_arn": ROLE, "oidc_provider_arn": OIDC_PROVIDER,
                 "oidc_token_file": str(token_file(home))},
        "CloudSSO": {"mode": "CloudSSO", "cloud_sso_sign_in_url": emu.url,
                     "cloud_sso_account_id": "1234567890", "cloud_sso_access_config": "ac-foas",
                     "access_token": SSO_TOKEN, "cloud_sso_access_token_expire": 4102444800},
        "External": {"mode": "External", "process_command": f"{sys.executable} -c \"import json; "
                     f"print(json.dumps({{'mode': 'StsToken', 'access_key_id': '{sts.access_key_id}', "
                     f"'access_key_secret': '{sts.access_key_secret}', "
                     f"'sts_token': '{sts.security_token}'}}))\""},
    }
    cli_config(home, [{"name": "work", **profiles[mode]}, {"name": "base", "mode": "AK", **AK}],
               current="work")
    env = sts_env(emu, **{IMDS_ENDPOINT_VAR: emu.url})
    source = resolve_source(env=env, home=home)
    assert "'work'" in source.description
    creds = accepted(emu, source)
    issued_to = emu.state.issued[-1].issued_to
    if mode in ("RamRoleArn", "ChainableRamRoleArn", "OIDC"):
        assert issued_to == ROLE and creds.access_key_id == emu.state.issued[-1].access_key_id
    elif mode == "EcsRamRole":
        assert issued_to == "ecs:EcsFoasRole"
        calls = [(m, p) for m, p, _ in emu.credential_calls]
        assert ("PUT", "/latest/api/token") in calls  # IMDSv2: a token before any credentials
    elif mode == "CloudSSO":
        assert issued_to == "sso:1234567890/ac-foas"
    elif mode in ("StsToken", "External"):
        assert creds.access_key_id == sts.access_key_id


@pytest.mark.parametrize("section,issued_to", [
    (f"type = access_key\naccess_key_id = {DEFAULT_ACCESS_KEY_ID}\n"
     f"access_key_secret = {DEFAULT_ACCESS_KEY_SECRET}\n", None),
    (f"type = ram_role_arn\naccess_key_id = {DEFAULT_ACCESS_KEY_ID}\n"
     f"access_key_secret = {DEFAULT_ACCESS_KEY_SECRET}\nrole_arn = {ROLE}\n", ROLE),
    ("type = oidc_role_arn\nrole_arn = " + ROLE + "\noidc_provider_arn = " + OIDC_PROVIDER
     + "\noidc_token_file_path = TOKEN\n", ROLE),
    ("type = ecs_ram_role\nrole_name = EcsFoasRole\n", "ecs:EcsFoasRole"),
])
def test_credentials_file_types(emu: FoasEmulator, home: Path, section: str,
                                issued_to: str | None) -> None:
    ini(home, "[default]\n" + section.replace("TOKEN", str(token_file(home))))
    source = resolve_source(env=sts_env(emu, **{IMDS_ENDPOINT_VAR: emu.url}), home=home)
    assert "[default]" in source.description
    accepted(emu, source)
    if issued_to:
        assert emu.state.issued[-1].issued_to == issued_to


def test_ecs_role_discovered_through_imdsv2(emu: FoasEmulator, home: Path) -> None:
    source = resolve_source(env={IMDS_ENDPOINT_VAR: emu.url}, home=home)
    accepted(emu, source)
    paths = [p for _, p, _ in emu.credential_calls]
    assert "/latest/meta-data/ram/security-credentials/" in paths  # the role name, asked for
    assert emu.state.issued[-1].issued_to == "ecs:EcsFoasRole"


def test_metadata_without_the_token_step_is_refused(emu: FoasEmulator) -> None:
    import urllib.request

    with pytest.raises(urllib.request.HTTPError) as info:
        urllib.request.urlopen(emu.url + "/latest/meta-data/ram/security-credentials/EcsFoasRole")
    assert info.value.code == 401


def test_credentials_uri(emu: FoasEmulator, home: Path) -> None:
    source = resolve_source(env={"ALIBABA_CLOUD_CREDENTIALS_URI": emu.url + "/v1/credentials"},
                            home=home)
    accepted(emu, source)
    assert emu.state.issued[-1].issued_to == "uri"


@pytest.mark.parametrize("kind", ["ram_role_arn", "ecs_ram_role"])
def test_explicit_role_credentials(emu: FoasEmulator, home: Path, kind: str) -> None:
    given = (Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, role_arn=ROLE)
             if kind == "ram_role_arn" else Credentials(ecs_role_name="EcsFoasRole"))
    source = resolve_source(given, env=sts_env(emu, **{IMDS_ENDPOINT_VAR: emu.url}), home=home)
    accepted(emu, source)
    assert emu.state.issued[-1].issued_to == (ROLE if kind == "ram_role_arn" else "ecs:EcsFoasRole")


def test_assume_role_on_top_of_the_chain(emu: FoasEmulator, home: Path) -> None:
    env = sts_env(emu, ALICLOUD_ACCESS_KEY=DEFAULT_ACCESS_KEY_ID,
                  ALICLOUD_SECRET_KEY=DEFAULT_ACCESS_KEY_SECRET)
    role = AssumeRole(ROLE, session_name="pulumi", external_id="ext-1", policy=None,
                      session_expiration=1800)
    source = resolve_source(env=env, home=home, assume_role=role)
    creds = accepted(emu, source)
    assert creds.access_key_id == emu.state.issued[-1].access_key_id
    assert ROLE in source.description and "ALICLOUD_ACCESS_KEY" in source.description
    with pytest.raises(InvalidInputError, match="sessionExpiration"):
        AssumeRole(ROLE, session_expiration=60)


def test_an_unknown_role_is_refused_without_leaking(emu: FoasEmulator, home: Path,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    cli_config(home, [{"name": "default", "mode": "RamRoleArn", **AK,
                       "ram_role_arn": "acs:ram::1:role/nope"}])
    with pytest.raises(AuthError) as info:
        resolve_source(env=sts_env(emu), home=home).get()
    assert "EntityNotExist.Role" in info.value.message
    assert DEFAULT_ACCESS_KEY_SECRET not in str(info.value) + repr(info.value)
    assert "Traceback" not in capfd.readouterr().err


def test_the_library_logs_nothing_to_stderr_and_redacts(emu: FoasEmulator, home: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    cli_config(home, [{"name": "default", "mode": "RamRoleArn", **AK, "ram_role_arn": ROLE}])
    source = resolve_source(env=sts_env(emu), home=home)
    creds = source.get()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("credentials").warning("leak %s %s", creds.access_key_secret,
                                                 creds.security_token)
    text = caplog.text
    assert creds.access_key_secret and creds.access_key_secret not in text
    assert creds.security_token and creds.security_token not in text


# --- the chain's promises -------------------------------------------------------------------

def test_order_cli_profile_before_credentials_file(home: Path) -> None:
    cli_config(home, [{"name": "default", "mode": "AK", "access_key_id": "id-cli",
                       "access_key_secret": "sk-cli"}])
    ini(home, "[default]\naccess_key_id = id-ini\naccess_key_secret = sk-ini\n")
    assert resolve_source(env={}, home=home).get().access_key_id == "id-cli"
    env = {"ALICLOUD_ACCESS_KEY": "id-env", "ALICLOUD_SECRET_KEY": "sk-env"}
    assert resolve_source(env=env, home=home).get().access_key_id == "id-env"
    assert resolve_source(env={"ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true"},
                          home=home).get().access_key_id == "id-ini"


@pytest.mark.parametrize("variable", ["ALIBABA_CLOUD_PROFILE", "ALICLOUD_PROFILE"])
def test_named_profile_from_either_variable(home: Path, variable: str) -> None:
    cli_config(home, [{"name": "default", "mode": "AK", "access_key_id": "id-a", "access_key_secret": "s"},
                      {"name": "prod", "mode": "AK", "access_key_id": "id-p", "access_key_secret": "s"}])
    assert resolve_source(env={variable: "prod"}, home=home).get().access_key_id == "id-p"


def test_a_missing_named_profile_is_reported_by_name(home: Path) -> None:
    cli_config(home, [{"name": "default", "mode": "AK", **AK}])
    with pytest.raises(CredentialsNotFoundError) as info:
        resolve_source(env={"ALIBABA_CLOUD_PROFILE": "stagingg"}, home=home)
    assert "'stagingg'" in info.value.message and "config.json" in info.value.message
    assert info.value.code == "ProfileNotFound"


def test_no_credentials_lists_every_source_in_order(home: Path) -> None:
    with pytest.raises(CredentialsNotFoundError) as info:
        resolve_source(env={}, home=home)
    message = info.value.message
    positions = [message.index(source) for source in SOURCES_IN_ORDER]
    assert positions == sorted(positions) and len(positions) == 8
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("env,missing", [
    ({"ALIBABA_CLOUD_ACCESS_KEY_ID": "i"}, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ({"ALICLOUD_SECRET_KEY": "s"}, "ALICLOUD_ACCESS_KEY"),
    ({"ALIBABA_CLOUD_ACCESS_KEY_ID": "i", "ALICLOUD_ACCESS_KEY": "j", "ALICLOUD_SECRET_KEY": "s"},
     "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ({"ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/t"}, "ALIBABA_CLOUD_ROLE_ARN"),
])
def test_half_set_is_an_error(home: Path, env: dict[str, str], missing: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        resolve_source(env=env, home=home)
    assert missing in info.value.message


def test_aliyun_variables_are_never_a_source(home: Path) -> None:
    env = {"ALIYUN_ACCESS_KEY_ID": "id-aliyun", "ALIYUN_ACCESS_KEY_SECRET": "sk-aliyun"}
    with pytest.raises(CredentialsNotFoundError):
        resolve_source(env=env, home=home)
    given = Credentials("id-arg", "sk-arg")
    assert resolve_source(given, env=env, home=home).get() is given


def test_sources_refuse_pickling_and_hide_secrets(emu: FoasEmulator, home: Path) -> None:
    import pickle

    cli_config(home, [{"name": "default", "mode": "RamRoleArn", **AK, "ram_role_arn": ROLE}])
    source = resolve_source(env=sts_env(emu), home=home)
    creds = source.get()
    for text in (repr(source), str(source), repr(creds)):
        assert DEFAULT_ACCESS_KEY_SECRET not in text and str(creds.access_key_secret) not in text
        assert str(creds.security_token) not in text
    with pytest.raises(TypeError):
        pickle.dumps(source)


def test_pinned_library_internals(home: Path) -> None:
    """What credentials.py relies on in alibabacloud-credentials beyond its constructors."""
    from alibabacloud_credentials.provider import EcsRamRoleCredentialsProvider

    provider = EcsRamRoleCredentialsProvider(role_name="r", async_update_enabled=False)
    assert provider._EcsRamRoleCredentialsProvider__metadata_service_host == "100.100.100.200"
