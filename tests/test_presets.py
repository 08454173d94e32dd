"""presets.detect / pick: the known exports, generic names, --map overrides, and headers refused."""

from __future__ import annotations

import pytest

from importer.errors import ConfigError, InputError
from importer.header import Header, HeaderHints, Place
from importer.presets import FIELDS, detect, find_header, key, pick

TOGGL = [
    "User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date",
    "Start time", "End date", "End time", "Duration", "Tags", "Amount (USD)",
]  # fmt: skip
TOGGL_IMPORT = [
    "User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date",
    "Start time", "Duration", "Tags",
]  # fmt: skip
CLOCKIFY = [
    "Project", "Client", "Description", "Task", "User", "Group", "Email", "Tags", "Billable",
    "Start Date", "Start Time", "End Date", "End Time", "Duration (h)", "Duration (decimal)",
    "Billable Rate (USD)", "Billable Amount (USD)",
]  # fmt: skip
HARVEST = [
    "Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Billable?",
    "Invoiced?", "Approved?", "First Name", "Last Name", "Employee Id", "Roles", "Employee?",
    "Billable Rate", "Billable Amount", "Cost Rate", "Cost Amount", "Currency",
    "External Reference URL",
]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "preset"),
    [
        (TOGGL, "toggl"),
        ([c if c != "Amount (USD)" else "Amount ()" for c in TOGGL], "toggl"),
        (TOGGL_IMPORT, "toggl-import"),
        (list(reversed(TOGGL_IMPORT)), "toggl-import"),  # any order
        (CLOCKIFY, "clockify"),
        ([c for c in CLOCKIFY if c != "Duration (h)"], "clockify"),
        (HARVEST, "harvest"),
        ([*HARVEST, "Hours Rounded"], "harvest"),
        (["Date", "Start", "End", "Description"], "generic"),
        (["Date", "Hours", "Notes"], "generic"),  # not enough of Harvest's own columns
    ],
)
def test_auto_picks_by_header(header: list[str], preset: str) -> None:
    assert pick(header) == preset
    assert detect(header).preset == preset


def test_toggl_export_mapping() -> None:
    mapping = detect(TOGGL)
    assert mapping.columns == {
        "start_date": "Start date", "start_time": "Start time", "end_date": "End date",
        "end_time": "End time", "duration": "Duration", "description": "Description",
        "project": "Project", "client": "Client", "task": "Task", "tags": "Tags",
        "billable": "Billable", "email": "Email", "user": "User",
    }  # fmt: skip
    assert mapping.person == ("Email",)


def test_toggl_import_mapping_has_no_end() -> None:
    mapping = detect(TOGGL_IMPORT)
    assert "end_time" not in mapping.columns and "end_date" not in mapping.columns
    assert mapping.columns["duration"] == "Duration"
    assert mapping.columns["start_time"] == "Start time"


def test_clockify_mapping() -> None:
    mapping = detect(CLOCKIFY)
    assert mapping.columns["start_date"] == "Start Date"
    assert mapping.columns["end_time"] == "End Time"
    assert mapping.columns["duration"] == "Duration (h)"
    assert detect([c for c in CLOCKIFY if c != "Duration (h)"]).columns["duration"] == ("Duration (decimal)")


def test_harvest_mapping_has_no_start_time_and_no_email() -> None:
    mapping = detect(HARVEST)
    assert mapping.columns == {
        "start_date": "Date", "duration": "Hours", "description": "Notes", "project": "Project",
        "client": "Client", "task": "Task", "billable": "Billable?",
    }  # fmt: skip
    assert mapping.person == ("First Name", "Last Name")


@pytest.mark.parametrize(
    ("column", "fld"),
    [
        ("DATE", "start_date"), ("start_date", "start_date"), ("Start Date", "start_date"),
        ("start", "start_time"), ("START_TIME", "start_time"), ("stop", "end_time"),
        ("End", "end_time"), ("end time", "end_time"), ("End_Date", "end_date"),
        ("hours", "duration"), ("Duration", "duration"), ("notes", "description"),
        ("Description", "description"), ("project", "project"), ("Client", "client"),
        ("TASK", "task"), ("tags", "tags"), ("Billable", "billable"), ("mail", None),
        ("Email", "email"), ("User Email", "email"), ("user_email", "email"),
    ],
)  # fmt: skip
def test_generic_names(column: str, fld: str | None) -> None:
    header = ["Date", "Duration"] if fld not in ("start_date", "duration") else []
    header = [*header, column] if column not in header else header
    if fld == "start_date":
        header.append("Duration")
    if fld == "duration":
        header.append("Date")
    mapping = detect(header, "generic")
    if fld is None:
        assert column not in mapping.columns.values()
    else:
        assert mapping.columns[fld] == column


def test_key_ignores_case_spaces_and_underscores() -> None:
    assert key(" Start_ Time ") == key("starttime") == "starttime"


def test_override_a_column() -> None:
    mapping = detect(["Day", "Time spent", "What"], overrides={"start_date": "Day",
                                                               "duration": "time spent"})  # fmt: skip
    assert mapping.columns == {"start_date": "Day", "duration": "Time spent", "description": "What"}
    mapping = detect(TOGGL, overrides={"description": "Task", "duration": "Amount (USD)"})
    assert mapping.columns["description"] == "Task"
    assert mapping.preset == "toggl"


def test_override_with_empty_column_unmaps() -> None:
    assert "task" not in detect(TOGGL, overrides={"task": ""}).columns


def test_override_unknown_column_lists_the_columns() -> None:
    with pytest.raises(ConfigError) as caught:
        detect(["Day", "Time spent"], overrides={"start_date": "Dayz"}, file="hours.csv")
    message = str(caught.value)
    assert "--map start_date='Dayz': no such column" in message
    assert "hours.csv has the columns 'Day', 'Time spent'" in message


def test_override_unknown_field() -> None:
    with pytest.raises(ConfigError, match="unknown field; use one of start, start_date"):
        detect(TOGGL, overrides={"begin": "Start date"})


def test_unknown_header_says_which_map_fixes_it() -> None:
    with pytest.raises(ConfigError) as caught:
        detect(["Work day", "Time logged", "Notes"], file="hours.csv")
    message = str(caught.value)
    assert "cannot tell which columns hold the start and the length of each entry" in message
    assert "hours.csv has the columns 'Work day', 'Time logged', 'Notes'" in message
    assert '--map start_date="Work day" --map duration="Time logged"' in message


def test_a_header_with_an_end_column_is_told_to_map_the_end_not_a_duration() -> None:
    with pytest.raises(ConfigError) as caught:
        detect(["Date worked", "Begin", "Finish"])
    assert '--map end_time="Finish"' in str(caught.value)


def test_generic_synonyms_people_type_by_hand() -> None:
    mapping = detect(["Day", "From", "To", "What", "Project"])
    assert mapping.columns == {"start_date": "Day", "start_time": "From", "end_time": "To",
                               "description": "What", "project": "Project"}  # fmt: skip


def test_notes_name_unused_columns_and_a_missing_start_time() -> None:
    header = ["Tag der Arbeit", "Arbeitszeit", "Leistung", "Kostenstelle"]
    mapping = detect(header, overrides={"start_date": "Tag der Arbeit", "duration": "Arbeitszeit"})
    notes = mapping.notes(header)
    assert "columns not used: 'Leistung', 'Kostenstelle'" in notes[0]
    assert "no start-time column" in notes[1]
    full = detect(["Day", "From", "To", "What"])
    assert full.notes(["Day", "From", "To", "What"]) == []
    assert detect(TOGGL).notes(TOGGL) == []  # a known export's extra columns are expected


def test_header_without_a_length() -> None:
    with pytest.raises(ConfigError) as caught:
        detect(["Date", "Description"])
    assert "hold the length of each entry" in str(caught.value)
    assert '--map duration="<column>"' in str(caught.value)


def test_explicit_preset_that_does_not_fit() -> None:
    with pytest.raises(InputError, match="harvest preset reads the date from a column 'Date'"):
        detect(TOGGL, "harvest")


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'excel': choose one of auto, toggl"):
        detect(TOGGL, "excel")


def test_fields_cover_the_payload() -> None:
    payload = {
        "start_date", "start_time", "start", "end_date", "end_time", "end", "duration",
        "description", "project", "client", "task", "tags", "billable", "email",
    }  # fmt: skip
    assert payload <= set(FIELDS)


# -- which row is the header: titles above it ---------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "at", "place"),
    [
        ([(1, ["Date", "Hours"]), (2, ["Date", "Hours"])], 0, Place()),
        ([(1, ["Timesheet"]), (3, ["Ada", ""]), (5, ["Date", "Hours"])], 2, Place(row=5, title="Timesheet")),
        ([(2, ["", "Report"]), (3, TOGGL), (4, ["x"] * len(TOGGL))], 1, Place(row=3, title="Report")),
        ([(1, ["When", "Length"]), (2, ["2026-11-02", "1"])], None, Place()),  # --map may name them
        ([(1, ["Timesheet"]), (2, ["When", "Length"]), (4, ["2026-11-02", "1"])], None,
         Place(row=1, searched_to=4)),  # a title: how far was looked is said
        ([(n, ["Title"]) for n in range(1, 21)] + [(21, ["Date", "Hours"])], None, Place()),  # 20 rows only
        ([(n, ["Title"]) for n in range(1, 20)] + [(20, ["Date", "Hours"])], 19,
         Place(row=20, title="Title")),
    ],
)
def test_find_header(rows: list[tuple[int, list[str]]], at: int | None, place: Place) -> None:
    assert find_header(rows) == (at, place)


def test_a_header_below_titles_is_a_plain_list_to_detect() -> None:
    header = Header(["Date", "Hours"], Place(row=4, title="Timesheet"))
    assert header == ["Date", "Hours"]
    assert detect(header).columns == {"start_date": "Date", "duration": "Hours"}
    with pytest.raises(ConfigError, match="in row 1, and no row below it down to row 9 looks like a header"):
        detect(Header(["Timesheet"], Place(searched_to=9)), file="t.csv")


# -- jira -------------------------------------------------------------------------------------------

JIRA = ["Issue Key", "Summary", "Worklog Id", "Started", "Time Spent", "Author", "Author Email", "Comment"]


@pytest.mark.parametrize(
    ("header", "columns"),
    [
        (JIRA, {"start": "Started", "duration": "Time Spent", "description": "Comment", "issue": "Issue Key",
                "summary": "Summary", "email": "Author Email", "user": "Author", "key": "Worklog Id"}),
        (["Issue Key", "Issue Summary", "Worklog Id", "Start Date", "Time Spent (seconds)", "User",
          "Work Description"],
         {"start": "Start Date", "duration": "Time Spent (seconds)", "description": "Work Description",
          "issue": "Issue Key", "summary": "Issue Summary", "user": "User", "key": "Worklog Id"}),
        (["Key", "Summary", "Id", "Date Started", "Time spent (h)", "Author", "Comment"],
         {"start": "Date Started", "duration": "Time spent (h)", "description": "Comment", "issue": "Key",
          "summary": "Summary", "user": "Author", "key": "Id"}),
        (["Issue Key", "Work date", "Hours", "Full name", "Work Description"],  # Tempo
         {"start": "Work date", "duration": "Hours", "description": "Work Description", "issue": "Issue Key",
          "user": "Full name"}),
    ],
)  # fmt: skip
def test_jira_worklog_exports(header: list[str], columns: dict[str, str]) -> None:
    assert pick(header) == "jira"
    mapping = detect(header)
    assert (mapping.preset, mapping.columns) == ("jira", columns)
    assert mapping.person == (columns.get("email") or columns["user"],)
    assert mapping.duration_unit == (1 if "seconds" in columns["duration"] else 3600)


def test_the_key_field_is_mapped_and_never_a_payload_field() -> None:
    mapping = detect(["Date", "Hours", "Entry"], overrides={"key": "Entry"})
    assert mapping.columns["key"] == "Entry"
    assert detect(JIRA, overrides={"key": ""}).columns.get("key") is None  # --map key= : none


@pytest.mark.parametrize(
    ("preset", "header", "words"),
    [
        ("toggl-import", ["User", "Email", "Start time", "Duration", "Description"],
         "the toggl-import preset reads the date from a column 'Start date', and the header has the columns "
         "'User', 'Email', 'Start time', 'Duration', 'Description': name the column that holds it, for "
         'example --map start_date="<column>"'),
        ("auto", ["Issue Key", "Summary", "Time Spent", "Comment"],
         "the jira preset reads the date from a column 'Started' or 'Start Date' or 'Date Started' or "
         "'Work date', and the header has"),
        ("clockify", ["Start Date", "Start Time", "Description"],
         'reads the length from a column \'Duration (h)\' or \'Duration (decimal)\', and the header has the '
         'columns \'Start Date\', '
         "'Start Time', 'Description': name the column that holds it, for example --map "
         'duration="<column>"'),
        ("harvest", ["Day", "Time", "Notes"],
         "the harvest preset reads the date from a column 'Date' and the length from a column 'Hours', and "
         "the header has the columns 'Day', 'Time', 'Notes': name the columns that hold them, for example "
         '--map start_date="Day" --map duration="Time"'),
        ("harvest", ["Day", "Hours", "What"],
         "the harvest preset reads the date from a column 'Date', and the header has the columns 'Day', "
         "'Hours', 'What': name the column that holds it, for example --map start_date=\"Day\", or pass "
         "--preset generic"),
    ],
)  # fmt: skip
def test_a_named_preset_without_its_date_or_length_refuses_the_file(
    preset: str, header: list[str], words: str
) -> None:
    with pytest.raises(InputError) as refused:
        detect(header, preset, file="t.csv")
    assert refused.value.file == "t.csv" and words in refused.value.message


def test_following_a_preset_refusal_reads_the_file() -> None:
    header = ["Day", "Time", "Notes"]
    assert detect(header, "harvest", {"start_date": "Day", "duration": "Time"}).columns["duration"] == "Time"
    assert detect(["Day", "Hours", "Notes"], "generic").columns == {
        "start_date": "Day", "duration": "Hours", "description": "Notes"}  # fmt: skip


# -- generic in five languages, accents, a singular Tag --------------------------------------------


@pytest.mark.parametrize(
    ("header", "columns"),
    [
        (["Datum", "Beginn", "Ende", "Dauer", "Beschreibung", "Projekt", "Kunde", "Aufgabe", "Schlagwörter",
          "Abrechenbar", "E-Mail"],
         ["start_date", "start_time", "end_time", "duration", "description", "project", "client", "task",
          "tags", "billable", "email"]),
        (["Date", "Début", "Fin", "Durée", "Description", "Projet", "Client", "Tâche", "Étiquettes",
          "Facturable", "Courriel"],
         ["start_date", "start_time", "end_time", "duration", "description", "project", "client", "task",
          "tags", "billable", "email"]),
        (["Fecha", "Inicio", "Fin", "Duración", "Descripción", "Proyecto", "Cliente", "Tarea", "Etiquetas",
          "Facturable", "Correo"],
         ["start_date", "start_time", "end_time", "duration", "description", "project", "client", "task",
          "tags", "billable", "email"]),
        (["Data", "Início", "Fim", "Duração", "Descrição", "Projeto", "Cliente", "Tarefa", "Etiquetas",
          "Faturável", "E-mail"],
         ["start_date", "start_time", "end_time", "duration", "description", "project", "client", "task",
          "tags", "billable", "email"]),
        (["DATUM", "duree", "Etiquettes", "Notes", "e-mail"],
         ["start_date", "duration", "tags", "description", "email"]),
        (["Date", "Hours", "Tag"], ["start_date", "duration", "tags"]),
    ],
)  # fmt: skip
def test_generic_reads_german_french_spanish_and_portuguese_headers(
    header: list[str], columns: list[str | None]
) -> None:
    mapping = detect(header)
    assert mapping.preset == "generic"
    assert {fld: mapping.columns.get(fld) for fld in columns if fld} == {
        fld: column for fld, column in zip(columns, header, strict=True) if fld
    }
    assert mapping.notes(header) == [] or "no start-time column" in mapping.notes(header)[0]


def test_key_ignores_accents_too() -> None:
    assert key("Durée") == key("DUREE") == key("du_rée ") == "duree"
    assert detect(["Date", "Durée"], overrides={"duration": "duree"}).columns["duration"] == "Durée"


# -- the header: --header-row, the --map columns, --preset ------------------------------------------


def test_header_hints_of_the_settings() -> None:
    from importer.config import Settings

    settings = Settings(header_row=3, sheet="Hours", column_map={"duration": " Zeit ", "task": ""})
    assert HeaderHints.of(settings) == HeaderHints(3, "Hours", ("Zeit",), "auto")


TITLED = [(1, ["Stundenzettel"]), (2, ["Name", "Ada"]), (4, ["Tag der Arbeit", "Zeit", "Was"]),
          (5, ["2026-03-05", "1", "x"])]  # fmt: skip


def test_find_header_takes_the_row_holding_the_mapped_columns() -> None:
    assert find_header(TITLED) == (None, Place(row=1, searched_to=5))
    hints = HeaderHints(columns=("tag der arbeit", "Zeit"))
    assert find_header(TITLED, hints) == (2, Place(row=4, title="Stundenzettel"))
    missing = HeaderHints(columns=("Zeit", "Elsewhere"))
    assert find_header(TITLED, missing) == (None, Place(row=1, searched_to=5))


def test_find_header_takes_the_row_it_is_told() -> None:
    assert find_header(TITLED, HeaderHints(row=2)) == (1, Place(row=2, title="Stundenzettel"))
    assert find_header(TITLED, HeaderHints(row=1, columns=("Zeit",))) == (0, Place(row=1))
    with pytest.raises(InputError) as refused:
        find_header(TITLED, HeaderHints(row=3), file="t.csv")
    assert str(refused.value) == (
        "t.csv: --header-row 3: row 3 is empty or past the end (rows 1, 2 and 4 have cells): pass the "
        "number of the row with the column names"
    )


def test_find_header_with_a_named_preset() -> None:
    rows = [(1, ["Report"]), (2, ["Date", "Hours", "Notes", "Billable?"]), (3, ["2026-03-05", "1", "x", "y"])]
    assert find_header(rows, HeaderHints(preset="harvest"))[0] == 1
    assert find_header(rows, HeaderHints(preset="toggl"))[0] is None
