"""Time entries in the sandbox: check a create body like Toggl, build the stored entry, read back.

The create path is the hot path of benchmarks: plain dict and type checks, no pydantic.
Choices where Toggl's behaviour is unknown (documented here, on purpose strict):

- an *archived* project is refused (400), so that the importer's "failed" path can be shown;
- a negative ``duration`` (a running timer) is refused: spreadsheets hold no running timers;
- a ``description`` over 3000 characters is refused rather than cut;
- creating for another user without being a workspace admin is a 400 (a refusal of that row),
  not a 403 (which clients take as "credentials rejected").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from importer.sandbox.state import Json, SandboxState

MAX_DURATION = 999 * 3600
MAX_DESCRIPTION = 3000
ME_TIME_ENTRIES_REACH = timedelta(days=90)
_JSON_TYPES = {
    str: "string",
    int: "number",
    float: "number",
    bool: "bool",
    list: "array",
    dict: "object",
    type(None): "null",
}


class BadRequest(Exception):
    """A 400 answer; the message is the plain-text body."""


def _type_error(field: str, value: Any) -> BadRequest:
    return BadRequest(f'Unexpected "{field}" type {_JSON_TYPES.get(type(value), "value")}')


def _int_field(body: Json, name: str, legacy: str | None = None) -> int | None:
    value = body.get(name)
    if value is None and legacy is not None:
        value = body.get(legacy)
        name = legacy
    if value is None:
        return None
    if type(value) is not int:
        raise _type_error(name, value)
    return value


def parse_instant(value: Any, field: str) -> datetime:
    """``2006-01-02T15:04:05Z`` or RFC 3339 with an offset → aware UTC datetime (whole seconds)."""
    if type(value) is not str:
        raise _type_error(field, value)
    try:
        if len(value) < 19 or value[10] not in "Tt":
            raise ValueError(value)
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f'Invalid "{field}" {value!r}: use the format 2006-01-02T15:04:05Z'
        ) from None
    if instant.tzinfo is None:
        raise BadRequest(f'Invalid "{field}" {value!r}: a time needs Z or a UTC offset')
    return instant.astimezone(UTC).replace(microsecond=0)


def parse_day(value: Any, field: str) -> date:
    if type(value) is not str:
        raise _type_error(field, value)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f'Invalid "{field}" {value!r}: use the format 2006-01-02') from None


def iso(instant: datetime) -> str:
    """Toggl's answer format: ``2024-03-01T09:00:00+00:00``."""
    return instant.isoformat()


def build_entry(
    state: SandboxState, body: Any, wid: int, caller: Json, now: datetime, meta: bool
) -> tuple[Json, float]:
    """Check a create body; return the entry to store (with its start epoch) or raise BadRequest."""
    if not isinstance(body, dict):
        kind = _JSON_TYPES.get(type(body))
        raise BadRequest(f"JSON is not valid: expected an object, got {kind}")
    created_with = body.get("created_with")
    if type(created_with) is not str or not created_with.strip():
        raise BadRequest("created_with needs to be provided a valid string")
    if body.get("tag_action") is not None:
        raise BadRequest("tag_action can only be used when updating time entries")
    body_wid = _int_field(body, "workspace_id", "wid")
    if body_wid is None:
        raise BadRequest("workspace_id is required")
    if body_wid != wid:
        raise BadRequest(f"workspace_id {body_wid} does not match the workspace {wid} of the URL")
    if "start" not in body or body["start"] is None:
        raise BadRequest("start is required")
    start = parse_instant(body["start"], "start")
    if body.get("start_date") is not None:
        day = parse_day(body["start_date"], "start_date")
        start = start.replace(year=day.year, month=day.month, day=day.day)
    duration, stop = _span(body, start)
    description = body.get("description")
    if description is not None:
        if type(description) is not str:
            raise _type_error("description", description)
        if len(description) > MAX_DESCRIPTION:
            raise BadRequest(f"Maximum length for description is {MAX_DESCRIPTION} characters")
    billable = body.get("billable")
    if billable is not None and type(billable) is not bool:
        raise _type_error("billable", billable)
    project, task = _project_and_task(state, body, wid)
    uid = _user(state, body, wid, caller)
    tags, tag_ids = _tags(state, body, wid)
    start_epoch = start.timestamp()
    pid = project["id"] if project else None
    tid = task["id"] if task else None
    entry = {
        "id": state.new_id("time_entry"),
        "workspace_id": wid,
        "project_id": pid,
        "task_id": tid,
        "billable": bool(billable),
        "start": iso(start),
        "stop": iso(stop),
        "duration": duration,
        "description": description,
        "tags": tags,
        "tag_ids": tag_ids,
        "duronly": True,
        "at": iso(now.replace(microsecond=0)),
        "server_deleted_at": None,
        "user_id": uid,
        "uid": uid,
        "wid": wid,
        "pid": pid,
        "tid": tid,
        "permissions": None,
        "shared_with": None,
    }
    if meta:
        entry.update(meta_fields(state, entry))
    return entry, start_epoch


def _span(body: Json, start: datetime) -> tuple[int, datetime]:
    duration = body.get("duration")
    if duration is not None:
        if type(duration) is not int:
            raise _type_error("duration", duration)
        if duration < 0:
            raise BadRequest("duration must not be negative: the sandbox does not run timers")
    stop = None
    if body.get("stop") is not None:
        stop = parse_instant(body["stop"], "stop")
        if stop < start:
            raise BadRequest("Stop time must be after start time")
        span = int((stop - start).total_seconds())
        if duration is not None and duration != span:
            raise BadRequest(f"start + duration ({duration} s) must equal stop ({span} s)")
        duration = span
    if duration is None:
        raise BadRequest("duration or stop is required: the sandbox does not run timers")
    if duration > MAX_DURATION:
        raise BadRequest("Max allowed duration per 1 time entry is 999 hours")
    return duration, stop or start + timedelta(seconds=duration)


def _project_and_task(state: SandboxState, body: Json, wid: int) -> tuple[Json | None, Json | None]:
    pid = _int_field(body, "project_id", "pid")
    tid = _int_field(body, "task_id", "tid")
    project = None
    if pid is not None:
        project = state.projects.get(pid)
        if project is None or project["wid"] != wid:
            raise BadRequest(f"Invalid project_id: project {pid} does not exist in workspace {wid}")
        if not project.get("active", True):
            raise BadRequest(f"Cannot add time entries to archived project {project['name']!r}")
    task = None
    if tid is not None:
        if project is None:
            raise BadRequest("task_id requires project_id")
        task = state.tasks.get(tid)
        if task is None or task["pid"] != pid:
            raise BadRequest(f"Invalid task_id: task {tid} does not belong to project {pid}")
    return project, task


def _user(state: SandboxState, body: Json, wid: int, caller: Json) -> int:
    uid = _int_field(body, "user_id", "uid")
    if uid is None or uid == caller["id"]:
        return caller["id"]
    if state.membership(uid, wid) is None:
        raise BadRequest(f"Invalid user_id: user {uid} is not a member of workspace {wid}")
    if not state.is_admin(caller["id"], wid):
        raise BadRequest("Only workspace admins can create time entries for other users")
    return uid


def _tags(state: SandboxState, body: Json, wid: int) -> tuple[list[str], list[int]]:
    names = body.get("tags")
    if names is not None:
        if type(names) is not list:
            raise _type_error("tags", names)
        for name in names:
            if type(name) is not str:
                raise _type_error("tags", name)
            if not name.strip():
                raise BadRequest("A tag name cannot be empty")
    found: dict[int, str] = {}
    ids = body.get("tag_ids")
    if ids is not None:
        if type(ids) is not list:
            raise _type_error("tag_ids", ids)
        for tag_id in ids:
            tag = state.tags.get(tag_id) if type(tag_id) is int else None
            if tag is None or tag["wid"] != wid:
                raise BadRequest(f"Invalid tag_ids: tag {tag_id!r} is not in workspace {wid}")
            found[tag["id"]] = tag["name"]
    for name in names or ():
        tag = state.tag_for(wid, name)  # unknown names become new tags, like Toggl
        found[tag["id"]] = tag["name"]
    return list(found.values()), list(found)


def meta_fields(state: SandboxState, entry: Json) -> Json:
    """What ``meta=true`` adds: names of the related entities."""
    project = state.projects.get(entry["project_id"]) if entry["project_id"] else None
    client = state.clients.get(project["cid"]) if project and project.get("cid") else None
    task = state.tasks.get(entry["task_id"]) if entry["task_id"] else None
    return {
        "client_name": client["name"] if client else None,
        "project_name": project["name"] if project else None,
        "project_color": project.get("color") if project else None,
        "project_active": project.get("active", True) if project else None,
        "project_billable": project.get("billable", False) if project else None,
        "task_name": task["name"] if task else None,
        "user_name": state.users[entry["user_id"]]["fullname"],
    }


# -- reading back ------------------------------------------------------------------------------


def my_entries(state: SandboxState, uid: int, since: float, until: float) -> list[Json]:
    """The caller's entries starting in ``[since, until)`` (epoch seconds), newest first."""
    picked = [
        (start, entry["id"], entry)
        for (start, _wid, owner), entry in zip(state.entry_index, state.entries, strict=True)
        if owner == uid and since <= start < until
    ]
    picked.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [entry for _start, _id, entry in picked]


def report_entries(
    state: SandboxState, wid: int, first_day: date, last_day: date, user_ids: set[int] | None
) -> list[Json]:
    """A workspace's entries for the Reports v3 search: dates inclusive (UTC), oldest first."""
    since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC).timestamp()
    until = since + ((last_day - first_day).days + 1) * 86400
    picked = sorted(
        (
            (start, entry["id"], entry)
            for (start, ws, owner), entry in zip(state.entry_index, state.entries, strict=True)
            if ws == wid and since <= start < until and (user_ids is None or owner in user_ids)
        ),
        key=lambda item: (item[0], item[1]),
    )
    return [entry for _start, _id, entry in picked]


def report_row(state: SandboxState, entry: Json, row_number: int) -> Json:
    """One row of the detailed search, shaped like Toggl's (one time entry per row)."""
    return {
        "user_id": entry["user_id"],
        "username": state.users[entry["user_id"]]["fullname"],
        "project_id": entry["project_id"],
        "task_id": entry["task_id"],
        "billable": entry["billable"],
        "description": entry["description"] or "",
        "tag_ids": list(entry["tag_ids"]),
        "billable_amount_in_cents": None,
        "hourly_rate_in_cents": None,
        "currency": state.workspaces[entry["workspace_id"]].get("default_currency", "USD"),
        "row_number": row_number,
        "time_entries": [
            {
                "id": entry["id"],
                "seconds": entry["duration"],
                "start": entry["start"],
                "stop": entry["stop"],
                "at": entry["at"],
            }
        ],
    }
