"""``TogglClient``: Toggl Track API v9 (and Reports v3) over an injected ``aiohttp.ClientSession``.

This is **the one place** where HTTP statuses and aiohttp exceptions become ``errors.py`` types:

========================================  =====================================================
what happened                             raised
========================================  =====================================================
2xx                                       nothing: the parsed JSON
429                                       ``RateLimitedError(retry_after)`` (limiter told)
402, quota headers/body say remaining<=0  ``QuotaExhaustedError(resets_in)`` (limiter paused)
402 otherwise (a paid-plan feature)       ``PermanentError``
401 and 403                               ``CredentialsError``: Toggl answers a refused login
                                          with 403, and a 403 on a workspace means every
                                          request of the run will fail the same way: stop
408                                       ``NotAppliedError`` (the server gave up reading it)
other 3xx/4xx                             ``PermanentError`` with Toggl's text
5xx                                       ``MaybeAppliedError`` on a POST, ``TransientError``
                                          on a read
could not connect (refused, DNS, TLS,     ``ConnectError``: the request never left
connect timeout)
anything after the connection was made    ``MaybeAppliedError`` on a POST, ``TransientError``
(disconnect, reset, read timeout,         on a read
body lost)
========================================  =====================================================

Why so conservative on a POST: aiohttp raises ``ServerDisconnectedError`` / ``ClientOSError`` both
when a pooled keep-alive connection turned out dead before our bytes reached the server and when the
server dropped the connection after reading (and maybe applying) the request; only the connector's
errors (``ClientConnectorError`` and its DNS/SSL/certificate children, ``ConnectionTimeoutError``)
are certainly before sending. A maybe-applied POST is reconciled by reading back, never re-sent
blindly. (For reads aiohttp itself already re-sends once on a dead pooled connection.)

Toggl's error text (text/plain, sometimes a JSON string) is kept; the credentials never appear in
any message. Every answer's quota headers go to the limiter. Per-request work is kept small: the
auth header is built once, URLs are cached, bodies may come pre-serialised as ``bytes``.
"""

from __future__ import annotations

import base64
import json as _json
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from .config import DEFAULT_API_URL, Credentials
from .endpoints import Endpoints
from .errors import (
    ConfigError,
    ConnectError,
    CredentialsError,
    MaybeAppliedError,
    NotAppliedError,
    PermanentError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)
from .limits import ME, ORG, Limiter

QUOTA_REMAINING = "X-Toggl-Quota-Remaining"
QUOTA_RESETS_IN = "X-Toggl-Quota-Resets-In"
DEFAULT_PER_PAGE = 200
MAX_TEXT = 500
"""Toggl's error text is kept up to this many characters."""

_WORKSPACE_PATH = re.compile(r"/workspaces?/(\d+)(/|$)")
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_QUOTA_WORDS = ("quota", "hourly limit", "requests per hour", "api calls")
_PLAN_WORDS = ("premium", "feature", "plan", "upgrade", "subscription")


def reports_base_for(api_url: str) -> str:
    """The Reports API v3 base: the API base with ``/api/v9`` replaced (as ``Settings``)."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v9"):
        return base[: -len("/api/v9")] + "/reports/api/v3"
    return base + "/reports/api/v3"


class Answer:
    """One answer: status, headers, the parsed JSON, and the quota it reported."""

    __slots__ = ("data", "headers", "quota_remaining", "quota_resets_in", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        data: Any,
        quota_remaining: int | None,
        quota_resets_in: float | None,
    ) -> None:
        self.status = status
        self.headers = headers
        self.data = data
        self.quota_remaining = quota_remaining
        self.quota_resets_in = quota_resets_in

    def __repr__(self) -> str:
        return f"Answer(status={self.status}, quota_remaining={self.quota_remaining})"


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value else None  # drop NaN


def _quota(headers: Mapping[str, str]) -> tuple[int | None, float | None]:
    remaining = _number(headers.get(QUOTA_REMAINING))
    return (None if remaining is None else int(remaining)), _number(headers.get(QUOTA_RESETS_IN))


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (from now); ``None`` if unusable."""
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _params(params: Mapping[str, Any] | None) -> dict[str, str | int | float] | None:
    """aiohttp refuses bools and ``None`` in a query: Toggl wants ``true``/``false``."""
    if not params:
        return None
    out: dict[str, str | int | float] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = value
    return out


class TogglClient(Endpoints):
    """Toggl Track API v9 client; statuses and network failures become ``errors.py`` types."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        credentials: Credentials,
        *,
        reports_url: str | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.reports_url = (reports_url or reports_base_for(self.base_url)).rstrip("/")
        for url in (self.base_url, self.reports_url):
            try:
                URL(url).raw_host  # noqa: B018 -- parse once, so a bad URL fails here
            except ValueError as exc:
                raise ConfigError(f"invalid API URL {url!r}: {exc}") from exc
        self.limiter = limiter
        raw = f"{credentials.user}:{credentials.password}".encode()
        auth = base64.b64encode(raw).decode("ascii")
        self._headers = {
            "Authorization": f"Basic {auth}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._get_headers = {"Authorization": self._headers["Authorization"], "Accept": "application/json"}
        self._secrets = [
            s for s in (*credentials.secrets(), auth, credentials.password) if s and s != "api_token"
        ]
        self._urls: dict[tuple[str, str], URL] = {}
        self.on_request: Callable[[str, str, int | None, float], None] | None = None
        """Called after every request with method, path, status (None: no answer) and seconds;
        for ``--log-file``. The path never holds a secret (the credentials go in a header)."""
        self.per_page = DEFAULT_PER_PAGE
        """Items asked for per page of a listing (Toggl's maximum is 200)."""
        self.requests_made = 0
        """Requests sent, answered or not (each counts against Toggl's limits)."""
        self.requests_by_kind: Counter[str] = Counter()
        """The same by kind: ``create``, ``update`` and ``delete`` (of time entries), ``write``
        (projects, clients, tasks), ``read`` (GETs and the Reports search)."""
        self.statuses: Counter[int] = Counter()
        """Answers by HTTP status (429s and 402s for the summary); no answer, no count."""

    def __repr__(self) -> str:
        return f"TogglClient({self.base_url!r})"

    # -- the one request path ---------------------------------------------------------------

    def _url(self, base: str, path: str) -> URL:
        key = (base, path)
        url = self._urls.get(key)
        if url is None:
            root = self.reports_url if base == "reports" else self.base_url
            if base not in ("api", "reports"):
                raise ValueError(f"base must be 'api' or 'reports', got {base!r}")
            url = URL(root + ("" if path.startswith("/") else "/") + path)
            if len(self._urls) < 1024:
                self._urls[key] = url
        return url

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        base: str = "api",
        idempotent: bool | None = None,
    ) -> Answer:
        """Send one request under the limiter; the answer, or an ``errors.py`` exception.

        ``json`` may be pre-serialised ``bytes``; ``idempotent`` defaults to the method's nature
        (a read-only POST such as the Reports search passes ``True``).
        """
        url = self._url(base, path)
        if json is None:
            body = None
        elif isinstance(json, bytes | bytearray):
            body = bytes(json)
        else:
            body = _json.dumps(json, separators=(",", ":")).encode()
        safe = method in _IDEMPOTENT if idempotent is None else idempotent
        bucket = ME if base == "api" and (path == "/me" or path.startswith("/me/")) else ORG
        query = _params(params)
        limiter = self.limiter
        if limiter is None:
            status, headers, raw = await self._send(method, url, body, query, safe, path)
        else:
            async with limiter.slot(bucket):
                status, headers, raw = await self._send(method, url, body, query, safe, path)
        self.statuses[status] += 1
        remaining, resets_in = _quota(headers)
        if 200 <= status < 300:
            if limiter is not None:
                limiter.observe(remaining, resets_in, bucket)
            try:
                data = _json.loads(raw) if raw else None
            except ValueError as exc:
                raise self._lost(safe, f"{method} {path}: answer {status} is not JSON", status) from exc
            return Answer(status, headers, data, remaining, resets_in)
        raise self._refusal(method, path, status, headers, raw, remaining, resets_in, safe, bucket)

    async def _send(
        self,
        method: str,
        url: URL,
        body: bytes | None,
        params: dict[str, str | int | float] | None,
        safe: bool,
        path: str,
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        self.requests_made += 1
        self.requests_by_kind[_kind(method, path, safe)] += 1
        if self.on_request is None:
            return await self._exchange(method, url, body, params, safe, path)
        started = time.perf_counter()
        status: int | None = None
        try:
            answer = await self._exchange(method, url, body, params, safe, path)
            status = answer[0]
            return answer
        finally:
            self.on_request(method, path, status, time.perf_counter() - started)

    async def _exchange(
        self,
        method: str,
        url: URL,
        body: bytes | None,
        params: dict[str, str | int | float] | None,
        safe: bool,
        path: str,
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        headers = self._headers if body is not None else self._get_headers
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                params=params,
                headers=headers,
                allow_redirects=False,
                raise_for_status=False,
            ) as resp:
                return resp.status, resp.headers, await resp.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise ConnectError(
                self._scrub(
                    f"{method} {path}: could not connect to {url.host}: {exc} -- check --api-url "
                    "and the network"
                )
            ) from exc
        except TimeoutError as exc:
            raise self._lost(safe, f"{method} {path}: no answer in time ({type(exc).__name__})") from exc
        except aiohttp.InvalidURL as exc:
            raise ConfigError(self._scrub(f"invalid API URL: {exc}")) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise self._lost(
                safe, self._scrub(f"{method} {path}: connection lost ({type(exc).__name__}: {exc})")
            ) from exc

    def _lost(self, safe: bool, message: str, status: int | None = None, text: str = "") -> TransientError:
        """After sending: a read may simply be retried, a write may have been applied."""
        if safe:
            return TransientError(message, status=status, text=text)
        return MaybeAppliedError(message + " -- it may have been applied", status=status, text=text)

    def _refusal(
        self,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str],
        raw: bytes,
        remaining: int | None,
        resets_in: float | None,
        safe: bool,
        bucket: str,
    ) -> Exception:
        text = self._text(raw)
        where = f"{method} {path}"
        limiter = self.limiter
        if status == 402 and self._is_quota(text, remaining):
            if limiter is not None:
                limiter.pause_for_quota(resets_in, bucket)
            when = f"; it resets in {resets_in:.0f} s" if resets_in is not None else ""
            said = f" ({text})" if text else ""
            return QuotaExhaustedError(
                f"{where}: the hourly API quota is used up{when}{said}",
                resets_in=resets_in,
                status=status,
                text=text,
            )
        if limiter is not None:
            limiter.observe(remaining, resets_in, bucket)
        if status == 429:
            retry_after = retry_after_seconds(headers.get("Retry-After"))
            if limiter is not None:
                limiter.on_rate_limited(retry_after)
            return RateLimitedError(
                f"{where}: too many requests (429): {text or 'slow down'}",
                retry_after=retry_after,
                status=status,
                text=text,
            )
        workspace = _WORKSPACE_PATH.match(path)
        if status == 403 and workspace and "does not have access" in text:
            return CredentialsError(
                f"no access to workspace {workspace[1]} ({where}: {text}) -- check --workspace-id "
                "(without it, your default workspace is used) and that the token belongs to a "
                "member of that workspace",
                status=status,
                text=text,
            )
        if status in (401, 403):
            return CredentialsError(
                f"Toggl refused the credentials ({status}) on {where}: {text or 'no reason given'}"
                " -- check TOGGL_API_TOKEN (or TOGGL_EMAIL/TOGGL_PASSWORD) and the workspace id",
                status=status,
                text=text,
            )
        if status == 408:
            return NotAppliedError(
                f"{where}: Toggl timed out reading the request (408)", status=status, text=text
            )
        if status >= 500:
            return self._lost(safe, f"{where}: Toggl answered {status}: {text}", status, text)
        hint = ""
        if status == 404 and not self.statuses.keys() - {404}:  # nothing but 404s so far
            hint = f" -- is --api-url right? Toggl's is {DEFAULT_API_URL}"
        return PermanentError(f"{where}: Toggl refused it ({status}): {text}{hint}", status=status, text=text)

    @staticmethod
    def _is_quota(text: str, remaining: int | None) -> bool:
        """402 is the quota only when it says so; otherwise a paid-plan feature refusal."""
        if remaining is not None:
            return remaining <= 0
        low = text.lower()
        return any(w in low for w in _QUOTA_WORDS) and not any(w in low for w in _PLAN_WORDS)

    def _text(self, raw: bytes) -> str:
        """Toggl's error body as text: plain text, or the string inside a JSON string."""
        text = raw.decode("utf-8", "replace").strip()
        if text.startswith('"'):
            try:
                decoded = _json.loads(text)
            except ValueError:
                decoded = None
            if isinstance(decoded, str):
                text = decoded.strip()
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT] + "..."
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


def _kind(method: str, path: str, safe: bool) -> str:
    """What a request does, for ``requests_by_kind``."""
    if method == "PUT" or method == "PATCH":
        return "update"
    if method == "DELETE":
        return "delete"
    if safe:
        return "read"
    return "create" if path.endswith("/time_entries") else "write"
