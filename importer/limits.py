"""Rate, concurrency and the hourly quota: when may the next request start?

``Limiter`` is a small GCRA (generic cell rate algorithm) with a burst of 1: a request may start
when the clock has reached the *theoretical arrival time* ``tat``, and each start sets ``tat`` to
``now + interval``. ``now`` is read when the waiting task has actually woken up, so two starts are
always at least an interval apart -- a late wake-up cannot bunch two starts together, and an idle
spell banks no credit. ``interval`` is ``1/rate`` plus a little ``headroom`` (default 2 ms, at
most 1 % of the interval: 2 ms at 1/s, 0.5 ms at 20/s) for the jitter between our clock and the
server's meter.

**Spaced from when a request left.** A start is not yet a request on the wire: the task that got
the slot builds it, and aiohttp (on Python 3.11) writes the body in a task of its own, scheduled
behind whatever the loop has queued. Normally that lag is short and steady (0.1-0.7 ms), but a
busy loop, a garbage collection or a descheduled process can stretch one to 5-25 ms -- and then
that request and the next one reach the server almost together, which a strict meter answers
with a 429. So at every start the limiter also schedules a callback for the loop's next turn
(just ahead of aiohttp's write task): it reads the clock when the request is handed to the wire,
and the next start may come no sooner than an interval after that moment, less the *usual* lag
(the median of the last few): a steady lag costs nothing, a stalled request pushes the next one
back by its stall. Above ``WIRE_RATE`` starts per second (the rate out of the way) this is not
done. That is why the headroom can be small: what remains is the server's own jitter, which a
meter with a few milliseconds of tolerance (Toggl's, the sandbox's ``rate_tolerance``) absorbs.
A meter without any tolerance says so with a 429 at high rates: then the default headroom widens
to 2 ms (at most 5 % of the interval), and doubles with each further burst of 429s.

Strict spacing means timer overshoot (asyncio wakes up to ~1 ms late) is never won back, so on
the real clock the last 1.5 ms before a start are yielded away (``sleep(0)``) instead of slept
(``SPIN``): starts land within ~20 us of their moment.

A short log of the last ``floor(rate)`` start times makes the window property exact for every
rate, fractional ones included: a start is allowed only when the oldest of them is a full second
ago, so **no one-second window ever holds more than ``rate`` starts** (on the limiter's clock).

On top of that:

* ``concurrency`` -- at most that many requests in flight (a semaphore, taken *before* pacing so
  that a started request never waits again);
* the hourly quota, per bucket (``"org"`` for workspace and report requests, ``"me"`` for
  ``/me...``, which Toggl counts separately): every answer's ``X-Toggl-Quota-Remaining`` /
  ``-Resets-In`` goes to ``observe``. When the estimate of what is left reaches 0 no request of that
  bucket starts until the window has moved on; then one probe goes first and its answer says how
  much came back (the window slides: never assume a full quota). ``pause_for_quota`` (a 402) pauses
  the bucket until ``resets_in`` has passed. ``quota_reserve`` N (the workspace bucket only)
  leaves N requests of every window unused, for the person's other integrations: what an answer
  says is left counts as ``remaining - N`` (less the other requests still in flight, which the
  server may not have counted yet: the reserve is a promise), so the bucket waits for the window
  to move on when only N are left, and the probe that follows is one the window gave back;
* a 429 (``on_rate_limited``): every worker pauses for ``Retry-After`` (or 1 s), the rate is halved
  (down to a floor) and climbs back additively with every answer that follows.

* stopping (``stop()``): no request starts any more -- ``slot()`` raises ``Stopped`` to whoever
  waits or comes -- and ``on_wire`` holds the tasks whose request may have left, which a run must
  let finish (the others it may cancel: what they hold was never sent).

A task that waits for the quota to come back sleeps until the window moves on, but wakes as soon as
an answer of that bucket says how much is left (the probe's): no second probe interval is slept
away.

``paused_until`` / ``pause_remaining()`` / ``pause_reason`` feed a countdown display. Clock and
sleep are injected, so the tests run on virtual time. A task waiting on the quota of the ``me``
bucket holds one concurrency slot while it waits (the importer's own work is all ``org``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypedDict

ORG = "org"
ME = "me"

DEFAULT_QUOTA_WAIT = 60.0
"""Pause after a 402 quota refusal that does not say when the quota comes back (seconds)."""
DEFAULT_BACKOFF = 1.0
"""Pause after a 429 without ``Retry-After`` (seconds)."""
PROBE_INTERVAL = 5.0
"""After a quota window has moved on: how long one probe may go unanswered before the next."""
HEADROOM = 0.002
"""Default extra spacing between two starts (seconds), for clock jitter at the server's meter: 2 ms
keeps even a meter without tolerance at 0 x 429 (measured: the sandbox's own timing varies by
0.3-1 ms), and at Toggl's 1 request/s it costs 0.2 % ..."""
HEADROOM_SHARE = 0.01
"""... but never more than this share of the interval: at high rates (0.5 ms at 20/s, 0.2 ms at
50/s) spacing from the wire leaves only the server's jitter, which a meter with a few ms of
tolerance absorbs; one without says so with a 429, and the headroom widens (``WIDEN_FIRST``)."""
STRICT_HEADROOM = 0.002
"""The headroom after a first burst of 429s, at least (then doubling; see ``WIDEN_FIRST``)."""
MARGIN = 0.001
"""Starts are at least (1 + MARGIN)/rate apart and the log's window is 1 + MARGIN seconds, so that
float rounding can never fit one start too many into a second."""
SPIN = 0.0015
"""asyncio timers fire up to ~1 ms late (epoll rounds its timeout up to whole milliseconds), and
with strict spacing every late start is lost for good. So on the real clock the limiter sleeps
until SPIN before the moment and yields (``sleep(0)``) for the last stretch: exact to ~20 us, at
the price of <= 1.5 ms of busy looping per start when the rate, not the server, is the limit."""
_SAFETY = 1.0 + MARGIN
_WINDOW = 1.0 + MARGIN - 1e-9  # a hair inside rate * interval: the log never trips on rounding
LOG_MAX = 10_000
"""Above this rate the start log is not kept (spacing alone holds the window)."""
WIDEN_FIRST = 10.0
WIDEN_MAX = 40.0
WIDE_SHARE = 0.05
"""A 429 says the server's meter is stricter than the headroom assumed (one without tolerance,
where loopback jitter alone is 0.3-2 ms): the first burst of them makes the default headroom at
least ``STRICT_HEADROOM`` (2 ms: what kept a strict meter at 0 x 429), each further burst doubles
it, up to WIDEN_MAX / WIDEN_FIRST times that and at most WIDE_SHARE of the interval (2.5 ms at
20/s, 1 ms at 50/s, 5 ms at 10/s)."""
WIRE_RATE = 1000.0
"""Above this rate starts are not spaced from when the request left (the rate is out of the way:
the callback would be pure cost)."""
LAGS = 8
"""How many recent start-to-wire lags the usual lag is the median of."""


class QuotaEstimate(TypedDict):
    """What the limiter knows of the hourly quota (keywords of ``report.estimate_seconds``)."""

    quota_total: int | None
    quota_remaining: int | None
    resets_in: float | None


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


class Stopped(Exception):
    """A request that did not start because the limiter was stopped (never retried)."""


class _Quota:
    """What is known about one quota bucket."""

    __slots__ = ("in_flight", "last_start", "left", "lock", "paused_until", "reset_at", "waker")

    def __init__(self) -> None:
        self.left: int | None = None  # estimate: last remaining seen, minus starts since
        self.reset_at: float | None = None  # when the last answer said the window moves on
        self.paused_until = -math.inf  # after a 402
        self.last_start = -math.inf
        self.in_flight = 0  # started, not yet out of the slot (their answers are still to come)
        self.lock = asyncio.Lock()  # FIFO: one task of this bucket sleeps on the clock at a time
        self.waker: asyncio.Future[None] | None = None  # set by an answer: the quota sleeper wakes


class _Slot:
    """``async with limiter.slot():`` -- reusable, no generator on the hot path."""

    __slots__ = ("_limiter", "_quota")

    def __init__(self, limiter: Limiter, quota: _Quota) -> None:
        self._limiter = limiter
        self._quota = quota

    async def __aenter__(self) -> None:
        limiter = self._limiter
        if limiter.stopping:
            raise Stopped
        await limiter._acquire(self._quota)
        if limiter.stopping:
            limiter._release(self._quota)
            raise Stopped
        task = asyncio.current_task()
        if task is not None:
            limiter.on_wire.add(task)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        limiter = self._limiter
        limiter.on_wire.discard(asyncio.current_task())  # type: ignore[arg-type]
        limiter._release(self._quota)


class Limiter:
    """At most ``rate`` starts per second (burst 1) and ``concurrency`` in flight, quota-aware."""

    def __init__(
        self,
        rate: float,
        concurrency: int,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        min_rate: float | None = None,
        recover_step: float = 0.05,
        quota_spread: bool = False,
        default_quota_wait: float = DEFAULT_QUOTA_WAIT,
        default_backoff: float = DEFAULT_BACKOFF,
        probe_interval: float = PROBE_INTERVAL,
        headroom: float | None = None,
        quota_reserve: int = 0,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be above 0, got {rate}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if quota_reserve < 0:
            raise ValueError(f"quota_reserve must not be negative, got {quota_reserve}")
        self.configured_rate = float(rate)
        self.concurrency = concurrency
        self.min_rate = min_rate if min_rate is not None else self.configured_rate / 16
        self.recover_step = recover_step * self.configured_rate
        self.quota_spread = quota_spread
        self.default_quota_wait = default_quota_wait
        self.default_backoff = default_backoff
        self.probe_interval = probe_interval
        self.headroom = headroom
        """Extra seconds between starts; ``None``: ``min(HEADROOM, HEADROOM_SHARE / rate)``."""
        self.quota_reserve = int(quota_reserve)
        """Requests of every window of the workspace quota left unused (``--quota-reserve``)."""
        self._wire = self.configured_rate <= WIRE_RATE
        self._widen = 1.0  # the default headroom widens with bursts of 429s, up to WIDEN_MAX
        self._lags: deque[float] = deque((0.0,), maxlen=LAGS)  # no lag assumed until measured
        self._clock = clock
        self._sleep = sleep
        self._precise = sleep is asyncio.sleep and clock is time.monotonic
        self._sem = asyncio.Semaphore(concurrency)
        self._rate = self.configured_rate
        self._interval = _SAFETY / self._rate
        self._log: deque[float] | None = None
        self._tat = -math.inf
        self._set_rate(self._rate)
        self._rate_paused_until = -math.inf
        self._quotas = {ORG: _Quota(), ME: _Quota()}
        self._slots = {name: _Slot(self, q) for name, q in self._quotas.items()}
        self.in_flight = 0
        self.started = 0
        self.rate_limited = 0
        self.quota_pauses = 0
        self.quota_total: int | None = None
        """The hourly quota's size, if the runner learnt it (``GET /me/quota``)."""
        self.stopping = False
        """Set by ``stop()``: no request starts any more."""
        self.on_wire: set[asyncio.Task[object]] = set()
        """Tasks inside a slot: their request may have left (or is about to)."""

    # -- the hot path -------------------------------------------------------------------------

    def slot(self, bucket: str = ORG) -> _Slot:
        """``async with limiter.slot():`` waits until a request of ``bucket`` may start."""
        return self._slots[bucket]

    async def _acquire(self, q: _Quota) -> None:
        await self._sem.acquire()
        try:
            if not q.lock.locked():
                now = self._clock()
                if self._earliest(q, now) <= now:
                    self._admit(q, now)
                    return
            async with q.lock:
                while True:
                    now = self._clock()
                    wait = self._earliest(q, now) - now
                    if wait <= 0:
                        self._admit(q, now)
                        return
                    if q.left is not None and q.left <= 0:
                        await self._nap(q, wait)  # the quota: an answer may end it early
                    elif not self._precise:
                        await self._sleep(wait)
                    elif wait > SPIN:
                        await self._sleep(wait - SPIN)  # wakes up to 1 ms late: land before
                    else:
                        await asyncio.sleep(0)  # the last stretch: yield until the moment
        except BaseException:
            self._sem.release()
            raise

    async def _nap(self, q: _Quota, wait: float) -> None:
        """Sleep ``wait`` seconds, or until an answer of bucket ``q`` arrives (``observe``)."""
        waker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        q.waker = waker
        sleeper = asyncio.ensure_future(self._sleep(wait))
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            q.waker = None

    def _release(self, q: _Quota) -> None:
        q.in_flight -= 1
        self.in_flight -= 1
        self._sem.release()

    def _earliest(self, q: _Quota, now: float) -> float:
        """The first instant a request of bucket ``q`` may start (may mutate the probe state)."""
        t = self._tat
        log = self._log
        if log is not None and len(log) == log.maxlen and log[0] + _WINDOW > t:
            t = log[0] + _WINDOW
        if self._rate_paused_until > t:
            t = self._rate_paused_until
        if q.paused_until > t:
            t = q.paused_until
        left = q.left
        if left is not None:
            if left <= 0:
                if q.reset_at is not None and q.reset_at > now:
                    return max(t, q.reset_at)
                # the window has moved on by an unknown amount: let one probe find out
                q.left = 1
                q.reset_at = now + self.probe_interval
            elif self.quota_spread and q.reset_at is not None and q.reset_at > now:
                t = max(t, q.last_start + (q.reset_at - now) / left)
        return t

    def _admit(self, q: _Quota, now: float) -> None:
        self._tat = now + self._interval  # from the actual start: never closer than an interval
        if self._wire:
            asyncio.get_running_loop().call_soon(self._left, now)
        if self._log is not None:
            self._log.append(now)
        q.last_start = now
        if q.left is not None:
            q.left -= 1
        q.in_flight += 1
        self.in_flight += 1
        self.started += 1

    def _left(self, started: float) -> None:
        """The loop's next turn after a start: the request is being handed to the wire. The next
        start comes an interval after this moment, less the usual lag from start to wire."""
        left = self._clock()
        lags = self._lags
        lags.append(left - started)
        usual = sorted(lags)[(len(lags) - 1) // 2]
        tat = left - usual + self._interval
        if tat > self._tat:
            self._tat = tat

    # -- what the answers say -----------------------------------------------------------------

    def observe(self, remaining: int | None, resets_in: float | None, bucket: str = ORG) -> None:
        """Every answer's quota headers (``None`` when absent); also one step of rate recovery."""
        if self._rate < self.configured_rate:
            self._set_rate(min(self.configured_rate, self._rate + self.recover_step))
        q = self._quotas[bucket]
        now = self._clock()
        if now < q.paused_until:
            return  # an answer from before the 402: it does not lift the pause
        # Unknown (no header) or negative (Toggl counts but does not enforce): no quota pacing.
        if remaining is None or remaining < 0:
            q.left = None
        elif bucket == ORG and self.quota_reserve:
            # the others in flight may not be in the server's count yet: a promise, so count them
            q.left = max(0, remaining - self.quota_reserve - q.in_flight)
        else:
            q.left = remaining
        if resets_in is not None:
            q.reset_at = now + max(0.0, resets_in)
        elif q.left == 0 and self.quota_reserve and bucket == ORG:
            # only the reserve is left and nobody says when more comes: no probe into it yet
            q.reset_at = now + self.default_quota_wait
        if q.waker is not None and not q.waker.done():
            q.waker.set_result(None)

    def pause_for_quota(self, resets_in: float | None, bucket: str = ORG) -> float:
        """A 402 quota refusal: no request of ``bucket`` starts until the window resets.

        Returns the instant (limiter clock) the pause ends. After it, one probe goes first.
        """
        now = self._clock()
        wait = max(1.0, resets_in) if resets_in is not None else self.default_quota_wait
        q = self._quotas[bucket]
        q.paused_until = max(q.paused_until, now + wait)
        q.left = 0
        q.reset_at = q.paused_until
        self.quota_pauses += 1
        return q.paused_until

    def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429: everyone waits ``retry_after`` (or the default), and the rate halves."""
        now = self._clock()
        wait = max(0.0, retry_after) if retry_after is not None else self.default_backoff
        if now >= self._rate_paused_until:  # first 429 of a burst: slow down once, not per answer
            # and the meter is stricter than assumed: at once the old safe headroom, then wider
            self._widen = min(WIDEN_MAX, WIDEN_FIRST if self._widen < WIDEN_FIRST else self._widen * 2.0)
            self._set_rate(max(self.min_rate, self._rate * 0.5))
        self.rate_limited += 1
        self._rate_paused_until = max(self._rate_paused_until, now + wait)

    def _set_rate(self, rate: float) -> None:
        self._rate = rate
        headroom = self.headroom
        if headroom is None:
            headroom = min(HEADROOM, HEADROOM_SHARE / rate)
            if self._widen > 1.0:  # bursts of 429s: at least the strict meter's 2 ms, doubling
                headroom = min(max(headroom, STRICT_HEADROOM * self._widen / WIDEN_FIRST), WIDE_SHARE / rate)
        self._interval = _SAFETY / rate + headroom
        size = max(1, math.floor(rate))
        if size > LOG_MAX:
            self._log = None  # spacing alone keeps the window (integer rates; nobody goes there)
            return
        if self._log is None or self._log.maxlen != size:
            self._log = deque(self._log or (), maxlen=size)

    def stop(self) -> None:
        """No request starts from now on: waiting and later ``slot()`` entries raise ``Stopped``.
        Tasks waiting inside ``_acquire`` are the caller's to cancel (those not in ``on_wire``)."""
        self.stopping = True

    # -- for display and for the runner ---------------------------------------------------------

    @property
    def rate(self) -> float:
        """The rate in force now (lower than configured after a 429, until it recovers)."""
        return self._rate

    def quota_estimate(self, bucket: str = ORG) -> QuotaEstimate:
        """``{quota_total, quota_remaining, resets_in}`` as known now (for a time estimate).

        ``quota_total`` is not in the headers: set ``limiter.quota_total`` from ``/me/quota``.
        Both are net of the quota reserve (for the workspace bucket): what this run may use.
        """
        q = self._quotas[bucket]
        total = self.quota_total
        if total is not None and bucket == ORG and self.quota_reserve:
            total = max(0, total - self.quota_reserve)
        now = self._clock()
        resets_in = None
        if q.reset_at is not None and q.reset_at > now:
            resets_in = q.reset_at - now
        if q.paused_until > now:
            resets_in = q.paused_until - now
        return QuotaEstimate(quota_total=total, quota_remaining=q.left, resets_in=resets_in)

    def quota_left(self, bucket: str = ORG) -> int | None:
        """The estimate of requests left in the hourly quota (``None`` when unknown)."""
        return self._quotas[bucket].left

    def _quota_until(self, q: _Quota) -> float:
        until = q.paused_until
        if q.left is not None and q.left <= 0 and q.reset_at is not None:
            until = max(until, q.reset_at)
        return until

    @property
    def paused_until(self) -> float:
        """When ``org`` requests may go on (limiter clock; -inf when not paused)."""
        return max(self._rate_paused_until, self._quota_until(self._quotas[ORG]))

    def pause_remaining(self) -> float:
        """Seconds until the pause ends, for a countdown; 0 when not paused."""
        return max(0.0, self.paused_until - self._clock())

    @property
    def pause_reason(self) -> str | None:
        """``"quota"``, ``"rate"`` (a 429 back-off) or ``None``."""
        now = self._clock()
        quota_until = self._quota_until(self._quotas[ORG])
        if quota_until > now and quota_until >= self._rate_paused_until:
            return "quota"
        if self._rate_paused_until > now:
            return "rate"
        return None
