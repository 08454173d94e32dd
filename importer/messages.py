"""The text of every message a user sees about their files, their options and their config.

One place, so that they read alike. The house style:

- Say what went wrong, quoting the cell (``errors.quote``: repr, cut at 60 characters), then
  ``": "`` and the fix, in the words a user types: ``--timezone Europe/Berlin``, ``--map
  duration="Time spent"``, "fill in the date". A "did you mean" is a fix too:
  ``project 'Suport' not found; did you mean 'Support'?``.
- Lower case first (a message follows ``toggl-import: `` or a location), no trailing period; a
  question ends with ``?``. Toggl, Excel and option names keep their own spelling.
- The location is *not* part of the text: a refused row is a ``RowError(file, row, column, ...)``
  and a whole-file problem an ``InputError(file=, row=, column=)``; the report, the terminal and
  ``errors.location`` put it in front ("mistakes.csv, row 4, column 'Date': ...").
- A refused row has a reason code (``RowError.reason``; reports, the summary and tests count by
  it). Each row function below is named by its code unless its docstring says otherwise; the
  codes never change.

Callers use ``messages.name(...)`` (module attribute, not ``from .messages import``), and build
row messages lazily, only for refused rows. ``tests/test_messages.py`` sees each function's text
in what the user gets, and fails for a function no test reaches.

This module is imported at start-up: it imports nothing but ``errors`` (no pandas, numpy or
pydantic).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import quote

DATE_FORMATS = (
    "YYYY-MM-DD, MM/DD/YYYY, DD.MM.YYYY or the month by its name (20 Jan 2026, 20-Jan-26, January 20 2026)"
)
"""The date shapes a refusal lists; ``tests/test_messages.py`` reads each example it gives."""
TIME_FORMATS = "HH:MM, HH:MM:SS or hh:mm AM/PM"
STAMP_FORMATS = "2026-03-05 09:30, 2026-03-05T09:30+01:00 or Jan 20 2026 6:25 PM"
DURATION_FORMATS = "H:MM:SS, H:MM, decimal hours (1.5 or 1,5) or 1h 30m"
BOOL_FORMATS = "yes/no, true/false, y/n, 1/0 (or ja/nein, oui/non, sí/no, sim/não)"
FIRST_YEAR, LAST_YEAR = 1970, 2099
"""Dates outside these years are refused (``date_out_of_range``)."""
FILE_KINDS = "export the timesheet as CSV (UTF-8), TSV, XLSX, XLS or ODS"
TIMEZONE_EXAMPLE = "Europe/Berlin"
SLASH_HINT = " (with slashes the month comes first; for day-first dates pass --date-order dmy)"


def _did_you_mean(suggestions: Sequence[str]) -> str:
    return "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"


# -- refused rows: dates, times, lengths (normalize.py, localtime.py) ---------------------------


def _slash_hint(text: str, day_first: bool) -> str:
    """What a date with slashes needs: four-digit years, or to know which number is the day."""
    if "/" not in text:
        return ""
    if _SHORT_YEAR.search(text):
        return " (write the year with four digits)"
    if day_first:
        return " (dates with slashes are read day first here)"
    return SLASH_HINT


_SHORT_YEAR = re.compile(r"^\s*\d{1,2}/\d{1,2}/\d{2}(?!\d)")


def bad_date(text: str, *, day_first: bool = False) -> str:
    """``day_first``: how this file's dates with slashes are read (``--date-order``)."""
    return f"cannot read {quote(text)} as a date: use {DATE_FORMATS}{_slash_hint(text, day_first)}"


def weekday_mismatch(text: str, written: str, actual: str, day: str) -> str:
    """Reason ``bad_date``: the date names a weekday it is not on (``Monday, January 20, 2023``);
    ``day``: the date as read, ``actual``: its weekday."""
    return f"{quote(text)} says {written}, but {day} is a {actual}: correct the date or the weekday"


def ambiguous_date(text: str, day_only: str) -> str:
    """Reason ``ambiguous_date``: read month first, but the file also holds a date that can only
    be day first, so this one (05/11/2026) is not guessed."""
    return (
        f"{quote(text)} reads as a month-first or a day-first date, and this file has {day_only}, "
        f"which can only be day first: pass --date-order dmy if its dates are day first, else "
        f"correct {day_only}"
    )


def date_out_of_range(text: str) -> str:
    """Reason ``bad_date``: a real date, but not in a year of a timesheet (a typo like 0026)."""
    return f"the date {quote(text)} is outside the years {FIRST_YEAR}-{LAST_YEAR}: correct the year"


def bad_time(text: str, *, with_date: bool = False, day_first: bool = False) -> str:
    """Reason ``bad_time``; ``with_date`` for a column that holds the date and the time."""
    formats = f"as a date and time: use {STAMP_FORMATS}" if with_date else f"as a time: use {TIME_FORMATS}"
    return f"cannot read {quote(text)} {formats}{_slash_hint(text, day_first)}"


def no_date() -> str:
    return "the row has a start time but no date: fill in the date"


def no_start() -> str:
    return "the row has no start date: fill in the date"


def no_start_time() -> str:
    return "the row has an end but no start time: fill in the start time"


def end_before_start(end: str, start: str, *, end_date_missing: bool) -> str:
    if end_date_missing:
        return (
            f"the end ({end}) is before the start ({start}): fill in the end date if the entry "
            "goes past midnight, or correct the times"
        )
    return f"the end ({end}) is before the start ({start}): correct the times"


def too_long(hours: float) -> str:
    return (
        f"the entry lasts {hours:,.1f} hours, and Toggl takes 999 at most: correct the end or "
        "the duration, or split the entry in two"
    )


def bad_duration(text: str) -> str:
    return f"cannot read {quote(text)} as a duration: use {DURATION_FORMATS}"


def ambiguous_duration(text: str, whole: str, decimal: str, unit: str) -> str:
    """Reason ``ambiguous_duration``: a number like 1,234 outside a ;-separated file, where its
    comma may separate thousands or decimals; ``unit``: "hours", "minutes" or "seconds"."""
    return (
        f"{quote(text)} could be {whole} {unit} (a thousands separator) or {decimal} {unit} (a "
        f"decimal comma): write {whole} or {decimal}"
    )


def no_duration() -> str:
    return (
        "the row has neither an end time nor a duration (running timers are not imported): "
        "fill in one of them"
    )


def bad_billable(text: str) -> str:
    return f"cannot read {quote(text)} as billable: use {BOOL_FORMATS}"


def nonexistent_time(shown: str, zone: str) -> str:
    return (
        f"{shown} does not exist in {zone}: the clocks jump forward over it (as when summer "
        "time starts); correct the time, or write it with its UTC offset"
    )


def ambiguous_time(shown: str, zone: str, instants: tuple[str, str], offsets: tuple[str, str]) -> str:
    """``instants``: the two UTC times; ``offsets``: the same two written with their offset."""
    return (
        f"{shown} in {zone} happens twice ({instants[0]} and {instants[1]}): add an offset, "
        f"for example {offsets[0]} or {offsets[1]}"
    )


# -- skipped rows: outside what the run imports (normalize.py) ---------------------------------------


def skipped_before_since(since: str) -> str:
    """Reason ``skipped`` (a choice, not a problem): the row's local date is before ``--since``."""
    return f"before --since {since}"


def skipped_after_until(until: str) -> str:
    """Reason ``skipped``: the row's local date is after ``--until``."""
    return f"after --until {until}"


def skipped_other_email(emails: Sequence[str]) -> str:
    """Reason ``skipped``: the row's email (or its empty one) is not one ``--only-email`` names."""
    return "not one of --only-email " + ", ".join(emails)


def only_email_no_column(columns: Sequence[str]) -> str:
    """A whole file (``InputError``): ``--only-email`` is given, but no column holds emails."""
    return (
        f"--only-email picks rows by their email, and no column holds one ({_listing(columns)}): "
        "name it with --map email=COLUMN"
    )


# -- refused rows: the file's shape (reader.py) -------------------------------------------------


def too_many_cells(columns: int, cells: int | None) -> str:
    """``cells``: how many the row has, ``None`` when the reader only knows it is more."""
    has = f"{cells} cells" if cells is not None else "more cells than that"
    return (
        f"the header has {columns} columns but the row has {has}: quote cells that contain "
        "the separator, or remove the extra cells"
    )


# -- refused rows: names to ids (resolve.py) ----------------------------------------------------


def unknown_client(name: str, suggestions: Sequence[str]) -> str:
    if suggestions:
        return f"client {quote(name)} not found{_did_you_mean(suggestions)}"
    return f"client {quote(name)} not found: check the name, or use --create-missing to create it"


def ambiguous_client(name: str, count: int) -> str:
    """Reason ``ambiguous`` (the code predates the per-kind ones)."""
    return f"client {quote(name)} matches {count} clients: rename or archive all but one of them in Toggl"


def unknown_project(name: str, client: str | None, suggestions: Sequence[str]) -> str:
    where = f" for client {quote(client)}" if client else ""
    if suggestions:
        return f"project {quote(name)} not found{where}{_did_you_mean(suggestions)}"
    return f"project {quote(name)} not found{where}: check the name, or use --create-missing to create it"


def ambiguous_project(name: str, candidates: Sequence[tuple[str, str | None]]) -> str:
    """``candidates``: (project name, client name or ``None``) of each match."""
    listed = ", ".join(f"{p!r} ({c or 'no client'})" for p, c in candidates)
    return f"project {quote(name)} is ambiguous: {listed}; fill in the client to choose one"


def unknown_task(name: str, suggestions: Sequence[str]) -> str:
    if suggestions:
        return f"task {quote(name)} not found in its project{_did_you_mean(suggestions)}"
    return (
        f"task {quote(name)} not found in its project: check the name, or use --create-missing to create it"
    )


def ambiguous_task(name: str, count: int) -> str:
    return (
        f"task {quote(name)} matches {count} tasks of its project: rename or archive all but one "
        "of them in Toggl"
    )


def task_without_project(task: str) -> str:
    return f"task {quote(task)} needs a project: fill in the project the task belongs to"


def unknown_user(email: str, workspace_id: int, suggestions: Sequence[str]) -> str:
    text = f"no member of workspace {workspace_id} has the email {quote(email)}"
    if suggestions:
        return text + _did_you_mean(suggestions)
    return text + ": correct the email, or invite the person to the workspace in Toggl"


def create_refused(kind: str, name: str, toggl_says: str) -> str:
    """Reason ``create_refused``: with ``--create-missing``, Toggl refused to create the name."""
    return (
        f"{kind} {name!r} not found, and Toggl refused to create it ({toggl_says.strip()}): create "
        f"it in Toggl, or correct the cell to an existing {kind}"
    )


def archived_project(name: str) -> str:
    """Reason ``archived_project``: Toggl takes no entries on an archived project."""
    return (
        f"project {name!r} is archived, and Toggl takes no entries on it: restore it in Toggl "
        "(Projects, show archived), or correct the cell to an active project"
    )


def typo_not_created(kind: str, name: str, close: str) -> str:
    """Reason ``unknown_<kind>``: with --create-missing, a name one letter from an existing one."""
    return (
        f"{kind} {quote(name)} not found and not created: it is one letter away from {close!r}, "
        f"which looks like a typo; fix the cell (did you mean {close!r}?), or create the {kind} "
        "in Toggl first"
    )


def would_create(names: Sequence[tuple[str, str]]) -> str:
    """Status ``pending`` of a dry run with --create-missing: the row would be posted once these
    (kind, name) are created (not a refusal: there is nothing to fix)."""
    listed = ", ".join(f"{kind} {quote(name)}" for kind, name in names)
    return f"would be posted after creating {listed} (--create-missing)"


def new_name(kind: str, name: str, parent: str | None, *, planned: bool) -> str:
    """One name of the summary's list of what --create-missing created (or, ``planned``: would
    create), with what it goes under: a project's client, a task's project."""
    under = {"project": "client", "task": "project"}.get(kind)
    text = f"{kind} {quote(name)}" + (f" under {under} {quote(parent)}" if under and parent else "")
    return text + " (would be created)" if planned else text


def not_workspace_admin(email: str, workspace_id: int) -> str:
    """Reason ``not_workspace_admin``: the row is someone else's, and Toggl takes entries for other
    people only from workspace admins (the token's user is not one)."""
    return (
        f"the entry is for {quote(email)}, and only admins of workspace {workspace_id} can create "
        "entries for other people: run the import with an admin's API token, or that person's"
    )


def description_too_long(length: int, limit: int) -> str:
    """Reason ``description_too_long``: Toggl refuses a description over ``limit`` characters."""
    return (
        f"the description is {length:,} characters long, and Toggl takes {limit} at most: shorten "
        "the text in the cell"
    )


def duplicate_row(row: int, earlier_file: str | None) -> str:
    """Status ``duplicate``: the same entry as an earlier row of the run (``None``: this file)."""
    where = f"{earlier_file} row" if earlier_file else "row"
    return f"same entry as {where} {row} of this run"


def invalid_entry(detail: str) -> str:
    """Reason ``invalid_entry``: the body breaks a rule of the API model. A safety net that input
    does not reach (the normaliser refuses first), so ``detail``, the model's rule, is the fix."""
    return f"Toggl would refuse this entry: {detail}"


# -- whole files (sniff.py, reader.py, workbook.py, cli) -----------------------------------------


def no_such_file() -> str:
    return "file not found: check the path"


def is_a_folder() -> str:
    return "this is a folder, not a timesheet file: give the path of a file in it"


def permission_denied() -> str:
    return "permission denied: make the file readable for your user"


def cannot_open(reason: str) -> str:
    return f"cannot open the file ({reason}): check the path, and that the file is readable"


def unsupported_type(suffix: str) -> str:
    return f"unsupported file type {suffix!r}: {FILE_KINDS}"


def empty_file() -> str:
    return "the file is empty: export the timesheet again (it needs a header row and at least one entry)"


def blank_lines_only() -> str:
    return "the file holds only blank lines: export the timesheet again, with its header row"


def header_only() -> str:
    return (
        "the file has a header but no entries: nothing to import (export the timesheet again "
        "with the rows you want)"
    )


def header_too_long() -> str:
    return (
        "the first line is longer than 4 MiB, which is not a timesheet header: check that this "
        f"is the timesheet, or {FILE_KINDS}"
    )


def not_a_timesheet(what: str) -> str:
    """``what``: what the file is instead, e.g. "a PDF document"."""
    return f"the file is {what}, not a timesheet: {FILE_KINDS}"


def not_a_spreadsheet(what: str) -> str:
    """A zip that is no workbook; ``what``: "a Word document", "a zip archive"."""
    return f"the file is {what}, not a spreadsheet: {FILE_KINDS}"


def binary_file() -> str:
    return f"the file is binary, not a text timesheet: {FILE_KINDS}"


def damaged_zip() -> str:
    return f"the file is a damaged zip or workbook: open it in Excel and save it again, or {FILE_KINDS}"


def password_protected() -> str:
    return (
        "the workbook is password-protected: open it in Excel, remove the password "
        "(File > Info > Protect Workbook > Encrypt with Password, clear it) and save, "
        "or export it as CSV"
    )


def unreadable_workbook(detail: str) -> str:
    return (
        "the file looks like an Office file but is not a readable workbook (password-"
        "protected, or not really an .xlsx/.xls/.ods): open it in Excel and save it as "
        f".xlsx or CSV ({detail})"
    )


def empty_worksheet() -> str:
    return "the first worksheet is empty: put the timesheet on the first sheet, header first"


def no_such_sheet(sheet: str, sheets: Sequence[str]) -> str:
    """``--sheet NAME|N`` names no sheet of the workbook; ``sheets``: its visible sheets."""
    shown = ", ".join(quote(s) for s in sheets[:10]) + (" and more" if len(sheets) > 10 else "")
    return (
        f"--sheet {quote(sheet)}: no such sheet; the workbook has {shown}: name one of them, or "
        "give its number (--sheet 1 for the first)"
    )


def sheet_empty(sheet: str, sheets: Sequence[str]) -> str:
    """``--sheet`` names a sheet without a cell; ``sheets``: the workbook's visible sheets."""
    shown = ", ".join(quote(s) for s in sheets[:10]) + (" and more" if len(sheets) > 10 else "")
    return f"sheet {quote(sheet)} is empty: pass --sheet with the sheet of the timesheet (one of {shown})"


def header_row_empty(row: int, filled: Sequence[int]) -> str:
    """``--header-row N`` names a row without a cell (or past the end); ``filled``: the first rows
    that have some."""
    near = ""
    if filled:
        rows = ", ".join(str(r) for r in filled[:-1]) + " and " * (len(filled) > 1) + str(filled[-1])
        near = f" (rows {rows} have cells)" if len(filled) > 1 else f" (row {rows} has cells)"
    return (
        f"--header-row {row}: row {row} is empty or past the end{near}: pass the number of the row "
        "with the column names"
    )


def read_by_content(suffix: str, what: str) -> str:
    """A note: the file is not what its name says, and is read as what it holds; ``what``:
    "UTF-8 text separated by commas", "an XLSX workbook"."""
    named = f"named {suffix}" if suffix else "without a file type in its name"
    return (
        f"the file is {what}, though {named}: it is read as such; rename it to match if other "
        "programs are to open it"
    )


def bad_encoding(described: str, reason: str) -> str:
    """``described``: ``TextFormat.describe()``, e.g. "UTF-8 text separated by commas"."""
    return (
        f"the file is not valid {described} ({reason}): save it again as UTF-8 "
        "(in Excel: Save As, then CSV UTF-8)"
    )


def bad_utf8_line(line: int, text: str, reason: str) -> str:
    """A file that says it is UTF-8 (a BOM) with bytes that are not: ``text`` is the line."""
    return (
        f"line {line} is not valid UTF-8 ({quote(text)}: {reason}): save the file again as UTF-8 "
        "(in Excel: Save As, then CSV UTF-8)"
    )


def unclosed_quote() -> str:
    """At the row where the quoted cell starts (``InputError.row``)."""
    return (
        'a quoted cell is never closed: its " has no closing quote; close it (write "" for a '
        "quote inside a cell), or remove it"
    )


def unreadable_text(described: str, detail: str) -> str:
    return f"cannot read the file as {described} ({detail}): {FILE_KINDS}"


# -- columns: presets and --map (presets.py, cli) -------------------------------------------------


def _listing(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:30])
    more = f" and {len(columns) - 30} more" if len(columns) > 30 else ""
    return f"the columns {shown}{more}" if columns else "no columns"


def _has(file: str | None) -> str:
    return f"{file} has" if file else "the header has"


def unknown_preset(name: str, choices: Sequence[str]) -> str:
    return f"unknown preset {name!r}: choose one of {', '.join(choices)}"


def bad_map_option(item: str) -> str:
    return f'--map {item!r} is not FIELD=COLUMN: write it like --map duration="Time spent"'


def unknown_map_field(field: str, fields: Sequence[str]) -> str:
    return f"--map {field}=...: unknown field; use one of {', '.join(fields)}"


def map_no_such_column(field: str, column: str, file: str | None, columns: Sequence[str]) -> str:
    return f"--map {field}={column!r}: no such column; {_has(file)} {_listing(columns)}: name one of them"


def key_no_such_column(column: str, file: str | None, columns: Sequence[str]) -> str:
    """``--key COLUMN`` (or ``--map key=``, ``import.key_column``) names no column of the file."""
    return (
        f"--key {column!r}: no such column; {_has(file)} {_listing(columns)}: name the one that "
        "holds each row's id"
    )


def preset_needs_column(
    preset: str,
    needs: Sequence[tuple[str, Sequence[str]]],
    columns: Sequence[str],
    example: str,
    generic: bool,
) -> str:
    """A whole file (``InputError``): a named preset (``--preset``, or the one ``auto`` picked)
    without the columns it reads the date or the length from; ``needs``: (what, the column names
    the preset knows for it); ``generic``: whether ``--preset generic`` reads the file instead."""
    wanted = " and the ".join(f"{what} from a column {' or '.join(map(repr, n))}" for what, n in needs)
    them = "them" if len(needs) > 1 else "it"
    other = ", or pass --preset generic" if generic else ""
    return (
        f"the {preset} preset reads the {wanted}, and the header has {_listing(columns)}: name the "
        f"column{'s' if len(needs) > 1 else ''} that hold{'' if len(needs) > 1 else 's'} {them}, "
        f"for example {example}{other}"
    )


def unusable_header(what: str, preset: str, file: str | None, columns: Sequence[str], example: str) -> str:
    """``what``: "start", "length" or both; ``example``: the ``--map`` options that would do."""
    return (
        f"cannot tell which columns hold the {what} of each entry ({preset} preset): "
        f"{_has(file)} {_listing(columns)}; name them, for example {example}"
    )


def unusable_title(
    what: str,
    preset: str,
    file: str | None,
    columns: Sequence[str],
    example: str,
    where: tuple[int, int, str | None, int],
) -> str:
    """``unusable_header`` when the first row looks like a title (fewer cells than a row below)
    and no row below it, down to ``last``, is a header either; ``where``: (the first row, ``last``,
    its sheet, the other sheets also looked at: ``None``, 0 for a text file)."""
    row, last, sheet, others = where
    of_sheet = f" of sheet {quote(sheet)}" if sheet is not None and others else ""
    nor = f", nor on the other {_sheets(others)}," if others else ""
    place = "further down or on another sheet" if others else "further down"
    also = " (and --sheet with its sheet's name)" if others else ""
    return (
        f"cannot tell which columns hold the {what} of each entry ({preset} preset): "
        f"{_has(file)} {_listing(columns)} in row {row}{of_sheet}, and no row below it down to "
        f"row {last}{nor} looks like a header either; if the header is {place}, pass --header-row "
        f"with its row number{also}, else name the columns, for example {example}"
    )


def _sheets(count: int) -> str:
    return "sheet" if count == 1 else f"{count} sheets"


def unused_columns(columns: Sequence[str]) -> str:
    """A note (not an error) before a run with the generic preset."""
    shown = ", ".join(repr(c) for c in columns[:10])
    return (
        f"columns not used: {shown}; if one holds the description, project, client, task, "
        'tags, billable or email, say so with --map FIELD="COLUMN"'
    )


def rows_without_start_time(count: int, rows: Sequence[int], more: bool, column: str, default_start: str,
                            of_first: int | None = None) -> str:  # fmt: skip
    """A note (not an error): rows whose start cell is empty are stacked from
    ``default_start_time`` as with no start column; ``of_first``: counted among that many rows
    only (the first chunk)."""
    many = f"{count} rows have" if count != 1 else "1 row has"
    among = f" among the first {of_first} rows" if of_first else ""
    which = f"row{'s' if len(rows) != 1 else ''} {', '.join(map(str, rows))}{', ...' if more else ''}"
    return (
        f"{many} no start time in {quote(column)}{among} ({which}): they start at default_start_time "
        f"({default_start}), one after another per person and day; fill in their start times if they "
        "have them"
    )


def no_start_time_column(default_start: str) -> str:
    """A note (not an error): rows are stacked from ``default_start_time``."""
    return (
        "no start-time column: each person's entries of a day start at default_start_time "
        f"({default_start}) and follow one another"
    )


def header_below_title(row: int, title: str) -> str:
    """A note (not an error): non-empty rows above the header (a title) are skipped; ``title``:
    the first text above it."""
    above = "row 1 above it" if row == 2 else f"rows 1-{row - 1} above it"
    verb = "is" if row == 2 else "are"
    return f"the header is on row {row}: {above} (starting {quote(title)}) {verb} not read"


def sheet_not_first(sheet: str, number: int, before: Sequence[str]) -> str:
    """A note (not an error): the timesheet is read from a later sheet; ``before``: the visible
    sheets before it, whose first rows hold no usable header."""
    more = f" and {len(before) - 5} more" if len(before) > 5 else ""
    shown = ", ".join(quote(s) for s in before[:5]) + more
    which = f"sheet {shown} before it has" if len(before) == 1 else f"sheets {shown} before it have"
    return (
        f"reading sheet {quote(sheet)} (sheet {number}): {which} no header naming a start and a "
        f"length, so {'it is' if len(before) == 1 else 'they are'} not read"
    )


# -- options, config file, environment (config.py, localtime.py, cli) ----------------------------


def no_timezone(example: str) -> str:
    """``example``: a cell without an offset (the location says which file, row and column)."""
    return (
        f"times such as {quote(example)} have no UTC offset: pass --timezone with the zone they "
        f"were recorded in, for example --timezone {TIMEZONE_EXAMPLE}"
    )


def unknown_timezone(name: str) -> str:
    return f"unknown time zone {name!r}: use an IANA name such as {TIMEZONE_EXAMPLE}"


def unknown_date_order(value: str, choices: Sequence[str]) -> str:
    return f"unknown date order {value!r}: choose one of {', '.join(choices)}"


def bad_date_option(name: str, value: str) -> str:
    """``--since`` / ``--until`` (or ``since`` / ``until`` in the config file) that is no date."""
    return (
        f"{name} {value!r} is not a date: write it as YYYY-MM-DD, for example --{name} 2026-01-31 "
        f"(in the config file: {name} = 2026-01-31)"
    )


def since_after_until(since: str, until: str) -> str:
    return f"--since {since} is after --until {until}, so no row could be imported: swap them"


def bad_only_email(email: str) -> str:
    return (
        f"--only-email {email!r} is not an email address: give the email as the file writes it, "
        "for example --only-email ana@example.com"
    )


def bad_header_row(row: int) -> str:
    return (
        f"header row {row} is not a row number: give the spreadsheet row of the header, 1 for "
        "the first, for example --header-row 3"
    )


def bad_jira_day_hours(hours: float) -> str:
    return (
        f"jira_day_hours {hours:g} is not a number of hours from 0 to 24: give the hours of a "
        "working day in Jira, for example jira_day_hours = 8"
    )


def bad_rate(rate: float) -> str:
    return f"rate {rate:g} is not above 0: give requests per second, for example --rate 1"


def bad_concurrency(concurrency: int) -> str:
    return f"concurrency {concurrency} is below 1: give the requests in flight, for example --concurrency 4"


def bad_workspace_id(workspace_id: int) -> str:
    return (
        f"workspace id {workspace_id} is not a positive number: use the number in the Toggl "
        "URL (track.toggl.com/.../workspaces/N)"
    )


def empty_created_with() -> str:
    return 'created_with is empty: name the application, or leave it out (default "toggl-import")'


def not_an_http_url(url: str) -> str:
    return f"API URL {url!r} is not an http(s) URL: use for example https://api.track.toggl.com/api/v9"


def plain_http(host: str) -> str:
    return (
        f"refusing plain http to {host}: the token would travel unencrypted; use https "
        "(plain http is for loopback only)"
    )


def config_not_found(path: object) -> str:
    return f"config file {path} does not exist: check the path given to --config"


def config_not_toml(path: object, detail: str) -> str:
    return f"config file {path} is not valid TOML ({detail}): fix it, see config.example.toml"


def config_not_a_section(path: object, section: str) -> str:
    return (
        f"config file {path}: {section!r} is not a [section]: put settings under [api], "
        "[import], [limits], [columns] or [tokens]"
    )


def config_has_credentials(path: object) -> str:
    return (
        f"config file {path}: credentials do not go in the config file; set "
        "TOGGL_API_TOKEN (or TOGGL_EMAIL and TOGGL_PASSWORD) in the environment"
    )


def config_unknown_setting(path: object, section: str, key: str) -> str:
    return (
        f"config file {path}: unknown setting [{section}] {key}: see config.example.toml for the "
        "settings there are"
    )


_SETTING_KINDS = {
    "workspace_id": "a whole number",
    "concurrency": "a whole number",
    "rate": "a number of requests per second",
    "timeout": "a number of seconds",
    "default_start_time": 'a time of day such as "09:00"',
    "ledger": "a file path",
    "header_row": "a whole number",
    "jira_day_hours": "a number of hours",
    "only_email": 'a list of emails such as ["ana@example.com"]',
}


def bad_setting(name: str, value: object) -> str:
    """A setting of the config file or the environment that is not of its kind."""
    kind = _SETTING_KINDS.get(name, "a value as in config.example.toml")
    return f"setting {name} has an invalid value {value!r}: use {kind}"


def no_credentials() -> str:
    return (
        "no credentials: set TOGGL_API_TOKEN (Toggl Track → Profile settings → API Token), "
        "or TOGGL_EMAIL and TOGGL_PASSWORD"
    )


def cannot_write(option: str, path: object, reason: str) -> str:
    """An output file of ``--report``, ``--emit-payloads`` or ``--log-file``."""
    return f"{option} {path}: cannot write it ({reason}): give a file path in a folder that exists"


def output_is_input(option: str, path: object, what: str) -> str:
    """An output file (``--report``, ``--emit-payloads``, ``--log-file``) that would overwrite a
    timesheet being read, the ledger or another output."""
    return f"{option} {path} is {what}: writing there would destroy it; give another file name"


def stopped_early(reason: str, *, dry_run: bool, credentials: bool) -> str:
    """The summary's last word on a run that stopped before the end (``reason`` says why)."""
    if dry_run:
        return f"stopped early: {reason}"
    if credentials:
        return (
            f"stopped early: {reason}; once that is put right, the same command carries on (rows "
            "already created are not sent again)"
        )
    return f"stopped early: {reason}; run the same command again to resume"


def interrupted() -> str:
    """Ctrl-C twice (or before the run began): no summary, but nothing is lost."""
    return (
        "interrupted: the ledger keeps what was sent (a request cut off is looked up in Toggl "
        "first); run the same command again to resume"
    )


def several_people_no_email(people: Sequence[str], more: bool) -> str:
    """A note: the file names several people but has no email column, so Toggl would get every
    entry as the token's own user's."""
    names = ", ".join(repr(p) for p in people) + (" and more" if more else "")
    return (
        f"entries of several people ({names}) and no email column: each would be created as an "
        "entry of the token's own user; to create each person's entries for them, add a column "
        "with their Toggl email (--map email=COLUMN) and use an admin's token"
    )


def dates_month_first(example: str, as_read: str) -> str:
    """A note: dates with slashes, none above 12 in either place: read month first."""
    return (
        f"dates with slashes are read month first ({example} is {as_read}): if they are day "
        "first, pass --date-order dmy"
    )


def dates_day_first(example: str, as_read: str) -> str:
    """A note: the file's dates with slashes show they are day first."""
    return (
        f"dates with slashes are read day first, as the file shows ({example} is {as_read}): if "
        "they are month first, pass --date-order mdy"
    )


def dates_look_day_first(example: str) -> str:
    """A note: month first is the order in force, but a date of the file can only be day first."""
    return (
        f"dates with slashes are read month first, but {example} can only be day first: rows "
        "with a date that reads both ways (05/11/2026) are refused rather than guessed; if the "
        "file's dates are day first, pass --date-order dmy (or auto)"
    )


def duration_looks_like_h_mm(example: str, as_read: str, clock: str) -> str:
    """A note: two-decimal durations that look like hours and minutes (1.30), read as hours."""
    return (
        f"durations such as {example!r} are read as decimal hours ({as_read}): if they mean hours "
        f"and minutes, write them as {clock}"
    )


def no_room_for_duplicates(folder: object, reason: str) -> str:
    """The temporary files that find duplicate rows in a long file cannot be written."""
    return (
        f"cannot write the temporary file that finds duplicate rows, in {folder} ({reason}): free "
        "some space there or point TMPDIR at a folder with room; the ledger keeps what was done, "
        "so running the same command again resumes"
    )


def duration_looks_like_minutes(example: str) -> str:
    """A note: whole-number durations of 10 and more, read as hours, look like minutes."""
    return (
        f"durations such as {example!r} are read as hours ({example} h): if they are minutes, "
        f"write them as {example}m"
    )


def new_ledger(path: object, *, dry_run: bool = False) -> str:
    """A note before a run that starts a ledger (or a dry run with none): it cannot know an
    import made with another."""
    if dry_run:
        return (
            f"no ledger at {path} yet: the plan counts every row as new; if these files went in "
            "before with another ledger, pass --ledger with that run's file (or --check-existing "
            "to look each row up in Toggl first)"
        )
    return (
        f"a new ledger, {path}: it knows no earlier import, so rows already imported with another "
        "ledger would be sent again; if these files went in before, stop now (Ctrl-C) and pass "
        "--ledger with that run's file, or --check-existing to look each row up in Toggl first"
    )


def no_ledger(path: object) -> str:
    return f"no ledger at {path}: pass --ledger PATH (the one your run used)"


def cannot_listen(host: str, port: int, reason: str) -> str:
    """The sandbox cannot listen where it was asked (a port in use)."""
    return (
        f"the sandbox cannot listen on {host}:{port} ({reason}): choose another --port, or 0 for a free one"
    )


def sandbox_not_loopback(host: str) -> str:
    return f"the sandbox serves loopback only, not {host!r}: use --host 127.0.0.1 or --host ::1"


# -- owning what it created: sync and undo (plan/, engine/) ----------------------------------------


def no_key(column: str) -> str:
    """Reason ``no_key``: with --key, a row without an id in that column."""
    return (
        f"no id in the key column {quote(column)}: with --key every row needs its id at the "
        "source; fill it in, or leave --key out to key rows by their content"
    )


def duplicate_key(key: str, others: Sequence[tuple[str, int]]) -> str:
    """Reason ``duplicate_key``: one key on two rows of a run with different content; both are
    refused and nothing is sent for the key. ``others``: the other rows (file, row) that hold it,
    so that each row's message names the rest."""
    by_file: dict[str, list[int]] = {}
    for file, row in others:
        by_file.setdefault(file, []).append(row)
    places = [f"{file} row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))}"
              for file, rows in by_file.items()]  # fmt: skip
    where = f" (also on {'; '.join(places)})" if places else ""
    return (
        f"the key {quote(key)} is on two rows with different content{where}: nothing is sent for "
        "it; keep one of the rows"
    )


def max_deletes_without_mirror() -> str:
    """``--max-deletes`` on the command line of a run that does not ``--mirror`` (it would limit
    nothing: only a mirror deletes)."""
    return (
        "--max-deletes limits what --mirror deletes, and this run does not mirror: add --mirror, "
        "or leave --max-deletes out"
    )


def too_many_deletes(count: int, limit: int, sources: Sequence[str]) -> str:
    """A --mirror run that would delete more than --max-deletes: stopped before sending anything."""
    names = ", ".join(repr(s) for s in sources[:3]) + (" ..." if len(sources) > 3 else "")
    return (
        f"this run would delete {count} entries of {names} (their rows are no longer in the "
        f"files), more than --max-deletes {limit}: nothing was sent. Check that the files are "
        f"the whole source for their dates; if they are, pass --max-deletes {count}"
    )


def conflict_edited(entry_id: int | None, fields: Sequence[str]) -> str:
    """Status ``conflict``: the entry was changed in Toggl since toggl-import last wrote it."""
    what = ", ".join(fields)
    return (
        f"entry {entry_id} was changed in Toggl ({what}) since toggl-import wrote it: left as it "
        "is; pass --overwrite to update or delete it anyway"
    )


def conflict_gone(entry_id: int | None) -> str:
    """Status ``conflict``: the entry was deleted in Toggl; an update does not bring it back."""
    return f"entry {entry_id} was deleted in Toggl: not created again; pass --overwrite to create it anew"


def all_or_nothing_held(refused: int) -> str:
    """--all-or-nothing: a row that would be sent, held back because others are refused."""
    rows = "row is" if refused == 1 else "rows are"
    return (
        f"not sent: --all-or-nothing, and {refused} {rows} refused; mend them (see the refused "
        "rows) and run again"
    )


def token_not_an_email(path: object, key: str) -> str:
    """``[tokens]`` keys are people's emails."""
    return (
        f"{path}: [tokens] maps a person's email to the name of an environment variable, and "
        f'{quote(key)} is not an email: write it like "ana@example.com" = "TOGGL_TOKEN_ANA"'
    )


def token_not_a_variable(path: object, email: str) -> str:
    """``[tokens]`` values name environment variables; a token itself never goes in the file.
    The value is not quoted: it may be a token."""
    return (
        f"{path}: [tokens] for {email} must name an environment variable (letters, digits and _), "
        "not hold the token itself: put the token in an environment variable, e.g. "
        "TOGGL_TOKEN_ANA, and write its name there"
    )


def token_variable_unset(email: str, variable: str) -> str:
    """A person's token variable named in [tokens] is not set."""
    return (
        f"the API token of {email} is to come from the environment variable {variable}, which is "
        f"not set: export {variable}=... (their Toggl Profile settings → API Token), or remove "
        "the line from [tokens]"
    )


def person_refused(email: str, reason: str) -> str:
    """A person's token was refused: their rows stop, the others go on."""
    return (
        f"not sent: Toggl refused the token of {email} ({reason}); check the variable [tokens] "
        "names for them, then run the same command again"
    )


def export_ambiguous(local: str, zone: str) -> str:
    """Reason ``ambiguous_upload_time``: the fall-back hour, in the uploader's zone."""
    return (
        f"{local} happens twice in {zone} (the clocks go back): Toggl's CSV import could take the "
        "wrong one, so the row is not written; `toggl-import run` posts it exactly"
    )


def export_next_step() -> str:
    """After an export: what to do with the file, and what comes after."""
    return (
        "next: upload the file in Toggl (Settings → Import, as the account whose time zone it was "
        "written in), then run the same files with `toggl-import run`: it reads the exported rows "
        "back and posts only those Toggl does not have"
    )


def export_done_before(count: int, run: int | None, day: str, file: str | None, files: Sequence[str]) -> str:
    """``export`` of rows an earlier export wrote (the ledger holds them as exported): not
    written again, and not in doubt either; what to do with the file they are in."""
    rows = f"{count} row was" if count == 1 else f"{count} rows were"
    where = ", ".join(part for part in (f"run {run}" if run is not None else "", day,
                                          f"to {file}" if file else "") if part)  # fmt: skip
    that = "that file" if file else "the file they went to"
    return (
        f"{rows} exported already ({where}): upload {that} in Toggl, then run `toggl-import run "
        f"{' '.join(files)}` to post what it does not have; --again writes {'it' if count == 1 else 'them'} "
        "anew"
    )


def export_done_before_more(count: int, files: int) -> str:
    """After the first few ``export_done_before`` lines: the rest, counted."""
    return (
        f"and {count} row{'s' if count != 1 else ''} more exported already, to {files} other "
        f"file{'s' if files != 1 else ''}: --json lists them all"
    )


def export_zone(zone: str, account: str | None) -> str:
    """After an export: the time zone the times were written in, and whose it is."""
    if account is None:
        return (
            f"times are written in {zone} (--upload-timezone): upload the file as an account in "
            "that time zone"
        )
    return (
        f"times are written in {zone}, the time zone of the account {account} (its profile): upload "
        "the file as that account, or pass --upload-timezone with the zone of the account that will"
    )


def undo_needs_yes(count: int) -> str:
    """``undo`` off a terminal without --yes: nothing is deleted."""
    return (
        f"undo would delete {count} entries, and there is no terminal to ask: nothing was "
        "deleted; pass --yes to delete them (--dry-run lists them)"
    )


def undo_what(count: int, what: str, *, dry_run: bool = False) -> str:
    """``undo`` says how many it is about to delete, and of what."""
    verb = "would delete" if dry_run else "deletes"
    entries = "entry" if count == 1 else "entries"
    return f"undo {verb} {count} {entries} that toggl-import created ({what})"


def undo_pick_one() -> str:
    """``undo`` needs exactly one of --run, --source or files (none given, or more than one)."""
    return (
        "undo needs to know which entries, one way: pass only one of --run N (toggl-import status "
        "--runs lists the runs), --source NAME, or the files whose entries to delete"
    )


def undo_nothing(what: str) -> str:
    return f"nothing to undo: this ledger holds no entry created ({what})"


def undo_unknown(kind: str, asked: Sequence[str], known: Sequence[str]) -> str:
    """``undo`` asked for a run, source or file this ledger never saw: nothing is deleted."""
    names = ", ".join(repr(a) for a in asked)
    shown = ", ".join(str(k) for k in known[:8]) + (f" (and {len(known) - 8} more)" if len(known) > 8 else "")
    where = {"run": "runs", "source": "sources", "file": "files"}[kind]
    listing = f"the ledger's {where}: {shown}" if known else f"the ledger holds no {where} yet"
    hint = " (toggl-import status --runs lists them)" if kind == "run" else ""
    return f"undo: this ledger knows no {kind} {names}: nothing was deleted; {listing}{hint}"


def undo_declined() -> str:
    return "nothing was deleted"


# -- a bug (cli) -----------------------------------------------------------------------------------


def unexpected_error(kind: str, trace: object) -> str:
    """One line instead of a traceback; ``trace``: the crash report with the whole trace."""
    return (
        f"unexpected error ({kind}): this is a bug in toggl-import, not in your data; the full "
        f"trace is in {trace}; the ledger keeps what was done, so running the same command "
        "again resumes"
    )


# -- the ledger file (ledger_file.py) --------------------------------------------------------------


def ledger_in_use(path: object, pid: int | None) -> str:
    """A second writer on one ledger file, by whatever path; ``pid`` of the holder if known."""
    who = f" (pid {pid})" if pid else ""
    return (
        f"ledger {path} is in use by another run{who}: wait for it to finish, or pass --ledger "
        "with another path"
    )


def ledger_has_other_names(path: object, links: int) -> str:
    """A ledger file with several hard links: SQLite keeps the -wal beside the name it opened."""
    return (
        f"ledger {path} has {links} names (hard links): SQLite keeps a ledger's last writes beside "
        "the name it was opened by, so after a crash a run through another name would not see "
        f"them; keep one name: delete the other links (find / -samefile {path} lists them), or use "
        f'a copy instead (sqlite3 {path} ".backup COPY")'
    )


def ledger_empty(path: object) -> str:
    """A zero-length file where the ledger should be: never one that a run wrote (see
    ``ledger_file``: a new ledger is published whole), most often a failed copy."""
    return (
        f"ledger {path} is empty (0 bytes), so it is not a ledger an earlier run wrote (that would "
        "hold its rows): if it is a copy of your ledger, the copy failed, so copy it again (with "
        'its -wal file, or with sqlite3 LEDGER ".backup COPY"); to start a new ledger, delete the '
        "empty file"
    )


def ledger_wal_without_database(path: object, wal: object) -> str:
    """A new ledger would be created next to the ``-wal`` of one that is gone: SQLite would read
    that file's last writes into the new one."""
    return (
        f"there is no ledger at {path}, but its write-ahead log {wal} is there: it may hold the last "
        "writes of a ledger that was moved or deleted; put that ledger back at this path, or if it "
        f"is gone for good, delete {wal}"
    )


def ledger_keeps_changing(path: object) -> str:
    """The file at the ledger path was replaced each time it was opened (three times)."""
    return f"ledger {path} was replaced while it was being opened: run the command again"


def ledger_disk_full(path: object, detail: str) -> str:
    """SQLITE_FULL or ENOSPC while writing the ledger: resumable, the run stops (exit 3)."""
    return (
        f"the disk holding the ledger {path} is full ({detail}): free some space there, then run "
        "the same command again to resume"
    )


def ledger_damaged(
    path: object,
    problem: str,
    *,
    recovered: object = None,
    rows: int | None = None,
    earlier: bool = False,
) -> str:
    """A damaged ledger; ``recovered``: the copy of what could still be read (``earlier``: made
    by an earlier run and kept)."""
    keep = f"ledger {path} is damaged ({problem}); it was left untouched: keep it"
    go_on = (
        f"pass --ledger {recovered} --check-existing (rows lost with the damage are looked up in "
        "Toggl before any is sent again)"
    )
    if recovered is not None and earlier:
        return (
            f"{keep}; what could still be read of it was copied to {recovered} by an earlier run: "
            f"to go on, {go_on}; to have the copy made again, delete {recovered}"
        )
    if recovered is not None:
        what = f"the {rows or 0:,} rows that could still be read were"
        if rows == 1:
            what = "the 1 row that could still be read was"
        return f"{keep}; {what} copied to {recovered}: to go on, {go_on}"
    return (
        f"{keep}, it records which rows were created (a new ledger would post them again); "
        "`toggl-import run` with it copies what can still be read to a new ledger and says how to "
        f"go on, or try: sqlite3 {path} .recover | sqlite3 recovered.sqlite, then pass --ledger "
        "recovered.sqlite --check-existing"
    )


def ledger_backups_taken(path: object, version: int, limit: int) -> str:
    """Every name for a backup before migrating is taken (``.schemaN.bak``, ``.schemaN.2.bak``...)."""
    return (
        f"ledger {path} needs an upgrade from schema {version}, but the {limit} names for its backup "
        f"({path}.schema{version}.bak, ...) are all taken: move those backups elsewhere, then run "
        "again"
    )
