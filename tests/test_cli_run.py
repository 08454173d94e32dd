"""``toggl-import run`` end to end: the real command on real files in ``tmp_path``, against the
sandbox over TCP.

The sandbox is served from a background thread with its own event loop, so that the command can
run in this thread exactly as a user starts it (``cli.main`` calls ``asyncio.run``); a few cases
run it as a subprocess too, to see exactly what a user's terminal shows. A recording middleware
keeps every request body the sandbox received, so a ``--emit-payloads`` line can be compared
with what was really posted.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import importer
import importer.cli as cli
from importer.report import REPORT_HEADER, STATUSES
from importer.sandbox import Sandbox, entries

SAMPLES = Path(importer.__file__).resolve().parent / "samples"
DATA = Path(__file__).resolve().parent / "data"
WID = 1234567
ENV = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_")}
LEGACY = {"pid", "tid", "uid", "wid", "tag_action"}
CREATE = ("POST", "/workspaces/{wid}/time_entries")

# seed ids (importer/data/seed.json)
OLIVIA, MAX = 101, 102
WEBSITE_ACME, WEBSITE_GLOBEX, SUPPORT, INTERNAL, MOBILE_APP = (
    201000001, 201000002, 201000003, 201000004, 201000005,
)  # fmt: skip
DESIGN, DEVELOPMENT, TRIAGE, BACKEND = 301000001, 301000002, 301000003, 301000004


# -- the sandbox in a thread ---------------------------------------------------------------------
class Server:
    """A sandbox served from a background thread; records the body of every request."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sandbox", daemon=True)
        self.thread.start()
        self.sandbox = Sandbox()
        self.received: list[tuple[str, str, Any]] = []
        # before start: the application's middlewares freeze once it serves
        self.sandbox._app.web_app.middlewares.append(self._record)
        self.call(self.sandbox.start("127.0.0.1", 0))

    @web.middleware
    async def _record(self, request: web.Request, handler: Callable[..., Awaitable[Any]]) -> Any:
        body = await request.read()  # cached: the handler reads it again
        self.received.append((request.method, request.path, json.loads(body) if body else None))
        return await handler(request)

    def call(self, coro: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)  # type: ignore[arg-type]

    def reset(self, **options: Any) -> None:
        async def go() -> None:
            self.sandbox.configure(quota=None, rate_limit=None, page_size_cap=None)
            self.sandbox.reset()
            if options:
                self.sandbox.configure(**options)
            self.received.clear()

        self.call(go())

    @property
    def requests(self) -> dict[tuple[str, str], int]:
        return dict(self.sandbox.state.requests)

    @property
    def writes(self) -> list[tuple[str, str, Any]]:
        return [r for r in self.received if r[0] not in ("GET", "HEAD")]

    @property
    def posted_entries(self) -> list[Any]:
        return [body for method, path, body in self.received
                if method == "POST" and path.endswith("/time_entries")]  # fmt: skip

    def stop(self) -> None:
        self.call(self.sandbox.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


# -- running the command -------------------------------------------------------------------------
@dataclass
class Done:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


Run = Callable[..., Done]


def _argv(server: Server, tmp_path: Path, args: tuple[Any, ...], timezone: str | None,
          rate: str | None) -> list[str]:  # fmt: skip
    argv = ["run", *map(str, args), "--api-url", server.sandbox.base_url,
            "--workspace-id", str(WID), "--ledger", str(tmp_path / "l.sqlite")]  # fmt: skip
    if timezone:
        argv += ["--timezone", timezone]
    if rate:
        argv += ["--rate", rate]  # the name look-ups need not wait a second each
    return argv


@pytest.fixture
def toggl(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Run:
    """``toggl(FILE, ..., timezone=, rate=)``: ``toggl-import run`` in this process, in ``tmp_path``."""
    server.reset()
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("TOGGL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TOGGL_API_TOKEN", server.sandbox.token)
    monkeypatch.setenv("COLUMNS", "250")  # rich: one message a line

    def run(*args: Any, timezone: str | None = "Europe/Berlin", rate: str | None = "1000",
            files: tuple[str, ...] = ()) -> Done:  # fmt: skip
        capsys.readouterr()
        try:
            after = ["--", *files] if files else []  # a name like "-1.csv" after "--"
            code = cli.main([*_argv(server, tmp_path, args, timezone, rate), *after])
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return Done(code, out, err)

    return run


@pytest.fixture
def toggl_process(server: Server, tmp_path: Path) -> Run:
    """The same as a subprocess: exactly what a user's terminal gets."""
    server.reset()

    def run(*args: Any, timezone: str | None = "Europe/Berlin", rate: str | None = "1000") -> Done:
        done = subprocess.run(
            [sys.executable, "-m", "importer", *_argv(server, tmp_path, args, timezone, rate)],
            capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
            env={**ENV, "TOGGL_API_TOKEN": server.sandbox.token, "COLUMNS": "250"},
        )  # fmt: skip
        assert "Traceback" not in done.stdout + done.stderr
        return Done(done.returncode, done.stdout, done.stderr)

    return run


def payload_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def report_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def summary_line(text: str, label: str) -> str:
    found = re.search(rf"^{re.escape(label)}\s+(.+?)\s*$", text, re.MULTILINE)
    assert found, f"no {label!r} line in:\n{text}"
    return found.group(1)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def fixture_copy(tmp_path: Path, name: str) -> Path:
    """A fixture of ``tests/data`` with its people made members of the seeded workspace."""
    data = (DATA / name).read_bytes()
    for old, new in ((b"ada@example.com", b"olivia@example.com"), (b"bruno@example.com", b"max@example.com")):
        data = data.replace(old, new)
    target = tmp_path / name
    target.write_bytes(data)
    return target


def body(start: str, duration: int, **fields: Any) -> dict[str, Any]:
    """An expected create body: every field the importer sends, in the order it sends them."""
    out = {"created_with": "toggl-import", "start": start, "workspace_id": WID, "duration": duration}
    for name in ("description", "project_id", "task_id", "tags", "billable", "user_id"):
        if name in fields:
            out[name] = fields.pop(name)
    assert not fields, f"unknown fields {fields}"
    return out


# -- expected bodies, worked out by hand from the files and the seed ------------------------------
# Europe/Berlin: CET (UTC+1) until 2026-03-29 and from 2026-10-25, CEST (UTC+2) in between.
TOGGL_SAMPLE = {  # BOM; "Start date"/"Start time" + "End date"/"End time"; November: UTC+1
    2: body("2026-11-02T08:00:00Z", 5400, description="Homepage wireframes", project_id=WEBSITE_ACME,
            task_id=DESIGN, tags=["meeting"], billable=True, user_id=OLIVIA),
    3: body("2026-11-02T09:45:00Z", 9000, description="Header component", project_id=WEBSITE_ACME,
            task_id=DEVELOPMENT, billable=True, user_id=OLIVIA),
    4: body("2026-11-02T13:00:00Z", 3600, description="Ticket queue", project_id=SUPPORT,
            task_id=TRIAGE, tags=["urgent"], billable=True, user_id=OLIVIA),
    5: body("2026-11-02T08:30:00Z", 7200, description="Landing page copy", project_id=WEBSITE_GLOBEX,
            tags=["remote"], user_id=MAX),
    6: body("2026-11-03T09:00:00Z", 1800, description="Team meeting", project_id=INTERNAL,
            tags=["meeting", "remote"], user_id=MAX),
    7: body("2026-11-03T07:15:00Z", 12600, description="API pagination", project_id=MOBILE_APP,
            task_id=BACKEND, billable=True, user_id=OLIVIA),
    8: body("2026-11-03T15:00:00Z", 2700, description="Expense reports", project_id=INTERNAL,
            user_id=OLIVIA),
    9: body("2026-11-04T10:00:00Z", 2400, description="Customer call", project_id=SUPPORT,
            task_id=TRIAGE, tags=["urgent", "meeting"], billable=True, user_id=MAX),
}  # fmt: skip
TOGGL_IMPORT_SAMPLE = {  # start + duration, no end
    2: body("2026-11-05T08:00:00Z", 3600, description="Logo review", project_id=WEBSITE_ACME,
            task_id=DESIGN, tags=["meeting"], billable=True, user_id=OLIVIA),
    3: body("2026-11-05T09:00:00Z", 2700, description="Colour palette", project_id=WEBSITE_ACME,
            task_id=DESIGN, billable=True, user_id=OLIVIA),
    4: body("2026-11-05T12:00:00Z", 12600, description="Push notifications", project_id=MOBILE_APP,
            task_id=BACKEND, tags=["remote"], billable=True, user_id=MAX),
    5: body("2026-11-06T08:00:00Z", 7200, description="Onboarding docs", project_id=INTERNAL,
            user_id=MAX),
    6: body("2026-11-06T14:30:00Z", 1800, description="Weekly support rota", project_id=SUPPORT,
            tags=["urgent"], user_id=OLIVIA),
}  # fmt: skip
CLOCKIFY_SAMPLE = {  # MM/DD/YYYY and 12-hour times: 01:00:00 PM is 13:00
    2: body("2026-11-09T07:30:00Z", 6300, description="Accessibility audit", project_id=WEBSITE_ACME,
            task_id=DEVELOPMENT, billable=True, user_id=OLIVIA),
    3: body("2026-11-09T12:00:00Z", 2700, description="Escalations", project_id=SUPPORT,
            task_id=TRIAGE, tags=["urgent"], billable=True, user_id=OLIVIA),
    4: body("2026-11-09T13:15:00Z", 4500, description="Crash triage", project_id=MOBILE_APP,
            task_id=BACKEND, tags=["remote", "urgent"], billable=True, user_id=MAX),
    5: body("2026-11-10T15:30:00Z", 3600, description="Retro", project_id=INTERNAL,
            tags=["meeting"], user_id=MAX),
    6: body("2026-11-10T09:00:00Z", 5400, description="Newsletter template",
            project_id=WEBSITE_GLOBEX, user_id=MAX),
}  # fmt: skip
HARVEST_SAMPLE = {  # date + hours, no time: 09:00 local, then stacked per person and day
    2: body("2026-11-11T08:00:00Z", 5400, description="Sprint planning", project_id=WEBSITE_ACME,
            task_id=DESIGN, billable=True),  # 09:00-10:30
    3: body("2026-11-11T09:30:00Z", 11700, description="Checkout form", project_id=WEBSITE_ACME,
            task_id=DEVELOPMENT, billable=True),  # 10:30-13:45
    4: body("2026-11-11T12:45:00Z", 2700, description="Lunch & learn", project_id=INTERNAL),
    5: body("2026-11-12T08:00:00Z", 14400, description="Rate limiter", project_id=MOBILE_APP,
            task_id=BACKEND, billable=True),  # a new day starts at 09:00 again
    6: body("2026-11-12T12:00:00Z", 1800, description="On-call handover", project_id=SUPPORT,
            task_id=TRIAGE, billable=True),
}  # fmt: skip
XLSX_SAMPLE = {  # date, time and duration cells
    2: body("2026-11-18T08:00:00Z", 7200, description="Design review", project_id=WEBSITE_ACME,
            tags=["meeting"], billable=True, user_id=OLIVIA),
    3: body("2026-11-18T10:30:00Z", 4500, description="Bug bash", project_id=SUPPORT,
            tags=["urgent"], billable=True, user_id=MAX),
    4: body("2026-11-19T09:00:00Z", 12600, description="Offline mode", project_id=MOBILE_APP,
            tags=["remote"], billable=True, user_id=OLIVIA),
    5: body("2026-11-19T13:00:00Z", 2700, description="Planning poker", project_id=INTERNAL,
            tags=["meeting"], user_id=MAX),
}  # fmt: skip
SEMICOLON_FIXTURE = {  # ';' cells, cp1252, DD.MM.YYYY, "1,5" hours; March 5-6: UTC+1
    2: body("2026-03-05T08:00:00Z", 5400, description="Café mit Kunde", project_id=WEBSITE_ACME,
            tags=["Besprechung"], billable=True),
    3: body("2026-03-06T13:15:00Z", 900, description="Rückruf Müller", project_id=SUPPORT),
}  # fmt: skip
EXCEL_FIXTURE = {  # rows 2 and 3 name "Website" without a client (ambiguous): refused
    4: body("2026-03-09T13:00:00Z", 4500, description="Call", project_id=SUPPORT,
            tags=["phone", "urgent"]),  # serial date 46090, "14:00" text, 1.25 hours
    5: body("2026-03-10T07:15:00Z", 2700, description="Café", billable=True),  # date-time cell
    7: body("2026-03-11T09:00:00Z", 1800, description="Standup"),  # row 6 is blank: skipped
}  # fmt: skip
TOGGL_FIXTURE = {  # BOM + CRLF; a summer-time row; a row past midnight; quotes in a cell
    2: body("2026-03-05T08:30:00Z", 5400, description="Homepage, hero section",
            project_id=WEBSITE_ACME, task_id=DESIGN, tags=["design", "client work"], billable=True,
            user_id=OLIVIA),
    3: body("2026-07-14T07:00:00Z", 900, description="Standup", project_id=WEBSITE_ACME,
            user_id=OLIVIA),  # CEST: UTC+2
    4: body("2026-11-30T22:30:00Z", 6300, description='Release "v2" night', project_id=INTERNAL,
            tags=["deploy"], billable=True, user_id=MAX),  # 23:30 to 01:15 the next day
}  # fmt: skip
CLOCKIFY_FIXTURE = {
    2: body("2026-09-23T11:00:00Z", 5400, description="Design review", project_id=WEBSITE_ACME,
            task_id=DESIGN, tags=["design", "review"], billable=True, user_id=OLIVIA),
    3: body("2026-09-23T21:45:00Z", 1800, description="Night deploy", project_id=INTERNAL,
            user_id=MAX),  # 11:45 PM to 12:15 AM the next day
    4: body("2026-12-01T07:05:00Z", 1800, description="Morning sync", project_id=WEBSITE_ACME,
            tags=["meeting"], billable=True, user_id=OLIVIA),
}  # fmt: skip

CASES: dict[str, tuple[Callable[[Path], Path], dict[int, dict[str, Any]], int]] = {
    # name: (the file to import, expected bodies by row, exit code of the dry run)
    "toggl-export-sample": (lambda _: SAMPLES / "toggl-detailed-export.csv", TOGGL_SAMPLE, 0),
    "toggl-import-sample": (lambda _: SAMPLES / "toggl-import-format.csv", TOGGL_IMPORT_SAMPLE, 0),
    "clockify-sample": (lambda _: SAMPLES / "clockify-detailed-export.csv", CLOCKIFY_SAMPLE, 0),
    "harvest-sample": (lambda _: SAMPLES / "harvest-time-export.csv", HARVEST_SAMPLE, 0),
    "xlsx-sample": (lambda _: SAMPLES / "generic-hours.xlsx", XLSX_SAMPLE, 0),
    "semicolon-cp1252": (lambda _: DATA / "semicolon_cp1252.csv", SEMICOLON_FIXTURE, 0),
    "xlsx-cells": (lambda _: DATA / "excel_cells.xlsx", EXCEL_FIXTURE, 1),
    "toggl-export-fixture": (lambda t: fixture_copy(t, "toggl_export.csv"), TOGGL_FIXTURE, 0),
    "clockify-fixture": (lambda t: fixture_copy(t, "clockify_export.csv"), CLOCKIFY_FIXTURE, 0),
}


# -- --emit-payloads -----------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_emit_payloads_gives_the_exact_body_of_every_valid_row(
    case: str, toggl: Run, server: Server, tmp_path: Path
) -> None:
    make, expected, code = CASES[case]
    sheet = make(tmp_path)
    out = tmp_path / "payloads.jsonl"
    done = toggl(sheet, "--dry-run", "--emit-payloads", out)
    assert done.code == code, done.text
    lines = payload_lines(out)
    assert lines == [{"file": str(sheet), "row": row, "payload": p} for row, p in expected.items()]
    for line in lines:
        assert list(line["payload"]) == list(expected[line["row"]])  # the order too
        assert not LEGACY & line["payload"].keys()
    assert server.writes == []


def test_refused_rows_and_duplicates_are_left_out_of_the_payloads(toggl: Run, tmp_path: Path) -> None:
    out = tmp_path / "payloads.jsonl"
    done = toggl(SAMPLES / "mistakes.csv", "--dry-run", "--emit-payloads", out)
    assert done.code == 1
    assert payload_lines(out) == [
        {"file": str(SAMPLES / "mistakes.csv"), "row": 2,
         "payload": body("2026-11-16T08:00:00Z", 5400, description="Fine row",
                         project_id=WEBSITE_ACME, tags=["meeting"], billable=True)},
        {"file": str(SAMPLES / "mistakes.csv"), "row": 10,  # a formula-looking text, as it is
         "payload": body("2026-11-17T12:00:00Z", 2700,
                         description='=HYPERLINK("http://example.com","click")',
                         project_id=INTERNAL)},
    ]  # fmt: skip


@pytest.mark.parametrize("case", ["toggl-export-sample", "harvest-sample", "xlsx-cells"])
def test_the_payload_emitted_is_exactly_the_body_posted(
    case: str, toggl: Run, server: Server, tmp_path: Path
) -> None:
    make, expected, _ = CASES[case]
    sheet = make(tmp_path)
    out = tmp_path / "payloads.jsonl"
    done = toggl(sheet, "--emit-payloads", out)
    assert done.code == (0 if case != "xlsx-cells" else 1), done.text
    emitted = [line["payload"] for line in payload_lines(out)]
    assert emitted == list(expected.values())
    assert sorted(server.posted_entries, key=json.dumps) == sorted(emitted, key=json.dumps)
    stored = server.sandbox.state.entries
    assert len(stored) == len(emitted)
    by_start = sorted(emitted, key=lambda p: p["start"])
    for entry, sent in zip(sorted(stored, key=lambda e: e["start"]), by_start, strict=True):
        assert entry["start"].replace("+00:00", "Z") == sent["start"]
        assert entry["duration"] == sent["duration"]
        for name in ("description", "project_id", "task_id", "user_id"):
            assert entry[name] == sent.get(name, entry[name] if name == "user_id" else None)
        assert entry["billable"] == sent.get("billable", False)
        assert sorted(entry["tags"] or []) == sorted(sent.get("tags", []))


# -- --dry-run -----------------------------------------------------------------------------------
def test_dry_run_prints_the_plan_and_writes_nothing(toggl: Run, server: Server, tmp_path: Path) -> None:
    server.reset(quota=100)
    report = tmp_path / "report.csv"
    done = toggl(SAMPLES / "toggl-detailed-export.csv", SAMPLES / "mistakes.csv", "--dry-run",
                 "--report", report)  # fmt: skip
    assert done.code == 1  # some rows are refused, one is a duplicate
    assert "Dry run: nothing was sent" in done.out
    assert summary_line(done.out, "rows that would be posted") == "10"
    assert summary_line(done.out, "refused (not sent)") == "6"
    assert summary_line(done.out, "duplicates in the files") == "1"
    for reason in ("end_before_start", "unknown_project", "ambiguous_project", "bad_date",
                   "no_duration", "bad_billable"):  # fmt: skip
        assert f"refused: {reason} (1 rows)" in done.out
    assert "did you mean 'Support'?" in done.out
    assert summary_line(done.out, "estimated import time") == "0s"  # 10 requests at 1000/s
    # read-only: names were resolved, the quota asked, and not one write of any kind
    assert server.writes == []
    assert all(method == "GET" for method, _ in server.requests)
    assert server.sandbox.state.entries == []
    assert not (tmp_path / "l.sqlite").exists()  # a dry run does not create the ledger
    assert [r["status"] for r in report_rows(report)].count("create") == 10


def test_dry_run_estimates_the_time_under_the_rate_and_the_quota(
    toggl: Run, server: Server, tmp_path: Path
) -> None:
    sheet = SAMPLES / "toggl-detailed-export.csv"  # 8 rows: 8 requests to send
    server.reset(quota=1000)
    roomy = toggl(sheet, "--dry-run", "--json", rate="5")
    server.reset(quota=6)  # the name look-ups leave fewer than 8 requests in this hour's window
    tight = toggl(sheet, "--dry-run", "--json", rate="5")
    assert roomy.code == tight.code == 0
    roomy_s, tight_s = json.loads(roomy.out), json.loads(tight.out)
    assert roomy_s["to_post"] == tight_s["to_post"] == 8
    assert roomy_s["remaining_seconds"] == pytest.approx(8 / 5)  # the rate alone
    assert 3000 < tight_s["remaining_seconds"] <= 3600 + 8 / 5  # waits for the window to slide
    assert server.writes == []
    server.reset(quota=6)  # (a dry run, too, would wait for the quota the last one used up)
    text = toggl(sheet, "--dry-run", rate="5")
    assert re.match(r"(59m \d\ds|1h 00m)$", summary_line(text.out, "estimated import time"))


def test_dry_run_after_an_import_counts_the_rows_already_created(
    toggl: Run, server: Server, tmp_path: Path
) -> None:
    sheet = SAMPLES / "toggl-detailed-export.csv"
    assert toggl(sheet).code == 0
    created = len(server.sandbox.state.entries)
    server.received.clear()
    report = tmp_path / "report.csv"
    done = toggl(sheet, "--dry-run", "--report", report)
    assert done.code == 0, done.text
    assert summary_line(done.out, "rows that would be posted") == "0"
    assert summary_line(done.out, "already created (ledger)") == str(created) == "8"
    assert server.writes == []
    assert {r["status"] for r in report_rows(report)} == {"unchanged"}
    assert all(r["entry_id"] for r in report_rows(report))


@pytest.mark.parametrize(
    ("files", "code"),
    [
        (["toggl-detailed-export.csv", "toggl-import-format.csv"], 0),  # every row would be posted
        (["toggl-detailed-export.csv", "mistakes.csv"], 1),  # some refused, one duplicate
        (["toggl-detailed-export.csv", "toggl-detailed-export.csv"], 1),  # the second: duplicates
        (["toggl-detailed-export.csv", "does-not-exist.csv"], 2),  # unreadable: nothing is done
    ],
)
def test_dry_run_exit_codes(files: list[str], code: int, toggl: Run, server: Server) -> None:
    done = toggl(*(SAMPLES / f for f in files), "--dry-run")
    assert done.code == code, done.text
    assert server.writes == []


def test_same_rows_in_two_files_of_one_run_are_duplicates(toggl: Run, tmp_path: Path) -> None:
    first = tmp_path / "week.csv"
    first.write_bytes((SAMPLES / "toggl-detailed-export.csv").read_bytes())
    again = tmp_path / "week-again.csv"
    again.write_bytes((SAMPLES / "toggl-detailed-export.csv").read_bytes())
    report = tmp_path / "report.csv"
    done = toggl(first, again, "--dry-run", "--report", report, "--emit-payloads", tmp_path / "p.jsonl")
    assert done.code == 1
    assert summary_line(done.out, "duplicates in the files") == "8"
    duplicates = [r for r in report_rows(report) if r["status"] == "duplicate"]
    assert [(r["file"], r["row"]) for r in duplicates] == [(str(again), str(n)) for n in range(2, 10)]
    assert all(r["message"].startswith(f"same entry as {first} row {r['row']} ") for r in duplicates)
    assert {line["file"] for line in payload_lines(tmp_path / "p.jsonl")} == {str(first)}


# -- --report ------------------------------------------------------------------------------------
def test_report_has_one_line_per_row_with_reasons(
    toggl: Run, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entries, "MAX_DESCRIPTION", 100)  # a rule only Toggl knows: it answers 400
    sheet = write(tmp_path / "week.csv", (
        "Date,Start,End,Project,Client,Description\n"
        "2026-11-16,09:00,10:00,Internal,,created\n"
        f"2026-11-16,10:00,11:00,Internal,,{'too long for Toggl ' * 10}\n"
        "2026-11-16,11:00,10:00,Internal,,end before start\n"
        "2026-11-16,12:00,13:00,Suport,Acme Corp,typo\n"
        "2026-11-16,09:00,10:00,Internal,,created\n"
    ))  # fmt: skip
    report = tmp_path / "report.csv"
    done = toggl(sheet, "--report", report)
    assert done.code == 1
    assert report.read_text(encoding="utf-8").splitlines()[0] == ",".join(REPORT_HEADER)
    rows = {int(r["row"]): r for r in report_rows(report)}
    assert sorted(rows) == [2, 3, 4, 5, 6]
    assert rows[2]["status"] == "created" and rows[2]["message"] == ""
    assert int(rows[2]["entry_id"]) == server.sandbox.state.entries[0]["id"]
    assert rows[3]["status"] == "failed" and rows[3]["http_status"] == "400"
    assert "Maximum length for description" in rows[3]["message"]
    assert rows[4]["status"] == "refused"
    assert rows[4]["message"].startswith("column 'End': the end (10:00) is before the start")
    assert rows[5]["status"] == "refused"
    assert rows[5]["message"] == (
        "column 'Project': project 'Suport' not found for client 'Acme Corp'; did you mean 'Support'?"
    )
    assert rows[6]["status"] == "duplicate" and rows[6]["message"] == "same entry as row 2 of this run"
    for row in rows.values():
        assert row["status"] in set(STATUSES)
        assert (row["message"] == "") == (row["status"] == "created")


@pytest.mark.parametrize("name", ["=cmd.csv", "+sum.csv", "-1.csv", "@at.csv"])
def test_report_cells_that_look_like_formulas_are_neutralised(
    name: str, toggl: Run, tmp_path: Path
) -> None:
    write(tmp_path / name, "Date,Start,End,Project,Description\n"
                           "2026-11-16,09:00,10:00,Nowhere,=HYPERLINK(\"http://x\")\n")  # fmt: skip
    report = tmp_path / "report.csv"
    done = toggl("--dry-run", "--report", report, files=(name,))  # relative: the report's cell
    assert done.code == 1
    (row,) = report_rows(report)
    assert row["file"] == "'" + name
    assert row["status"] == "refused"
    assert row["message"].startswith("column 'Project': project 'Nowhere' not found")


def test_a_formula_looking_description_is_posted_as_plain_text(
    toggl: Run, server: Server, tmp_path: Path
) -> None:
    text = '=HYPERLINK("http://example.com","click")'
    quoted = '"' + text.replace('"', '""') + '"'
    sheet = write(tmp_path / "f.csv", f"Date,Start,End,Description\n2026-11-17,13:00,13:45,{quoted}\n")
    done = toggl(sheet, "--report", tmp_path / "r.csv")
    assert done.code == 0, done.text
    assert [e["description"] for e in server.posted_entries] == [text]
    assert [e["description"] for e in server.sandbox.state.entries] == [text]


# -- name resolution: one paged set of GETs per run ----------------------------------------------
def _many_rows(path: Path, n: int) -> Path:
    """``n`` rows over every kind of name: clients, projects, tasks and emails."""
    names = [("Acme Corp", "Website", "Design", "olivia@example.com"),
             ("Acme Corp", "Support", "Triage", "max@example.com"),
             ("Initech", "Mobile App", "Backend", "olivia@example.com"),
             ("", "Internal", "", "max@example.com")]  # fmt: skip
    lines = ["Date,Start,End,Client,Project,Task,Email,Description"]
    for i in range(n):
        client, project, task, email = names[i % len(names)]
        day, minute = divmod(i, 600)
        start = f"{9 + minute // 60:02d}:{minute % 60:02d}"
        lines.append(f"2026-11-{2 + day % 25:02d},{start},{start[:2]}:59,{client},{project},{task},"
                     f"{email},row {i}")  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_names_are_resolved_with_one_set_of_requests_whatever_the_number_of_rows(
    toggl: Run, server: Server, tmp_path: Path
) -> None:
    counts = {}
    for n in (20, 2000):
        server.reset()
        done = toggl(_many_rows(tmp_path / f"rows-{n}.csv", n), "--dry-run", "--json")
        assert done.code == 0, done.text
        assert json.loads(done.out)["to_post"] == n
        counts[n] = {route: k for route, k in server.requests.items() if route[0] == "GET"}
    assert counts[20] == counts[2000]
    kinds = {route for _, route in counts[20]}
    assert {"/workspaces/{wid}/projects", "/workspaces/{wid}/clients", "/workspaces/{wid}/tasks",
            "/workspaces/{wid}/workspace_users"} <= kinds  # fmt: skip
    assert all(k == 1 for k in counts[20].values())  # the seed fits in one page of each kind


# -- bad input -----------------------------------------------------------------------------------
BAD_FILES: dict[str, tuple[Callable[[Path], Path], list[str]]] = {
    "empty": (lambda t: write(t / "empty.csv", ""), ["empty.csv", "the file is empty"]),
    "header only": (lambda t: write(t / "header.csv", "Date,Start,End,Project\n"),
                    ["header.csv", "has a header but no entries"]),
    "binary renamed .csv": (lambda t: _bytes(t / "photo.csv", bytes(range(256)) * 40),
                            ["photo.csv", "binary", "export the timesheet as CSV"]),
    "password-protected workbook": (
        lambda t: _bytes(t / "locked.xlsx", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(4000)),
        ["locked.xlsx", "password-protected", "save it as .xlsx or CSV"]),
    "missing": (lambda t: t / "nowhere.csv", ["nowhere.csv", "not found"]),
    "unknown header": (lambda t: write(t / "odd.csv", "When,Length,What\n2026-11-16 09:00,1:00,x\n"),
                       ["'When', 'Length', 'What'", "--map"]),
}  # fmt: skip


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_with_a_clear_message_and_exit_2(
    case: str, toggl_process: Run, server: Server, tmp_path: Path
) -> None:
    make, words = BAD_FILES[case]
    done = toggl_process(make(tmp_path), "--dry-run")
    assert done.code == 2, done.text
    message = done.err.strip()
    assert message.startswith("toggl-import: ") and len(message.splitlines()) == 1
    for word in words:
        assert word in message
    assert server.writes == []


def test_an_unknown_header_names_the_map_that_fixes_it_and_the_map_works(
    toggl: Run, tmp_path: Path
) -> None:
    sheet = write(tmp_path / "odd.csv", "When,Length,What\n2026-11-16 09:00,1:00,Standup\n")
    refused = toggl(sheet, "--dry-run")
    assert refused.code == 2
    hint = re.search(r"(--map \S+=\S+(?: --map \S+=\S+)*)", refused.err)
    assert hint, refused.err
    assert "odd.csv has the columns 'When', 'Length', 'What'" in refused.err
    maps = [arg for m in re.findall(r"--map (\S+)", hint.group(1)) for arg in ("--map", m.replace('"', ""))]
    out = tmp_path / "p.jsonl"
    fixed = toggl(sheet, "--dry-run", *maps, "--map", "description=What", "--emit-payloads", out)
    assert fixed.code == 0, fixed.text
    assert [line["payload"] for line in payload_lines(out)] == [
        body("2026-11-16T08:00:00Z", 3600, description="Standup")
    ]


def test_an_xlsx_that_is_really_a_csv_is_read_as_csv(toggl: Run, tmp_path: Path) -> None:
    sheet = tmp_path / "export.xlsx"
    sheet.write_bytes((SAMPLES / "toggl-detailed-export.csv").read_bytes())
    out = tmp_path / "p.jsonl"
    done = toggl(sheet, "--dry-run", "--emit-payloads", out)
    assert done.code == 0, done.text
    assert [line["payload"] for line in payload_lines(out)] == list(TOGGL_SAMPLE.values())


def test_times_without_an_offset_and_no_timezone_say_pass_timezone(
    toggl_process: Run, tmp_path: Path
) -> None:
    done = toggl_process(SAMPLES / "toggl-detailed-export.csv", "--dry-run", timezone=None)
    assert done.code == 2
    assert "pass --timezone" in done.err and "Europe/Berlin" in done.err


def test_times_with_an_offset_need_no_timezone(toggl: Run, tmp_path: Path) -> None:
    sheet = write(tmp_path / "iso.csv", "Start,End,Description\n"
                  "2026-11-16T09:00:00+01:00,2026-11-16T10:30:00+01:00,with offsets\n")  # fmt: skip
    out = tmp_path / "p.jsonl"
    done = toggl(sheet, "--dry-run", "--emit-payloads", out, timezone=None)
    assert done.code == 0, done.text
    assert payload_lines(out)[0]["payload"] == body("2026-11-16T08:00:00Z", 5400, description="with offsets")


def test_a_200000_character_cell_refuses_its_row_and_the_rest_go_on(
    toggl_process: Run, server: Server, tmp_path: Path
) -> None:
    big = "x" * 200_000
    sheet = write(tmp_path / "big.csv", "Date,Start,End,Project,Description\n"
                  f"2026-11-16,09:00,10:00,Internal,{big}\n"  # over Toggl's 3000: refused, not sent
                  "2026-11-16,11:00,12:00,Internal,fine\n"
                  f"2026-11-16,13:00,14:00,{big},no such project\n"
                  f"{big},15:00,16:00,Internal,no such date\n")  # fmt: skip
    report = tmp_path / "report.csv"
    done = toggl_process(sheet, "--report", report)
    assert done.code == 1, done.err
    rows = {int(r["row"]): r for r in report_rows(report)}
    assert rows[2]["status"] == "refused" and "3000" in rows[2]["message"]
    assert rows[3]["status"] == "created"
    assert rows[4]["status"] == "refused" and rows[4]["message"].startswith("column 'Project'")
    assert rows[5]["status"] == "refused" and rows[5]["message"].startswith("column 'Date'")
    # a message quotes the cell, but neither the report nor the terminal repeats 200,000 characters
    assert max(len(r["message"]) for r in rows.values()) < 2000
    assert len(done.out) < 10_000
    assert [e["description"] for e in server.sandbox.state.entries] == ["fine"]


def test_a_row_with_more_cells_than_the_header_is_refused_and_the_rest_go_on(
    toggl_process: Run, tmp_path: Path
) -> None:
    sheet = write(tmp_path / "wide.csv", "Date,Start,End,Project,Description\n"
                  "2026-11-16,09:00,10:00,Internal,a,b,c\n"
                  "2026-11-16,11:00,12:00,Internal,ok\n")  # fmt: skip
    report = tmp_path / "report.csv"
    out = tmp_path / "p.jsonl"
    done = toggl_process(sheet, "--dry-run", "--report", report, "--emit-payloads", out)
    assert done.code == 1
    rows = {int(r["row"]): r for r in report_rows(report)}
    assert rows[2]["status"] == "refused"
    assert rows[2]["message"].startswith("the header has 5 columns but the row has more cells")
    assert [line["row"] for line in payload_lines(out)] == [3]
    assert "Warning" not in done.err, done.err


def test_a_row_with_more_cells_than_the_header_at_the_end_is_refused(toggl: Run, tmp_path: Path) -> None:
    sheet = write(tmp_path / "wide.csv", "Date,Start,End,Project,Description\n"
                  "2026-11-16,11:00,12:00,Internal,ok\n"
                  "2026-11-16,09:00,10:00,Internal,a,b,c\n")  # fmt: skip
    report = tmp_path / "report.csv"
    done = toggl(sheet, "--dry-run", "--report", report)
    assert done.code == 1
    rows = {int(r["row"]): r for r in report_rows(report)}
    assert rows[2]["status"] == "create"
    assert rows[3]["status"] == "refused"
    assert rows[3]["message"].startswith("the header has 5 columns but the row has 7 cells")


def test_summer_time_gaps_and_repeated_hours_are_refused_with_their_messages(
    toggl: Run, tmp_path: Path
) -> None:
    sheet = write(tmp_path / "dst.csv", "Date,Start,End,Description\n"
                  "2026-03-29,02:30,03:30,in the gap\n"
                  "2026-10-25,02:30,03:30,twice\n"
                  "2026-10-25,02:30+01:00,03:30+01:00,twice but with its offset\n"
                  "2026-03-29,01:00,04:00,across the gap\n")  # fmt: skip
    report = tmp_path / "report.csv"
    out = tmp_path / "p.jsonl"
    done = toggl(sheet, "--dry-run", "--report", report, "--emit-payloads", out, timezone="Europe/Berlin")
    assert done.code == 1
    rows = {int(r["row"]): r for r in report_rows(report)}
    assert rows[2]["status"] == "refused"
    assert rows[2]["message"] == (
        "column 'Start': 2026-03-29 02:30 does not exist in Europe/Berlin: the clocks jump forward "
        "over it (as when summer time starts); correct the time, or write it with its UTC offset"
    )
    assert rows[3]["status"] == "refused"
    assert "happens twice (2026-10-25T00:30:00Z and 2026-10-25T01:30:00Z)" in rows[3]["message"]
    assert "refused: nonexistent_time (1 rows)" in done.out
    assert "refused: ambiguous_time (1 rows)" in done.out
    assert [(line["row"], line["payload"]["start"], line["payload"]["duration"])
            for line in payload_lines(out)] == [(4, "2026-10-25T01:30:00Z", 3600),
                                                 (5, "2026-03-29T00:00:00Z", 7200)]  # fmt: skip
