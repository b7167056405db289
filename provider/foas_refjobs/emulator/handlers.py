"""GetRefPackageJob as the service answers it: paging fields, error bodies, codes.

Decisions where the reference is silent (documented in docs/emulator.md):
an unknown project answers 404 `Project.NotExist`; a package not registered in
the project answers 404 `Package.NotExist`; a registered package that no job
uses answers an empty list. pageSize defaults to 10 (the reference's sample
answer), must be 1..state.max_page_size (100 unless configured; a larger one is
refused, or clamped when state.clamp_page_size is set); pageIndex defaults to 1;
a page past the end is empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from .state import EmulatorState

DEFAULT_PAGE_SIZE = 10
HOST_ID = "foas.emulator.local"


@dataclass
class Reply:
    status: int
    body: dict[str, Any]


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def error_reply(status: int, code: str, message: str, request_id: Optional[str] = None) -> Reply:
    return Reply(status, {
        "RequestId": request_id or new_request_id(),
        "HostId": HOST_ID,
        "Code": code,
        "Message": message,
    })


def _int_param(query: Mapping[str, str], name: str, default: int, low: int,
               high: Optional[int]) -> int | Reply:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return error_reply(400, "InvalidParameter", f"The parameter {name} is invalid: {raw}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        return error_reply(400, "InvalidParameter", f"The parameter {name} must be {bound}.")
    return value


def get_ref_package_job(state: EmulatorState, project: str, package: str,
                        query: Mapping[str, str], request_id: str) -> Reply:
    page_size = _int_param(query, "pageSize", DEFAULT_PAGE_SIZE, 1,
                           None if state.clamp_page_size else state.max_page_size)
    if isinstance(page_size, Reply):
        return page_size
    page_size = min(page_size, state.max_page_size)
    page_index = _int_param(query, "pageIndex", 1, 1, None)
    if isinstance(page_index, Reply):
        return page_index
    if not state.has_project(project):
        return error_reply(404, "Project.NotExist", f"The project {project} does not exist.",
                           request_id)
    if not state.has_package(project, package):
        return error_reply(404, "Package.NotExist",
                           f"The package {package} does not exist in project {project}.",
                           request_id)
    total, page = state.referencing_page(project, package, (page_index - 1) * page_size, page_size)
    return Reply(200, {
        "TotalCount": total,
        "TotalPage": -(-total // page_size),
        "PageSize": page_size,
        "RequestId": request_id,
        "Jobs": {"Job": page},
        "PageIndex": page_index,
    })
