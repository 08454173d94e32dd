"""The sandbox server over real TCP: auth, reads and paging, creation checks, bodies, admin."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from importer.sandbox import Sandbox, SandboxOptions

WID, FOREIGN_WID = 1234567, 7654321
OWNER, MEMBER, FOREIGNER = 101, 102, 103
WEBSITE_ACME, WEBSITE_GLOBEX, SUPPORT, LEGACY, SECRET_LAB = (
    201000001,
    201000002,
    201000003,
    201000006,
    201000101,
)
DESIGN, TRIAGE = 301000001, 301000003
MEMBER_TOKEN = "sandbox-member-token"
BAD_LOGIN = "Incorrect username and/or password"
NO_ACCESS = "User does not have access to this resource."


def auth(login: str, password: str = "api_token") -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(login, password)}


def body(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "created_with": "tests",
        "workspace_id": WID,
        "start": "2024-03-01T09:00:00Z",
        "duration": 3600,
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not ...}


async def call(
    session: aiohttp.ClientSession,
    sb: Sandbox,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """One request; the answer as JSON when it is JSON, else as text."""
    url = path if path.startswith("http") else sb.base_url + path
    async with session.request(
        method, url, headers=auth(sb.token) if headers is None else headers, **kwargs
    ) as resp:
        raw = await resp.text()
        data = json.loads(raw) if resp.content_type == "application/json" else raw
        return resp.status, data, resp


async def create(
    session: aiohttp.ClientSession, sb: Sandbox, payload: Any, **kwargs: Any
) -> tuple[int, Any, aiohttp.ClientResponse]:
    return await call(
        session, sb, "POST", f"/workspaces/{WID}/time_entries", json=payload, **kwargs
    )


# -- auth -------------------------------------------------------------------------------------


async def test_me_answers_the_token_owner(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    status, me, _ = await call(session, sandbox, "GET", "/me")
    assert status == 200
    assert (me["id"], me["email"], me["fullname"]) == (OWNER, "olivia@example.com", "Olivia Owner")
    assert me["default_workspace_id"] == WID
    assert me["timezone"] == "UTC"


@pytest.mark.parametrize(
    ("login", "password", "user_id"),
    [
        ("olivia@example.com", "olivia-password", OWNER),
        ("OLIVIA@example.com", "olivia-password", OWNER),
        ("max@example.com", "max-password", MEMBER),
        (MEMBER_TOKEN, "api_token", MEMBER),
    ],
)
async def test_email_password_and_member_token_work(
    sandbox: Sandbox, session: aiohttp.ClientSession, login: str, password: str, user_id: int
) -> None:
    status, me, _ = await call(session, sandbox, "GET", "/me", headers=auth(login, password))
    assert status == 200
    assert me["id"] == user_id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sandbox-token"},
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + "c2FuZGJveC10b2tlbg=="},  # "sandbox-token", no colon
        {"Authorization": "Basic"},
        auth("wrong-token"),
        auth("sandbox-token", "wrong"),
        auth("olivia@example.com", "wrong-password"),
        auth("olivia@example.com", ""),
        auth("nobody@example.com", "olivia-password"),
    ],
    ids=[
        "missing",
        "bearer",
        "bad-base64",
        "no-colon",
        "empty",
        "wrong-token",
        "token-wrong-password",
        "wrong-password",
        "empty-password",
        "unknown-email",
    ],
)
async def test_bad_credentials_get_403_plain_text(
    sandbox: Sandbox, session: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    status, text, resp = await create(session, sandbox, body(), headers=headers)
    assert status == 403
    assert text == BAD_LOGIN
    assert resp.content_type == "text/plain"
    assert sandbox.state.entries == []


@pytest.mark.parametrize("wid", [FOREIGN_WID, 999])
async def test_a_workspace_the_user_is_not_in_is_403(
    sandbox: Sandbox, session: aiohttp.ClientSession, wid: int
) -> None:
    path = f"/workspaces/{wid}/time_entries"
    status, text, _ = await call(session, sandbox, "POST", path, json=body(workspace_id=wid))
    assert (status, text) == (403, NO_ACCESS)
    status, text, _ = await call(session, sandbox, "GET", f"/workspaces/{wid}/projects")
    assert (status, text) == (403, NO_ACCESS)
    assert sandbox.state.entries == []
    # the foreign workspace's own admin gets in
    status, projects, _ = await call(
        session,
        sandbox,
        "GET",
        f"/workspaces/{FOREIGN_WID}/projects",
        headers=auth("sandbox-foreign-token"),
    )
    assert status == 200
    assert [p["id"] for p in projects] == [SECRET_LAB]


# -- reads and paging -------------------------------------------------------------------------


async def pages(
    session: aiohttp.ClientSession, sb: Sandbox, path: str, per_page: int, **query: str
) -> list[list[Any]]:
    found, page = [], 1
    while True:
        params = {**query, "page": str(page), "per_page": str(per_page)}
        status, data, _ = await call(session, sb, "GET", path, params=params)
        assert status == 200
        items = data["data"] if isinstance(data, dict) else data
        if not items:
            return found
        found.append(items)
        page += 1


async def test_projects_page_by_per_page(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    chunks = await pages(session, sandbox, f"/workspaces/{WID}/projects", 2)
    assert [len(c) for c in chunks] == [2, 2, 1]
    names = sorted(p["name"] for c in chunks for p in c)
    assert names == ["Internal", "Mobile App", "Support", "Website", "Website"]
    websites = {p["client_id"]: p["id"] for c in chunks for p in c if p["name"] == "Website"}
    assert websites == {61000001: WEBSITE_ACME, 61000002: WEBSITE_GLOBEX}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"active": "false"}, ["Legacy Migration"]),
        (
            {"active": "both"},
            ["Internal", "Legacy Migration", "Mobile App", "Support", "Website", "Website"],
        ),
        ({"name": "website"}, ["Website", "Website"]),
        ({"search": "app"}, ["Mobile App"]),
    ],
)
async def test_project_filters(
    sandbox: Sandbox, session: aiohttp.ClientSession, query: dict[str, str], expected: list[str]
) -> None:
    status, projects, _ = await call(
        session, sandbox, "GET", f"/workspaces/{WID}/projects", params=query
    )
    assert status == 200
    assert sorted(p["name"] for p in projects) == expected
    assert all(p["workspace_id"] == WID for p in projects)


async def test_page_size_cap_shrinks_pages(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(page_size_cap=2)
    status, projects, _ = await call(session, sb, "GET", f"/workspaces/{WID}/projects")
    assert status == 200
    assert len(projects) == 2
    status, tasks, _ = await call(
        session, sb, "GET", f"/workspaces/{WID}/tasks", params={"per_page": "200"}
    )
    assert (len(tasks["data"]), tasks["per_page"], tasks["total_count"]) == (2, 2, 4)


async def test_tasks_page_with_total_count(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    chunks = await pages(session, sandbox, f"/workspaces/{WID}/tasks", 3, active="both")
    assert [len(c) for c in chunks] == [3, 1]
    names = {t["name"]: t["project_id"] for c in chunks for t in c}
    assert names == {
        "Design": WEBSITE_ACME,
        "Development": WEBSITE_ACME,
        "Triage": SUPPORT,
        "Backend": 201000005,
    }
    status, data, _ = await call(
        session,
        sandbox,
        "GET",
        f"/workspaces/{WID}/tasks",
        params={"pid": str(SUPPORT), "per_page": "3"},
    )
    assert status == 200
    assert data["total_count"] == 1
    assert [t["id"] for t in data["data"]] == [TRIAGE]


async def test_tags_clients_and_workspace_users(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    _, tags, _ = await call(session, sandbox, "GET", f"/workspaces/{WID}/tags")
    assert sorted(t["name"] for t in tags) == ["meeting", "remote", "urgent"]
    _, clients, _ = await call(session, sandbox, "GET", f"/workspaces/{WID}/clients")
    assert sorted(c["name"] for c in clients) == ["Acme Corp", "Globex", "Initech"]
    _, users, _ = await call(session, sandbox, "GET", f"/workspaces/{WID}/workspace_users")
    by_email = {u["email"]: (u["uid"], u["admin"], u["name"]) for u in users}
    assert by_email == {
        "olivia@example.com": (OWNER, True, "Olivia Owner"),
        "max@example.com": (MEMBER, False, "Max Member"),
        "ana@example.com": (104, True, "Ana Admin"),
        "ben@example.com": (105, False, "Ben Member"),
        "cy@example.com": (106, False, "Cy Member"),
    }
    assert all(u["id"] != u["uid"] and u["wid"] == WID for u in users)
    zones = {u["email"]: u["timezone"] for u in users}
    assert (zones["ana@example.com"], zones["ben@example.com"], zones["cy@example.com"]) == (
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
    )


@pytest.mark.parametrize("path", ["/nope", f"/workspaces/{WID}/nope", "/workspaces/abc/projects"])
async def test_unknown_paths_are_404(
    sandbox: Sandbox, session: aiohttp.ClientSession, path: str
) -> None:
    status, text, _ = await call(session, sandbox, "GET", path)
    assert (status, text) == (404, "404 page not found")
    assert sandbox.state.statuses[404] == 1


# -- creating entries -------------------------------------------------------------------------


async def test_create_answers_a_full_time_entry(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    payload = body(
        description="Landing page",
        project_id=WEBSITE_ACME,
        task_id=DESIGN,
        tags=["meeting", "brand-new"],
        billable=True,
    )
    status, entry, resp = await create(session, sandbox, payload)
    assert status == 200
    assert resp.content_type == "application/json"
    expected = {
        "workspace_id": WID,
        "wid": WID,
        "project_id": WEBSITE_ACME,
        "pid": WEBSITE_ACME,
        "task_id": DESIGN,
        "tid": DESIGN,
        "user_id": OWNER,
        "uid": OWNER,
        "start": "2024-03-01T09:00:00+00:00",
        "stop": "2024-03-01T10:00:00+00:00",
        "duration": 3600,
        "description": "Landing page",
        "billable": True,
        "server_deleted_at": None,
    }
    assert {k: entry[k] for k in expected} == expected
    assert entry["tags"] == ["meeting", "brand-new"]
    assert entry["tag_ids"][0] == 15000001
    assert {"id", "at", "permissions", "shared_with"} <= entry.keys()
    assert "project_name" not in entry
    assert sandbox.state.entries == [entry]
    _, tags, _ = await call(session, sandbox, "GET", f"/workspaces/{WID}/tags")
    assert "brand-new" in {t["name"] for t in tags}


async def test_meta_true_adds_names(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    status, entry, _ = await call(
        session,
        sandbox,
        "POST",
        f"/workspaces/{WID}/time_entries",
        params={"meta": "true"},
        json=body(project_id=SUPPORT, task_id=TRIAGE),
    )
    assert status == 200
    assert (entry["project_name"], entry["client_name"], entry["task_name"]) == (
        "Support",
        "Acme Corp",
        "Triage",
    )
    assert entry["user_name"] == "Olivia Owner"


@pytest.mark.parametrize(
    ("changes", "start", "stop", "duration"),
    [
        ({"duration": ..., "stop": "2024-03-01T10:30:00Z"}, "09:00", "10:30", 5400),
        ({"stop": "2024-03-01T10:00:00Z"}, "09:00", "10:00", 3600),
        ({"start": "2024-03-01T10:00:00+01:00"}, "09:00", "10:00", 3600),
        ({"start": "2024-03-01T09:00:00.750Z"}, "09:00", "10:00", 3600),
        ({"duration": 0}, "09:00", "09:00", 0),
        ({"duration": 999 * 3600}, "09:00", "00:00", 999 * 3600),
    ],
)
async def test_start_stop_and_duration_forms(
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    changes: dict[str, Any],
    start: str,
    stop: str,
    duration: int,
) -> None:
    status, entry, _ = await create(session, sandbox, body(**changes))
    assert status == 200, entry
    assert entry["start"][11:16] == start
    assert entry["stop"][11:16] == stop
    assert entry["duration"] == duration


async def test_legacy_fields_are_accepted(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    payload = body(workspace_id=..., wid=WID, pid=SUPPORT, tid=TRIAGE, uid=MEMBER)
    status, entry, _ = await create(session, sandbox, payload)
    assert status == 200
    assert (entry["project_id"], entry["task_id"], entry["user_id"]) == (SUPPORT, TRIAGE, MEMBER)


async def test_only_admins_create_for_others(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    status, entry, _ = await create(session, sandbox, body(user_id=MEMBER))
    assert (status, entry["user_id"]) == (200, MEMBER)
    status, text, resp = await create(
        session, sandbox, body(user_id=OWNER), headers=auth(MEMBER_TOKEN)
    )
    assert status == 400
    assert resp.content_type == "text/plain"
    assert "admin" in text
    status, entry, _ = await create(
        session, sandbox, body(user_id=MEMBER), headers=auth(MEMBER_TOKEN)
    )
    assert (status, entry["user_id"]) == (200, MEMBER)
    assert len(sandbox.state.entries) == 2


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"created_with": ...}, "created_with"),
        ({"created_with": ""}, "created_with"),
        ({"created_with": "   "}, "created_with"),
        ({"created_with": 7}, "created_with"),
        ({"start": ...}, "start"),
        ({"start": "2024-03-01 09:00:00Z"}, "start"),
        ({"start": "2024-03-01T09:00:00"}, "UTC offset"),
        ({"start": "2024-03-01"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"start": 1709283600}, '"start" type number'),
        ({"workspace_id": str(WID)}, '"workspace_id" type string'),
        ({"workspace_id": ...}, "workspace_id"),
        ({"workspace_id": FOREIGN_WID}, "does not match"),
        ({"duration": ..., "stop": "2024-03-01T08:00:00Z"}, "after start"),
        ({"stop": "2024-03-01T10:00:01Z"}, "must equal stop"),
        ({"duration": 999 * 3600 + 1}, "999 hours"),
        ({"duration": ..., "stop": "2024-04-12T09:00:01Z"}, "999 hours"),
        ({"duration": -1}, "negative"),
        ({"duration": 3600.5}, '"duration" type number'),
        ({"duration": "3600"}, '"duration" type string'),
        ({"duration": ...}, "duration or stop"),
        ({"project_id": 999}, "project"),
        ({"project_id": SECRET_LAB}, "project"),
        ({"project_id": LEGACY}, "archived"),
        ({"project_id": "Website"}, '"project_id" type string'),
        ({"task_id": DESIGN}, "project_id"),
        ({"project_id": SUPPORT, "task_id": DESIGN}, "task"),
        ({"tag_action": "add"}, "tag_action"),
        ({"user_id": FOREIGNER}, "member"),
        ({"tags": "meeting"}, '"tags" type string'),
        ({"tags": ["ok", ""]}, "tag name"),
        ({"tag_ids": [1]}, "tag"),
        ({"description": "x" * 3001}, "3000"),
        ({"billable": "yes"}, '"billable" type string'),
    ],
)
async def test_invalid_entries_get_400_plain_text_and_are_not_created(
    sandbox: Sandbox, session: aiohttp.ClientSession, changes: dict[str, Any], needle: str
) -> None:
    status, text, resp = await create(session, sandbox, body(**changes))
    assert status == 400, text
    assert resp.content_type == "text/plain"
    assert needle in text
    assert sandbox.state.entries == []
    _, tags, _ = await call(session, sandbox, "GET", f"/workspaces/{WID}/tags")
    assert len(tags) == 3  # a refused entry creates no tag either


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"not json", "application/json", 400),
        (b"", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"a string"', "application/json", 400),
        (b"\xff\xfe\x00", "application/json", 400),
        (json.dumps(body()).encode(), "text/plain", 400),
        (json.dumps(body()).encode(), "application/x-www-form-urlencoded", 400),
        (io.BytesIO(b"{" + b" " * (20 * 1024 * 1024) + b"}"), "application/json", 413),
    ],
    ids=["text", "empty", "array", "string", "binary", "text-plain", "form", "20MB"],
)
async def test_bad_bodies_are_refused_not_crashed_on(
    sandbox: Sandbox, session: aiohttp.ClientSession, data: Any, content_type: str, status: int
) -> None:
    got, text, resp = await call(
        session,
        sandbox,
        "POST",
        f"/workspaces/{WID}/time_entries",
        data=data,
        headers={**auth(sandbox.token), "Content-Type": content_type},
    )
    assert got == status
    assert resp.content_type == "text/plain"
    assert text
    assert sandbox.state.entries == []
    assert (await call(session, sandbox, "GET", "/me"))[0] == 200  # still serving


async def test_a_missing_content_type_is_read_as_json(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    status, entry, _ = await call(
        session,
        sandbox,
        "POST",
        f"/workspaces/{WID}/time_entries",
        data=json.dumps(body()).encode(),
    )
    assert status == 200
    assert entry["duration"] == 3600


# -- creating projects, clients, tasks --------------------------------------------------------


async def test_create_client_project_task(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    ws = f"/workspaces/{WID}"
    status, client, _ = await call(
        session, sandbox, "POST", ws + "/clients", json={"name": "Hooli"}
    )
    assert status == 200
    assert client["name"] == "Hooli"
    status, text, _ = await call(session, sandbox, "POST", ws + "/clients", json={"name": "hooli"})
    assert (status, text) == (400, "Name has already been taken")

    new_project = {"name": "Website", "client_id": client["id"], "billable": True}
    status, project, _ = await call(session, sandbox, "POST", ws + "/projects", json=new_project)
    assert status == 200
    assert (project["name"], project["client_id"], project["active"]) == (
        "Website",
        client["id"],
        True,
    )
    dup = {"name": "Website", "client_id": 61000001}
    status, text, _ = await call(session, sandbox, "POST", ws + "/projects", json=dup)
    assert (status, text) == (400, "Name has already been taken")
    status, _, _ = await call(session, sandbox, "POST", ws + "/projects", json={"name": "Website"})
    assert status == 200  # no client: a different scope

    path = f"{ws}/projects/{project['id']}/tasks"
    status, task, _ = await call(session, sandbox, "POST", path, json={"name": "QA"})
    assert (status, task["project_id"], task["name"]) == (200, project["id"], "QA")
    status, text, _ = await call(session, sandbox, "POST", path, json={"name": "QA"})
    assert (status, text) == (400, "Name has already been taken")

    _, listed, _ = await call(session, sandbox, "GET", ws + "/projects", params={"name": "Website"})
    assert len(listed) == 4
    _, tasks, _ = await call(
        session, sandbox, "GET", ws + "/tasks", params={"pid": str(project["id"])}
    )
    assert [t["name"] for t in tasks["data"]] == ["QA"]
    status, _, _ = await create(
        session, sandbox, body(project_id=project["id"], task_id=task["id"])
    )
    assert status == 200


@pytest.mark.parametrize(
    ("path", "payload", "needle"),
    [
        ("/clients", {}, "blank"),
        ("/clients", {"name": "  "}, "blank"),
        ("/clients", ["Hooli"], "object"),
        ("/projects", {"name": "X", "client_id": 61000101}, "client_id"),
        ("/projects", {"name": "X", "active": "yes"}, "active"),
        (f"/projects/{SECRET_LAB}/tasks", {"name": "X"}, "project"),
        (f"/projects/{SUPPORT}/tasks", {"name": 5}, "blank"),
    ],
)
async def test_create_entity_refusals(
    sandbox: Sandbox, session: aiohttp.ClientSession, path: str, payload: Any, needle: str
) -> None:
    status, text, _ = await call(session, sandbox, "POST", f"/workspaces/{WID}{path}", json=payload)
    assert status == 400
    assert needle in text


# -- reading entries back ---------------------------------------------------------------------


def day(offset: int, hour: int = 9) -> str:
    moment = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return (moment + timedelta(days=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_of(offset: int) -> str:
    return day(offset)[:10]


async def test_me_time_entries_window(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    ids = {}
    for offset in (-100, -10, -9, -1):
        status, entry, _ = await create(session, sandbox, body(start=day(offset)))
        assert status == 200
        ids[offset] = entry["id"]
    await create(session, sandbox, body(start=day(-10)), headers=auth(MEMBER_TOKEN))

    async def window(start: str, end: str) -> list[int]:
        params = {"start_date": start, "end_date": end}
        status, found, _ = await call(session, sandbox, "GET", "/me/time_entries", params=params)
        assert status == 200
        return [e["id"] for e in found]

    assert await window(date_of(-120), date_of(1)) == [ids[-1], ids[-9], ids[-10]]  # newest first
    assert await window(date_of(-10), date_of(-9)) == [ids[-10]]  # end date excluded
    assert await window(date_of(-10), date_of(-10)) == []
    assert await window(date_of(-101), date_of(-99)) == []  # beyond the ~3 months reach
    status, _, _ = await call(
        session, sandbox, "GET", "/me/time_entries", params={"start_date": date_of(-1)}
    )
    assert status == 400


async def test_me_time_entries_reach_follows_the_injected_clock(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    sb = await sandbox_factory(clock=lambda: datetime(2024, 6, 1, tzinfo=UTC))
    ids = []
    for start in ("2024-02-25T09:00:00Z", "2024-03-05T09:00:00Z"):  # 97 and 88 days old
        status, entry, _ = await create(session, sb, body(start=start))
        assert status == 200
        ids.append(entry["id"])
    assert entry["at"] == "2024-06-01T00:00:00+00:00"
    params = {"start_date": "2024-01-01", "end_date": "2024-07-01"}
    _, found, _ = await call(session, sb, "GET", "/me/time_entries", params=params)
    assert [e["id"] for e in found] == ids[1:]


SEARCH = f"/reports/api/v3/workspace/{WID}/search/time_entries"


async def search_all(
    session: aiohttp.ClientSession, sb: Sandbox, query: dict[str, Any], token: str | None = None
) -> tuple[list[list[dict[str, Any]]], list[tuple[str | None, str | None]]]:
    pages, cursors, query = [], [], dict(query)
    while True:
        status, rows, resp = await call(
            session,
            sb,
            "POST",
            sb.reports_url + SEARCH.removeprefix("/reports/api/v3"),
            json=query,
            headers=auth(token or sb.token),
        )
        assert status == 200, rows
        pages.append(rows)
        cursors.append((resp.headers.get("X-Next-ID"), resp.headers.get("X-Next-Row-Number")))
        if "X-Next-Row-Number" not in resp.headers:
            return pages, cursors
        query["first_id"] = int(resp.headers["X-Next-ID"])
        query["first_row_number"] = int(resp.headers["X-Next-Row-Number"])


async def test_reports_search_pages_through_next_headers(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    created = []
    for n in range(5):
        start = f"2023-01-0{n + 2}T09:00:00Z"
        status, entry, _ = await create(session, sandbox, body(start=start))
        assert status == 200, entry
        created.append(entry["id"])
    await create(session, sandbox, body(start="2023-01-20T09:00:00Z"))  # outside the dates
    query = {"start_date": "2023-01-02", "end_date": "2023-01-06", "page_size": 2}
    pages, cursors = await search_all(session, sandbox, query)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert cursors == [(str(created[2]), "3"), (str(created[4]), "5"), (None, None)]
    rows = [row for page in pages for row in page]
    assert [r["row_number"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["time_entries"][0]["id"] for r in rows] == created
    first = rows[0]
    assert (first["user_id"], first["username"], first["time_entries"][0]["seconds"]) == (
        OWNER,
        "Olivia Owner",
        3600,
    )
    assert {
        "project_id",
        "task_id",
        "billable",
        "description",
        "tag_ids",
        "billable_amount_in_cents",
        "hourly_rate_in_cents",
        "currency",
    } <= first.keys()


async def test_reports_search_users(sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
    await create(session, sandbox, body())
    await create(session, sandbox, body(user_id=MEMBER))
    query = {"start_date": "2024-03-01", "end_date": "2024-03-01"}
    pages, _ = await search_all(session, sandbox, query)
    assert sorted(r["user_id"] for r in pages[0]) == [OWNER, MEMBER]  # admin sees everyone
    pages, _ = await search_all(session, sandbox, {**query, "user_ids": [MEMBER]})
    assert [r["user_id"] for r in pages[0]] == [MEMBER]
    pages, _ = await search_all(session, sandbox, query, token=MEMBER_TOKEN)
    assert [r["user_id"] for r in pages[0]] == [MEMBER]  # a member sees only themselves
    status, text, _ = await call(
        session,
        sandbox,
        "POST",
        sandbox.reports_url + f"/workspace/{WID}/search/time_entries",
        json={"end_date": "2024-03-01"},
    )
    assert status == 400
    assert "start_date" in text


# -- admin ------------------------------------------------------------------------------------


async def test_admin_entries_stats_config_reset(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    await create(session, sandbox, body(tags=["fresh"]))
    await create(session, sandbox, body(created_with=...))
    await call(session, sandbox, "GET", "/me", headers={})
    async with session.get(sandbox.admin_url + "/entries") as resp:
        assert [e["tags"] for e in await resp.json()] == [["fresh"]]
    async with session.get(sandbox.admin_url + "/stats") as resp:
        stats = await resp.json()
    assert stats["requests"] == {"POST /workspaces/{wid}/time_entries": 2, "GET /me": 1}
    assert stats["statuses"] == {"200": 1, "400": 1, "403": 1}
    assert stats["entries"] == 1

    async with session.post(sandbox.admin_url + "/config", json={"nope": 1}) as resp:
        assert resp.status == 400
    async with session.post(sandbox.admin_url + "/config", json={"fail_500": 2}) as resp:
        assert resp.status == 400
    async with session.post(sandbox.admin_url + "/config", json={"fail_500": 1}) as resp:
        assert (resp.status, (await resp.json())["fail_500"]) == (200, 1.0)
    assert (await create(session, sandbox, body()))[0] == 500

    async with session.post(sandbox.admin_url + "/reset") as resp:
        assert resp.status == 200
    assert sandbox.state.entries == []
    assert sum(sandbox.state.requests.values()) == 0
    _, tags, _ = await call(session, sandbox, "GET", f"/workspaces/{WID}/tags")
    assert "fresh" not in {t["name"] for t in tags}
    assert sandbox.options.fail_500 == 1.0  # reset keeps the options


async def test_configure_checks_names_and_token(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(ValueError, match="unknown"):
        sandbox.configure(speed=3)
    sandbox.configure(token="another-token")
    assert (await call(session, sandbox, "GET", "/me", headers=auth("sandbox-token")))[0] == 403
    status, me, _ = await call(session, sandbox, "GET", "/me", headers=auth("another-token"))
    assert (status, me["id"]) == (200, OWNER)


async def test_custom_seed_file(
    sandbox_factory: Any, session: aiohttp.ClientSession, tmp_path: Any
) -> None:
    seed = {
        "workspaces": [{"id": 5, "organization_id": 6, "name": "Tiny"}],
        "users": [{"id": 7, "email": "t@example.com", "fullname": "T", "default_workspace_id": 5}],
        "workspace_users": [{"id": 8, "uid": 7, "wid": 5, "admin": True}],
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    sb = await sandbox_factory(SandboxOptions(seed_path=path, token="tiny"))
    status, me, _ = await call(session, sb, "GET", "/me")
    assert (status, me["id"], me["default_workspace_id"]) == (200, 7, 5)
    status, entry, _ = await call(
        session, sb, "POST", "/workspaces/5/time_entries", json=body(workspace_id=5)
    )
    assert (status, entry["workspace_id"]) == (200, 5)
