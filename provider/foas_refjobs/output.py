"""What `list` prints, in the formats scripts rely on, and the escaping every report shares.

The gate's verdicts (check-unreferenced) are rendered in `verdict_output` on
top of these pieces.

Server text reaches a terminal or a CI log here, so every cell of the table, CSV
and ids formats is escaped: a job name cannot forge a line (`unreferenced: ...`)
or send terminal escape sequences. JSON escapes by its own rules. Column widths
count display cells, so CJK names (two cells each) keep the table aligned.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .errors import FoasError
from .model import Job, JobList
from .redaction import redact, redact_tree

if TYPE_CHECKING:
    from .results import ManyJobLists

FORMATS = ("table", "json", "csv", "ids")
CSV_FIELDS = (
    "job_id", "job_name", "project_name", "job_type", "api_type", "is_committed", "packages",
    "engine_version", "cluster_id", "queue_name", "folder_id", "creator", "modifier",
    "create_time", "modify_time", "description",
)
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


def table_lines(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    cells = [list(header), *([escape(c) for c in row] for row in rows)]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(header))]
    return ["  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def render_table(jobs: JobList) -> str:
    header = ("JOB_ID", "JOB_NAME", "TYPE", "API", "COMMITTED", "ENGINE", "MODIFIED (UTC)")
    rows = [(j.job_id, j.job_name or "-", j.job_type or "-", j.api_type or "-", committed_word(j),
             j.engine_version or "-", _when(j)) for j in jobs.jobs]
    lines = table_lines(header, rows)
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


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """RFC 4180 with a header row (csv is imported only for CSV output)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().rstrip("\n")


def _csv_row(job: Job) -> list[str]:
    return [_csv_value(getattr(job, name)) for name in CSV_FIELDS]


def render_csv(jobs: JobList) -> str:
    """RFC 4180 with a header row; packages comma-joined inside one quoted cell."""
    return _csv_text(CSV_FIELDS, (_csv_row(job) for job in jobs.jobs))


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


# --- several packages ------------------------------------------------------------------------


def render_many_listing(many: ManyJobLists, fmt: str) -> str:
    """list with several packages: each package's listing (or its error) in turn."""
    if fmt == "json":
        return render_json({"project_name": many.project_name, "packages": [
            {**o.jobs.to_dict(), "consistent": o.jobs.consistent} if o.jobs is not None
            else {"project_name": many.project_name, "package_name": o.package_name,
                  "error": o.detail, "error_code": o.error.code if o.error else None}
            for o in many]})
    if fmt == "csv":
        return _csv_text(("package_name", *CSV_FIELDS),
                         ([escape(o.package_name), *_csv_row(job)]
                          for o in many for job in (o.jobs.jobs if o.jobs is not None else ())))
    if fmt == "ids":  # a job that uses two of the packages is printed once
        ids = dict.fromkeys(j.job_id for o in many if o.jobs is not None for j in o.jobs.jobs)
        return "\n".join(escape(i) for i in ids)
    return "\n\n".join(render_table(o.jobs) if o.jobs is not None
                        else f"{escape(o.package_name)}: error: {escape(o.detail)}" for o in many)
