"""The new send path through the real client and CLI: credentials refreshed across expiry in one
listing, proxies from the environment, and every transport limit ending in one clear error.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from foas_refjobs import AuthError, Credentials, FoasClient, RetryPolicy
from foas_refjobs.cli import main
from foas_refjobs.credentials import IMDS_ENDPOINT_VAR, STS_ENDPOINT_VAR, resolve_source
from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FoasEmulator
from foas_refjobs.emulator.datagen import generate_jobs
from hostile_server import HostileServer, Reply, page_body
from loopback import ForwardProxy

ROLE = "acs:ram::1234567890:role/long-listing"


@pytest.fixture
def paged(empty_emulator: FoasEmulator) -> FoasEmulator:
    for job in generate_jobs("proj", "udf.jar", 60):
        empty_emulator.state.put_job("proj", job)
    empty_emulator.state.add_role(ROLE)
    return empty_emulator


def _source_env(kind: str, emu: FoasEmulator, home: Path) -> dict[str, str]:
    if kind == "cli-ram-role":
        (home / ".aliyun").mkdir()
        (home / ".aliyun" / "config.json").write_text(json.dumps({"current": "r", "profiles": [
            {"name": "r", "mode": "RamRoleArn", "access_key_id": DEFAULT_ACCESS_KEY_ID,
             "access_key_secret": DEFAULT_ACCESS_KEY_SECRET, "ram_role_arn": ROLE}]}), encoding="utf-8")
        return {STS_ENDPOINT_VAR: emu.url}
    if kind == "oidc":
        token = home / "token"
        token.write_text("oidc-token-for-refresh", encoding="utf-8")
        emu.state.add_oidc_provider("acs:ram::1:oidc-provider/ack", "oidc-token-for-refresh")
        return {STS_ENDPOINT_VAR: emu.url, "ALIBABA_CLOUD_ROLE_ARN": ROLE,
                "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": "acs:ram::1:oidc-provider/ack",
                "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token)}
    if kind == "ecs":
        emu.state.add_ecs_role("EcsRole")
        return {IMDS_ENDPOINT_VAR: emu.url, "ALIBABA_CLOUD_ECS_METADATA": "EcsRole"}
    return {"ALIBABA_CLOUD_CREDENTIALS_URI": emu.url + "/v1/credentials"}


@pytest.mark.parametrize("kind", ["cli-ram-role", "oidc", "ecs", "uri"])
def test_credentials_are_refreshed_across_expiry_within_one_listing(paged: FoasEmulator, home: Path,
                                                                   kind: str) -> None:
    """Tokens that live 1 s, a listing of 12 sequential pages that takes about 2.5 s."""
    paged.state.sts_lifetime = 1.0
    paged.latency_ms = 200
    source = resolve_source(env=_source_env(kind, paged, home), home=home)
    assert source.refreshes
    started = time.monotonic()
    with FoasClient(endpoint=paged.url, credentials=source, max_concurrency=1) as client:
        jobs = client.list_ref_package_jobs("proj", "udf.jar", page_size=5)
    elapsed = time.monotonic() - started
    assert jobs.total_count == 60 and jobs.consistent and jobs.pages_fetched == 12
    assert elapsed > 2.0  # longer than any one token lived
    used = [r.access_key_id for r in paged.requests]
    assert all(r.status == 200 for r in paged.requests)
    assert len(set(used)) >= 3  # several tokens, each used while it was valid
    first = paged.state.issued[0]
    assert first.expires_at is not None and time.time() > first.expires_at
    stale = Credentials(first.access_key_id, first.access_key_secret, first.security_token)
    with FoasClient(endpoint=paged.url, credentials=stale,
                    retry_policy=RetryPolicy(max_attempts=1)) as client, \
            pytest.raises(AuthError) as info:
        client.list_ref_package_jobs("proj", "udf.jar")
    assert info.value.code == "InvalidSecurityToken.Expired"  # expiry is real: refresh mattered


# --- proxies -------------------------------------------------------------------------------------

def test_no_proxy_reaches_the_endpoint_past_a_dead_proxy(emulator_env: FoasEmulator,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The case of the issue: curl reaches the server with this environment, so must we."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    code = main(["list", "--project", "bayes_team", "--package", "udf-common.jar",
                 "--endpoint", emulator_env.url])
    assert code == 0, capsys.readouterr().err
    assert len(emulator_env.requests) >= 1


def test_a_signed_listing_through_a_real_forwarding_proxy(emulator_env: FoasEmulator,
                                                          forward_proxy: ForwardProxy,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", forward_proxy.url)
    with FoasClient(endpoint=emulator_env.url) as client:
        jobs = client.list_ref_package_jobs("bayes_team", "udf-common.jar")
    assert jobs.total_count > 0 and all(r.status == 200 for r in emulator_env.requests)
    assert forward_proxy.records and all(r.target.startswith(emulator_env.url + "/api/v2/")
                                         for r in forward_proxy.records)


# --- limits through the CLI ------------------------------------------------------------------------

def cli(server: HostileServer, monkeypatch: pytest.MonkeyPatch, *extra: str) -> list[str]:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEFAULT_ACCESS_KEY_SECRET)
    return ["check-unreferenced", "--project", "proj", "--package", "udf.jar",
            "--endpoint", server.url, *extra]


def test_trickled_headers_cannot_hold_a_timeout_2_request_past_2_seconds(
        hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    body = b'{"TotalCount": 0}'
    hostile_server.handler = lambda _request: Reply.http(200, [("Content-Type", "application/json")],
                                                         body, trickle_headers=1.0)
    started = time.monotonic()
    code = main(cli(hostile_server, monkeypatch, "--timeout", "2"))
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: Timeout: ") and err.count("\n") == 1
    arrivals = [r.received_at for r in hostile_server.requests]
    assert len(arrivals) >= 2  # a timeout is retried, each attempt on its own 2 s deadline
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert all(gap < 2.0 + 1.0 for gap in gaps), gaps  # 2 s cut + the policy's backoff (< 1 s here)
    assert elapsed < len(arrivals) * 3.0


@pytest.mark.parametrize("reply,needle", [
    (Reply.gzip_bomb(256 * 1024 * 1024, layers=2), "once decoded"),
    (Reply.http(200, [("Content-Length", "²")], b"{}", content_length=False), "Content-Length"),
    (Reply.json(page_body([]), headers=[("Content-Encoding", "br")]), "Content-Encoding"),
])
def test_limits_end_in_one_malformed_response_line(hostile_server: HostileServer,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str],
                                                   reply: Reply, needle: str) -> None:
    hostile_server.handler = lambda _request: reply
    code = main(cli(hostile_server, monkeypatch))
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("error: MalformedResponse: ") and needle in err and err.count("\n") == 1
    assert len(hostile_server.requests) == 1  # malformed is never retried
