"""The emulator's HTTP layer: route table, signature check, fault application.

Standard library only. Each response is written with a single send and
TCP_NODELAY set, so latency figures measured against it are the injected
latency, not Nagle's algorithm.
"""

from __future__ import annotations

import hmac
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from re import Match, Pattern
from re import compile as re_compile
from typing import Any, Optional
from urllib.parse import parse_qsl, unquote

from . import credential_services, signature
from .faults import FaultPlan, FaultRule
from .handlers import Reply, error_reply, get_ref_package_job, new_request_id
from .state import EmulatorState

API_VERSION = "2018-11-11"
MAX_CLOCK_SKEW_SECONDS = 15 * 60
POLL_INTERVAL = 0.02  # how long stop() may wait for the serve loop to notice

Handler = Callable[[EmulatorState, list[str], dict[str, str], str], Reply]


def _ref_package_job(state: EmulatorState, segments: list[str], query: dict[str, str],
                     request_id: str) -> Reply:
    return get_ref_package_job(state, segments[0], segments[1], query, request_id)


ROUTES: list[tuple[str, Pattern[str], Handler]] = [
    ("GET", re_compile(r"^/api/v2/projects/([^/]+)/packages/([^/]+)/jobs$"), _ref_package_job),
]


@dataclass(frozen=True)
class RequestRecord:
    number: int
    method: str
    raw_path: str
    segments: tuple[str, ...]
    query: dict[str, str]
    access_key_id: Optional[str]
    status: int


def _check_signature(state: EmulatorState, method: str, headers: dict[str, str], raw_path: str,
                     raw_query: str, request_id: str) -> tuple[Optional[str], Optional[Reply]]:
    """(AccessKeyId, None) when the request is properly signed, else (id?, error reply)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    auth = signature.parse_authorization(lowered.get("authorization", ""))
    if auth is None:
        return None, error_reply(400, "IncompleteSignature",
                                 "The request signature does not conform to Aliyun standards.",
                                 request_id)
    key_id, sent = auth
    date = lowered.get("date")
    try:
        when = parsedate_to_datetime(date).timestamp() if date else None
    except (TypeError, ValueError):
        when = None
    if when is None:
        return key_id, error_reply(400, "MissingParameter.Date",
                                   "The Date header is missing or malformed.", request_id)
    if abs(time.time() - when) > MAX_CLOCK_SKEW_SECONDS:
        return key_id, error_reply(400, "InvalidTimeStamp.Expired",
                                   "Specified time stamp or date value is expired.", request_id)
    if lowered.get("x-acs-signature-method") != "HMAC-SHA1" \
            or lowered.get("x-acs-signature-version") != "1.0":
        return key_id, error_reply(400, "InvalidSignatureMethod",
                                   "Only HMAC-SHA1 signature version 1.0 is supported.", request_id)
    if lowered.get("x-acs-version") != API_VERSION:
        return key_id, error_reply(400, "InvalidVersion",
                                   f"Specified version is not valid: {lowered.get('x-acs-version')}",
                                   request_id)
    found = state.secret_for(key_id)
    if found is None:
        return key_id, error_reply(404, "InvalidAccessKeyId.NotFound",
                                   "Specified access key is not found.", request_id)
    secret, token = found
    if token is not None and lowered.get("x-acs-security-token") != token:
        return key_id, error_reply(400, "InvalidSecurityToken.MismatchWithAccessKey",
                                   "Specified SecurityToken mismatch with the AccessKey.", request_id)
    if state.expired(key_id):
        return key_id, error_reply(400, "InvalidSecurityToken.Expired",
                                   "Specified SecurityToken is expired.", request_id)
    text = signature.string_to_sign(method, headers, raw_path, raw_query)
    if not hmac.compare_digest(signature.sign(secret, text), sent):
        return key_id, error_reply(
            400, "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation. "
            f"server string to sign is:{text}", request_id)
    return key_id, None


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _EmulatorHTTPServer
    server_version = "FoasEmulator/1.0"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        emu = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        raw_path, _, raw_query = self.path.partition("?")
        request_id = new_request_id()
        if credential_services.handles(method, raw_path, raw_query):
            answer = credential_services.answer(emu.state, method, raw_path, raw_query,
                                                dict(self.headers.items()), body, request_id)
            emu.credential_calls.append((method, raw_path, answer.status))
            self._send_reply(answer)
            return
        route = next(((m, h) for rm, p, h in ROUTES if rm == method and (m := p.match(raw_path))), None)
        if route is None:
            self._send_reply(error_reply(404, "InvalidAction.NotFound",
                                         f"Specified api is not found: {method} {raw_path}",
                                         request_id))
            return
        match, handler = route
        with emu._log_lock:
            emu.in_flight += 1
            emu.peak_in_flight = max(emu.peak_in_flight, emu.in_flight)
            over = emu.max_in_flight is not None and emu.in_flight > emu.max_in_flight
            if over:
                emu.throttled += 1
        try:
            self._answer(emu, method, raw_path, raw_query, request_id, match, handler, over)
        finally:
            with emu._log_lock:
                emu.in_flight -= 1

    def _answer(self, emu: FoasEmulator, method: str, raw_path: str, raw_query: str,
                request_id: str, match: Match[str], handler: Handler, over: bool) -> None:
        number, faults = emu.faults.next_request()
        for hook in list(emu.before_request):
            hook(number)
        delay = emu.latency_ms + sum(f.latency_ms for f in faults if f.kind == "latency")
        if delay:
            time.sleep(delay / 1000.0)
        kinds = {f.kind: f for f in faults}
        segments = [unquote(s, errors="strict") for s in match.groups()]
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        headers = {k: v for k, v in self.headers.items()}
        key_id, reply = (None, None)
        if emu.verify_signatures:
            key_id, reply = _check_signature(emu.state, method, headers, raw_path, raw_query,
                                             request_id)
        if reply is None:
            reply = self._pre_fault(kinds, request_id)
        if reply is None and over:
            reply = error_reply(429, "Throttling.User", "Request was denied due to user flow "
                                f"control: more than {emu.max_in_flight} requests in flight.",
                                request_id)
        if reply is None:
            if "ignore_page_index" in kinds:
                query["pageIndex"] = "1"
            reply = handler(emu.state, segments, query, request_id)
            self._post_fault(kinds, reply, number)
        emu.record(RequestRecord(number, method, self.path, tuple(segments), query, key_id,
                                 reply.status))
        if "drop_connection" in kinds:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send_reply(reply, kinds)

    @staticmethod
    def _pre_fault(kinds: dict[str, FaultRule], request_id: str) -> Optional[Reply]:
        if "throttle" in kinds:
            return error_reply(kinds["throttle"].status or 429, "Throttling.User",
                               "Request was denied due to user flow control.", request_id)
        if "error" in kinds:
            status = kinds["error"].status or 500
            code = {503: "ServiceUnavailable", 502: "BadGateway"}.get(status, "InternalError")
            return error_reply(status, code, "The request processing has failed due to some "
                               "unknown error, exception or failure.", request_id)
        if "html" in kinds:
            return Reply(kinds["html"].status or 502, {"__raw__": (
                "<html><head><title>502 Bad Gateway</title></head><body>"
                "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>"
                "</body></html>")})
        if "raw_body" in kinds:
            return Reply(kinds["raw_body"].status or 200, {"__raw__": kinds["raw_body"].params["body"]})
        return None

    @staticmethod
    def _post_fault(kinds: dict[str, FaultRule], reply: Reply, number: int) -> None:
        body = reply.body
        if reply.status != 200:
            return
        if "grow_total_page" in kinds:
            body["TotalPage"] = int(body["TotalPage"]) + number
        if "no_request_id" in kinds:
            body.pop("RequestId", None)
        if "non_numeric_count" in kinds:
            body["TotalCount"] = "many"
        if "wrong_shape" in kinds:
            reply.body = {"RequestId": body.get("RequestId"), "Data": [body.get("Jobs")],
                          "Success": True}
        if "not_json" in kinds:
            reply.body = {"__raw__": "OK jobs follow\nthis is not JSON"}
        if "huge_body" in kinds:
            size = kinds["huge_body"].size or 64 * 1024 * 1024
            body["Padding"] = "x" * size

    def _send_reply(self, reply: Reply, kinds: Optional[dict[str, FaultRule]] = None) -> None:
        kinds = kinds or {}
        raw = reply.body.get("__raw__")
        if raw is not None:
            payload = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
            content_type = "text/html" if payload.startswith(b"<") else "text/plain"
        else:
            payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
            content_type = "application/json;charset=utf-8"
        announced = len(payload)
        if "truncated_json" in kinds:
            payload = payload[: max(1, len(payload) // 2)]
            announced = len(payload)
        reset = "reset" in kinds
        no_length = any(rule.params.get("no_length") for rule in kinds.values())
        if reset:
            payload = payload[: max(1, len(payload) // 2)]
        request_id = reply.body.get("RequestId") if raw is None else None
        head = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}",
                f"Content-Type: {content_type}",
                *([] if no_length else [f"Content-Length: {announced}"]),
                f"Date: {self.date_time_string()}",
                f"Server: {self.server_version}"]
        if request_id:
            head.append(f"x-acs-request-id: {request_id}")
        if reset or no_length:
            head.append("Connection: close")
        header_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if "slow_body" in kinds:
            self.wfile.write(header_bytes)
            step = kinds["slow_body"].latency_ms or 200
            for i in range(0, len(payload), 64):
                self.wfile.write(payload[i:i + 64])
                self.wfile.flush()
                time.sleep(step / 1000.0)
        else:
            self.wfile.write(header_bytes + payload)
        self.wfile.flush()
        if reset or no_length:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


class _EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: FoasEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (one refusing a body over its cap does) is normal
        here, not worth a traceback; anything else still prints one."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError,
                                           ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class FoasEmulator:
    """A local FOAS GetRefPackageJob endpoint. Use as a context manager in tests:

        with FoasEmulator() as emu:
            list_ref_package_jobs("bayes_team", "wordcount.jar", endpoint=emu.url, ...)
    """

    def __init__(self, state: Optional[EmulatorState] = None, *, host: str = "127.0.0.1",
                 port: int = 0, latency_ms: float = 0.0, verify_signatures: bool = True,
                 verbose: bool = False, log_size: int = 10_000) -> None:
        self.state = state if state is not None else EmulatorState.default()
        self.faults = FaultPlan()
        self.latency_ms = latency_ms
        self.verify_signatures = verify_signatures
        self.verbose = verbose
        self.before_request: list[Callable[[int], None]] = []
        # Requests beyond this many at once are answered 429 Throttling.User (None: no limit).
        self.max_in_flight: Optional[int] = None
        self.in_flight = 0
        self.peak_in_flight = 0
        self.throttled = 0
        self.requests: deque[RequestRecord] = deque(maxlen=log_size)
        self.credential_calls: deque[tuple[str, str, int]] = deque(maxlen=log_size)  # STS, IMDS, URI
        self._log_lock = threading.Lock()
        self._httpd = _EmulatorHTTPServer((host, port), self)
        self._thread: Optional[threading.Thread] = None
        self._serving = False

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def record(self, entry: RequestRecord) -> None:
        with self._log_lock:
            self.requests.append(entry)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no API request is being answered; False if one still is after `timeout` seconds.

        A client that gave up (timeout, Ctrl-C) leaves its request running here; whoever reuses
        this emulator waits for it, or that request's record lands in the next user's log.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._log_lock:
                if self.in_flight == 0:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)

    def start(self) -> FoasEmulator:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="foas-emulator",
                                        kwargs={"poll_interval": POLL_INTERVAL}, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serving = True
        self._httpd.serve_forever(poll_interval=POLL_INTERVAL)

    def stop(self) -> None:
        if self._thread is not None or self._serving:
            self._httpd.shutdown()  # waits for a serve loop, so only when one ran
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FoasEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
