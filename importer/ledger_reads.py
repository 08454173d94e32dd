"""The ledger's read-only queries: what resume, sync, undo, ``status`` and reports ask of it.

``Ledger`` (``ledger.py``) adds the writes; a read first writes what is buffered, so every query
sees every outcome recorded so far.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, overload

from .errors import LedgerError
from .ledger_file import RUN_COUNTS, _ledger_error
from .ledger_records import COLUMNS, RowRecord, RunRecord, row_record
from .models import RowStatus

MAX_PARAMS = 900  # bound parameters per statement (SQLite builds before 3.32 allow 999)
COUNT_KEYS = ("created", "failed", "in_doubt", "duplicate", "pending", "refused", "deleted", "exported",
              "total")  # fmt: skip
"""``counts()`` keys. ``in_doubt`` includes ``sending`` (both may be in Toggl and are read back);
``created`` includes ``updating`` and ``deleting`` (the entry exists until a delete is done)."""
_COUNTED_AS = {RowStatus.SENDING: "in_doubt", RowStatus.UPDATING: "created",
               RowStatus.DELETING: "created"}  # fmt: skip

P = ParamSpec("P")
R = TypeVar("R")


def _translated(
    method: Callable[Concatenate[LedgerReads, P], R],
) -> Callable[Concatenate[LedgerReads, P], R]:
    @functools.wraps(method)
    def wrapper(self: LedgerReads, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _ledger_error(self.name, exc) from exc

    return wrapper


_UNRESOLVED = "state IN ('sending', 'in_doubt', 'exported')"
"""Rows whose entry may be in Toggl: read them back (``unresolved``)."""
_UNFINISHED = "state IN ('updating', 'deleting')"
"""Rows whose PUT or DELETE may be applied or not: ask again (``unfinished``)."""

class LedgerReads:
    """The queries of an open ledger (``Ledger`` is the class to open)."""

    name: str
    readonly: bool
    _conn: sqlite3.Connection | None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LedgerError(f"ledger {self.name} is closed")
        return self._conn

    def flush(self) -> None:  # pragma: no cover - the writer's
        """Write what is buffered (``Ledger``)."""

    def _flush_before_read(self) -> None:
        if not self.readonly:
            self.flush()

    @_translated
    def runs(self) -> list[RunRecord]:
        """Every run, oldest first."""
        self._flush_before_read()
        sql = (
            "SELECT id, started_at, finished_at, summary, command, source, workspace_id, exit_code, "
            f"{', '.join(RUN_COUNTS)} FROM runs ORDER BY id"
        )
        return [RunRecord(*r) for r in self.conn.execute(sql)]

    @_translated
    def heartbeat_of(self, run_ids: Iterable[int]) -> float | None:
        """The last moment (epoch seconds) any of these runs wrote to the ledger."""
        ids = [int(i) for i in set(run_ids) if i is not None]
        if not ids:
            return None
        marks = ",".join("?" * len(ids))
        row = self.conn.execute(f"SELECT max(heartbeat) FROM runs WHERE id IN ({marks})", ids).fetchone()
        return None if row is None else row[0]

    # -- reads (each first writes what is buffered) ------------------------------------------------
    def _select_in(
        self, where: str, column: str, values: Sequence[Any], extra: tuple[Any, ...] = ()
    ) -> Iterator[tuple[Any, ...]]:
        """Rows ``WHERE <where> AND <column> IN (values)``, in chunks of bound parameters; each
        answer row starts with ``column``'s value, then ``COLUMNS``."""
        self._flush_before_read()
        keys = list(values)
        for lo in range(0, len(keys), MAX_PARAMS):
            chunk = keys[lo : lo + MAX_PARAMS]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {column}, {COLUMNS} FROM rows WHERE {where} AND {column} IN ({marks})"
            yield from self.conn.execute(sql, (*extra, *chunk))

    @_translated
    def known(self, fingerprints: Sequence[str]) -> dict[str, RowRecord]:
        """The ledger's rows among ``fingerprints`` (any number; looked up in chunks)."""
        return {r[0]: row_record(r[1:]) for r in self._select_in("1", "fingerprint", fingerprints)}

    @_translated
    def created_sources(self, sources: Sequence[str]) -> dict[str, RowRecord]:
        """Created rows among the *source keys* (a row's content before names became ids).

        A re-run checks these first: rows created earlier are skipped before any name is
        resolved, so a second run over an imported file makes no request at all.
        """
        found = self._select_in("state = 'created'", "source_key", sources)
        return {r[0]: row_record(r[1:]) for r in found}

    @_translated
    def by_keys(self, source: str, keys: Sequence[str]) -> dict[str, RowRecord]:
        """The rows of ``source`` with these ``--key`` values (any state)."""
        found = self._select_in("source = ?", "key", keys, (source,))
        return {r[0]: row_record(r[1:]) for r in found}

    def unresolved(self) -> Iterator[RowRecord]:
        """Rows ``sending``, ``in_doubt`` or ``exported``: their entry may be in Toggl (a POST
        that may have been applied, a CSV file that may have been uploaded); read them back."""
        return self._pages(_UNRESOLVED, ())

    @_translated
    def has_leftovers(self) -> bool:
        """Does any row wait to be read back or asked again (``unresolved``, ``unfinished``)?"""
        sql = f"SELECT 1 FROM rows WHERE {_UNRESOLVED} OR {_UNFINISHED} LIMIT 1"
        return self.conn.execute(sql).fetchone() is not None

    def unfinished(self) -> Iterator[RowRecord]:
        """Rows ``updating`` or ``deleting``: their request may be applied or not; ask again."""
        return self._pages(_UNFINISHED, ())

    @_translated
    def owned_marks(
        self, source: str, workspace_id: int, start_lo: int, start_hi: int
    ) -> list[tuple[str, str | None, str | None, int | None]]:
        """``(fingerprint, key, source_key, entry_id)`` of the created rows of ``source`` in the
        workspace whose entry starts in ``[start_lo, start_hi)`` (epoch seconds): all a mirror
        needs to tell which rows are gone, without building a record of each."""
        self._flush_before_read()
        sql = ("SELECT fingerprint, key, source_key, entry_id FROM rows WHERE state = 'created' AND "
               "source = ? AND workspace_id = ? AND start_epoch >= ? AND start_epoch < ? ORDER BY id")
        return self.conn.execute(sql, (source, workspace_id, start_lo, start_hi)).fetchall()

    def created_by(
        self, *, run: int | None = None, source: str | None = None, files: Sequence[str] = ()
    ) -> Iterator[RowRecord]:
        """Created rows (and those left ``deleting``) whose entry run ``run`` created, of
        ``source``, or read from ``files`` (the names as given when imported): what ``undo``
        deletes."""
        where = "state IN ('created', 'deleting')"
        params: tuple[Any, ...] = ()
        if run is not None:
            where += " AND created_run = ?"
            params = (run,)
        if source is not None:
            where += " AND source = ?"
            params = (*params, source)
        if files:
            where += f" AND file IN ({','.join('?' * len(files))})"
            params = (*params, *files)
        return self._pages(where, params)

    @_translated
    def keys_elsewhere(self, source: str, keys: Sequence[str]) -> dict[str, int]:
        """Of these ``--key`` values, how many the ledger holds live under *other* sources, by
        source (a nightly file run without ``--source``: its name is not last night's)."""
        found: dict[str, int] = {}
        live = "state IN ('created', 'updating', 'deleting') AND source != ?"
        for r in self._select_in(live, "key", keys, (source,)):
            other = row_record(r[1:]).source or ""
            found[other] = found.get(other, 0) + 1
        return found

    @_translated
    def names_of(self, column: str) -> list[str]:
        """The distinct ``file`` or ``source`` names of the ledger's rows, sorted."""
        if column not in ("file", "source"):
            raise ValueError(f"no such name column: {column!r}")
        self._flush_before_read()
        sql = f"SELECT DISTINCT {column} FROM rows WHERE {column} IS NOT NULL ORDER BY {column}"
        return [r[0] for r in self.conn.execute(sql)]

    def rows_for_report(self, run_id: int | None = None) -> Iterator[RowRecord]:
        """Every row (or those last written by ``run_id``), in the order they were first added."""
        if run_id is None:
            return self._pages("1", ())
        return self._pages("run_id = ?", (run_id,))

    @_translated
    def created_entry_ids(self) -> set[int]:
        """Entry ids already owned by a created row (reconciliation must not claim them again)."""
        self._flush_before_read()
        sql = ("SELECT entry_id FROM rows WHERE state IN ('created', 'updating', 'deleting') "
               "AND entry_id IS NOT NULL")  # fmt: skip
        return {r[0] for r in self.conn.execute(sql)}

    @overload
    def counts(self, by_file: Literal[False] = False) -> dict[str, int]: ...
    @overload
    def counts(self, by_file: Literal[True]) -> dict[str, dict[str, int]]: ...

    def counts(self, by_file: bool = False) -> dict[str, int] | dict[str, dict[str, int]]:
        """Rows per state (``COUNT_KEYS``; see it for the states counted together), or per file."""
        table = self._count(by_file)
        return table if by_file else table.get("", dict.fromkeys(COUNT_KEYS, 0))

    @_translated
    def _count(self, by_file: bool) -> dict[str, dict[str, int]]:
        if not self.readonly:
            self._flush_before_read()
        if not by_file:
            sql = "SELECT '', state, count(*) FROM rows GROUP BY state"
        else:
            sql = "SELECT file, state, count(*) FROM rows GROUP BY file, state ORDER BY file"
        table: dict[str, dict[str, int]] = {}
        for file, state, n in self.conn.execute(sql):
            tally = table.setdefault(file, dict.fromkeys(COUNT_KEYS, 0))
            tally[_COUNTED_AS.get(state, state)] += n
            tally["total"] += n
        return table

    # -- internals ---------------------------------------------------------------------------------
    def _pages(self, where: str, params: tuple[Any, ...], size: int = 500) -> Iterator[RowRecord]:
        """Rows by id, fetched a page at a time (the caller may write between pages)."""
        sql = f"SELECT id, {COLUMNS} FROM rows WHERE ({where}) AND id > ? ORDER BY id LIMIT ?"
        last = 0
        while True:
            try:
                self._flush_before_read()
                page = self.conn.execute(sql, (*params, last, size)).fetchall()
            except sqlite3.Error as exc:
                raise _ledger_error(self.name, exc) from exc
            for r in page:
                yield row_record(r[1:])
            if len(page) < size:
                return
            last = page[-1][0]

