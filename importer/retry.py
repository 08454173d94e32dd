"""What is safe to send again, and how long to wait first (tenacity).

* ``NotAppliedError`` (429, 402 quota, could not connect, 408) -- certainly had no effect: retried.
* a plain ``TransientError`` -- the client raises it only for reads (GETs and read-only POSTs such
  as the Reports search) that failed after sending or got a 5xx: retried.
* ``MaybeAppliedError`` -- a write that may have been applied: **never** re-sent here; it leaves
  the policy at once so the runner marks the row ``in_doubt`` and reconciles it by reading back.
* ``PermanentError``, ``CredentialsError`` and anything else: never retried.

Waiting: exponential back-off with jitter (``multiplier * 2**(n-1) + uniform(0, jitter)``, capped
at ``max_wait``) for connection failures and failed reads. For 429 and 402 the *limiter* already
pauses every worker (the client tells it), so by default the policy waits 0 there and the next
attempt simply queues in ``limiter.slot()`` -- no double wait. So pass the client's limiter:
``RetryPolicy(limiter=limiter)``. Without one the policy honours ``Retry-After`` / ``resets_in``
itself (a client without a limiter).

Bounds: ``max_attempts`` attempts (the first included) and ``max_total_wait`` seconds of back-off;
402 quota pauses count against neither (they are bounded by ``max_quota_waits``).

Speed: tenacity costs ~25 us per call and a lot of garbage (performance.md: -35 % throughput), so
``RetryPolicy.call`` makes the first attempt plainly and builds an ``AsyncRetrying`` only once an
attempt has failed; the failure is replayed to tenacity as its attempt 1.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from .errors import (
    ConnectError,
    MaybeAppliedError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)

if TYPE_CHECKING:
    from .limits import Limiter

T = TypeVar("T")

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_MULTIPLIER = 0.5
DEFAULT_MAX_WAIT = 30.0
DEFAULT_JITTER = 0.5
DEFAULT_MAX_TOTAL_WAIT = 300.0
DEFAULT_MAX_ATTEMPTS_UNREACHED = 3
DEFAULT_MAX_QUOTA_WAITS = 48
"""Hourly-quota pauses one request may sit through before giving up (two days at one per hour)."""


def is_retryable(exc: BaseException) -> bool:
    """Safe to send again: not applied, or a read. A maybe-applied write never is."""
    return isinstance(exc, TransientError) and not isinstance(exc, MaybeAppliedError)


class _Run:
    """The wait and stop of one call: counts failures so quota pauses stay outside the bounds."""

    __slots__ = ("attempts", "backoff", "policy", "quota_waits")

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.attempts = 0  # failed attempts that count against max_attempts
        self.quota_waits = 0
        self.backoff = 0.0  # seconds of back-off asked for (quota waits excluded)

    def wait(self, state: RetryCallState) -> float:
        p = self.policy
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, QuotaExhaustedError):
            self.quota_waits += 1
            if p.limiter_waits:
                return 0.0
            return exc.resets_in if exc.resets_in is not None else p.max_wait
        self.attempts += 1
        if isinstance(exc, RateLimitedError):
            if p.limiter_waits:
                return 0.0
            if exc.retry_after is not None:
                self.backoff += exc.retry_after
                return exc.retry_after
        delay = p.backoff(self.attempts)
        self.backoff += delay
        return delay

    def stop(self, state: RetryCallState) -> bool:
        p = self.policy
        exc = state.outcome.exception() if state.outcome is not None else None
        unreached = isinstance(exc, ConnectError) and p.reached is not None and not p.reached()
        return (
            self.attempts >= p.max_attempts
            or (unreached and self.attempts >= p.max_attempts_unreached)
            or self.quota_waits > p.max_quota_waits
            or self.backoff > p.max_total_wait
        )


class RetryPolicy:
    """Retry what is safe to retry; the first attempt runs without tenacity."""

    def __init__(
        self,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        multiplier: float = DEFAULT_MULTIPLIER,
        max_wait: float = DEFAULT_MAX_WAIT,
        jitter: float = DEFAULT_JITTER,
        max_total_wait: float = DEFAULT_MAX_TOTAL_WAIT,
        max_quota_waits: int = DEFAULT_MAX_QUOTA_WAITS,
        limiter: Limiter | None = None,
        limiter_waits: bool | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[float, float], float] = random.uniform,
        on_retry: Callable[[BaseException, int, float], object] | None = None,
        reached: Callable[[], bool] | None = None,
        max_attempts_unreached: int = DEFAULT_MAX_ATTEMPTS_UNREACHED,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.multiplier = multiplier
        self.max_wait = max_wait
        self.jitter = jitter
        self.max_total_wait = max_total_wait
        self.max_quota_waits = max_quota_waits
        self.limiter_waits = limiter is not None if limiter_waits is None else limiter_waits
        """The limiter does the waiting for 429/402 (the client tells it): the policy waits 0."""
        self._sleep = sleep
        self._rng = rng
        self._on_retry = on_retry
        self.reached = reached
        """Has the server ever answered? Until it has, a connection that cannot be made is most
        likely a wrong URL or no network: give up after ``max_attempts_unreached`` attempts (a
        few seconds) instead of a minute of back-off."""
        self.max_attempts_unreached = max_attempts_unreached
        self.retried_calls = 0
        """Calls that needed tenacity at all (the first attempt failed and could be retried)."""

    def backoff(self, failures: int) -> float:
        """The pause after the ``failures``-th failed attempt: exponential, jittered, capped."""
        base = self.multiplier * 2 ** (failures - 1)
        return min(self.max_wait, base + self._rng(0.0, self.jitter))

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """``await fn()``; on a retryable failure, retry under tenacity; otherwise raise."""
        try:
            return await fn()
        except TransientError as exc:
            if not is_retryable(exc):
                raise
            first: BaseException = exc
        return await self._retry(fn, first)

    async def _retry(self, fn: Callable[[], Awaitable[T]], first: BaseException) -> T:
        self.retried_calls += 1
        pending = [first]

        async def attempt() -> T:
            if pending:
                raise pending.pop()  # replay the plain first attempt as tenacity's attempt 1
            return await fn()

        run = _Run(self)
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_retryable),
            wait=run.wait,
            stop=run.stop,
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._before_sleep if self._on_retry is not None else None,
        )
        return await retrying(attempt)

    def _before_sleep(self, state: RetryCallState) -> None:
        assert self._on_retry is not None and state.outcome is not None
        exc = state.outcome.exception()
        assert exc is not None
        self._on_retry(exc, state.attempt_number, state.upcoming_sleep)


async def send_with_retry(fn: Callable[[], Awaitable[T]], *, policy: RetryPolicy) -> T:
    """``policy.call(fn)``: the first attempt plainly, tenacity only after a retryable failure."""
    return await policy.call(fn)
