"""The undo plan: ledger → deletes of the entries this ledger created.

Of run N (the entries it created), of a source, or of rows read from the given
files (the names as they were given when imported). Rows left ``deleting`` by an interrupted undo
are taken again (a DELETE asked twice does no harm; a 404 is done). Before anything is deleted,
``changes.changed_in_toggl`` asks what was edited in Toggl since we wrote: an entry someone
changed is a conflict and stays (``--overwrite`` deletes it anyway); one deleted already is done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import messages
from ..engine.actions import Action
from ..engine.changes import changed_by_lane
from ..engine.reads import Readers
from ..engine.record import Recorder
from ..errors import ConfigError
from ..ledger import Ledger, RowRecord


class UndoPlan:
    """What ``toggl-import undo`` deletes, checked against Toggl before anything is sent."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        run: int | None = None,
        source: str | None = None,
        files: Sequence[str] = (),
    ) -> None:
        _check_known(ledger, run, source)
        if files:
            files = _stored_names(files, ledger.names_of("file"))
        self.records: list[RowRecord] = [
            r for r in ledger.created_by(run=run, source=source, files=files) if r.entry_id is not None
        ]
        self._lane_of: Callable[[dict[str, Any] | None], str] = lambda body: ""

    def __len__(self) -> int:
        return len(self.records)

    def workspaces(self) -> list[int]:
        return sorted(_by_workspace(self.records))

    async def check_changes(self, readers: Readers, recorder: Recorder, *, overwrite: bool) -> None:
        """Drop the entries edited in Toggl (conflicts) and record those deleted there already;
        each person's entries are looked at, and later deleted, through their own token."""
        self._lane_of = readers.lane_of
        kept: list[RowRecord] = []
        for workspace_id, group in _by_workspace(self.records).items():
            verdicts = await changed_by_lane(readers, group, workspace_id)
            for rec in group:
                verdict = verdicts.get(rec.fingerprint)
                if verdict is None or (overwrite and verdict.kind == "edited"):
                    kept.append(rec)
                elif verdict.kind == "gone":
                    recorder.deleted(self._action(rec), gone=True)
                else:
                    recorder.conflict(rec.file, rec.row, rec.entry_id, verdict.message)
        self.records = kept

    def actions(self) -> list[Action]:
        return [self._action(r) for r in self.records]

    def _action(self, rec: RowRecord) -> Action:
        wid = int(rec.workspace_id or (rec.payload or {}).get("workspace_id") or 0)
        return Action.delete(rec.fingerprint, int(rec.entry_id or 0), rec.file, rec.row, wid,
                             lane=self._lane_of(rec.payload))  # fmt: skip


def _by_workspace(records: Sequence[RowRecord]) -> dict[int, list[RowRecord]]:
    out: dict[int, list[RowRecord]] = {}
    for rec in records:
        out.setdefault(int(rec.workspace_id or (rec.payload or {}).get("workspace_id") or 0), []).append(rec)
    return out


def _check_known(ledger: Ledger, run: int | None, source: str | None) -> None:
    """A run or source the ledger never saw is a mistake to say, not "nothing to undo"."""
    if run is not None:
        runs = [r.id for r in ledger.runs()]
        if run not in runs:
            raise ConfigError(messages.undo_unknown("run", [str(run)], [str(r) for r in runs[-8:]]))
    if source is not None:
        sources = ledger.names_of("source")
        if source not in sources:
            raise ConfigError(messages.undo_unknown("source", [source], sources))


def _stored_names(given: Sequence[str], stored: Sequence[str]) -> list[str]:
    """The ledger's names for the files given: as typed when imported, or the same file by
    another spelling (``./a.csv``, an absolute path, from the folder it was imported in)."""
    by_path = {_where(name): name for name in stored}
    out: list[str] = []
    unknown: list[str] = []
    for name in given:
        if name in stored:
            out.append(name)
        elif _where(name) in by_path:
            out.append(by_path[_where(name)])
        else:
            unknown.append(name)
    if unknown:
        raise ConfigError(messages.undo_unknown("file", unknown, list(stored)))
    return out


def _where(name: str) -> str:
    return str(Path(name).resolve())
