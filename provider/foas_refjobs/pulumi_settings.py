"""Where the Pulumi side gets region, endpoint and credentials: stack config, then the environment.

One rule for both places that talk to the service from Pulumi: the dynamic
providers (config arrives through Configure, in the provider host) and the
get-functions (config read in the program). Kept free of Pulumi imports so the
rule can be tested, and reused, without an engine.

Precedence, per setting:
  credentials  foas:accessKeyId/foas:accessKeySecret[/foas:securityToken]
               > alicloud:accessKey/alicloud:secretKey[/alicloud:securityToken]
               > the credential chain (credentials.resolve_source), whose profile is
                 alicloud:profile (else ALIBABA_CLOUD_PROFILE/ALICLOUD_PROFILE) in
                 alicloud:sharedCredentialsFile (else ~/.aliyun/config.json);
               then alicloud:assumeRole {roleArn, sessionName, externalId, policy,
               sessionExpiration}, when set, is assumed with whatever was found
  region       resource/function argument > foas:region > alicloud:region
               > ALIBABA_CLOUD_REGION_ID > ALICLOUD_REGION > that profile's region_id
               > cn-hangzhou
  endpoint     resource/function argument > foas:endpoint > ALIBABA_CLOUD_FOAS_ENDPOINT
               > derived from the region

These are the keys pulumi-alicloud reads, so a stack configured for it needs
nothing more for this package.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, Optional

from .credentials import AssumeRole, profile_region, resolve_source
from .errors import FoasError, InvalidInputError
from .settings import Credentials, parse_endpoint, region_is_set, resolve_region

FOAS_ACCESS_KEY_ID = "foas:accessKeyId"
FOAS_ACCESS_KEY_SECRET = "foas:accessKeySecret"
FOAS_SECURITY_TOKEN = "foas:securityToken"
FOAS_REGION = "foas:region"
FOAS_ENDPOINT = "foas:endpoint"
ALICLOUD_ACCESS_KEY = "alicloud:accessKey"
ALICLOUD_SECRET_KEY = "alicloud:secretKey"
ALICLOUD_SECURITY_TOKEN = "alicloud:securityToken"
ALICLOUD_REGION = "alicloud:region"
ALICLOUD_PROFILE = "alicloud:profile"
ALICLOUD_SHARED_CREDENTIALS_FILE = "alicloud:sharedCredentialsFile"
ALICLOUD_ASSUME_ROLE = "alicloud:assumeRole"
_ASSUME_ROLE_FIELDS = {"roleArn": "role_arn", "sessionName": "session_name",
                       "externalId": "external_id", "policy": "policy",
                       "sessionExpiration": "session_expiration"}

SECRET_CONFIG_KEYS: frozenset[str] = frozenset({
    FOAS_ACCESS_KEY_SECRET, FOAS_SECURITY_TOKEN, ALICLOUD_SECRET_KEY, ALICLOUD_SECURITY_TOKEN,
})

ConfigLookup = Callable[[str], Any]


def _text(lookup: ConfigLookup, key: str) -> Optional[str]:
    value = lookup(key)
    if value is None:
        return None
    if not isinstance(value, str):
        if key in SECRET_CONFIG_KEYS:
            raise InvalidInputError(f"config {key} must be a string")
        raise InvalidInputError(f"config {key} must be a string, got {type(value).__name__}")
    return value.strip() or None


def _pair(lookup: ConfigLookup, id_key: str, secret_key: str, token_key: str) -> Optional[Credentials]:
    key_id, secret = _text(lookup, id_key), _text(lookup, secret_key)
    if not key_id and not secret:
        return None
    if not key_id or not secret:
        present, missing = (id_key, secret_key) if key_id else (secret_key, id_key)
        raise InvalidInputError(f"config {present} is set but {missing} is not")
    return Credentials(key_id, secret, _text(lookup, token_key), source=f"pulumi config ({id_key})")


def _assume_role(lookup: ConfigLookup) -> Optional[AssumeRole]:
    """alicloud:assumeRole as pulumi-alicloud takes it: an object (JSON text in config)."""
    value = lookup(ALICLOUD_ASSUME_ROLE)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInputError(f"config {ALICLOUD_ASSUME_ROLE} must be an object with "
                                    "roleArn (JSON in stack config)") from None
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"config {ALICLOUD_ASSUME_ROLE} must be an object with roleArn")
    unknown = sorted(set(value) - set(_ASSUME_ROLE_FIELDS))
    if unknown:
        raise InvalidInputError(f"config {ALICLOUD_ASSUME_ROLE}: unknown field(s) {', '.join(unknown)}; "
                                f"expected {', '.join(_ASSUME_ROLE_FIELDS)}")
    fields: dict[str, Any] = {_ASSUME_ROLE_FIELDS[k]: v for k, v in value.items() if v not in (None, "")}
    expiration = fields.get("session_expiration")
    if isinstance(expiration, float) and expiration.is_integer():
        fields["session_expiration"] = int(expiration)  # numbers come back as floats
    elif isinstance(expiration, str) and expiration.isascii() and expiration.isdigit():
        fields["session_expiration"] = int(expiration)
    for name in ("role_arn", "session_name", "external_id", "policy"):
        if name in fields and not isinstance(fields[name], str):
            raise InvalidInputError(f"config {ALICLOUD_ASSUME_ROLE}: {name} must be a string")
    try:
        return AssumeRole(**fields)
    except InvalidInputError as exc:
        raise InvalidInputError(f"config {ALICLOUD_ASSUME_ROLE}: {exc.message}") from None
    except TypeError:
        raise InvalidInputError(f"config {ALICLOUD_ASSUME_ROLE} needs roleArn") from None


def _validated(key: str, value: str, check: Callable[[str], object]) -> None:
    try:
        check(value)
    except InvalidInputError as exc:
        raise InvalidInputError(f"config {key}: {exc.message}") from None


class FoasSettings:
    """Settings resolved from stack config; whatever config leaves open falls to the environment.

    Holds a Credentials object (never pickled, repr redacted) or the error that
    reading the config raised, so that a broken config fails the operation that
    needs it, with its message, rather than the provider's start-up.
    """

    __slots__ = ("credentials", "region_id", "endpoint", "error", "profile", "config_file",
                 "assume_role")

    def __init__(self, credentials: Optional[Credentials] = None, region_id: Optional[str] = None,
                 endpoint: Optional[str] = None, error: Optional[FoasError] = None, *,
                 profile: Optional[str] = None, config_file: Optional[str] = None,
                 assume_role: Optional[AssumeRole] = None) -> None:
        self.credentials = credentials
        self.region_id = region_id
        self.endpoint = endpoint
        self.error = error
        self.profile = profile
        self.config_file = config_file
        self.assume_role = assume_role

    def __repr__(self) -> str:
        return (f"FoasSettings(credentials={self.credentials!r}, region_id={self.region_id!r}, "
                f"endpoint={self.endpoint!r}, profile={self.profile!r}, "
                f"config_file={self.config_file!r}, assume_role={self.assume_role!r}, "
                f"error={self.error!r})")

    def __reduce__(self) -> NoReturn:
        raise TypeError("FoasSettings are never pickled: they may hold credentials")

    def client_options(self, region_id: Optional[str] = None,
                       endpoint: Optional[str] = None) -> dict[str, Any]:
        """Keyword arguments for FoasClient/list_ref_package_jobs; resource inputs win over config.

        Credentials stay None when config had none and names no profile, file or
        role, so the client runs its own chain at call time (the provider host
        inherits the CLI's environment).
        """
        if self.error is not None:
            raise self.error
        region = region_id or self.region_id
        if region:
            region = resolve_region(region)
        elif (self.profile or self.config_file) and not region_is_set():
            region = resolve_region(None, profile_region=profile_region(
                profile=self.profile, config_file=self.config_file))
        credentials: Any = self.credentials
        if self.profile or self.config_file or self.assume_role:
            credentials = resolve_source(self.credentials, profile=self.profile,
                                         config_file=self.config_file, assume_role=self.assume_role)
        return {
            "region_id": region or None,
            "endpoint": endpoint or self.endpoint,
            "credentials": credentials,
        }


def settings_from_config(lookup: ConfigLookup) -> FoasSettings:
    """Read the foas:* then alicloud:* keys through `lookup` (full, namespaced key -> value or None)."""
    try:
        credentials = (_pair(lookup, FOAS_ACCESS_KEY_ID, FOAS_ACCESS_KEY_SECRET, FOAS_SECURITY_TOKEN)
                       or _pair(lookup, ALICLOUD_ACCESS_KEY, ALICLOUD_SECRET_KEY,
                                ALICLOUD_SECURITY_TOKEN))
        region_key = FOAS_REGION if _text(lookup, FOAS_REGION) else ALICLOUD_REGION
        region = _text(lookup, region_key)
        if region:
            _validated(region_key, region, resolve_region)
        endpoint = _text(lookup, FOAS_ENDPOINT)
        if endpoint:
            _validated(FOAS_ENDPOINT, endpoint, parse_endpoint)
        profile = _text(lookup, ALICLOUD_PROFILE)
        config_file = _text(lookup, ALICLOUD_SHARED_CREDENTIALS_FILE)
        assume_role = _assume_role(lookup)
    except FoasError as exc:
        return FoasSettings(error=exc)
    return FoasSettings(credentials, region, endpoint, profile=profile, config_file=config_file,
                        assume_role=assume_role)
