"""An error of SQLite or the file system, as the ``LedgerError`` a user reads (``_ledger_error``):
a full disk is ``LedgerFullError`` (exit 3, resumable), a damaged file says so."""

from __future__ import annotations

import errno
import sqlite3

from .. import messages
from ..errors import LedgerError, LedgerFullError


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
