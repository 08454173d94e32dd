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

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from . import messages
from .config import Credentials, Settings
from .engine.execute import CREDENTIALS_REFUSED, Executor
from .engine.progress import Progress, ProgressCallback
from .engine.record import Recorder
from .errors import ConfigError
from .header import HeaderHints
from .ledger import Ledger
from .limits import Stopped
from .payloads import Planner
from .plan.imports import ImportPlan
from .plan.resume import Leftovers
from .plan.sync import SyncPlan
from .plan.undo import UndoPlan
from .presets import detect
from .reader import read_header
from .report import PayloadWriter, ReportWriter, Summary
from .resolve import NameCache, Resolver
from .run_base import RequestHook, _once, _Run, _run_counts

__all__ = ["CREDENTIALS_REFUSED", "Importer", "Progress", "ProgressCallback", "Undoer"]


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
