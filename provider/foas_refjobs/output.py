"""What the CLI prints: the formats scripts rely on, kept apart from argument handling.

Server text reaches a terminal or a CI log here, so every cell of the table, CSV
and ids formats is escaped: a job name cannot forge a line (`unreferenced: ...`)
or send terminal escape sequences. JSON escapes by its own rules. Column widths
count display cells, so CJK names (two cells each) keep the table aligned.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, Optional

from .errors import FoasError
from .model import Job, JobList
from .redaction import redact, redact_tree
from .verdict import filter_description

FORMATS = ("table", "json", "csv", "ids")
CSV_FIELDS = (
    "job_id", "job_name", "project_name", "job_type", "api_type", "is_committed", "packages",
    "engine_version", "cluster_id", "queue_name", "folder_id", "creator", "modifier",
    "create_time", "modify_time", "description",
)
# What the gate's verdict needs per job; code and properties (which can hold connector
# passwords) only with --detail.
VERDICT_JOB_FIELDS = ("job_id", "job_name", "is_committed")
_ZERO_WIDTH_CATEGORIES = ("Mn", "Me")


def escape(text: str) -> str:
    """Control, format, separator and unassigned code points as visible `\\x..`/`\\u....` escapes;
    known secrets a server echoed back masked first."""
    text = redact(text)
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                       else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def display_width(text: str) -> int:
    """Terminal cells: wide and fullwidth characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.category(ch) in _ZERO_WIDTH_CATEGORIES:
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def _when(job: Job) -> str:
    ms = job.modify_time
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, ValueError, OSError):
        raise FoasError(f"job {escape(job.job_id)} has ModifyTime {str(ms)[:40]}, which is not a "
                        "date the table can show; --format json prints it as sent",
                        code="UnrenderableValue") from None


def committed_word(job: Job) -> str:
    return {True: "yes", False: "no", None: "?"}[job.is_committed]


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    cells = [list(header), *([escape(c) for c in row] for row in rows)]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(header))]
    return ["  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def render_table(jobs: JobList) -> str:
    header = ("JOB_ID", "JOB_NAME", "TYPE", "API", "COMMITTED", "ENGINE", "MODIFIED (UTC)")
    rows = [(j.job_id, j.job_name or "-", j.job_type or "-", j.api_type or "-", committed_word(j),
             j.engine_version or "-", _when(j)) for j in jobs.jobs]
    lines = _table(header, rows)
    noun = "job references" if jobs.total_count == 1 else "jobs reference"
    lines.append(f"{jobs.total_count} {noun} {escape(jobs.package_name)} in project "
                 f"{escape(jobs.project_name)}")
    return "\n".join(lines)


def render_json(data: Any) -> str:
    return json.dumps(redact_tree(data), ensure_ascii=False, indent=2)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return escape(str(value))


def render_csv(jobs: JobList) -> str:
    """RFC 4180 with a header row; packages comma-joined inside one quoted cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for job in jobs.jobs:
        writer.writerow([_csv_value(getattr(job, name)) for name in CSV_FIELDS])
    return buffer.getvalue().rstrip("\n")


def render_ids(jobs: JobList) -> str:
    """One job id per line, nothing else: for `xargs`."""
    return "\n".join(escape(j.job_id) for j in jobs.jobs)


def render_listing(jobs: JobList, fmt: str) -> str:
    if fmt == "json":
        return render_json(jobs.to_dict())
    if fmt == "csv":
        return render_csv(jobs)
    if fmt == "ids":
        return render_ids(jobs)
    return render_table(jobs)


def verdict_dict(jobs: JobList, *, detail: bool) -> dict[str, Any]:
    listed = [j.to_dict() if detail else {name: getattr(j, name) for name in VERDICT_JOB_FIELDS}
              for j in jobs.jobs]
    return {"project_name": jobs.project_name, "package_name": jobs.package_name,
            "total_count": jobs.total_count, "jobs": listed, "referenced": jobs.referenced}


def render_verdict(jobs: JobList, fmt: str, *, committed_only: bool, job_type: Optional[str],
                   detail: bool) -> str:
    """check-unreferenced's stdout: the verdict, and the referencing jobs when there are any."""
    if fmt == "json":
        return render_json(verdict_dict(jobs, detail=detail))
    if fmt in ("csv", "ids"):
        return render_listing(jobs, fmt)
    scope = " ".join([*(["committed"] if committed_only else []), *([job_type] if job_type else []), "job"])
    project, package = escape(jobs.project_name), escape(jobs.package_name)
    if not jobs.referenced:
        applied = filter_description(job_type, committed_only)
        return (f"unreferenced: no {scope} in project {project} references {package}"
                + (f" (filter: {applied})" if applied else ""))
    lines = [f"referenced: {jobs.total_count} {scope}(s) in project {project} reference {package}:"]
    lines += [f"  {escape(j.job_name or '-')} ({escape(j.job_id)}) committed={committed_word(j)}"
              for j in jobs.jobs]
    return "\n".join(lines)
