"""normalize and the cell parsers: exact values for every format, DST, durations, refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.cells import NO_DAY, NO_OFFSET, moment, parse_bools, parse_moments, split_tags
from importer.durations import duration, parse_durations
from importer.errors import ConfigError, InputError
from importer.models import RowError
from importer.normalize import NormalizedChunk, NormalizeState, normalize
from importer.presets import detect
from importer.reader import RawChunk, iter_chunks, read_header

DATA = Path(__file__).parent / "data"
BERLIN = "Europe/Berlin"


def entries(chunk: NormalizedChunk) -> list[dict[str, Any]]:
    billable = chunk.billable if chunk.billable is not None else [None] * len(chunk)
    return [
        {
            "row": int(row), "start": start, "duration": int(seconds), "description": desc,
            "project": project, "client": client, "task": task, "email": email,
            "tags": list(tags), "billable": None if bill is None else bool(bill),
        }
        for row, start, seconds, desc, project, client, task, email, tags, bill in zip(
            chunk.rows, chunk.start_text(), chunk.duration, chunk.description, chunk.project,
            chunk.client, chunk.task, chunk.email, chunk.tags, billable, strict=True,
        )
    ]  # fmt: skip


def run(
    path: Path,
    timezone: str | None = BERLIN,
    *,
    chunksize: int = 50_000,
    preset: str = "auto",
    overrides: dict[str, str] | None = None,
    start: dt.time = dt.time(9, 0),
) -> tuple[list[dict[str, Any]], list[RowError]]:
    mapping = detect(read_header(path), preset, overrides)
    state = NormalizeState()
    out: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for chunk in iter_chunks(path, chunksize=chunksize):
        done = normalize(chunk, mapping, timezone=timezone, default_start_time=start, state=state)
        out += entries(done)
        errors += done.errors
    return out, errors


def run_text(tmp_path: Path, text: str, timezone: str | None = BERLIN, **kw: Any) -> Any:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    return run(path, timezone, **kw)


def picked(items: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(e[k] for k in keys) for e in items]


def reasons(errors: list[RowError]) -> list[tuple[int, str]]:
    return [(e.row, e.reason) for e in errors]


# -- every format, exact values ------------------------------------------------------------------


def test_toggl_export() -> None:
    got, errors = run(DATA / "toggl_export.csv")
    assert errors == []
    assert got == [
        {"row": 2, "start": "2026-03-05T08:30:00Z", "duration": 5400,
         "description": "Homepage, hero section", "project": "Website", "client": "Acme Corp",
         "task": "Design", "email": "ada@example.com", "tags": ["design", "client work"],
         "billable": True},
        {"row": 3, "start": "2026-07-14T07:00:00Z", "duration": 900, "description": "Standup",
         "project": "Website", "client": "Acme Corp", "task": None, "email": "ada@example.com",
         "tags": [], "billable": False},
        {"row": 4, "start": "2026-11-30T22:30:00Z", "duration": 6300,
         "description": 'Release "v2" night', "project": "Internal", "client": None,
         "task": None, "email": "bruno@example.com", "tags": ["deploy"], "billable": True},
    ]  # fmt: skip


def test_toggl_import_format() -> None:
    got, errors = run(DATA / "toggl_import.csv")
    assert errors == []
    assert picked(got, "row", "start", "duration", "tags", "billable", "client", "task") == [
        (2, "2026-03-05T13:00:00Z", 7200, ["design"], True, "Acme Corp", "Design"),
        (3, "2026-03-06T07:15:00Z", 2700, ["meeting", "planning"], False, None, None),
        (4, "2026-03-06T15:00:00Z", 4500, [], True, "Acme Corp", None),
    ]


def test_clockify_twelve_hour_us_export() -> None:
    got, errors = run(DATA / "clockify_export.csv", "America/New_York")
    assert errors == []
    assert picked(got, "row", "start", "duration", "description", "tags", "billable") == [
        (2, "2026-09-23T17:00:00Z", 5400, "Design review", ["design", "review"], True),
        (3, "2026-09-24T03:45:00Z", 1800, "Night deploy", [], False),  # ends 12:15 AM next day
        (4, "2026-12-01T13:05:00Z", 1800, "Morning sync", ["meeting"], True),  # EST
    ]


def test_harvest_rows_stack_per_person_and_day() -> None:
    got, errors = run(DATA / "harvest_export.csv")
    assert errors == []
    assert picked(got, "row", "start", "duration", "description", "task", "billable", "email") == [
        (2, "2026-03-05T08:00:00Z", 5400, "Wireframes", "Design", True, None),  # Ada 09:00
        (3, "2026-03-05T08:00:00Z", 2700, "Kick-off", "Meetings", False, None),  # Bruno 09:00
        (4, "2026-03-05T09:30:00Z", 8100, "Hero section", "Development", True, None),  # Ada 10:30
        (5, "2026-03-06T08:00:00Z", 1800, "Ticket #42", "Support", True, None),  # next day
    ]


@pytest.mark.parametrize("chunksize", [1, 2, 3])
def test_harvest_stacking_carries_across_chunks(chunksize: int) -> None:
    assert run(DATA / "harvest_export.csv", chunksize=chunksize) == run(DATA / "harvest_export.csv")


def test_harvest_default_start_time() -> None:
    got, _ = run(DATA / "harvest_export.csv", start=dt.time(7, 30))
    assert [e["start"] for e in got] == [
        "2026-03-05T06:30:00Z", "2026-03-05T06:30:00Z", "2026-03-05T08:00:00Z",
        "2026-03-06T06:30:00Z",
    ]  # fmt: skip


def test_semicolon_windows_1252_decimal_comma() -> None:
    got, errors = run(DATA / "semicolon_cp1252.csv")
    assert errors == []
    assert picked(got, "row", "start", "duration", "description", "tags", "billable") == [
        (2, "2026-03-05T08:00:00Z", 5400, "Café mit Kunde", ["Besprechung"], True),
        (3, "2026-03-06T13:15:00Z", 900, "Rückruf Müller", [], False),
    ]


def test_utf16_tsv() -> None:
    got, errors = run(DATA / "utf16_export.tsv")
    assert errors == []
    assert picked(got, "row", "start", "duration", "description", "email", "billable") == [
        (2, "2026-03-05T08:30:00Z", 4500, "Naïve café", "ada@example.com", True),
        (3, "2026-07-01T15:00:00Z", 2700, "Deploy 🚀", "bruno@example.com", False),
    ]


def test_xlsx_date_time_cells_serials_and_fractions() -> None:
    got, errors = run(DATA / "excel_cells.xlsx")
    assert errors == []
    assert picked(got, "row", "start", "duration", "description", "tags", "billable") == [
        (2, "2026-03-05T08:30:00Z", 5400, "Design", ["design"], True),  # time cells
        (3, "2026-03-06T08:00:00Z", 5400, "Review", [], False),  # fractions of a day
        (4, "2026-03-09T13:00:00Z", 4500, "Call", ["phone", "urgent"], False),  # serial, 1.25 h
        (5, "2026-03-10T07:15:00Z", 2700, "Café", [], True),  # date-time cell, 45 min
        (7, "2026-03-11T09:00:00Z", 1800, "Standup", [], False),  # after a blank row
    ]


def test_legacy_xls_date_time_and_text_cells() -> None:
    got, errors = run(DATA / "legacy_cells.xls")
    assert errors == []
    assert picked(got, "row", "start", "duration", "description", "billable") == [
        (2, "2026-03-05T08:30:00Z", 5400, "Legacy import", True),  # date and time cells
        (3, "2026-03-06T12:00:00Z", 900, "Café call", False),
        (4, "2026-03-09T07:15:00Z", 7200, "Text cells", False),  # text in an .xls
    ]


def test_ods() -> None:
    got, errors = run(DATA / "ods_cells.ods")
    assert errors == []
    assert picked(got, "row", "start", "duration", "description", "billable") == [
        (2, "2026-03-05T08:30:00Z", 5400, "Workshop", True),
        (3, "2026-03-06T12:00:00Z", 900, "Email", False),
    ]


# -- time zones and daylight saving -------------------------------------------------------------

DST = """Date,Start,Duration
2026-03-29,01:59,0:30
2026-03-29,02:30,0:30
2026-03-29,03:00,0:30
2026-10-25,01:59,0:30
2026-10-25,02:30,0:30
2026-10-25,03:00,0:30
2026-10-25,02:30+02:00,0:30
2026-10-25,2026-10-25T02:30:00+01:00,0:30
2026-10-25,02:30:00Z,0:30
"""


def test_europe_berlin_spring_forward_and_fall_back(tmp_path: Path) -> None:
    got, errors = run_text(tmp_path, DST)
    assert picked(got, "row", "start") == [
        (2, "2026-03-29T00:59:00Z"),  # 01:59 CET
        (4, "2026-03-29T01:00:00Z"),  # 03:00 CEST
        (5, "2026-10-24T23:59:00Z"),  # 01:59 CEST
        (7, "2026-10-25T02:00:00Z"),  # 03:00 CET
        (8, "2026-10-25T00:30:00Z"),  # explicit +02:00
        (9, "2026-10-25T01:30:00Z"),  # explicit +01:00
        (10, "2026-10-25T02:30:00Z"),  # Z
    ]
    assert reasons(errors) == [(3, "nonexistent_time"), (6, "ambiguous_time")]
    gap, twice = errors
    assert gap.column == "Start"
    assert gap.message.startswith("2026-03-29 02:30 does not exist in Europe/Berlin")
    assert twice.message.startswith(
        "2026-10-25 02:30 in Europe/Berlin happens twice "
        "(2026-10-25T00:30:00Z and 2026-10-25T01:30:00Z): add an offset"
    )


def test_duration_across_the_clock_change_is_real_time(tmp_path: Path) -> None:
    text = "Start date,Start time,End date,End time\n2026-10-25,01:30,2026-10-25,03:30\n"
    got, errors = run_text(tmp_path, text)
    assert errors == []
    assert picked(got, "start", "duration") == [("2026-10-24T23:30:00Z", 3 * 3600)]


def test_end_in_the_gap_is_refused_on_the_end_column(tmp_path: Path) -> None:
    text = "Date,Start,End\n2026-03-29,01:00,02:15\n"
    _, errors = run_text(tmp_path, text)
    assert [(e.reason, e.column) for e in errors] == [("nonexistent_time", "End")]


def test_no_timezone_refuses_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        run_text(tmp_path, "Date,Start,Duration\n2026-03-05,09:00,1:00\n", None)
    assert "t.csv, row 2, column 'Start': times such as '09:00' have no UTC offset: pass --timezone" in str(
        caught.value
    )
    assert "Europe/Berlin" in str(caught.value)


def test_no_timezone_needed_when_every_time_has_an_offset(tmp_path: Path) -> None:
    text = "Start,Duration\n2026-03-05T09:00:00+01:00,1:00\n2026-03-05T09:00:00Z,0:30\n"
    got, errors = run_text(tmp_path, text, None)
    assert errors == []
    assert picked(got, "start", "duration") == [
        ("2026-03-05T08:00:00Z", 3600),
        ("2026-03-05T09:00:00Z", 1800),
    ]


def test_unknown_timezone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        run_text(tmp_path, "Date,Start,Duration\n2026-03-05,09:00,1:00\n", "Mars/Olympus")


def test_end_offset_follows_the_start_offset(tmp_path: Path) -> None:
    got, _ = run_text(tmp_path, "Start,End\n2026-03-05T09:00:00+05:30,10:15\n", None)
    assert picked(got, "start", "duration") == [("2026-03-05T03:30:00Z", 4500)]


# -- dates and times ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date", "time", "start"),
    [
        ("2026-03-05", "09:30", "2026-03-05T08:30:00Z"),
        ("2026-03-05", "9:30", "2026-03-05T08:30:00Z"),
        ("2026/03/05", "09:30:15", "2026-03-05T08:30:15Z"),
        ("03/05/2026", "09:30:00 AM", "2026-03-05T08:30:00Z"),
        ("3/5/2026", "9:30 pm", "2026-03-05T20:30:00Z"),
        ("05.03.2026", "12:00 AM", "2026-03-04T23:00:00Z"),
        ("5.3.2026", "12:00:00 PM", "2026-03-05T11:00:00Z"),
        ("46086", "0.375", "2026-03-05T08:00:00Z"),  # Excel serial and fraction of a day
        ("2026-03-05", "2026-03-05 09:30:00", "2026-03-05T08:30:00Z"),
        ("", "2026-03-05T09:30:00", "2026-03-05T08:30:00Z"),
        ("", "46086.375", "2026-03-05T08:00:00Z"),
        ("2026-03-05 09:30", "", "2026-03-05T08:30:00Z"),
        ("2026-03-05", "09:30:00.6", "2026-03-05T08:30:01Z"),
    ],
)
def test_date_and_time_forms(tmp_path: Path, date: str, time: str, start: str) -> None:
    got, errors = run_text(tmp_path, f"Date,Start,Duration\n{date},{time},1:00\n")
    assert errors == []
    assert got[0]["start"] == start


@pytest.mark.parametrize(
    ("date", "time", "reason", "column", "words"),
    [
        ("2026-02-30", "09:00", "bad_date", "Date", "cannot read '2026-02-30' as a date: use"),
        ("13/05/2026", "09:00", "bad_date", "Date", "January 20 2026) (with slashes the month comes first"),
        ("05-03-26", "09:00", "bad_date", "Date", "YYYY-MM-DD"),
        ("yesterday", "09:00", "bad_date", "Date", "'yesterday'"),
        ("2026-03-05", "25:00", "bad_time", "Start", "cannot read '25:00' as a time: use HH:MM"),
        ("2026-03-05", "13:00 PM", "bad_time", "Start", "hh:mm AM/PM"),
        ("2026-03-05", "noon", "bad_time", "Start", "'noon'"),
        ("", "09:00", "no_date", "Date", "has a start time but no date"),
        ("", "", "no_start", "Date", "has no start date"),
        ("12", "09:00", "bad_date", "Date", "'12'"),
    ],
)
def test_bad_dates_and_times(
    tmp_path: Path, date: str, time: str, reason: str, column: str, words: str
) -> None:
    got, errors = run_text(tmp_path, f"Date,Start,Duration,Notes\n{date},{time},1:00,x\n")
    assert got == []
    assert [(e.row, e.reason, e.column) for e in errors] == [(2, reason, column)]
    assert words in errors[0].message


# -- durations, ends ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("01:30:00", 5400), ("1:30:00", 5400), ("1:30", 5400), ("0:05", 300), ("125:00:00", 450000),
        ("1.5", 5400), ("0.25", 900), (".5", 1800), ("2", 7200), ("1.333", 4799),
        ("1h 30m", 5400), ("1h30m", 5400), ("45m", 2700), ("2h", 7200), ("90 min", 5400),
        ("1.5h", 5400), ("2 hours", 7200), ("30s", 30), ("1H 5M 30S", 3930), ("00:00:00", 0),
        ("999:00:00", 999 * 3600), ("1h30", 5400), ("1h 30", 5400), ("2 h 05", 7500), ("1hr 15", 4500),
    ],
)  # fmt: skip
def test_duration_forms(tmp_path: Path, text: str, seconds: int) -> None:
    got, errors = run_text(tmp_path, f'Date,Start,Duration\n2026-03-05,09:00,"{text}"\n')
    assert errors == []
    assert got[0]["duration"] == seconds


def test_decimal_comma_in_semicolon_files(tmp_path: Path) -> None:
    got, errors = run_text(tmp_path, "Date;Start;Duration\n2026-03-05;09:00;1,5\n2026-03-05;11:00;2\n"
                                     "2026-03-05;13:00;1,234\n")  # fmt: skip
    assert [e["duration"] for e in got] == [5400, 7200, 4442] and errors == []


@pytest.mark.parametrize(
    ("cell", "seconds"),
    [
        ('"20,0"', 72000), ('"1,5"', 5400), ('"0,25"', 900), ('"1,75"', 6300), ('",5"', 1800),
        ('"1,234.5"', None), ('"1.234,5"', None), ("1.5", 5400), ('"1,5h"', 5400),
    ],
)  # fmt: skip
def test_a_quoted_decimal_comma_in_a_comma_file(tmp_path: Path, cell: str, seconds: int | None) -> None:
    """A comma inside a cell of a comma-separated file cannot separate cells: it is a decimal one,
    unless a dot is there too (1,234.5 and 1.234,5 are 1234.5 hours: over 999, so refused)."""
    got, errors = run_text(tmp_path, f"Date,Start,Duration\n2026-03-05,09:00,{cell}\n")
    if seconds is None:
        assert got == [] and reasons(errors) == [(2, "too_long")]
        assert "lasts 1,234.5 hours" in errors[0].message
    else:
        assert errors == [] and got[0]["duration"] == seconds


@pytest.mark.parametrize("sep", [",", "\t"])
def test_a_comma_and_three_digits_outside_a_semicolon_file_is_refused_not_guessed(
    tmp_path: Path, sep: str
) -> None:
    """1,234 separates thousands (1234 hours) or decimals (1.234): we do not guess."""
    cells = ['"1,234"', "2"] if sep == "," else ["1,234", "2"]
    text = f"Date{sep}Start{sep}Duration\n" + "".join(f"2026-03-05{sep}09:00{sep}{c}\n" for c in cells)
    got, errors = run_text(tmp_path, text)
    assert [e["duration"] for e in got] == [7200]
    assert [(e.row, e.reason, e.column) for e in errors] == [(2, "ambiguous_duration", "Duration")]
    assert errors[0].message == (
        "'1,234' could be 1234 hours (a thousands separator) or 1.234 hours (a decimal comma): "
        "write 1234 or 1.234"
    )
    for fixed, seconds in (("1234", None), ("1.234", 4442)):  # following the advice
        text = f"Date{sep}Start{sep}Duration\n2026-03-05{sep}09:00{sep}{fixed}\n"
        got, errors = run_text(tmp_path, text)
        if seconds is None:
            assert reasons(errors) == [(2, "too_long")]
        else:
            assert got[0]["duration"] == seconds and errors == []


@pytest.mark.parametrize("text", ["-1:00", "abc", "1:75", "1,5,5", "1e3", "--", "1h75", "1h 5 5"])
def test_bad_duration(tmp_path: Path, text: str) -> None:
    _, errors = run_text(tmp_path, f'Date,Start,Duration\n2026-03-05,09:00,"{text}"\n')
    assert [(e.reason, e.column) for e in errors] == [("bad_duration", "Duration")]
    assert "as a duration: use H:MM:SS, H:MM, decimal hours (1.5 or 1,5) or 1h 30m" in errors[0].message


def test_too_long(tmp_path: Path) -> None:
    text = (
        "Start date,Start time,End date,End time,Duration\n"
        "2026-03-05,09:00,,,1000:00:00\n"
        "2026-01-01,09:00,2026-03-01,09:00,\n"
        "2026-03-05,09:00,,,999:00:00\n"
    )
    got, errors = run_text(tmp_path, text)
    assert reasons(errors) == [(2, "too_long"), (3, "too_long")]
    assert "999 at most" in errors[0].message
    assert [e["duration"] for e in got] == [999 * 3600]


def test_end_before_start(tmp_path: Path) -> None:
    text = "Date,Start,End\n2026-03-05,10:00,09:00\n2026-03-05,23:00,01:00\n2026-03-05,10:00,10:00\n"
    got, errors = run_text(tmp_path, text)
    assert reasons(errors) == [(2, "end_before_start"), (3, "end_before_start")]
    assert errors[1].column == "End"
    assert errors[1].message == (
        "the end (01:00) is before the start (2026-03-05 23:00): fill in the end date if the entry goes "
        "past midnight, or correct the times"
    )
    assert picked(got, "row", "duration") == [(4, 0)]


def test_end_wins_over_duration(tmp_path: Path) -> None:
    text = "Date,Start,End,Duration\n2026-03-05,09:00,10:00,5:00\n2026-03-05,09:00,,0:20\n"
    got, _ = run_text(tmp_path, text)
    assert [e["duration"] for e in got] == [3600, 1200]


def test_neither_end_nor_duration(tmp_path: Path) -> None:
    got, errors = run_text(tmp_path, "Date,Start,End,Duration\n2026-03-05,09:00,,\n")
    assert got == [] and reasons(errors) == [(2, "no_duration")]
    assert "neither an end time nor a duration" in errors[0].message


def test_end_without_start_time(tmp_path: Path) -> None:
    _, errors = run_text(tmp_path, "Date,Start,End,Duration\n2026-03-05,,17:00,1:00\n")
    assert reasons(errors) == [(2, "no_start_time")]


# -- stacking -------------------------------------------------------------------------------------


def test_stacking_in_file_order_per_person_and_day(tmp_path: Path) -> None:
    text = (
        "Date,Hours,Email\n"
        "2026-03-05,1,a@x.com\n"
        "2026-03-06,2,a@x.com\n"
        "2026-03-05,0.5,b@x.com\n"
        "2026-03-05,bad,a@x.com\n"  # refused: takes no time
        "2026-03-05,2,a@x.com\n"
        "2026-03-05,1,\n"  # nobody: a person of its own
    )
    for chunksize in (1, 50_000):
        got, errors = run_text(tmp_path, text, "UTC", chunksize=chunksize)
        assert picked(got, "row", "start") == [
            (2, "2026-03-05T09:00:00Z"),
            (3, "2026-03-06T09:00:00Z"),
            (4, "2026-03-05T09:00:00Z"),
            (6, "2026-03-05T10:00:00Z"),
            (7, "2026-03-05T09:00:00Z"),
        ]
        assert reasons(errors) == [(5, "bad_duration")]


def test_stacking_without_shared_state_starts_each_chunk_afresh() -> None:
    mapping = detect(read_header(DATA / "harvest_export.csv"))
    starts = []
    for chunk in iter_chunks(DATA / "harvest_export.csv", chunksize=2):
        starts += list(normalize(chunk, mapping, timezone=BERLIN).start_text())
    assert starts[2] == "2026-03-05T08:00:00Z"  # Ada's second row: no memory of the first


# -- billable, tags, text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("Yes", True), ("no", False), ("TRUE", True), ("false", False), ("y", True), ("N", False),
     ("1", True), ("0", False), ("", False)],
)  # fmt: skip
def test_billable(tmp_path: Path, text: str, value: bool) -> None:
    got, _ = run_text(tmp_path, f"Date,Start,Duration,Billable\n2026-03-05,09:00,1:00,{text}\n")
    assert got[0]["billable"] is value


def test_bad_billable(tmp_path: Path) -> None:
    got, errors = run_text(tmp_path, "Date,Start,Duration,Billable\n2026-03-05,09:00,1:00,maybe\n")
    assert got == []
    assert [(e.reason, e.column) for e in errors] == [("bad_billable", "Billable")]
    assert "use yes/no, true/false, y/n, 1/0" in errors[0].message


def test_billable_absent_is_none(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Date,Start,Duration\n2026-03-05,09:00,1:00\n")
    chunk = next(iter_chunks(path))
    done = normalize(chunk, detect(chunk.frame.columns), timezone=BERLIN)
    assert done.billable is None
    assert done.description.tolist() == [None]
    assert done.tags.tolist() == [()]


def test_tags_and_text(tmp_path: Path) -> None:
    text = (
        "Date,Start,Duration,Tags,Description,Project\n"
        '2026-03-05,09:00,1:00," a , b ,, c ","=HYPERLINK(""http://x"",""y"")",  Web  \n'
    )
    got, _ = run_text(tmp_path, text)
    assert got[0]["tags"] == ["a", "b", "c"]
    assert got[0]["description"] == '=HYPERLINK("http://x","y")'
    assert got[0]["project"] == "Web"


def test_output_arrays(tmp_path: Path) -> None:
    chunk = next(iter_chunks(DATA / "toggl_export.csv"))
    done = normalize(chunk, detect(chunk.frame.columns), timezone=BERLIN)
    assert done.rows.dtype == done.start.dtype == done.duration.dtype == np.int64
    assert done.billable is not None and done.billable.dtype == bool
    assert int(done.start[0]) == int(dt.datetime(2026, 3, 5, 8, 30, tzinfo=dt.UTC).timestamp())
    assert len(done) == 3


# -- refusals are data ----------------------------------------------------------------------------


def test_bad_rows_do_not_stop_the_others(tmp_path: Path) -> None:
    text = (
        "Date,Start,Duration,Billable\n"
        "2026-03-05,09:00,1:00,yes\n"
        "nope,09:00,1:00,yes\n"
        "\n"
        "2026-03-05,09:00,1:00,yes,extra\n"
        "2026-03-05,09:00,,yes\n"
        "2026-03-05,09:00,1:00,perhaps\n"
        "\n"
        "2026-03-06,10:00,0:30,no\n"
    )
    for chunksize in (2, 50_000):
        got, errors = run_text(tmp_path, text, chunksize=chunksize)
        assert [e["row"] for e in got] == [2, 9]
        assert reasons(errors) == [
            (3, "bad_date"), (5, "too_many_cells"), (6, "no_duration"), (7, "bad_billable")
        ]  # fmt: skip
        assert all(e.file == str(tmp_path / "t.csv") for e in errors)


def test_a_chunk_of_refused_rows_only(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Date,Duration\n2026-03-05,1:00\n2026-03-05,1,x,y\n")
    chunks = list(iter_chunks(path, chunksize=1))
    mapping = detect(read_header(path))
    last = normalize(chunks[-1], mapping, timezone=BERLIN)
    assert len(last) == 0 and reasons(last.errors) == [(3, "too_many_cells")]


# -- the parsers: properties ---------------------------------------------------------------------


@given(st.text(max_size=60))
@settings(max_examples=300)
def test_duration_parser_never_raises(text: str) -> None:
    result = duration(text)
    assert result is None or result >= 0
    parsed = parse_durations(np.array([text, "1:00"], dtype=object), decimal_comma=True)
    assert parsed.seconds[1] == 3600 and len(parsed.bad) == 2


@given(st.text(max_size=60))
@settings(max_examples=300)
def test_time_parser_never_raises(text: str) -> None:
    found = moment(text)
    assert found is None or len(found) == 3
    parsed = parse_moments(np.array([text, "09:00"], dtype=object))
    assert parsed.tod[1] == 9 * 3600
    assert bool(parsed.bad[0]) == (text != "" and not _ok(parsed, 0))


def _ok(parsed: Any, i: int) -> bool:
    return bool(parsed.day[i] != NO_DAY or parsed.tod[i] >= 0)


@given(st.integers(min_value=0, max_value=2000 * 3600))
def test_duration_clock_round_trip(seconds: int) -> None:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    texts = [f"{h}:{m:02d}:{s:02d}", f"{h:02d}:{m:02d}:{s:02d}"]
    assert all(duration(t) == seconds for t in texts)
    assert parse_durations(np.array(texts, dtype=object)).seconds.tolist() == [seconds] * 2


@given(st.integers(min_value=0, max_value=100_000))
def test_decimal_hours_round_trip(hundredths: int) -> None:
    text = f"{hundredths // 100}.{hundredths % 100:02d}"
    assert duration(text) == hundredths * 36
    assert duration(text.replace(".", ","), decimal_comma=True) == hundredths * 36


@given(st.integers(min_value=0, max_value=86399))
def test_time_of_day_round_trip(tod: int) -> None:
    h, rest = divmod(tod, 3600)
    m, s = divmod(rest, 60)
    twelve = f"{(h % 12) or 12:02d}:{m:02d}:{s:02d} {'PM' if h >= 12 else 'AM'}"
    texts = [f"{h:02d}:{m:02d}:{s:02d}", f"{h}:{m:02d}:{s:02d}", twelve, twelve.lower()]
    parsed = parse_moments(np.array(texts, dtype=object))
    assert parsed.tod.tolist() == [tod] * 4
    assert not parsed.bad.any()
    assert all(moment(t) == (NO_DAY, tod, NO_OFFSET) for t in texts)


@given(st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_date_round_trip(day: dt.date) -> None:
    days = (day - dt.date(1970, 1, 1)).days
    texts = [
        day.isoformat(), day.strftime("%m/%d/%Y"), day.strftime("%d.%m.%Y"),
        f"{day.month}/{day.day}/{day.year}", str(days + 25569),
    ]  # fmt: skip
    parsed = parse_moments(np.array(texts, dtype=object))
    assert parsed.day.tolist() == [days] * len(texts)
    assert all(moment(t) == (days, -1, NO_OFFSET) for t in texts)


def test_small_parsers() -> None:
    value, bad = parse_bools(np.array(["Yes", " n ", "TRUE", "", "nah"], dtype=object))
    assert value.tolist() == [True, False, True, False, False]
    assert bad.tolist() == [False, False, False, False, True]
    assert split_tags(np.array(["a, b,,c ", "", "x"], dtype=object)).tolist() == [
        ("a", "b", "c"), (), ("x",)
    ]  # fmt: skip


# -- dates with slashes: month or day first --------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "chunks", "expected"),
    [
        ("auto", [["05/11/2026", "25/11/2026"]], ["2026-11-05", "2026-11-25"]),  # 25 shows day first
        ("auto", [["05/11/2026", "11/25/2026"]], ["2026-05-11", "2026-11-25"]),  # 25 shows month first
        ("auto", [["05/11/2026"]], ["2026-05-11"]),  # nothing shows it: month first, as Clockify
        ("dmy", [["05/11/2026"]], ["2026-11-05"]),
        # month first, but 25 shows day first: 05/11 reads both ways and is refused, not guessed
        ("mdy", [["05/11/2026", "25/11/2026", "05/05/2026"]], [None, None, "2026-05-05"]),
        ("mdy", [["25/11/2026"], ["05/11/2026"]], [None, None]),  # and in the chunks after it
        # a later chunk keeps what an earlier one showed, though it shows nothing itself
        ("auto", [["25/11/2026"], ["05/11/2026"]], ["2026-11-25", "2026-11-05"]),
        ("auto", [["05.11.2026", "2026-11-05"]], ["2026-11-05", "2026-11-05"]),  # dots, ISO: as ever
    ],
)
def test_dates_with_slashes_read_month_or_day_first(
    order: str, chunks: list[list[str]], expected: list[str | None]
) -> None:
    state = NormalizeState()
    got: list[str | None] = []
    row = 2
    for dates in chunks:
        frame = pd.DataFrame({"Date": dates, "Start": ["09:00"] * len(dates), "End": ["10:00"] * len(dates)})
        chunk = RawChunk("d.csv", frame, np.arange(row, row + len(dates), dtype=np.int64))
        row += len(dates)
        out = normalize(chunk, detect(list(frame.columns)), timezone="UTC", state=state, date_order=order)
        starts = dict(zip(out.rows.tolist(), out.start_text().tolist(), strict=True))
        got += [starts[r][:10] if r in starts else None for r in chunk.rows.tolist()]
    assert got == expected


@pytest.mark.parametrize(
    ("order", "text", "hint"),
    [
        ("dmy", "2/11/26", "(write the year with four digits)"),
        ("mdy", "11/2/26", "(write the year with four digits)"),
        ("dmy", "31/02/2026", "(dates with slashes are read day first here)"),
        ("mdy", "13/13/2026", "(with slashes the month comes first; for day-first dates pass --date-order dmy)"),  # noqa: E501
    ],
)
def test_a_refused_date_with_slashes_gets_the_hint_for_its_order(order: str, text: str, hint: str) -> None:
    frame = pd.DataFrame({"Date": [text], "Start": ["09:00"], "End": ["10:00"]})
    chunk = RawChunk("d.csv", frame, np.array([2], dtype=np.int64))
    out = normalize(chunk, detect(list(frame.columns)), timezone="UTC", date_order=order)
    assert [e.reason for e in out.errors] == ["bad_date"]
    assert out.errors[0].message.endswith(hint), out.errors[0].message


# -- dates with month names, ISO with milliseconds, +0100 ----------------------------------------


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("Jan 20, 2023, 6:25 PM", "2023-01-20T17:25:00Z"),  # Jira Cloud
        ("01-Aug-2023 09:00:00", "2023-08-01T07:00:00Z"),  # Jira Server
        ("29-Jun-2023  04:00:00 PM", "2023-06-29T14:00:00Z"),  # two spaces
        ("20/Jan/23 6:25 PM", "2023-01-20T17:25:00Z"),  # Jira's own, a two-digit year
        ("20 Jan 2023 18:25", "2023-01-20T17:25:00Z"),
        ("Friday, January 20, 2023 6:25 pm", "2023-01-20T17:25:00Z"),  # the weekday fits
        ("Fri 20 Jan 2023 18:25", "2023-01-20T17:25:00Z"),
        ("Sept 5, 2023 9:00", "2023-09-05T07:00:00Z"),
        ("5 Sept. 2023 9:00", "2023-09-05T07:00:00Z"),
        ("SEP 5 2023 9:00 AM", "2023-09-05T07:00:00Z"),
        ("December 31, 2026, 11:59 PM", "2026-12-31T22:59:00Z"),
        ("2nd March 2026 10:00", "2026-03-02T09:00:00Z"),
        ("20-Jan-26 10:00", "2026-01-20T09:00:00Z"),
        ("2023-01-20T18:25:00.123Z", "2023-01-20T18:25:00Z"),  # milliseconds
        ("2023-01-20T18:25:00.500Z", "2023-01-20T18:25:01Z"),  # rounded like 09:30:00.6
        ("2023-01-20T18:25:00.000+0100", "2023-01-20T17:25:00Z"),  # Jira's REST worklogs
        ("2023-01-20T18:25:00+0100", "2023-01-20T17:25:00Z"),
        ("2023-01-20T18:25:00.000-05:30", "2023-01-20T23:55:00Z"),
        ("2023-01-20 18:25:00.250", "2023-01-20T17:25:00Z"),
        ("2023-01-20 18:25", "2023-01-20T17:25:00Z"),
        ("20 Jan 2023 6:25 pm +01:00", "2023-01-20T17:25:00Z"),
    ],
)
def test_date_times_with_month_names_and_milliseconds(tmp_path: Path, text: str, start: str) -> None:
    got, errors = run_text(tmp_path, f'When,Duration\n"{text}",1:00\n', overrides={"start": "When"})
    assert errors == []
    assert got[0]["start"] == start
    assert moment(text) is not None  # the regex path reads what the fast path reads


@pytest.mark.parametrize(
    ("date", "start"),
    [("20 Jan 2023", "2023-01-20T08:00:00Z"), ("January 20 2023", "2023-01-20T08:00:00Z"),
     ("Jan 20, 23", "2023-01-20T08:00:00Z"), ("20-jan-2023", "2023-01-20T08:00:00Z"),
     ("29 Feb 2024", "2024-02-29T08:00:00Z"), ("Tuesday, 20 January 2026", "2026-01-20T08:00:00Z")],
)  # fmt: skip
def test_dates_with_month_names_in_a_date_column(tmp_path: Path, date: str, start: str) -> None:
    got, errors = run_text(tmp_path, f'Date,Start,Duration\n"{date}",09:00,1:00\n')
    assert errors == [] and got[0]["start"] == start


@pytest.mark.parametrize(
    ("date", "words"),
    [
        ("Monday, January 20, 2023", "'Monday, January 20, 2023' says Monday, but 20 January 2023 is a "
                                     "Friday: correct the date or the weekday"),
        ("Feb 30, 2023", "cannot read 'Feb 30, 2023' as a date: use YYYY-MM-DD"),
        ("29 Feb 2023", "cannot read '29 Feb 2023'"),
        ("Jam 20, 2023", "the month by its name (20 Jan 2026, 20-Jan-26, January 20 2026)"),
        ("Someday, Jan 20, 2023", "cannot read 'Someday, Jan 20, 2023'"),
        ("20 Jan", "cannot read '20 Jan'"),
    ],
)  # fmt: skip
def test_dates_with_month_names_that_are_refused(tmp_path: Path, date: str, words: str) -> None:
    got, errors = run_text(tmp_path, f'Date,Start,Duration\n"{date}",09:00,1:00\n')
    assert got == [] and [(e.reason, e.column) for e in errors] == [("bad_date", "Date")]
    assert words in errors[0].message


def test_a_weekday_that_contradicts_a_date_time_is_named(tmp_path: Path) -> None:
    text = 'When,Duration\n"Sat, Jan 20, 2023, 6:25 PM",1:00\n'
    _, errors = run_text(tmp_path, text, overrides={"start": "When"})
    assert [(e.reason, e.message) for e in errors] == [
        ("bad_time", "'Sat, Jan 20, 2023, 6:25 PM' says Saturday, but 20 January 2023 is a Friday: "
                     "correct the date or the weekday")
    ]  # fmt: skip


def test_month_names_are_parsed_once_per_distinct_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import importer.cells as cells

    seen: list[str] = []
    real = cells.moment
    monkeypatch.setattr(cells, "moment", lambda text: seen.append(text) or real(text))
    values = np.array(["Jan 20, 2023, 6:25 PM", "01-Aug-2023 09:00:00"] * 1000, dtype=object)
    found = parse_moments(values)
    assert sorted(seen) == ["01-Aug-2023 09:00:00", "Jan 20, 2023, 6:25 PM"]
    assert not found.bad.any()


# -- durations: Jira's days and weeks, seconds columns, separators -------------------------------


@pytest.mark.parametrize(
    ("text", "day_hours", "seconds"),
    [("35m", 8, 2100), ("1h", 8, 3600), ("0h 30m", 8, 1800), ("1d 2h", 8, 36000), ("1d", 7.5, 27000),
     ("1w", 8, 144000), ("1w 2d 3h 30m", 8, 214200), ("2 days", 8, 57600), ("1.5d", 8, 43200),
     ("1,5h", 8, 5400), ("3 weeks", 6, 3 * 5 * 6 * 3600)],
)  # fmt: skip
def test_jira_days_and_weeks(text: str, day_hours: float, seconds: int) -> None:
    assert duration(text, day_hours=day_hours) == seconds
    assert parse_durations([text], day_hours=day_hours).seconds.tolist() == [seconds]


@pytest.mark.parametrize(
    ("text", "decimal_comma", "seconds"),
    [("1,5", False, 5400), ("1,5", True, 5400), ("20,0", False, 72000), ("1,234", True, 4442),
     ("1,234", False, None), ("1,234.5", False, 4444200), ("1,234.5", True, 4444200),
     ("1.234,5", False, 4444200), ("1.234,5", True, 4444200), ("1,234,567", False, 4444441200),
     ("1.234.567", True, 4444441200), ("1.234", False, 4442), ("1.234", True, 4442),
     ("12,34.5", False, None), ("1,5,5", True, None), ("1.2.3", False, None)],
)  # fmt: skip
def test_thousands_and_decimal_separators(text: str, decimal_comma: bool, seconds: int | None) -> None:
    assert duration(text, decimal_comma=decimal_comma) == seconds
    found = parse_durations([text], decimal_comma=decimal_comma)
    assert found.ambiguous.tolist() == [text == "1,234" and not decimal_comma]
    assert found.bad.tolist() == [seconds is None]


def test_a_column_of_seconds_or_minutes(tmp_path: Path) -> None:
    got, errors = run_text(tmp_path, "Date,Start,Time Spent (seconds),Duration (min)\n"
                                     "2026-03-05,09:00,5400,90\n",
                           overrides={"duration": "Time Spent (seconds)"})  # fmt: skip
    assert errors == [] and got[0]["duration"] == 5400
    got, errors = run_text(tmp_path, "Date,Start,Duration (min)\n2026-03-05,09:00,90\n2026-03-05,11:00,1h\n")
    assert errors == [] and [e["duration"] for e in got] == [5400, 3600]


# -- since, until, only_email: rows skipped, not refused ------------------------------------------


def window(tmp_path: Path, text: str, **kw: Any) -> NormalizedChunk:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    mapping = detect(read_header(path))
    [chunk] = [normalize(c, mapping, timezone=kw.pop("timezone", BERLIN), **kw) for c in iter_chunks(path)]
    return chunk


def skipped(chunk: NormalizedChunk) -> list[tuple[int, str | None, str]]:
    assert all(e.reason == "skipped" for e in chunk.skipped)
    return [(e.row, e.column, e.message) for e in chunk.skipped]


def test_since_and_until_are_inclusive_local_dates(tmp_path: Path) -> None:
    text = ("Date,Start,Duration,Description\n2025-12-31,23:30,1:00,a\n2026-01-01,00:10,1:00,b\n"
            "2026-01-31,23:59,1:00,c\n2026-02-01,00:00,1:00,d\n")  # fmt: skip
    chunk = window(tmp_path, text, since=dt.date(2026, 1, 1), until=dt.date(2026, 1, 31))
    assert chunk.rows.tolist() == [3, 4] and chunk.description.tolist() == ["b", "c"]
    assert chunk.errors == []
    assert skipped(chunk) == [(2, "Date", "before --since 2026-01-01"),
                              (5, "Date", "after --until 2026-01-31")]  # fmt: skip
    assert len(chunk.start) == len(chunk.duration) == len(chunk.key) == len(chunk.tags) == 2


def test_a_time_with_an_offset_is_in_the_window_by_its_local_date(tmp_path: Path) -> None:
    """2026-01-31T23:30:00Z is 1 February in Berlin: after --until 2026-01-31 there, inside in UTC;
    2025-12-31T23:30:00-01:00 is 1 January in both."""
    text = "When,Duration\n2026-01-31T23:30:00Z,1:00\n2025-12-31T23:30:00-01:00,1:00\n"
    rules = {"since": dt.date(2026, 1, 1), "until": dt.date(2026, 1, 31)}
    berlin = window(tmp_path, text.replace("When", "Start"), **rules)
    assert berlin.rows.tolist() == [3] and [r for r, *_ in skipped(berlin)] == [2]
    utc = window(tmp_path, text.replace("When", "Start"), timezone="UTC", **rules)
    assert utc.rows.tolist() == [2, 3] and utc.skipped == []
    no_zone = window(tmp_path, text.replace("When", "Start"), timezone=None, **rules)
    assert no_zone.rows.tolist() == [2]  # the date as written: 2025-12-31 is before


def test_skipped_wins_over_a_refusal_only_when_the_date_is_readable(tmp_path: Path) -> None:
    text = ("Date,Start,Duration\n2025-06-01,99:00,1:00\n2025-06-01,09:00,abc\nnot a date,09:00,1:00\n"
            "2025-13-01,09:00,1:00\n2026-03-01,99:00,1:00\n")  # fmt: skip
    chunk = window(tmp_path, text, since=dt.date(2026, 1, 1))
    assert [r for r, *_ in skipped(chunk)] == [2, 3]
    assert reasons(chunk.errors) == [(4, "bad_date"), (5, "bad_date"), (6, "bad_time")]


def test_only_email_ignores_case_and_skips_rows_without_one(tmp_path: Path) -> None:
    text = ("Date,Start,Duration,Email\n2026-03-05,09:00,1:00, Ana@Example.COM \n"
            "2026-03-05,10:00,1:00,bo@example.com\n2026-03-05,11:00,1:00,\n2026-03-05,12:00,x,bo@example.com\n")
    chunk = window(tmp_path, text, only_email=("ana@example.com", "cy@example.com"))
    assert chunk.rows.tolist() == [2] and chunk.errors == []
    assert skipped(chunk) == [(r, "Email", "not one of --only-email ana@example.com, cy@example.com")
                              for r in (3, 4, 5)]  # fmt: skip


def test_only_email_without_an_email_column_refuses_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--only-email picks rows by their email, and no column holds one"):
        window(tmp_path, "Date,Start,Duration\n2026-03-05,09:00,1:00\n", only_email=("a@b.c",))


def test_stacked_rows_skip_the_days_outside(tmp_path: Path) -> None:
    text = "Date,Hours,Notes\n2026-03-04,2,a\n2026-03-05,2,b\n2026-03-05,1,c\n"
    chunk = window(tmp_path, text, since=dt.date(2026, 3, 5))
    assert chunk.start_text().tolist() == ["2026-03-05T08:00:00Z", "2026-03-05T10:00:00Z"]


# -- the description with an issue key, the key column -------------------------------------------


def test_issue_key_summary_and_worklog_id(tmp_path: Path) -> None:
    text = ("Issue Key,Summary,Worklog Id,Started,Time Spent,Comment\n"
            "WEB-1,Login,77,2026-03-05 09:00,1h,Fix the form\nWEB-1,Login,78,2026-03-05 10:00,1h,\n"
            ",,,2026-03-05 11:00,1h,No issue\n,,,2026-03-05 12:00,1h,\n")  # fmt: skip
    chunk = window(tmp_path, text)
    assert chunk.description.tolist() == ["WEB-1: Fix the form", "WEB-1: Login", "No issue", None]
    assert chunk.key.tolist() == ["77", "78", "", ""]
    plain = window(tmp_path, "Date,Start,Duration\n2026-03-05,09:00,1:00\n")
    assert plain.key.tolist() == [""] and plain.description.tolist() == [None]
