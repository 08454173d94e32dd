"""The Toggl endpoints the importer calls, over ``TogglClient.request`` (the one request path).

Reads: listings paged with ``page``/``per_page`` (``get_all``), ``/me`` and its quota, the
caller's entries by dates or changed ``since`` a moment, and the Reports API's detailed search
of anyone's entries, paged by headers. Writes: time entries (create, update, delete) and the
names ``--create-missing`` makes (projects, clients, tasks). Each is one request (a listing or a
search: one per page) under the client's limiter; statuses become ``errors.py`` types there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from .errors import PermanentError

if TYPE_CHECKING:
    from .client import Answer

NEXT_ID = "X-Next-ID"
NEXT_ROW_NUMBER = "X-Next-Row-Number"
DEFAULT_REPORTS_PAGE_SIZE = 50


class Endpoints:
    """The API calls, mixed into ``TogglClient`` (which gives ``request`` and ``per_page``)."""

    per_page: int
    request: Callable[..., Awaitable[Answer]]
    """``TogglClient.request``: the one request path."""

    # -- reads -------------------------------------------------------------------------------

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return (await self.request("GET", path, params=params)).data

    async def get_all(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        per_page: int | None = None,
    ) -> list[Any]:
        """Every item of a listing, paging with ``page``/``per_page``.

        Takes both a plain list and ``{data, page, per_page, total_count}``. With a
        ``total_count`` it pages until that many items came (a server may shrink pages); a plain
        list ends at a page shorter than ``per_page`` — Toggl honours ``per_page`` up to 200, so
        asking for one more page to be sure would cost every run a request per kind. An
        endpoint that ignores paging (it sends the same first page again) ends the loop.
        """
        per_page = per_page or self.per_page
        out: list[Any] = []
        first: Any = object()
        page = 1
        while True:
            data = await self.get_json(path, {**(params or {}), "page": page, "per_page": per_page})
            total = None
            if isinstance(data, dict) and "data" in data:
                items = data.get("data") or []
                total = data.get("total_count")
            elif isinstance(data, list):
                items = data
            elif data is None:
                items = []
            else:
                raise PermanentError(f"GET {path}: expected a list, got {type(data).__name__}")
            if page > 1 and items and _same(items[0], first):
                break  # paging ignored: this is the first page again
            if page == 1 and items:
                first = items[0]
            out.extend(items)
            if isinstance(total, int):
                if len(out) >= total or not items:
                    return out
            elif len(items) < per_page:
                return out
            page += 1
        return out

    async def me(self) -> dict[str, Any]:
        data: dict[str, Any] = await self.get_json("/me")
        return data

    async def quota(self) -> list[dict[str, Any]]:
        """``GET /me/quota``: ``[{organization_id, remaining, resets_in_secs, total}]``."""
        return list(await self.get_json("/me/quota") or [])

    async def my_changes_since(self, since: float) -> list[dict[str, Any]]:
        """``GET /me/time_entries?since=UNIX``: every entry of the caller's (in any workspace)
        created, changed or deleted since that moment -- deleted ones with ``server_deleted_at``."""
        return list(await self.get_json("/me/time_entries", {"since": int(since)}) or [])

    async def my_time_entries(self, start_date: date, end_date: date) -> list[dict[str, Any]]:
        """The caller's own entries starting in ``[start_date, end_date]`` (about 3 months back).

        Toggl is reported to answer nothing when both dates are equal, so such a window is widened
        by a day.
        """
        if end_date <= start_date:
            end_date = start_date + timedelta(days=1)
        params = {"start_date": start_date.isoformat(), "end_date": end_date.isoformat()}
        return list(await self.get_json("/me/time_entries", params) or [])

    async def search_time_entries(
        self,
        wid: int,
        start_date: date,
        end_date: date,
        user_ids: Iterable[int] | None = None,
        *,
        page_size: int = DEFAULT_REPORTS_PAGE_SIZE,
    ) -> list[dict[str, Any]]:
        """Any user's entries (Reports API v3 detailed search), flattened to one dict per entry.

        Pages through ``X-Next-ID`` / ``X-Next-Row-Number``, sent back as ``first_id`` /
        ``first_row_number``. Entries: ``{id, user_id, project_id, task_id, description, start,
        stop, duration, billable, tag_ids[, tags]}``.
        """
        body: dict[str, Any] = {
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
            "page_size": page_size,
        }
        if user_ids is not None:
            body["user_ids"] = list(user_ids)
        path = f"/workspace/{wid}/search/time_entries"
        out: list[dict[str, Any]] = []
        while True:
            answer = await self.request("POST", path, json=body, base="reports", idempotent=True)
            out.extend(_flatten(answer.data or []))
            next_id = _int(answer.headers.get(NEXT_ID))
            if next_id is None or next_id == body.get("first_id"):
                return out  # the last page (or a server that repeats itself)
            body = {**body, "first_id": next_id}
            row = _int(answer.headers.get(NEXT_ROW_NUMBER))
            if row is not None:
                body["first_row_number"] = row

    # -- writes ------------------------------------------------------------------------------

    async def create_time_entry(self, workspace_id: int, body: dict[str, Any] | bytes) -> Any:
        """``POST /workspaces/{wid}/time_entries``: the created TimeEntry as a dict."""
        path = f"/workspaces/{workspace_id}/time_entries"
        return (await self.request("POST", path, json=body)).data

    async def update_time_entry(self, workspace_id: int, entry_id: int, body: dict[str, Any]) -> Any:
        """``PUT /workspaces/{wid}/time_entries/{id}``: the updated TimeEntry. Idempotent: a lost
        answer is simply asked again (the retry policy does). 404: the entry is gone."""
        path = f"/workspaces/{workspace_id}/time_entries/{int(entry_id)}"
        return (await self.request("PUT", path, json=body)).data

    async def delete_time_entry(self, workspace_id: int, entry_id: int) -> None:
        """``DELETE /workspaces/{wid}/time_entries/{id}``. Idempotent; 404: it was gone already."""
        await self.request("DELETE", f"/workspaces/{workspace_id}/time_entries/{int(entry_id)}")

    async def create_project(self, wid: int, name: str, client_id: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "active": True}
        if client_id is not None:
            body["client_id"] = client_id
        data: dict[str, Any] = (await self.request("POST", f"/workspaces/{wid}/projects", json=body)).data
        return data

    async def create_client(self, wid: int, name: str) -> dict[str, Any]:
        data: dict[str, Any] = (
            await self.request("POST", f"/workspaces/{wid}/clients", json={"name": name, "wid": wid})
        ).data
        return data

    async def create_task(self, wid: int, pid: int, name: str) -> dict[str, Any]:
        data: dict[str, Any] = (
            await self.request(
                "POST", f"/workspaces/{wid}/projects/{pid}/tasks", json={"name": name, "active": True}
            )
        ).data
        return data


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict) and "id" in a:
        return bool(a.get("id") == b.get("id"))
    return bool(a == b)


def _flatten(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reports rows (entries grouped under shared fields) to one dict per time entry."""
    out: list[dict[str, Any]] = []
    for row in rows:
        shared = {
            "user_id": row.get("user_id"),
            "project_id": row.get("project_id"),
            "task_id": row.get("task_id"),
            "description": row.get("description"),
            "billable": row.get("billable"),
            "tag_ids": row.get("tag_ids") or [],
        }
        if row.get("tags") is not None:
            shared["tags"] = row["tags"]
        for te in row.get("time_entries") or []:
            out.append(
                {
                    "id": te.get("id"),
                    **shared,
                    "start": te.get("start"),
                    "stop": te.get("stop"),
                    "duration": te.get("seconds", te.get("duration")),
                    "at": te.get("at"),
                }
            )
    return out
