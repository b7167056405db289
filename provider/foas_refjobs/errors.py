"""One exception hierarchy for everything the listing can fail with.

Callers (the CLI, the deletion guard) branch on the class, and show the
service's own Code/Message/RequestId so an operator can quote them to support.
"""

from __future__ import annotations

from typing import Optional

from .redaction import safe_text, shorten

MAX_MESSAGE_CHARS = 4000
MAX_FIELD_CHARS = 200


class FoasError(Exception):
    """Base of every error this package raises on purpose."""

    default_code = "FoasError"

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        http_status: Optional[int] = None,
        request_id: Optional[str] = None,
    ) -> None:
        # Every field may hold server text: secrets masked, control and escape characters made
        # visible, and bounded (a 5 MiB Message overflowed the engine's gRPC metadata).
        self.code = shorten(safe_text(str(code or self.default_code)), MAX_FIELD_CHARS)
        self.message = shorten(safe_text(str(message), keep_newlines=True), MAX_MESSAGE_CHARS)
        self.http_status = http_status
        self.request_id = (None if request_id is None
                           else shorten(safe_text(str(request_id)), MAX_FIELD_CHARS))
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The single line the CLI prints and the guard puts in its refusal."""
        text = f"{self.code}: {self.message}"
        if self.request_id:
            text += f" (RequestId {self.request_id})"
        # Server messages can span lines (SignatureDoesNotMatch echoes the string to sign).
        return text.replace("\n", "\\n")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"http_status={self.http_status!r}, request_id={self.request_id!r})"
        )


class InvalidInputError(FoasError, ValueError):
    """Rejected before any network call: the request could never succeed."""

    default_code = "InvalidInput"


class CredentialsNotFoundError(FoasError):
    """No credential source in the documented chain had anything."""

    default_code = "CredentialsNotFound"


class AuthError(FoasError):
    """The service refused who we are or what we may do (401/403, bad key, bad signature)."""

    default_code = "Forbidden"


class NotFoundError(FoasError):
    """The project or the package does not exist for this account/region."""

    default_code = "NotFound"


class ParameterError(FoasError):
    """A 4xx the service blamed on the request's parameters; retrying cannot help."""

    default_code = "InvalidParameter"


class ThrottlingError(FoasError):
    """The service asked us to slow down, and it still did after our retries."""

    default_code = "Throttling"


class ServerError(FoasError):
    """A 5xx from the service (or a proxy in front of it), after our retries."""

    default_code = "InternalError"


class NetworkError(FoasError):
    """Connection refused/reset, DNS, TLS or timeout: no HTTP answer at all."""

    default_code = "NetworkError"


class MalformedResponseError(FoasError):
    """A 2xx whose body is not the documented shape; never read as an empty list."""

    default_code = "MalformedResponse"


class DeadlineExceededError(FoasError):
    """The whole listing ran past its total timeout; never retried (that is what ran out)."""

    default_code = "DeadlineExceeded"


class InconsistentListingError(FoasError):
    """Pages disagreed with each other even after a fresh re-list.

    Raised instead of returning a list that may be missing jobs, so that the
    deletion gate can never mistake a torn read for "unreferenced".
    """

    default_code = "InconsistentListing"


RETRYABLE_ERRORS: tuple[type[FoasError], ...] = (ThrottlingError, ServerError, NetworkError)
# A NetworkError that answers the same however often it is retried: https:// to a plain-HTTP server.
PLAIN_HTTP_SERVER = "PlainHttpServer"
NEVER_RETRIED_CODES = frozenset({PLAIN_HTTP_SERVER})

AUTH_CODES = (
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidAccessKeySecret", "IncompleteSignature",
    "InvalidSecurityToken", "Forbidden", "NoPermission", "InvalidAuthorization", "SignatureNonceUsed",
    "InvalidTimeStamp", "AccessDenied", "Unauthorized",
)


def error_for_code(code: str, message: str, *, http_status: Optional[int] = None,
                   request_id: Optional[str] = None) -> FoasError:
    """The class a service Code belongs to, for errors a 2xx body names (same families as HTTP errors)."""
    cls: type[FoasError] = FoasError
    if http_status == 429 or code.startswith("Throttling") or code.endswith(".Throttling"):
        cls = ThrottlingError
    elif (http_status is not None and http_status >= 500) or code.startswith(
            ("InternalError", "ServiceUnavailable")):
        cls = ServerError
    elif code.startswith(AUTH_CODES) or http_status in (401, 403):
        cls = AuthError
    elif http_status == 404 or code.endswith(("NotExist", "NotFound")):
        cls = NotFoundError
    elif code.startswith(("InvalidParameter", "MissingParameter", "InvalidParam")):
        cls = ParameterError
    return cls(message, code=code, http_status=http_status, request_id=request_id)
