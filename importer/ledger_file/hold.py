"""Holding a ledger file: one descriptor per file per process, shared by every ``Ledger`` on it
(``FileHold``, ``hold_file``); what is certainly not a ledger is refused before SQLite touches it;
a missing ledger is created whole (``_create``)."""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .. import messages
from ..errors import LedgerError
from .lock import _legacy_lock, _lock, _unlock
from .publish import _publish, _remove_stale, _temp_name, _write_new
from .schema import _empty_ledger

SQLITE_MAGIC = b"SQLite format 3\x00"


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
