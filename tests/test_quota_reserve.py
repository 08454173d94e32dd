"""``--quota-reserve N``: N requests of every hourly window are left for the person's other
integrations -- the setting, its validation, and a real run against the sandbox over TCP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from timesheets import assert_exactly_once, kill_leftovers, run_args, run_cli, write_sheet

from importer.cli import parser as cli_parser
from importer.config import Credentials, Settings, load_settings
from importer.errors import ConfigError
from importer.runner import Importer


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Any:
    yield
    kill_leftovers()


def max_in_window(times: list[float], width: float) -> int:
    """The most of ``times`` inside any half-open window ``[t, t + width)``."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_the_setting_comes_from_the_config_file_and_defaults_to_0(tmp_path: Path) -> None:
    assert Settings().quota_reserve == 0
    config = tmp_path / "c.toml"
    config.write_text("[limits]\nquota_reserve = 25\n", encoding="utf-8")
    assert load_settings(config_path=config).quota_reserve == 25
    config.write_text('[limits]\nquota_reserve = "many"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="quota_reserve"):
        load_settings(config_path=config)


def test_a_negative_reserve_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"quota reserve -3 is below 0.*--quota-reserve 50"):
        Settings(quota_reserve=-3)


def test_the_flag_is_read_by_run_and_undo() -> None:
    parser = cli_parser.build_parser()
    assert parser.parse_args(["run", "t.csv", "--quota-reserve", "10"]).quota_reserve == 10
    assert parser.parse_args(["undo", "--quota-reserve", "7"]).quota_reserve == 7


def test_the_run_gives_its_limiter_the_reserve() -> None:
    run = Importer(Settings(quota_reserve=12, workspace_id=1), Credentials.from_token("t"))
    assert run._limits() == {"quota_reserve": 12}


@pytest.mark.slow
async def test_a_reserve_of_10_under_a_40_per_window_quota_leaves_10_of_every_window(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """The sandbox counts 40 requests per 10-s window; with ``--quota-reserve 10`` the run never
    has more than 30 of them in any window (counted by the sandbox's own quota), answers no
    402, and still creates every row once -- across a second window."""
    sb = await sandbox_factory(quota=40, quota_window=10.0)
    quota = sb._app.gate.quota
    assert quota is not None
    counted: list[float] = []
    take = quota.take

    def counting(key: Any) -> tuple[bool, int, int]:
        allowed, remaining, resets_in = take(key)
        if allowed:
            counted.append(time.monotonic())
        return allowed, remaining, resets_in

    quota.take = counting  # type: ignore[method-assign]
    sheet = tmp_path / "sheet.csv"
    keys = write_sheet(sheet, 36)
    args = run_args(sb, [sheet], tmp_path / "l.sqlite", "--rate", "20", "--concurrency", "4",
                    "--quota-reserve", "10", "--json")  # fmt: skip
    done = await run_cli(args, sb.token, tmp_path, within=120)
    assert done.returncode == 0, done.output
    assert_exactly_once(sb, keys)
    assert len(counted) > 36  # every create and the name look-ups: more than one window holds
    assert max_in_window(counted, 10.0) <= 30
    assert sb.state.statuses[402] == 0


async def test_a_dry_runs_estimate_leaves_the_reserve_out_of_each_window(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """36 creates under 40 requests a 10-s window: they fit the window; with 10 of it reserved
    (30 left) the last ones wait for the next window, and the estimate says so."""
    sb = await sandbox_factory(quota=40, quota_window=10.0)
    sheet = tmp_path / "sheet.csv"
    write_sheet(sheet, 36)

    async def estimate(reserve: int) -> float:
        settings = Settings(api_url=sb.base_url, workspace_id=1234567, timezone="UTC", rate=100.0,
                            ledger=tmp_path / "none.sqlite", quota_reserve=reserve)  # fmt: skip
        summary = await Importer(settings, Credentials.from_token(sb.token)).run([sheet], dry_run=True)
        assert summary.to_post == 36
        assert summary.remaining_seconds is not None
        return summary.remaining_seconds

    plain, reserved = await estimate(0), await estimate(10)
    assert plain < 2.0  # 36 at 100/s, inside what is left of the window
    assert reserved >= 5.0  # the rest waits for the window to move on
