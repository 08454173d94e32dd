"""The ledger's values: a row as read back, a run, an outcome to record, the buffer of outcomes.

Kept apart from ``ledger.py`` (the database) so that planners and the engine can build and read
them without the SQL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, NamedTuple, Protocol

from .keys import _JSON, position_fingerprint
from .models import RowStatus


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body_text(body: Mapping[str, Any]) -> str:
    """A body as the ledger stores it (compact JSON, UTF-8 as is)."""
    return _JSON.encode(body)


def to_json(payload: Mapping[str, Any] | str | None) -> str | None:
    if payload is None or isinstance(payload, str):
        return payload
    return _JSON.encode(payload)


@dataclass(frozen=True, slots=True)
class RowRecord:
    """One ledger row as read back."""

    fingerprint: str
    file: str
    row: int
    state: RowStatus
    entry_id: int | None
    http_status: int | None
    message: str | None
    payload_json: str | None
    run_id: int | None
    updated_at: str
    attempts: int
    source_key: str | None = None
    source: str | None = None
    key: str | None = None
    workspace_id: int | None = None
    start_epoch: int | None = None
    at: str | None = None
    sent_at: float | None = None
    next_payload_json: str | None = None

    @property
    def payload(self) -> dict[str, Any] | None:
        """The JSON body that was (or will be) posted, parsed on each access."""
        return None if self.payload_json is None else json.loads(self.payload_json)

    body = payload

    @property
    def next_payload(self) -> dict[str, Any] | None:
        """The body of the update in flight (state ``updating``)."""
        return None if self.next_payload_json is None else json.loads(self.next_payload_json)


COLUMNS = (
    "fingerprint, file, row, state, entry_id, http_status, message, payload, run_id, updated_at, "
    "attempts, source_key, source, key, workspace_id, start_epoch, at, sent_at, next_payload"
)
"""The columns of a ``RowRecord``, in its order."""


def row_record(r: Sequence[Any]) -> RowRecord:
    return RowRecord(r[0], r[1], r[2], RowStatus(r[3]), *r[4:])


EXPORTED_TO = "written to a Toggl CSV import file"
"""The message of an ``exported`` row, followed by ``: FILE`` (the file it went to)."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as ``status --runs`` shows it."""

    id: int
    started_at: str
    finished_at: str | None
    summary: str
    command: str
    source: str | None
    workspace_id: int | None
    exit_code: int | None
    created: int
    updated: int
    deleted: int
    failed: int
    conflicts: int


class Op(Enum):
    """How an outcome changes its row (each is one SQL statement, see ``ledger.py``)."""

    SETTLE = "settle"
    """A create's outcome (created, failed, in doubt, pending): rows not yet created."""
    UPDATED = "updated"
    """An update was applied: the row takes its new content (fingerprint, payload) and ``at``."""
    RESTORE = "restore"
    """An update or delete did not happen (refused, conflict): the row is ``created`` as before."""
    DELETED = "deleted"
    """A delete was applied, or the entry was gone already."""
    PER_RUN = "per_run"
    """A fact of this run about an input position (refused, duplicate)."""


class Outcome(NamedTuple):
    """What happened to one row; build with the class methods (a tuple: cheap to make per row)."""

    fingerprint: str
    state: RowStatus
    entry_id: int | None = None
    http_status: int | None = None
    message: str | None = None
    file: str | None = None  # refused / duplicate only: they are inserted, not updated
    row: int | None = None
    payload: str | None = None
    run_id: int | None = None
    at: str | None = None
    op: Op = Op.SETTLE
    new_fingerprint: str | None = None
    source_key: str | None = None

    @classmethod
    def created(
        cls, fingerprint: str, entry_id: int, *, http_status: int | None = None, at: str | None = None
    ) -> Outcome:
        return cls(fingerprint, RowStatus.CREATED, entry_id=int(entry_id), http_status=http_status, at=at)

    @classmethod
    def failed(cls, fingerprint: str, http_status: int | None, message: str) -> Outcome:
        return cls(fingerprint, RowStatus.FAILED, http_status=http_status, message=message)

    @classmethod
    def in_doubt(cls, fingerprint: str, message: str, *, http_status: int | None = None) -> Outcome:
        return cls(fingerprint, RowStatus.IN_DOUBT, http_status=http_status, message=message)

    @classmethod
    def exported(cls, fingerprint: str, file: str | None = None) -> Outcome:
        """Written to a Toggl CSV import file (``file``, kept in the message): read back before it
        is ever posted."""
        return cls(fingerprint, RowStatus.EXPORTED, message=f"{EXPORTED_TO}: {file}" if file else EXPORTED_TO)

    @classmethod
    def pending(cls, fingerprint: str, message: str | None = None) -> Outcome:
        """Certainly not applied (never sent, or read back and absent): may be posted again."""
        return cls(fingerprint, RowStatus.PENDING, message=message)

    @classmethod
    def updated(
        cls,
        fingerprint: str,
        *,
        new_fingerprint: str | None,
        source_key: str | None,
        at: str | None,
        http_status: int | None = None,
    ) -> Outcome:
        """The update in flight was applied: the row now holds its ``next_payload``."""
        return cls(fingerprint, RowStatus.CREATED, at=at, op=Op.UPDATED, http_status=http_status,
                   new_fingerprint=new_fingerprint, source_key=source_key)  # fmt: skip

    @classmethod
    def restored(cls, fingerprint: str, message: str, *, http_status: int | None = None) -> Outcome:
        """An update or delete that did not happen: the row keeps the entry as it was."""
        return cls(fingerprint, RowStatus.CREATED, message=message, http_status=http_status, op=Op.RESTORE)

    @classmethod
    def deleted(
        cls, fingerprint: str, message: str | None = None, *, http_status: int | None = None
    ) -> Outcome:
        return cls(fingerprint, RowStatus.DELETED, message=message, http_status=http_status, op=Op.DELETED)

    @classmethod
    def refused(
        cls,
        file: str,
        row: int,
        message: str,
        *,
        payload: Mapping[str, Any] | None = None,
        run_id: int | None = None,
    ) -> Outcome:
        return cls._per_run(RowStatus.REFUSED, file, row, message, payload, run_id)

    @classmethod
    def duplicate(
        cls,
        file: str,
        row: int,
        message: str = "same entry as an earlier row of this run",
        *,
        payload: Mapping[str, Any] | None = None,
        run_id: int | None = None,
    ) -> Outcome:
        return cls._per_run(RowStatus.DUPLICATE, file, row, message, payload, run_id)

    @classmethod
    def _per_run(
        cls,
        state: RowStatus,
        file: str,
        row: int,
        message: str,
        payload: Mapping[str, Any] | None,
        run_id: int | None,
    ) -> Outcome:
        """A fact of this run about one input position (keyed by position, not content)."""
        return cls(
            position_fingerprint(file, row),
            state,
            message=message,
            file=file,
            row=row,
            payload=to_json(payload),
            run_id=run_id,
            op=Op.PER_RUN,
        )


class PendingRow(NamedTuple):
    """A row about to be posted, for ``add_pending`` (the runner's ``PlannedRow`` fits as well)."""

    fingerprint: str
    file: str
    row: int
    body: Mapping[str, Any] | str | None


class PendingLike(Protocol):
    @property
    def fingerprint(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def row(self) -> int: ...
    @property
    def body(self) -> Mapping[str, Any] | str | None: ...


class RecordBuffer:
    """Outcomes waiting for one transaction; due after ``max_rows`` or ``max_seconds``."""

    def __init__(
        self, *, max_rows: int, max_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_rows, self.max_seconds, self._clock = max_rows, max_seconds, clock
        self._items: list[Outcome] = []
        self._since = 0.0

    def add(self, outcomes: Iterable[Outcome]) -> None:
        if not self._items:
            self._since = self._clock()
        self._items.extend(outcomes)

    @property
    def due(self) -> bool:
        return bool(self._items) and (
            len(self._items) >= self.max_rows or self._clock() - self._since >= self.max_seconds
        )

    def take(self) -> list[Outcome]:
        items, self._items = self._items, []
        return items

    def __len__(self) -> int:
        return len(self._items)
