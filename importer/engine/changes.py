"""What changed in Toggl since we wrote: edits people made there win.

Before the engine updates or deletes entries it created, it asks Toggl -- with as few reads as
possible, never one per entry -- which of them someone changed or deleted since our last write:

* the caller's own entries: one ``GET /me/time_entries?since=UNIX`` returns everything of theirs
  modified since a moment, deleted ones included (``server_deleted_at``); ``since`` is the oldest
  of our last writes;
* other people's entries (an admin importing for a team): the Reports search over the weeks the
  entries are in, per person; an entry absent from it was deleted (or moved out of its week).

An entry is *edited* when Toggl's ``at`` is not older than the one our last write got back **and**
its content differs from what we wrote (an edit undone is no edit; ``at`` has whole seconds, so an
edit in the same second as our write counts); *gone* when it was deleted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from .. import messages
from ..keys import body_seconds, utc_text
from ..ledger import RowRecord
from .reads import Readers
from .reconcile import Doubtful, _clusters, _window

SKEW = 60.0
"""Seconds of clock difference allowed when our last write's ``at`` is unknown (an older ledger):
its record time is ours, Toggl's ``at`` is Toggl's."""


class ChangesClient(Protocol):
    async def me(self) -> dict[str, Any]: ...
    async def my_changes_since(self, since: float) -> list[dict[str, Any]]: ...
    async def search_time_entries(
        self, workspace_id: int, start_date: Any, end_date: Any, user_ids: list[int] | None = None
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Verdict:
    kind: Literal["edited", "gone"]
    message: str
    entry: dict[str, Any] | None = None
    """The entry as Toggl holds it (an edit's)."""


def moment(text: str | None) -> float | None:
    """An ISO time (``Z`` or an offset) as epoch seconds."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def differences(entry: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """The fields in which Toggl's entry differs from the body we wrote."""
    out = []
    if entry.get("start") and utc_text(entry["start"]) != utc_text(body["start"]):
        out.append("start")
    duration = entry.get("duration", entry.get("seconds"))
    if duration is not None and int(duration) != body_seconds(body):
        out.append("duration")
    if (entry.get("description") or "").strip() != (body.get("description") or "").strip():
        out.append("description")
    for name in ("project_id", "task_id"):
        if entry.get(name) != body.get(name):
            out.append(name.removesuffix("_id"))
    if "billable" in entry and bool(entry.get("billable")) != bool(body.get("billable")):
        out.append("billable")
    tags = entry.get("tags")
    if isinstance(tags, list) and sorted(tags) != sorted(body.get("tags") or []):
        out.append("tags")
    return out


async def changed_in_toggl(
    client: ChangesClient,
    records: Sequence[RowRecord],
    workspace_id: int,
    *,
    me_user_id: int | None = None,
) -> dict[str, Verdict]:
    """fingerprint → why the entry of that ledger row must not be touched; absent: untouched."""
    rows = [r for r in records if r.entry_id is not None and r.payload_json]
    if not rows:
        return {}
    if me_user_id is None and any((r.payload or {}).get("user_id") is not None for r in rows):
        me_user_id = int((await client.me())["id"])
    own: list[RowRecord] = []
    others: dict[int, list[RowRecord]] = defaultdict(list)
    for r in rows:
        user = (r.payload or {}).get("user_id")
        if user is None or user == me_user_id:
            own.append(r)
        else:
            others[int(user)].append(r)
    out: dict[str, Verdict] = {}
    if own:
        since = min(_last_write(r) for r in own) - 1
        changed = {int(e["id"]): e for e in await client.my_changes_since(since) if e.get("id") is not None}
        for r in own:
            entry = changed.get(int(r.entry_id or 0))
            verdict = _verdict(r, entry) if entry is not None else None
            if verdict is not None:
                out[r.fingerprint] = verdict
    for user, group in others.items():
        docs = [Doubtful(r.fingerprint, r.payload or {}) for r in group]
        by_fp = {r.fingerprint: r for r in group}
        for cluster in _clusters(docs):
            lo, hi = _window(cluster)
            present = {
                int(e["id"]): e for e in await client.search_time_entries(workspace_id, lo, hi, [user])
            }
            for doc in cluster:
                r = by_fp[doc.fingerprint]
                verdict = _verdict(r, present.get(int(r.entry_id or 0)))
                if verdict is not None:
                    out[r.fingerprint] = verdict
    return out


async def changed_by_lane(
    readers: Readers, records: Sequence[RowRecord], workspace_id: int
) -> dict[str, Verdict]:
    """``changed_in_toggl`` with each person's rows read through their own token."""
    out: dict[str, Verdict] = {}
    for lane, group in readers.group(records, lambda r: r.payload).items():
        me = readers.users.get(lane)
        out.update(await changed_in_toggl(readers.lanes[lane], group, workspace_id, me_user_id=me))
    return out


def _last_write(r: RowRecord) -> float:
    at = moment(r.at)
    if at is not None:
        return at
    return (moment(r.updated_at) or 0.0) - SKEW


def _verdict(r: RowRecord, entry: dict[str, Any] | None) -> Verdict | None:
    if entry is None or entry.get("server_deleted_at"):
        return Verdict("gone", messages.conflict_gone(r.entry_id))
    body = r.payload or {}
    what = differences(entry, body)
    if not what:
        return None
    ours, theirs = moment(r.at), moment(entry.get("at"))
    if ours is not None and theirs is not None and theirs < ours:
        return None  # older than our write: what we wrote, in Toggl's words
    # newer, or within the same second (Toggl's ``at`` has whole seconds): someone else wrote it
    return Verdict("edited", messages.conflict_edited(r.entry_id, what), entry)
