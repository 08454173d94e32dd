"""Per-person tokens: each person's rows go with their own token, under their own rate limit and
hourly quota -- against the sandbox over TCP, which records which token sent each request."""

from __future__ import annotations

import asyncio
import base64
import csv
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from timesheets import ENV, finish, kill_leftovers, run_cli, send_signal, spawn

from importer.config import Credentials, Settings
from importer.runner import Importer, Undoer
from importer.sandbox import Sandbox, SandboxOptions

WID = 1234567
PEOPLE = {"ana@example.com": "sandbox-ana-token", "ben@example.com": "sandbox-ben-token",
          "cy@example.com": "sandbox-cy-token"}  # fmt: skip
OWNER = {104: "ana@example.com", 105: "ben@example.com", 106: "cy@example.com"}
CREATE = ("POST", "/api/v9/workspaces/1234567/time_entries")
DAY0 = datetime.now(UTC).date() - timedelta(days=12)


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    yield
    kill_leftovers()


class Recorded:
    """A sandbox that records, per request, the token that sent it and the answer's status."""

    def __init__(self, options: SandboxOptions) -> None:
        self.sandbox = Sandbox(options)
        self.seen: list[tuple[str, str, str, int]] = []  # (token, method, path, status)
        self.sandbox._app.web_app.middlewares.append(self._record)

    @web.middleware
    async def _record(self, request: web.Request, handler: Callable[..., Awaitable[Any]]) -> Any:
        auth = request.headers.get("Authorization", "")
        token = base64.b64decode(auth[6:]).decode().split(":")[0] if auth.startswith("Basic ") else ""
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self.seen.append((token, request.method, request.path, exc.status))
            raise
        self.seen.append((token, request.method, request.path, response.status))
        return response

    def creators(self) -> Counter[str]:
        """The token of each successful create."""
        return Counter(t for t, m, p, st in self.seen if (m, p) == CREATE and st == 200)

    def statuses(self, token: str) -> Counter[int]:
        return Counter(st for t, _m, _p, st in self.seen if t == token)


@pytest.fixture
async def recorded() -> AsyncIterator[Callable[..., Awaitable[Recorded]]]:
    started: list[Recorded] = []

    async def start(**options: Any) -> Recorded:
        running = Recorded(SandboxOptions(**options))
        await running.sandbox.start("127.0.0.1", 0)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.sandbox.stop()


def team_sheet(path: Path, per_person: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Email", "Date", "Start", "End", "Description"])
        for i in range(per_person):
            for email in PEOPLE:
                day = DAY0 + timedelta(days=i // 8)
                h = 8 + i % 8
                out.writerow([email, day.isoformat(), f"{h:02d}:00", f"{h:02d}:45", f"{email} {i}"])
    return path


def settings(sb: Sandbox, tmp_path: Path, name: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {"api_url": sb.base_url, "workspace_id": WID, "timezone": "UTC",
                              "ledger": tmp_path / f"{name}.sqlite", "rate": 5.0, "concurrency": 4,
                              "timeout": 5.0, **changes}  # fmt: skip
    return Settings(**values)


@pytest.mark.slow
async def test_three_people_with_their_own_tokens_go_three_times_as_fast_each_entry_by_its_owner(
    recorded: Callable[..., Awaitable[Recorded]], tmp_path: Path
) -> None:
    limits = {"rate_limit": 5.0, "rate_tolerance": 0.01, "quota": 30, "quota_window": 10.0}
    sheet = team_sheet(tmp_path / "team.csv", 12)  # 36 rows

    alone = await recorded(**limits)
    one = await Importer(settings(alone.sandbox, tmp_path, "one"), Credentials.from_token(alone.sandbox.token)
                         ).run([sheet])  # fmt: skip
    assert one.created == 36

    team = await recorded(**limits)
    people = {email: Credentials.from_token(token) for email, token in PEOPLE.items()}
    main = Credentials.from_token(team.sandbox.token)
    three = await Importer(settings(team.sandbox, tmp_path, "three"), main, people=people).run([sheet])
    assert (three.created, three.exit_code) == (36, 0)
    # every entry exactly once, created by its owner's own token
    entries = team.sandbox.state.entries
    assert Counter(e["description"] for e in entries) == Counter(
        f"{email} {i}" for i in range(12) for email in PEOPLE
    )
    assert team.creators() == Counter({PEOPLE[email]: 12 for email in PEOPLE})
    assert all(OWNER[e["user_id"]] in e["description"] for e in entries)
    for token in PEOPLE.values():
        statuses = team.statuses(token)
        assert statuses[429] == 0
        assert statuses[402] <= 2  # at most one a window, in a run of about two windows
    assert {email: three.people[email]["created"] for email in PEOPLE} == dict.fromkeys(PEOPLE, 12)
    per_token = {t: (team.statuses(t)[429], team.statuses(t)[402]) for t in PEOPLE.values()}
    print(f"\n[figures] one token {one.elapsed:.1f} s, three tokens {three.elapsed:.1f} s = "
          f"{three.elapsed / one.elapsed:.2f} x; (429s, 402s) per token {per_token}")  # pytest -s
    assert three.elapsed <= 0.45 * one.elapsed, (three.elapsed, one.elapsed)


async def test_a_refused_token_stops_only_that_persons_rows(
    recorded: Callable[..., Awaitable[Recorded]], tmp_path: Path
) -> None:
    sb = await recorded()
    sheet = team_sheet(tmp_path / "team.csv", 3)
    people = {email: Credentials.from_token(token) for email, token in PEOPLE.items()}
    people["ben@example.com"] = Credentials.from_token("not-bens-token")
    main = Credentials.from_token(sb.sandbox.token)
    done = await Importer(settings(sb.sandbox, tmp_path, "l", rate=100.0), main, people=people).run([sheet])
    assert (done.created, done.pending, done.exit_code) == (6, 3, 1)
    assert "ben@example.com" in done.people_refused
    assert "Toggl refused the token of ben@example.com" in done.people_refused["ben@example.com"]
    assert not any("ben@example.com" in e["description"] for e in sb.sandbox.state.entries)
    all_wrong = {email: Credentials.from_token("wrong") for email in PEOPLE}
    second = settings(sb.sandbox, tmp_path, "l2", rate=100.0)
    again = await Importer(second, main, people=all_wrong).run([sheet])
    assert (again.created, again.exit_code) == (0, 3)  # nothing could go on


@pytest.mark.slow
async def test_kill_9_in_the_middle_and_resume_with_tokens_is_exact(
    recorded: Callable[..., Awaitable[Recorded]], tmp_path: Path
) -> None:
    sb = await recorded(rate_limit=20.0, fail_drop=0.1, random_seed=4)
    sheet = team_sheet(tmp_path / "team.csv", 20)
    config = tmp_path / "toggl-import.toml"
    config.write_text('[tokens]\n"ana@example.com" = "TOK_ANA"\n"ben@example.com" = "TOK_BEN"\n'
                      '"cy@example.com" = "TOK_CY"\n')  # fmt: skip
    env = {**ENV, "TOK_ANA": PEOPLE["ana@example.com"], "TOK_BEN": PEOPLE["ben@example.com"],
           "TOK_CY": PEOPLE["cy@example.com"]}  # fmt: skip
    args = [sys.executable, "-m", "importer", "run", str(sheet), "--api-url", sb.sandbox.base_url,
            "--workspace-id", str(WID), "--ledger", str(tmp_path / "l.sqlite"), "--timezone", "UTC",
            "--rate", "15", "--timeout", "2", "--json"]  # fmt: skip
    proc = await spawn(args, sb.sandbox.token, tmp_path, env=env)
    for _ in range(15000):
        if len(sb.sandbox.state.entries) >= 25 or proc.returncode is not None:
            break
        await asyncio.sleep(0.002)
    send_signal(proc, signal.SIGKILL)
    await finish(proc)
    with sqlite3.connect(tmp_path / "l.sqlite") as conn:
        left = conn.execute("SELECT count(*) FROM rows WHERE state IN ('sending', 'in_doubt')").fetchone()[0]
    before = len(sb.seen)
    resumed = await run_cli(args, sb.sandbox.token, tmp_path, within=90, env=env)
    assert resumed.returncode == 0, resumed.output
    descriptions = Counter(e["description"] for e in sb.sandbox.state.entries)
    assert descriptions == Counter(f"{email} {i}" for i in range(20) for email in PEOPLE)
    assert set(sb.creators()) <= set(PEOPLE.values())  # never the main token
    assert PEOPLE["ana@example.com"] not in resumed.output
    # what the killed run left in doubt was read back through its owners' tokens, not the main one
    reads = [(t, p) for t, m, p, _st in sb.seen[before:] if p.endswith("/me/time_entries") or "search" in p]
    assert {t for t, _p in reads} <= set(PEOPLE.values())
    if left:  # each person's own rows: their /me read (its own bucket), no Reports search
        assert reads
        assert all(p.endswith("/me/time_entries") for _t, p in reads), reads


async def test_undo_with_tokens_deletes_each_persons_entries_through_their_own_token(
    recorded: Callable[..., Awaitable[Recorded]], tmp_path: Path
) -> None:
    sb = await recorded()
    sheet = team_sheet(tmp_path / "team.csv", 3)
    people = {email: Credentials.from_token(token) for email, token in PEOPLE.items()}
    main = Credentials.from_token(sb.sandbox.token)
    options = settings(sb.sandbox, tmp_path, "u", rate=100.0)
    done = await Importer(options, main, people=people).run([sheet])
    assert done.created == 9
    before = len(sb.seen)
    undone = await Undoer(options, main, people=people).run(run=1)
    assert (undone.deleted, undone.exit_code) == (9, 0)
    assert sb.sandbox.state.entries == []
    after = sb.seen[before:]
    deleters = Counter(t for t, m, _p, st in after if m == "DELETE" and st == 200)
    assert deleters == Counter(dict.fromkeys(PEOPLE.values(), 3))
    # each person's entries were checked with one ``since`` read of their own, not the Reports API
    since_reads = Counter(t for t, m, p, _st in after if m == "GET" and p.endswith("/me/time_entries"))
    assert since_reads == Counter(dict.fromkeys(PEOPLE.values(), 1))
    assert not [t for t, m, p, _st in after if p.endswith("/me")]  # whose entry is whose: known
    assert not [p for _t, _m, p, _st in after if "search" in p]


async def test_a_dry_run_with_tokens_estimates_the_quotas_in_parallel_and_names_a_refused_token(
    recorded: Callable[..., Awaitable[Recorded]], tmp_path: Path
) -> None:
    sb = await recorded()
    sheet = team_sheet(tmp_path / "team.csv", 8)  # 8 rows each
    main = Credentials.from_token(sb.sandbox.token)
    people = {email: Credentials.from_token(token) for email, token in PEOPLE.items()}
    options = settings(sb.sandbox, tmp_path, "d", rate=1.0)
    alone = await Importer(options, main).run([sheet], dry_run=True)
    team = await Importer(options, main, people=people).run([sheet], dry_run=True)
    assert alone.to_post == team.to_post == 24
    assert {email: team.people[email]["to_post"] for email in PEOPLE} == dict.fromkeys(PEOPLE, 8)
    assert alone.remaining_seconds is not None and team.remaining_seconds is not None
    assert team.remaining_seconds <= alone.remaining_seconds / 2.5  # three tokens at once

    people["ben@example.com"] = Credentials.from_token("not-bens-token")
    report = tmp_path / "r.csv"
    dry = await Importer(options, main, people=people).run([sheet], dry_run=True, report=report)
    real = await Importer(settings(sb.sandbox, tmp_path, "d2", rate=100.0), main, people=people).run([sheet])
    assert (dry.to_post, dry.pending, dry.exit_code) == (16, 8, 1)
    assert (real.created, real.pending, real.exit_code) == (16, 8, 1)  # what the dry run said
    assert "Toggl refused the token of ben@example.com" in dry.people_refused["ben@example.com"]
    with report.open(encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    bens = [line for line in lines if line["row"] and int(line["row"]) % 3 == 0]  # rows 3, 6, ...: ben's
    assert bens and all(line["status"] == "pending" for line in bens)
    assert all("ben@example.com" in line["message"] for line in bens)
