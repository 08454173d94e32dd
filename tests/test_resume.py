"""Stopping a run and resuming it: ``kill -9`` at random moments, and Ctrl-C (also during a quota
pause). No row is lost, none is created twice.

The real command runs as a subprocess against the sandbox served in the test's event loop (with
some latency, and some answers dropped after the entry was created), and is killed with SIGKILL
at seeded random moments: after a random number of POSTs, or a random time after it started (which
may land in start-up, in the read-back of what the previous kill left in doubt, or in posting).
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from timesheets import (
    POSTS,
    assert_exactly_once,
    entry_keys,
    finish,
    kill_leftovers,
    posts,
    run_args,
    run_cli,
    send_signal,
    spawn,
    summary_of,
    wait_for_posts,
)
from timesheets import write_sheet as write

from importer.ledger import Ledger

ROWS = 400
ROUNDS = 6


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    yield
    kill_leftovers()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [20261127])
async def test_kill_9_at_random_moments_then_resume_creates_every_row_once(
    sandbox_factory: Any, tmp_path: Path, seed: int
) -> None:
    dice = random.Random(seed)
    sb = await sandbox_factory(latency=0.005, fail_drop=0.05, random_seed=seed)
    sheet = tmp_path / "sheet.csv"
    keys = write(sheet, ROWS)
    ledger = tmp_path / "ledger.sqlite"
    args = run_args(sb, [sheet], ledger, "--rate", "400", "--concurrency", "8")
    kills = 0

    for round_ in range(ROUNDS):
        proc = await spawn(args, sb.token, tmp_path)
        if round_ % 2 == 0:  # after a random number of this run's POSTs
            target = posts(sb) + dice.randint(1, max(1, (ROWS - len(entry_keys(sb))) // 2))
            if await wait_for_posts(sb, proc, target):
                await asyncio.sleep(dice.uniform(0, 0.01))
        else:  # a random time after start: start-up, read-back or posting
            await asyncio.sleep(dice.uniform(0.3, 1.6))
        if proc.returncode is None:
            send_signal(proc, signal.SIGKILL)
            kills += 1
        done = await finish(proc, within=60)
        assert done.returncode in (-signal.SIGKILL, 0), done.output
        held = entry_keys(sb)
        assert max(held.values(), default=1) == 1, f"round {round_}: an entry was created twice"
        with Ledger.open(ledger, readonly=True) as book:
            assert book.counts()["created"] <= len(held)  # the ledger never claims more

    assert kills >= ROUNDS - 1  # (a run may finish before a late kill)
    final = await run_cli(args, sb.token, tmp_path)
    assert final.returncode == 0, final.output
    assert_exactly_once(sb, keys)
    with Ledger.open(ledger, readonly=True) as book:
        counts = book.counts()
    assert (counts["created"], counts["in_doubt"], counts["pending"]) == (ROWS, 0, 0)

    before = posts(sb)
    again = await run_cli(args, sb.token, tmp_path)
    assert again.returncode == 0, again.output
    assert posts(sb) == before


# -- Ctrl-C (SIGINT) ---------------------------------------------------------------------------


async def test_ctrl_c_stops_with_exit_3_and_the_resume_completes(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sb = await sandbox_factory(latency=0.005, fail_drop=0.02, random_seed=11)
    sheet = tmp_path / "sheet.csv"
    keys = write(sheet, 300)
    args = run_args(sb, [sheet], tmp_path / "ledger.sqlite", "--rate", "300", "--json")

    proc = await spawn(args, sb.token, tmp_path)
    assert await wait_for_posts(sb, proc, 60)
    send_signal(proc, signal.SIGINT)
    stopped = await finish(proc, within=30)

    assert stopped.returncode == 3, stopped.output
    summary = summary_of(stopped)
    assert "interrupted" in summary["stopped"]
    assert 0 < summary["created"] < 300
    at_stop = posts(sb)
    await asyncio.sleep(0.3)
    assert posts(sb) == at_stop  # nothing more was sent once it stopped

    resumed = await run_cli(args, sb.token, tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert_exactly_once(sb, keys)
    assert sb.state.requests[POSTS] >= 300


async def test_sigterm_stops_cleanly_and_says_so(sandbox_factory: Any, tmp_path: Path) -> None:
    sb = await sandbox_factory()
    sheet = tmp_path / "sheet.csv"
    keys = write(sheet, 100)
    args = run_args(sb, [sheet], tmp_path / "ledger.sqlite", "--rate", "40", "--json")
    proc = await spawn(args, sb.token, tmp_path)
    assert await wait_for_posts(sb, proc, 5)
    send_signal(proc, signal.SIGTERM)  # what a service manager or `kill` sends
    stopped = await finish(proc, within=30)
    assert stopped.returncode == 3, stopped.output
    assert summary_of(stopped)["stopped"] == "stopped by a signal (SIGTERM)"
    resumed = await run_cli(args, sb.token, tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert_exactly_once(sb, keys)


async def test_one_interruption_delivered_twice_still_stops_cleanly_and_a_second_press_cancels(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """`timeout -s INT` sends the signal to the process and to its group: two at once are one
    Ctrl-C (a clean stop with a summary); a press half a second later cancels, in one line."""
    sb = await sandbox_factory()
    sheet = tmp_path / "sheet.csv"
    keys = write(sheet, 200)
    args = run_args(sb, [sheet], tmp_path / "ledger.sqlite", "--rate", "40", "--json")

    proc = await spawn(args, sb.token, tmp_path)
    assert await wait_for_posts(sb, proc, 5)
    send_signal(proc, signal.SIGINT)
    send_signal(proc, signal.SIGINT)
    stopped = await finish(proc, within=30)
    assert stopped.returncode == 3, stopped.output
    assert "interrupted" in summary_of(stopped)["stopped"]

    sb.configure(latency=3.0)  # requests on the wire keep the clean stop busy for a while
    proc = await spawn(args, sb.token, tmp_path)
    assert await wait_for_posts(sb, proc, posts(sb) + 2)
    send_signal(proc, signal.SIGINT)
    await asyncio.sleep(0.7)
    send_signal(proc, signal.SIGINT)
    cancelled = await finish(proc, within=30)
    assert cancelled.returncode == 3, cancelled.output
    assert cancelled.stderr == (  # no summary: the run was cancelled
        "toggl-import: interrupted: the ledger keeps what was sent (a request cut off is looked up "
        "in Toggl first); run the same command again to resume\n"
    )

    sb.configure(latency=0.0)
    resumed = await run_cli(args, sb.token, tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert_exactly_once(sb, keys)


async def test_ctrl_c_during_a_quota_pause_stops_without_waiting_for_the_quota(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sb = await sandbox_factory(quota=5, quota_window=3600)
    sheet = tmp_path / "sheet.csv"
    keys = write(sheet, 20)
    args = run_args(sb, [sheet], tmp_path / "ledger.sqlite", "--rate", "100", "--json")

    proc = await spawn(args, sb.token, tmp_path)
    for _ in range(2000):  # the quota is used up (name lookups count too)
        if sb.state.statuses[200] >= 5 or proc.returncode is not None:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # now every worker waits for the quota to come back
    send_signal(proc, signal.SIGINT)
    stopped = await finish(proc, within=20)  # an hour's pause would outlive this bound

    assert stopped.returncode == 3, stopped.output
    summary = summary_of(stopped)
    assert summary["created"] == posts(sb) == 3  # 2 name lookups + 3 POSTs used the quota
    assert summary["pending"] == 17
    sb.configure(quota=1000)
    resumed = await run_cli(args, sb.token, tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert_exactly_once(sb, keys)
