"""Toggl's web CSV import as the sandbox's admin endpoint: names matched case-sensitively and
created, identical rows merged, times in the uploader's zone (DST included), rows refused."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from test_sandbox import WEBSITE_ACME, WID, auth, body, create

from importer.sandbox import Sandbox

HEADER = "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,Duration,Tags"
ANA, BEN, CY = 104, 105, 106
DESIGN = 301000001


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


async def upload(
    session: aiohttp.ClientSession,
    sb: Sandbox,
    data: Any,
    uploader: str = "ana@example.com",
    wid: int | str = WID,
    **kwargs: Any,
) -> tuple[int, Any]:
    params = {"workspace_id": str(wid), "uploader": uploader}
    async with session.post(
        sb.admin_url + "/import_csv", params=params, data=data, **kwargs
    ) as resp:
        raw = await resp.text()
        return resp.status, json.loads(raw) if resp.content_type == "application/json" else raw


async def listed(session: aiohttp.ClientSession, sb: Sandbox) -> list[dict[str, Any]]:
    async with session.get(sb.admin_url + "/entries") as resp:
        return await resp.json()  # type: ignore[no-any-return]


ROWS = [
    # 2: existing names, Berlin winter time (UTC+1)
    'Ana,ana@example.com,Acme Corp,Website,Design,Landing,Yes,2024-03-29,09:00:00,01:30:00,"meeting, urgent"',
    # 3: the same names in another case: a new client and a new project
    "Ben,ben@example.com,acme corp,website,,Landing,No,2024-03-29,09:00:00,01:30:00,",
    # 4: summer time (UTC+2) from the last Sunday of March
    "Cy,cy@example.com,,Internal,,Standup,,2024-03-31,09:00:00,00:15:00,Remote",
    # 5: row 2 again: merged
    'Ana,ana@example.com,Acme Corp,Website,Design,Landing,Yes,2024-03-29,09:00:00,01:30:00,"meeting, urgent"',
    # 6: row 2 with another description: an entry of its own
    ',ana@example.com,Acme Corp,Website,Design,Landing 2,Yes,2024-03-29,09:00:00,01:30:00,"meeting,urgent"',
    "Nobody,nobody@example.com,,,,x,,2024-03-29,09:00:00,01:00:00,",  # 7: not a member
    "Fiona,fiona@example.com,,,,x,,2024-03-29,09:00:00,01:00:00,",  # 8: member elsewhere
    ",ben@example.com,,,Design,x,,2024-03-29,09:00:00,01:00:00,",  # 9: a task without project
    ",ben@example.com,,Ghost,,x,,2024-03-29,09:00:00,1.5,",  # 10: a duration not HH:MM:SS
    ",ben@example.com,,,,x,,2024-03-31,02:30:00,01:00:00,",  # 11: skipped by the clocks
    ",ben@example.com,,,,fall back,,2024-10-27,02:30:00,01:00:00,",  # 12: happens twice
    ",ben@example.com,Globex,Legacy Migration,,x,,2024-03-29,09:00:00,01:00:00,",  # 13: archived
    ",ben@example.com,,,,x,maybe,2024-03-29,09:00:00,01:00:00,",  # 14: Billable?
    ",,,,,x,,2024-03-29,09:00:00,01:00:00,",  # 15: no email
    ",ben@example.com,,,,x,,29.03.2024,09:00:00,01:00:00,",  # 16: a date not YYYY-MM-DD
    ",ben@example.com,,,,x,,2024-03-29,9am,01:00:00,",  # 17: a time not HH:MM:SS
    ",,,,,,,,,,",  # 18: empty: skipped
    ",cy@example.com,,,,long,,2024-03-29,23:00:00,30:00:00,",  # 19: more than a day
]


async def test_the_csv_import_applies_a_file_like_toggl(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(quota=1)
    status, answer = await upload(session, sb, csv_file(*ROWS))
    assert status == 200, answer
    assert (answer["created"], answer["merged"], answer["refused"]) == (6, 1, 10)
    assert answer["merged_rows"] == [{"row": 5, "into_row": 2}]
    refused = {r["row"]: r["reason"] for r in answer["refused_rows"]}
    assert sorted(refused) == [7, 8, 9, 10, 11, 13, 14, 15, 16, 17]
    for row, needle in {
        7: "not a member",
        8: "not a member",
        9: "needs a Project",
        10: "Duration",
        11: "does not exist in Europe/Berlin",
        13: "archived",
        14: "Billable",
        15: "Email",
        16: "Start date",
        17: "Start time",
    }.items():
        assert needle in refused[row], (row, refused[row])
    assert answer["ambiguous_rows"] == [{"row": 12, "start": "2024-10-27T00:30:00+00:00"}]
    assert answer["timezone"] == "Europe/Berlin"
    assert answer["created_clients"] == ["acme corp"]
    assert answer["created_projects"] == ["website"]
    assert answer["created_tasks"] == []
    assert answer["created_tags"] == ["Remote"]  # "remote" exists: names are case-sensitive

    entries = await listed(session, sb)
    assert [e["id"] for e in entries] == answer["entry_ids"]
    assert {e["created_with"] for e in entries} == {"Toggl Track CSV import"}
    by_description = {(e["user_id"], e["description"]): e for e in entries}
    landing = by_description[(ANA, "Landing")]
    assert (landing["user_id"], landing["project_id"], landing["task_id"]) == (ANA, WEBSITE_ACME, DESIGN)
    assert (landing["start"], landing["duration"], landing["billable"]) == (
        "2024-03-29T08:00:00+00:00",
        5400,
        True,
    )
    assert landing["tags"] == ["meeting", "urgent"]
    new_project = by_description[(BEN, "Landing")]["project_id"]
    assert sb.state.projects[new_project]["name"] == "website"
    assert sb.state.clients[sb.state.projects[new_project]["cid"]]["name"] == "acme corp"
    standup = by_description[(CY, "Standup")]
    assert (standup["start"], standup["project_id"]) == ("2024-03-31T07:00:00+00:00", 201000004)
    assert standup["tags"] == ["Remote"]
    assert (ANA, "Landing 2") in by_description
    assert by_description[(CY, "long")]["duration"] == 30 * 3600
    assert (BEN, "fall back") in by_description

    projects = [p for p in sb.state.projects.values() if p["name"] in {"website", "Ghost"}]
    assert [p["name"] for p in projects] == ["website"]  # a refused row creates nothing
    url = f"{sb.base_url}/workspaces/{WID}/time_entries"
    async with session.post(url, json=body(), headers=auth(sb.token)) as resp:
        assert (resp.status, resp.headers["X-Toggl-Quota-Remaining"]) == (200, "0")  # import: free
    assert sb.stats()["writes"]["POST /_sandbox/import_csv"] == 1


@pytest.mark.parametrize(
    ("uploader", "start"),
    [("olivia@example.com", "2024-07-01T09:00:00+00:00"), ("ana@example.com", "2024-07-01T07:00:00+00:00")],
)
async def test_times_are_read_in_the_uploaders_zone(
    sandbox: Sandbox, session: aiohttp.ClientSession, uploader: str, start: str
) -> None:
    data = csv_file(",cy@example.com,,,,x,,2024-07-01,09:00:00,01:00:00,")
    status, answer = await upload(session, sandbox, data, uploader=uploader)
    assert (status, answer["created"]) == (200, 1)
    assert [e["start"] for e in sandbox.state.entries] == [start]


async def test_columns_in_any_order_a_bom_a_form_upload_and_extra_columns(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    header = "Duration,Start time,Start date,Email,Project,Note"
    data = "\ufeff".encode() + csv_file(
        "00:45:00,10:00:00,2024-01-15,BEN@example.com,Website,hi", header=header
    )
    form = aiohttp.FormData()
    form.add_field("file", data, filename="import.csv", content_type="text/csv")
    status, answer = await upload(session, sandbox, form)
    assert status == 200, answer
    assert (answer["created"], answer["ignored_columns"]) == (1, ["Note"])
    [entry] = sandbox.state.entries
    assert (entry["user_id"], entry["start"], entry["duration"]) == (BEN, "2024-01-15T09:00:00+00:00", 2700)
    assert answer["created_projects"] == ["Website"]  # no client: Acme's and Globex's do not match
    assert entry["project_id"] not in {p for p in (WEBSITE_ACME, 201000002)}


async def test_identical_rows_of_another_upload_are_not_merged(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    data = csv_file(",cy@example.com,,,,x,,2024-07-01,09:00:00,01:00:00,")
    assert (await upload(session, sandbox, data))[1]["created"] == 1
    assert (await upload(session, sandbox, data))[1]["created"] == 1
    assert len(sandbox.state.entries) == 2


@pytest.mark.parametrize(
    ("data", "query", "status", "needle"),
    [
        (b"Email,Start date,Duration\n", {}, 400, "Start time"),
        (HEADER.lower().encode() + b"\n", {}, 400, "Email"),
        (b"", {}, 400, "empty"),
        (b"\xff\xfe" + HEADER.encode("utf-16-le"), {}, 400, "UTF-8"),
        (csv_file(header=HEADER + ",Email"), {}, 400, "more than once"),
        (csv_file(), {"uploader": "ben@example.com"}, 403, "admin"),
        (csv_file(), {"uploader": "fiona@example.com"}, 400, "member"),
        (csv_file(), {"uploader": "nobody@example.com"}, 400, "member"),
        (csv_file(), {"wid": 999}, 400, "999"),
        (csv_file(), {"wid": "abc"}, 400, "workspace_id"),
        (csv_file(), {"uploader": ""}, 400, "uploader"),
    ],
)
async def test_a_file_or_call_refused_whole(
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    data: bytes,
    query: dict[str, Any],
    status: int,
    needle: str,
) -> None:
    got, text = await upload(session, sandbox, data, **query)
    assert got == status, text
    assert needle in text
    assert sandbox.state.entries == []


async def test_imported_entries_are_read_back_like_any_other(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    data = csv_file(",olivia@example.com,,,,x,,2024-07-01,09:00:00,01:00:00,")
    await upload(session, sandbox, data)
    status, _, _ = await create(session, sandbox, body(start="2024-07-01T08:00:00Z"))
    assert status == 200
    search = {"start_date": "2024-07-01", "end_date": "2024-07-01"}
    async with session.post(
        sandbox.reports_url + f"/workspace/{WID}/search/time_entries",
        json=search,
        headers=auth(sandbox.token),
    ) as resp:
        rows = await resp.json()
    assert [r["time_entries"][0]["start"] for r in rows] == [
        "2024-07-01T07:00:00+00:00",
        "2024-07-01T08:00:00+00:00",
    ]
