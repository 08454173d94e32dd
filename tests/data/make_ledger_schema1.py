"""Write ``ledger_schema1.sqlite``: a ledger exactly as the schema-1 code (commit 8340006) wrote it.

    .venv/bin/python tests/data/make_ledger_schema1.py

It must be run with the **schema-1 code** (it checks ``SCHEMA_VERSION == 1`` and refuses to run
otherwise): the file stands for the ledgers users already have, so a later version's tests open a
copy of it and check that the upgrade keeps every row. Never regenerate it with newer code.

Two runs, and rows in every state a ledger of that version can hold: created (with entry ids),
failed, refused, duplicate, pending (never sent, and sent back to pending), sending (a run killed
while its request was on the wire) and in_doubt. ``EXPECTED`` is what ``status --json`` counts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NamedTuple

from importer import ledger
from importer.ledger import Ledger, Outcome, fingerprint

HERE = Path(__file__).resolve().parent
OUT = HERE / "ledger_schema1.sqlite"
EXPECTED = {"created": 4, "failed": 1, "in_doubt": 2, "duplicate": 1, "pending": 2, "refused": 1}
"""``counts()`` of the file (``in_doubt`` counts the ``sending`` row too)."""


class Row(NamedTuple):
    fingerprint: str
    file: str
    row: int
    body: dict[str, Any]
    source: str


def entry(n: int, file: str) -> Row:
    body = {
        "created_with": "toggl-import",
        "workspace_id": 1234567,
        "start": f"2026-03-{n + 1:02d}T08:00:00Z",
        "duration": 1800 + 60 * n,
        "description": f"{file} entry {n}",
        "project_id": 201000003,
        "tags": ["fixture"],
    }
    return Row(fingerprint(body), file, n + 2, body, f"source-{file}-{n}")


def main() -> None:
    if ledger.SCHEMA_VERSION != 1:
        sys.exit(f"run this with the schema-1 code (commit 8340006), not schema {ledger.SCHEMA_VERSION}")
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{OUT}{suffix}").unlink(missing_ok=True)

    week1 = [entry(n, "week1.csv") for n in range(6)]
    week2 = [entry(n, "week2.csv") for n in range(3)]
    with Ledger.open(OUT) as book:
        run1 = book.start_run("week1.csv", 1234567, files=["week1.csv"])
        book.add_pending(week1, run1)
        book.mark_sending([r.fingerprint for r in week1[:5]])
        book.record(
            [
                Outcome.created(week1[0].fingerprint, 9001),
                Outcome.created(week1[1].fingerprint, 9002, http_status=200),
                Outcome.failed(week1[2].fingerprint, 400, "project 201000003 is archived"),
                Outcome.in_doubt(week1[3].fingerprint, "no answer within 30 s"),
                # week1[4] stays ``sending``: the run was killed with its request on the wire
            ]
        )  # week1[5] stays ``pending``: never sent
        book.record_refused("week1.csv", 9, "Start", "'25:00' is not a time of day", run1)
        book.record_duplicate("week1.csv", 10, week1[0].fingerprint, run1,
                              message="same entry as row 2 of week1.csv")  # fmt: skip
        book.finish_run(run1, 3)

        run2 = book.start_run("week2.csv", 1234567, files=["week2.csv"])
        book.add_pending(week2, run2)
        book.mark_sending([r.fingerprint for r in week2])
        book.record(
            [
                Outcome.created(week2[0].fingerprint, 9101),
                Outcome.created(week2[1].fingerprint, 9102),
                Outcome.pending(week2[2].fingerprint, "connection refused"),
            ]
        )
        book.finish_run(run2, 3)
        counts = book.counts()
    Path(f"{OUT}.lock").unlink(missing_ok=True)  # the schema-1 code's lock file: not part of a ledger
    found = {k: counts[k] for k in EXPECTED}
    if found != EXPECTED:
        sys.exit(f"unexpected counts {found}")
    print(f"wrote {OUT.relative_to(HERE.parents[1])} ({OUT.stat().st_size} bytes): {found}")


if __name__ == "__main__":
    main()
