"""The exclusive lock on the database file itself (``flock``; a byte-range lock on Windows), who
holds it (``/proc/locks``), and the ``<ledger>.lock`` of older versions, still honoured."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO

from .. import messages
from ..errors import LedgerError


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
