"""``toggl-import demo``: the whole job on the bundled samples, against an in-process sandbox.

Starts the sandbox on a free loopback port, imports every file of ``samples/`` at a modest rate so
the progress is visible, prints the summary, then runs the same import again to show that nothing
is sent twice, and says where the ledger and the report are. Needs no account.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from importlib import resources
from pathlib import Path

from rich.console import Console

from ..config import Credentials, Settings
from ..report import Summary
from ..resolve import NameCache
from ..runner import Importer
from ..sandbox import Sandbox
from .render import ProgressDisplay, render_summary

DEMO_RATE = 5.0
"""Slow enough to watch the progress bar; the demo takes about ten seconds."""
DEMO_TIMEZONE = "Europe/Berlin"


def sample_files() -> list[Path]:
    folder = Path(str(resources.files("importer") / "samples"))
    return sorted(p for p in folder.iterdir() if p.suffix in {".csv", ".tsv", ".xlsx", ".xls", ".ods"})


def run_demo(
    console: Console | None = None, workdir: Path | None = None, rate: float = DEMO_RATE
) -> int:
    console = console or Console()
    workdir = (workdir or Path(tempfile.mkdtemp(prefix="toggl-import-demo-"))).resolve()
    here = Path.cwd()
    os.chdir(sample_files()[0].parent.parent)  # so files read as samples/NAME in messages
    try:
        return asyncio.run(_demo(console, workdir, rate))
    finally:
        os.chdir(here)


async def _demo(console: Console, workdir: Path, rate: float) -> int:
    files = [Path("samples") / p.name for p in sample_files()]
    async with Sandbox() as sandbox:
        console.print(f"Sandbox (a local stand-in for Toggl) at {sandbox.base_url}", highlight=False)
        settings = Settings(
            api_url=sandbox.base_url,
            workspace_id=1234567,
            timezone=DEMO_TIMEZONE,
            ledger=workdir / "demo.ledger.sqlite",
            rate=rate,
            concurrency=4,
        )
        credentials = Credentials.from_token(sandbox.token)
        console.print(f"Importing {len(files)} sample files at {rate:g} requests/s "
                      f"(times in {DEMO_TIMEZONE}):", highlight=False)
        for f in files:
            console.print(f"  {f.name}", highlight=False)
        names = NameCache()  # nothing but the demo touches its sandbox: its names stay true
        first = await _one_pass(console, settings, credentials, files, workdir / "report.csv", names)
        render_summary(console, first)
        console.print()
        console.print("Running the same import again: the ledger knows every row.", highlight=False)
        second = await _one_pass(console, settings, credentials, files, workdir / "report-2.csv", names)
        posts = sandbox.state.requests.get(("POST", "/workspaces/{wid}/time_entries"), 0)
        console.print(
            f"Second pass: {second.requests} requests, {second.posts} entries sent, "
            f"{second.already_done} already created. The sandbox holds "
            f"{len(sandbox.state.entries)} entries from {posts} create requests.",
            highlight=False,
        )
        console.print(
            "(The second pass used the names the first one looked up; a separate run of the "
            "command looks up once more the names of rows refused for a name, in case you have "
            "since created them in Toggl.)",
            highlight=False,
        )
    console.print(f"Ledger: {settings.ledger}", highlight=False)
    console.print(f"Report: {workdir / 'report.csv'}", highlight=False)
    console.print("Refused rows come from samples/mistakes.csv, on purpose: "
                  "see their reasons above and in the report.", highlight=False)
    console.print(f"The sample files are in {Path.cwd() / 'samples'}", highlight=False)
    return 0 if first.created and not second.created and not second.requests else 1


async def _one_pass(
    console: Console,
    settings: Settings,
    credentials: Credentials,
    files: list[Path],
    report: Path,
    names: NameCache,
) -> Summary:
    with ProgressDisplay(console) as display:
        importer = Importer(settings, credentials, progress=display, names=names)
        return await importer.run(files, report=report)
