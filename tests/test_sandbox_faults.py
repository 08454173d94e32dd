"""The sandbox's faults on POST time_entries (500, reset, drop), seeded dice, latency, serve()."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from importer.sandbox import Sandbox, SandboxOptions, serve

WID = 1234567
BODY = {
    "created_with": "tests",
    "workspace_id": WID,
    "start": "2024-03-01T09:00:00Z",
    "duration": 60,
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(token, "api_token")}


async def outcome(session: aiohttp.ClientSession, sb: Sandbox, **kwargs: Any) -> str:
    """What the client saw: the status, or the kind of connection failure."""
    url = f"{sb.base_url}/workspaces/{WID}/time_entries"
    try:
        async with session.post(url, json=BODY, headers=auth(sb.token), **kwargs) as resp:
            await resp.read()
            return str(resp.status)
    except aiohttp.ServerDisconnectedError:
        return "disconnected"
    except aiohttp.ClientOSError:
        return "reset"


async def admin_entries(session: aiohttp.ClientSession, sb: Sandbox) -> list[dict[str, Any]]:
    async with session.get(sb.admin_url + "/entries") as resp:
        return await resp.json()  # type: ignore[no-any-return]


async def test_fail_500_answers_500_and_creates_nothing(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(fail_500=1.0)
    url = f"{sb.base_url}/workspaces/{WID}/time_entries"
    async with session.post(url, json=BODY, headers=auth(sb.token)) as resp:
        assert (resp.status, await resp.text()) == (500, "Internal Server Error")
    assert await admin_entries(session, sb) == []
    assert sb.stats()["faults"] == {"500": 1}
    async with session.get(f"{sb.base_url}/me", headers=auth(sb.token)) as resp:
        assert resp.status == 200  # only creates fail


async def test_fail_reset_closes_before_creating(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(fail_reset=1.0)
    with pytest.raises(aiohttp.ClientConnectionError):
        async with session.post(
            f"{sb.base_url}/workspaces/{WID}/time_entries", json=BODY, headers=auth(sb.token)
        ) as resp:
            await resp.read()
    assert await admin_entries(session, sb) == []
    assert sb.stats()["faults"] == {"reset": 1}
    sb.configure(fail_reset=0.0)
    assert await outcome(session, sb) == "200"  # the server lives on


async def test_fail_drop_creates_then_hangs_up(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(fail_drop=1.0)
    with pytest.raises(aiohttp.ClientConnectionError):
        async with session.post(
            f"{sb.base_url}/workspaces/{WID}/time_entries", json=BODY, headers=auth(sb.token)
        ) as resp:
            await resp.read()
    entries = await admin_entries(session, sb)
    assert len(entries) == 1
    assert entries[0]["duration"] == 60
    assert sb.stats()["faults"] == {"drop": 1}
    assert sb.state.statuses == {}  # no answer was given


async def test_a_dropped_invalid_body_is_just_refused(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(fail_drop=1.0)
    url = f"{sb.base_url}/workspaces/{WID}/time_entries"
    async with session.post(url, json={**BODY, "duration": -5}, headers=auth(sb.token)) as resp:
        assert resp.status == 400
    assert sb.state.entries == []


MIXED = {"fail_500": 0.25, "fail_reset": 0.2, "fail_drop": 0.25}


async def run_outcomes(sb: Sandbox, n: int = 24) -> list[str]:
    async with aiohttp.ClientSession() as session:
        return [await outcome(session, sb) for _ in range(n)]


async def test_same_seed_same_faults(sandbox_factory: Any) -> None:
    first = await run_outcomes(await sandbox_factory(random_seed=7, **MIXED))
    second = await run_outcomes(await sandbox_factory(random_seed=7, **MIXED))
    other = await run_outcomes(await sandbox_factory(random_seed=8, **MIXED))
    assert first == second
    assert other != first
    assert {"200", "500"} <= set(first)
    assert {"reset", "disconnected"} & set(first)


async def test_reset_restarts_the_dice(sandbox_factory: Any) -> None:
    sb = await sandbox_factory(random_seed=3, **MIXED)
    first = await run_outcomes(sb, 12)
    created = len(sb.state.entries)
    assert created == first.count("200") + first.count("disconnected")
    sb.reset()
    assert await run_outcomes(sb, 12) == first


async def test_latency_leaves_a_created_entry_behind_a_client_timeout(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(latency=0.3)
    with pytest.raises(asyncio.TimeoutError):
        await outcome(session, sb, timeout=aiohttp.ClientTimeout(total=0.05))
    assert len(sb.state.entries) == 1  # created before the (late) answer: "in doubt" for a client


async def test_serve_runs_until_cancelled() -> None:
    ready: asyncio.Queue[Sandbox] = asyncio.Queue()
    task = asyncio.create_task(serve(SandboxOptions(token="t"), "127.0.0.1", 0, ready.put_nowait))
    sb = await asyncio.wait_for(ready.get(), 5)
    async with (
        aiohttp.ClientSession() as session,
        session.get(sb.base_url + "/me", headers=auth("t")) as resp,
    ):
        assert resp.status == 200
        assert sb.base_url == f"http://127.0.0.1:{sb.port}/api/v9"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session, session.get(sb.base_url + "/me"):
            pass


async def test_start_twice_is_refused_and_stop_is_idempotent() -> None:
    sb = Sandbox()
    await sb.start()
    with pytest.raises(RuntimeError):
        await sb.start()
    await sb.stop()
    await sb.stop()
