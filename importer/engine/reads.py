"""The client as name resolution, read-back and change detection use it: every read retried.

A read that got a 429, a quota refusal, a 5xx or lost its answer is simply asked again (a paged
listing from its first page). Creating a project, client or task is sent again only when it was
certainly not applied; when its answer was lost, the listing is read first (``_create_or_find``).
``me()`` is asked once per run (its bucket is small).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date
from typing import Any, TypeVar

from ..client import TogglClient
from ..errors import MaybeAppliedError
from ..retry import RetryPolicy

T = TypeVar("T")

CREATE_ATTEMPTS = 3
"""Sends of one project, client or task whose answer was lost (each followed by a look)."""


class Reads:
    """Retrying reads (and careful creates of names) over one client."""

    def __init__(self, client: TogglClient, policy: RetryPolicy) -> None:
        self._client = client
        self._call = policy.call
        self._me: dict[str, Any] | None = None

    async def get_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        return await self._call(lambda: self._client.get_all(path, params))

    async def me(self) -> dict[str, Any]:
        if self._me is None:
            self._me = await self._call(self._client.me)
        return self._me

    async def my_time_entries(self, start_date: date, end_date: date) -> list[dict[str, Any]]:
        return await self._call(lambda: self._client.my_time_entries(start_date, end_date))

    async def my_changes_since(self, since: float) -> list[dict[str, Any]]:
        return await self._call(lambda: self._client.my_changes_since(since))

    async def search_time_entries(
        self,
        workspace_id: int,
        start_date: date,
        end_date: date,
        user_ids: list[int] | None = None,
    ) -> list[dict[str, Any]]:
        return await self._call(
            lambda: self._client.search_time_entries(workspace_id, start_date, end_date, user_ids)
        )

    async def create_project(
        self, workspace_id: int, name: str, client_id: int | None = None
    ) -> dict[str, Any]:
        return await self._create_or_find(
            lambda: self._client.create_project(workspace_id, name, client_id),
            f"/workspaces/{workspace_id}/projects",
            {"active": "both"},
            name,
            ("client_id", client_id),
        )

    async def create_client(self, workspace_id: int, name: str) -> dict[str, Any]:
        return await self._create_or_find(
            lambda: self._client.create_client(workspace_id, name),
            f"/workspaces/{workspace_id}/clients",
            None,
            name,
            None,
        )

    async def create_task(self, workspace_id: int, project_id: int, name: str) -> dict[str, Any]:
        return await self._create_or_find(
            lambda: self._client.create_task(workspace_id, project_id, name),
            f"/workspaces/{workspace_id}/tasks",
            {"active": "both"},
            name,
            ("project_id", project_id),
        )

    async def _create_or_find(
        self,
        make: Callable[[], Awaitable[dict[str, Any]]],
        listing: str,
        params: dict[str, Any] | None,
        name: str,
        parent: tuple[str, int | None] | None,
    ) -> dict[str, Any]:
        """Create a project, client or task; when the answer was lost, look before sending again.

        The resolver creates only names it did not find, so one of that name (and parent) seen
        after a lost answer is ours -- or someone else's made meanwhile: either way the one to use.
        """
        wanted = name.strip().casefold()
        for _ in range(CREATE_ATTEMPTS):
            try:
                return await self._call(make)
            except MaybeAppliedError:
                for item in await self.get_all(listing, params):
                    if str(item.get("name", "")).strip().casefold() != wanted:
                        continue
                    if parent is None or item.get(parent[0]) == parent[1]:
                        return dict(item)
        raise MaybeAppliedError(
            f"creating {name!r}: no answer came {CREATE_ATTEMPTS} times and it is not in Toggl;"
            " run the command again later"
        )


class Readers:
    """Whose reads look at a ledger row's entry: its person's lane (``[tokens]``: their token sees
    their own entries with one ``since`` read and spends their quota, not the main one), else the
    run's own."""

    def __init__(
        self,
        lanes: Mapping[str, Reads],
        lane_of: Callable[[dict[str, Any] | None], str] | None = None,
        users: Mapping[str, int] | None = None,
    ):
        self.lanes = lanes
        self._lane_of = lane_of
        self.users = dict(users or {})
        """lane → the user id of its token, where known (a person's: their rows are their own)."""

    @classmethod
    def single(cls, reads: Reads) -> Readers:
        return cls({"": reads})

    def lane_of(self, body: dict[str, Any] | None) -> str:
        lane = self._lane_of(body) if self._lane_of is not None else ""
        return lane if lane in self.lanes else ""

    def group(self, records: Iterable[T], body: Callable[[T], dict[str, Any] | None]) -> dict[str, list[T]]:
        """``records`` by lane (the main lane first), each keeping its order."""
        out: dict[str, list[T]] = {}
        for rec in records:
            out.setdefault(self.lane_of(body(rec)), []).append(rec)
        return dict(sorted(out.items()))
