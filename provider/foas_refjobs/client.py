"""FoasClient: one signer, one transport and one throttle budget, reused for many listings.

The client calls an `Operation` page by page (credentials from a
`credentials.CredentialSource`, signing in `_sdk`, sending through
`transport.Transport` on urllib3), leaves paging to `paging`, and turns every
outcome into one of our errors.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, Optional, TypeVar, Union
from urllib.parse import quote

from . import errors, verdict
from ._sdk import SdkSigner
from .credentials import CredentialSource, resolve_source
from .limiter import AdaptiveLimiter
from .model import JobList, Page
from .operation import GET_REF_PACKAGE_JOB, Operation, PageLike
from .paging import DEFAULT_MAX_CONCURRENCY, MAX_PAGES, Progress, collect_all_pages
from .redaction import install_log_redaction, redact
from .retry import RetryPolicy
from .sending import Transport
from .settings import (
    Credentials,
    Endpoint,
    default_endpoint,
    parse_endpoint,
    resolve_region,
    validate_job_type,
    validate_name,
    validate_page_size,
    validate_positive,
)

DEFAULT_PAGE_SIZE = 50
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_ATTEMPTS = 4
MAX_BODY_BYTES = 32 * 1024 * 1024

P = TypeVar("P", bound=PageLike)
T = TypeVar("T")

log = logging.getLogger(__name__)
install_log_redaction()


def encode_segment(value: str) -> str:
    """One path segment: '/', '?', '#', '%', spaces and non-ASCII all escaped."""
    return quote(value, safe="")


class FoasClient:
    """A reusable client: one connection pool and one throttle budget for many listings.

    `credentials` is a Credentials object, a CredentialSource (e.g. from
    `credentials.resolve_source` with a profile or a role to assume), or None
    for the documented chain. Not picklable on purpose: the signer inside holds
    the secret in clear text.
    """

    def __init__(
        self,
        *,
        region_id: Optional[str] = None,
        endpoint: Optional[str] = None,
        credentials: Optional[Union[Credentials, CredentialSource]] = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        retry_policy: Optional[RetryPolicy] = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.region_id = resolve_region(region_id)
        self.endpoint: Endpoint = (
            parse_endpoint(endpoint) if endpoint is not None else default_endpoint(self.region_id)
        )
        self.timeout = validate_positive("timeout", timeout)
        self.connect_timeout = validate_positive("connect_timeout", connect_timeout)
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) \
                or not 1 <= max_concurrency <= 64:
            raise errors.InvalidInputError(f"max_concurrency must be 1..64, got {max_concurrency!r}")
        self.max_concurrency = max_concurrency
        self.retry_policy = retry_policy or RetryPolicy(max_attempts=max_attempts)
        self.credentials = (credentials if isinstance(credentials, CredentialSource)
                            else resolve_source(credentials))
        pool_size = max(10, max_concurrency)
        self._signer = SdkSigner(self.credentials, self.region_id, self.endpoint)
        from .transport import Transport as Urllib3Transport

        self._transport: Transport = Urllib3Transport(
            pool_size=pool_size, connect_timeout=self.connect_timeout, max_body_bytes=max_body_bytes)
        self.limiter = AdaptiveLimiter(max_concurrency)

    def __repr__(self) -> str:
        return (f"FoasClient(region_id={self.region_id!r}, endpoint={self.endpoint.url!r}, "
                f"credentials={self.credentials!r})")

    def __reduce__(self) -> NoReturn:
        raise TypeError("FoasClient is never pickled: its signer holds the secret")

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> FoasClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call_page(self, operation: Operation[P, T], path_values: Sequence[str], page_index: int,
                  page_size: int, deadline: Optional[float] = None) -> P:
        """One signed request for one page, no retries: the building block paging retries."""
        path = {name: encode_segment(value)
                for name, value in zip(operation.path_params, path_values, strict=True)}
        query = {operation.page_size_param: str(page_size),
                 operation.page_index_param: str(page_index),
                 "RegionId": self.region_id}
        body = self._call(operation, path, query, deadline)
        return operation.parse_page(body, page_index, page_size)

    def _call(self, operation: Operation[Any, Any], path: Mapping[str, str],
              query: Mapping[str, str], deadline: Optional[float] = None) -> bytes:
        error: Optional[errors.FoasError] = None
        try:
            signed = self._signer.sign(
                product=operation.product, version=operation.version, action=operation.action,
                method=operation.method, uri_pattern=operation.uri_pattern, path_params=path,
                query=query)
            reply = self._transport.send(signed.method, signed.url, signed.headers,
                                         timeout=self.timeout, deadline=deadline)
            if 200 <= reply.status < 300:
                return reply.body
            error = self._signer.error_for(reply, signed)
        except OSError as exc:  # the transport maps its own; this is a last line of defence
            error = errors.NetworkError(f"{type(exc).__name__}: {redact(str(exc))}")
        except (IndexError, KeyError, AttributeError, TypeError, UnicodeDecodeError,
                RecursionError) as exc:
            error = errors.MalformedResponseError(
                f"the SDK could not handle the response: {type(exc).__name__}: {redact(str(exc))}",
                code="SDK.InternalError")
        # Raised outside the handlers so that no SDK or transport exception, whose text is
        # not redacted, is kept as __context__.
        raise error

    def fetch_page(self, project_name: str, package_name: str, page_index: int,
                   page_size: int = DEFAULT_PAGE_SIZE, deadline: Optional[float] = None) -> Page:
        """One page of GetRefPackageJob, no retries; `deadline` is a time.monotonic() value."""
        return self.call_page(GET_REF_PACKAGE_JOB, (project_name, package_name), page_index, page_size,
                              deadline)

    def list_ref_package_jobs(
        self,
        project_name: str,
        package_name: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        job_type: Optional[str] = None,
        committed_only: bool = False,
        progress: Optional[Progress] = None,
        max_pages: int = MAX_PAGES,
    ) -> JobList:
        project_name = validate_name("project_name", project_name)
        package_name = validate_name("package_name", package_name)
        page_size = validate_page_size(page_size)
        job_type = validate_job_type(job_type)
        if not isinstance(committed_only, bool):
            raise errors.InvalidInputError(f"committed_only must be a boolean, got {committed_only!r}")
        return verdict.job_list(
            lambda: collect_all_pages(
                lambda index: self.fetch_page(project_name, package_name, index, page_size),
                GET_REF_PACKAGE_JOB,
                self.retry_policy,
                max_concurrency=self.max_concurrency,
                max_pages=max_pages,
                progress=progress,
                limiter=self.limiter,
            ),
            project_name, package_name, job_type=job_type, committed_only=committed_only)


def list_ref_package_jobs(
    project_name: str,
    package_name: str,
    *,
    region_id: Optional[str] = None,
    endpoint: Optional[str] = None,
    credentials: Optional[Union[Credentials, CredentialSource]] = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    job_type: Optional[str] = None,
    committed_only: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    progress: Optional[Progress] = None,
) -> JobList:
    """Every job of `project_name` that references the jar `package_name`.

    Input is validated before credentials are looked up or anything is sent.
    """
    validate_name("project_name", project_name)
    validate_name("package_name", package_name)
    validate_page_size(page_size)
    validate_job_type(job_type)
    with FoasClient(region_id=region_id, endpoint=endpoint, credentials=credentials,
                    timeout=timeout, connect_timeout=connect_timeout, max_attempts=max_attempts,
                    max_concurrency=max_concurrency) as client:
        return client.list_ref_package_jobs(
            project_name, package_name, page_size=page_size, job_type=job_type,
            committed_only=committed_only, progress=progress,
        )
