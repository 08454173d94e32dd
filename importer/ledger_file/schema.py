"""What a ledger file is at each schema version, and bringing an opened file to the current one.

The tables of each version and the steps between them (``_MIGRATIONS``); a new ledger's bytes
(``_empty_ledger``); ``_prepare``, run on every open: recognise the file (``_identify``), check it
(writers, ``check.check_integrity``), set its journal, and migrate it (``_migrate``) after a backup
(``_backup``).

Tests that pretend to be a version ahead patch ``SCHEMA_VERSION`` and ``_MIGRATIONS`` here (the
names ``importer.ledger_file`` re-exports are copies).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path, PurePath

from .. import messages
from ..errors import LedgerError
from ..models import RowStatus
from .check import check_integrity
from .durability import _Transaction
from .publish import _fsync_path, _publish, _temp_name

APPLICATION_ID = 0x54474C49  # "TGLI": marks a SQLite file as a toggl-import ledger
SCHEMA_VERSION = 2
MAX_BACKUPS = 20
"""Backups of one schema version beside a ledger (``.schemaN.bak``, ``.schemaN.2.bak``, ...)."""

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
    at TEXT, sent_at REAL, next_payload TEXT, created_run INTEGER)"""
"""Schema 2's rows. ``source_key``: the row's content before names became ids (a re-run skips
created rows by it before resolving anything); ``source``: the stream the row belongs to
(``--source``, default the file's base name); ``key``: its id in the system it came from
(``--key``); ``workspace_id``/``start_epoch``: where and when the entry is, for a ``--mirror``
window; ``at``: Toggl's ``at`` after our last write; ``sent_at``: when its last request was
committed to leave (epoch seconds); ``next_payload``: the body of an update in flight;
``created_run``: the run whose create made the entry (``undo --run``)."""
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
            payload, run_id, updated_at, attempts, source_key, source, workspace_id, start_epoch,
            created_run)
        SELECT id, fingerprint, file, row, state, entry_id, http_status, message, payload, run_id,
            updated_at, attempts, source,
            CASE WHEN state IN ('refused', 'duplicate') THEN NULL ELSE basename(file) END,
            json_extract(payload, '$.workspace_id'),
            CAST(strftime('%s', json_extract(payload, '$.start')) AS INTEGER),
            CASE WHEN state = 'created' THEN run_id END
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


def _run_step(conn: sqlite3.Connection, step: Step) -> None:
    """One migration statement: SQL, or a function that needs Python (schema 1 → 2)."""
    if callable(step):
        step(conn)
    else:
        conn.execute(step)


def _empty_ledger() -> bytes:
    """The bytes of a new ledger at ``SCHEMA_VERSION``, already in WAL mode."""
    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        with _Transaction(mem):
            for step in _MIGRATIONS[:SCHEMA_VERSION]:
                for statement in step:
                    _run_step(mem, statement)
            mem.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            mem.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        data = bytearray(mem.serialize())
    finally:
        mem.close()
    data[18:20] = b"\x02\x02"  # file format read/write versions 2: WAL (sqlite.org/fileformat2.html)
    return bytes(data)


def _prepare(conn: sqlite3.Connection, name: str, readonly: bool, synchronous: str) -> None:
    """Recognise the file, check it (writers), set the journal, and migrate to ``SCHEMA_VERSION``."""
    version = _identify(conn, name, readonly)
    if version < SCHEMA_VERSION and readonly:
        raise LedgerError(f"ledger {name} has an old schema; `toggl-import run` upgrades it")
    if readonly:  # not mode=ro: the last reader out may then tidy away the -wal and -shm files
        conn.execute("PRAGMA query_only = ON")
    else:
        if version:
            check_integrity(conn, name)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA journal_size_limit = 67108864")  # the -wal shrinks back to 64 MB
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA cache_size = -16000")  # 16 MB page cache (the default is 2 MB)
    if version < SCHEMA_VERSION:
        _migrate(conn, Path(name), version)


def _identify(conn: sqlite3.Connection, name: str, readonly: bool) -> int:
    """The file's schema version (0: an empty SQLite database); refuse a foreign or newer one."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"ledger {name} was written by a newer toggl-import (schema {version}; this "
                f"version reads up to {SCHEMA_VERSION}). Upgrade toggl-import "
                "(pip install -U toggl-import), or pass --ledger with another path."
            )
        return version
    if app_id == 0 and not tables:
        if readonly:
            raise LedgerError(f"no ledger at {name}: the file is empty")
        return 0
    what = f"application_id {app_id:#x}" if app_id else "no application id"
    listed = ", ".join(tables[:5]) or "none"
    raise LedgerError(
        f"{name} is a SQLite database of another application ({what}, tables: {listed}), "
        "not a toggl-import ledger; it was left untouched. Pass --ledger with a new path."
    )


def _migrate(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Bring the file from ``version`` to ``SCHEMA_VERSION`` in one transaction; an existing
    ledger (``version`` >= 1) is first copied to a backup beside it."""
    backup = _backup(conn, path, version) if version else None
    try:
        with _Transaction(conn):
            for step in _MIGRATIONS[version:SCHEMA_VERSION]:
                for statement in step:
                    _run_step(conn, statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            if backup is not None and conn.execute("PRAGMA user_version").fetchone()[0] == version:
                backup.unlink(missing_ok=True)  # the ledger is as it was: its copy is not needed
        raise


def _backup(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """A consistent copy of the ledger (WAL included) at the first free ``.schemaN[.K].bak``."""
    for k in range(1, MAX_BACKUPS + 1):
        target = path.with_name(f"{path.name}.schema{version}{'' if k == 1 else f'.{k}'}.bak")
        if os.path.lexists(target):
            continue
        tmp = _temp_name(target)
        tmp.unlink(missing_ok=True)
        try:
            out = sqlite3.connect(tmp)
            try:
                conn.backup(out)
            finally:
                out.close()
            _fsync_path(tmp)
            if _publish(tmp, target):
                return target
        finally:
            tmp.unlink(missing_ok=True)
    raise LedgerError(messages.ledger_backups_taken(path, version, MAX_BACKUPS))
