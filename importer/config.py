"""Settings value objects, their defaults, and the TOML config file.

Precedence for every setting: command-line flag > environment > config file > default. ``cli.py``
gathers the flags and the environment; ``load_settings`` merges them over the file and checks the
result once, so the rest of the package receives a checked, frozen ``Settings``.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import messages
from .errors import ConfigError
from .models import DEFAULT_CREATED_WITH

DEFAULT_API_URL = "https://api.track.toggl.com/api/v9"
DATE_ORDERS = ("mdy", "dmy", "auto")
"""How a date with slashes (``05/11/2026``) is read: month first (the contract's ``MM/DD/YYYY``, as
Clockify writes), day first, or ``auto``: per file, day first when a first number above 12 shows
it, else month first."""
DEFAULT_DATE_ORDER = "mdy"
DEFAULT_CONFIG_PATH = Path("toggl-import.toml")
DEFAULT_LEDGER_PATH = Path("toggl-import.ledger.sqlite")
DEFAULT_RATE = 1.0
DEFAULT_CONCURRENCY = 4
DEFAULT_PRESET = "auto"
DEFAULT_START_TIME = time(9, 0)
DEFAULT_TIMEOUT = 30.0
DEFAULT_CREATED_WITH_NAME = DEFAULT_CREATED_WITH
DEFAULT_MAX_DELETES = 25
PRESETS = ("auto", "toggl", "toggl-import", "clockify", "harvest", "jira", "generic")
DEFAULT_JIRA_DAY_HOURS = 8.0
"""Hours of a day in durations such as ``1d 2h`` (Jira's working day; a week ``1w`` is 5 days)."""


@dataclass(frozen=True)
class Credentials:
    """Basic-auth credentials. ``repr`` never shows the secret."""

    user: str
    password: str = field(repr=False)

    @classmethod
    def from_token(cls, token: str) -> Credentials:
        return cls(token, "api_token")

    def __repr__(self) -> str:
        return "Credentials(***)"

    def secrets(self) -> list[str]:
        """What must never appear in output (the token, or the password)."""
        return [s for s in (self.password if self.password != "api_token" else self.user,) if s]


@dataclass(frozen=True)
class Settings:
    api_url: str = DEFAULT_API_URL
    reports_url: str | None = None
    workspace_id: int | None = None
    preset: str = DEFAULT_PRESET
    column_map: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None
    ledger: Path = DEFAULT_LEDGER_PATH
    rate: float = DEFAULT_RATE
    concurrency: int = DEFAULT_CONCURRENCY
    quota_reserve: int = 0
    """Requests of every hourly quota window left unused, for the person's other integrations
    (``--quota-reserve``, ``limits.quota_reserve``)."""
    timeout: float = DEFAULT_TIMEOUT
    created_with: str = DEFAULT_CREATED_WITH_NAME
    default_start_time: time = DEFAULT_START_TIME
    date_order: str = DEFAULT_DATE_ORDER
    create_missing: bool = False
    check_existing: bool = False
    retry_failed: bool = False
    source: str | None = None
    """The stream the files belong to (``--source``); ``None``: each file's base name."""
    key_column: str | None = None
    """The column holding each row's id at its source (``--key``)."""
    mirror: bool = False
    max_deletes: int = DEFAULT_MAX_DELETES
    overwrite: bool = False
    all_or_nothing: bool = False
    tokens: dict[str, str] = field(default_factory=dict)
    """``[tokens]``: a person's email (lower case) → the name of the environment variable that
    holds their API token. Their rows are sent with it (their own rate limit and quota)."""
    jira_day_hours: float = DEFAULT_JIRA_DAY_HOURS
    header_row: int | None = None
    """The spreadsheet row of every file's header (``--header-row``, from 1); ``None``: look."""
    sheet: str | None = None
    """The worksheet to read (``--sheet``): its name, or its number among the visible ones."""
    since: date | None = None
    """Rows whose local start date (in ``timezone``) is earlier are skipped (``--since``)."""
    until: date | None = None
    """Rows whose local start date is later are skipped (``--until``, inclusive)."""
    only_email: tuple[str, ...] = ()
    """Only rows of these people are imported, the others skipped (``--only-email``, lower case)."""

    def __post_init__(self) -> None:
        check_api_url(self.api_url)
        if self.reports_url is not None:
            check_api_url(self.reports_url)
        if self.preset not in PRESETS:
            raise ConfigError(messages.unknown_preset(self.preset, PRESETS))
        if not self.rate > 0:
            raise ConfigError(messages.bad_rate(self.rate))
        if self.concurrency < 1:
            raise ConfigError(messages.bad_concurrency(self.concurrency))
        if self.quota_reserve < 0:
            raise ConfigError(messages.bad_quota_reserve(self.quota_reserve))
        if self.workspace_id is not None and self.workspace_id < 1:
            raise ConfigError(messages.bad_workspace_id(self.workspace_id))
        if self.timezone is not None:
            zone(self.timezone)
        if not self.created_with.strip():
            raise ConfigError(messages.empty_created_with())
        if self.date_order not in DATE_ORDERS:
            raise ConfigError(messages.unknown_date_order(self.date_order, DATE_ORDERS))
        if self.max_deletes < 0:
            raise ConfigError(messages.bad_setting("max_deletes", self.max_deletes))
        if self.source is not None and not self.source.strip():
            raise ConfigError(messages.bad_setting("source", self.source))
        if self.key_column is not None and not self.key_column.strip():
            raise ConfigError(messages.bad_setting("key_column", self.key_column))

        if not 0 < self.jira_day_hours <= 24:
            raise ConfigError(messages.bad_jira_day_hours(self.jira_day_hours))
        if self.header_row is not None and self.header_row < 1:
            raise ConfigError(messages.bad_header_row(self.header_row))
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ConfigError(messages.since_after_until(self.since.isoformat(), self.until.isoformat()))
        for email in self.only_email:
            if "@" not in email:
                raise ConfigError(messages.bad_only_email(email))

    @property
    def columns(self) -> dict[str, str]:
        """``column_map`` with ``key_column`` as the ``key`` field (``--key`` is ``--map key=``)."""
        if self.key_column:
            return {**self.column_map, "key": self.key_column}
        return self.column_map

    @property
    def keyed(self) -> bool:
        """Rows carry their id at the source: ``--key`` (or ``--map key=COLUMN``)."""
        return bool(self.key_column or self.column_map.get("key"))

    @property
    def planned_first(self) -> bool:
        """The whole plan is made before anything is sent: a key may refuse an earlier row, a
        mirror counts its deletes, all-or-nothing needs every row good."""
        return self.keyed or self.mirror or self.all_or_nothing

    @property
    def reports_base(self) -> str:
        """The Reports API v3 base: the API base with /api/v9 replaced, unless configured."""
        if self.reports_url:
            return self.reports_url.rstrip("/")
        base = self.api_url.rstrip("/")
        if base.endswith("/api/v9"):
            return base[: -len("/api/v9")] + "/reports/api/v3"
        return base + "/reports/api/v3"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(messages.unknown_timezone(name)) from exc


def check_api_url(url: str) -> str:
    """Refuse plain http except on loopback, and anything that is not a URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(messages.not_an_http_url(url))
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(messages.plain_http(parts.hostname))
    return url


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_FILE_KEYS: dict[tuple[str, str], str] = {
    ("api", "base_url"): "api_url",
    ("api", "reports_url"): "reports_url",
    ("api", "timeout"): "timeout",
    ("import", "workspace_id"): "workspace_id",
    ("import", "preset"): "preset",
    ("import", "timezone"): "timezone",
    ("import", "ledger"): "ledger",
    ("import", "created_with"): "created_with",
    ("import", "default_start_time"): "default_start_time",
    ("import", "date_order"): "date_order",
    ("import", "create_missing"): "create_missing",
    ("import", "check_existing"): "check_existing",
    ("import", "source"): "source",
    ("import", "key_column"): "key_column",
    ("import", "mirror"): "mirror",
    ("import", "max_deletes"): "max_deletes",
    ("import", "overwrite"): "overwrite",
    ("import", "all_or_nothing"): "all_or_nothing",
    ("import", "jira_day_hours"): "jira_day_hours",
    ("import", "header_row"): "header_row",
    ("import", "sheet"): "sheet",
    ("import", "since"): "since",
    ("import", "until"): "until",
    ("import", "only_email"): "only_email",
    ("limits", "rate"): "rate",
    ("limits", "concurrency"): "concurrency",
    ("limits", "quota_reserve"): "quota_reserve",
}


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings a TOML file gives, keyed by ``Settings`` field name."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(messages.config_not_found(path)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(messages.config_not_toml(path, str(exc))) from exc
    out: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(messages.config_not_a_section(path, section))
        if section == "columns":
            out["column_map"] = {str(k): str(v) for k, v in table.items()}
            continue
        if section == "tokens":
            out["tokens"] = _token_table(path, table)
            continue
        for key, value in table.items():
            name = _FILE_KEYS.get((section, key))
            if key in ("token", "api_token", "password", "email"):
                raise ConfigError(messages.config_has_credentials(path))
            if name is None:
                raise ConfigError(messages.config_unknown_setting(path, section, key))
            out[name] = value
    return out


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(name: str, value: Any) -> date:
    """``--since``/``--until``: a TOML date, or ``YYYY-MM-DD`` text."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = str(value).strip()
    try:
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ConfigError(messages.bad_date_option(name, str(value)))


def _emails(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else list(value)
    return tuple(str(e).strip().casefold() for e in items if str(e).strip())


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _token_table(path: Path, table: dict[str, Any]) -> dict[str, str]:
    """``[tokens]``: email → the *name* of an environment variable (never a token itself)."""
    out: dict[str, str] = {}
    for email, variable in table.items():
        if "@" not in str(email):
            raise ConfigError(messages.token_not_an_email(path, str(email)))
        if not isinstance(variable, str) or not _ENV_NAME.fullmatch(variable):
            raise ConfigError(messages.token_not_a_variable(path, str(email)))
        out[str(email).strip().lower()] = variable
    return out


def _coerce(name: str, value: Any) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    kind = str(kinds[name])
    if name in ("since", "until"):
        return _date(name, value)
    try:
        if name == "only_email":
            return _emails(value)
        if name == "sheet":
            return str(value).strip()
        if name == "ledger":
            return Path(value)
        if name == "default_start_time":
            return value if isinstance(value, time) else time.fromisoformat(str(value))
        if name in ("workspace_id", "concurrency", "quota_reserve", "max_deletes", "header_row"):
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if name in ("rate", "timeout", "jira_day_hours"):
            return float(value)
        if "bool" in kind:
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "y", "on")
            return bool(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(messages.bad_setting(name, value)) from exc
    return value


def load_settings(
    *layers: dict[str, Any], config_path: Path | None = None, base: Settings | None = None
) -> Settings:
    """Merge layers (lowest first) over the config file and the defaults, and check the result.

    ``layers`` are dicts keyed by ``Settings`` field names; ``None`` values are ignored so that an
    unset flag does not hide the environment or the file.
    """
    merged: dict[str, Any] = {}
    if config_path is not None:
        merged.update(read_config_file(config_path))
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if v is not None})
    values = {k: _coerce(k, v) for k, v in merged.items()}
    return replace(base or Settings(), **values)
