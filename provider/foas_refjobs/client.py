"""FoasClient: one signer, one transport, one page executor and one throttle budget.

The client calls an `Operation` page by page (credentials from a
`credentials.CredentialSource`, signing in `_sdk`, sending through
`transport.Transport` on urllib3), leaves paging to `paging` and filtering to
the `Query`, and turns every outcome into one of our errors. It remembers what it
learns about the service (the page size it accepts) for as long as it lives.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn, Optional, TypeVar
from urllib.parse import quote

from . import errors, verdict
from ._sdk import SdkSigner
from .credentials import CredentialSource, resolve_source
from .limiter import AdaptiveLimiter
from .model import Job, JobList, Page
from .operation import GET_REF_PACKAGE_JOB, Operation, PageLike
from .options import ClientOptions
from .paging import PagingResult, Progress, collect_all_pages
from .query import Query
from .redaction import install_log_redaction, redact
from .retry import RetryPolicy, call_with_retries
from .sending import Transport
from .settings import Endpoint
from .watchdog import block_interrupts_in_this_thread

if TYPE_CHECKING:
    from .results import ManyJobLists

FIRST_PAGE_SIZE = 50
# Tried, largest first, when a listing needs more than one page and the client does not yet
# know what the service accepts: the first size the service answers with wins.
PROBE_PAGE_SIZES = (1000, 200, 100)

P = TypeVar("P", bound=PageLike)
T = TypeVar("T")

log = logging.getLogger(__name__)
install_log_redaction()


@lru_cache(maxsize=256)
def encode_segment(value: str) -> str:
    """One path segment: '/', '?', '#', '%', spaces and non-ASCII all escaped (every page of a
    listing encodes the same names)."""
    return quote(value, safe="")


class FoasClient:
    """A reusable client: one connection pool and one throttle budget for many listings.

    Built from one ClientOptions (or its keyword arguments). Not picklable on
    purpose: the signer inside holds the secret in clear text.
    """

    def __init__(self, options: Optional[ClientOptions] = None, *,
                 transport: Optional[Transport] = None,
                 sleep: Optional[Callable[[float], None]] = None, **settings: Any) -> None:
        if options is None:
            options = ClientOptions(**settings)
        elif settings:
            options = options.replace(**settings)
        self.options = options
        given = options.credentials
        self.credentials: CredentialSource = (
            given if isinstance(given, CredentialSource)
            else resolve_source(given, timeout=options.timeout, connect_timeout=options.connect_timeout))
        self._signer = SdkSigner(self.credentials, options.region_id, options.endpoint)
        if transport is None:
            from .transport import Transport as Urllib3Transport

            transport = Urllib3Transport(pool_size=max(10, options.max_concurrency),
                                         connect_timeout=options.connect_timeout,
                                         max_body_bytes=options.max_body_bytes)
        self._transport: Transport = transport
        self._sleep = sleep
        self.limiter = AdaptiveLimiter(options.max_concurrency)
        self._page_size: Optional[int] = None
        self._discovery = threading.Lock()
        self._executor: Optional[ThreadPoolExecutor] = None
        self._executor_lock = threading.Lock()

    # --- the options, for callers that read them off the client -------------------------

    @property
    def region_id(self) -> str:
        return self.options.region_id

    @property
    def endpoint(self) -> Endpoint:
        return self.options.endpoint

    @property
    def max_concurrency(self) -> int:
        return self.options.max_concurrency

    @property
    def retry_policy(self) -> RetryPolicy:
        return self.options.retry_policy

    @property
    def page_size(self) -> Optional[int]:
        """The page size this client found the service to accept (None until it needed one)."""
        return self._page_size

    def __repr__(self) -> str:
        return (f"FoasClient(region_id={self.region_id!r}, endpoint={self.endpoint.url!r}, "
                f"credentials={self.credentials!r})")

    def __reduce__(self) -> NoReturn:
        raise TypeError("FoasClient is never pickled: its signer holds the secret")

    def close(self, *, wait: bool = True) -> None:
        """Stop the page threads (`wait=False`: without waiting for requests in flight) and
        close the connection pool."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)
        self._transport.close()

    def __enter__(self) -> FoasClient:
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]], *exc: object) -> None:
        self.close(wait=exc_type is None or not issubclass(exc_type, KeyboardInterrupt))

    def _pages_executor(self) -> Optional[ThreadPoolExecutor]:
        if self.options.max_concurrency <= 1:
            return None
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.options.max_concurrency,
                                                    thread_name_prefix="foas-page",
                                                    initializer=block_interrupts_in_this_thread)
            return self._executor

    # --- one request -----------------------------------------------------------------------

    def call_page(self, operation: Operation[P, T], path_values: Sequence[str], page_index: int,
                  page_size: int, deadline: Optional[float] = None) -> P:
        """One signed request for one page, no retries: the building block paging retries."""
        path = {name: encode_segment(value)
                for name, value in zip(operation.path_params, path_values, strict=True)}
        # RegionId is added by the SDK's signer, as for the official request classes.
        query = {operation.page_size_param: str(page_size),
                 operation.page_index_param: str(page_index)}
        return operation.parse_page(self._call(operation, path, query, deadline), page_index, page_size)

    def _call(self, operation: Operation[Any, Any], path: Mapping[str, str],
              query: Mapping[str, str], deadline: Optional[float] = None) -> bytes:
        error: Optional[errors.FoasError] = None
        try:
            signed = self._signer.sign(
                product=operation.product, version=operation.version, action=operation.action,
                method=operation.method, uri_pattern=operation.uri_pattern, path_params=path,
                query=query)
            reply = self._transport.send(signed.method, signed.url, signed.headers,
                                         timeout=self.options.timeout, deadline=deadline)
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
                   page_size: int = FIRST_PAGE_SIZE, deadline: Optional[float] = None) -> Page:
        """One page of GetRefPackageJob, no retries; `deadline` is a time.monotonic() value."""
        return self.call_page(GET_REF_PACKAGE_JOB, (project_name, package_name), page_index, page_size,
                              deadline)

    # --- listings --------------------------------------------------------------------------

    def _sleep_until(self, ends: float) -> Callable[[float], None]:
        """The retry sleep, cut at the listing's deadline: a backoff never outlasts it."""
        def nap(seconds: float) -> None:
            (self._sleep or time.sleep)(max(0.0, min(seconds, ends - time.monotonic())))
        return nap

    def _fetch_retrying(self, fetch: Callable[[int, int], Page], size: int,
                        sleep: Callable[[float], None]) -> Page:
        return call_with_retries(lambda: self.limiter.run(lambda: fetch(1, size)),
                                 self.options.retry_policy, sleep=sleep)

    def _discover(self, fetch: Callable[[int, int], Page],
                  sleep: Callable[[float], None]) -> tuple[int, Optional[Page]]:
        """(page size, page 1 at it or None) for a client that does not know its page size yet.

        Page 1 is read at FIRST_PAGE_SIZE (the reference's own example value); a
        listing that fits in it costs nothing more. One that needs more pages
        tries larger sizes once per client, falling back when the service
        refuses one (400), and keeps whatever size the service answers with.
        The result is remembered by the client.
        """
        first = self._fetch_retrying(fetch, FIRST_PAGE_SIZE, sleep)
        answered = min(FIRST_PAGE_SIZE, first.page_size or FIRST_PAGE_SIZE)
        if answered < FIRST_PAGE_SIZE:  # the service pages smaller than we asked
            return self._remember(answered), first
        if first.total_page <= 1:
            return answered, first
        with self._discovery:
            known = self._page_size
            if known is not None:
                return known, (first if known == answered else None)
            for size in PROBE_PAGE_SIZES:
                try:
                    page = self._fetch_retrying(fetch, size, sleep)
                except errors.ParameterError:
                    continue
                return self._remember(min(size, page.page_size or size)), page
            return self._remember(answered), first

    def _remember(self, size: int) -> int:
        self._page_size = size
        log.debug("page size for this client: %d", size)
        return size

    def _until(self, ends: float, project: str, package: str) -> Callable[[int, int], Page]:
        """fetch_page bounded by the listing's deadline: no request starts after it, and one in
        flight is cut at it; either way the listing ends in DeadlineExceededError (not retried)."""
        total = self.options.total_timeout

        def expired() -> errors.DeadlineExceededError:
            return errors.DeadlineExceededError(
                f"the listing took longer than its total timeout of {total:g}s")

        def fetch(index: int, page_size: int) -> Page:
            if time.monotonic() >= ends:
                raise expired()
            try:
                return self.fetch_page(project, package, index, page_size, ends)
            except errors.NetworkError:
                if time.monotonic() >= ends:
                    raise expired() from None
                raise

        return fetch

    def list(self, query: Query, *, progress: Optional[Progress] = None,
             max_pages: Optional[int] = None) -> JobList:
        """Every job of a one-jar query, filtered."""
        package = query.package_name
        project = query.project_name
        ends = time.monotonic() + self.options.total_timeout
        fetch = self._until(ends, project, package)
        nap = self._sleep_until(ends)
        size = query.page_size or self._page_size
        first: Optional[Page] = None
        if size is None:
            size, first = self._discover(fetch, nap)
        held = [first]

        def collect() -> PagingResult[Job]:
            first_page, held[0] = held[0], None  # page 1 in hand serves the first read only
            return collect_all_pages(
                fetch,
                GET_REF_PACKAGE_JOB,
                self.options.retry_policy,
                page_size=size,
                max_concurrency=self.options.max_concurrency,
                max_pages=max_pages if max_pages is not None else self.options.max_pages,
                progress=progress,
                limiter=self.limiter,
                executor=self._pages_executor(),
                first_page=first_page,
                sleep=nap,
            )

        return verdict.job_list(collect, project, package, query)

    def list_many(self, query: Query, *,
                  progress: Optional[Callable[[int, int], None]] = None) -> ManyJobLists:
        """Every jar of the query, concurrently, through this client's pool and throttle budget.

        Each jar gets its own outcome: one jar's error (even an unexpected one)
        is recorded for that jar and never makes another look unreferenced.
        `progress` is called with (jars done, jars asked).
        """
        from .results import list_each

        concurrency = self.options.max_concurrency
        width = 1 if concurrency <= 1 else min(len(query.package_names), 2 * concurrency)
        return list_each(query, lambda name: self.list(query.for_package(name)), width=width,
                         progress=progress)

    def list_ref_package_jobs(
        self,
        project_name: str,
        package_name: str,
        *,
        page_size: Optional[int] = None,
        job_type: Optional[str] = None,
        committed_only: bool = False,
        progress: Optional[Progress] = None,
        max_pages: Optional[int] = None,
    ) -> JobList:
        """`list(Query.one(...))`, spelled out."""
        query = Query.one(project_name, package_name, job_type=job_type,
                          committed_only=committed_only, page_size=page_size)
        return self.list(query, progress=progress, max_pages=max_pages)


def list_ref_package_jobs(
    project_name: str,
    package_name: str,
    *,
    page_size: Optional[int] = None,
    job_type: Optional[str] = None,
    committed_only: bool = False,
    progress: Optional[Progress] = None,
    options: Optional[ClientOptions] = None,
    **settings: Any,
) -> JobList:
    """Every job of `project_name` that references the jar `package_name`.

    `settings` are ClientOptions fields (region_id, endpoint, credentials,
    timeout, ...). Input is validated before credentials are looked up or
    anything is sent.
    """
    query = Query.one(project_name, package_name, job_type=job_type,
                      committed_only=committed_only, page_size=page_size)
    with FoasClient(options, **settings) as client:
        return client.list(query, progress=progress)
