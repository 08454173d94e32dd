"""Content keys of rows, and keeping secrets out of stored text.

The ledger keys every row by ``fingerprint(body)``: the entry's identity (workspace, user, start,
duration, description, project, task, sorted tags), so that equal content gives an equal key
whatever the key order, the tag order or the way the time was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .models import TOGGL_TIME_FORMAT


def fingerprint(body: Mapping[str, Any]) -> str:
    """Content key of a create body: workspace, user, start, duration, description, project, task,
    sorted tags (``billable`` and ``created_with`` are not part of an entry's identity).

    Canonical JSON of a fixed-order list (``canonical``), hashed (blake2b, 128 bits, hex): equal
    content → equal key whatever the key or tag order; ``stop`` counts as ``duration = stop -
    start``; a start with an offset equals the same instant in ``Z``.
    """
    return fingerprint_text(canonical(body))


def canonical(body: Mapping[str, Any]) -> str:
    """The canonical JSON ``fingerprint`` hashes."""
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
    return _JSON.encode(key)


def fingerprint_text(text: str) -> str:
    """The fingerprint of a canonical JSON text."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def fingerprint_texts(texts: Iterable[str]) -> list[str]:
    """``fingerprint_text`` of each text, 1.4x faster: copying a blake2b object costs less than
    making one (whose keyword arguments are parsed each time)."""
    out = []
    for text in texts:
        digest = _BLAKE2B_16.copy()
        digest.update(text.encode())
        out.append(digest.hexdigest())
    return out


_BLAKE2B_16 = hashlib.blake2b(digest_size=16)


def canonical_columns(
    workspace_id: int,
    users: Sequence[int | None],
    starts: Sequence[str],
    durations: Sequence[int],
    descriptions: Sequence[str | None],
    projects: Sequence[int | None],
    tasks: Sequence[int | None],
    tags: Sequence[tuple[str, ...]],
) -> list[str]:
    """``canonical`` of many canonical bodies given as aligned columns, ~4x faster.

    The same JSON, written directly: the part that depends on the user and the part that depends
    on (project, task, tags) are written once per distinct value, strings are quoted by the
    encoder's own function. Starts must be canonical (``YYYY-MM-DDTHH:MM:SSZ``), durations
    ``int`` and tags tuples. Callers check a sample against ``canonical`` (``payloads``).
    """
    quote, empty = _quote, '""'
    head = {user: f'[{workspace_id},{_json_int(user)},"' for user in set(users)}
    tails: dict[tuple[Any, Any, Any], str] = {}
    out = []
    for user, start, seconds, text, project, task, names in zip(
        users, starts, durations, descriptions, projects, tasks, tags, strict=True
    ):
        tail = tails.get((project, task, names))
        if tail is None:
            quoted = ",".join(map(quote, sorted(names))) if names else ""
            tail = f",{_json_int(project)},{_json_int(task)},[{quoted}]]"
            tails[project, task, names] = tail
        out.append(f'{head[user]}{start}",{seconds},{quote(text) if text else empty}{tail}')
    return out


def _json_int(value: int | None) -> str:
    return "null" if value is None else str(value)


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
_quote = json.encoder.encode_basestring  # how _JSON quotes a string (ensure_ascii=False)


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
