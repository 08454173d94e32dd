"""The run: how it stops, the notes before it, the ledger it starts with, the sandbox, a bug."""

from __future__ import annotations

from collections.abc import Sequence

# -- the run: how it stops, notes before it, its ledger, the sandbox (cli, notes.py, duplicates.py)


def stopped_early(reason: str, *, dry_run: bool, credentials: bool) -> str:
    """The summary's last word on a run that stopped before the end (``reason`` says why)."""
    if dry_run:
        return f"stopped early: {reason}"
    if credentials:
        return (
            f"stopped early: {reason}; once that is put right, the same command carries on (rows "
            "already created are not sent again)"
        )
    return f"stopped early: {reason}; run the same command again to resume"


def interrupted() -> str:
    """Ctrl-C twice (or before the run began): no summary, but nothing is lost."""
    return (
        "interrupted: the ledger keeps what was sent (a request cut off is looked up in Toggl "
        "first); run the same command again to resume"
    )


def several_people_no_email(people: Sequence[str], more: bool) -> str:
    """A note: the file names several people but has no email column, so Toggl would get every
    entry as the token's own user's."""
    names = ", ".join(repr(p) for p in people) + (" and more" if more else "")
    return (
        f"entries of several people ({names}) and no email column: each would be created as an "
        "entry of the token's own user; to create each person's entries for them, add a column "
        "with their Toggl email (--map email=COLUMN) and use an admin's token"
    )


def dates_month_first(example: str, as_read: str) -> str:
    """A note: dates with slashes, none above 12 in either place: read month first."""
    return (
        f"dates with slashes are read month first ({example} is {as_read}): if they are day "
        "first, pass --date-order dmy"
    )


def dates_day_first(example: str, as_read: str) -> str:
    """A note: the file's dates with slashes show they are day first."""
    return (
        f"dates with slashes are read day first, as the file shows ({example} is {as_read}): if "
        "they are month first, pass --date-order mdy"
    )


def dates_look_day_first(example: str) -> str:
    """A note: month first is the order in force, but a date of the file can only be day first."""
    return (
        f"dates with slashes are read month first, but {example} can only be day first: rows "
        "with a date that reads both ways (05/11/2026) are refused rather than guessed; if the "
        "file's dates are day first, pass --date-order dmy (or auto)"
    )


def duration_looks_like_h_mm(example: str, as_read: str, clock: str) -> str:
    """A note: two-decimal durations that look like hours and minutes (1.30), read as hours."""
    return (
        f"durations such as {example!r} are read as decimal hours ({as_read}): if they mean hours "
        f"and minutes, write them as {clock}"
    )


def no_room_for_duplicates(folder: object, reason: str) -> str:
    """The temporary files that find duplicate rows in a long file cannot be written."""
    return (
        f"cannot write the temporary file that finds duplicate rows, in {folder} ({reason}): free "
        "some space there or point TMPDIR at a folder with room; the ledger keeps what was done, "
        "so running the same command again resumes"
    )


def duration_looks_like_minutes(example: str) -> str:
    """A note: whole-number durations of 10 and more, read as hours, look like minutes."""
    return (
        f"durations such as {example!r} are read as hours ({example} h): if they are minutes, "
        f"write them as {example}m"
    )


def new_ledger(path: object, *, dry_run: bool = False) -> str:
    """A note before a run that starts a ledger (or a dry run with none): it cannot know an
    import made with another."""
    if dry_run:
        return (
            f"no ledger at {path} yet: the plan counts every row as new; if these files went in "
            "before with another ledger, pass --ledger with that run's file (or --check-existing "
            "to look each row up in Toggl first)"
        )
    return (
        f"a new ledger, {path}: it knows no earlier import, so rows already imported with another "
        "ledger would be sent again; if these files went in before, stop now (Ctrl-C) and pass "
        "--ledger with that run's file, or --check-existing to look each row up in Toggl first"
    )


def no_ledger(path: object) -> str:
    return f"no ledger at {path}: pass --ledger PATH (the one your run used)"


def cannot_listen(host: str, port: int, reason: str) -> str:
    """The sandbox cannot listen where it was asked (a port in use)."""
    return (
        f"the sandbox cannot listen on {host}:{port} ({reason}): choose another --port, or 0 for a free one"
    )


def sandbox_not_loopback(host: str) -> str:
    return f"the sandbox serves loopback only, not {host!r}: use --host 127.0.0.1 or --host ::1"


# -- a bug (cli) -----------------------------------------------------------------------------------


def unexpected_error(kind: str, trace: object) -> str:
    """One line instead of a traceback; ``trace``: the crash report with the whole trace."""
    return (
        f"unexpected error ({kind}): this is a bug in toggl-import, not in your data; the full "
        f"trace is in {trace}; the ledger keeps what was done, so running the same command "
        "again resumes"
    )
