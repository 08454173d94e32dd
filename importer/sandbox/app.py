"""The aiohttp application: Toggl API v9 and Reports v3 endpoints the importer uses, plus admin.

Under ``/api/v9`` (every one needs Basic auth; ``ws`` ones membership of the workspace):

- ``GET /me``, ``GET /me/quota`` (costs nothing), ``GET /me/workspaces``
- ``GET /me/time_entries`` — ``start_date``/``end_date``, or ``since`` (see ``me_time_entries``)
- ``GET /me/time_entries/{id}`` — one live entry of the caller's (or of a workspace it admins)
- ``GET /workspaces/{wid}``, ``.../projects``, ``.../tasks``, ``.../clients``, ``.../tags``,
  ``.../workspace_users``
- ``POST /workspaces/{wid}/projects``, ``.../clients``, ``.../projects/{pid}/tasks``
- ``POST /workspaces/{wid}/time_entries``; ``PUT`` and ``DELETE
  /workspaces/{wid}/time_entries/{id}`` (``writes``)

and ``POST /reports/api/v3/workspace/{wid}/search/time_entries``. Admin endpoints: ``admin``.

Errors are plain text like Toggl's; times in answers look like ``2024-03-01T09:00:00+00:00``.
Paging: ``page`` (1-based) and ``per_page`` for projects (default 151), tasks (default 50;
``{data, page, per_page, total_count}``) and, only when asked, tags — at most 200 a page. The
Reports search pages by ``page_size`` (default and most 50) with ``first_row_number``/``first_id``
and the ``X-Next-ID``/``X-Next-Row-Number`` headers. ``SandboxOptions.page_size_cap`` lowers every
page size silently, as a server may: a client should page until a page comes back empty (or,
for tasks, until ``total_count`` is reached), not stop at the first page shorter than it asked.
Dates of ``/me/time_entries`` and of the search are read as UTC dates, whatever the caller's
profile zone (Toggl may read them in that zone: ask for a day more on each side). Deleted
entries are left out of every read but ``since``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from importer.sandbox import admin, entries, params, reads
from importer.sandbox.entries import BadRequest
from importer.sandbox.gate import Bucket, Gate, Handler, as_json, text
from importer.sandbox.state import Json
from importer.sandbox.writes import ENTRY_NOT_FOUND, Writes

API = "/api/v9"
REPORTS = "/reports/api/v3"
PROJECTS_PER_PAGE, TASKS_PER_PAGE, PER_PAGE_MAX = 151, 50, 200
REPORT_PAGE_SIZE = 50
NOT_FOUND = "404 page not found"


class SandboxApp:
    """Handlers over one ``Gate`` (behaviour) and its ``SandboxState`` (data)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.state = gate.state
        self.writes = Writes(gate)
        self.web_app = web.Application(client_max_size=params.MAX_BODY)
        self._routes()

    def _size(self, asked: int, maximum: int) -> int:
        """A page size: what was asked, at most ``maximum`` and ``page_size_cap``."""
        cap = self.gate.options.page_size_cap
        return min(asked, maximum, cap) if cap else min(asked, maximum)

    def _page(self, query: Any, default: int) -> tuple[int, int]:
        """``page`` (1-based) and ``per_page`` (at most 200, like Toggl) from the query."""
        page = params.positive(query, "page", 1)
        return page, self._size(params.positive(query, "per_page", default), PER_PAGE_MAX)

    def _routes(self) -> None:
        w = self.writes
        table: list[tuple[str, str, str, Handler, Bucket]] = [
            ("GET", API, "/me", self.me, "me"),
            ("GET", API, "/me/quota", self.me_quota, "free"),
            ("GET", API, "/me/workspaces", self.me_workspaces, "me"),
            ("GET", API, "/me/time_entries", self.me_time_entries, "me"),
            ("GET", API, "/me/time_entries/{id}", self.me_time_entry, "me"),
            ("GET", API, "/workspaces/{wid}", self.workspace, "ws"),
            ("GET", API, "/workspaces/{wid}/projects", self.projects, "ws"),
            ("POST", API, "/workspaces/{wid}/projects", w.create_project, "ws"),
            ("GET", API, "/workspaces/{wid}/tasks", self.tasks, "ws"),
            ("POST", API, "/workspaces/{wid}/projects/{pid}/tasks", w.create_task, "ws"),
            ("GET", API, "/workspaces/{wid}/clients", self.clients, "ws"),
            ("POST", API, "/workspaces/{wid}/clients", w.create_client, "ws"),
            ("GET", API, "/workspaces/{wid}/tags", self.tags, "ws"),
            ("GET", API, "/workspaces/{wid}/workspace_users", self.workspace_users, "ws"),
            ("POST", API, "/workspaces/{wid}/time_entries", w.create_time_entry, "ws"),
            ("PUT", API, "/workspaces/{wid}/time_entries/{id}", w.update_time_entry, "ws"),
            ("DELETE", API, "/workspaces/{wid}/time_entries/{id}", w.delete_time_entry, "ws"),
            ("POST", REPORTS, "/workspace/{wid}/search/time_entries", self.search, "ws"),
        ]
        router = self.web_app.router
        for method, base, route, handler, bucket in table:
            path = base + route
            for part in ("wid", "pid", "id"):
                path = path.replace(f"{{{part}}}", f"{{{part}:\\d+}}")
            name = route if base == API else base + route
            router.add_route(method, path, self.gate.guard(handler, method, name, bucket))
        admin.add_routes(self)
        router.add_route("*", "/{tail:.*}", self.not_found)

    async def not_found(self, request: web.Request) -> web.Response:
        self.state.requests[(request.method, "(unknown)")] += 1
        self.state.statuses[404] += 1
        return text(404, NOT_FOUND)

    # -- /me -----------------------------------------------------------------------------------

    async def me(self, request: web.Request, user: Json, ws: Json | None) -> web.Response:
        return as_json(self.state.me_json(user))

    async def me_quota(self, request: web.Request, user: Json, ws: Json | None) -> web.Response:
        """Configured buckets only (an unlimited one is left out); this request costs nothing."""
        gate, buckets = self.gate, []
        if gate.quota is not None:
            orgs = sorted(
                {
                    self.state.workspaces[wid].get("organization_id")
                    for (uid, wid) in self.state.memberships
                    if uid == user["id"] and wid in self.state.workspaces
                },
                key=lambda org: org or 0,
            )
            for org in orgs:
                remaining, resets_in = gate.quota.peek((user["id"], org))
                buckets.append(_bucket(org, remaining, resets_in, gate.quota.limit))
        if gate.me_quota is not None:
            remaining, resets_in = gate.me_quota.peek((user["id"], None))
            buckets.append(_bucket(None, remaining, resets_in, gate.me_quota.limit))
        return as_json(buckets)

    async def me_workspaces(
        self, request: web.Request, user: Json, ws: Json | None
    ) -> web.Response:
        mine = [
            self.state.workspace_json(self.state.workspaces[wid])
            for (uid, wid) in self.state.memberships
            if uid == user["id"] and wid in self.state.workspaces
        ]
        return as_json(mine)

    async def me_time_entries(
        self, request: web.Request, user: Json, ws: Json | None
    ) -> web.Response:
        """Own live entries starting in ``[start_date, end_date)``, at most 90 days old; or,
        with ``since`` (UNIX seconds, within those 90 days), own entries of any start whose
        ``at`` is at or after it, deleted ones included. ``since`` with dates is a 400."""
        query = request.query
        reach = (self.gate.clock() - entries.ME_TIME_ENTRIES_REACH).timestamp()
        try:
            if "since" in query:
                if "start_date" in query or "end_date" in query:
                    raise BadRequest("since cannot be combined with start_date or end_date")
                since = params.unix(query["since"], "since")
                if since < reach:
                    raise BadRequest("since must be within the last 3 months")
                return as_json(reads.modified_since(self.state, user["id"], since))
            if "start_date" in query or "end_date" in query:
                if "start_date" not in query or "end_date" not in query:
                    raise BadRequest("start_date and end_date must be given together")
                start = params.edge(query["start_date"], "start_date")
                until = params.edge(query["end_date"], "end_date")
                if until < start:
                    raise BadRequest("end_date must not be earlier than start_date")
            else:
                start, until = reach, float("inf")
        except BadRequest as exc:
            return text(400, str(exc))
        return as_json(reads.my_entries(self.state, user["id"], max(start, reach), until))

    async def me_time_entry(
        self, request: web.Request, user: Json, ws: Json | None
    ) -> web.Response:
        """One live entry the caller owns, or of a workspace the caller administers; else 404."""
        entry = self.state.live_entry(int(request.match_info["id"]))
        if entry is None or (
            entry["user_id"] != user["id"]
            and not self.state.is_admin(user["id"], entry["workspace_id"])
        ):
            return text(404, ENTRY_NOT_FOUND)
        meta = request.query.get("meta", "").lower() == "true"
        return as_json(entries.answer(self.state, entry, meta))

    # -- workspace reads -----------------------------------------------------------------------

    async def workspace(self, request: web.Request, user: Json, ws: Json | None) -> web.Response:
        assert ws is not None
        return as_json(self.state.workspace_json(ws))

    async def projects(self, request: web.Request, user: Json, ws: Json | None) -> web.Response:
        assert ws is not None
        query = request.query
        try:
            active = params.flag(query, "active", "true")
            page, per_page = self._page(query, PROJECTS_PER_PAGE)
        except BadRequest as exc:
            return text(400, str(exc))
        name = query.get("name", "").strip().lower()
        search = query.get("search", "").strip().lower()
        found = sorted(
            (
                p
                for p in self.state.projects.values()
                if p["wid"] == ws["id"]
                and (active is None or p.get("active", True) == active)
                and (not name or p["name"].lower() == name)
                and (not search or search in p["name"].lower())
            ),
            key=lambda p: (p["name"].lower(), p["id"]),
        )
        chunk = found[(page - 1) * per_page : page * per_page]
        return as_json([self.state.project_json(p) for p in chunk])

    async def tasks(self, request: web.Request, user: Json, ws: Json | None) -> web.Response:
        assert ws is not None
        query = request.query
        try:
            active = params.flag(query, "active", "true")
            page, per_page = self._page(query, TASKS_PER_PAGE)
            pid = params.positive(query, "pid", 0) or None
        except BadRequest as exc:
            return text(400, str(exc))
        found = sorted(
            (
                t
                for t in self.state.tasks.values()
                if t["wid"] == ws["id"]
                and (pid is None or t["pid"] == pid)
                and (active is None or t.get("active", True) == active)
            ),
            key=lambda t: t["id"],
        )
        chunk = found[(page - 1) * per_page : page * per_page]
        data = [self.state.task_json(t) for t in chunk]
        total = len(found)
        return as_json({"data": data, "page": page, "per_page": per_page, "total_count": total})

    async def clients(self, request: web.Request, user: Json, ws: Json | None) -> web.Response:
        assert ws is not None
        name = request.query.get("name", "").strip().lower()
        found = [
            self.state.client_json(c)
            for c in self.state.clients.values()
            if c["wid"] == ws["id"] and (not name or c["name"].lower() == name)
        ]
        return as_json(found)

    async def tags(self, request: web.Request, user: Json, ws: Json | None) -> web.Response:
        """All tags, or one page of them when ``page`` or ``per_page`` is given."""
        assert ws is not None
        found = [self.state.tag_json(t) for t in self.state.tags.values() if t["wid"] == ws["id"]]
        query = request.query
        if "page" in query or "per_page" in query:
            try:
                page, per_page = self._page(query, PER_PAGE_MAX)
            except BadRequest as exc:
                return text(400, str(exc))
            found = found[(page - 1) * per_page : page * per_page]
        return as_json(found)

    async def workspace_users(
        self, request: web.Request, user: Json, ws: Json | None
    ) -> web.Response:
        assert ws is not None
        found = [
            self.state.workspace_user_json(m)
            for (_uid, wid), m in self.state.memberships.items()
            if wid == ws["id"]
        ]
        return as_json(found)

    # -- reports -------------------------------------------------------------------------------

    async def search(self, request: web.Request, user: Json, ws: Json | None) -> web.Response:
        """Reports v3 detailed search: dates inclusive, any age; members see only themselves."""
        assert ws is not None
        try:
            body = params.body_object(await params.read_json(request))
            first_day = entries.parse_day(body.get("start_date"), "start_date")
            end = body.get("end_date")
            last_day = first_day if end is None else entries.parse_day(end, "end_date")
            if last_day < first_day:
                raise BadRequest("end_date must not be earlier than start_date")
            users = params.user_ids(body.get("user_ids"))
            size = self._size(params.int_or(body, "page_size", REPORT_PAGE_SIZE), REPORT_PAGE_SIZE)
            first_row = params.int_or(body, "first_row_number", 0)
            first_id = params.int_or(body, "first_id", 0)
        except BadRequest as exc:
            return text(400, str(exc))
        except params.TooLarge:
            return params.too_large()
        if not self.state.is_admin(user["id"], ws["id"]):
            users = {user["id"]} if users is None else users & {user["id"]}
        found = reads.report_entries(self.state, ws["id"], first_day, last_day, users)
        start = first_row - 1 if first_row else 0
        if first_id and not first_row:
            start = next((i for i, e in enumerate(found) if e["id"] == first_id), len(found))
        page = found[start : start + size]
        response = as_json(
            [reads.report_row(self.state, e, start + i + 1) for i, e in enumerate(page)]
        )
        if start + size < len(found):
            response.headers["X-Next-ID"] = str(found[start + size]["id"])
            response.headers["X-Next-Row-Number"] = str(start + size + 1)
        return response


def _bucket(org: int | None, remaining: int, resets_in: int, total: int) -> Json:
    return {
        "organization_id": org,
        "remaining": remaining,
        "resets_in_secs": resets_in,
        "total": total,
    }
