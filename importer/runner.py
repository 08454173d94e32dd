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
5. Stopping (Ctrl-C, credentials refused) cancels at once every task that has no request on the
   wire -- it waits for a row, a rate slot, a quota reset or a back-off, so nothing it holds was
   sent, and its row goes back to ``pending`` -- and no request starts any more. Requests on the
   wire finish and are recorded. So a stop during an hour-long quota pause is immediate, and
   after a 403 nothing more is sent.

Reads (name resolution, read-back) go through the retry policy: a 429, a quota pause, a 5xx or a
lost answer on a read is simply asked again.

Progress goes out through a callback; this module never prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp

from . import messages
from .client import TogglClient
from .config import Credentials, Settings
from .errors import (
    ConfigError,
    ConnectError,
    CredentialsError,
    MaybeAppliedError,
    NotAppliedError,
    PermanentError,
    RemoteError,
)
from .ledger import Ledger, Outcome
from .limits import Limiter, Stopped
from .models import RowError, RowStatus
from .normalize import NormalizeState, normalize
from .payloads import DoneLookup, PlannedRow, Planner
from .presets import HeaderHints, detect
from .reader import iter_chunks, read_header
from .reconcile import Doubtful, read_back
from .report import PayloadWriter, ReportWriter, Summary, estimate_seconds
from .resolve import NameCache, Resolver
from .retry import RetryPolicy

MAX_RECONCILE_ROUNDS = 5
PROGRESS_EVERY = 0.2
TICK_EVERY = 1.0


CREDENTIALS_REFUSED = "credentials refused"
"""How ``Summary.stopped`` begins when Toggl refused the credentials (a stop no re-run mends)."""
CREATE_ATTEMPTS = 3
"""Sends of one project, client or task whose answer was lost (each followed by a look)."""


def _credentials_refused(exc: CredentialsError) -> str:
    return f"{CREDENTIALS_REFUSED}: {exc}"


class _Reads:
    """The client as name resolution and read-back use it: every call through the retry policy.

    A read that got a 429, a quota refusal, a 5xx or lost its answer is simply asked again (a
    paged listing from its first page). Creating a project, client or task is sent again only
    when it was certainly not applied. ``me()`` is asked once per run (its bucket is small).
    """

    def __init__(self, client: TogglClient, policy: RetryPolicy) -> None:
        self._client = client
        self._call = policy.call
        self._me: dict[str, Any] | None = None

    async def get_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        return await self._call(lambda: self._client.get_all(path, params))

    async def me(self) -> dict[str, Any]:
        if self._me is None:
            self._me = await self._call(self._client.me)
        return self._me

    async def my_time_entries(self, start_date: date, end_date: date) -> list[dict[str, Any]]:
        return await self._call(lambda: self._client.my_time_entries(start_date, end_date))

    async def search_time_entries(
        self,
        workspace_id: int,
        start_date: date,
        end_date: date,
        user_ids: list[int] | None = None,
    ) -> list[dict[str, Any]]:
        return await self._call(
            lambda: self._client.search_time_entries(workspace_id, start_date, end_date, user_ids)
        )

    async def create_project(
        self, workspace_id: int, name: str, client_id: int | None = None
    ) -> dict[str, Any]:
        return await self._create_or_find(
            lambda: self._client.create_project(workspace_id, name, client_id),
            f"/workspaces/{workspace_id}/projects",
            {"active": "both"},
            name,
            ("client_id", client_id),
        )

    async def create_client(self, workspace_id: int, name: str) -> dict[str, Any]:
        return await self._create_or_find(
            lambda: self._client.create_client(workspace_id, name),
            f"/workspaces/{workspace_id}/clients",
            None,
            name,
            None,
        )

    async def create_task(self, workspace_id: int, project_id: int, name: str) -> dict[str, Any]:
        return await self._create_or_find(
            lambda: self._client.create_task(workspace_id, project_id, name),
            f"/workspaces/{workspace_id}/tasks",
            {"active": "both"},
            name,
            ("project_id", project_id),
        )

    async def _create_or_find(
        self,
        make: Callable[[], Awaitable[dict[str, Any]]],
        listing: str,
        params: dict[str, Any] | None,
        name: str,
        parent: tuple[str, int | None] | None,
    ) -> dict[str, Any]:
        """Create a project, client or task; when the answer was lost, look before sending again.

        The resolver creates only names it did not find, so one of that name (and parent) seen
        after a lost answer is ours -- or someone else's made meanwhile: either way the one to use.
        """
        wanted = name.strip().casefold()
        for _ in range(CREATE_ATTEMPTS):
            try:
                return await self._call(make)
            except MaybeAppliedError:
                for item in await self.get_all(listing, params):
                    if str(item.get("name", "")).strip().casefold() != wanted:
                        continue
                    if parent is None or item.get(parent[0]) == parent[1]:
                        return dict(item)
        raise MaybeAppliedError(
            f"creating {name!r}: no answer came {CREATE_ATTEMPTS} times and it is not in Toggl;"
            " run the command again later"
        )


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
        on_request: Callable[[str, str, int | None, float], None] | None = None,
        names: NameCache | None = None,
    ) -> None:
        self.settings = settings
        self.names = names if names is not None else NameCache()
        """Names fetched for resolving; another Importer may be handed it (see ``NameCache``)."""
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
        self._on_request = on_request
        self._tasks: set[asyncio.Task[Any]] = set()
        """Tasks that stopping cancels when they have no request on the wire."""
        self._stop_cancelled: set[asyncio.Task[Any]] = set()

    def request_stop(self, reason: str = "interrupted") -> None:
        """Stop taking new rows at once; requests on the wire finish (or end in doubt).

        Every other task of the run is cancelled now: it waits for a row, a rate slot, a quota
        reset or a back-off, so what it holds was not sent and goes back to ``pending``.
        """
        self._stop_reason = self._stop_reason or reason
        self._stop.set()
        limiter = getattr(self, "limiter", None)
        on_wire: set[asyncio.Task[Any]] = set()
        if limiter is not None:
            limiter.stop()
            on_wire = limiter.on_wire
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current and not task.done() and task not in on_wire:
                self._stop_cancelled.add(task)
                task.cancel()

    def _answered_ok(self) -> bool:
        """Has any request of this run succeeded?"""
        client = getattr(self, "client", None)
        return client is not None and any(200 <= status < 300 for status in client.statuses)

    def _reached(self) -> bool:
        """Has Toggl (or whatever ``--api-url`` names) answered anything in this run?"""
        return bool(self.client.statuses)

    def _cancelled_by_stop(self) -> bool:
        """In a ``CancelledError`` handler: did ``request_stop`` cancel this task (and nothing
        else)? Then the cancellation is taken back and the task winds up normally."""
        task = asyncio.current_task()
        if task is None or task not in self._stop_cancelled:
            return False
        self._stop_cancelled.discard(task)
        return task.uncancel() == 0

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
        try:
            self._payloads = PayloadWriter(emit_payloads) if emit_payloads else None
        except BaseException:
            if self._report:
                self._report.close()
            raise
        s.report = str(report) if report else None
        hints = HeaderHints.of(self.settings)
        headers = {path: read_header(path, hints=hints) for path in files}  # whole-file problems first
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
            self.client.on_request = self._on_request
            self.policy = RetryPolicy(limiter=self.limiter, reached=self._reached)
            self.reads = _Reads(self.client, self.policy)
            ticker = asyncio.create_task(self._ticking()) if self._progress else None
            try:
                if dry_run:
                    await self._stoppable(self._dry_run(files, mappings))
                else:
                    await self._real_run(files, mappings)
            finally:
                if ticker is not None:
                    ticker.cancel()
        except CredentialsError as exc:
            s.stopped = _credentials_refused(exc)
        except Stopped:
            s.stopped = self._stop_reason or "interrupted"
        except (ConnectError, PermanentError) as exc:
            if self._answered_ok():
                raise
            # nothing at --api-url ever answered like Toggl: a wrong setting, not a run to resume
            raise ConfigError(str(exc)) from exc
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

    async def _stoppable(self, work: Awaitable[None]) -> None:
        """Await ``work`` in the run's own task, which stopping may cancel (``Stopped`` then)."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await work
        except asyncio.CancelledError:
            if not self._cancelled_by_stop():
                raise
            raise Stopped from None
        finally:
            self._tasks.discard(task)

    async def _workspace(self) -> int:
        if self.settings.workspace_id:
            return self.settings.workspace_id
        me = await self.reads.me()
        return int(me["default_workspace_id"])

    async def _dry_run(self, files: Sequence[Path], mappings: dict[Path, Any]) -> None:
        s = self.summary
        wid = s.workspace_id = await self._workspace()
        ledger = (
            Ledger.open(self.settings.ledger, readonly=True)
            if self.settings.ledger.exists()
            else None
        )
        if ledger is None:
            s.no_ledger = str(self.settings.ledger)
        resolver = Resolver(
            self.reads, wid, create_missing=self.settings.create_missing, plan_only=True
        )
        planner = Planner(resolver, wid, created_with=self.settings.created_with)
        try:
            done = ledger.created_sources if ledger else None
            async for chunk in self._planned(files, mappings, planner, done):
                if ledger is None and self._report is None:
                    s.to_post += len(chunk)  # nothing to look up, nothing to write per row
                    continue
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
        s.created_names = [f"{kind} {name!r} (would be created)" for kind, name in
                           resolver.would_create]
        quota = await self._quota()
        s.remaining_seconds = estimate_seconds(s.to_post, self.settings.rate, **quota)

    async def _quota(self) -> dict[str, Any]:
        """The account's workspace quota, from the last answer's headers or ``/me/quota``."""
        try:
            rows = await self.client.quota()
        except CredentialsError:
            raise  # a dry run with a wrong token must not look fine
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
            resolver = Resolver(
                self.reads, wid, create_missing=self.settings.create_missing, cache=self.names
            )
            planner = Planner(resolver, wid, created_with=self.settings.created_with)
            if not self._stop.is_set():
                self._phase = "posting"  # reading goes on beside it, a chunk ahead
                await self._post_all(files, mappings, planner, wid)
            if not self._stop.is_set():
                await self._settle_doubts(wid)
            for row in self._doubtful:
                self._write_report(row.file, row.row, "in_doubt",
                                   message="no answer and not found yet; run again to check")
            s.created_names = [f"{kind} {name!r}" for kind, name in resolver.created]
            s.in_doubt = len(self._doubtful)
            if self._stop_reason:
                s.stopped = self._stop_reason
            ledger.flush()
            ledger.finish_run(run_id, s.exit_code)
            s.remaining_seconds = estimate_seconds(
                s.pending + s.in_doubt, self.settings.rate, **self.limiter.quota_estimate()
            )
        finally:
            ledger.close()

    async def _post_all(
        self, files: Sequence[Path], mappings: dict[Path, Any], planner: Planner, wid: int
    ) -> None:
        """A feeder task reads and plans rows into a bounded queue; workers post them."""
        queue: asyncio.Queue[PlannedRow | None] = asyncio.Queue(
            maxsize=max(4 * self.settings.concurrency, 64)
        )
        workers = [
            asyncio.create_task(self._worker(queue, wid)) for _ in range(self.settings.concurrency)
        ]
        feeder = asyncio.create_task(self._feed(files, mappings, planner, queue, len(workers), wid))
        tasks = [feeder, *workers]
        self._tasks.update(tasks)
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()  # only after a failure: left on the wire, a row stays ``sending``
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)
            self._release_queued(queue)

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
            chunks = iter_chunks(path, display_name=str(path), hints=HeaderHints.of(self.settings))
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
                    date_order=self.settings.date_order,
                    jira_day_hours=self.settings.jira_day_hours,
                    since=self.settings.since,
                    until=self.settings.until,
                    only_email=self.settings.only_email,
                )
                plan = await planner.plan(norm, done=done, columns=mappings[path].columns)
                s.rows += len(plan.rows) + len(plan.errors) + len(plan.done)
                for err in plan.errors:
                    self._refused(err)
                for finished in plan.done:
                    s.already_done += 1
                    self._write_report(finished.file, finished.row, "created", finished.entry_id)
                fresh = [row for row in plan.rows if row.duplicate_of is None]
                if len(fresh) < len(plan.rows):
                    for row in plan.rows:
                        if row.duplicate_of is not None:
                            self._duplicate(row)
                if self._payloads:
                    for row in fresh:
                        self._payloads.write(row.file, row.row, row.body)
                yield fresh
                self._tick()

    def _refused(self, err: RowError) -> None:
        s = self.summary
        if err.reason == "would_create" and s.dry_run:  # --create-missing --dry-run
            s.to_post += 1
            self._write_report(err.file, err.row, "pending",
                               message=f"would be posted after: {err.message}")
            return
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
        earlier = getattr(row, "duplicate_in", None)
        assert row.duplicate_of is not None  # only duplicates come here
        message = messages.duplicate_row(
            row.duplicate_of, earlier if earlier and earlier != row.file else None
        )
        self._write_report(row.file, row.row, "duplicate", message=message)
        if hasattr(self, "ledger") and not s.dry_run:
            self.ledger.record_duplicate(
                row.file, row.row, row.fingerprint, self._run_id, message=message
            )

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
        workers: int,
        wid: int,
    ) -> None:
        """Plan every row into the queue, then tell the workers there is no more.

        Stopping ends it early (rows not queued go back to ``pending``); refused credentials on
        a name lookup stop the run.
        """
        ledger = self.ledger
        try:
            planned = self._planned(files, mappings, planner, ledger.created_sources)
            async with contextlib.aclosing(planned) as chunks:
                async for chunk in chunks:
                    todo = self._to_post(chunk)
                    if self.settings.check_existing and todo:
                        todo = await self._not_in_toggl(todo, wid)
                    await self._enqueue(todo, queue)
                    if self._stop.is_set():
                        return
            for _ in range(workers):
                await queue.put(None)
        except asyncio.CancelledError:
            if not self._cancelled_by_stop():
                raise
        except Stopped:
            pass
        except CredentialsError as exc:
            self.request_stop(_credentials_refused(exc))

    def _to_post(self, chunk: list[PlannedRow]) -> list[PlannedRow]:
        """The chunk's rows that need a POST (added to the ledger as ``pending``); rows created
        or failed in an earlier run are reported instead."""
        s = self.summary
        known = self.ledger.known([r.fingerprint for r in chunk])
        todo: list[PlannedRow] = []
        for row in chunk:
            rec = known.get(row.fingerprint)
            if rec is not None and rec.state == RowStatus.CREATED:
                s.already_done += 1
                self._write_report(row.file, row.row, "created", rec.entry_id, message="")
            elif (rec is not None and rec.state == RowStatus.FAILED
                  and not self.settings.retry_failed):
                message = f"{rec.message} (earlier run; --retry-failed to retry)"
                s.failed += 1
                s.failed_by_reason[f"HTTP {rec.http_status}"] += 1
                s.add_example(f"HTTP {rec.http_status}", f"{row.file} row {row.row}: {message}")
                self._write_report(row.file, row.row, "failed", None, rec.http_status, message)
            else:
                todo.append(row)
        self.ledger.add_pending(todo, self._run_id)
        s.to_post += len(todo)
        return todo

    async def _not_in_toggl(self, todo: list[PlannedRow], wid: int) -> list[PlannedRow]:
        """``--check-existing``: read the rows' windows back from Toggl; a row found there is
        recorded as created (with that entry's id) and not posted."""
        rows = [Doubtful(r.fingerprint, r.body) for r in todo]
        found = await read_back(self.reads, wid, rows, known_entry_ids=self.ledger.created_entry_ids())
        if not found:
            return todo
        s = self.summary
        self.ledger.record([Outcome.created(fp, entry_id) for fp, entry_id in found.items()])
        rest = []
        for row in todo:
            entry_id = found.get(row.fingerprint)
            if entry_id is None:
                rest.append(row)
                continue
            s.to_post -= 1
            s.already_done += 1
            self._write_report(row.file, row.row, "created", entry_id)
        return rest

    async def _enqueue(self, todo: list[PlannedRow], queue: asyncio.Queue[PlannedRow | None]) -> None:
        """Commit rows as ``sending`` a batch at a time, then queue them for the workers.

        Rows not queued when this ends early (a stop, a cancellation) go back to ``pending``:
        none of them was handed to a worker, so none was sent.
        """
        queued = 0
        step = max(self.settings.concurrency, 16)
        try:
            for lo in range(0, len(todo), step):
                if self._stop.is_set():
                    return
                batch = todo[lo : lo + step]
                self.ledger.mark_sending([r.fingerprint for r in batch])
                for row in batch:
                    await queue.put(row)
                    queued += 1
        finally:
            if queued < len(todo):
                self._release(todo[queued:])

    def _release_queued(self, queue: asyncio.Queue[PlannedRow | None]) -> None:
        """Rows marked ``sending`` but never sent go back to ``pending``."""
        back: list[PlannedRow] = []
        while not queue.empty():
            row = queue.get_nowait()
            if row is not None:
                back.append(row)
        self._release(back)

    def _release(self, rows: Sequence[PlannedRow]) -> None:
        """Rows certainly not sent by this run: ``pending`` again, for the next run."""
        if not rows:
            return
        self.ledger.record([Outcome.pending(r.fingerprint) for r in rows])
        self.summary.pending += len(rows)
        for row in rows:
            self._write_report(row.file, row.row, "pending",
                               message="not sent: the run stopped early; run again to resume")

    # -- posting -------------------------------------------------------------------------------
    async def _worker(self, queue: asyncio.Queue[PlannedRow | None], wid: int) -> None:
        while not self._stop.is_set():
            try:
                row = await queue.get()
            except asyncio.CancelledError:
                if self._cancelled_by_stop():
                    return
                raise
            if row is None:
                return
            if self._stop.is_set():
                self._release([row])
                return
            await self._post(row, wid)
            self._tick()

    async def _post(self, row: PlannedRow, wid: int) -> None:
        s = self.summary
        try:
            entry = await self.policy.call(lambda: self.client.create_time_entry(wid, row.body))
        except asyncio.CancelledError:
            if not self._cancelled_by_stop():
                raise  # cancelled from outside, maybe on the wire: the row stays ``sending``
            self._release([row])  # stopped while waiting for a slot or a back-off: not sent
            return
        except Stopped:
            self._release([row])
            return
        except MaybeAppliedError as exc:
            self._doubtful.append(row)
            self.ledger.record([Outcome.in_doubt(row.fingerprint, str(exc))])
            return
        except CredentialsError as exc:
            self._release([row])
            self.request_stop(_credentials_refused(exc))
            return
        except PermanentError as exc:
            message = exc.text or str(exc)
            s.failed += 1
            s.failed_by_reason[f"HTTP {exc.status}: {textwrap.shorten(message, 60, placeholder='…')}"] += 1
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
    async def _read_back(self, wid: int, rows: list[Doubtful]) -> dict[str, int] | None:
        """``read_back`` in the run's own task, which stopping cancels; ``None`` if it stopped."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            return await read_back(
                self.reads, wid, rows, known_entry_ids=self.ledger.created_entry_ids()
            )
        except asyncio.CancelledError:
            if not self._cancelled_by_stop():
                raise
            return None
        except Stopped:
            return None
        finally:
            self._tasks.discard(task)

    async def _reconcile_leftovers(self, wid: int) -> None:
        """Rows an earlier run left ``sending``/``in_doubt``: created if found, else pending."""
        leftovers = list(self.ledger.unresolved())
        if not leftovers:
            return
        self._phase = "checking rows an earlier run left in doubt"
        self._tick(force=True)
        doubtful = [Doubtful(r.fingerprint, r.payload) for r in leftovers if r.payload]
        found = await self._read_back(wid, doubtful)
        if found is None:
            return  # stopped: they stay as they were, for the next run
        outcomes = [
            Outcome.created(r.fingerprint, found[r.fingerprint])
            if r.fingerprint in found
            else Outcome.pending(r.fingerprint)
            for r in leftovers
        ]
        self.ledger.record(outcomes)
        self.ledger.flush()

    async def _settle_doubts(self, wid: int) -> None:
        """Read back this run's in-doubt rows; post again only those Toggl does not have."""
        for _ in range(MAX_RECONCILE_ROUNDS):
            if not self._doubtful or self._stop.is_set():
                return
            self._phase = "checking in-doubt rows"
            rows = self._doubtful
            found = await self._read_back(wid, [Doubtful(r.fingerprint, r.body) for r in rows])
            if found is None:
                return  # stopped: still in doubt, read back by the next run
            self._doubtful = []
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
                posts = [asyncio.create_task(self._post(r, wid)) for r in absent]
                self._tasks.update(posts)
                try:
                    await asyncio.gather(*posts)
                finally:
                    self._tasks.difference_update(posts)

    async def _ticking(self) -> None:
        """Progress once a second even when nothing moves: a quota pause during name look-ups,
        a long read-back -- the countdown shows and a log gets its line (no silent minute)."""
        while True:
            await asyncio.sleep(TICK_EVERY)
            self._tick(force=True)

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
