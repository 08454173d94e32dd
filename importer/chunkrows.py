"""The mapped cells of a raw chunk (``Rows``), the refusals found for its rows (``Refusals``), and
one side's date, time of day and offset (``Moment``): what the normaliser's steps share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .models import RowError
from .presets import Mapping
from .reader import RawChunk


class Rows:
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


class Refusals:
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
class Moment:
    day: np.ndarray
    tod: np.ndarray
    offset: np.ndarray
