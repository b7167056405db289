"""Credential resolution order (credentials.resolve_source), region order, endpoint parsing and input
validation."""

from __future__ import annotations

import json

import pytest

from foas_refjobs import Credentials, CredentialsNotFoundError, InvalidInputError
from foas_refjobs.credentials import CredentialSource, resolve_source
from foas_refjobs.query import (
    MAX_NAME_LENGTH,
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
    validate_job_type,
    validate_name,
    validate_page_size,
)
from foas_refjobs.settings import (
    DEFAULT_REGION,
    Endpoint,
    default_endpoint,
    parse_endpoint,
    resolve_region,
    validate_positive,
)

ENV_AK = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id-alibaba", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sk-id-alibaba"}
ENV_ALICLOUD = {"ALICLOUD_ACCESS_KEY": "id-alicloud", "ALICLOUD_SECRET_KEY": "sk-id-alicloud"}
ECS = {"ALIBABA_CLOUD_ECS_METADATA": "ecs-role"}


def write_ini(home, profiles: dict[str, dict[str, str]], path=None):
    path = path or home / ".alibabacloud" / "credentials"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, values in profiles.items():
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {v}" for k, v in values.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_cli_config(home, profiles: list[dict], current="default"):
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"current": current, "profiles": profiles}), encoding="utf-8")
    return path


def ak_profile(key_id: str) -> dict[str, str]:
    return {"type": "access_key", "access_key_id": key_id, "access_key_secret": f"sk-{key_id}"}


def cli_profile(name: str, key_id: str, mode: str = "AK") -> dict:
    return {"name": name, "mode": mode, "access_key_id": key_id, "access_key_secret": f"sk-{key_id}"}


def populate_all(home):
    """Every source of the chain, each with a different key id."""
    write_ini(home, {"default": ak_profile("id-ini")})
    write_cli_config(home, [cli_profile("default", "id-cli")])
    return {**ENV_AK, **ENV_ALICLOUD, **ECS}


def resolve_credentials(credentials=None, env=None, home=None) -> Credentials:
    """What the first configured source signs with now (static sources only: no network)."""
    return resolve_source(credentials, env=env, home=home).get()


def who(source: CredentialSource) -> str:
    return source.description if source.refreshes else source.get().access_key_id


# --- credentials ----------------------------------------------------------------------------


def test_argument_beats_everything(home):
    env = populate_all(home)
    given = Credentials("id-arg", "sk-arg")
    assert resolve_credentials(given, env=env, home=home) is given


@pytest.mark.parametrize(("removed", "expected"), [
    pytest.param((), "id-alibaba", id="alibaba-cloud-env-first"),
    pytest.param(("env_ak",), "id-alicloud", id="then-alicloud-env"),
    pytest.param(("env_ak", "env_alicloud"), "id-cli", id="then-aliyun-cli-config"),
    pytest.param(("env_ak", "env_alicloud", "cli"), "id-ini", id="then-credentials-file"),
    pytest.param(("env_ak", "env_alicloud", "ini", "cli"), "ECS RAM role ecs-role", id="then-ecs-metadata"),
])
def test_resolution_order(home, removed, expected):
    env = populate_all(home)
    if "env_ak" in removed:
        for k in ENV_AK:
            env.pop(k)
    if "env_alicloud" in removed:
        for k in ENV_ALICLOUD:
            env.pop(k)
    if "ini" in removed:
        (home / ".alibabacloud" / "credentials").unlink()
    if "cli" in removed:
        (home / ".aliyun" / "config.json").unlink()
    source = resolve_source(env=env, home=home)
    assert who(source) == expected
    if expected.startswith("id-"):
        assert source.get().access_key_secret == "sk-" + expected


def test_env_source_is_named_and_token_is_picked_up(home):
    env = {**ENV_AK, "ALIBABA_CLOUD_SECURITY_TOKEN": "tok"}
    creds = resolve_credentials(env=env, home=home)
    assert creds.kind == "sts" and creds.security_token == "tok"
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in creds.source
    creds = resolve_credentials(env={**ENV_ALICLOUD, "ALICLOUD_SECURITY_TOKEN": "tok2"}, home=home)
    assert creds.kind == "sts" and creds.security_token == "tok2"


def test_credentials_file_variable_and_profile(home, tmp_path):
    write_ini(home, {"default": ak_profile("id-home-default")})
    other = write_ini(home, {"default": ak_profile("id-file-default"), "work": ak_profile("id-work")},
                      path=tmp_path / "elsewhere.ini")
    assert resolve_credentials(env={}, home=home).access_key_id == "id-home-default"
    env = {"ALIBABA_CLOUD_CREDENTIALS_FILE": str(other)}
    assert resolve_credentials(env=env, home=home).access_key_id == "id-file-default"
    env["ALIBABA_CLOUD_PROFILE"] = "work"
    creds = resolve_credentials(env=env, home=home)
    assert creds.access_key_id == "id-work"
    assert "[work]" in creds.source and str(other) in creds.source
    env["ALIBABA_CLOUD_PROFILE"] = "nowhere"
    with pytest.raises(CredentialsNotFoundError, match="'nowhere'"):
        resolve_credentials(env=env, home=home)


def test_missing_ini_profile_falls_through_to_cli_config(home):
    write_ini(home, {"default": ak_profile("id-ini")})
    write_cli_config(home, [cli_profile("default", "id-cli"), cli_profile("work", "id-cli-work")])
    creds = resolve_credentials(env={"ALIBABA_CLOUD_PROFILE": "work"}, home=home)
    assert creds.access_key_id == "id-cli-work"


def test_cli_config_current_profile(home):
    write_cli_config(home, [cli_profile("default", "id-a"), cli_profile("prod", "id-b")], current="prod")
    assert resolve_credentials(env={}, home=home).access_key_id == "id-b"


@pytest.mark.parametrize(("fields", "kind"), [
    ({"type": "access_key", "access_key_id": "i", "access_key_secret": "s"}, "access_key"),
    ({"type": "sts", "access_key_id": "i", "access_key_secret": "s", "security_token": "t"}, "sts"),
    ({"type": "ram_role_arn", "access_key_id": "i", "access_key_secret": "s",
      "role_arn": "acs:ram::1:role/r"}, None),
    ({"type": "ecs_ram_role", "role_name": "r"}, None),
])
def test_ini_profile_types(home, fields, kind):
    write_ini(home, {"default": fields})
    source = resolve_source(env={}, home=home)
    assert source.refreshes is (kind is None)  # roles: fetched (and refreshed) by the library
    if kind is not None:
        assert source.get().kind == kind


def test_unsupported_profile_type_is_an_error(home):
    write_ini(home, {"default": {"type": "rsa_key_pair", "access_key_id": "i"}})
    with pytest.raises(InvalidInputError, match="rsa_key_pair"):
        resolve_source(env={}, home=home)


def test_unreadable_cli_config_is_an_error(home):
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir()
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="config.json"):
        resolve_source(env={}, home=home)


@pytest.mark.parametrize(("env", "missing"), [
    ({"ALIBABA_CLOUD_ACCESS_KEY_ID": "i"}, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ({"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s"}, "ALIBABA_CLOUD_ACCESS_KEY_ID"),
    ({"ALICLOUD_ACCESS_KEY": "i"}, "ALICLOUD_SECRET_KEY"),
    ({"ALICLOUD_SECRET_KEY": "s"}, "ALICLOUD_ACCESS_KEY"),
    # A half-set pair is an error even when a later source is complete.
    ({"ALIBABA_CLOUD_ACCESS_KEY_ID": "i", **ENV_ALICLOUD}, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
])
def test_half_set_pair_is_an_error(home, env, missing):
    with pytest.raises(InvalidInputError) as info:
        resolve_credentials(env=env, home=home)
    assert missing in info.value.message
    assert "is not" in info.value.message


def test_nothing_found_names_the_variables(home):
    with pytest.raises(CredentialsNotFoundError) as info:
        resolve_credentials(env={}, home=home)
    for var in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY"):
        assert var in info.value.message
    assert info.value.code == "CredentialsNotFound"


def test_process_environment_and_home_are_the_defaults(home, monkeypatch):
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(CredentialsNotFoundError):
        resolve_credentials()
    write_ini(home, {"default": ak_profile("id-home")})
    assert resolve_credentials().access_key_id == "id-home"
    monkeypatch.setenv("ALICLOUD_ACCESS_KEY", "id-env")
    monkeypatch.setenv("ALICLOUD_SECRET_KEY", "sk-env")
    assert resolve_credentials().access_key_id == "id-env"


def test_passing_something_else_than_credentials_is_rejected(home):
    with pytest.raises(InvalidInputError):
        resolve_source({"access_key_id": "x"}, env={}, home=home)  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "kwargs"), [
    (("id", None), {}),
    ((None, "secret"), {}),
    (("", ""), {}),
    (("id", "secret"), {"ecs_role_name": "role"}),
])
def test_incomplete_credentials_are_rejected(args, kwargs):
    with pytest.raises(InvalidInputError):
        Credentials(*args, **kwargs)


def test_credentials_repr_hides_secret_and_token():
    creds = Credentials("id-visible", "very-secret-value", "very-secret-token")
    for text in (repr(creds), str(creds), f"{creds}"):
        assert "id-visible" in text
        assert "very-secret-value" not in text
        assert "very-secret-token" not in text


# --- region ------------------------------------------------------------------------------


@pytest.mark.parametrize(("arg", "env", "expected"), [
    ("cn-shanghai", {"ALIBABA_CLOUD_REGION_ID": "cn-beijing", "ALICLOUD_REGION": "eu-west-1"},
     "cn-shanghai"),
    (None, {"ALIBABA_CLOUD_REGION_ID": "cn-beijing", "ALICLOUD_REGION": "eu-west-1"}, "cn-beijing"),
    (None, {"ALICLOUD_REGION": "eu-west-1"}, "eu-west-1"),
    ("", {"ALICLOUD_REGION": "eu-west-1"}, "eu-west-1"),
    (None, {}, DEFAULT_REGION),
])
def test_region_order(arg, env, expected):
    assert resolve_region(arg, env=env) == expected


@pytest.mark.parametrize(("arg", "env", "source"), [
    ("CN-Hangzhou", {}, "region_id"),
    ("cn hangzhou", {}, "region_id"),
    (None, {"ALIBABA_CLOUD_REGION_ID": "cn_hangzhou"}, "ALIBABA_CLOUD_REGION_ID"),
    (None, {"ALICLOUD_REGION": "cn-hangzhou/../x"}, "ALICLOUD_REGION"),
    ("a" * 65, {}, "region_id"),
])
def test_invalid_region_names_its_source(arg, env, source):
    with pytest.raises(InvalidInputError) as info:
        resolve_region(arg, env=env)
    assert info.value.message.startswith(source)


def test_region_from_process_environment(monkeypatch):
    monkeypatch.setenv("ALICLOUD_REGION", "ap-southeast-1")
    assert resolve_region() == "ap-southeast-1"


@pytest.mark.parametrize(("region", "host"), [
    ("cn-hangzhou", "foas.cn-hangzhou.aliyuncs.com"),
    ("cn-shanghai", "foas.cn-shanghai.aliyuncs.com"),
    ("cn-hongkong", "foas.aliyuncs.com"),
    ("us-east-1", "foas.ap-northeast-1.aliyuncs.com"),
])
def test_default_endpoint(region, host):
    assert default_endpoint(region) == Endpoint("https", host)


# --- endpoint ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected", "url"), [
    ("foas.aliyuncs.com", Endpoint("https", "foas.aliyuncs.com"), "https://foas.aliyuncs.com"),
    ("  foas.aliyuncs.com  ", Endpoint("https", "foas.aliyuncs.com"), "https://foas.aliyuncs.com"),
    ("127.0.0.1:8400", Endpoint("https", "127.0.0.1", 8400), "https://127.0.0.1:8400"),
    ("http://127.0.0.1:8400", Endpoint("http", "127.0.0.1", 8400), "http://127.0.0.1:8400"),
    ("HTTP://localhost:1/", Endpoint("http", "localhost", 1), "http://localhost:1"),
    ("https://foas.cn-shanghai.aliyuncs.com/", Endpoint("https", "foas.cn-shanghai.aliyuncs.com"),
     "https://foas.cn-shanghai.aliyuncs.com"),
    ("http://[::1]:8400", Endpoint("http", "::1", 8400), "http://[::1]:8400"),
    ("localhost", Endpoint("https", "localhost"), "https://localhost"),
])
def test_endpoint_parsing_valid(text, expected, url):
    endpoint = parse_endpoint(text)
    assert endpoint == expected
    assert endpoint.url == url == str(endpoint)


@pytest.mark.parametrize("text", [
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param(None, id="none"),
    pytest.param(8400, id="int"),
    pytest.param("ftp://foas.aliyuncs.com", id="ftp"),
    pytest.param("file:///etc/passwd", id="file"),
    pytest.param("http://user:pw@foas.aliyuncs.com", id="user-info-with-scheme"),
    pytest.param("user@foas.aliyuncs.com", id="user-info-without-scheme"),
    pytest.param("http://foas.aliyuncs.com/api/v2", id="path-with-scheme"),
    pytest.param("foas.aliyuncs.com/api", id="path-without-scheme"),
    pytest.param("foas.aliyuncs.com?x=1", id="query"),
    pytest.param("foas.aliyuncs.com#frag", id="fragment"),
    pytest.param("foas aliyuncs.com", id="inner-space"),
    pytest.param("http://foas .aliyuncs.com", id="space-in-host"),
    pytest.param("foas.aliyuncs\n.com", id="newline-inside"),
    pytest.param("foas.aliyuncs.com\t:80", id="tab"),
    pytest.param("http://foas.aliyuncs.com:99999", id="port-out-of-range"),
    pytest.param("http://foas.aliyuncs.com:abc", id="port-not-a-number"),
    pytest.param("http://127.0.0.1:0", id="port-zero"),
    pytest.param("127.0.0.1:0", id="port-zero-without-scheme"),
    pytest.param("http://", id="no-host"),
    pytest.param("http://:8400", id="port-only"),
    pytest.param("-bad-.example.com", id="bad-label"),
    pytest.param("foas_aliyuncs.com", id="underscore"),
])
def test_endpoint_parsing_invalid(text):
    with pytest.raises(InvalidInputError):
        parse_endpoint(text)


def test_endpoint_user_info_message_does_not_echo_the_password():
    with pytest.raises(InvalidInputError) as info:
        parse_endpoint("https://me:hunter2@foas.aliyuncs.com")
    assert "hunter2" not in str(info.value)


# --- names, page size, job type, numbers --------------------------------------------------


@pytest.mark.parametrize("name", [
    "a", "package1.jar", "my jar (v2)/final#1.jar", "a..b", "..x", "x..", "...", " leading",
    "ü名.jar", "a+b&c=d?e%f", "x" * MAX_NAME_LENGTH,
])
def test_valid_names_are_returned_unchanged(name):
    assert validate_name("package_name", name) == name


@pytest.mark.parametrize("name", [
    pytest.param("", id="empty"),
    pytest.param("   ", id="whitespace"),
    pytest.param(".", id="dot"),
    pytest.param("..", id="dotdot"),
    pytest.param("x" * (MAX_NAME_LENGTH + 1), id="too-long"),
    pytest.param("a\nb", id="newline"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("a\x7fb", id="del"),
    pytest.param("a\ud800b", id="lone-surrogate"),
    pytest.param(None, id="none"),
    pytest.param(123, id="int"),
    pytest.param(b"a.jar", id="bytes"),
])
def test_invalid_names(name):
    with pytest.raises(InvalidInputError) as info:
        validate_name("package_name", name)
    assert info.value.message.startswith("package_name")


@pytest.mark.parametrize(("value", "ok"), [
    (MIN_PAGE_SIZE, True), (MAX_PAGE_SIZE, True), (50, True),
    (MIN_PAGE_SIZE - 1, False), (MAX_PAGE_SIZE + 1, False), (-1, False),
    (True, False), (1.0, False), ("10", False), (None, False),
])
def test_page_size_bounds(value, ok):
    if ok:
        assert validate_page_size(value) == value
    else:
        with pytest.raises(InvalidInputError):
            validate_page_size(value)


def test_page_size_bounds_are_1_and_100():
    assert (MIN_PAGE_SIZE, MAX_PAGE_SIZE) == (1, 100)


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("FLINK_STREAM", "FLINK_STREAM"), ("flink_batch", "FLINK_BATCH"),
])
def test_job_type(value, expected):
    assert validate_job_type(value) == expected


@pytest.mark.parametrize("value", ["SQL", "", 1, "FLINK"])
def test_invalid_job_type(value):
    with pytest.raises(InvalidInputError):
        validate_job_type(value)


@pytest.mark.parametrize(("value", "allow_zero", "ok"), [
    (1, False, True), (0.5, False, True), (0, False, False), (0, True, True), (-1, True, False),
    (float("nan"), False, False), (True, False, False), ("1", False, False),
])
def test_validate_positive(value, allow_zero, ok):
    if ok:
        assert validate_positive("timeout", value, allow_zero=allow_zero) == float(value)
    else:
        with pytest.raises(InvalidInputError):
            validate_positive("timeout", value, allow_zero=allow_zero)
