"""TogglClient: status and exception mapping (aioresponses), paging, bodies, quota headers, and
the connection-level cases over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses
from yarl import URL

from importer.client import Answer, TogglClient, reports_base_for, retry_after_seconds
from importer.config import Credentials
from importer.errors import (
    ConfigError,
    ConnectError,
    CredentialsError,
    MaybeAppliedError,
    NotAppliedError,
    PermanentError,
    QuotaExhaustedError,
    RateLimitedError,
    RemoteError,
    TransientError,
)
from importer.limits import Limiter

BASE = "http://127.0.0.1:9/api/v9"
REPORTS = "http://127.0.0.1:9/reports/api/v3"
TOKEN = "tok-SECRET-1234567890abcdef"
CREDS = Credentials.from_token(TOKEN)
TE_URL = f"{BASE}/workspaces/7/time_entries"


class JumpClock:
    """A limiter clock whose sleep jumps ahead at once (one request at a time in these tests)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class SpyLimiter(Limiter):
    """A real limiter (on a jumping clock) that records what the client tells it."""

    def __init__(self) -> None:
        self.clock = JumpClock()
        super().__init__(1e9, 64, clock=self.clock, sleep=self.clock.sleep)
        self.calls: list[tuple[Any, ...]] = []

    def observe(self, remaining: int | None, resets_in: float | None, bucket: str = "org") -> None:
        self.calls.append(("observe", remaining, resets_in, bucket))
        super().observe(remaining, resets_in, bucket)

    def pause_for_quota(self, resets_in: float | None, bucket: str = "org") -> float:
        self.calls.append(("pause_for_quota", resets_in, bucket))
        return super().pause_for_quota(resets_in, bucket)

    def on_rate_limited(self, retry_after: float | None) -> None:
        self.calls.append(("on_rate_limited", retry_after))
        super().on_rate_limited(retry_after)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def spy() -> SpyLimiter:
    return SpyLimiter()


@pytest.fixture
def toggl(http: aiohttp.ClientSession, spy: SpyLimiter) -> TogglClient:
    return TogglClient(http, BASE, CREDS, limiter=spy)


class _CompatResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 builds responses without ``stream_writer`` (aiohttp 3.14 needs it)."""

    def __init__(self, method: str, url: URL, **kw: Any) -> None:
        kw.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kw)


class _Mocked(aioresponses):
    def add(self, url: Any, method: str = "GET", *args: Any, **kw: Any) -> None:
        kw.setdefault("response_class", _CompatResponse)
        super().add(url, method, *args, **kw)


@pytest.fixture
def mocked() -> Any:
    with _Mocked() as m:
        yield m


def sent(m: Any, method: str, url: str) -> list[Any]:
    return [call.kwargs for call in m.requests[(method, URL(url))]]


def assert_no_secret(exc: BaseException) -> None:
    for text in (str(exc), repr(exc), getattr(exc, "text", ""), repr(exc.args)):
        assert TOKEN not in text
        assert "dG9r" not in text  # base64 of the token's start


# -- success, bodies, headers --------------------------------------------------------------------


async def test_post_sends_the_body_exactly_and_returns_json(mocked: Any, toggl: TogglClient) -> None:
    body = b'{"created_with":"toggl-import","start":"2026-01-05T09:00:00Z","workspace_id":7}'
    mocked.post(TE_URL, payload={"id": 42, "workspace_id": 7})
    assert await toggl.create_time_entry(7, body) == {"id": 42, "workspace_id": 7}
    (kw,) = sent(mocked, "POST", TE_URL)
    assert kw["data"] == body
    assert (
        kw["headers"]["Authorization"]
        == "Basic " + __import__("base64").b64encode(f"{TOKEN}:api_token".encode()).decode()
    )
    assert kw["headers"]["Content-Type"] == "application/json"
    assert kw["allow_redirects"] is False
    assert toggl.requests_made == 1 and toggl.requests_by_kind == {"create": 1}


async def test_dict_body_is_compact_json(mocked: Any, toggl: TogglClient) -> None:
    mocked.post(TE_URL, payload={"id": 1})
    await toggl.create_time_entry(7, {"workspace_id": 7, "description": "Ünïcode"})
    (kw,) = sent(mocked, "POST", TE_URL)
    assert json.loads(kw["data"]) == {"workspace_id": 7, "description": "Ünïcode"}
    assert b" " not in kw["data"]


async def test_quota_headers_go_to_the_limiter(mocked: Any, toggl: TogglClient, spy: SpyLimiter) -> None:
    quota = {"X-Toggl-Quota-Remaining": "17", "X-Toggl-Quota-Resets-In": "3300"}
    mocked.post(TE_URL, payload={"id": 1}, headers=quota)
    mocked.get(f"{BASE}/me", payload={"id": 5}, headers={"X-Toggl-Quota-Remaining": "29"})
    mocked.post(TE_URL, status=400, body="bad", headers=quota)
    answer = await toggl.request("POST", "/workspaces/7/time_entries", json={})
    assert isinstance(answer, Answer)
    assert (answer.status, answer.quota_remaining, answer.quota_resets_in) == (200, 17, 3300.0)
    assert await toggl.me() == {"id": 5}
    with pytest.raises(PermanentError):
        await toggl.create_time_entry(7, {})
    assert spy.calls == [
        ("observe", 17, 3300.0, "org"),
        ("observe", 29, None, "me"),  # /me... is its own bucket
        ("observe", 17, 3300.0, "org"),  # refusals report the quota too
    ]
    assert spy.quota_left() == 17
    assert toggl.requests_made == 3 and toggl.requests_by_kind == {"create": 2, "read": 1}
    assert toggl.statuses == {200: 2, 400: 1}
    estimate = spy.quota_estimate()
    assert estimate["quota_remaining"] == 17 and estimate["quota_total"] is None
    assert estimate["resets_in"] == pytest.approx(3300.0)


async def test_without_a_limiter(mocked: Any, http: aiohttp.ClientSession) -> None:
    client = TogglClient(http, BASE + "/", CREDS)
    mocked.get(f"{BASE}/me", payload={"id": 5})
    assert await client.me() == {"id": 5}
    assert client.reports_url == REPORTS


def test_reports_base() -> None:
    assert reports_base_for("https://api.track.toggl.com/api/v9/") == (
        "https://api.track.toggl.com/reports/api/v3"
    )
    assert reports_base_for("http://127.0.0.1:5/x") == "http://127.0.0.1:5/x/reports/api/v3"


# -- status mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "text"),
    [
        (400, "Invalid start time", {}, PermanentError, "Invalid start time"),
        (400, '"workspace_id must be an integer"', {}, PermanentError, "workspace_id must be an integer"),
        (404, "Not Found", {}, PermanentError, "Not Found"),
        (409, "", {}, PermanentError, ""),
        (301, "", {"Location": "https://elsewhere/"}, PermanentError, ""),
        (401, "Unauthorized", {}, CredentialsError, "Unauthorized"),
        (
            403,
            "User does not have access to this resource.",
            {},
            CredentialsError,
            "User does not have access to this resource.",
        ),
        (402, "This is a premium feature", {}, PermanentError, "This is a premium feature"),
        (402, "Payment required", {"X-Toggl-Quota-Remaining": "12"}, PermanentError, "Payment required"),
        (
            402,
            "quota",
            {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "1200"},
            QuotaExhaustedError,
            "quota",
        ),
        (
            402,
            "You have hit your hourly quota of API calls",
            {},
            QuotaExhaustedError,
            "You have hit your hourly quota of API calls",
        ),
        (429, "Too many requests", {"Retry-After": "3"}, RateLimitedError, "Too many requests"),
        (408, "", {}, NotAppliedError, ""),
        (500, "boom", {}, MaybeAppliedError, "boom"),
        (502, "Bad Gateway", {}, MaybeAppliedError, "Bad Gateway"),
        (503, "", {}, MaybeAppliedError, ""),
        (504, "Gateway Timeout", {}, MaybeAppliedError, "Gateway Timeout"),
    ],
)
async def test_post_status_mapping(
    mocked: Any,
    toggl: TogglClient,
    status: int,
    body: str,
    headers: dict[str, str],
    error: type[RemoteError],
    text: str,
) -> None:
    mocked.post(TE_URL, status=status, body=body, headers=headers)
    with pytest.raises(RemoteError) as info:
        await toggl.create_time_entry(7, b"{}")
    assert type(info.value) is error
    assert info.value.status == status
    assert info.value.text == text
    if text:
        assert text in str(info.value)
    assert_no_secret(info.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_on_a_read_is_transient_not_maybe_applied(
    mocked: Any, toggl: TogglClient, status: int
) -> None:
    mocked.get(f"{BASE}/me", status=status, body="down")
    with pytest.raises(TransientError) as info:
        await toggl.me()
    assert not isinstance(info.value, MaybeAppliedError)


async def test_reports_search_is_a_read_even_though_it_is_a_post(mocked: Any, toggl: TogglClient) -> None:
    mocked.post(f"{REPORTS}/workspace/7/search/time_entries", status=502, body="")
    with pytest.raises(TransientError) as info:
        await toggl.search_time_entries(7, date(2026, 1, 1), date(2026, 1, 31))
    assert not isinstance(info.value, MaybeAppliedError)


async def test_429_tells_the_limiter_and_is_not_applied(
    mocked: Any, toggl: TogglClient, spy: SpyLimiter
) -> None:
    mocked.post(TE_URL, status=429, body="Too many", headers={"Retry-After": "2.5"})
    mocked.post(TE_URL, status=429, body="Too many")
    with pytest.raises(RateLimitedError) as info:
        await toggl.create_time_entry(7, b"{}")
    assert info.value.retry_after == 2.5
    assert isinstance(info.value, NotAppliedError)
    with pytest.raises(RateLimitedError) as info:
        await toggl.create_time_entry(7, b"{}")
    assert info.value.retry_after is None
    assert [c for c in spy.calls if c[0] == "on_rate_limited"] == [
        ("on_rate_limited", 2.5),
        ("on_rate_limited", None),
    ]
    assert spy.rate < spy.configured_rate and spy.pause_reason == "rate"
    assert spy.clock.now == 1002.5  # the second POST waited Retry-After first


async def test_402_quota_pauses_the_limiter(mocked: Any, toggl: TogglClient, spy: SpyLimiter) -> None:
    headers = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "1200"}
    mocked.post(TE_URL, status=402, body="quota", headers=headers)
    with pytest.raises(QuotaExhaustedError) as info:
        await toggl.create_time_entry(7, b"{}")
    assert info.value.resets_in == 1200.0
    assert spy.calls == [("pause_for_quota", 1200.0, "org")]
    assert spy.pause_reason == "quota"
    assert 1199 < spy.pause_remaining() <= 1200


async def test_402_premium_feature_does_not_pause(mocked: Any, toggl: TogglClient, spy: SpyLimiter) -> None:
    mocked.post(
        TE_URL, status=402, body="Billable is a premium feature", headers={"X-Toggl-Quota-Remaining": "150"}
    )
    with pytest.raises(PermanentError):
        await toggl.create_time_entry(7, b"{}")
    assert spy.pause_reason is None and spy.quota_pauses == 0


async def test_token_never_appears_even_if_the_server_echoes_it(mocked: Any, toggl: TogglClient) -> None:
    basic = __import__("base64").b64encode(f"{TOKEN}:api_token".encode()).decode()
    mocked.post(TE_URL, status=400, body=f"bad token {TOKEN} in header Basic {basic}")
    mocked.get(f"{BASE}/me", status=403, body=f"refused {TOKEN}")
    with pytest.raises(PermanentError) as info:
        await toggl.create_time_entry(7, b"{}")
    assert_no_secret(info.value)
    with pytest.raises(CredentialsError) as cred:
        await toggl.me()
    assert_no_secret(cred.value)
    assert "TOGGL_API_TOKEN" in str(cred.value)
    assert TOKEN not in repr(toggl)


async def test_email_password_secret_is_scrubbed(mocked: Any, http: aiohttp.ClientSession) -> None:
    client = TogglClient(http, BASE, Credentials("ann@example.com", "hunter2-pass"))
    mocked.get(f"{BASE}/me", status=400, body="password hunter2-pass is wrong")
    with pytest.raises(PermanentError) as info:
        await client.me()
    assert "hunter2-pass" not in str(info.value) and "hunter2-pass" not in info.value.text


async def test_long_error_text_is_cut(mocked: Any, toggl: TogglClient) -> None:
    mocked.post(TE_URL, status=400, body="x" * 5000)
    with pytest.raises(PermanentError) as info:
        await toggl.create_time_entry(7, b"{}")
    assert len(info.value.text) < 600


async def test_2xx_that_is_not_json(mocked: Any, toggl: TogglClient) -> None:
    mocked.post(TE_URL, status=200, body="<html>proxy</html>")
    with pytest.raises(MaybeAppliedError):
        await toggl.create_time_entry(7, b"{}")
    mocked.get(f"{BASE}/me", status=200, body="<html>")
    with pytest.raises(TransientError):
        await toggl.me()


# -- aiohttp exceptions ----------------------------------------------------------------------------


class _Key:
    host, port, ssl = "127.0.0.1", 9, False


@pytest.mark.parametrize(
    ("exception", "post_error", "get_error"),
    [
        (
            aiohttp.ClientConnectorError(_Key(), ConnectionRefusedError(111, "refused")),  # type: ignore[arg-type]
            ConnectError,
            ConnectError,
        ),
        (
            aiohttp.ClientConnectorDNSError(_Key(), OSError(-2, "Name or service not known")),  # type: ignore[arg-type]
            ConnectError,
            ConnectError,
        ),
        (aiohttp.ConnectionTimeoutError("connect timeout"), ConnectError, ConnectError),
        (aiohttp.ServerDisconnectedError(), MaybeAppliedError, TransientError),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), MaybeAppliedError, TransientError),
        (
            aiohttp.ClientConnectionResetError("Cannot write to closing transport"),
            MaybeAppliedError,
            TransientError,
        ),
        (aiohttp.ClientPayloadError("Response payload is not completed"), MaybeAppliedError, TransientError),
        (aiohttp.SocketTimeoutError("read timeout"), MaybeAppliedError, TransientError),
        (TimeoutError(), MaybeAppliedError, TransientError),
        (ConnectionResetError(104, "reset"), MaybeAppliedError, TransientError),
    ],
)
async def test_exception_mapping(
    mocked: Any,
    toggl: TogglClient,
    exception: BaseException,
    post_error: type[RemoteError],
    get_error: type[RemoteError],
) -> None:
    mocked.post(TE_URL, exception=exception)
    mocked.get(f"{BASE}/me", exception=exception)
    with pytest.raises(RemoteError) as info:
        await toggl.create_time_entry(7, b"{}")
    assert type(info.value) is post_error
    assert info.value.__cause__ is exception
    assert_no_secret(info.value)
    with pytest.raises(RemoteError) as info:
        await toggl.me()
    assert type(info.value) is get_error
    assert toggl.requests_by_kind == {"create": 1, "read": 1}


async def test_invalid_url_is_a_config_error(http: aiohttp.ClientSession) -> None:
    with pytest.raises(ConfigError):
        TogglClient(http, "http://127.0.0.1:99999/api/v9", CREDS)


# -- paging --------------------------------------------------------------------------------------


async def test_get_all_pages_a_plain_list_until_a_short_page(mocked: Any, toggl: TogglClient) -> None:
    url = f"{BASE}/workspaces/7/projects"
    mocked.get(f"{url}?active=true&page=1&per_page=2", payload=[{"id": 1}, {"id": 2}])
    mocked.get(f"{url}?active=true&page=2&per_page=2", payload=[{"id": 3}, {"id": 4}])
    mocked.get(f"{url}?active=true&page=3&per_page=2", payload=[{"id": 5}])
    items = await toggl.get_all("/workspaces/7/projects", {"active": True}, per_page=2)
    assert [i["id"] for i in items] == [1, 2, 3, 4, 5]


async def test_get_all_stops_on_an_empty_page(mocked: Any, toggl: TogglClient) -> None:
    url = f"{BASE}/workspaces/7/clients"
    mocked.get(f"{url}?page=1&per_page=2", payload=[{"id": 1}, {"id": 2}])
    mocked.get(f"{url}?page=2&per_page=2", payload=[])
    assert len(await toggl.get_all("/workspaces/7/clients", per_page=2)) == 2


async def test_get_all_data_shape_with_total_count(mocked: Any, toggl: TogglClient) -> None:
    url = f"{BASE}/workspaces/7/tasks"

    def page(n: int, ids: list[int]) -> dict[str, Any]:
        return {"data": [{"id": i} for i in ids], "page": n, "per_page": 2, "total_count": 4}

    mocked.get(f"{url}?active=both&page=1&per_page=2", payload=page(1, [1, 2]))
    mocked.get(f"{url}?active=both&page=2&per_page=2", payload=page(2, [3, 4]))
    items = await toggl.get_all("/workspaces/7/tasks", {"active": "both"}, per_page=2)
    assert [i["id"] for i in items] == [1, 2, 3, 4]  # total_count reached: no third request
    assert toggl.requests_made == 2


async def test_get_all_when_the_endpoint_ignores_paging(mocked: Any, toggl: TogglClient) -> None:
    pattern = re.compile(re.escape(f"{BASE}/workspaces/7/tags") + r"\?.*")
    mocked.get(pattern, payload=[{"id": 1}, {"id": 2}], repeat=True)
    items = await toggl.get_all("/workspaces/7/tags", per_page=2)
    assert [i["id"] for i in items] == [1, 2]


async def test_get_all_refuses_a_strange_shape(mocked: Any, toggl: TogglClient) -> None:
    mocked.get(re.compile(r".*/workspaces/7/odd\?.*"), payload={"nope": 1})
    with pytest.raises(PermanentError):
        await toggl.get_all("/workspaces/7/odd")


async def test_my_time_entries_and_quota(mocked: Any, toggl: TogglClient) -> None:
    mocked.get(f"{BASE}/me/time_entries?start_date=2026-01-01&end_date=2026-01-31", payload=[{"id": 1}])
    mocked.get(f"{BASE}/me/time_entries?start_date=2026-02-01&end_date=2026-02-02", payload=[{"id": 2}])
    mocked.get(
        f"{BASE}/me/quota",
        payload=[{"organization_id": None, "remaining": 29, "resets_in_secs": 100, "total": 30}],
    )
    assert await toggl.my_time_entries(date(2026, 1, 1), date(2026, 1, 31)) == [{"id": 1}]
    # an empty window (start == end) is widened by a day
    assert await toggl.my_time_entries(date(2026, 2, 1), date(2026, 2, 1)) == [{"id": 2}]
    assert (await toggl.quota())[0]["remaining"] == 29


async def test_search_time_entries_pages_by_headers_and_flattens(mocked: Any, toggl: TogglClient) -> None:
    url = f"{REPORTS}/workspace/7/search/time_entries"
    row1 = {
        "user_id": 3,
        "project_id": 11,
        "task_id": None,
        "description": "Design",
        "tag_ids": [5],
        "billable": True,
        "time_entries": [
            {
                "id": 100,
                "seconds": 3600,
                "start": "2026-01-05T09:00:00+00:00",
                "stop": "2026-01-05T10:00:00+00:00",
                "at": "x",
            },
            {
                "id": 101,
                "seconds": 1800,
                "start": "2026-01-06T09:00:00+00:00",
                "stop": "2026-01-06T09:30:00+00:00",
            },
        ],
    }
    row2 = {
        "user_id": 4,
        "project_id": None,
        "task_id": None,
        "description": "",
        "tag_ids": None,
        "billable": False,
        "tags": ["a"],
        "time_entries": [{"id": 102, "seconds": 60, "start": "s", "stop": "t"}],
    }
    mocked.post(url, payload=[row1], headers={"X-Next-ID": "101", "X-Next-Row-Number": "2"})
    mocked.post(url, payload=[row2])
    entries = await toggl.search_time_entries(7, date(2026, 1, 1), date(2026, 1, 31), [3, 4], page_size=2)
    assert entries == [
        {
            "id": 100,
            "user_id": 3,
            "project_id": 11,
            "task_id": None,
            "description": "Design",
            "billable": True,
            "tag_ids": [5],
            "start": "2026-01-05T09:00:00+00:00",
            "stop": "2026-01-05T10:00:00+00:00",
            "duration": 3600,
            "at": "x",
        },
        {
            "id": 101,
            "user_id": 3,
            "project_id": 11,
            "task_id": None,
            "description": "Design",
            "billable": True,
            "tag_ids": [5],
            "start": "2026-01-06T09:00:00+00:00",
            "stop": "2026-01-06T09:30:00+00:00",
            "duration": 1800,
            "at": None,
        },
        {
            "id": 102,
            "user_id": 4,
            "project_id": None,
            "task_id": None,
            "description": "",
            "billable": False,
            "tag_ids": [],
            "tags": ["a"],
            "start": "s",
            "stop": "t",
            "duration": 60,
            "at": None,
        },
    ]
    bodies = [json.loads(kw["data"]) for kw in sent(mocked, "POST", url)]
    assert bodies == [
        {"start_date": "2026-01-01", "end_date": "2026-01-31", "page_size": 2, "user_ids": [3, 4]},
        {
            "start_date": "2026-01-01",
            "end_date": "2026-01-31",
            "page_size": 2,
            "user_ids": [3, 4],
            "first_id": 101,
            "first_row_number": 2,
        },
    ]


async def test_search_stops_when_the_server_repeats_the_cursor(mocked: Any, toggl: TogglClient) -> None:
    url = f"{REPORTS}/workspace/7/search/time_entries"
    mocked.post(url, payload=[], headers={"X-Next-ID": "5"}, repeat=True)
    assert await toggl.search_time_entries(7, date(2026, 1, 1), date(2026, 1, 2)) == []
    assert len(sent(mocked, "POST", url)) == 2
    assert "user_ids" not in json.loads(sent(mocked, "POST", url)[0]["data"])


async def test_create_project_client_task_bodies(mocked: Any, toggl: TogglClient) -> None:
    mocked.post(f"{BASE}/workspaces/7/projects", payload={"id": 1})
    mocked.post(f"{BASE}/workspaces/7/clients", payload={"id": 2})
    mocked.post(f"{BASE}/workspaces/7/projects/1/tasks", payload={"id": 3})
    assert (await toggl.create_project(7, "Web", client_id=2))["id"] == 1
    assert (await toggl.create_client(7, "Acme"))["id"] == 2
    assert (await toggl.create_task(7, 1, "Build"))["id"] == 3
    bodies = {url.path: json.loads(calls[0].kwargs["data"]) for (_, url), calls in mocked.requests.items()}
    assert bodies == {
        "/api/v9/workspaces/7/projects": {"name": "Web", "active": True, "client_id": 2},
        "/api/v9/workspaces/7/clients": {"name": "Acme", "wid": 7},
        "/api/v9/workspaces/7/projects/1/tasks": {"name": "Build", "active": True},
    }
    assert toggl.requests_by_kind == {"write": 3}


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("-1") == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


# -- real sockets on 127.0.0.1 -------------------------------------------------------------------


class RawServer:
    """A bare TCP server that reads one HTTP request and then misbehaves on purpose."""

    def __init__(self, mode: str) -> None:
        self.mode = mode  # "close" (FIN after reading), "reset" (RST), "hang" (never answer)
        self.received: list[bytes] = []
        self._release = asyncio.Event()
        self._handlers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/api/v9"

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        self._server.close()
        await self._server.wait_closed()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                match = re.search(rb"(?i)content-length:\s*(\d+)", head)
                body = await reader.readexactly(int(match.group(1))) if match else b""
                self.received.append(head + body)
                if self.mode == "hang":
                    await self._release.wait()
                    break
                if self.mode == "reset":
                    writer.transport.abort()
                    return
                break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_is_connect_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v9"
    async with aiohttp.ClientSession() as session:
        client = TogglClient(session, url, CREDS)
        with pytest.raises(ConnectError) as info:
            await client.create_time_entry(7, b"{}")
        assert isinstance(info.value, NotAppliedError)
        assert isinstance(info.value.__cause__, aiohttp.ClientConnectorError)
        assert_no_secret(info.value)


@pytest.mark.parametrize("mode", ["close", "reset"])
async def test_dropped_after_reading_is_maybe_applied_for_post(mode: str) -> None:
    async with RawServer(mode) as url, aiohttp.ClientSession() as session:
        client = TogglClient(session, url, CREDS)
        with pytest.raises(MaybeAppliedError) as info:
            await client.create_time_entry(7, b'{"workspace_id":7}')
        assert_no_secret(info.value)
        with pytest.raises(TransientError) as read_info:
            await client.me()
        assert not isinstance(read_info.value, MaybeAppliedError)


async def test_dropped_post_was_sent_exactly_once() -> None:
    server = RawServer("close")
    async with server as url, aiohttp.ClientSession() as session:
        client = TogglClient(session, url, CREDS)
        with pytest.raises(MaybeAppliedError):
            await client.create_time_entry(7, b'{"workspace_id":7}')
    assert len(server.received) == 1  # aiohttp re-sends only idempotent requests by itself
    assert server.received[0].endswith(b'{"workspace_id":7}')


@pytest.mark.parametrize("limits", [aiohttp.ClientTimeout(sock_read=0.1), aiohttp.ClientTimeout(total=0.1)])
async def test_timeout_after_sending_is_maybe_applied(limits: aiohttp.ClientTimeout) -> None:
    server = RawServer("hang")
    async with server as url, aiohttp.ClientSession(timeout=limits) as session:
        client = TogglClient(session, url, CREDS)
        with pytest.raises(MaybeAppliedError) as info:
            await client.create_time_entry(7, b"{}")
        assert isinstance(info.value.__cause__, TimeoutError)
    assert len(server.received) == 1


async def run_app(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/api/v9"


async def test_real_server_round_trip_with_quota_and_429() -> None:
    seen: list[tuple[str, str, bytes, str | None]] = []

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append((request.method, request.path_qs, body, request.headers.get("Authorization")))
        quota = {"X-Toggl-Quota-Remaining": str(100 - len(seen)), "X-Toggl-Quota-Resets-In": "600"}
        if len(seen) == 2:
            return web.Response(status=429, text="Too many requests", headers={**quota, "Retry-After": "30"})
        return web.json_response({"id": len(seen)}, headers=quota)

    runner, url = await run_app(handler)
    try:
        clock = JumpClock()
        limiter = Limiter(1000, 4, clock=clock, sleep=clock.sleep)
        async with aiohttp.ClientSession() as session:
            client = TogglClient(session, url, CREDS, limiter=limiter)
            assert await client.create_time_entry(7, b'{"a":1}') == {"id": 1}
            with pytest.raises(RateLimitedError):
                await client.create_time_entry(7, b'{"a":2}')
            assert await client.get_json("/workspaces/7/clients", {"x": False}) == {"id": 3}
    finally:
        await runner.cleanup()
    assert [s[:3] for s in seen] == [
        ("POST", "/api/v9/workspaces/7/time_entries", b'{"a":1}'),
        ("POST", "/api/v9/workspaces/7/time_entries", b'{"a":2}'),
        ("GET", "/api/v9/workspaces/7/clients?x=false", b""),
    ]
    assert all(s[3] and s[3].startswith("Basic ") for s in seen)
    assert limiter.quota_left() == 97
    assert limiter.rate_limited == 1 and limiter.started == 3 and limiter.in_flight == 0
    assert clock.now >= 1030.0  # the GET after the 429 waited Retry-After (on the limiter clock)


async def test_request_log_gets_method_path_status_and_latency_without_secrets(
    sandbox: Any, session: aiohttp.ClientSession
) -> None:
    lines: list[tuple[str, str, int | None, float]] = []
    client = TogglClient(session, sandbox.base_url, Credentials.from_token(sandbox.token))
    client.on_request = lambda *entry: lines.append(entry)
    await client.me()
    with pytest.raises(PermanentError):
        await client.create_time_entry(1234567, {"created_with": "x"})
    assert [(m, p, s) for m, p, s, _ in lines] == [
        ("GET", "/me", 200),
        ("POST", "/workspaces/1234567/time_entries", 400),
    ]
    assert all(latency >= 0 for *_, latency in lines)
    assert sandbox.token not in repr(lines)


async def test_a_foreign_workspace_is_named_as_the_problem(
    sandbox: Any, session: aiohttp.ClientSession
) -> None:
    client = TogglClient(session, sandbox.base_url, Credentials.from_token(sandbox.token))
    with pytest.raises(CredentialsError, match="no access to workspace 7654321") as caught:
        await client.get_all("/workspaces/7654321/projects")
    assert "--workspace-id" in str(caught.value)
    with pytest.raises(CredentialsError, match=r"refused the credentials \(403\)"):
        await TogglClient(session, sandbox.base_url, Credentials.from_token("wrong")).me()
