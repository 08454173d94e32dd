"""The files people really have (issue 9): Jira worklogs in three date styles, a European Harvest
export with quoted decimal commas, a German hand-made workbook with title rows, French, Spanish
and Portuguese sheets, and a workbook that is CSV text -- read, normalised, exact values.

The fixtures are shapes of real exports, made up (``tests/data/make_fixtures.py``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_messages import Done, Server, invoke, notes_in, report_rows, run_args

from importer.header import HeaderHints
from importer.models import RowError
from importer.normalize import NormalizeState, normalize
from importer.presets import detect
from importer.reader import iter_chunks, read_header

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


def dry_run(server: Server, folder: Path, *args: str) -> Done:
    """A dry run in ``folder`` against the sandbox, the columns of names left out (``[columns]``:
    the sandbox knows none of the fixtures' projects and people)."""
    (folder / "c.toml").write_text('[columns]\nproject = ""\nclient = ""\ntask = ""\nemail = ""\n')
    argv = run_args(server, *args, "--config", "c.toml")
    return invoke(argv, folder, {"TOGGL_API_TOKEN": server.sandbox.token})


Found = tuple[list[tuple[Any, ...]], list[RowError]]


def read(name: str, *, hints: HeaderHints | None = None, **options: Any) -> Found:
    """(row, start, seconds, description, key) of the entries, and the refusals."""
    path = DATA / name
    header = read_header(path, hints=hints)
    overrides = options.pop("overrides", None)
    mapping = detect(header, options.pop("preset", "auto"), overrides, file=name)
    state, got, errors = NormalizeState(), [], []
    zone = options.pop("timezone", "Europe/Berlin")
    for chunk in iter_chunks(path, hints=hints):
        done = normalize(chunk, mapping, timezone=zone, state=state, **options)
        got += list(zip(done.rows.tolist(), done.start_text().tolist(), done.duration.tolist(),
                        done.description.tolist(), done.key.tolist(), strict=True))  # fmt: skip
        errors += done.errors
    return got, errors


def test_jira_cloud_worklogs() -> None:
    got, errors = read("jira_cloud.csv")
    assert got == [
        (2, "2023-01-20T17:25:00Z", 35 * 60, "WEB-101: Pairing on the form", "10001"),
        (3, "2023-01-23T08:00:00Z", 3600, "WEB-101: Login page redesign", "10002"),  # no comment: the summary
        (4, "2023-09-04T21:30:00Z", 1800, 'OPS-7: Checked the cron, "disk full"', "10003"),
        (5, "2023-09-05T06:00:00Z", 10 * 3600, "OPS-7: Restore drill", "10004"),  # 1d 2h: a day is 8 h
    ]
    assert [(e.row, e.reason, e.column) for e in errors] == [(6, "no_start", "Started")]  # the totals row


def test_jira_server_worklogs_in_seconds() -> None:
    got, errors = read("jira_server.csv")
    assert got == [
        (2, "2023-08-01T07:00:00Z", 3600, "PAY-12: Export to CSV", "20001"),
        (3, "2023-08-02T12:15:00Z", 5400, "PAY-12: Invoice export", "20002"),
        (4, "2023-08-31T15:45:00Z", 900, "PAY-13: Review with finance", "20003"),
    ]
    assert [(e.row, e.reason) for e in errors] == [(5, "no_start")]


def test_jira_twelve_hour_times_with_two_spaces() -> None:
    got, errors = read("jira_twelve_hour.csv")
    assert got == [
        (2, "2023-06-29T14:00:00Z", 2700, "APP-3: Spike", "30001"),
        (3, "2023-06-30T07:30:00Z", 8100, "APP-3: Push notifications", "30002"),
        (4, "2023-07-03T10:00:00Z", 3600, "APP-4: Colours", "30003"),
    ]
    assert [(e.row, e.reason) for e in errors] == [(5, "no_start")]


def test_jira_days_follow_jira_day_hours() -> None:
    got, _ = read("jira_cloud.csv", jira_day_hours=7.5)
    assert got[3][2] == int(9.5 * 3600)


def test_european_harvest_hours_with_quoted_decimal_commas() -> None:
    got, errors = read("harvest_european.csv")
    assert errors == []
    assert [(row, start, seconds) for row, start, seconds, *_ in got] == [
        (2, "2026-03-02T08:00:00Z", 20 * 3600),
        (3, "2026-03-05T08:00:00Z", 5400),
        (4, "2026-03-05T09:30:00Z", 900),  # after the 1,5 hours of the same person that day
        (5, "2026-03-06T08:00:00Z", 7200),
    ]


def test_a_german_workbook_with_title_rows() -> None:
    path = DATA / "german_titles.xlsx"
    header = read_header(path)
    assert header.place.row == 4 and header.place.title == "Stundenzettel März 2026"
    mapping = detect(header)
    assert mapping.preset == "generic" and mapping.notes(header) == []
    got, errors = read("german_titles.xlsx")
    assert errors == []
    assert got == [
        (5, "2026-03-02T07:30:00Z", 3.5 * 3600, "Entwürfe Startseite", ""),
        (6, "2026-03-02T12:00:00Z", 2.75 * 3600, "Abstimmung mit Kunde", ""),
    ]


def test_the_german_workbook_with_its_advice_followed_instead() -> None:
    """--header-row and --map name the same header the search finds."""
    for hints in (HeaderHints(row=4), HeaderHints(columns=("Datum", "Ende")), HeaderHints(sheet="Stunden")):
        assert [r for r, *_ in read("german_titles.xlsx", hints=hints)[0]] == [5, 6]


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("french.csv", {"date_order": "dmy"},
         [(2, "2026-03-05T08:00:00Z", 5400, "Réunion de lancement", ""),
          (3, "2026-03-25T13:00:00Z", 5400, "Maquettes", "")]),
        ("spanish.csv", {}, [(2, "2026-03-05T08:00:00Z", 8100, "Revisión del diseño", ""),
                             (3, "2026-03-06T15:30:00Z", 1800, "Llamada", "")]),
        ("portuguese.tsv", {}, [(2, "2026-03-05T07:30:00Z", 5400, "Reunião com cliente", ""),
                                (3, "2026-03-06T12:00:00Z", 2700, "Correções", "")]),
        ("csv_named.xlsx", {}, [(2, "2026-03-05T08:00:00Z", 8100, "Revisión del diseño", ""),
                                (3, "2026-03-06T15:30:00Z", 1800, "Llamada", "")]),
    ],
)  # fmt: skip
def test_french_spanish_and_portuguese_sheets(
    name: str, options: dict[str, Any], expected: list[Any]
) -> None:
    got, errors = read(name, **options)
    assert (got, errors) == (expected, [])


def test_billable_and_tags_in_other_languages() -> None:
    path = DATA / "french.csv"
    mapping = detect(read_header(path))
    [chunk] = [normalize(c, mapping, timezone="Europe/Paris", date_order="dmy") for c in iter_chunks(path)]
    assert chunk.billable is not None and chunk.billable.tolist() == [True, False]
    assert chunk.tags.tolist() == [("réunion", "client"), ()]
    assert chunk.email.tolist() == ["ada@example.com"] * 2


def test_only_one_person_and_one_month_of_a_jira_export() -> None:
    got, _ = read("jira_cloud.csv", only_email=["BRUNO@example.com"], since=dt.date(2023, 9, 5))
    assert [r for r, *_ in got] == [5]


def test_a_jira_dry_run_posts_the_worklogs_and_refuses_the_totals_row(server: Server, tmp_path: Path) -> None:
    (tmp_path / "worklogs.csv").write_bytes((DATA / "jira_cloud.csv").read_bytes())
    done = dry_run(server, tmp_path, "worklogs.csv", "--emit-payloads", "p.jsonl", "--report", "r.csv")
    assert done.code == 1, done
    bodies = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [(b["row"], b["payload"]["description"], b["payload"]["duration"]) for b in bodies] == [
        (2, "WEB-101: Pairing on the form", 2100), (3, "WEB-101: Login page redesign", 3600),
        (4, 'OPS-7: Checked the cron, "disk full"', 1800), (5, "OPS-7: Restore drill", 36000),
    ]  # fmt: skip
    assert all("key" not in b["payload"] for b in bodies)
    totals = report_rows(tmp_path / "r.csv")[("worklogs.csv", 6)]
    assert (totals["status"], totals["message"]) == (
        "refused", "column 'Started': the row has no start date: fill in the date"
    )
    assert notes_in(done, "columns not used") == []


def test_a_harvest_dry_run_reads_every_row_and_its_notes_agree(server: Server, tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_bytes((DATA / "harvest_european.csv").read_bytes())
    done = dry_run(server, tmp_path, "h.csv")
    assert done.code == 0, done
    assert notes_in(done, "durations such as") == []


def test_the_advice_of_issue_9_works_on_a_german_sheet_generic_half_knows(
    server: Server, tmp_path: Path
) -> None:
    """Title rows above 'Datum, Arbeitszeit, Leistung': --map start_date=Datum finds the header
    (not 'no such column'), and the refusal that follows names the length column to map."""
    (tmp_path / "z.csv").write_text("Stundenzettel März\nAda Lovelace\n\nDatum,Arbeitszeit,Leistung\n"
                                    "02.03.2026,\"1,5\",Entwurf\n", encoding="utf-8")  # fmt: skip
    first = dry_run(server, tmp_path, "z.csv", "--map", "start_date=Datum")
    assert (first.code, first.out) == (2, "")
    assert first.err == (
        "toggl-import: cannot tell which columns hold the length of each entry (generic preset): z.csv "
        "has the columns 'Datum', 'Arbeitszeit', 'Leistung'; name them, for example --map "
        'duration="Arbeitszeit"\n'
    )
    done = dry_run(server, tmp_path, "z.csv", "--map", "start_date=Datum", "--map", "duration=Arbeitszeit",
                   "--emit-payloads", "p.jsonl")  # fmt: skip
    assert done.code == 0, done
    [line] = (tmp_path / "p.jsonl").read_text().splitlines()
    assert (json.loads(line)["row"], json.loads(line)["payload"]["duration"]) == (5, 5400)


def test_notes_and_rows_agree_on_decimal_commas(server: Server, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text('Date,Start,Duration\n2026-03-02,09:00,"1,30"\n2026-03-02,11:00,"0,45"\n'
                                    '2026-03-03,09:00,"1,234"\n')  # fmt: skip
    done = dry_run(server, tmp_path, "d.csv", "--emit-payloads", "p.jsonl")
    assert notes_in(done, "durations such as") == [
        "note: d.csv: durations such as '1,30' are read as decimal hours (1 h 18 min): if they mean hours "
        "and minutes, write them as 1:30"
    ]
    bodies = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [b["payload"]["duration"] for b in bodies] == [4680, 1620]  # and 1,234 refused, not read
