"""The pipeline: rows in → skip what is done → post under limits → record → summary.

Exactly once, step by step:

1. Rows left ``sending`` or ``in_doubt`` by an earlier run are read back first (``reconcile``):
   found → ``created``; absent → ``pending``, posted again when the file brings them.
2. Files are read in chunks, normalised, resolved and validated (``payloads.Planner``); a row
   whose fingerprint the ledger knows as ``created`` is skipped without a request.
3. A batch of rows is committed as ``sending`` *before* any of its POSTs leaves; workers post
   from a bounded queue (memory stays flat however long the file); outcomes are recorded in
   batched transactions. A kill at any moment leaves each row ``pending``, ``sending`` or final:
   ``sending`` rows are reconciled by step 1 of the next run, never blindly re-sent.
4. A POST that may have been applied (timeout, dropped connection, 5xx) is ``in_doubt``; before
   the run ends those rows are read back and only the absent ones are posted again.

Progress goes out through a callback; this module never prints.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from .client import TogglClient
from .config import Credentials, Settings
from .errors import (
    CredentialsError,
    MaybeAppliedError,
    NotAppliedError,
    PermanentError,
    RemoteError,
)
from .ledger import Ledger, Outcome
from .limits import Limiter
from .models import RowError, RowStatus
from .normalize import NormalizeState, normalize
from .payloads import DoneLookup, PlannedRow, Planner
from .presets import detect
from .reader import iter_chunks, read_header
from .reconcile import Doubtful, read_back
from .report import PayloadWriter, ReportWriter, Summary, estimate_seconds
from .resolve import Resolver
from .retry import RetryPolicy

MAX_RECONCILE_ROUNDS = 5
PROGRESS_EVERY = 0.2


@dataclass
class Progress:
    """A snapshot for the progress display."""

    phase: str
    done: int
    total: int
    created: int
    requests: int
    elapsed: float
    quota_wait: float = 0.0
    rate: float = 0.0


ProgressCallback = Callable[[Progress], None]


class Importer:
    """One run of ``toggl-import run``."""

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        *,
        progress: ProgressCallback | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self._progress = progress
        self._session = session
        self._stop = asyncio.Event()
        self.summary = Summary()
        self._started = time.monotonic()
        self._last_progress = 0.0
        self._phase = "reading"
        self._doubtful: list[PlannedRow] = []
        self._report: ReportWriter | None = None
        self._payloads: PayloadWriter | None = None
        self._stop_reason: str | None = None

    def request_stop(self, reason: str = "interrupted") -> None:
        """Stop taking new rows; in-flight requests finish (or end in doubt)."""
        self._stop_reason = self._stop_reason or reason
        self._stop.set()

    # -- the run -------------------------------------------------------------------------------
    async def run(
        self,
        files: Sequence[Path],
        *,
        dry_run: bool = False,
        emit_payloads: Path | None = None,
        report: Path | None = None,
    ) -> Summary:
        s = self.summary
        s.dry_run = dry_run
        self._report = ReportWriter(report) if report else None
        self._payloads = PayloadWriter(emit_payloads) if emit_payloads else None
        s.report = str(report) if report else None
        headers = {path: read_header(path) for path in files}  # whole-file problems first
        mappings = {
            path: detect(header, self.settings.preset, self.settings.column_map, file=str(path))
            for path, header in headers.items()
        }
        own_session = self._session is None
        session = self._session or aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(self.settings.concurrency, 1)),
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
        )
        try:
            self.limiter = Limiter(self.settings.rate, self.settings.concurrency)
            self.client = TogglClient(
                session,
                self.settings.api_url,
                self._credentials,
                reports_url=self.settings.reports_base,
                limiter=self.limiter,
            )
            self.policy = RetryPolicy(limiter=self.limiter)
            if dry_run:
                await self._dry_run(files, mappings)
            else:
                await self._real_run(files, mappings)
        except CredentialsError as exc:
            s.stopped = f"credentials refused: {exc}"
        finally:
            if own_session:
                await session.close()
            for writer in (self._report, self._payloads):
                if writer:
                    writer.close()
        s.elapsed = time.monotonic() - self._started
        if hasattr(self, "client"):
            s.requests = self.client.requests_made
            s.posts = self.client.requests_by_kind.get("create", 0)
            s.http_429 = self.client.statuses.get(429, 0)
            s.http_402 = self.client.statuses.get(402, 0)
        return s

    async def _workspace(self) -> int:
        if self.settings.workspace_id:
            return self.settings.workspace_id
        me = await self.client.me()
        return int(me["default_workspace_id"])

    async def _dry_run(self, files: Sequence[Path], mappings: dict[Path, Any]) -> None:
        s = self.summary
        wid = s.workspace_id = await self._workspace()
        ledger = (
            Ledger.open(self.settings.ledger, readonly=True)
            if self.settings.ledger.exists()
            else None
        )
        planner = Planner(Resolver(self.client, wid), wid, created_with=self.settings.created_with)
        try:
            done = ledger.created_sources if ledger else None
            async for chunk in self._planned(files, mappings, planner, done):
                known = ledger.known([r.fingerprint for r in chunk]) if ledger else {}
                for row in chunk:
                    rec = known.get(row.fingerprint)
                    if rec is not None and rec.state == RowStatus.CREATED:
                        s.already_done += 1
                        self._write_report(row.file, row.row, "created", rec.entry_id,
                                           message="")
                    else:
                        s.to_post += 1
                        self._write_report(row.file, row.row, "pending",
                                           message="would be posted")
        finally:
            if ledger:
                ledger.close()
        quota = await self._quota()
        s.remaining_seconds = estimate_seconds(s.to_post, self.settings.rate, **quota)

    async def _quota(self) -> dict[str, Any]:
        """The account's workspace quota, from the last answer's headers or ``/me/quota``."""
        try:
            rows = await self.client.quota()
        except RemoteError:
            return {}
        for row in rows:
            if row.get("organization_id") is not None:
                return {
                    "quota_total": row.get("total"),
                    "quota_remaining": row.get("remaining"),
                    "resets_in": row.get("resets_in_secs"),
                }
        return {}

    async def _real_run(self, files: Sequence[Path], mappings: dict[Path, Any]) -> None:
        s = self.summary
        s.ledger = str(self.settings.ledger)
        ledger = Ledger.open(self.settings.ledger, secrets=self._credentials.secrets())
        self.ledger = ledger
        try:
            wid = s.workspace_id = await self._workspace()
            run_id = ledger.start_run(
                " ".join(str(f) for f in files), wid, files=[str(f) for f in files]
            )
            self._run_id = run_id
            await self._reconcile_leftovers(wid)
            resolver = Resolver(self.client, wid, create_missing=self.settings.create_missing)
            planner = Planner(resolver, wid, created_with=self.settings.created_with)
            queue: asyncio.Queue[PlannedRow | None] = asyncio.Queue(
                maxsize=max(4 * self.settings.concurrency, 64)
            )
            workers = [
                asyncio.create_task(self._worker(queue, wid))
                for _ in range(self.settings.concurrency)
            ]
            try:
                await self._feed(files, mappings, planner, queue)
                for _ in workers:
                    await queue.put(None)
                await asyncio.gather(*workers)
            finally:
                for w in workers:
                    w.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                self._release_queued(queue)
            if not self._stop.is_set():
                await self._settle_doubts(wid)
            s.created_names = [f"{kind} {name!r}" for kind, name in resolver.created]
            counts_doubt = len(self._doubtful)
            s.in_doubt = counts_doubt
            ledger.flush()
            ledger.finish_run(run_id, s.exit_code)
            if self._stop_reason:
                s.stopped = self._stop_reason
            s.remaining_seconds = estimate_seconds(
                s.pending + s.in_doubt,
                self.settings.rate,
                quota_remaining=self.limiter.quota_left(),
            )
        finally:
            ledger.close()

    # -- reading and planning ------------------------------------------------------------------
    async def _planned(
        self,
        files: Sequence[Path],
        mappings: dict[Path, Any],
        planner: Planner,
        done: DoneLookup | None,
    ) -> Any:
        """Planned chunks of rows to post, after reporting refused rows and in-file duplicates."""
        s = self.summary
        for path in files:
            state = NormalizeState()
            chunks = iter_chunks(path, display_name=str(path))
            while not self._stop.is_set():
                raw = await asyncio.to_thread(next, chunks, None)
                if raw is None:
                    break
                norm = normalize(
                    raw,
                    mappings[path],
                    timezone=self.settings.timezone,
                    default_start_time=self.settings.default_start_time,
                    state=state,
                )
                plan = await planner.plan(norm, done=done, columns=mappings[path].columns)
                s.rows += len(plan.rows) + len(plan.errors) + len(plan.done)
                for err in plan.errors:
                    self._refused(err)
                for finished in plan.done:
                    s.already_done += 1
                    self._write_report(finished.file, finished.row, "created", finished.entry_id)
                fresh: list[PlannedRow] = []
                for row in plan.rows:
                    if row.duplicate_of is not None:
                        self._duplicate(row)
                    else:
                        if self._payloads:
                            self._payloads.write(row.file, row.row, row.body)
                        fresh.append(row)
                yield fresh
                self._tick()

    def _refused(self, err: RowError) -> None:
        s = self.summary
        s.refused += 1
        s.refused_by_reason[err.reason] += 1
        column = f" [{err.column}]" if err.column else ""
        s.add_example(err.reason, f"{err.file} row {err.row}{column}: {err.message}")
        where = f"column {err.column!r}: " if err.column else ""
        self._write_report(err.file, err.row, "refused", message=f"{where}{err.message}")
        if hasattr(self, "ledger") and not s.dry_run:
            self.ledger.record_refused(err.file, err.row, err.column, err.message, self._run_id)

    def _duplicate(self, row: PlannedRow) -> None:
        s = self.summary
        s.duplicate += 1
        message = f"same entry as row {row.duplicate_of} of this run"
        self._write_report(row.file, row.row, "duplicate", message=message)
        if hasattr(self, "ledger") and not s.dry_run:
            self.ledger.record_duplicate(row.file, row.row, row.fingerprint, self._run_id)

    def _write_report(
        self,
        file: str,
        row: int,
        status: str,
        entry_id: int | None = None,
        http_status: int | None = None,
        message: str = "",
    ) -> None:
        if self._report:
            self._report.write(file, row, status, entry_id, http_status, message)

    async def _feed(
        self,
        files: Sequence[Path],
        mappings: dict[Path, Any],
        planner: Planner,
        queue: asyncio.Queue[PlannedRow | None],
    ) -> None:
        s = self.summary
        ledger = self.ledger
        async for chunk in self._planned(files, mappings, planner, ledger.created_sources):
            known = ledger.known([r.fingerprint for r in chunk])
            todo: list[PlannedRow] = []
            for row in chunk:
                rec = known.get(row.fingerprint)
                if rec is not None and rec.state == RowStatus.CREATED:
                    s.already_done += 1
                    self._write_report(row.file, row.row, "created", rec.entry_id,
                                       message="")
                elif (rec is not None and rec.state == RowStatus.FAILED
                      and not self.settings.retry_failed):
                    s.failed += 1
                    s.failed_by_reason[f"HTTP {rec.http_status}"] += 1
                    self._write_report(row.file, row.row, "failed", None, rec.http_status,
                                       f"{rec.message} (earlier run; --retry-failed to retry)")
                else:
                    todo.append(row)
            ledger.add_pending(todo, self._run_id)
            s.to_post += len(todo)
            step = max(self.settings.concurrency, 16)
            for lo in range(0, len(todo), step):
                if self._stop.is_set():
                    s.pending += len(todo) - lo
                    for row in todo[lo:]:
                        self._write_report(row.file, row.row, "pending",
                                           message="not sent: the run stopped early")
                    return
                batch = todo[lo : lo + step]
                ledger.mark_sending([r.fingerprint for r in batch])
                for row in batch:
                    await queue.put(row)

    def _release_queued(self, queue: asyncio.Queue[PlannedRow | None]) -> None:
        """Rows marked ``sending`` but never sent go back to ``pending``."""
        back: list[PlannedRow] = []
        while not queue.empty():
            row = queue.get_nowait()
            if row is not None:
                back.append(row)
        if back:
            self.ledger.record([Outcome.pending(r.fingerprint) for r in back])
            self.summary.pending += len(back)
            for row in back:
                self._write_report(row.file, row.row, "pending",
                                   message="not sent: the run stopped early")

    # -- posting -------------------------------------------------------------------------------
    async def _worker(self, queue: asyncio.Queue[PlannedRow | None], wid: int) -> None:
        while True:
            row = await queue.get()
            if row is None:
                return
            if self._stop.is_set():
                self._release_one(row)
                continue
            await self._post(row, wid)
            self._tick()

    def _release_one(self, row: PlannedRow) -> None:
        self.ledger.record([Outcome.pending(row.fingerprint)])
        self.summary.pending += 1
        self._write_report(row.file, row.row, "pending", message="not sent: the run stopped early")

    async def _post(self, row: PlannedRow, wid: int) -> None:
        s = self.summary
        try:
            entry = await self.policy.call(lambda: self.client.create_time_entry(wid, row.body))
        except MaybeAppliedError as exc:
            self._doubtful.append(row)
            self.ledger.record([Outcome.in_doubt(row.fingerprint, str(exc))])
            return
        except CredentialsError:
            self.ledger.record([Outcome.pending(row.fingerprint)])
            s.pending += 1
            self.request_stop("credentials refused")
            raise
        except PermanentError as exc:
            message = exc.text or str(exc)
            s.failed += 1
            s.failed_by_reason[f"HTTP {exc.status}: {message[:60]}"] += 1
            s.add_example(f"HTTP {exc.status}", f"{row.file} row {row.row}: {message}")
            self.ledger.record([Outcome.failed(row.fingerprint, exc.status, message)])
            self._write_report(row.file, row.row, "failed", None, exc.status, message)
            return
        except NotAppliedError as exc:
            s.pending += 1
            self.ledger.record([Outcome.pending(row.fingerprint, str(exc))])
            self._write_report(row.file, row.row, "pending", None, exc.status,
                               f"not sent, retries exhausted: {exc}; run again to resume")
            return
        s.created += 1
        self.ledger.record([Outcome.created(row.fingerprint, int(entry["id"]))])
        self._write_report(row.file, row.row, "created", int(entry["id"]))

    # -- reconciliation ------------------------------------------------------------------------
    async def _reconcile_leftovers(self, wid: int) -> None:
        """Rows an earlier run left ``sending``/``in_doubt``: created if found, else pending."""
        leftovers = list(self.ledger.unresolved())
        if not leftovers:
            return
        self._phase = "checking rows an earlier run left in doubt"
        self._tick(force=True)
        doubtful = [Doubtful(r.fingerprint, r.payload) for r in leftovers if r.payload]
        found = await read_back(
            self.client, wid, doubtful, known_entry_ids=self.ledger.created_entry_ids()
        )
        outcomes = [
            Outcome.created(r.fingerprint, found[r.fingerprint])
            if r.fingerprint in found
            else Outcome.pending(r.fingerprint)
            for r in leftovers
        ]
        self.ledger.record(outcomes)
        self.ledger.flush()
        self._phase = "posting"

    async def _settle_doubts(self, wid: int) -> None:
        """Read back this run's in-doubt rows; post again only those Toggl does not have."""
        for _ in range(MAX_RECONCILE_ROUNDS):
            if not self._doubtful or self._stop.is_set():
                return
            self._phase = "checking in-doubt rows"
            self.ledger.flush()
            rows, self._doubtful = self._doubtful, []
            found = await read_back(
                self.client,
                wid,
                [Doubtful(r.fingerprint, r.body) for r in rows],
                known_entry_ids=self.ledger.created_entry_ids(),
            )
            absent: list[PlannedRow] = []
            for row in rows:
                entry_id = found.get(row.fingerprint)
                if entry_id is None:
                    absent.append(row)
                    continue
                self.summary.created += 1
                self.ledger.record([Outcome.created(row.fingerprint, entry_id)])
                self._write_report(row.file, row.row, "created", entry_id)
            if absent:
                self.ledger.mark_sending([r.fingerprint for r in absent])
                await asyncio.gather(*(self._post(r, wid) for r in absent))
        for row in self._doubtful:
            self._write_report(row.file, row.row, "in_doubt",
                               message="no answer and not found yet; run again to check")

    def _tick(self, force: bool = False) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_EVERY:
            return
        self._last_progress = now
        s = self.summary
        elapsed = now - self._started
        limiter = getattr(self, "limiter", None)
        self._progress(
            Progress(
                phase=self._phase,
                done=s.created + s.already_done + s.failed + s.refused + s.duplicate,
                total=s.rows,
                created=s.created,
                requests=getattr(getattr(self, "client", None), "requests_made", 0),
                elapsed=elapsed,
                quota_wait=limiter.pause_remaining() if limiter else 0.0,
                rate=s.created / elapsed if elapsed > 0 else 0.0,
            )
        )
