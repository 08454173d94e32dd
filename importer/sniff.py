"""What a timesheet file is, decided by its content rather than its name.

A zip holding ``xl/workbook.xml`` is an XLSX, one with the OpenDocument spreadsheet mimetype an ODS;
an OLE2 container is an XLS unless it holds ``EncryptionInfo`` (a password-protected workbook); text
gets its encoding (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252 fall-back), its cell
separator (``,`` ``;`` or tab, counted on a sample) and its header row: the first non-empty one,
unless it is a title and a row below it is a header, or ``--header-row`` / ``--map`` say which
(``presets.find_header``). A file whose name says otherwise (an ``.xlsx`` of CSV text, a ``.csv``
that is a workbook) is read as what it holds, and ``read_as`` says so for the note. Anything else
is refused with an ``UnreadableFileError`` that says what to do.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import struct
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import messages
from .errors import UnreadableFileError
from .header import HeaderHints, Place
from .presets import HEADER_SEARCH_ROWS, find_header

SUPPORTED_SUFFIXES = frozenset({"", ".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".xls", ".ods"})
SAMPLE_BYTES = 64 * 1024
MAX_HEADER_BYTES = 4 * 1024 * 1024
SAMPLE_ROWS = 50
DELIMITERS = (",", ";", "\t")

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_MAGICS = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"{\\rtf": "an RTF document",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"SQLite format 3": "an SQLite database",
}
_CONTROL = bytes([*range(0, 8), 11, *range(14, 27), *range(28, 32), 127])
_WORKBOOK_SUFFIXES = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods"}
_TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".tab", ".txt"})
_KIND_NAMES = {"xlsx": "an XLSX workbook", "xls": "an XLS workbook", "ods": "an ODS spreadsheet"}
_ENCODING_NAMES = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp1252": "Windows-1252",
    "utf-16": "UTF-16", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16",
}  # fmt: skip


@dataclass(frozen=True)
class TextFormat:
    """How to read a text timesheet."""

    encoding: str
    delimiter: str
    header_row: int
    """Row number of the header (1 unless blank or title rows come first)."""
    header: tuple[str, ...]
    encoding_errors: str = "strict"
    rows_seen: bool = True
    """A row follows the header in the sample (``False`` only when the sample is the whole file)."""
    place: Place = field(default_factory=Place)
    """Where the header is (``presets.find_header``): below title rows, for the notes."""

    def describe(self) -> str:
        separator = {",": "commas", ";": "semicolons", "\t": "tabs"}[self.delimiter]
        encoding = _ENCODING_NAMES.get(self.encoding, self.encoding)
        return f"{encoding} text separated by {separator}"


@dataclass(frozen=True)
class WorkbookFormat:
    kind: str
    """``xlsx``, ``ods`` or ``xls``."""


def sniff_file(path: Path, name: str, hints: HeaderHints | None = None) -> TextFormat | WorkbookFormat:
    """Decide what ``path`` holds; refuse what cannot be read, telling the fix. ``hints``: what
    the user said about the header (``--header-row``, ``--map``).

    Remembered per path, size and modification time: ``read_header`` then ``iter_chunks`` look
    at a large file once (the UTF-8 check reads it all).
    """
    hints = hints or HeaderHints()
    try:
        stat = path.stat()
    except OSError:
        return _sniff(path, name, hints)  # raises with the right message
    return _sniff_cached(
        path.resolve(), name, (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns), hints
    )


@functools.lru_cache(maxsize=32)
def _sniff_cached(
    path: Path, name: str, version: tuple[int, ...], hints: HeaderHints
) -> TextFormat | WorkbookFormat:
    return _sniff(path, name, hints)


def _sniff(path: Path, name: str, hints: HeaderHints) -> TextFormat | WorkbookFormat:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFileError(messages.unsupported_type(suffix), file=name)
    prefix = _read_prefix(path, name, SAMPLE_BYTES)
    if not prefix.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise UnreadableFileError(messages.empty_file(), file=name)
    if prefix.startswith(ZIP_MAGIC):
        return WorkbookFormat(_zip_kind(path, name))
    if prefix.startswith(OLE_MAGIC):
        if _ole_encrypted(path, prefix):
            raise UnreadableFileError(messages.password_protected(), file=name)
        return WorkbookFormat("xls")
    encoding, errors = _encoding(path, prefix, name)
    found = _text_format(path, name, encoding, errors, hints)
    if suffix in _WORKBOOK_SUFFIXES:
        return replace(found, place=replace(found.place, read_as=found.describe()))
    return found


def read_as(path: Path, found: WorkbookFormat) -> str:
    """What a workbook is when its name says otherwise (``""`` when it says so, or says nothing)."""
    suffix = path.suffix.lower()
    if suffix in _TEXT_SUFFIXES or _WORKBOOK_SUFFIXES.get(suffix, found.kind) != found.kind:
        return _KIND_NAMES[found.kind]
    return ""


def _read_prefix(path: Path, name: str, size: int) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except FileNotFoundError as exc:
        raise UnreadableFileError(messages.no_such_file(), file=name) from exc
    except IsADirectoryError as exc:
        raise UnreadableFileError(messages.is_a_folder(), file=name) from exc
    except PermissionError as exc:
        raise UnreadableFileError(messages.permission_denied(), file=name) from exc
    except OSError as exc:
        raise UnreadableFileError(messages.cannot_open(exc.strerror or str(exc)), file=name) from exc


def _zip_kind(path: Path, name: str) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype") if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, KeyError) as exc:
        raise UnreadableFileError(messages.damaged_zip(), file=name) from exc
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if b"opendocument.spreadsheet" in mimetype:
        return "ods"
    what = "a Word document" if "word/document.xml" in names else "a zip archive"
    raise UnreadableFileError(messages.not_a_spreadsheet(what), file=name)


def _ole_encrypted(path: Path, prefix: bytes) -> bool:
    """An OLE2 container with an ``EncryptionInfo`` stream: an encrypted Office file.

    Directory entries store stream names in UTF-16LE; the first directory sectors hold them.
    """
    blob = prefix
    if len(prefix) >= 52:
        shift = struct.unpack_from("<H", prefix, 30)[0]
        first_dir = struct.unpack_from("<I", prefix, 48)[0]
        if 7 <= shift <= 16 and first_dir < 0xFFFFFFFA:
            with path.open("rb") as fh:
                fh.seek((first_dir + 1) << shift)
                blob += fh.read(8 << shift)
    markers = ("EncryptionInfo", "EncryptedPackage")
    return any(m.encode("utf-16-le") in blob for m in markers)


def _encoding(path: Path, prefix: bytes, name: str) -> tuple[str, str]:
    """The encoding of a text file, and how to treat bytes it does not define."""
    if prefix.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "strict"
    if prefix.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "strict"
    for magic, what in _MAGICS.items():
        if prefix.startswith(magic):
            raise UnreadableFileError(messages.not_a_timesheet(what), file=name)
    if b"\x00" in prefix:
        utf16 = _utf16_without_bom(prefix)
        if utf16:
            return utf16, "strict"
        raise UnreadableFileError(messages.binary_file(), file=name)
    if len(prefix.translate(None, delete=bytes(range(256)).translate(None, _CONTROL))) > max(
        4, len(prefix) // 100
    ):
        raise UnreadableFileError(messages.binary_file(), file=name)
    return ("utf-8", "strict") if _valid_utf8(path) else ("cp1252", "replace")


def _utf16_without_bom(prefix: bytes) -> str | None:
    even, odd = prefix[0::2], prefix[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _valid_utf8(path: Path, block: int = 1 << 20) -> bool:
    """Whether the whole file decodes as UTF-8.

    A prefix is not enough: a Windows-1252 ``é`` at row 500,000 would otherwise stop the import
    half-way. ASCII blocks are skipped at memory speed, so this costs little.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        while data := fh.read(block):
            if data.isascii() and not decoder.getstate()[0]:
                continue
            try:
                decoder.decode(data)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _sample(path: Path, name: str, encoding: str, lines: int = 0) -> tuple[str, bool]:
    """Whole lines of text from the start of the file (at least the header line, and ``lines``
    lines when the file has them, within ``MAX_HEADER_BYTES``); whole file?"""
    size = SAMPLE_BYTES
    while True:
        raw = _read_prefix(path, name, size)
        text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw)
        complete = len(raw) < size
        if not complete:
            cut = max(text.rfind("\n"), text.rfind("\r"))
            whole_lines = text[: cut + 1]
            if cut > 0 and (lines <= 1 or size >= MAX_HEADER_BYTES or _line_count(whole_lines) >= lines):
                return whole_lines, False
            if size >= MAX_HEADER_BYTES:
                raise UnreadableFileError(messages.header_too_long(), file=name)
            size *= 4
            continue
        return text, True


def _line_count(text: str) -> int:
    return max(text.count("\n"), text.count("\r"))


def _text_format(path: Path, name: str, encoding: str, errors: str, hints: HeaderHints) -> TextFormat:
    lines = (hints.row or 0) + 1
    text, whole = _sample(path, name, encoding, lines)
    text = text.lstrip("\ufeff")
    preferred = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    best: tuple[tuple[int, int, int, int, int], str, int, list[str], bool, Place] | None = None
    for delimiter in DELIMITERS:
        rows = _rows(text, delimiter, max(SAMPLE_ROWS, lines + SAMPLE_ROWS))
        filled = [i for i, r in enumerate(rows) if any(c.strip(" \t,;") for c in r)]  # ",,," is blank
        if not filled:
            continue
        reach = [i for i in filled if hints.row is not None and i < hints.row]
        top = [(i + 1, [c.strip() for c in rows[i]]) for i in filled[: max(HEADER_SEARCH_ROWS, len(reach))]]
        at, place = find_header(top, hints, file=name)  # the first row, unless titles are above
        first = filled[at or 0]
        header = rows[first]
        after = filled[(at or 0) + 1 :]
        same = sum(len(rows[i]) == len(header) for i in after)
        wide = len(header) > 1 or place.searched_to > 0  # a title, over rows of several cells
        score = (int(at is not None), int(wide), same, len(header), int(delimiter == preferred))
        if best is None or score > best[0]:
            best = (score, delimiter, first, header, bool(after) or not whole, place)
    if best is None:
        raise UnreadableFileError(messages.blank_lines_only(), file=name)
    _, delimiter, first, header, rows_seen, place = best
    return TextFormat(encoding, delimiter, first + 1, tuple(unique_names(header)), errors, rows_seen, place)


def _rows(text: str, delimiter: str, most: int = SAMPLE_ROWS) -> list[list[str]]:
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True):
            rows.append(row)
            if len(rows) >= most:
                break
    except csv.Error:
        pass  # an unfinished quoted cell at the end of the sample
    return rows


def unique_names(header: list[str]) -> list[str]:
    """Trimmed header names; an empty one becomes ``Unnamed: N``, a repeated one ``Name.1``."""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(header):
        base = raw.strip() or f"Unnamed: {i}"
        label, n = base, 0
        while label in seen:
            n += 1
            label = f"{base}.{n}"
        seen.add(label)
        out.append(label)
    return out
