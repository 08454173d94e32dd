"""Owning what a run created: sync, keys, conflicts, tokens per person, export and undo."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from ..errors import quote

# -- owning what it created: sync and undo (plan/, engine/) ----------------------------------------


def no_key(column: str) -> str:
    """Reason ``no_key``: with --key, a row without an id in that column."""
    return (
        f"no id in the key column {quote(column)}: with --key every row needs its id at the "
        "source; fill it in, or leave --key out to key rows by their content"
    )


def duplicate_key(key: str, others: Sequence[tuple[str, int]]) -> str:
    """Reason ``duplicate_key``: one key on two rows of a run with different content; both are
    refused and nothing is sent for the key. ``others``: the other rows (file, row) that hold it,
    so that each row's message names the rest."""
    by_file: dict[str, list[int]] = {}
    for file, row in others:
        by_file.setdefault(file, []).append(row)
    places = [f"{file} row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))}"
              for file, rows in by_file.items()]  # fmt: skip
    where = f" (also on {'; '.join(places)})" if places else ""
    return (
        f"the key {quote(key)} is on two rows with different content{where}: nothing is sent for "
        "it; keep one of the rows"
    )


def max_deletes_without_mirror() -> str:
    """``--max-deletes`` on the command line of a run that does not ``--mirror`` (it would limit
    nothing: only a mirror deletes)."""
    return (
        "--max-deletes limits what --mirror deletes, and this run does not mirror: add --mirror, "
        "or leave --max-deletes out"
    )


def too_many_deletes(count: int, limit: int, sources: Sequence[str]) -> str:
    """A --mirror run that would delete more than --max-deletes: stopped before sending anything."""
    names = ", ".join(repr(s) for s in sources[:3]) + (" ..." if len(sources) > 3 else "")
    return (
        f"this run would delete {count} entries of {names} (their rows are no longer in the "
        f"files), more than --max-deletes {limit}: nothing was sent. Check that the files are "
        f"the whole source for their dates; if they are, pass --max-deletes {count}"
    )


def keys_of_another_source(source: str, other: str, count: int) -> str:
    """--key without --source: this file's new keys were imported under another file's name."""
    were = "was" if count == 1 else "were"
    return (
        f"{source}: {count} of its --key values {were} imported before from {other!r}, and without "
        f"--source each file is its own source, so they would be created a second time: nothing "
        f"was sent; pass --source {shlex.quote(other)} to update those entries (and give a nightly "
        "export the same --source every night)"
    )


def conflict_edited(entry_id: int | None, fields: Sequence[str]) -> str:
    """Status ``conflict``: the entry was changed in Toggl since toggl-import last wrote it."""
    what = ", ".join(fields)
    return (
        f"entry {entry_id} was changed in Toggl ({what}) since toggl-import wrote it: left as it "
        "is; pass --overwrite to update or delete it anyway"
    )


def conflict_gone(entry_id: int | None) -> str:
    """Status ``conflict``: the entry was deleted in Toggl; an update does not bring it back."""
    return f"entry {entry_id} was deleted in Toggl: not created again; pass --overwrite to create it anew"


def maybe_in_toggl(*, planned: bool) -> str:
    """A row an earlier run left in doubt (or exported) that is not read back yet."""
    if planned:  # a dry run reads nothing back
        return (
            "may be in Toggl already (left in doubt or exported): the real run reads it back "
            "first and posts it only if Toggl does not have it"
        )
    return "not read back from Toggl yet; run again to check"


def all_or_nothing_held(refused: int) -> str:
    """--all-or-nothing: a row that would be sent, held back because others are refused."""
    rows = "row is" if refused == 1 else "rows are"
    return (
        f"not sent: --all-or-nothing, and {refused} {rows} refused; mend them (see the refused "
        "rows) and run again"
    )


def token_not_an_email(path: object, key: str) -> str:
    """``[tokens]`` keys are people's emails."""
    return (
        f"{path}: [tokens] maps a person's email to the name of an environment variable, and "
        f'{quote(key)} is not an email: write it like "ana@example.com" = "TOGGL_TOKEN_ANA"'
    )


def token_not_a_variable(path: object, email: str) -> str:
    """``[tokens]`` values name environment variables; a token itself never goes in the file.
    The value is not quoted: it may be a token."""
    return (
        f"{path}: [tokens] for {email} must name an environment variable (letters, digits and _), "
        "not hold the token itself: put the token in an environment variable, e.g. "
        "TOGGL_TOKEN_ANA, and write its name there"
    )


def token_variable_unset(email: str, variable: str) -> str:
    """A person's token variable named in [tokens] is not set."""
    return (
        f"the API token of {email} is to come from the environment variable {variable}, which is "
        f"not set: export {variable}=... (their Toggl Profile settings → API Token), or remove "
        "the line from [tokens]"
    )


def person_refused(email: str, reason: str) -> str:
    """A person's token was refused: their rows stop, the others go on."""
    return (
        f"not sent: Toggl refused the token of {email} ({reason}); check the variable [tokens] "
        "names for them, then run the same command again"
    )


def export_ambiguous(local: str, zone: str) -> str:
    """Reason ``ambiguous_upload_time``: the fall-back hour, in the uploader's zone."""
    return (
        f"{local} happens twice in {zone} (the clocks go back): Toggl's CSV import could take the "
        "wrong one, so the row is not written; `toggl-import run` posts it exactly"
    )


def export_next_step() -> str:
    """After an export: what to do with the file, and what comes after."""
    return (
        "next: upload the file in Toggl (Settings → Import, as the account whose time zone it was "
        "written in), then run the same files with `toggl-import run`: it reads the exported rows "
        "back and posts only those Toggl does not have"
    )


def export_done_before(count: int, run: int | None, day: str, file: str | None, files: Sequence[str]) -> str:
    """``export`` of rows an earlier export wrote (the ledger holds them as exported): not
    written again, and not in doubt either; what to do with the file they are in."""
    rows = f"{count} row was" if count == 1 else f"{count} rows were"
    where = ", ".join(part for part in (f"run {run}" if run is not None else "", day,
                                          f"to {file}" if file else "") if part)  # fmt: skip
    that = "that file" if file else "the file they went to"
    return (
        f"{rows} exported already ({where}): upload {that} in Toggl, then run `toggl-import run "
        f"{' '.join(files)}` to post what it does not have; --again writes {'it' if count == 1 else 'them'} "
        "anew"
    )


def export_done_before_more(count: int, files: int) -> str:
    """After the first few ``export_done_before`` lines: the rest, counted."""
    return (
        f"and {count} row{'s' if count != 1 else ''} more exported already, to {files} other "
        f"file{'s' if files != 1 else ''}: --json lists them all"
    )


def export_zone(zone: str, account: str | None) -> str:
    """After an export: the time zone the times were written in, and whose it is."""
    if account is None:
        return (
            f"times are written in {zone} (--upload-timezone): upload the file as an account in "
            "that time zone"
        )
    return (
        f"times are written in {zone}, the time zone of the account {account} (its profile): upload "
        "the file as that account, or pass --upload-timezone with the zone of the account that will"
    )


def undo_needs_yes(count: int) -> str:
    """``undo`` off a terminal without --yes: nothing is deleted."""
    return (
        f"undo would delete {count} entries, and there is no terminal to ask: nothing was "
        "deleted; pass --yes to delete them (--dry-run lists them)"
    )


def undo_what(count: int, what: str, *, dry_run: bool = False) -> str:
    """``undo`` says how many it is about to delete, and of what."""
    verb = "would delete" if dry_run else "deletes"
    entries = "entry" if count == 1 else "entries"
    return f"undo {verb} {count} {entries} that toggl-import created ({what})"


def undo_pick_one() -> str:
    """``undo`` needs exactly one of --run, --source or files (none given, or more than one)."""
    return (
        "undo needs to know which entries, one way: pass only one of --run N (toggl-import status "
        "--runs lists the runs), --source NAME, or the files whose entries to delete"
    )


def undo_nothing(what: str) -> str:
    return f"nothing to undo: this ledger holds no entry created ({what})"


def undo_unknown(kind: str, asked: Sequence[str], known: Sequence[str]) -> str:
    """``undo`` asked for a run, source or file this ledger never saw: nothing is deleted."""
    names = ", ".join(repr(a) for a in asked)
    shown = ", ".join(str(k) for k in known[:8]) + (f" (and {len(known) - 8} more)" if len(known) > 8 else "")
    where = {"run": "runs", "source": "sources", "file": "files"}[kind]
    listing = f"the ledger's {where}: {shown}" if known else f"the ledger holds no {where} yet"
    hint = " (toggl-import status --runs lists them)" if kind == "run" else ""
    return f"undo: this ledger knows no {kind} {names}: nothing was deleted; {listing}{hint}"


def undo_declined() -> str:
    return "nothing was deleted"
