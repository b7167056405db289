"""`foas-refjobs`: list the jobs that reference one or many jars, gate on them, or run the emulator.

Imports neither pulumi nor grpc, so a shell gate pays only for the SDK; what
only one command needs (the verdicts, the emulator, completion) is imported by
that command. Output formats live in `output` and `verdict_output`; this module
parses arguments and maps outcomes to exit codes (see EXIT_CODES_HELP).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, Optional, TextIO

from . import __version__
from .client import FoasClient
from .errors import FoasError, InvalidInputError
from .model import JobList
from .options import DEFAULT_MAX_CONCURRENCY, DEFAULT_TOTAL_TIMEOUT, ClientOptions
from .output import FORMATS, escape, render_listing, render_many_listing
from .query import JOB_TYPES, MAX_PAGE_SIZE, Query
from .redaction import safe_text
from .settings import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from .results import ManyJobLists

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REFERENCED = 3
EXIT_INTERRUPTED = 130
EXIT_CODES_HELP = """exit codes:
  0    success; check-unreferenced: no job references the package (with
       several packages: none of them)
  1    error (service, network, credentials, invalid value, doubtful listing);
       never read as "unreferenced"; with several packages: an error for any
       one of them, even when another is referenced
  2    usage error: unknown option, missing argument or malformed value;
       nothing was sent
  3    check-unreferenced: some job references the package (one of them)
  130  interrupted (Ctrl-C)
A closed stdout (`foas-refjobs list ... | head -1`) is not an error: the exit
code stays the command's."""
FORMAT_HELP = ("table (default): aligned columns; json: every field of every job; csv: one row per job, "
               "without code, plan and properties; ids: one job id per line, for xargs")
CHECK_FORMAT_HELP = ("table (default): the verdict and the referencing jobs; json: the verdict with each "
                     "job's id, name and committed state (all fields with --detail); csv, ids: the "
                     "referencing jobs as in list. With several packages: one verdict per package "
                     "(table, json, csv), and ids prints the unreferenced packages, one per line")
COMPLETION_SHELLS = ("bash", "zsh")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


class _VersionAction(argparse.Action):
    """`--version` with the SDK's and Python's versions, looked up only when asked."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: Optional[str] = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: Optional[str] = None) -> None:
        _write_ignoring_closed_stdout(version_line())
        parser.exit(EXIT_OK)


def version_line() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        sdk = version("aliyun-python-sdk-core")
    except PackageNotFoundError:
        sdk = "not installed"
    python = ".".join(str(n) for n in sys.version_info[:3])
    return f"foas-refjobs {__version__} (aliyun-python-sdk-core {sdk}, Python {python})"


def _listing_options(parser: argparse.ArgumentParser, format_help: str) -> None:
    parser.add_argument("--project", required=True, help="foas project name")
    parser.add_argument("--package", action="append", default=[], metavar="NAME",
                        help="jar package name, e.g. udf.jar; repeat for several packages")
    parser.add_argument("--packages-from", metavar="FILE",
                        help="more package names from FILE ('-' for stdin), one per line; blank "
                        "lines and lines starting with # are skipped")
    parser.add_argument("--region", help="region id (default: ALIBABA_CLOUD_REGION_ID, "
                        "ALICLOUD_REGION, the aliyun CLI profile's region_id, else cn-hangzhou)")
    parser.add_argument("--endpoint", help="host, host:port or http(s)://host:port "
                        "(default: ALIBABA_CLOUD_FOAS_ENDPOINT, else the foas endpoint of the "
                        "region, over HTTPS)")
    parser.add_argument("--page-size", type=int, default=None,
                        help=f"jobs per request, 1-{MAX_PAGE_SIZE} (default: the largest the service "
                        "accepts, found at run time)")
    parser.add_argument("--job-type", choices=JOB_TYPES, type=str.upper,
                        help="only jobs of this type")
    parser.add_argument("--committed-only", action="store_true",
                        help="only committed (online) jobs")
    parser.add_argument("--format", choices=FORMATS, default="table", help=format_help)
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing on stdout (no warnings or progress either); errors "
                        "still go to stderr: the exit code is the answer")
    parser.add_argument("--max-concurrency", type=int, default=DEFAULT_MAX_CONCURRENCY,
                        help=f"requests in flight at once, across all packages (default "
                        f"{DEFAULT_MAX_CONCURRENCY}, halved while the service throttles; 1 = sequential)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds one request may take, connect, headers and body together "
                        f"(default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--total-timeout", type=float, default=DEFAULT_TOTAL_TIMEOUT,
                        help="seconds for the whole listing, every page and retry included "
                        f"(default {DEFAULT_TOTAL_TIMEOUT:g})")


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="foas-refjobs", formatter_class=formatter, epilog=EXIT_CODES_HELP,
                     description="Which Realtime Compute (foas) jobs reference a jar package?\n"
                     "Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID and\n"
                     "ALIBABA_CLOUD_ACCESS_KEY_SECRET, or the chain in the README.")
    parser.add_argument("--version", action=_VersionAction,
                        help="print the version, with the SDK's and Python's, and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = sub.add_parser("list", help="list the jobs that reference a package",
                             description="List the jobs that reference a package.",
                             formatter_class=formatter, epilog=EXIT_CODES_HELP)
    _listing_options(listing, FORMAT_HELP)
    check = sub.add_parser(
        "check-unreferenced", help="exit 0 if no job references the package, 3 if some do",
        description="Exit 0 when no job references the package, 3 (listing them) when some "
        "do, 1 on any error: an error never reads as unreferenced.",
        formatter_class=formatter, epilog=EXIT_CODES_HELP)
    _listing_options(check, CHECK_FORMAT_HELP)
    check.add_argument("--detail", action="store_true",
                       help="with --format json: every field of each job, including code and "
                       "properties (which can hold connector passwords)")
    emu = sub.add_parser("emulator", help="run the local FOAS emulator in the foreground",
                         description="Serve GetRefPackageJob locally, verifying signatures.")
    emu.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    emu.add_argument("--port", type=int, default=8400, help="port (default 8400; 0 picks a free one)")
    emu.add_argument("--data", help="JSON data file (default: the shipped demo data set)")
    emu.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    emu.add_argument("--max-page-size", type=int, default=100,
                     help="largest pageSize served (default 100); a larger one is refused (400)")
    emu.add_argument("--clamp-page-size", action="store_true",
                     help="answer a larger pageSize at --max-page-size instead of refusing it")
    emu.add_argument("--max-in-flight", type=int, default=None,
                     help="answer 429 Throttling.User to requests beyond this many at once")
    emu.add_argument("--verbose", action="store_true", help="log every request to stderr")
    completion = sub.add_parser(
        "completion", help="print a shell completion script (bash or zsh)",
        description="Print a completion script generated from this command's own options. "
        "bash: foas-refjobs completion bash > ~/.local/share/bash-completion/completions/foas-refjobs; "
        "zsh: foas-refjobs completion zsh > \"${fpath[1]}/_foas-refjobs\"")
    completion.add_argument("shell", choices=COMPLETION_SHELLS)
    return parser


class Outcome(NamedTuple):
    """A command's exit code and what it has to say on stdout (printed unless --quiet)."""

    code: int
    text: str


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
        raise InvalidInputError(f"--packages-from {source} names no package")
    return names


def _query(args: argparse.Namespace) -> Query:
    return Query(args.project, tuple(_package_names(args)), job_type=args.job_type,
                 committed_only=args.committed_only, page_size=args.page_size)


def _client(args: argparse.Namespace) -> FoasClient:
    return FoasClient(ClientOptions(region_id=args.region, endpoint=args.endpoint,
                                    timeout=args.timeout, total_timeout=args.total_timeout,
                                    max_concurrency=args.max_concurrency))


def _progress(args: argparse.Namespace, unit: str) -> Optional[_Progress]:
    return _Progress(sys.stderr, unit) if sys.stderr.isatty() and not args.quiet else None


def _fetch(args: argparse.Namespace, query: Query) -> JobList:
    progress = _progress(args, "pages")
    try:
        with _client(args) as client:
            return client.list(query, progress=progress)
    finally:
        if progress is not None:
            progress.finish()


def _fetch_many(args: argparse.Namespace, query: Query) -> ManyJobLists:
    progress = _progress(args, "packages")
    try:
        with _client(args) as client:
            many = client.list_many(query, progress=progress)
    finally:
        if progress is not None:
            progress.finish()
    if not args.quiet:
        for outcome in many:
            if outcome.error is not None:
                print(f"error: {escape(outcome.package_name)}: {outcome.error.one_line()}",
                      file=sys.stderr)
            elif outcome.jobs is not None and not outcome.jobs.consistent:
                print(f"warning: {escape(outcome.package_name)}: {outcome.jobs.inconsistency} "
                      "(listing may be incomplete)", file=sys.stderr)
    return many


def _cmd_list(args: argparse.Namespace) -> Outcome:
    query = _query(args)
    if len(query.package_names) > 1:
        many = _fetch_many(args, query)
        code = EXIT_ERROR if any(o.error is not None for o in many) else EXIT_OK
        return Outcome(code, render_many_listing(many, args.format))
    jobs = _fetch(args, query)
    if not jobs.consistent and not args.quiet:
        print(f"warning: {jobs.inconsistency} (listing may be incomplete)", file=sys.stderr)
    return Outcome(EXIT_OK, render_listing(jobs, args.format))


def many_exit_code(many: ManyJobLists) -> int:
    """0 only if every package is unreferenced; 1 if any could not be decided; else 3."""
    if many.failed:
        return EXIT_ERROR
    return EXIT_REFERENCED if many.referenced else EXIT_OK


def _cmd_check(args: argparse.Namespace) -> Outcome:
    from .verdict_output import render_many_verdicts, render_verdict

    query = _query(args)
    if len(query.package_names) > 1:
        many = _fetch_many(args, query)
        code = many_exit_code(many)
        return Outcome(code, render_many_verdicts(
            many, args.format, committed_only=args.committed_only, job_type=args.job_type,
            detail=args.detail, exit_code=code))
    jobs = _fetch(args, query).require_consistent()
    text = render_verdict(jobs, args.format, committed_only=args.committed_only, job_type=args.job_type,
                          detail=args.detail)
    return Outcome(EXIT_REFERENCED if jobs.referenced else EXIT_OK, text)


def _cmd_completion(args: argparse.Namespace) -> Outcome:
    import shtab

    return Outcome(EXIT_OK, shtab.complete(build_parser(), shell=args.shell).rstrip("\n"))


def _cmd_emulator(args: argparse.Namespace) -> Outcome:
    from .emulator.foreground import serve

    serve(args.data, host=args.host, port=args.port, latency_ms=args.latency_ms,
          max_page_size=args.max_page_size, clamp_page_size=args.clamp_page_size,
          max_in_flight=args.max_in_flight, verbose=args.verbose,
          say=_write_ignoring_closed_stdout)
    return Outcome(EXIT_OK, "")


def _silence_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the interpreter's final flush cannot complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def _write_ignoring_closed_stdout(text: str) -> None:
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _silence_stdout()


def main(argv: Optional[list[str]] = None) -> int:
    commands = {"list": _cmd_list, "check-unreferenced": _cmd_check, "emulator": _cmd_emulator,
                "completion": _cmd_completion}
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command in ("list", "check-unreferenced") and not args.package \
                and args.packages_from is None:
            parser.error("the following arguments are required: --package (or --packages-from)")
        outcome = commands[args.command](args)
        if outcome.text and not getattr(args, "quiet", False):
            _write_ignoring_closed_stdout(outcome.text)
        return outcome.code
    except FoasError as exc:
        _error(exc.one_line())
    except UnicodeEncodeError as exc:
        _error(f"the output cannot be encoded as {exc.encoding} (a name holds "
               f"{exc.object[exc.start:exc.start + 1]!r}); set PYTHONIOENCODING=utf-8")
    except MemoryError:
        _error("out of memory while listing; nothing was decided")
    except Exception as exc:  # noqa: BLE001 - a gate prints one line and exits 1, never a traceback
        _error(f"internal error: {type(exc).__name__}: {safe_text(str(exc))[:500]}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        if argv is None:
            _exit_now(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    return EXIT_ERROR


def _error(text: str) -> None:
    """One line on stderr, whatever stderr can encode."""
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    line = f"error: {text}".replace("\n", "\\n")
    sys.stderr.write(line.encode(encoding, "backslashreplace").decode(encoding, "replace") + "\n")
    sys.stderr.flush()


def _exit_now(code: int) -> NoReturn:
    """The real command after Ctrl-C: exit without joining page threads still waiting on the network."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed stream has nothing left to say
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
