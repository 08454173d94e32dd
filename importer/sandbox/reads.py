"""Reading time entries back: ``/me/time_entries`` (by start, or modified ``since``) and the
Reports v3 search. Deleted entries are only ever read through ``since``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from importer.sandbox.state import Json, SandboxState


def my_entries(state: SandboxState, uid: int, since: float, until: float) -> list[Json]:
    """The caller's live entries starting in ``[since, until)`` (epoch seconds), newest first."""
    entries = state.all_entries
    picked = [
        (index.start, entry_id)
        for entry_id, index in state.entry_index.items()
        if index.uid == uid
        and since <= index.start < until
        and entries[entry_id]["server_deleted_at"] is None
    ]
    picked.sort(reverse=True)
    return [entries[entry_id] for _start, entry_id in picked]


def modified_since(state: SandboxState, uid: int, since: float) -> list[Json]:
    """The caller's entries (every workspace) whose ``at`` is at or after ``since``, deleted
    ones included (a delete moves ``at`` too); newest start first."""
    entries = state.all_entries
    picked = [
        (index.start, entry_id)
        for entry_id, index in state.entry_index.items()
        if index.uid == uid and index.at >= since
    ]
    picked.sort(reverse=True)
    return [entries[entry_id] for _start, entry_id in picked]


def report_entries(
    state: SandboxState, wid: int, first_day: date, last_day: date, user_ids: set[int] | None
) -> list[Json]:
    """A workspace's live entries for the Reports v3 search: dates inclusive (UTC), oldest
    first."""
    since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC).timestamp()
    until = since + ((last_day - first_day).days + 1) * 86400
    entries = state.all_entries
    picked = sorted(
        (index.start, entry_id)
        for entry_id, index in state.entry_index.items()
        if index.wid == wid
        and since <= index.start < until
        and (user_ids is None or index.uid in user_ids)
        and entries[entry_id]["server_deleted_at"] is None
    )
    return [entries[entry_id] for _start, entry_id in picked]


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
