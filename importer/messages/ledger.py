"""The ledger file: in use, other names, empty, damaged, full, backups."""

from __future__ import annotations

# -- the ledger file (ledger_file/) ----------------------------------------------------------------


def ledger_in_use(path: object, pid: int | None) -> str:
    """A second writer on one ledger file, by whatever path; ``pid`` of the holder if known."""
    who = f" (pid {pid})" if pid else ""
    return (
        f"ledger {path} is in use by another run{who}: wait for it to finish, or pass --ledger "
        "with another path"
    )


def ledger_has_other_names(path: object, links: int) -> str:
    """A ledger file with several hard links: SQLite keeps the -wal beside the name it opened."""
    return (
        f"ledger {path} has {links} names (hard links): SQLite keeps a ledger's last writes beside "
        "the name it was opened by, so after a crash a run through another name would not see "
        f"them; keep one name: delete the other links (find / -samefile {path} lists them), or use "
        f'a copy instead (sqlite3 {path} ".backup COPY")'
    )


def ledger_empty(path: object) -> str:
    """A zero-length file where the ledger should be: never one that a run wrote (see
    ``ledger_file``: a new ledger is published whole), most often a failed copy."""
    return (
        f"ledger {path} is empty (0 bytes), so it is not a ledger an earlier run wrote (that would "
        "hold its rows): if it is a copy of your ledger, the copy failed, so copy it again (with "
        'its -wal file, or with sqlite3 LEDGER ".backup COPY"); to start a new ledger, delete the '
        "empty file"
    )


def ledger_wal_without_database(path: object, wal: object) -> str:
    """A new ledger would be created next to the ``-wal`` of one that is gone: SQLite would read
    that file's last writes into the new one."""
    return (
        f"there is no ledger at {path}, but its write-ahead log {wal} is there: it may hold the last "
        "writes of a ledger that was moved or deleted; put that ledger back at this path, or if it "
        f"is gone for good, delete {wal}"
    )


def ledger_keeps_changing(path: object) -> str:
    """The file at the ledger path was replaced each time it was opened (three times)."""
    return f"ledger {path} was replaced while it was being opened: run the command again"


def ledger_disk_full(path: object, detail: str) -> str:
    """SQLITE_FULL or ENOSPC while writing the ledger: resumable, the run stops (exit 3)."""
    return (
        f"the disk holding the ledger {path} is full ({detail}): free some space there, then run "
        "the same command again to resume"
    )


def ledger_damaged(
    path: object,
    problem: str,
    *,
    recovered: object = None,
    rows: int | None = None,
    earlier: bool = False,
) -> str:
    """A damaged ledger; ``recovered``: the copy of what could still be read (``earlier``: made
    by an earlier run and kept)."""
    keep = f"ledger {path} is damaged ({problem}); it was left untouched: keep it"
    go_on = (
        f"pass --ledger {recovered} --check-existing (rows lost with the damage are looked up in "
        "Toggl before any is sent again)"
    )
    if recovered is not None and earlier:
        return (
            f"{keep}; what could still be read of it was copied to {recovered} by an earlier run: "
            f"to go on, {go_on}; to have the copy made again, delete {recovered}"
        )
    if recovered is not None:
        what = f"the {rows or 0:,} rows that could still be read were"
        if rows == 1:
            what = "the 1 row that could still be read was"
        return f"{keep}; {what} copied to {recovered}: to go on, {go_on}"
    return (
        f"{keep}, it records which rows were created (a new ledger would post them again); "
        "`toggl-import run` with it copies what can still be read to a new ledger and says how to "
        f"go on, or try: sqlite3 {path} .recover | sqlite3 recovered.sqlite, then pass --ledger "
        "recovered.sqlite --check-existing"
    )


def ledger_backups_taken(path: object, version: int, limit: int) -> str:
    """Every name for a backup before migrating is taken (``.schemaN.bak``, ``.schemaN.2.bak``...)."""
    return (
        f"ledger {path} needs an upgrade from schema {version}, but the {limit} names for its backup "
        f"({path}.schema{version}.bak, ...) are all taken: move those backups elsewhere, then run "
        "again"
    )
