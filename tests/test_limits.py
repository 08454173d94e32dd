"""Limiter on virtual time: a clock that only moves when every task is waiting on it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.limits import Limiter, Stopped


class VirtualTime:
    """``clock``/``sleep`` for the limiter: time jumps to the next wake-up once all are idle."""

    def __init__(self, start: float = 1000.0, oversleep: Callable[[], float] | None = None) -> None:
        self.now = start
        self.oversleep = oversleep  # wake-ups come late by this much, like real timers
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        late = self.oversleep() if self.oversleep is not None else 0.0
        heapq.heappush(self._timers, (self.now + max(0.0, delay) + late, next(self._seq), fut))
        await fut

    async def _settle(self) -> None:
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)
        for _ in range(10_000):
            await asyncio.sleep(0)
            if ready is not None and not ready:
                return
        if ready is not None:  # pragma: no cover
            raise RuntimeError("tasks never settle")

    async def run(self, *coros: Awaitable[object]) -> list[object]:
        """Run ``coros`` to completion, advancing time whenever nothing else can run."""
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            await self._settle()
            if all(t.done() for t in tasks):
                break
            if not self._timers:
                raise RuntimeError("deadlock: tasks wait but no timer is pending")
            when, _, fut = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            if not fut.cancelled():
                fut.set_result(None)
        return [t.result() for t in tasks]


def max_in_window(starts: list[float], width: float = 1.0) -> int:
    """The most starts inside any half-open window ``[t, t + width)``."""
    starts = sorted(starts)
    best, j = 0, 0
    for i, t in enumerate(starts):
        while starts[j] <= t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


def make(vt: VirtualTime, rate: float, concurrency: int, **kw: object) -> Limiter:
    """A limiter on virtual time; no jitter headroom unless asked, so the figures are exact."""
    kw.setdefault("headroom", 0.0)
    return Limiter(rate, concurrency, clock=vt.clock, sleep=vt.sleep, **kw)  # type: ignore[arg-type]


async def workers(
    vt: VirtualTime,
    limiter: Limiter,
    n_workers: int,
    n_requests: int,
    *,
    latency: float | Callable[[int], float] = 0.05,
    on_start: Callable[[int], None] | None = None,
    bucket: str = "org",
) -> list[float]:
    """Workers pulling from a shared counter; each request 'takes' ``latency`` virtual seconds."""
    starts: list[float] = []
    counter = itertools.count()
    peak = {"now": 0, "max": 0}

    async def worker() -> None:
        while (i := next(counter)) < n_requests:
            async with limiter.slot(bucket):
                starts.append(vt.now)
                peak["now"] += 1
                peak["max"] = max(peak["max"], peak["now"])
                if on_start is not None:
                    on_start(i)
                await vt.sleep(latency(i) if callable(latency) else latency)
                peak["now"] -= 1

    await vt.run(*(worker() for _ in range(n_workers)))
    workers.peak = peak["max"]  # type: ignore[attr-defined]
    return starts


async def test_no_one_second_window_exceeds_the_rate() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=10, concurrency=32)
    starts = await workers(vt, limiter, 32, 500, latency=0.3)
    assert len(starts) == 500
    assert max_in_window(starts) <= 10
    # and it is not timid: 500 requests at 10/s take just under 50 s
    assert starts[-1] - starts[0] == pytest.approx(49.9, rel=2e-3)


async def test_no_burst_after_idle() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=5, concurrency=8)
    first = await workers(vt, limiter, 8, 3)
    vt.now += 60  # a long idle spell must not bank credit
    second = await workers(vt, limiter, 8, 20)
    assert max_in_window(first + second) <= 5
    gaps = [b - a for a, b in itertools.pairwise(second)]
    assert min(gaps) >= 0.2 - 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rate=st.sampled_from([0.5, 1, 2, 3, 7, 10, 33, 50]),
    concurrency=st.integers(1, 40),
    n=st.integers(1, 120),
    latencies=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=10),
    late=st.floats(0.0, 0.05),
    seed=st.integers(0, 2**16),
)
def test_window_property_for_any_load(
    rate: float, concurrency: int, n: int, latencies: list[float], late: float, seed: int
) -> None:
    rng = random.Random(seed)

    async def scenario() -> None:
        vt = VirtualTime(oversleep=lambda: rng.uniform(0.0, late))
        limiter = make(vt, rate=rate, concurrency=concurrency)
        starts = await workers(
            vt, limiter, concurrency + 3, n, latency=lambda i: latencies[i % len(latencies)]
        )
        assert len(starts) == n
        assert max_in_window(starts) <= max(1, math.floor(rate))
        assert workers.peak <= concurrency  # type: ignore[attr-defined]
        assert limiter.in_flight == 0

    asyncio.run(scenario())


@pytest.mark.parametrize("rate", [1, 2, 10, 50])
async def test_late_wake_ups_never_bunch(rate: float) -> None:
    """Timers that fire up to 2 ms late: starts stay an interval apart, no window goes above the
    rate, and the only loss is the lateness itself."""
    rng = random.Random(rate)
    vt = VirtualTime(oversleep=lambda: rng.uniform(0.0, 0.002))
    limiter = make(vt, rate=rate, concurrency=32)  # enough in flight that the rate is the limit
    n = int(rate * 20)
    starts = await workers(vt, limiter, 32, n, latency=lambda i: rng.uniform(0.0, 0.3))
    assert max_in_window(starts) <= rate
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 1 / rate
    achieved = (n - 1) / (starts[-1] - starts[0])
    assert achieved >= 1 / (1.001 / rate + 0.002)


@pytest.mark.parametrize(
    ("rate", "gap"),
    [(1, 1.001 + 0.002), (20, 0.05005 + 0.0005), (50, 0.02002 + 0.0002), (1000, 0.001001 + 0.00001)],
)
async def test_default_headroom_spaces_starts_a_little_wider(rate: float, gap: float) -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=rate, concurrency=4, headroom=None)
    starts = await workers(vt, limiter, 4, 10, latency=0.0)
    assert [b - a for a, b in itertools.pairwise(starts)] == pytest.approx([gap] * 9)


async def test_concurrency_never_exceeds_n() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=1000, concurrency=4)
    await workers(vt, limiter, 20, 200, latency=0.5)
    assert workers.peak == 4  # type: ignore[attr-defined]
    assert limiter.in_flight == 0
    assert limiter.started == 200


async def test_slot_released_when_the_request_fails() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=1000, concurrency=1)

    async def failing() -> None:
        async with limiter.slot():
            raise ValueError("boom")

    with pytest.raises(ValueError):
        await vt.run(failing())
    await workers(vt, limiter, 1, 1)
    assert limiter.in_flight == 0


async def test_cancelled_waiter_gives_back_its_place() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=1, concurrency=1)
    await workers(vt, limiter, 1, 1, latency=0)

    async def waiter() -> None:
        async with limiter.slot():
            pass

    task = asyncio.ensure_future(waiter())
    await vt._settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await workers(vt, limiter, 1, 2, latency=0)
    assert limiter.in_flight == 0


async def test_quota_pause_blocks_every_worker_and_counts_down() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=10, concurrency=4)
    t0 = vt.now
    seen: list[tuple[float, float, str | None]] = []

    def on_start(i: int) -> None:
        if i == 5:  # the 6th request was refused with 402: quota back in 120 s
            limiter.pause_for_quota(120.0)
            seen.append((vt.now, limiter.pause_remaining(), limiter.pause_reason))
        elif i > 5:
            limiter.observe(100, 3000.0)

    starts = await workers(vt, limiter, 4, 10, latency=0.05, on_start=on_start)
    pause_at = starts[5]
    assert seen == [(pause_at, pytest.approx(120.0), "quota")]
    after = [s for s in starts[6:]]
    assert all(s >= pause_at + 120.0 for s in after)  # nobody started during the pause
    assert limiter.paused_until == pytest.approx(pause_at + 120.0)
    assert limiter.pause_remaining() == 0.0
    assert limiter.pause_reason is None
    assert starts[0] == t0
    assert limiter.quota_pauses == 1


async def test_after_a_quota_pause_one_probe_goes_first() -> None:
    """The window slides: after the pause only part may be back, so one request asks first."""
    vt = VirtualTime()
    limiter = make(vt, rate=100, concurrency=8)
    limiter.pause_for_quota(60.0)
    answers = {0: (2, 900.0)}  # the probe learns: only 2 back, next in 900 s

    def on_start(i: int) -> None:
        remaining, resets_in = answers.get(i, (None, None))
        if i == 0:
            limiter.observe(remaining, resets_in)

    starts = await workers(vt, limiter, 8, 5, latency=1.0, on_start=on_start)
    t_pause_end = 1000.0 + 60.0
    assert starts[0] == pytest.approx(t_pause_end)
    # the probe went alone; its answer allowed two more, then the gate held until 900 s later
    assert starts[1] == pytest.approx(t_pause_end + 0.01, abs=0.02)
    assert starts[2] - starts[1] == pytest.approx(0.01, abs=0.01)
    assert starts[3] >= t_pause_end + 900.0 - 1e-6


async def test_the_probes_answer_wakes_the_waiting_workers_at_once() -> None:
    """After a pause the others wait for the probe's answer, not for a whole probe interval."""
    vt = VirtualTime()
    limiter = make(vt, rate=100, concurrency=8, probe_interval=5.0)
    limiter.pause_for_quota(60.0)

    async def request(i: int) -> None:
        async with limiter.slot():
            start = vt.now
            starts.append(start)
            await vt.sleep(0.3)  # the answer takes 0.3 s; it says 50 are back
            limiter.observe(50, 3000.0)

    starts: list[float] = []
    await vt.run(*(request(i) for i in range(4)))
    t_pause_end = 1000.0 + 60.0
    assert starts[0] == pytest.approx(t_pause_end)
    assert starts[1] == pytest.approx(t_pause_end + 0.3)  # woken by the answer, not at + 5 s
    assert starts[3] - starts[1] == pytest.approx(0.02, rel=2e-3)  # then paced by the rate


async def test_remaining_zero_waits_for_the_reset_without_a_402() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=10, concurrency=2)

    def on_start(i: int) -> None:
        limiter.observe(max(0, 2 - i), 30.0)  # answers say 2, 1, 0 left, window moves in 30 s

    starts = await workers(vt, limiter, 2, 5, latency=0.0, on_start=on_start)
    assert starts[3] - starts[2] >= 30.0 - 1e-6
    assert limiter.pause_reason == "quota"  # the last answer said 0 left: the display shows it


async def test_negative_remaining_means_not_enforced() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=10, concurrency=2)
    starts = await workers(vt, limiter, 2, 20, latency=0.0, on_start=lambda i: limiter.observe(-5, 1800.0))
    assert starts[-1] - starts[0] == pytest.approx(1.9, rel=2e-3)


async def test_quota_spread_paces_the_remaining_over_the_window() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=10, concurrency=2, quota_spread=True)
    limiter.observe(10, 100.0)
    starts = await workers(vt, limiter, 2, 5, latency=0.0)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # 10 left over 100 s: about one every 10 s, not 10 per second
    assert all(g >= 9.0 for g in gaps)


async def test_me_bucket_is_paced_apart_from_the_workspace_quota() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=100, concurrency=4)
    limiter.observe(0, 3000.0, bucket="me")
    starts = await workers(vt, limiter, 2, 5, latency=0.0)
    assert starts[-1] - starts[0] < 1.0
    assert limiter.pause_reason is None


async def test_429_pauses_halves_then_recovers() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=8, concurrency=4)
    t_429: list[float] = []

    def on_start(i: int) -> None:
        if i == 10:
            limiter.observe(None, None)
            limiter.on_rate_limited(2.0)
            t_429.append(vt.now)
            assert limiter.pause_reason == "rate"
            assert limiter.pause_remaining() == pytest.approx(2.0)
            limiter.on_rate_limited(None)  # a second 429 of the same burst does not halve again
        else:
            limiter.observe(None, None)

    starts = await workers(vt, limiter, 4, 60, latency=0.0, on_start=on_start)
    assert starts[11] >= t_429[0] + 2.0 - 1e-9
    assert limiter.rate_limited == 2
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[11] == pytest.approx(1 / 4, rel=2e-3)  # right after: half the rate
    assert gaps[-1] == pytest.approx(1 / 8, rel=2e-3)  # later: back to the configured rate
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(gaps[11:40]))  # speeds up gradually
    assert limiter.rate == 8


async def test_rate_has_a_floor() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=1, concurrency=1, min_rate=0.25)
    for _ in range(10):
        limiter.on_rate_limited(1.0)
        vt.now += 1.5
    assert limiter.rate == 0.25


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Limiter(0, 1)
    with pytest.raises(ValueError):
        Limiter(1, 0)


async def test_real_clock_smoke() -> None:
    """The defaults (monotonic clock, asyncio.sleep) work: 5 starts at 100/s, no burst."""
    import time

    limiter = Limiter(100, 2)
    starts: list[float] = []

    async def one() -> None:
        async with limiter.slot():
            starts.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(5)))
    gaps = [b - a for a, b in itertools.pairwise(sorted(starts))]
    assert min(gaps) >= 0.01


async def test_a_stopped_limiter_starts_nothing_and_knows_what_is_on_the_wire() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=1, concurrency=4)
    inside = asyncio.Event()
    release = asyncio.Event()

    async def on_the_wire() -> None:
        async with limiter.slot():
            inside.set()
            await release.wait()

    wire = asyncio.ensure_future(on_the_wire())
    await inside.wait()
    waiting = asyncio.ensure_future(limiter.slot().__aenter__())  # paced: 1 s to go
    await asyncio.sleep(0)
    assert limiter.on_wire == {wire}
    limiter.stop()
    with pytest.raises(Stopped):
        await limiter.slot().__aenter__()
    waiting.cancel()  # what a run does to a waiter that is not on the wire
    with pytest.raises(asyncio.CancelledError):
        await waiting
    release.set()
    await wire
    assert limiter.on_wire == set() and limiter.in_flight == 0


# -- spaced from when a request left -----------------------------------------------------------


async def _stalled_run(
    rate: float, lag: Callable[[int], float], n: int
) -> tuple[list[float], list[float], float]:
    """Workers whose requests leave ``lag(i)`` after their start (the task holds the loop that
    long before the request is handed to the wire): (starts, moments they left, interval)."""
    vt = VirtualTime()
    limiter = make(vt, rate=rate, concurrency=4)
    starts: list[float] = []
    left: list[float] = []

    def on_start(i: int) -> None:
        starts.append(vt.now)
        vt.now += lag(i)  # synchronous work before the request goes out
        left.append(vt.now)

    await workers(vt, limiter, 4, n, latency=0.05, on_start=on_start)
    return starts, left, limiter._interval


async def test_a_request_that_left_late_pushes_the_next_start_back() -> None:
    """Request 5 leaves 30 ms after its start (the usual lag is 2 ms): the next one starts late
    enough that the two reach the wire an interval apart, not 28 ms closer."""
    starts, left, interval = await _stalled_run(10, lambda i: 0.03 if i == 5 else 0.002, 12)
    wire_gaps = [b - a for a, b in itertools.pairwise(left)]
    assert min(wire_gaps) >= interval - 1e-9
    assert wire_gaps[5] == pytest.approx(interval)
    # the steady 2 ms lag costs nothing once it is known: no lag is assumed before it is
    # measured (the first gap holds it), then every other start is an interval after the last
    start_gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert start_gaps[0] == pytest.approx(interval + 0.002)
    assert start_gaps[5] == pytest.approx(interval + 0.028)
    assert [g for i, g in enumerate(start_gaps) if i not in (0, 5)] == pytest.approx([interval] * 9)


@pytest.mark.parametrize("rate", [10, 20, 50])
async def test_stalls_never_bunch_requests_on_the_wire(rate: float) -> None:
    """Random lags of 0-1 ms and a stall of 5-25 ms every so often: on the wire, no two requests
    come closer than an interval less the spread of the usual lag; no window holds more than the
    rate; and the rate achieved loses no more than the stalls themselves."""
    rng = random.Random(rate)
    stalls = {i for i in range(int(rate * 10)) if rng.random() < 0.05}
    lags = {i: rng.uniform(0.005, 0.025) if i in stalls else rng.uniform(0.0, 0.001)
            for i in range(int(rate * 10))}  # fmt: skip
    starts, left, interval = await _stalled_run(rate, lags.__getitem__, len(lags))
    assert min(b - a for a, b in itertools.pairwise(left)) >= interval - 0.001
    assert max_in_window(starts) <= rate
    lost = sum(lags[i] for i in stalls)
    assert left[-1] - left[0] <= (len(left) - 1) * interval + lost + 0.001 * len(left) / 2


async def test_the_rate_out_of_the_way_schedules_no_wire_callback() -> None:
    vt = VirtualTime()
    fast = make(vt, rate=1e6, concurrency=4)
    paced = make(vt, rate=50, concurrency=4)
    assert (fast._wire, paced._wire) == (False, True)


# -- the quota reserve -----------------------------------------------------------------------


async def test_quota_reserve_leaves_n_of_every_window_unused() -> None:
    """A sliding 40-per-10 s quota (the sandbox's meter) and a reserve of 10: no 10-s window holds
    more than 30 of our requests, none is refused, and each window is used up to its 30."""
    from importer.sandbox.limits import SlidingQuota

    vt = VirtualTime()
    server = SlidingQuota(40, 10.0, vt.clock)
    limiter = make(vt, rate=50, concurrency=4, quota_reserve=10)
    refused: list[float] = []
    starts: list[float] = []

    async def request() -> None:
        async with limiter.slot():
            starts.append(vt.now)
            await vt.sleep(0.01)  # reaches the server
            allowed, remaining, resets_in = server.take("me")
            await vt.sleep(0.04)  # the answer comes back
        if allowed:
            limiter.observe(remaining, resets_in)
        else:
            refused.append(vt.now)
            limiter.pause_for_quota(resets_in)

    async def worker(counter: itertools.count[int]) -> None:
        while next(counter) < 100:
            await request()

    counter = itertools.count()
    await vt.run(*(worker(counter) for _ in range(4)))
    assert refused == []
    assert len(starts) == 100
    assert max_in_window(starts, 10.0) == 30


async def test_quota_reserve_counts_in_the_estimate_and_the_probe() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=100, concurrency=2, quota_reserve=10)
    limiter.quota_total = 40
    limiter.observe(13, 20.0)
    assert limiter.quota_estimate() == {"quota_total": 30, "quota_remaining": 3, "resets_in": 20.0}
    answers = iter([(12, 20.0), (11, 20.0), (10, 20.0), (10, 5.0), (11, 5.0)])
    starts: list[float] = []

    async def one() -> None:
        async with limiter.slot():
            starts.append(vt.now)
        limiter.observe(*next(answers))

    await vt.run(*(one() for _ in range(5)))
    t0 = 1000.0
    assert starts[:3] == pytest.approx([t0, t0 + 0.01001, t0 + 0.02002])
    assert starts[3] == pytest.approx(t0 + 20.0, abs=0.03)  # a probe, once the window moved on
    assert starts[4] >= starts[3] + 5.0 - 1e-6  # its answer left only the reserve: wait again
    # the me bucket (its own quota) is not held back by the reserve
    limiter.observe(5, 20.0, bucket="me")
    assert limiter.quota_left("me") == 5


async def test_quota_reserve_without_a_reset_time_waits_rather_than_probing_into_it() -> None:
    vt = VirtualTime()
    limiter = make(vt, rate=100, concurrency=1, quota_reserve=5, default_quota_wait=60.0)
    limiter.observe(5, None)
    starts = await workers(vt, limiter, 1, 1, latency=0.0)
    assert starts[0] >= 1000.0 + 60.0 - 1e-6


def test_a_negative_quota_reserve_is_refused() -> None:
    with pytest.raises(ValueError):
        Limiter(1, 1, quota_reserve=-1)


async def test_a_429_widens_the_default_headroom_up_to_a_bound() -> None:
    """The meter turned out stricter than the 1 ms assumed at 10/s: the first burst of 429s widens the
    headroom to 2 ms, each further one doubles it (the rate itself recovers), up to 5 % of the
    interval."""
    vt = VirtualTime()
    limiter = make(vt, rate=10, concurrency=1, headroom=None)

    async def gap_after_recovery() -> float:
        limiter.on_rate_limited(0.0)
        vt.now += 0.001
        for _ in range(100):
            limiter.observe(None, None)  # answers: the rate climbs back to 10/s
        assert limiter.rate == 10
        starts = await workers(vt, limiter, 1, 3, latency=0.0)
        return starts[2] - starts[1]

    assert await gap_after_recovery() == pytest.approx(0.1001 + 0.002)
    assert await gap_after_recovery() == pytest.approx(0.1001 + 0.004)
    assert await gap_after_recovery() == pytest.approx(0.1001 + 0.005)  # 5 % of 1/10 s
    assert await gap_after_recovery() == pytest.approx(0.1001 + 0.005)
    explicit = make(vt, rate=20, concurrency=1, headroom=0.0)
    explicit.on_rate_limited(0.0)
    assert explicit._interval == pytest.approx(0.1001)  # an explicit headroom stays as given (rate halved)
