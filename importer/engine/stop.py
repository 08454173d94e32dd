"""Stopping a run: at once for everything that has no request on the wire.

``Stopper.request(reason)`` (Ctrl-C, SIGTERM, refused credentials) stops every limiter -- no
request starts any more -- and cancels every task it guards that is not on the wire: such a task
waits for an action, a rate slot, a quota reset or a back-off, so what it holds was never sent
and goes back to ``pending``. Requests on the wire finish and are recorded. So a stop during an
hour-long quota pause is immediate, and after a 403 nothing more is sent.

A guarded task that was cancelled by a stop takes the cancellation back (``taken_back()`` in its
``CancelledError`` handler) and winds up normally; any other cancellation goes on up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

from ..limits import Limiter, Stopped

T = TypeVar("T")


class Stopper:
    """One run's stop: its reason, the limiters it stops and the tasks it may cancel."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.reason: str | None = None
        self.limiters: list[Limiter] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cancelled: set[asyncio.Task[Any]] = set()

    @property
    def stopping(self) -> bool:
        return self.event.is_set()

    def request(self, reason: str = "interrupted") -> None:
        """Stop taking new work at once; requests on the wire finish (or end in doubt)."""
        self.reason = self.reason or reason
        self.event.set()
        on_wire: set[asyncio.Task[Any]] = set()
        for limiter in self.limiters:
            limiter.stop()
            on_wire |= limiter.on_wire
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current and not task.done() and task not in on_wire:
                self._cancelled.add(task)
                task.cancel()

    def guard(self, tasks: Iterable[asyncio.Task[Any]]) -> None:
        """Tasks a stop may cancel when they have no request on the wire."""
        self._tasks.update(tasks)
        if self.stopping:  # a stop that came first: they must not start work
            self.request(self.reason or "interrupted")

    def release(self, tasks: Iterable[asyncio.Task[Any]]) -> None:
        self._tasks.difference_update(tasks)

    def taken_back(self) -> bool:
        """In a ``CancelledError`` handler: did the stop cancel this task (and nothing else)?
        Then the cancellation is taken back and the task winds up normally."""
        task = asyncio.current_task()
        if task is None or task not in self._cancelled:
            return False
        self._cancelled.discard(task)
        return task.uncancel() == 0

    async def stoppable(self, work: Awaitable[T]) -> T:
        """Await ``work`` in the current task, which a stop may cancel (``Stopped`` then)."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            return await work
        except asyncio.CancelledError:
            if not self.taken_back():
                raise
            raise Stopped from None
        finally:
            self._tasks.discard(task)
