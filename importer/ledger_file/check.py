"""Checking a ledger before it is written, and copying what can still be read from a damaged one.

``check_integrity``: ``PRAGMA quick_check`` up to ``QUICK_CHECK_MAX_PAGES``, above it a walk of
every b-tree page with each index's count matched to its table's (``_walk``). Damage raises
``LedgerError``, after ``recover`` has copied the readable rows to ``<ledger>.recovered.sqlite``
(bisecting rowid ranges around bad pages).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from .. import messages
from ..errors import LedgerError
from .durability import _Transaction
from .failures import _is_damage
from .publish import _fsync_path, _publish, _temp_name

QUICK_CHECK_MAX_PAGES = 25_000
"""Up to this many pages (100 MB, ~250k rows) a writer's open runs ``PRAGMA quick_check``; above,
the cheaper walk of every b-tree (``_walk``)."""
RECOVER_PROBES = 1_000_000
"""Range reads a recovery makes at most, when bisecting around damaged pages."""


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
        _fsync_path(tmp)
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
