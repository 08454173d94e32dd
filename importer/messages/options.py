"""Options, the config file, the environment, and output files."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import quote
from .common import TIMEZONE_EXAMPLE

# -- options, config file, environment (config.py, localtime.py, cli) ----------------------------


def no_timezone(example: str) -> str:
    """``example``: a cell without an offset (the location says which file, row and column)."""
    return (
        f"times such as {quote(example)} have no UTC offset: pass --timezone with the zone they "
        f"were recorded in, for example --timezone {TIMEZONE_EXAMPLE}"
    )


def unknown_timezone(name: str) -> str:
    return f"unknown time zone {name!r}: use an IANA name such as {TIMEZONE_EXAMPLE}"


def unknown_date_order(value: str, choices: Sequence[str]) -> str:
    return f"unknown date order {value!r}: choose one of {', '.join(choices)}"


def bad_date_option(name: str, value: str) -> str:
    """``--since`` / ``--until`` (or ``since`` / ``until`` in the config file) that is no date."""
    return (
        f"{name} {value!r} is not a date: write it as YYYY-MM-DD, for example --{name} 2026-01-31 "
        f"(in the config file: {name} = 2026-01-31)"
    )


def since_after_until(since: str, until: str) -> str:
    return f"--since {since} is after --until {until}, so no row could be imported: swap them"


def bad_only_email(email: str) -> str:
    return (
        f"--only-email {email!r} is not an email address: give the email as the file writes it, "
        "for example --only-email ana@example.com"
    )


def bad_header_row(row: int) -> str:
    return (
        f"header row {row} is not a row number: give the spreadsheet row of the header, 1 for "
        "the first, for example --header-row 3"
    )


def bad_jira_day_hours(hours: float) -> str:
    return (
        f"jira_day_hours {hours:g} is not a number of hours from 0 to 24: give the hours of a "
        "working day in Jira, for example jira_day_hours = 8"
    )


def bad_rate(rate: float) -> str:
    return f"rate {rate:g} is not above 0: give requests per second, for example --rate 1"


def bad_concurrency(concurrency: int) -> str:
    return f"concurrency {concurrency} is below 1: give the requests in flight, for example --concurrency 4"


def bad_quota_reserve(reserve: int) -> str:
    return (
        f"quota reserve {reserve} is below 0: give the requests of every hourly window to leave "
        "unused, for example --quota-reserve 50 (default 0)"
    )


def bad_workspace_id(workspace_id: int) -> str:
    return (
        f"workspace id {workspace_id} is not a positive number: use the number in the Toggl "
        "URL (track.toggl.com/.../workspaces/N)"
    )


def empty_created_with() -> str:
    return 'created_with is empty: name the application, or leave it out (default "toggl-import")'


def not_an_http_url(url: str) -> str:
    return f"API URL {url!r} is not an http(s) URL: use for example https://api.track.toggl.com/api/v9"


def plain_http(host: str) -> str:
    return (
        f"refusing plain http to {host}: the token would travel unencrypted; use https "
        "(plain http is for loopback only)"
    )


def config_not_found(path: object) -> str:
    return f"config file {path} does not exist: check the path given to --config"


def config_not_toml(path: object, detail: str) -> str:
    return f"config file {path} is not valid TOML ({detail}): fix it, see config.example.toml"


def config_not_a_section(path: object, section: str) -> str:
    return (
        f"config file {path}: {section!r} is not a [section]: put settings under [api], "
        "[import], [limits], [columns] or [tokens]"
    )


def config_has_credentials(path: object) -> str:
    return (
        f"config file {path}: credentials do not go in the config file; set "
        "TOGGL_API_TOKEN (or TOGGL_EMAIL and TOGGL_PASSWORD) in the environment"
    )


def config_unknown_setting(path: object, section: str, key: str) -> str:
    return (
        f"config file {path}: unknown setting [{section}] {key}: see config.example.toml for the "
        "settings there are"
    )


_SETTING_KINDS = {
    "workspace_id": "a whole number",
    "concurrency": "a whole number",
    "quota_reserve": "a whole number of requests",
    "rate": "a number of requests per second",
    "timeout": "a number of seconds",
    "default_start_time": 'a time of day such as "09:00"',
    "ledger": "a file path",
    "header_row": "a whole number",
    "jira_day_hours": "a number of hours",
    "only_email": 'a list of emails such as ["ana@example.com"]',
}


def bad_setting(name: str, value: object) -> str:
    """A setting of the config file or the environment that is not of its kind."""
    kind = _SETTING_KINDS.get(name, "a value as in config.example.toml")
    return f"setting {name} has an invalid value {value!r}: use {kind}"


def no_credentials() -> str:
    return (
        "no credentials: set TOGGL_API_TOKEN (Toggl Track → Profile settings → API Token), "
        "or TOGGL_EMAIL and TOGGL_PASSWORD"
    )


def cannot_write(option: str, path: object, reason: str) -> str:
    """An output file of ``--report``, ``--emit-payloads`` or ``--log-file``."""
    return f"{option} {path}: cannot write it ({reason}): give a file path in a folder that exists"


def output_is_input(option: str, path: object, what: str) -> str:
    """An output file (``--report``, ``--emit-payloads``, ``--log-file``) that would overwrite a
    timesheet being read, the ledger or another output."""
    return f"{option} {path} is {what}: writing there would destroy it; give another file name"
