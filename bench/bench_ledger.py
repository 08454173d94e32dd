"""What the ledger costs per row: commit strategies against the real ``Ledger`` path.

    .venv/bin/python bench/bench_ledger.py [--rows 200000] [--repeat 3] [--max-seconds 5]
                                           [--check-rows 200000] [--only rows|sending|check]

Every variant writes the same rows into the ledger's own schema, in a fresh file on disk (``--dir``,
default: a temporary folder; do not point it at tmpfs, where fsync is free). Variants that commit
every row are slow: each stops after ``--max-seconds`` and reports the rate of what it wrote.
Figures are medians of ``--repeat`` runs, with ratios against the batched baseline of the same run.

Two more sections:

* **the sending batch** -- ``Ledger.mark_sending`` in batches of 16, 64 and 256 rows (with the
  previous batch's outcomes in the same transaction, as the runner does), with its durable commit
  (``ledger_file.durable``: one fsync) and its checkpoint (``ledger_file.checkpoint``) each switched
  off and on: commits/s, us per row, and the ratio against plain ``synchronous=NORMAL`` of the same
  batch size, in the same run;
* **the check at open** -- ``PRAGMA quick_check`` against the walk of every b-tree
  (``ledger_file._walk``) on a ledger of ``--check-rows`` rows (``--check-rows 1000000`` for the
  figure in ``ledger_file``'s docstring; building it takes about a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from importer import ledger as ledger_module
from importer import ledger_file
from importer.ledger import Ledger, Outcome, PendingRow, fingerprint

INSERT = (
    "INSERT INTO rows (fingerprint, file, row, state, payload, updated_at) "
    "VALUES (?, ?, ?, 'pending', ?, '2026-01-01T00:00:00Z')"
)
Rows = list[PendingRow]
Variant = Callable[[Path, Rows, float], tuple[int, float]]


def make_rows(n: int) -> Rows:
    out = []
    for i in range(n):
        body = {
            "created_with": "toggl-import",
            "workspace_id": 1234567,
            "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_767_225_600 + i * 600)),
            "duration": 900 + i % 7200,
            "description": f"Review the invoice export #{i % 977}",
            "project_id": 1000 + i % 40,
            "tags": ["billing", "acme"][: i % 3],
            "user_id": 50 + i % 30,
        }
        out.append(PendingRow(fingerprint(body), "timesheet.csv", i + 2, body))
    return out


def raw_db(path: Path, journal: str, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    for statement in ledger_file._MIGRATIONS[0]:
        conn.execute(statement)
    return conn


def per_row(journal: str, synchronous: str) -> Variant:
    def run(path: Path, rows: Rows, cap: float) -> tuple[int, float]:
        conn = raw_db(path, journal, synchronous)
        payloads = [json.dumps(r.body, separators=(",", ":")) for r in rows]
        t0 = time.perf_counter()
        done = 0
        for r, payload in zip(rows, payloads, strict=True):
            conn.execute("BEGIN")
            conn.execute(INSERT, (r.fingerprint, r.file, r.row, payload))
            conn.execute("COMMIT")
            done += 1
            if done % 100 == 0 and time.perf_counter() - t0 > cap:
                break
        elapsed = time.perf_counter() - t0
        conn.close()
        return done, elapsed

    return run


def batched(size: int) -> Variant:
    def run(path: Path, rows: Rows, cap: float) -> tuple[int, float]:
        conn = raw_db(path, "WAL", "NORMAL")
        values = [(r.fingerprint, r.file, r.row, json.dumps(r.body, separators=(",", ":"))) for r in rows]
        t0 = time.perf_counter()
        for lo in range(0, len(values), size):
            conn.execute("BEGIN")
            conn.executemany(INSERT, values[lo : lo + size])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        conn.close()
        return len(values), elapsed

    return run


def ledger_path(synchronous: str, sending_batch: int, *, resume: bool = False) -> Variant:
    """The runner's pattern: per 50k chunk ``known`` + ``add_pending``; per batch ``mark_sending``
    (which also writes the outcomes buffered since the last batch); one ``record`` per row."""

    def run(path: Path, rows: Rows, cap: float) -> tuple[int, float]:
        sync = "NORMAL" if synchronous == "NORMAL" else "FULL"
        passes = 2 if resume else 1
        t0 = time.perf_counter()
        for _ in range(passes):
            if resume:  # time only the second pass: everything known as created
                t0 = time.perf_counter()
            with Ledger.open(path, synchronous=sync) as ledger:
                run_id = ledger.start_run("bench", 1234567)
                for lo in range(0, len(rows), 50_000):
                    if time.perf_counter() - t0 > cap:
                        break
                    chunk = rows[lo : lo + 50_000]
                    known = ledger.known([r.fingerprint for r in chunk])
                    todo = [r for r in chunk if r.fingerprint not in known]
                    ledger.add_pending(todo, run_id)
                    for blo in range(0, len(todo), sending_batch):
                        batch = todo[blo : blo + sending_batch]
                        ledger.mark_sending([r.fingerprint for r in batch])
                        for r in batch:
                            ledger.record([Outcome.created(r.fingerprint, r.row)])
                        if time.perf_counter() - t0 > cap:
                            break
                ledger.finish_run(run_id, 0)
                done = ledger.counts()["created"]
        return done, time.perf_counter() - t0

    return run


CAPPED = True  # commits every row: stops after --max-seconds
VARIANTS: list[tuple[str, Variant, bool]] = [
    ("per-row commit, rollback journal (default)", per_row("DELETE", "FULL"), CAPPED),
    ("per-row commit, WAL + FULL", per_row("WAL", "FULL"), CAPPED),
    ("per-row commit, WAL + NORMAL", per_row("WAL", "NORMAL"), CAPPED),
    ("batched 1,000, WAL + NORMAL  [baseline]", batched(1000), False),
    ("Ledger NORMAL: sending x64, outcomes buffered", ledger_path("NORMAL", 64), False),
    ("Ledger FULL:   sending x64, outcomes buffered", ledger_path("FULL", 64), False),
    ("Ledger NORMAL: sending x1 (a commit per row)", ledger_path("NORMAL", 1), CAPPED),
    ("Ledger resume: all rows known, no writes", ledger_path("NORMAL", 64, resume=True), False),
]
BASELINE = 3


# -- the sending batch -----------------------------------------------------------------------------
SENDING_BATCHES = (16, 64, 256)
NEVER, EVERY = float("inf"), 0.0
POLICIES = (  # (name, durable commit, seconds between checkpoints)
    ("NORMAL  [baseline]", False, NEVER),
    ("durable (FULL for that commit)", True, NEVER),
    ("NORMAL + checkpoint every batch", False, EVERY),
    ("durable + checkpoint every batch", True, EVERY),
    (f"durable + checkpoint <= {ledger_file.CHECKPOINT_SECONDS:g} s  [shipped]", True,
     ledger_file.CHECKPOINT_SECONDS),
)  # fmt: skip


class _NoDurable:
    def __init__(self, conn: sqlite3.Connection) -> None:
        pass

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def sending(
    path: Path, rows: Rows, batch: int, policy: tuple[str, bool, float], cap: float
) -> tuple[int, float]:
    """``mark_sending`` a batch, then record its outcomes (written with the next batch)."""
    _, durable, every = policy
    saved = ledger_module.durable, ledger_file.durability.CHECKPOINT_SECONDS
    if not durable:
        ledger_module.durable = _NoDurable  # type: ignore[assignment]
    ledger_file.durability.CHECKPOINT_SECONDS = every
    try:
        with Ledger.open(path, flush_rows=10**9, flush_seconds=3600) as ledger:
            ledger.start_run("bench", 1234567)
            ledger.add_pending(rows)
            t0 = time.perf_counter()
            commits = 0
            for lo in range(0, len(rows), batch):
                part = rows[lo : lo + batch]
                ledger.mark_sending([r.fingerprint for r in part])
                ledger.record([Outcome.created(r.fingerprint, r.row) for r in part])
                commits += 1
                if time.perf_counter() - t0 > cap:
                    break
            elapsed = time.perf_counter() - t0
            ledger.flush()
        return commits, elapsed
    finally:
        ledger_module.durable, ledger_file.durability.CHECKPOINT_SECONDS = saved


def bench_sending(rows: Rows, repeat: int, cap: float, tmp: str) -> None:
    print(f"\nthe sending batch: mark_sending + the outcomes of the batch before, median of {repeat}")
    print(f"  {'rows':>5}  {'policy':<44} {'commits/s':>10} {'us/row':>8} {'vs NORMAL':>10}")
    for batch in SENDING_BATCHES:
        base = 0.0
        for policy in POLICIES:
            results = []
            for k in range(repeat):
                path = Path(tmp) / f"send-{batch}-{k}.sqlite"
                results.append(sending(path, rows[: batch * 400], batch, policy, cap))
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            per_s = statistics.median(n / s for n, s in results)
            base = base or per_s
            line = f"{per_s:>10,.0f} {1e6 / (per_s * batch):>8.1f} {per_s / base:>9.2f}x"
            print(f"  {batch:>5}  {policy[0]:<44} {line}", flush=True)


# -- the check at open -----------------------------------------------------------------------------
def bench_check(n: int, repeat: int, tmp: str) -> None:
    path = Path(tmp) / "check.sqlite"
    t0 = time.perf_counter()
    with Ledger.open(path) as ledger:
        ledger.start_run("bench", 1234567)
        for lo in range(0, n, 50_000):
            chunk = make_rows_from(lo, min(n, lo + 50_000))
            ledger.add_pending(chunk)
            ledger.mark_sending([r.fingerprint for r in chunk])
            ledger.record([Outcome.created(r.fingerprint, r.row) for r in chunk])
    built = time.perf_counter() - t0
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA cache_size = -16000")  # as Ledger.open sets it
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    print(f"\nthe check at open: {n:,} rows, {path.stat().st_size / 1e6:.0f} MB, {pages:,} pages "
          f"(built in {built:.0f} s), warm page cache, median of {repeat}")  # fmt: skip
    timings: dict[str, float] = {}
    for name, check in (("PRAGMA quick_check", lambda: conn.execute("PRAGMA quick_check").fetchall()),
                        ("walk of every b-tree (_walk)", lambda: ledger_file._walk(conn))):  # fmt: skip
        check()  # warm the cache: the check right after the run's own reads
        times = []
        for _ in range(repeat):
            t1 = time.perf_counter()
            check()
            times.append(time.perf_counter() - t1)
        timings[name] = statistics.median(times)
    base = timings["PRAGMA quick_check"]
    for name, seconds in timings.items():
        print(f"  {name:<32} {seconds * 1000:>9,.0f} ms  {seconds / base:>5.2f}x")
    print(f"  (a writer's open runs quick_check up to {ledger_file.QUICK_CHECK_MAX_PAGES:,} pages, "
          "the walk above)")  # fmt: skip
    conn.close()


def make_rows_from(lo: int, hi: int) -> Rows:
    out = []
    for i in range(lo, hi):
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_767_225_600 + i * 600))
        body = {"workspace_id": 1234567, "start": start, "duration": 900 + i % 7200,
                "description": f"Review the invoice export #{i % 977}",
                "project_id": 1000 + i % 40, "user_id": 50 + i % 30}  # fmt: skip
        out.append(PendingRow(fingerprint(body), "timesheet.csv", i + 2, body))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=5.0)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--check-rows", type=int, default=200_000)
    parser.add_argument("--only", choices=("rows", "sending", "check"), default=None)
    args = parser.parse_args()

    rows = make_rows(args.rows)
    t0 = time.perf_counter()
    for r in rows[:50_000]:
        fingerprint(r.body)  # type: ignore[arg-type]
    fp_us = (time.perf_counter() - t0) / min(len(rows), 50_000) * 1e6
    print(
        f"sqlite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, {args.rows:,} rows, "
        f"median of {args.repeat}, per-row variants capped at {args.max_seconds:g} s"
    )
    print(f"fingerprint(): {fp_us:.1f} us/row\n")

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        if args.only in (None, "rows"):
            bench_rows(args, rows, tmp)
        if args.only in (None, "sending"):
            bench_sending(rows, args.repeat, args.max_seconds, tmp)
        if args.only in (None, "check"):
            bench_check(args.check_rows, args.repeat, tmp)


def bench_rows(args: argparse.Namespace, rows: Rows, tmp: str) -> None:
    rates: list[float] = []
    for i, (name, variant, capped) in enumerate(VARIANTS):
        results = []
        size = 0
        for k in range(args.repeat):
            path = Path(tmp) / f"v{i}-{k}.sqlite"
            results.append(variant(path, rows, args.max_seconds if capped else float("inf")))
            size = path.stat().st_size
            for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        rate = statistics.median(n / s for n, s in results)
        done = statistics.median(n for n, _ in results)
        rates.append(rate)
        note = f"{done:,.0f} rows" + (f", file {size / 1e6:.0f} MB" if done == args.rows else "")
        print(f"  {name:<48} {rate:>9,.0f} rows/s {1e6 / rate:>6.1f} us/row  ({note})", flush=True)
    print(f"\nratio against '{VARIANTS[BASELINE][0].split('  ')[0]}':")
    for (name, _, _), rate in zip(VARIANTS, rates, strict=True):
        print(f"  {name:<48} {rate / rates[BASELINE]:>6.2f}x")
    if os.environ.get("BENCH_JSON"):
        names = [name for name, _, _ in VARIANTS]
        print(json.dumps({name: round(rate) for name, rate in zip(names, rates, strict=True)}))


if __name__ == "__main__":
    main()
