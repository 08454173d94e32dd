"""Raw rows → typed columns: UTC starts, durations in seconds, names, tags, billable; vectorised.

``normalize(chunk, mapping, timezone=..., default_start_time=..., state=...)`` turns a ``RawChunk``
into a ``NormalizedChunk``: one entry per valid row, aligned arrays, and one ``RowError`` per
refused row (with the rows the reader refused). A bad row never stops the file; only a file whose
times have no offset, read without ``--timezone``, raises (``ConfigError``: the whole file, exit 2).

Rules (the contract's "Reading and normalising rows"):

- The start is the ``start`` cell, else the ``start_date`` and ``start_time`` cells together; a
  ``start_time`` cell holding a whole date-time is read as one. The end likewise; an end time
  without an end date is on the start's day.
- Text without an offset is local time in ``timezone``: a time the clocks skip (spring forward) is
  refused, one they pass twice (fall back) is refused naming both instants.
- Start and end: ``duration = end - start``. Otherwise the ``duration`` cell. Neither: refused.
  Negative, or over 999 hours: refused.
- A date and a duration but no start time (Harvest): the row starts at ``default_start_time``, and
  the next such row of the same person on the same day where the last one ended, in file order,
  across chunks (``NormalizeState``, one per file).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .cells import (
    DATE_FORMATS,
    DURATION_FORMATS,
    NO_DAY,
    NO_OFFSET,
    TIME_FORMATS,
    parse_bools,
    parse_durations,
    parse_moments,
    split_tags,
)
from .errors import quote
from .localtime import NAT, clock_change, localize, zone_for
from .models import MAX_DURATION_SECONDS, RowError
from .presets import Mapping
from .reader import RawChunk

_TEXT_FIELDS = ("description", "project", "client", "task", "email")


@dataclass
class NormalizeState:
    """What one chunk of a file hands to the next: where stacked rows go on. One per file."""

    next_start: dict[tuple[str, int], int] = field(default_factory=dict)
    """(person, local day) → seconds after that day's local midnight where the next row starts."""


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
    errors: list[RowError] = field(default_factory=list)
    """One per refused row, in row order, including the rows the reader refused."""

    def __len__(self) -> int:
        return len(self.rows)

    def start_text(self) -> np.ndarray:
        """Starts as Toggl's ``YYYY-MM-DDTHH:MM:SSZ``."""
        return np.char.add(np.datetime_as_string(self.start.astype("datetime64[s]"), unit="s"), "Z")


def normalize(
    chunk: RawChunk,
    mapping: Mapping,
    *,
    timezone: str | None = None,
    default_start_time: dt.time = dt.time(9, 0),
    state: NormalizeState | None = None,
) -> NormalizedChunk:
    """Type the rows of ``chunk``; refuse the rows that cannot become an entry, saying why.

    Pass one ``NormalizeState`` per file, the same for all its chunks, so that rows stacked from
    ``default_start_time`` go on where the previous chunk left them. Raises ``ConfigError`` only
    when rows have local times and ``timezone`` is missing or unknown.
    """
    rows = _Rows(chunk, mapping)
    refused = _Refusals(chunk.file, chunk.rows)
    start = _moment(rows, refused, "start", "start_date", "start_time")
    end = _moment(rows, refused, "end", "end_date", "end_time")
    no_day = start.day == NO_DAY
    date_column = rows.name("start_date", "start", "start_time")
    refused.add(
        no_day & (start.tod >= 0),
        "no_date",
        date_column,
        "the row has a start time but no date: fill in the date",
    )
    refused.add(no_day, "no_start", date_column, "the row has no start date: fill in the date")
    has_end = end.tod >= 0
    end.day = np.where(has_end & (end.day == NO_DAY), start.day, end.day)
    end.offset = np.where(has_end & (end.offset == NO_OFFSET), start.offset, end.offset)
    length = _length(rows, refused, has_end)
    stacked = (start.tod < 0) & ~refused.mask
    refused.add(
        stacked & has_end,
        "no_start_time",
        rows.name("start_time", "start"),
        "the row has an end but no start time: fill in the start time",
    )
    stacked &= ~refused.mask
    if stacked.any():
        start.tod[stacked] = _stack(rows, start.day, length, stacked, default_start_time, state)
    begin = _instant(rows, refused, start, ~refused.mask, timezone, "start_time", "start")
    finish = _instant(rows, refused, end, has_end & ~refused.mask, timezone, "end_time", "end")
    length = np.where(has_end, finish - begin, length)
    refused.add(
        has_end & (length < 0),
        "end_before_start",
        rows.name("end_time", "end"),
        lambda i: _before_message(rows, i),
    )
    too_long = length > MAX_DURATION_SECONDS
    for measured, column in ((has_end, rows.name("end_time", "end")), (~has_end, rows.name("duration"))):
        refused.add(
            too_long & measured,
            "too_long",
            column,
            lambda i: f"the entry lasts {length[i] / 3600:,.1f} hours: Toggl takes 999 at most",
        )
    billable = _billable(rows, refused)
    keep = ~refused.mask
    return NormalizedChunk(
        file=chunk.file,
        rows=chunk.rows[keep],
        start=begin[keep],
        duration=length[keep],
        **{f: _texts(rows.values(f), len(chunk))[keep] for f in _TEXT_FIELDS},
        tags=_tags(rows.values("tags"), len(chunk))[keep],
        billable=None if billable is None else billable[keep],
        errors=sorted([*chunk.errors, *refused.errors()], key=lambda e: e.row),
    )


class _Rows:
    """The mapped columns of a chunk, as object arrays of ``str``."""

    def __init__(self, chunk: RawChunk, mapping: Mapping) -> None:
        self.chunk = chunk
        self.mapping = mapping
        self.n = len(chunk)

    def name(self, *fields: str) -> str | None:
        for f in fields:
            column = self.mapping.columns.get(f)
            if column is not None:
                return column
        return None

    def values(self, fld: str) -> np.ndarray | None:
        column = self.mapping.columns.get(fld)
        if column is None or column not in self.chunk.frame.columns:
            return None
        return self.chunk.frame[column].to_numpy(dtype=object)

    def cell(self, i: int, *fields: str) -> str:
        for f in fields:
            values = self.values(f)
            if values is not None and values[i]:
                return str(values[i])
        return ""

    def person(self) -> np.ndarray:
        columns = [c for c in self.mapping.person if c in self.chunk.frame.columns]
        key = np.full(self.n, "", dtype=object)
        for column in columns:
            key = key + "\x1f" + self.chunk.frame[column].to_numpy(dtype=object)
        return key


class _Refusals:
    """Rows refused so far; the first reason found for a row is the one reported."""

    def __init__(self, file: str, rows: np.ndarray) -> None:
        self.file = file
        self.rows = rows
        self.mask = np.zeros(len(rows), dtype=bool)
        self.found: list[tuple[np.ndarray, str, str | None, str | Callable[[int], str]]] = []

    def add(
        self, mask: np.ndarray, reason: str, column: str | None, message: str | Callable[[int], str]
    ) -> None:
        new = np.flatnonzero(mask & ~self.mask)
        if len(new):
            self.mask[new] = True
            self.found.append((new, reason, column, message))

    def errors(self) -> list[RowError]:
        return [
            RowError(
                file=self.file,
                row=int(self.rows[i]),
                column=column,
                message=message(int(i)) if callable(message) else message,
                reason=reason,
            )
            for where, reason, column, message in self.found
            for i in where
        ]


@dataclass
class _Moment:
    day: np.ndarray
    tod: np.ndarray
    offset: np.ndarray


_WHAT = {
    "date": ("bad_date", f"as a date: use {DATE_FORMATS}"),
    "time": ("bad_time", f"as a time: use {TIME_FORMATS}"),
    "stamp": ("bad_time", "as a date and time: use 2026-03-05 09:30 or 2026-03-05T09:30+01:00"),
}


def _moment(rows: _Rows, refused: _Refusals, stamp: str, date: str, time: str) -> _Moment:
    """Day, time of day and offset of one side (start or end) from its columns."""
    out = _Moment(
        np.full(rows.n, NO_DAY, dtype=np.int64),
        np.full(rows.n, -1, dtype=np.int64),
        np.full(rows.n, NO_OFFSET, dtype=np.int64),
    )
    for fld, what in ((date, "date"), (time, "time"), (stamp, "stamp")):  # later ones win
        values = rows.values(fld)
        if values is None:
            continue
        found = parse_moments(values)
        reason, formats = _WHAT[what]
        refused.add(found.bad, reason, rows.name(fld), _unreadable(values, formats))
        use = ~found.empty & ~found.bad
        for mine, theirs, none in (
            (out.day, found.day, NO_DAY),
            (out.tod, found.tod, -1),
            (out.offset, found.offset, NO_OFFSET),
        ):
            given = use & (theirs != none)
            mine[given] = theirs[given]
    return out


def _unreadable(values: np.ndarray, formats: str) -> Callable[[int], str]:
    def message(i: int) -> str:
        hint = " (a date with slashes is read month first)" if "/" in values[i] else ""
        return f"cannot read {quote(values[i])} {formats}{hint}"

    return message


def _length(rows: _Rows, refused: _Refusals, has_end: np.ndarray) -> np.ndarray:
    """Seconds from the duration column, for the rows without an end."""
    values = rows.values("duration")
    if values is None:
        found_bad = np.zeros(rows.n, dtype=bool)
        empty = np.ones(rows.n, dtype=bool)
        seconds = np.zeros(rows.n, dtype=np.int64)
    else:
        found = parse_durations(values, decimal_comma=rows.chunk.decimal_comma)
        found_bad, empty, seconds = found.bad, found.empty, found.seconds
        refused.add(
            ~has_end & found_bad,
            "bad_duration",
            rows.name("duration"),
            lambda i: _duration_message(values[i], rows.chunk.decimal_comma),
        )
    refused.add(
        ~has_end & empty,
        "no_duration",
        rows.name("end_time", "duration", "end"),
        "the row has neither an end time nor a duration (running timers are not "
        "imported): fill in one of them",
    )
    return seconds


def _duration_message(text: str, decimal_comma: bool) -> str:
    hint = ""
    if "," in text and not decimal_comma:
        dot = text.replace(",", ".")
        hint = f" (write {dot!r}: a decimal comma is read only in ;-separated files)"
    return f"cannot read {quote(text)} as a duration: use {DURATION_FORMATS}{hint}"


def _stack(
    rows: _Rows,
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


def _instant(
    rows: _Rows,
    refused: _Refusals,
    side: _Moment,
    todo: np.ndarray,
    timezone: str | None,
    *fields: str,
) -> np.ndarray:
    """UTC seconds of the rows in ``todo``; local wall times go through ``timezone``."""
    out = np.zeros(rows.n, dtype=np.int64)
    wall = np.zeros(rows.n, dtype=np.int64)
    wall[todo] = side.day[todo] * 86400 + side.tod[todo]
    given = todo & (side.offset != NO_OFFSET)
    out[given] = wall[given] - side.offset[given]
    local = np.flatnonzero(todo & (side.offset == NO_OFFSET))
    if not len(local):
        return out
    zone = zone_for(timezone, rows.chunk.file)
    utc = localize(wall[local], zone)
    out[local] = utc
    bad = local[utc == NAT]
    if len(bad):
        why = {int(w): clock_change(int(w), zone) for w in np.unique(wall[bad])}
        reasons = np.array([why[int(w)][0] for w in wall[bad]])
        for reason in ("nonexistent_time", "ambiguous_time"):
            mask = np.zeros(rows.n, dtype=bool)
            mask[bad[reasons == reason]] = True
            refused.add(mask, reason, rows.name(*fields), lambda i: why[int(wall[i])][1])
    return out


def _before_message(rows: _Rows, i: int) -> str:
    start = " ".join(filter(None, (rows.cell(i, "start_date"), rows.cell(i, "start_time", "start"))))
    end = " ".join(filter(None, (rows.cell(i, "end_date"), rows.cell(i, "end_time", "end"))))
    hint = ""
    if rows.values("end_date") is None or not rows.cell(i, "end_date"):
        hint = " (an entry past midnight needs its end date)"
    return f"the end ({end}) is before the start ({start}){hint}"


def _billable(rows: _Rows, refused: _Refusals) -> np.ndarray | None:
    values = rows.values("billable")
    if values is None:
        return None
    value, bad = parse_bools(values)
    refused.add(
        bad,
        "bad_billable",
        rows.name("billable"),
        lambda i: f"cannot read {quote(values[i])} as billable: use yes/no, true/false, y/n, 1/0",
    )
    return value


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
