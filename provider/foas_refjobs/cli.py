"""`foas-refjobs`: list the jobs that reference a jar, gate on it, or run the emulator.

Imports neither pulumi nor grpc, so a shell gate pays only for the SDK.
Exit codes: 0 success / unreferenced, 3 referenced (check-unreferenced), 1 any error.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from datetime import datetime, timezone
from typing import Any, NoReturn, Optional, TextIO

from . import __version__
from .client import DEFAULT_PAGE_SIZE, DEFAULT_TIMEOUT, list_ref_package_jobs
from .errors import FoasError
from .model import Job, JobList
from .paging import DEFAULT_MAX_CONCURRENCY
from .settings import JOB_TYPES
from .verdict import filter_description

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_REFERENCED = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"error: {message} (see {self.prog} --help)\n")


def _listing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True, help="foas project name")
    parser.add_argument("--package", required=True, help="jar package name, e.g. udf.jar")
    parser.add_argument("--region", help="region id (default: ALIBABA_CLOUD_REGION_ID, "
                        "ALICLOUD_REGION, else cn-hangzhou)")
    parser.add_argument("--endpoint", help="host, host:port or http(s)://host:port "
                        "(default: the foas endpoint of the region, over HTTPS)")
    parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE,
                        help=f"jobs per request, 1-100 (default {DEFAULT_PAGE_SIZE})")
    parser.add_argument("--job-type", choices=JOB_TYPES, type=str.upper,
                        help="only jobs of this type")
    parser.add_argument("--committed-only", action="store_true",
                        help="only committed (online) jobs")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--max-concurrency", type=int, default=DEFAULT_MAX_CONCURRENCY,
                        help=f"pages fetched at once (default {DEFAULT_MAX_CONCURRENCY}; "
                        "1 = sequential)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"read timeout per request in seconds (default {DEFAULT_TIMEOUT:g})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="foas-refjobs", description="Which Realtime Compute (foas) jobs "
                     "reference a jar package? Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID/"
                     "ALIBABA_CLOUD_ACCESS_KEY_SECRET (see README).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = sub.add_parser("list", help="list the jobs that reference a package",
                             description="List the jobs that reference a package.")
    _listing_options(listing)
    check = sub.add_parser(
        "check-unreferenced", help="exit 0 if no job references the package, 3 if some do",
        description="Exit 0 when no job references the package, 3 (listing them) when some "
        "do, 1 on any error: an error never reads as unreferenced.")
    _listing_options(check)
    emu = sub.add_parser("emulator", help="run the local FOAS emulator in the foreground",
                         description="Serve GetRefPackageJob locally, verifying signatures.")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=8400, help="0 picks a free port")
    emu.add_argument("--data", help="JSON data file (default: the shipped demo data set)")
    emu.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    emu.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


class _Progress:
    """Pages fetched / total on stderr, only when a person is watching."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total > 1:
            self.stream.write(f"\rfetched {done}/{total} pages")
            self.stream.flush()
            self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _fetch(args: argparse.Namespace) -> JobList:
    progress = _Progress(sys.stderr) if sys.stderr.isatty() else None
    try:
        return list_ref_package_jobs(
            args.project, args.package, region_id=args.region, endpoint=args.endpoint,
            page_size=args.page_size, job_type=args.job_type, committed_only=args.committed_only,
            max_concurrency=args.max_concurrency, timeout=args.timeout, progress=progress,
        )
    finally:
        if progress is not None:
            progress.finish()


def _when(ms: Optional[int]) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def _committed(job: Job) -> str:
    return {True: "yes", False: "no", None: "?"}[job.is_committed]


def render_table(jobs: JobList) -> str:
    header = ("JOB_ID", "JOB_NAME", "TYPE", "API", "COMMITTED", "ENGINE", "MODIFIED (UTC)")
    rows = [(j.job_id, j.job_name or "-", j.job_type or "-", j.api_type or "-", _committed(j),
             j.engine_version or "-", _when(j.modify_time)) for j in jobs.jobs]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    noun = "job references" if jobs.total_count == 1 else "jobs reference"
    lines.append(f"{jobs.total_count} {noun} {jobs.package_name} in project {jobs.project_name}")
    return "\n".join(lines)


def _cmd_list(args: argparse.Namespace) -> int:
    jobs = _fetch(args)
    if not jobs.consistent:
        print(f"warning: {jobs.inconsistency} (listing may be incomplete)", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(jobs.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_table(jobs))
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    jobs = _fetch(args).require_consistent()
    scope = " ".join([*(["committed"] if args.committed_only else []),
                      *([args.job_type] if args.job_type else []), "job"])
    if not jobs.referenced:
        if args.format == "json":
            print(json.dumps({**jobs.to_dict(), "referenced": False}, ensure_ascii=False, indent=2))
        else:
            applied = filter_description(args.job_type, args.committed_only)
            print(f"unreferenced: no {scope} in project {jobs.project_name} references "
                  f"{jobs.package_name}" + (f" (filter: {applied})" if applied else ""))
        return EXIT_OK
    if args.format == "json":
        print(json.dumps({**jobs.to_dict(), "referenced": True}, ensure_ascii=False, indent=2))
    else:
        print(f"referenced: {jobs.total_count} {scope}(s) in project {jobs.project_name} "
              f"reference {jobs.package_name}:")
        for job in jobs.jobs:
            print(f"  {job.job_name or '-'} ({job.job_id}) committed={_committed(job)}")
    return EXIT_REFERENCED


def _cmd_emulator(args: argparse.Namespace) -> int:
    from .emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, EmulatorState, FoasEmulator

    try:
        state = EmulatorState.from_file(args.data) if args.data else EmulatorState.default()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FoasError(f"cannot load emulator data {args.data}: {exc}", code="InvalidData") from None
    try:
        emu = FoasEmulator(state, host=args.host, port=args.port, latency_ms=args.latency_ms,
                           verbose=args.verbose)
    except OSError as exc:
        raise FoasError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}",
                        code="ListenFailed") from None

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print(f"FOAS emulator listening on {emu.url}", flush=True)
    if not args.data:
        print(f"demo AccessKey: ALIBABA_CLOUD_ACCESS_KEY_ID={DEFAULT_ACCESS_KEY_ID} "
              f"ALIBABA_CLOUD_ACCESS_KEY_SECRET={DEFAULT_ACCESS_KEY_SECRET}", flush=True)
    try:
        emu.serve_forever()
    except KeyboardInterrupt:
        print("emulator stopped", file=sys.stderr)
    finally:
        emu.stop()
    return EXIT_OK


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"list": _cmd_list, "check-unreferenced": _cmd_check, "emulator": _cmd_emulator}
    try:
        return commands[args.command](args)
    except FoasError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
