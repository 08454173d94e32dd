"""Refused and skipped rows: dates, times, lengths; outside --since/--until/--only-email; the
file's shape; names to ids; the model's rules and duplicates."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..errors import quote
from .common import (
    BOOL_FORMATS,
    DATE_FORMATS,
    DURATION_FORMATS,
    FIRST_YEAR,
    LAST_YEAR,
    SLASH_HINT,
    STAMP_FORMATS,
    TIME_FORMATS,
    _did_you_mean,
    _listing,
)

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


# -- refused rows: names to ids (resolve/) ------------------------------------------------------


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
