"""Whole files: missing, unreadable, not a timesheet, sheets, encodings."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import quote
from .common import FILE_KINDS

# -- whole files (sniff.py, reader.py, workbook.py, cli) -----------------------------------------


def no_such_file() -> str:
    return "file not found: check the path"


def is_a_folder() -> str:
    return "this is a folder, not a timesheet file: give the path of a file in it"


def permission_denied() -> str:
    return "permission denied: make the file readable for your user"


def cannot_open(reason: str) -> str:
    return f"cannot open the file ({reason}): check the path, and that the file is readable"


def unsupported_type(suffix: str) -> str:
    return f"unsupported file type {suffix!r}: {FILE_KINDS}"


def empty_file() -> str:
    return "the file is empty: export the timesheet again (it needs a header row and at least one entry)"


def blank_lines_only() -> str:
    return "the file holds only blank lines: export the timesheet again, with its header row"


def header_only() -> str:
    return (
        "the file has a header but no entries: nothing to import (export the timesheet again "
        "with the rows you want)"
    )


def header_too_long() -> str:
    return (
        "the first line is longer than 4 MiB, which is not a timesheet header: check that this "
        f"is the timesheet, or {FILE_KINDS}"
    )


def not_a_timesheet(what: str) -> str:
    """``what``: what the file is instead, e.g. "a PDF document"."""
    return f"the file is {what}, not a timesheet: {FILE_KINDS}"


def not_a_spreadsheet(what: str) -> str:
    """A zip that is no workbook; ``what``: "a Word document", "a zip archive"."""
    return f"the file is {what}, not a spreadsheet: {FILE_KINDS}"


def binary_file() -> str:
    return f"the file is binary, not a text timesheet: {FILE_KINDS}"


def damaged_zip() -> str:
    return f"the file is a damaged zip or workbook: open it in Excel and save it again, or {FILE_KINDS}"


def password_protected() -> str:
    return (
        "the workbook is password-protected: open it in Excel, remove the password "
        "(File > Info > Protect Workbook > Encrypt with Password, clear it) and save, "
        "or export it as CSV"
    )


def unreadable_workbook(detail: str) -> str:
    return (
        "the file looks like an Office file but is not a readable workbook (password-"
        "protected, or not really an .xlsx/.xls/.ods): open it in Excel and save it as "
        f".xlsx or CSV ({detail})"
    )


def empty_worksheet() -> str:
    return "the first worksheet is empty: put the timesheet on the first sheet, header first"


def no_such_sheet(sheet: str, sheets: Sequence[str]) -> str:
    """``--sheet NAME|N`` names no sheet of the workbook; ``sheets``: its visible sheets."""
    shown = ", ".join(quote(s) for s in sheets[:10]) + (" and more" if len(sheets) > 10 else "")
    return (
        f"--sheet {quote(sheet)}: no such sheet; the workbook has {shown}: name one of them, or "
        "give its number (--sheet 1 for the first)"
    )


def sheet_empty(sheet: str, sheets: Sequence[str]) -> str:
    """``--sheet`` names a sheet without a cell; ``sheets``: the workbook's visible sheets."""
    shown = ", ".join(quote(s) for s in sheets[:10]) + (" and more" if len(sheets) > 10 else "")
    return f"sheet {quote(sheet)} is empty: pass --sheet with the sheet of the timesheet (one of {shown})"


def header_row_empty(row: int, filled: Sequence[int]) -> str:
    """``--header-row N`` names a row without a cell (or past the end); ``filled``: the first rows
    that have some."""
    near = ""
    if filled:
        rows = ", ".join(str(r) for r in filled[:-1]) + " and " * (len(filled) > 1) + str(filled[-1])
        near = f" (rows {rows} have cells)" if len(filled) > 1 else f" (row {rows} has cells)"
    return (
        f"--header-row {row}: row {row} is empty or past the end{near}: pass the number of the row "
        "with the column names"
    )


def read_by_content(suffix: str, what: str) -> str:
    """A note: the file is not what its name says, and is read as what it holds; ``what``:
    "UTF-8 text separated by commas", "an XLSX workbook"."""
    named = f"named {suffix}" if suffix else "without a file type in its name"
    return (
        f"the file is {what}, though {named}: it is read as such; rename it to match if other "
        "programs are to open it"
    )


def bad_encoding(described: str, reason: str) -> str:
    """``described``: ``TextFormat.describe()``, e.g. "UTF-8 text separated by commas"."""
    return (
        f"the file is not valid {described} ({reason}): save it again as UTF-8 "
        "(in Excel: Save As, then CSV UTF-8)"
    )


def bad_utf8_line(line: int, text: str, reason: str) -> str:
    """A file that says it is UTF-8 (a BOM) with bytes that are not: ``text`` is the line."""
    return (
        f"line {line} is not valid UTF-8 ({quote(text)}: {reason}): save the file again as UTF-8 "
        "(in Excel: Save As, then CSV UTF-8)"
    )


def unclosed_quote() -> str:
    """At the row where the quoted cell starts (``InputError.row``)."""
    return (
        'a quoted cell is never closed: its " has no closing quote; close it (write "" for a '
        "quote inside a cell), or remove it"
    )


def unreadable_text(described: str, detail: str) -> str:
    return f"cannot read the file as {described} ({detail}): {FILE_KINDS}"
