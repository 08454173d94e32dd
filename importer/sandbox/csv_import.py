"""Toggl's web CSV import (Settings → Import), as the admin endpoint ``/_sandbox/import_csv``.

The file is Toggl's import format: UTF-8 (a byte-order mark is fine), comma-separated, headers
``User, Email, Client, Project, Task, Description, Billable, Start date, Start time, Duration,
Tags`` in any order (``Email``, ``Start date``, ``Start time`` and ``Duration`` required; a
header is matched exactly, after trimming; other columns are ignored and named in the answer).
It is applied the way Toggl documents its importer:

- names are matched **case-sensitively**; a client, project, task or tag not found is created
  (a project by name *and* client: a row without a client matches only a project without one;
  a task within its project);
- **identical rows are merged**: a row equal to an earlier row of the same file (same person,
  start, duration, description, client, project, task, billable, tags) makes no second entry.
  Only rows of one file are merged: uploading a file twice makes every entry twice;
- ``Start date`` (``YYYY-MM-DD``) and ``Start time`` (``HH:MM:SS``) are read in the
  **uploader's profile time zone**; ``Duration`` is ``HH:MM:SS`` (hours may pass 24);
- the entry belongs to the user of the ``Email`` column, who must be a member of the workspace.

Choices where Toggl's behaviour is unknown: the uploader must be a workspace admin (403);
a row is refused, and the other rows go on, for: no or unknown email, a bad date, time,
duration (over 999 hours too) or Billable (``Yes``/``No``, any case, empty = No), a task without
a project, a description over 3000 characters, an archived project, and a local time that does
not exist in the uploader's zone (the spring-forward gap). A time that exists twice there (the
fall-back hour) is read as the earlier instant and named in ``ambiguous_rows``. Nothing is
created for a refused row. Entries get ``created_with`` = ``Toggl Track CSV import``. Row numbers
are a spreadsheet's: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importer.sandbox import entries
from importer.sandbox.state import Json, SandboxState

CREATED_WITH = "Toggl Track CSV import"
COLUMNS = (
    "User",
    "Email",
    "Client",
    "Project",
    "Task",
    "Description",
    "Billable",
    "Start date",
    "Start time",
    "Duration",
    "Tags",
)
REQUIRED = ("Email", "Start date", "Start time", "Duration")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(\d{1,2}):([0-5]\d):([0-5]\d)")
_DURATION = re.compile(r"(\d+):([0-5]\d):([0-5]\d)")
_BILLABLE = {"yes": True, "no": False, "": False}


class ImportRefused(Exception):
    """The whole file (or the call) is refused: ``status`` 400 or 403, the message as text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _RowRefused(Exception):
    pass


@dataclass(frozen=True)
class _Row:
    number: int
    uid: int
    start: datetime
    duration: int
    description: str | None
    client: str
    project: str
    task: str
    billable: bool
    tags: tuple[str, ...]
    ambiguous: bool

    def key(self) -> tuple[Any, ...]:
        return (
            self.uid,
            self.start,
            self.duration,
            self.description,
            self.client,
            self.project,
            self.task,
            self.billable,
            self.tags,
        )


@dataclass
class _Outcome:
    entry_ids: list[int] = field(default_factory=list)
    merged: list[Json] = field(default_factory=list)
    refused: list[Json] = field(default_factory=list)
    ambiguous: list[Json] = field(default_factory=list)
    made: dict[str, list[str]] = field(
        default_factory=lambda: {"clients": [], "projects": [], "tasks": [], "tags": []}
    )


def import_csv(
    state: SandboxState, data: bytes, wid: int, uploader_email: str, now: datetime
) -> Json:
    """Apply one CSV file to workspace ``wid`` as ``uploader_email`` would; the answer's JSON."""
    ws = state.workspaces.get(wid)
    if ws is None:
        raise ImportRefused(400, f"workspace {wid} does not exist")
    uploader = state.user_by_email(uploader_email)
    if uploader is None or state.membership(uploader["id"], wid) is None:
        raise ImportRefused(400, f"uploader {uploader_email!r} is not a member of workspace {wid}")
    if not state.is_admin(uploader["id"], wid):
        raise ImportRefused(403, "Only workspace admins can import time entries")
    zone_name = uploader.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportRefused(400, f"the uploader's time zone {zone_name!r} is unknown") from None
    header, rows = _table(data)
    outcome = _Outcome()
    accepted: list[_Row] = []
    seen: dict[tuple[Any, ...], int] = {}
    for number, cells in rows:
        try:
            row = _parse(state, wid, zone, number, dict(zip(header, cells, strict=False)))
        except _RowRefused as exc:
            outcome.refused.append({"row": number, "reason": str(exc)})
            continue
        first = seen.setdefault(row.key(), number)
        if first != number:
            outcome.merged.append({"row": number, "into_row": first})
            continue
        if row.ambiguous:
            outcome.ambiguous.append({"row": number, "start": entries.iso(row.start)})
        accepted.append(row)
    stamp = entries.iso(now.replace(microsecond=0))
    at = float(int(now.timestamp()))
    for row in accepted:
        _create(state, wid, row, stamp, at, outcome)
    return {
        "workspace_id": wid,
        "uploader": uploader["email"],
        "timezone": zone_name,
        "created": len(outcome.entry_ids),
        "merged": len(outcome.merged),
        "refused": len(outcome.refused),
        "entry_ids": outcome.entry_ids,
        "merged_rows": outcome.merged,
        "refused_rows": outcome.refused,
        "ambiguous_rows": outcome.ambiguous,
        "ignored_columns": [name for name in header if name not in COLUMNS],
        "created_clients": outcome.made["clients"],
        "created_projects": outcome.made["projects"],
        "created_tasks": outcome.made["tasks"],
        "created_tags": outcome.made["tags"],
    }


def _table(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (trimmed names) and the non-empty rows with their spreadsheet numbers."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(400, "the file is not UTF-8 text") from None
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ImportRefused(400, f"the file is not a readable CSV: {exc}") from None
    if not lines:
        raise ImportRefused(400, "the file is empty: it needs a header row")
    header = [name.strip() for name in lines[0]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ImportRefused(400, f"the header lacks the column(s) {', '.join(missing)}")
    doubled = sorted({name for name in header if name and header.count(name) > 1})
    if doubled:
        raise ImportRefused(400, f"the header names {', '.join(doubled)} more than once")
    rows = [
        (number, [cell.strip() for cell in cells])
        for number, cells in enumerate(lines[1:], start=2)
        if any(cell.strip() for cell in cells)
    ]
    return header, rows


def _parse(state: SandboxState, wid: int, zone: ZoneInfo, number: int, cells: Json) -> _Row:
    email = cells.get("Email", "")
    if not email:
        raise _RowRefused("Email is empty: every row needs the email of its person")
    user = state.user_by_email(email)
    if user is None or state.membership(user["id"], wid) is None:
        raise _RowRefused(f"{email!r} is not a member of workspace {wid}")
    start, ambiguous = _start(cells.get("Start date", ""), cells.get("Start time", ""), zone)
    duration = _duration(cells.get("Duration", ""))
    billable = _BILLABLE.get(cells.get("Billable", "").lower())
    if billable is None:
        raise _RowRefused(f"Billable {cells['Billable']!r} is not Yes or No")
    description = cells.get("Description", "") or None
    if description is not None and len(description) > entries.MAX_DESCRIPTION:
        raise _RowRefused(f"Description is over {entries.MAX_DESCRIPTION} characters")
    client, project, task = cells.get("Client", ""), cells.get("Project", ""), cells.get("Task", "")
    if task and not project:
        raise _RowRefused(f"Task {task!r} needs a Project")
    found = _project(state, wid, client, project)
    if found is not None and not found.get("active", True):
        raise _RowRefused(f"project {project!r} is archived")
    tags = tuple(dict.fromkeys(t.strip() for t in cells.get("Tags", "").split(",") if t.strip()))
    return _Row(
        number, user["id"], start, duration, description, client, project, task, billable, tags,
        ambiguous,
    )  # fmt: skip


def _start(day_text: str, time_text: str, zone: ZoneInfo) -> tuple[datetime, bool]:
    """The UTC start of a local date and time in ``zone``, and whether it was ambiguous."""
    if not _DATE.fullmatch(day_text):
        raise _RowRefused(f"Start date {day_text!r} is not YYYY-MM-DD")
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise _RowRefused(f"Start date {day_text!r} is not a date") from None
    match = _TIME.fullmatch(time_text)
    if match is None or int(match[1]) > 23:
        raise _RowRefused(f"Start time {time_text!r} is not HH:MM:SS")
    naive = datetime.combine(day, time(int(match[1]), int(match[2]), int(match[3])))
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise _RowRefused(f"{day_text} {time_text} does not exist in {zone.key} (the clocks skip it)")
    return early.astimezone(UTC), early.utcoffset() != late.utcoffset()


def _duration(text: str) -> int:
    match = _DURATION.fullmatch(text)
    if match is None:
        raise _RowRefused(f"Duration {text!r} is not HH:MM:SS")
    seconds = int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3])
    if seconds > entries.MAX_DURATION:
        raise _RowRefused("Duration is over 999 hours")
    return seconds


def _client(state: SandboxState, wid: int, name: str) -> Json | None:
    return next((c for c in state.clients.values() if c["wid"] == wid and c["name"] == name), None)


def _project(state: SandboxState, wid: int, client: str, name: str) -> Json | None:
    if not name:
        return None
    found = _client(state, wid, client) if client else None
    if client and found is None:
        return None  # a new client has no projects yet
    cid = found["id"] if found else None
    return next(
        (
            p
            for p in state.projects.values()
            if p["wid"] == wid and p.get("cid") == cid and p["name"] == name
        ),
        None,
    )


def _create(
    state: SandboxState, wid: int, row: _Row, stamp: str, at: float, outcome: _Outcome
) -> None:
    made = outcome.made
    cid = None
    if row.client:
        client = _client(state, wid, row.client)
        if client is None:
            client = state.add_client(wid, row.client)
            made["clients"].append(row.client)
        cid = client["id"]
    project = _project(state, wid, row.client, row.project)
    if row.project and project is None:
        project = state.add_project(wid, {"name": row.project, "client_id": cid})
        made["projects"].append(row.project)
    task = None
    if project is not None and row.task:
        task = next(
            (t for t in state.tasks.values() if t["pid"] == project["id"] and t["name"] == row.task),
            None,
        )
        if task is None:
            task = state.add_task(wid, project["id"], row.task, True)
            made["tasks"].append(row.task)
    tag_ids = []
    for name in row.tags:
        known = len(state.tags)
        tag_ids.append(state.tag_for(wid, name)["id"])
        if len(state.tags) > known:
            made["tags"].append(name)
    stop = row.start + timedelta(seconds=row.duration)
    entry = entries.compose(
        state.new_id("time_entry"),
        wid,
        project["id"] if project else None,
        task["id"] if task else None,
        row.billable,
        row.start,
        stop,
        row.duration,
        row.description,
        (list(row.tags), tag_ids),
        row.uid,
        stamp,
    )
    state.add_entry(entry, row.start.timestamp(), CREATED_WITH, at)
    outcome.entry_ids.append(entry["id"])
