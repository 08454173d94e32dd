"""Several people: their own tokens, time zones, rate buckets and quotas; the meter's tolerance;
and the admin endpoints that act as a person in Toggl's web app."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from test_sandbox import LEGACY, MEMBER, MEMBER_TOKEN, OWNER, SUPPORT, WID, auth, body, call, create
from test_sandbox_limits import FakeTimer
from test_sandbox_writes import T0, Clock

from importer.sandbox import Sandbox

PEOPLE = {  # token → (user id, email, zone)
    "sandbox-ana-token": (104, "ana@example.com", "Europe/Berlin"),
    "sandbox-ben-token": (105, "ben@example.com", "America/New_York"),
    "sandbox-cy-token": (106, "cy@example.com", "Asia/Kolkata"),
}
ANA, BEN, CY = 104, 105, 106
REMAINING = "X-Toggl-Quota-Remaining"


@pytest.fixture
def timer() -> FakeTimer:
    return FakeTimer()


async def admin(
    session: aiohttp.ClientSession, sb: Sandbox, method: str, route: str, **kwargs: Any
) -> tuple[int, Any]:
    async with session.request(method, sb.admin_url + route, **kwargs) as resp:
        raw = await resp.text()
        return resp.status, json.loads(raw) if resp.content_type == "application/json" else raw


# -- people and their tokens ------------------------------------------------------------------


@pytest.mark.parametrize("token", sorted(PEOPLE))
async def test_each_person_has_a_token_and_a_time_zone(
    sandbox: Sandbox, session: aiohttp.ClientSession, token: str
) -> None:
    uid, email, zone = PEOPLE[token]
    status, me, _ = await call(session, sandbox, "GET", "/me", headers=auth(token))
    assert status == 200
    assert (me["id"], me["email"], me["timezone"], me["default_workspace_id"]) == (uid, email, zone, WID)
    status, entry, _ = await create(session, sandbox, body(), headers=auth(token))
    assert (status, entry["user_id"]) == (200, uid)  # one's own entry needs no admin


async def test_the_owner_keeps_utc_and_members_cannot_create_for_others(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    _, me, _ = await call(session, sandbox, "GET", "/me")
    assert (me["id"], me["timezone"]) == (OWNER, "UTC")
    status, text, _ = await create(session, sandbox, body(user_id=CY), headers=auth("sandbox-ben-token"))
    assert status == 400
    assert "admin" in text
    status, entry, _ = await create(session, sandbox, body(user_id=CY), headers=auth("sandbox-ana-token"))
    assert (status, entry["user_id"]) == (200, CY)  # Ana is an admin of the workspace


async def test_three_tokens_at_five_a_second_each_have_their_own_budget(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    sb = await sandbox_factory(rate_limit=5, timer=timer)
    tokens = sorted(PEOPLE)

    async def round_of_posts() -> list[int]:
        return [(await create(session, sb, body(), headers=auth(t)))[0] for t in tokens]

    assert await round_of_posts() == [200, 200, 200]  # a shared bucket would refuse two of them
    assert await round_of_posts() == [429, 429, 429]
    timer.advance(0.1)
    assert await round_of_posts() == [429, 429, 429]
    timer.advance(0.1)
    assert await round_of_posts() == [200, 200, 200]
    assert sorted(e["user_id"] for e in sb.state.entries) == [ANA, ANA, BEN, BEN, CY, CY]


async def test_the_rate_is_per_token_and_the_quota_per_user(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    sb = await sandbox_factory(rate_limit=1, quota=10, timer=timer)
    by_token, by_password = auth("sandbox-ana-token"), auth("ana@example.com", "ana-password")
    status, _, resp = await create(session, sb, body(), headers=by_token)
    assert (status, resp.headers[REMAINING]) == (200, "9")
    status, _, resp = await create(session, sb, body(), headers=by_token)
    assert status == 429  # the token's bucket is spent
    status, _, resp = await create(session, sb, body(), headers=by_password)
    assert (status, resp.headers[REMAINING]) == (200, "8")  # another credential: its own bucket,
    status, _, resp = await create(session, sb, body(), headers=auth("sandbox-ben-token"))
    assert (status, resp.headers[REMAINING]) == (200, "9")  # but one quota per person


async def test_a_quota_per_user_runs_out_for_that_user_only(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    sb = await sandbox_factory(quota=2, quota_window=60, timer=timer)
    ana = auth("sandbox-ana-token")
    assert [(await create(session, sb, body(), headers=ana))[0] for _ in range(3)] == [200, 200, 402]
    status, _, resp = await create(session, sb, body(), headers=auth("sandbox-cy-token"))
    assert (status, resp.headers[REMAINING]) == (200, "1")
    status, _, resp = await create(session, sb, body(), headers=ana)
    assert (status, resp.headers[REMAINING], resp.headers["X-Toggl-Quota-Resets-In"]) == (402, "0", "60")


# -- the meter's tolerance --------------------------------------------------------------------


async def test_rate_tolerance_lets_a_slightly_early_request_through(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    """20 requests/s, burst 1, 10 ms of jitter tolerance: 50 ms apart on average."""
    sb = await sandbox_factory(rate_limit=20, rate_tolerance=0.01, timer=timer)

    async def get() -> int:
        return (await call(session, sb, "GET", "/me"))[0]

    assert await get() == 200
    timer.advance(0.042)  # 8 ms early: within the tolerance
    assert await get() == 200
    timer.advance(0.047)  # due at 0.100: now 0.089, 11 ms early (the schedule does not drift)
    assert await get() == 429
    timer.advance(0.001)  # 10 ms early
    assert await get() == 200
    sb.configure(rate_tolerance=0.0)  # a fresh strict meter
    assert await get() == 200
    timer.advance(0.049)
    assert await get() == 429


async def test_rate_tolerance_is_checked(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="negative"):
        sandbox.configure(rate_tolerance=-1)
    with pytest.raises(ValueError, match="probability"):
        sandbox.configure(apply_delay_share=1.5)
    sandbox.configure(apply_delay=0.5, apply_delay_share=0.25, rate_tolerance=0.01)
    assert (sandbox.options.apply_delay, sandbox.options.rate_tolerance) == (0.5, 0.01)


# -- admin: acting as a person in the web app ------------------------------------------------


async def test_admin_creates_an_entry_for_a_person(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    sb = await sandbox_factory(clock=clock, quota=1, fail_500=1.0)  # none of these apply
    status, entry = await admin(
        session, sb, "POST", "/entries", json=body(user_id=BEN, created_with=..., project_id=SUPPORT)
    )
    assert status == 200, entry
    assert (entry["user_id"], entry["project_id"], entry["at"]) == (BEN, SUPPORT, "2024-03-10T12:00:00+00:00")
    assert sb.state.entries == [entry]
    _, listed = await admin(session, sb, "GET", "/entries")
    assert listed == [{**entry, "created_with": "Toggl Track web"}]
    status, mine = await admin(session, sb, "POST", "/entries", json=body(created_with="phone"))
    assert (status, mine["user_id"]) == (200, OWNER)  # no user_id: the seed's me_user_id
    _, listed = await admin(session, sb, "GET", "/entries")
    assert [e["created_with"] for e in listed] == ["Toggl Track web", "phone"]
    assert sb.stats()["writes"] == {"POST /_sandbox/entries": 2}
    assert sb.stats()["requests"] == {}


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (body(user_id=103), "member"),
        (body(user_id=999), "member"),
        (body(workspace_id="1234567"), "member"),
        (body(project_id=LEGACY), "archived"),
        (body(duration=-1), "negative"),
        ([1], "object"),
    ],
)
async def test_admin_create_refusals(
    sandbox: Sandbox, session: aiohttp.ClientSession, payload: Any, needle: str
) -> None:
    status, text = await admin(session, sandbox, "POST", "/entries", json=payload)
    assert status == 400
    assert needle in text
    assert sandbox.state.entries == []


async def test_admin_edit_and_delete_move_at(sandbox_factory: Any, session: aiohttp.ClientSession) -> None:
    clock = Clock()
    sb = await sandbox_factory(clock=clock)
    _, entry, _ = await create(session, sb, body(description="mine"), headers=auth(MEMBER_TOKEN))
    clock.advance(30)
    status, edited = await admin(
        session, sb, "PATCH", f"/entries/{entry['id']}", json={"description": "theirs", "user_id": BEN}
    )
    assert status == 200, edited
    assert (edited["description"], edited["user_id"], edited["at"]) == (
        "theirs",
        BEN,
        "2024-03-10T12:00:30+00:00",
    )
    since = {"since": str(int(T0.timestamp()) + 30)}
    _, changed, _ = await call(
        session, sb, "GET", "/me/time_entries", params=since, headers=auth("sandbox-ben-token")
    )
    assert [e["id"] for e in changed] == [entry["id"]]
    status, text = await admin(session, sb, "PATCH", f"/entries/{entry['id']}", json={"duration": -1})
    assert status == 400
    assert "negative" in text
    clock.advance(30)
    status, gone = await admin(session, sb, "DELETE", f"/entries/{entry['id']}")
    assert status == 200
    assert gone["server_deleted_at"] == gone["at"] == "2024-03-10T12:01:00+00:00"
    assert sb.state.entries == []
    for method, kwargs in (("PATCH", {"json": {"duration": 1}}), ("DELETE", {})):
        status, text = await admin(session, sb, method, f"/entries/{entry['id']}", **kwargs)
        assert (status, text) == (404, "Time entry not found")
        assert (await admin(session, sb, method, "/entries/999", **kwargs))[0] == 404
    assert sb.stats()["writes"] == {
        "POST /workspaces/{wid}/time_entries": 1,
        "PATCH /_sandbox/entries/{id}": 1,
        "DELETE /_sandbox/entries/{id}": 1,
    }
    status, _, _ = await call(
        session, sb, "PUT", f"/workspaces/{WID}/time_entries/{entry['id']}", json={"duration": 5}
    )
    assert status == 404  # deleted in the web app: the API cannot update it


async def test_reset_forgets_deleted_entries_and_writes(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    _, entry, _ = await create(session, sandbox, body())
    await admin(session, sandbox, "DELETE", f"/entries/{entry['id']}")
    sandbox.reset()
    stats = sandbox.stats()
    assert (stats["entries"], stats["deleted_entries"], stats["writes"]) == (0, 0, {})
    _, listed = await admin(session, sandbox, "GET", "/entries", params={"deleted": "1"})
    assert listed == []
    assert sandbox.state.membership(MEMBER, WID) is not None
