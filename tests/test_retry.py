"""Retry policy: what is re-sent, how long it waits (recorded, never slept), and its bounds."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

import importer.retry as retry_mod
from importer.errors import (
    ConnectError,
    CredentialsError,
    MaybeAppliedError,
    NotAppliedError,
    PermanentError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)
from importer.retry import RetryPolicy, is_retryable, send_with_retry


class Flaky:
    """Fails with the given errors in turn, then answers ``"ok"``; counts calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(
    delays: list[float], rng: Callable[[float, float], float] | None = None, **kw: object
) -> RetryPolicy:
    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    kw.setdefault("limiter_waits", True)
    return RetryPolicy(sleep=sleep, rng=rng or (lambda a, b: b), **kw)  # type: ignore[arg-type]


async def test_success_first_time_never_enters_tenacity(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real = retry_mod.AsyncRetrying

    def spy(*args: object, **kw: object) -> object:
        built.append(kw)
        return real(*args, **kw)

    monkeypatch.setattr(retry_mod, "AsyncRetrying", spy)
    delays: list[float] = []
    p = policy(delays)
    fn = Flaky()
    assert await p.call(fn) == "ok"
    assert await send_with_retry(fn, policy=p) == "ok"
    assert built == [] and p.retried_calls == 0 and delays == []
    # a failure does enter it, and the first failure counts as attempt 1
    fn = Flaky(ConnectError("refused"))
    assert await p.call(fn) == "ok"
    assert len(built) == 1 and fn.calls == 2 and p.retried_calls == 1


async def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    delays: list[float] = []
    jitters = itertools.cycle([0.0, 0.5, 0.25])
    p = policy(
        delays,
        rng=lambda a, b: next(jitters) * (b - a) / 0.5,
        max_attempts=9,
        multiplier=0.5,
        jitter=0.5,
        max_wait=20.0,
        max_total_wait=1e9,
    )
    fn = Flaky(*(ConnectError("refused") for _ in range(8)))
    assert await p.call(fn) == "ok"
    assert fn.calls == 9
    bases = [0.5, 1, 2, 4, 8, 16, 32, 64]
    expected = [min(20.0, b + j) for b, j in zip(bases, itertools.cycle([0.0, 0.5, 0.25]), strict=False)]
    assert delays == pytest.approx(expected)
    assert max(delays) == 20.0


async def test_real_jitter_stays_in_its_band() -> None:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    p = RetryPolicy(sleep=sleep, max_attempts=6, multiplier=1.0, jitter=1.0, max_wait=100)
    await p.call(Flaky(*(ConnectError("x") for _ in range(5))))
    for n, d in enumerate(delays, start=1):
        assert 2 ** (n - 1) <= d <= 2 ** (n - 1) + 1.0


async def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    delays: list[float] = []
    p = policy(delays, max_attempts=4)
    errors = [ConnectError(f"refused {i}") for i in range(10)]
    fn = Flaky(*errors)
    with pytest.raises(ConnectError) as info:
        await p.call(fn)
    assert info.value is errors[3]
    assert fn.calls == 4 and len(delays) == 3


async def test_total_backoff_is_bounded() -> None:
    delays: list[float] = []
    p = policy(delays, max_attempts=100, multiplier=1.0, jitter=0.0, max_wait=1000, max_total_wait=10.0)
    fn = Flaky(*(ConnectError("x") for _ in range(50)))
    with pytest.raises(ConnectError):
        await p.call(fn)
    assert delays == [1, 2, 4]  # the next (8) would pass 10 s in all


@pytest.mark.parametrize(
    "error",
    [
        MaybeAppliedError("timeout after sending"),
        PermanentError("400 bad start", status=400, text="bad start"),
        CredentialsError("403", status=403),
        ValueError("a bug"),
    ],
)
async def test_never_retried(error: BaseException) -> None:
    delays: list[float] = []
    fn = Flaky(error)
    with pytest.raises(type(error)) as info:
        await policy(delays).call(fn)
    assert info.value is error
    assert fn.calls == 1 and delays == []


async def test_maybe_applied_on_a_later_attempt_stops_at_once() -> None:
    delays: list[float] = []
    fn = Flaky(ConnectError("refused"), MaybeAppliedError("reset after writing"))
    with pytest.raises(MaybeAppliedError):
        await policy(delays).call(fn)
    assert fn.calls == 2 and len(delays) == 1


async def test_transient_reads_are_retried() -> None:
    delays: list[float] = []
    fn = Flaky(TransientError("GET 503", status=503), TransientError("GET reset"))
    assert await policy(delays).call(fn) == "ok"
    assert fn.calls == 3


async def test_limiter_does_the_waiting_for_429_and_quota() -> None:
    delays: list[float] = []
    fn = Flaky(
        RateLimitedError("429", retry_after=7.0),
        QuotaExhaustedError("402", resets_in=900),
        NotAppliedError("408"),
    )
    assert await policy(delays).call(fn) == "ok"
    assert delays[:2] == [0.0, 0.0]  # no double wait: the next attempt queues in limiter.slot()
    assert delays[2] > 0


async def test_without_a_limiter_the_policy_honours_retry_after_and_resets_in() -> None:
    delays: list[float] = []
    fn = Flaky(
        RateLimitedError("429", retry_after=7.0),
        QuotaExhaustedError("402", resets_in=900),
        RateLimitedError("429"),
    )
    assert await policy(delays, limiter_waits=False, max_total_wait=100).call(fn) == "ok"
    assert delays[0] == 7.0
    assert delays[1] == 900  # a quota wait: outside max_total_wait
    assert 0 < delays[2] <= 30


async def test_quota_pauses_do_not_count_against_attempts() -> None:
    delays: list[float] = []
    errors: list[BaseException] = []
    for _ in range(3):
        errors += [QuotaExhaustedError("402", resets_in=60)] * 5 + [ConnectError("x")]
    fn = Flaky(*errors)
    assert await policy(delays, max_attempts=4).call(fn) == "ok"
    assert fn.calls == 19


async def test_quota_waits_have_their_own_bound() -> None:
    fn = Flaky(*(QuotaExhaustedError("402", resets_in=60) for _ in range(10)))
    with pytest.raises(QuotaExhaustedError):
        await policy([], max_quota_waits=3).call(fn)
    assert fn.calls == 4


async def test_on_retry_hook_sees_error_attempt_and_delay() -> None:
    seen: list[tuple[str, int, float]] = []
    delays: list[float] = []
    p = policy(
        delays, on_retry=lambda e, n, d: seen.append((type(e).__name__, n, d)), multiplier=1.0, jitter=0.0
    )
    await p.call(Flaky(ConnectError("a"), TransientError("b")))
    assert seen == [("ConnectError", 1, 1.0), ("TransientError", 2, 2.0)]


def test_limiter_waits_follows_the_limiter() -> None:
    from importer.limits import Limiter

    assert RetryPolicy(limiter=Limiter(1, 1)).limiter_waits is True
    assert RetryPolicy().limiter_waits is False
    assert RetryPolicy(limiter=Limiter(1, 1), limiter_waits=False).limiter_waits is False


def test_is_retryable() -> None:
    assert is_retryable(ConnectError("x"))
    assert is_retryable(RateLimitedError("x"))
    assert is_retryable(TransientError("x"))
    assert not is_retryable(MaybeAppliedError("x"))
    assert not is_retryable(PermanentError("x"))
    assert not is_retryable(RuntimeError("x"))
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
