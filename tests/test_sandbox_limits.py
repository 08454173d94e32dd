"""The sandbox's per-second rate limit (429) and hourly quota (402 + quota headers).

Time is a fake timer handed to the sandbox, so nothing sleeps; one test uses the real clock
with a half-second window to show the default path recovers too.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from importer.sandbox import Sandbox

WID = 1234567
ORG = 9012345
REMAINING, RESETS_IN = "X-Toggl-Quota-Remaining", "X-Toggl-Quota-Resets-In"


class FakeTimer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def auth(token: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(token, "api_token")}


BODY = {
    "created_with": "tests",
    "workspace_id": WID,
    "start": "2024-03-01T09:00:00Z",
    "duration": 60,
}


async def post(session: aiohttp.ClientSession, sb: Sandbox) -> tuple[int, str, Any]:
    url = f"{sb.base_url}/workspaces/{WID}/time_entries"
    async with session.post(url, json=BODY, headers=auth(sb.token)) as resp:
        return resp.status, await resp.text(), resp.headers


async def get(
    session: aiohttp.ClientSession, sb: Sandbox, path: str, token: str | None = None
) -> tuple[int, str, Any]:
    async with session.get(sb.base_url + path, headers=auth(token or sb.token)) as resp:
        return resp.status, await resp.text(), resp.headers


@pytest.fixture
def timer() -> FakeTimer:
    return FakeTimer()


# -- rate limit -------------------------------------------------------------------------------


async def test_over_the_rate_is_429_with_retry_after_and_not_applied(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    sb = await sandbox_factory(rate_limit=1, timer=timer)
    assert (await post(session, sb))[0] == 200
    status, text, headers = await post(session, sb)
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert text
    assert len(sb.state.entries) == 1  # the refused POST created nothing
    timer.advance(0.5)
    assert (await post(session, sb))[0] == 429
    timer.advance(0.5)
    assert (await post(session, sb))[0] == 200
    assert len(sb.state.entries) == 2
    assert sb.state.statuses == {200: 2, 429: 2}


async def test_burst_and_slow_rate(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    sb = await sandbox_factory(rate_limit=0.25, rate_burst=3, timer=timer)
    statuses = [(await post(session, sb))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    _, _, headers = await post(session, sb)
    assert headers["Retry-After"] == "4"  # one request every 4 s refills the bucket
    timer.advance(4)
    assert (await post(session, sb))[0] == 200


async def test_the_rate_applies_per_user_and_to_reads(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    sb = await sandbox_factory(rate_limit=1, timer=timer)
    assert (await get(session, sb, "/me"))[0] == 200
    assert (await get(session, sb, f"/workspaces/{WID}/projects"))[0] == 429
    assert (await get(session, sb, "/me", token="sandbox-member-token"))[0] == 200
    sb.configure(rate_limit=None)
    assert (await get(session, sb, f"/workspaces/{WID}/projects"))[0] == 200


# -- hourly quota -----------------------------------------------------------------------------


async def test_over_the_quota_is_402_with_headers_and_not_applied(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    sb = await sandbox_factory(quota=3, quota_window=10, timer=timer)
    seen = []
    for _ in range(3):
        status, _, headers = await post(session, sb)
        seen.append((status, headers[REMAINING], headers[RESETS_IN]))
        timer.advance(1)
    assert seen == [(200, "2", "10"), (200, "1", "9"), (200, "0", "8")]
    status, text, headers = await post(session, sb)
    assert status == 402
    assert text == (
        "You have hit your hourly limit for API calls. Your quota will reset in 7 seconds."
    )
    assert (headers[REMAINING], headers[RESETS_IN]) == ("0", "7")
    assert len(sb.state.entries) == 3

    timer.advance(7)  # the first request leaves the window: one slot back, not three
    status, _, headers = await post(session, sb)
    assert (status, headers[REMAINING]) == (200, "0")
    assert (await post(session, sb))[0] == 402
    timer.advance(10)
    status, _, headers = await post(session, sb)
    assert (status, headers[REMAINING]) == (200, "2")
    assert len(sb.state.entries) == 5


async def test_quota_headers_on_every_workspace_answer(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    sb = await sandbox_factory(quota=5, timer=timer)
    status, _, headers = await get(session, sb, f"/workspaces/{WID}/projects")
    assert (status, headers[REMAINING]) == (200, "4")
    url = f"{sb.base_url}/workspaces/{WID}/time_entries"
    async with session.post(url, json={"created_with": ""}, headers=auth(sb.token)) as resp:
        assert (resp.status, resp.headers[REMAINING]) == (400, "3")  # a 400 counts too
    status, _, headers = await get(session, sb, "/me")
    assert status == 200
    assert REMAINING not in headers  # no /me quota configured
    status, _, headers = await get(session, sb, "/me", token="sandbox-member-token")
    assert status == 200
    status, _, headers = await get(
        session, sb, f"/workspaces/{WID}/projects", token="sandbox-member-token"
    )
    assert headers[REMAINING] == "4"  # counted per user


async def test_me_bucket_is_separate(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    sb = await sandbox_factory(quota=2, me_quota=1, quota_window=60, timer=timer)
    status, _, headers = await get(session, sb, "/me")
    assert (status, headers[REMAINING]) == (200, "0")
    status, text, headers = await get(session, sb, "/me/time_entries")
    assert status == 402
    assert "quota will reset in 60 seconds" in text
    status, _, headers = await get(session, sb, f"/workspaces/{WID}/tags")
    assert (status, headers[REMAINING]) == (200, "1")
    timer.advance(30)
    status, text, _ = await get(session, sb, "/me/quota")  # free: a paused client may look
    assert status == 200
    assert sorted(json.loads(text), key=lambda b: b["organization_id"] or 0) == [
        {"organization_id": None, "remaining": 0, "resets_in_secs": 30, "total": 1},
        {"organization_id": ORG, "remaining": 1, "resets_in_secs": 30, "total": 2},
    ]


async def test_a_429_does_not_use_up_the_quota(
    sandbox_factory: Any, session: aiohttp.ClientSession, timer: FakeTimer
) -> None:
    sb = await sandbox_factory(rate_limit=1, quota=5, timer=timer)
    assert (await post(session, sb))[0] == 200
    status, _, headers = await post(session, sb)
    assert (status, headers[REMAINING]) == (429, "4")
    timer.advance(1)
    status, _, headers = await post(session, sb)
    assert (status, headers[REMAINING]) == (200, "3")


async def test_quota_recovers_on_the_real_clock(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(quota=1, quota_window=0.3)
    assert (await post(session, sb))[0] == 200
    status, _, headers = await post(session, sb)
    assert (status, headers[RESETS_IN]) == (402, "1")
    await asyncio.sleep(0.35)
    assert (await post(session, sb))[0] == 200
    assert len(sb.state.entries) == 2


async def test_quota_can_be_switched_on_at_runtime(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    assert REMAINING not in (await post(session, sandbox))[2]
    async with session.post(sandbox.admin_url + "/config", json={"quota": 1}) as resp:
        assert resp.status == 200
    assert (await post(session, sandbox))[2][REMAINING] == "0"
    assert (await post(session, sandbox))[0] == 402
