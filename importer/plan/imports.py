"""The import plan: files → create actions, a chunk at a time.

Each file is read in chunks (``reader``), normalised (``normalize``) and planned (``payloads``:
names resolved once per distinct value, bodies validated, fingerprints); what needs no request --
refused, skipped and duplicate rows, rows created by an earlier run -- goes straight to the
recorder. ``chunks()`` yields the planned chunks; ``creates()`` turns them into create actions
for the rows the ledger does not hold as created (adding them to it as ``pending`` first), which
is what a plain import sends, streamed: memory stays flat however long the files.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..config import Settings
from ..engine.actions import Action
from ..engine.reads import Reads
from ..engine.reconcile import Doubtful, read_back
from ..engine.record import Recorder
from ..engine.stop import Stopper
from ..header import HeaderHints
from ..ledger import Ledger, Outcome
from ..ledger_records import body_text
from ..models import RowStatus
from ..normalize import NormalizedChunk, NormalizeState, normalize
from ..payloads import Planner
from ..planned import PlanChunk, PlannedRow
from ..presets import Mapping
from ..reader import iter_chunks

_MAYBE_IN_TOGGL = frozenset({RowStatus.SENDING, RowStatus.IN_DOUBT, RowStatus.EXPORTED})
"""Rows that may be in Toggl already: read back (``plan.resume``) before they are ever posted."""


class ImportPlan:
    """Files → planned chunks → create actions, for one workspace."""

    def __init__(
        self,
        files: Sequence[Path],
        mappings: dict[Path, Mapping],
        settings: Settings,
        planner: Planner,
        recorder: Recorder,
        stopper: Stopper,
        *,
        ledger: Ledger | None,
        workspace_id: int,
        reads: Reads | None = None,
        lane_of: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        self.files = files
        self.mappings = mappings
        self.settings = settings
        self.planner = planner
        self.recorder = recorder
        self.stopper = stopper
        self.ledger = ledger
        """Read for what earlier runs did (``None``: a dry run without a ledger yet)."""
        self.workspace_id = workspace_id
        self.reads = reads
        self.hints = HeaderHints.of(settings)
        self.lane_of = lane_of
        """Whose credentials send an entry (``[tokens]``): its lane, from its body (``None``: one
        lane, and no body is read to route it)."""
        """For ``--check-existing``."""
        self.rows = 0
        """Input rows seen so far (for the progress display)."""

    async def chunks(self) -> AsyncGenerator[tuple[Path, Any, PlanChunk], None]:
        """``(file, normalised chunk, plan)`` per chunk, after recording the rows that need no
        request: refused, skipped, in-file duplicates and rows an earlier run created."""
        done = self.ledger.created_sources if self.ledger is not None else None
        rec = self.recorder
        for path in self.files:
            normalised = self._normalised(path)
            ahead = asyncio.ensure_future(asyncio.to_thread(next, normalised, None))
            try:
                while not self.stopper.stopping:
                    norm = await ahead
                    if norm is None:
                        break
                    # the next chunk is read and normalised while this one is planned: the parser and
                    # numpy let go of the GIL for much of it
                    ahead = asyncio.ensure_future(asyncio.to_thread(next, normalised, None))
                    plan = await self.planner.plan(norm, done=done, columns=self.mappings[path].columns)
                    skipped = norm.skipped
                    self.rows += len(plan.rows) + len(plan.errors) + len(plan.done) + len(skipped)
                    for err in plan.errors:
                        rec.refused(err)
                    for err in skipped:
                        rec.skipped(err)
                    for finished in plan.done:
                        rec.done(finished.file, finished.row, finished.entry_id)
                    for row in plan.rows:
                        if row.duplicate_of is not None:
                            rec.duplicate(row.file, row.row, row.duplicate_of, row.duplicate_in,
                                          row.fingerprint)  # fmt: skip
                        else:
                            rec.emit(row.file, row.row, row)
                    yield path, norm, plan
            finally:  # a run stopped, or a consumer gone: the read ahead is let go
                ahead.add_done_callback(_forget)

    def _normalised(self, path: Path) -> Iterator[NormalizedChunk]:
        """The chunks of a file, read and normalised (one ``NormalizeState`` for the file)."""
        state = NormalizeState()
        mapping, settings = self.mappings[path], self.settings
        for raw in iter_chunks(path, display_name=str(path), hints=self.hints):
            yield normalize(
                raw,
                mapping,
                timezone=settings.timezone,
                default_start_time=settings.default_start_time,
                state=state,
                date_order=settings.date_order,
                jira_day_hours=settings.jira_day_hours,
                since=settings.since,
                until=settings.until,
                only_email=settings.only_email,
            )

    async def creates(self) -> AsyncIterator[list[Action]]:
        """Create actions of the rows to post, chunk by chunk (added to the ledger as pending)."""
        planned = self.chunks()
        async with contextlib.aclosing(planned) as chunks:
            async for _path, _norm, plan in chunks:
                fresh = [row for row in plan.rows if row.duplicate_of is None]
                todo = self.to_post(fresh, add=False)
                texts = [body_text(row.body) for row in todo]  # once: for the ledger and the wire
                if self.recorder.ledger is not None:
                    self.recorder.ledger.add_pending(todo, source=self.settings.source, texts=texts)
                if self.settings.check_existing and todo:
                    kept = {id(row) for row in await self._not_in_toggl(todo)}
                    texts = [text for row, text in zip(todo, texts, strict=True) if id(row) in kept]
                    todo = [row for row in todo if id(row) in kept]
                yield [self.create(row, text) for row, text in zip(todo, texts, strict=True)]

    def create(self, row: PlannedRow, text: str | None = None) -> Action:
        """The create action of a row, in its person's lane (``text``: its body as JSON)."""
        lane = self.lane_of(row.body) if self.lane_of else ""
        return Action.create(row, self.workspace_id, lane=lane, text=text)

    def to_post(self, rows: list[PlannedRow], *, add: bool = True) -> list[PlannedRow]:
        """The rows that need a POST; rows created or failed in an earlier run are reported
        instead. In a real run (and with ``add``) the rows to post are added to the ledger as
        ``pending``."""
        rec = self.recorder
        known = self.ledger.known([r.fingerprint for r in rows]) if self.ledger is not None else {}
        todo: list[PlannedRow] = []
        for row in rows:
            found = known.get(row.fingerprint)
            if found is not None and found.state == RowStatus.CREATED:
                rec.done(row.file, row.row, found.entry_id)
            elif (found is not None and found.state == RowStatus.FAILED
                  and not self.settings.retry_failed):  # fmt: skip
                rec.failed_before(row.file, row.row, found)
            elif found is not None and found.state in _MAYBE_IN_TOGGL:  # never posted blindly
                rec.still_unknown(row.file, row.row)
            else:
                todo.append(row)
        if add and rec.ledger is not None:
            rec.ledger.add_pending(todo, source=self.settings.source)
        return todo

    async def _not_in_toggl(self, todo: list[PlannedRow]) -> list[PlannedRow]:
        """``--check-existing``: read the rows' windows back from Toggl; a row found there is
        recorded as created (with that entry's id) and not posted."""
        ledger = self.recorder.ledger
        assert ledger is not None
        rows = [Doubtful(r.fingerprint, r.body) for r in todo]
        assert self.reads is not None
        found = await read_back(
            self.reads, self.workspace_id, rows, known_entry_ids=ledger.created_entry_ids()
        )
        if not found:
            return todo
        ledger.record([Outcome.created(fp, entry_id) for fp, entry_id in found.items()])
        rest = []
        for row in todo:
            entry_id = found.get(row.fingerprint)
            if entry_id is None:
                rest.append(row)
            else:
                self.recorder.done(row.file, row.row, entry_id)
        return rest


def _forget(future: asyncio.Future[Any]) -> None:
    """Take a read-ahead's exception, if any, so that nothing reports it as never retrieved."""
    if not future.cancelled():
        future.exception()
