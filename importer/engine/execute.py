"""One executor for any plan: actions in, requests out under the limits, every outcome recorded.

It knows nothing of files. A plan is an async stream of batches of ``Action``; per batch, the
recorder commits each action's state (``sending``/``updating``/``deleting``, durably) *before*
any of its requests leaves, then the batch is queued for the workers of its lane (one lane per
set of credentials, each with its own client, limiter and retry policy). Queues are bounded, so
memory stays flat however long the plan.

A create whose answer was lost is *in doubt*: it is kept aside, and once the stream has ended it
is read back -- no sooner than the request timeout after its answer was lost, so a server still
holding it has applied it by then -- and sent again only if absent. Rows sent again that way are
read back once more at the end, after twice the timeout: a first request applied even later shows
up as a second entry of the row, which is deleted (a repaired duplicate). Updates and deletes are
idempotent: the retry policy simply asks again; a DELETE answered 404 is done, a PUT answered 404
is a conflict (the entry is gone). See ``actions.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .. import messages
from ..client import TogglClient
from ..errors import CredentialsError, MaybeAppliedError, PermanentError, TransientError
from ..limits import Limiter, Stopped
from ..retry import RetryPolicy
from .actions import Action, Kind
from .reads import Reads
from .reconcile import Doubtful, extra_copies, read_back
from .record import NOT_SENT, Recorder
from .stop import Stopper

MAX_RECONCILE_ROUNDS = 5
CREDENTIALS_REFUSED = "credentials refused"
"""How a stop's reason begins when Toggl refused the credentials (a stop no re-run mends)."""


def credentials_refused(exc: CredentialsError) -> str:
    return f"{CREDENTIALS_REFUSED}: {exc}"


@dataclass
class Lane:
    """One set of credentials: what sends its actions and reads for them."""

    name: str
    client: TogglClient
    limiter: Limiter
    policy: RetryPolicy
    reads: Reads
    user_id: int | None = None
    """The user of a person's token, once known: their rows are read back as their own."""


@dataclass
class _Doubt:
    action: Action
    lost_at: float
    """When (epoch seconds) its answer was known lost: no earlier than it left."""
    first_sent: float = field(default=0.0)
    """When its first request may have left (for telling a late copy from a person's entry)."""


class Executor:
    """Runs plans under the limits of its lanes, recording through ``recorder``."""

    def __init__(
        self,
        lanes: dict[str, Lane],
        recorder: Recorder,
        stopper: Stopper,
        *,
        concurrency: int,
        timeout: float,
        recreate: Callable[[Action], Action | None] | None = None,
        known_entry_ids: Callable[[], set[int]] | None = None,
        progress: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.lanes = lanes
        self.recorder = recorder
        self.stopper = stopper
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self._recreate = recreate
        """``--overwrite``: an update whose entry is gone becomes this create (else a conflict)."""
        self._known = known_entry_ids or set
        self._progress = progress
        """Called after each action (the progress display)."""
        self._clock = clock
        self._sleep = sleep
        self.batch = max(self.concurrency, 16)
        """Actions marked (one durable commit) at a time; the runner raises it when the rate lets
        requests go fast (fewer fsyncs), keeping it small at Toggl's pace."""
        self.doubts: list[_Doubt] = []
        self.resent: list[_Doubt] = []
        self.refused: dict[str, str] = {}
        """Lanes whose token Toggl refused (email → the message their rows get)."""
        self.suspects: dict[str, float] = {}
        """Creates an earlier run left in doubt that were not found (fingerprint → when their
        request may have been lost): once posted again, they get the last look for a late copy."""

    def lane(self, action: Action) -> Lane:
        return self.lanes.get(action.lane) or self.lanes[""]

    # -- running a plan --------------------------------------------------------------------------
    async def run(self, batches: AsyncIterable[Sequence[Action]]) -> None:
        """Send every action of the plan; then settle the creates left in doubt."""
        queues = {
            name: asyncio.Queue[Action | None](maxsize=4 * self.concurrency + 16) for name in self.lanes
        }
        workers = [asyncio.create_task(self._worker(name, queue))
                   for name, queue in queues.items() for _ in range(self.concurrency)]  # fmt: skip
        feeder = asyncio.create_task(self._feed(batches, queues))
        tasks = [feeder, *workers]
        self.stopper.guard(tasks)
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()  # only after a failure: left on the wire, a row stays marked
            await asyncio.gather(*tasks, return_exceptions=True)
            self.stopper.release(tasks)
            for queue in queues.values():
                self._release_queued(queue)
        if not self.stopper.stopping:
            await self.settle()

    async def _feed(
        self, batches: AsyncIterable[Sequence[Action]], queues: dict[str, asyncio.Queue[Action | None]]
    ) -> None:
        """Mark each batch, then queue it; tell the workers when there is no more."""
        step = self.batch
        try:
            async for batch in batches:
                for lo in range(0, len(batch), step):
                    if self.stopper.stopping:
                        self.recorder.not_sent(batch[lo:])
                        return
                    part = batch[lo : lo + step]
                    self.recorder.mark(part)
                    queued = 0
                    try:
                        for action in part:
                            await queues[self.lane(action).name].put(action)
                            queued += 1
                    finally:
                        if queued < len(part):
                            self.recorder.not_sent(part[queued:])
                if self.stopper.stopping:
                    return
            for queue in queues.values():
                for _ in range(self.concurrency):
                    await queue.put(None)
        except asyncio.CancelledError:
            if not self.stopper.taken_back():
                raise
        except Stopped:
            pass
        except CredentialsError as exc:  # a name lookup while planning
            self.stopper.request(credentials_refused(exc))

    def _release_queued(self, queue: asyncio.Queue[Action | None]) -> None:
        """Actions marked but never sent: not applied."""
        back: list[Action] = []
        while not queue.empty():
            action = queue.get_nowait()
            if action is not None:
                back.append(action)
        self.recorder.not_sent(back)

    async def _worker(self, lane_name: str, queue: asyncio.Queue[Action | None]) -> None:
        lane = self.lanes[lane_name]
        while not self.stopper.stopping:
            try:
                action = await queue.get()
            except asyncio.CancelledError:
                if self.stopper.taken_back():
                    return
                raise
            if action is None:
                return
            if self.stopper.stopping:
                self.recorder.not_sent([action])
                return
            if lane.name in self.refused:
                self.recorder.not_sent([action], self.refused[lane.name])
                continue
            await self.send(lane, action)
            self._progress()

    # -- one action ------------------------------------------------------------------------------
    async def send(self, lane: Lane, action: Action) -> None:
        """Send one marked action and record what came of it."""
        rec = self.recorder
        client, wid = lane.client, action.workspace_id
        try:
            if action.kind is Kind.CREATE:
                wire = action.wire
                answer = await lane.policy.call(lambda: client.create_time_entry(wid, wire))
            elif action.kind is Kind.UPDATE:
                assert action.entry_id is not None
                entry_id = action.entry_id
                body = action.request_body
                answer = await lane.policy.call(lambda: client.update_time_entry(wid, entry_id, body))
            else:
                assert action.entry_id is not None
                entry_id = action.entry_id
                answer = await lane.policy.call(lambda: client.delete_time_entry(wid, entry_id))
        except asyncio.CancelledError:
            if not self.stopper.taken_back():
                raise  # cancelled from outside, maybe on the wire: the row stays marked
            rec.not_sent([action])  # stopped while waiting for a slot or a back-off: not sent
            return
        except Stopped:
            rec.not_sent([action], self.refused.get(lane.name) or NOT_SENT)
            return
        except MaybeAppliedError as exc:
            self.doubts.append(_Doubt(action, self._clock()))
            rec.in_doubt(action, str(exc))
            return
        except CredentialsError as exc:
            if lane.name:  # a person's token: their rows stop, the others go on
                self._refuse_lane(lane, exc)
                rec.not_sent([action], self.refused[lane.name])
                return
            rec.not_sent([action])
            self.stopper.request(credentials_refused(exc))
            return
        except PermanentError as exc:
            await self._refused(lane, action, exc)
            return
        except TransientError as exc:  # retries exhausted
            if action.kind is Kind.CREATE:
                message = f"not sent, retries exhausted: {exc}; run again to resume"
            else:
                message = f"no answer after retries ({exc}); run again: it is asked again"
            rec.not_sent([action], message, exc.status)
            return
        if action.kind is Kind.CREATE:
            rec.created(action, int(answer["id"]), _at(answer))
            lost = self.suspects.pop(action.fingerprint, None)
            if lost is not None:
                self.resent.append(_Doubt(action, lost, first_sent=lost))
        elif action.kind is Kind.UPDATE:
            rec.updated(action, _at(answer))
        else:
            rec.deleted(action)

    def _refuse_lane(self, lane: Lane, exc: CredentialsError) -> None:
        if lane.name not in self.refused:
            self.refused[lane.name] = messages.person_refused(lane.name, exc.text or str(exc.status))
            self.recorder.summary.people_refused[lane.name] = self.refused[lane.name]
            lane.limiter.stop()  # its waiting requests end as not sent

    async def _refused(self, lane: Lane, action: Action, exc: PermanentError) -> None:
        rec = self.recorder
        if exc.status == 404 and action.kind is Kind.DELETE:
            rec.deleted(action, gone=True)
        elif exc.status == 404 and action.kind is Kind.UPDATE:
            again = self._recreate(action) if self._recreate is not None else None
            if again is None:
                rec.gone(action, "the entry was deleted in Toggl: not created again (--overwrite creates it)")
                return
            rec.mark([again])
            await self.send(lane, again)
        else:
            rec.failed(action, exc)

    # -- creates left in doubt -------------------------------------------------------------------
    async def settle(self) -> None:
        """Read back the creates in doubt; send again those Toggl does not have; then look once
        more at the rows sent again, and delete a late copy."""
        with contextlib.suppress(Stopped):
            await self.stopper.stoppable(self._settle())
        for doubt in self.doubts:
            self.recorder.still_in_doubt(doubt.action)
        self.doubts = []

    async def _settle(self) -> None:
        for _ in range(MAX_RECONCILE_ROUNDS):
            if not self.doubts or self.stopper.stopping:
                break
            await self._wait_until(max(d.lost_at for d in self.doubts) + self.timeout)
            doubts, self.doubts = self.doubts, []
            absent = await self._read_back(doubts)
            if absent:
                self.recorder.mark([d.action for d in absent])
                sent = [asyncio.create_task(self._resend(d)) for d in absent]
                self.stopper.guard(sent)
                try:
                    await asyncio.gather(*sent)
                finally:
                    self.stopper.release(sent)
        if self.resent and not self.stopper.stopping:
            await self._wait_until(max(d.lost_at for d in self.resent) + 2 * self.timeout)
            await self._repair(self.resent)
            self.resent = []

    async def _read_back(self, doubts: list[_Doubt]) -> list[_Doubt]:
        """Record the doubts found in Toggl as created; return the absent ones."""
        absent: list[_Doubt] = []
        for lane_name, group in _by_lane(doubts).items():
            lane = self.lanes[lane_name]
            by_fp = {d.action.fingerprint: d for d in group}
            rows = [Doubtful(fp, d.action.body) for fp, d in by_fp.items()]
            wid = group[0].action.workspace_id
            found = await read_back(
                lane.reads, wid, rows, known_entry_ids=self._known(), me_user_id=lane.user_id
            )
            for fp, doubt in by_fp.items():
                if fp in found:
                    self.recorder.created(doubt.action, found[fp])
                else:
                    absent.append(doubt)
        return absent

    async def _resend(self, doubt: _Doubt) -> None:
        before = len(self.doubts)
        await self.send(self.lane(doubt.action), doubt.action)
        if len(self.doubts) == before:  # answered this time (or refused): look again at the end
            self.resent.append(_Doubt(doubt.action, doubt.lost_at, doubt.first_sent or doubt.lost_at))
        else:
            self.doubts[-1].first_sent = doubt.first_sent or doubt.lost_at

    async def _repair(self, resent: list[_Doubt]) -> None:
        """Delete the copies a late first request made of rows sent again."""
        ledger = self.recorder.ledger
        if ledger is None:
            return
        for lane_name, group in _by_lane(resent).items():
            lane = self.lanes[lane_name]
            recorded = {
                r.fingerprint: r for r in ledger.known([d.action.fingerprint for d in group]).values()
            }
            rows = [
                Doubtful(d.action.fingerprint, d.action.body, recorded[d.action.fingerprint].entry_id,
                         d.first_sent - self.timeout)
                for d in group
                if d.action.fingerprint in recorded and recorded[d.action.fingerprint].entry_id
            ]  # fmt: skip
            if not rows:
                continue
            copies = await extra_copies(lane.reads, group[0].action.workspace_id, rows,
                                        known_entry_ids=self._known(), me_user_id=lane.user_id)  # fmt: skip
            for doubt in group:
                ids = copies.get(doubt.action.fingerprint)
                if not ids:
                    continue
                for entry_id in ids:
                    await lane.policy.call(
                        partial(_delete_gone_ok, lane.client, doubt.action.workspace_id, entry_id)
                    )
                self.recorder.repaired(doubt.action, ids)

    async def _wait_until(self, moment: float) -> None:
        delay = moment - self._clock()
        if delay > 0:
            await self._sleep(delay)


async def _delete_gone_ok(client: TogglClient, wid: int, entry_id: int) -> None:
    try:
        await client.delete_time_entry(wid, entry_id)
    except PermanentError as exc:
        if exc.status != 404:
            raise


def _by_lane(doubts: Sequence[_Doubt]) -> dict[str, list[_Doubt]]:
    out: dict[str, list[_Doubt]] = {}
    for d in doubts:
        out.setdefault(d.action.lane, []).append(d)
    return out


def _at(answer: Any) -> str | None:
    if isinstance(answer, dict):
        at = answer.get("at")
        return str(at) if at else None
    return None
