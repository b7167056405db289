"""The credential chain past the environment's keys: profile files and the library's providers.

Everything here needs alibabacloud-credentials or reads a file (the aliyun
CLI's config.json, ~/.alibabacloud/credentials), so `credentials` imports it
only when no static key is given: a listing signed with keys from the
environment neither loads the library nor compiles its readers. The order of
the chain and its error texts are `credentials`'s (see its docstring).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Optional

from . import errors
from .credentials import (
    DEFAULT_SESSION_NAME,
    IMDS_ENDPOINT_VAR,
    STS_ENDPOINT_VAR,
    AssumeRole,
    CredentialSource,
    _invalid,
    _static,
    cli_config_path,
    no_credentials_found,
    profile_name,
)
from .redaction import RedactingFilter, redact
from .settings import Credentials

_DMI = ("/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/product_name")

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


class StaticProvider:
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


def library_error(exc: BaseException, description: str) -> errors.FoasError:
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


def _library_call(description: str, build: Callable[[], Any]) -> Any:
    """`build()`, with whatever the library raises as one of our errors, raised outside the
    handler so that the library's text is not kept as context."""
    error: Optional[errors.FoasError] = None
    try:
        return build()
    except errors.FoasError:
        raise
    except Exception as exc:  # noqa: BLE001 - a provider's constructor validates with ValueError
        error = library_error(exc, description)
    raise error


def _built(description: str, build: Callable[[], Any]) -> CredentialSource:
    return CredentialSource(description, provider=_library_call(description, build))


def from_role_credentials(credentials: Credentials, description: str,
                          env: Mapping[str, str]) -> CredentialSource:
    """An explicit Credentials object of a role or ECS kind, through the library."""
    if credentials.kind == "ecs_ram_role":
        return _built(description, lambda: _ecs_provider(credentials.ecs_role_name, env))
    base = Credentials(credentials.access_key_id, credentials.access_key_secret,
                       credentials.security_token, source=credentials.source)
    return _built(description, lambda: _ram_role(
        StaticProvider(base), credentials.role_arn, env,
        session_name=credentials.role_session_name))


def assumed(role: AssumeRole, base: CredentialSource, env: Mapping[str, str]) -> CredentialSource:
    """`base` with the RAM role `role` (an AssumeRole) assumed on top of it."""
    return _built(f"{role.role_arn} assumed with {base.description}", lambda: _ram_role(
        base.provider(), role.role_arn, env, session_name=role.session_name,
        duration=role.session_expiration, policy=role.policy, external_id=role.external_id))


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
        return _ram_role(StaticProvider(base), profile.get("ram_role_arn"), env,
                         external_id=profile.get("external_id"), **lib_kwargs)
    if mode == "ChainableRamRoleArn":
        source_name = profile.get("source_profile")
        if not source_name:
            _invalid(f"{where}: ChainableRamRoleArn needs a source_profile")
        source = _cli_profile(config, str(source_name), path, env, (*seen, name))
        if source is None:
            _invalid(f"{where}: source_profile {source_name!r} is not in {path}")
        chained = StaticProvider(source) if isinstance(source, Credentials) else source
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
    provider = _library_call(description, lambda: _cli_profile(config, name, path, env))
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
            StaticProvider(base), fields.get("role_arn") or fields.get("ram_role_arn"), env,
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


# --- the chain past the environment's keys ------------------------------------------------


def rest_of_chain(env: Mapping[str, str], home: Optional[Path], profile: Optional[str],
                  config_file: Optional[str]) -> CredentialSource:
    """Sources 4 to 8 of the chain, the first one configured; none: the error listing them all."""
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
    raise no_credentials_found()
