"""Where region and endpoint come from, which values of them are valid, and the Credentials value.

Everything here runs before the first network call, so a typo fails in
microseconds with a one-line message instead of as a signature error later.
"""

from __future__ import annotations

import ipaddress
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn, Optional
from urllib.parse import urlsplit

from .errors import InvalidInputError
from .redaction import register_secret

DEFAULT_REGION = "cn-hangzhou"

_REGION_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")

# Regions the foas service serves from a shared host (data from aliyunsdkfoas' endpoint table).
_CENTRAL = "foas.aliyuncs.com"
_TOKYO = "foas.ap-northeast-1.aliyuncs.com"
ENDPOINT_MAP: dict[str, str] = {
    **{
        r: _CENTRAL
        for r in (
            "cn-shanghai-internal-test-1", "cn-beijing-gov-1", "cn-shenzhen-su18-b01",
            "cn-shanghai-inner", "cn-shenzhen-st4-d01", "cn-haidian-cm12-c01",
            "cn-hangzhou-internal-prod-1", "cn-yushanfang", "cn-hongkong-finance-pop",
            "cn-qingdao-nebula", "cn-hongkong", "cn-beijing-finance-pop", "cn-wuhan",
            "cn-zhengzhou-nebula-1", "cn-shanghai-et15-b01", "cn-hangzhou-bj-b01",
            "cn-hangzhou-internal-test-1", "cn-zhangbei-na61-b01", "cn-beijing-finance-1",
            "cn-hangzhou-internal-test-3", "cn-hangzhou-internal-test-2",
            "cn-shenzhen-finance-1", "cn-chengdu", "cn-hangzhou-test-306",
            "cn-shanghai-et2-b01", "cn-beijing-nu16-b01", "cn-edge-1", "cn-huhehaote",
            "cn-fujian", "cn-shenzhen-inner", "cn-zhangjiakou-na62-a01",
        )
    },
    **{
        r: _TOKYO
        for r in (
            "ap-south-1", "eu-central-1", "us-west-1", "rus-west-1-pop", "eu-west-1",
            "eu-west-1-oxs", "me-east-1", "ap-southeast-2", "ap-southeast-5", "us-east-1",
            "ap-northeast-2-pop",
        )
    },
}


def _invalid(message: str) -> NoReturn:
    raise InvalidInputError(message)


MAX_SECONDS = 86_400.0
# One request's defaults, for the API calls and for the credential chain's own requests alike.
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 5.0


def validate_positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    """A duration in seconds: finite and at most a day (inf or 1e300 overflow the socket layer)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _invalid(f"{name} must be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        _invalid(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    if value > MAX_SECONDS:
        _invalid(f"{name} must be at most {MAX_SECONDS:g} seconds, got {value!r}")
    return float(value)


def resolve_region(region_id: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
                   profile_region: Optional[tuple[str, str]] = None) -> str:
    """Argument, else ALIBABA_CLOUD_REGION_ID, else ALICLOUD_REGION, else the profile's, else cn-hangzhou.

    `profile_region` is (region_id, where it was read) from the aliyun CLI profile.
    """
    env = os.environ if env is None else env
    source = "region_id"
    value = region_id
    for var in ("ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION"):
        if value:
            break
        value, source = env.get(var), var
    if not value and profile_region is not None:
        value, source = profile_region
    if not value:
        return DEFAULT_REGION
    if not isinstance(value, str) or len(value) > 64 or not _REGION_RE.fullmatch(value):
        _invalid(f"{source} {value!r} is not a region id (expected e.g. cn-hangzhou)")
    return value


def region_is_set(region_id: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> bool:
    """True when the argument or a region variable decides, so no profile needs reading."""
    env = os.environ if env is None else env
    return bool(region_id or env.get("ALIBABA_CLOUD_REGION_ID") or env.get("ALICLOUD_REGION"))


@dataclass(frozen=True)
class Endpoint:
    """Where requests go. Plain http only when the user wrote http:// themselves."""

    scheme: str
    host: str
    port: Optional[int] = None

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    def __str__(self) -> str:
        return self.url


ENDPOINT_ENV = "ALIBABA_CLOUD_FOAS_ENDPOINT"


def resolve_endpoint(endpoint: Optional[str], region_id: str,
                     env: Optional[Mapping[str, str]] = None) -> Endpoint:
    """Argument, else ALIBABA_CLOUD_FOAS_ENDPOINT, else the region's foas endpoint over HTTPS."""
    env = os.environ if env is None else env
    if endpoint is not None:
        return parse_endpoint(endpoint)
    configured = env.get(ENDPOINT_ENV)
    if configured:
        try:
            return parse_endpoint(configured)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{ENDPOINT_ENV}: {exc.message}") from None
    return default_endpoint(region_id)


def default_endpoint(region_id: str) -> Endpoint:
    """The SDK's resolution for foas, as data: never the network location service."""
    return Endpoint("https", ENDPOINT_MAP.get(region_id, f"foas.{region_id}.aliyuncs.com"))


def parse_endpoint(value: object) -> Endpoint:
    """Accept `host`, `host:port`, `http(s)://host[:port][/]`; nothing with user-info or a path."""
    if not isinstance(value, str) or not value.strip():
        _invalid("endpoint must be a non-empty string")
    text = value.strip()
    if any(unicodedata.category(ch) == "Cc" or ch.isspace() for ch in text):
        _invalid("endpoint must not contain whitespace or control characters")
    if "@" in text:  # before anything echoes the text: http:///user:pass@host hides it in the path
        _invalid("endpoint must not contain user-info (credentials belong in config, not URLs)")
    url = text if "://" in text else "https://" + text
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        _invalid(f"endpoint scheme {scheme!r} is not supported (use http:// or https://)")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "http://[::1" or "[not:an:ip]"
        _invalid(f"endpoint is not a valid URL: {exc}")  # no echo: it may hold user-info
    if "@" in parts.netloc:
        _invalid("endpoint must not contain user-info (credentials belong in config, not URLs)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        _invalid(f"endpoint {text!r} must be a host with an optional port, not a URL path")
    try:
        port = parts.port
    except ValueError:
        _invalid(f"endpoint {text!r} has an invalid port")
    if port == 0:
        # Endpoint.netloc drops a falsy port, so ":0" would silently mean the scheme's default.
        _invalid(f"endpoint {text!r} has port 0; give the port the service listens on")
    host = parts.hostname or ""
    if not host:
        _invalid(f"endpoint {text!r} has no host")
    if ":" not in host and not _HOST_RE.match(host):
        _invalid(f"endpoint host {host!r} is not a valid host name")
    if ":" in host:  # Python 3.10's urlsplit accepts any bracketed text ("[not:an:ip]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            _invalid(f"endpoint is not a valid URL: [{host}] is not an IPv6 address")
    return Endpoint(scheme, host, port)


# --- credentials -----------------------------------------------------------------------


class Credentials:
    """An AccessKey pair (optionally with an STS token) or a role to assume.

    Secrets live only on this object, which refuses to be pickled and never
    prints them, so it cannot leak into Pulumi state, logs or tracebacks.
    """

    __slots__ = (
        "access_key_id", "_secret", "_token", "role_arn", "role_session_name",
        "ecs_role_name", "source",
    )

    def __init__(
        self,
        access_key_id: Optional[str] = None,
        access_key_secret: Optional[str] = None,
        security_token: Optional[str] = None,
        *,
        role_arn: Optional[str] = None,
        role_session_name: Optional[str] = None,
        ecs_role_name: Optional[str] = None,
        source: str = "argument",
    ) -> None:
        if ecs_role_name:
            if access_key_id or access_key_secret or security_token or role_arn:
                _invalid("an ECS RAM role credential takes only the role name")
        elif not access_key_id or not access_key_secret:
            _invalid(f"credentials from {source} need both an AccessKey id and secret")
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self._token = security_token or None
        self.role_arn = role_arn or None
        self.role_session_name = role_session_name or None
        self.ecs_role_name = ecs_role_name or None
        self.source = source
        register_secret(access_key_secret)
        register_secret(security_token)

    @property
    def access_key_secret(self) -> Optional[str]:
        return self._secret

    @property
    def security_token(self) -> Optional[str]:
        return self._token

    @property
    def kind(self) -> str:
        if self.ecs_role_name:
            return "ecs_ram_role"
        if self.role_arn:
            return "ram_role_arn"
        return "sts" if self._token else "access_key"

    def __repr__(self) -> str:
        who = self.ecs_role_name if self.kind == "ecs_ram_role" else self.access_key_id
        return f"Credentials(kind={self.kind!r}, id={who!r}, source={self.source!r}, secret=***)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("Credentials are never pickled: they would carry the secret in clear text")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__ if s != "source")

    __hash__ = None  # type: ignore[assignment]
