"""Time entries in the sandbox: check a create body like Toggl and build the stored entry.

The create path is the hot path of benchmarks: plain dict and type checks, no pydantic. The
checks here are shared with updates (``edits``). Choices where Toggl's behaviour is unknown
(documented here, on purpose strict):

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


def int_field(body: Json, name: str, legacy: str | None = None) -> int | None:
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
    """Check a create body; return the entry to store (with its start epoch) or raise BadRequest.

    The stored entry never holds the ``meta=true`` names; the answer adds them (``answer``).
    """
    if not isinstance(body, dict):
        kind = _JSON_TYPES.get(type(body))
        raise BadRequest(f"JSON is not valid: expected an object, got {kind}")
    created_with = body.get("created_with")
    if type(created_with) is not str or not created_with.strip():
        raise BadRequest("created_with needs to be provided a valid string")
    if body.get("tag_action") is not None:
        raise BadRequest("tag_action can only be used when updating time entries")
    body_wid = int_field(body, "workspace_id", "wid")
    if body_wid is None:
        raise BadRequest("workspace_id is required")
    check_workspace(body_wid, wid)
    if "start" not in body or body["start"] is None:
        raise BadRequest("start is required")
    start = start_of(body)
    duration, stop = span(body, start)
    description = checked_description(body.get("description"))
    billable = checked_billable(body.get("billable"))
    project = checked_project(state, int_field(body, "project_id", "pid"), wid)
    task = checked_task(state, int_field(body, "task_id", "tid"), project)
    uid = checked_user(state, int_field(body, "user_id", "uid"), wid, caller["id"], caller["id"])
    tags, tag_ids = checked_tags(state, body, wid)
    entry = compose(
        state.new_id("time_entry"),
        wid,
        project["id"] if project else None,
        task["id"] if task else None,
        bool(billable),
        start,
        stop,
        duration,
        description,
        (tags, tag_ids),
        uid,
        iso(now.replace(microsecond=0)),
    )
    return entry, start.timestamp()


def compose(
    entry_id: int,
    wid: int,
    pid: int | None,
    tid: int | None,
    billable: bool,
    start: datetime,
    stop: datetime,
    duration: int,
    description: str | None,
    tags: tuple[list[str], list[int]],
    uid: int,
    at: str,
) -> Json:
    """A stored time entry, shaped like Toggl's answer (legacy ``wid``/``pid``/... mirrored)."""
    return {
        "id": entry_id,
        "workspace_id": wid,
        "project_id": pid,
        "task_id": tid,
        "billable": billable,
        "start": iso(start),
        "stop": iso(stop),
        "duration": duration,
        "description": description,
        "tags": tags[0],
        "tag_ids": tags[1],
        "duronly": True,
        "at": at,
        "server_deleted_at": None,
        "user_id": uid,
        "uid": uid,
        "wid": wid,
        "pid": pid,
        "tid": tid,
        "permissions": None,
        "shared_with": None,
    }


def answer(state: SandboxState, entry: Json, meta: bool) -> Json:
    """What a write answers: the entry, plus the names of ``meta=true``."""
    return {**entry, **meta_fields(state, entry)} if meta else entry


def check_workspace(body_wid: int, wid: int) -> None:
    if body_wid != wid:
        raise BadRequest(f"workspace_id {body_wid} does not match the workspace {wid} of the URL")


def start_of(body: Json) -> datetime:
    """``start`` of a body, with the date of ``start_date`` if given (it takes precedence)."""
    start = parse_instant(body["start"], "start")
    if body.get("start_date") is not None:
        day = parse_day(body["start_date"], "start_date")
        start = start.replace(year=day.year, month=day.month, day=day.day)
    return start


def checked_description(description: Any) -> str | None:
    if description is not None:
        if type(description) is not str:
            raise _type_error("description", description)
        if len(description) > MAX_DESCRIPTION:
            raise BadRequest(f"Maximum length for description is {MAX_DESCRIPTION} characters")
    return description  # type: ignore[no-any-return]


def checked_billable(billable: Any) -> bool:
    if billable is not None and type(billable) is not bool:
        raise _type_error("billable", billable)
    return bool(billable)


def span(body: Json, start: datetime) -> tuple[int, datetime]:
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


def checked_project(state: SandboxState, pid: int | None, wid: int) -> Json | None:
    """The project of that id in the workspace (None for none); an archived one is refused."""
    if pid is None:
        return None
    project = state.projects.get(pid)
    if project is None or project["wid"] != wid:
        raise BadRequest(f"Invalid project_id: project {pid} does not exist in workspace {wid}")
    if not project.get("active", True):
        raise BadRequest(f"Cannot add time entries to archived project {project['name']!r}")
    return project


def checked_task(state: SandboxState, tid: int | None, project: Json | None) -> Json | None:
    if tid is None:
        return None
    if project is None:
        raise BadRequest("task_id requires project_id")
    task = state.tasks.get(tid)
    if task is None or task["pid"] != project["id"]:
        raise BadRequest(f"Invalid task_id: task {tid} does not belong to project {project['id']}")
    return task


def checked_user(
    state: SandboxState,
    uid: int | None,
    wid: int,
    caller_id: int,
    current: int,
    caller_admin: bool = False,
) -> int:
    """The entry's user: ``current`` unless ``uid`` names another one, which takes a workspace
    admin (a 400 otherwise) and a member of the workspace."""
    if uid is None or uid == current:
        return current
    if state.membership(uid, wid) is None:
        raise BadRequest(f"Invalid user_id: user {uid} is not a member of workspace {wid}")
    if uid != caller_id and not (caller_admin or state.is_admin(caller_id, wid)):
        raise BadRequest("Only workspace admins can create time entries for other users")
    return uid


def checked_tags(state: SandboxState, body: Json, wid: int) -> tuple[list[str], list[int]]:
    """``tags`` (names; unknown ones are created) and ``tag_ids`` of a body, checked; every
    check is done before a tag is created, so a refused body creates none."""
    names = tag_names(body)
    found = {tag["id"]: tag["name"] for tag in tags_by_id(state, body, wid)}
    for name in names:
        tag = state.tag_for(wid, name)  # unknown names become new tags, like Toggl
        found[tag["id"]] = tag["name"]
    return list(found.values()), list(found)


def tag_names(body: Json) -> list[str]:
    names = body.get("tags")
    if names is None:
        return []
    if type(names) is not list:
        raise _type_error("tags", names)
    for name in names:
        if type(name) is not str:
            raise _type_error("tags", name)
        if not name.strip():
            raise BadRequest("A tag name cannot be empty")
    return names


def tags_by_id(state: SandboxState, body: Json, wid: int) -> list[Json]:
    ids = body.get("tag_ids")
    if ids is None:
        return []
    if type(ids) is not list:
        raise _type_error("tag_ids", ids)
    found = []
    for tag_id in ids:
        tag = state.tags.get(tag_id) if type(tag_id) is int else None
        if tag is None or tag["wid"] != wid:
            raise BadRequest(f"Invalid tag_ids: tag {tag_id!r} is not in workspace {wid}")
        found.append(tag)
    return found


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
