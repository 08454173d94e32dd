"""Settings: precedence, checks, and the example config equal to the defaults."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from importer.config import Credentials, Settings, load_settings, read_config_file
from importer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_loads_and_equals_the_defaults() -> None:
    assert load_settings(config_path=ROOT / "config.example.toml") == Settings()


def test_example_config_shows_every_setting_a_file_may_hold() -> None:
    """Each [section] key the config file understands is in the example, set or commented out."""
    import re

    from importer.config import _FILE_KEYS

    shown: set[tuple[str, str]] = set()
    section = ""
    for line in (ROOT / "config.example.toml").read_text(encoding="utf-8").splitlines():
        if found := re.fullmatch(r"\[(\w+)\]", line.strip()):
            section = found.group(1)
        elif found := re.fullmatch(r"#? ?(\w+) = .*", line):
            shown.add((section, found.group(1)))
    assert set(_FILE_KEYS) - shown == set()


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[limits]\nrate = 3\nconcurrency = 7\n[import]\npreset = "harvest"\n')
    env = {"rate": "2"}
    flags = {"rate": 5.0, "concurrency": None}
    settings = load_settings(env, flags, config_path=cfg)
    assert settings.rate == 5.0
    assert settings.concurrency == 7
    assert settings.preset == "harvest"
    assert load_settings(env, config_path=cfg).rate == 2.0


@pytest.mark.parametrize(
    "url",
    ["http://api.example.com/api/v9", "ftp://127.0.0.1/x", "not a url"],
)
def test_plain_http_is_refused_unless_loopback(url: str) -> None:
    with pytest.raises(ConfigError):
        Settings(api_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/api/v9", "http://localhost/api/v9",
                                 "http://[::1]:9/api/v9"])
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    assert Settings(api_url=url).api_url == url


def test_reports_base_is_derived_from_the_api_base() -> None:
    s = Settings(api_url="http://127.0.0.1:9/api/v9")
    assert s.reports_base == "http://127.0.0.1:9/reports/api/v3"
    assert Settings(reports_url="https://x.test/r/").reports_base == "https://x.test/r"


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"rate": 0}, "rate"),
        ({"concurrency": 0}, "concurrency"),
        ({"preset": "excel"}, "preset"),
        ({"timezone": "Mars/Olympus"}, "Europe/Berlin"),
        ({"workspace_id": -3}, "workspace"),
    ],
)
def test_bad_settings_say_what_to_fix(changes: dict[str, object], text: str) -> None:
    with pytest.raises(ConfigError, match=text):
        load_settings(changes)


def test_config_file_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits\nrate=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config_file(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[limits]\nspeed = 3\n")
    with pytest.raises(ConfigError, match=r"unknown setting \[limits\] speed"):
        read_config_file(unknown)
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "missing.toml")


def test_columns_and_start_time_from_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[import]\ndefault_start_time = "08:30"\n[columns]\nduration = "Time spent"\n')
    s = load_settings(config_path=cfg)
    assert s.default_start_time == time(8, 30)
    assert s.column_map == {"duration": "Time spent"}


def test_credentials_never_show_the_secret() -> None:
    creds = Credentials.from_token("s3cr3t-token")
    assert "s3cr3t" not in repr(creds)
    assert "s3cr3t" not in str(creds)
    assert creds.secrets() == ["s3cr3t-token"]
    assert Credentials("me@example.com", "pw123").secrets() == ["pw123"]


def test_credentials_in_the_config_file_are_refused_with_the_fix(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[api]\ntoken = "abc"\n')
    with pytest.raises(ConfigError, match="TOGGL_API_TOKEN"):
        read_config_file(cfg)


def test_the_reading_settings_from_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[import]\npreset = "jira"\njira_day_hours = 7.5\nheader_row = 4\nsheet = 2\n'
                   'since = 2026-01-01\nuntil = "2026-01-31"\n'
                   'only_email = [" Ana@Example.com ", "bo@x.org"]\n')
    s = load_settings(config_path=cfg)
    assert (s.preset, s.jira_day_hours, s.header_row, s.sheet) == ("jira", 7.5, 4, "2")
    assert (s.since, s.until) == (date(2026, 1, 1), date(2026, 1, 31))
    assert s.only_email == ("ana@example.com", "bo@x.org")
    flags = {"since": "2026-01-15", "only_email": ["cy@x.org"], "header_row": None}
    s = load_settings(flags, config_path=cfg)  # a flag wins, an unset one does not hide the file
    assert (s.since, s.only_email, s.header_row) == (date(2026, 1, 15), ("cy@x.org",), 4)


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"since": "2026-1-5"}, "since '2026-1-5' is not a date: write it as YYYY-MM-DD"),
        ({"until": "2026-02-30"}, "until '2026-02-30' is not a date"),
        ({"since": "2026-02-01", "until": "2026-01-31"}, "--since 2026-02-01 is after --until 2026-01-31"),
        ({"only_email": ["ana"]}, "--only-email 'ana' is not an email address"),
        ({"only_email": 3}, "setting only_email has an invalid value 3"),
        ({"header_row": 0}, "header row 0 is not a row number"),
        ({"header_row": "four"}, "setting header_row has an invalid value 'four': use a whole number"),
        ({"jira_day_hours": 25}, "jira_day_hours 25 is not a number of hours from 0 to 24"),
    ],
)  # fmt: skip
def test_bad_reading_settings_say_what_to_fix(changes: dict[str, object], text: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(changes)
    assert str(refused.value).startswith(text)


def test_presets_of_the_settings_are_those_of_the_presets() -> None:
    from importer import config, presets

    assert config.PRESETS == presets.PRESETS
