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
one STS token. Static keys need no library: sources 4 to 8 and the library
live in `credential_providers`, imported only when the first three give no
credentials or a role is assumed. The providers' own requests (STS, ECS
metadata, a credentials URI, CloudSSO) go out through our transport, under the
same proxy, NO_PROXY and CA bundle rules as the API calls (see `_credentials_http`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Optional

from . import errors
from .settings import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, Credentials, region_is_set, resolve_region

if TYPE_CHECKING:
    from ._credentials_http import CredentialHttp

STS_ENDPOINT_VAR = "ALIBABA_CLOUD_STS_ENDPOINT"
IMDS_ENDPOINT_VAR = "ALIBABA_CLOUD_ECS_METADATA_ENDPOINT"
DEFAULT_SESSION_NAME = "pulumi-foas-refjobs"

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
        from .credential_providers import StaticProvider

        return StaticProvider(self._static)

    def get(self) -> Credentials:
        if self._static is not None:
            return self._static
        from ._credentials_http import routed
        from .credential_providers import library_error

        error: Optional[errors.FoasError] = None
        try:
            with routed(self.http):
                fresh = self._provider.get_credentials()
            key_id = fresh.get_access_key_id()
            secret = fresh.get_access_key_secret()
            token = fresh.get_security_token() or None
        except Exception as exc:  # noqa: BLE001 - the library raises anything, mapped in one place
            error = library_error(exc, self.description)
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


def _static(key_id: Any, secret: Any, token: Any, description: str) -> CredentialSource:
    return CredentialSource(description, static=Credentials(key_id, secret, token or None,
                                                            source=description))


def from_credentials(credentials: Credentials, env: Optional[Mapping[str, str]] = None) -> CredentialSource:
    """An explicit Credentials object as a source (a role or ECS kind through the library)."""
    env = os.environ if env is None else env
    description = f"{credentials.source} ({credentials.kind})"
    if credentials.kind in ("access_key", "sts"):
        return CredentialSource(description, static=credentials)
    from .credential_providers import from_role_credentials

    return from_role_credentials(credentials, description, env)


def no_credentials_found() -> errors.CredentialsNotFoundError:
    """The error when no source of the chain is configured: it names every one, in order."""
    listing = "; ".join(f"{i}) {s}" for i, s in enumerate(SOURCES_IN_ORDER, 1))
    return errors.CredentialsNotFoundError(f"no Alibaba Cloud credentials found; looked, in order, at: "
                                           f"{listing}")


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
        from .credential_providers import assumed

        source = assumed(assume_role, source, env)
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
    from .credential_providers import rest_of_chain

    return rest_of_chain(env, home, profile, config_file)
