"""The API's writes: create, update and delete a time entry; create a project, client or task.

Every write throws the fault dice once, after its body was read: ``reset`` and ``500`` before
anything is applied, ``drop`` after it was applied (a write refused with a 4xx is just
answered). Writes of time entries are then held ``apply_delay`` (``Gate.held``) and checked
and applied in one step, so what a write finds is the state at the moment it is applied.

- ``POST   /workspaces/{wid}/time_entries``       → 200 the entry (``meta=true`` adds names)
- ``PUT    /workspaces/{wid}/time_entries/{id}``  → 200 the whole updated entry (``at`` moves)
- ``DELETE /workspaces/{wid}/time_entries/{id}``  → 200 with an empty body

An entry that does not exist, is deleted or is in another workspace is a 404
(``Time entry not found``); one of another user, unless the caller is a workspace admin, a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from importer.sandbox import edits, entries, params
from importer.sandbox.entries import BadRequest
from importer.sandbox.gate import NO_ACCESS, Gate, Hangup, as_json, text
from importer.sandbox.state import Json

ENTRY_NOT_FOUND = "Time entry not found"


class Writes:
    """Handlers of the API's writes over one ``Gate``."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.state = gate.state

    # -- time entries --------------------------------------------------------------------------

    async def create_time_entry(
        self, request: web.Request, user: Json, ws: Json | None
    ) -> web.Response:
        """The hot path. Faults are thrown once per request that got this far."""
        assert ws is not None
        wid = ws["id"]
        try:
            body = await params.read_json(request)
        except BadRequest as exc:
            return text(400, str(exc))
        except params.TooLarge:
            return params.too_large()
        fault = self.gate.roll_fault()
        refused = self._fault_before(request, fault)
        if refused is not None:
            return refused
        meta = request.query.get("meta", "").lower() == "true"

        def apply() -> web.Response:
            now = self.gate.clock()
            try:
                entry, start = entries.build_entry(self.state, body, wid, user, now, meta)
            except BadRequest as exc:
                return text(400, str(exc))
            self.state.add_entry(entry, start, body["created_with"], epoch_seconds(now))
            self.gate.count_write(request)
            return as_json(entries.answer(self.state, entry, meta))

        return self._dropped_if(fault, await self.gate.held(apply))

    async def update_time_entry(
        self, request: web.Request, user: Json, ws: Json | None
    ) -> web.Response:
        assert ws is not None
        wid, entry_id = ws["id"], int(request.match_info["id"])
        try:
            body = await params.read_json(request)
        except BadRequest as exc:
            return text(400, str(exc))
        except params.TooLarge:
            return params.too_large()
        fault = self.gate.roll_fault()
        refused = self._fault_before(request, fault)
        if refused is not None:
            return refused
        meta = request.query.get("meta", "").lower() == "true"

        def apply() -> web.Response:
            entry = self._own_entry(entry_id, wid, user)
            if isinstance(entry, web.Response):
                return entry
            now = self.gate.clock()
            try:
                new, start = edits.updated_entry(self.state, entry, body, user["id"], now)
            except BadRequest as exc:
                return text(400, str(exc))
            stored = self.state.replace_entry(new, start, epoch_seconds(now))
            self.gate.count_write(request)
            return as_json(entries.answer(self.state, stored, meta))

        return self._dropped_if(fault, await self.gate.held(apply))

    async def delete_time_entry(
        self, request: web.Request, user: Json, ws: Json | None
    ) -> web.Response:
        assert ws is not None
        wid, entry_id = ws["id"], int(request.match_info["id"])
        fault = self.gate.roll_fault()
        refused = self._fault_before(request, fault)
        if refused is not None:
            return refused

        def apply() -> web.Response:
            entry = self._own_entry(entry_id, wid, user)
            if isinstance(entry, web.Response):
                return entry
            now = self.gate.clock()
            self.state.delete_entry(entry_id, stamp(now), epoch_seconds(now))
            self.gate.count_write(request)
            return text(200, "")

        return self._dropped_if(fault, await self.gate.held(apply))

    def _own_entry(self, entry_id: int, wid: int, user: Json) -> Json | web.Response:
        """The live entry of the workspace the caller may change, or the refusal (404, 403)."""
        entry = self.state.live_entry(entry_id)
        if entry is None or entry["workspace_id"] != wid:
            return text(404, ENTRY_NOT_FOUND)
        if entry["user_id"] != user["id"] and not self.state.is_admin(user["id"], wid):
            return text(403, NO_ACCESS)
        return entry

    # -- projects, clients, tasks --------------------------------------------------------------

    async def create_project(
        self, request: web.Request, user: Json, ws: Json | None
    ) -> web.Response:
        assert ws is not None
        try:
            body = params.body_object(await params.read_json(request))
            name = params.required_name(body)
            cid = body.get("client_id", body.get("cid"))
            if cid is not None:
                client = self.state.clients.get(cid) if type(cid) is int else None
                if client is None or client["wid"] != ws["id"]:
                    raise BadRequest(f"Invalid client_id: client {cid!r} is not in this workspace")
            for flag in ("active", "billable", "is_private"):
                if body.get(flag) is not None and type(body[flag]) is not bool:
                    raise BadRequest(f'Unexpected "{flag}" type: expected a bool')
            if any(
                p["wid"] == ws["id"] and p.get("cid") == cid and p["name"].lower() == name.lower()
                for p in self.state.projects.values()
            ):
                raise BadRequest("Name has already been taken")
        except BadRequest as exc:
            return text(400, str(exc))
        except params.TooLarge:
            return params.too_large()
        keep = ("active", "billable", "color", "is_private")
        fields: Json = {k: body[k] for k in keep if k in body}
        return self._faulted(
            request,
            lambda: self.state.project_json(
                self.state.add_project(ws["id"], {**fields, "name": name, "client_id": cid})
            ),
        )

    async def create_client(
        self, request: web.Request, user: Json, ws: Json | None
    ) -> web.Response:
        assert ws is not None
        try:
            name = params.required_name(params.body_object(await params.read_json(request)))
            if any(
                c["wid"] == ws["id"] and c["name"].lower() == name.lower()
                for c in self.state.clients.values()
            ):
                raise BadRequest("Name has already been taken")
        except BadRequest as exc:
            return text(400, str(exc))
        except params.TooLarge:
            return params.too_large()
        return self._faulted(
            request, lambda: self.state.client_json(self.state.add_client(ws["id"], name))
        )

    async def create_task(self, request: web.Request, user: Json, ws: Json | None) -> web.Response:
        assert ws is not None
        pid = int(request.match_info["pid"])
        try:
            project = self.state.projects.get(pid)
            if project is None or project["wid"] != ws["id"]:
                raise BadRequest(f"Invalid project_id: project {pid} is not in this workspace")
            body = params.body_object(await params.read_json(request))
            name = params.required_name(body)
            active = body.get("active", True)
            if type(active) is not bool:
                raise BadRequest('Unexpected "active" type: expected a bool')
            if any(
                t["pid"] == pid and t["name"].lower() == name.lower()
                for t in self.state.tasks.values()
            ):
                raise BadRequest("Name has already been taken")
        except BadRequest as exc:
            return text(400, str(exc))
        except params.TooLarge:
            return params.too_large()
        return self._faulted(
            request,
            lambda: self.state.task_json(self.state.add_task(ws["id"], pid, name, active)),
        )

    # -- faults --------------------------------------------------------------------------------

    def _faulted(self, request: web.Request, apply: Callable[[], Json]) -> web.Response:
        """A valid create of a project, client or task under the same dice as time entries:
        reset or 500 before ``apply``, or the answer dropped after it."""
        fault = self.gate.roll_fault()
        refused = self._fault_before(request, fault)
        if refused is not None:
            return refused
        created = apply()
        self.gate.count_write(request)
        if fault == "drop":
            raise Hangup(reset=False)
        return as_json(created)

    def _fault_before(self, request: web.Request, fault: str | None) -> web.Response | None:
        """A fault thrown before anything is applied: a reset (raised) or a 500 (returned)."""
        if fault == "reset":
            raise Hangup(reset=True)
        if fault == "500":
            self.gate.count_fault(request, "500")
            return text(500, "Internal Server Error")
        return None

    @staticmethod
    def _dropped_if(fault: str | None, response: web.Response) -> web.Response:
        """The answer, or no answer at all when the dice said ``drop`` and the write was
        applied (a refused write is just answered)."""
        if fault == "drop" and response.status == 200:
            raise Hangup(reset=False)
        return response


def stamp(now: datetime) -> str:
    """``now`` as Toggl writes ``at``: whole seconds."""
    return entries.iso(now.replace(microsecond=0))


def epoch_seconds(now: datetime) -> float:
    """``now`` in whole UNIX seconds, as ``at`` holds it."""
    return float(int(now.timestamp()))
