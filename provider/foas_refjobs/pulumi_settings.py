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
from typing import Any, NoReturn, Optional, Union

from .credentials import AssumeRole, CredentialSource, profile_region, resolve_source
from .errors import FoasError, InvalidInputError
from .options import ClientOptions
from .settings import Credentials, region_is_set

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


class FoasSettings:
    """Options resolved from stack config; whatever config leaves open falls to the environment.

    Holds a ClientOptions (its Credentials never pickled, repr redacted) or the
    error that reading the config raised, so that a broken config fails the
    operation that needs it, with its message, rather than the provider's start-up.
    """

    __slots__ = ("base", "error")

    def __init__(self, base: Optional[ClientOptions] = None, error: Optional[FoasError] = None) -> None:
        self.base = base
        self.error = error

    @property
    def credentials(self) -> Union[Credentials, CredentialSource, None]:
        return self.base.credentials if self.base is not None else None

    def __repr__(self) -> str:
        return f"FoasSettings(base={self.base!r}, error={self.error!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("FoasSettings are never pickled: they may hold credentials")

    def options(self, region_id: Optional[str] = None, endpoint: Optional[str] = None,
                **overrides: Any) -> ClientOptions:
        """The ClientOptions for one listing; resource/function inputs win over config.

        Credentials stay None when config had none, so the client runs its own
        environment chain at call time (the provider host inherits the CLI's
        environment).
        """
        if self.error is not None:
            raise self.error
        base = self.base if self.base is not None else ClientOptions()
        return base.replace(region_id=region_id, endpoint=endpoint, **overrides)


def _validated(key: str, make: Callable[[], ClientOptions]) -> ClientOptions:
    try:
        return make()
    except InvalidInputError as exc:
        raise InvalidInputError(f"config {key}: {exc.message}") from None


def settings_from_config(lookup: ConfigLookup) -> FoasSettings:
    """Read the foas:* then alicloud:* keys through `lookup` (full, namespaced key -> value or None)."""
    try:
        pair = (_pair(lookup, FOAS_ACCESS_KEY_ID, FOAS_ACCESS_KEY_SECRET, FOAS_SECURITY_TOKEN)
                or _pair(lookup, ALICLOUD_ACCESS_KEY, ALICLOUD_SECRET_KEY, ALICLOUD_SECURITY_TOKEN))
        credentials: Union[Credentials, CredentialSource, None] = pair
        region_key = FOAS_REGION if _text(lookup, FOAS_REGION) else ALICLOUD_REGION
        region = _text(lookup, region_key)
        profile = _text(lookup, ALICLOUD_PROFILE)
        config_file = _text(lookup, ALICLOUD_SHARED_CREDENTIALS_FILE)
        assume_role = _assume_role(lookup)
        if profile or config_file or assume_role:
            # The profile's own region, as pulumi-alicloud reads it, unless a variable decides.
            found = profile_region(profile=profile, config_file=config_file)
            if not region and not region_is_set() and found is not None:
                region_key, region = found[1], found[0]
            credentials = resolve_source(pair, profile=profile, config_file=config_file,
                                         assume_role=assume_role)
        endpoint = _text(lookup, FOAS_ENDPOINT)
        base = _validated(region_key, lambda: ClientOptions(region_id=region, credentials=credentials))
        if endpoint:
            base = _validated(FOAS_ENDPOINT, lambda: base.replace(endpoint=endpoint))
    except FoasError as exc:
        return FoasSettings(error=exc)
    return FoasSettings(base)
