"""Reading requests for the sandbox: JSON bodies, query flags, page numbers, dates.

Every refusal is a ``BadRequest`` (plain-text 400) or ``TooLarge`` (413), never a crash.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from importer.sandbox import entries
from importer.sandbox.entries import BadRequest
from importer.sandbox.gate import text
from importer.sandbox.state import Json

MAX_BODY = 1024**2
JSON_TYPES = frozenset({"application/json", "application/octet-stream"})  # no header → octet


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or BadRequest / 413 for what Toggl would refuse."""
    ctype = request.content_type
    if ctype not in JSON_TYPES and not ctype.endswith("+json"):
        raise BadRequest(f"Content-Type {ctype} is not supported: send application/json")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge() from None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("JSON is not valid") from None


class TooLarge(Exception):
    """The body is over ``MAX_BODY``: answered 413."""


def flag(query: Any, name: str, default: str) -> bool | None:
    """``true``/``false``/``both`` → True/False/None."""
    value = query.get(name, default).lower()
    if value not in {"true", "false", "both"}:
        raise BadRequest(f"{name} must be true, false or both")
    return None if value == "both" else value == "true"


def positive(query: Any, name: str, default: int) -> int:
    value = query.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit() or int(value) < 1:
        raise BadRequest(f"{name} must be a positive integer")
    return int(value)


def body_object(body: Any) -> Json:
    if not isinstance(body, dict):
        raise BadRequest("JSON is not valid: expected an object")
    return body


def required_name(body: Json) -> str:
    value = body.get("name")
    if type(value) is not str or not value.strip():
        raise BadRequest("Name can't be blank")
    return value.strip()


def too_large() -> web.Response:
    return text(413, f"Request body too large: at most {MAX_BODY} bytes")


def edge(value: str, field: str) -> float:
    """A ``YYYY-MM-DD`` (midnight UTC) or RFC 3339 query value as epoch seconds."""
    if len(value) == 10:
        day = entries.parse_day(value, field)
        return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return entries.parse_instant(value, field).timestamp()


def unix(value: str, field: str) -> float:
    """A UNIX timestamp (whole seconds) of a query."""
    if not value.isdigit():
        raise BadRequest(f"{field} must be a UNIX timestamp in seconds")
    return float(value)


def int_or(body: Json, name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if type(value) is not int or value < 0:
        raise BadRequest(f'Unexpected "{name}" value: expected a positive integer')
    return value or default


def user_ids(value: Any) -> set[int] | None:
    if value is None:
        return None
    if type(value) is not list or any(type(uid) is not int for uid in value):
        raise BadRequest('Unexpected "user_ids" type: expected a list of integers')
    return set(value)
