"""The SQLite result ledger: every input row's outcome, so that a run resumes exactly once.

One row of ``rows`` per input row, keyed by a content ``fingerprint`` (integer primary key, the hash
in a UNIQUE column: a hash as primary key gets slow at 1M rows). States::

    pending ──mark_sending──▶ sending ──record──▶ created(entry_id)   final, never changes again
       ▲                         │                failed(status, message)
       └───── pending ◀──────────┤                in_doubt(message)   read back before any re-send
          (certainly not sent)   └───────────────▶ (kill -9: stays sending = in doubt)
    refused, duplicate           facts of the latest run about one input position (file, row)

Why a killed run (``kill -9`` included) loses nothing and never duplicates
-------------------------------------------------------------------------
* WAL journal with ``synchronous=NORMAL``: a commit is in the WAL file (the OS page cache) when
  ``COMMIT`` returns, so it survives the process being killed; only a power cut or OS crash may
  lose the last commits. ``Ledger.open(..., synchronous="FULL")`` fsyncs every commit for that case.
* ``mark_sending()`` commits before it returns, and the runner posts a row only after that.
  So a row whose POST may have reached Toggl is ``sending`` (or final) on disk.
* Outcomes are buffered (``record()``) and written in one transaction when ``flush_rows`` are
  waiting or ``flush_seconds`` have passed, at the next ``mark_sending()`` (same transaction), on
  any read, ``flush()``, ``finish_run()`` and ``close()``. An outcome lost with the process
  leaves its row ``sending``: the next run reads it back from Toggl (``unresolved()``) and records
  ``created`` if found, else posts it again. Losing a buffered outcome costs a read, never a
  duplicate. A write that fails drops the outcomes it carried, for the same reason.
* ``created`` is final: updates skip created rows, ``mark_sending()`` refuses them, and a trigger
  aborts any change of a created row's state.
* Per-run facts (``refused``, ``duplicate``) are keyed by input position ``(file, row)``, not by
  content (a refused row has no complete payload); a later run overwrites them, and
  ``start_run(files=...)`` drops the previous ones of the files it is about to read.
* ``mark_sending()`` commits durably (``ledger_file.durable``: one fsync, so the marks survive a
  power cut too) and then checkpoints (``ledger_file.Checkpoints``, at most every 0.25 s): the
  main file, the one people copy, holds the marks even when its ``-wal`` is left behind.

Two runs on one ledger would both post the same rows: a writer holds an exclusive ``flock`` on the
database file itself (by any path: symlink, hard link, relative), and a second writer gets
``LedgerError``. Readers (``readonly=True``, for ``status``) take no lock: WAL lets them read while
a run writes. Opening, creating, checking, migrating (after a backup) and every error's wording
are in ``ledger_file``: a foreign, empty, damaged or newer file is never reset.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, Literal, NamedTuple, ParamSpec, Protocol, TypeVar, overload

from .errors import LedgerError
from .keys import _JSON, fingerprint, position_fingerprint, redact
from .ledger_file import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    SQLITE_MAGIC,
    Checkpoints,
    FileHold,
    _ledger_error,
    _prepare,
    _Transaction,
    durable,
    hold_file,
)
from .models import RowStatus

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "SQLITE_MAGIC",
    "Ledger",
    "Outcome",
    "PendingRow",
    "RecordBuffer",
    "RowRecord",
    "fingerprint",
    "position_fingerprint",
    "redact",
]

MAX_PARAMS = 900  # bound parameters per statement (SQLite builds before 3.32 allow 999)
DEFAULT_FLUSH_ROWS = 256
DEFAULT_FLUSH_SECONDS = 0.25
MEMORY = ":memory:"
COUNT_KEYS = ("created", "failed", "in_doubt", "duplicate", "pending", "refused", "total")
"""``counts()`` keys. ``in_doubt`` includes ``sending``: both may be in Toggl and are read back."""

_PER_RUN = frozenset({RowStatus.REFUSED, RowStatus.DUPLICATE})
_COLUMNS = (
    "fingerprint, file, row, state, entry_id, http_status, message, payload, run_id, updated_at, attempts"
)
_UPDATE = """UPDATE rows SET state = ?, entry_id = ?, http_status = ?, message = ?,
    run_id = coalesce(?, run_id), updated_at = ? WHERE fingerprint = ? AND state != 'created'"""
_UPSERT = """INSERT INTO rows (fingerprint, file, row, state, http_status, message, payload, run_id,
    updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO UPDATE SET
    file = excluded.file, row = excluded.row, state = excluded.state,
    http_status = excluded.http_status, message = excluded.message, payload = excluded.payload,
    run_id = excluded.run_id, updated_at = excluded.updated_at WHERE rows.state != 'created'"""
_SENDING = """UPDATE rows SET state = 'sending', attempts = attempts + 1,
    run_id = coalesce(?, run_id), updated_at = ? WHERE fingerprint = ? AND state != 'created'"""

P = ParamSpec("P")
R = TypeVar("R")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- values ----------------------------------------------------------------------------------------
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

    @property
    def payload(self) -> dict[str, Any] | None:
        """The JSON body that was (or will be) posted, parsed on each access."""
        return None if self.payload_json is None else json.loads(self.payload_json)

    body = payload


def _record(r: Sequence[Any]) -> RowRecord:
    return RowRecord(r[0], r[1], r[2], RowStatus(r[3]), *r[4:])


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

    @classmethod
    def created(cls, fingerprint: str, entry_id: int, *, http_status: int | None = None) -> Outcome:
        return cls(fingerprint, RowStatus.CREATED, entry_id=int(entry_id), http_status=http_status)

    @classmethod
    def failed(cls, fingerprint: str, http_status: int | None, message: str) -> Outcome:
        return cls(fingerprint, RowStatus.FAILED, http_status=http_status, message=message)

    @classmethod
    def in_doubt(cls, fingerprint: str, message: str, *, http_status: int | None = None) -> Outcome:
        return cls(fingerprint, RowStatus.IN_DOUBT, http_status=http_status, message=message)

    @classmethod
    def pending(cls, fingerprint: str, message: str | None = None) -> Outcome:
        """Certainly not applied (never sent, or read back and absent): may be posted again."""
        return cls(fingerprint, RowStatus.PENDING, message=message)

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
            payload=_json(payload),
            run_id=run_id,
        )


def _json(payload: Mapping[str, Any] | str | None) -> str | None:
    if payload is None or isinstance(payload, str):
        return payload
    return _JSON.encode(payload)


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


# -- the ledger ------------------------------------------------------------------------------------
def _translated(method: Callable[Concatenate[Ledger, P], R]) -> Callable[Concatenate[Ledger, P], R]:
    @functools.wraps(method)
    def wrapper(self: Ledger, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _ledger_error(self.name, exc) from exc

    return wrapper


class Ledger:
    """The result ledger of one file (or ``":memory:"``). Open with ``Ledger.open``."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        name: str,
        lock: FileHold | None,
        *,
        readonly: bool,
        secrets: Sequence[str],
        buffer: RecordBuffer,
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.name = name
        self._lock = lock
        self.readonly = readonly
        self._secrets = tuple(secrets)
        self._buffer = buffer
        self._checkpoints = Checkpoints()
        self.run_id: int | None = None
        """The run started by ``start_run``: outcomes without a run id are stamped with it."""

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        readonly: bool = False,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        secrets: Iterable[str] = (),
        flush_rows: int = DEFAULT_FLUSH_ROWS,
        flush_seconds: float = DEFAULT_FLUSH_SECONDS,
    ) -> Ledger:
        """Open (creating or upgrading if needed) a ledger; ``readonly`` for status and dry runs.

        Raises ``LedgerError`` for a file that is not a toggl-import ledger, is damaged, was written
        by a newer version, or is in use by another run.
        """
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        name = str(path)
        memory = name == MEMORY
        if memory and readonly:
            raise ValueError("an in-memory ledger cannot be opened read-only")
        lock: FileHold | None = None
        conn: sqlite3.Connection | None = None
        try:
            if not memory:
                lock = hold_file(Path(path), readonly=readonly)
            conn = sqlite3.connect(name, isolation_level=None, timeout=5.0)
            _prepare(conn, name, readonly, synchronous)
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if lock is not None:  # after the connection: closing the file drops SQLite's locks
                lock.release()
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise _ledger_error(name, exc) from exc
            raise
        buffer = RecordBuffer(max_rows=flush_rows, max_seconds=flush_seconds)
        return cls(conn, name, lock, readonly=readonly, secrets=list(secrets), buffer=buffer)

    def close(self) -> None:
        """Write buffered outcomes, close the database and release the lock. Idempotent."""
        if self._conn is None:
            return
        try:
            if len(self._buffer):
                self.flush()
        finally:
            self._conn.close()
            self._conn = None
            if self._lock is not None:  # after the connection: closing the file drops its locks
                self._lock.release()
                self._lock = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LedgerError(f"ledger {self.name} is closed")
        return self._conn

    @property
    def buffered(self) -> int:
        """Outcomes recorded but not yet written."""
        return len(self._buffer)

    # -- runs --------------------------------------------------------------------------------------
    @_translated
    def start_run(self, summary: str, workspace_id: int | None, *, files: Iterable[str] | None = None) -> int:
        """Record a new run and make it current; with ``files``, forget their earlier per-run
        facts (refused, duplicate), which this run will find again where they still hold."""
        self._writable()
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (started_at, summary, workspace_id) VALUES (?, ?, ?)",
                (_now(), redact(summary, self._secrets), workspace_id),
            )
            conn.executemany(
                "DELETE FROM rows WHERE state IN ('refused', 'duplicate') AND file = ?",
                [(f,) for f in files or ()],
            )
        assert cur.lastrowid is not None
        self.run_id = cur.lastrowid
        return self.run_id

    @_translated
    def finish_run(self, run_id: int, exit_code: int) -> None:
        """Write what is buffered and close the run's record, in one transaction."""
        self._writable()
        finish = "UPDATE runs SET finished_at = ?, exit_code = ? WHERE id = ?"
        self._write(self._buffer.take(), (), run_sql=(finish, (_now(), exit_code, run_id)))

    # -- writes ------------------------------------------------------------------------------------
    @_translated
    def add_pending(self, rows: Iterable[PendingLike], run_id: int | None = None) -> int:
        """Insert as ``pending`` the rows the ledger does not know yet (known rows keep their
        state), in one transaction; returns how many were new."""
        self._writable()
        run, now = run_id if run_id is not None else self.run_id, _now()
        values = [
            (r.fingerprint, r.file, r.row, _json(r.body), run, now, getattr(r, "source", None))
            for r in rows
        ]
        with self._transaction() as conn:
            return conn.executemany(
                "INSERT OR IGNORE INTO rows (fingerprint, file, row, state, payload, run_id, "
                "updated_at, source) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)",
                values,
            ).rowcount

    @_translated
    def mark_sending(self, fingerprints: Sequence[str]) -> None:
        """Commit these rows as ``sending`` (with the buffered outcomes, in one transaction).

        Post a row only after this returns. Raises ``ValueError`` — and marks nothing — if a row
        is unknown (``add_pending`` it first) or already ``created`` (it must never be posted).
        """
        self._writable()
        with durable(self.conn):  # the marks that guard against duplicates survive a power cut
            self._write(self._buffer.take(), list(dict.fromkeys(fingerprints)))
        self._checkpoints.after_commit(self.conn)  # and the main file, should it be copied alone

    def record(self, outcomes: Iterable[Outcome]) -> None:
        """Buffer outcomes; they are written together when due (see the module docstring)."""
        self._writable()
        self._buffer.add(outcomes)
        if self._buffer.due:
            self.flush()

    def record_refused(
        self, file: str, row: int, column: str | None, message: str, run_id: int | None = None
    ) -> None:
        where = f"column {column!r}: " if column else ""
        self.record([Outcome.refused(file, row, where + message, run_id=run_id)])

    def record_duplicate(
        self,
        file: str,
        row: int,
        fingerprint: str,
        run_id: int | None = None,
        *,
        message: str | None = None,
    ) -> None:
        text = message or f"same entry as an earlier row of this run ({fingerprint[:12]})"
        self.record([Outcome.duplicate(file, row, text, run_id=run_id)])

    @_translated
    def flush(self) -> None:
        """Write the buffered outcomes now, in one transaction."""
        items = self._buffer.take()
        if items:
            self._write(items, ())

    # -- reads (each first writes what is buffered) ------------------------------------------------
    @_translated
    def known(self, fingerprints: Sequence[str]) -> dict[str, RowRecord]:
        """The ledger's rows among ``fingerprints`` (any number; looked up in chunks)."""
        self.flush()
        found: dict[str, RowRecord] = {}
        keys = list(fingerprints)
        for lo in range(0, len(keys), MAX_PARAMS):
            chunk = keys[lo : lo + MAX_PARAMS]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {_COLUMNS} FROM rows WHERE fingerprint IN ({marks})"
            for r in self.conn.execute(sql, chunk):
                found[r[0]] = _record(r)
        return found

    @_translated
    def created_sources(self, sources: Sequence[str]) -> dict[str, RowRecord]:
        """Created rows among the *source keys* (a row's content before names became ids).

        A re-run checks these first: rows created earlier are skipped before any name is
        resolved, so a second run over an imported file makes no request at all.
        """
        self.flush()
        found: dict[str, RowRecord] = {}
        keys = list(sources)
        for lo in range(0, len(keys), MAX_PARAMS):
            chunk = keys[lo : lo + MAX_PARAMS]
            marks = ",".join("?" * len(chunk))
            sql = (
                f"SELECT source, {_COLUMNS} FROM rows WHERE state = 'created' "
                f"AND source IN ({marks})"
            )
            for r in self.conn.execute(sql, chunk):
                found[r[0]] = _record(r[1:])
        return found

    def unresolved(self) -> Iterator[RowRecord]:
        """Rows ``sending`` or ``in_doubt``: their POST may have been applied; read them back."""
        return self._pages("state IN ('sending', 'in_doubt')", ())

    def rows_for_report(self, run_id: int | None = None) -> Iterator[RowRecord]:
        """Every row (or those last written by ``run_id``), in the order they were first added."""
        if run_id is None:
            return self._pages("1", ())
        return self._pages("run_id = ?", (run_id,))

    @_translated
    def created_entry_ids(self) -> set[int]:
        """Entry ids already owned by a created row (reconciliation must not claim them again)."""
        self.flush()
        sql = "SELECT entry_id FROM rows WHERE state = 'created' AND entry_id IS NOT NULL"
        return {r[0] for r in self.conn.execute(sql)}

    @overload
    def counts(self, by_file: Literal[False] = False) -> dict[str, int]: ...
    @overload
    def counts(self, by_file: Literal[True]) -> dict[str, dict[str, int]]: ...

    def counts(self, by_file: bool = False) -> dict[str, int] | dict[str, dict[str, int]]:
        """Rows per state (``COUNT_KEYS``; ``sending`` counted as ``in_doubt``), or per file."""
        table = self._count(by_file)
        return table if by_file else table.get("", dict.fromkeys(COUNT_KEYS, 0))

    @_translated
    def _count(self, by_file: bool) -> dict[str, dict[str, int]]:
        self.flush()
        if not by_file:
            sql = "SELECT '', state, count(*) FROM rows GROUP BY state"
        else:
            sql = "SELECT file, state, count(*) FROM rows GROUP BY file, state ORDER BY file"
        table: dict[str, dict[str, int]] = {}
        for file, state, n in self.conn.execute(sql):
            tally = table.setdefault(file, dict.fromkeys(COUNT_KEYS, 0))
            tally["in_doubt" if state == RowStatus.SENDING else state] += n
            tally["total"] += n
        return table

    # -- internals ---------------------------------------------------------------------------------
    def _writable(self) -> None:
        if self.readonly:
            raise LedgerError(f"ledger {self.name} was opened read-only")

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    def _pages(self, where: str, params: tuple[Any, ...], size: int = 500) -> Iterator[RowRecord]:
        """Rows by id, fetched a page at a time (the caller may write between pages)."""
        sql = f"SELECT id, {_COLUMNS} FROM rows WHERE ({where}) AND id > ? ORDER BY id LIMIT ?"
        last = 0
        while True:
            try:
                self.flush()
                page = self.conn.execute(sql, (*params, last, size)).fetchall()
            except sqlite3.Error as exc:
                raise _ledger_error(self.name, exc) from exc
            for r in page:
                yield _record(r[1:])
            if len(page) < size:
                return
            last = page[-1][0]

    def _write(
        self,
        outcomes: Sequence[Outcome],
        sending: Sequence[str],
        run_sql: tuple[str, tuple[Any, ...]] | None = None,
    ) -> None:
        now = _now()
        with self._transaction() as conn:
            if outcomes:
                self._apply(conn, outcomes, now)
            if sending:
                values = [(self.run_id, now, fp) for fp in sending]
                if conn.executemany(_SENDING, values).rowcount != len(sending):
                    raise ValueError(_not_sendable(conn, sending))
            if run_sql is not None:
                conn.execute(*run_sql)

    def _apply(self, conn: sqlite3.Connection, outcomes: Sequence[Outcome], now: str) -> None:
        updates: list[tuple[Any, ...]] = []
        upserts: list[tuple[Any, ...]] = []
        for o in outcomes:
            run = o.run_id if o.run_id is not None else self.run_id
            text = redact(o.message, self._secrets) if o.message and self._secrets else o.message
            if o.state in _PER_RUN:
                upserts.append(
                    (o.fingerprint, o.file, o.row, o.state.value, o.http_status, text, o.payload, run, now)
                )
            elif o.state == RowStatus.SENDING:
                raise ValueError("use mark_sending(), not record(), for the sending state")
            else:
                updates.append((o.state.value, o.entry_id, o.http_status, text, run, now, o.fingerprint))
        if updates and conn.executemany(_UPDATE, updates).rowcount < len(updates):
            missing = _unknown(conn, [u[-1] for u in updates])
            if missing:
                raise ValueError(f"outcome for rows never added (add_pending first): {missing[:3]}")
        if upserts:
            conn.executemany(_UPSERT, upserts)


def _unknown(conn: sqlite3.Connection, fingerprints: Sequence[str]) -> list[str]:
    known: set[str] = set()
    keys = list(dict.fromkeys(fingerprints))
    for lo in range(0, len(keys), MAX_PARAMS):
        chunk = keys[lo : lo + MAX_PARAMS]
        sql = f"SELECT fingerprint FROM rows WHERE fingerprint IN ({','.join('?' * len(chunk))})"
        known.update(r[0] for r in conn.execute(sql, chunk))
    return [fp for fp in keys if fp not in known]


def _not_sendable(conn: sqlite3.Connection, fingerprints: Sequence[str]) -> str:
    missing = _unknown(conn, fingerprints)
    created = [
        fp
        for fp in fingerprints
        if fp not in missing
        and conn.execute("SELECT 1 FROM rows WHERE fingerprint = ? AND state = 'created'", (fp,)).fetchone()
    ]
    return (
        f"cannot mark rows as sending: {len(missing)} unknown (add_pending first) {missing[:3]}, "
        f"{len(created)} already created (never post them again) {created[:3]}"
    )


