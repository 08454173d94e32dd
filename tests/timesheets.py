"""Helpers for the end-to-end run tests: timesheets to import, the CLI as a subprocess, and the
exactly-once check against what the sandbox holds."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from importer.sandbox import Sandbox

WID = 1234567
POSTS = ("POST", "/workspaces/{wid}/time_entries")
READS = (("GET", "/me/time_entries"), ("POST", "/reports/api/v3/workspace/{wid}/search/time_entries"))
HEADER = ("Date", "Start", "End", "Description", "Project", "Client", "Tags")
ROWS_PER_DAY = 40
"""Rows of one day: 10-minute entries from 08:00 UTC, so no entry crosses midnight."""
PROJECTS = (("", ""), ("Support", "Acme Corp"), ("Internal", ""), ("Mobile App", "Initech"),
            ("Website", "Acme Corp"))
TAGS = ("", "meeting", "remote, urgent")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_")}

Key = tuple[str, str]
"""(description, UTC start as ``YYYY-MM-DDTHH:MM:SS``): what makes a row of these sheets unique."""


def first_day(days_back: int = 30) -> datetime:
    """08:00 UTC, ``days_back`` days ago: recent enough for ``/me/time_entries``."""
    today = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_back)


def write_sheet(
    path: Path,
    n: int,
    *,
    prefix: str = "row",
    start: datetime | None = None,
    project: tuple[str, str] | None = None,
) -> list[Key]:
    """A generic-preset CSV of ``n`` distinct rows (unique description and start); their keys."""
    start = start or first_day()
    keys: list[Key] = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(n):
            day, slot = divmod(i, ROWS_PER_DAY)
            begin = start + timedelta(days=day, minutes=10 * slot)
            end = begin + timedelta(minutes=7 + i % 3)
            name, client = project if project is not None else PROJECTS[i % len(PROJECTS)]
            description = f"{prefix} {i:05d}"
            out.writerow([begin.date().isoformat(), begin.strftime("%H:%M:%S"),
                          end.strftime("%H:%M:%S"), description, name, client, TAGS[i % len(TAGS)]])
            keys.append((description, begin.strftime("%Y-%m-%dT%H:%M:%S")))
    return keys


def entry_keys(sandbox: Sandbox) -> Counter[Key]:
    """Every entry the sandbox holds (answered or not), counted by (description, start)."""
    return Counter(
        (e["description"] or "", datetime.fromisoformat(e["start"]).strftime("%Y-%m-%dT%H:%M:%S"))
        for e in sandbox.state.entries
    )


def assert_exactly_once(sandbox: Sandbox, expected: list[Key]) -> None:
    """Each expected row is an entry exactly once; nothing else was created."""
    held = entry_keys(sandbox)
    twice = sorted(k for k, n in held.items() if n > 1)
    missing = sorted(set(expected) - set(held))
    extra = sorted(set(held) - set(expected))
    assert not twice, f"{len(twice)} rows created more than once, e.g. {twice[:3]}"
    assert not missing, f"{len(missing)} rows never created, e.g. {missing[:3]}"
    assert not extra, f"{len(extra)} entries that are not rows of the file, e.g. {extra[:3]}"


def posts(sandbox: Sandbox) -> int:
    return sandbox.state.requests[POSTS]


def reads_back(sandbox: Sandbox) -> int:
    return sum(sandbox.state.requests[k] for k in READS)


# -- the CLI as a subprocess (the sandbox keeps serving in the test's event loop) ---------------


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_args(sandbox: Sandbox, files: list[Path], ledger: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "importer", "run", *map(str, files),
        "--api-url", sandbox.base_url, "--workspace-id", str(WID), "--ledger", str(ledger),
        "--timezone", "UTC", "--timeout", "5", *extra,
    ]


STARTED: list[asyncio.subprocess.Process] = []
"""Every process ``spawn`` started: ``kill_leftovers`` ends those a failed test left running."""


async def spawn(
    args: list[str], token: str, cwd: Path, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**(ENV if env is None else env), "TOGGL_API_TOKEN": token},
        cwd=cwd,
    )
    STARTED.append(proc)
    return proc


def kill_leftovers() -> None:
    for proc in STARTED:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    STARTED.clear()


async def finish(proc: asyncio.subprocess.Process, within: float = 60) -> Done:
    """Wait for the process (killing it if it outlives ``within`` seconds); its output."""
    try:
        out, err = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(
            f"toggl-import run did not end within {within} s:\n{err.decode(errors='replace')}"
        ) from None
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


async def run_cli(
    args: list[str], token: str, cwd: Path, within: float = 60, env: dict[str, str] | None = None
) -> Done:
    return await finish(await spawn(args, token, cwd, env), within)


async def wait_for_posts(
    sandbox: Sandbox, proc: asyncio.subprocess.Process, count: int, within: float = 30
) -> bool:
    """Poll until the sandbox has seen ``count`` POSTs; False if the process ended first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while posts(sandbox) < count:
        if proc.returncode is not None:
            return False
        if loop.time() > deadline:
            raise AssertionError(f"no {count} POSTs within {within} s (saw {posts(sandbox)})")
        await asyncio.sleep(0.002)
    return True


def send_signal(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)


def secret_files(folder: Path, *, skip: tuple[Path, ...] = ()) -> dict[str, bytes]:
    """Every file under ``folder`` (ledger, its -wal/-shm/.lock, report, log, payloads) as bytes."""
    return {
        str(p): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p not in skip
    }


def summary_of(done: Done) -> dict[str, Any]:
    """The ``--json`` summary printed on stdout."""
    line = done.stdout.strip().splitlines()[-1]
    data: dict[str, Any] = json.loads(line)
    return data

