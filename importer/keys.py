"""Content keys of rows, and keeping secrets out of stored text.

The ledger keys every row by ``fingerprint(body)``: the entry's identity (workspace, user, start,
duration, description, project, task, sorted tags), so that equal content gives an equal key
whatever the key order, the tag order or the way the time was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from .models import TOGGL_TIME_FORMAT


def fingerprint(body: Mapping[str, Any]) -> str:
    """Content key of a create body: workspace, user, start, duration, description, project, task,
    sorted tags (``billable`` and ``created_with`` are not part of an entry's identity).

    Canonical JSON of a fixed-order list, hashed (blake2b, 128 bits, hex): equal content → equal
    key whatever the key or tag order; ``stop`` counts as ``duration = stop - start``; a start with
    an offset equals the same instant in ``Z``.
    """
    key = [
        body.get("workspace_id"),
        body.get("user_id"),
        utc_text(body["start"]),
        body_seconds(body),
        body.get("description") or "",
        body.get("project_id"),
        body.get("task_id"),
        sorted(body.get("tags") or []),
    ]
    return _digest(key)


def position_fingerprint(file: str, row: int) -> str:
    """Key of a per-run fact (refused, duplicate): the input position; never a content key."""
    return _digest(["input-row", file, int(row)])


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (of 4 characters or more) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one encoder: ~2 us/row less


def _digest(key: list[Any]) -> str:
    return hashlib.blake2b(_JSON.encode(key).encode(), digest_size=16).hexdigest()


def _instant(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time without a UTC offset: {value!r}")
    return moment


def body_seconds(body: Mapping[str, Any]) -> int:
    """A create body's length: its ``duration``, else ``stop - start``."""
    duration = body.get("duration")
    if duration is None:
        if not body.get("stop"):
            raise ValueError("a create body needs a duration or a stop time")
        duration = (_instant(body["stop"]) - _instant(body["start"])).total_seconds()
    return int(duration)


def utc_text(value: str | datetime) -> str:
    """An aware time (or text with an offset) as Toggl's ``YYYY-MM-DDTHH:MM:SSZ``."""
    if isinstance(value, str) and len(value) == 20 and value[10] == "T" and value[19] == "Z":
        return value  # already canonical: what TimeEntryCreate.to_body() gives
    return _instant(value).astimezone(UTC).strftime(TOGGL_TIME_FORMAT)
