"""Opening a ledger file: recognise it, hold and lock it, check it, set its journal, migrate it.

A foreign, empty, damaged or newer file is never reset: each raises ``LedgerError`` naming the file
and the fix. The file is recognised by ``PRAGMA application_id``; its schema version is ``PRAGMA
user_version``.

* **Created whole.** A new ledger is built in memory, written to ``<ledger>.new-<pid>``, fsynced
  and hard-linked into place (``link`` never replaces a file): a kill at any moment leaves either
  no ledger or a complete empty one, never the zero-length file that a later run could not tell
  from a failed copy. A zero-length file is refused (``messages.ledger_empty``).
* **One lock per file, not per path.** A writer takes an exclusive ``flock`` on a descriptor of the
  database file itself, held until it closes: a symlink, a hard link, ``./x`` and ``/abs/x`` reach
  one inode, hence one lock. ``flock`` and the POSIX (``fcntl``) locks SQLite takes do not interact
  on local file systems (Linux, BSD, macOS; over NFS they do, but WAL does not work there anyway).
  The kernel knows the holder: on Linux the message names its pid (``/proc/locks``); no lock file
  is written. An older version's ``<ledger>.lock`` is still honoured when it is there. A file with
  several hard links is refused to writers: SQLite keeps the ``-wal`` beside the *name* it opened,
  so after a crash a run through another name would miss what is in it -- and a later run through
  the first name would replay it over newer writes.
* **One descriptor per file per process.** Closing *any* descriptor of a file drops every POSIX
  lock the process holds on it -- SQLite's shared lock too, which is what stops another process's
  last connection from checkpointing and deleting the ``-wal`` under a live one. So every
  ``Ledger`` of this process on one file shares one descriptor, closed after the last connection.
* **Checked before it is written.** A writer's open runs ``PRAGMA quick_check`` (up to
  ``QUICK_CHECK_MAX_PAGES``; ~1.2 s on a 1M-row ledger), or on larger files a walk of every page of
  every b-tree with each index's count matched to its table's (~0.2 s at 1M rows). A damaged file
  is left untouched; what can still be read is copied to ``<ledger>.recovered.sqlite``.
* **Migrated in place after a backup.** An existing file of an older schema is first copied with
  SQLite's backup API to ``<ledger>.schema<N>.bak`` (never over an existing file), then migrated in
  one transaction; a migration that fails leaves the ledger as it was and drops that copy.
* **Durable where it guards.** ``durable(conn)``: the commits inside it are fsynced
  (``synchronous=FULL`` for them only); ``Checkpoints`` copies the WAL into the main file after a
  batch, at most every ``CHECKPOINT_SECONDS``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import IO

from . import messages
from .errors import LedgerError, LedgerFullError
from .models import RowStatus

APPLICATION_ID = 0x54474C49  # "TGLI": marks a SQLite file as a toggl-import ledger
SCHEMA_VERSION = 2
SQLITE_MAGIC = b"SQLite format 3\x00"
QUICK_CHECK_MAX_PAGES = 25_000
"""Up to this many pages (100 MB, ~250k rows) a writer's open runs ``PRAGMA quick_check``; above,
the cheaper walk of every b-tree (``_walk``)."""
MAX_BACKUPS = 20
"""Backups of one schema version beside a ledger (``.schemaN.bak``, ``.schemaN.2.bak``, ...)."""
CHECKPOINT_SECONDS = 0.25
"""The main file lags the WAL by at most a batch of ``sending`` marks or this long, whichever is
more (``Checkpoints``)."""
RECOVER_PROBES = 1_000_000
"""Range reads a recovery makes at most, when bisecting around damaged pages."""

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


# -- durability ------------------------------------------------------------------------------------
@contextlib.contextmanager
def durable(conn: sqlite3.Connection) -> Iterator[None]:
    """Make the commits inside fsync (``synchronous=FULL``), then go back to the connection's level.

    For the one commit that must survive a power cut: rows marked ``sending`` (``updating``,
    ``deleting``) before their requests leave. In WAL mode a FULL commit fsyncs the WAL, which
    covers the NORMAL commits before it too: one fsync per batch. Wrap the whole transaction.
    """
    if conn.in_transaction:
        raise RuntimeError("durable() must wrap a whole transaction, not run inside one")
    level = conn.execute("PRAGMA synchronous").fetchone()[0]
    if level >= 2:  # FULL or EXTRA already
        yield
        return
    conn.execute("PRAGMA synchronous = FULL")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA synchronous = {level}")


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy what the WAL holds into the main file, without waiting for readers (``PASSIVE``)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


class Checkpoints:
    """Checkpoint after a commit, at most every ``CHECKPOINT_SECONDS``.

    The main file is what a person copies (often without its ``-wal``, which after a ``kill -9``
    holds every write since the last checkpoint): after a batch of ``sending`` marks it should hold
    them. A checkpoint costs about two batches' durable commits (``bench/bench_ledger.py``), so at
    the sandbox's thousands of rows a second one per batch would double what the ledger costs; at
    Toggl's one request a second every batch is further apart than this and is checkpointed.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = -CHECKPOINT_SECONDS

    def after_commit(self, conn: sqlite3.Connection) -> None:
        now = self._clock()
        if now - self._last >= CHECKPOINT_SECONDS:
            checkpoint(conn)
            self._last = self._clock()


# -- holding the file ------------------------------------------------------------------------------
@dataclass(eq=False)
class _Descriptor:
    """This process's one descriptor of a database file, shared by its ledgers on that file."""

    fd: int
    key: tuple[int, int]
    users: int = 0
    writer: bool = False
    spare: list[int] = field(default_factory=list)  # descriptors that must outlive the connections


_OPEN: dict[tuple[int, int], _Descriptor] = {}
_OPEN_LOCK = threading.Lock()


class FileHold:
    """What a ``Ledger`` holds on its file until it closes: a share of the process's descriptor
    of it and, for a writer, the exclusive lock. Release it after closing the connection."""

    def __init__(self, descriptor: _Descriptor, writer: bool, legacy: IO[bytes] | None) -> None:
        self._descriptor: _Descriptor | None = descriptor
        self.writer = writer
        self._legacy = legacy

    def release(self) -> None:
        """Unlock, and close the descriptor if no other ledger of this process uses it. Idempotent."""
        d, self._descriptor = self._descriptor, None
        if d is None:
            return
        with _OPEN_LOCK:
            if self.writer:
                _unlock(d.fd)
                d.writer = False
            d.users -= 1
            if d.users == 0:
                del _OPEN[d.key]
                for fd in (d.fd, *d.spare):
                    os.close(fd)
        if self._legacy is not None:
            self._legacy.close()


def hold_file(path: Path, *, readonly: bool) -> FileHold:
    """Hold the ledger at ``path`` (creating a new one for a writer), after checking that it can
    be one; a writer also gets the exclusive lock. Raises ``LedgerError`` (or ``OSError``)."""
    if path.is_dir():
        raise LedgerError(f"ledger {path} is a folder; pass --ledger with a file path")
    real = Path(os.path.realpath(path))  # a symlink to a file not there yet: create the target
    for _ in range(3):  # a ledger another run made meanwhile, or one replaced while opening it
        try:
            st = real.stat()
        except FileNotFoundError:
            if readonly:
                raise LedgerError(
                    f"no ledger at {path}: nothing was imported with it yet "
                    "(pass --ledger PATH to read another one)"
                ) from None
            if not real.parent.is_dir():
                raise LedgerError(f"cannot create the ledger {path}: no folder {path.parent}") from None
            _create(path, real)
            continue
        if not stat.S_ISREG(st.st_mode):  # a device or a pipe: opening it could block
            raise LedgerError(_NOT_SQLITE.format(path=path))
        found = _share(path, real, (st.st_dev, st.st_ino), readonly)
        if found is not None:
            return found
    raise LedgerError(messages.ledger_keeps_changing(path))


def _share(path: Path, real: Path, key: tuple[int, int], readonly: bool) -> FileHold | None:
    """Take a share of the process's descriptor of ``key`` (opening it if it is the first);
    ``None`` if ``real`` is no longer that file."""
    with _OPEN_LOCK:
        d = _OPEN.get(key)
        fresh = d is None
        if d is None:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != key:  # replaced between the look and the open
                other = _OPEN.get((st.st_dev, st.st_ino))
                if other is not None:
                    other.spare.append(fd)  # closing it would drop that file's locks
                else:
                    os.close(fd)
                return None
            d = _Descriptor(fd, key)
        legacy: IO[bytes] | None = None
        try:
            _check_head(d.fd, path)
            if not readonly:
                if d.writer:
                    raise LedgerError(messages.ledger_in_use(path, os.getpid()))
                _lock(d.fd, path, key)
                try:
                    _remove_stale(real)  # a kill after the link left its temporary name: a 2nd link
                    links = os.fstat(d.fd).st_nlink
                    if links > 1:
                        raise LedgerError(messages.ledger_has_other_names(path, links))
                    legacy = _legacy_lock(path)
                except BaseException:
                    _unlock(d.fd)
                    raise
        except BaseException:
            if fresh:
                os.close(d.fd)
            raise
        _OPEN[key] = d
        d.users += 1
        d.writer = d.writer or not readonly
    return FileHold(d, not readonly, legacy)


def _check_head(fd: int, path: Path) -> None:
    """Refuse what is certainly not a ledger before SQLite touches it."""
    if os.fstat(fd).st_size == 0:
        raise LedgerError(messages.ledger_empty(path))
    os.lseek(fd, 0, os.SEEK_SET)
    if os.read(fd, len(SQLITE_MAGIC)) != SQLITE_MAGIC:
        raise LedgerError(_NOT_SQLITE.format(path=path))


_NOT_SQLITE = (
    "{path} is not a toggl-import ledger (not a SQLite database); it was left untouched. "
    "Pass --ledger with another path, or move the file away if it is not needed."
)


def _lock(fd: int, path: Path, key: tuple[int, int]) -> None:
    """The exclusive, non-blocking lock on the database file itself."""
    try:
        _lock_fd(fd, _WINDOWS_LOCK_BYTE)
    except OSError as exc:
        raise LedgerError(messages.ledger_in_use(path, _lock_holder(key))) from exc


_WINDOWS_LOCK_BYTE = 0x40000FFF
"""On Windows (mandatory byte-range locks) a byte SQLite never reads or writes: the end of the
page that holds its own lock bytes (at 1 GiB, with 4096-byte pages). Untested: no Windows CI."""


def _lock_fd(fd: int, offset: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, offset, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_BYTE, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def _lock_holder(key: tuple[int, int]) -> int | None:
    """The pid holding a ``flock`` on the file ``key`` (Linux: ``/proc/locks``), if it can be known."""
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    dev, ino = key
    exact, by_inode = [], []
    for line in lines:  # "1: FLOCK  ADVISORY  WRITE 6787 fe:00:2146389 0 EOF"; "->": a waiter
        parts = line.split()
        if len(parts) < 6 or parts[1] != "FLOCK" or parts[3] != "WRITE":
            continue
        try:
            major_hex, minor_hex, inode_text = parts[5].split(":")
            major, minor, inode, pid = int(major_hex, 16), int(minor_hex, 16), int(inode_text), int(parts[4])
        except ValueError:
            continue
        if inode != ino:
            continue
        by_inode.append(pid)
        if (major, minor) == (os.major(dev), os.minor(dev)):
            exact.append(pid)
    found = exact or (by_inode if len(by_inode) == 1 else [])  # overlay file systems show another dev
    return found[0] if found and found[0] > 0 else None


def _legacy_lock(path: Path) -> IO[bytes] | None:
    """The ``<ledger>.lock`` of versions before the lock moved onto the file itself, if there is
    one: taken too, so that an older and a newer version never write one ledger at once."""
    try:
        fh = Path(f"{path}.lock").open("r+b")  # noqa: SIM115 -- held until the ledger closes
    except FileNotFoundError:
        return None
    try:
        _lock_fd(fh.fileno(), 0)
    except OSError as exc:
        holder = fh.read(32).decode(errors="replace").strip()
        fh.close()
        raise LedgerError(messages.ledger_in_use(path, int(holder) if holder.isdigit() else None)) from exc
    return fh


# -- a new file ------------------------------------------------------------------------------------
def _create(path: Path, real: Path) -> None:
    """Publish a complete, empty ledger at ``real`` -- unless another run got there first."""
    wal = Path(f"{real}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise LedgerError(messages.ledger_wal_without_database(path, wal))
    _remove_stale(real)
    tmp = _temp_name(real)
    try:
        _write_new(tmp, _empty_ledger())
        _publish(tmp, real)
    finally:
        tmp.unlink(missing_ok=True)


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


def _temp_name(final: Path) -> Path:
    return final.with_name(f"{final.name}.new-{os.getpid()}")


def _write_new(tmp: Path, data: bytes) -> None:
    tmp.unlink(missing_ok=True)  # a dead process's, that had our pid
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, final: Path) -> bool:
    """Give the complete file ``tmp`` the name ``final`` unless that name is taken; fsync the
    folder. ``False`` if it was taken (the file there is left as it is)."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        return False
    except OSError as exc:  # a file system without hard links: copy into a new file instead (a kill
        # mid-copy leaves a short file there, which the next run refuses as empty or damaged)
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        try:
            fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            return False
        try:
            with tmp.open("rb") as src, os.fdopen(os.dup(fd), "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            os.close(fd)
            final.unlink(missing_ok=True)
            raise
        os.close(fd)
    _fsync_folder(final.parent)
    return True


def _fsync_folder(folder: Path) -> None:
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale(final: Path) -> None:
    """Delete ``<final>.new-<pid>`` files whose process is gone (killed while making ``final``)."""
    if sys.platform == "win32":
        return
    prefix = f"{final.name}.new-"
    with contextlib.suppress(OSError), os.scandir(final.parent) as entries:
        for entry in entries:
            pid = entry.name[len(prefix) :]
            if entry.name.startswith(prefix) and pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    Path(entry.path).unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- recognising, checking and migrating ---------------------------------------------------------
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


def check_integrity(conn: sqlite3.Connection, name: str) -> None:
    """Raise ``LedgerError`` (damaged) unless every page of the file reads as it should; then a
    copy of what can still be read is left at ``<ledger>.recovered.sqlite``."""
    try:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        if pages <= QUICK_CHECK_MAX_PAGES:
            found = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
            problem = None if found == ["ok"] else _one_line(found)
        else:
            problem = _walk(conn)
    except sqlite3.DatabaseError as exc:
        if not _is_damage(exc):
            raise
        problem = str(exc)
    if problem is not None:
        raise LedgerError(_damaged(conn, Path(name), problem))


def _one_line(found: list[str]) -> str:
    """quick_check's findings for a message: one line, without its "*** in database main ***"."""
    lines = [line.strip() for text in found for line in text.splitlines()]
    return "; ".join(line for line in lines if line and not line.startswith("***"))


def _walk(conn: sqlite3.Connection) -> str | None:
    """Read every page of every table and index (a count per b-tree), and match each index's
    entries to its table's rows: a damaged page raises, a lost one shows in the counts."""
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND rootpage > 0 AND name NOT LIKE 'sqlite_%'")]  # fmt: skip
    conn.execute("PRAGMA cell_size_check = ON")  # each page's cells checked as it is read
    try:
        for table in tables:
            rows = conn.execute(f'SELECT count(*) FROM "{table}" NOT INDEXED').fetchone()[0]
            for _, index, _, _, partial in conn.execute(f'PRAGMA index_list("{table}")').fetchall():
                columns = ", ".join(f'"{r[2]}"' for r in conn.execute(f'PRAGMA index_info("{index}")'))
                # count(*) alone would read the smallest index, whatever INDEXED BY says; a partial
                # index is only usable with its own WHERE
                where = _index_where(conn, index) if partial else ""
                scan = f'SELECT 1 FROM "{table}" INDEXED BY "{index}"{where} ORDER BY {columns}'
                entries = conn.execute(f"SELECT count(*) FROM ({scan})").fetchone()[0]
                if entries != rows and not partial:
                    return f"index {index} holds {entries} entries for the {rows} rows of {table}"
    finally:
        conn.execute("PRAGMA cell_size_check = OFF")
    return None


def _index_where(conn: sqlite3.Connection, index: str) -> str:
    """`` WHERE ...`` of a partial index, from its CREATE statement."""
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0] or ""
    at = sql.upper().rfind(" WHERE ")
    return sql[at:] if at >= 0 else ""


def _damaged(conn: sqlite3.Connection, path: Path, problem: str) -> str:
    """The message for a damaged ledger, after writing what can still be read to a new file."""
    target = path.with_name(f"{path.stem}.recovered{path.suffix}")
    if target.exists():
        return messages.ledger_damaged(path, problem, recovered=target, earlier=True)
    try:
        copied = recover(conn, target)
    except (sqlite3.Error, OSError):
        return messages.ledger_damaged(path, problem)
    if copied is None:
        return messages.ledger_damaged(path, problem)
    return messages.ledger_damaged(path, problem, recovered=target, rows=copied)


def recover(conn: sqlite3.Connection, target: Path) -> int | None:
    """Copy every row that can still be read from the database of ``conn`` into a new file
    ``target`` (same schema, application id and version), skipping damaged pages by bisecting
    the rowids around them. Returns the rows copied, or ``None`` if ``target`` was taken."""
    schema = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tmp = _temp_name(target)
    tmp.unlink(missing_ok=True)
    copied = 0
    try:
        out = sqlite3.connect(tmp, isolation_level=None)
        try:
            out.execute("PRAGMA journal_mode = OFF")
            with _Transaction(out):
                for kind, _, sql in schema:  # triggers after the rows: copying is not updating
                    if kind != "trigger":
                        out.execute(sql)
                for kind, table, _ in schema:
                    if kind == "table":
                        copied += _copy_rows(conn, out, table)
                for kind, _, sql in schema:
                    if kind == "trigger":
                        out.execute(sql)
                out.execute(f"PRAGMA application_id = {int(app_id)}")
                out.execute(f"PRAGMA user_version = {int(version)}")
        finally:
            out.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return copied if _publish(tmp, target) else None
    finally:
        tmp.unlink(missing_ok=True)


def _copy_rows(src: sqlite3.Connection, out: sqlite3.Connection, table: str) -> int:
    """Copy the readable rows of ``table``: read rowid ranges, and bisect a range whose read
    fails until the halves away from the damage read whole (a damaged page fails every read
    that reaches it, not the others)."""
    columns = [r[1] for r in src.execute(f'PRAGMA table_info("{table}")')]
    names = ", ".join(f'"{c}"' for c in columns)
    select = f'SELECT rowid, {names} FROM "{table}" WHERE rowid BETWEEN ? AND ? ORDER BY rowid'
    marks = ", ".join("?" * (len(columns) + 1))
    insert = f'INSERT OR IGNORE INTO "{table}" (rowid, {names}) VALUES ({marks})'
    copied = 0
    todo = [bounds] if (bounds := _rowid_bounds(src, table)) else []
    for _ in range(RECOVER_PROBES):
        if not todo:
            break
        lo, hi = todo.pop()
        batch: list[tuple[int, ...]] = []
        try:
            for row in src.execute(select, (lo, hi)):
                batch.append(row)
                if len(batch) >= 1000:
                    copied += out.executemany(insert, batch).rowcount
                    lo, batch = batch[-1][0] + 1, []
        except sqlite3.DatabaseError:
            if batch:
                lo = batch[-1][0] + 1
            if lo < hi:
                mid = (lo + hi) // 2
                todo += [(mid + 1, hi), (lo, mid)]
        if batch:
            copied += out.executemany(insert, batch).rowcount
    return copied


def _rowid_bounds(src: sqlite3.Connection, table: str) -> tuple[int, int] | None:
    """The smallest and largest rowid the table or any of its indexes still shows: a bisection
    outside them would only split reads of nothing."""
    reads = [f'SELECT min(rowid) FROM "{table}"', f'SELECT max(rowid) FROM "{table}"']
    for _, index, _, _, partial in src.execute(f'PRAGMA index_list("{table}")').fetchall():
        where = _index_where(src, index) if partial else ""
        reads.append(f'SELECT rowid FROM "{table}" INDEXED BY "{index}"{where}')
    lo: int | None = None
    hi: int | None = None
    for sql in reads:
        with contextlib.suppress(sqlite3.DatabaseError):
            for (rowid,) in src.execute(sql):  # a damaged index still shows the part before
                if rowid is not None:
                    lo = rowid if lo is None else min(lo, rowid)
                    hi = rowid if hi is None else max(hi, rowid)
    return None if lo is None or hi is None else (lo, hi)


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
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            if _publish(tmp, target):
                return target
        finally:
            tmp.unlink(missing_ok=True)
    raise LedgerError(messages.ledger_backups_taken(path, version, MAX_BACKUPS))


# -- errors ----------------------------------------------------------------------------------------
def _is_damage(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # extended codes keep the primary one below
    text = str(exc)
    damaged = code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return damaged or "malformed" in text or "not a database" in text


def _is_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    return False


def _ledger_error(name: str, exc: sqlite3.Error | OSError) -> LedgerError:
    """The ``LedgerError`` for an error of SQLite or the file system while using ledger ``name``."""
    if _is_full(exc):
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return LedgerFullError(messages.ledger_disk_full(name, detail))
    if isinstance(exc, OSError):
        return LedgerError(f"ledger {name}: {exc.strerror or exc}")
    text = str(exc)
    if _is_damage(exc):
        return LedgerError(messages.ledger_damaged(name, text))
    if "locked" in text or "busy" in text:
        return LedgerError(f"ledger {name} is locked by another process ({text}); try again")
    if "readonly" in text or "read-only" in text:
        return LedgerError(f"ledger {name} cannot be written ({text}); check its permissions")
    return LedgerError(f"ledger {name}: {text}")
