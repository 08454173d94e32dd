"""Opening a ledger file: recognise it, lock it, set its journal and migrate its schema.

A foreign, damaged or newer file is never reset: each raises ``LedgerError`` naming the file and
the fix. The file is recognised by ``PRAGMA application_id``; its schema version is ``PRAGMA
user_version``, and migrations run in one transaction.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import IO

from .errors import LedgerError
from .models import RowStatus

APPLICATION_ID = 0x54474C49  # "TGLI": marks a SQLite file as a toggl-import ledger
SCHEMA_VERSION = 2
SQLITE_MAGIC = b"SQLite format 3\x00"

_STATES_1 = "'pending', 'sending', 'created', 'failed', 'refused', 'duplicate', 'in_doubt'"
_STATES = ", ".join(f"'{s.value}'" for s in RowStatus)
_ROWS_2 = f"""CREATE TABLE rows (
    id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL UNIQUE,
    file TEXT NOT NULL, row INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({_STATES})),
    entry_id INTEGER, http_status INTEGER, message TEXT, payload TEXT,
    run_id INTEGER REFERENCES runs(id), updated_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    source_key TEXT, source TEXT, key TEXT, workspace_id INTEGER, start_epoch INTEGER,
    at TEXT, sent_at REAL, next_payload TEXT)"""
"""Schema 2's rows. ``source_key``: the row's content before names became ids (a re-run skips
created rows by it before resolving anything); ``source``: the stream the row belongs to
(``--source``, default the file's base name); ``key``: its id in the system it came from
(``--key``); ``workspace_id``/``start_epoch``: where and when the entry is, for a ``--mirror``
window; ``at``: Toggl's ``at`` after our last write; ``sent_at``: when its last request was
committed to leave (epoch seconds); ``next_payload``: the body of an update in flight."""
_TRIGGER_2 = """CREATE TRIGGER rows_created_is_final BEFORE UPDATE OF state ON rows
    WHEN (OLD.state = 'created' AND NEW.state NOT IN ('created', 'updating', 'deleting', 'deleted'))
      OR (OLD.state = 'updating' AND NEW.state NOT IN ('created', 'updating'))
      OR (OLD.state = 'deleting' AND NEW.state NOT IN ('created', 'deleting', 'deleted'))
    BEGIN SELECT RAISE(ABORT, 'a created row changes only by an update or a delete'); END"""
_INDEXES_2 = (
    "CREATE INDEX rows_state ON rows(state)",
    "CREATE INDEX rows_source_key ON rows(source_key)",
    "CREATE INDEX rows_source ON rows(source, key)",
    "CREATE INDEX rows_owned ON rows(source, workspace_id, start_epoch) WHERE state = 'created'",
    "CREATE INDEX rows_run ON rows(run_id)",
)


def _basename(name: str | None) -> str | None:
    return None if name is None else PurePath(name).name


def _to_schema_2(conn: sqlite3.Connection) -> None:
    """Schema 1 → 2: rows learn their source, key, place in time and Toggl's ``at``; runs their
    command, source and counts. The rows table is rebuilt (its state CHECK lists new states)."""
    conn.create_function("basename", 1, _basename, deterministic=True)
    for column in ("command TEXT NOT NULL DEFAULT 'run'", "source TEXT", "heartbeat REAL",
                   *(f"{n} INTEGER NOT NULL DEFAULT 0" for n in RUN_COUNTS)):  # fmt: skip
        conn.execute(f"ALTER TABLE runs ADD COLUMN {column}")
    conn.execute("DROP TRIGGER rows_created_is_final")
    conn.execute("ALTER TABLE rows RENAME TO rows_1")
    conn.execute(_ROWS_2)
    conn.execute(
        """INSERT INTO rows (id, fingerprint, file, row, state, entry_id, http_status, message,
            payload, run_id, updated_at, attempts, source_key, source, workspace_id, start_epoch)
        SELECT id, fingerprint, file, row, state, entry_id, http_status, message, payload, run_id,
            updated_at, attempts, source,
            CASE WHEN state IN ('refused', 'duplicate') THEN NULL ELSE basename(file) END,
            json_extract(payload, '$.workspace_id'),
            CAST(strftime('%s', json_extract(payload, '$.start')) AS INTEGER)
        FROM rows_1"""
    )
    conn.execute("DROP TABLE rows_1")
    for statement in (_TRIGGER_2, *_INDEXES_2):
        conn.execute(statement)


RUN_COUNTS = ("created", "updated", "deleted", "failed", "conflicts")
"""Counts kept per run (``status --runs``)."""

Step = str | Callable[[sqlite3.Connection], None]
_MIGRATIONS: tuple[tuple[Step, ...], ...] = (
    (  # 0 → 1
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
            summary TEXT NOT NULL, workspace_id INTEGER, exit_code INTEGER)""",
        f"""CREATE TABLE rows (
            id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL UNIQUE,
            file TEXT NOT NULL, row INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ({_STATES_1})),
            entry_id INTEGER, http_status INTEGER, message TEXT, payload TEXT,
            run_id INTEGER REFERENCES runs(id), updated_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, source TEXT)""",
        "CREATE INDEX rows_state ON rows(state)",
        "CREATE INDEX rows_source ON rows(source)",
        """CREATE TRIGGER rows_created_is_final BEFORE UPDATE OF state ON rows
            WHEN OLD.state = 'created' AND NEW.state != 'created'
            BEGIN SELECT RAISE(ABORT, 'a created row never changes state'); END""",
    ),
    (_to_schema_2,),  # 1 → 2
)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


def _check_file(path: Path, readonly: bool) -> None:
    """Refuse what is certainly not a ledger before SQLite touches it."""
    if path.is_dir():
        raise LedgerError(f"ledger {path} is a folder; pass --ledger with a file path")
    if not path.exists():
        if readonly:
            raise LedgerError(
                f"no ledger at {path}: nothing was imported with it yet "
                "(pass --ledger PATH to read another one)"
            )
        if not path.parent.is_dir():
            raise LedgerError(f"cannot create the ledger {path}: no folder {path.parent}")
        return
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head and head != SQLITE_MAGIC:
        raise LedgerError(
            f"{path} is not a toggl-import ledger (not a SQLite database); it was left untouched. "
            "Pass --ledger with another path, or move the file away if it is not needed."
        )


def _acquire_lock(lock_path: Path, name: str) -> IO[bytes]:
    """An exclusive, non-blocking lock on ``<ledger>.lock``, held until the ledger is closed."""
    fh = lock_path.open("a+b")
    try:
        if sys.platform == "win32":
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        fh.seek(0)
        holder = fh.read(32).decode(errors="replace").strip()
        fh.close()
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise LedgerError(
            f"ledger {name} is in use by another run{who}; wait for it to finish, "
            "or pass --ledger with another path"
        ) from exc
    fh.truncate(0)
    fh.write(str(os.getpid()).encode())
    fh.flush()
    return fh


def _prepare(conn: sqlite3.Connection, name: str, readonly: bool, synchronous: str) -> None:
    """Recognise the file, set the journal, and migrate to ``SCHEMA_VERSION``."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"ledger {name} was written by a newer toggl-import (schema {version}; this "
                f"version reads up to {SCHEMA_VERSION}). Upgrade toggl-import "
                "(pip install -U toggl-import), or pass --ledger with another path."
            )
    elif app_id == 0 and not tables:
        if readonly:
            raise LedgerError(f"no ledger at {name}: the file is empty")
        version = 0
    else:
        what = f"application_id {app_id:#x}" if app_id else "no application id"
        listed = ", ".join(tables[:5]) or "none"
        raise LedgerError(
            f"{name} is a SQLite database of another application ({what}, tables: {listed}), "
            "not a toggl-import ledger; it was left untouched. Pass --ledger with a new path."
        )
    if version < SCHEMA_VERSION and readonly:
        raise LedgerError(f"ledger {name} has an old schema; `toggl-import run` upgrades it")
    if readonly:  # not mode=ro: the last reader out may then tidy away the -wal and -shm files
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA journal_size_limit = 67108864")  # the -wal shrinks back to 64 MB
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA cache_size = -16000")  # 16 MB page cache (the default is 2 MB)
    if version < SCHEMA_VERSION:
        with _Transaction(conn):
            for step in _MIGRATIONS[version:SCHEMA_VERSION]:
                for statement in step:
                    if callable(statement):
                        statement(conn)
                    else:
                        conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _ledger_error(name: str, exc: sqlite3.Error) -> LedgerError:
    text = str(exc)
    if "malformed" in text or "not a database" in text:
        return LedgerError(
            f"ledger {name} is damaged ({text}). Keep it: it records which rows were created, and "
            f"a new ledger would post them again. Try `sqlite3 {name} .recover | sqlite3 "
            "recovered.sqlite`, then pass --ledger recovered.sqlite."
        )
    if "locked" in text or "busy" in text:
        return LedgerError(f"ledger {name} is locked by another process ({text}); try again")
    if "readonly" in text or "read-only" in text:
        return LedgerError(f"ledger {name} cannot be written ({text}); check its permissions")
    return LedgerError(f"ledger {name}: {text}")
