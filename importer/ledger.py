"""The SQLite result ledger: every input row's outcome, and the map of the entries this tool made.

One row of ``rows`` per input row, keyed by a content ``fingerprint`` (integer primary key, the hash
in a UNIQUE column: a hash as primary key gets slow at 1M rows). States::

    pending ──mark_sending──▶ sending ──record──▶ created(entry_id, at)
       ▲                         │                failed(status, message)
       └───── pending ◀──────────┤                in_doubt(message)   read back before any re-send
          (certainly not sent)   └───────────────▶ (kill -9: stays sending = in doubt)

    created ──mark_updating──▶ updating ──▶ created(new content, at)  | created as before (refused)
    created ──mark_deleting──▶ deleting ──▶ deleted                   | created as before (refused)
    deleted ──add_pending──▶ pending   (the same row in a later run: created anew)
    refused, duplicate           facts of the latest run about one input position (file, row)

A created row is the map of an entry we own: its ``source`` (the stream, ``--source``), ``key``
(``--key``), ``entry_id``, the ``payload`` last written and Toggl's ``at`` after that write. Only
rows of this ledger are ever updated or deleted.

Why a killed run (``kill -9`` included) loses nothing and never duplicates
-------------------------------------------------------------------------
* WAL journal with ``synchronous=NORMAL``: a commit is in the WAL file (the OS page cache) when
  ``COMMIT`` returns, so it survives the process being killed; only a power cut or OS crash may
  lose the last commits. ``Ledger.open(..., synchronous="FULL")`` fsyncs every commit for that case.
* ``mark_sending()`` / ``mark_updating()`` / ``mark_deleting()`` commit before they return (with
  ``sent_at``), and the engine sends a request only after that. So a row whose request may have
  reached Toggl is ``sending``/``updating``/``deleting`` (or final) on disk. An update or a delete
  asked twice does no harm; a create is read back (``unresolved()``), never sent blindly again.
* Outcomes are buffered (``record()``) and written in one transaction when ``flush_rows`` are
  waiting or ``flush_seconds`` have passed, at the next mark (same transaction), on any read,
  ``flush()``, ``finish_run()`` and ``close()``. An outcome lost with the process leaves its row
  in its marked state: the next run reads it back (or asks again). Losing a buffered outcome
  costs a read, never a duplicate. A write that fails drops the outcomes it carried.
* A created row leaves ``created`` only for ``updating`` or ``deleting`` (a trigger aborts
  anything else); ``record()`` of a create's outcome never touches a created row.
* Per-run facts (``refused``, ``duplicate``) are keyed by input position ``(file, row)``, not by
  content (a refused row has no complete payload); a later run overwrites them, and
  ``start_run(files=...)`` drops the previous ones of the files it is about to read.
* Every write transaction also stamps the run's ``heartbeat``: after a kill, the next run knows
  when the dead one last worked (a request it sent may still be applied: read back after it).
* The marks (``mark_sending``/``mark_updating``/``mark_deleting``) commit durably
  (``ledger_file.durable``: one fsync, so they survive a power cut too) and then checkpoint
  (``ledger_file.Checkpoints``, at most every 0.25 s): the main file, the one people copy, holds
  the marks even when its ``-wal`` is left behind.

Two runs on one ledger would both post the same rows: a writer holds an exclusive ``flock`` on the
database file itself (by any path: symlink, hard link, relative), and a second writer gets
``LedgerError``. Readers (``readonly=True``, for ``status``) take no lock: WAL lets them read while
a run writes. Opening, creating, checking, migrating (after a backup) and every error's wording
are in ``ledger_file``: a foreign, empty, damaged or newer file is never reset.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from .errors import LedgerError
from .keys import fingerprint, position_fingerprint, redact
from .ledger_file import (
    APPLICATION_ID,
    RUN_COUNTS,
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
from .ledger_reads import COUNT_KEYS, LedgerReads
from .ledger_records import (
    Outcome,
    PendingLike,
    PendingRow,
    RecordBuffer,
    RowRecord,
    RunRecord,
    now_text,
    to_json,
)
from .ledger_writes import (
    _ADD,
    _DELETING,
    _SENDING,
    _UPDATING,
    _not_sendable,
    _start_text,
    _workspace,
    apply_outcomes,
)

__all__ = [
    "APPLICATION_ID",
    "COUNT_KEYS",
    "SCHEMA_VERSION",
    "SQLITE_MAGIC",
    "Ledger",
    "Outcome",
    "PendingRow",
    "RecordBuffer",
    "RowRecord",
    "RunRecord",
    "fingerprint",
    "position_fingerprint",
    "redact",
]

DEFAULT_FLUSH_ROWS = 256
DEFAULT_FLUSH_SECONDS = 0.25
MEMORY = ":memory:"
P = ParamSpec("P")
R = TypeVar("R")


def _now() -> str:
    return now_text()


def _translated(method: Callable[Concatenate[Ledger, P], R]) -> Callable[Concatenate[Ledger, P], R]:
    @functools.wraps(method)
    def wrapper(self: Ledger, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _ledger_error(self.name, exc) from exc

    return wrapper


class Ledger(LedgerReads):
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
    def buffered(self) -> int:
        """Outcomes recorded but not yet written."""
        return len(self._buffer)

    # -- runs --------------------------------------------------------------------------------------
    @_translated
    def start_run(
        self,
        summary: str,
        workspace_id: int | None,
        *,
        files: Iterable[str] | None = None,
        command: str = "run",
        source: str | None = None,
    ) -> int:
        """Record a new run and make it current; with ``files``, forget their earlier per-run
        facts (refused, duplicate), which this run will find again where they still hold."""
        self._writable()
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (started_at, summary, workspace_id, command, source, heartbeat) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_now(), redact(summary, self._secrets), workspace_id, command, source, time.time()),
            )
            conn.executemany(
                "DELETE FROM rows WHERE state IN ('refused', 'duplicate') AND file = ?",
                [(f,) for f in files or ()],
            )
        assert cur.lastrowid is not None
        self.run_id = cur.lastrowid
        return self.run_id

    @_translated
    def finish_run(self, run_id: int, exit_code: int, counts: Mapping[str, int] | None = None) -> None:
        """Write what is buffered and close the run's record (with its counts), in one transaction."""
        self._writable()
        counts = counts or {}
        sets = ", ".join(f"{name} = ?" for name in RUN_COUNTS)
        finish = f"UPDATE runs SET finished_at = ?, exit_code = ?, {sets} WHERE id = ?"
        values = (_now(), exit_code, *(int(counts.get(n, 0)) for n in RUN_COUNTS), run_id)
        self._write(self._buffer.take(), (), run_sql=(finish, values))

    # -- writes ------------------------------------------------------------------------------------
    @_translated
    def add_pending(
        self,
        rows: Iterable[PendingLike],
        run_id: int | None = None,
        *,
        source: str | None = None,
        keys: Sequence[str | None] | None = None,
        texts: Sequence[str] | None = None,
    ) -> int:
        """Insert as ``pending`` the rows the ledger does not know yet (known rows keep their
        state; a row whose entry was deleted becomes ``pending`` again), in one transaction;
        returns how many were added. ``source`` is the rows' stream (default: each file's base
        name), ``keys`` their ``--key`` values and ``texts`` their bodies as JSON (when the caller
        has them already), aligned with ``rows``."""
        self._writable()
        run, now = run_id if run_id is not None else self.run_id, _now()
        names: dict[str, str] = {}
        values = []
        for i, r in enumerate(rows):
            body = r.body
            stream = source
            if stream is None:
                stream = names.get(r.file) or names.setdefault(r.file, Path(r.file).name)
            values.append((
                r.fingerprint, r.file, r.row, to_json(body) if texts is None else texts[i], run, now,
                getattr(r, "source", None), stream, None if keys is None else keys[i],
                _workspace(body), _start_text(body),
            ))  # fmt: skip
        with self._transaction() as conn:
            return conn.executemany(_ADD, values).rowcount

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

    @_translated
    def mark_updating(self, updates: Sequence[tuple[str, Mapping[str, Any] | str]]) -> None:
        """Commit ``(fingerprint, body)`` rows as ``updating`` with the body about to be PUT.

        Send the PUT only after this returns. Raises ``ValueError`` (marking nothing) for a row
        that is not ``created`` (or already ``updating``).
        """
        self._writable()
        now, at = _now(), time.time()
        values = [(to_json(body), at, self.run_id, now, fp) for fp, body in updates]
        with durable(self.conn):
            self._write(self._buffer.take(), (), marks=(_UPDATING, values, "updating"))
        self._checkpoints.after_commit(self.conn)

    @_translated
    def mark_deleting(self, fingerprints: Sequence[str]) -> None:
        """Commit these created rows as ``deleting``; send each DELETE only after this returns."""
        self._writable()
        now, at = _now(), time.time()
        values = [(at, self.run_id, now, fp) for fp in dict.fromkeys(fingerprints)]
        with durable(self.conn):
            self._write(self._buffer.take(), (), marks=(_DELETING, values, "deleting"))
        self._checkpoints.after_commit(self.conn)

    @_translated
    def set_keys(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """``(fingerprint, source, key)``: give created rows of that source without a key their
        key (a file first imported without ``--key``, now synced with it)."""
        self._writable()
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE rows SET key = ? WHERE fingerprint = ? AND source = ? AND key IS NULL",
                [(key, fp, source) for fp, source, key in rows],
            )

    @_translated
    def forget_pending(self, fingerprints: Sequence[str]) -> None:
        """Remove rows that are only ``pending`` (planned, never sent): a plan taken back."""
        self._writable()
        with self._transaction() as conn:
            conn.executemany(
                "DELETE FROM rows WHERE fingerprint = ? AND state = 'pending'",
                [(fp,) for fp in fingerprints],
            )

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

    # -- internals ---------------------------------------------------------------------------------
    def _writable(self) -> None:
        if self.readonly:
            raise LedgerError(f"ledger {self.name} was opened read-only")

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    def _write(
        self,
        outcomes: Sequence[Outcome],
        sending: Sequence[str],
        run_sql: tuple[str, tuple[Any, ...]] | None = None,
        marks: tuple[str, list[tuple[Any, ...]], str] | None = None,
    ) -> None:
        now = _now()
        with self._transaction() as conn:
            if outcomes:
                apply_outcomes(conn, outcomes, now, self.run_id, self._secrets)
            if sending:
                at = time.time()
                values = [(at, self.run_id, now, fp) for fp in sending]
                if conn.executemany(_SENDING, values).rowcount != len(sending):
                    raise ValueError(_not_sendable(conn, sending))
            if marks is not None:
                sql, values, state = marks
                if conn.executemany(sql, values).rowcount != len(values):
                    raise ValueError(f"cannot mark rows as {state}: not all of them are created rows")
            if run_sql is not None:
                conn.execute(*run_sql)
            if self.run_id is not None:
                conn.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time(), self.run_id))
