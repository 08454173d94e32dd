"""Columns: presets, --map, the header, and the notes about columns and sheets."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import quote
from .common import _listing

# -- columns: presets and --map (presets.py, cli) -------------------------------------------------


def _has(file: str | None) -> str:
    return f"{file} has" if file else "the header has"


def unknown_preset(name: str, choices: Sequence[str]) -> str:
    return f"unknown preset {name!r}: choose one of {', '.join(choices)}"


def bad_map_option(item: str) -> str:
    return f'--map {item!r} is not FIELD=COLUMN: write it like --map duration="Time spent"'


def unknown_map_field(field: str, fields: Sequence[str]) -> str:
    return f"--map {field}=...: unknown field; use one of {', '.join(fields)}"


def map_no_such_column(field: str, column: str, file: str | None, columns: Sequence[str]) -> str:
    return f"--map {field}={column!r}: no such column; {_has(file)} {_listing(columns)}: name one of them"


def key_no_such_column(column: str, file: str | None, columns: Sequence[str]) -> str:
    """``--key COLUMN`` (or ``--map key=``, ``import.key_column``) names no column of the file."""
    return (
        f"--key {column!r}: no such column; {_has(file)} {_listing(columns)}: name the one that "
        "holds each row's id"
    )


def preset_needs_column(
    preset: str,
    needs: Sequence[tuple[str, Sequence[str]]],
    columns: Sequence[str],
    example: str,
    generic: bool,
) -> str:
    """A whole file (``InputError``): a named preset (``--preset``, or the one ``auto`` picked)
    without the columns it reads the date or the length from; ``needs``: (what, the column names
    the preset knows for it); ``generic``: whether ``--preset generic`` reads the file instead."""
    wanted = " and the ".join(f"{what} from a column {' or '.join(map(repr, n))}" for what, n in needs)
    them = "them" if len(needs) > 1 else "it"
    other = ", or pass --preset generic" if generic else ""
    return (
        f"the {preset} preset reads the {wanted}, and the header has {_listing(columns)}: name the "
        f"column{'s' if len(needs) > 1 else ''} that hold{'' if len(needs) > 1 else 's'} {them}, "
        f"for example {example}{other}"
    )


def unusable_header(what: str, preset: str, file: str | None, columns: Sequence[str], example: str) -> str:
    """``what``: "start", "length" or both; ``example``: the ``--map`` options that would do."""
    return (
        f"cannot tell which columns hold the {what} of each entry ({preset} preset): "
        f"{_has(file)} {_listing(columns)}; name them, for example {example}"
    )


def unusable_title(
    what: str,
    preset: str,
    file: str | None,
    columns: Sequence[str],
    example: str,
    where: tuple[int, int, str | None, int],
) -> str:
    """``unusable_header`` when the first row looks like a title (fewer cells than a row below)
    and no row below it, down to ``last``, is a header either; ``where``: (the first row, ``last``,
    its sheet, the other sheets also looked at: ``None``, 0 for a text file)."""
    row, last, sheet, others = where
    of_sheet = f" of sheet {quote(sheet)}" if sheet is not None and others else ""
    nor = f", nor on the other {_sheets(others)}," if others else ""
    place = "further down or on another sheet" if others else "further down"
    also = " (and --sheet with its sheet's name)" if others else ""
    return (
        f"cannot tell which columns hold the {what} of each entry ({preset} preset): "
        f"{_has(file)} {_listing(columns)} in row {row}{of_sheet}, and no row below it down to "
        f"row {last}{nor} looks like a header either; if the header is {place}, pass --header-row "
        f"with its row number{also}, else name the columns, for example {example}"
    )


def _sheets(count: int) -> str:
    return "sheet" if count == 1 else f"{count} sheets"


def unused_columns(columns: Sequence[str]) -> str:
    """A note (not an error) before a run with the generic preset."""
    shown = ", ".join(repr(c) for c in columns[:10])
    return (
        f"columns not used: {shown}; if one holds the description, project, client, task, "
        'tags, billable or email, say so with --map FIELD="COLUMN"'
    )


def rows_without_start_time(count: int, rows: Sequence[int], more: bool, column: str, default_start: str,
                            of_first: int | None = None) -> str:  # fmt: skip
    """A note (not an error): rows whose start cell is empty are stacked from
    ``default_start_time`` as with no start column; ``of_first``: counted among that many rows
    only (the first chunk)."""
    many = f"{count} rows have" if count != 1 else "1 row has"
    among = f" among the first {of_first} rows" if of_first else ""
    which = f"row{'s' if len(rows) != 1 else ''} {', '.join(map(str, rows))}{', ...' if more else ''}"
    return (
        f"{many} no start time in {quote(column)}{among} ({which}): they start at default_start_time "
        f"({default_start}), one after another per person and day; fill in their start times if they "
        "have them"
    )


def no_start_time_column(default_start: str) -> str:
    """A note (not an error): rows are stacked from ``default_start_time``."""
    return (
        "no start-time column: each person's entries of a day start at default_start_time "
        f"({default_start}) and follow one another"
    )


def header_below_title(row: int, title: str) -> str:
    """A note (not an error): non-empty rows above the header (a title) are skipped; ``title``:
    the first text above it."""
    above = "row 1 above it" if row == 2 else f"rows 1-{row - 1} above it"
    verb = "is" if row == 2 else "are"
    return f"the header is on row {row}: {above} (starting {quote(title)}) {verb} not read"


def sheet_not_first(sheet: str, number: int, before: Sequence[str]) -> str:
    """A note (not an error): the timesheet is read from a later sheet; ``before``: the visible
    sheets before it, whose first rows hold no usable header."""
    more = f" and {len(before) - 5} more" if len(before) > 5 else ""
    shown = ", ".join(quote(s) for s in before[:5]) + more
    which = f"sheet {shown} before it has" if len(before) == 1 else f"sheets {shown} before it have"
    return (
        f"reading sheet {quote(sheet)} (sheet {number}): {which} no header naming a start and a "
        f"length, so {'it is' if len(before) == 1 else 'they are'} not read"
    )
