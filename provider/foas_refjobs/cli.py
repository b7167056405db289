"""`foas-refjobs`: list the jobs that reference one or many jars, gate on them, or run the emulator.

Imports neither pulumi nor grpc, so a shell gate pays only for the SDK.
Exit codes: 0 success / every jar unreferenced, 3 some jar referenced (check-unreferenced),
1 any error (with several jars: an error for any one of them, even if another is referenced).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from datetime import datetime, timezone
from typing import Any, NoReturn, Optional, TextIO

from . import __version__
from .client import FoasClient
from .errors import FoasError, InvalidInputError
from .model import Job, JobList
from .options import DEFAULT_MAX_CONCURRENCY, DEFAULT_TIMEOUT, ClientOptions
from .query import JOB_TYPES, MAX_PAGE_SIZE, Query
from .results import ManyJobLists
from .verdict import filter_description

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_REFERENCED = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"error: {message} (see {self.prog} --help)\n")


def _listing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True, help="foas project name")
    parser.add_argument("--package", action="append", default=[], metavar="NAME",
                        help="jar package name, e.g. udf.jar; repeat for several jars")
    parser.add_argument("--packages-from", metavar="FILE",
                        help="read more package names from FILE ('-' for stdin), one per line; "
                        "blank lines and lines starting with # are skipped")
    parser.add_argument("--region", help="region id (default: ALIBABA_CLOUD_REGION_ID, "
                        "ALICLOUD_REGION, else cn-hangzhou)")
    parser.add_argument("--endpoint", help="host, host:port or http(s)://host:port "
                        "(default: the foas endpoint of the region, over HTTPS)")
    parser.add_argument("--page-size", type=int, default=None,
                        help=f"jobs per request, 1-{MAX_PAGE_SIZE} (default: the largest the "
                        "service accepts, found at run time)")
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

    def __init__(self, stream: TextIO, unit: str = "pages") -> None:
        self.stream = stream
        self.unit = unit
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total > 1:
            self.stream.write(f"\rfetched {done}/{total} {self.unit}")
            self.stream.flush()
            self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _package_names(args: argparse.Namespace) -> list[str]:
    names = list(args.package)
    source = args.packages_from
    if source is not None:
        try:
            if source == "-":
                lines = sys.stdin.read().splitlines()
            else:
                with open(source, encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read --packages-from {source}: "
                                    f"{getattr(exc, 'strerror', None) or type(exc).__name__}") from None
        names += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not names:
        raise InvalidInputError("give at least one --package (or --packages-from FILE)")
    return names


def _query(args: argparse.Namespace) -> Query:
    return Query(args.project, tuple(_package_names(args)), job_type=args.job_type,
                 committed_only=args.committed_only, page_size=args.page_size)


def _client(args: argparse.Namespace) -> FoasClient:
    return FoasClient(ClientOptions(region_id=args.region, endpoint=args.endpoint,
                                    timeout=args.timeout, max_concurrency=args.max_concurrency))


def _fetch(args: argparse.Namespace, query: Query) -> JobList:
    progress = _Progress(sys.stderr) if sys.stderr.isatty() else None
    try:
        with _client(args) as client:
            return client.list(query, progress=progress)
    finally:
        if progress is not None:
            progress.finish()


def _fetch_many(args: argparse.Namespace, query: Query) -> ManyJobLists:
    progress = _Progress(sys.stderr, "jars") if sys.stderr.isatty() else None
    try:
        with _client(args) as client:
            return client.list_many(query, progress=progress)
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
    query = _query(args)
    if len(query.package_names) > 1:
        return _list_many(args, query)
    jobs = _fetch(args, query)
    if not jobs.consistent:
        print(f"warning: {jobs.inconsistency} (listing may be incomplete)", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(jobs.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_table(jobs))
    return EXIT_OK


def _list_many(args: argparse.Namespace, query: Query) -> int:
    many = _fetch_many(args, query)
    for outcome in many:
        if outcome.jobs is not None and not outcome.jobs.consistent:
            print(f"warning: {outcome.package_name}: {outcome.jobs.inconsistency} "
                  "(listing may be incomplete)", file=sys.stderr)
        elif outcome.error is not None:
            print(f"error: {outcome.package_name}: {outcome.error.one_line()}", file=sys.stderr)
    if args.format == "json":
        packages = [{**o.jobs.to_dict(), "consistent": o.jobs.consistent} if o.jobs is not None
                    else {"project_name": query.project_name, "package_name": o.package_name,
                          "error": o.detail, "error_code": o.error.code if o.error else None}
                    for o in many]
        print(json.dumps({"project_name": query.project_name, "packages": packages},
                         ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(render_table(o.jobs) if o.jobs is not None
                          else f"{o.package_name}: error: {o.detail}" for o in many))
    return EXIT_ERROR if any(o.error is not None for o in many) else EXIT_OK


def _scope(args: argparse.Namespace) -> str:
    return " ".join([*(["committed"] if args.committed_only else []),
                     *([args.job_type] if args.job_type else []), "job"])


def _cmd_check(args: argparse.Namespace) -> int:
    query = _query(args)
    if len(query.package_names) > 1:
        return _check_many(args, query)
    jobs = _fetch(args, query).require_consistent()
    scope = _scope(args)
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


def many_exit_code(many: ManyJobLists) -> int:
    """0 only if every jar is unreferenced; 1 if any jar could not be decided; else 3."""
    if many.failed:
        return EXIT_ERROR
    return EXIT_REFERENCED if many.referenced else EXIT_OK


def render_verdicts(many: ManyJobLists, scope: str) -> str:
    header = ("PACKAGE", "VERDICT", "JOBS", "DETAIL")
    rows = []
    for o in many:
        count = str(o.jobs.total_count) if o.jobs is not None and o.verdict != "error" else "-"
        if o.verdict == "referenced" and o.jobs is not None:
            names = ", ".join(f"{j.job_name or '-'} ({j.job_id})" for j in o.jobs.jobs[:3])
            more = f", ... {o.jobs.total_count - 3} more" if o.jobs.total_count > 3 else ""
            detail = names + more
        elif o.verdict == "error":
            detail = o.detail
        else:
            detail = ""
        rows.append((o.package_name, o.verdict, count, detail))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = ["  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip()
             for r in [header, *rows]]
    lines.append(f"{len(many.unreferenced)} of {len(many)} jars unreferenced (no {scope} in project "
                 f"{many.project_name} references them), {len(many.referenced)} referenced, "
                 f"{len(many.failed)} undecided (error)")
    return "\n".join(lines)


def _check_many(args: argparse.Namespace, query: Query) -> int:
    many = _fetch_many(args, query)
    code = many_exit_code(many)
    if args.format == "json":
        print(json.dumps({**many.to_dict(), "exit_code": code}, ensure_ascii=False, indent=2))
    else:
        text = render_verdicts(many, _scope(args))
        applied = filter_description(args.job_type, args.committed_only)
        print(text + (f" (filter: {applied})" if applied else ""))
    return code


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
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "emulator" and not args.package and args.packages_from is None:
        parser.error("the following arguments are required: --package (or --packages-from)")
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
