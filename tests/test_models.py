"""Every rule of the create payload has a test that fails when the rule is removed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from importer.models import (
    MAX_DURATION_SECONDS,
    TIME_ENTRY_CREATE_LIST,
    TimeEntry,
    TimeEntryCreate,
)

START = datetime(2026, 9, 23, 13, 0, tzinfo=UTC)


def make(**changes: object) -> TimeEntryCreate:
    fields: dict[str, object] = {
        "created_with": "toggl-import",
        "start": START,
        "workspace_id": 1234567,
        "duration": 5400,
    }
    fields.update(changes)
    return TimeEntryCreate.model_validate(fields)


def test_typical_entry_serialises_exactly_like_the_api_reference() -> None:
    entry = make(
        description="Sprint planning",
        project_id=2001,
        task_id=3001,
        tags=["meeting", "remote"],
        billable=True,
        user_id=101,
    )
    body = json.loads(entry.model_dump_json(exclude_none=True))
    assert body == {
        "created_with": "toggl-import",
        "start": "2026-09-23T13:00:00Z",
        "workspace_id": 1234567,
        "duration": 5400,
        "description": "Sprint planning",
        "project_id": 2001,
        "task_id": 3001,
        "tags": ["meeting", "remote"],
        "billable": True,
        "user_id": 101,
    }
    assert entry.to_body() == body


def test_empty_fields_are_left_out() -> None:
    assert set(make().to_body()) == {"created_with", "start", "workspace_id", "duration"}


def test_start_is_converted_to_utc_with_a_z() -> None:
    berlin_summer = timezone(timedelta(hours=2))
    entry = make(start=datetime(2026, 9, 23, 15, 0, 30, 999, tzinfo=berlin_summer))
    assert entry.to_body()["start"] == "2026-09-23T13:00:30Z"


def test_start_from_text_with_offset_is_accepted() -> None:
    assert make(start="2026-09-23T15:00:00+02:00").to_body()["start"] == "2026-09-23T13:00:00Z"
    assert make(start="2026-09-23T13:00:00Z").to_body()["start"] == "2026-09-23T13:00:00Z"


@pytest.mark.parametrize("start", [datetime(2026, 9, 23, 13, 0), "2026-09-23T13:00:00", "yesterday"])  # noqa: DTZ001
def test_naive_or_malformed_start_is_refused(start: object) -> None:
    with pytest.raises(ValidationError):
        make(start=start)


def test_created_with_is_required_and_not_blank() -> None:
    with pytest.raises(ValidationError):
        TimeEntryCreate.model_validate({"start": START, "workspace_id": 1, "duration": 1})
    for blank in ("", "   "):
        with pytest.raises(ValidationError):
            make(created_with=blank)


def test_workspace_id_must_be_an_integer_not_a_string() -> None:
    with pytest.raises(ValidationError):
        make(workspace_id="1234567")
    with pytest.raises(ValidationError):
        TimeEntryCreate.model_validate({"created_with": "x", "start": START, "duration": 1})


@pytest.mark.parametrize("legacy", ["pid", "tid", "uid", "wid", "tag_action", "anything_else"])
def test_legacy_and_unknown_fields_are_refused(legacy: str) -> None:
    with pytest.raises(ValidationError):
        make(**{legacy: 1 if legacy != "tag_action" else "add"})


def test_stop_must_be_after_start() -> None:
    with pytest.raises(ValidationError, match="after start"):
        make(duration=None, stop=START)
    with pytest.raises(ValidationError, match="after start"):
        make(duration=None, stop=START - timedelta(seconds=1))
    assert make(duration=None, stop=START + timedelta(hours=1)).seconds == 3600


def test_start_plus_duration_must_equal_stop() -> None:
    with pytest.raises(ValidationError, match="duration"):
        make(duration=3600, stop=START + timedelta(hours=2))
    both = make(duration=3600, stop=START + timedelta(hours=1)).to_body()
    assert both["stop"] == "2026-09-23T14:00:00Z"


def test_duration_over_999_hours_is_refused() -> None:
    assert make(duration=MAX_DURATION_SECONDS).duration == MAX_DURATION_SECONDS
    with pytest.raises(ValidationError):
        make(duration=MAX_DURATION_SECONDS + 1)
    with pytest.raises(ValidationError, match="999"):
        make(duration=None, stop=START + timedelta(seconds=MAX_DURATION_SECONDS + 1))


def test_negative_duration_running_timer_is_refused() -> None:
    with pytest.raises(ValidationError):
        make(duration=-1)


def test_an_entry_needs_a_duration_or_a_stop() -> None:
    with pytest.raises(ValidationError, match="duration or a stop"):
        make(duration=None)


def test_task_without_project_is_refused() -> None:
    with pytest.raises(ValidationError, match="project_id"):
        make(task_id=5)
    assert make(task_id=5, project_id=6).task_id == 5


def test_durations_serialise_as_integers() -> None:
    body = make(duration=90.0).to_body()
    assert body["duration"] == 90
    assert isinstance(body["duration"], int)
    with pytest.raises(ValidationError):
        make(duration=90.5)


def test_ids_must_be_integers() -> None:
    for field in ("project_id", "task_id", "user_id"):
        with pytest.raises(ValidationError):
            make(**{"project_id": 1, field: "12"})


def test_empty_tag_names_are_refused() -> None:
    with pytest.raises(ValidationError):
        make(tags=["ok", " "])


def test_batch_validation_with_a_type_adapter() -> None:
    rows = [
        {"created_with": "t", "start": START, "workspace_id": 1, "duration": n + 1} for n in range(3)
    ]
    entries = TIME_ENTRY_CREATE_LIST.validate_python(rows)
    assert [e.duration for e in entries] == [1, 2, 3]


def test_time_entry_answer_accepts_every_documented_field_and_extras() -> None:
    answer = {
        "id": 9001,
        "workspace_id": 1234567,
        "project_id": 2001,
        "task_id": None,
        "user_id": 101,
        "start": "2026-09-23T13:00:00Z",
        "stop": "2026-09-23T14:30:00Z",
        "duration": 5400,
        "description": "Sprint planning",
        "tags": ["meeting"],
        "tag_ids": [7],
        "billable": False,
        "at": "2026-09-23T14:30:01+00:00",
        "server_deleted_at": None,
        "permissions": None,
        "shared_with": [{"accepted": True, "user_id": 102, "user_name": "Max"}],
        "duronly": True,
        "pid": 2001,
        "tid": None,
        "uid": 101,
        "wid": 1234567,
        "client_name": "Acme Corp",
        "project_name": "Website",
        "project_color": "#06aaf5",
        "project_active": True,
        "project_billable": False,
        "task_name": None,
        "user_name": "Olivia",
        "user_avatar_url": "",
        "something_new": 1,
    }
    entry = TimeEntry.model_validate(answer)
    assert entry.id == 9001
    assert entry.start == START
    assert entry.shared_with is not None and entry.shared_with[0].user_id == 102
