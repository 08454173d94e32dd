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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import messages
from .cells import (
    NO_DAY,
    NO_OFFSET,
    parse_bools,
    parse_durations,
    parse_moments,
    split_tags,
    utc_texts,
    weekday_conflict,
)
from .errors import InputError
from .localtime import NAT, clock_change, localize, zone_for
from .models import MAX_DURATION_SECONDS, RowError
from .presets import Mapping
from .reader import RawChunk

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
    rows = _Rows(chunk, mapping)
    refused = _Refusals(chunk.file, chunk.rows)
    day_first, evidence = _day_first(rows, date_order, state)
    start = _moment(rows, refused, "start", "start_date", "start_time", day_first, evidence)
    _skip(rows, refused, start, timezone, (since, until), only_email)
    end = _moment(rows, refused, "end", "end_date", "end_time", day_first, evidence)
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
    """Rows refused so far; the first reason found for a row is the one reported. Rows skipped
    (``skip``) are neither refused nor kept, whatever was found before or after."""

    def __init__(self, file: str, rows: np.ndarray) -> None:
        self.file = file
        self.rows = rows
        self.mask = np.zeros(len(rows), dtype=bool)
        self.skipped = np.zeros(len(rows), dtype=bool)
        self.found: list[tuple[np.ndarray, str, str | None, str | Callable[[int], str]]] = []
        self.skips: list[tuple[np.ndarray, str, str | None, str | Callable[[int], str]]] = []

    def add(
        self, mask: np.ndarray, reason: str, column: str | None, message: str | Callable[[int], str]
    ) -> None:
        new = np.flatnonzero(mask & ~self.mask)
        if len(new):
            self.mask[new] = True
            self.found.append((new, reason, column, message))

    def skip(self, mask: np.ndarray, column: str | None, message: str) -> None:
        """Leave these rows out (reason ``skipped``), even those refused already."""
        new = np.flatnonzero(mask & ~self.skipped)
        if len(new):
            self.mask[new] = self.skipped[new] = True
            self.skips.append((new, "skipped", column, message))

    def errors(self) -> list[RowError]:
        return self._made(self.found, ~self.skipped)

    def skipped_errors(self) -> list[RowError]:
        return sorted(self._made(self.skips, self.skipped), key=lambda e: e.row)

    def _made(
        self, found: list[tuple[np.ndarray, str, str | None, str | Callable[[int], str]]], keep: np.ndarray
    ) -> list[RowError]:
        return [
            RowError(
                file=self.file,
                row=int(self.rows[i]),
                column=column,
                message=message(int(i)) if callable(message) else message,
                reason=reason,
            )
            for where, reason, column, message in found
            for i in where[keep[where]]
        ]


@dataclass
class _Moment:
    day: np.ndarray
    tod: np.ndarray
    offset: np.ndarray


_WHAT = {"date": "bad_date", "time": "bad_time", "stamp": "bad_time"}
_DAYS = (
    (dt.date(messages.FIRST_YEAR, 1, 1) - dt.date(1970, 1, 1)).days,
    (dt.date(messages.LAST_YEAR, 12, 31) - dt.date(1970, 1, 1)).days,
)
"""Days since 1970-01-01 of the first and the last date a row may have."""


DATE_FIELDS = ("start_date", "start", "end_date", "end")
SLASHED = r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})"


@dataclass(frozen=True)
class SlashDates:
    """What the dates with slashes among some cells show: whether there are any, and the first
    that can only be day first (25/11/2026) or only month first (11/25/2026)."""

    any: bool = False
    day_only: str | None = None
    month_only: str | None = None


def slash_evidence(values: np.ndarray) -> SlashDates:
    """The dates with slashes among ``values`` (distinct values, in order of appearance)."""
    found = pd.Series(pd.unique(values), dtype=object).str.extract(SLASHED).dropna()
    if found.empty:
        return SlashDates()
    a, b = found[0].astype(int), found[1].astype(int)
    day, month = found[(a > 12) & (b <= 12)], found[(b > 12) & (a <= 12)]
    return SlashDates(True, _date_text(day), _date_text(month))


def _date_text(found: pd.DataFrame) -> str | None:
    """The first extracted date with slashes, as ``D/M/YYYY`` text as written."""
    return "/".join(found.iloc[0]) if len(found) else None


def first_of(seen: Iterable[SlashDates]) -> SlashDates:
    """The evidence of several columns as one (the first example of each kind)."""
    seen = list(seen)
    return SlashDates(
        any(e.any for e in seen),
        next((e.day_only for e in seen if e.day_only), None),
        next((e.month_only for e in seen if e.month_only), None),
    )


def _day_first(rows: _Rows, date_order: str, state: NormalizeState | None) -> tuple[bool, str | None]:
    """``(day_first, evidence)``: how to read this chunk's dates with slashes, and -- month first
    though the file has shown a date that can only be day first -- that date (then a date that
    reads both ways is refused rather than guessed: 05/11/2026 would be 11 May)."""
    if date_order == "dmy":
        return True, None
    if date_order == "auto" and state is not None and state.day_first is not None:
        return state.day_first, None
    if date_order == "mdy" and state is not None and state.day_first_seen is not None:
        return False, state.day_first_seen
    seen = first_of(slash_evidence(v) for f in DATE_FIELDS if (v := rows.values(f)) is not None)
    if date_order == "mdy":
        if seen.day_only is None or seen.month_only is not None:
            return False, None
        if state is not None:
            state.day_first_seen = seen.day_only
        return False, seen.day_only
    day = seen.day_only is not None
    if day == (seen.month_only is not None):  # no evidence yet (or both: misfits are refused)
        return False, None
    if state is not None:
        state.day_first = day
    return day, None


def _both_ways(values: np.ndarray) -> np.ndarray:
    """Dates with slashes that read as two different days (05/11/2026; not 05/05/2026)."""
    found = pd.Series(values, dtype=object).str.extract(SLASHED)
    a = pd.to_numeric(found[0], errors="coerce").to_numpy()
    b = pd.to_numeric(found[1], errors="coerce").to_numpy()
    with np.errstate(invalid="ignore"):
        return np.asarray((a <= 12) & (b <= 12) & (a != b), dtype=bool)


def _swap_day_month(values: np.ndarray) -> np.ndarray:
    """``05/11/2026`` as ``11/05/2026``: day-first text for the month-first parser."""
    swapped = pd.Series(values, dtype=object).str.replace(SLASHED, r"\2/\1/\3", regex=True)
    return swapped.to_numpy(dtype=object)


def _moment(
    rows: _Rows,
    refused: _Refusals,
    stamp: str,
    date: str,
    time: str,
    day_first: bool = False,
    evidence: str | None = None,
) -> _Moment:
    """Day, time of day and offset of one side (start or end) from its columns; with
    ``evidence``, dates with slashes that read both ways are refused."""
    out = _Moment(
        np.full(rows.n, NO_DAY, dtype=np.int64),
        np.full(rows.n, -1, dtype=np.int64),
        np.full(rows.n, NO_OFFSET, dtype=np.int64),
    )
    for fld, what in ((date, "date"), (time, "time"), (stamp, "stamp")):  # later ones win
        values = rows.values(fld)
        if values is None:
            continue
        found = parse_moments(_swap_day_month(values) if day_first and what != "time" else values)
        refused.add(found.bad, _WHAT[what], rows.name(fld), _unreadable(values, what, day_first))
        far = (found.day != NO_DAY) & ((found.day < _DAYS[0]) | (found.day > _DAYS[1]))
        refused.add(far, "bad_date", rows.name(fld), _out_of_range(values))
        found.bad |= far
        if evidence is not None and what != "time":
            doubt = ~found.bad & _both_ways(values)
            refused.add(doubt, "ambiguous_date", rows.name(fld), _ambiguous(values, evidence))
            found.bad |= doubt
        use = ~found.empty & ~found.bad
        for mine, theirs, none in (
            (out.day, found.day, NO_DAY),
            (out.tod, found.tod, -1),
            (out.offset, found.offset, NO_OFFSET),
        ):
            given = use & (theirs != none)
            mine[given] = theirs[given]
    return out


def _unreadable(values: np.ndarray, what: str, day_first: bool) -> Callable[[int], str]:
    if what == "date":
        return lambda i: _weekday(values[i]) or messages.bad_date(values[i], day_first=day_first)
    if what == "stamp":
        return lambda i: _weekday(values[i]) or messages.bad_time(values[i], with_date=True,
                                                                   day_first=day_first)  # fmt: skip
    return lambda i: messages.bad_time(values[i], day_first=day_first)


def _weekday(text: str) -> str | None:
    """The message for a date on another weekday than it says, if that is why it was refused."""
    conflict = weekday_conflict(text)
    return messages.weekday_mismatch(text, *conflict) if conflict is not None else None


def _ambiguous(values: np.ndarray, evidence: str) -> Callable[[int], str]:
    return lambda i: messages.ambiguous_date(values[i], evidence)


def _out_of_range(values: np.ndarray) -> Callable[[int], str]:
    return lambda i: messages.date_out_of_range(values[i])


def _length(rows: _Rows, refused: _Refusals, has_end: np.ndarray, day_hours: float) -> np.ndarray:
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
    first = int(local[0])
    zone = zone_for(
        timezone, rows.chunk.file, int(rows.chunk.rows[first]), rows.name(*fields), rows.cell(first, *fields)
    )
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
    no_end_date = rows.values("end_date") is None or not rows.cell(i, "end_date")
    return messages.end_before_start(end, start, end_date_missing=no_end_date)


def _billable(rows: _Rows, refused: _Refusals) -> np.ndarray | None:
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


def _skip(
    rows: _Rows,
    refused: _Refusals,
    start: _Moment,
    timezone: str | None,
    window: tuple[dt.date | None, dt.date | None],
    emails: Sequence[str],
) -> None:
    """Leave out the rows whose (readable) local start date is outside ``window`` (since, until:
    inclusive), and those whose email is not one of ``emails``."""
    since, until = window
    if since is not None or until is not None:
        known = start.day != NO_DAY
        day = _local_day(rows, start, known, timezone)
        column = rows.name("start_date", "start", "start_time")
        if since is not None:
            first = (since - dt.date(1970, 1, 1)).days
            refused.skip(known & (day < first), column, messages.skipped_before_since(since.isoformat()))
        if until is not None:
            last = (until - dt.date(1970, 1, 1)).days
            refused.skip(known & (day > last), column, messages.skipped_after_until(until.isoformat()))
    if emails:
        check_only_email(rows.mapping, rows.chunk.frame.columns, emails, rows.chunk.file)
        values = rows.values("email")
        assert values is not None  # checked
        codes, uniques = pd.factorize(values)
        wanted = {e.strip().casefold() for e in emails}
        ours = np.array([u.strip().casefold() in wanted for u in uniques], dtype=bool)
        listed = sorted(wanted)
        refused.skip(~ours.take(codes), rows.name("email"), messages.skipped_other_email(listed))


def check_only_email(mapping: Mapping, columns: Iterable[object], emails: Sequence[str], file: str) -> None:
    """``only_email`` picks rows by a column of emails: refuse the file (``InputError``) without."""
    if emails and mapping.columns.get("email") is None:
        raise InputError(messages.only_email_no_column([str(c) for c in columns]), file=file)


def _local_day(rows: _Rows, start: _Moment, known: np.ndarray, timezone: str | None) -> np.ndarray:
    """Each row's start date, in days since 1970-01-01, local to ``timezone``: as written for
    local times (and for every time when there is no zone); a time with an offset is moved into
    the zone first."""
    day = start.day.copy()
    moved = np.flatnonzero(known & (start.offset != NO_OFFSET) & (start.tod >= 0))
    if timezone is None or not len(moved):
        return day
    zone = zone_for(timezone, rows.chunk.file)
    utc = start.day[moved] * 86400 + start.tod[moved] - start.offset[moved]
    local = pd.DatetimeIndex(utc.astype("datetime64[s]")).tz_localize("UTC").tz_convert(zone.key)
    day[moved] = local.tz_localize(None).as_unit("s").asi8 // 86400
    return day


def _description(rows: _Rows) -> np.ndarray:
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
