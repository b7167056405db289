"""What check-unreferenced prints: the verdict for one package, or one verdict per package.

"unreferenced" is printed only for a listing that shows it, with the filter
that was applied, so a reader of a CI log can tell what was checked. Jobs and
names are escaped as in `output`; JSON carries each job's id, name and committed
state, every field only with --detail (code and properties can hold passwords).
"""

from __future__ import annotations

import csv
import io
from typing import Any, Optional

from .model import JobList
from .output import committed_word, escape, render_json, render_listing, table_lines
from .results import ManyJobLists
from .verdict import filter_description

# What the gate's verdict needs per job; code and properties (which can hold connector
# passwords) only with --detail.
VERDICT_JOB_FIELDS = ("job_id", "job_name", "is_committed")


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


def render_many_verdicts(many: ManyJobLists, fmt: str, *, committed_only: bool,
                         job_type: Optional[str], detail: bool, exit_code: int) -> str:
    """check-unreferenced with several packages: one verdict per package."""
    if fmt == "json":
        packages = []
        for o in many:
            entry = o.to_dict()
            if o.jobs is not None and o.verdict == "referenced":
                entry["jobs"] = verdict_dict(o.jobs, detail=detail)["jobs"]
            packages.append(entry)
        return render_json({**many.to_dict(), "packages": packages, "exit_code": exit_code})
    if fmt == "ids":  # what can go, for xargs
        return "\n".join(escape(name) for name in many.unreferenced)
    rows = []
    for o in many:
        count = str(o.jobs.total_count) if o.jobs is not None and o.verdict != "error" else "-"
        if o.verdict == "referenced" and o.jobs is not None:
            shown = ", ".join(f"{j.job_name or '-'} ({j.job_id})" for j in o.jobs.jobs[:3])
            info = shown + (f", ... {o.jobs.total_count - 3} more" if o.jobs.total_count > 3 else "")
        else:
            info = o.detail if o.verdict == "error" else ""
        rows.append((o.package_name, o.verdict, count, info))
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("package_name", "verdict", "total_count", "detail"))
        writer.writerows([escape(c) for c in row] for row in rows)
        return buffer.getvalue().rstrip("\n")
    scope = " ".join([*(["committed"] if committed_only else []), *([job_type] if job_type else []), "job"])
    applied = filter_description(job_type, committed_only)
    lines = table_lines(("PACKAGE", "VERDICT", "JOBS", "DETAIL"), rows)
    lines.append(f"{len(many.unreferenced)} of {len(many)} packages unreferenced (no {scope} in project "
                 f"{escape(many.project_name)} references them), {len(many.referenced)} referenced, "
                 f"{len(many.failed)} undecided (error)" + (f"; filter: {applied}" if applied else ""))
    return "\n".join(lines)
