"""The CLI as a Unix tool: exit codes, pipes, Ctrl-C, output formats, completion, help and README.

Most tests run the real command as a process against the emulator (or a raw socket), since
pipes, signals and locales only exist there.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from foas_refjobs import cli
from foas_refjobs.emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    EmulatorState,
    FoasEmulator,
)
from foas_refjobs.emulator.datagen import generate_jobs
from foas_refjobs.output import CSV_FIELDS, display_width, escape
from foas_refjobs.retry import RetryPolicy

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "bayes_team"
BLINK = "blink_test_datastream.jar"


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "foas_refjobs", *args]


def listing(emu: FoasEmulator, sub: str, package: str, *extra: str, project: str = PROJECT) -> list[str]:
    return [sub, "--project", project, "--package", package, "--endpoint", emu.url, *extra]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), capture_output=True, text=True, encoding="utf-8",
                          env=env, timeout=120, check=False)


# --- exit codes -------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [[], ["list"], ["check-unreferenced"]])
def test_help_documents_every_exit_code(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main([*argv, "--help"])
    out = capsys.readouterr().out
    codes = re.findall(r"^  (\d+) +\S", out.split("exit codes:", 1)[1], re.M)
    assert codes == ["0", "1", "2", "3", "130"]


def test_usage_error_is_2_and_an_outage_is_1(emulator_env: FoasEmulator) -> None:
    typo = run(*listing(emulator_env, "check-unreferenced", BLINK, "--fromat", "json"))
    assert typo.returncode == 2 and typo.stdout == ""
    assert typo.stderr.count("\n") == 1 and "--fromat" in typo.stderr
    emulator_env.faults.add("error", times=None, status=503)
    outage = run(*listing(emulator_env, "check-unreferenced", BLINK, "--max-concurrency", "1"))
    assert outage.returncode == 1 and outage.stdout == ""
    assert outage.stderr.startswith("error: ServiceUnavailable: ")


def test_ctrl_c_exits_130_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A private emulator: the held pages outlive the CLI, and no other test may see them arrive.
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEFAULT_ACCESS_KEY_SECRET)
    arrived, release = threading.Event(), threading.Event()

    def hold_pages_after_the_first(number: int) -> None:
        if number >= 2:  # pages 2.. wait here: Ctrl-C lands while they are in flight
            arrived.set()
            release.wait(60)

    with FoasEmulator(EmulatorState.default()) as emu:
        for job in generate_jobs(PROJECT, "slow.jar", 40):
            emu.state.put_job(PROJECT, job)
        emu.before_request.append(hold_pages_after_the_first)
        proc = subprocess.Popen(command(*listing(emu, "list", "slow.jar", "--page-size", "10")),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert arrived.wait(30), "the concurrent pages never started"
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)  # while the pages are still held: nobody waits for them
            assert not release.is_set()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            release.set()
            assert emu.wait_idle(30), "the held pages never finished"
    # Leaving the block stopped the emulator and joined its handler threads: nothing of this test
    # is still running when the next one starts.
    assert proc.returncode == 130
    assert out == "" and err == "interrupted\n"


# --- pipes and quiet --------------------------------------------------------------------------


def _many_jobs(emu: FoasEmulator, count: int = 1500) -> None:
    for job in generate_jobs(PROJECT, "big.jar", count):
        emu.state.put_job(PROJECT, job)


@pytest.mark.parametrize(("sub", "fmt", "expected"), [
    ("list", "json", 0), ("list", "table", 0), ("check-unreferenced", "ids", 3),
])
def test_closed_stdout_exits_quietly_with_the_commands_code(emulator_env: FoasEmulator, sub: str,
                                                             fmt: str, expected: int) -> None:
    _many_jobs(emulator_env)  # far more output than a pipe buffer holds
    argv = " ".join(f"'{a}'" for a in command(*listing(emulator_env, sub, "big.jar", "--page-size", "100",
                                                       "--format", fmt)))
    proc = subprocess.run(["bash", "-c", f"{argv} | head -1; exit ${{PIPESTATUS[0]}}"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == expected, proc.stderr
    assert proc.stderr == ""
    assert len(proc.stdout.splitlines()) == 1


@pytest.mark.parametrize(("package", "expected"), [(BLINK, 3), ("unused-udf.jar", 0)])
def test_quiet_leaves_only_the_exit_code(emulator_env: FoasEmulator, package: str, expected: int) -> None:
    proc = run(*listing(emulator_env, "check-unreferenced", package, "--quiet"))
    assert (proc.returncode, proc.stdout, proc.stderr) == (expected, "", "")
    proc = run(*listing(emulator_env, "list", package, "-q"))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_quiet_still_reports_an_error(emulator_env: FoasEmulator) -> None:
    proc = run(*listing(emulator_env, "check-unreferenced", "nope.jar", "--quiet"))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: Package.NotExist: ") and proc.stderr.count("\n") == 1


# --- formats ----------------------------------------------------------------------------------


def test_ids_format_is_one_id_per_line_for_xargs(emulator_env: FoasEmulator) -> None:
    expected = [j["JobId"] for j in emulator_env.state.referencing_jobs(PROJECT, BLINK)]
    argv = " ".join(f"'{a}'" for a in command(*listing(emulator_env, "list", BLINK, "--format", "ids")))
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {argv} | xargs -n 1 echo id:"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"id: {i}" for i in expected]


def test_ids_and_csv_cannot_forge_lines(emulator_env: FoasEmulator) -> None:
    emulator_env.state.put_job("evil", {"JobId": "a\nforged-id", "JobName": "x\r\nunreferenced: \x1b[2J",
                                        "Packages": "lib.jar"})
    proc = run(*listing(emulator_env, "list", "lib.jar", "--format", "ids", project="evil"))
    assert proc.stdout == "a\\x0aforged-id\n"
    proc = run(*listing(emulator_env, "list", "lib.jar", "--format", "csv", project="evil"))
    assert proc.stdout.splitlines()[1].startswith("a\\x0aforged-id,x\\x0d\\x0aunreferenced: \\x1b[2J,")


def test_csv_format(emulator_env: FoasEmulator) -> None:
    emulator_env.state.put_job("csv", {"JobId": "j-1", "JobName": 'name, with "quotes"', "IsCommitted": False,
                                       "Packages": "lib.jar,other.jar", "FolderId": 7, "Code": "password=x"})
    proc = run(*listing(emulator_env, "list", "lib.jar", "--format", "csv", project="csv"))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert tuple(rows[0]) == CSV_FIELDS
    assert rows[0]["job_id"] == "j-1" and rows[0]["job_name"] == 'name, with "quotes"'
    assert rows[0]["is_committed"] == "false" and rows[0]["packages"] == "lib.jar,other.jar"
    assert rows[0]["folder_id"] == "7" and rows[0]["engine_version"] == ""
    assert "password" not in proc.stdout  # code, plan and properties are not columns
    full = run(*listing(emulator_env, "list", BLINK, "--format", "csv"))
    ids = [r["job_id"] for r in csv.DictReader(io.StringIO(full.stdout))]
    assert ids == [j["JobId"] for j in emulator_env.state.referencing_jobs(PROJECT, BLINK)]


def test_csv_format_for_several_packages(emulator_env: FoasEmulator) -> None:
    """One row per (package, job): a job that uses both jars is listed under each."""
    emulator_env.state.put_job("csv2", {"JobId": "j-1", "JobName": "both", "Packages": "a.jar,b.jar"})
    emulator_env.state.put_job("csv2", {"JobId": "j-2", "JobName": "b only", "Packages": "b.jar"})
    proc = run(*listing(emulator_env, "list", "a.jar", "--package", "b.jar", "--format", "csv",
                        project="csv2"))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert tuple(rows[0]) == ("package_name", *CSV_FIELDS)
    assert sorted((r["package_name"], r["job_id"]) for r in rows) == [
        ("a.jar", "j-1"), ("b.jar", "j-1"), ("b.jar", "j-2")]
    assert rows[0]["packages"] == "a.jar,b.jar"


def test_format_has_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["list", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--format {table,json,csv,ids} table (default): aligned columns;" in out
    assert "ids: one job id per line, for xargs" in out


def test_check_unreferenced_json_leaves_out_code_and_properties(emulator_env: FoasEmulator) -> None:
    emulator_env.state.put_job("secret", {"JobId": "j-1", "JobName": "sink", "Packages": "lib.jar",
                                          "Code": "connector.password=hunter2",
                                          "Properties": "jdbc.password=hunter3"})
    proc = run(*listing(emulator_env, "check-unreferenced", "lib.jar", "--format", "json", project="secret"))
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["jobs"] == [{"job_id": "j-1", "job_name": "sink", "is_committed": None}]
    assert "hunter" not in proc.stdout
    detail = run(*listing(emulator_env, "check-unreferenced", "lib.jar", "--format", "json", "--detail",
                          project="secret"))
    assert json.loads(detail.stdout)["jobs"][0]["code"] == "connector.password=hunter2"


@pytest.mark.parametrize(("text", "cells"), [
    ("abc", 3), ("作业_一号", 9), ("ｱｲ", 2), ("ＡＢ", 4), ("e\u0301", 1), ("한국어", 6), ("", 0),
])
def test_display_width(text: str, cells: int) -> None:
    assert display_width(text) == cells


def test_table_aligns_wide_characters(emulator_env: FoasEmulator) -> None:
    for job_id, name in (("j-1", "作业_一号"), ("j-2", "abc")):
        emulator_env.state.put_job("wide", {"JobId": job_id, "JobName": name, "JobType": "FLINK_STREAM",
                                            "Packages": "lib.jar"})
    proc = run(*listing(emulator_env, "list", "lib.jar", project="wide"))
    header, first, second = proc.stdout.splitlines()[:3]
    assert header.startswith("JOB_ID  JOB_NAME   TYPE")
    assert first.startswith("j-1     作业_一号  FLINK_STREAM")
    assert second.startswith("j-2     abc        FLINK_STREAM")


def test_escape_makes_control_and_format_characters_visible() -> None:
    assert escape("plain 作业") == "plain 作业"
    assert escape("a\nb\x1b[31m\u202e\u2028") == "a\\x0ab\\x1b[31m\\u202e\\u2028"


# --- version, completion ----------------------------------------------------------------------


def test_version_names_the_sdk_and_python() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and proc.stderr == ""
    assert re.fullmatch(r"foas-refjobs \S+ \(aliyun-python-sdk-core \d+\.\d+\.\d+, Python \d+\.\d+\.\d+\)\n",
                        proc.stdout)


def _bash_complete(script: str, words: list[str]) -> list[str]:
    """What bash offers for the last word, with the generated script loaded."""
    quoted = " ".join(f"'{w}'" for w in words)
    probe = (f"{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
             f"COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; "
             "_shtab_foas_refjobs foas-refjobs; printf '%s\\n' \"${COMPREPLY[@]}\"")
    proc = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_bash_completion() -> None:
    proc = run("completion", "bash")
    assert proc.returncode == 0, proc.stderr
    script = proc.stdout
    assert "complete" in script and "_shtab_foas_refjobs" in script
    assert set(_bash_complete(script, ["foas-refjobs", ""])) >= {"list", "check-unreferenced", "emulator",
                                                                 "completion"}
    assert "--format" in _bash_complete(script, ["foas-refjobs", "list", "--for"])
    formats = set(_bash_complete(script, ["foas-refjobs", "list", "--format", ""]))
    assert formats == {"table", "json", "csv", "ids"}
    assert "--detail" in _bash_complete(script, ["foas-refjobs", "check-unreferenced", "--de"])


def test_zsh_completion() -> None:
    proc = run("completion", "zsh")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("#compdef foas-refjobs")
    for flag in ("--format", "--quiet", "--detail", "--committed-only", "--latency-ms"):
        assert flag in proc.stdout
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("no zsh here to parse the script (its content was checked)")
    checked = subprocess.run([zsh, "-n"], input=proc.stdout, capture_output=True, text=True, timeout=60,
                             check=False)
    assert checked.returncode == 0, checked.stderr


def _zsh_offers(zsh: str, fpath: Path, line: str, offered: set[str]) -> set[str]:
    """Type `line` and TAB TAB into an interactive zsh on a pty; the words it shows after the line."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([zsh, "-f", "-i"], stdin=slave, stdout=slave, stderr=slave,
                            env={**os.environ, "TERM": "xterm", "PS1": "> "}, start_new_session=True)
    os.close(slave)
    shown: set[str] = set()
    try:
        os.write(master, f"fpath=({fpath} $fpath); autoload -Uz compinit; compinit -u -D\n".encode())
        os.write(master, f"{line}\t\t".encode())
        screen = ""
        deadline = time.monotonic() + 30
        while not offered <= shown and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                screen += os.read(master, 65536).decode("utf-8", "replace")
                after = screen.split(line.strip(), 1)[-1] if line.strip() in screen else ""
                shown = set(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", " ", after).split())
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    return shown


@pytest.mark.parametrize(("line", "offered"), [
    ("foas-refjobs ", {"list", "check-unreferenced", "emulator", "completion"}),
    ("foas-refjobs list --format ", {"table", "json", "csv", "ids"}),
])
def test_zsh_completion_offers_choices_in_a_real_shell(tmp_path: Path, line: str, offered: set[str]) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("no zsh here")
    (tmp_path / "_foas-refjobs").write_text(run("completion", "zsh").stdout, encoding="utf-8")
    assert offered <= _zsh_offers(zsh, tmp_path, line, offered)


# --- endpoint without a scheme, undecodable bytes ----------------------------------------------


@pytest.fixture
def plain_http_server() -> tuple[str, list[int]]:
    """A plain-HTTP listener answering anything with 400, counting connections."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            with conn:
                conn.settimeout(5)
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}", accepted
    stop.set()
    thread.join(5)
    listener.close()


def test_https_to_a_plain_http_server_says_so_in_one_line(plain_http_server, monkeypatch) -> None:
    address, accepted = plain_http_server
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "AK")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    proc = run("list", "--project", PROJECT, "--package", BLINK, "--endpoint", address)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (f"error: PlainHttpServer: {address} answered the TLS handshake in plain HTTP; "
                           f"for a plain-HTTP server (such as the emulator) write the endpoint as "
                           f"http://{address}\n")
    assert len(accepted) == 1  # not retried: it would answer the same every time


def test_plain_http_answer_is_not_retried_by_policy() -> None:
    from foas_refjobs.errors import PLAIN_HTTP_SERVER, NetworkError

    assert not RetryPolicy().is_retryable(NetworkError("x", code=PLAIN_HTTP_SERVER))
    assert RetryPolicy().is_retryable(NetworkError("connection reset"))


def test_undecodable_byte_is_named_as_such(emulator_env: FoasEmulator) -> None:
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    package = "undecodable-probe.jar"  # only this test asks for it: late requests of others don't count
    argv = [os.fsencode(a) for a in command("list", "--endpoint", emulator_env.url, "--package", package)]
    proc = subprocess.run([*argv, b"--project", "实时项目".encode()], capture_output=True, env=env,
                          timeout=120, check=False)
    err = proc.stderr.decode("ascii")
    assert proc.returncode == 1, err
    assert err == ("error: InvalidInput: project_name contains the undecodable byte 0xE5: the command line "
                   "or environment is not valid in the locale's encoding (use a UTF-8 locale, e.g. "
                   "LC_ALL=C.UTF-8)\n")
    assert [r for r in emulator_env.requests if package in r.segments] == []


# --- the README lists every flag ----------------------------------------------------------------


def _all_options(parser) -> set[str]:
    found: set[str] = set()
    for action in parser._actions:
        found.update(s for s in action.option_strings if s != "-h")
        if action.choices and isinstance(action.choices, dict):
            found.update(action.choices)
            for sub in action.choices.values():
                found |= _all_options(sub)
    return found


def test_readme_cli_section_lists_every_flag_and_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## CLI\n", 1)[1].split("\n## ", 1)[0]
    options = _all_options(cli.build_parser())
    assert {"--format", "--quiet", "-q", "--detail", "--version", "completion"} <= options
    missing = sorted(o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", section))
    assert missing == []
    for code in ("0", "1", "2", "3", "130"):
        assert re.search(rf"\*\*{code}\*\*", section), code
