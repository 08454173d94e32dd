"""How a file's dates with slashes read: day first (25/11/2026) or month first (11/25/2026).

``slash_evidence`` finds, among some cells, the first date that can only be day first or only
month first; ``day_first_of`` decides a chunk's reading from ``date_order`` and what earlier chunks
of the file showed (``NormalizeState``); ``both_ways`` marks the dates that read as two days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .chunkrows import Rows

if TYPE_CHECKING:
    from .normalize import NormalizeState

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


def day_first_of(rows: Rows, date_order: str, state: NormalizeState | None) -> tuple[bool, str | None]:
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


def both_ways(values: np.ndarray) -> np.ndarray:
    """Dates with slashes that read as two different days (05/11/2026; not 05/05/2026)."""
    found = pd.Series(values, dtype=object).str.extract(SLASHED)
    a = pd.to_numeric(found[0], errors="coerce").to_numpy()
    b = pd.to_numeric(found[1], errors="coerce").to_numpy()
    with np.errstate(invalid="ignore"):
        return np.asarray((a <= 12) & (b <= 12) & (a != b), dtype=bool)


def swap_day_month(values: np.ndarray) -> np.ndarray:
    """``05/11/2026`` as ``11/05/2026``: day-first text for the month-first parser."""
    swapped = pd.Series(values, dtype=object).str.replace(SLASHED, r"\2/\1/\3", regex=True)
    return swapped.to_numpy(dtype=object)
