"""Wording several topics share: the shapes a refusal lists, the examples it gives, a
"did you mean" and a list of column names."""

from __future__ import annotations

from collections.abc import Sequence

DATE_FORMATS = (
    "YYYY-MM-DD, MM/DD/YYYY, DD.MM.YYYY or the month by its name (20 Jan 2026, 20-Jan-26, January 20 2026)"
)
"""The date shapes a refusal lists; ``tests/test_messages.py`` reads each example it gives."""
TIME_FORMATS = "HH:MM, HH:MM:SS or hh:mm AM/PM"
STAMP_FORMATS = "2026-03-05 09:30, 2026-03-05T09:30+01:00 or Jan 20 2026 6:25 PM"
DURATION_FORMATS = "H:MM:SS, H:MM, decimal hours (1.5 or 1,5) or 1h 30m"
BOOL_FORMATS = "yes/no, true/false, y/n, 1/0 (or ja/nein, oui/non, sí/no, sim/não)"
FIRST_YEAR, LAST_YEAR = 1970, 2099
"""Dates outside these years are refused (``date_out_of_range``)."""
FILE_KINDS = "export the timesheet as CSV (UTF-8), TSV, XLSX, XLS or ODS"
TIMEZONE_EXAMPLE = "Europe/Berlin"
SLASH_HINT = " (with slashes the month comes first; for day-first dates pass --date-order dmy)"


def _did_you_mean(suggestions: Sequence[str]) -> str:
    return "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"


def _listing(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:30])
    more = f" and {len(columns) - 30} more" if len(columns) > 30 else ""
    return f"the columns {shown}{more}" if columns else "no columns"
