"""Read back rows whose POST may have been applied, and say which exist in Toggl.

A row is ``in_doubt`` (or left ``sending`` by a killed run) when its request left but no answer
came. Before it may be sent again, Toggl is asked — one windowed read per group of rows, never one
per row: ``/me/time_entries`` for the caller's own entries of the last ~3 months (it draws on the
separate ``/me`` bucket), the Reports search for other users' entries and older ones.

Entries are matched on start, duration, description, project and task (the Reports API returns tag
ids, not names, so tags are not compared), and only within the row's workspace and user:
``/me/time_entries`` answers the caller's entries of *every* workspace, and the Reports search
sees every user's, so a colleague's identical entry (a team meeting) is never taken for the row.
Every Toggl entry is claimed by at most one row, and entries the ledger already knows as created
by another row are never claimed again.

``extra_copies`` is the last look at rows that were in doubt and sent again: a first request that
the server applied late (after the client gave up) shows up as a second entry of the same row,
made after the row was first sent; the engine deletes it and reports a repaired duplicate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from ..keys import body_seconds, utc_text

ME_REACH_DAYS = 85
"""``/me/time_entries`` reaches about three months back; stay safely inside it."""

WINDOW_DAYS = 7
"""Rows further apart than this are read back in separate windows."""

MatchKey = tuple[str, int, str, int | None, int | None]


class ReadBackClient(Protocol):
    async def me(self) -> dict[str, Any]: ...
    async def my_time_entries(self, start_date: date, end_date: date) -> list[dict[str, Any]]: ...
    async def search_time_entries(
        self,
        workspace_id: int,
        start_date: date,
        end_date: date,
        user_ids: list[int] | None = None,
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Doubtful:
    """A row to check: its ledger key and the body that was (maybe) posted; for ``extra_copies``
    also the entry recorded for it and when (epoch seconds) its first request left."""

    fingerprint: str
    body: dict[str, Any]
    entry_id: int | None = None
    since: float | None = None


def key_of_body(body: dict[str, Any]) -> MatchKey:
    return (
        utc_text(body["start"]),
        body_seconds(body),
        (body.get("description") or "").strip(),
        body.get("project_id"),
        body.get("task_id"),
    )


def key_of_entry(entry: dict[str, Any]) -> MatchKey:
    duration = entry.get("duration", entry.get("seconds"))
    if duration is None or duration < 0:
        duration = -1
    return (
        utc_text(entry["start"]),
        int(duration),
        (entry.get("description") or "").strip(),
        entry.get("project_id"),
        entry.get("task_id"),
    )


def _start(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(body["start"]).astimezone(UTC)


async def read_back(
    client: ReadBackClient,
    workspace_id: int,
    rows: Sequence[Doubtful],
    *,
    known_entry_ids: Iterable[int] = (),
    now: datetime | None = None,
    me_user_id: int | None = None,
) -> dict[str, int]:
    """Map each fingerprint found in Toggl to its entry id; absent rows are left out.

    ``me_user_id`` is the caller's user id, when known (a person's lane): rows of that user are
    read with ``/me/time_entries`` (its own bucket) rather than the Reports search. Own rows (no
    ``user_id``) too old for ``/me/time_entries`` are searched as that user's; unknown, it is
    asked (``GET /me``) once, and only if there are such rows.
    """
    taken = set(known_entry_ids)
    found: dict[str, int] = {}
    async for group, entries, user in _read_windows(client, workspace_id, rows, now, me_user_id):
        found.update(_claim(group, entries, taken, workspace_id, user))
    return found


async def extra_copies(
    client: ReadBackClient,
    workspace_id: int,
    rows: Sequence[Doubtful],
    *,
    known_entry_ids: Iterable[int] = (),
    now: datetime | None = None,
    skew: float = 5.0,
    me_user_id: int | None = None,
) -> dict[str, list[int]]:
    """Per row: the entries of its content other than the one recorded for it (``entry_id``),
    not owned by another ledger row, and touched no earlier than ``since - skew`` -- a first
    request applied late. An identical entry a person made before the row was sent is never
    among them."""
    taken = set(known_entry_ids)
    out: dict[str, list[int]] = {}
    async for group, entries, user in _read_windows(client, workspace_id, rows, now, me_user_id):
        pool = _pool(entries, taken - {r.entry_id for r in group if r.entry_id}, workspace_id, user)
        for row in group:
            copies = [
                entry for entry in pool.get(key_of_body(row.body), [])
                if entry["id"] != row.entry_id and _touched_since(entry, row.since, skew)
            ]  # fmt: skip
            if copies:
                out[row.fingerprint] = [int(e["id"]) for e in copies]
    return out


def _touched_since(entry: dict[str, Any], since: float | None, skew: float) -> bool:
    if since is None:
        return False
    at = entry.get("at")
    if not at:
        return False
    try:
        moment = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.timestamp() >= since - skew


async def _read_windows(
    client: ReadBackClient,
    workspace_id: int,
    rows: Sequence[Doubtful],
    now: datetime | None,
    me_user_id: int | None,
) -> Any:
    """``(rows, entries read for them, user id or None for /me)`` per window of rows."""
    now = now or datetime.now(UTC)
    reach = now - timedelta(days=ME_REACH_DAYS)
    mine: list[Doubtful] = []
    others: dict[int | None, list[Doubtful]] = defaultdict(list)
    for row in rows:
        user_id = row.body.get("user_id")
        own = user_id is None or (me_user_id is not None and user_id == me_user_id)
        if own and _start(row.body) >= reach:
            mine.append(row)
        else:
            others[row.body.get("user_id")].append(row)
    for group in _clusters(mine):
        lo, hi = _window(group)
        yield group, await client.my_time_entries(lo, hi), None
    for user_id, rows_of_user in others.items():
        if user_id is None and me_user_id is None:
            me_user_id = int((await client.me())["id"])
        user = user_id if user_id is not None else me_user_id
        assert user is not None
        for group in _clusters(rows_of_user):
            lo, hi = _window(group)
            yield group, await client.search_time_entries(workspace_id, lo, hi, [user]), user


def _clusters(rows: Sequence[Doubtful], span_days: int = WINDOW_DAYS) -> list[list[Doubtful]]:
    """Rows sorted by start and cut where a window would grow past ``span_days``.

    A few wide reads beat one read per row, but one read over years of other entries would page
    through all of them: a window of a week keeps each read small.
    """
    groups: list[list[Doubtful]] = []
    for row in sorted(rows, key=_start_of):
        if groups and _start_of(row) - _start_of(groups[-1][0]) <= timedelta(days=span_days):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _start_of(row: Doubtful) -> datetime:
    return _start(row.body)


def _window(rows: Sequence[Doubtful]) -> tuple[date, date]:
    """Dates that cover every start, one day wider each side (time zones; start==end is empty)."""
    starts = [_start(r.body) for r in rows]
    return (min(starts) - timedelta(days=1)).date(), (max(starts) + timedelta(days=2)).date()


def _pool(
    entries: list[dict[str, Any]], taken: set[int], workspace_id: int, user_id: int | None
) -> dict[MatchKey, list[dict[str, Any]]]:
    """The live entries of the workspace (and user) not owned by another row, by content."""
    pool: dict[MatchKey, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        if entry.get("server_deleted_at") or entry["id"] in taken:
            continue
        if entry.get("workspace_id", workspace_id) != workspace_id:
            continue  # /me/time_entries: the caller's entries of another workspace
        if user_id is not None and entry.get("user_id", user_id) != user_id:
            continue  # the Reports search sees colleagues' entries too
        pool[key_of_entry(entry)].append(entry)
    return pool


def _claim(
    rows: Sequence[Doubtful],
    entries: list[dict[str, Any]],
    taken: set[int],
    workspace_id: int,
    user_id: int | None,
) -> dict[str, int]:
    pool = _pool(entries, taken, workspace_id, user_id)
    found: dict[str, int] = {}
    for row in rows:
        candidates = pool.get(key_of_body(row.body))
        while candidates:
            entry_id = int(candidates.pop(0)["id"])
            if entry_id not in taken:
                taken.add(entry_id)
                found[row.fingerprint] = entry_id
                break
    return found
