"""Shared fixtures: the sandbox server on 127.0.0.1:0 and a real aiohttp client session."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from importer.sandbox import Sandbox, SandboxOptions

SandboxFactory = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A running sandbox with the bundled seed and default options."""
    async with Sandbox() as running:
        yield running


@pytest.fixture
async def sandbox_factory() -> AsyncIterator[SandboxFactory]:
    """Start sandboxes with given options: ``await sandbox_factory(rate_limit=2)`` or
    ``await sandbox_factory(SandboxOptions(...), timer=fake_timer)``. All are stopped after."""
    started: list[Sandbox] = []

    async def start(
        options: SandboxOptions | None = None,
        /,
        *,
        timer: Any = None,
        clock: Any = None,
        **changes: Any,
    ) -> Sandbox:
        options = dataclasses.replace(options or SandboxOptions(), **changes)
        extra = {k: v for k, v in (("timer", timer), ("clock", clock)) if v is not None}
        running = Sandbox(options, **extra)
        await running.start("127.0.0.1", 0)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session, closed after the test (no auth: pass headers per request)."""
    async with aiohttp.ClientSession() as client:
        yield client
