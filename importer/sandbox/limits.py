"""The sandbox's limits: a per-user GCRA rate limiter and a sliding-window hourly quota.

Both take an injectable monotonic ``timer`` so tests can move time without sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable

Timer = Callable[[], float]
_EPSILON = 1e-9


class RateLimiter:
    """Generic cell rate algorithm (a leaky bucket as a meter), one bucket per key.

    ``rate`` requests per second on average, ``burst`` of them back to back at most; a request
    up to ``tolerance`` seconds earlier than its theoretical arrival time is let through too (the
    GCRA's jitter tolerance τ, on top of what the burst allows). The schedule does not drift:
    every request let through moves the theoretical arrival time by one interval, so early
    requests use up the tolerance rather than reset it.
    """

    def __init__(self, rate: float, burst: int, timer: Timer, tolerance: float = 0.0) -> None:
        self.interval = 1.0 / rate
        self.tolerance = self.interval * (max(burst, 1) - 1) + tolerance
        self._timer = timer
        self._tat: dict[Hashable, float] = {}  # theoretical arrival time of the next request

    def acquire(self, key: Hashable) -> float:
        """Let one request through (returns 0.0) or say how many seconds it must wait."""
        now = self._timer()
        tat = self._tat.get(key, now)
        if tat < now:
            tat = now
        wait = tat - self.tolerance - now
        if wait > _EPSILON:
            return wait
        self._tat[key] = tat + self.interval
        return 0.0


class SlidingQuota:
    """At most ``limit`` requests per key within any ``window`` seconds.

    Only requests that were let through are counted: a refused request (402, and the 429 that
    is checked before) does not use up the quota.
    """

    def __init__(self, limit: int, window: float, timer: Timer) -> None:
        self.limit = limit
        self.window = window
        self._timer = timer
        self._hits: dict[Hashable, deque[float]] = {}

    def _live(self, key: Hashable, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        edge = now - self.window
        while hits and hits[0] <= edge:
            hits.popleft()
        return hits

    def _status(self, hits: deque[float], now: float) -> tuple[int, int]:
        resets_in = math.ceil(hits[0] + self.window - now) if hits else 0
        return self.limit - len(hits), max(resets_in, 0)

    def peek(self, key: Hashable) -> tuple[int, int]:
        """``(remaining, resets_in)`` without counting a request."""
        now = self._timer()
        return self._status(self._live(key, now), now)

    def take(self, key: Hashable) -> tuple[bool, int, int]:
        """Count one request if the quota allows: ``(allowed, remaining, resets_in)``.

        ``resets_in`` is when the oldest counted request leaves the window, so that one more
        request fits: a sliding window gives back part of the quota, not all of it.
        """
        now = self._timer()
        hits = self._live(key, now)
        if len(hits) >= self.limit:
            return (False, *self._status(hits, now))
        hits.append(now)
        return (True, *self._status(hits, now))
