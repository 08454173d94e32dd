"""Names to ids: projects (scoped by client), clients, tasks and user emails.

Each entity kind is fetched once per run, with paging, the first time a row needs it, and cached;
every later row is answered from the cache, however many rows there are. Matching follows the
contract: an exact name first, else a unique match ignoring case and surrounding spaces; with a
client, only that client's projects count. No match, or several equal matches, refuses the row
naming the candidates (and a "did you mean" from the known names) — or, with ``create_missing``,
the project/client/task is created exactly once and used from then on.

An email resolves to a workspace member's id; when ``workspace_users`` says who is an admin and
the token's user is not one, an email of someone else is refused (Toggl takes entries for other
people from admins only): that costs one ``GET /me`` per run, asked only then.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import messages
from .errors import PermanentError


class ReadClient(Protocol):
    async def get_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]: ...
    async def create_project(
        self, workspace_id: int, name: str, client_id: int | None = None
    ) -> dict[str, Any]: ...
    async def create_client(self, workspace_id: int, name: str) -> dict[str, Any]: ...
    async def create_task(self, workspace_id: int, project_id: int, name: str) -> dict[str, Any]: ...
    async def me(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Unresolved:
    """Why a name did not become an id: the column it came from and a message with the fix."""

    column: str
    message: str
    reason: str


Resolution = int | Unresolved
Triple = tuple[str | None, str | None, str | None]
"""(client, project, task) names of a row."""
TripleResult = tuple[int | None, int | None] | Unresolved
"""(project_id, task_id) of a triple, or why it did not resolve."""


def _key(name: str) -> str:
    return name.strip().casefold()


@dataclass
class _Named:
    id: int
    name: str
    active: bool = True
    parent: int | None = None  # client id of a project, project id of a task


@dataclass
class _Catalogue:
    """Entities of one kind, indexed by their folded name."""

    kind: str
    items: list[_Named] = field(default_factory=list)

    def add(self, item: _Named) -> None:
        self.items.append(item)

    def match(self, name: str, parent: int | None = None, scoped: bool = False) -> list[_Named]:
        pool = [i for i in self.items if not scoped or i.parent == parent]
        exact = [i for i in pool if i.name == name]
        if not exact:
            exact = [i for i in pool if _key(i.name) == _key(name)]
        if len(exact) > 1:
            active = [i for i in exact if i.active]
            if len(active) == 1:
                return active
        return exact

    def one_edit_away(self, name: str, parent: int | None = None, scoped: bool = False) -> str | None:
        """An existing name one edit (insert, delete, replace, swap; case ignored) from ``name``."""
        wanted = _key(name)
        for item in self.items:
            if (not scoped or item.parent == parent) and _one_edit(_key(item.name), wanted):
                return item.name
        return None

    def suggest(self, name: str, parent: int | None = None, scoped: bool = False) -> list[str]:
        names = sorted({i.name for i in self.items if not scoped or i.parent == parent})
        return difflib.get_close_matches(name, names, n=3, cutoff=0.6)


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one insert, delete, replace or adjacent swap."""
    if a == b or abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < 3:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1 :]


@dataclass
class NameCache:
    """What a resolver fetched, by workspace: pass one to several runs that may share it (the
    demo's two passes over its own sandbox, where nothing else changes a name)."""

    catalogues: dict[tuple[int, str], _Catalogue] = field(default_factory=dict)
    users: dict[int, dict[str, int]] = field(default_factory=dict)
    admins: dict[int, frozenset[int] | None] = field(default_factory=dict)
    """Per workspace, the ids of its admins; ``None`` when the listing does not say."""
    caller: int | None = None
    """The id of the token's user (``/me``), once asked."""


class Resolver:
    """Resolves names for one workspace, fetching each kind at most once per run."""

    def __init__(
        self,
        client: ReadClient,
        workspace_id: int,
        *,
        create_missing: bool = False,
        plan_only: bool = False,
        cache: NameCache | None = None,
    ) -> None:
        self._client = client
        self._wid = workspace_id
        self._create = create_missing
        self._plan_only = plan_only
        self.would_create: list[tuple[str, str]] = []
        """With ``plan_only`` (a dry run): (kind, name) of what ``create_missing`` would create."""
        self._cache = cache if cache is not None else NameCache()
        self._locks: dict[str, asyncio.Lock] = {}
        self.created: list[tuple[str, str]] = []
        """(kind, name) of everything created with ``create_missing``."""
        self._refused: dict[tuple[str, str, int | None], Unresolved] = {}
        """Creates Toggl refused for good, by (kind, name key, parent)."""

    # -- fetching, once per kind -------------------------------------------------------------
    async def _catalogue(self, kind: str) -> _Catalogue:
        lock = self._locks.setdefault(kind, asyncio.Lock())
        async with lock:
            key = (self._wid, kind)
            if key not in self._cache.catalogues:
                self._cache.catalogues[key] = await self._fetch(kind)
        return self._cache.catalogues[key]

    async def _fetch(self, kind: str) -> _Catalogue:
        base = f"/workspaces/{self._wid}"
        cat = _Catalogue(kind)
        if kind == "client":
            for c in await self._client.get_all(f"{base}/clients"):
                cat.add(_Named(c["id"], c["name"], not c.get("archived", False)))
        elif kind == "project":
            for p in await self._client.get_all(f"{base}/projects", {"active": "both"}):
                cat.add(_Named(p["id"], p["name"], p.get("active", True), p.get("client_id")))
        elif kind == "task":
            for t in await self._client.get_all(f"{base}/tasks", {"active": "both"}):
                cat.add(_Named(t["id"], t["name"], t.get("active", True), t.get("project_id")))
        return cat

    async def _user_ids(self) -> dict[str, int]:
        lock = self._locks.setdefault("user", asyncio.Lock())
        async with lock:
            if self._wid not in self._cache.users:
                users = await self._client.get_all(f"/workspaces/{self._wid}/workspace_users")
                ids = {
                    _key(u["email"]): int(u.get("uid") or u.get("user_id") or u["id"])
                    for u in users
                    if u.get("email")
                }
                said = all("admin" in u for u in users if u.get("email"))
                self._cache.admins[self._wid] = (
                    frozenset(ids[_key(u["email"])] for u in users if u.get("email") and u["admin"])
                    if said and ids
                    else None
                )
                self._cache.users[self._wid] = ids
        return self._cache.users[self._wid]

    async def _may_enter_for(self, user_id: int) -> bool:
        """May the token's user create entries for ``user_id``? Yes for themself, and for anyone
        when they are an admin of the workspace (or when the listing does not say who is)."""
        admins = self._cache.admins.get(self._wid)
        if admins is None or len(admins) == len(self._cache.users.get(self._wid, ())):
            return True  # the listing does not say, or everyone is an admin: no /me needed
        async with self._locks.setdefault("me", asyncio.Lock()):
            if self._cache.caller is None:
                self._cache.caller = int((await self._client.me())["id"])
        caller = self._cache.caller
        return user_id == caller or caller in admins

    # -- one name ------------------------------------------------------------------------------
    async def client_id(self, name: str) -> Resolution:
        cat = await self._catalogue("client")
        found = await self._match_or_create(
            cat, name, None, False, lambda: self._client.create_client(self._wid, name.strip())
        )
        if isinstance(found, Unresolved):
            return found
        if len(found) == 1:
            return found[0].id
        if len(found) > 1:
            return Unresolved("client", messages.ambiguous_client(name, len(found)), "ambiguous")
        return Unresolved("client", messages.unknown_client(name, cat.suggest(name)), "unknown_client")

    async def project_id(self, name: str, client: str | None = None) -> Resolution:
        client_id: int | None = None
        if client:
            got = await self.client_id(client)
            if isinstance(got, Unresolved):
                return got
            client_id = got
        cat = await self._catalogue("project")
        scoped = client_id is not None
        found = await self._match_or_create(
            cat, name, client_id, scoped,
            lambda: self._client.create_project(self._wid, name.strip(), client_id),
        )  # fmt: skip
        if isinstance(found, Unresolved):
            return found
        if len(found) == 1:
            if not found[0].active:  # Toggl refuses entries on it: no request to learn that
                return Unresolved(
                    "project", messages.archived_project(found[0].name), "archived_project"
                )
            return found[0].id
        if len(found) > 1:
            clients = await self._client_names()
            candidates = [(p.name, clients.get(p.parent) if p.parent else None) for p in found]
            return Unresolved(
                "project", messages.ambiguous_project(name, candidates), "ambiguous_project"
            )
        suggestions = cat.suggest(name, client_id, scoped)
        message = messages.unknown_project(name, client or None, suggestions)
        return Unresolved("project", message, "unknown_project")

    async def _match_or_create(
        self,
        cat: _Catalogue,
        name: str,
        parent: int | None,
        scoped: bool,
        make: Callable[[], Awaitable[dict[str, Any]]],
    ) -> list[_Named] | Unresolved:
        """The entities ``name`` matches; none, and ``create_missing``: the one created for it
        (or why it is not: a likely typo, a dry run, Toggl's refusal)."""
        found = cat.match(name, parent, scoped)
        if found or not self._create:
            return found
        refusal = self._not_creatable(cat, name, parent, scoped)
        if refusal:
            return refusal
        return await self._create_once(cat, name, parent, scoped, make)

    def _not_creatable(
        self, cat: _Catalogue, name: str, parent: int | None, scoped: bool
    ) -> Unresolved | None:
        """Why a missing name is not created: it looks like a typo, or this is a dry run."""
        kind = cat.kind
        close = cat.one_edit_away(name, parent, scoped)
        if close:
            return Unresolved(kind, messages.typo_not_created(kind, name, close), f"unknown_{kind}")
        if self._plan_only:
            if (kind, name.strip()) not in self.would_create:
                self.would_create.append((kind, name.strip()))
            return Unresolved(kind, messages.would_create(kind, name.strip()), "would_create")
        return None

    async def _create_once(
        self,
        cat: _Catalogue,
        name: str,
        parent: int | None,
        scoped: bool,
        make: Callable[[], Awaitable[dict[str, Any]]],
    ) -> list[_Named] | Unresolved:
        """Create a missing entity exactly once: concurrent callers wait on one lock per kind,
        and each looks again after getting it (the one before may have created it). When Toggl
        refuses to create it (a 400: no permission, a name taken by something we cannot see),
        the rows that need it are refused with Toggl's words, and it is not asked again."""
        async with self._locks.setdefault(f"create {cat.kind}", asyncio.Lock()):
            found = cat.match(name, parent, scoped)
            if found:
                return found
            key = (cat.kind, _key(name), parent)
            refused = self._refused.get(key)
            if refused is not None:
                return refused  # Toggl said no once: no second request for the next row
            try:
                created = await make()
            except PermanentError as exc:
                text = messages.create_refused(cat.kind, name.strip(), exc.text or str(exc))
                self._refused[key] = Unresolved(cat.kind, text, "create_refused")
                return self._refused[key]
            item = _Named(int(created["id"]), created["name"], True, parent)
            cat.add(item)
            self.created.append((cat.kind, created["name"]))
            return [item]

    async def _client_names(self) -> dict[int, str]:
        cat = await self._catalogue("client")
        return {c.id: c.name for c in cat.items}

    async def task_id(self, name: str, project_id: int) -> Resolution:
        cat = await self._catalogue("task")
        found = await self._match_or_create(
            cat, name, project_id, True,
            lambda: self._client.create_task(self._wid, project_id, name.strip()),
        )  # fmt: skip
        if isinstance(found, Unresolved):
            return found
        if len(found) == 1:
            return found[0].id
        if len(found) > 1:
            return Unresolved("task", messages.ambiguous_task(name, len(found)), "ambiguous_task")
        suggestions = cat.suggest(name, project_id, scoped=True)
        return Unresolved("task", messages.unknown_task(name, suggestions), "unknown_task")

    async def user_id(self, email: str) -> Resolution:
        users = await self._user_ids()
        found = users.get(_key(email))
        if found is not None:
            if not await self._may_enter_for(found):
                message = messages.not_workspace_admin(email, self._wid)
                return Unresolved("email", message, "not_workspace_admin")
            return found
        suggestions = difflib.get_close_matches(_key(email), sorted(users), n=2)
        return Unresolved("email", messages.unknown_user(email, self._wid, suggestions), "unknown_user")

    # -- many rows -----------------------------------------------------------------------------
    async def resolve_many(
        self,
        projects: Iterable[Triple],
        emails: Iterable[str | None],
    ) -> tuple[dict[Triple, TripleResult], dict[str | None, int | Unresolved | None]]:
        """Resolve the *distinct* (client, project, task) triples and emails of a chunk.

        Returns maps from each distinct key to (project_id, task_id) or ``Unresolved``; the
        caller maps them back onto its rows, so the work is per distinct name, not per row.
        """
        triples: dict[Triple, TripleResult] = {}
        for key in dict.fromkeys(projects):
            triples[key] = await self._triple(*key)
        users: dict[str | None, int | Unresolved | None] = {}
        for email in dict.fromkeys(emails):
            users[email] = None if not email else await self.user_id(email)
        return triples, users

    async def _triple(
        self, client: str | None, project: str | None, task: str | None
    ) -> TripleResult:
        if not project:
            if task:
                return Unresolved("task", messages.task_without_project(task), "task_without_project")
            if client:
                got = await self.client_id(client)
                if isinstance(got, Unresolved):
                    return got
            return (None, None)
        pid = await self.project_id(project, client or None)
        if isinstance(pid, Unresolved):
            return pid
        if not task:
            return (pid, None)
        tid = await self.task_id(task, pid)
        if isinstance(tid, Unresolved):
            return tid
        return (pid, tid)
