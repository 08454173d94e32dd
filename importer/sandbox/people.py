"""Admin endpoints that act as a person in Toggl's web app: create, edit and delete entries the
importer did not make, and upload a file to Toggl's CSV import. No auth, limits, faults or
apply delay; each applied write is counted in ``stats()["writes"]`` by ``"METHOD route"``.

- ``GET /_sandbox/entries[?deleted=1]`` → 200 ``[entry + created_with, ...]``, oldest first
- ``POST /_sandbox/entries`` with a create body (``workspace_id``, ``start``, ``duration`` and/or
  ``stop``, ...; ``user_id`` the person, default the seed's ``me_user_id``; ``created_with``
  default ``Toggl Track web``): checked like a create by that person → 200 the entry; 400
- ``PATCH /_sandbox/entries/{id}`` with field changes (as ``PUT``; a workspace admin's rights)
  → 200 the entry, ``at`` moved; 400; 404 if missing or deleted
- ``DELETE /_sandbox/entries/{id}`` → 200 the deleted entry; 404 if missing or deleted
- ``POST /_sandbox/import_csv?workspace_id=W&uploader=EMAIL`` with the CSV file as the body
  (any content type), or as the first file of a ``multipart/form-data`` body → 200 the
  counts (``csv_import``); 400 for a file or call it refuses whole; 403 for an uploader who is
  not a workspace admin; 413 over ``MAX_CSV`` bytes
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from importer.sandbox import csv_import, edits, entries
from importer.sandbox.entries import BadRequest
from importer.sandbox.gate import as_json, text
from importer.sandbox.state import Json
from importer.sandbox.writes import ENTRY_NOT_FOUND, epoch_seconds, stamp

if TYPE_CHECKING:
    from importer.sandbox.app import SandboxApp

WEB_APP = "Toggl Track web"
MAX_CSV = 64 * 1024**2


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

    async def import_csv(request: web.Request) -> web.Response:
        query = request.query
        wid, uploader = query.get("workspace_id", ""), query.get("uploader", "")
        if not wid.isdigit() or not uploader:
            return text(400, "give ?workspace_id=W&uploader=EMAIL (the uploading admin)")
        data = await _csv_body(request)
        if data is None:
            return text(413, f"the file is over {MAX_CSV} bytes")
        try:
            answer = csv_import.import_csv(state, data, int(wid), uploader, gate.clock())
        except csv_import.ImportRefused as exc:
            return text(exc.status, str(exc))
        state.writes[f"POST {prefix}/import_csv"] += 1
        return as_json(answer)

    router = app.web_app.router
    router.add_get(f"{prefix}/entries", list_entries)
    router.add_post(f"{prefix}/entries", create)
    router.add_patch(prefix + r"/entries/{id:\d+}", edit)
    router.add_delete(prefix + r"/entries/{id:\d+}", delete)
    router.add_post(f"{prefix}/import_csv", import_csv)


def _object(raw: bytes) -> Json:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("JSON is not valid") from None
    if not isinstance(body, dict):
        raise BadRequest("JSON is not valid: expected an object")
    return body


async def _csv_body(request: web.Request) -> bytes | None:
    """The uploaded file: the body itself, or the first file of a multipart form; None if it is
    over ``MAX_CSV`` bytes."""
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and part.filename is not None:
                return await _capped(part)
        return b""
    return await _capped(request.content)


async def _capped(stream: Any) -> bytes | None:
    """Everything a stream holds (``read_chunk`` of a form part, else ``read``), or None past
    ``MAX_CSV`` bytes."""
    read = stream.read_chunk if isinstance(stream, BodyPartReader) else stream.read
    chunks, size = [], 0
    while chunk := await read(64 * 1024):
        size += len(chunk)
        if size > MAX_CSV:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
