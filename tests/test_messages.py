"""Every input problem a user can make, and the exact text the user sees for it.

Each case feeds real input through the real path -- ``toggl-import run --dry-run`` in this process
against the sandbox, or the reader/normaliser/planner where only a fake Toggl can hold the names
needed -- and asserts the whole message with its file, row and column. A spy on
``importer.messages`` checks that each text came from the function the case names, and
``test_every_message_function_has_a_case`` fails for a message function no case reaches.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import inspect
import io
import json
import os
import re
import socket
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import openpyxl
import pandas as pd
import pytest
from test_cli_run import Done, Server

import importer.cli as cli
from importer import messages
from importer.duplicates import FirstSeen
from importer.errors import ConfigError, PermanentError, UnreadableFileError
from importer.normalize import normalize
from importer.payloads import Planner
from importer.presets import detect
from importer.reader import iter_chunks, read_header
from importer.resolve import Resolver

WID = 1234567
FIX_KIND = "export the timesheet as CSV (UTF-8), TSV, XLSX, XLS or ODS"

PUBLIC: dict[str, Callable[..., str]] = {
    name: fn
    for name, fn in vars(messages).items()
    if inspect.isfunction(fn) and not name.startswith("_")
    and fn.__module__.startswith(f"{messages.__name__}.")  # a room of the package
}
COVERED: set[str] = set()
"""The message functions the cases below say they reach (each case checks it does)."""


def uses(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as the case of these message functions."""
    COVERED.update(names)
    return lambda test: test


# -- the spy ---------------------------------------------------------------------------------------
class Spy:
    """Every text each message function made while this module ran."""

    def __init__(self) -> None:
        self.made: dict[str, list[str]] = defaultdict(list)

    def wrap(self, name: str, fn: Callable[..., str]) -> Callable[..., str]:
        def recording(*args: Any, **kwargs: Any) -> str:
            text = fn(*args, **kwargs)
            self.made[name].append(text)
            return text

        return recording

    def check(self, name: str, seen: str) -> None:
        """``seen`` (what the user got) holds a text that ``messages.<name>`` made, and that text
        is in the house style: not capitalised (names aside), one line, no trailing period, and
        the fix after ': ' or '; ' (unless there is nothing to fix)."""
        made = [text for text in self.made[name] if text in seen]
        assert made, f"messages.{name} made none of {seen!r}: {self.made[name]}"
        for text in made:
            assert not text[0].isupper() or text.startswith(("Toggl", "API")), text
            assert "\n" not in text and not text.endswith("."), text
            assert name in NOT_A_PROBLEM or ": " in text or "; " in text, text


NOT_A_PROBLEM = {"would_create", "new_name", "duplicate_row", "skipped_before_since",
                 "skipped_after_until", "skipped_other_email", "undo_what", "undo_declined"}  # fmt: skip
"""A plan, a name listed, a row posted once by design and rows left out on purpose: they say what
happens; there is nothing to fix."""
NO_LEDGER = "no ledger at"
"""The dry runs here start with no ledger: the note about it is tested once, not in every list."""


@pytest.fixture(scope="module", autouse=True)
def spy() -> Iterator[Spy]:
    found = Spy()
    with pytest.MonkeyPatch.context() as mp:
        for name, fn in PUBLIC.items():
            mp.setattr(messages, name, found.wrap(name, fn))
        yield found


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


# -- running the command ---------------------------------------------------------------------------
def invoke(argv: list[str], cwd: Path, env: dict[str, str]) -> Done:
    """``toggl-import ARGV`` in this process, in ``cwd``, with only ``env`` of the TOGGL_ variables."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        for name in [k for k in os.environ if k.startswith("TOGGL_")]:
            mp.delenv(name)
        for name, value in env.items():
            mp.setenv(name, value)
        mp.setenv("COLUMNS", "250")  # rich: one message a line
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as exc:  # argparse
                code = int(exc.code or 0)
    done = Done(code, out.getvalue(), err.getvalue())
    assert "Traceback" not in done.out + done.err
    return done


def run_args(server: Server, *args: str, timezone: str | None = "Europe/Berlin") -> list[str]:
    """``run ... --dry-run`` against the sandbox; ``args`` come last, so that they win."""
    argv = ["run", "--dry-run", "--api-url", server.sandbox.base_url,
            "--workspace-id", str(WID), "--ledger", "l.sqlite", "--rate", "1000"]  # fmt: skip
    return argv + (["--timezone", timezone] if timezone else []) + list(args)


Toggl = Callable[..., Done]


@pytest.fixture
def toggl(server: Server, tmp_path: Path) -> Toggl:
    """``toggl(FILE, ..., timezone=, env=)``: a dry run in ``tmp_path`` against the sandbox."""

    def run(*args: str, timezone: str | None = "Europe/Berlin", env: dict[str, str] | None = None) -> Done:
        token = {"TOGGL_API_TOKEN": server.sandbox.token} if env is None else env
        return invoke(run_args(server, *args, timezone=timezone), tmp_path, token)

    return run


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, header, lineterminator="\n")
        out.writeheader()
        out.writerows(rows)
    return path


def notes_in(done: Done, containing: str = "") -> list[str]:
    """The ``note: ...`` lines a run printed (those holding ``containing``)."""
    return [line for line in done.out.splitlines() if line.startswith("note: ") and containing in line]


def report_rows(path: Path) -> dict[tuple[str, int], dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {(r["file"], int(r["row"])): r for r in csv.DictReader(fh)}


# -- refused rows, in one dry run over three files ---------------------------------------------------
ROWS_HEADER = ["Date", "Start", "End date", "End", "Duration", "Description", "Project", "Client",
               "Task", "Billable", "Email"]  # fmt: skip
DATES = ("YYYY-MM-DD, MM/DD/YYYY, DD.MM.YYYY or the month by its name (20 Jan 2026, 20-Jan-26, "
         "January 20 2026)")  # fmt: skip
DAY = {"Date": "2026-11-02", "Start": "09:00"}
HOUR = {**DAY, "End": "10:00"}


@dataclass(frozen=True)
class Row:
    uses: str
    reason: str
    column: str | None
    cells: dict[str, str]
    message: str


ROWS = [
    Row("bad_date", "bad_date", "Date", {**HOUR, "Date": "2026-13-45"},
        f"cannot read '2026-13-45' as a date: use {DATES}"),
    Row("bad_date", "bad_date", "Date", {**HOUR, "Date": "13/25/2026"},
        f"cannot read '13/25/2026' as a date: use {DATES} "
        "(with slashes the month comes first; for day-first dates pass --date-order dmy)"),
    Row("bad_time", "bad_time", "Start", {**HOUR, "Start": "25:00"},
        "cannot read '25:00' as a time: use HH:MM, HH:MM:SS or hh:mm AM/PM"),
    Row("no_date", "no_date", "Date", {"Start": "09:00", "End": "10:00"},
        "the row has a start time but no date: fill in the date"),
    Row("no_start", "no_start", "Date", {"Duration": "1:00"},
        "the row has no start date: fill in the date"),
    Row("no_start_time", "no_start_time", "Start", {"Date": "2026-11-02", "End": "10:00"},
        "the row has an end but no start time: fill in the start time"),
    Row("end_before_start", "end_before_start", "End", {**DAY, "Start": "11:00", "End": "10:00"},
        "the end (10:00) is before the start (2026-11-02 11:00): fill in the end date if the entry "
        "goes past midnight, or correct the times"),
    Row("end_before_start", "end_before_start", "End",
        {**DAY, "Start": "11:00", "End date": "2026-11-02", "End": "10:00"},
        "the end (2026-11-02 10:00) is before the start (2026-11-02 11:00): correct the times"),
    Row("too_long", "too_long", "End", {**DAY, "End date": "2026-12-15", "End": "10:00"},
        "the entry lasts 1,033.0 hours, and Toggl takes 999 at most: correct the end or the "
        "duration, or split the entry in two"),
    Row("too_long", "too_long", "Duration", {**DAY, "Duration": "1000:00"},
        "the entry lasts 1,000.0 hours, and Toggl takes 999 at most: correct the end or the "
        "duration, or split the entry in two"),
    Row("bad_duration", "bad_duration", "Duration", {**DAY, "Duration": "abc"},
        "cannot read 'abc' as a duration: use H:MM:SS, H:MM, decimal hours (1.5 or 1,5) or 1h 30m"),
    Row("ambiguous_duration", "ambiguous_duration", "Duration", {**DAY, "Duration": "1,234"},
        "'1,234' could be 1234 hours (a thousands separator) or 1.234 hours (a decimal comma): "
        "write 1234 or 1.234"),
    Row("no_duration", "no_duration", "End", DAY,
        "the row has neither an end time nor a duration (running timers are not imported): "
        "fill in one of them"),
    Row("bad_billable", "bad_billable", "Billable", {**HOUR, "Billable": "maybe"},
        "cannot read 'maybe' as billable: use yes/no, true/false, y/n, 1/0 (or ja/nein, oui/non, sí/no, "
        "sim/não)"),
    Row("nonexistent_time", "nonexistent_time", "Start",
        {"Date": "2026-03-29", "Start": "02:30", "Duration": "1:00"},
        "2026-03-29 02:30 does not exist in Europe/Berlin: the clocks jump forward over it (as when "
        "summer time starts); correct the time, or write it with its UTC offset"),
    Row("ambiguous_time", "ambiguous_time", "Start",
        {"Date": "2026-10-25", "Start": "02:30", "Duration": "1:00"},
        "2026-10-25 02:30 in Europe/Berlin happens twice (2026-10-25T00:30:00Z and "
        "2026-10-25T01:30:00Z): add an offset, for example 2026-10-25T02:30:00+02:00 or "
        "2026-10-25T02:30:00+01:00"),
    Row("unknown_client", "unknown_client", "Client", {**HOUR, "Client": "Acme Crop"},
        "client 'Acme Crop' not found; did you mean 'Acme Corp'?"),
    Row("unknown_client", "unknown_client", "Client", {**HOUR, "Client": "Zzyzx Ltd"},
        "client 'Zzyzx Ltd' not found: check the name, or use --create-missing to create it"),
    Row("ambiguous_project", "ambiguous_project", "Project", {**HOUR, "Project": "Website"},
        "project 'Website' is ambiguous: 'Website' (Acme Corp), 'Website' (Globex); fill in the "
        "client to choose one"),
    Row("unknown_project", "unknown_project", "Project",
        {**HOUR, "Project": "Suport", "Client": "Acme Corp"},
        "project 'Suport' not found for client 'Acme Corp'; did you mean 'Support'?"),
    Row("archived_project", "archived_project", "Project",
        {**HOUR, "Project": "Legacy Migration", "Client": "Globex"},
        "project 'Legacy Migration' is archived, and Toggl takes no entries on it: restore it in "
        "Toggl (Projects, show archived), or correct the cell to an active project"),
    Row("unknown_project", "unknown_project", "Project", {**HOUR, "Project": "Nowhere"},
        "project 'Nowhere' not found: check the name, or use --create-missing to create it"),
    Row("unknown_task", "unknown_task", "Task",
        {**HOUR, "Project": "Website", "Client": "Acme Corp", "Task": "Desing"},
        "task 'Desing' not found in its project; did you mean 'Design'?"),
    Row("unknown_task", "unknown_task", "Task",
        {**HOUR, "Project": "Website", "Client": "Acme Corp", "Task": "Quux"},
        "task 'Quux' not found in its project: check the name, or use --create-missing to create it"),
    Row("task_without_project", "task_without_project", "Task", {**HOUR, "Task": "Design"},
        "task 'Design' needs a project: fill in the project the task belongs to"),
    Row("unknown_user", "unknown_user", "Email", {**HOUR, "Email": "olivia@exmaple.com"},
        "no member of workspace 1234567 has the email 'olivia@exmaple.com'; did you mean "
        "'olivia@example.com' or 'max@example.com'?"),
    Row("unknown_user", "unknown_user", "Email", {**HOUR, "Email": "q@q.q"},
        "no member of workspace 1234567 has the email 'q@q.q': correct the email, or invite the "
        "person to the workspace in Toggl"),
]  # fmt: skip
FINE_ROW = len(ROWS) + 2
"""The row of ``rows.csv`` that would be posted; the one after it is the same entry again."""
COVERED.update(case.uses for case in ROWS)

# (file, row, uses, reason, column, message) of the other files' refused rows
OTHER_ROWS = [
    ("wide.csv", 2, "too_many_cells", "too_many_cells", None,
     "the header has 4 columns but the row has more cells than that: quote cells that contain the "
     "separator, or remove the extra cells"),
    ("wide.csv", 4, "too_many_cells", "too_many_cells", None,
     "the header has 4 columns but the row has 6 cells: quote cells that contain the separator, or "
     "remove the extra cells"),
    ("book.xlsx", 2, "date_out_of_range", "bad_date", "Date",
     "the date '0026-11-02' is outside the years 1970-2099: correct the year"),
]  # fmt: skip
COVERED.update(case[2] for case in OTHER_ROWS)


@dataclass
class RowRun:
    done: Done
    summary: dict[str, Any]
    report: dict[tuple[str, int], dict[str, str]]


@pytest.fixture(scope="module")
def row_run(server: Server, spy: Spy, tmp_path_factory: pytest.TempPathFactory) -> RowRun:
    folder = tmp_path_factory.mktemp("rows")
    fine = {**HOUR, "Description": "fine"}
    cells = [{**case.cells, "Description": f"case {i}"} for i, case in enumerate(ROWS)]
    write_csv(folder / "rows.csv", ROWS_HEADER, [*cells, fine, fine])
    (folder / "wide.csv").write_text(
        "Date,Start,End,Description\n2026-11-02,09:00,10:00,w1,EXTRA\n2026-11-02,11:00,12:00,w2\n"
        "2026-11-02,13:00,14:00,w3,X,Y\n",
        encoding="utf-8",
    )
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Date", "Start", "End", "Description"])
    sheet.append(["0026-11-02", dt.time(9), dt.time(10), "typo"])
    sheet.append([])
    sheet.append([dt.date(2026, 11, 2), dt.time(9), dt.time(10), "fine"])  # rows.csv's again
    book.save(folder / "book.xlsx")
    argv = run_args(server, "rows.csv", "wide.csv", "book.xlsx", "--json", "--report", "report.csv")
    done = invoke(argv, folder, {"TOGGL_API_TOKEN": server.sandbox.token})
    assert done.code == 1, done
    return RowRun(done, json.loads(done.out), report_rows(folder / "report.csv"))


def _assert_refused(run: RowRun, spy: Spy, file: str, row: int, uses: str, reason: str,
                    column: str | None, message: str) -> None:  # fmt: skip
    line = run.report[(file, row)]
    where = f"column {column!r}: " if column else ""
    assert (line["status"], line["message"]) == ("refused", where + message)
    example = f"{file} row {row}{f' [{column}]' if column else ''}: {message}"
    assert example in run.summary["examples"][reason]
    spy.check(uses, message)


@pytest.mark.parametrize(("row", "case"), list(enumerate(ROWS, start=2)),
                         ids=[f"{c.uses}-row{i}" for i, c in enumerate(ROWS, start=2)])  # fmt: skip
def test_a_refused_row_names_file_row_column_and_the_fix(
    row: int, case: Row, row_run: RowRun, spy: Spy
) -> None:
    _assert_refused(row_run, spy, "rows.csv", row, case.uses, case.reason, case.column, case.message)


@pytest.mark.parametrize("case", OTHER_ROWS, ids=[f"{c[2]}-{c[0]}-{c[1]}" for c in OTHER_ROWS])
def test_a_refused_row_of_a_wide_csv_or_a_workbook(case: tuple[Any, ...], row_run: RowRun, spy: Spy) -> None:
    _assert_refused(row_run, spy, *case)


def test_the_summary_counts_the_refusals_by_reason_code(row_run: RowRun) -> None:
    assert row_run.summary["refused_by_reason"] == {
        "bad_date": 2 + 1, "bad_time": 1, "no_date": 1, "no_start": 1, "no_start_time": 1,
        "end_before_start": 2, "too_long": 2, "bad_duration": 1, "ambiguous_duration": 1, "no_duration": 1,
        "bad_billable": 1, "nonexistent_time": 1, "ambiguous_time": 1, "unknown_client": 2,
        "ambiguous_project": 1, "archived_project": 1, "unknown_project": 2, "unknown_task": 2,
        "task_without_project": 1, "unknown_user": 2, "too_many_cells": 2,
    }  # fmt: skip


@uses("duplicate_row")
def test_the_same_entry_twice_is_a_duplicate_naming_the_first_row(row_run: RowRun) -> None:
    assert row_run.report[("rows.csv", FINE_ROW)]["status"] == "create"
    in_file = row_run.report[("rows.csv", FINE_ROW + 1)]
    other_file = row_run.report[("book.xlsx", 4)]
    assert (in_file["status"], in_file["message"]) == (
        "duplicate",
        f"same entry as row {FINE_ROW} of this run",
    )
    assert (other_file["status"], other_file["message"]) == (
        "duplicate",
        f"same entry as rows.csv row {FINE_ROW} of this run",
    )
    # the runner writes this text itself today: it must stay the one messages.duplicate_row makes
    assert in_file["message"] == PUBLIC["duplicate_row"](FINE_ROW, None)
    assert other_file["message"] == PUBLIC["duplicate_row"](FINE_ROW, "rows.csv")


@uses("bad_time")
def test_a_date_and_time_in_one_column_that_cannot_be_read(toggl: Toggl, tmp_path: Path, spy: Spy) -> None:
    (tmp_path / "stamps.csv").write_text("When,Duration,Description\n2026-11-02 25:61,1:00,x\n")
    done = toggl("stamps.csv", "--map", "start=When", "--report", "r.csv")
    message = (
        "cannot read '2026-11-02 25:61' as a date and time: use 2026-03-05 09:30, "
        "2026-03-05T09:30+01:00 or Jan 20 2026 6:25 PM"
    )
    assert report_rows(tmp_path / "r.csv")[("stamps.csv", 2)]["message"] == f"column 'When': {message}"
    assert f"stamps.csv row 2 [When]: {message}" in done.out
    spy.check("bad_time", message)


@uses("weekday_mismatch")
def test_a_date_on_another_weekday_than_it_says(toggl: Toggl, tmp_path: Path, spy: Spy) -> None:
    write_csv(
        tmp_path / "w.csv",
        ["Date", "Start", "End"],
        [{**HOUR, "Date": "Monday, January 20, 2026"}, {**HOUR, "Date": "Tuesday, January 20, 2026"}],
    )
    done = toggl("w.csv", "--report", "r.csv")
    message = ("'Monday, January 20, 2026' says Monday, but 20 January 2026 is a Tuesday: correct the "
               "date or the weekday")  # fmt: skip
    report = report_rows(tmp_path / "r.csv")
    assert report[("w.csv", 2)]["message"] == f"column 'Date': {message}"
    assert report[("w.csv", 3)]["status"] == "create"  # corrected as the message says
    spy.check("weekday_mismatch", message)
    assert done.code == 1


@uses("typo_not_created", "would_create", "new_name")
def test_create_missing_refuses_a_typo_and_plans_the_rest(toggl: Toggl, tmp_path: Path, spy: Spy) -> None:
    write_csv(tmp_path / "names.csv", ["Date", "Start", "End", "Client", "Project", "Task"],
              [{**HOUR, "Project": "Websit"}, {**HOUR, "Project": "Brand New"},
               {**HOUR, "Client": "Hooli", "Project": "Nucleus", "Task": "Compression"}])  # fmt: skip
    done = toggl("names.csv", "--create-missing", "--report", "r.csv")
    assert done.code == 1
    report = report_rows(tmp_path / "r.csv")
    typo = (
        "project 'Websit' not found and not created: it is one letter away from 'Website', which "
        "looks like a typo; fix the cell (did you mean 'Website'?), or create the project in Toggl first"
    )
    assert (report[("names.csv", 2)]["status"], report[("names.csv", 2)]["message"]) == (
        "refused",
        f"column 'Project': {typo}",
    )
    planned = "would be posted after creating project 'Brand New' (--create-missing)"
    assert (report[("names.csv", 3)]["status"], report[("names.csv", 3)]["message"]) == ("create", planned)
    chain = ("would be posted after creating client 'Hooli', project 'Nucleus', task 'Compression' "
             "(--create-missing)")  # fmt: skip
    assert (report[("names.csv", 4)]["status"], report[("names.csv", 4)]["message"]) == ("create", chain)
    listed = ("--create-missing: project 'Brand New' (would be created), client 'Hooli' (would be "
              "created), project 'Nucleus' under client 'Hooli' (would be created), task 'Compression' "
              "under project 'Nucleus' (would be created)")  # fmt: skip
    assert listed in done.out
    spy.check("typo_not_created", typo)
    spy.check("would_create", planned)
    spy.check("would_create", chain)
    spy.check("new_name", listed)


@uses("new_name")
def test_a_real_run_lists_what_it_created_under_what(server: Server, tmp_path: Path, spy: Spy) -> None:
    write_csv(tmp_path / "new.csv", ["Date", "Start", "End", "Client", "Project", "Task"],
              [{**HOUR, "Client": "Parity Co", "Project": "Parity Launch", "Task": "Kick-off"}])  # fmt: skip
    argv = [a for a in run_args(server, "new.csv", "--create-missing") if a != "--dry-run"]
    try:
        done = invoke(argv, tmp_path, {"TOGGL_API_TOKEN": server.sandbox.token})
    finally:
        server.reset()  # the names it made are for this case alone
    assert done.code == 0, done
    listed = ("created in Toggl: client 'Parity Co', project 'Parity Launch' under client 'Parity Co', "
              "task 'Kick-off' under project 'Parity Launch'")  # fmt: skip
    assert listed in done.out
    spy.check("new_name", listed)


@uses("not_workspace_admin")
def test_a_member_cannot_import_time_for_someone_else(toggl: Toggl, tmp_path: Path, spy: Spy) -> None:
    write_csv(tmp_path / "team.csv", ["Date", "Start", "End", "Email"],
              [{**HOUR, "Email": "olivia@example.com"}, {**HOUR, "Email": "max@example.com"}])  # fmt: skip
    done = toggl("team.csv", "--report", "r.csv", env={"TOGGL_API_TOKEN": "sandbox-member-token"})
    assert done.code == 1
    report = report_rows(tmp_path / "r.csv")
    message = ("the entry is for 'olivia@example.com', and only admins of workspace 1234567 can "
               "create entries for other people: run the import with an admin's API token, or that "
               "person's")  # fmt: skip
    assert (report[("team.csv", 2)]["status"], report[("team.csv", 2)]["message"]) == (
        "refused",
        f"column 'Email': {message}",
    )
    assert report[("team.csv", 3)]["status"] == "create"  # max's own entry
    assert f"team.csv row 2 [Email]: {message}" in done.out
    spy.check("not_workspace_admin", message)


@uses("description_too_long")
def test_a_description_longer_than_toggl_takes(toggl: Toggl, tmp_path: Path, spy: Spy) -> None:
    write_csv(tmp_path / "long.csv", ["Date", "Start", "End", "Notes"],
              [{**HOUR, "Notes": "x" * 3001}, {**HOUR, "Notes": "y" * 3000}])  # fmt: skip
    done = toggl("long.csv", "--report", "r.csv")
    assert done.code == 1
    report = report_rows(tmp_path / "r.csv")
    message = ("the description is 3,001 characters long, and Toggl takes 3000 at most: shorten the "
               "text in the cell")  # fmt: skip
    assert (report[("long.csv", 2)]["status"], report[("long.csv", 2)]["message"]) == (
        "refused",
        f"column 'Notes': {message}",
    )
    assert report[("long.csv", 3)]["status"] == "create"
    spy.check("description_too_long", message)


# -- names only a fake Toggl can hold, and the model's safety net ----------------------------------
class FakeToggl:
    """The listings name resolution reads: two clients of one name, two tasks of one name."""

    listings: ClassVar[dict[str, list[dict[str, Any]]]] = {
        "clients": [{"id": 1, "name": "Acme Corp"}, {"id": 2, "name": "Acme Corp"}],
        "projects": [{"id": 10, "name": "Website", "active": True, "client_id": None}],
        "tasks": [{"id": 20, "name": "Design", "active": True, "project_id": 10},
                  {"id": 21, "name": "Design", "active": True, "project_id": 10}],
        "workspace_users": [{"uid": 101, "email": "olivia@example.com"},
                            {"uid": -5, "email": "ghost@example.com"}],  # an id Toggl never sends
    }  # fmt: skip

    async def get_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        return self.listings[path.rsplit("/", 1)[1]]

    async def create_project(self, workspace_id: int, name: str, client_id: int | None = None) -> Any:
        raise AssertionError("nothing is created here")

    async def create_client(self, workspace_id: int, name: str) -> Any:
        raise AssertionError("nothing is created here")

    async def create_task(self, workspace_id: int, project_id: int, name: str) -> Any:
        raise AssertionError("nothing is created here")


async def planned_errors(path: Path) -> list[tuple[str, int, str | None, str, str]]:
    """(file, row, column, reason, message) of the refused rows: read, normalised and planned."""
    mapping = detect(read_header(path, display_name=path.name), file=path.name)
    planner = Planner(Resolver(FakeToggl(), WID), WID, created_with="toggl-import", columns=mapping.columns)
    found = []
    for raw in iter_chunks(path, display_name=path.name):
        plan = await planner.plan(normalize(raw, mapping, timezone="UTC"))
        found += [(e.file, e.row, e.column, e.reason, e.message) for e in plan.errors]
    return found


@uses("ambiguous_client", "ambiguous_task", "invalid_entry")
async def test_names_toggl_holds_twice_and_an_id_the_model_refuses(tmp_path: Path, spy: Spy) -> None:
    path = write_csv(tmp_path / "t.csv", ["Date", "Start", "End", "Client", "Project", "Task", "Email"], [
        {**HOUR, "Client": "Acme Corp"},
        {**HOUR, "Project": "Website", "Task": "Design"},
        {**HOUR, "Email": "ghost@example.com"},
    ])  # fmt: skip
    errors = await planned_errors(path)
    assert errors == [
        ("t.csv", 2, "Client", "ambiguous",
         "client 'Acme Corp' matches 2 clients: rename or archive all but one of them in Toggl"),
        ("t.csv", 3, "Task", "ambiguous_task",
         "task 'Design' matches 2 tasks of its project: rename or archive all but one of them in Toggl"),
        ("t.csv", 4, "Email", "invalid_entry",
         "Toggl would refuse this entry: Input should be greater than 0"),
    ]  # fmt: skip
    names = ("ambiguous_client", "ambiguous_task", "invalid_entry")
    for name, (*_, message) in zip(names, errors, strict=True):
        spy.check(name, message)


class RefusingToggl(FakeToggl):
    """Toggl that refuses to create projects (a name taken meanwhile, no permission, ...)."""

    def __init__(self) -> None:
        self.creates = 0

    async def create_project(self, workspace_id: int, name: str, client_id: int | None = None) -> Any:
        self.creates += 1
        raise PermanentError("POST /projects: 400", status=400, text="Name has already been taken")


@uses("create_refused")
async def test_a_name_toggl_refuses_to_create_refuses_its_rows_and_is_asked_once(
    tmp_path: Path, spy: Spy
) -> None:
    path = write_csv(tmp_path / "t.csv", ["Date", "Start", "End", "Description", "Project"], [
        {**HOUR, "Description": "a", "Project": "Zephyr"},
        {**HOUR, "Description": "b", "Project": "Zephyr"},
    ])  # fmt: skip
    toggl = RefusingToggl()
    mapping = detect(read_header(path, display_name=path.name), file=path.name)
    resolver = Resolver(toggl, WID, create_missing=True)
    planner = Planner(resolver, WID, created_with="toggl-import", columns=mapping.columns)
    errors = []
    for raw in iter_chunks(path, display_name=path.name):
        plan = await planner.plan(normalize(raw, mapping, timezone="UTC"))
        errors += [(e.row, e.column, e.reason, e.message) for e in plan.errors]
    message = ("project 'Zephyr' not found, and Toggl refused to create it (Name has already been "
               "taken): create it in Toggl, or correct the cell to an existing project")  # fmt: skip
    assert errors == [(2, "Project", "create_refused", message), (3, "Project", "create_refused", message)]
    assert toggl.creates == 1
    spy.check("create_refused", message)


# -- whole files: one line, exit 2 -------------------------------------------------------------------
def _zip(path: Path, *names: str) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")


OLE = bytes.fromhex("d0cf11e0a1b11ae1")
WORD = "word/document.xml"
UTF16 = b"\xff\xfe" + "Date,Start,End\n2026-11-02,09:00,10:00\n".encode("utf-16-le")


def put(name: str, data: bytes | str) -> Callable[[Path], Any]:
    """Write ``data`` to ``name`` in the test's folder."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return lambda folder: (folder / name).write_bytes(raw)


QUOTE_FIX = 'a quoted cell is never closed: its " has no closing quote; close it (write "" for a quote inside a cell), or remove it'  # noqa: E501
FILES: dict[str, tuple[str, str, Callable[[Path], Any], str]] = {
    # case: (message function, FILE argument, make it in tmp_path, what stderr says)
    "missing": ("no_such_file", "nowhere.csv", lambda t: None,
                "nowhere.csv: file not found: check the path"),
    "folder": ("is_a_folder", "folder.csv", lambda t: (t / "folder.csv").mkdir(),
               "folder.csv: this is a folder, not a timesheet file: give the path of a file in it"),
    "pdf suffix": ("unsupported_type", "times.pdf", put("times.pdf", b"%PDF-1.7"),
                   f"times.pdf: unsupported file type '.pdf': {FIX_KIND}"),
    "empty": ("empty_file", "empty.csv", put("empty.csv", b"\r\n \n"),
              "empty.csv: the file is empty: export the timesheet again (it needs a header row and at "
              "least one entry)"),
    "only separators": ("blank_lines_only", "blank.csv", put("blank.csv", ",,\n,,\n"),
                        "blank.csv: the file holds only blank lines: export the timesheet again, with its "
                        "header row"),
    "header only": ("header_only", "head.csv", put("head.csv", "Date,Start,End\n"),
                    "head.csv: the file has a header but no entries: nothing to import (export the "
                    "timesheet again with the rows you want)"),
    "huge first line": ("header_too_long", "huge.csv", put("huge.csv", b"a" * (4 * 1024 * 1024 + 10)),
                        "huge.csv: the first line is longer than 4 MiB, which is not a timesheet header: "
                        f"check that this is the timesheet, or {FIX_KIND}"),
    "pdf as csv": ("not_a_timesheet", "report.csv", put("report.csv", b"%PDF-1.7\n"),
                   f"report.csv: the file is a PDF document, not a timesheet: {FIX_KIND}"),
    "word as xlsx": ("not_a_spreadsheet", "letter.xlsx", lambda t: _zip(t / "letter.xlsx", WORD),
                     f"letter.xlsx: the file is a Word document, not a spreadsheet: {FIX_KIND}"),
    "binary": ("binary_file", "photo.csv", put("photo.csv", bytes(range(256)) * 40),
               f"photo.csv: the file is binary, not a text timesheet: {FIX_KIND}"),
    "damaged zip": ("damaged_zip", "broken.xlsx", put("broken.xlsx", b"PK\x03\x04" + bytes(99)),
                    "broken.xlsx: the file is a damaged zip or workbook: open it in Excel and save it "
                    f"again, or {FIX_KIND}"),
    "encrypted": ("password_protected", "locked.xlsx",
                  put("locked.xlsx", OLE + bytes(200) + "EncryptionInfo".encode("utf-16-le")),
                  "locked.xlsx: the workbook is password-protected: open it in Excel, remove the password "
                  "(File > Info > Protect Workbook > Encrypt with Password, clear it) and save, or export "
                  "it as CSV"),
    "not a workbook": ("unreadable_workbook", "odd.xls", put("odd.xls", OLE + bytes(4000)),
                       "odd.xls: the file looks like an Office file but is not a readable workbook (password-"
                       "protected, or not really an .xlsx/.xls/.ods): open it in Excel and save it as .xlsx "
                       "or CSV (*)"),
    "empty sheet": ("empty_worksheet", "blank.xlsx", lambda t: openpyxl.Workbook().save(t / "blank.xlsx"),
                    "blank.xlsx: the first worksheet is empty: put the timesheet on the first sheet, header "
                    "first"),
    "not utf-8 after a BOM": ("bad_utf8_line", "enc.csv",
                              put("enc.csv", b"\xef\xbb\xbfDate,Start,End\n2026-11-02,09:00,caf\xe9\n"),
                              "enc.csv: line 2 is not valid UTF-8 ('2026-11-02,09:00,caf\ufffd': invalid "
                              "continuation byte): save the file again as UTF-8 (in Excel: Save As, then CSV "
                              "UTF-8)"),
    "utf-16 cut short": ("bad_encoding", "u16.csv", put("u16.csv", UTF16 + b"\x00"),
                         "u16.csv: the file is not valid UTF-16 text separated by commas (truncated data): "
                         "save it again as UTF-8 (in Excel: Save As, then CSV UTF-8)"),
    "unclosed quote": ("unclosed_quote", "quote.csv",
                       put("quote.csv", 'Date,Start,End,Notes\n2026-11-02,09:00,10:00,a\n'
                                        '2026-11-02,10:00,11:00,"open\n2026-11-02,11:00,12:00,b\n'),
                       f"quote.csv, row 3: {QUOTE_FIX}"),
    "unclosed quote at once": ("unclosed_quote", "first.csv",
                               put("first.csv", 'Date,Start,End,Notes\n2026-11-02,09:00,10:00,"open\nx'),
                               f"first.csv, row 2: {QUOTE_FIX}"),
}  # fmt: skip
COVERED.update(case[0] for case in FILES.values())


@pytest.mark.parametrize("case", list(FILES))
def test_a_file_that_cannot_be_read_is_refused_in_one_line(
    case: str, toggl: Toggl, tmp_path: Path, spy: Spy
) -> None:
    name, argument, make, expected = FILES[case]
    make(tmp_path)
    done = toggl(argument)
    assert (done.code, done.out) == (2, "")
    pattern = re.escape(f"toggl-import: {expected}\n").replace(re.escape("(*)"), r"\(.+\)")
    assert re.fullmatch(pattern, done.err), done.err
    spy.check(name, done.err)


@uses("permission_denied")
def test_a_file_the_user_cannot_read(
    toggl: Toggl, tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secret.csv").write_text("Date,Start,End\n2026-11-02,09:00,10:00\n")
    real_open = Path.open

    def deny(self: Path, *args: Any, **kwargs: Any) -> Any:  # as for a user (root reads any file)
        if self.name == "secret.csv":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    done = toggl("secret.csv")
    assert (done.code, done.err) == (
        2,
        "toggl-import: secret.csv: permission denied: make the file readable for your user\n",
    )
    spy.check("permission_denied", done.err)


@uses("cannot_open")
def test_a_path_the_system_cannot_open(tmp_path: Path, spy: Spy) -> None:
    path = tmp_path / ("a" * 300 + ".csv")
    with pytest.raises(UnreadableFileError) as refused:
        read_header(path, display_name="long.csv")
    assert str(refused.value) == (
        "long.csv: cannot open the file (File name too long): check the path, and that the file is readable"
    )
    spy.check("cannot_open", str(refused.value))


@uses("unreadable_text")
def test_text_the_csv_parser_gives_up_on(
    toggl: Toggl, tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "odd.csv").write_text("Date,Start,End\n2026-11-02,09:00,10:00\n")

    def give_up(*args: Any, **kwargs: Any) -> Any:  # no real file is known to get here: say what would
        raise pd.errors.ParserError("Error tokenizing data. C error: out of memory")

    monkeypatch.setattr(pd, "read_csv", give_up)
    done = toggl("odd.csv")
    assert (done.code, done.err) == (2, (
        "toggl-import: odd.csv: cannot read the file as UTF-8 text separated by commas (Error "
        f"tokenizing data. C error: out of memory): {FIX_KIND}\n"
    ))  # fmt: skip
    spy.check("unreadable_text", done.err)


# -- columns, options, config and environment: one line, exit 2 ------------------------------------
HEADER_TIMES = "Date,Start,End\n2026-11-02,09:00,10:00\n"
PRESET_LIST = "auto, toggl, toggl-import, clockify, harvest, jira, generic"
FIELD_LIST = ("start, start_date, start_time, end, end_date, end_time, duration, description, project, "
              "client, task, tags, billable, email, user, issue, summary, key")  # fmt: skip


@dataclass(frozen=True)
class Usage:
    uses: str
    args: tuple[str, ...]
    expected: str
    files: tuple[tuple[str, str], ...] = (("t.csv", HEADER_TIMES),)
    env: dict[str, str] | None = None
    timezone: str | None = "Europe/Berlin"


TOML = "c.toml"
USAGE = {
    "preset in config": Usage("unknown_preset", ("t.csv", "--config", TOML),
                              f"unknown preset 'excel': choose one of {PRESET_LIST}",
                              (("t.csv", HEADER_TIMES), (TOML, '[import]\npreset = "excel"\n'))),
    "map without =": Usage("bad_map_option", ("t.csv", "--map", "duration"),
                           "--map 'duration' is not FIELD=COLUMN: write it like --map "
                           'duration="Time spent"'),
    "map unknown field": Usage("unknown_map_field", ("t.csv", "--map", "begin=Start"),
                               f"--map begin=...: unknown field; use one of {FIELD_LIST}"),
    "map unknown column": Usage("map_no_such_column", ("t.csv", "--map", "duration=Time"),
                                "--map duration='Time': no such column; t.csv has the columns 'Date', "
                                "'Start', 'End': name one of them"),
    "key unknown column": Usage("key_no_such_column", ("t.csv", "--key", "Worklog ID2"),
                                "--key 'Worklog ID2': no such column; t.csv has the columns 'Date', "
                                "'Start', 'End': name the one that holds each row's id"),
    "max-deletes without mirror": Usage("max_deletes_without_mirror", ("t.csv", "--max-deletes", "100"),
                                        "--max-deletes limits what --mirror deletes, and this run does not "
                                        "mirror: add --mirror, or leave --max-deletes out"),
    "unknown header": Usage("unusable_header", ("odd.csv",),
                            "cannot tell which columns hold the start and the length of each entry "
                            "(generic preset): odd.csv has the columns 'When', 'Length', 'What'; name them, "
                            'for example --map start_date="When" --map duration="Length"',
                            (("odd.csv", "When,Length,What\n2026-11-16 09:00,1:00,x\n"),)),
    "title above an unknown header": Usage(
        "unusable_title", ("odd.csv",),
        "cannot tell which columns hold the start and the length of each entry (generic preset): odd.csv "
        "has the columns 'Ada Lovelace: November 2026' in row 1, and no row below it down to row 3 looks "
        "like a header either; if the header is further down, pass --header-row with its row number, else "
        'name the columns, for example --map start_date="<column>" --map duration="<column>"',
        (("odd.csv", "Ada Lovelace: November 2026\nWhen,Length,What\n2026-11-16 09:00,1:00,x\n"),)),
    "no timezone": Usage("no_timezone", ("t.csv",),
                         "t.csv, row 2, column 'Start': times such as '09:00' have no UTC offset: pass "
                         "--timezone with the zone they were recorded in, for example --timezone "
                         "Europe/Berlin", timezone=None),
    "unknown timezone": Usage("unknown_timezone", ("t.csv",),
                              "unknown time zone 'Europe/Berln': use an IANA name such as Europe/Berlin",
                              timezone="Europe/Berln"),
    "date order in config": Usage("unknown_date_order", ("t.csv", "--config", TOML),
                                  "unknown date order 'ymd': choose one of mdy, dmy, auto",
                                  (("t.csv", HEADER_TIMES), (TOML, '[import]\ndate_order = "ymd"\n'))),
    "rate 0": Usage("bad_rate", ("t.csv", "--rate", "0"),
                    "rate 0 is not above 0: give requests per second, for example --rate 1"),
    "concurrency 0": Usage("bad_concurrency", ("t.csv", "--concurrency", "0"),
                           "concurrency 0 is below 1: give the requests in flight, for example "
                           "--concurrency 4"),
    "quota reserve -1": Usage("bad_quota_reserve", ("t.csv", "--quota-reserve", "-1"),
                              "quota reserve -1 is below 0: give the requests of every hourly window to "
                              "leave unused, for example --quota-reserve 50 (default 0)"),
    "workspace 0": Usage("bad_workspace_id", ("t.csv", "--workspace-id", "0"),
                         "workspace id 0 is not a positive number: use the number in the Toggl URL "
                         "(track.toggl.com/.../workspaces/N)"),
    "blank created_with": Usage("empty_created_with", ("t.csv", "--config", TOML),
                                'created_with is empty: name the application, or leave it out (default '
                                '"toggl-import")',
                                (("t.csv", HEADER_TIMES), (TOML, '[import]\ncreated_with = " "\n'))),
    "ftp url": Usage("not_an_http_url", ("t.csv", "--api-url", "ftp://example.com/api/v9"),
                     "API URL 'ftp://example.com/api/v9' is not an http(s) URL: use for example "
                     "https://api.track.toggl.com/api/v9"),
    "plain http": Usage("plain_http", ("t.csv", "--api-url", "http://toggl.example.com/api/v9"),
                        "refusing plain http to toggl.example.com: the token would travel unencrypted; "
                        "use https (plain http is for loopback only)"),
    "no config file": Usage("config_not_found", ("t.csv", "--config", "nope.toml"),
                            "config file nope.toml does not exist: check the path given to --config"),
    "config not toml": Usage("config_not_toml", ("t.csv", "--config", TOML),
                             "config file c.toml is not valid TOML (*): fix it, see config.example.toml",
                             (("t.csv", HEADER_TIMES), (TOML, "[import\n"))),
    "config no section": Usage("config_not_a_section", ("t.csv", "--config", TOML),
                               "config file c.toml: 'preset' is not a [section]: put settings under [api], "
                               "[import], [limits], [columns] or [tokens]",
                               (("t.csv", HEADER_TIMES), (TOML, 'preset = "auto"\n'))),
    "tokens key not an email": Usage(
        "token_not_an_email", ("t.csv", "--config", TOML),
        "c.toml: [tokens] maps a person's email to the name of an environment variable, and 'ana' is not "
        'an email: write it like "ana@example.com" = "TOGGL_TOKEN_ANA"',
        (("t.csv", HEADER_TIMES), (TOML, '[tokens]\nana = "TOGGL_TOKEN_ANA"\n'))),
    "tokens value a token": Usage(
        "token_not_a_variable", ("t.csv", "--config", TOML),
        "c.toml: [tokens] for ana@example.com must name an environment variable (letters, digits and _), "
        "not hold the token itself: put the token in an environment variable, e.g. TOGGL_TOKEN_ANA, and "
        "write its name there",
        (("t.csv", HEADER_TIMES), (TOML, '[tokens]\n"ana@example.com" = "1f2e-3d4c/5b6a"\n'))),
    "tokens variable unset": Usage(
        "token_variable_unset", ("t.csv", "--config", TOML),
        "the API token of ana@example.com is to come from the environment variable TOK_ANA, which is not "
        "set: export TOK_ANA=... (their Toggl Profile settings → API Token), or remove the line from "
        "[tokens]",
        (("t.csv", HEADER_TIMES), (TOML, '[tokens]\n"ana@example.com" = "TOK_ANA"\n'))),
    "config token": Usage("config_has_credentials", ("t.csv", "--config", TOML),
                          "config file c.toml: credentials do not go in the config file; set TOGGL_API_TOKEN "
                          "(or TOGGL_EMAIL and TOGGL_PASSWORD) in the environment",
                          (("t.csv", HEADER_TIMES), (TOML, '[api]\ntoken = "secret"\n'))),
    "config unknown": Usage("config_unknown_setting", ("t.csv", "--config", TOML),
                            "config file c.toml: unknown setting [import] colour: see config.example.toml "
                            "for the settings there are",
                            (("t.csv", HEADER_TIMES), (TOML, '[import]\ncolour = "red"\n'))),
    "config bad value": Usage("bad_setting", ("t.csv", "--config", TOML),
                              "setting concurrency has an invalid value 'many': use a whole number",
                              (("t.csv", HEADER_TIMES), (TOML, '[limits]\nconcurrency = "many"\n'))),
    "no credentials": Usage("no_credentials", ("t.csv",),
                            "no credentials: set TOGGL_API_TOKEN (Toggl Track → Profile settings → API "
                            "Token), or TOGGL_EMAIL and TOGGL_PASSWORD", env={}),
    "report folder missing": Usage("cannot_write", ("t.csv", "--report", "out/r.csv"),
                                   "--report out/r.csv: cannot write it (No such file or directory): give a "
                                   "file path in a folder that exists"),
    "report over the timesheet": Usage("output_is_input", ("t.csv", "--report", "t.csv"),
                                       "--report t.csv is the timesheet t.csv: writing there would "
                                       "destroy it; give another file name"),
    "payloads over the ledger": Usage("output_is_input", ("t.csv", "--emit-payloads", "l.sqlite"),
                                      "--emit-payloads l.sqlite is the ledger: writing there would "
                                      "destroy it; give another file name"),
    "log over the report": Usage("output_is_input", ("t.csv", "--report", "o.csv", "--log-file",
                                                     "./o.csv"),
                                 "--log-file o.csv is the file of --report: writing there would "
                                 "destroy it; give another file name"),
    "payloads folder missing": Usage("cannot_write", ("t.csv", "--emit-payloads", "out/p.jsonl"),
                                     "--emit-payloads out/p.jsonl: cannot write it (No such file or "
                                     "directory): give a file path in a folder that exists"),
    "since not a date": Usage("bad_date_option", ("t.csv", "--since", "2026-13-01"),
                              "since '2026-13-01' is not a date: write it as YYYY-MM-DD, for example "
                              "--since 2026-01-31 (in the config file: since = 2026-01-31)"),
    "until in config": Usage("bad_date_option", ("t.csv", "--config", TOML),
                             "until '31.01.2026' is not a date: write it as YYYY-MM-DD, for example "
                             "--until 2026-01-31 (in the config file: until = 2026-01-31)",
                             (("t.csv", HEADER_TIMES), (TOML, '[import]\nuntil = "31.01.2026"\n'))),
    "since after until": Usage("since_after_until",
                               ("t.csv", "--since", "2026-11-03", "--until", "2026-11-01"),
                               "--since 2026-11-03 is after --until 2026-11-01, so no row could be "
                               "imported: swap them"),
    "only-email no address": Usage("bad_only_email", ("t.csv", "--only-email", "olivia"),
                                   "--only-email 'olivia' is not an email address: give the email as the "
                                   "file writes it, for example --only-email ana@example.com",
                                   (("t.csv", "Date,Start,End,Email\n2026-11-02,09:00,10:00,"
                                              "olivia@example.com\n"),)),
    "header row 0": Usage("bad_header_row", ("t.csv", "--header-row", "0"),
                          "header row 0 is not a row number: give the spreadsheet row of the header, 1 for "
                          "the first, for example --header-row 3"),
    "jira day of 0 hours": Usage("bad_jira_day_hours", ("t.csv", "--config", TOML),
                                 "jira_day_hours 0 is not a number of hours from 0 to 24: give the hours "
                                 "of a working day in Jira, for example jira_day_hours = 8",
                                 (("t.csv", HEADER_TIMES), (TOML, "[import]\njira_day_hours = 0\n"))),
    "header row empty": Usage("header_row_empty", ("t.csv", "--header-row", "3"),
                              "t.csv: --header-row 3: row 3 is empty or past the end (rows 1 and 2 have "
                              "cells): pass the number of the row with the column names"),
    "preset without its date": Usage(
        "preset_needs_column", ("t.csv", "--preset", "toggl-import"),
        "t.csv: the toggl-import preset reads the date from a column 'Start date', and the header has the "
        "columns 'Email', 'Date', 'Start time', 'Duration': name the column that holds it, for example "
        '--map start_date="Date", or pass --preset generic',
        (("t.csv", "Email,Date,Start time,Duration\nolivia@example.com,2026-11-02,09:00,1:00\n"),)),
    "only-email without emails": Usage(
        "only_email_no_column", ("t.csv", "--only-email", "olivia@example.com"),
        "t.csv: --only-email picks rows by their email, and no column holds one (the columns 'Date', "
        "'Start', 'End', 'Who'): name it with --map email=COLUMN",
        (("t.csv", "Date,Start,End,Who\n2026-11-02,09:00,10:00,olivia@example.com\n"),)),
}  # fmt: skip
COVERED.update(case.uses for case in USAGE.values())


@pytest.mark.parametrize("case", list(USAGE))
def test_a_wrong_option_or_setting_says_the_fix_in_one_line(
    case: str, toggl: Toggl, tmp_path: Path, spy: Spy
) -> None:
    usage = USAGE[case]
    for name, text in usage.files:
        (tmp_path / name).write_text(text, encoding="utf-8")
    done = toggl(*usage.args, timezone=usage.timezone, env=usage.env)
    assert (done.code, done.out) == (2, "")
    pattern = re.escape(f"toggl-import: {usage.expected}\n").replace(re.escape("(*)"), r"\(.+\)")
    assert re.fullmatch(pattern, done.err), done.err
    spy.check(usage.uses, done.err)


ADVICE_FOLLOWED = {  # a case of USAGE: the options its advice says to add instead of the wrong ones
    "since not a date": ("--since", "2026-01-31"),
    "since after until": ("--since", "2026-11-01", "--until", "2026-11-03"),
    "only-email no address": ("--only-email", "olivia@example.com"),
    "header row 0": ("--header-row", "1"),
    "header row empty": ("--header-row", "1"),
    "preset without its date": ("--preset", "toggl-import", "--map", "start_date=Date"),
    "only-email without emails": ("--only-email", "olivia@example.com", "--map", "email=Who"),
    "map unknown column": ("--map", "duration=End"),
    "key unknown column": ("--key", "Start"),
    "max-deletes without mirror": ("--max-deletes", "100", "--mirror"),
    "unknown header": ("--map", "start_date=When", "--map", "duration=Length"),
}


@pytest.mark.parametrize("case", list(ADVICE_FOLLOWED))
def test_following_the_advice_of_a_refusal_works(case: str, toggl: Toggl, tmp_path: Path) -> None:
    usage = USAGE[case]
    for name, text in usage.files:
        (tmp_path / name).write_text(text, encoding="utf-8")
    file = usage.files[0][0]
    done = toggl(file, *ADVICE_FOLLOWED[case], "--emit-payloads", "p.jsonl", timezone=usage.timezone)
    assert done.code == 0, done
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 1


def test_following_a_preset_refusal_to_the_generic_preset_works(toggl: Toggl, tmp_path: Path) -> None:
    _, _, expected, files, *_ = USAGE["preset without its date"].__dict__.values()
    (tmp_path / "t.csv").write_text(files[0][1], encoding="utf-8")
    assert "or pass --preset generic" in expected
    assert toggl("t.csv", "--preset", "generic").code == 0


def test_the_shapes_a_refusal_lists_are_read(tmp_path: Path) -> None:
    """Every example the date, date-time and duration refusals give reads as what it shows."""
    dates = re.findall(r"\d\d? \w{3} \d{4}|\d\d?-\w{3}-\d\d|\w+ \d\d? \d{4}", messages.DATE_FORMATS)
    stamps = [s.strip() for s in re.split(r",|\bor\b", messages.STAMP_FORMATS)]
    assert dates == ["20 Jan 2026", "20-Jan-26", "January 20 2026"] and len(stamps) == 3
    rows = [*(f"{d},09:00,1:00" for d in dates), *(f",{s},1:00" for s in stamps),
            "2026-01-20,09:00,1.5", '2026-01-20,09:00,"1,5"', "2026-01-20,09:00,1h 30m",
            "Tuesday 20 January 2026,09:00,1:00"]  # the weekday corrected  # fmt: skip
    path = tmp_path / "t.csv"
    path.write_text("Date,Start,Duration\n" + "\n".join(rows) + "\n", encoding="utf-8")
    mapping = detect(read_header(path))
    [chunk] = [normalize(c, mapping, timezone="UTC") for c in iter_chunks(path)]
    assert chunk.errors == []
    starts = chunk.start_text().tolist()
    assert starts[:3] == ["2026-01-20T09:00:00Z"] * 3
    assert starts[3:6] == ["2026-03-05T09:30:00Z", "2026-03-05T08:30:00Z", "2026-01-20T18:25:00Z"]
    assert chunk.duration.tolist()[6:9] == [5400] * 3


@uses("header_row_empty", "no_such_sheet", "sheet_empty")
@pytest.mark.parametrize(("args", "expected", "fixed"), [
    (("--sheet", "Hours"),
     "book.xlsx: --sheet 'Hours': no such sheet; the workbook has 'Cover', 'Stunden', 'Leer': name one "
     "of them, or give its number (--sheet 1 for the first)", ("--sheet", "Stunden")),
    (("--sheet", "9"),
     "book.xlsx: --sheet '9': no such sheet; the workbook has 'Cover', 'Stunden', 'Leer': name one of "
     "them, or give its number (--sheet 1 for the first)", ("--sheet", "2")),
    (("--sheet", "Leer"),
     "book.xlsx: sheet 'Leer' is empty: pass --sheet with the sheet of the timesheet (one of 'Cover', "
     "'Stunden', 'Leer')", ("--sheet", "stunden")),
    (("--sheet", "Stunden", "--header-row", "2"),
     "book.xlsx: --header-row 2: row 2 is empty or past the end (rows 1, 3 and 4 have cells): pass the "
     "number of the row with the column names", ("--sheet", "Stunden", "--header-row", "3")),
])  # fmt: skip
def test_a_sheet_or_header_row_that_is_not_there_says_what_is(
    args: tuple[str, ...], expected: str, fixed: tuple[str, ...], toggl: Toggl, tmp_path: Path, spy: Spy
) -> None:
    workbook(tmp_path / "book.xlsx", ("Cover", [["Stundenzettel 2026"]]),
             ("Stunden", [["Ada Lovelace, November"], [], ["Tag der Arbeit", "Arbeitszeit"],
                          [dt.date(2026, 11, 2), 1.5]]),
             ("Leer", []))  # fmt: skip
    done = toggl("book.xlsx", *args)
    assert (done.code, done.out, done.err) == (2, "", f"toggl-import: {expected}\n")
    spy.check("sheet_empty" if "empty:" in expected else "header_row_empty" if "row" in args[-2]
              else "no_such_sheet", done.err)  # fmt: skip
    names = ("--map", "start_date=Tag der Arbeit", "--map", "duration=Arbeitszeit")
    followed = toggl("book.xlsx", *fixed, *names)
    assert followed.code == 0, followed


def test_following_the_title_advice_with_header_row_sheet_or_map_works(toggl: Toggl, tmp_path: Path) -> None:
    """The unusable_title advice: --header-row (and --sheet), else --map with the header's names."""
    workbook(tmp_path / "odd.xlsx", ("Cover", [["Timesheet"], ["Day", "Worked"], [dt.date(2026, 11, 2), 1]]),
             ("Notes", [["just", "notes"]]))  # fmt: skip
    (tmp_path / "odd.csv").write_text("Ada Lovelace: November 2026\nWhen,Length,What\n"
                                      "2026-11-16 09:00,1:00,x\n")  # fmt: skip
    for args in (("odd.csv", "--header-row", "2", "--map", "start=When", "--map", "duration=Length"),
                 ("odd.csv", "--map", "start=When", "--map", "duration=Length"),
                 ("odd.xlsx", "--sheet", "Cover", "--header-row", "2", "--map", "duration=Worked"),
                 ("odd.xlsx", "--map", "start_date=Day", "--map", "duration=Worked")):  # fmt: skip
        done = toggl(*args, "--emit-payloads", "p.jsonl")
        assert done.code == 0, (args, done)
        assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 1


@uses("read_by_content")
def test_a_file_that_is_not_what_its_name_says_is_read_by_content_with_a_note(
    toggl: Toggl, tmp_path: Path, spy: Spy
) -> None:
    text = "Date,Start,End,Description\n2026-11-02,09:00,10:00,by content\n"
    (tmp_path / "text.xlsx").write_text(text)
    workbook(
        tmp_path / "book.csv",
        (
            "Sheet1",
            [["Date", "Start", "End", "Description"], [dt.date(2026, 11, 3), dt.time(9), dt.time(10), "zip"]],
        ),
    )
    done = toggl("text.xlsx", "book.csv", "--emit-payloads", "p.jsonl")
    assert done.code == 0, done
    notes = [n for n in notes_in(done) if NO_LEDGER not in n]
    assert notes == [
        "note: text.xlsx: the file is UTF-8 text separated by commas, though named .xlsx: it is read as "
        "such; rename it to match if other programs are to open it",
        "note: book.csv: the file is an XLSX workbook, though named .csv: it is read as such; rename it "
        "to match if other programs are to open it",
    ]
    for note in notes:
        spy.check("read_by_content", note)
    before = (tmp_path / "p.jsonl").read_text()
    (tmp_path / "text.xlsx").rename(tmp_path / "text.csv")  # the advice
    (tmp_path / "book.csv").rename(tmp_path / "book.xlsx")
    renamed = toggl("text.csv", "book.xlsx", "--emit-payloads", "p.jsonl")
    assert [n for n in notes_in(renamed) if NO_LEDGER not in n] == []
    assert (tmp_path / "p.jsonl").read_text() == before.replace("text.xlsx", "text.csv").replace(
        "book.csv", "book.xlsx"
    )


@uses("skipped_before_since", "skipped_after_until", "skipped_other_email")
def test_rows_outside_since_until_or_only_email_are_skipped_saying_why(tmp_path: Path, spy: Spy) -> None:
    path = write_csv(tmp_path / "t.csv", ["Date", "Start", "Duration", "Email"], [
        {"Date": "2025-12-31", "Start": "09:00", "Duration": "1:00", "Email": "ana@example.com"},
        {"Date": "2026-01-05", "Start": "09:00", "Duration": "1:00", "Email": "Ana@Example.com"},
        {"Date": "2026-02-01", "Start": "09:00", "Duration": "1:00", "Email": "ana@example.com"},
        {"Date": "2026-01-06", "Start": "09:00", "Duration": "1:00", "Email": "bo@example.com"},
    ])  # fmt: skip
    mapping = detect(read_header(path, display_name="t.csv"))
    window = {"since": dt.date(2026, 1, 1), "until": dt.date(2026, 1, 31)}
    [chunk] = [normalize(raw, mapping, timezone="UTC", **window, only_email=["ana@example.com"])
               for raw in iter_chunks(path, display_name="t.csv")]  # fmt: skip
    assert chunk.rows.tolist() == [3] and chunk.errors == []
    assert [(e.row, e.column, e.reason, e.message) for e in chunk.skipped] == [
        (2, "Date", "skipped", "before --since 2026-01-01"),
        (4, "Date", "skipped", "after --until 2026-01-31"),
        (5, "Email", "skipped", "not one of --only-email ana@example.com"),
    ]
    for name, error in zip(("skipped_before_since", "skipped_after_until", "skipped_other_email"),
                           chunk.skipped, strict=True):  # fmt: skip
        spy.check(name, error.message)


def test_a_dry_run_with_since_until_and_only_email_posts_the_rows_inside(
    toggl: Toggl, tmp_path: Path
) -> None:
    write_csv(tmp_path / "t.csv", ["Date", "Start", "End", "Email"], [
        {**HOUR, "Date": "2026-10-31", "Email": "olivia@example.com"},
        {**HOUR, "Email": "olivia@example.com"},
        {**HOUR, "Date": "2026-11-03", "Start": "99:00", "Email": "olivia@example.com"},  # skipped wins
        {**HOUR, "Email": "max@example.com"},
    ])  # fmt: skip
    done = toggl("t.csv", "--since", "2026-11-01", "--until", "2026-11-02", "--only-email",
                 "OLIVIA@example.com", "--emit-payloads", "p.jsonl")  # fmt: skip
    assert done.code == 0, done
    assert [json.loads(line)["row"] for line in (tmp_path / "p.jsonl").read_text().splitlines()] == [3]


@uses("cannot_listen")
def test_a_sandbox_on_a_port_in_use_says_so(tmp_path: Path, spy: Spy) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = invoke(["sandbox", "--port", str(port)], tmp_path, {})
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        f"toggl-import: the sandbox cannot listen on 127.0.0.1:{port} (Address already in use): "
        "choose another --port, or 0 for a free one\n"
    )
    spy.check("cannot_listen", done.err)


@uses("no_ledger", "sandbox_not_loopback")
@pytest.mark.parametrize(("argv", "expected"), [
    (["status", "--ledger", "nope.sqlite"],
     "no ledger at nope.sqlite: pass --ledger PATH (the one your run used)"),
    (["sandbox", "--host", "0.0.0.0"],
     "the sandbox serves loopback only, not '0.0.0.0': use --host 127.0.0.1 or --host ::1"),
])  # fmt: skip
def test_the_other_commands_say_the_fix_in_one_line(
    argv: list[str], expected: str, tmp_path: Path, spy: Spy
) -> None:
    done = invoke(argv, tmp_path, {})
    assert (done.code, done.out, done.err) == (2, "", f"toggl-import: {expected}\n")
    spy.check("no_ledger" if argv[0] == "status" else "sandbox_not_loopback", done.err)


@uses("unused_columns", "no_start_time_column")
def test_notes_before_a_run_say_what_is_not_read(toggl: Toggl, tmp_path: Path, spy: Spy) -> None:
    (tmp_path / "h.csv").write_text("Date,Hours,Notes,Colour,Mood\n2026-11-02,1.5,x,red,ok\n")
    done = toggl("h.csv")
    assert done.code == 0, done
    notes = [n for n in notes_in(done) if NO_LEDGER not in n]
    assert notes == [
        "note: h.csv: columns not used: 'Colour', 'Mood'; if one holds the description, project, client, "
        'task, tags, billable or email, say so with --map FIELD="COLUMN"',
        "note: h.csv: no start-time column: each person's entries of a day start at default_start_time "
        "(09:00) and follow one another",
    ]
    spy.check("unused_columns", notes[0])
    spy.check("no_start_time_column", notes[1])
    keyed = [n for n in notes_in(toggl("h.csv", "--key", "Colour")) if "columns not used" in n]
    assert keyed == [notes[0].replace("'Colour', 'Mood'", "'Mood'")]  # the key column is used


@uses("rows_without_start_time")
def test_rows_whose_start_cell_is_empty_are_pointed_out_once_with_their_rows(
    toggl: Toggl, tmp_path: Path, spy: Spy
) -> None:
    """A start column with some cells empty: those rows start at 09:00 (or after the person's
    previous row), as with no start column at all -- said once, with how many and which."""
    beginn = ["09:30", "", "11:00", "", "", "", "", "", "", "14:00"]
    lines = [f"2026-11-0{2 + i % 3},{b},1:00,row {i}" for i, b in enumerate(beginn)]
    (tmp_path / "b.csv").write_text("Datum,Beginn,Dauer,Beschreibung\n" + "\n".join(lines) + "\n")
    (tmp_path / "full.csv").write_text("Datum,Beginn,Dauer\n2026-11-02,09:30,1:00\n")
    done = toggl("b.csv", "full.csv", "--emit-payloads", "p.jsonl")
    assert done.code == 0, done
    notes = [n for n in notes_in(done) if NO_LEDGER not in n]
    note = ("7 rows have no start time in 'Beginn' (rows 3, 5, 6, 7, 8, ...): they start at "
            "default_start_time (09:00), one after another per person and day; fill in their start "
            "times if they have them")  # fmt: skip
    assert notes == [f"note: b.csv: {note}"]  # once, and none for full.csv
    emitted = (tmp_path / "p.jsonl").read_text().splitlines()
    starts = [json.loads(line)["payload"]["start"] for line in emitted]
    assert starts[1] == "2026-11-03T08:00:00Z"  # row 3: 09:00 Berlin, as the note says
    spy.check("rows_without_start_time", notes[0])


@uses("new_ledger")
def test_a_real_run_that_starts_a_ledger_says_so_and_a_resume_does_not(
    server: Server, tmp_path: Path, spy: Spy
) -> None:
    (tmp_path / "t.csv").write_text("Date,Start,End,Description\n2026-11-02,09:00,10:00,ledger note\n")
    argv = [a for a in run_args(server, "t.csv") if a != "--dry-run"]
    token = {"TOGGL_API_TOKEN": server.sandbox.token}
    first = invoke(argv, tmp_path, token)
    assert first.code == 0, first
    notes = notes_in(first)
    assert notes == [
        "note: a new ledger, l.sqlite: it knows no earlier import, so rows already imported with "
        "another ledger would be sent again; if these files went in before, stop now (Ctrl-C) and "
        "pass --ledger with that run's file, or --check-existing to look each row up in Toggl first"
    ]
    spy.check("new_ledger", notes[0])
    again = invoke(argv, tmp_path, token)
    assert again.code == 0 and "note: " not in again.out
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "t.csv").write_text((tmp_path / "t.csv").read_text())
    planned = invoke([*argv, "--dry-run"], tmp_path / "elsewhere", token)
    dry = notes_in(planned)
    assert dry == [
        "note: no ledger at l.sqlite yet: the plan counts every row as new; if these files went in "
        "before with another ledger, pass --ledger with that run's file (or --check-existing to look "
        "each row up in Toggl first)"
    ]
    spy.check("new_ledger", dry[0])
    checked = invoke([*argv, "--check-existing"], tmp_path / "elsewhere", token)  # what it advises
    assert checked.code == 0 and "a new ledger" not in checked.out, checked


def test_the_start_time_note_names_the_configured_default_start(toggl: Toggl, tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("Date,Hours\n2026-11-02,1.5\n")
    (tmp_path / "c.toml").write_text('[import]\ndefault_start_time = "08:30"\n')
    done = toggl("h.csv", "--config", "c.toml")
    assert "default_start_time (08:30)" in done.out, done.out


def workbook(path: Path, *sheets: tuple[str, list[list[Any]]]) -> None:
    """An .xlsx with these sheets (name, rows; ``[]`` is an empty row)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for cells in rows:
            sheet.append(cells)
    book.save(path)


def hours_sheet(what: str) -> list[list[Any]]:
    return [["Date", "Start", "End", "Description"],
            [dt.date(2026, 11, 2), dt.time(9, 0), dt.time(10, 30), f"Design {what}"],
            [dt.date(2026, 11, 3), dt.time(13, 0), dt.time(14, 0), f"Review {what}"]]  # fmt: skip


@uses("header_below_title", "sheet_not_first")
def test_title_rows_and_a_later_sheet_are_noted_and_the_timesheet_is_read(
    toggl: Toggl, tmp_path: Path, spy: Spy
) -> None:
    workbook(
        tmp_path / "titled.xlsx",
        ("Sheet1", [["Timesheet November 2026"], ["Employee: Ada Lovelace"], [], *hours_sheet("a")]),
    )
    summary = [["Total hours", 2.5], ["Approved by", "Grace"]]
    workbook(tmp_path / "second.xlsx", ("Summary", summary), ("Hours", hours_sheet("b")))
    done = toggl("titled.xlsx", "second.xlsx", "--emit-payloads", "p.jsonl")
    assert done.code == 0, done
    notes = [n for n in notes_in(done) if NO_LEDGER not in n]
    assert notes == [
        "note: titled.xlsx: the header is on row 4: rows 1-3 above it (starting 'Timesheet November "
        "2026') are not read",
        "note: second.xlsx: reading sheet 'Hours' (sheet 2): sheet 'Summary' before it has no header "
        "naming a start and a length, so it is not read",
    ]
    spy.check("header_below_title", notes[0])
    spy.check("sheet_not_first", notes[1])
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [(p["file"], p["row"], p["payload"]["start"], p["payload"]["duration"],
             p["payload"]["description"]) for p in lines] == [
        ("titled.xlsx", 5, "2026-11-02T08:00:00Z", 5400, "Design a"),
        ("titled.xlsx", 6, "2026-11-03T12:00:00Z", 3600, "Review a"),
        ("second.xlsx", 2, "2026-11-02T08:00:00Z", 5400, "Design b"),
        ("second.xlsx", 3, "2026-11-03T12:00:00Z", 3600, "Review b"),
    ]  # fmt: skip


def test_a_title_over_no_header_on_any_sheet_names_the_sheet(toggl: Toggl, tmp_path: Path, spy: Spy) -> None:
    workbook(tmp_path / "odd.xlsx", ("Cover", [["Timesheet"], ["Day", "Worked"], [dt.date(2026, 11, 2), 1]]),
             ("Notes", [["just", "notes"]]), ("More", [["more", "notes"]]))  # fmt: skip
    done = toggl("odd.xlsx")
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        "toggl-import: cannot tell which columns hold the start and the length of each entry (generic "
        "preset): odd.xlsx has the columns 'Timesheet', 'Unnamed: 1' in row 1 of sheet 'Cover', and no row "
        "below it down to row 3, nor on the other 2 sheets, looks like a header either; if the header is "
        "further down or on another sheet, pass --header-row with its row number (and --sheet with its "
        'sheet\'s name), else name the columns, for example --map start_date="<column>" --map '
        'duration="<column>"\n'
    )
    spy.check("unusable_title", done.err)


@pytest.mark.parametrize(("argv", "expected"), [
    (["--log-file", "out/requests.log"],
     "--log-file out/requests.log: cannot write it (No such file or directory): give a file path in "
     "a folder that exists"),
    (["x" * 300 + ".csv"],
     "x" * 300 + ".csv: cannot open the file (File name too long): check the path, and that the "
     "file is readable"),
])  # fmt: skip
def test_an_unusable_path_is_refused_in_one_line(
    argv: list[str], expected: str, toggl: Toggl, tmp_path: Path
) -> None:
    (tmp_path / "t.csv").write_text(HEADER_TIMES)
    done = toggl(*(["t.csv", *argv] if argv[0].startswith("--") else argv))
    assert (done.code, done.out, done.err) == (2, "", f"toggl-import: {expected}\n")


@uses("stopped_early")
def test_a_dry_run_stopped_by_refused_credentials_says_why_and_no_resume(
    toggl: Toggl, tmp_path: Path, spy: Spy
) -> None:
    (tmp_path / "t.csv").write_text(HEADER_TIMES)
    done = toggl("t.csv", env={"TOGGL_API_TOKEN": "wrong"})
    assert done.code == 3, done
    last = [line for line in done.out.splitlines() if line.startswith("stopped early: ")]
    assert len(last) == 1 and last[0].startswith("stopped early: credentials refused: ")
    assert "resume" not in last[0] and "carries on" not in last[0]
    spy.check("stopped_early", last[0])


@uses("interrupted")
def test_an_interruption_before_the_run_can_stop_cleanly_says_how_to_resume(
    toggl: Toggl, tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "t.csv").write_text(HEADER_TIMES)

    def pressed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # Ctrl-C while the header is read, before the run's own handler

    monkeypatch.setattr("importer.presets.detect", pressed)
    done = toggl("t.csv")
    assert (done.code, done.out) == (3, "")
    assert done.err == (
        "toggl-import: interrupted: the ledger keeps what was sent (a request cut off is looked up "
        "in Toggl first); run the same command again to resume\n"
    )
    spy.check("interrupted", done.err)


@uses("several_people_no_email")
def test_a_file_of_several_people_without_emails_is_noted_before_the_run(
    toggl: Toggl, tmp_path: Path, spy: Spy
) -> None:
    header = "Date,Project,Notes,Hours,First Name,Last Name\n"
    rows = ["2026-11-02,,a,1,Ada,Lovelace", "2026-11-02,,b,1,Bruno,Keller", "2026-11-03,,c,1,Ada,Lovelace"]
    (tmp_path / "h.csv").write_text(header + "\n".join(rows) + "\n")
    (tmp_path / "one.csv").write_text(header + rows[0] + "\n" + rows[2] + "\n")
    done = toggl("h.csv", "one.csv")
    notes = notes_in(done, "several people")
    assert notes == [
        "note: h.csv: entries of several people ('Ada Lovelace', 'Bruno Keller') and no email column: "
        "each would be created as an entry of the token's own user; to create each person's entries "
        "for them, add a column with their Toggl email (--map email=COLUMN) and use an admin's token"
    ]
    spy.check("several_people_no_email", notes[0])


@uses("dates_day_first", "dates_month_first", "dates_look_day_first")
def test_how_dates_with_slashes_are_read_is_said_before_the_run(
    toggl: Toggl, tmp_path: Path, spy: Spy
) -> None:
    header = "Date,Start,End,Description\n"
    (tmp_path / "uk.csv").write_text(header + "05/11/2026,09:00,10:00,a\n25/11/2026,09:00,10:00,b\n")
    (tmp_path / "early.csv").write_text(header + "05/11/2026,09:00,10:00,c\n")
    (tmp_path / "iso.csv").write_text(header + "2026-11-05,09:00,10:00,d\n")
    month_first = toggl("uk.csv", "early.csv", "iso.csv")  # the default: --date-order mdy
    auto = toggl("uk.csv", "early.csv", "iso.csv", "--date-order", "auto")
    said = toggl("uk.csv", "early.csv", "--date-order", "dmy")
    notes = [notes_in(done, "slashes") for done in (month_first, auto)]
    look = ("note: uk.csv: dates with slashes are read month first, but 25/11/2026 can only be day "
            "first: rows with a date that reads both ways (05/11/2026) are refused rather than "
            "guessed; if the file's dates are day first, pass --date-order dmy (or auto)")  # fmt: skip
    early = ("note: early.csv: dates with slashes are read month first (05/11/2026 is 11 May 2026): "
             "if they are day first, pass --date-order dmy")  # fmt: skip
    shown = ("note: uk.csv: dates with slashes are read day first, as the file shows (05/11/2026 is "
             "5 November 2026): if they are month first, pass --date-order mdy")  # fmt: skip
    assert notes == [[look, early], [shown, early]]
    assert "slashes" not in said.out  # the user said how: nothing to note
    spy.check("dates_look_day_first", look)
    spy.check("dates_month_first", early)
    spy.check("dates_day_first", shown)


@uses("duration_looks_like_h_mm", "duration_looks_like_minutes")
def test_durations_that_look_like_hours_and_minutes_are_noted(toggl: Toggl, tmp_path: Path, spy: Spy) -> None:
    header = "Date,Start,Duration,Description\n"
    (tmp_path / "hm.csv").write_text(header + "2026-11-02,09:00,1.30,a\n2026-11-02,11:00,0.45,b\n")
    (tmp_path / "quarters.csv").write_text(header + "2026-11-02,09:00,1.25,c\n2026-11-02,11:00,0.50,d\n")
    (tmp_path / "mixed.csv").write_text(header + "2026-11-02,09:00,1.30,e\n2026-11-02,11:00,2.5,f\n")
    (tmp_path / "big.csv").write_text(header + "2026-11-02,09:00,1.30,g\n2026-11-02,11:00,0.75,h\n"
                                      "2026-11-03,09:00,2.80,i\n")  # fmt: skip
    (tmp_path / "thirds.csv").write_text(header + "2026-11-02,09:00,1.30,j\n2026-11-02,11:00,1.333,k\n")
    (tmp_path / "min.csv").write_text(header + "2026-11-02,09:00,30,l\n2026-11-02,11:00,45,m\n")
    (tmp_path / "hours.csv").write_text(header + "2026-11-02,09:00,2,n\n2026-11-02,11:00,3,o\n"
                                        "2026-11-03,09:00,12,p\n")  # fmt: skip
    done = toggl("hm.csv", "quarters.csv", "mixed.csv", "big.csv", "thirds.csv", "min.csv", "hours.csv")
    notes = notes_in(done, "durations such as")
    assert notes == [
        "note: hm.csv: durations such as '1.30' are read as decimal hours (1 h 18 min): if they mean "
        "hours and minutes, write them as 1:30",
        "note: mixed.csv: durations such as '1.30' are read as decimal hours (1 h 18 min): if they "
        "mean hours and minutes, write them as 1:30",
        "note: min.csv: durations such as '30' are read as hours (30 h): if they are minutes, write "
        "them as 30m",
    ]  # quarters, a .80 or a 1.333 say decimal hours; one long day among short ones is a day
    spy.check("duration_looks_like_h_mm", notes[0])
    spy.check("duration_looks_like_minutes", notes[2])


@uses("no_room_for_duplicates")
def test_a_full_temporary_folder_says_what_to_free(
    tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tempfile.TemporaryFile", full)
    seen = FirstSeen(buffered=4, directory=tmp_path)
    keys = [f"{i:032x}" for i in range(8)]
    with pytest.raises(ConfigError) as refused:
        seen.setdefault_many(keys, list(range(8)))  # more than the buffer: the set spills to disk
    assert str(refused.value) == (
        f"cannot write the temporary file that finds duplicate rows, in {tmp_path} (No space left "
        "on device): free some space there or point TMPDIR at a folder with room; the ledger keeps "
        "what was done, so running the same command again resumes"
    )
    spy.check("no_room_for_duplicates", str(refused.value))


@uses(
    "ledger_empty",
    "ledger_in_use",
    "ledger_has_other_names",
    "ledger_wal_without_database",
    "ledger_keeps_changing",
    "ledger_disk_full",
    "ledger_damaged",
    "ledger_backups_taken",
)
def test_a_ledger_file_that_cannot_be_used_says_why_and_the_fix(
    tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importer import ledger_file
    from importer.errors import LedgerError
    from importer.ledger import Ledger, PendingRow

    def refused(*args: Any, **kw: Any) -> str:
        with pytest.raises(LedgerError) as err:
            Ledger.open(*args, **kw).close()
        return str(err.value)

    path = tmp_path / "l.sqlite"
    Ledger.open(path).close()

    # ledger_empty
    (tmp_path / "empty.sqlite").touch()
    done = invoke(["status", "--ledger", "empty.sqlite"], tmp_path, {})
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        "toggl-import: ledger empty.sqlite is empty (0 bytes), so it is not a ledger an earlier run "
        "wrote (that would hold its rows): if it is a copy of your ledger, the copy failed, so copy "
        'it again (with its -wal file, or with sqlite3 LEDGER ".backup COPY"); to start a new '
        "ledger, delete the empty file\n"
    )
    spy.check("ledger_empty", done.err)

    # ledger_in_use
    with Ledger.open(path):
        in_use = refused(path)
    assert in_use == (f"ledger {path} is in use by another run (pid {os.getpid()}): wait for it to "
                      "finish, or pass --ledger with another path")  # fmt: skip
    spy.check("ledger_in_use", in_use)

    # ledger_has_other_names
    os.link(path, tmp_path / "second-name.sqlite")
    spy.check("ledger_has_other_names", refused(path))
    (tmp_path / "second-name.sqlite").unlink()

    # ledger_wal_without_database
    (tmp_path / "gone.sqlite-wal").write_bytes(b"the last writes of a ledger that was deleted")
    spy.check("ledger_wal_without_database", refused(tmp_path / "gone.sqlite"))

    # ledger_keeps_changing
    with monkeypatch.context() as mp:
        mp.setattr(ledger_file.hold, "_share", lambda *args: None)  # replaced each time it is opened
        spy.check("ledger_keeps_changing", refused(path))

    # ledger_disk_full
    with Ledger.open(path) as book:
        book.conn.execute(f"PRAGMA max_page_count = {book.conn.execute('PRAGMA page_count').fetchone()[0]}")
        with pytest.raises(LedgerError) as full:
            book.add_pending([PendingRow(f"{i:032x}", "t.csv", i, None) for i in range(2, 400)])
    assert str(full.value) == (f"the disk holding the ledger {path} is full (database or disk is "
                               "full): free some space there, then run the same command again to "
                               "resume")  # fmt: skip
    spy.check("ledger_disk_full", str(full.value))

    # ledger_backups_taken
    with monkeypatch.context() as mp:  # an upgrade, with every name for the backup taken
        schema = ledger_file.schema
        mp.setattr(schema, "_MIGRATIONS", (*schema._MIGRATIONS, ("ALTER TABLE rows ADD x",)))
        mp.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
        mp.setattr(schema, "MAX_BACKUPS", 1)
        (tmp_path / f"l.sqlite.schema{schema.SCHEMA_VERSION - 1}.bak").write_text("taken")
        spy.check("ledger_backups_taken", refused(path))

    # ledger_damaged
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)
    path.write_bytes(bytes(data))
    damaged = refused(path)
    assert damaged.startswith(f"ledger {path} is damaged (") and "--check-existing" in damaged
    spy.check("ledger_damaged", damaged)


@uses("ambiguous_date")
def test_a_date_that_reads_both_ways_in_a_day_first_file_is_refused_not_guessed(
    toggl: Toggl, tmp_path: Path, spy: Spy
) -> None:
    (tmp_path / "uk.csv").write_text("Date,Start,End,Description\n25/11/2026,09:00,10:00,a\n"
                                     "05/11/2026,09:00,10:00,b\n05/05/2026,09:00,10:00,c\n")  # fmt: skip
    done = toggl("uk.csv", "--report", "r.csv")
    report = report_rows(tmp_path / "r.csv")
    message = ("'05/11/2026' reads as a month-first or a day-first date, and this file has 25/11/2026, "
               "which can only be day first: pass --date-order dmy if its dates are day first, else "
               "correct 25/11/2026")  # fmt: skip
    assert report[("uk.csv", 3)]["message"] == "column 'Date': " + message
    assert report[("uk.csv", 2)]["status"] == "refused"  # 25 is no month
    assert report[("uk.csv", 4)]["status"] == "create"  # 05/05 is the same day both ways
    spy.check("ambiguous_date", message)
    assert done.code == 1


# -- owning what it created: sync and undo ----------------------------------------------------------
KEYED = ["ID", "Date", "Start", "End", "Description"]


def worklogs(*rows: tuple[str, str, str]) -> list[dict[str, str]]:
    """(id, start, description) rows of 2026-11-02, an hour each."""
    return [{"ID": i, "Date": "2026-11-02", "Start": h, "End": f"{int(h[:2]) + 1:02d}:00", "Description": d}
            for i, h, d in rows]  # fmt: skip


def real(server: Server, *args: str) -> list[str]:
    return [a for a in run_args(server, *args) if a != "--dry-run"]


def admin(server: Server, method: str, path: str, body: Any = None) -> Any:
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{server.sandbox.admin_url}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


@uses("no_key", "duplicate_key")
def test_a_key_missing_or_on_two_rows_refuses_them(toggl: Toggl, tmp_path: Path, spy: Spy) -> None:
    write_csv(tmp_path / "k.csv", KEYED, worklogs(("A-1", "09:00", "a"), ("", "10:00", "b"),
                                                  ("A-1", "11:00", "c")))  # fmt: skip
    done = toggl("k.csv", "--key", "ID", "--report", "r.csv")
    assert done.code == 1
    report = report_rows(tmp_path / "r.csv")
    missing = ("no id in the key column 'ID': with --key every row needs its id at the source; fill it "
               "in, or leave --key out to key rows by their content")  # fmt: skip
    assert (report[("k.csv", 3)]["status"], report[("k.csv", 3)]["message"]) == (
        "refused",
        f"column 'ID': {missing}",
    )
    twice = ("the key 'A-1' is on two rows with different content (also on k.csv row 2): nothing is sent "
             "for it; keep one of the rows")  # fmt: skip
    assert report[("k.csv", 4)]["message"] == f"column 'ID': {twice}"
    first = ("the key 'A-1' is on two rows with different content (also on k.csv row 4): nothing is sent "
             "for it; keep one of the rows")  # fmt: skip
    assert report[("k.csv", 2)]["status"] == "refused"
    assert report[("k.csv", 2)]["message"] == f"column 'ID': {first}"  # each row names the other
    spy.check("no_key", missing)
    spy.check("duplicate_key", twice)
    spy.check("duplicate_key", first)


@uses("too_many_deletes")
def test_a_mirror_that_would_delete_too_much_stops_first(server: Server, tmp_path: Path, spy: Spy) -> None:
    token = {"TOGGL_API_TOKEN": server.sandbox.token}
    rows = worklogs(("A-1", "09:00", "a"), ("A-2", "10:00", "b"), ("A-3", "11:00", "c"))
    write_csv(tmp_path / "night.csv", KEYED, rows)
    try:
        assert invoke(real(server, "night.csv", "--key", "ID", "--source", "s"), tmp_path, token).code == 0
        write_csv(tmp_path / "night.csv", KEYED, rows[:1])
        done = invoke(real(server, "night.csv", "--key", "ID", "--source", "s", "--mirror", "--max-deletes",
                           "1"), tmp_path, token)  # fmt: skip
    finally:
        server.reset()
    assert done.code == 2
    message = ("this run would delete 2 entries of 's' (their rows are no longer in the files), more than "
               "--max-deletes 1: nothing was sent. Check that the files are the whole source for their "
               "dates; if they are, pass --max-deletes 2")  # fmt: skip
    assert done.err == f"toggl-import: {message}\n"
    spy.check("too_many_deletes", done.err)


@uses("keys_of_another_source")
def test_a_nightly_file_without_source_is_not_imported_twice(
    server: Server, tmp_path: Path, spy: Spy
) -> None:
    token = {"TOGGL_API_TOKEN": server.sandbox.token}
    write_csv(tmp_path / "wl-1.csv", KEYED, worklogs(("A-1", "09:00", "a"), ("A-2", "10:00", "b")))
    write_csv(tmp_path / "wl 2.csv", KEYED, worklogs(("A-1", "09:00", "a, edited"), ("A-2", "10:00", "b")))
    try:
        assert invoke(real(server, "wl-1.csv", "--key", "ID"), tmp_path, token).code == 0
        done = invoke(real(server, "wl 2.csv", "--key", "ID", "--mirror"), tmp_path, token)
        followed = invoke(real(server, "wl 2.csv", "--key", "ID", "--mirror", "--source", "wl-1.csv"),
                          tmp_path, token)  # fmt: skip
        held = sorted(e["description"] for e in server.sandbox.state.entries)
    finally:
        server.reset()
    message = ("wl 2.csv: 1 of its --key values was imported before from 'wl-1.csv', and without --source "
               "each file is its own source, so they would be created a second time: nothing was sent; pass "
               "--source wl-1.csv to update those entries (and give a nightly export the same --source every "
               "night)")  # fmt: skip
    assert (done.code, done.err) == (2, f"toggl-import: {message}\n")
    assert followed.code == 0 and held == ["a, edited", "b"]
    spy.check("keys_of_another_source", done.err)


@uses("conflict_edited", "conflict_gone")
def test_an_entry_changed_in_toggl_is_left_as_it_is(server: Server, tmp_path: Path, spy: Spy) -> None:
    token = {"TOGGL_API_TOKEN": server.sandbox.token}
    write_csv(tmp_path / "w.csv", KEYED, worklogs(("A-1", "09:00", "a"), ("A-2", "10:00", "b")))
    try:
        assert invoke(real(server, "w.csv", "--key", "ID"), tmp_path, token).code == 0
        ids = {e["description"]: e["id"] for e in server.sandbox.state.entries}
        admin(server, "PATCH", f"/entries/{ids['a']}", {"description": "fixed by hand"})
        admin(server, "DELETE", f"/entries/{ids['b']}")
        write_csv(tmp_path / "w.csv", KEYED, worklogs(("A-1", "09:00", "a2"), ("A-2", "10:00", "b2")))
        done = invoke(real(server, "w.csv", "--key", "ID", "--report", "r.csv"), tmp_path, token)
    finally:
        server.reset()
    assert done.code == 1
    report = report_rows(tmp_path / "r.csv")
    edited = (f"entry {ids['a']} was changed in Toggl (description) since toggl-import wrote it: left as "
              "it is; pass --overwrite to update or delete it anyway")  # fmt: skip
    gone = f"entry {ids['b']} was deleted in Toggl: not created again; pass --overwrite to create it anew"
    assert (report[("w.csv", 2)]["status"], report[("w.csv", 2)]["message"]) == ("conflict", edited)
    assert (report[("w.csv", 3)]["status"], report[("w.csv", 3)]["message"]) == ("conflict", gone)
    spy.check("conflict_edited", edited)
    spy.check("conflict_gone", gone)


@uses("all_or_nothing_held")
def test_all_or_nothing_holds_back_the_good_rows(server: Server, tmp_path: Path, spy: Spy) -> None:
    write_csv(
        tmp_path / "p.csv",
        ["Date", "Start", "End", "Project"],
        [{**HOUR, "Project": "Internal"}, {**HOUR, "Start": "11:00", "End": "12:00", "Project": "Nope"}],
    )
    try:
        token = {"TOGGL_API_TOKEN": server.sandbox.token}
        dry = invoke(run_args(server, "p.csv", "--all-or-nothing", "--report", "d.csv"), tmp_path, token)
        done = invoke(real(server, "p.csv", "--all-or-nothing", "--report", "r.csv"), tmp_path, token)
        assert server.sandbox.state.entries == []
    finally:
        server.reset()
    assert done.code == 1 and dry.code == 1
    for summary in (dry.out, done.out):  # the dry run says what the real run does: nothing goes
        assert re.search(r"held back \(--all-or-nothing: a row is refused\)\s+1\n", summary), summary
    assert re.search(r"rows that would be posted\s+0\n", dry.out), dry.out
    assert report_rows(tmp_path / "d.csv")[("p.csv", 2)]["status"] == "pending"
    held = "not sent: --all-or-nothing, and 1 row is refused; mend them (see the refused rows) and run again"
    assert report_rows(tmp_path / "r.csv")[("p.csv", 2)] == {
        "file": "p.csv",
        "row": "2",
        "status": "pending",
        "entry_id": "",
        "http_status": "",
        "message": held,
    }
    spy.check("all_or_nothing_held", held)


@uses("person_refused")
def test_a_persons_refused_token_stops_their_rows_only(server: Server, tmp_path: Path, spy: Spy) -> None:
    write_csv(tmp_path / "team.csv", ["Email", "Date", "Start", "End"],
              [{**HOUR, "Email": "ana@example.com"}, {**HOUR, "Email": "ben@example.com"}])  # fmt: skip
    (tmp_path / "toggl-import.toml").write_text('[tokens]\n"ben@example.com" = "TOK_BEN"\n')
    env = {"TOGGL_API_TOKEN": server.sandbox.token, "TOK_BEN": "not-bens-token"}
    try:
        done = invoke(real(server, "team.csv", "--report", "r.csv"), tmp_path, env)
    finally:
        server.reset()
    assert done.code == 1
    refused = ("not sent: Toggl refused the token of ben@example.com (Incorrect username and/or password); "
               "check the variable [tokens] names for them, then run the same command again")  # fmt: skip
    report = report_rows(tmp_path / "r.csv")
    assert report[("team.csv", 2)]["status"] == "created"
    assert (report[("team.csv", 3)]["status"], report[("team.csv", 3)]["message"]) == ("pending", refused)
    assert f"ben@example.com: {refused}" in done.out
    assert "not-bens-token" not in done.out + done.err
    spy.check("person_refused", refused)


@uses("export_ambiguous", "export_next_step", "maybe_in_toggl")
def test_export_leaves_out_the_fall_back_hour_and_says_what_comes_next(
    server: Server, tmp_path: Path, spy: Spy
) -> None:
    write_csv(tmp_path / "dst.csv", ["Start", "Duration", "Description"],
              [{"Start": "2026-10-25T00:30:00Z", "Duration": "0:30", "Description": "twice"},
               {"Start": "2026-10-26T08:00:00Z", "Duration": "0:30", "Description": "once"}])  # fmt: skip
    argv = ["export", "dst.csv", "--to", "toggl-csv", "--output", "out.csv", "--upload-timezone",
            "Europe/Berlin", "--api-url", server.sandbox.base_url, "--workspace-id", str(WID), "--ledger",
            "l.sqlite", "--rate", "1000", "--report", "r.csv"]  # fmt: skip
    try:
        done = invoke(argv, tmp_path, {"TOGGL_API_TOKEN": server.sandbox.token})
        dry = invoke([*run_args(server, "dst.csv", "--report", "d.csv", "--ledger", "l.sqlite")], tmp_path,
                     {"TOGGL_API_TOKEN": server.sandbox.token})  # fmt: skip
    finally:
        server.reset()
    maybe = ("may be in Toggl already (left in doubt or exported): the real run reads it back first and "
             "posts it only if Toggl does not have it")  # fmt: skip
    assert report_rows(tmp_path / "d.csv")[("dst.csv", 3)] == {
        "file": "dst.csv", "row": "3", "status": "in_doubt", "entry_id": "", "http_status": "",
        "message": maybe}  # fmt: skip
    assert re.search(r"to read back first \(posted if Toggl lacks them\)\s+1\n", dry.out), dry.out
    spy.check("maybe_in_toggl", maybe)
    assert done.code == 1
    twice = ("2026-10-25 02:30 happens twice in Europe/Berlin (the clocks go back): Toggl's CSV import "
             "could take the wrong one, so the row is not written; `toggl-import run` posts it "
             "exactly")  # fmt: skip
    assert report_rows(tmp_path / "r.csv")[("dst.csv", 2)]["message"] == twice
    assert f"dst.csv row 2: {twice}" in done.out
    after = ("next: upload the file in Toggl (Settings → Import, as the account whose time zone it was "
             "written in), then run the same files with `toggl-import run`: it reads the exported rows back "
             "and posts only those Toggl does not have")  # fmt: skip
    assert f"written: out.csv\n{after}" in done.out
    spy.check("export_ambiguous", twice)
    spy.check("export_next_step", done.out)


@uses("export_zone", "export_done_before", "export_done_before_more")
def test_export_says_its_time_zone_and_a_second_export_where_the_rows_went(
    server: Server, tmp_path: Path, spy: Spy
) -> None:
    write_csv(tmp_path / "e.csv", ["Start", "Duration", "Description"],
              [{"Start": f"2026-10-26T0{h}:00:00Z", "Duration": "0:30", "Description": f"e {h}"}
               for h in range(6, 9)])  # fmt: skip
    argv = ["export", "e.csv", "--to", "toggl-csv", "--api-url", server.sandbox.base_url, "--workspace-id",
            str(WID), "--ledger", "l.sqlite", "--rate", "1000", "--max-rows", "2"]  # fmt: skip
    token = {"TOGGL_API_TOKEN": server.sandbox.token}
    try:
        first = invoke([*argv, "--output", "out.csv"], tmp_path, token)
        second = invoke([*argv, "--output", "out2.csv", "--report", "r.csv"], tmp_path, token)
        as_json = invoke([*argv, "--output", "out2.csv", "--json"], tmp_path, token)
        chosen = invoke([*argv, "--output", "out3.csv", "--again", "--upload-timezone", "Asia/Kolkata"],
                        tmp_path, token)  # fmt: skip
        eight = [{"Start": f"2026-10-27T0{h}:00:00Z", "Duration": "0:30"} for h in range(1, 9)]
        write_csv(tmp_path / "f.csv", ["Start", "Duration"], eight)
        many = [a.replace("e.csv", "f.csv") for a in argv[:-1]] + ["1", "--output", "o.csv"]
        assert invoke(many, tmp_path, token).code == 0  # eight files of one row
        many_again = invoke([*many[:-1], "p.csv"], tmp_path, token)
    finally:
        server.reset()
    zone = ("times are written in UTC, the time zone of the account olivia@example.com (its profile): "
            "upload the file as that account, or pass --upload-timezone with the zone of the account that "
            "will")  # fmt: skip
    assert first.code == 0 and zone in first.out
    from importer.ledger import Ledger

    with Ledger.open(tmp_path / "l.sqlite", readonly=True) as book:
        day = book.runs()[0].started_at[:10]  # the day of the first export
    twice = [f"{n} exported already (run 1, {day}, to {f}): upload that file in Toggl, then run "
             f"`toggl-import run e.csv` to post what it does not have; --again writes {them} anew"
             for n, f, them in (("2 rows were", "out-1.csv", "them"),
                                ("1 row was", "out-2.csv", "it"))]  # fmt: skip
    assert second.code == 0, second
    assert "\n".join(twice) in second.out
    assert "doubt" not in second.out and "written:" not in second.out and not list(tmp_path.glob("out2*"))
    assert re.search(r"exported already \(not written again\) +3", second.out)
    assert report_rows(tmp_path / "r.csv")[("e.csv", 4)]["message"] == twice[1]
    data = json.loads(as_json.out)
    counts = (data["exported"], data["exported_before"], data["in_doubt"], data["upload_timezone"])
    assert counts == (0, 3, 0, "UTC")
    assert data["exported_before_by_file"] == [{"run": 1, "day": day, "file": "out-1.csv", "rows": 2},
                                               {"run": 1, "day": day, "file": "out-2.csv",
                                                "rows": 1}]  # fmt: skip
    chosen_zone = ("times are written in Asia/Kolkata (--upload-timezone): upload the file as an account in "
                   "that time zone")  # fmt: skip
    assert chosen.code == 0 and chosen_zone in chosen.out
    assert [p.name for p in sorted(tmp_path.glob("out3*"))] == ["out3-1.csv", "out3-2.csv"]
    shown = [line for line in many_again.out.splitlines() if "exported already" in line][1:]  # not the table
    assert len(shown) == 6 and shown[4].startswith("1 row was exported already (run 5, ")
    assert shown[5] == "and 3 rows more exported already, to 3 other files: --json lists them all"
    spy.check("export_done_before_more", many_again.out)
    spy.check("export_zone", first.out)
    spy.check("export_zone", chosen.out)
    spy.check("export_done_before", second.out)


def test_an_export_over_its_own_timesheet_names_output(server: Server, tmp_path: Path, spy: Spy) -> None:
    (tmp_path / "t.csv").write_text(HEADER_TIMES)
    argv = ["export", "t.csv", "--to", "toggl-csv", "--output", "./t.csv", "--api-url",
            server.sandbox.base_url, "--ledger", "l.sqlite"]  # fmt: skip
    done = invoke(argv, tmp_path, {"TOGGL_API_TOKEN": server.sandbox.token})
    over = "--output t.csv is the timesheet t.csv: writing there would destroy it; give another file name"
    assert (done.code, done.err) == (2, f"toggl-import: {over}\n")
    spy.check("output_is_input", done.err)


def undo_args(server: Server, *args: str) -> list[str]:
    return ["undo", "--api-url", server.sandbox.base_url, "--ledger", "l.sqlite", "--rate", "1000", *args]


@uses("undo_what", "undo_needs_yes", "undo_nothing", "undo_declined", "undo_pick_one", "undo_unknown")
def test_undo_says_how_many_and_deletes_only_when_told(
    server: Server, tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = {"TOGGL_API_TOKEN": server.sandbox.token}
    write_csv(tmp_path / "oops.csv", KEYED, worklogs(("A-1", "09:00", "a"), ("A-2", "10:00", "b")))
    try:
        assert invoke(real(server, "oops.csv"), tmp_path, token).code == 0
        off_terminal = invoke(undo_args(server, "--run", "1"), tmp_path, token)
        assert len(server.sandbox.state.entries) == 2  # nothing deleted without --yes
        import rich.console

        monkeypatch.setattr("sys.stdin.isatty", lambda: True)
        monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: True))
        monkeypatch.setattr(rich.console.Console, "input", lambda self, prompt="", **kw: "n")
        declined = invoke(undo_args(server, "--run", "1"), tmp_path, token)
        assert len(server.sandbox.state.entries) == 2
        monkeypatch.undo()
        dry = invoke(undo_args(server, "--run", "1", "--dry-run"), tmp_path, token)
        done = invoke(undo_args(server, "--run", "1", "--yes"), tmp_path, token)
        assert server.sandbox.state.entries == []
        nothing = invoke(undo_args(server, "--run", "1"), tmp_path, token)  # all gone already
        no_run = invoke(undo_args(server, "--run", "9"), tmp_path, token)
        no_file = invoke(undo_args(server, "./nosuch.csv"), tmp_path, token)
        no_source = invoke(undo_args(server, "--source", "jira"), tmp_path, token)
        neither = invoke(undo_args(server), tmp_path, token)
        both = invoke(undo_args(server, "--run", "1", "--source", "x"), tmp_path, token)
    finally:
        server.reset()
    what = "undo deletes 2 entries that toggl-import created (by run 1)"
    needs = ("undo would delete 2 entries, and there is no terminal to ask: nothing was deleted; pass --yes "
             "to delete them (--dry-run lists them)")  # fmt: skip
    assert off_terminal.code == 2 and what in off_terminal.out
    assert off_terminal.err == f"toggl-import: {needs}\n"
    assert declined.code == 3 and "nothing was deleted" in declined.out
    assert done.code == 0 and what in done.out
    assert dry.code == 0 and "undo would delete 2 entries that toggl-import created (by run 1)" in dry.out
    assert (
        nothing.code == 0 and "nothing to undo: this ledger holds no entry created (by run 1)" in nothing.out
    )
    unknown_run = ("undo: this ledger knows no run '9': nothing was deleted; the ledger's runs: 1, 2 "
                   "(toggl-import status --runs lists them)")  # fmt: skip
    assert (no_run.code, no_run.err) == (2, f"toggl-import: {unknown_run}\n")
    unknown_file = ("undo: this ledger knows no file './nosuch.csv': nothing was deleted; the ledger's "
                    "files: oops.csv")  # fmt: skip
    assert (no_file.code, no_file.err) == (2, f"toggl-import: {unknown_file}\n")
    assert no_source.code == 2 and "the ledger's sources: oops.csv" in no_source.err
    spy.check("undo_unknown", no_run.err)
    spy.check("undo_unknown", no_file.err)
    spy.check("undo_what", done.out)
    spy.check("undo_needs_yes", off_terminal.err)
    spy.check("undo_declined", declined.out)
    spy.check("undo_nothing", nothing.out)
    pick = ("undo needs to know which entries, one way: pass only one of --run N (toggl-import status --runs "
            "lists the runs), --source NAME, or the files whose entries to delete")  # fmt: skip
    assert (neither.code, neither.err) == (2, f"toggl-import: {pick}\n") == (both.code, both.err)
    spy.check("undo_pick_one", neither.err)


# -- a bug ---------------------------------------------------------------------------------------
@uses("unexpected_error")
def test_an_unexpected_bug_prints_one_line_and_where_the_trace_is(
    toggl: Toggl, tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    (tmp_path / "t.csv").write_text(HEADER_TIMES)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr("importer.presets.detect", broken)  # reading the header, before the run
    done = toggl("t.csv")
    assert (done.code, done.out) == (3, "")
    found = re.fullmatch(
        r"toggl-import: unexpected error \(KeyError\): this is a bug in toggl-import, not in your data; "
        r"the full trace is in (\S+); the ledger keeps what was done, so running the same command again "
        r"resumes\n",
        done.err,
    )
    assert found, done.err
    trace = Path(found[1])
    assert trace.parent == tmp_path
    assert "Traceback" in trace.read_text() and "KeyError: 'a bug'" in trace.read_text()
    spy.check("unexpected_error", done.err)


# -- the catalogue ---------------------------------------------------------------------------------
def test_every_message_function_has_a_case() -> None:
    assert sorted(set(PUBLIC) - COVERED) == [], "a message function no test reaches"
    assert sorted(COVERED - set(PUBLIC)) == [], "a case names a function importer.messages no longer has"
