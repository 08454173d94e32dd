"""``Sandbox``: start and stop the local Toggl-compatible server; ``serve`` for the CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from aiohttp import web

from importer.sandbox import admin
from importer.sandbox.app import API, REPORTS, SandboxApp
from importer.sandbox.gate import Gate
from importer.sandbox.limits import Timer
from importer.sandbox.options import SandboxOptions
from importer.sandbox.state import SandboxState, load_seed


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Sandbox:
    """A running (once started) Toggl API v9 look-alike on a local port.

    ``timer`` (monotonic seconds, for rate and quota) and ``clock`` (the aware "now" stamped on
    entries and used for the 90-day reach of ``/me/time_entries``) can be injected by tests.

    A handler whose client disconnects is cancelled (aiohttp's ``handler_cancellation``), as a
    server that stops work for a client gone; writes held by ``apply_delay`` are applied anyway.
    """

    def __init__(
        self,
        options: SandboxOptions | None = None,
        *,
        timer: Timer = time.monotonic,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.options = dataclasses.replace(options) if options else SandboxOptions()
        state = SandboxState(load_seed(self.options.seed_path), self.options.token)
        self._app = SandboxApp(Gate(self.options, state, timer, clock))
        self._runner: web.AppRunner | None = None
        self.host = ""
        self.port = 0

    @property
    def state(self) -> SandboxState:
        return self._app.state

    @property
    def token(self) -> str:
        return self.options.token

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + API

    @property
    def reports_url(self) -> str:
        return self.root_url + REPORTS

    @property
    def admin_url(self) -> str:
        return self.root_url + admin.PREFIX

    def configure(self, **changes: Any) -> None:
        """Change options while running (same names as ``SandboxOptions``); ValueError if wrong."""
        admin.configure(self._app, changes)

    def reset(self) -> None:
        """Forget entries and counters, reload the seed, restart limits and the fault dice."""
        admin.reset(self._app)

    def stats(self) -> dict[str, Any]:
        """What ``GET /_sandbox/stats`` answers."""
        return admin.stats(self._app)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError("the sandbox is already running")
        runner = web.AppRunner(
            self._app.web_app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=1.0,
            handler_cancellation=True,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.host, self.port = host, runner.addresses[0][1]

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self._app.gate.drain()

    async def __aenter__(self) -> Sandbox:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve(
    options: SandboxOptions, host: str, port: int, on_ready: Callable[[Sandbox], None]
) -> None:
    """Run a sandbox until cancelled; ``on_ready`` gets it once it listens (to print its URL)."""
    sandbox = Sandbox(options)
    await sandbox.start(host, port)
    try:
        on_ready(sandbox)
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()
