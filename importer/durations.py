"""Durations and plain numbers in cells, vectorised per distinct text.

``H:MM:SS``, ``H:MM``, decimal hours (``1.5``, ``1,5``; ``1,234.5`` and ``1.234,5`` are 1234.5,
and ``1,234`` reads as 1.234 only with ``decimal_comma``, being ``ambiguous`` elsewhere), and
``1h 30m`` / ``1h30`` / ``45m`` / ``2h`` / ``90 min`` / ``30s`` / ``1d 2h`` / ``1w`` (a day of
``day_hours``, a week of 5 days). A plain number counts ``unit`` seconds (3600: hours). Nothing
here raises on bad text: a cell that cannot be read is flagged ``bad``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .codepoints import Pattern, distinct, points, spread

MAX_SECONDS = 10**12
"""Anything longer is not a duration at all (``too_long`` is decided by the normaliser)."""


@dataclass
class Durations:
    seconds: np.ndarray
    """``int64`` seconds (0 where bad or empty)."""
    bad: np.ndarray
    """Not a duration, or ``ambiguous``."""
    empty: np.ndarray
    ambiguous: np.ndarray
    """A number like ``1,234`` outside a ``decimal_comma`` file: thousands or a decimal comma."""


# ---------------------------------------------------------------------------------------------
# durations


def parse_durations(
    values: np.ndarray | Sequence[str],
    *,
    decimal_comma: bool = False,
    day_hours: float = 8.0,
    unit: int = 3600,
) -> Durations:
    """Read every cell as a length of time, in whole seconds (see the module docstring)."""
    codes, uniques = distinct(values)
    seconds = np.zeros(len(uniques), dtype=np.int64)
    empty_u = uniques == ""
    todo = np.flatnonzero(~empty_u)
    hit, fields = Pattern("dd:dd:dd").match(points(uniques[todo], 8))
    ok = np.zeros(len(uniques), dtype=bool)
    ambiguous = np.zeros(len(uniques), dtype=bool)
    if hit.any():
        h, mi, sec = (f[hit] for f in fields)
        good = (mi < 60) & (sec < 60)
        seconds[todo[hit][good]] = (h * 3600 + mi * 60 + sec)[good]
        ok[todo[hit][good]] = True
    for i in todo[~hit]:
        found = _duration(uniques[i], decimal_comma, day_hours, unit)
        if isinstance(found, _Ambiguous):
            ambiguous[i] = True
        elif found is not None:
            seconds[i], ok[i] = found, True
    seconds, bad, empty, ambiguous = spread(codes, seconds, ~ok & ~empty_u, empty_u, ambiguous)
    return Durations(seconds, bad, empty, ambiguous)


_CLOCK_DURATION = re.compile(r"(\d+):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?")
_DECIMAL = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_COMMA_DECIMAL = re.compile(r"\d*,\d+")
_THOUSANDS_OR_DECIMAL = re.compile(r"\d{1,3},\d{3}")
_GROUPED = (  # a thousands separator, and the other one for the decimals: 1,234.5 and 1.234,5
    (re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"), ","),
    (re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?"), "."),
)
_UNITS = re.compile(
    r"(?:(?P<w>\d+(?:[.,]\d+)?)\s*w(?:ee)?(?:ks?)?\.?)?\s*"
    r"(?:(?P<d>\d+(?:[.,]\d+)?)\s*d(?:ays?)?\.?)?\s*"
    r"(?:(?P<h>\d+(?:[.,]\d+)?)\s*h(?:ours?|rs?)?\.?)?\s*"
    r"(?:(?P<m>\d+(?:[.,]\d+)?)\s*m(?:in(?:ute)?s?)?\.?)?\s*"
    r"(?:(?P<s>\d+)\s*s(?:ec(?:ond)?s?)?\.?)?",
    re.IGNORECASE,
)
WEEK_DAYS = 5
"""Days of a week in ``1w`` (Jira's working week)."""

_HOURS_THEN_MINUTES = re.compile(r"(\d+)\s*h(?:ours?|rs?)?\.?\s*(\d{1,2})", re.IGNORECASE)


class _Ambiguous:
    """What ``_duration`` gives for ``1,234`` outside a ``decimal_comma`` file."""


AMBIGUOUS = _Ambiguous()


def duration(
    text: str, *, decimal_comma: bool = False, day_hours: float = 8.0, unit: int = 3600
) -> int | None:
    """Seconds of one duration cell, or ``None`` when it is unreadable (or ambiguous)."""
    found = _duration(text, decimal_comma, day_hours, unit)
    return None if isinstance(found, _Ambiguous) else found


def _duration(text: str, decimal_comma: bool, day_hours: float, unit: int) -> int | _Ambiguous | None:
    text = text.strip()
    if not text or len(text) > 40:
        return None
    m = _CLOCK_DURATION.fullmatch(text)
    if m:
        hours, minutes, seconds = int(m[1]), int(m[2]), int(m[3] or 0)
        if minutes > 59 or seconds > 59:
            return None
        extra = int(float("0." + m[4]) >= 0.5) if m[4] else 0
        return _round(hours * 3600 + minutes * 60 + seconds + extra)
    number = plain_number(text, decimal_comma=decimal_comma)
    if isinstance(number, _Ambiguous):
        return number
    if number is not None:
        return _round(number * unit)
    m = _HOURS_THEN_MINUTES.fullmatch(text)
    if m:  # "1h30", "1 h 30": the minutes' unit left out, as people write it
        return _round(int(m[1]) * 3600 + int(m[2]) * 60) if int(m[2]) < 60 else None
    m = _UNITS.fullmatch(text)
    if m and any(m.group(k) for k in "wdhms"):
        total = 0.0
        day = day_hours * 3600
        for name, factor in (("w", WEEK_DAYS * day), ("d", day), ("h", 3600), ("m", 60), ("s", 1)):
            if m[name]:
                total += float(m[name].replace(",", ".")) * factor
        return _round(total)
    return None


def plain_number(text: str, *, decimal_comma: bool = False) -> float | _Ambiguous | None:
    """A number without a unit: ``1.5``, ``1,5``, ``1,234.5``, ``1.234,5``, ``1,234,567``;
    ``AMBIGUOUS`` for ``1,234`` unless ``decimal_comma``; ``None`` when it is none."""
    if _DECIMAL.fullmatch(text):
        return float(text)
    if _COMMA_DECIMAL.fullmatch(text):
        if not decimal_comma and _THOUSANDS_OR_DECIMAL.fullmatch(text):
            return AMBIGUOUS
        return float(text.replace(",", "."))
    for pattern, thousands in _GROUPED:
        if pattern.fullmatch(text):
            return float(text.replace(thousands, "").replace(",", "."))
    return None


def _round(value: float) -> int | None:
    if not value < MAX_SECONDS:
        return None
    return int(value + 0.5)
