"""Fault injection: rules that take over chosen requests.

A rule applies to requests numbered after `after` (1-based count of requests
that reached the API route), `times` times (None: forever). Tests add rules
while the server runs; the plan is thread-safe.
`params={"no_length": True}` on any rule sends the body without Content-Length,
delimited by closing the connection.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Optional

FAULT_KINDS = (
    "latency",            # sleep `latency_ms`, then answer normally
    "throttle",           # 429 Throttling.User (status overridable)
    "error",              # JSON error body with `status` (500/502/503...)
    "html",               # an HTML error page from a "proxy", with `status`
    "not_json",           # 200 with a plain-text body
    "truncated_json",     # 200 with the JSON cut in half (Content-Length matches the cut)
    "reset",              # announce the full length, send half, close the connection
    "slow_body",          # send the body in small chunks, `latency_ms` apart
    "huge_body",          # 200 with a body of `size` bytes
    "wrong_shape",        # 200 with valid JSON of the wrong shape
    "non_numeric_count",  # 200 with TotalCount "many"
    "no_request_id",      # a normal answer without RequestId
    "grow_total_page",    # TotalPage reported larger on every request
    "ignore_page_index",  # always serve page 1
    "drop_connection",    # close the socket without any response
    "raw_body",           # `params["body"]` (str or bytes) verbatim, with `status` (default 200)
)


@dataclass
class FaultRule:
    kind: str
    after: int = 0
    times: Optional[int] = 1
    status: Optional[int] = None
    latency_ms: float = 0
    size: int = 0
    applied: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self.requests = 0

    def add(self, kind: str, **kwargs: Any) -> FaultRule:
        rule = FaultRule(kind, **kwargs)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def next_request(self) -> tuple[int, list[FaultRule]]:
        """Count a request and return the rules that fire for it (at most one of each kind)."""
        with self._lock:
            self.requests += 1
            number = self.requests
            fired: list[FaultRule] = []
            for rule in self._rules:
                if number <= rule.after:
                    continue
                if rule.times is not None and rule.applied >= rule.times:
                    continue
                if any(r.kind == rule.kind for r in fired):
                    continue
                rule.applied += 1
                fired.append(rule)
            return number, fired
