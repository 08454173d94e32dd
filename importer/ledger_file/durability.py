"""Durable commits and checkpoints: ``_Transaction``, ``durable(conn)``, ``Checkpoints``.

``durable(conn)``: the commits inside it are fsynced (``synchronous=FULL`` for them only);
``Checkpoints`` copies the WAL into the main file after a batch, at most every
``CHECKPOINT_SECONDS``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator

CHECKPOINT_SECONDS = 0.25
"""The main file lags the WAL by at most a batch of ``sending`` marks or this long, whichever is
more (``Checkpoints``)."""


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
