"""Local wall-clock times → UTC instants in an IANA zone, and why some have none.

``localize`` works on whole arrays (pandas ``tz_localize``); a time the clocks skip (spring
forward) or pass twice (fall back) comes back as ``NAT``, and ``clock_change`` explains it, naming
both instants of a repeated time. Wall times are ``int64`` seconds since 1970-01-01 00:00 *local*.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from . import messages
from .errors import ConfigError, location

NAT = np.iinfo(np.int64).min
"""What ``localize`` gives for a wall time with no single UTC instant."""
_EPOCH = dt.datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose: wall-clock arithmetic


def localize(wall: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """UTC seconds of local wall-clock seconds in ``zone``; ``NAT`` where there is no single one."""
    return (
        pd.DatetimeIndex(wall.astype("datetime64[s]"))
        .tz_localize(zone.key, ambiguous="NaT", nonexistent="NaT")
        .as_unit("s")
        .asi8
    )


def zone_for(
    timezone: str | None, file: str, row: int | None = None, column: str | None = None, example: str = ""
) -> ZoneInfo:
    """The zone of local times; ``file``, ``row``, ``column`` and ``example`` (the cell) say where the
    first local time is, for the message when there is no zone."""
    if timezone is None:
        raise ConfigError(f"{location(file, row, column)}: {messages.no_timezone(example)}")
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(messages.unknown_timezone(timezone)) from exc


def clock_change(wall: int, zone: ZoneInfo) -> tuple[str, str]:
    """Why a local wall time has no single UTC instant: the clocks skip it, or pass it twice."""
    naive = _EPOCH + dt.timedelta(seconds=wall)
    shown = naive.strftime("%Y-%m-%d %H:%M" + (":%S" if naive.second else ""))
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return "nonexistent_time", messages.nonexistent_time(shown, zone.key)
    a, b = sorted((first, second), key=lambda t: t.astimezone(dt.UTC))
    return "ambiguous_time", messages.ambiguous_time(
        shown, zone.key, (_utc(a), _utc(b)), (a.isoformat(), b.isoformat())
    )


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
