"""The credential chain's own requests follow the same proxy, CA and deadline rules as the API calls.

Every source that asks a service (ECS metadata with the IMDSv2 token step, a
credentials URI, STS AssumeRole for a RAM role and a chained role, STS
AssumeRoleWithOIDC, CloudSSO, a role assumed on top of the ECS role) runs for
real against the emulator's credential services:
- with a dead proxy on 127.0.0.1:9 and NO_PROXY=127.0.0.1 it goes direct;
- with a forwarding proxy and no NO_PROXY it goes through the proxy;
- against a service that trickles its answer it fails within the deadline;
- its failures carry no secret;
- it follows no redirect and never reads ~/.netrc.
The `library_alone` tests pin what alibabacloud-credentials does by itself (the
reason for foas_refjobs._credentials_http): when one fails, the library changed
and the adapter must be re-checked.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credential_world import OIDC_PROVIDER, OIDC_TOKEN, ROLE, SSO_TOKEN, serve_credential_sources
from foas_refjobs import Credentials, FoasClient
from foas_refjobs.credentials import IMDS_ENDPOINT_VAR, STS_ENDPOINT_VAR, AssumeRole, resolve_source
from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FoasEmulator
from foas_refjobs.emulator.credential_services import _ecs_style
from foas_refjobs.errors import AuthError, InvalidInputError, NetworkError
from hostile_server import HostileServer, Reply
from loopback import CA_FILE, ForwardProxy, TlsOrigin

PROXY_PASSWORD = "proxy-pass-Secret-42"
DEAD_PROXY = "http://127.0.0.1:9"
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")  # the first one set wins
AK = {"access_key_id": DEFAULT_ACCESS_KEY_ID, "access_key_secret": DEFAULT_ACCESS_KEY_SECRET}
KINDS = ["imds", "uri", "ram_role", "chained_role", "oidc", "cloud_sso", "role_on_imds"]
# The first credential request each kind makes.
FIRST = {"imds": ("PUT", "/latest/api/token"), "uri": ("GET", "/v1/credentials"),
         "ram_role": ("GET", "/"), "chained_role": ("GET", "/"), "oidc": ("GET", "/"),
         "cloud_sso": ("POST", "/cloud-credentials"), "role_on_imds": ("PUT", "/latest/api/token")}


@pytest.fixture
def emu(empty_emulator: FoasEmulator) -> FoasEmulator:
    return serve_credential_sources(empty_emulator)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def configure(kind: str, services: str, home: Path, monkeypatch: pytest.MonkeyPatch,
              **proxy_env: str) -> dict[str, str]:
    """The environment (and files) of a user whose credentials come from `kind` at `services`.

    Set in os.environ too: the library reads its proxy variables from there.
    """
    env: dict[str, str] = {STS_ENDPOINT_VAR: services, **proxy_env}
    profiles: list[dict[str, Any]] = []
    if kind in ("imds", "role_on_imds"):
        env[IMDS_ENDPOINT_VAR] = services
    elif kind == "uri":
        env["ALIBABA_CLOUD_CREDENTIALS_URI"] = services + "/v1/credentials"
    elif kind == "ram_role":
        profiles = [{"name": "default", "mode": "RamRoleArn", **AK, "ram_role_arn": ROLE}]
    elif kind == "chained_role":
        profiles = [{"name": "default", "mode": "ChainableRamRoleArn", "source_profile": "base",
                     "ram_role_arn": ROLE}, {"name": "base", "mode": "AK", **AK}]
    elif kind == "oidc":
        token = home / "oidc-token"
        token.write_text(OIDC_TOKEN, encoding="utf-8")
        env.update(ALIBABA_CLOUD_ROLE_ARN=ROLE, ALIBABA_CLOUD_OIDC_PROVIDER_ARN=OIDC_PROVIDER,
                   ALIBABA_CLOUD_OIDC_TOKEN_FILE=str(token))
    elif kind == "cloud_sso":
        profiles = [{"name": "default", "mode": "CloudSSO", "cloud_sso_sign_in_url": services,
                     "cloud_sso_account_id": "1234567890", "cloud_sso_access_config": "ac-foas",
                     "access_token": SSO_TOKEN, "cloud_sso_access_token_expire": 4102444800}]
    if profiles:
        path = home / ".aliyun" / "config.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps({"current": "default", "profiles": profiles}), encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


def source_for(kind: str, env: dict[str, str], home: Path, **kwargs: Any) -> Any:
    role = AssumeRole(ROLE) if kind == "role_on_imds" else None
    return resolve_source(env=env, home=home, assume_role=role, **kwargs)


def accepted(emu: FoasEmulator, source: Any) -> Credentials:
    creds: Credentials = source.get()
    with FoasClient(endpoint=emu.url, credentials=creds) as client:
        assert client.list_ref_package_jobs("proj", "udf.jar").total_count == 0
    assert emu.requests[-1].access_key_id == creds.access_key_id
    return creds


def issued_to(kind: str) -> str:
    return {"imds": "ecs:EcsFoasRole", "uri": "uri", "cloud_sso": "sso:1234567890/ac-foas"}.get(kind, ROLE)


# --- NO_PROXY -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_no_proxy_sends_direct_past_a_dead_proxy(emu: FoasEmulator, home: Path, kind: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    env = configure(kind, emu.url, home, monkeypatch, HTTP_PROXY=DEAD_PROXY, HTTPS_PROXY=DEAD_PROXY,
                    NO_PROXY="127.0.0.1")
    accepted(emu, source_for(kind, env, home))
    assert emu.state.issued[-1].issued_to == issued_to(kind)
    calls = [(m, p) for m, p, _ in emu.credential_calls]
    assert calls[0] == FIRST[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_library_alone_ignores_no_proxy(emu: FoasEmulator, home: Path, kind: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the misbehaviour: the same provider, asked outside our routing, tries the dead proxy."""
    env = configure(kind, emu.url, home, monkeypatch, HTTP_PROXY=DEAD_PROXY, HTTPS_PROXY=DEAD_PROXY,
                    NO_PROXY="127.0.0.1")
    provider = source_for(kind, env, home).provider()
    with pytest.raises(Exception) as info:  # noqa: B017 - whatever requests/Tea raise
        provider.get_credentials()
    assert "Unable to connect to proxy" in str(info.value)
    assert not emu.credential_calls


# --- through a proxy -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_goes_through_a_forwarding_proxy_when_not_excluded(emu: FoasEmulator, home: Path, kind: str,
                                                           forward_proxy: ForwardProxy,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    env = configure(kind, emu.url, home, monkeypatch, HTTP_PROXY=forward_proxy.url,
                    NO_PROXY="example.invalid,.aliyuncs.com")
    accepted(emu, source_for(kind, env, home))
    method, path = FIRST[kind]
    proxied = [(r.method, r.target) for r in forward_proxy.records]
    assert (method, emu.url + path) in proxied or any(
        m == method and t.startswith(emu.url + path + "?") for m, t in proxied)
    assert emu.state.issued[-1].issued_to == issued_to(kind)


def test_lower_case_no_proxy_and_a_cidr_entry(emu: FoasEmulator, home: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    env = configure("imds", emu.url, home, monkeypatch, http_proxy=DEAD_PROXY, no_proxy="127.0.0.0/8")
    accepted(emu, source_for("imds", env, home))


# --- the deadline --------------------------------------------------------------------------------

def _trickled(request: Any) -> Reply:
    return Reply.http(200, [("Content-Type", "application/json")], b"{}", trickle_headers=0.2)


@pytest.mark.parametrize("kind", KINDS)
def test_a_trickling_service_fails_within_the_deadline(hostile: HostileServer, home: Path, kind: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    hostile.handler = _trickled
    env = configure(kind, hostile.url, home, monkeypatch)
    source = source_for(kind, env, home, timeout=0.8)
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        source.get()
    elapsed = time.monotonic() - started
    assert info.value.code == "Timeout" and 0.7 < elapsed < 2.5, (info.value, elapsed)
    assert "cannot reach the credential service" in info.value.message
    assert hostile.requests and hostile.requests[0].method == FIRST[kind][0]


def test_library_alone_outlasts_its_own_timeouts(hostile: HostileServer, home: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the misbehaviour: the metadata provider's 1 s connect + 1 s read are per read, not a total."""
    hostile.queue(Reply.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\n")
                  .then_trickle(b"tokens", 0.5))  # then the default 599 for the credentials
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA", "EcsFoasRole")
    env = configure("imds", hostile.url, home, monkeypatch)
    provider = source_for("imds", env, home).provider()
    started = time.monotonic()
    with pytest.raises(Exception, match="HttpCode=599"):  # noqa: B017
        provider.get_credentials()
    assert time.monotonic() - started > 2.5  # 6 bytes at 0.5 s each were waited for


def test_client_timeout_is_the_credential_deadline(hostile: HostileServer, home: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    hostile.handler = _trickled
    configure("uri", hostile.url, home, monkeypatch)
    monkeypatch.setenv("HOME", str(home))
    client = FoasClient(endpoint="http://127.0.0.1:1", region_id="cn-hangzhou", timeout=0.6)
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        client.credentials.get()
    client.close()
    assert info.value.code == "Timeout" and time.monotonic() - started < 2.0


def test_a_stalled_name_lookup_is_under_the_deadline(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = socket.getaddrinfo

    def stalled(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "sts.stalled.invalid":
            release.wait(10)
            raise socket.gaierror(socket.EAI_NONAME, "stalled resolver released")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stalled)
    env = configure("ram_role", "http://sts.stalled.invalid", home, monkeypatch)
    source = source_for("ram_role", env, home, timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(NetworkError) as info:
            source.get()
    finally:
        release.set()
    assert info.value.code == "Timeout" and time.monotonic() - started < 1.6
    assert "sts.stalled.invalid" in info.value.message


# --- redirects and ~/.netrc ------------------------------------------------------------------------

def _redirect_then_record(hostile: HostileServer) -> None:
    hostile.queue(Reply.http(302, [("Location", hostile.url + "/v1/elsewhere")]))


def _netrc(home: Path) -> None:
    path = Path(os.environ["HOME"]) / ".netrc"
    path.write_text("machine 127.0.0.1 login someone password netrc-Secret-7\n", encoding="ascii")
    path.chmod(0o600)


def test_library_alone_follows_a_redirect_with_netrc_credentials(hostile: HostileServer, home: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the misbehaviour: requests' Session.send follows redirects and re-reads ~/.netrc for them."""
    _redirect_then_record(hostile)
    _netrc(home)
    env = configure("uri", hostile.url, home, monkeypatch)
    with pytest.raises(Exception):  # noqa: B017 - the 599 at the redirect's target
        resolve_source(env=env, home=home).provider().get_credentials()
    assert [r.path for r in hostile.requests] == ["/v1/credentials", "/v1/elsewhere"]
    assert hostile.requests[1].headers.get("authorization", "").startswith("Basic ")


def test_no_redirect_is_followed_and_netrc_is_never_read(hostile: HostileServer, home: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _redirect_then_record(hostile)
    _netrc(home)
    env = configure("uri", hostile.url, home, monkeypatch)
    with pytest.raises(AuthError) as info:  # a refusal: HTTP 302 is not credentials
        resolve_source(env=env, home=home).get()
    assert "302" in str(info.value)
    assert [r.path for r in hostile.requests] == ["/v1/credentials"]
    assert "authorization" not in hostile.requests[0].headers


# --- TLS: the CA bundle variables -----------------------------------------------------------------

class _TlsCredentialsUri(TlsOrigin):
    """A credentials URI over HTTPS, handing out emulator credentials."""

    def __init__(self, emu: FoasEmulator) -> None:
        super().__init__(lambda _: _ecs_style(emu.state.issue_sts("uri-tls", 3600)).body)
        self.url += "/v1/credentials"


@pytest.fixture
def tls_uri(emu: FoasEmulator) -> Iterator[_TlsCredentialsUri]:
    server = _TlsCredentialsUri(emu)
    yield server
    server.stop()


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_ca_bundle_variables_are_trusted(emu: FoasEmulator, home: Path, tls_uri: _TlsCredentialsUri,
                                         variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", tls_uri.url)
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, str(CA_FILE))
    accepted(emu, resolve_source(env=dict(os.environ), home=home))
    assert emu.state.issued[-1].issued_to == "uri-tls"


def test_library_alone_ignores_the_ca_bundle_variable(emu: FoasEmulator, home: Path,
                                                      tls_uri: _TlsCredentialsUri,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the misbehaviour: Tea verifies against certifi and the system store only."""
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", tls_uri.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(CA_FILE))
    provider = resolve_source(env=dict(os.environ), home=home).provider()
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):  # noqa: B017
        provider.get_credentials()


def test_tls_is_verified_without_a_bundle(emu: FoasEmulator, home: Path, tls_uri: _TlsCredentialsUri,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", tls_uri.url)
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(NetworkError) as info:
        resolve_source(env=dict(os.environ), home=home).get()
    assert info.value.code == "TLSError"


def test_a_missing_bundle_or_a_bad_proxy_is_one_clear_error(home: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    env = configure("uri", "http://127.0.0.1:1", home, monkeypatch,
                    REQUESTS_CA_BUNDLE=str(home / "nope.pem"))
    with pytest.raises(InvalidInputError, match="nope.pem"):
        resolve_source(env=env, home=home)
    with pytest.raises(InvalidInputError, match="proxy scheme"):
        resolve_source(env={**env, "HTTPS_PROXY": "socks5://127.0.0.1:1080"}, home=home)


# --- secrets --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_failures_carry_no_secret(hostile: HostileServer, home: Path, kind: str,
                                  monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                  capfd: pytest.CaptureFixture[str]) -> None:
    hostile.handler = lambda request: Reply.raw(b"")  # the connection closes without an answer
    proxy = f"http://proxyuser:{PROXY_PASSWORD}@127.0.0.1:9"
    env = configure(kind, hostile.url, home, monkeypatch, HTTP_PROXY=proxy, HTTPS_PROXY=proxy)
    source = source_for(kind, env, home)
    with caplog.at_level(logging.DEBUG), pytest.raises(NetworkError) as info:
        source.get()
    assert "proxy" in info.value.message.lower()  # the dead proxy was tried, and said so
    assert "Refresh credentials failed" in caplog.text  # the library's own log line was captured
    text = " ".join([str(info.value), repr(info.value), caplog.text, *capfd.readouterr(), repr(source)])
    for secret in (DEFAULT_ACCESS_KEY_SECRET, OIDC_TOKEN, SSO_TOKEN, PROXY_PASSWORD):
        assert secret not in text
    assert "Traceback" not in text


@pytest.mark.parametrize("kind,secret", [("oidc", OIDC_TOKEN), ("cloud_sso", SSO_TOKEN)])
def test_a_service_echoing_the_request_leaks_nothing(hostile: HostileServer, home: Path, kind: str,
                                                     secret: str, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    """The library quotes a refusal's body in its error and its log; the token we sent is masked."""
    def echo(request: Any) -> Reply:
        seen = {"Code": "Denied", "Target": request.target, "Headers": dict(request.headers)}
        return Reply.json(seen, status=400)

    hostile.handler = echo
    env = configure(kind, hostile.url, home, monkeypatch, DEBUG="sdk")
    with caplog.at_level(logging.DEBUG), pytest.raises(Exception) as info:  # noqa: B017
        resolve_source(env=env, home=home).get()
    sent = hostile.requests[0]
    assert secret in sent.target + json.dumps(sent.headers)  # it was on the wire...
    text = " ".join([str(info.value), repr(info.value), caplog.text, *capfd.readouterr()])
    assert "Denied" in str(info.value) and "Refresh credentials failed" in caplog.text
    assert secret not in text  # ...and nowhere in what we show


def test_secrets_sent_by_the_library_are_masked_in_a_failure(emu: FoasEmulator, home: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from foas_refjobs.redaction import redact

    env = configure("oidc", emu.url, home, monkeypatch, NO_PROXY="127.0.0.1")
    resolve_source(env=env, home=home).get()
    assert redact(f"echo {OIDC_TOKEN}") == "echo ***"  # registered when it was sent


# --- the adapter itself ---------------------------------------------------------------------------

def test_other_threads_keep_the_library_behaviour(emu: FoasEmulator, home: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from foas_refjobs import _credentials_http

    _credentials_http.install()
    env = configure("uri", emu.url, home, monkeypatch, HTTP_PROXY=DEAD_PROXY, NO_PROXY="127.0.0.1")
    unrouted = resolve_source(env=env, home=home).provider()
    failures: list[BaseException] = []

    def elsewhere() -> None:
        try:
            unrouted.get_credentials()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            failures.append(exc)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    accepted(emu, resolve_source(env=env, home=home))  # meanwhile, routed on this thread
    thread.join(10)
    assert failures and "Unable to connect to proxy" in str(failures[0])


def test_pinned_library_internals() -> None:
    """What foas_refjobs._credentials_http relies on in alibabacloud-credentials and Tea."""
    import inspect

    from alibabacloud_credentials.http import HttpOptions
    from alibabacloud_credentials.provider import (
        cloud_sso,
        ecs_ram_role,
        oauth,
        oidc,
        ram_role_arn,
        uri,
    )
    from Tea.core import TeaCore
    from Tea.request import TeaRequest

    from foas_refjobs import _credentials_http

    _credentials_http.install()
    _credentials_http.install()
    hooked = TeaCore.__dict__["do_action"].__func__
    assert hooked._foas_routed and not getattr(hooked.__wrapped__, "_foas_routed", False)
    for module in (cloud_sso, ecs_ram_role, oauth, oidc, ram_role_arn, uri):
        assert module.TeaCore is TeaCore and "TeaCore.do_action(" in inspect.getsource(module)
    # The library's only HTTP option: one proxy and two per-operation timeouts, no NO_PROXY, no CA.
    assert sorted(inspect.signature(HttpOptions).parameters) == ["connect_timeout", "proxy", "read_timeout"]
    request = TeaRequest()
    request.protocol, request.headers["host"], request.query = "https", "sts.aliyuncs.com", {"A": "1"}
    assert TeaCore.compose_url(request) == "https://sts.aliyuncs.com?A=1"  # no path: we add "/"


def test_static_keys_need_no_http_or_library(home: Path) -> None:
    source = resolve_source(Credentials("id", "secret"), home=home, timeout=0.1)
    assert not source.refreshes and source.get().access_key_id == "id"
