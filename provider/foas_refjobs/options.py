"""How to reach the service: one options object, validated once, shared by every front end.

Region, endpoint and credentials say where and as whom; timeouts, retries,
concurrency and limits say how hard to try. The CLI, the Pulumi functions and
resources, and the library all build one of these and hand it to FoasClient,
so a new option is one field here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, Optional, Union

from .credentials import CredentialSource, resolve_region_id
from .errors import InvalidInputError
from .retry import RetryPolicy
from .settings import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    ENDPOINT_ENV,
    Credentials,
    Endpoint,
    default_endpoint,
    parse_endpoint,
    resolve_region,
    validate_positive,
)

DEFAULT_TOTAL_TIMEOUT = 300.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_MAX_CONCURRENCY = 16
MAX_CONCURRENCY = 64
MAX_BODY_BYTES = 32 * 1024 * 1024


def _invalid(message: str) -> NoReturn:
    raise InvalidInputError(message)


def validate_concurrency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        _invalid(f"max_concurrency must be 1..{MAX_CONCURRENCY}, got {value!r}")
    return value


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _invalid(f"{name} must be a positive integer, got {value!r}")
    return value


def validate_max_attempts(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
        _invalid(f"max_attempts must be 1..20, got {value!r}")
    return value


def _endpoint(value: object) -> Optional[Endpoint]:
    if value is None or isinstance(value, Endpoint):
        return value
    return parse_endpoint(value)


def _endpoint_from_env() -> Optional[Endpoint]:
    configured = os.environ.get(ENDPOINT_ENV)
    if not configured:
        return None
    try:
        return parse_endpoint(configured)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{ENDPOINT_ENV}: {exc.message}") from None


def _credentials(value: object) -> Union[Credentials, CredentialSource, None]:
    if value is not None and not isinstance(value, (Credentials, CredentialSource)):
        _invalid("credentials must be a foas_refjobs.Credentials or a CredentialSource")
    return value


def _retry_policy(value: object) -> RetryPolicy:
    if not isinstance(value, RetryPolicy):
        _invalid("retry_policy must be a foas_refjobs.RetryPolicy")
    return value


# One validator per stored field: __init__ runs them all, replace() only the changed ones.
_FIELDS: dict[str, Callable[[Any], Any]] = {
    "region_id": resolve_region_id,
    "_endpoint": _endpoint,
    "credentials": _credentials,
    "timeout": lambda value: validate_positive("timeout", value),
    "connect_timeout": lambda value: validate_positive("connect_timeout", value),
    "total_timeout": lambda value: validate_positive("total_timeout", value),
    "retry_policy": _retry_policy,
    "max_concurrency": validate_concurrency,
    "max_body_bytes": lambda value: _positive_int("max_body_bytes", value),
    "max_pages": lambda value: None if value is None else _positive_int("max_pages", value),
}


class ClientOptions:
    """Everything a FoasClient needs besides the query; immutable, never pickled.

    `credentials` is a Credentials value, a CredentialSource (a profile or a
    role to assume, see `credentials.resolve_source`), or None for the
    documented chain, looked up when a client is made. `region_id` None means
    ALIBABA_CLOUD_REGION_ID, ALICLOUD_REGION, the aliyun CLI profile's
    region_id, else cn-hangzhou. `endpoint` None means ALIBABA_CLOUD_FOAS_ENDPOINT,
    else the region's foas endpoint. `max_pages` None means the bound the
    service's own TotalCount and page size imply. `total_timeout` bounds one whole
    listing (every page, retry and confirmation), `timeout` one request.
    """

    __slots__ = tuple(_FIELDS)

    region_id: str
    _endpoint: Optional[Endpoint]
    credentials: Union[Credentials, CredentialSource, None]
    timeout: float
    connect_timeout: float
    total_timeout: float
    retry_policy: RetryPolicy
    max_concurrency: int
    max_body_bytes: int
    max_pages: Optional[int]

    def __init__(
        self,
        *,
        region_id: Optional[str] = None,
        endpoint: Union[str, Endpoint, None] = None,
        credentials: Union[Credentials, CredentialSource, None] = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_policy: Optional[RetryPolicy] = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_pages: Optional[int] = None,
    ) -> None:
        if retry_policy is None:
            retry_policy = RetryPolicy(max_attempts=validate_max_attempts(max_attempts))
        if endpoint is None:
            endpoint = _endpoint_from_env()
        self._set({
            "region_id": region_id, "_endpoint": endpoint, "credentials": credentials,
            "timeout": timeout, "connect_timeout": connect_timeout, "total_timeout": total_timeout,
            "retry_policy": retry_policy,
            "max_concurrency": max_concurrency, "max_body_bytes": max_body_bytes,
            "max_pages": max_pages,
        })

    def _set(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, _FIELDS[name](value))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("ClientOptions are immutable; use replace()")

    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint if self._endpoint is not None else default_endpoint(self.region_id)

    @property
    def max_attempts(self) -> int:
        return self.retry_policy.max_attempts

    def replace(self, **changes: Any) -> ClientOptions:
        """A copy with some fields changed; only the changed ones are validated.

        `endpoint=None` keeps the endpoint; a changed region moves a derived
        endpoint with it, an explicit one stays. `max_attempts` replaces the
        retry policy with a default one of that many attempts.
        """
        if "max_attempts" in changes:
            attempts = validate_max_attempts(changes.pop("max_attempts"))
            changes.setdefault("retry_policy", RetryPolicy(max_attempts=attempts))
        if "endpoint" in changes:
            endpoint = changes.pop("endpoint")
            if endpoint is not None:
                changes["_endpoint"] = endpoint
        if changes.get("region_id", "") is None:
            del changes["region_id"]
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise TypeError(f"ClientOptions has no option {sorted(unknown)[0]!r}")
        copy = object.__new__(ClientOptions)
        for name in _FIELDS:
            object.__setattr__(copy, name, getattr(self, name))
        copy._set(changes)
        return copy

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClientOptions):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in _FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"ClientOptions(region_id={self.region_id!r}, endpoint={self.endpoint.url!r}, "
                f"credentials={self.credentials!r}, timeout={self.timeout!r}, "
                f"max_attempts={self.max_attempts!r}, max_concurrency={self.max_concurrency!r})")

    def __reduce__(self) -> NoReturn:
        raise TypeError("ClientOptions are never pickled: they may hold credentials")


def _optional_region(value: Any) -> Optional[str]:
    if value == "":
        return None
    if not isinstance(value, str):
        _invalid(f"region_id must be a string, got {type(value).__name__}")
    return resolve_region(value)


def _optional_endpoint(value: Any) -> Optional[str]:
    if value == "":
        return None
    parse_endpoint(value)
    return str(value).strip()


# Per input, how a front end (Pulumi inputs) validates and normalises it: the same rules as above.
FIELD_VALIDATORS: Mapping[str, Callable[[Any], Any]] = {
    "region_id": _optional_region,
    "endpoint": _optional_endpoint,
    "timeout": lambda value: validate_positive("timeout", value),
    "max_attempts": validate_max_attempts,
    "max_concurrency": validate_concurrency,
}
