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
from .redaction import redact_tree, safe_text
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


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


def _milliseconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 3_600_000:
        raise argparse.ArgumentTypeError(f"must be 0..3600000 ms, got {text}")
    return value


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
    emu.add_argument("--port", type=_port, default=8400, help="0 picks a free port")
    emu.add_argument("--data", help="JSON data file (default: the shipped demo data set)")
    emu.add_argument("--latency-ms", type=_milliseconds, default=0.0, help="added to every request")
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


def _when(job: Job) -> str:
    ms = job.modify_time
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, ValueError, OSError):
        raise FoasError(f"job {safe_text(job.job_id)} has ModifyTime {str(ms)[:40]}, which is not a "
                        "date the table can show; --format json prints it as sent",
                        code="UnrenderableValue") from None


def _committed(job: Job) -> str:
    return {True: "yes", False: "no", None: "?"}[job.is_committed]


def render_table(jobs: JobList) -> str:
    header = ("JOB_ID", "JOB_NAME", "TYPE", "API", "COMMITTED", "ENGINE", "MODIFIED (UTC)")
    rows = [(safe_text(j.job_id), safe_text(j.job_name or "-"), safe_text(j.job_type or "-"),
             safe_text(j.api_type or "-"), _committed(j), safe_text(j.engine_version or "-"), _when(j))
            for j in jobs.jobs]
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
        _emit(_json(jobs.to_dict()))
    else:
        _emit(render_table(jobs))
    return EXIT_OK


def _json(value: Any) -> str:
    return json.dumps(redact_tree(value), ensure_ascii=False, indent=2)


def _emit(text: str) -> None:
    """One write of the whole output: text that cannot be encoded fails before any of it is printed."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _cmd_check(args: argparse.Namespace) -> int:
    jobs = _fetch(args).require_consistent()
    scope = " ".join([*(["committed"] if args.committed_only else []),
                      *([args.job_type] if args.job_type else []), "job"])
    if not jobs.referenced:
        if args.format == "json":
            _emit(_json({**jobs.to_dict(), "referenced": False}))
        else:
            applied = filter_description(args.job_type, args.committed_only)
            _emit(f"unreferenced: no {scope} in project {jobs.project_name} references "
                  f"{jobs.package_name}" + (f" (filter: {applied})" if applied else ""))
        return EXIT_OK
    if args.format == "json":
        _emit(_json({**jobs.to_dict(), "referenced": True}))
    else:
        lines = [f"referenced: {jobs.total_count} {scope}(s) in project {jobs.project_name} "
                 f"reference {jobs.package_name}:"]
        lines += [f"  {safe_text(job.job_name or '-')} ({safe_text(job.job_id)}) "
                  f"committed={_committed(job)}" for job in jobs.jobs]
        _emit("\n".join(lines))
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
        _error(exc.one_line())
    except KeyboardInterrupt:
        _error("interrupted")
    except BrokenPipeError:
        pass
    except UnicodeEncodeError as exc:
        _error(f"the output cannot be encoded as {exc.encoding} (a name holds {exc.object[exc.start]!r}); "
               "set PYTHONIOENCODING=utf-8")
    except MemoryError:
        _error("out of memory while listing; nothing was decided")
    except Exception as exc:  # noqa: BLE001 - a gate prints one line and exits 1, never a traceback
        _error(f"internal error: {type(exc).__name__}: {safe_text(str(exc))[:500]}")
    return EXIT_ERROR


def _error(text: str) -> None:
    """One line on stderr, whatever stderr can encode."""
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    line = f"error: {text}".replace("\n", "\\n")
    sys.stderr.write(line.encode(encoding, "backslashreplace").decode(encoding, "replace") + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
