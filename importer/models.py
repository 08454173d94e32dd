"""Pydantic models: the create body exactly as Toggl API v9 takes it, the TimeEntry answer, row states.

``TimeEntryCreate`` refuses everything the API would refuse or that we never send (legacy ``pid``,
``tid``, ``uid``, ``wid``, ``tag_action`` on create, extra fields). ``to_body()`` gives the JSON body:
only fields that carry a value, times as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC, integer seconds and ids.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    field_serializer,
    field_validator,
    model_validator,
)

MAX_DURATION_SECONDS = 999 * 3600
"""Toggl refuses entries longer than 999 hours."""
MAX_DESCRIPTION_CHARS = 3000
"""Toggl refuses a description longer than this (characters, not bytes)."""

DEFAULT_CREATED_WITH = "toggl-import"
TOGGL_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

PositiveId = Annotated[StrictInt, Field(gt=0)]


def format_utc(value: datetime) -> str:
    """An aware datetime as Toggl's ``2006-01-02T15:04:05Z`` (UTC, whole seconds)."""
    return value.astimezone(UTC).strftime(TOGGL_TIME_FORMAT)


def _aware_utc(value: Any, field: str) -> Any:
    """Accept an aware datetime, or text with an explicit offset or ``Z``; never a naive time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{field} must look like 2006-01-02T15:04:05Z, got {value!r}") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{field} has no UTC offset: a naive time is ambiguous")
        if value.microsecond:
            value = value.replace(microsecond=0)
        return value.astimezone(UTC)
    return value


class EventMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")
    origin_feature: str | None = None
    visible_goals_count: StrictInt | None = None


class TimeEntryCreate(BaseModel):
    """Body of ``POST /workspaces/{workspace_id}/time_entries``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    created_with: Annotated[str, Field(min_length=1)]
    start: datetime
    workspace_id: PositiveId
    duration: Annotated[StrictInt, Field(ge=0, le=MAX_DURATION_SECONDS)] | None = None
    stop: datetime | None = None
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)] | None = None
    project_id: PositiveId | None = None
    task_id: PositiveId | None = None
    tags: list[str] | None = None
    tag_ids: list[PositiveId] | None = None
    billable: StrictBool | None = None
    user_id: PositiveId | None = None
    shared_with_user_ids: list[PositiveId] | None = None
    start_date: date | None = None
    event_metadata: EventMetadata | None = None

    @field_validator("created_with")
    @classmethod
    def _created_with_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("created_with must name the application")
        return value

    @field_validator("start", "stop", mode="before")
    @classmethod
    def _utc(cls, value: Any, info: Any) -> Any:
        return _aware_utc(value, info.field_name)

    @field_validator("duration", mode="before")
    @classmethod
    def _whole_seconds(cls, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @field_validator("tags")
    @classmethod
    def _tags_named(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not tag.strip() for tag in value):
            raise ValueError("a tag name is empty")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TimeEntryCreate:
        if self.duration is None and self.stop is None:
            raise ValueError("an entry needs a duration or a stop time (running timers are not imported)")
        if self.stop is not None:
            if self.stop <= self.start:
                raise ValueError("stop must be after start")
            span = int((self.stop - self.start).total_seconds())
            if self.duration is not None and span != self.duration:
                raise ValueError(f"start + duration ({self.duration} s) != stop ({span} s after start)")
            if span > MAX_DURATION_SECONDS:
                raise ValueError("an entry cannot be longer than 999 hours")
        if self.task_id is not None and self.project_id is None:
            raise ValueError("task_id needs a project_id")
        return self

    @field_serializer("start", "stop")
    def _ser_time(self, value: datetime | None) -> str | None:
        return None if value is None else format_utc(value)

    def to_body(self) -> dict[str, Any]:
        """The JSON body, without empty fields."""
        return self.model_dump(mode="json", exclude_none=True)

    @property
    def seconds(self) -> int:
        if self.duration is not None:
            return self.duration
        assert self.stop is not None
        return int((self.stop - self.start) / timedelta(seconds=1))


TIME_ENTRY_CREATE_LIST = TypeAdapter(list[TimeEntryCreate])
"""Validate payloads in batches: much cheaper than ``model_validate`` per row."""


class SharedWith(BaseModel):
    model_config = ConfigDict(extra="allow")
    accepted: bool | None = None
    user_id: int | None = None
    user_name: str | None = None


class TimeEntry(BaseModel):
    """The 200 answer of the create endpoint (and of reads); tolerant of fields we do not know."""

    model_config = ConfigDict(extra="allow")

    id: int
    workspace_id: int
    start: datetime
    stop: datetime | None = None
    duration: int
    description: str | None = None
    project_id: int | None = None
    task_id: int | None = None
    user_id: int | None = None
    tags: list[str] | None = None
    tag_ids: list[int] | None = None
    billable: bool = False
    at: datetime | None = None
    server_deleted_at: datetime | None = None
    permissions: list[str] | None = None
    shared_with: list[SharedWith] | None = None
    duronly: bool | None = None
    pid: int | None = None
    tid: int | None = None
    uid: int | None = None
    wid: int | None = None
    client_name: str | None = None
    project_name: str | None = None
    project_color: str | None = None
    project_active: bool | None = None
    project_billable: bool | None = None
    task_name: str | None = None
    user_name: str | None = None
    user_avatar_url: str | None = None


class RowStatus(enum.StrEnum):
    """What happened to one input row (the report's and the ledger's ``status``)."""

    PENDING = "pending"
    SENDING = "sending"
    CREATED = "created"
    FAILED = "failed"
    REFUSED = "refused"
    DUPLICATE = "duplicate"
    IN_DOUBT = "in_doubt"
    UPDATING = "updating"
    """An update (PUT) of a created entry may be on the wire: asked again, it is harmless."""
    DELETING = "deleting"
    """A delete of a created entry may be on the wire: asked again, it is harmless."""
    DELETED = "deleted"
    """The entry this row created was deleted (``--mirror`` or ``undo``); a later run creates it anew."""
    EXPORTED = "exported"
    """Written to a Toggl CSV import file: read back before it is ever posted."""


class RowError(BaseModel):
    """Why one row cannot be posted: where it is, which column, and what to do."""

    model_config = ConfigDict(frozen=True)

    file: str
    row: int
    column: str | None
    message: str
    reason: str = "invalid"
