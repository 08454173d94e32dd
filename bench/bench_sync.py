"""A nightly sync of a 10,000-row source with 1 % of its rows changed: how many writes and reads
it makes, and how long planning it takes next to planning a plain import of the same file.

    .venv/bin/python bench/bench_sync.py [--rows 10000] [--changed 0.01] [--repeat 3]

1. Import the source (``--key ID --source nightly``), then change 1 % of its rows and sync
   (``--mirror``): the requests the sandbox received, by kind. Target: writes <= 1.01 x changes,
   plus a few windowed reads.
2. Planning, alternately ``--repeat`` times, in this process against a sandbox in a process of
   its own (so that its answering is not counted as our planning), after the same import: a dry
   run of the sync (``--key --mirror``: keys looked up, the window's entries read from the ledger,
   one read of changes in Toggl) next to a dry run of a plain import of the same file (content
   keys only). Target: sync <= 2 x plain.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from importer.config import Credentials, Settings  # noqa: E402
from importer.runner import Importer  # noqa: E402
from importer.sandbox import Sandbox  # noqa: E402

WID = 1234567
HEADER = ["ID", "Date", "Start", "End", "Description", "Project"]
DAY0 = datetime.now(UTC).date() - timedelta(days=80)


def write(path: Path, n: int, changed: set[int]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(n):
            day, slot = divmod(i, 40)
            h, m = divmod(8 * 60 + 10 * slot, 60)
            text = f"worklog {i}" + (" (edited)" if i in changed else "")
            out.writerow([f"W-{i}", (DAY0 + timedelta(days=day % 75)).isoformat(), f"{h:02d}:{m:02d}",
                          f"{h:02d}:{m + 7:02d}", text, "Internal"])  # fmt: skip


def settings(sb: Any, ledger: Path, **changes: Any) -> Settings:
    return Settings(api_url=sb.base_url, workspace_id=WID, timezone="UTC", ledger=ledger, rate=100000.0,
                    concurrency=32, timeout=10.0, **changes)  # fmt: skip


async def planning(work: Path, source: Path, synced: Path, keyed: dict[str, Any], repeat: int,
                   changed: int) -> dict[str, list[float]]:  # fmt: skip
    """Dry runs of both kinds, alternately, against a sandbox in a process of its own: the time
    is the client's planning, not the server's answering (the ``since`` read returns every entry
    written since the import: 10,000 to serialise, in the server)."""
    from bench_run import SandboxProcess

    server = SandboxProcess()
    try:
        ledger = work / "planning.sqlite"
        token = Credentials.from_token(server.token)
        await Importer(settings(server, ledger, **keyed), token).run([source])
        saved = work / "planning-after-import.sqlite"
        shutil.copyfile(ledger, saved)
        timings: dict[str, list[float]] = {"plain": [], "sync": []}
        for _ in range(repeat):
            for name, extra in (("plain", {}), ("sync", {**keyed, "mirror": True})):
                shutil.copyfile(saved, ledger)
                t0 = time.perf_counter()
                plan = await Importer(settings(server, ledger, **extra), token).run([synced], dry_run=True)
                timings[name].append(time.perf_counter() - t0)
                if name == "sync":
                    assert (plan.to_update, plan.to_delete, plan.to_post) == (changed, 0, 0), plan
        return timings
    finally:
        server.stop()


async def main(rows: int, share: float, repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        source, synced = work / "night1.csv", work / "night2.csv"
        changed = set(range(0, rows, max(1, round(1 / share))))
        write(source, rows, set())
        write(synced, rows, changed)
        ledger = work / "ledger.sqlite"
        keyed = {"key_column": "ID", "source": "nightly"}
        async with Sandbox() as sb:
            token = Credentials.from_token(sb.token)
            first = await Importer(settings(sb, ledger, **keyed), token).run([source])
            print(f"1. imported {first.created} rows in {first.elapsed:.1f} s")
            saved = work / "after-import.sqlite"
            shutil.copyfile(ledger, saved)

            timings = await planning(work, source, synced, keyed, repeat, len(changed))

            shutil.copyfile(saved, ledger)
            sb.state.clear_counters()
            done = await Importer(settings(sb, ledger, **keyed, mirror=True), token).run([synced])
            counts = sb.state.requests
            writes = {
                m: sum(n for (method, _), n in counts.items() if method == m) for m in ("PUT", "DELETE")
            }
            posts = counts.get(("POST", "/workspaces/{wid}/time_entries"), 0)
            reads = {f"{m} {r}": n for (m, r), n in counts.items() if m == "GET" or "search" in r}
            total = posts + writes["PUT"] + writes["DELETE"]
            what = f"{done.updated} updated, {done.created} created, {done.deleted} deleted"
            print(f"   sync of {rows} rows with {len(changed)} changed: {what}")
            print(f"   writes: {posts} POST, {writes['PUT']} PUT, {writes['DELETE']} DELETE = {total} "
                  f"({total / len(changed):.3f} x the changes; target <= 1.01)")  # fmt: skip
            print(f"   reads: {reads}")
        plain, sync = statistics.median(timings["plain"]), statistics.median(timings["sync"])
        print(
            f"2. planning (a dry run), median of {repeat}: plain import {plain:.2f} s "
            f"({', '.join(f'{t:.2f}' for t in timings['plain'])}), sync {sync:.2f} s "
            f"({', '.join(f'{t:.2f}' for t in timings['sync'])}): {sync / plain:.2f} x (target <= 2)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.changed, args.repeat))
