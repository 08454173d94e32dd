"""What a run tells afterwards: the per-row CSV report, the payload lines, the summary, estimates."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from . import messages
from .errors import ConfigError

REPORT_HEADER = ("file", "row", "status", "entry_id", "http_status", "message")
PERSON_COUNTS = ("created", "updated", "deleted", "failed", "pending", "to_post", "quota_pauses")
STATUSES = ("created", "updated", "deleted", "conflict", "refused", "failed", "duplicate",
            "skipped", "in_doubt", "pending")  # fmt: skip
"""A real run's report statuses."""
PLAN_STATUSES = ("create", "update", "delete", "unchanged", "conflict", "refused", "duplicate",
                 "skipped", "failed")  # fmt: skip
"""A dry run's: what the real run would do (``failed``: refused by Toggl in an earlier run)."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_MESSAGE = 1000
"""Characters of a message kept in the report (a spreadsheet cell holds 32,767 at most)."""
MAX_EXAMPLE = 300
"""Characters of an example kept for the terminal summary."""


def neutralise(cell: str) -> str:
    """Make a text cell safe to open in a spreadsheet (no formula injection)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, saying so: messages quote cells, and a cell can hold
    200,000 characters that nobody wants repeated in a report or on a terminal."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters in all)"


def open_output(path: Path, option: str, *, mode: str = "w", newline: str | None = None) -> IO[str]:
    """Open the output file of ``option`` (``--report``, ``--emit-payloads``, ``--log-file``) for
    writing; a path that cannot be written is the user's to fix."""
    try:
        return path.open(mode, newline=newline, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(messages.cannot_write(option, path, exc.strerror or str(exc))) from exc


class ReportWriter:
    """``--report``: one CSV line per input row, written as outcomes arrive."""

    def __init__(self, path: Path) -> None:
        self._fh: IO[str] = open_output(path, "--report", newline="")
        self._csv = csv.writer(self._fh)
        self._csv.writerow(REPORT_HEADER)

    def write(
        self,
        file: str,
        row: int,
        status: str,
        entry_id: int | None = None,
        http_status: int | None = None,
        message: str = "",
    ) -> None:
        self._csv.writerow(
            (
                neutralise(file),
                row,
                status,
                "" if entry_id is None else entry_id,
                "" if http_status is None else http_status,
                neutralise(shorten(message)),
            )
        )

    def close(self) -> None:
        self._fh.close()


class PayloadWriter:
    """``--emit-payloads``: one JSON line per row that is (or would be) posted, in input order.

    A dry run's row that needs names ``--create-missing`` creates first has ``null`` for their
    ids in ``payload`` and a ``"creates"`` object naming them (``client``, ``project``, ``task``:
    only those created); every other line is exactly ``{"file", "row", "payload"}``.
    """

    def __init__(self, path: Path) -> None:
        self._fh: IO[str] = open_output(path, "--emit-payloads")

    def write(
        self, file: str, row: int, body: dict[str, Any], creates: dict[str, str] | None = None
    ) -> None:
        line: dict[str, Any] = {"file": file, "row": row, "payload": body}
        if creates:
            line["creates"] = creates
        self._fh.write(json.dumps(line, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._fh.close()


@dataclass
class Summary:
    """The end of a run, for the terminal table and ``--json``."""

    dry_run: bool = False
    rows: int = 0
    created: int = 0
    already_done: int = 0
    to_post: int = 0
    failed: int = 0
    refused: int = 0
    duplicate: int = 0
    in_doubt: int = 0
    pending: int = 0
    updated: int = 0
    deleted: int = 0
    conflict: int = 0
    skipped: int = 0
    exported: int = 0
    """Rows written to a Toggl CSV import file (``export``)."""
    exported_before: int = 0
    """``export``: rows an earlier export wrote, not written again (without ``--again``)."""
    repaired: int = 0
    """Entries deleted because a request applied late made them a second copy of one row."""
    held_back: int = 0
    """Actions not sent (``pending``) because ``--all-or-nothing`` found a refused row."""
    to_update: int = 0
    to_delete: int = 0
    failed_by_reason: Counter[str] = field(default_factory=Counter)
    refused_by_reason: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    requests: int = 0
    posts: int = 0
    http_429: int = 0
    http_402: int = 0
    elapsed: float = 0.0
    remaining_seconds: float | None = None
    workspace_id: int | None = None
    ledger: str | None = None
    report: str | None = None
    stopped: str | None = None
    created_names: list[str] = field(default_factory=list)
    no_ledger: str | None = None
    """A dry run found no ledger at this path: every row counts as new in its plan."""
    people: dict[str, dict[str, int]] = field(default_factory=dict)
    """``[tokens]``: per person (email) what their own token did: created, updated, deleted,
    failed, pending, to_post (a dry run), quota_pauses."""
    people_refused: dict[str, str] = field(default_factory=dict)
    """People whose token Toggl refused: their rows stopped, the others went on."""

    def person(self, email: str) -> dict[str, int]:
        return self.people.setdefault(email, dict.fromkeys(PERSON_COUNTS, 0))

    def count(self, lane: str, key: str, n: int = 1) -> None:
        """Count for a person's lane (the run's own lane, ``""``, is the summary itself)."""
        if lane:
            self.person(lane)[key] += n

    def add_example(self, reason: str, text: str, limit: int = 3) -> None:
        shown = self.examples.setdefault(reason, [])
        if len(shown) < limit:
            shown.append(shorten(text, MAX_EXAMPLE))

    @property
    def exit_code(self) -> int:
        if self.stopped:
            return 3
        if self.dry_run:
            would = self.to_post or self.to_update or self.to_delete or self.already_done
            if self.people_refused and not would:
                return 3  # nothing could go on: every token that had work was refused
            bad = self.refused or self.duplicate or self.conflict or self.failed or self.pending
            return 1 if bad else 0
        if self.people_refused and not (self.created or self.updated or self.deleted or self.already_done):
            return 3  # nothing could go on: every token that had work was refused
        if (self.failed or self.refused or self.duplicate or self.in_doubt or self.pending
                or self.conflict):  # fmt: skip
            return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed_by_reason"] = dict(self.failed_by_reason)
        data["refused_by_reason"] = dict(self.refused_by_reason)
        data["exit_code"] = self.exit_code
        return data


def estimate_seconds(
    requests: int,
    rate: float,
    *,
    quota_total: int | None = None,
    quota_remaining: int | None = None,
    resets_in: float | None = None,
    window: float = 3600.0,
) -> float:
    """How long ``requests`` take at ``rate`` per second under an hourly quota, if one is known.

    The quota window slides: what is left now goes at the rate, then each later window gives at
    most ``quota_total`` requests. A rough, honest upper-bound-ish figure for the user.
    """
    if requests <= 0:
        return 0.0
    by_rate = requests / rate
    if not quota_total or quota_total <= 0:
        if quota_remaining is None or resets_in is None or requests <= max(quota_remaining, 0):
            return by_rate
        # the window's size is unknown: at least the wait for it, then the rest at the rate
        return max(by_rate, resets_in + (requests - max(quota_remaining, 0)) / rate)
    left = max(quota_remaining if quota_remaining is not None else quota_total, 0)
    if requests <= left:
        return by_rate
    rest = requests - left
    first_wait = resets_in if resets_in is not None else window
    windows = math.ceil(rest / quota_total) - 1
    tail = (rest - windows * quota_total) / rate
    return max(by_rate, first_wait + windows * window + tail)


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
