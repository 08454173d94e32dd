"""Timesheet files → pandas DataFrames in chunks, each row with the row number a person sees.

``iter_chunks(path)`` reads CSV, TSV (any text with ``,`` ``;`` or tab between cells) and XLSX,
XLS and ODS workbooks, and yields ``RawChunk`` s of at most ``chunksize`` rows, so a file of a
million rows never sits in memory whole. What the file *is* is decided by its content, not its
name: an ``.xlsx`` that is really a CSV is read as CSV (``Place.read_as`` says so, for a note), a
zip or an encrypted Office container is refused with the fix.

Every cell arrives as trimmed text (``""`` when empty), so nothing is silently coerced: leading
zeros, ``1,5`` and dates stay as the person typed them and the normaliser decides. Workbook cells
that are dates, times or durations become canonical text (``2026-03-05``, ``09:30:00``,
``1:30:00``) and plain numbers their shortest text (``46086``, ``1.5``).

Row numbers: the header is the row it is on (row 1 normally), the first data row the next one;
wholly empty rows are skipped silently but still counted, as in a spreadsheet. A text row with
more cells than the header is refused (``RawChunk.errors``) and the others go on.

Title rows above the header ("Timesheet November 2026") are not read: the header is the first of
the top rows that says where entries start and how long they last (``presets.find_header``), and
a workbook is read from the first visible sheet that has one; ``read_header`` says where it is.
``HeaderHints`` (``--header-row``, ``--sheet``, the ``--map`` columns) say it instead: pass the
same to ``read_header`` and ``iter_chunks``.
"""

from __future__ import annotations

import ctypes
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import messages
from .errors import UnreadableFileError
from .header import Header, HeaderHints
from .models import RowError
from .sniff import TextFormat, read_as, sniff_file

DEFAULT_CHUNKSIZE = 32_768

_EXTRA = "\x00extra"
"""Name of one column past the header: a row that fills it has a cell more than the header."""

_UNCLOSED = re.compile(r"EOF inside string starting at row (\d+)")
_TRUNCATED = "Length of header or names does not match length of data"
_BAD_LINE = re.compile(r"line (\d+): expected (\d+) fields, saw (\d+)")


@dataclass
class RawChunk:
    """Up to ``chunksize`` rows of one file, every cell as trimmed text."""

    file: str
    """Display name of the file, as the user gave it."""
    frame: pd.DataFrame
    """Columns are the header names (trimmed); every cell a ``str``, ``""`` when empty."""
    rows: np.ndarray
    """``int64`` spreadsheet row numbers, aligned with ``frame``."""
    decimal_comma: bool = False
    """The file separates cells with ``;``: a comma in a number is a decimal one (``1,234`` is
    1.234). Elsewhere a comma is one too (``"1,5"``: a cell holds it, whole), except in ``1,234``,
    which may separate thousands (``cells.parse_durations``)."""
    errors: list[RowError] = field(default_factory=list)
    """Rows refused while reading (for example: more cells than the header)."""

    def __len__(self) -> int:
        return len(self.frame)


def read_header(
    path: Path | str, *, display_name: str | None = None, hints: HeaderHints | None = None
) -> Header:
    """The header of a timesheet (trimmed names, and where it is: ``Header.place``), without
    reading its rows; ``hints``: what the user said about where it is (``HeaderHints.of``).

    Raises ``UnreadableFileError`` as ``iter_chunks`` would for a file that cannot be read, and for
    one with a header but no rows when that shows at the start (a small file, a workbook);
    ``InputError`` for a ``--header-row`` that is empty or a ``--sheet`` the workbook lacks.
    """
    path = Path(path)
    name = display_name or str(path)
    found = sniff_file(path, name, hints)
    if isinstance(found, TextFormat):
        if not found.rows_seen:
            raise _header_only(name)
        return Header(found.header, found.place)
    from .workbook import workbook_header

    header = workbook_header(path, name, hints)
    if header is None:
        raise _header_only(name)
    content = read_as(path, found)
    return Header(header, replace(header.place, read_as=content)) if content else header


def iter_chunks(
    path: Path | str,
    *,
    chunksize: int = DEFAULT_CHUNKSIZE,
    display_name: str | None = None,
    hints: HeaderHints | None = None,
) -> Iterator[RawChunk]:
    """Yield the rows of a timesheet in chunks of at most ``chunksize`` rows, below the header
    ``read_header`` finds with the same ``hints``.

    Raises ``UnreadableFileError`` (before yielding anything) for a missing, empty, binary,
    encrypted or unsupported file, and for a file with a header but no rows.
    """
    if chunksize < 1:
        raise ValueError("chunksize must be at least 1")
    path = Path(path)
    name = display_name or str(path)
    found = sniff_file(path, name, hints)
    if isinstance(found, TextFormat):
        chunks = _text_chunks(path, name, found, chunksize)
    else:
        from .workbook import workbook_chunks

        chunks = workbook_chunks(path, name, chunksize, hints)
    seen = False
    for chunk in chunks:
        if len(chunk) or chunk.errors:
            seen = True
            yield chunk
    if not seen:
        raise _header_only(name)


def _header_only(name: str) -> UnreadableFileError:
    return UnreadableFileError(messages.header_only(), file=name)


def _text_chunks(path: Path, name: str, fmt: TextFormat, chunksize: int) -> Iterator[RawChunk]:
    header = list(fmt.header)
    width = len(header)
    try:
        reader = pd.read_csv(
            path,
            sep=fmt.delimiter,
            # the header line (where a BOM sits) is skipped: plain utf-8 keeps pandas' fast path
            encoding="utf-8" if fmt.encoding == "utf-8-sig" else fmt.encoding,
            encoding_errors=fmt.encoding_errors,
            header=None,
            names=[*header, _EXTRA],
            skiprows=fmt.header_row,  # the blank lines above the header, and the header itself
            index_col=False,  # never take the first column as an index, whatever the row widths
            skipinitialspace=True,  # "User, Email": and a quoted cell after ", " stays one cell
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,  # blank lines still count in the row numbers
            on_bad_lines="warn",
            chunksize=chunksize,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError) as exc:  # the first rows are read here
        raise _unreadable(exc, path, name, fmt) from exc
    numbers = _RowNumbers(first=fmt.header_row + 1)
    decimal_comma = fmt.delimiter == ";"
    with reader:
        while True:
            _give_back_freed_memory()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                frame = _next_frame(reader, path, name, fmt)
            too_wide = _bad_lines(caught)
            numbers.skip(too_wide)
            errors = [_too_many_cells(name, row, width, saw) for row, saw in too_wide.items()]
            if frame is None:  # refused rows after the last good one come with the last read
                if errors:
                    yield _finish(name, _empty(header), numbers.take(0), errors, decimal_comma)
                return
            yield _finish(name, frame, numbers.take(len(frame)), errors, decimal_comma)


def _give_back_freed_memory() -> None:
    """Return to the OS what the earlier chunks freed: glibc keeps it, in pieces the next chunk's
    arrays do not fit, so without this the peak memory of a run creeps up ~10 MiB a million rows
    (``bench/bench_dryrun.py``). A no-op where ``malloc_trim`` does not exist."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _malloc_trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; musl has none
    except (AttributeError, OSError):
        return None


_MALLOC_TRIM = _malloc_trim()


def _next_frame(
    reader: Iterator[pd.DataFrame], path: Path, name: str, fmt: TextFormat
) -> pd.DataFrame | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except (pd.errors.ParserError, ValueError) as exc:  # UnicodeDecodeError too
        raise _unreadable(exc, path, name, fmt) from exc


def _unreadable(exc: Exception, path: Path, name: str, fmt: TextFormat) -> UnreadableFileError:
    if isinstance(exc, UnicodeDecodeError):
        bad = _bad_utf8_line(path) if fmt.encoding.startswith("utf-8") else None
        if bad:
            return UnreadableFileError(messages.bad_utf8_line(*bad), file=name)
        return UnreadableFileError(messages.bad_encoding(fmt.describe(), exc.reason), file=name)
    quote = _UNCLOSED.search(str(exc))
    if quote:
        return UnreadableFileError(messages.unclosed_quote(), file=name, row=int(quote[1]) + 1)
    return UnreadableFileError(messages.unreadable_text(fmt.describe(), str(exc)), file=name)


def _bad_utf8_line(path: Path) -> tuple[int, str, str] | None:
    """(line number, its text, why) of the first line that is not UTF-8 (a UTF-8 file only: its
    line ends are plain bytes). Read only when pandas has refused the file."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, raw.decode("utf-8", "replace").strip(), exc.reason
    return None


def _empty(header: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in [*header, _EXTRA]})


def _bad_lines(caught: list[warnings.WarningMessage]) -> dict[int, int]:
    """Rows the C parser skipped for having too many cells: row number → cells seen."""
    out: dict[int, int] = {}
    for w in caught:
        found = _BAD_LINE.findall(str(w.message))
        if isinstance(w.message, pd.errors.ParserWarning) and found:
            out.update({int(line): int(saw) for line, _, saw in found})
        elif isinstance(w.message, pd.errors.ParserWarning) and _TRUNCATED in str(w.message):
            continue  # the first data row is too wide: its filled extra column already says so
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


class _RowNumbers:
    """Hands out spreadsheet row numbers, skipping the rows the parser refused."""

    def __init__(self, first: int) -> None:
        self.next = first
        self.skipped: set[int] = set()

    def skip(self, bad: dict[int, int]) -> None:
        self.skipped.update(bad)

    def take(self, n: int) -> np.ndarray:
        if not self.skipped:
            rows = np.arange(self.next, self.next + n, dtype=np.int64)
            self.next += n
            return rows
        out = np.empty(n, np.int64)
        row = self.next
        for i in range(n):  # only in chunks with a refused row
            while row in self.skipped:
                self.skipped.discard(row)
                row += 1
            out[i] = row
            row += 1
        self.next = row
        return out


def _too_many_cells(name: str, row: int, width: int, saw: int | None) -> RowError:
    message = messages.too_many_cells(width, saw)
    return RowError(file=name, row=row, column=None, message=message, reason="too_many_cells")


def _finish(
    name: str, frame: pd.DataFrame, rows: np.ndarray, errors: list[RowError], decimal_comma: bool
) -> RawChunk:
    """Trim every cell, refuse rows with a cell past the header, drop wholly empty rows."""
    width = frame.shape[1] - 1
    columns = {c: trim(frame[c].to_numpy(dtype=object)) for c in frame.columns[:width]}
    cells = frame[_EXTRA].to_numpy(dtype=object)
    extra = cells != ""  # nearly always empty: only the other cells are trimmed
    extra[extra] = trim(cells[extra]) != ""
    # a filled extra column: at least one cell more (the first data row may have more still)
    errors.extend(_too_many_cells(name, int(row), width, None) for row in rows[extra])
    filled = np.zeros(len(frame), dtype=bool)
    empty = np.arange(len(frame))
    for values in columns.values():  # a row is empty if no column fills it: ask only those left
        filled[empty] = values[empty] != ""
        empty = empty[~filled[empty]]
    keep = filled & ~extra
    if not keep.all():
        columns = {c: v[keep] for c, v in columns.items()}
        rows = rows[keep]
    errors.sort(key=lambda e: e.row)
    return RawChunk(name, pd.DataFrame(columns, dtype="str"), rows, decimal_comma, errors)


def trim(values: np.ndarray) -> np.ndarray:
    """Strip surrounding spaces of every cell of an object array of ``str``."""
    return np.fromiter(map(str.strip, values), dtype=object, count=len(values))
