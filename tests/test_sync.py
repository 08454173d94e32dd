"""Owning what it created: keyed updates, ``--mirror`` deletes, conflicts, undo -- against the
sandbox over TCP, counting the requests it receives."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from importer.config import Credentials, Settings
from importer.errors import ConfigError
from importer.ledger import Ledger
from importer.report import Summary
from importer.runner import Importer, Undoer
from importer.sandbox import Sandbox

WID = 1234567
HEADER = ["ID", "Date", "Start", "End", "Description", "Project"]
POST, PUT, DELETE = (
    ("POST", "/workspaces/{wid}/time_entries"),
    ("PUT", "/workspaces/{wid}/time_entries/{id}"),
    ("DELETE", "/workspaces/{wid}/time_entries/{id}"),
)
BASE_DAY = datetime.now(UTC).date() - timedelta(days=20)


def row(
    i: int, *, day: int | None = None, text: str | None = None, hour: int | None = None
) -> dict[str, str]:
    """Worklog ``i``: one hour on its day (``BASE_DAY + i // 4``) at its hour."""
    d = BASE_DAY + timedelta(days=i // 4 if day is None else day)
    h = 8 + i % 4 * 2 if hour is None else hour
    return {"ID": f"W-{i}", "Date": d.isoformat(), "Start": f"{h:02d}:00", "End": f"{h + 1:02d}:00",
            "Description": text or f"worklog {i}", "Project": "Internal"}  # fmt: skip


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def settings(sb: Sandbox, tmp_path: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {"api_url": sb.base_url, "workspace_id": WID, "timezone": "UTC",
                              "ledger": tmp_path / "ledger.sqlite", "rate": 2000.0, "concurrency": 4,
                              "timeout": 3.0, **changes}  # fmt: skip
    return Settings(**values)


async def run(sb: Sandbox, tmp_path: Path, files: list[Path], *, dry_run: bool = False,
              report: Path | None = None, **changes: Any) -> Summary:  # fmt: skip
    importer = Importer(settings(sb, tmp_path, **changes), Credentials.from_token(sb.token))
    return await importer.run(files, dry_run=dry_run, report=report)


def writes(sb: Sandbox) -> dict[str, int]:
    counts = sb.state.requests
    return {"POST": counts.get(POST, 0), "PUT": counts.get(PUT, 0), "DELETE": counts.get(DELETE, 0)}


def held(sb: Sandbox) -> dict[tuple[str, str, str], int]:
    """What Toggl holds, as (date, start, description) → count."""
    out: dict[tuple[str, str, str], int] = {}
    for e in sb.state.entries:
        key = (e["start"][:10], e["start"][11:16], e["description"] or "")
        out[key] = out.get(key, 0) + 1
    return out


def expected(rows: list[dict[str, str]]) -> dict[tuple[str, str, str], int]:
    out: dict[tuple[str, str, str], int] = {}
    for r in rows:
        key = (r["Date"], r["Start"], r["Description"])
        out[key] = out.get(key, 0) + 1
    return out


def lines_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def report_of(path: Path) -> dict[int, dict[str, str]]:
    """The report's lines of the run's own file, by row."""
    lines = lines_of(path)
    own = lines[0]["file"] if lines else ""
    return {int(r["row"]): r for r in lines if r["file"] == own and r["status"] != "deleted"}


async def admin(sb: Sandbox, method: str, path: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{sb.admin_url}{path}", json=body) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json(content_type=None)


def nightly(n: int = 20) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """An export of ``n`` worklogs, and the next night's: rows 0-4 edited, 5 and 6 gone, 3 new."""
    first = [row(i) for i in range(n)]
    second = [row(i, text=f"worklog {i}, edited") if i < 5 else row(i) for i in range(n) if i not in (5, 6)]
    second += [row(i) for i in range(n, n + 3)]
    return first, second


# -- the nightly upload ------------------------------------------------------------------------------
async def test_a_nightly_re_export_updates_creates_and_deletes_exactly_what_changed(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first, second = nightly()
    options = {"key_column": "ID", "source": "nightly"}
    one = await run(sandbox, tmp_path, [write(tmp_path / "2026-01-01.csv", first)], **options)
    assert (one.created, one.exit_code) == (20, 0)
    before = writes(sandbox)

    report = tmp_path / "r2.csv"
    two = await run(sandbox, tmp_path, [write(tmp_path / "2026-01-02.csv", second)], report=report,
                    mirror=True, **options)  # fmt: skip
    after = writes(sandbox)
    assert {k: after[k] - before[k] for k in after} == {"POST": 3, "PUT": 5, "DELETE": 2}
    assert (two.created, two.updated, two.deleted, two.already_done) == (3, 5, 2, 13)
    assert two.exit_code == 0
    assert held(sandbox) == expected(second)
    statuses = [r["status"] for r in lines_of(report)]
    assert sorted(statuses) == sorted(["updated"] * 5 + ["created"] * 16 + ["deleted"] * 2)
    gone = [r for r in lines_of(report) if r["status"] == "deleted"]
    assert {(r["file"], r["row"]) for r in gone} == {(str(tmp_path / "2026-01-01.csv"), "7"),
                                                     (str(tmp_path / "2026-01-01.csv"), "8")}  # fmt: skip

    three = await run(sandbox, tmp_path, [write(tmp_path / "2026-01-03.csv", second)], mirror=True, **options)
    assert writes(sandbox) == after  # the third identical run makes no write
    assert (three.created, three.updated, three.deleted, three.already_done) == (0, 0, 0, 21)


async def test_a_keyed_file_under_a_new_name_without_source_is_refused_and_the_advice_works(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Without --source each file is its own source: last night's keys under tonight's file name
    would be created twice. Nothing is sent; the --source the message names updates them."""
    first = [row(i) for i in range(4)]
    done = await run(sandbox, tmp_path, [write(tmp_path / "wl-1.csv", first)], key_column="ID")
    assert done.created == 4
    second = [row(0, text="worklog 0 edited"), *first[1:3], row(9)]  # W-3 is gone
    tonight = write(tmp_path / "wl-2.csv", second)
    sandbox.state.clear_counters()
    with pytest.raises(ConfigError) as refused:
        await run(sandbox, tmp_path, [tonight], key_column="ID", mirror=True)
    assert "pass --source wl-1.csv to update those entries" in str(refused.value)
    assert "1 of its --key values was imported before from 'wl-1.csv'" in str(refused.value)  # W-0
    assert writes(sandbox) == {"POST": 0, "PUT": 0, "DELETE": 0}
    followed = await run(sandbox, tmp_path, [tonight], key_column="ID", mirror=True, source="wl-1.csv")
    assert (followed.updated, followed.created, followed.deleted, followed.exit_code) == (1, 1, 1, 0)
    assert sorted(e["description"] for e in sandbox.state.entries) == [
        "worklog 0 edited", "worklog 1", "worklog 2", "worklog 9"]  # fmt: skip


async def test_without_a_key_an_edited_row_is_one_delete_and_one_post(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first, second = nightly()
    await run(sandbox, tmp_path, [write(tmp_path / "a.csv", first)], source="plain")
    before = writes(sandbox)
    two = await run(sandbox, tmp_path, [write(tmp_path / "b.csv", second)], source="plain", mirror=True)
    after = writes(sandbox)
    # 5 edited: 5 deletes and 5 posts; 2 gone: 2 deletes; 3 new: 3 posts
    assert {k: after[k] - before[k] for k in after} == {"POST": 8, "PUT": 0, "DELETE": 7}
    assert (two.created, two.deleted, two.updated) == (8, 7, 0)
    assert held(sandbox) == expected(second)


async def test_a_mirror_never_touches_entries_outside_its_window_its_source_or_its_ledger(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    inside = [row(i) for i in range(4, 12)]  # days 1 and 2
    early = [row(0)]  # day 0: outside the next file's window
    other = [row(100, day=1, hour=20)]  # day 1, another source
    await run(
        sandbox, tmp_path, [write(tmp_path / "n1.csv", inside + early)], source="nightly", key_column="ID"
    )
    await run(sandbox, tmp_path, [write(tmp_path / "other.csv", other)], source="another", key_column="ID")
    theirs = await admin(sandbox, "POST", "/entries", {
        "workspace_id": WID, "user_id": 101, "description": "made by hand in Toggl",
        "start": f"{(BASE_DAY + timedelta(days=1)).isoformat()}T18:00:00Z", "duration": 600,
    })  # fmt: skip
    before = writes(sandbox)
    # the next export holds only day 2: day 1's rows of this source are gone, the rest is not its own
    day2 = [r for r in inside if r["Date"] == (BASE_DAY + timedelta(days=2)).isoformat()]
    done = await run(sandbox, tmp_path, [write(tmp_path / "n2.csv", day2)], source="nightly", key_column="ID",
                     mirror=True)  # fmt: skip
    assert done.deleted == 0  # day 1 is outside the window of a file holding only day 2
    assert writes(sandbox) == before
    # a file of days 1 and 2 without day 1's worklogs: those four go, nothing else
    edges = [*day2, row(99, day=1, hour=21)]
    n3 = write(tmp_path / "n3.csv", edges)
    done = await run(sandbox, tmp_path, [n3], source="nightly", key_column="ID", mirror=True)
    assert (done.deleted, done.created) == (4, 1)
    live = {e["id"] for e in sandbox.state.entries}
    assert theirs["id"] in live  # not created by this ledger
    descriptions = {e["description"] for e in sandbox.state.entries}
    assert {"worklog 0", "worklog 100", "made by hand in Toggl"} <= descriptions


async def test_more_deletes_than_max_deletes_stop_before_anything_is_sent(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first = [row(i) for i in range(12)]
    await run(sandbox, tmp_path, [write(tmp_path / "a.csv", first)], source="s", key_column="ID")
    before = writes(sandbox)
    shrunk = [*first[:2], row(50, day=2, hour=22)]  # 10 of 12 gone, one new
    with pytest.raises(ConfigError, match=r"would delete 10 entries .* more than --max-deletes 5"):
        await run(sandbox, tmp_path, [write(tmp_path / "b.csv", shrunk)], source="s", key_column="ID",
                  mirror=True, max_deletes=5)  # fmt: skip
    assert writes(sandbox) == before  # not the new row's POST either
    done = await run(sandbox, tmp_path, [tmp_path / "b.csv"], source="s", key_column="ID", mirror=True,
                     max_deletes=10)  # fmt: skip
    assert (done.deleted, done.created) == (10, 1)


async def test_a_file_with_no_valid_rows_deletes_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    await run(sandbox, tmp_path, [write(tmp_path / "a.csv", [row(i) for i in range(4)])], source="s")
    bad = [{**row(i), "Date": "not a date"} for i in range(2)]
    before = writes(sandbox)
    done = await run(sandbox, tmp_path, [write(tmp_path / "b.csv", bad)], source="s", mirror=True)
    assert (done.refused, done.deleted) == (2, 0)
    assert writes(sandbox) == before


async def test_one_key_on_two_rows_with_different_content_refuses_both(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    rows = [row(0), row(1), {**row(2), "ID": "W-0"}]
    report = tmp_path / "r.csv"
    done = await run(sandbox, tmp_path, [write(tmp_path / "k.csv", rows)], key_column="ID", report=report)
    lines = report_of(report)
    assert [lines[r]["status"] for r in (2, 3, 4)] == ["refused", "created", "refused"]
    assert "the key 'W-0' is on two rows with different content" in lines[4]["message"]
    assert (done.created, done.refused, done.exit_code) == (1, 2, 1)
    assert writes(sandbox)["POST"] == 1


# -- edits made in Toggl win -------------------------------------------------------------------------
async def test_an_entry_edited_in_toggl_is_a_conflict_unless_overwrite(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first = [row(i) for i in range(3)]
    await run(sandbox, tmp_path, [write(tmp_path / "a.csv", first)], source="s", key_column="ID")
    entries = {e["description"]: e for e in sandbox.state.entries}
    await admin(sandbox, "PATCH", f"/entries/{entries['worklog 0']['id']}", {"description": "fixed by Ana"})
    await admin(sandbox, "DELETE", f"/entries/{entries['worklog 1']['id']}")
    changed = [row(0, text="worklog 0 v2"), row(1, text="worklog 1 v2"), row(2, text="worklog 2 v2")]
    report = tmp_path / "r.csv"
    before = writes(sandbox)
    done = await run(sandbox, tmp_path, [write(tmp_path / "b.csv", changed)], source="s", key_column="ID",
                     report=report)  # fmt: skip
    assert (done.updated, done.conflict, done.exit_code) == (1, 2, 1)
    assert writes(sandbox)["PUT"] - before["PUT"] == 1
    lines = report_of(report)
    assert lines[2]["status"] == "conflict" and "changed in Toggl (description)" in lines[2]["message"]
    assert lines[3]["status"] == "conflict" and "was deleted in Toggl" in lines[3]["message"]
    assert {e["description"] for e in sandbox.state.entries} == {"fixed by Ana", "worklog 2 v2"}
    # --overwrite: the edit is replaced, the deleted one created anew
    again = await run(sandbox, tmp_path, [tmp_path / "b.csv"], source="s", key_column="ID", overwrite=True)
    assert (again.updated, again.created, again.conflict, again.exit_code) == (1, 1, 0, 0)
    assert sorted(e["description"] for e in sandbox.state.entries) == ["worklog 0 v2", "worklog 1 v2",
                                                                        "worklog 2 v2"]  # fmt: skip


async def test_the_change_check_is_one_since_read_not_a_get_per_entry(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first = [row(i) for i in range(30)]
    await run(sandbox, tmp_path, [write(tmp_path / "a.csv", first)], source="s", key_column="ID")
    sandbox.state.clear_counters()
    changed = [row(i, text=f"v2 {i}") for i in range(30)]
    done = await run(sandbox, tmp_path, [write(tmp_path / "b.csv", changed)], source="s", key_column="ID")
    assert done.updated == 30
    reads = {k: v for k, v in sandbox.state.requests.items() if k[0] == "GET"}
    assert reads.get(("GET", "/me/time_entries"), 0) == 1
    assert ("GET", "/me/time_entries/{id}") not in reads


# -- a dry run lists the plan ------------------------------------------------------------------------
async def test_a_dry_run_of_a_sync_lists_create_update_delete_unchanged_and_conflict(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first, second = nightly(10)
    options = {"key_column": "ID", "source": "nightly"}
    await run(sandbox, tmp_path, [write(tmp_path / "a.csv", first)], **options)
    victim = next(e for e in sandbox.state.entries if e["description"] == "worklog 0")
    await admin(sandbox, "PATCH", f"/entries/{victim['id']}", {"description": "mine now"})
    before = writes(sandbox)
    report = tmp_path / "plan.csv"
    plan = await run(sandbox, tmp_path, [write(tmp_path / "b.csv", second)], dry_run=True, report=report,
                     mirror=True, **options)  # fmt: skip
    assert writes(sandbox) == before
    counts: dict[str, int] = {}
    for line in lines_of(report):
        counts[line["status"]] = counts.get(line["status"], 0) + 1
    assert counts == {"update": 4, "conflict": 1, "create": 3, "delete": 2, "unchanged": 3}
    assert (plan.to_update, plan.to_delete, plan.to_post, plan.conflict) == (4, 2, 3, 1)
    real = await run(sandbox, tmp_path, [tmp_path / "b.csv"], mirror=True, **options)
    assert (real.updated, real.deleted, real.created, real.conflict) == (4, 2, 3, 1)


# -- all or nothing ----------------------------------------------------------------------------------
async def test_all_or_nothing_sends_nothing_when_a_row_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    rows = [row(i) for i in range(5)] + [{**row(5), "Project": "No Such Project"}]
    report = tmp_path / "r.csv"
    done = await run(sandbox, tmp_path, [write(tmp_path / "p.csv", rows)], all_or_nothing=True, report=report)
    assert writes(sandbox) == {"POST": 0, "PUT": 0, "DELETE": 0}
    assert (done.refused, done.created, done.exit_code) == (1, 0, 1)
    lines = report_of(report)
    assert lines[7]["status"] == "refused"
    assert all(
        lines[r]["status"] == "pending" and "--all-or-nothing" in lines[r]["message"] for r in range(2, 7)
    )
    good = await run(sandbox, tmp_path, [write(tmp_path / "q.csv", rows[:5])], all_or_nothing=True)
    assert (good.created, good.exit_code) == (5, 0)


# -- undo --------------------------------------------------------------------------------------------
async def test_undo_deletes_what_a_run_created_and_nothing_else(sandbox: Sandbox, tmp_path: Path) -> None:
    await run(sandbox, tmp_path, [write(tmp_path / "keep.csv", [row(i) for i in range(3)])])
    await run(sandbox, tmp_path, [write(tmp_path / "oops.csv", [row(i) for i in range(10, 16)])])
    with Ledger.open(tmp_path / "ledger.sqlite", readonly=True) as ledger:
        runs = ledger.runs()
    oops = runs[-1].id
    undo = Undoer(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token))
    asked: list[int] = []
    done = await undo.run(run=oops, confirm=lambda n: asked.append(n) or True)
    assert asked == [6]
    assert (done.deleted, done.exit_code) == (6, 0)
    assert sorted(e["description"] for e in sandbox.state.entries) == ["worklog 0", "worklog 1", "worklog 2"]
    again = await run(sandbox, tmp_path, [tmp_path / "oops.csv"])  # deleted rows are created anew
    assert again.created == 6


async def test_undo_of_a_file_finds_it_by_another_spelling_of_its_path(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    await run(sandbox, tmp_path, [write(Path("sub") / "x.csv", [row(i) for i in range(3)])])
    undo = Undoer(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token))
    done = await undo.run(files=["./sub/x.csv"])
    assert (done.deleted, done.exit_code) == (3, 0)
    assert sandbox.state.entries == []


# -- a ledger of the previous version ----------------------------------------------------------------
async def test_a_schema_1_ledger_migrates_and_the_run_resumes_exactly(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The fixture was written by the schema-1 code: its week1.csv rows, in every state. The same
    file run again with today's code migrates the ledger (a backup beside it) and posts only the
    rows that ledger does not hold as created; its rows left in doubt are read back first."""
    import shutil
    import sqlite3

    fixture = Path(__file__).parent / "data" / "ledger_schema1.sqlite"
    ledger = tmp_path / "ledger.sqlite"
    shutil.copyfile(fixture, ledger)
    with sqlite3.connect(fixture) as old:
        states = [s for (s,) in old.execute("SELECT state FROM rows WHERE file = 'week1.csv' AND row <= 7")]
    assert sorted(states) == ["created", "created", "failed", "in_doubt", "pending", "sending"]
    sheet = tmp_path / "week1.csv"
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Start", "Duration", "Description", "Project", "Client", "Tags"])
        for n in range(6):
            out.writerow([f"2026-03-{n + 1:02d}T08:00:00Z", f"0:{30 + n:02d}:00", f"week1.csv entry {n}",
                          "Support", "Acme Corp", "fixture"])  # fmt: skip
    importer = Importer(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token))
    done = await importer.run([sheet])
    # in doubt, sending and pending: read back (absent), then posted; failed: not sent again
    assert writes(sandbox)["POST"] == 3
    assert (done.created, done.already_done, done.failed) == (3, 2, 1)
    search = ("POST", "/reports/api/v3/workspace/{wid}/search/time_entries")
    assert sandbox.state.requests.get(search, 0) >= 1  # the read-back (March: older than /me reaches)
    assert (tmp_path / "ledger.sqlite.schema1.bak").exists()
    with Ledger.open(ledger, readonly=True) as book:
        counts = book.counts()
        runs = book.runs()
    assert counts["created"] == 5 + 2  # week1's five and week2's two
    assert len(runs) == 3 and runs[-1].created == 3


def test_status_runs_lists_each_run_with_its_counts(tmp_path: Path) -> None:
    import asyncio
    import json
    import subprocess
    import sys

    async def two_nights() -> None:
        async with Sandbox() as sandbox:
            first, second = nightly(8)
            options = {"key_column": "ID", "source": "nightly"}
            await run(sandbox, tmp_path, [write(tmp_path / "a.csv", first)], **options)
            await run(sandbox, tmp_path, [write(tmp_path / "b.csv", second)], mirror=True, **options)

    asyncio.run(two_nights())
    status = [
        sys.executable,
        "-m",
        "importer",
        "status",
        "--runs",
        "--ledger",
        str(tmp_path / "ledger.sqlite"),
    ]
    done = subprocess.run([*status, "--json"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)
    keys = ("id", "command", "source", "created", "updated", "deleted", "failed", "exit_code")
    assert [{k: r[k] for k in keys} for r in runs] == [
        {"id": 1, "command": "run", "source": "nightly", "created": 8, "updated": 0, "deleted": 0,
         "failed": 0, "exit_code": 0},
        {"id": 2, "command": "run", "source": "nightly", "created": 3, "updated": 5, "deleted": 2,
         "failed": 0, "exit_code": 0},
    ]  # fmt: skip
    assert all(r["started_at"] and r["finished_at"] for r in runs)
    table = subprocess.run(status, capture_output=True, text=True, check=False,
                           env={"COLUMNS": "120", "PATH": "/usr/bin"})  # fmt: skip
    assert table.returncode == 0 and "run --source nightly" in table.stdout


async def test_a_mirror_of_one_persons_rows_never_deletes_another_persons_entries(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    header = ["ID", "Email", "Date", "Start", "End", "Description"]
    day = BASE_DAY.isoformat()
    rows = [{"ID": f"T-{i}", "Email": email, "Date": day, "Start": f"{8 + i}:00", "End": f"{8 + i}:30",
             "Description": f"{email} {i}"}
            for i, email in enumerate(["olivia@example.com", "max@example.com"] * 2)]  # fmt: skip
    path = tmp_path / "team.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, fieldnames=header)
        out.writeheader()
        out.writerows(rows)
    await run(sandbox, tmp_path, [path], source="team", key_column="ID")
    with path.open("w", newline="", encoding="utf-8") as fh:  # olivia's second row gone
        out = csv.DictWriter(fh, fieldnames=header)
        out.writeheader()
        out.writerows([r for r in rows if r["ID"] != "T-2"])
    done = await run(sandbox, tmp_path, [path], source="team", key_column="ID", mirror=True,
                     only_email=("olivia@example.com",))  # fmt: skip
    assert (done.deleted, done.skipped) == (1, 2)
    assert sorted(e["description"] for e in sandbox.state.entries) == [
        "max@example.com 1", "max@example.com 3", "olivia@example.com 0"]  # fmt: skip
