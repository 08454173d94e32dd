"""Admin endpoints that act as a person in Toggl's web app: create, edit and delete entries the
importer did not make. No auth, limits, faults or
apply delay; each applied write is counted in ``stats()["writes"]`` by ``"METHOD route"``.

- ``GET /_sandbox/entries[?deleted=1]`` → 200 ``[entry + created_with, ...]``, oldest first
- ``POST /_sandbox/entries`` with a create body (``workspace_id``, ``start``, ``duration`` and/or
  ``stop``, ...; ``user_id`` the person, default the seed's ``me_user_id``; ``created_with``
  default ``Toggl Track web``): checked like a create by that person → 200 the entry; 400
- ``PATCH /_sandbox/entries/{id}`` with field changes (as ``PUT``; a workspace admin's rights)
  → 200 the entry, ``at`` moved; 400; 404 if missing or deleted
- ``DELETE /_sandbox/entries/{id}`` → 200 the deleted entry; 404 if missing or deleted
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from importer.sandbox import edits, entries
from importer.sandbox.entries import BadRequest
from importer.sandbox.gate import as_json, text
from importer.sandbox.state import Json
from importer.sandbox.writes import ENTRY_NOT_FOUND, epoch_seconds, stamp

if TYPE_CHECKING:
    from importer.sandbox.app import SandboxApp

WEB_APP = "Toggl Track web"


def add_routes(app: SandboxApp, prefix: str) -> None:
    state, gate = app.state, app.gate

    def listed(entry: Json) -> Json:
        return {**entry, "created_with": state.created_with.get(entry["id"], "")}

    async def list_entries(request: web.Request) -> web.Response:
        deleted = request.query.get("deleted", "").lower() in {"1", "true", "yes"}
        chosen = state.all_entries.values() if deleted else state.entries
        return as_json([listed(e) for e in chosen])

    async def create(request: web.Request) -> web.Response:
        now = gate.clock()
        try:
            body = _object(await request.read())
            uid = body.get("user_id", state.me_user_id)
            wid = body.get("workspace_id")
            user = state.users.get(uid) if type(uid) is int else None
            if user is None or type(wid) is not int or state.membership(uid, wid) is None:
                raise BadRequest(f"user {uid!r} is not a member of workspace {wid!r}")
            made = {"created_with": WEB_APP, **body}
            entry, start = entries.build_entry(state, made, wid, user, now, False)
        except BadRequest as exc:
            return text(400, str(exc))
        state.add_entry(entry, start, made["created_with"], epoch_seconds(now))
        state.writes[f"POST {prefix}/entries"] += 1
        return as_json(entry)

    async def edit(request: web.Request) -> web.Response:
        entry = state.live_entry(int(request.match_info["id"]))
        if entry is None:
            return text(404, ENTRY_NOT_FOUND)
        now = gate.clock()
        try:
            body = _object(await request.read())
            new, start = edits.updated_entry(state, entry, body, entry["user_id"], now, True)
        except BadRequest as exc:
            return text(400, str(exc))
        stored = state.replace_entry(new, start, epoch_seconds(now))
        state.writes[f"PATCH {prefix}/entries/{{id}}"] += 1
        return as_json(stored)

    async def delete(request: web.Request) -> web.Response:
        entry_id = int(request.match_info["id"])
        if state.live_entry(entry_id) is None:
            return text(404, ENTRY_NOT_FOUND)
        now = gate.clock()
        gone = state.delete_entry(entry_id, stamp(now), epoch_seconds(now))
        state.writes[f"DELETE {prefix}/entries/{{id}}"] += 1
        return as_json(gone)

    router = app.web_app.router
    router.add_get(f"{prefix}/entries", list_entries)
    router.add_post(f"{prefix}/entries", create)
    router.add_patch(prefix + r"/entries/{id:\d+}", edit)
    router.add_delete(prefix + r"/entries/{id:\d+}", delete)


def _object(raw: bytes) -> Json:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("JSON is not valid") from None
    if not isinstance(body, dict):
        raise BadRequest("JSON is not valid: expected an object")
    return body
