"""What an earlier run left marked, settled before anything new is sent.

* ``sending`` / ``in_doubt`` rows: their POST may have been applied -- or may still be, by a
  server that was holding it when that run died. They are read back no sooner than the request
  timeout after the later of their ``sent_at`` and that run's last heartbeat (it sent nothing
  after it died): found → ``created``; absent → ``pending``, and named to the executor as
  *suspects*, so that once posted again they get the final look for a late copy.
* ``updating`` / ``deleting`` rows: the request may be applied or not; asking again is harmless,
  unless someone changed the entry in Toggl since -- then it is a conflict, left as it is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable

from ..engine.actions import Action, Kind
from ..engine.changes import Verdict, changed_by_lane, differences
from ..engine.reads import Readers
from ..engine.reconcile import Doubtful, read_back
from ..engine.record import Recorder
from ..keys import fingerprint
from ..ledger import Ledger, Outcome, RowRecord
from ..models import RowStatus


class Leftovers:
    """Settle what an earlier run left marked, for one workspace."""

    def __init__(
        self,
        ledger: Ledger,
        readers: Readers,
        recorder: Recorder,
        *,
        timeout: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.ledger = ledger
        self.readers = readers
        """Each person's rows are read back, and asked again, through their own token."""
        self.recorder = recorder
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep

    async def creates(self, workspace_id: int) -> dict[str, float]:
        """Read back the creates left in doubt; returns the absent ones (fingerprint → the
        earliest moment their first request may have been lost) for the executor's last look."""
        rows = [r for r in self.ledger.unresolved() if r.payload_json]
        if not rows:
            return {}
        sent = [r for r in rows if r.state != RowStatus.EXPORTED]  # a file uploaded or not: no wait
        heartbeat = self.ledger.heartbeat_of(r.run_id for r in sent if r.run_id is not None) or 0.0
        lost = max(max((r.sent_at or 0.0) for r in sent), heartbeat) if sent else 0.0
        delay = lost + self.timeout - self._clock()
        if delay > 0:
            await self._sleep(delay)
        known = set(self.ledger.created_entry_ids())
        found: dict[str, int] = {}
        for lane, group in self.readers.group(rows, lambda r: r.payload).items():
            doubtful = [Doubtful(r.fingerprint, r.payload or {}) for r in group]
            found.update(
                await read_back(
                    self.readers.lanes[lane],
                    workspace_id,
                    doubtful,
                    known_entry_ids=known,
                    me_user_id=self.readers.users.get(lane),
                )
            )
        self.ledger.record([
            Outcome.created(r.fingerprint, found[r.fingerprint])
            if r.fingerprint in found else Outcome.pending(r.fingerprint)
            for r in rows
        ])  # fmt: skip
        self.ledger.flush()
        return {r.fingerprint: lost for r in rows if r.fingerprint not in found}

    async def writes(self, workspace_id: int) -> list[Action]:
        """Updates and deletes left marked, to ask again -- but not over an edit made since."""
        rows = [r for r in self.ledger.unfinished() if r.entry_id is not None]
        if not rows:
            return []
        # an update is judged against what it was writing (it may have been applied)
        judged = [_as_written(r) for r in rows]
        verdicts = await changed_by_lane(self.readers, judged, workspace_id)
        out: list[Action] = []
        for rec in rows:
            verdict = verdicts.get(rec.fingerprint)
            kind = Kind.UPDATE if rec.state == RowStatus.UPDATING else Kind.DELETE
            if _not_applied(kind, verdict, rec):
                verdict = None  # Toggl still holds what we wrote before: the PUT never landed
            if verdict is None:
                body = rec.next_payload if kind is Kind.UPDATE else None
                new = fingerprint(body) if body else None
                out.append(Action.again(kind, rec.fingerprint, int(rec.entry_id or 0), rec.file, rec.row,
                                        workspace_id, body, new, rec.payload,
                                        lane=self.readers.lane_of(rec.payload)))  # fmt: skip
            elif verdict.kind == "gone" and kind is Kind.DELETE:
                self.recorder.deleted(Action.again(kind, rec.fingerprint, int(rec.entry_id or 0),
                                                   rec.file, rec.row, workspace_id), gone=True)  # fmt: skip
            else:
                self.ledger.record([Outcome.restored(rec.fingerprint, verdict.message)])
                self.recorder.conflict(rec.file, rec.row, rec.entry_id, verdict.message)
        return out


def _not_applied(kind: Kind, verdict: Verdict | None, rec: RowRecord) -> bool:
    """An update judged against its new body whose entry still holds the old one."""
    if kind is not Kind.UPDATE or verdict is None or verdict.entry is None or not rec.payload:
        return False
    return not differences(verdict.entry, rec.payload)


def _as_written(rec: RowRecord) -> RowRecord:
    if rec.state == RowStatus.UPDATING and rec.next_payload_json:
        return dataclasses.replace(rec, payload_json=rec.next_payload_json, at=None)
    return rec
