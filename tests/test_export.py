"""``toggl-import export --to toggl-csv``: Toggl's web CSV import file, applied by the sandbox the
way Toggl's importer is documented to, then ``run`` posting only what the upload did not bring."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from importer.config import Credentials, Settings
from importer.export import EXPORT_HEADER, Exporter, local_start
from importer.ledger import Ledger
from importer.runner import Importer
from importer.sandbox import Sandbox

WID = 1234567
CREATE = ("POST", "/workspaces/{wid}/time_entries")
DAY0 = datetime.now(UTC).date() - timedelta(days=10)
HEADER = ["Date", "Start", "End", "Description", "Project", "Client", "Task", "Tags", "Billable", "Email"]


def sheet(path: Path, n: int) -> Path:
    people = ("olivia@example.com", "max@example.com", "")
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(n):
            day = DAY0 + timedelta(days=i // 6)
            h = 8 + i % 6
            project, client, task = (("website", "acme corp", "design") if i % 3 == 0 else
                                     ("Internal", "", "") if i % 3 == 1 else ("", "", ""))  # fmt: skip
            tags, billable = "remote" if i % 2 else "", "yes" if i % 4 == 0 else "no"
            out.writerow([day.isoformat(), f"{h:02d}:05", f"{h:02d}:50", f"row {i}", project, client, task,
                          tags, billable, people[i % 3]])  # fmt: skip
    return path


def settings(sb: Sandbox, tmp_path: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {"api_url": sb.base_url, "workspace_id": WID, "timezone": "Europe/Berlin",
                              "ledger": tmp_path / "ledger.sqlite", "rate": 1000.0, "timeout": 5.0,
                              **changes}  # fmt: skip
    return Settings(**values)


async def upload(sb: Sandbox, data: bytes, uploader: str = "olivia@example.com") -> dict[str, Any]:
    url = f"{sb.admin_url}/import_csv?workspace_id={WID}&uploader={uploader}"
    async with aiohttp.ClientSession() as session, session.post(url, data=data) as resp:
        assert resp.status == 200, await resp.text()
        answer: dict[str, Any] = await resp.json()
        return answer


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


async def test_export_then_a_partial_upload_then_run_holds_every_row_exactly_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    source = sheet(tmp_path / "history.csv", 18)
    out = tmp_path / "toggl.csv"
    summary, written = await Exporter(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token)).run(
        [source], output=out)  # fmt: skip
    assert written == [out] and summary.exported == 18
    assert sandbox.state.requests.get(CREATE, 0) == 0  # no entry went through the API
    with out.open(encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(EXPORT_HEADER)
    lines = rows_of(out)
    # names in the workspace's exact spelling (the file said "website", "acme corp", "design")
    first = lines[0]
    assert (first["Project"], first["Client"], first["Task"]) == ("Website", "Acme Corp", "Design")
    assert (
        first["Email"] == "olivia@example.com" and lines[2]["Email"] == "olivia@example.com"
    )  # own rows too
    assert first["Start time"] == "07:05:00" and first["Duration"] == "0:45:00"  # 08:05 Berlin, in UTC
    # two rows dropped before the upload (someone trimmed the file)
    kept = [line for i, line in enumerate(lines) if i not in (4, 11)]
    trimmed = tmp_path / "trimmed.csv"
    with trimmed.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=EXPORT_HEADER)
        w.writeheader()
        w.writerows(kept)
    answer = await upload(sandbox, trimmed.read_bytes())
    assert (answer["created"], answer["refused"]) == (16, 0)
    assert not answer["created_projects"] and not answer["created_clients"]  # every name matched
    with Ledger.open(tmp_path / "ledger.sqlite", readonly=True) as book:
        assert book.counts()["exported"] == 18

    done = await Importer(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token)).run([source])
    assert sandbox.state.requests.get(CREATE, 0) == 2  # only the two the upload did not bring
    assert (done.created, done.already_done, done.exit_code) == (2, 16, 0)  # 16 read back, 2 posted
    descriptions = sorted(e["description"] for e in sandbox.state.entries)
    assert descriptions == sorted(f"row {i}" for i in range(18))
    again = await Importer(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token)).run([source])
    assert (again.created, again.already_done) == (0, 18)
    assert sandbox.state.requests.get(CREATE, 0) == 2


async def test_export_splits_files_and_leaves_out_the_fall_back_hour(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "dst.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Start", "Duration", "Description"])
        out.writerow(["2026-10-25T00:30:00Z", "0:30", "02:30 Berlin, the first time"])  # 02:30 CEST
        out.writerow(["2026-10-25T01:30:00Z", "0:30", "02:30 Berlin, the second time"])  # 02:30 CET
        for i in range(5):
            out.writerow([f"2026-10-26T{i + 6:02d}:00:00Z", "0:30", f"plain {i}"])
    target = tmp_path / "toggl.csv"
    report = tmp_path / "r.csv"
    summary, written = await Exporter(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token)).run(
        [path], output=target, max_rows=2, upload_timezone="Europe/Berlin", report=report)  # fmt: skip
    assert [p.name for p in written] == ["toggl-1.csv", "toggl-2.csv", "toggl-3.csv"]
    assert [len(rows_of(p)) for p in written] == [2, 2, 1]
    assert (summary.exported, summary.refused) == (5, 2)
    with report.open(newline="", encoding="utf-8") as fh:
        refused = [r for r in csv.DictReader(fh) if r["status"] == "refused"]
    assert [r["row"] for r in refused] == ["2", "3"]
    assert "2026-10-25 02:30 happens twice in Europe/Berlin" in refused[0]["message"]
    assert local_start("2026-10-26T06:00:00Z", ZoneInfo("Europe/Berlin"))[1] is False


async def test_the_user_column_is_the_members_name_for_every_email(sandbox: Sandbox, tmp_path: Path) -> None:
    """Toggl's importer matches on Email; User says the same person by name, for every row alike
    (not the token owner's name only): the workspace's member list gives it, at no extra request."""
    source = sheet(tmp_path / "team.csv", 6)  # olivia's, max's and email-less rows
    exporter = Exporter(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token))
    _, written = await exporter.run([source], output=tmp_path / "toggl.csv")
    people = {(line["User"], line["Email"]) for line in rows_of(written[0])}
    assert people == {("Olivia Owner", "olivia@example.com"), ("Max Member", "max@example.com")}
    users = ("GET", "/workspaces/{wid}/workspace_users")
    assert sandbox.state.requests.get(users, 0) == 1


async def test_exporting_again_writes_nothing_says_where_the_rows_went_and_again_rewrites_them(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    source = sheet(tmp_path / "history.csv", 5)

    async def export(out: str, **options: Any) -> tuple[Exporter, Any, list[Path]]:
        exporter = Exporter(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token))
        summary, written = await exporter.run([source], output=tmp_path / out, max_rows=3, **options)
        return exporter, summary, written

    _, first, _ = await export("out.csv")
    assert first.exported == 5
    exporter, second, written = await export("out2.csv")
    assert written == [] and not (tmp_path / "out2-1.csv").exists()
    assert (second.exported, second.exported_before, second.in_doubt, second.exit_code) == (0, 5, 0, 0)
    assert sorted(exporter.exported_before.items()) == [
        ((1, first_day(tmp_path), str(tmp_path / "out-1.csv")), 3),
        ((1, first_day(tmp_path), str(tmp_path / "out-2.csv")), 2),
    ]
    _, again, written = await export("out3.csv", again=True)
    assert (again.exported, again.exported_before) == (5, 0)
    assert [len(rows_of(p)) for p in written] == [3, 2]
    await upload(sandbox, b"".join(p.read_bytes() if i == 0 else p.read_bytes().split(b"\n", 1)[1]
                                   for i, p in enumerate(written)))  # fmt: skip
    done = await Importer(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token)).run([source])
    assert (done.created, done.already_done) == (0, 5)  # every row read back from the upload
    _, after, written = await export("out4.csv", again=True)
    assert written == [] and (after.exported, after.already_done) == (0, 5)  # created rows: never again


def first_day(tmp_path: Path) -> str:
    """The date of the first run of the ledger (the day the rows were exported)."""
    with Ledger.open(tmp_path / "ledger.sqlite", readonly=True) as book:
        return book.runs()[0].started_at[:10]


async def test_the_time_zone_written_in_is_said_and_where_it_came_from(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    source = sheet(tmp_path / "history.csv", 2)
    exporter = Exporter(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token))
    await exporter.run([source], output=tmp_path / "a.csv")
    assert (exporter.upload_zone, exporter.zone_of) == ("UTC", "olivia@example.com")  # the token's profile
    chosen = Exporter(settings(sandbox, tmp_path), Credentials.from_token(sandbox.token))
    await chosen.run([source], output=tmp_path / "b.csv", upload_timezone="Europe/Berlin", again=True)
    assert (chosen.upload_zone, chosen.zone_of) == ("Europe/Berlin", None)
