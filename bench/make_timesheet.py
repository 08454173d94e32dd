"""Write an N-row timesheet shaped like a Toggl Track Detailed report export (CSV, UTF-8 BOM).

    python bench/make_timesheet.py 1000000 bench/out/toggl-1m.csv [--seed 7]

Values are realistic: a few dozen people, clients, projects and tasks; descriptions with commas and
quotes; start times anywhere in 2026 (local time, no offset, as Toggl exports them); entries from
5 minutes to 4 hours, some passing midnight; tags comma-separated inside one cell; Yes/No billable.
Written in blocks, so memory stays flat whatever N is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HEADER = [
    "User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date",
    "Start time", "End date", "End time", "Duration", "Tags", "Amount (USD)",
]  # fmt: skip
FIRST = ["Ada", "Bruno", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Inès", "Jonas"]
LAST = ["Lovelace", "Keller", "Martin", "Ivanov", "Moreau", "Haddad", "Hopper", "Tanaka"]
CLIENTS = ["Acme Corp", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises"]
PROJECTS = ["Website", "Mobile app", "Support", "Migration", "Research", "Onboarding", "Audit"]
TASKS = ["", "", "Design", "Development", "Review", "Meetings", "Testing"]
VERBS = ["Fix", "Review", "Write", "Plan", "Discuss", "Deploy", "Refactor", "Test", "Document"]
THINGS = ["login page", "invoice export", "API client", "release notes", 'the "big" report',
          "sprint board, backlog", "database indexes", "customer call", "onboarding flow"]  # fmt: skip
TAGS = ["", "", "", "meeting", "deep work", "meeting, remote", "urgent", "billable, remote"]
BLOCK = 100_000
YEAR_START = np.datetime64("2026-01-01T00:00:00", "s")


def _email(first: str, last: str) -> str:
    plain = f"{first}.{last}".lower().translate(str.maketrans("éèê", "eee"))
    return f"{plain}@example.com"


def _hms(seconds: np.ndarray) -> np.ndarray:
    h, rest = np.divmod(seconds, 3600)
    m, s = np.divmod(rest, 60)
    return np.char.add(
        np.char.add(np.char.zfill(h.astype(str), 2), ":"),
        np.char.add(np.char.add(np.char.zfill(m.astype(str), 2), ":"), np.char.zfill(s.astype(str), 2)),
    )


def block(rng: np.random.Generator, n: int) -> pd.DataFrame:
    people = [(f"{f} {ln}", _email(f, ln)) for f in FIRST for ln in LAST]
    who = rng.integers(0, len(people), n)
    start = YEAR_START + rng.integers(0, 364 * 86400, n).astype("timedelta64[s]")
    duration = rng.integers(5 * 60, 4 * 3600, n)
    end = start + duration.astype("timedelta64[s]")
    start_text = np.datetime_as_string(start, unit="s")
    end_text = np.datetime_as_string(end, unit="s")
    billable = rng.random(n) < 0.6
    amount = np.where(billable, np.round(duration / 3600 * 85.0, 2), 0.0)
    descriptions = np.char.add(
        np.char.add(np.array(VERBS)[rng.integers(0, len(VERBS), n)], " "),
        np.array(THINGS)[rng.integers(0, len(THINGS), n)],
    )
    return pd.DataFrame(
        {
            "User": np.array([p[0] for p in people])[who],
            "Email": np.array([p[1] for p in people])[who],
            "Client": np.array(CLIENTS)[rng.integers(0, len(CLIENTS), n)],
            "Project": np.array(PROJECTS)[rng.integers(0, len(PROJECTS), n)],
            "Task": np.array(TASKS)[rng.integers(0, len(TASKS), n)],
            "Description": descriptions,
            "Billable": np.where(billable, "Yes", "No"),
            "Start date": np.char.ljust(start_text, 10).astype("U10"),
            "Start time": np.array([t[11:] for t in start_text.tolist()]),
            "End date": end_text.astype("U10"),
            "End time": np.array([t[11:] for t in end_text.tolist()]),
            "Duration": _hms(duration),
            "Tags": np.array(TAGS)[rng.integers(0, len(TAGS), n)],
            "Amount (USD)": np.char.mod("%.2f", amount),
        },
        columns=HEADER,
    )


def write(path: Path, rows: int, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        fh.write(",".join(HEADER) + "\r\n")
        done = 0
        while done < rows:
            n = min(BLOCK, rows - done)
            block(rng, n).to_csv(fh, header=False, index=False, lineterminator="\r\n")
            done += n
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("path", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    write(args.path, args.rows, args.seed)
    print(f"wrote {args.rows:,} rows to {args.path} ({args.path.stat().st_size / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
