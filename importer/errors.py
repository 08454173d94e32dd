"""The exception tree of toggl-import. Imports nothing of the package.

::

    ImporterError                      root: anything this tool raises on purpose
    ├── ConfigError                    bad option, config file or environment (exit 2)
    ├── InputError                     a file or a cell that cannot be used (file, row, column)
    │   └── UnreadableFileError        the whole file: missing, binary, encrypted, unsupported (exit 2)
    ├── LedgerError                    the SQLite ledger is corrupt, foreign or locked (exit 2)
    │   └── LedgerFullError            its disk is full: free space and run again (exit 3)
    └── RemoteError                    Toggl answered (or did not) in a way that stops a request
        ├── CredentialsError           401/403 on the credentials: stop the run (exit 3)
        ├── PermanentError             400 and other refusals of one request: never retried
        └── TransientError             may succeed later
            ├── NotAppliedError        certainly not applied: safe to send again
            │   ├── RateLimitedError   429 (retry_after)
            │   ├── QuotaExhaustedError 402 with the hourly quota at zero (resets_in)
            │   └── ConnectError       the request never left (refused, reset before writing)
            └── MaybeAppliedError      timeout or disconnect after sending, 502/503/504:
                                       a POST must be reconciled (read back) before any re-send

A refused *row* is data, not an exception: it goes to the ledger and the report. ``InputError``
carries the same fields so that a whole-file problem reads like a row problem: ``location`` puts
them in front of the text, and the texts themselves are in ``messages.py``.
"""

from __future__ import annotations


class ImporterError(Exception):
    """Root of every error this tool raises on purpose."""


class ConfigError(ImporterError):
    """An option, the config file or the environment is wrong; the message says the fix."""


class InputError(ImporterError):
    """A file, row or cell that cannot be used."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = location(self.file, self.row, self.column)
        return f"{where}: {self.message}" if where else self.message


class UnreadableFileError(InputError):
    """The whole file cannot be read: missing, binary, encrypted, empty or of an unknown kind."""


class LedgerError(ImporterError):
    """The ledger file is corrupt, belongs to something else, or cannot be written."""


class LedgerFullError(LedgerError):
    """The disk (or quota) holding the ledger is full: the run stops, and resumes once there is
    room -- what was written is intact, and what was not is read back from Toggl."""


class RemoteError(ImporterError):
    """Toggl (or the network on the way) stopped a request."""

    def __init__(self, message: str, *, status: int | None = None, text: str = "") -> None:
        self.status = status
        self.text = text
        super().__init__(message)


class CredentialsError(RemoteError):
    """The credentials were refused (401/403): nothing more can be done in this run."""


class PermanentError(RemoteError):
    """Toggl refused this request for good (400 and the like): record it, never retry."""


class TransientError(RemoteError):
    """The request may succeed if tried again later."""


class NotAppliedError(TransientError):
    """The request certainly had no effect: it is safe to send it again."""


class RateLimitedError(NotAppliedError):
    """429: too many requests per second."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class QuotaExhaustedError(NotAppliedError):
    """402 with the hourly quota used up: pause until ``resets_in`` seconds have passed."""

    def __init__(self, message: str, *, resets_in: float | None = None, **kw: object) -> None:
        self.resets_in = resets_in
        super().__init__(message, **kw)  # type: ignore[arg-type]


class ConnectError(NotAppliedError):
    """The connection failed before the request was written."""


class MaybeAppliedError(TransientError):
    """No answer came after the request was sent: it may have been applied."""


def location(file: str | None, row: int | None = None, column: str | None = None) -> str:
    """Where a problem is, as messages put it in front: ``mistakes.csv, row 4, column 'Date'``."""
    where = []
    if file:
        where.append(file)
    if row is not None:
        where.append(f"row {row}")
    if column:
        where.append(f"column {column!r}")
    return ", ".join(where)


def quote(text: str, limit: int = 60) -> str:
    """A cell's text for a message: quoted, and cut at ``limit`` characters (cells can be huge)."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"… ({len(text):,} characters)"
