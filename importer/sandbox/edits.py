"""Updating a time entry (``PUT`` and the admin ``PATCH``): the changed fields, checked like a
create, merged into the stored entry.

A field absent from the body is kept; ``null`` clears ``description``, ``project_id`` (and the
task with it), ``task_id``, ``tags`` and ``tag_ids``; ``billable: null`` is false; ``start``,
``stop``, ``duration`` and ``created_with`` given as ``null`` are ignored (the sandbox runs no
timers). Choices where Toggl's behaviour is unknown:

- ``start`` alone moves the entry and keeps its ``duration`` (the stop moves with it); ``stop``
  alone keeps the start (the duration changes); ``duration`` alone keeps the start; given
  together they must agree, as on create;
- a new ``project_id`` without a ``task_id`` drops the old task (it belongs to the old project);
- ``project_id`` in the body is checked like on create (an archived project is refused, even
  the entry's own); an entry left on a project archived since can still be edited otherwise;
- ``tags``/``tag_ids`` replace the entry's tags, or with ``tag_action`` ``add``/``delete`` add
  to or take from them;
- ``workspace_id`` must be the entry's own: an entry is not moved between workspaces.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from importer.sandbox import entries
from importer.sandbox.entries import BadRequest
from importer.sandbox.state import Json, SandboxState

_TAG_ACTIONS = frozenset({"add", "delete"})


def updated_entry(
    state: SandboxState,
    entry: Json,
    body: Any,
    caller_id: int,
    now: datetime,
    caller_admin: bool = False,
) -> tuple[Json, float]:
    """The entry with ``body``'s changes applied (a new dict) and its start epoch, or
    BadRequest. ``user_id`` may name another user if the caller is an admin of the workspace
    (``caller_admin`` says so without looking it up)."""
    if not isinstance(body, dict):
        raise BadRequest("JSON is not valid: expected an object")
    wid = entry["workspace_id"]
    body_wid = entries.int_field(body, "workspace_id", "wid")
    if body_wid is not None:
        entries.check_workspace(body_wid, wid)
    created_with = body.get("created_with")
    if created_with is not None and type(created_with) is not str:
        raise BadRequest("created_with needs to be provided a valid string")
    start, stop, duration = _span(entry, body)
    description = entry["description"]
    if "description" in body:
        description = entries.checked_description(body["description"])
    billable = entry["billable"]
    if "billable" in body:
        billable = entries.checked_billable(body["billable"])
    project, task = _project_and_task(state, entry, body, wid)
    uid = entries.checked_user(
        state,
        entries.int_field(body, "user_id", "uid"),
        wid,
        caller_id,
        entry["user_id"],
        caller_admin,
    )
    tags = _tags(state, entry, body, wid)
    new = entries.compose(
        entry["id"],
        wid,
        project["id"] if project else None,
        task["id"] if task else None,
        billable,
        start,
        stop,
        duration,
        description,
        tags,
        uid,
        entries.iso(now.replace(microsecond=0)),
    )
    return new, start.timestamp()


def _span(entry: Json, body: Json) -> tuple[datetime, datetime, int]:
    start = datetime.fromisoformat(entry["start"])
    if body.get("start") is not None or body.get("start_date") is not None:
        given = body["start"] if body.get("start") is not None else entry["start"]
        start = entries.start_of({"start": given, **_day(body)})
    if body.get("stop") is not None or body.get("duration") is not None:
        duration, stop = entries.span({"stop": body.get("stop"), **_length(body)}, start)
        return start, stop, duration
    duration = entry["duration"]
    return start, start + timedelta(seconds=duration), duration


def _day(body: Json) -> Json:
    return {"start_date": body["start_date"]} if body.get("start_date") is not None else {}


def _length(body: Json) -> Json:
    return {"duration": body["duration"]} if body.get("duration") is not None else {}


def _project_and_task(
    state: SandboxState, entry: Json, body: Json, wid: int
) -> tuple[Json | None, Json | None]:
    if "project_id" in body or "pid" in body:
        project = entries.checked_project(state, entries.int_field(body, "project_id", "pid"), wid)
    else:
        project = state.projects.get(entry["project_id"]) if entry["project_id"] else None
    if "task_id" in body or "tid" in body:
        return project, entries.checked_task(state, entries.int_field(body, "task_id", "tid"), project)
    task = state.tasks.get(entry["task_id"]) if entry["task_id"] else None
    if task is None or project is None or task["pid"] != project["id"]:
        task = None  # the old task belonged to the old project
    return project, task


def _tags(state: SandboxState, entry: Json, body: Json, wid: int) -> tuple[list[str], list[int]]:
    action = body.get("tag_action")
    if action is not None and action not in _TAG_ACTIONS:
        raise BadRequest('tag_action must be "add" or "delete"')
    if "tags" not in body and "tag_ids" not in body:
        return list(entry["tags"]), list(entry["tag_ids"])
    if action is None:
        return entries.checked_tags(state, body, wid)
    current = dict(zip(entry["tag_ids"], entry["tags"], strict=True))
    if action == "add":
        added = entries.checked_tags(state, body, wid)
        current.update(zip(added[1], added[0], strict=True))
    else:
        names = set(entries.tag_names(body))
        ids = {tag["id"] for tag in entries.tags_by_id(state, body, wid)}
        current = {i: n for i, n in current.items() if i not in ids and n not in names}
    return list(current.values()), list(current)
