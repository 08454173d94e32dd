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

Rooms (import from ``importer.ledger_file``; patch a name in the room that uses it, since the names
here are re-exported copies):

* ``hold``: ``hold_file``/``FileHold``, the one descriptor per file, the head check, ``_create``.
* ``lock``: the ``flock`` on the file, its holder's pid, the legacy ``<ledger>.lock``.
* ``publish``: files written whole under a name never taken (``_publish``, ``_remove_stale``).
* ``schema``: the tables per version, ``_MIGRATIONS``, ``_empty_ledger``, ``_prepare`` (recognise,
  check, journal, migrate after a backup).
* ``check``: ``check_integrity`` (quick_check or ``_walk``) and ``recover``.
* ``durability``: ``_Transaction``, ``durable``, ``checkpoint``, ``Checkpoints``.
* ``failures``: ``_ledger_error`` (SQLite and OS errors as the ``LedgerError`` a user reads).
"""

from __future__ import annotations

from .check import QUICK_CHECK_MAX_PAGES, RECOVER_PROBES, _walk, check_integrity, recover
from .durability import CHECKPOINT_SECONDS, Checkpoints, _Transaction, checkpoint, durable
from .failures import _ledger_error
from .hold import SQLITE_MAGIC, FileHold, hold_file
from .schema import _MIGRATIONS, APPLICATION_ID, MAX_BACKUPS, RUN_COUNTS, SCHEMA_VERSION, _prepare

__all__ = [
    "APPLICATION_ID",
    "CHECKPOINT_SECONDS",
    "MAX_BACKUPS",
    "QUICK_CHECK_MAX_PAGES",
    "RECOVER_PROBES",
    "RUN_COUNTS",
    "SCHEMA_VERSION",
    "SQLITE_MAGIC",
    "_MIGRATIONS",
    "Checkpoints",
    "FileHold",
    "_Transaction",
    "_ledger_error",
    "_prepare",
    "_walk",
    "check_integrity",
    "checkpoint",
    "durable",
    "hold_file",
    "recover",
]
