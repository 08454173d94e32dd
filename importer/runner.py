"""Wiring: a plan, the executor and the recorder, for one ``run`` or ``undo``; returns the summary.

Who hands what to whom::

    files ─▶ plan.imports (reader → normalize → payloads) ─▶ create actions ───────┐
    files + ledger ─▶ plan.sync (keys, mirror window, conflicts) ─▶ create/update/delete ─┤
    ledger ─▶ plan.undo ─▶ delete actions ─────────────────────────────────────────┤
                                                                                   ▼
    plan.resume (what an earlier run left marked) ─▶ engine.execute.Executor (lanes: client,
                                                      limiter, retry) ─▶ engine.record.Recorder
                                                      (ledger + report + summary)

A plain import streams: a chunk is planned while the previous one is posted. ``--key``,
``--mirror`` and ``--all-or-nothing`` plan the whole run first (``plan.sync``). A dry run plans
exactly the same way, with the ledger read-only, and the recorder reports each action as what
the real run would do. Progress goes out through a callback; this module never prints.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from . import messages
from .client import TogglClient
from .config import Credentials, Settings
from .engine.actions import Action
from .engine.execute import CREDENTIALS_REFUSED, Executor, Lane, credentials_refused
from .engine.progress import Progress, ProgressCallback, Ticker
from .engine.reads import Readers, Reads
from .engine.record import Recorder
from .engine.stop import Stopper
from .errors import ConfigError, ConnectError, CredentialsError, PermanentError, RemoteError
from .header import HeaderHints
from .ledger import Ledger
from .limits import Limiter, Stopped
from .payloads import Planner
from .plan.imports import ImportPlan
from .plan.resume import Leftovers
from .plan.sync import SyncPlan
from .plan.undo import UndoPlan
from .presets import detect
from .reader import read_header
from .report import PayloadWriter, ReportWriter, Summary, estimate_seconds
from .resolve import NameCache, Resolver
from .retry import RetryPolicy

__all__ = ["CREDENTIALS_REFUSED", "Importer", "Progress", "ProgressCallback", "Undoer"]

RequestHook = Callable[[str, str, int | None, float], None]
MARK_BATCH_MAX = 256
"""Actions marked in one durable commit (an fsync) at most, when the rate lets them go fast."""


class _Run:
    """What ``run`` and ``undo`` share: the session, the main lane, stopping, progress, the end."""

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        *,
        progress: ProgressCallback | None = None,
        session: aiohttp.ClientSession | None = None,
        on_request: RequestHook | None = None,
        people: dict[str, Credentials] | None = None,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self.people = dict(people or {})
        """``[tokens]``: email → that person's credentials; their rows go in their own lane."""
        self.lanes: dict[str, Lane] = {}
        self._uid_lanes: dict[int, str] = {}
        self._people_names = NameCache()
        """Who the workspace's members are, when only the people's lanes need it (an undo)."""
        self._session = session
        self._on_request = on_request
        self.summary = Summary()
        self.stopper = Stopper()
        self.ticker = Ticker(
            self.summary,
            progress,
            total=lambda: self._total(),
            requests=lambda: self.client.requests_made if self._lane else 0,
            quota_wait=lambda: self.limiter.pause_remaining() if self._lane else 0.0,
        )
        self._lane: Lane | None = None
        self._started = time.monotonic()

    def _total(self) -> int:
        return self.summary.rows

    def request_stop(self, reason: str = "interrupted") -> None:
        """Stop taking new work at once; requests on the wire finish (or end in doubt)."""
        self.stopper.request(reason)

    @property
    def lane(self) -> Lane:
        assert self._lane is not None
        return self._lane

    @property
    def client(self) -> TogglClient:
        return self.lane.client

    @property
    def limiter(self) -> Limiter:
        return self.lane.limiter

    @property
    def reads(self) -> Reads:
        return self.lane.reads

    async def _session_run(self, work: Callable[[], Awaitable[None]]) -> Summary:
        """Open the session and the main lane, run ``work``, and map how it ended."""
        s = self.summary
        own = self._session is None
        session = self._session or aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(self.settings.concurrency, 1) * (1 + len(self.people))),
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
        )
        ticker = None
        try:
            self._lane = self._make_lane("", session, self._credentials)
            self.lanes = {"": self._lane}
            for email, credentials in self.people.items():
                self.lanes[email] = self._make_lane(email, session, credentials)
            ticker = asyncio.create_task(self.ticker.every_second()) if self.ticker.callback else None
            await work()
        except CredentialsError as exc:
            s.stopped = credentials_refused(exc)
        except Stopped:
            s.stopped = self.stopper.reason or "interrupted"
        except (ConnectError, PermanentError) as exc:
            if self._answered_ok():
                raise
            # nothing at --api-url ever answered like Toggl: a wrong setting, not a run to resume
            raise ConfigError(str(exc)) from exc
        finally:
            if ticker is not None:
                ticker.cancel()
            if own:
                await session.close()
        if self.stopper.reason and not s.stopped:
            s.stopped = self.stopper.reason
        s.elapsed = time.monotonic() - self._started
        for lane in self.lanes.values():
            client = lane.client
            s.requests += client.requests_made
            s.posts += client.requests_by_kind.get("create", 0)
            s.http_429 += client.statuses.get(429, 0)
            s.http_402 += client.statuses.get(402, 0)
            if lane.name:
                s.person(lane.name)["quota_pauses"] = lane.limiter.quota_pauses
        return s

    def _make_lane(self, name: str, session: aiohttp.ClientSession, credentials: Credentials) -> Lane:
        limiter = Limiter(self.settings.rate, self.settings.concurrency, **self._limits())
        self.stopper.limiters.append(limiter)
        client = TogglClient(session, self.settings.api_url, credentials,
                             reports_url=self.settings.reports_base, limiter=limiter)  # fmt: skip
        client.on_request = self._on_request
        policy = RetryPolicy(limiter=limiter, reached=lambda: bool(client.statuses))
        return Lane(name, client, limiter, policy, Reads(client, policy))

    def _limits(self) -> dict[str, Any]:
        """What the limiter takes beyond rate and concurrency (the quota reserve, if it knows it)."""
        reserve = getattr(self.settings, "quota_reserve", 0)
        return {"quota_reserve": reserve} if reserve else {}

    def lane_of(self, body: dict[str, Any] | None) -> str:
        """The lane of an entry: its person's, when they gave a token; else the run's own."""
        if not self.people or not body or body.get("user_id") is None:
            return ""
        if not self._uid_lanes:
            self._learn_people()
        return self._uid_lanes.get(int(body["user_id"]), "")

    def _learn_people(self) -> None:
        """Whose user id is whose lane, from the workspace members the names know."""
        for users in self._names().users.values():
            for email in self.people:
                if email in users:
                    self._uid_lanes[users[email]] = email
                    if email in self.lanes:
                        self.lanes[email].user_id = users[email]

    async def _know_people(self, workspace_ids: Sequence[int]) -> None:
        """Before ledger rows are read back or changed (a resume, an undo: nothing resolved yet),
        learn the people's user ids from the workspace's members -- one read per workspace, kept
        for the resolver -- so that each person's rows go through their own token."""
        if not self.people:
            return
        names = self._names()
        for wid in workspace_ids:
            if wid and wid not in names.users:
                await Resolver(self.reads, wid, cache=names).users()
        self._learn_people()

    def _readers(self) -> Readers:
        if self.people and not self._uid_lanes:
            self._learn_people()
        users = {name: lane.user_id for name, lane in self.lanes.items() if lane.user_id is not None}
        return Readers({name: lane.reads for name, lane in self.lanes.items()},
                       self.lane_of if self.people else None, users)  # fmt: skip

    def _names(self) -> NameCache:
        return self._people_names

    def _answered_ok(self) -> bool:
        """Has any request of this run succeeded?"""
        return self._lane is not None and any(200 <= st < 300 for st in self.client.statuses)

    def _executor(self, recorder: Recorder, ledger: Ledger) -> Executor:
        executor = Executor(
            self.lanes,
            recorder,
            self.stopper,
            concurrency=self.settings.concurrency,
            timeout=self.settings.timeout,
            known_entry_ids=ledger.created_entry_ids,
            progress=self.ticker.tick,
        )
        # a quarter second of requests per durable commit (at least the workers' worth, at most 256)
        executor.batch = max(min(MARK_BATCH_MAX, int(self.settings.rate / 4)), executor.batch)
        return executor

    async def _workspace(self) -> int:
        if self.settings.workspace_id:
            return self.settings.workspace_id
        me = await self.reads.me()
        return int(me["default_workspace_id"])

    def _estimate(self, requests: int) -> float:
        return estimate_seconds(requests, self.settings.rate, **self.limiter.quota_estimate())

    async def _people_quotas(self) -> dict[str, dict[str, Any]]:
        """Each person's quota (``/me/quota`` with their token), asked before a dry run plans: a
        token Toggl refuses is said now, for that person only, as the real run would."""
        quotas: dict[str, dict[str, Any]] = {}
        for email in self.people:
            try:
                quotas[email] = await self._quota(self.lanes[email].client)
            except CredentialsError as exc:
                why = messages.person_refused(email, exc.text or str(exc.status))
                self.summary.people_refused[email] = why
        return quotas

    async def _estimate_lanes(self, requests: int, quotas: dict[str, dict[str, Any]]) -> float:
        """How long ``requests`` take, each person's share under their own token's quota, in
        parallel (a dry run's estimate): the longest lane decides."""
        s = self.summary
        own = requests - sum(s.person(email)["to_post"] for email in self.people)
        longest = estimate_seconds(own, self.settings.rate, **await self._quota(self.client))
        for email, quota in quotas.items():
            longest = max(longest, estimate_seconds(s.person(email)["to_post"], self.settings.rate, **quota))
        return longest

    async def _quota(self, client: TogglClient) -> dict[str, Any]:
        """An account's workspace quota, from ``/me/quota`` (for a dry run's estimate)."""
        try:
            rows = await client.quota()
        except CredentialsError:
            raise  # a dry run with a wrong token must not look fine
        except RemoteError:
            return {}
        for row in rows:
            if row.get("organization_id") is not None:
                return {"quota_total": row.get("total"), "quota_remaining": row.get("remaining"),
                        "resets_in": row.get("resets_in_secs")}  # fmt: skip
        return {}


class Importer(_Run):
    """One run of ``toggl-import run``."""

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        *,
        progress: ProgressCallback | None = None,
        session: aiohttp.ClientSession | None = None,
        on_request: RequestHook | None = None,
        names: NameCache | None = None,
        people: dict[str, Credentials] | None = None,
    ) -> None:
        super().__init__(settings, credentials, progress=progress, session=session, on_request=on_request,
                         people=people)  # fmt: skip
        self.names = names if names is not None else NameCache()
        """Names fetched for resolving; another Importer may be handed it (see ``NameCache``)."""
        self._imports: ImportPlan | None = None

    def _total(self) -> int:
        return max(self.summary.rows, self._imports.rows if self._imports else 0)

    def _names(self) -> NameCache:
        resolver = getattr(self, "_resolver", None)
        return resolver.cache if resolver is not None else self.names

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
        report_writer = ReportWriter(report) if report else None
        try:
            payloads = PayloadWriter(emit_payloads) if emit_payloads else None
        except BaseException:
            if report_writer:
                report_writer.close()
            raise
        s.report = str(report) if report else None
        try:
            hints = HeaderHints.of(self.settings)
            headers = {path: read_header(path, hints=hints) for path in files}  # whole-file problems first
            mappings = {
                path: detect(header, self.settings.preset, self.settings.columns, file=str(path))
                for path, header in headers.items()
            }

            async def work() -> None:
                if dry_run:
                    await self.stopper.stoppable(self._dry_run(files, mappings, report_writer, payloads))
                else:
                    await self._real_run(files, mappings, report_writer, payloads)

            return await self._session_run(work)
        finally:
            for writer in (report_writer, payloads):
                if writer:
                    writer.close()

    def _plan(self, files: Sequence[Path], mappings: dict[Path, Any], recorder: Recorder,
              ledger: Ledger | None, wid: int, *, plan_only: bool) -> ImportPlan:  # fmt: skip
        resolver = Resolver(self.reads, wid, create_missing=self.settings.create_missing,
                            own_tokens=frozenset(self.people),
                            plan_only=plan_only, cache=None if plan_only else self.names)  # fmt: skip
        self._resolver = resolver
        planner = Planner(resolver, wid, created_with=self.settings.created_with)
        self._imports = ImportPlan(files, mappings, self.settings, planner, recorder, self.stopper,
                                   ledger=ledger, workspace_id=wid, reads=self.reads,
                                   lane_of=self.lane_of if self.people else None)  # fmt: skip
        return self._imports

    # -- a dry run -------------------------------------------------------------------------------
    async def _dry_run(self, files: Sequence[Path], mappings: dict[Path, Any],
                       report: ReportWriter | None, payloads: PayloadWriter | None) -> None:  # fmt: skip
        s = self.summary
        wid = s.workspace_id = await self._workspace()
        path = self.settings.ledger
        ledger = Ledger.open(path, readonly=True) if path.exists() else None
        if ledger is None:
            s.no_ledger = str(path)
        recorder = Recorder(s, ledger=ledger, report=report, payloads=payloads, dry_run=True)
        quotas = await self._people_quotas()
        recorder.refused_lanes = dict(s.people_refused)
        try:
            imports = self._plan(files, mappings, recorder, ledger, wid, plan_only=True)
            if self.settings.planned_first:
                sync = SyncPlan(imports, ledger=ledger, recorder=recorder, settings=self.settings,
                                readers=self._readers(), workspace_id=wid)  # fmt: skip
                await sync.plan()
                if self.settings.all_or_nothing and s.refused:  # as the real run: nothing goes
                    recorder.held_back(sync.actions(), s.refused)
                else:
                    sync.check_deletes()
                    await sync.check_changes()
                    for action in sync.actions():
                        recorder.would(action)
            else:
                async for _path, _norm, plan in imports.chunks():
                    fresh = [row for row in plan.rows if row.duplicate_of is None]
                    if ledger is None and report is None and not self.people:
                        s.to_post += len(fresh)  # nothing to look up, nothing to write per row
                        continue
                    for row in imports.to_post(fresh):
                        recorder.would(imports.create(row))  # in its person's lane
                    self.ticker.tick()
        finally:
            if ledger:
                ledger.close()
        s.rows = imports.rows
        s.created_names = [messages.new_name(*name, planned=True) for name in self._resolver.would_create]
        s.remaining_seconds = await self._estimate_lanes(s.to_post + s.to_update + s.to_delete, quotas)

    # -- a real run ------------------------------------------------------------------------------
    async def _real_run(self, files: Sequence[Path], mappings: dict[Path, Any],
                        report: ReportWriter | None, payloads: PayloadWriter | None) -> None:  # fmt: skip
        s = self.summary
        s.ledger = str(self.settings.ledger)
        ledger = Ledger.open(self.settings.ledger, secrets=self._credentials.secrets())
        recorder = Recorder(s, ledger=ledger, report=report, payloads=payloads)
        try:
            wid = s.workspace_id = await self._workspace()
            run_id = ledger.start_run(" ".join(str(f) for f in files), wid,
                                      files=[str(f) for f in files], source=self.settings.source)  # fmt: skip
            executor = self._executor(recorder, ledger)
            try:
                await self._settle_leftovers(ledger, recorder, executor, wid)
                imports = self._plan(files, mappings, recorder, ledger, wid, plan_only=False)
                if not self.stopper.stopping:
                    self.ticker.phase = "posting"  # reading goes on beside it, a chunk ahead
                    if self.settings.planned_first:
                        await self._sync(imports, ledger, recorder, executor, wid)
                    else:
                        await executor.run(imports.creates())
                s.rows = imports.rows
            except ConfigError:
                ledger.finish_run(run_id, 2, _run_counts(s))
                raise
            s.created_names = [messages.new_name(*name, planned=False) for name in self._resolver.created]
            if self.stopper.reason:
                s.stopped = self.stopper.reason
            ledger.finish_run(run_id, s.exit_code, _run_counts(s))
            s.remaining_seconds = self._estimate(s.pending + s.in_doubt)
        finally:
            ledger.close()

    async def _settle_leftovers(
        self, ledger: Ledger, recorder: Recorder, executor: Executor, wid: int
    ) -> None:
        """What an earlier run left marked: creates read back, updates and deletes asked again."""
        if self.people and ledger.has_leftovers():
            await self.stopper.stoppable(self._know_people([wid]))
        leftovers = Leftovers(ledger, self._readers(), recorder, timeout=self.settings.timeout)
        self.ticker.phase = "checking rows an earlier run left in doubt"
        try:
            executor.suspects = await self.stopper.stoppable(leftovers.creates(wid))
            writes = await self.stopper.stoppable(leftovers.writes(wid))
        except Stopped:
            return  # they stay as they were, for the next run
        if writes:
            await executor.run(_once(writes))

    async def _sync(self, imports: ImportPlan, ledger: Ledger, recorder: Recorder, executor: Executor,
                    wid: int) -> None:  # fmt: skip
        sync = SyncPlan(imports, ledger=ledger, recorder=recorder, settings=self.settings,
                        readers=self._readers(), workspace_id=wid)  # fmt: skip
        self.ticker.phase = "planning"
        await self.stopper.stoppable(sync.plan())
        if self.settings.all_or_nothing and self.summary.refused:
            recorder.held_back(sync.actions(), self.summary.refused)
            return
        sync.check_deletes()
        await self.stopper.stoppable(sync.check_changes())
        self.ticker.phase = "sending"
        await executor.run(sync.batches())


class Undoer(_Run):
    """One run of ``toggl-import undo``: deletes what this ledger created (run, source or files)."""

    async def run(
        self,
        *,
        run: int | None = None,
        source: str | None = None,
        files: Sequence[str] = (),
        dry_run: bool = False,
        report: Path | None = None,
        confirm: Callable[[int], bool] = lambda count: True,
    ) -> Summary:
        """Delete the chosen entries; ``confirm(count)`` is asked before anything is deleted."""
        s = self.summary
        s.dry_run = dry_run
        writer = ReportWriter(report) if report else None
        s.report = str(report) if report else None
        ledger = Ledger.open(self.settings.ledger, readonly=dry_run, secrets=self._credentials.secrets())
        s.ledger = str(self.settings.ledger)
        try:
            plan = UndoPlan(ledger, run=run, source=source, files=files)
            s.rows = len(plan)
            if not plan or not confirm(len(plan)):
                return s

            async def work() -> None:
                recorder = Recorder(s, ledger=ledger, report=writer, dry_run=dry_run, undo=True)
                overwrite = self.settings.overwrite
                await self.stopper.stoppable(self._know_people(plan.workspaces()))
                await self.stopper.stoppable(
                    plan.check_changes(self._readers(), recorder, overwrite=overwrite)
                )
                self.ticker.phase = "deleting"
                if dry_run:
                    for action in plan.actions():
                        recorder.would(action)
                    return
                run_id = ledger.start_run(_what(run, source, files), None, command="undo", source=source)
                executor = self._executor(recorder, ledger)
                await executor.run(_once(plan.actions()))
                ledger.finish_run(run_id, s.exit_code, _run_counts(s))

            await self._session_run(work)
            s.remaining_seconds = self._estimate(s.pending) if self._lane else None
            return s
        finally:
            ledger.close()
            if writer:
                writer.close()


def _what(run: int | None, source: str | None, files: Sequence[str]) -> str:
    if run is not None:
        return f"of run {run}"
    if source is not None:
        return f"of source {source}"
    return "of " + " ".join(files)


async def _once(actions: list[Action]) -> Any:
    """A plan of one batch."""
    if actions:
        yield actions


def _run_counts(s: Summary) -> dict[str, int]:
    return {"created": s.created, "updated": s.updated, "deleted": s.deleted, "failed": s.failed,
            "conflicts": s.conflict}  # fmt: skip
