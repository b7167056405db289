"""Region, profile and endpoint as the Alibaba tools resolve them, in the library, the CLI and the
Pulumi config (pulumi-alicloud's own keys: alicloud:profile, alicloud:sharedCredentialsFile,
alicloud:assumeRole)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from foas_refjobs import CredentialsNotFoundError, FoasClient, InvalidInputError, list_ref_package_jobs
from foas_refjobs.cli import main
from foas_refjobs.credentials import STS_ENDPOINT_VAR
from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FoasEmulator
from foas_refjobs.options import ClientOptions
from foas_refjobs.pulumi_settings import settings_from_config
from foas_refjobs.settings import ENDPOINT_ENV

ROLE = "acs:ram::1234567890:role/pulumi-deployer"
AK = {"access_key_id": DEFAULT_ACCESS_KEY_ID, "access_key_secret": DEFAULT_ACCESS_KEY_SECRET}


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "home"
    (path / ".aliyun").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(path))
    return path


def write_config(path: Path, current: str = "default", **regions: str) -> Path:
    profiles = [{"name": name, "mode": "AK", "region_id": region, **AK} for name, region in regions.items()]
    path.write_text(json.dumps({"current": current, "profiles": profiles}), encoding="utf-8")
    return path


def test_region_from_the_cli_profile(home: Path, emulator: FoasEmulator) -> None:
    write_config(home / ".aliyun" / "config.json", default="cn-shanghai")
    with FoasClient(endpoint=emulator.url) as client:
        assert client.region_id == "cn-shanghai"
        client.list_ref_package_jobs("bayes_team", "udf-common.jar")
    assert emulator.requests[-1].query["RegionId"] == "cn-shanghai"


@pytest.mark.parametrize("env,expected", [
    ({}, "cn-shanghai"),
    ({"ALIBABA_CLOUD_PROFILE": "eu"}, "eu-central-1"),
    ({"ALICLOUD_PROFILE": "eu"}, "eu-central-1"),
    ({"ALICLOUD_REGION": "cn-beijing", "ALICLOUD_PROFILE": "eu"}, "cn-beijing"),
    ({"ALIBABA_CLOUD_REGION_ID": "cn-shenzhen"}, "cn-shenzhen"),
])
def test_region_order(home: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                      expected: str) -> None:
    write_config(home / ".aliyun" / "config.json", default="cn-shanghai", eu="eu-central-1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with FoasClient() as client:
        assert client.region_id == expected
    with FoasClient(region_id="ap-south-1") as client:
        assert client.region_id == "ap-south-1"  # the argument wins over everything


def test_a_bad_profile_region_names_where_it_came_from(home: Path) -> None:
    write_config(home / ".aliyun" / "config.json", default="Not A Region")
    with pytest.raises(InvalidInputError, match="region_id of aliyun CLI profile 'default'"):
        FoasClient()


def test_endpoint_variable(emulator_env: FoasEmulator, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, emulator_env.url)
    assert main(["list", "--project", "bayes_team", "--package", "udf-common.jar"]) == 0
    assert len(emulator_env.requests) >= 1
    capsys.readouterr()
    monkeypatch.setenv(ENDPOINT_ENV, "ftp://nowhere")
    assert main(["list", "--project", "bayes_team", "--package", "udf-common.jar"]) == 1
    assert capsys.readouterr().err.startswith(f"error: InvalidInput: {ENDPOINT_ENV}: ")
    before = len(emulator_env.requests)
    assert main(["list", "--project", "bayes_team", "--package", "udf-common.jar",
                 "--endpoint", emulator_env.url]) == 0  # the option wins over the variable
    assert len(emulator_env.requests) > before


# --- Pulumi: the keys pulumi-alicloud reads --------------------------------------------------------

def options(config: dict[str, Any], **kwargs: Any) -> ClientOptions:
    return settings_from_config(config.get).options(**kwargs)


def test_alicloud_profile_and_shared_credentials_file(home: Path, tmp_path: Path,
                                                      emulator: FoasEmulator) -> None:
    shared = write_config(tmp_path / "shared.json", current="default", default="cn-beijing",
                          deploy="cn-shanghai")
    opts = options({"alicloud:profile": "deploy", "alicloud:sharedCredentialsFile": str(shared),
                    "foas:endpoint": emulator.url})
    assert opts.region_id == "cn-shanghai"
    assert "'deploy'" in repr(opts.credentials) and str(shared) in repr(opts.credentials)
    jobs = list_ref_package_jobs("bayes_team", "udf-common.jar", options=opts)
    assert jobs.total_count > 0 and emulator.requests[-1].access_key_id == DEFAULT_ACCESS_KEY_ID
    assert options({"alicloud:profile": "deploy", "alicloud:sharedCredentialsFile": str(shared),
                    "alicloud:region": "cn-hongkong"}).region_id == "cn-hongkong"


def test_a_missing_alicloud_profile_fails_the_operation_by_name(home: Path, tmp_path: Path) -> None:
    shared = write_config(tmp_path / "shared.json", default="cn-beijing")
    with pytest.raises(CredentialsNotFoundError, match="'stagin'"):
        options({"alicloud:profile": "stagin", "alicloud:sharedCredentialsFile": str(shared)})
    with pytest.raises(InvalidInputError, match="does not exist"):
        options({"alicloud:sharedCredentialsFile": str(tmp_path / "nope.json")})


@pytest.mark.parametrize("assume_role", [
    json.dumps({"roleArn": ROLE, "sessionName": "pulumi", "externalId": "ext", "sessionExpiration": 1800}),
    {"roleArn": ROLE, "sessionExpiration": 3600.0},
])
def test_alicloud_assume_role_on_top_of_config_keys(home: Path, emulator: FoasEmulator,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    assume_role: Any) -> None:
    emulator.state.add_role(ROLE)
    monkeypatch.setenv(STS_ENDPOINT_VAR, emulator.url)
    opts = options({"alicloud:accessKey": DEFAULT_ACCESS_KEY_ID,
                    "alicloud:secretKey": DEFAULT_ACCESS_KEY_SECRET,
                    "alicloud:assumeRole": assume_role, "foas:endpoint": emulator.url})
    jobs = list_ref_package_jobs("bayes_team", "udf-common.jar", options=opts)
    assert jobs.total_count > 0
    assert emulator.state.issued[-1].issued_to == ROLE
    assert emulator.requests[-1].access_key_id == emulator.state.issued[-1].access_key_id


@pytest.mark.parametrize("value,message", [
    ("{not json", "must be an object"),
    (json.dumps({"sessionName": "x"}), "roleArn"),
    (json.dumps({"roleArn": ROLE, "duration": 900}), "unknown field"),
    (json.dumps({"roleArn": ROLE, "sessionExpiration": 30}), "sessionExpiration"),
    (json.dumps(["x"]), "must be an object"),
])
def test_bad_assume_role_config_fails_the_operation_in_one_line(value: str, message: str) -> None:
    settings = settings_from_config({"alicloud:assumeRole": value}.get)
    with pytest.raises(InvalidInputError, match=message) as info:
        settings.options()
    assert "alicloud:assumeRole" in info.value.message
