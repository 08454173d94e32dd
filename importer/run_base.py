"""What ``run``, ``undo`` and ``export`` share: the session, the lanes (a token per person), stopping,
progress, the estimate and how a run ended (``_Run``); ``runner.Importer`` and ``runner.Undoer``
build their plans on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from . import messages
from .client import TogglClient
from .config import Credentials, Settings
from .engine.actions import Action
from .engine.execute import Executor, Lane, credentials_refused
from .engine.progress import ProgressCallback, Ticker
from .engine.reads import Readers, Reads
from .engine.record import Recorder
from .engine.stop import Stopper
from .errors import ConfigError, ConnectError, CredentialsError, PermanentError, RemoteError
from .ledger import Ledger
from .limits import Limiter, Stopped
from .report import Summary, estimate_seconds
from .resolve import NameCache, Resolver
from .retry import RetryPolicy

RequestHook = Callable[[str, str, int | None, float], None]
MARK_BATCH_MAX = 256
"""Actions marked in one durable commit (an fsync) at most, when the rate lets them go fast."""


class _Run:
    """What ``run`` and ``undo`` share: the session, the main lane, stopping, progress, the end."""

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        *,
        progress: ProgressCallback | None = None,
        session: aiohttp.ClientSession | None = None,
        on_request: RequestHook | None = None,
        people: dict[str, Credentials] | None = None,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self.people = dict(people or {})
        """``[tokens]``: email → that person's credentials; their rows go in their own lane."""
        self.lanes: dict[str, Lane] = {}
        self._uid_lanes: dict[int, str] = {}
        self._people_names = NameCache()
        """Who the workspace's members are, when only the people's lanes need it (an undo)."""
        self._session = session
        self._on_request = on_request
        self.summary = Summary()
        self.stopper = Stopper()
        self.ticker = Ticker(
            self.summary,
            progress,
            total=lambda: self._total(),
            requests=lambda: self.client.requests_made if self._lane else 0,
            quota_wait=lambda: self.limiter.pause_remaining() if self._lane else 0.0,
        )
        self._lane: Lane | None = None
        self._started = time.monotonic()

    def _total(self) -> int:
        return self.summary.rows

    def request_stop(self, reason: str = "interrupted") -> None:
        """Stop taking new work at once; requests on the wire finish (or end in doubt)."""
        self.stopper.request(reason)

    @property
    def lane(self) -> Lane:
        assert self._lane is not None
        return self._lane

    @property
    def client(self) -> TogglClient:
        return self.lane.client

    @property
    def limiter(self) -> Limiter:
        return self.lane.limiter

    @property
    def reads(self) -> Reads:
        return self.lane.reads

    async def _session_run(self, work: Callable[[], Awaitable[None]]) -> Summary:
        """Open the session and the main lane, run ``work``, and map how it ended."""
        s = self.summary
        own = self._session is None
        session = self._session or aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(self.settings.concurrency, 1) * (1 + len(self.people))),
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
        )
        ticker = None
        try:
            self._lane = self._make_lane("", session, self._credentials)
            self.lanes = {"": self._lane}
            for email, credentials in self.people.items():
                self.lanes[email] = self._make_lane(email, session, credentials)
            ticker = asyncio.create_task(self.ticker.every_second()) if self.ticker.callback else None
            await work()
        except CredentialsError as exc:
            s.stopped = credentials_refused(exc)
        except Stopped:
            s.stopped = self.stopper.reason or "interrupted"
        except (ConnectError, PermanentError) as exc:
            if self._answered_ok():
                raise
            # nothing at --api-url ever answered like Toggl: a wrong setting, not a run to resume
            raise ConfigError(str(exc)) from exc
        finally:
            if ticker is not None:
                ticker.cancel()
            if own:
                await session.close()
        if self.stopper.reason and not s.stopped:
            s.stopped = self.stopper.reason
        s.elapsed = time.monotonic() - self._started
        for lane in self.lanes.values():
            client = lane.client
            s.requests += client.requests_made
            s.posts += client.requests_by_kind.get("create", 0)
            s.http_429 += client.statuses.get(429, 0)
            s.http_402 += client.statuses.get(402, 0)
            if lane.name:
                s.person(lane.name)["quota_pauses"] = lane.limiter.quota_pauses
        return s

    def _make_lane(self, name: str, session: aiohttp.ClientSession, credentials: Credentials) -> Lane:
        limiter = Limiter(self.settings.rate, self.settings.concurrency, **self._limits())
        self.stopper.limiters.append(limiter)
        client = TogglClient(session, self.settings.api_url, credentials,
                             reports_url=self.settings.reports_base, limiter=limiter)  # fmt: skip
        client.on_request = self._on_request
        policy = RetryPolicy(limiter=limiter, reached=lambda: bool(client.statuses))
        return Lane(name, client, limiter, policy, Reads(client, policy))

    def _limits(self) -> dict[str, Any]:
        """What the limiter takes beyond rate and concurrency (the quota reserve, if it knows it)."""
        reserve = getattr(self.settings, "quota_reserve", 0)
        return {"quota_reserve": reserve} if reserve else {}

    def lane_of(self, body: dict[str, Any] | None) -> str:
        """The lane of an entry: its person's, when they gave a token; else the run's own."""
        if not self.people or not body or body.get("user_id") is None:
            return ""
        if not self._uid_lanes:
            self._learn_people()
        return self._uid_lanes.get(int(body["user_id"]), "")

    def _learn_people(self) -> None:
        """Whose user id is whose lane, from the workspace members the names know."""
        for users in self._names().users.values():
            for email in self.people:
                if email in users:
                    self._uid_lanes[users[email]] = email
                    if email in self.lanes:
                        self.lanes[email].user_id = users[email]

    async def _know_people(self, workspace_ids: Sequence[int]) -> None:
        """Before ledger rows are read back or changed (a resume, an undo: nothing resolved yet),
        learn the people's user ids from the workspace's members -- one read per workspace, kept
        for the resolver -- so that each person's rows go through their own token."""
        if not self.people:
            return
        names = self._names()
        for wid in workspace_ids:
            if wid and wid not in names.users:
                await Resolver(self.reads, wid, cache=names).users()
        self._learn_people()

    def _readers(self) -> Readers:
        if self.people and not self._uid_lanes:
            self._learn_people()
        users = {name: lane.user_id for name, lane in self.lanes.items() if lane.user_id is not None}
        return Readers({name: lane.reads for name, lane in self.lanes.items()},
                       self.lane_of if self.people else None, users)  # fmt: skip

    def _names(self) -> NameCache:
        return self._people_names

    def _answered_ok(self) -> bool:
        """Has any request of this run succeeded?"""
        return self._lane is not None and any(200 <= st < 300 for st in self.client.statuses)

    def _executor(self, recorder: Recorder, ledger: Ledger) -> Executor:
        executor = Executor(
            self.lanes,
            recorder,
            self.stopper,
            concurrency=self.settings.concurrency,
            timeout=self.settings.timeout,
            known_entry_ids=ledger.created_entry_ids,
            progress=self.ticker.tick,
        )
        # a quarter second of requests per durable commit (at least the workers' worth, at most 256)
        executor.batch = max(min(MARK_BATCH_MAX, int(self.settings.rate / 4)), executor.batch)
        return executor

    async def _workspace(self) -> int:
        if self.settings.workspace_id:
            return self.settings.workspace_id
        me = await self.reads.me()
        return int(me["default_workspace_id"])

    def _estimate(self, requests: int) -> float:
        return estimate_seconds(requests, self.settings.rate, **self.limiter.quota_estimate())

    async def _people_quotas(self) -> dict[str, dict[str, Any]]:
        """Each person's quota (``/me/quota`` with their token), asked before a dry run plans: a
        token Toggl refuses is said now, for that person only, as the real run would."""
        quotas: dict[str, dict[str, Any]] = {}
        for email in self.people:
            try:
                quotas[email] = await self._quota(self.lanes[email].client)
            except CredentialsError as exc:
                why = messages.person_refused(email, exc.text or str(exc.status))
                self.summary.people_refused[email] = why
        return quotas

    async def _estimate_lanes(self, requests: int, quotas: dict[str, dict[str, Any]]) -> float:
        """How long ``requests`` take, each person's share under their own token's quota, in
        parallel (a dry run's estimate): the longest lane decides."""
        s = self.summary
        own = requests - sum(s.person(email)["to_post"] for email in self.people)
        longest = estimate_seconds(own, self.settings.rate, **await self._quota(self.client))
        for email, quota in quotas.items():
            longest = max(longest, estimate_seconds(s.person(email)["to_post"], self.settings.rate, **quota))
        return longest

    async def _quota(self, client: TogglClient) -> dict[str, Any]:
        """An account's workspace quota, from ``/me/quota`` (for a dry run's estimate)."""
        try:
            rows = await client.quota()
        except CredentialsError:
            raise  # a dry run with a wrong token must not look fine
        except RemoteError:
            return {}
        reserve = self.settings.quota_reserve  # what --quota-reserve leaves for the rest
        for row in rows:
            if row.get("organization_id") is not None:
                total, remaining = row.get("total"), row.get("remaining")
                return {"quota_total": None if total is None else max(int(total) - reserve, 1),
                        "quota_remaining": None if remaining is None else max(int(remaining) - reserve, 0),
                        "resets_in": row.get("resets_in_secs")}  # fmt: skip
        return {}


async def _once(actions: list[Action]) -> Any:
    """A plan of one batch."""
    if actions:
        yield actions


def _run_counts(s: Summary) -> dict[str, int]:
    return {"created": s.created, "updated": s.updated, "deleted": s.deleted, "failed": s.failed,
            "conflicts": s.conflict}  # fmt: skip
