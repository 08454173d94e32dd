"""A row's start and end from its columns, and the rows a run leaves out by date or email.

``moment_of`` reads one side's date, time of day and offset from its columns (refusing what does
not read, dates outside the years allowed, and dates that read both ways when the file showed a
day-first one); ``instant_of`` makes UTC seconds of them (local times in the zone, refusing the
times a clock change skips or repeats); ``skip_rows`` leaves out the rows outside ``since`` /
``until`` / ``only_email``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from . import messages
from .cells import NO_DAY, NO_OFFSET, parse_moments, weekday_conflict
from .chunkrows import Moment, Refusals, Rows
from .errors import InputError
from .localtime import NAT, clock_change, localize, zone_for
from .presets import Mapping
from .slashdates import both_ways, swap_day_month

_WHAT = {"date": "bad_date", "time": "bad_time", "stamp": "bad_time"}
_DAYS = (
    (dt.date(messages.FIRST_YEAR, 1, 1) - dt.date(1970, 1, 1)).days,
    (dt.date(messages.LAST_YEAR, 12, 31) - dt.date(1970, 1, 1)).days,
)
"""Days since 1970-01-01 of the first and the last date a row may have."""


def moment_of(
    rows: Rows,
    refused: Refusals,
    stamp: str,
    date: str,
    time: str,
    day_first: bool = False,
    evidence: str | None = None,
) -> Moment:
    """Day, time of day and offset of one side (start or end) from its columns; with
    ``evidence``, dates with slashes that read both ways are refused."""
    out = Moment(
        np.full(rows.n, NO_DAY, dtype=np.int64),
        np.full(rows.n, -1, dtype=np.int64),
        np.full(rows.n, NO_OFFSET, dtype=np.int64),
    )
    for fld, what in ((date, "date"), (time, "time"), (stamp, "stamp")):  # later ones win
        values = rows.values(fld)
        if values is None:
            continue
        found = parse_moments(swap_day_month(values) if day_first and what != "time" else values)
        refused.add(found.bad, _WHAT[what], rows.name(fld), _unreadable(values, what, day_first))
        far = (found.day != NO_DAY) & ((found.day < _DAYS[0]) | (found.day > _DAYS[1]))
        refused.add(far, "bad_date", rows.name(fld), _out_of_range(values))
        found.bad |= far
        if evidence is not None and what != "time":
            doubt = ~found.bad & both_ways(values)
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


def instant_of(
    rows: Rows,
    refused: Refusals,
    side: Moment,
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


def before_message(rows: Rows, i: int) -> str:
    start = " ".join(filter(None, (rows.cell(i, "start_date"), rows.cell(i, "start_time", "start"))))
    end = " ".join(filter(None, (rows.cell(i, "end_date"), rows.cell(i, "end_time", "end"))))
    no_end_date = rows.values("end_date") is None or not rows.cell(i, "end_date")
    return messages.end_before_start(end, start, end_date_missing=no_end_date)


def skip_rows(
    rows: Rows,
    refused: Refusals,
    start: Moment,
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


def _local_day(rows: Rows, start: Moment, known: np.ndarray, timezone: str | None) -> np.ndarray:
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
