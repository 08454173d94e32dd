"""The only writer of outcomes: one call per fact, and the ledger, the report and the summary agree.

Planners hand it what they decided without a request (refused, skipped, duplicate, unchanged,
conflict); the executor what Toggl answered (created, updated, deleted, failed, in doubt) and what
it did not send (pending). In a dry run there is no ledger to write: ``would`` reports each
action as the plan word the real run would act on (``create``, ``update``, ``delete``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from .. import messages
from ..errors import PermanentError
from ..ledger import Ledger, Outcome, RowRecord
from ..models import RowError
from ..report import PayloadWriter, ReportWriter, Summary
from .actions import Action, Kind

NOT_SENT = "not sent: the run stopped early; run again to resume"


class Recorder:
    """Ledger batch + report line + summary count, for one run."""

    def __init__(
        self,
        summary: Summary,
        *,
        ledger: Ledger | None,
        report: ReportWriter | None = None,
        payloads: PayloadWriter | None = None,
        dry_run: bool = False,
        undo: bool = False,
    ) -> None:
        self.summary = summary
        self.refused_lanes: dict[str, str] = {}
        """A dry run's people whose token Toggl refused: what their actions would meet."""
        self.delete_reason = "undone" if undo else "its row is no longer in the files"
        """Why an entry is deleted, for the report: an undo's, or a mirror's."""
        self.ledger = ledger if ledger is not None and not ledger.readonly else None
        """The ledger written to (``None`` in a dry run: nothing is written)."""
        self._report = report
        self._payloads = payloads
        self.dry_run = dry_run

    def line(self, file: str, row: int, status: str, entry_id: int | None = None,
             http_status: int | None = None, message: str = "") -> None:  # fmt: skip
        if self._report is not None:
            self._report.write(file, row, status, entry_id, http_status, message)

    def _record(self, *outcomes: Outcome) -> None:
        if self.ledger is not None:
            self.ledger.record(outcomes)

    # -- what planning decided -------------------------------------------------------------------
    def refused(self, err: RowError) -> None:
        s = self.summary
        s.refused += 1
        s.refused_by_reason[err.reason] += 1
        column = f" [{err.column}]" if err.column else ""
        s.add_example(err.reason, f"{err.file} row {err.row}{column}: {err.message}")
        where = f"column {err.column!r}: " if err.column else ""
        self.line(err.file, err.row, "refused", message=f"{where}{err.message}")
        if self.ledger is not None:
            self.ledger.record_refused(err.file, err.row, err.column, err.message, self.ledger.run_id)

    def skipped(self, err: RowError) -> None:
        self.summary.skipped += 1
        self.line(err.file, err.row, "skipped", message=err.message)

    def duplicate(
        self, file: str, row: int, first_row: int, first_file: str | None, fingerprint: str
    ) -> None:
        self.summary.duplicate += 1
        message = messages.duplicate_row(first_row, first_file if first_file and first_file != file else None)
        self.line(file, row, "duplicate", message=message)
        self.summary.add_example("duplicate", f"{file} row {row}: {message}")
        if self.ledger is not None:
            self.ledger.record_duplicate(file, row, fingerprint, self.ledger.run_id, message=message)

    def done(self, file: str, row: int, entry_id: int | None) -> None:
        """Created by an earlier run and unchanged: nothing to send."""
        self.summary.already_done += 1
        if self.dry_run:
            self.line(file, row, "unchanged", entry_id, message="created by an earlier run; nothing to send")
        else:
            self.line(file, row, "created", entry_id)

    def failed_before(self, file: str, row: int, rec: RowRecord) -> None:
        """Refused by Toggl in an earlier run; not sent again without ``--retry-failed``."""
        s = self.summary
        message = f"{rec.message} (earlier run; --retry-failed to retry)"
        s.failed += 1
        s.failed_by_reason[f"HTTP {rec.http_status}"] += 1
        s.add_example(f"HTTP {rec.http_status}", f"{file} row {row}: {message}")
        self.line(file, row, "failed", None, rec.http_status, message)

    def conflict(self, file: str, row: int, entry_id: int | None, message: str) -> None:
        """An entry changed or deleted in Toggl since we wrote it: left as it is."""
        s = self.summary
        s.conflict += 1
        s.add_example("conflict", f"{file} row {row}: {message}")
        self.line(file, row, "conflict", entry_id, message=message)

    def emit(self, file: str, row: int, planned: Any) -> None:
        """``--emit-payloads``: the body a row's create is (or would be) posted with (read only
        when it is asked for: a dry run without it never builds a body)."""
        if self._payloads is not None:
            self._payloads.write(file, row, planned.body, getattr(planned, "creates", None))

    def would(self, action: Action) -> None:
        """A dry run: the real run would send this."""
        s = self.summary
        refused = self.refused_lanes.get(action.lane)
        if refused is not None:  # their token was refused: not sent, as in the real run
            s.pending += 1
            s.count(action.lane, "pending")
            self.line(action.file, action.row, "pending", action.entry_id, message=refused)
            return
        s.count(action.lane, "to_post")
        if action.kind is Kind.CREATE:
            s.to_post += 1
            creates = action.creates
            message = messages.would_create(list(creates.items())) if creates else "would be posted"
            self.line(action.file, action.row, "create", message=message)
        elif action.kind is Kind.UPDATE:
            s.to_update += 1
            self.line(action.file, action.row, "update", action.entry_id,
                      message="would be updated: the row changed")  # fmt: skip
        else:
            s.to_delete += 1
            self.line(action.file, action.row, "delete", action.entry_id,
                      message=f"would be deleted: {self.delete_reason}")  # fmt: skip

    # -- before a request leaves ---------------------------------------------------------------
    def mark(self, actions: Sequence[Action]) -> None:
        """Commit each action's state (``sending``/``updating``/``deleting``) before it leaves."""
        ledger = self.ledger
        assert ledger is not None, "a dry run sends nothing"
        creates = [a.fingerprint for a in actions if a.kind is Kind.CREATE]
        updates = [(a.fingerprint, a.body) for a in actions if a.kind is Kind.UPDATE]
        deletes = [a.fingerprint for a in actions if a.kind is Kind.DELETE]
        if creates or not (updates or deletes):
            ledger.mark_sending(creates)
        if updates:
            ledger.mark_updating(updates)
        if deletes:
            ledger.mark_deleting(deletes)

    # -- what Toggl answered -------------------------------------------------------------------
    def created(self, action: Action, entry_id: int, at: str | None = None) -> None:
        self.summary.created += 1
        self.summary.count(action.lane, "created")
        self._record(Outcome.created(action.fingerprint, entry_id, at=at))
        self.line(action.file, action.row, "created", entry_id)

    def updated(self, action: Action, at: str | None) -> None:
        self.summary.updated += 1
        self.summary.count(action.lane, "updated")
        self._record(Outcome.updated(action.fingerprint, new_fingerprint=action.new_fingerprint,
                                     source_key=action.source_key, at=at))  # fmt: skip
        self.line(action.file, action.row, "updated", action.entry_id)

    def deleted(self, action: Action, *, gone: bool = False) -> None:
        """The entry is deleted (``gone``: it was already, a 404)."""
        self.summary.deleted += 1
        self.summary.count(action.lane, "deleted")
        why = "it was already gone in Toggl" if gone else self.delete_reason
        self._record(
            Outcome.deleted(action.fingerprint, f"deleted: {why}", http_status=404 if gone else None)
        )
        self.line(action.file, action.row, "deleted", action.entry_id, message=f"deleted: {why}")

    def failed(self, action: Action, exc: PermanentError) -> None:
        s = self.summary
        message = exc.text or str(exc)
        s.failed += 1
        s.count(action.lane, "failed")
        s.failed_by_reason[f"HTTP {exc.status}: {textwrap.shorten(message, 60, placeholder='…')}"] += 1
        s.add_example(f"HTTP {exc.status}", f"{action.file} row {action.row}: {message}")
        if action.kind is Kind.CREATE:
            self._record(Outcome.failed(action.fingerprint, exc.status, message))
        else:  # the entry stays as it was
            self._record(Outcome.restored(action.fingerprint, message, http_status=exc.status))
        self.line(action.file, action.row, "failed", action.entry_id, exc.status, message)

    def gone(self, action: Action, message: str) -> None:
        """An update whose entry is gone (404): a conflict; the row keeps what it had."""
        self._record(Outcome.restored(action.fingerprint, message, http_status=404))
        self.conflict(action.file, action.row, action.entry_id, message)

    def in_doubt(self, action: Action, message: str) -> None:
        """A create whose answer was lost: read back before anything else."""
        self._record(Outcome.in_doubt(action.fingerprint, message))

    def still_unknown(self, file: str, row: int) -> None:
        """A row an earlier run left in doubt (or exported) that could not be read back yet."""
        self.summary.in_doubt += 1
        self.line(file, row, "in_doubt", message=messages.maybe_in_toggl(planned=self.dry_run))

    def still_in_doubt(self, action: Action) -> None:
        self.summary.in_doubt += 1
        self.line(
            action.file, action.row, "in_doubt", message="no answer and not found yet; run again to check"
        )

    def not_sent(
        self, actions: Sequence[Action], message: str = NOT_SENT, http_status: int | None = None
    ) -> None:
        """Certainly not applied: a create goes back to ``pending``; an update or delete stays
        marked (asking again is harmless) and the next run asks again."""
        if not actions:
            return
        self.summary.pending += len(actions)
        self._record(*(Outcome.pending(a.fingerprint) for a in actions if a.kind is Kind.CREATE))
        for a in actions:
            self.summary.count(a.lane, "pending")
            self.line(a.file, a.row, "pending", a.entry_id, http_status, message)

    def held_back(self, actions: Sequence[Action], refused: int) -> None:
        """``--all-or-nothing`` with refused rows: nothing of the plan is sent."""
        message = messages.all_or_nothing_held(refused)
        self.summary.held_back += len(actions)
        if not self.dry_run:
            self.summary.pending += len(actions)
        for a in actions:
            self.line(a.file, a.row, "pending", a.entry_id, message=message)

    def repaired(self, action: Action, copies: Sequence[int]) -> None:
        """Extra entries of one row (a request applied late) were deleted."""
        self.summary.repaired += len(copies)
        ids = ", ".join(str(i) for i in copies)
        self.summary.add_example("repaired", f"{action.file} row {action.row}: deleted the second copy {ids}")
