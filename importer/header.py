"""What is known about a file's header: what the user said (``HeaderHints``), where the reader
found it (``Place``), and its names with that place (``Header``). ``presets.find_header`` finds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from . import messages


class _HintSettings(Protocol):
    @property
    def header_row(self) -> int | None: ...
    @property
    def sheet(self) -> str | None: ...
    @property
    def column_map(self) -> dict[str, str]: ...
    @property
    def preset(self) -> str: ...


@dataclass(frozen=True)
class HeaderHints:
    """What the user said about where a file's header is (``--header-row``, ``--sheet``, the
    columns ``--map`` names, ``--preset``)."""

    row: int | None = None
    """The spreadsheet row of the header (1-based), or ``None``: look for it."""
    sheet: str | None = None
    """A workbook's sheet to read: its name, or its number among the visible sheets (from 1)."""
    columns: tuple[str, ...] = ()
    """Columns named by ``--map``: the first of the top rows that holds them all is the header."""
    preset: str = "auto"

    @classmethod
    def of(cls, settings: _HintSettings) -> HeaderHints:
        """The hints a run's ``Settings`` give."""
        mapped = tuple(c.strip() for c in settings.column_map.values() if c.strip())
        return cls(settings.header_row, settings.sheet, mapped, settings.preset)


@dataclass(frozen=True)
class Place:
    """Where the reader found a file's header."""

    row: int = 1
    """The spreadsheet row it is on."""
    title: str = ""
    """The first text of the non-empty rows above it, which are not read (``""``: none)."""
    searched_to: int = 0
    """No row gives a usable header and the first looks like a title: the last row looked at."""
    sheet: str | None = None
    """The worksheet read (workbooks)."""
    sheet_number: int = 1
    """Its place among the visible worksheets."""
    sheets_before: tuple[str, ...] = ()
    """The visible worksheets before it, which are not read."""
    other_sheets: int = 0
    """How many other visible worksheets the workbook has."""
    read_as: str = ""
    """What the file holds when its name says otherwise ("UTF-8 text separated by commas", "an
    XLSX workbook"): it is read as that (``""``: what its name says)."""


class Header(list[str]):
    """A file's header names (a plain ``list`` to ``detect``) and where they were found."""

    def __init__(self, names: Iterable[str] = (), place: Place | None = None) -> None:
        super().__init__(names)
        self.place = place or Place()

    def notes(self, file: str = "") -> list[str]:
        """What a user should know before importing: what the file really is, rows or sheets
        above the header not read."""
        place, out = self.place, []
        if place.read_as:
            out.append(messages.read_by_content(_suffix(file), place.read_as))
        if place.sheets_before and place.sheet is not None:
            out.append(messages.sheet_not_first(place.sheet, place.sheet_number, place.sheets_before))
        if place.title:
            out.append(messages.header_below_title(place.row, place.title))
        return out


def _suffix(file: str) -> str:
    dot = file.rfind(".")
    return file[dot:] if dot > max(file.rfind("/"), file.rfind("\\")) else ""
