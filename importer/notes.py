"""What a user should know before a run, read from each file's header and first rows.

Notes, not rules: a run goes on after them (the CLI prints them first, dry run or not). They
point at what is easy to miss and costly to fix later -- an unused column, dates read in an
order the file may not mean, durations that look like hours and minutes, a file of several
people without emails -- because a fixed row is a *new* entry (the ledger keys rows by content).
Evidence comes from the first chunk only (a note is cheap; the rules live in ``normalize``).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np

from . import messages
from .cells import parse_moments
from .config import Settings
from .durations import duration
from .header import HeaderHints
from .presets import Mapping, detect
from .reader import DEFAULT_CHUNKSIZE, RawChunk, iter_chunks, read_header
from .rowtimes import check_only_email
from .slashdates import DATE_FIELDS, SLASHED, first_of, slash_evidence


def notes_before_run(files: list[Path], settings: Settings) -> list[str]:
    """The notes for ``files``, each prefixed with its file: a file read by its content, a later
    sheet or title rows, unused columns, no start time, several people without emails, how dates
    with slashes read, and durations that look like hours and minutes."""
    out: list[str] = []
    hints = HeaderHints.of(settings)
    for path in files:
        header = read_header(path, display_name=str(path), hints=hints)
        mapping = detect(header, settings.preset, settings.columns, file=str(path))
        check_only_email(mapping, header, settings.only_email, str(path))  # a rule: before any note
        start = settings.default_start_time.strftime("%H:%M")
        notes = [*header.notes(str(path)), *mapping.notes(header, start)]
        no_email = bool(mapping.person) and "email" not in mapping.columns
        if no_email or settings.date_order != "dmy" or "duration" in mapping.columns:
            chunk = _first_chunk(path, hints)
            frame = chunk.frame
            people = _people(frame, mapping.person) if no_email else set()
            if len(people) > 1:
                notes.append(messages.several_people_no_email(sorted(people)[:3], len(people) > 3))
            found = [
                _date_note(frame, mapping, settings.date_order) if settings.date_order != "dmy" else None,
                _duration_note(chunk, mapping),
                _no_start_note(chunk, mapping, start),
            ]
            notes += [note for note in found if note]
        out.extend(f"{path}: {note}" for note in notes)
    return out


def _first_chunk(path: Path, hints: HeaderHints) -> RawChunk:
    """The first chunk of a file's rows (a note's evidence, not a rule)."""
    for chunk in iter_chunks(path, display_name=str(path), hints=hints):
        return chunk
    raise AssertionError("iter_chunks yields a chunk or raises")  # pragma: no cover


def _people(frame: Any, columns: tuple[str, ...]) -> set[str]:
    """The distinct people the rows name."""
    frame = frame[[c for c in columns if c in frame.columns]]
    if not len(frame.columns):
        return set()
    names = frame.agg(" ".join, axis=1).str.strip()
    return {n for n in names.unique() if n}


def _date_note(frame: Any, mapping: Any, order: str) -> str | None:
    """How the file's dates with slashes will be read (``mdy`` or ``auto``), with an example."""
    columns = [mapping.columns[f] for f in DATE_FIELDS if mapping.columns.get(f) in frame.columns]
    seen = first_of(slash_evidence(frame[c].to_numpy(dtype=object)) for c in columns)
    if not seen.any or (seen.day_only and seen.month_only):
        return None  # none, or both orders in one file: the rows that do not fit are refused
    if seen.day_only and order != "auto":
        return messages.dates_look_day_first(seen.day_only)
    day_first = seen.day_only is not None
    for column in columns:  # the first date with slashes that reads as a date in that order
        for a, b, year in frame[column].str.extract(SLASHED).dropna().itertuples(index=False):
            month, day = (int(b), int(a)) if day_first else (int(a), int(b))
            try:
                when = dt.date(int(year), month, day)
            except ValueError:
                continue
            example, as_read = f"{a}/{b}/{year}", f"{when.day} {when:%B %Y}"
            if day_first:
                return messages.dates_day_first(example, as_read)
            return messages.dates_month_first(example, as_read)
    return None


SHOWN_ROWS = 5
"""Row numbers a note names before it says ``...``."""


def _no_start_note(chunk: RawChunk, mapping: Mapping, default_start: str) -> str | None:
    """Rows whose start cell holds no time though the file has a start column: ``normalize``
    starts them at ``default_start_time`` (after the person's previous row of the day) as it does
    with no start column -- rows with a date and a length, no time and no end (a cell it cannot
    read is refused, not started at 09:00)."""
    frame, columns = chunk.frame, mapping.columns

    def cells(*fields: str) -> list[np.ndarray]:
        return [frame[columns[f]].to_numpy(dtype=object) for f in fields if columns.get(f) in frame.columns]

    times, length = cells("start_time", "start"), cells("duration")
    if not times or not length:
        return None  # no start column (its own note), or no length: such rows are refused
    timed = np.zeros(len(frame), dtype=bool)
    for values in times:
        found = parse_moments(values)
        timed |= (found.tod >= 0) | found.bad
    dated = np.zeros(len(frame), dtype=bool)
    for values in cells("start_date", "start"):
        dated |= values != ""
    ended = np.zeros(len(frame), dtype=bool)
    for values in cells("end_time", "end"):
        ended |= values != ""
    rows = chunk.rows[dated & ~timed & ~ended & (length[0] != "")]
    if not len(rows):
        return None
    column = columns.get("start_time") or columns["start"]
    of_first = len(frame) if len(frame) >= DEFAULT_CHUNKSIZE else None
    return messages.rows_without_start_time(len(rows), rows[:SHOWN_ROWS].tolist(), len(rows) > SHOWN_ROWS,
                                            column, default_start, of_first)  # fmt: skip


_TWO_DECIMALS = re.compile(r"(\d+)[.,](\d\d)")
_MORE_DECIMALS = re.compile(r"\d*[.,]\d{3,}")
_WHOLE = re.compile(r"\d+")
MINUTES_FROM = 10
"""Whole-number durations from here up look like minutes rather than hours (a 30-hour entry)."""


def _duration_note(chunk: RawChunk, mapping: Mapping) -> str | None:
    """Durations that decimal hours most likely misread: two decimals never .60 or more and not
    all quarters (1.30, 0.45: hours and minutes), or whole numbers of 10 and more (30: minutes).
    Only numbers the normaliser reads as hours count (``1,30`` too; not ``1,234``, refused)."""
    frame, column = chunk.frame, mapping.columns.get("duration")
    if column not in frame.columns or mapping.duration_unit != 3600:
        return None
    comma = chunk.decimal_comma
    values = [v for v in frame[column].unique() if v and duration(v, decimal_comma=comma) is not None]
    two = [m for v in values if (m := _TWO_DECIMALS.fullmatch(v))]
    minutes = [int(m[2]) for m in two]
    three = any(_MORE_DECIMALS.fullmatch(v) for v in values)  # 1.333: decimal hours for sure
    if two and not three and max(minutes) < 60 and any(n % 25 for n in minutes):
        example = next(m for m in two if int(m[2]) % 25)
        seconds = round(float(f"{example[1]}.{example[2]}") * 3600)
        as_read = f"{seconds // 3600} h {seconds % 3600 // 60} min"
        return messages.duration_looks_like_h_mm(example[0], as_read, f"{example[1]}:{example[2]}")
    whole = [int(v) for v in values if _WHOLE.fullmatch(v)]
    big = [n for n in whole if n >= MINUTES_FROM]
    if big and len(big) * 2 >= len(whole):  # most whole numbers are big: not a stray long day
        return messages.duration_looks_like_minutes(str(big[0]))
    return None
