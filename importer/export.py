"""``toggl-import export --to toggl-csv``: rows written as Toggl's web CSV import file.

For admins who load big histories without spending API quota: Toggl's importer (Settings →
Import) takes a CSV with the headers ``EXPORT_HEADER`` and makes the entries itself. What the
file must get right, because that importer is strict:

- names in the workspace's **exact spelling** (its matching is case-sensitive and it creates what
  it does not find): every row is planned as for a run -- names resolved once, ``--create-missing``
  creating the missing ones through the API first -- and each id is written back as the name
  Toggl holds for it;
- times in the time zone of the account that will upload (``--upload-timezone``, default the
  token's profile zone): the file has local dates and times only. A row whose local time is
  ambiguous there (the fall-back hour) cannot be written: it is reported, and ``run`` posts it;
- ``--max-rows N`` splits the file (``OUT-1.csv``, ``OUT-2.csv`` ...);
- ``User`` is the workspace member's name for the row's ``Email`` (Toggl's importer matches the
  person on ``Email``; the name is read from the member list the resolver fetches anyway), the
  token owner's for a row without an email.

Every row written is recorded in the ledger as ``exported`` (with the file it went to): a later
``run`` reads those back from Toggl first and posts only the ones Toggl does not have, so the two
paths together are exactly once. Rows the ledger holds as created are never written again; rows
it holds as exported are written again only with ``again`` (``--again``): otherwise they are
counted as exported before (``exported_before``: run, day and file), not as rows in doubt.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from . import messages
from .config import zone
from .engine.reads import Reads
from .header import HeaderHints
from .ledger import Ledger, Outcome, RowRecord
from .ledger_records import EXPORTED_TO
from .models import RowError, RowStatus
from .payloads import Planner
from .plan.imports import ImportPlan
from .planned import PlannedRow
from .presets import detect
from .reader import read_header
from .report import ReportWriter, Summary, open_output
from .resolve import NameCache, Resolver
from .run_base import _Run

EXPORT_HEADER = ("User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date",
                 "Start time", "Duration", "Tags")  # fmt: skip


class CsvFiles:
    """The output, split every ``max_rows`` rows: ``OUT.csv``, or ``OUT-1.csv``, ``OUT-2.csv`` ..."""

    def __init__(self, output: Path, max_rows: int | None) -> None:
        self.output = output
        self.max_rows = max_rows
        self.written: list[Path] = []
        self._fh: IO[str] | None = None
        self._out: Any = None
        self._in_file = 0

    def write(self, cells: list[str]) -> None:
        if self.max_rows is None:
            self._file(self.output).writerow(cells)
            return
        if self._fh is None or self._in_file >= self.max_rows:
            stem, suffix = self.output.stem, self.output.suffix or ".csv"
            self._file(self.output.with_name(f"{stem}-{len(self.written) + 1}{suffix}"))
        self._in_file += 1
        self._out.writerow(cells)

    def _file(self, path: Path) -> Any:
        if self._fh is not None and path == self.written[-1]:
            return self._out
        self.close()
        self._fh = open_output(path, "--output", newline="")
        self._out = csv.writer(self._fh)
        self._out.writerow(EXPORT_HEADER)
        self.written.append(path)
        self._in_file = 0
        return self._out

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class MemberList:
    """The reads the resolver uses, keeping the workspace's member list as it passes by (the
    names of the ``User`` column), so that the export adds no request for them."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads
        self.members: list[dict[str, Any]] = []

    async def get_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        found = await self._reads.get_all(path, params)
        if path.endswith("/workspace_users"):
            self.members = found
        return found

    async def me(self) -> dict[str, Any]:
        return await self._reads.me()

    async def create_project(
        self, workspace_id: int, name: str, client_id: int | None = None
    ) -> dict[str, Any]:
        return await self._reads.create_project(workspace_id, name, client_id)

    async def create_client(self, workspace_id: int, name: str) -> dict[str, Any]:
        return await self._reads.create_client(workspace_id, name)

    async def create_task(self, workspace_id: int, project_id: int, name: str) -> dict[str, Any]:
        return await self._reads.create_task(workspace_id, project_id, name)


class Names:
    """Ids back to the names Toggl holds for them (the resolver fetched them once)."""

    def __init__(self, cache: NameCache, workspace_id: int, me: dict[str, Any],
                 members: Sequence[dict[str, Any]] = ()) -> None:  # fmt: skip
        def items(kind: str) -> dict[int, Any]:
            cat = cache.catalogues.get((workspace_id, kind))
            return {item.id: item for item in (cat.items if cat else ())}

        self.projects, self.clients, self.tasks = items("project"), items("client"), items("task")
        self.emails = {uid: email for email, uid in cache.users.get(workspace_id, {}).items()}
        self.people = {int(m.get("uid") or m.get("user_id") or m["id"]): str(m.get("name") or "")
                       for m in members if m.get("email")}  # fmt: skip
        self.me = me

    def row(self, body: dict[str, Any]) -> tuple[str, str, str, str, str]:
        """(User, Email, Client, Project, Task) of a body."""
        project = self.projects.get(body.get("project_id") or 0)
        client = self.clients.get(project.parent) if project is not None and project.parent else None
        task = self.tasks.get(body.get("task_id") or 0)
        uid = body.get("user_id")
        own = uid is None or uid == self.me.get("id")
        email = self.emails.get(uid) if uid is not None else str(self.me.get("email") or "")
        user = self.people.get(uid) if uid is not None else None
        user = user or (str(self.me.get("fullname") or "") if own else "")
        return (user, email or "", client.name if client else "", project.name if project else "",
                task.name if task else "")  # fmt: skip


def local_start(start: str, tz: ZoneInfo) -> tuple[datetime, bool]:
    """A UTC start in ``tz``, and whether that local time is ambiguous there (the fall-back hour:
    Toggl's importer, given only the local time, could take the other instant)."""
    instant = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(tz)
    naive = instant.replace(tzinfo=None)
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    return instant, early.utcoffset() != late.utcoffset()


def hms(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def csv_cells(names: Names, body: dict[str, Any], local: datetime) -> list[str]:
    user, email, client, project, task = names.row(body)
    duration = body.get("duration")
    if duration is None:
        stop = datetime.fromisoformat(str(body["stop"]).replace("Z", "+00:00"))
        duration = int(
            (stop - datetime.fromisoformat(str(body["start"]).replace("Z", "+00:00"))).total_seconds()
        )
    return [user, email, client, project, task, body.get("description") or "",
            "Yes" if body.get("billable") else "No", local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S"),
            hms(int(duration)), ", ".join(body.get("tags") or [])]  # fmt: skip


Earlier = tuple[int | None, str, str | None]
"""Rows exported before, by (run, UTC day, file written to; ``None`` when an older ledger did
not record it)."""


def earlier_export(record: RowRecord) -> Earlier:
    message = record.message or ""
    file = message.removeprefix(EXPORTED_TO + ": ") if message.startswith(EXPORTED_TO + ": ") else None
    return record.run_id, record.updated_at[:10], file


class Exporter(_Run):
    """One run of ``toggl-import export --to toggl-csv``. After ``run``: ``upload_zone`` (the
    zone the times are written in), ``zone_of`` (the account whose profile zone that is; ``None``
    when ``upload_timezone`` was given) and ``exported_before`` (rows not written again)."""

    upload_zone: str = ""
    zone_of: str | None = None
    exported_before: Counter[Earlier]

    async def run(
        self,
        files: Sequence[Path],
        *,
        output: Path,
        max_rows: int | None = None,
        upload_timezone: str | None = None,
        report: Path | None = None,
        again: bool = False,
    ) -> tuple[Summary, list[Path]]:
        hints = HeaderHints.of(self.settings)
        mappings = {path: detect(read_header(path, hints=hints), self.settings.preset, self.settings.columns,
                                 file=str(path)) for path in files}  # fmt: skip
        writer = ReportWriter(report) if report else None
        out = CsvFiles(output, max_rows)
        self.summary.report = str(report) if report else None
        self.exported_before = Counter()

        async def work() -> None:
            await self._export(files, mappings, out, writer, upload_timezone, again)

        try:
            await self._session_run(work)
        finally:
            out.close()
            if writer:
                writer.close()
        return self.summary, out.written

    async def _export(self, files: Sequence[Path], mappings: dict[Path, Any], out: CsvFiles,
                      report: ReportWriter | None, upload_timezone: str | None,
                      again: bool) -> None:  # fmt: skip
        from .engine.record import Recorder

        s = self.summary
        s.ledger = str(self.settings.ledger)
        ledger = Ledger.open(self.settings.ledger, secrets=self._credentials.secrets())
        recorder = Recorder(s, ledger=ledger, report=report)
        try:
            wid = s.workspace_id = await self._workspace()
            run_id = ledger.start_run(" ".join(str(f) for f in files), wid, command="export",
                                      files=[str(f) for f in files], source=self.settings.source)  # fmt: skip
            me = await self.reads.me()
            self.upload_zone = upload_timezone or str(me.get("timezone") or "UTC")
            self.zone_of = None if upload_timezone else str(me.get("email") or me.get("fullname") or "")
            tz = zone(self.upload_zone)
            cache = NameCache()
            members = MemberList(self.reads)
            resolver = Resolver(members, wid, create_missing=self.settings.create_missing, cache=cache)
            planner = Planner(resolver, wid, created_with=self.settings.created_with)
            imports = ImportPlan(files, mappings, self.settings, planner, recorder, self.stopper,
                                 ledger=ledger, workspace_id=wid)  # fmt: skip
            async for _path, _norm, plan in imports.chunks():
                fresh = [row for row in plan.rows if row.duplicate_of is None]
                known = ledger.known([row.fingerprint for row in fresh])
                before = {fp for fp, rec in known.items() if rec.state == RowStatus.EXPORTED}
                keep = {
                    row.fingerprint
                    for row in imports.to_post([r for r in fresh if r.fingerprint not in before])
                }
                for row in fresh:
                    if row.fingerprint in before and not again:
                        self._exported_before(row, known[row.fingerprint], files, recorder)
                keep |= before if again else set()  # never a row created: to_post set those aside
                todo = [row for row in fresh if row.fingerprint in keep]  # in input order
                names = Names(cache, wid, me, members.members)
                written = [
                    (row, to) for row in todo if (to := self._write_row(row, names, tz, out, recorder))
                ]
                ledger.record([Outcome.exported(row.fingerprint, str(to)) for row, to in written])
            s.rows = imports.rows
            ledger.finish_run(run_id, s.exit_code, {"created": 0})
        finally:
            ledger.close()

    def _exported_before(
        self, row: PlannedRow, record: RowRecord, files: Sequence[Path], recorder: Any
    ) -> None:
        """A row an earlier export wrote: not written again (without ``again``), and not in doubt."""
        run, day, file = where = earlier_export(record)
        self.exported_before[where] += 1
        self.summary.exported_before += 1
        text = messages.export_done_before(1, run, day, file, [str(f) for f in files])
        recorder.line(row.file, row.row, "exported", message=text)

    def _write_row(
        self, row: PlannedRow, names: Names, tz: ZoneInfo, out: CsvFiles, recorder: Any
    ) -> Path | None:
        body = row.body
        local, ambiguous = local_start(body["start"], tz)
        if ambiguous:
            recorder.refused(RowError(file=row.file, row=row.row, column=None, reason="ambiguous_upload_time",
                                      message=messages.export_ambiguous(local.strftime("%Y-%m-%d %H:%M"),
                                                                        str(tz))))  # fmt: skip
            return None
        out.write(csv_cells(names, body, local))
        self.summary.exported += 1
        recorder.line(row.file, row.row, "exported", message=f"written to {out.written[-1]}")
        return out.written[-1]
