"""Everything a request passes before its handler: counters, auth, access, rate, quota, faults.

Order, as Toggl's answers suggest: credentials (403) → workspace membership (403) → rate limit
(429 + ``Retry-After``) → quota (402) → the handler. Nothing is applied before the handler runs,
so a refused request changes nothing. Only requests let through the quota count against it.
An unknown workspace id is answered like a foreign one: 403 (Toggl does not say which exists).

The rate is metered per credential, as Toggl's is per API token: each token has its own bucket,
and an email + password login one per user. The hourly quota is counted per user (and
organization, or the ``/me`` bucket), whatever credential the user sends.

Writes of time entries can be held (``apply_delay``) before they are applied, in a task of
their own: a client that gives up (and a handler cancelled because of it) does not stop them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import socket
import struct
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

from aiohttp import web

from importer.sandbox.limits import RateLimiter, SlidingQuota, Timer
from importer.sandbox.options import SandboxOptions
from importer.sandbox.state import Json, SandboxState

Bucket = Literal["ws", "me", "free"]
Handler = Callable[[web.Request, Json, Json | None], Awaitable[web.StreamResponse]]
WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")
ROUTE = web.RequestKey("sandbox.route", str)
"""Request key of the ``"METHOD route"`` name a guarded request was routed to."""

BAD_LOGIN = "Incorrect username and/or password"
NO_ACCESS = "User does not have access to this resource."
QUOTA_TEXT = "You have hit your hourly limit for API calls. Your quota will reset in {} seconds."
REMAINING = "X-Toggl-Quota-Remaining"
RESETS_IN = "X-Toggl-Quota-Resets-In"


def text(status: int, message: str) -> web.Response:
    """A plain-text answer, the way Toggl answers errors."""
    return web.Response(status=status, text=message, content_type="text/plain")


def as_json(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, content_type="application/json")


class Hangup(Exception):
    """Raised by a handler to close the connection with no answer (a fault)."""

    def __init__(self, reset: bool) -> None:
        super().__init__("reset" if reset else "drop")
        self.reset = reset


class Gate:
    """The runtime behaviour of a sandbox: options, limiters and the fault dice."""

    def __init__(
        self,
        options: SandboxOptions,
        state: SandboxState,
        timer: Timer,
        clock: Callable[[], datetime],
    ) -> None:
        self.options = options
        self.state = state
        self.timer = timer
        self.clock = clock
        self.rng = random.Random(options.random_seed)
        self.limiter: RateLimiter | None = None
        self.quota: SlidingQuota | None = None
        self.me_quota: SlidingQuota | None = None
        self.pending: set[asyncio.Task[Any]] = set()  # held writes not applied yet
        self.rebuild_limits(rate=True, quota=True)

    def rebuild_limits(self, *, rate: bool, quota: bool) -> None:
        """Apply changed options; ``rate``/``quota`` start those buckets afresh."""
        o = self.options
        if rate:
            self.limiter = None
            if o.rate_limit is not None:
                self.limiter = RateLimiter(
                    o.rate_limit, o.rate_burst, self.timer, tolerance=o.rate_tolerance
                )
        self.quota = self._quota(o.quota, self.quota, fresh=quota)
        self.me_quota = self._quota(o.me_quota, self.me_quota, fresh=quota)

    def _quota(
        self, limit: int | None, old: SlidingQuota | None, fresh: bool
    ) -> SlidingQuota | None:
        if limit is None:
            return None
        if old is None or fresh:
            return SlidingQuota(limit, self.options.quota_window, self.timer)
        old.limit, old.window = limit, self.options.quota_window  # keep the counted requests
        return old

    def reseed(self) -> None:
        self.rng = random.Random(self.options.random_seed)

    # -- the wrapper around every API handler --------------------------------------------------

    def guard(self, handler: Handler, method: str, route: str, bucket: Bucket) -> WebHandler:
        """Wrap ``handler`` with counting, auth, access, limits, latency and hang-ups."""
        key = (method, route)
        name = f"{method} {route}"

        async def endpoint(request: web.Request) -> web.StreamResponse:
            self.state.requests[key] += 1
            request[ROUTE] = name
            try:
                response = await self._checked(request, handler, bucket)
            except Hangup as hangup:
                await self._delay()
                self.count_fault(request, str(hangup))
                _hang_up(request, hangup.reset)
                return web.Response()  # never sent: writing to the closed transport fails quietly
            await self._delay()
            self.state.statuses[response.status] += 1
            return response

        return endpoint

    async def _delay(self) -> None:
        if self.options.latency:
            await asyncio.sleep(self.options.latency)

    async def _checked(
        self, request: web.Request, handler: Handler, bucket: Bucket
    ) -> web.StreamResponse:
        state = self.state
        login = state.login(request.headers.get("Authorization"))
        if login is None:
            return text(403, BAD_LOGIN)
        user = login.user
        ws = None
        quota, quota_key = None, None
        if bucket == "ws":
            ws = state.workspaces.get(int(request.match_info["wid"]))
            if ws is None or state.membership(user["id"], ws["id"]) is None:
                return text(403, NO_ACCESS)
            quota, quota_key = self.quota, (user["id"], ws.get("organization_id"))
        elif bucket == "me":
            quota, quota_key = self.me_quota, (user["id"], None)
        if self.limiter is not None:
            wait = self.limiter.acquire(login.key)
            if wait:
                return self._too_many(wait, quota, quota_key)
        if quota is None:
            return await handler(request, user, ws)
        allowed, remaining, resets_in = quota.take(quota_key)
        if not allowed:
            refused = text(402, QUOTA_TEXT.format(resets_in))
            _quota_headers(refused, remaining, resets_in)
            return refused
        response = await handler(request, user, ws)
        _quota_headers(response, remaining, resets_in)
        return response

    def _too_many(self, wait: float, quota: SlidingQuota | None, key: Any) -> web.Response:
        seconds = max(1, math.ceil(wait))
        response = text(429, f"Too Many Requests: slow down and retry after {seconds} seconds")
        response.headers["Retry-After"] = str(seconds)
        if quota is not None:
            _quota_headers(response, *quota.peek(key))
        return response

    def roll_fault(self) -> str | None:
        """One throw of the seeded dice per write request: ``reset``, ``500``, ``drop`` or None."""
        roll = self.rng.random()
        o = self.options
        for name, chance in (("reset", o.fail_reset), ("500", o.fail_500), ("drop", o.fail_drop)):
            if roll < chance:
                return name
            roll -= chance
        return None

    def count_fault(self, request: web.Request, kind: str) -> None:
        self.state.faults[kind] += 1
        self.state.route_faults[(request.get(ROUTE, "?"), kind)] += 1

    def count_write(self, request: web.Request) -> None:
        """One applied write of a guarded request (counted even if its answer is lost)."""
        self.state.writes[request.get(ROUTE, "?")] += 1

    def _apply_delay(self) -> float:
        """How long this write is held: ``apply_delay`` for a share ``apply_delay_share`` of the
        writes (thrown with the fault dice only when the share is below 1)."""
        o = self.options
        if not o.apply_delay:
            return 0.0
        if o.apply_delay_share >= 1.0 or self.rng.random() < o.apply_delay_share:
            return o.apply_delay
        return 0.0

    async def held(self, apply: Callable[[], T]) -> T:
        """``apply()`` now, or after the apply delay in a task of its own, which the handler
        awaits shielded: if the client goes away meanwhile, the write is applied all the same."""
        delay = self._apply_delay()
        if not delay:
            return apply()

        async def later() -> T:
            await asyncio.sleep(delay)
            return apply()

        task = asyncio.get_running_loop().create_task(later())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return await asyncio.shield(task)

    def forget_held(self) -> list[asyncio.Task[Any]]:
        """Cancel the held writes (a reset, a stop): they are never applied."""
        tasks = list(self.pending)
        for task in tasks:
            task.cancel()
        return tasks

    async def drain(self) -> None:
        """Cancel the held writes and wait for them to end (the sandbox is stopping)."""
        await asyncio.gather(*self.forget_held(), return_exceptions=True)


def _quota_headers(response: web.StreamResponse, remaining: int, resets_in: int) -> None:
    response.headers[REMAINING] = str(remaining)
    response.headers[RESETS_IN] = str(resets_in)


def _hang_up(request: web.Request, reset: bool) -> None:
    """Close the connection without an answer: an RST (``reset``) or a plain FIN."""
    transport = request.transport
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
