"""Progress snapshots for the display: rows done, entries created, requests, the quota countdown.

The runner owns one ``Ticker``: it sends a snapshot at most every ``PROGRESS_EVERY`` seconds when
something moves, and once a second while nothing does (a quota pause during name look-ups, a long
read-back: the countdown shows and a log gets its line -- no silent minute). Never prints.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..report import Summary

PROGRESS_EVERY = 0.2
TICK_EVERY = 1.0


@dataclass
class Progress:
    """A snapshot for the progress display."""

    phase: str
    done: int
    total: int
    created: int
    requests: int
    elapsed: float
    quota_wait: float = 0.0
    rate: float = 0.0


ProgressCallback = Callable[[Progress], None]


class Ticker:
    """Builds snapshots from the summary and whatever tells the requests and the quota wait."""

    def __init__(
        self,
        summary: Summary,
        callback: ProgressCallback | None,
        *,
        total: Callable[[], int],
        requests: Callable[[], int] = lambda: 0,
        quota_wait: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.summary = summary
        self.callback = callback
        self.phase = "reading"
        self._total = total
        self._requests = requests
        self._quota_wait = quota_wait
        self._started = time.monotonic()
        self._last = 0.0

    def tick(self, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_EVERY:
            return
        self._last = now
        s = self.summary
        elapsed = now - self._started
        written = s.created + s.updated + s.deleted
        self.callback(
            Progress(
                phase=self.phase,
                done=written + s.already_done + s.failed + s.refused + s.duplicate + s.skipped + s.conflict,
                total=max(self._total(), s.rows),
                created=s.created,
                requests=self._requests(),
                elapsed=elapsed,
                quota_wait=self._quota_wait(),
                rate=written / elapsed if elapsed > 0 else 0.0,
            )
        )

    async def every_second(self) -> None:
        while True:
            await asyncio.sleep(TICK_EVERY)
            self.tick(force=True)
