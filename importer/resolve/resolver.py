"""``Resolver``: names to ids for one workspace, fetching each kind at most once per run, and
creating what valid rows need (``create``) -- one per-run state (catalogues, locks, what was
made or refused) that every part reads."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from .. import messages
from ..errors import PermanentError
from .catalogue import NameCache, _Catalogue, _key, _Named
from .results import (
    Missing,
    NewName,
    Ref,
    Resolution,
    ToCreate,
    Triple,
    TripleResult,
    Unresolved,
)


class ReadClient(Protocol):
    async def get_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]: ...
    async def create_project(
        self, workspace_id: int, name: str, client_id: int | None = None
    ) -> dict[str, Any]: ...
    async def create_client(self, workspace_id: int, name: str) -> dict[str, Any]: ...
    async def create_task(self, workspace_id: int, project_id: int, name: str) -> dict[str, Any]: ...
    async def me(self) -> dict[str, Any]: ...


PARENT_KIND = {"project": "client", "task": "project"}


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
        own_tokens: frozenset[str] = frozenset(),
    ) -> None:
        self._client = client
        self._own_tokens = own_tokens
        """Emails whose rows go with their own token: they create their own entries."""
        self._wid = workspace_id
        self._create = create_missing
        self._plan_only = plan_only
        self.would_create: list[NewName] = []
        """With ``plan_only`` (a dry run): what ``create`` would have created, each once."""
        self._cache = cache if cache is not None else NameCache()
        self._locks: dict[str, asyncio.Lock] = {}
        self.created: list[NewName] = []
        """Everything ``create`` created, each once."""
        self._made: dict[ToCreate, int | Unresolved | None] = {}
        """What ``create`` gave for each name: its id, why not, or (a dry run) ``None``."""
        self._spelled: dict[ToCreate, str] = {}
        """The name each was created as (or would be): the first spelling ``create`` was given."""
        self._refused: dict[tuple[str, str, Ref | None], Unresolved] = {}
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

    async def users(self) -> dict[str, int]:
        """The workspace's members: email (case-folded) → user id, read once per run."""
        return await self._user_ids()

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

    @property
    def cache(self) -> NameCache:
        """What this resolver fetched (and will fetch), by workspace."""
        return self._cache

    # -- one name ------------------------------------------------------------------------------
    async def client_id(self, name: str) -> Ref | Unresolved:
        cat = await self._catalogue("client")
        found = self._lookup(cat, name, None, False)
        if not isinstance(found, list):
            return found
        if len(found) == 1:
            return found[0].ref
        if len(found) > 1:
            return Unresolved("client", messages.ambiguous_client(name, len(found)), "ambiguous")
        return Unresolved("client", messages.unknown_client(name, cat.suggest(name)), "unknown_client")

    async def project_id(self, name: str, client: str | None = None) -> Ref | Unresolved:
        client_ref: Ref | None = None
        if client:
            got = await self.client_id(client)
            if isinstance(got, Unresolved):
                return got
            client_ref = got
        cat = await self._catalogue("project")
        scoped = client_ref is not None
        found = self._lookup(cat, name, client_ref, scoped)
        if not isinstance(found, list):
            return found
        if len(found) == 1:
            if not found[0].active:  # Toggl refuses entries on it: no request to learn that
                return Unresolved("project", messages.archived_project(found[0].name), "archived_project")
            return found[0].ref
        if len(found) > 1:
            candidates = [(p.name, await self._name_of("client", p.parent)) for p in found]
            return Unresolved("project", messages.ambiguous_project(name, candidates), "ambiguous_project")
        suggestions = cat.suggest(name, client_ref, scoped)
        message = messages.unknown_project(name, client or None, suggestions)
        return Unresolved("project", message, "unknown_project")

    async def task_id(self, name: str, project: Ref) -> Ref | Unresolved:
        cat = await self._catalogue("task")
        found = self._lookup(cat, name, project, True)
        if not isinstance(found, list):
            return found
        if len(found) == 1:
            return found[0].ref
        if len(found) > 1:
            return Unresolved("task", messages.ambiguous_task(name, len(found)), "ambiguous_task")
        suggestions = cat.suggest(name, project, scoped=True)
        return Unresolved("task", messages.unknown_task(name, suggestions), "unknown_task")

    async def user_id(self, email: str) -> Resolution:
        users = await self._user_ids()
        found = users.get(_key(email))
        if found is not None:
            if _key(email) not in self._own_tokens and not await self._may_enter_for(found):
                message = messages.not_workspace_admin(email, self._wid)
                return Unresolved("email", message, "not_workspace_admin")
            return found
        suggestions = difflib.get_close_matches(_key(email), sorted(users), n=2)
        return Unresolved("email", messages.unknown_user(email, self._wid, suggestions), "unknown_user")

    def _lookup(
        self, cat: _Catalogue, name: str, parent: Ref | None, scoped: bool
    ) -> list[_Named] | ToCreate | Unresolved:
        """The entities ``name`` matches; none, and ``create_missing``: the name to create for it
        (or why it is not created: it looks like a typo of a name Toggl has)."""
        found = cat.match(name, parent, scoped)
        if found or not self._create:
            return found
        kind = cat.kind
        close = cat.one_edit_away(name, parent, scoped)
        if close:
            return Unresolved(kind, messages.typo_not_created(kind, name, close), f"unknown_{kind}")
        return ToCreate(kind, _key(name), parent, name.strip())

    async def _name_of(self, kind: str, ref: Ref | None) -> str | None:
        """The name of a client or project (for messages and listings)."""
        if ref is None or isinstance(ref, ToCreate):
            return None if ref is None else ref.name
        cat = await self._catalogue(kind)
        return next((item.name for item in cat.items if item.id == ref), None)

    # -- creating what valid rows need ---------------------------------------------------------
    async def create(self, wanted: Iterable[ToCreate]) -> dict[ToCreate, int | Unresolved | None]:
        """Create each name (its parents first), once per run: its id, or why Toggl would not.

        With ``plan_only`` nothing is sent: each name is listed in ``would_create`` once and
        matched from then on as if it existed, and its id is ``None`` (not known yet).
        """
        return {item: await self._made_id(item) for item in wanted}

    async def _made_id(self, item: ToCreate) -> int | Unresolved | None:
        if item in self._made:
            return self._made[item]
        parent: Ref | None = item.parent
        if isinstance(item.parent, ToCreate):
            got = await self._made_id(item.parent)
            if isinstance(got, Unresolved):
                self._made[item] = got  # the rows need the parent: Toggl's refusal of it is theirs
                return got
            parent = item.parent if got is None else got
        cat = await self._catalogue(item.kind)
        if isinstance(parent, ToCreate):
            under: str | None = self.spelled(parent)
        else:
            under = await self._name_of(PARENT_KIND.get(item.kind, ""), parent)
        if item in self._made:  # made meanwhile, by a concurrent call
            return self._made[item]
        if self._plan_only:
            cat.add(_Named(0, item.name, True, parent, made=True, planned=item))
            self.would_create.append(NewName(item.kind, item.name, under))
            self._made[item], self._spelled[item] = None, item.name
            return None
        found = await self._create_once(cat, item.name, parent, under, self._maker(item, parent))
        if isinstance(found, Unresolved):
            self._made[item] = found
        else:
            self._made[item], self._spelled[item] = found[0].id, found[0].name
        return self._made[item]

    def spelled(self, item: ToCreate) -> str:
        """The name ``item`` was created as, or would be by a dry run (two spellings of one name
        are one name: the first one given to ``create`` is the one created)."""
        return self._spelled.get(item, item.name)

    def _maker(self, item: ToCreate, parent: Ref | None) -> Callable[[], Awaitable[dict[str, Any]]]:
        wid, name = self._wid, item.name
        assert parent is None or isinstance(parent, int)
        if item.kind == "client":
            return lambda: self._client.create_client(wid, name)
        if item.kind == "project":
            return lambda: self._client.create_project(wid, name, parent)
        assert parent is not None
        return lambda: self._client.create_task(wid, parent, name)

    async def _create_once(
        self,
        cat: _Catalogue,
        name: str,
        parent: Ref | None,
        under: str | None,
        make: Callable[[], Awaitable[dict[str, Any]]],
    ) -> list[_Named] | Unresolved:
        """Create a missing entity exactly once: concurrent callers wait on one lock per kind,
        and each looks again after getting it (the one before may have created it). When Toggl
        refuses to create it (a 400: no permission, a name taken by something we cannot see),
        the rows that need it are refused with Toggl's words, and it is not asked again."""
        scoped = cat.kind == "task" or parent is not None
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
            item = _Named(int(created["id"]), created["name"], True, parent, made=True)
            cat.add(item)
            self.created.append(NewName(cat.kind, created["name"], under))
            return [item]

    # -- many rows -----------------------------------------------------------------------------
    async def resolve_many(
        self,
        projects: Iterable[Triple],
        emails: Iterable[str | None],
    ) -> tuple[dict[Triple, TripleResult], dict[str | None, int | Unresolved | None]]:
        """Resolve the *distinct* (client, project, task) triples and emails of a chunk.

        Returns maps from each distinct key to (project_id, task_id), ``Missing`` (what
        ``create`` must make first) or ``Unresolved``; the caller maps them back onto its rows,
        so the work is per distinct name, not per row. Nothing is created here.
        """
        triples: dict[Triple, TripleResult] = {}
        for key in dict.fromkeys(projects):
            triples[key] = await self._triple(*key)
        users: dict[str | None, int | Unresolved | None] = {}
        for email in dict.fromkeys(emails):
            users[email] = None if not email else await self.user_id(email)
        return triples, users

    async def _triple(self, client: str | None, project: str | None, task: str | None) -> TripleResult:
        if not project:
            if task:
                return Unresolved("task", messages.task_without_project(task), "task_without_project")
            if client:
                got = await self.client_id(client)
                if isinstance(got, Unresolved):
                    return got
                if isinstance(got, ToCreate):
                    return Missing(None, None, got)
            return (None, None)
        pid = await self.project_id(project, client or None)
        if isinstance(pid, Unresolved):
            return pid
        tid: Ref | None = None
        if task:
            got_task = await self.task_id(task, pid)
            if isinstance(got_task, Unresolved):
                return got_task
            tid = got_task
        if isinstance(tid, ToCreate):
            return Missing(pid, tid)
        if isinstance(pid, ToCreate):  # (nothing is under a name not created yet: tid is None)
            return Missing(pid)
        return (pid, tid)
