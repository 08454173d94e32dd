"""The command line as a user meets it: help, usage errors, status, sandbox, demo, crashes."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import importer.cli as cli
from importer.cli.demo import run_demo, sample_files
from importer.cli.render import ProgressDisplay
from importer.ledger import Ledger, Outcome, PendingRow
from importer.runner import Progress

ROOT = Path(__file__).resolve().parents[1]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_")}


def toggl_import(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importer", *args],
        capture_output=True, text=True, env={**ENV, **(env or {})}, cwd=cwd, timeout=timeout,
        check=False,
    )


def run_options() -> list[str]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    run = sub.choices["run"]  # type: ignore[attr-defined]
    return [opt for action in run._actions for opt in action.option_strings
            if opt.startswith("--") and opt != "--help"]


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["sandbox", "--help"],
                                  ["status", "--help"], ["demo", "--help"]])
def test_help_works(args: list[str]) -> None:
    done = toggl_import(*args)
    assert done.returncode == 0, done.stderr
    assert "usage: toggl-import" in done.stdout


def test_every_run_option_is_in_help_and_in_the_readme() -> None:
    options = run_options()
    assert len(options) >= 16
    helptext = toggl_import("run", "--help").stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for option in options:
        assert option in helptext, option
        assert f"`{option}" in readme, f"{option} is not documented in README.md"


def test_no_command_is_bad_usage() -> None:
    done = toggl_import()
    assert done.returncode == 2
    assert "usage:" in done.stderr


def test_unknown_option_is_bad_usage() -> None:
    done = toggl_import("run", "x.csv", "--frobnicate")
    assert done.returncode == 2
    assert "unrecognized arguments: --frobnicate" in done.stderr


def test_missing_credentials_say_how_to_set_them(tmp_path: Path) -> None:
    sheet = tmp_path / "t.csv"
    sheet.write_text("Date,Start,End\n2026-11-02,09:00,10:00\n")
    done = toggl_import("run", str(sheet), "--timezone", "UTC", cwd=tmp_path)
    assert done.returncode == 2
    assert "TOGGL_API_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_file_is_named(tmp_path: Path) -> None:
    done = toggl_import("run", "nope.csv", env={"TOGGL_API_TOKEN": "t"}, cwd=tmp_path)
    assert done.returncode == 2
    assert "nope.csv" in done.stderr and "not found" in done.stderr


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    sheet = tmp_path / "t.csv"
    sheet.write_text("Date,Start,End\n2026-11-02,09:00,10:00\n")
    done = toggl_import("run", str(sheet), "--api-url", "http://toggl.example.com/api/v9",
                        env={"TOGGL_API_TOKEN": "t"}, cwd=tmp_path)
    assert done.returncode == 2
    assert "refusing plain http" in done.stderr


def test_an_unexpected_bug_prints_one_line_and_writes_the_trace(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("TOGGL_API_TOKEN", "tok-very-secret")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    def boom(args: Any, env: Any) -> int:
        raise RuntimeError("broken with tok-very-secret inside")

    monkeypatch.setattr(cli, "_run", boom)
    code = cli.main(["run", "x.csv"])
    err = capsys.readouterr().err
    assert code == 3
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "this is a bug" in err
    trace_file = Path(re.search(r"trace is in (\S+);", err).group(1))  # type: ignore[union-attr]
    trace = trace_file.read_text()
    assert "RuntimeError" in trace and "Traceback" in trace
    assert "tok-very-secret" not in trace and "tok-very-secret" not in err


def test_sandbox_prints_its_url_and_token_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "importer", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        assert re.match(r"sandbox serving at http://127\.0\.0\.1:\d+/api/v9", first)
        assert second.strip() == "token: sandbox-token"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_sandbox_refuses_a_non_loopback_host() -> None:
    done = toggl_import("sandbox", "--host", "0.0.0.0")
    assert done.returncode == 2
    assert "loopback" in done.stderr


def test_status_counts_per_state_and_file(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with Ledger.open(path) as ledger:
        run = ledger.start_run("test", 1)
        ledger.add_pending([PendingRow("a", "x.csv", 2, {"start": "2026-01-01T00:00:00Z"}),
                            PendingRow("b", "x.csv", 3, {"start": "2026-01-01T01:00:00Z"}),
                            PendingRow("c", "y.csv", 2, {"start": "2026-01-01T02:00:00Z"})], run)
        ledger.mark_sending(["a", "b"])
        ledger.record([Outcome.created("a", 11), Outcome.in_doubt("b", "no answer")])
        ledger.finish_run(run, 1)
    done = toggl_import("status", "--ledger", str(path), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {k: data[k] for k in ("created", "failed", "in_doubt", "duplicate", "pending")} == {
        "created": 1, "failed": 0, "in_doubt": 1, "duplicate": 0, "pending": 1}
    assert data["files"]["x.csv"]["created"] == 1
    assert data["files"]["y.csv"]["pending"] == 1
    table = toggl_import("status", "--ledger", str(path))
    assert table.returncode == 0
    assert "x.csv" in table.stdout and "(all)" in table.stdout


def test_status_without_a_ledger_says_which_to_pass(tmp_path: Path) -> None:
    done = toggl_import("status", cwd=tmp_path)
    assert done.returncode == 2
    assert "--ledger" in done.stderr


def test_progress_bar_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, record=True)
    with ProgressDisplay(console) as show:
        show(Progress(phase="posting", done=40, total=100, created=40, requests=41,
                      elapsed=4.0, rate=10.0))
        show(Progress(phase="posting", done=50, total=100, created=50, requests=51,
                      elapsed=5.0, quota_wait=2472.0, rate=10.0))
        assert show._bar is not None
        show._bar.refresh()
    text = console.export_text()
    assert "50/100" in text
    assert "waiting for quota reset 41:12" in text


def test_plain_progress_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with ProgressDisplay(console) as show:
        show._last_plain -= 60  # as if the run had been going for a minute
        show(Progress(phase="posting", done=5, total=10, created=5, requests=6, elapsed=1.0,
                      rate=5.0))
        show(Progress(phase="posting", done=6, total=10, created=6, requests=7, elapsed=1.1,
                      rate=5.0))
    text = out.getvalue()
    assert "progress: 5/10 rows, 5 created, 6 requests" in text
    assert "6/10" not in text  # at most one line every PLAIN_EVERY seconds
    assert "\x1b" not in text and "\r" not in text


def test_samples_travel_with_the_package() -> None:
    names = {p.name for p in sample_files()}
    assert {"toggl-detailed-export.csv", "toggl-import-format.csv", "clockify-detailed-export.csv",
            "harvest-time-export.csv", "generic-hours.xlsx", "mistakes.csv"} <= names


def test_demo_imports_the_samples_then_sends_nothing_the_second_time(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    code = run_demo(console, tmp_path, rate=50)
    text = out.getvalue()
    assert code == 0, text
    created = int(re.search(r"^created\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    assert created > 0
    second = re.search(r"Second pass: 0 requests, 0 entries sent, (\d+) already created", text)
    assert second and int(second[1]) == created
    assert "Import summary" in text
    assert "mistakes.csv row" in text  # the deliberate mistakes are explained
    assert (tmp_path / "demo.ledger.sqlite").exists()
    assert (tmp_path / "report.csv").read_text().startswith("file,row,status,")
    assert "\x1b" not in text


async def test_unused_columns_and_a_missing_start_time_are_pointed_out(
    sandbox: Any, tmp_path: Path
) -> None:
    import asyncio

    sheet = tmp_path / "de.csv"
    sheet.write_text("Tag der Arbeit;Arbeitszeit;Leistung;Kostenstelle\n02.11.2026;1,5;Planung;4711\n",
                     encoding="utf-8")  # German names generic does not know
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "importer", "run", str(sheet), "--dry-run", "--timezone",
        "Europe/Berlin", "--map", "start_date=Tag der Arbeit", "--map", "duration=Arbeitszeit",
        "--api-url", sandbox.base_url, "--workspace-id", "1234567",
        "--ledger", str(tmp_path / "l.sqlite"),
        env={**ENV, "TOGGL_API_TOKEN": sandbox.token}, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "columns not used: 'Leistung', 'Kostenstelle'" in text
    assert "no start-time column" in text


async def _run_cli(sandbox: Any, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "importer", "run", *args,
        "--api-url", sandbox.base_url, "--workspace-id", "1234567",
        "--ledger", str(tmp_path / "l.sqlite"), "--timezone", "UTC", "--rate", "100",
        env={**ENV, "TOGGL_API_TOKEN": sandbox.token}, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_log_file_has_one_line_per_request_and_no_secret(sandbox: Any, tmp_path: Path) -> None:
    sheet = tmp_path / "t.csv"
    sheet.write_text("Date,Start,End,Project,Description\n"
                     "2026-11-02,09:00,10:00,Internal,one\n2026-11-02,10:00,11:00,Internal,two\n")
    log = tmp_path / "requests.log"
    code, out, err = await _run_cli(sandbox, tmp_path, str(sheet), "--log-file", str(log))
    assert code == 0, out + err
    lines = log.read_text().splitlines()
    posts = [line for line in lines if " POST /workspaces/1234567/time_entries 200 " in line]
    assert len(posts) == 2
    assert any(" GET /workspaces/1234567/projects 200 " in line for line in lines)
    assert all(re.match(r"\S+Z (GET|POST) /\S+ (\d{3}|no-answer) \d+\.\dms$", line) for line in lines)
    assert sandbox.token not in log.read_text()


async def test_dry_run_with_create_missing_lists_what_it_would_create(
    sandbox: Any, tmp_path: Path
) -> None:
    sheet = tmp_path / "t.csv"
    sheet.write_text("Date,Start,End,Project,Client,Description\n"
                     "2026-11-02,09:00,10:00,Nucleus,Hooli,new one\n"
                     "2026-11-02,10:00,11:00,Intrenal,,typo\n")
    report = tmp_path / "plan.csv"
    code, out, _ = await _run_cli(sandbox, tmp_path, str(sheet), "--dry-run", "--create-missing",
                                  "--report", str(report))
    assert "client 'Hooli' (would be created)" in out
    assert "project 'Nucleus' under client 'Hooli' (would be created)" in " ".join(out.split())
    assert "looks like a typo" in out
    assert code == 1  # the typo row is refused
    text = report.read_text()
    assert ",create," in text
    assert "would be posted after creating client 'Hooli', project 'Nucleus'" in text
    assert not [k for k in sandbox.state.requests if k[0] == "POST"]


def test_status_runs_reads_on_one_line_per_run_at_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Piped to a cron log (80 columns): no run's line is folded into a column, the command is said
    once, and a source run names its files as the JSON does."""
    from importer.cli.render import render_runs
    from importer.ledger_records import RunRecord

    def record(n: int, summary: str, command: str, source: str | None, finished: str | None) -> RunRecord:
        return RunRecord(n, "2025-12-02T10:19:29.004Z", finished, summary, command, source, 1, 0, 8, 5, 2,
                         0, 0)  # fmt: skip

    runs = [record(1, "hist.csv", "run", None, "2025-12-02T10:21:02.100Z"),
            record(2, "export hist.csv", "export", None, "2025-12-02T10:22:00.000Z"),  # an older ledger
            record(3, "jira-worklogs-2025-12-01.csv", "run", "jira-worklogs", "2025-12-03T00:01:00.000Z"),
            record(4, "of run 1", "undo", None, None)]  # fmt: skip
    monkeypatch.setenv("COLUMNS", "80")
    assert render_runs(runs, json_out=False) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, out
    assert "export export" not in out and "export hist.csv" in out
    for what in ("run hist.csv", "run --source jira-worklogs: jira-worklogs-2025-12-01.csv", "undo of run 1"):
        assert sum(what in line for line in lines) == 1, (what, out)  # whole, on one line
    by_id = {line.split()[0]: line for line in lines if line.split() and line.split()[0].isdigit()}
    assert sorted(by_id) == ["1", "2", "3", "4"]  # each run's figures on one line of their own
    assert by_id["1"].split()[1:4] == ["2025-12-02", "10:19", "10:21"]  # same day: the clock only
    assert by_id["3"].split()[3:5] == ["2025-12-03", "00:01"]
    assert "(stopped)" in by_id["4"]
