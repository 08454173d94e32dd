"""The sync plan: files + ledger → creates, updates and deletes, planned whole before any is sent.

Used when a row can change what another one does: with ``--key`` (a key on two rows with
different content refuses both, wherever they are in the files), ``--mirror`` (deletes are
counted against ``--max-deletes`` before anything is sent) and ``--all-or-nothing`` (one refused
row and nothing is sent). Per source (``--source``, default each file's base name):

* a row whose content the ledger holds as created: unchanged, nothing sent;
* with ``--key``: a key the ledger knows with other content → an **update** of that entry; an
  unknown key (or one whose entry was deleted) → a create;
* without ``--key``: a row of new content → a create;
* with ``--mirror``: created entries of the source starting within the files' window (their first
  to last local date) whose row is no longer in them → a **delete**. A row that is still there but
  refused now keeps its entry; a source with no valid row deletes nothing; with ``--only-email``
  only entries of the people whose rows are sent may go (``--since``/``--until`` narrow the window).

Before an update or a delete is sent, ``changes.changed_in_toggl`` asks Toggl what changed since
we wrote: an entry edited or deleted there is a conflict (``--overwrite`` goes ahead anyway).
The plan is kept in memory until it is sent (a few hundred bytes a row).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .. import messages
from ..config import Settings, zone
from ..engine.actions import Action
from ..engine.changes import changed_by_lane
from ..engine.reads import Readers
from ..engine.record import Recorder
from ..errors import ConfigError
from ..ledger import Ledger, Outcome, RowRecord
from ..models import RowError, RowStatus
from ..normalize import NormalizedChunk
from ..planned import PlanChunk, PlannedRow, source_keys
from .imports import ImportPlan

_LIVE = (RowStatus.CREATED, RowStatus.UPDATING, RowStatus.DELETING)


@dataclass
class _Source:
    """What the files say of one source."""

    name: str
    first: int | None = None
    last: int | None = None
    """Earliest and latest start (UTC epoch) of its readable rows."""
    valid: int = 0
    seen_keys: set[str] = field(default_factory=set)
    seen_content: set[str] = field(default_factory=set)
    """Fingerprints and source keys of its rows (without ``--key``)."""
    users: set[int | None] = field(default_factory=set)
    """The users of its rows to send (``--only-email``: the only ones whose entries may go)."""

    def holds(self, key: str | None, fingerprint: str, source_key: str | None) -> bool:
        """Is this ledger row still in the files: by its key, or else by its content?"""
        if key:
            return key in self.seen_keys
        return fingerprint in self.seen_content or (source_key or "") in self.seen_content


@dataclass
class _Keyed:
    """The first row of the run that holds a key."""

    fingerprint: str
    file: str
    row: int
    done: bool = False
    clash: bool = False
    others: list[tuple[str, int]] = field(default_factory=list)
    """The later rows of the run that hold the key with other content (named in its message)."""


class SyncPlan:
    """Plan a sync whole (``plan()``), check it (``check()``), then hand out its actions."""

    def __init__(
        self,
        imports: ImportPlan,
        *,
        ledger: Ledger | None,
        recorder: Recorder,
        settings: Settings,
        readers: Readers,
        workspace_id: int,
    ) -> None:
        self.imports = imports
        self.ledger = ledger
        self.recorder = recorder
        self.settings = settings
        self.readers = readers
        """Each person's rows are checked through their own token."""
        self.workspace_id = workspace_id
        self.creates: list[tuple[PlannedRow, str, str | None]] = []
        """(row, source, key) to create."""
        self.updates: list[tuple[RowRecord, PlannedRow]] = []
        self.deletes: list[RowRecord] = []
        self.sources: dict[str, _Source] = {}
        self._keys: dict[tuple[str, str], _Keyed] = {}
        self._elsewhere: dict[str, dict[str, int]] = {}
        """source → {another source holding some of its new keys: how many}."""

    # -- planning --------------------------------------------------------------------------------
    async def plan(self) -> None:
        keyed = self.settings.keyed
        async for path, norm, chunk in self.imports.chunks():
            source = self.sources.setdefault(self._source_of(path), _Source(self._source_of(path)))
            self._window(source, norm)
            source.valid += len(chunk.rows) + len(chunk.done)
            if self.settings.only_email and self.settings.mirror:
                source.users.update(row.body.get("user_id") for row in chunk.rows if row.duplicate_of is None)
                if self.ledger is not None and chunk.done:
                    done = self.ledger.known([d.fingerprint for d in chunk.done if d.fingerprint])
                    source.users.update((r.payload or {}).get("user_id") for r in done.values())
            if keyed:
                self._plan_keyed(source, norm, chunk)
            else:
                self._plan_content(source, norm, chunk)
        for name, others in self._elsewhere.items():
            other, count = max(others.items(), key=lambda item: (item[1], item[0]))
            raise ConfigError(messages.keys_of_another_source(name, other, count))
        if keyed:
            self._refuse_clashes()
        if self.settings.mirror:
            self._plan_deletes()

    def _source_of(self, path: Path) -> str:
        return self.settings.source or path.name

    def _window(self, source: _Source, norm: NormalizedChunk) -> None:
        if len(norm.start):
            lo, hi = int(norm.start.min()), int(norm.start.max())
            source.first = lo if source.first is None else min(source.first, lo)
            source.last = hi if source.last is None else max(source.last, hi)

    def _plan_content(self, source: _Source, norm: NormalizedChunk, chunk: PlanChunk) -> None:
        source.seen_content.update(source_keys(norm, self.workspace_id))
        fresh = [row for row in chunk.rows if row.duplicate_of is None]
        source.seen_content.update(row.fingerprint for row in fresh)
        source.seen_content.update(d.fingerprint for d in chunk.done)
        for row in self.imports.to_post(fresh, add=False):
            self.creates.append((row, source.name, None))

    def _plan_keyed(self, source: _Source, norm: NormalizedChunk, chunk: PlanChunk) -> None:
        """Per key: unchanged, an update of its entry, or a create; a key on two rows with
        different content is refused on both (see ``_refuse_clashes``)."""
        keys = norm.key.tolist() if norm.key is not None else [""] * len(norm.rows)
        key_of = dict(zip(norm.rows.tolist(), keys, strict=True))
        source.seen_keys.update(norm.refused_keys)
        source.seen_keys.update(k for k in keys if k)
        adopt = []
        for d in chunk.done:  # unchanged content: their entry stays; the key is claimed
            key = key_of.get(d.row, "")
            if key:
                self._claim(source, key, d.fingerprint, d.file, d.row, done=True)
                if d.key is None:
                    adopt.append((d.fingerprint, source.name, key))
        if adopt and self.recorder.ledger is not None:
            self.recorder.ledger.set_keys(adopt)
        fresh = [row for row in chunk.rows if row.duplicate_of is None]
        known = self._live_by_key(source.name, [key_of.get(r.row, "") for r in fresh])
        self._look_elsewhere(source, [key_of.get(r.row, "") for r in fresh], known)
        column = self._key_column()
        for row in fresh:
            key = key_of.get(row.row, "")
            if not key:
                self.recorder.refused(
                    RowError(
                        file=row.file,
                        row=row.row,
                        column=column,
                        message=messages.no_key(column),
                        reason="no_key",
                    )
                )
                continue
            if not self._claim(source, key, row.fingerprint, row.file, row.row):
                continue
            rec = known.get(key)
            if rec is not None and rec.fingerprint == row.fingerprint:
                self.recorder.done(row.file, row.row, rec.entry_id)
            elif rec is not None:
                self.updates.append((rec, row))
            else:
                for todo in self.imports.to_post([row], add=False):
                    self.creates.append((todo, source.name, key))

    def _look_elsewhere(self, source: _Source, keys: list[str], known: dict[str, RowRecord]) -> None:
        """Without ``--source`` each file is its own source: keys new to it but held under another
        (last night's file) would be created a second time. Counted here, refused in ``plan``."""
        if self.settings.source or self.ledger is None:
            return
        new = sorted({k for k in keys if k and k not in known})
        if new:
            for other, count in self.ledger.keys_elsewhere(source.name, new).items():
                self._elsewhere.setdefault(source.name, {}).setdefault(other, 0)
                self._elsewhere[source.name][other] += count

    def _live_by_key(self, source: str, keys: list[str]) -> dict[str, RowRecord]:
        """The ledger's live (created) row of each key of ``source``."""
        wanted = sorted({k for k in keys if k})
        if self.ledger is None or not wanted:
            return {}
        return {k: r for k, r in self.ledger.by_keys(source, wanted).items() if r.state in _LIVE}

    def _key_column(self) -> str:
        return self.settings.key_column or self.settings.column_map.get("key", "key")

    def _claim(self, source: _Source, key: str, fingerprint: str, file: str, row: int,
               *, done: bool = False) -> bool:  # fmt: skip
        """Take ``key`` for this row; ``False`` (the row refused) when an earlier row of the run
        holds it with other content."""
        first = self._keys.setdefault((source.name, key), _Keyed(fingerprint, file, row, done=done))
        if (first.file, first.row) == (file, row):
            return True
        if first.fingerprint == fingerprint:  # the same content again (names spelt otherwise)
            self.recorder.duplicate(file, row, first.row, first.file, fingerprint)
            return False
        first.clash = True
        first.others.append((file, row))
        column = self._key_column()
        self.recorder.refused(
            RowError(
                file=file,
                row=row,
                column=column,
                reason="duplicate_key",
                message=messages.duplicate_key(key, [(first.file, first.row)]),
            )
        )
        return False

    def _refuse_clashes(self) -> None:
        """The first row of a key that clashed is refused too, and nothing is sent for it."""
        clashed = {place: first for place, first in self._keys.items() if first.clash}
        if not clashed:
            return
        column = self._key_column()
        places = set()
        for (_source, key), first in clashed.items():
            places.add((first.file, first.row))
            if not first.done:  # a row unchanged since an earlier run was reported already
                self.recorder.refused(
                    RowError(
                        file=first.file,
                        row=first.row,
                        column=column,
                        reason="duplicate_key",
                        message=messages.duplicate_key(key, first.others),
                    )
                )
        self.creates = [c for c in self.creates if (c[0].file, c[0].row) not in places]
        self.updates = [u for u in self.updates if (u[1].file, u[1].row) not in places]

    def _plan_deletes(self) -> None:
        if self.ledger is None:
            return
        updating = {rec.fingerprint for rec, _ in self.updates}
        for source in self.sources.values():
            if not source.valid or source.first is None or source.last is None:
                continue  # a file with no valid rows deletes nothing
            lo, hi = self._bounds(source.first, source.last)
            # which owned rows are gone is told from their keys and content alone; only those
            # to delete are read whole
            marks = self.ledger.owned_marks(source.name, self.workspace_id, lo, hi)
            gone = [
                fp for fp, key, source_key, entry_id in marks
                if fp not in updating and entry_id is not None and not source.holds(key, fp, source_key)
            ]  # fmt: skip
            found = self.ledger.known(gone)
            for rec in (found[fp] for fp in gone if fp in found):
                if self.settings.only_email and (rec.payload or {}).get("user_id") not in source.users:
                    continue  # another person's entry: their rows were skipped, not gone
                self.deletes.append(rec)

    def _bounds(self, first: int, last: int) -> tuple[int, int]:
        """The window's UTC bounds: local midnight of the first day to that after the last."""
        tz = zone(self.settings.timezone) if self.settings.timezone else UTC
        day_lo = datetime.fromtimestamp(first, tz).date()
        day_hi = datetime.fromtimestamp(last, tz).date() + timedelta(days=1)
        lo = datetime(day_lo.year, day_lo.month, day_lo.day, tzinfo=tz)
        hi = datetime(day_hi.year, day_hi.month, day_hi.day, tzinfo=tz)
        return int(lo.timestamp()), int(hi.timestamp())

    # -- checks ----------------------------------------------------------------------------------
    def check_deletes(self) -> None:
        """More deletes than ``--max-deletes``: stop before anything is sent (exit 2)."""
        limit = self.settings.max_deletes
        if len(self.deletes) > limit:
            raise ConfigError(messages.too_many_deletes(len(self.deletes), limit, sorted(self.sources)))

    async def check_changes(self) -> None:
        """Ask Toggl what changed since we wrote the entries about to be updated or deleted."""
        records = [rec for rec, _ in self.updates] + self.deletes
        if not records:
            return
        verdicts = await changed_by_lane(self.readers, records, self.workspace_id)
        overwrite = self.settings.overwrite
        updates = []
        for rec, row in self.updates:
            verdict = verdicts.get(rec.fingerprint)
            if verdict is None or (overwrite and verdict.kind == "edited"):
                updates.append((rec, row))
            elif verdict.kind == "gone" and overwrite:
                self._gone(rec)
                self.creates.append((row, rec.source or "", rec.key))
            else:
                self.recorder.conflict(row.file, row.row, rec.entry_id, verdict.message)
        self.updates = updates
        deletes = []
        for rec in self.deletes:
            verdict = verdicts.get(rec.fingerprint)
            if verdict is None or (overwrite and verdict.kind == "edited"):
                deletes.append(rec)
            elif verdict.kind == "gone":  # nothing to send: as if a DELETE had answered 404
                self.recorder.deleted(self._delete(rec), gone=True)
            else:
                self.recorder.conflict(rec.file, rec.row, rec.entry_id, verdict.message)
        self.deletes = deletes

    def _gone(self, rec: RowRecord) -> None:
        """``--overwrite`` of an update whose entry was deleted in Toggl: the row is free to be
        created anew."""
        if self.recorder.ledger is not None:
            self.recorder.ledger.record([Outcome.deleted(rec.fingerprint, "deleted in Toggl")])
            self.recorder.ledger.flush()

    def _delete(self, rec: RowRecord) -> Action:
        return Action.delete(rec.fingerprint, int(rec.entry_id or 0), rec.file, rec.row, self.workspace_id,
                             lane=self._lane(rec.payload))  # fmt: skip

    def _lane(self, body: dict[str, Any] | None) -> str:
        lane_of = self.imports.lane_of
        return lane_of(body or {}) if lane_of is not None else ""

    # -- the actions -----------------------------------------------------------------------------
    def actions(self) -> list[Action]:
        wid = self.workspace_id
        out = [self.imports.create(row) for row, _, _ in self.creates]
        out += [
            Action.update(rec.fingerprint, int(rec.entry_id or 0), row, wid, previous=rec.payload,
                          lane=self._lane(row.body))
            for rec, row in self.updates
        ]  # fmt: skip
        out += [self._delete(rec) for rec in self.deletes]
        return out

    async def batches(self, step: int = 256) -> AsyncIterator[list[Action]]:
        """The actions in batches; creates are added to the ledger as ``pending`` first."""
        ledger = self.recorder.ledger
        for lo in range(0, len(self.creates), step):
            part = self.creates[lo : lo + step]
            if ledger is not None:
                for source in {s for _, s, _ in part}:
                    rows = [(r, k) for r, s, k in part if s == source]
                    ledger.add_pending([r for r, _ in rows], source=source, keys=[k for _, k in rows])
            yield [self.imports.create(row) for row, _, _ in part]
        rest = self.actions()[len(self.creates) :]
        for lo in range(0, len(rest), step):
            yield rest[lo : lo + step]

    def counts(self) -> dict[str, Any]:
        return {"create": len(self.creates), "update": len(self.updates), "delete": len(self.deletes)}
