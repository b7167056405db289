"""Where signing credentials come from: one documented chain, served by alibabacloud-credentials.

The first source that is configured is the one used, and a half-configured
source is an error: no source is tried and silently skipped, so a broken
profile never falls through to another identity. Order:

  1. the `credentials` argument (or Pulumi config)
  2. ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET [/ ALIBABA_CLOUD_SECURITY_TOKEN]
  3. ALICLOUD_ACCESS_KEY / ALICLOUD_SECRET_KEY [/ ALICLOUD_SECURITY_TOKEN]
  4. OIDC role: ALIBABA_CLOUD_ROLE_ARN + ALIBABA_CLOUD_OIDC_PROVIDER_ARN + ALIBABA_CLOUD_OIDC_TOKEN_FILE
  5. the aliyun CLI's ~/.aliyun/config.json, every profile mode
  6. ~/.alibabacloud/credentials (ALIBABA_CLOUD_CREDENTIALS_FILE), then credentials.ini
  7. the ECS instance's RAM role (ALIBABA_CLOUD_ECS_METADATA, or detected on ECS), IMDSv2
  8. ALIBABA_CLOUD_CREDENTIALS_URI

The profile of 5 and 6 is the one named (argument, ALIBABA_CLOUD_PROFILE,
ALICLOUD_PROFILE), else the CLI's current one, else `default`; a named profile
that neither file has is an error naming it. Temporary credentials come from
the official library's providers, which refresh them before they expire;
`CredentialSource.get()` asks on every request, so a long listing outlives any
one STS token. Static keys need no library, so it is imported only for the
other sources. The providers' own requests (STS, ECS metadata, a credentials
URI, CloudSSO) go out through our transport, under the same proxy, NO_PROXY
and CA bundle rules as the API calls (see `_credentials_http`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Optional

from . import errors
from .redaction import RedactingFilter, redact
from .settings import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, Credentials, region_is_set, resolve_region

if TYPE_CHECKING:
    from ._credentials_http import CredentialHttp

STS_ENDPOINT_VAR = "ALIBABA_CLOUD_STS_ENDPOINT"
IMDS_ENDPOINT_VAR = "ALIBABA_CLOUD_ECS_METADATA_ENDPOINT"
DEFAULT_SESSION_NAME = "pulumi-foas-refjobs"
_DMI = ("/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/product_name")

SOURCES_IN_ORDER = (
    "the credentials argument or Pulumi config",
    "ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET[/ALIBABA_CLOUD_SECURITY_TOKEN]",
    "ALICLOUD_ACCESS_KEY/ALICLOUD_SECRET_KEY[/ALICLOUD_SECURITY_TOKEN]",
    "ALIBABA_CLOUD_ROLE_ARN+ALIBABA_CLOUD_OIDC_PROVIDER_ARN+ALIBABA_CLOUD_OIDC_TOKEN_FILE (OIDC role)",
    "the aliyun CLI profile in ~/.aliyun/config.json",
    "~/.alibabacloud/credentials (or ALIBABA_CLOUD_CREDENTIALS_FILE)",
    "the ECS RAM role (ALIBABA_CLOUD_ECS_METADATA, or running on ECS)",
    "ALIBABA_CLOUD_CREDENTIALS_URI",
)


def _invalid(message: str) -> NoReturn:
    raise errors.InvalidInputError(message)


@dataclass(frozen=True)
class AssumeRole:
    """A RAM role to assume on top of whatever the chain found (pulumi-alicloud's `assumeRole`)."""

    role_arn: str
    session_name: Optional[str] = None
    external_id: Optional[str] = None
    policy: Optional[str] = None
    session_expiration: Optional[int] = None

    def __post_init__(self) -> None:
        if not isinstance(self.role_arn, str) or not self.role_arn.strip():
            _invalid("assumeRole needs a roleArn")
        expiration = self.session_expiration
        if expiration is not None and (isinstance(expiration, bool) or not isinstance(expiration, int)
                                       or not 900 <= expiration <= 43200):
            _invalid(f"assumeRole sessionExpiration must be 900..43200 seconds, got {expiration!r}")


# --- the library, imported on first use --------------------------------------------------

_quiet_lock = threading.Lock()
_quieted = False


class _NoTracebacks(RedactingFilter):
    """The library logs refresh failures with their traceback; keep the one line, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return super().filter(record)


def _library() -> Any:
    """alibabacloud_credentials.provider, with its loggers made quiet and redacted.

    The library attaches a stderr handler to its loggers at import time (and
    logs refresh failures with tracebacks); records go to the root logger
    instead, redacted and one line each, where an application's own logging
    setup decides what to show.
    """
    global _quieted
    from alibabacloud_credentials import provider

    with _quiet_lock:
        if not _quieted:
            for name in ("credentials", "alibabacloud-tea"):
                logger = logging.getLogger(name)
                for handler in list(logger.handlers):
                    if type(handler) is logging.StreamHandler and \
                            getattr(handler, "stream", None) in (sys.stderr, sys.__stderr__):
                        logger.removeHandler(handler)
                logger.addHandler(logging.NullHandler())
                logger.setLevel(logging.WARNING)
                logger.addFilter(_NoTracebacks())
            _quieted = True
    return provider


class _StaticProvider:
    """Static keys as a provider the library can chain (a role assumed on top of them)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def get_credentials(self) -> Any:
        lib = _library()
        c = self._credentials
        if c.security_token:
            return lib.StaticSTSCredentialsProvider(
                access_key_id=c.access_key_id, access_key_secret=c.access_key_secret,
                security_token=c.security_token).get_credentials()
        return lib.StaticAKCredentialsProvider(
            access_key_id=c.access_key_id, access_key_secret=c.access_key_secret).get_credentials()

    async def get_credentials_async(self) -> Any:
        return self.get_credentials()

    def get_provider_name(self) -> str:
        return "static"


# --- the source ---------------------------------------------------------------------------


class CredentialSource:
    """One configured source; `get()` returns the credentials to sign the next request with.

    Never pickled and never printed with a secret: only its description shows.
    """

    __slots__ = ("description", "_static", "_provider", "_last", "_lock", "_http")

    def __init__(self, description: str, *, static: Optional[Credentials] = None,
                 provider: Any = None, http: Optional[CredentialHttp] = None) -> None:
        if (static is None) == (provider is None):
            raise ValueError("a CredentialSource is static or has a provider")
        self.description = description
        self._static = static
        self._provider = provider
        self._last: Optional[Credentials] = static
        self._lock = threading.Lock()
        self._http = http

    @property
    def http(self) -> CredentialHttp:
        """How the provider's own requests are sent (proxies, CA bundle, deadline)."""
        from ._credentials_http import CredentialHttp

        if self._http is None:
            self._http = CredentialHttp.from_env(os.environ)
        return self._http

    def with_http(self, http: CredentialHttp) -> CredentialSource:
        """This source, its credential requests sent as `http` says."""
        if self._provider is None:
            return self
        return CredentialSource(self.description, provider=self._provider, http=http)

    @property
    def refreshes(self) -> bool:
        """True when credentials come from a provider (and may change between requests)."""
        return self._provider is not None

    def provider(self) -> Any:
        """The source as a library provider (for a role assumed on top of it)."""
        if self._provider is not None:
            return self._provider
        assert self._static is not None
        return _StaticProvider(self._static)

    def get(self) -> Credentials:
        if self._static is not None:
            return self._static
        from ._credentials_http import routed

        error: Optional[errors.FoasError] = None
        try:
            with routed(self.http):
                fresh = self._provider.get_credentials()
            key_id = fresh.get_access_key_id()
            secret = fresh.get_access_key_secret()
            token = fresh.get_security_token() or None
        except Exception as exc:  # noqa: BLE001 - the library raises anything, mapped in one place
            error = _library_error(exc, self.description)
        if error is not None:
            raise error  # outside the handler: the library's text is not kept as __context__
        last = self._last
        if last is not None and last.access_key_id == key_id and last.access_key_secret == secret \
                and last.security_token == token:
            return last
        with self._lock:
            fresh_credentials = Credentials(key_id, secret, token, source=self.description)
            self._last = fresh_credentials
        return fresh_credentials

    def __repr__(self) -> str:
        last = self._last
        who = f", id={last.access_key_id!r}" if last is not None else ""
        return f"CredentialSource({self.description!r}{who}, secret=***)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a CredentialSource is never pickled: it holds or fetches secrets")


def _library_error(exc: BaseException, description: str) -> errors.FoasError:
    if isinstance(exc, errors.FoasError):  # our Transport's, from a credential request
        what = ("cannot reach the credential service: " if isinstance(exc, errors.NetworkError)
                else "")
        return type(exc)(f"{description}: {what}{exc.message}", code=exc.code,
                         http_status=exc.http_status, request_id=exc.request_id)
    text = " ".join(redact(str(exc)).split())[:400]
    name = type(exc).__name__
    if isinstance(exc, (ConnectionError, TimeoutError)) or name in ("RetryError", "ConnectionError",
                                                                     "Timeout", "ReadTimeout"):
        return errors.NetworkError(f"{description}: cannot reach the credential service: {text}",
                                   code="CredentialsUnavailable")
    if isinstance(exc, ValueError) and name != "JSONDecodeError":
        return errors.InvalidInputError(f"{description}: {text}")
    if "http_code: 5" in text or "HttpCode=5" in text:
        return errors.ServerError(f"{description}: {text}", code="CredentialsUnavailable")
    if "http_code" in text or "HttpCode" in text:
        return errors.AuthError(f"{description}: the credential service refused: {text}",
                                code="CredentialsRefused")
    return errors.CredentialsNotFoundError(f"{description}: {text}", code="CredentialsUnavailable")


# --- building providers ------------------------------------------------------------------


def _endpoints(env: Mapping[str, str]) -> dict[str, Any]:
    endpoint = env.get(STS_ENDPOINT_VAR) or None
    return {"sts_endpoint": endpoint}


def _ecs_provider(role_name: Optional[str], env: Mapping[str, str]) -> Any:
    lib = _library()
    provider = lib.EcsRamRoleCredentialsProvider(role_name=role_name or None, disable_imds_v1=True,
                                                async_update_enabled=False)
    host = env.get(IMDS_ENDPOINT_VAR)
    if host:
        # Not a constructor option: the library hard-codes 100.100.100.200 (pinned by a test).
        provider._EcsRamRoleCredentialsProvider__metadata_service_host = host.rstrip("/")
    return provider


def _ram_role(base: Any, role_arn: Optional[str], env: Mapping[str, str], *,
              session_name: Optional[str] = None, duration: Any = None, policy: Optional[str] = None,
              external_id: Optional[str] = None, sts_region: Optional[str] = None,
              enable_vpc: Optional[bool] = None) -> Any:
    if not role_arn:
        _invalid("a RAM role credential needs a role ARN")
    return _library().RamRoleArnCredentialsProvider(
        credentials_provider=base, role_arn=role_arn,
        role_session_name=session_name or DEFAULT_SESSION_NAME,
        duration_seconds=int(duration) if duration else 3600, policy=policy or None,
        external_id=external_id or None, sts_region_id=sts_region or None, enable_vpc=enable_vpc,
        **_endpoints(env))


def _oidc(role_arn: Optional[str], provider_arn: Optional[str], token_file: Optional[str],
          env: Mapping[str, str], *, session_name: Optional[str] = None, duration: Any = None,
          policy: Optional[str] = None, sts_region: Optional[str] = None,
          enable_vpc: Optional[bool] = None) -> Any:
    return _library().OIDCRoleArnCredentialsProvider(
        role_arn=role_arn, oidc_provider_arn=provider_arn, oidc_token_file_path=token_file,
        role_session_name=session_name or DEFAULT_SESSION_NAME,
        duration_seconds=int(duration) if duration else 3600, policy=policy or None,
        sts_region_id=sts_region or None, enable_vpc=enable_vpc, **_endpoints(env))


def _static(key_id: Any, secret: Any, token: Any, description: str) -> CredentialSource:
    return CredentialSource(description, static=Credentials(key_id, secret, token or None,
                                                            source=description))


def _built(description: str, build: Callable[[], Any]) -> CredentialSource:
    error: Optional[errors.FoasError] = None
    try:
        provider = build()
    except errors.FoasError:
        raise
    except Exception as exc:  # noqa: BLE001 - a provider's constructor validates with ValueError
        error = _library_error(exc, description)
    if error is not None:
        raise error
    return CredentialSource(description, provider=provider)


def from_credentials(credentials: Credentials, env: Optional[Mapping[str, str]] = None) -> CredentialSource:
    """An explicit Credentials object as a source (a role or ECS kind through the library)."""
    env = os.environ if env is None else env
    description = f"{credentials.source} ({credentials.kind})"
    if credentials.kind in ("access_key", "sts"):
        return CredentialSource(description, static=credentials)
    if credentials.kind == "ecs_ram_role":
        return _built(description, lambda: _ecs_provider(credentials.ecs_role_name, env))
    base = Credentials(credentials.access_key_id, credentials.access_key_secret,
                       credentials.security_token, source=credentials.source)
    return _built(description, lambda: _ram_role(
        _StaticProvider(base), credentials.role_arn, env,
        session_name=credentials.role_session_name))


# --- the aliyun CLI's config.json ------------------------------------------------------------

_DELEGATED_MODES = ("CloudSSO", "External", "OAuth")


def _cli_profile(config: Mapping[str, Any], name: str, path: Path, env: Mapping[str, str],
                 seen: tuple[str, ...] = ()) -> Optional[Any]:
    """A provider for profile `name`, or None when the file has no such profile."""
    if name in seen:
        _invalid(f"aliyun CLI profile {name!r} in {path} chains back to itself")
    profile = next((p for p in config.get("profiles") or []
                    if isinstance(p, dict) and p.get("name") == name), None)
    if profile is None:
        return None
    mode = str(profile.get("mode") or "AK")
    where = f"aliyun CLI profile {name!r} in {path}"
    lib_kwargs = dict(session_name=profile.get("ram_session_name"), duration=profile.get("expired_seconds"),
                      policy=profile.get("policy"), sts_region=profile.get("sts_region"),
                      enable_vpc=profile.get("enable_vpc"))
    if mode == "AK":
        return Credentials(profile.get("access_key_id"), profile.get("access_key_secret"), source=where)
    if mode == "StsToken":
        return Credentials(profile.get("access_key_id"), profile.get("access_key_secret"),
                           profile.get("sts_token"), source=where)
    if mode == "RamRoleArn":
        base = Credentials(profile.get("access_key_id"), profile.get("access_key_secret"), source=where)
        return _ram_role(_StaticProvider(base), profile.get("ram_role_arn"), env,
                         external_id=profile.get("external_id"), **lib_kwargs)
    if mode == "ChainableRamRoleArn":
        source_name = profile.get("source_profile")
        if not source_name:
            _invalid(f"{where}: ChainableRamRoleArn needs a source_profile")
        source = _cli_profile(config, str(source_name), path, env, (*seen, name))
        if source is None:
            _invalid(f"{where}: source_profile {source_name!r} is not in {path}")
        chained = _StaticProvider(source) if isinstance(source, Credentials) else source
        return _ram_role(chained, profile.get("ram_role_arn"), env,
                         external_id=profile.get("external_id"), **lib_kwargs)
    if mode == "EcsRamRole":
        return _ecs_provider(profile.get("ram_role_name"), env)
    if mode == "OIDC":
        lib_kwargs["session_name"] = profile.get("role_session_name")
        return _oidc(profile.get("ram_role_arn"), profile.get("oidc_provider_arn"),
                     profile.get("oidc_token_file"), env, **lib_kwargs)
    if mode in _DELEGATED_MODES:
        return _library().CLIProfileCredentialsProvider(profile_name=name, profile_file=str(path))
    _invalid(f"{where}: mode {mode!r} is not supported")


def _from_cli_config(path: Path, named: Optional[str], env: Mapping[str, str]) -> Optional[CredentialSource]:
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _invalid(f"cannot read aliyun CLI config {path}: {type(exc).__name__}")
    if not isinstance(config, dict):
        _invalid(f"aliyun CLI config {path} is not a JSON object")
    name = str(named or config.get("current") or "default")
    description = f"aliyun CLI profile {name!r} in {path}"
    error: Optional[errors.FoasError] = None
    provider: Any = None
    try:
        provider = _cli_profile(config, name, path, env)
    except errors.FoasError:
        raise
    except Exception as exc:  # noqa: BLE001 - a provider's constructor validates with ValueError
        error = _library_error(exc, description)
    if error is not None:
        raise error
    if provider is None:
        return None
    if isinstance(provider, Credentials):
        return CredentialSource(description, static=provider)
    return CredentialSource(description, provider=provider)


# --- ~/.alibabacloud/credentials -----------------------------------------------------------


def _ini_paths(env: Mapping[str, str], home: Path) -> list[Path]:
    explicit = env.get("ALIBABA_CLOUD_CREDENTIALS_FILE")
    if explicit:
        return [Path(explicit)]
    return [home / ".alibabacloud" / "credentials", home / ".alibabacloud" / "credentials.ini"]


def _from_ini(path: Path, named: Optional[str], env: Mapping[str, str]) -> Optional[CredentialSource]:
    if not path.is_file():
        return None
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        _invalid(f"cannot read credentials file {path}: {type(exc).__name__}")
    name = named or "default"
    if not parser.has_section(name):
        return None
    fields = {k: v.split("#")[0].strip().strip('"') for k, v in parser.items(name)}
    where = f"profile [{name}] in {path}"
    kind = (fields.get("type") or fields.get("mode") or "access_key").lower()
    key_id, secret = fields.get("access_key_id"), fields.get("access_key_secret")
    if kind in ("access_key", "ak"):
        return _static(key_id, secret, None, where)
    if kind in ("sts", "ststoken"):
        return _static(key_id, secret, fields.get("security_token") or fields.get("sts_token"), where)
    if kind in ("ram_role_arn", "ramrolearn"):
        base = Credentials(key_id, secret, source=where)
        return _built(where, lambda: _ram_role(
            _StaticProvider(base), fields.get("role_arn") or fields.get("ram_role_arn"), env,
            session_name=fields.get("role_session_name") or fields.get("ram_session_name"),
            policy=fields.get("policy")))
    if kind in ("oidc_role_arn", "oidc"):
        return _built(where, lambda: _oidc(
            fields.get("role_arn"), fields.get("oidc_provider_arn"),
            fields.get("oidc_token_file_path"), env, session_name=fields.get("role_session_name"),
            policy=fields.get("policy")))
    if kind in ("ecs_ram_role", "ecsramrole"):
        return _built(where, lambda: _ecs_provider(fields.get("role_name") or fields.get("ram_role_name"),
                                                   env))
    _invalid(f"{where}: credential type {kind!r} is not supported")


# --- the chain ------------------------------------------------------------------------------


def _env_pair(env: Mapping[str, str], id_var: str, secret_var: str,
              token_var: str) -> Optional[CredentialSource]:
    key_id, secret = env.get(id_var), env.get(secret_var)
    if not key_id and not secret:
        return None
    if not key_id or not secret:
        missing, present = (secret_var, id_var) if key_id else (id_var, secret_var)
        _invalid(f"{present} is set but {missing} is not")
    return _static(key_id, secret, env.get(token_var), f"environment ({id_var})")


_OIDC_VARS = ("ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE")


def _on_ecs() -> bool:
    for path in _DMI:
        try:
            with open(path, encoding="utf-8") as fh:
                if "alibaba cloud" in fh.read().lower():
                    return True
        except OSError:
            continue
    return False


def profile_name(env: Optional[Mapping[str, str]] = None, explicit: Optional[str] = None) -> Optional[str]:
    """The profile named by the caller, ALIBABA_CLOUD_PROFILE or ALICLOUD_PROFILE (None: not named)."""
    env = os.environ if env is None else env
    return explicit or env.get("ALIBABA_CLOUD_PROFILE") or env.get("ALICLOUD_PROFILE") or None


def cli_config_path(env: Optional[Mapping[str, str]] = None, home: Optional[Path] = None,
                    explicit: Optional[str] = None) -> Path:
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser()
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    return home / ".aliyun" / "config.json"


def profile_region(env: Optional[Mapping[str, str]] = None, home: Optional[Path] = None,
                   profile: Optional[str] = None,
                   config_file: Optional[str] = None) -> Optional[tuple[str, str]]:
    """(region_id, where) of the aliyun CLI profile in use, as the CLI itself reads it; else None."""
    env = os.environ if env is None else env
    path = cli_config_path(env, home, config_file)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # an unreadable file is reported by the credential chain, when it is used
    if not isinstance(config, dict):
        return None
    name = profile_name(env, profile) or config.get("current") or "default"
    found = next((p for p in config.get("profiles") or []
                  if isinstance(p, dict) and p.get("name") == name), None)
    region = found.get("region_id") if found else None
    if not isinstance(region, str) or not region:
        return None
    return region, f"region_id of aliyun CLI profile {name!r} in {path}"


def resolve_region_id(region_id: Optional[str] = None, *, env: Optional[Mapping[str, str]] = None,
                      home: Optional[Path] = None, profile: Optional[str] = None,
                      config_file: Optional[str] = None) -> str:
    """The region as the Alibaba tools resolve it: argument, variables, then the CLI profile."""
    if region_is_set(region_id, env):
        return resolve_region(region_id, env)
    return resolve_region(None, env, profile_region(env, home, profile, config_file))


def resolve_source(
    credentials: Optional[Credentials] = None,
    *,
    env: Optional[Mapping[str, str]] = None,
    home: Optional[Path] = None,
    profile: Optional[str] = None,
    config_file: Optional[str] = None,
    assume_role: Optional[AssumeRole] = None,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> CredentialSource:
    """The first configured source of the chain (see the module docstring), with a role on top.

    A source that asks a service (STS, ECS metadata, a credentials URI, CloudSSO)
    sends as the API calls do: the same proxy variables and NO_PROXY, the same CA
    bundle variables, at most `timeout` seconds per request.
    """
    env = os.environ if env is None else env
    source = _first_source(credentials, env, home, profile, config_file)
    if assume_role is not None:
        role, base = assume_role, source
        source = _built(f"{role.role_arn} assumed with {base.description}", lambda: _ram_role(
            base.provider(), role.role_arn, env, session_name=role.session_name,
            duration=role.session_expiration, policy=role.policy, external_id=role.external_id))
    if not source.refreshes:
        return source
    from ._credentials_http import CredentialHttp

    return source.with_http(CredentialHttp.from_env(env, timeout=timeout, connect_timeout=connect_timeout))


def _first_source(credentials: Optional[Credentials], env: Optional[Mapping[str, str]],
                  home: Optional[Path], profile: Optional[str],
                  config_file: Optional[str]) -> CredentialSource:
    env = os.environ if env is None else env
    if credentials is not None:
        if not isinstance(credentials, Credentials):
            _invalid("credentials must be a foas_refjobs.Credentials")
        return from_credentials(credentials, env)
    for id_var, secret_var, token_var in (
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"),
        ("ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN"),
    ):
        found = _env_pair(env, id_var, secret_var, token_var)
        if found is not None:
            return found
    oidc = [env.get(v) or None for v in _OIDC_VARS]
    if all(oidc):
        return _built("OIDC role (ALIBABA_CLOUD_ROLE_ARN)", lambda: _oidc(
            oidc[0], oidc[1], oidc[2], env, session_name=env.get("ALIBABA_CLOUD_ROLE_SESSION_NAME")))
    if any(oidc) and (env.get("ALIBABA_CLOUD_OIDC_PROVIDER_ARN") or env.get("ALIBABA_CLOUD_OIDC_TOKEN_FILE")):
        missing = [v for v, value in zip(_OIDC_VARS, oidc, strict=True) if not value]
        _invalid(f"an OIDC role is half configured: {', '.join(missing)} not set")
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    named = profile_name(env, profile)
    cli_path = cli_config_path(env, home, config_file)
    if config_file and not cli_path.is_file():
        _invalid(f"shared credentials file {cli_path} does not exist")
    looked: list[str] = []
    if (env.get("ALIBABA_CLOUD_CLI_PROFILE_DISABLED") or "").lower() != "true":
        found = _from_cli_config(cli_path, named, env)
        if found is not None:
            return found
        looked.append(str(cli_path))
    for path in _ini_paths(env, home):
        found = _from_ini(path, named, env)
        if found is not None:
            return found
        looked.append(str(path))
    if named:
        raise errors.CredentialsNotFoundError(
            f"profile {named!r} was not found in {' or '.join(looked)}", code="ProfileNotFound")
    metadata_disabled = (env.get("ALIBABA_CLOUD_ECS_METADATA_DISABLED") or "").lower() == "true"
    role = env.get("ALIBABA_CLOUD_ECS_METADATA")
    if not metadata_disabled and (role or env.get(IMDS_ENDPOINT_VAR) or _on_ecs()):
        return _built(f"ECS RAM role {role or '(discovered)'}", lambda: _ecs_provider(role, env))
    uri = env.get("ALIBABA_CLOUD_CREDENTIALS_URI")
    if uri:
        return _built("ALIBABA_CLOUD_CREDENTIALS_URI",
                      lambda: _library().URLCredentialsProvider(uri=uri))
    listing = "; ".join(f"{i}) {s}" for i, s in enumerate(SOURCES_IN_ORDER, 1))
    raise errors.CredentialsNotFoundError(f"no Alibaba Cloud credentials found; looked, in order, at: "
                                          f"{listing}")
