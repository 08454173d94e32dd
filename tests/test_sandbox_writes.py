"""Updates and deletes of time entries over real TCP: PUT, DELETE, ``at``, ``since``, faults on
them, and writes applied late (after the client gave up)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from test_sandbox import (
    DESIGN,
    FOREIGN_WID,
    LEGACY,
    MEMBER_TOKEN,
    NO_ACCESS,
    OWNER,
    SECRET_LAB,
    SUPPORT,
    TRIAGE,
    WEBSITE_ACME,
    WID,
    auth,
    body,
    call,
    create,
)

from importer.sandbox import Sandbox

ANA, BEN = 104, 105
ANA_TOKEN, BEN_TOKEN = "sandbox-ana-token", "sandbox-ben-token"
T0 = datetime(2024, 3, 10, 12, 0, 0, tzinfo=UTC)


class Clock:
    """The sandbox's "now", moved by the test."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sb(sandbox_factory: Any, clock: Clock) -> Sandbox:
    return await sandbox_factory(clock=clock)  # type: ignore[no-any-return]


def path(entry_id: int, wid: int = WID) -> str:
    return f"/workspaces/{wid}/time_entries/{entry_id}"


async def new_entry(session: aiohttp.ClientSession, sb: Sandbox, **changes: Any) -> Any:
    token = changes.pop("token", None)
    status, entry, _ = await create(
        session, sb, body(**changes), headers=auth(token) if token else None
    )
    assert status == 200, entry
    return entry


async def put(
    session: aiohttp.ClientSession, sb: Sandbox, entry_id: int, changes: Any, **kwargs: Any
) -> tuple[int, Any, aiohttp.ClientResponse]:
    return await call(session, sb, "PUT", path(entry_id), json=changes, **kwargs)


async def delete(
    session: aiohttp.ClientSession, sb: Sandbox, entry_id: int, **kwargs: Any
) -> tuple[int, Any, aiohttp.ClientResponse]:
    return await call(session, sb, "DELETE", path(entry_id), **kwargs)


# -- PUT --------------------------------------------------------------------------------------


async def test_put_changes_fields_and_answers_the_whole_entry(
    sb: Sandbox, session: aiohttp.ClientSession, clock: Clock
) -> None:
    entry = await new_entry(session, sb, description="draft", tags=["meeting"])
    assert entry["at"] == "2024-03-10T12:00:00+00:00"
    clock.advance(5)
    changes = {
        "description": "final",
        "project_id": WEBSITE_ACME,
        "task_id": DESIGN,
        "tags": ["urgent", "brand-new"],
        "billable": True,
    }
    status, updated, resp = await put(session, sb, entry["id"], changes)
    assert status == 200
    assert resp.content_type == "application/json"
    assert updated["id"] == entry["id"]
    assert (updated["description"], updated["project_id"], updated["pid"]) == (
        "final",
        WEBSITE_ACME,
        WEBSITE_ACME,
    )
    assert (updated["task_id"], updated["tid"], updated["billable"]) == (DESIGN, DESIGN, True)
    assert updated["tags"] == ["urgent", "brand-new"]
    assert updated["tag_ids"][0] == 15000002
    assert (updated["start"], updated["duration"]) == (entry["start"], entry["duration"])
    assert updated["at"] == "2024-03-10T12:00:05+00:00"
    assert updated["server_deleted_at"] is None
    assert sb.state.entries == [updated]
    _, tags, _ = await call(session, sb, "GET", f"/workspaces/{WID}/tags")
    assert "brand-new" in {t["name"] for t in tags}


@pytest.mark.parametrize(
    ("changes", "start", "stop", "duration"),
    [
        ({"start": "2024-03-01T10:00:00Z"}, "10:00", "11:00", 3600),  # moves, keeps duration
        ({"stop": "2024-03-01T09:30:00Z"}, "09:00", "09:30", 1800),
        ({"duration": 7200}, "09:00", "11:00", 7200),
        ({"start": "2024-03-01T08:00:00Z", "stop": "2024-03-01T08:45:00Z"}, "08:00", "08:45", 2700),
        ({"start": "2024-03-01T08:00:00Z", "duration": 60}, "08:00", "08:01", 60),
        ({"start_date": "2024-03-05"}, "09:00", "10:00", 3600),
        ({"duration": None, "stop": None, "start": None}, "09:00", "10:00", 3600),
    ],
)
async def test_put_start_stop_and_duration(
    sb: Sandbox,
    session: aiohttp.ClientSession,
    changes: dict[str, Any],
    start: str,
    stop: str,
    duration: int,
) -> None:
    entry = await new_entry(session, sb)
    status, updated, _ = await put(session, sb, entry["id"], changes)
    assert status == 200, updated
    assert (updated["start"][11:16], updated["stop"][11:16]) == (start, stop)
    assert updated["duration"] == duration
    day = "2024-03-05" if "start_date" in changes else "2024-03-01"
    assert updated["start"][:10] == day


async def test_put_null_clears_and_a_new_project_drops_the_old_task(
    sb: Sandbox, session: aiohttp.ClientSession
) -> None:
    entry = await new_entry(
        session, sb, description="x", project_id=WEBSITE_ACME, task_id=DESIGN, tags=["meeting"]
    )
    status, moved, _ = await put(session, sb, entry["id"], {"project_id": SUPPORT})
    assert status == 200
    assert (moved["project_id"], moved["task_id"]) == (SUPPORT, None)
    status, kept, _ = await put(session, sb, entry["id"], {"task_id": TRIAGE})
    assert (status, kept["project_id"], kept["task_id"]) == (200, SUPPORT, TRIAGE)
    clear = {"description": None, "project_id": None, "tags": None, "billable": None}
    status, cleared, _ = await put(session, sb, entry["id"], clear)
    assert status == 200
    assert (cleared["description"], cleared["project_id"], cleared["task_id"]) == (None, None, None)
    assert (cleared["tags"], cleared["tag_ids"], cleared["billable"]) == ([], [], False)


async def test_put_tag_action_adds_and_deletes(sb: Sandbox, session: aiohttp.ClientSession) -> None:
    entry = await new_entry(session, sb, tags=["meeting", "urgent"])
    status, added, _ = await put(
        session, sb, entry["id"], {"tags": ["remote", "meeting"], "tag_action": "add"}
    )
    assert (status, added["tags"]) == (200, ["meeting", "urgent", "remote"])
    status, taken, _ = await put(
        session, sb, entry["id"], {"tags": ["meeting"], "tag_ids": [15000003], "tag_action": "delete"}
    )
    assert (status, taken["tags"], taken["tag_ids"]) == (200, ["urgent"], [15000002])


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"description": "x" * 3001}, "3000"),
        ({"description": 5}, '"description" type number'),
        ({"stop": "2024-03-01T08:00:00Z"}, "after start"),
        ({"stop": "2024-03-01T10:00:00Z", "duration": 60}, "must equal stop"),
        ({"duration": -1}, "negative"),
        ({"duration": 999 * 3600 + 1}, "999 hours"),
        ({"start": "yesterday"}, "start"),
        ({"start": ""}, "start"),
        ({"start_date": "2024-13-01"}, "start_date"),
        ({"start": "2024-03-01T09:00:00"}, "UTC offset"),
        ({"project_id": 999}, "project"),
        ({"project_id": SECRET_LAB}, "project"),
        ({"project_id": LEGACY}, "archived"),
        ({"project_id": SUPPORT, "task_id": DESIGN}, "task"),
        ({"project_id": None, "task_id": DESIGN}, "project_id"),
        ({"task_id": TRIAGE}, "task"),
        ({"workspace_id": FOREIGN_WID}, "does not match"),
        ({"workspace_id": str(WID)}, '"workspace_id" type string'),
        ({"user_id": 103}, "member"),
        ({"tags": ["ok", ""], "description": "changed"}, "tag name"),
        ({"tag_ids": [1]}, "tag"),
        ({"tag_action": "replace", "tags": ["a"]}, "tag_action"),
        ({"billable": "yes"}, '"billable" type string'),
        ({"created_with": 7}, "created_with"),
        ([1, 2], "object"),
    ],
)
async def test_put_refusals_are_400_and_change_nothing(
    sb: Sandbox, session: aiohttp.ClientSession, clock: Clock, changes: Any, needle: str
) -> None:
    entry = await new_entry(session, sb, description="keep", project_id=WEBSITE_ACME)
    before = dict(entry)
    clock.advance(3)
    status, text, resp = await put(session, sb, entry["id"], changes)
    assert status == 400, text
    assert resp.content_type == "text/plain"
    assert needle in text
    assert sb.state.entries == [before]  # ``at`` did not move either
    _, tags, _ = await call(session, sb, "GET", f"/workspaces/{WID}/tags")
    assert len(tags) == 3


async def test_put_needs_no_created_with_and_keeps_the_workspace(
    sb: Sandbox, session: aiohttp.ClientSession
) -> None:
    entry = await new_entry(session, sb)
    status, updated, _ = await put(session, sb, entry["id"], {"workspace_id": WID, "duration": 60})
    assert (status, updated["workspace_id"], updated["duration"]) == (200, WID, 60)


async def test_put_with_meta_adds_names(sb: Sandbox, session: aiohttp.ClientSession) -> None:
    entry = await new_entry(session, sb)
    status, updated, _ = await put(
        session, sb, entry["id"], {"project_id": SUPPORT}, params={"meta": "true"}
    )
    assert (status, updated["project_name"], updated["client_name"]) == (200, "Support", "Acme Corp")
    assert "project_name" not in sb.state.entries[0]  # names are answered, not stored


async def test_put_and_delete_of_a_missing_deleted_or_foreign_entry_are_404(
    sb: Sandbox, session: aiohttp.ClientSession
) -> None:
    gone = await new_entry(session, sb)
    assert (await delete(session, sb, gone["id"]))[0] == 200
    status, foreign, _ = await call(
        session,
        sb,
        "POST",
        f"/workspaces/{FOREIGN_WID}/time_entries",
        json=body(workspace_id=FOREIGN_WID),
        headers=auth("sandbox-foreign-token"),
    )
    assert status == 200
    for entry_id in (999, gone["id"], foreign["id"]):
        for method, kwargs in (("PUT", {"json": {"duration": 5}}), ("DELETE", {})):
            status, text, resp = await call(session, sb, method, path(entry_id), **kwargs)
            assert (status, text) == (404, "Time entry not found"), (method, entry_id)
            assert resp.content_type == "text/plain"
    assert [e["duration"] for e in sb.state.entries] == [3600]  # the foreign one, untouched


async def test_only_the_owner_or_a_workspace_admin_may_change_an_entry(
    sb: Sandbox, session: aiohttp.ClientSession
) -> None:
    owners = await new_entry(session, sb)
    members = await new_entry(session, sb, token=MEMBER_TOKEN)
    for method, kwargs in (("PUT", {"json": {"duration": 5}}), ("DELETE", {})):
        status, text, _ = await call(
            session, sb, method, path(owners["id"]), headers=auth(BEN_TOKEN), **kwargs
        )
        assert (status, text) == (403, NO_ACCESS)
    status, _, _ = await put(session, sb, members["id"], {"duration": 60}, headers=auth(MEMBER_TOKEN))
    assert status == 200  # one's own
    status, text, _ = await put(
        session, sb, members["id"], {"user_id": BEN}, headers=auth(MEMBER_TOKEN)
    )
    assert status == 400
    assert "admin" in text  # a member cannot hand an entry to someone else
    status, moved, _ = await put(session, sb, members["id"], {"user_id": BEN}, headers=auth(ANA_TOKEN))
    assert (status, moved["user_id"], moved["uid"]) == (200, BEN, BEN)  # an admin can
    assert (await delete(session, sb, owners["id"], headers=auth(ANA_TOKEN)))[0] == 200
    assert [e["id"] for e in sb.state.entries] == [members["id"]]


# -- DELETE and reading back ------------------------------------------------------------------


async def test_delete_hides_the_entry_from_every_read_but_since(
    sb: Sandbox, session: aiohttp.ClientSession, clock: Clock
) -> None:
    kept = await new_entry(session, sb)
    gone = await new_entry(session, sb)
    clock.advance(7)
    status, text, resp = await delete(session, sb, gone["id"])
    assert (status, text) == (200, "")
    assert resp.content_length == 0
    assert sb.state.entries == [kept]
    [tomb] = sb.state.deleted_entries
    stamp = "2024-03-10T12:00:07+00:00"
    assert (tomb["id"], tomb["server_deleted_at"], tomb["at"]) == (gone["id"], stamp, stamp)

    window = {"start_date": "2024-03-01", "end_date": "2024-03-02"}
    _, found, _ = await call(session, sb, "GET", "/me/time_entries", params=window)
    assert [e["id"] for e in found] == [kept["id"]]
    _, found, _ = await call(session, sb, "GET", "/me/time_entries")
    assert [e["id"] for e in found] == [kept["id"]]
    status, _, _ = await call(session, sb, "GET", f"/me/time_entries/{gone['id']}")
    assert status == 404
    status, one, _ = await call(session, sb, "GET", f"/me/time_entries/{kept['id']}")
    assert (status, one) == (200, kept)
    search = {"start_date": "2024-03-01", "end_date": "2024-03-01"}
    status, rows, _ = await call(
        session, sb, "POST", sb.reports_url + f"/workspace/{WID}/search/time_entries", json=search
    )
    assert status == 200
    assert [r["time_entries"][0]["id"] for r in rows] == [kept["id"]]
    assert rows[0]["time_entries"][0]["at"] == kept["at"]
    async with session.get(sb.admin_url + "/entries") as admin:
        assert [e["id"] for e in await admin.json()] == [kept["id"]]
    async with session.get(sb.admin_url + "/entries", params={"deleted": "1"}) as admin:
        listed = await admin.json()
    assert [(e["id"], e["server_deleted_at"]) for e in listed] == [
        (kept["id"], None),
        (gone["id"], stamp),
    ]
    assert sb.stats()["deleted_entries"] == 1


async def test_since_answers_what_changed_deletions_included(
    sb: Sandbox, session: aiohttp.ClientSession, clock: Clock
) -> None:
    old = await new_entry(session, sb, start="2023-06-01T09:00:00Z")  # start beyond 90 days
    edited = await new_entry(session, sb)
    deleted = await new_entry(session, sb, start="2024-03-02T09:00:00Z")
    await new_entry(session, sb, token=MEMBER_TOKEN)  # someone else's: never mine
    sb.state.memberships[(OWNER, FOREIGN_WID)] = {"id": 4100099, "uid": OWNER, "wid": FOREIGN_WID}
    status, elsewhere, _ = await call(
        session,
        sb,
        "POST",
        f"/workspaces/{FOREIGN_WID}/time_entries",
        json=body(workspace_id=FOREIGN_WID),
    )
    assert status == 200
    clock.advance(60)
    assert (await put(session, sb, edited["id"], {"description": "new"}))[0] == 200
    clock.advance(1)
    assert (await delete(session, sb, deleted["id"]))[0] == 200
    clock.advance(1)
    assert (await put(session, sb, old["id"], {"description": "late"}))[0] == 200

    async def since(seconds: float) -> list[tuple[int, str | None]]:
        stamp = str(int((T0 + timedelta(seconds=seconds)).timestamp()))
        status, found, _ = await call(session, sb, "GET", "/me/time_entries", params={"since": stamp})
        assert status == 200, found
        return [(e["id"], e["server_deleted_at"]) for e in found]

    deleted_at = "2024-03-10T12:01:01+00:00"
    assert await since(60) == [(deleted["id"], deleted_at), (edited["id"], None), (old["id"], None)]
    assert await since(61) == [(deleted["id"], deleted_at), (old["id"], None)]
    assert await since(62) == [(old["id"], None)]
    assert await since(63) == []
    everything = await since(0)
    assert {entry_id for entry_id, _ in everything} == {
        old["id"],
        edited["id"],
        deleted["id"],
        elsewhere["id"],
    }


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"since": "soon"}, "UNIX"),
        ({"since": "-5"}, "UNIX"),
        ({"since": str(int((T0 - timedelta(days=91)).timestamp()))}, "3 months"),
        ({"since": str(int(T0.timestamp())), "start_date": "2024-03-01"}, "combined"),
    ],
)
async def test_since_refusals(
    sb: Sandbox, session: aiohttp.ClientSession, query: dict[str, str], needle: str
) -> None:
    status, text, _ = await call(session, sb, "GET", "/me/time_entries", params=query)
    assert status == 400
    assert needle in text


async def test_at_has_whole_seconds_and_moves_on_every_write(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    clock = Clock(T0.replace(microsecond=250_000))
    sb = await sandbox_factory(clock=clock)
    entry = await new_entry(sb=sb, session=session)
    assert entry["at"] == "2024-03-10T12:00:00+00:00"
    clock.advance(0.5)  # the same second: Toggl's ``at`` cannot tell these writes apart
    _, same, _ = await put(session, sb, entry["id"], {"duration": 1})
    assert same["at"] == entry["at"]
    clock.advance(0.5)
    _, later, _ = await put(session, sb, entry["id"], {"duration": 2})
    assert later["at"] == "2024-03-10T12:00:01+00:00"


async def test_me_time_entry_by_id(sb: Sandbox, session: aiohttp.ClientSession) -> None:
    mine = await new_entry(session, sb)
    members = await new_entry(session, sb, token=MEMBER_TOKEN)
    status, found, _ = await call(session, sb, "GET", f"/me/time_entries/{members['id']}")
    assert (status, found["id"]) == (200, members["id"])  # an admin of its workspace
    status, _, _ = await call(
        session, sb, "GET", f"/me/time_entries/{mine['id']}", headers=auth(MEMBER_TOKEN)
    )
    assert status == 404
    status, _, _ = await call(session, sb, "GET", "/me/time_entries/12345")
    assert status == 404


async def test_writes_are_counted_per_route(sb: Sandbox, session: aiohttp.ClientSession) -> None:
    entry = await new_entry(session, sb)
    await put(session, sb, entry["id"], {"duration": 5})
    await put(session, sb, entry["id"], {"duration": -5})  # refused: not a write
    await delete(session, sb, entry["id"])
    await delete(session, sb, entry["id"])  # 404: not a write
    stats = sb.stats()
    assert stats["writes"] == {
        "POST /workspaces/{wid}/time_entries": 1,
        "PUT /workspaces/{wid}/time_entries/{id}": 1,
        "DELETE /workspaces/{wid}/time_entries/{id}": 1,
    }
    assert stats["requests"]["PUT /workspaces/{wid}/time_entries/{id}"] == 2
    assert stats["requests"]["DELETE /workspaces/{wid}/time_entries/{id}"] == 2


# -- faults on PUT and DELETE -----------------------------------------------------------------


async def outcome(sb: Sandbox, method: str, entry_id: int) -> str:
    """What the client saw: the status, or the kind of connection failure.

    aiohttp sends an idempotent request (PUT, DELETE) a second time by itself when its
    connection is reset or closed unanswered; that is switched off here (a private switch,
    the only one), so that one request meets one throw of the dice.
    """
    json = {"description": "changed"} if method == "PUT" else None
    async with aiohttp.ClientSession() as session:
        session._retry_connection = False
        try:
            async with session.request(
                method, sb.base_url + path(entry_id), json=json, headers=auth(sb.token)
            ) as resp:
                await resp.read()
                return str(resp.status)
        except aiohttp.ServerDisconnectedError:
            return "disconnected"
        except aiohttp.ClientOSError:
            return "reset"


def applied(sb: Sandbox, method: str, entry_id: int) -> bool:
    if method == "DELETE":
        return sb.state.live_entry(entry_id) is None
    return sb.state.all_entries[entry_id]["description"] == "changed"


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize(
    ("fault", "seen", "was_applied"),
    [("fail_500", "500", False), ("fail_reset", "reset", False), ("fail_drop", "disconnected", True)],
)
async def test_faults_on_put_and_delete(
    sb: Sandbox,
    session: aiohttp.ClientSession,
    method: str,
    fault: str,
    seen: str,
    was_applied: bool,
) -> None:
    entry = await new_entry(session, sb, description="before")
    sb.configure(**{fault: 1.0})
    assert await outcome(sb, method, entry["id"]) == seen
    assert applied(sb, method, entry["id"]) is was_applied
    kind = fault.removeprefix("fail_")
    route = f"{method} /workspaces/{{wid}}/time_entries/{{id}}"
    stats = sb.stats()
    assert stats["faults"] == {kind: 1}
    assert stats["faults_by_route"] == {route: {kind: 1}}
    assert stats["writes"].get(route, 0) == int(was_applied)
    sb.configure(**{fault: 0.0})
    expected = "404" if was_applied and method == "DELETE" else "200"
    assert await outcome(sb, method, entry["id"]) == expected  # asking again is safe


async def test_a_dropped_refused_update_is_just_answered(
    sb: Sandbox, session: aiohttp.ClientSession
) -> None:
    entry = await new_entry(session, sb)
    sb.configure(fail_drop=1.0)
    status, _, _ = await put(session, sb, entry["id"], {"duration": -1})
    assert status == 400
    status, _, _ = await delete(session, sb, 999)
    assert status == 404
    assert sb.stats()["faults"] == {}


# -- writes applied late ----------------------------------------------------------------------


async def eventually(check: Any, seconds: float = 10.0) -> bool:
    """Poll ``check()`` until it is true (a bound, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        if check():
            return True
        await asyncio.sleep(0.05)
    return bool(check())


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_a_held_write_is_applied_after_the_client_gave_up(
    sandbox_factory: Any, method: str
) -> None:
    sb = await sandbox_factory()
    async with aiohttp.ClientSession() as session:
        entry = await new_entry(session, sb, description="before")
    sb.configure(apply_delay=1.0)
    url = sb.base_url + (f"/workspaces/{WID}/time_entries" if method == "POST" else path(entry["id"]))
    json = {"POST": body(description="late"), "PUT": {"description": "changed"}}.get(method)
    with pytest.raises(asyncio.TimeoutError):
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5)) as session,
            session.request(method, url, json=json, headers=auth(sb.token)) as resp,
        ):
            await resp.read()

    def done() -> bool:
        if method == "POST":
            return len(sb.state.entries) == 2
        return applied(sb, method, entry["id"])

    assert not done()  # the client has gone, the write is still held
    assert sb.stats()["held_writes"] == 1
    assert await eventually(lambda: done() and sb.stats()["held_writes"] == 0)
    route = {"POST": "/workspaces/{wid}/time_entries"}.get(method, "/workspaces/{wid}/time_entries/{id}")
    assert sb.stats()["writes"][f"{method} {route}"] == 1 + (method == "POST")


async def test_apply_delay_share_holds_a_seeded_share_of_the_writes(sandbox_factory: Any) -> None:
    sb = await sandbox_factory(apply_delay=60.0, apply_delay_share=0.5, random_seed=11)
    n = 8
    dice = random.Random(11)
    held = sum(1 for _ in range(n) if (dice.random(), dice.random())[1] < 0.5)  # fault, delay
    assert 0 < held < n

    async def post(session: aiohttp.ClientSession) -> str:
        url = f"{sb.base_url}/workspaces/{WID}/time_entries"
        try:
            async with session.post(url, json=body(), headers=auth(sb.token)) as resp:
                return str(resp.status)
        except TimeoutError:
            return "timeout"

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        seen = await asyncio.gather(*(post(session) for _ in range(n)))
    assert sorted(seen) == ["200"] * (n - held) + ["timeout"] * held
    assert len(sb.state.entries) == n - held  # the held ones wait; stopping the sandbox drops them


async def test_a_reset_drops_the_writes_still_held(sandbox_factory: Any) -> None:
    sb = await sandbox_factory(apply_delay=0.3)
    url = f"{sb.base_url}/workspaces/{WID}/time_entries"
    async with aiohttp.ClientSession() as session:
        posting = asyncio.ensure_future(session.post(url, json=body(), headers=auth(sb.token)))
        assert await eventually(lambda: sb.stats()["held_writes"] == 1)
        sb.reset()
        with pytest.raises(aiohttp.ClientError):
            await posting  # its handler was cancelled with it: no answer
        await asyncio.sleep(0.5)  # past the delay: nothing comes back to life
    assert sb.state.entries == []
