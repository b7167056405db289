"""Run a Pulumi project's Python program with the pulumi CLI, without `pulumi-language-python`.

    python tools/run_inline.py [-C PROJECT_DIR] up|preview|refresh|destroy [pulumi flags...]

The language host is not published as a Go module version, so an engine built from Go modules
(`make engine`) cannot run `pulumi up` in a Python project by itself. This does what the
Automation API does for inline programs: it serves the project's program (Pulumi.yaml's `main`,
its `__main__.py`) from this process over the language-runtime gRPC interface and runs
`pulumi <args> --client=127.0.0.1:PORT` in the project directory, so Pulumi.yaml, the stack's
config file and every CLI flag work as with `pulumi up`. Other commands (`config`, `stack`, ...)
need no program and are passed to `pulumi` unchanged.

The program runs under the project's `virtualenv` option (this script re-executes itself with
that interpreter, as the language host would), and the dynamic providers too: the CLI passes
that option to `pulumi-resource-pulumi-python` as PULUMI_RUNTIME_VIRTUALENV.
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from concurrent import futures
from pathlib import Path
from typing import Any

PROGRAM_COMMANDS = {"up", "update", "preview", "refresh", "destroy"}


def _die(message: str) -> None:
    print(f"run_inline: {message}", file=sys.stderr)
    raise SystemExit(2)


def _project(directory: Path) -> tuple[Path, dict[str, Any]]:
    import yaml

    for name in ("Pulumi.yaml", "Pulumi.yml"):
        if (directory / name).is_file():
            spec = yaml.safe_load((directory / name).read_text())
            if not isinstance(spec, dict):
                _die(f"{directory / name} is not a mapping")
            return directory / name, spec
    _die(f"no Pulumi.yaml in {directory}")
    raise AssertionError


def _virtualenv(directory: Path, spec: dict[str, Any]) -> Path | None:
    runtime = spec.get("runtime")
    options = runtime.get("options") if isinstance(runtime, dict) else None
    venv = options.get("virtualenv") if isinstance(options, dict) else None
    return (directory / venv).resolve() if isinstance(venv, str) and venv else None


def _serve(program_dir: Path) -> tuple[Any, int]:
    """The program behind a language-runtime server on a free loopback port."""
    import grpc
    from pulumi.automation._server import LanguageServer
    from pulumi.runtime.proto import language_pb2_grpc

    try:
        from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS as options
    except ImportError:  # older SDKs
        options = None
    main = program_dir / "__main__.py"
    if not main.is_file():
        _die(f"no __main__.py in {program_dir}")

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=options)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageServer(program), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def main(argv: list[str]) -> int:
    directory = Path.cwd()
    if len(argv) >= 2 and argv[0] == "-C":
        directory, argv = Path(argv[1]).resolve(), argv[2:]
    if not argv:
        _die(__doc__.strip().splitlines()[2].strip() if __doc__ else "usage: run_inline.py COMMAND")
    pulumi = os.environ.get("PULUMI_CLI") or shutil.which("pulumi")
    if not pulumi:
        _die("no `pulumi` on PATH (run `make engine` and put .tools/bin on PATH)")
    if argv[0] not in PROGRAM_COMMANDS:
        return subprocess.call([pulumi, *argv], cwd=directory)

    _, spec = _project(directory)
    venv = _virtualenv(directory, spec)
    if venv is not None and Path(sys.prefix).resolve() != venv:
        python = venv / "bin" / "python"
        if not python.exists():
            _die(f"the project's virtualenv {venv} does not exist (see its README)")
        os.execv(str(python), [str(python), __file__, "-C", str(directory), *argv])
    program_dir = (directory / str(spec.get("main") or ".")).resolve()
    sys.path.insert(0, str(program_dir))
    os.chdir(program_dir)
    # With --client the CLI does not pass the project's runtime options to the dynamic-provider
    # plugin, so name the interpreter that serves the program.
    env = dict(os.environ)
    if venv is not None:
        env.setdefault("PULUMI_RUNTIME_VIRTUALENV", str(venv))
    env.setdefault("PULUMI_PYTHON_CMD", sys.executable)
    server, port = _serve(program_dir)
    try:
        return subprocess.call([pulumi, *argv, f"--client=127.0.0.1:{port}"], cwd=directory, env=env)
    except KeyboardInterrupt:
        return 130
    finally:
        server.stop(0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
