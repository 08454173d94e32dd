"""Admin endpoints under ``/_sandbox`` (no auth: the sandbox binds to loopback), and the runtime
switches they share with ``Sandbox.configure`` / ``Sandbox.reset``.

- ``GET /_sandbox/entries``   every live entry (including those whose answer was dropped), each
  with its ``created_with``; ``?deleted=1`` adds the deleted ones
- ``POST /_sandbox/entries``  create an entry as a person in Toggl's web app would (``entries``)
- ``PATCH /_sandbox/entries/{id}``   edit an entry as a person would (moves ``at``)
- ``DELETE /_sandbox/entries/{id}``  delete an entry as a person would
- ``POST /_sandbox/import_csv?workspace_id=W&uploader=EMAIL``  Toggl's web CSV import
  (``csv_import``; the body is the CSV file)
- ``GET /_sandbox/stats``     requests per route, answers per status, entries, faults, writes
  applied and still held
- ``GET /_sandbox/config``    the current options (the token left out)
- ``POST /_sandbox/config``   a JSON object of option changes (names of ``SandboxOptions``)
- ``POST /_sandbox/reset``    forget entries and counters (and held writes), reload the seed,
  restart the limits

None of them passes the rate limit, the quota, the faults or the apply delay.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from importer.sandbox import people
from importer.sandbox.gate import as_json, text
from importer.sandbox.options import checked_changes, options_json
from importer.sandbox.state import load_seed

if TYPE_CHECKING:
    from importer.sandbox.app import SandboxApp

PREFIX = "/_sandbox"
_RATE = frozenset({"rate_limit", "rate_burst", "rate_tolerance"})
_QUOTA = frozenset({"quota", "quota_window", "me_quota"})


def configure(app: SandboxApp, changes: dict[str, Any]) -> None:
    """Apply option changes at once; ``ValueError`` names a wrong one (nothing is changed then)."""
    clean = checked_changes(changes)
    options = app.gate.options
    for name, value in clean.items():
        setattr(options, name, value)
    if "token" in clean:
        app.state.set_token(options.token)
    if clean.keys() & (_RATE | _QUOTA):
        # a new rate starts with empty buckets; a new quota keeps the requests already counted
        app.gate.rebuild_limits(rate=bool(clean.keys() & _RATE), quota=False)
    if "random_seed" in clean:
        app.gate.reseed()


def reset(app: SandboxApp) -> None:
    """Entries and counters cleared, seed reloaded, limits and dice started afresh; writes
    still held by ``apply_delay`` are dropped."""
    app.gate.forget_held()
    app.state.reload(load_seed(app.gate.options.seed_path), app.gate.options.token)
    app.gate.rebuild_limits(rate=True, quota=True)
    app.gate.reseed()


def stats(app: SandboxApp) -> dict[str, Any]:
    state = app.state
    return {
        "requests": {f"{method} {route}": n for (method, route), n in state.requests.items()},
        "statuses": {str(status): n for status, n in sorted(state.statuses.items())},
        "entries": len(state.entries),
        "deleted_entries": len(state.deleted_entries),
        "faults": dict(state.faults),
        "faults_by_route": _by_route(state.route_faults),
        "writes": dict(state.writes),
        "held_writes": len(app.gate.pending),
    }


def _by_route(counts: Any) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for (route, kind), n in counts.items():
        found.setdefault(route, {})[kind] = n
    return found


def add_routes(app: SandboxApp) -> None:
    async def get_stats(request: web.Request) -> web.Response:
        return as_json(stats(app))

    async def get_config(request: web.Request) -> web.Response:
        return as_json(options_json(app.gate.options))

    async def post_config(request: web.Request) -> web.Response:
        try:
            changes = json.loads(await request.read())
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of option changes")
            configure(app, changes)
        except ValueError as exc:
            return text(400, str(exc))
        return as_json(options_json(app.gate.options))

    async def post_reset(request: web.Request) -> web.Response:
        try:
            reset(app)
        except (OSError, ValueError) as exc:
            return text(500, f"cannot reload the seed: {exc}")
        return as_json({"reset": True})

    router = app.web_app.router
    people.add_routes(app, PREFIX)
    router.add_get(f"{PREFIX}/stats", get_stats)
    router.add_get(f"{PREFIX}/config", get_config)
    router.add_post(f"{PREFIX}/config", post_config)
    router.add_post(f"{PREFIX}/reset", post_reset)
