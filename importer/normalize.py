"""Raw rows → typed columns: UTC starts, durations in seconds, names, tags, billable; vectorised.

``normalize(chunk, mapping, timezone=..., default_start_time=..., state=...)`` turns a ``RawChunk``
into a ``NormalizedChunk``: one entry per valid row, aligned arrays, and one ``RowError`` per
refused row (with the rows the reader refused). A bad row never stops the file; only a file whose
times have no offset, read without ``--timezone``, raises (``ConfigError``: the whole file, exit 2).

Rules (the contract's "Reading and normalising rows"):

- The start is the ``start`` cell, else the ``start_date`` and ``start_time`` cells together; a
  ``start_time`` cell holding a whole date-time is read as one. The end likewise; an end time
  without an end date is on the start's day.
- A date outside the years 1970-2099 is refused (``bad_date``: a typo like ``0026``), as is a
  cell that is no date or time at all. Messages come from ``messages.py``, built only for the
  rows refused.
- Text without an offset is local time in ``timezone``: a time the clocks skip (spring forward) is
  refused, one they pass twice (fall back) is refused naming both instants.
- Start and end: ``duration = end - start``. Otherwise the ``duration`` cell. Neither: refused.
  Negative, or over 999 hours: refused.
- A date and a duration but no start time (Harvest): the row starts at ``default_start_time``, and
  the next such row of the same person on the same day where the last one ended, in file order,
  across chunks (``NormalizeState``, one per file).
- ``since`` / ``until`` (local dates in ``timezone``, inclusive) and ``only_email``: the rows
  outside are *skipped*, not refused -- removed from the columns and listed in
  ``NormalizedChunk.skipped`` (``RowError`` s of reason ``skipped``). A row outside the window is
  skipped even when it is invalid otherwise, if its date is readable (else it is refused).
- The description is the ``description`` cell, else the ``summary`` cell, after the ``issue``
  cell: ``PROJ-12: Fix the login`` (Jira). The ``key`` cell (a worklog id) is carried as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import messages
from .cells import NO_DAY, NO_OFFSET, parse_bools, split_tags
from .chunkrows import Refusals, Rows
from .codepoints import utc_texts
from .durations import parse_durations
from .models import MAX_DURATION_SECONDS, RowError
from .presets import Mapping
from .reader import RawChunk
from .rowtimes import before_message, instant_of, moment_of, skip_rows
from .slashdates import day_first_of

_TEXT_FIELDS = ("project", "client", "task", "email")


@dataclass
class NormalizeState:
    """What one chunk of a file hands to the next: where stacked rows go on. One per file."""

    next_start: dict[tuple[str, int], int] = field(default_factory=dict)
    """(person, local day) → seconds after that day's local midnight where the next row starts."""
    day_first: bool | None = None
    """How this file's dates with slashes read, once a chunk has shown it (``date_order`` auto)."""
    day_first_seen: str | None = None
    """A date of this file that can only be day first (25/11/2026), once one was seen: with
    ``date_order`` mdy, the dates that read both ways are refused from then on."""


@dataclass
class NormalizedChunk:
    """The valid rows of a chunk as aligned arrays, and why the others were refused."""

    file: str
    rows: np.ndarray
    """``int64`` spreadsheet row numbers."""
    start: np.ndarray
    """``int64`` seconds since 1970-01-01T00:00:00Z."""
    duration: np.ndarray
    """``int64`` seconds, 0 to 999 hours."""
    description: np.ndarray
    """Object arrays of ``str``, ``None`` where empty (or where the column is absent)."""
    project: np.ndarray
    client: np.ndarray
    task: np.ndarray
    email: np.ndarray
    tags: np.ndarray
    """Object array of ``tuple[str, ...]`` (empty when none)."""
    billable: np.ndarray | None
    """``bool`` array, or ``None`` when the file has no billable column."""
    key: np.ndarray
    """Object array of ``str``: each row's id in the system it came from (the ``key`` column, a
    worklog id), ``""`` where empty or when there is no such column. Never posted."""
    errors: list[RowError] = field(default_factory=list)
    """One per refused row, in row order, including the rows the reader refused."""
    refused_keys: list[str] = field(default_factory=list)
    """The keys of the refused rows (a ``--mirror`` never deletes the entry of a row that is
    still in the file, even when the row is refused now)."""
    skipped: list[RowError] = field(default_factory=list)
    """One per row left out by ``since`` / ``until`` / ``only_email`` (reason ``skipped``), in row
    order; those rows are in no other attribute."""

    def __len__(self) -> int:
        return len(self.rows)

    def start_text(self) -> np.ndarray:
        """Starts as Toggl's ``YYYY-MM-DDTHH:MM:SSZ``."""
        texts = utc_texts(self.start)
        if texts is None:  # a year numpy writes with a sign or more digits
            texts = np.char.add(np.datetime_as_string(self.start.astype("datetime64[s]"), unit="s"), "Z")
        return texts


def normalize(
    chunk: RawChunk,
    mapping: Mapping,
    *,
    timezone: str | None = None,
    default_start_time: dt.time = dt.time(9, 0),
    state: NormalizeState | None = None,
    date_order: str = "mdy",
    jira_day_hours: float = 8.0,
    since: dt.date | None = None,
    until: dt.date | None = None,
    only_email: Sequence[str] = (),
) -> NormalizedChunk:
    """Type the rows of ``chunk``; refuse the rows that cannot become an entry, saying why.

    Pass one ``NormalizeState`` per file, the same for all its chunks, so that rows stacked from
    ``default_start_time`` go on where the previous chunk left them, and dates with slashes read
    alike in every chunk. ``date_order``: ``mdy`` (month first), ``dmy``, or ``auto`` -- day first
    once a date like 25/11/2026 shows it (and no 11/25/2026 says otherwise), else month first.
    ``jira_day_hours``: the hours of ``1d`` in a duration. ``since``, ``until``, ``only_email``:
    which rows to import, the others are skipped. Raises ``ConfigError`` only when rows have local
    times and ``timezone`` is missing or unknown, ``InputError`` for ``only_email`` without an
    email column.
    """
    rows = Rows(chunk, mapping)
    refused = Refusals(chunk.file, chunk.rows)
    day_first, evidence = day_first_of(rows, date_order, state)
    start = moment_of(rows, refused, "start", "start_date", "start_time", day_first, evidence)
    skip_rows(rows, refused, start, timezone, (since, until), only_email)
    end = moment_of(rows, refused, "end", "end_date", "end_time", day_first, evidence)
    no_day = start.day == NO_DAY
    date_column = rows.name("start_date", "start", "start_time")
    refused.add(no_day & (start.tod >= 0), "no_date", date_column, lambda _: messages.no_date())
    refused.add(no_day, "no_start", date_column, lambda _: messages.no_start())
    has_end = end.tod >= 0
    end.day = np.where(has_end & (end.day == NO_DAY), start.day, end.day)
    end.offset = np.where(has_end & (end.offset == NO_OFFSET), start.offset, end.offset)
    length = _length(rows, refused, has_end, jira_day_hours)
    stacked = (start.tod < 0) & ~refused.mask
    refused.add(
        stacked & has_end,
        "no_start_time",
        rows.name("start_time", "start"),
        lambda _: messages.no_start_time(),
    )
    stacked &= ~refused.mask
    if stacked.any():
        start.tod[stacked] = _stack(rows, start.day, length, stacked, default_start_time, state)
    begin = instant_of(rows, refused, start, ~refused.mask, timezone, "start_time", "start")
    finish = instant_of(rows, refused, end, has_end & ~refused.mask, timezone, "end_time", "end")
    length = np.where(has_end, finish - begin, length)
    refused.add(
        has_end & (length < 0),
        "end_before_start",
        rows.name("end_time", "end"),
        lambda i: before_message(rows, i),
    )
    too_long = length > MAX_DURATION_SECONDS
    for measured, column in ((has_end, rows.name("end_time", "end")), (~has_end, rows.name("duration"))):
        refused.add(
            too_long & measured,
            "too_long",
            column,
            lambda i: messages.too_long(length[i] / 3600),
        )
    billable = _billable(rows, refused)
    keep = ~refused.mask
    keys = _keys(rows.values("key"), len(chunk))
    return NormalizedChunk(
        file=chunk.file,
        rows=chunk.rows[keep],
        start=begin[keep],
        duration=length[keep],
        description=_description(rows)[keep],
        **{f: _texts(rows.values(f), len(chunk))[keep] for f in _TEXT_FIELDS},
        tags=_tags(rows.values("tags"), len(chunk))[keep],
        billable=None if billable is None else billable[keep],
        key=keys[keep],
        errors=sorted([*chunk.errors, *refused.errors()], key=lambda e: e.row),
        refused_keys=[k for k in keys[~keep].tolist() if k],
        skipped=refused.skipped_errors(),
    )


def _length(rows: Rows, refused: Refusals, has_end: np.ndarray, day_hours: float) -> np.ndarray:
    """Seconds from the duration column, for the rows without an end."""
    values = rows.values("duration")
    if values is None:
        found_bad = np.zeros(rows.n, dtype=bool)
        empty = np.ones(rows.n, dtype=bool)
        seconds = np.zeros(rows.n, dtype=np.int64)
    else:
        unit = rows.mapping.duration_unit
        found = parse_durations(
            values, decimal_comma=rows.chunk.decimal_comma, day_hours=day_hours, unit=unit
        )
        found_bad, empty, seconds = found.bad, found.empty, found.seconds
        column = rows.name("duration")
        refused.add(~has_end & found.ambiguous, "ambiguous_duration", column, _either(values, unit))
        refused.add(~has_end & found_bad, "bad_duration", column, lambda i: messages.bad_duration(values[i]))
    refused.add(
        ~has_end & empty,
        "no_duration",
        rows.name("end_time", "duration", "end"),
        lambda _: messages.no_duration(),
    )
    return seconds


def _stack(
    rows: Rows,
    day: np.ndarray,
    length: np.ndarray,
    stacked: np.ndarray,
    first: dt.time,
    state: NormalizeState | None,
) -> np.ndarray:
    """Start times (seconds after local midnight) of rows with a date but no start time."""
    state = state if state is not None else NormalizeState()
    person = rows.person()[stacked]
    days, seconds = day[stacked], length[stacked]
    codes, groups = pd.MultiIndex.from_arrays([person, days]).factorize()
    opening = first.hour * 3600 + first.minute * 60 + first.second
    base = np.array([state.next_start.get(g, opening) for g in groups], dtype=np.int64)
    before = pd.Series(seconds).groupby(codes).cumsum().to_numpy() - seconds
    totals = np.bincount(codes, weights=seconds, minlength=len(groups)).astype(np.int64)
    for g, b, t in zip(groups, base, totals, strict=True):  # one per person and day
        state.next_start[(str(g[0]), int(g[1]))] = int(b + t)
    return base[codes] + before


def _billable(rows: Rows, refused: Refusals) -> np.ndarray | None:
    values = rows.values("billable")
    if values is None:
        return None
    value, bad = parse_bools(values)
    refused.add(
        bad,
        "bad_billable",
        rows.name("billable"),
        lambda i: messages.bad_billable(values[i]),
    )
    return value


_UNIT_NAMES = {1: "seconds", 60: "minutes", 3600: "hours"}


def _either(values: np.ndarray, unit: int) -> Callable[[int], str]:
    """The message of a number like 1,234 that may have a thousands separator or a decimal comma."""

    def message(i: int) -> str:
        text = str(values[i]).strip()
        whole, decimal = text.replace(",", ""), text.replace(",", ".")
        return messages.ambiguous_duration(text, whole, decimal, _UNIT_NAMES.get(unit, "hours"))

    return message


def _description(rows: Rows) -> np.ndarray:
    """The description, else the summary, after the issue key: ``KEY: text`` (``None``: none)."""
    text, summary, issue = (rows.values(f) for f in ("description", "summary", "issue"))
    if summary is None and issue is None:
        return _texts(text, rows.n)
    text = np.full(rows.n, "", dtype=object) if text is None else text
    if summary is not None:
        text = np.where(text == "", summary, text)
    if issue is not None:
        text = np.where(issue == "", text, np.where(text == "", issue, issue + ": " + text))
    return _texts(np.asarray(text, dtype=object), rows.n)


def _keys(values: np.ndarray | None, n: int) -> np.ndarray:
    return np.full(n, "", dtype=object) if values is None else values


def _texts(values: np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, None, dtype=object)
    out = values.copy()
    out[values == ""] = None
    return out


def _tags(values: np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        out = np.empty(n, dtype=object)
        out[:] = [()] * n
        return out
    return split_tags(values)
