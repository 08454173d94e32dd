"""read_back: entries created in the real sandbox (POSTed through TogglClient over TCP), then rows
whose POST may have been applied are matched to them with few, windowed reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from importer.client import TogglClient
from importer.config import Credentials
from importer.engine.reconcile import ME_REACH_DAYS, Doubtful, read_back
from importer.sandbox import Sandbox

WID = 1234567
OTHER_WID = 7654321
OLIVIA, MAX = 101, 102
SUPPORT, TRIAGE, INTERNAL = 201000003, 301000003, 201000004
NOW = datetime(2025, 6, 16, 12, 0, tzinfo=UTC)
"""The sandbox's clock and read_back's ``now``: the tests do not depend on the real date."""
RECENT = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # a Monday two weeks back
OLD = NOW - timedelta(days=120)

ME_GET = ("GET", "/me/time_entries")
SEARCH = ("POST", "/reports/api/v3/workspace/{wid}/search/time_entries")
ME = ("GET", "/me")


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def body(
    start: datetime,
    duration: int = 3600,
    description: str | None = "Work",
    *,
    project_id: int | None = None,
    task_id: int | None = None,
    user_id: int | None = None,
    tags: list[str] | None = None,
    stop: bool = False,
    wid: int = WID,
) -> dict[str, Any]:
    """A create body as the importer posts it."""
    out: dict[str, Any] = {"created_with": "toggl-import", "workspace_id": wid, "start": stamp(start)}
    if stop:
        out["stop"] = stamp(start + timedelta(seconds=duration))
    else:
        out["duration"] = duration
    for name, value in (
        ("description", description),
        ("project_id", project_id),
        ("task_id", task_id),
        ("user_id", user_id),
        ("tags", tags),
    ):
        if value is not None:
            out[name] = value
    return out


@pytest.fixture
async def sb(sandbox_factory: Any) -> Sandbox:
    sandbox: Sandbox = await sandbox_factory(clock=lambda: NOW)
    return sandbox


@pytest.fixture
def toggl(sb: Sandbox, session: aiohttp.ClientSession) -> TogglClient:
    return TogglClient(session, sb.base_url, Credentials.from_token(sb.token), reports_url=sb.reports_url)


async def create(toggl: TogglClient, payload: dict[str, Any]) -> int:
    entry = await toggl.create_time_entry(payload["workspace_id"], payload)
    return int(entry["id"])


def reads(sb: Sandbox) -> dict[tuple[str, str], int]:
    return {k: n for k, n in sb.state.requests.items() if n}


# -- matching ------------------------------------------------------------------------------------


async def test_found_rows_map_to_their_entries_and_absent_rows_are_left_out(
    sb: Sandbox, toggl: TogglClient
) -> None:
    plain = body(RECENT)
    with_task = body(RECENT + timedelta(hours=2), 1800, "Ticket 42", project_id=SUPPORT, task_id=TRIAGE)
    tagged = body(RECENT + timedelta(days=1), 5400, "Planning", project_id=INTERNAL, tags=["meeting"])
    no_text = body(RECENT + timedelta(days=2), 600, None)
    ids = [await create(toggl, b) for b in (plain, with_task, tagged, no_text)]
    sb.state.clear_counters()
    rows = [
        Doubtful("plain", plain),
        Doubtful("task", with_task),
        Doubtful("tagged", tagged),
        Doubtful("no-text", no_text),
        Doubtful("longer", body(RECENT, 3601)),  # one second off
        Doubtful("other-project", {**with_task, "project_id": INTERNAL, "task_id": None}),
        Doubtful("no-task", {k: v for k, v in with_task.items() if k != "task_id"}),
        Doubtful("other-text", body(RECENT, description="Work!")),
        Doubtful("other-hour", body(RECENT + timedelta(hours=1))),
    ]
    found = await read_back(toggl, WID, rows, now=NOW)
    assert found == {"plain": ids[0], "task": ids[1], "tagged": ids[2], "no-text": ids[3]}
    assert reads(sb) == {ME_GET: 1}


async def test_a_body_with_stop_matches_an_entry_posted_with_a_duration(
    sb: Sandbox, toggl: TogglClient
) -> None:
    entry_id = await create(toggl, body(RECENT, 2700))
    other_id = await create(toggl, body(RECENT + timedelta(days=1), 900, stop=True))
    rows = [
        Doubtful("stop", body(RECENT, 2700, stop=True)),
        Doubtful("duration", body(RECENT + timedelta(days=1), 900)),
    ]
    assert await read_back(toggl, WID, rows, now=NOW) == {"stop": entry_id, "duration": other_id}


async def test_an_offset_start_matches_the_same_instant(sb: Sandbox, toggl: TogglClient) -> None:
    entry_id = await create(toggl, body(RECENT))
    row = {**body(RECENT), "start": "2025-06-02T11:00:00+02:00"}
    assert await read_back(toggl, WID, [Doubtful("fp", row)], now=NOW) == {"fp": entry_id}


async def test_two_identical_rows_and_one_entry_claim_it_once(sb: Sandbox, toggl: TogglClient) -> None:
    entry_id = await create(toggl, body(RECENT))
    rows = [Doubtful("first", body(RECENT)), Doubtful("second", body(RECENT))]
    found = await read_back(toggl, WID, rows, now=NOW)
    assert list(found.values()) == [entry_id]
    assert len(found) == 1


async def test_two_identical_rows_and_two_entries_get_one_each(sb: Sandbox, toggl: TogglClient) -> None:
    ids = {await create(toggl, body(RECENT)) for _ in range(2)}
    rows = [Doubtful(f"row-{i}", body(RECENT)) for i in range(3)]
    found = await read_back(toggl, WID, rows, now=NOW)
    assert len(found) == 2
    assert set(found.values()) == ids


async def test_known_entry_ids_are_never_claimed(sb: Sandbox, toggl: TogglClient) -> None:
    first = await create(toggl, body(RECENT))
    second = await create(toggl, body(RECENT))
    row = [Doubtful("fp", body(RECENT))]
    assert await read_back(toggl, WID, row, known_entry_ids=[first], now=NOW) == {"fp": second}
    assert await read_back(toggl, WID, row, known_entry_ids=iter([second, first]), now=NOW) == {}


async def test_an_entry_deleted_in_toggl_is_not_claimed(sb: Sandbox, toggl: TogglClient) -> None:
    await create(toggl, body(RECENT))
    sb.state.entries[-1]["server_deleted_at"] = stamp(NOW)
    assert await read_back(toggl, WID, [Doubtful("fp", body(RECENT))], now=NOW) == {}


async def test_an_entry_of_another_workspace_is_not_claimed(sb: Sandbox, toggl: TogglClient) -> None:
    """/me/time_entries answers the user's entries of every workspace."""
    sb.state.memberships[(OLIVIA, OTHER_WID)] = {"id": 4100009, "uid": OLIVIA, "wid": OTHER_WID}
    await create(toggl, body(RECENT, wid=OTHER_WID))
    assert await read_back(toggl, WID, [Doubtful("fp", body(RECENT))], now=NOW) == {}
    here = await create(toggl, body(RECENT))
    assert await read_back(toggl, WID, [Doubtful("fp", body(RECENT))], now=NOW) == {"fp": here}


async def test_no_rows_no_requests(sb: Sandbox, toggl: TogglClient) -> None:
    assert await read_back(toggl, WID, [], now=NOW) == {}
    assert reads(sb) == {}


# -- which endpoint ------------------------------------------------------------------------------


async def test_another_users_rows_are_read_through_reports(sb: Sandbox, toggl: TogglClient) -> None:
    maxs = await create(toggl, body(RECENT, user_id=MAX))
    await create(toggl, body(RECENT + timedelta(days=1)))  # Olivia's own, same text
    sb.state.clear_counters()
    rows = [
        Doubtful("max", body(RECENT, user_id=MAX)),
        # Olivia has this very entry; Max does not: it must not be claimed for him
        Doubtful("max-absent", body(RECENT + timedelta(days=1), user_id=MAX)),
    ]
    assert await read_back(toggl, WID, rows, now=NOW) == {"max": maxs}
    assert reads(sb) == {SEARCH: 1}


async def test_a_row_of_the_other_user_does_not_claim_my_entry(sb: Sandbox, toggl: TogglClient) -> None:
    await create(toggl, body(RECENT))
    assert await read_back(toggl, WID, [Doubtful("fp", body(RECENT, user_id=MAX))], now=NOW) == {}


async def test_rows_older_than_the_me_reach_go_through_reports(sb: Sandbox, toggl: TogglClient) -> None:
    old_id = await create(toggl, body(OLD, description="Old"))
    edge = NOW - timedelta(days=ME_REACH_DAYS - 1)
    edge_id = await create(toggl, body(edge, description="Edge"))
    sb.state.clear_counters()
    rows = [Doubtful("old", body(OLD, description="Old")), Doubtful("edge", body(edge, description="Edge"))]
    found = await read_back(toggl, WID, rows, now=NOW, me_user_id=OLIVIA)
    assert found == {"old": old_id, "edge": edge_id}
    assert reads(sb) == {SEARCH: 1, ME_GET: 1}


async def test_an_old_own_row_does_not_claim_another_users_entry(
    sb: Sandbox, toggl: TogglClient
) -> None:
    """The Reports search sees everyone's entries: an own row must only match own entries
    (a team meeting logged by Max is not Olivia's)."""
    await create(toggl, body(OLD, description="Team meeting", user_id=MAX))
    row = [Doubtful("fp", body(OLD, description="Team meeting"))]
    assert await read_back(toggl, WID, row, now=NOW, me_user_id=OLIVIA) == {}
    mine = await create(toggl, body(OLD, description="Team meeting"))
    assert await read_back(toggl, WID, row, now=NOW, me_user_id=OLIVIA) == {"fp": mine}


async def test_without_me_user_id_the_caller_is_asked_once(sb: Sandbox, toggl: TogglClient) -> None:
    await create(toggl, body(OLD, user_id=MAX))
    mine = await create(toggl, body(OLD + timedelta(days=30)))
    sb.state.clear_counters()
    rows = [Doubtful("max-like", body(OLD)), Doubtful("mine", body(OLD + timedelta(days=30)))]
    assert await read_back(toggl, WID, rows, now=NOW) == {"mine": mine}
    assert reads(sb) == {ME: 1, SEARCH: 2}


async def test_recent_own_rows_need_no_me_lookup(sb: Sandbox, toggl: TogglClient) -> None:
    await create(toggl, body(RECENT))
    sb.state.clear_counters()
    await read_back(toggl, WID, [Doubtful("fp", body(RECENT))], now=NOW)
    assert reads(sb) == {ME_GET: 1}


# -- windows -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user_id", "endpoint"), [(None, ME_GET), (MAX, SEARCH)])
async def test_fifty_rows_within_a_week_take_one_request(
    sb: Sandbox, toggl: TogglClient, user_id: int | None, endpoint: tuple[str, str]
) -> None:
    bodies = [
        body(RECENT + timedelta(hours=3 * i), 600 + i, f"Row {i}", user_id=user_id) for i in range(50)
    ]
    ids = [await create(toggl, b) for b in bodies]
    sb.state.clear_counters()
    rows = [Doubtful(f"fp-{i}", b) for i, b in enumerate(reversed(bodies))]
    found = await read_back(toggl, WID, rows, now=NOW)
    assert found == {f"fp-{i}": entry_id for i, entry_id in enumerate(reversed(ids))}
    assert reads(sb) == {endpoint: 1}


@pytest.mark.parametrize(("user_id", "endpoint"), [(None, ME_GET), (MAX, SEARCH)])
async def test_rows_spread_over_months_are_read_in_a_few_windows(
    sb: Sandbox, toggl: TogglClient, user_id: int | None, endpoint: tuple[str, str]
) -> None:
    weeks = [datetime(2025, 4, 1, 8, tzinfo=UTC), datetime(2025, 5, 6, 8, tzinfo=UTC), RECENT]
    bodies = [
        body(week + timedelta(days=d, hours=h), 1200, f"Week {w} day {d}", user_id=user_id)
        for w, week in enumerate(weeks)
        for d in range(5)
        for h in (0, 4)
    ]
    ids = {stamp_key(b): await create(toggl, b) for b in bodies}
    sb.state.clear_counters()
    rows = [Doubtful(stamp_key(b), b) for b in bodies] + [
        Doubtful("absent", body(weeks[1], 1200, "Nobody wrote this", user_id=user_id))
    ]
    found = await read_back(toggl, WID, rows, now=NOW)
    assert found == ids
    assert reads(sb) == {endpoint: len(weeks)}  # 30 rows, 3 windows


def stamp_key(b: dict[str, Any]) -> str:
    return f"{b['start']} {b['description']}"


async def test_daily_rows_at_the_edges_of_days_are_all_found(sb: Sandbox, toggl: TogglClient) -> None:
    """21 days of entries at 00:00:00 and 23:59:59 UTC: a few windows, none missing an edge."""
    first_day = datetime(2025, 5, 12, tzinfo=UTC)
    bodies = [
        body(first_day + timedelta(days=d, seconds=s), 60, f"Day {d} at {s}")
        for d in range(21)
        for s in (0, 86399)
    ]
    ids = {stamp_key(b): await create(toggl, b) for b in bodies}
    sb.state.clear_counters()
    found = await read_back(toggl, WID, [Doubtful(stamp_key(b), b) for b in bodies], now=NOW)
    assert found == ids
    windows = sb.state.requests[ME_GET]
    assert 2 <= windows <= 4  # weekly windows, not one per row (42 rows) nor one for all


async def test_reports_pages_are_all_read(sandbox_factory: Any, session: aiohttp.ClientSession) -> None:
    sb: Sandbox = await sandbox_factory(clock=lambda: NOW, page_size_cap=2)
    toggl = TogglClient(session, sb.base_url, Credentials.from_token(sb.token), reports_url=sb.reports_url)
    bodies = [body(RECENT + timedelta(hours=i), 60, f"Paged {i}", user_id=MAX) for i in range(7)]
    ids = [await create(toggl, b) for b in bodies]
    sb.state.clear_counters()
    found = await read_back(toggl, WID, [Doubtful(str(i), b) for i, b in enumerate(bodies)], now=NOW)
    assert found == {str(i): entry_id for i, entry_id in enumerate(ids)}
    assert sb.state.requests[SEARCH] == 4  # pages of 2, one search


async def test_mixed_rows_use_each_source_once(sb: Sandbox, toggl: TogglClient) -> None:
    recent = await create(toggl, body(RECENT))
    old = await create(toggl, body(OLD))
    maxs = await create(toggl, body(RECENT, user_id=MAX))
    sb.state.clear_counters()
    rows = [
        Doubtful("recent", body(RECENT)),
        Doubtful("old", body(OLD)),
        Doubtful("max", body(RECENT, user_id=MAX)),
    ]
    found = await read_back(toggl, WID, rows, now=NOW, me_user_id=OLIVIA)
    assert found == {"recent": recent, "old": old, "max": maxs}
    assert reads(sb) == {ME_GET: 1, SEARCH: 2}
