"""What Alibaba's credential chains call, served by the emulator so every source runs offline.

- STS, RPC style (`/?Action=...`): `AssumeRole`, signed (HMAC-SHA1 over the
  query, as STS specifies) with an AccessKey or STS credential the emulator
  knows, for a registered role; `AssumeRoleWithOIDC`, unsigned, with the OIDC
  token a registered provider accepts.
- ECS instance metadata, IMDSv2 only: `PUT /latest/api/token` hands out a
  metadata token; `GET /latest/meta-data/ram/security-credentials/[role]`
  needs it in `X-aliyun-ecs-metadata-token`.
- A credentials URI: `GET /v1/credentials`.
- CloudSSO: `POST /cloud-credentials` with a registered sign-in access token.

Each hands out fresh temporary credentials that GetRefPackageJob accepts until
they expire (`EmulatorState.sts_lifetime` shortens them for refresh tests).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import parse_qsl, quote

from .handlers import Reply, error_reply
from .state import EmulatorState, StsCredential

STS_VERSION = "2015-04-01"
IMDS_TOKEN_PATH = "/latest/api/token"
IMDS_CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/"
CREDENTIALS_URI_PATH = "/v1/credentials"
CLOUD_SSO_PATH = "/cloud-credentials"
MIN_DURATION, MAX_DURATION = 900, 43200

_imds_tokens: dict[str, float] = {}  # token -> expiry, shared by every emulator in the process
_imds_lock = threading.Lock()


def handles(method: str, raw_path: str, raw_query: str) -> bool:
    if raw_path in ("", "/") and "Action=" in raw_query:
        return True
    return raw_path.startswith(("/latest/", CREDENTIALS_URI_PATH, CLOUD_SSO_PATH))


def _expiration(credential: StsCredential) -> str:
    expires = credential.expires_at or time.time()
    return datetime.fromtimestamp(expires, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _percent(value: str) -> str:
    return quote(value, safe="~")


def rpc_string_to_sign(method: str, query: Mapping[str, str]) -> str:
    pairs = sorted((k, v) for k, v in query.items() if k != "Signature")
    canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in pairs)
    return f"{method}&{_percent('/')}&{_percent(canonical)}"


def rpc_sign(secret: str, text: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _duration(query: Mapping[str, str], request_id: str) -> tuple[Optional[float], Optional[Reply]]:
    text = query.get("DurationSeconds") or "3600"
    if not text.isascii() or not text.isdigit() or not MIN_DURATION <= int(text) <= MAX_DURATION:
        return None, error_reply(400, "InvalidParameter.DurationSeconds",
                                 f"DurationSeconds must be {MIN_DURATION}..{MAX_DURATION}.", request_id)
    return float(text), None


def _credentials_reply(credential: StsCredential, role_arn: str, request_id: str) -> Reply:
    return Reply(200, {
        "RequestId": request_id,
        "AssumedRoleUser": {"Arn": f"{role_arn}/{credential.access_key_id}",
                            "AssumedRoleId": f"3{secrets.randbelow(10**17):017d}:emulator"},
        "Credentials": {"AccessKeyId": credential.access_key_id,
                        "AccessKeySecret": credential.access_key_secret,
                        "SecurityToken": credential.security_token,
                        "Expiration": _expiration(credential)},
    })


def _assume_role(state: EmulatorState, method: str, query: Mapping[str, str],
                 request_id: str) -> Reply:
    key_id = query.get("AccessKeyId", "")
    found = state.secret_for(key_id)
    if found is None:
        return error_reply(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.",
                           request_id)
    secret, token = found
    if token is not None and query.get("SecurityToken") != token:
        return error_reply(400, "InvalidSecurityToken.MismatchWithAccessKey",
                           "Specified SecurityToken mismatch with the AccessKey.", request_id)
    if state.expired(key_id):
        return error_reply(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.",
                           request_id)
    text = rpc_string_to_sign(method, query)
    if not hmac.compare_digest(rpc_sign(secret, text), query.get("Signature", "")):
        return error_reply(400, "SignatureDoesNotMatch",
                           "Specified signature is not matched with our calculation.", request_id)
    role_arn = query.get("RoleArn", "")
    if role_arn not in state.roles:
        return error_reply(404, "EntityNotExist.Role", "The role not exists.", request_id)
    duration, problem = _duration(query, request_id)
    if problem is not None or duration is None:
        return problem or error_reply(400, "InvalidParameter", "bad duration", request_id)
    return _credentials_reply(state.issue_sts(role_arn, duration), role_arn, request_id)


def _assume_role_with_oidc(state: EmulatorState, query: Mapping[str, str], request_id: str) -> Reply:
    provider = query.get("OIDCProviderArn", "")
    expected = state.oidc_providers.get(provider)
    if expected is None:
        return error_reply(404, "EntityNotExist.OIDCProvider", "The OIDC provider not exists.",
                           request_id)
    if not hmac.compare_digest(query.get("OIDCToken", "").strip(), expected):
        return error_reply(400, "AuthenticationFail.OIDCToken.Invalid", "The OIDC token is invalid.",
                           request_id)
    role_arn = query.get("RoleArn", "")
    if role_arn not in state.roles:
        return error_reply(404, "EntityNotExist.Role", "The role not exists.", request_id)
    duration, problem = _duration(query, request_id)
    if problem is not None or duration is None:
        return problem or error_reply(400, "InvalidParameter", "bad duration", request_id)
    return _credentials_reply(state.issue_sts(role_arn, duration), role_arn, request_id)


def _sts(state: EmulatorState, method: str, raw_query: str, request_id: str) -> Reply:
    query = dict(parse_qsl(raw_query, keep_blank_values=True))
    if query.get("Version") != STS_VERSION:
        return error_reply(400, "InvalidVersion", "Specified parameter Version is not valid.", request_id)
    action = query.get("Action")
    if action == "AssumeRole":
        return _assume_role(state, method, query, request_id)
    if action == "AssumeRoleWithOIDC":
        return _assume_role_with_oidc(state, query, request_id)
    return error_reply(400, "InvalidAction.NotFound", "Specified api is not found.", request_id)


def _text(status: int, text: str) -> Reply:
    return Reply(status, {"__raw__": text})


def _metadata(state: EmulatorState, method: str, raw_path: str,
              headers: Mapping[str, str]) -> Reply:
    lowered = {k.lower(): v for k, v in headers.items()}
    now = time.time()
    if raw_path == IMDS_TOKEN_PATH:
        if method != "PUT":
            return _text(405, "method not allowed")
        ttl_text = lowered.get("x-aliyun-ecs-metadata-token-ttl-seconds", "")
        if not ttl_text.isascii() or not ttl_text.isdigit() or not 1 <= int(ttl_text) <= 21600:
            return _text(400, "X-aliyun-ecs-metadata-token-ttl-seconds must be 1..21600")
        token = secrets.token_urlsafe(32)
        with _imds_lock:
            _imds_tokens[token] = now + int(ttl_text)
        return _text(200, token)
    with _imds_lock:
        expiry = _imds_tokens.get(lowered.get("x-aliyun-ecs-metadata-token", ""))
    if expiry is None or now >= expiry:  # IMDSv2 enforced: no v1 access
        return _text(401, "a valid X-aliyun-ecs-metadata-token is required")
    if not raw_path.startswith(IMDS_CREDENTIALS_PATH) or method != "GET":
        return _text(404, "Not Found")
    role = raw_path[len(IMDS_CREDENTIALS_PATH):]
    if not role:
        return _text(200, "\n".join(sorted(state.ecs_roles)))
    if role not in state.ecs_roles:
        return _text(404, "Not Found")
    return _ecs_style(state.issue_sts(f"ecs:{role}", 21600))


def _ecs_style(credential: StsCredential) -> Reply:
    """The body the ECS metadata service and a credentials URI both answer."""
    return Reply(200, {"Code": "Success", "AccessKeyId": credential.access_key_id,
                       "AccessKeySecret": credential.access_key_secret,
                       "SecurityToken": credential.security_token,
                       "Expiration": _expiration(credential),
                       "LastUpdated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})


def _cloud_sso(state: EmulatorState, headers: Mapping[str, str], body: bytes,
               request_id: str) -> Reply:
    lowered = {k.lower(): v for k, v in headers.items()}
    token = lowered.get("authorization", "").removeprefix("Bearer ")
    if token not in state.sso_access_tokens:
        return error_reply(401, "InvalidAccessToken", "The access token is invalid.", request_id)
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        request = {}
    account = str(request.get("AccountId") or "")
    access_config = str(request.get("AccessConfigurationId") or "")
    if not account or not access_config:
        return error_reply(400, "MissingParameter", "AccountId and AccessConfigurationId are "
                           "required.", request_id)
    credential = state.issue_sts(f"sso:{account}/{access_config}", 3600)
    return Reply(200, {"RequestId": request_id, "CloudCredential": {
        "AccessKeyId": credential.access_key_id, "AccessKeySecret": credential.access_key_secret,
        "SecurityToken": credential.security_token, "Expiration": _expiration(credential)}})


def answer(state: EmulatorState, method: str, raw_path: str, raw_query: str,
           headers: Mapping[str, str], body: bytes, request_id: str) -> Reply:
    if raw_path in ("", "/"):
        return _sts(state, method, raw_query, request_id)
    if raw_path == CREDENTIALS_URI_PATH:
        return _ecs_style(state.issue_sts("uri", 3600))
    if raw_path == CLOUD_SSO_PATH and method == "POST":
        return _cloud_sso(state, headers, body, request_id)
    return _metadata(state, method, raw_path, headers)
