"""Vectorised parsers of cell text: dates, times, date-times, yes/no and tags (durations: ``durations``).

Each parser takes an object array of ``str`` and returns numpy arrays aligned with it. Work is done
once per *distinct* text (``pd.factorize``): the common shapes (``2026-03-05``, ``09:30:00``,
``01:30:00``, ``2026-03-05T09:30:00+02:00`` ...) are read by numpy straight from the code points;
whatever is left goes through a regular expression, one distinct text at a time. Nothing here
raises on bad text: a cell that cannot be read is flagged ``bad``.

Dates: ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``MM/DD/YYYY`` (Clockify), ``DD.MM.YYYY``, Excel serials
(``46086``, 1970-2099), and English month names or their abbreviations (``Sept`` too) in the orders
``Jan 20, 2023``, ``20 Jan 2023``, ``01-Aug-2023``, ``20/Jan/23`` (Jira's own; a two-digit year is
20YY), optionally after a weekday (``Friday, January 20, 2023``: one the date is not on is
refused, and ``weekday_conflict`` says why). Times: ``H:MM``, ``HH:MM:SS``, ``hh:mm[:ss] AM/PM``,
fractions of a day (``0.375``). Date-times: a date and a time separated by ``T``, spaces or a comma
(``Jan 20, 2023, 6:25 PM``), optionally with milliseconds, ``Z`` or an offset (``+02:00``,
``+0200``, ``+02``), or an Excel serial with a fraction (``46086.375``). The machinery shared with
``durations`` (distinct values, fixed-width shapes on code points) is in ``codepoints``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .codepoints import Pattern, clock_ok, days_from_civil, distinct, spread, valid_date
from .codepoints import points as code_points

NO_DAY = np.iinfo(np.int64).min
"""``Moments.day`` of a cell without a date."""
NO_OFFSET = np.iinfo(np.int64).min
"""``Moments.offset`` of a cell without a UTC offset."""
EXCEL_EPOCH = 25569
"""Excel serial of 1970-01-01 (1900 date system)."""
SERIAL_RANGE = (EXCEL_EPOCH, 73051)
"""Excel serials read as dates: 1970-01-01 up to 2099-12-31."""



@dataclass
class Moments:
    """Dates, times of day and offsets read from one column (aligned with it)."""

    day: np.ndarray
    """``int64`` days since 1970-01-01, ``NO_DAY`` when the cell has no date."""
    tod: np.ndarray
    """``int64`` seconds since midnight, ``-1`` when the cell has no time."""
    offset: np.ndarray
    """``int64`` seconds east of UTC, ``NO_OFFSET`` when the cell gives none."""
    bad: np.ndarray
    """The cell holds text that is none of the above."""
    empty: np.ndarray


# ---------------------------------------------------------------------------------------------
# dates, times and date-times


def parse_moments(values: np.ndarray | Sequence[str]) -> Moments:
    """Read every cell as a date, a time of day, or a date-time with or without offset."""
    codes, uniques = distinct(values)
    day, tod, offset, ok = _moments_of(uniques)
    empty_u = uniques == ""
    bad_u = ~ok & ~empty_u
    day, tod, offset, bad, empty = spread(codes, day, tod, offset, bad_u, empty_u)
    return Moments(day, tod, offset, bad, empty)


def _moments_of(u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(day, tod, offset, ok)`` of distinct texts: numpy for the common shapes, then regexes."""
    n = len(u)
    day = np.full(n, NO_DAY, dtype=np.int64)
    tod = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, NO_OFFSET, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    todo = np.flatnonzero(u != "")
    points = code_points(u, min(_WIDEST, max(map(len, u[todo]), default=0)))
    ends = (points == 0).argmax(axis=1)  # each text's length (0 if cut: it matches no shape)
    for shape in _FAST:
        fits = ends[todo] == len(shape.pattern.text)
        if not fits.any():
            continue
        hit, fields = shape.pattern.match(points[todo[fits]])
        where, todo = todo[fits][hit], np.concatenate([todo[~fits], todo[fits][~hit]])
        f = [x[hit] for x in fields]
        good = np.ones(len(where), dtype=bool)
        if shape.date:
            y, m, d = (f[i] for i in shape.date)
            good &= valid_date(y, m, d)
            day[where] = days_from_civil(y, m, d)
        if shape.clock:
            h, mi, sec = (f[i] if i < len(f) else np.zeros_like(f[0]) for i in shape.clock)
            good &= clock_ok(h, mi, sec)
            if shape.ampm:
                good &= (h >= 1) & (h <= 12)
                pm = np.isin(points[where, shape.ampm], [ord("P"), ord("p")])
                h = h % 12 + np.where(pm, 12, 0)
            extra = (f[shape.millis] >= 500) if shape.millis is not None else 0  # as moment() rounds
            tod[where] = h * 3600 + mi * 60 + sec + extra
        if shape.sign == -1:
            offset[where] = 0
        elif shape.sign:
            sign = np.where(points[where, shape.sign] == ord("-"), -1, 1)
            if len(shape.offset) == 2:
                oh, om = (f[i] for i in shape.offset)
            else:  # +0100: one run of digits
                oh, om = np.divmod(f[shape.offset[0]], 100)
            good &= (oh < 24) & (om < 60)
            offset[where] = sign * (oh * 3600 + om * 60)
        ok[where] = good
    for i in todo:
        found = moment(u[i])
        if found is not None:
            day[i], tod[i], offset[i] = found
            ok[i] = True
    day[~ok], tod[~ok], offset[~ok] = NO_DAY, -1, NO_OFFSET
    return day, tod, offset, ok


@dataclass(frozen=True)
class _Shape:
    """A fixed-width text shape, and which of its runs of digits are what."""

    pattern: Pattern
    date: tuple[int, ...] = ()
    """Fields of (year, month, day)."""
    clock: tuple[int, ...] = ()
    """Fields of (hour, minute, second); a missing second is 0."""
    ampm: int = 0
    """Position of the A or P of AM/PM (0: none)."""
    millis: int | None = None
    """Field of the milliseconds."""
    sign: int = 0
    """Position of the offset's sign (0: no offset; -1: ``Z``)."""
    offset: tuple[int, ...] = ()
    """Fields of the offset's hours and minutes, or the one field of both (``+0100``)."""


_YMD, _HMS = (0, 1, 2), (3, 4, 5)
_FAST = [
    _Shape(Pattern("dddd-dd-dd"), _YMD),
    _Shape(Pattern("dd:dd:dd"), (), (0, 1, 2)),
    _Shape(Pattern("dd:dd"), (), (0, 1, 2)),
    _Shape(Pattern("dd/dd/dddd"), (2, 0, 1)),
    _Shape(Pattern("dd.dd.dddd"), (2, 1, 0)),
    _Shape(Pattern("dd:dd:dd AM"), (), (0, 1, 2), ampm=9),
    _Shape(Pattern("dddd-dd-ddTdd:dd:dd"), _YMD, _HMS),
    _Shape(Pattern("dddd-dd-ddTdd:dd"), _YMD, (3, 4, 5)),
    _Shape(Pattern("dddd-dd-ddTdd:dd:ddZ"), _YMD, _HMS, sign=-1),
    _Shape(Pattern("dddd-dd-ddTdd:dd:ddsdd:dd"), _YMD, _HMS, sign=19, offset=(6, 7)),
    _Shape(Pattern("dddd-dd-ddTdd:dd:ddsdddd"), _YMD, _HMS, sign=19, offset=(6,)),
    _Shape(Pattern("dddd-dd-ddTdd:dd:dd.ddd"), _YMD, _HMS, millis=6),
    _Shape(Pattern("dddd-dd-ddTdd:dd:dd.dddZ"), _YMD, _HMS, millis=6, sign=-1),
    _Shape(Pattern("dddd-dd-ddTdd:dd:dd.dddsdd:dd"), _YMD, _HMS, millis=6, sign=23, offset=(7, 8)),
    _Shape(Pattern("dddd-dd-ddTdd:dd:dd.dddsdddd"), _YMD, _HMS, millis=6, sign=23, offset=(7,)),
]
_WIDEST = max(len(shape.pattern.text) for shape in _FAST)
"""Texts are compared up to this many characters (longer ones go to the regexes)."""


_DATE = r"(?P<a>\d{1,4})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
_TIME = (
    r"(?P<h>\d{1,2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
)
_OFFSET = r"\s*(?P<off>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
_MOMENT = re.compile(rf"(?:{_DATE})?(?:(?:^|[Tt]|\s+){_TIME}{_OFFSET})?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ORDINAL = r"(?:st|nd|rd|th)?"
_NAMED = re.compile(  # a weekday, then Jan 20, 2023 or 20 Jan 2023 / 20-Jan-23 / 20/Jan/23, then a time
    r"(?:(?P<wd>[A-Za-z]+)\.?,?\s+)?"
    rf"(?:(?P<mon>[A-Za-z]+)\.?\s*(?P<d1>\d{{1,2}}){_ORDINAL},?\s*(?P<y1>\d{{4}}|\d{{2}})"
    rf"|(?P<d2>\d{{1,2}}){_ORDINAL}(?P<sep>[-/.\s])\s*(?P<mon2>[A-Za-z]+)\.?(?:(?P=sep)|,)?\s*"
    r"(?P<y2>\d{4}|\d{2}))"
    rf"(?:(?:\s*,\s*|\s+|[Tt]){_TIME}{_OFFSET})?"
)
MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9,
    "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12,
    "december": 12,
}  # fmt: skip
"""English month names and their abbreviations, lower case."""
WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5,
    "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def moment(text: str) -> tuple[int, int, int] | None:
    """``(day, tod, offset)`` of one cell, using the sentinels; ``None`` when it is unreadable."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return _serial(float(text))
    m = _MOMENT.fullmatch(text)
    if m is None or not text:
        named = _named(text) if text else None
        if named is None or named[1] is not None:
            return None
        day, m = named[0], named[2]
    elif m["a"] is not None:
        found = _date(m["a"], m["sep"], m["b"], m["c"])
        if found is None:
            return None
        day = found
    else:
        day = NO_DAY
    return _clock_part(m, day)


def _clock_part(m: re.Match[str], day: int) -> tuple[int, int, int] | None:
    """``moment`` of a matched date (``day``) and the time and offset the match holds."""
    tod, off = -1, NO_OFFSET
    if m["h"] is not None:
        found = _time(m["h"], m["mi"], m["s"], m["frac"], m["ampm"])
        if found is None:
            return None
        tod = found
        if m["mi"] is None and m["ampm"] is None:
            return None  # a bare number is not a time
    if m["off"] is not None:
        offset = _offset(m["off"]) if tod >= 0 else None
        if offset is None:
            return None
        off = offset
    return day, tod, off


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _named(text: str) -> tuple[int, tuple[str, str, str] | None, re.Match[str]] | None:
    """A date with the month's name: ``(day, conflict, match)``; ``conflict`` is (the weekday
    written, the date's own, the date) when the text names a weekday the date is not on."""
    m = _NAMED.fullmatch(text)
    if m is None:
        return None
    month = MONTHS.get((m["mon"] or m["mon2"]).casefold())
    weekday = WEEKDAYS.get(m["wd"].casefold()) if m["wd"] else None
    if month is None or (m["wd"] and weekday is None):
        return None
    year = int(m["y1"] or m["y2"])
    year += 2000 if year < 100 else 0
    try:
        date = dt.date(year, month, int(m["d1"] or m["d2"]))
    except ValueError:
        return None
    conflict = None
    if weekday is not None and weekday != date.weekday():
        conflict = (_DAY_NAMES[weekday], _DAY_NAMES[date.weekday()], f"{date.day} {date:%B %Y}")
    return date.toordinal() - _EPOCH_ORDINAL, conflict, m


def weekday_conflict(text: str) -> tuple[str, str, str] | None:
    """Why a date with a weekday was refused: (the weekday written, the date's own, the date as
    ``20 January 2023``); ``None`` when that is not why."""
    found = _named(text.strip())
    return found[1] if found is not None else None


def _date(a: str, sep: str, b: str, c: str) -> int | None:
    if len(a) == 4 and sep in "-/":
        y, mo, d = int(a), int(b), int(c)
    elif len(c) == 4 and sep == "/":
        y, mo, d = int(c), int(a), int(b)
    elif len(c) == 4 and sep == ".":
        y, mo, d = int(c), int(b), int(a)
    else:
        return None
    ya, ma, da = (np.array([v]) for v in (y, mo, d))
    if not valid_date(ya, ma, da)[0]:
        return None
    return int(days_from_civil(ya, ma, da)[0])


def _time(h: str, mi: str | None, s: str | None, frac: str | None, ampm: str | None) -> int | None:
    hour, minute, second = int(h), int(mi or 0), int(s or 0)
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm[0] in "Pp" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    extra = int(float("0." + frac) >= 0.5) if frac else 0
    return hour * 3600 + minute * 60 + second + extra


def _offset(text: str) -> int | None:
    if text.upper() in ("Z", "UTC", "GMT"):
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        return None
    return sign * (hours * 3600 + minutes * 60)


def _serial(value: float) -> tuple[int, int, int] | None:
    """An Excel number: a fraction of a day is a time, a serial (with fraction) a date(-time)."""
    if value < 1:
        return NO_DAY, round(value * 86400), NO_OFFSET
    if not SERIAL_RANGE[0] <= value < SERIAL_RANGE[1]:
        return None
    whole = int(value)
    seconds = round((value - whole) * 86400)
    day = whole - EXCEL_EPOCH
    if seconds == 0 and value == whole:
        return day, -1, NO_OFFSET
    return day + seconds // 86400, seconds % 86400, NO_OFFSET


# ---------------------------------------------------------------------------------------------
# yes/no and tags

_TRUE = frozenset({"yes", "true", "y", "1", "ja", "wahr", "oui", "vrai", "sí", "si", "verdadero",
                   "sim", "verdadeiro"})  # fmt: skip
_FALSE = frozenset({"no", "false", "n", "0", "", "nein", "falsch", "non", "faux", "falso", "não", "nao"})


def parse_bools(values: np.ndarray | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(value, bad)``: yes/no, true/false, y/n, 1/0 in any case, and the yes and no of the
    languages ``generic`` reads headers in (ja/nein, oui/non, sí/no, sim/não); empty is false."""
    codes, uniques = distinct(values)
    lowered = [u.strip().casefold() for u in uniques]
    value = np.array([v in _TRUE for v in lowered], dtype=bool)
    bad = np.array([v not in _TRUE and v not in _FALSE for v in lowered], dtype=bool)
    value, bad = spread(codes, value, bad)
    return value, bad


def split_tags(values: np.ndarray | Sequence[str]) -> np.ndarray:
    """One tuple of tag names per cell: comma-separated, trimmed, empty ones dropped."""
    codes, uniques = distinct(values)
    tags = np.empty(len(uniques), dtype=object)
    tags[:] = [tuple(t for t in (p.strip() for p in u.split(",")) if t) for u in uniques]
    return tags.take(codes)
