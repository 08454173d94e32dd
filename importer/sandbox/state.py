"""What the sandbox knows: the seeded workspaces, users, projects…, the created entries, counters.

Plain dicts and lists, shaped like Toggl's JSON, so that answers are cheap to build.

Time entries are kept by id, deleted ones too (with ``server_deleted_at`` set): ``entries``
lists the live ones, ``deleted_entries`` the others, and only ``/me/time_entries?since=`` reads
both. Beside each entry the state keeps its start epoch, workspace, user and ``at`` epoch (for
the reads) and the ``created_with`` it was made with (shown by ``GET /_sandbox/entries``; not
part of Toggl's answer).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

Json = dict[str, Any]


class EntryIndex(NamedTuple):
    """What the reads filter on, beside each entry: kept in step with every write."""

    start: float
    wid: int
    uid: int
    at: float


class Login(NamedTuple):
    """Who a credential belongs to, and the key of its rate bucket (one per API token; one per
    user for email + password)."""

    user: Json
    key: str

PROJECT_COLORS = ("#0b83d9", "#9e5bd9", "#d94182", "#e36a00", "#bf7000", "#2da608", "#06a893")
DEFAULT_TIME_ENTRY_ID = 3_900_000_001


def load_seed(path: Path | None) -> Json:
    """The seed JSON: ``path``, or the one bundled with the package.

    Keys: ``workspaces`` and ``users`` (required); ``organizations``, ``workspace_users``
    (``{id, uid, wid, admin}``), ``clients`` (``wid``), ``projects`` (``wid``, ``cid``, ``active``),
    ``tasks`` (``wid``, ``pid``), ``tags`` (``wid``); ``me_user_id`` (whose API token is
    ``SandboxOptions.token``); ``next_ids``. Users log in by ``email`` + ``password`` too, and
    by their own ``api_token`` if the seed gives one.
    """
    if path is None:
        text = resources.files("importer").joinpath("data/seed.json").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    seed = json.loads(text)
    if not isinstance(seed, dict) or "workspaces" not in seed or "users" not in seed:
        raise ValueError(f"{path or 'seed.json'}: a sandbox seed needs 'workspaces' and 'users'")
    return seed


class SandboxState:
    """Seeded entities, created entries and request counters of one sandbox."""

    def __init__(self, seed: Json, token: str) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()
        self.statuses: Counter[int] = Counter()
        self.faults: Counter[str] = Counter()
        self.route_faults: Counter[tuple[str, str]] = Counter()  # (route, fault kind)
        self.writes: Counter[str] = Counter()  # applied writes per "METHOD route"
        self._load(seed, token)

    # -- loading -------------------------------------------------------------------------------

    def _load(self, seed: Json, token: str) -> None:
        self.organizations: dict[int, Json] = {o["id"]: o for o in seed.get("organizations", [])}
        self.workspaces: dict[int, Json] = {w["id"]: w for w in seed["workspaces"]}
        self.users: dict[int, Json] = {u["id"]: dict(u) for u in seed["users"]}
        self.me_user_id: int = seed.get("me_user_id", next(iter(self.users)))
        self.memberships: dict[tuple[int, int], Json] = {
            (m["uid"], m["wid"]): m for m in seed.get("workspace_users", [])
        }
        self.clients: dict[int, Json] = {c["id"]: c for c in seed.get("clients", [])}
        self.projects: dict[int, Json] = {p["id"]: p for p in seed.get("projects", [])}
        self.tasks: dict[int, Json] = {t["id"]: t for t in seed.get("tasks", [])}
        self.tags: dict[int, Json] = {t["id"]: t for t in seed.get("tags", [])}
        self._tag_by_name = {(t["wid"], t["name"]): t for t in self.tags.values()}
        next_ids = seed.get("next_ids", {})
        self._ids = {
            kind: itertools.count(next_ids.get(kind, max(table, default=1000) + 1))
            for kind, table in (
                ("client", self.clients),
                ("project", self.projects),
                ("task", self.tasks),
                ("tag", self.tags),
            )
        }
        self._ids["time_entry"] = itertools.count(next_ids.get("time_entry", DEFAULT_TIME_ENTRY_ID))
        self.all_entries: dict[int, Json] = {}  # by id, in creation order, deleted ones too
        self.entry_index: dict[int, EntryIndex] = {}
        self.created_with: dict[int, str] = {}
        self.set_token(token)

    def reload(self, seed: Json, token: str) -> None:
        """Back to the seed: no entries, counters at zero."""
        self.clear_counters()
        self._load(seed, token)

    def set_token(self, token: str) -> None:
        """Make ``token`` the API token of the seed's ``me_user_id``."""
        self.users[self.me_user_id]["api_token"] = token
        self._tokens = {u["api_token"]: u for u in self.users.values() if u.get("api_token")}
        self._emails = {u["email"].lower(): u for u in self.users.values() if u.get("email")}
        self._auth_cache: dict[str, Login] = {}

    def clear_counters(self) -> None:
        self.requests.clear()
        self.statuses.clear()
        self.faults.clear()
        self.route_faults.clear()
        self.writes.clear()

    def new_id(self, kind: str) -> int:
        return next(self._ids[kind])

    # -- who is calling ------------------------------------------------------------------------

    def authenticate(self, header: str | None) -> Json | None:
        """The user of an ``Authorization: Basic …`` header, or ``None`` if it is refused."""
        login = self.login(header)
        return None if login is None else login.user

    def login(self, header: str | None) -> Login | None:
        """The user and rate key of an ``Authorization: Basic …`` header, or ``None``."""
        if header is None:
            return None
        found = self._auth_cache.get(header)
        if found is not None:
            return found
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
            name, sep, secret = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not sep:
            return None
        user, key = None, ""
        if secret == "api_token":
            user, key = self._tokens.get(name), f"token:{name}"
        else:
            candidate = self._emails.get(name.lower())
            if candidate is not None and secret and candidate.get("password") == secret:
                user, key = candidate, f"password:{candidate['id']}"
        if user is None:
            return None
        found = self._auth_cache[header] = Login(user, key)
        return found

    def user_by_email(self, email: str) -> Json | None:
        return self._emails.get(email.strip().lower())

    def membership(self, uid: int, wid: int) -> Json | None:
        return self.memberships.get((uid, wid))

    def is_admin(self, uid: int, wid: int) -> bool:
        member = self.memberships.get((uid, wid))
        return bool(member and member.get("admin"))

    # -- entities ------------------------------------------------------------------------------

    def tag_for(self, wid: int, name: str) -> Json:
        """The workspace's tag of that name, created if missing (Toggl creates unknown tags)."""
        found = self._tag_by_name.get((wid, name))
        if found is not None:
            return found
        tag: Json = {"id": self.new_id("tag"), "wid": wid, "name": name}
        self.tags[tag["id"]] = tag
        self._tag_by_name[(wid, name)] = tag
        return tag

    def add_client(self, wid: int, name: str) -> Json:
        client: Json = {"id": self.new_id("client"), "wid": wid, "name": name}
        self.clients[client["id"]] = client
        return client

    def add_project(self, wid: int, fields: Json) -> Json:
        pid = self.new_id("project")
        project: Json = {
            "id": pid,
            "wid": wid,
            "cid": fields.get("client_id"),
            "name": fields["name"],
            "active": fields.get("active", True),
            "billable": fields.get("billable", False),
            "color": fields.get("color") or PROJECT_COLORS[pid % len(PROJECT_COLORS)],
            "is_private": fields.get("is_private", False),
        }
        self.projects[pid] = project
        return project

    def add_task(self, wid: int, pid: int, name: str, active: bool) -> Json:
        tid = self.new_id("task")
        task: Json = {"id": tid, "wid": wid, "pid": pid, "name": name, "active": active}
        self.tasks[task["id"]] = task
        return task

    # -- time entries --------------------------------------------------------------------------

    @property
    def entries(self) -> list[Json]:
        """The live entries, oldest first (a new list; the dicts are the stored ones)."""
        return [e for e in self.all_entries.values() if e["server_deleted_at"] is None]

    @property
    def deleted_entries(self) -> list[Json]:
        return [e for e in self.all_entries.values() if e["server_deleted_at"] is not None]

    def live_entry(self, entry_id: int) -> Json | None:
        """The entry of that id unless it does not exist or is deleted."""
        entry = self.all_entries.get(entry_id)
        return entry if entry is not None and entry["server_deleted_at"] is None else None

    def add_entry(
        self, entry: Json, start_epoch: float, created_with: str = "", at: float = 0.0
    ) -> None:
        self.all_entries[entry["id"]] = entry
        self.entry_index[entry["id"]] = EntryIndex(
            start_epoch, entry["workspace_id"], entry["user_id"], at
        )
        self.created_with[entry["id"]] = created_with

    def replace_entry(self, new: Json, start_epoch: float, at: float) -> Json:
        """Overwrite a stored entry in place (references to it stay valid); returns it."""
        entry = self.all_entries[new["id"]]
        entry.clear()
        entry.update(new)
        self.entry_index[entry["id"]] = EntryIndex(
            start_epoch, entry["workspace_id"], entry["user_id"], at
        )
        return entry

    def delete_entry(self, entry_id: int, stamp: str, at: float) -> Json:
        """Mark an entry deleted: ``server_deleted_at`` and ``at`` become ``stamp``."""
        entry = self.all_entries[entry_id]
        entry["server_deleted_at"] = entry["at"] = stamp
        self.entry_index[entry_id] = self.entry_index[entry_id]._replace(at=at)
        return entry

    # -- JSON shapes of the answers ------------------------------------------------------------

    def me_json(self, user: Json) -> Json:
        return {
            "id": user["id"],
            "api_token": user.get("api_token"),
            "email": user["email"],
            "fullname": user["fullname"],
            "timezone": user.get("timezone", "UTC"),
            "default_workspace_id": user.get("default_workspace_id"),
            "beginning_of_week": 1,
            "image_url": None,
            "country_id": None,
            "has_password": True,
            "2fa_enabled": False,
        }

    def workspace_json(self, ws: Json) -> Json:
        return {
            "id": ws["id"],
            "organization_id": ws.get("organization_id"),
            "name": ws["name"],
            "premium": ws.get("premium", True),
            "admin": False,
            "default_currency": ws.get("default_currency", "USD"),
            "default_hourly_rate": ws.get("default_hourly_rate"),
            "only_admins_may_create_projects": False,
            "only_admins_see_billable_rates": False,
        }

    def project_json(self, p: Json) -> Json:
        return {
            "id": p["id"],
            "workspace_id": p["wid"],
            "client_id": p.get("cid"),
            "name": p["name"],
            "is_private": p.get("is_private", False),
            "active": p.get("active", True),
            "billable": p.get("billable", False),
            "color": p.get("color", PROJECT_COLORS[0]),
            "template": False,
            "auto_estimates": None,
            "estimated_hours": None,
            "rate": None,
            "currency": None,
            "server_deleted_at": None,
            "wid": p["wid"],
            "cid": p.get("cid"),
        }

    def task_json(self, t: Json) -> Json:
        return {
            "id": t["id"],
            "name": t["name"],
            "project_id": t["pid"],
            "workspace_id": t["wid"],
            "user_id": None,
            "active": t.get("active", True),
            "estimated_seconds": None,
            "tracked_seconds": 0,
            "server_deleted_at": None,
        }

    def client_json(self, c: Json) -> Json:
        return {"id": c["id"], "wid": c["wid"], "name": c["name"], "archived": False}

    def tag_json(self, t: Json) -> Json:
        return {"id": t["id"], "workspace_id": t["wid"], "name": t["name"], "deleted_at": None}

    def workspace_user_json(self, m: Json) -> Json:
        user = self.users[m["uid"]]
        return {
            "id": m["id"],
            "uid": m["uid"],
            "wid": m["wid"],
            "email": user["email"],
            "name": user["fullname"],
            "admin": bool(m.get("admin")),
            "active": m.get("active", True),
            "inactive": not m.get("active", True),
            "timezone": user.get("timezone", "UTC"),
        }
