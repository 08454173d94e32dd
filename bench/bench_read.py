"""Reading and normalising a Toggl export: our chunked pipeline against ``pandas.read_csv`` alone.

    python bench/bench_read.py [--rows 100000 1000000] [--repeat 3] [--json] [--against DIR]

For each size it writes (once, under ``bench/out/``) a Toggl Detailed report export with
``make_timesheet.py``, then runs, each in a fresh subprocess so that peak memory is its own:

- ``read_csv``: ``pandas.read_csv(file, dtype=str)``, the whole file at once (the baseline);
- ``ours``: ``reader.iter_chunks`` → ``normalize`` over every 50,000-row chunk (Europe/Berlin).

It prints the median wall time of each, their ratio (target: ours ≤ 5x read_csv) and the peak RSS
(``ru_maxrss``) of each process (target: ours < 300 MiB, and flat from 100k to 1M rows).
Machines here are noisy: compare the ratio, not the absolute seconds.

``--against DIR`` also runs ``ours`` from another checkout of the package (for example the commit
before a change: ``git worktree add /tmp/base HEAD~3``), alternating the two run by run so that
the machine's mood is shared, and prints both medians and their ratio (``against``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

CHILD = r"""
import resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
import pandas as pd
from importer.normalize import NormalizeState, normalize
from importer.presets import detect
from importer.reader import iter_chunks, read_header
t0 = time.perf_counter()
rows = refused = 0
if kind == "read_csv":
    rows = len(pd.read_csv(path, dtype=str))
else:
    mapping = detect(read_header(path))
    state = NormalizeState()
    for chunk in iter_chunks(path):
        done = normalize(chunk, mapping, timezone="Europe/Berlin", state=state)
        rows += len(done)
        refused += len(done.errors)
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{elapsed} {peak} {rows} {refused}")
"""


def measure(kind: str, path: Path, code: Path = HERE.parent) -> tuple[float, float, int, int]:
    """Seconds, peak RSS (MiB), valid rows and refused rows of one run in a fresh process, of the
    package in ``code``.

    Linux carries the parent's peak RSS into ``ru_maxrss`` across fork and exec, so this process
    never imports pandas or writes the files itself.
    """
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(path), str(code)],
        check=True,
        capture_output=True,
        text=True,
        cwd=code,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]), int(out[3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="also time ours from this checkout, alternating run by run")
    args = parser.parse_args(argv)

    results = []
    for rows in args.rows:
        path = args.out / f"toggl-export-{rows}.csv"
        if not path.exists():  # in a subprocess: this one stays small (see measure)
            subprocess.run(
                [sys.executable, str(HERE / "make_timesheet.py"), str(rows), str(path)], check=True
            )
        figures: dict[str, Any] = {"rows": rows, "mib": round(path.stat().st_size / 2**20)}
        kinds = [("read_csv", HERE.parent), ("ours", HERE.parent)]
        if args.against:
            kinds.append(("against", args.against.resolve()))
        runs: dict[str, list[tuple[float, float, int, int]]] = {kind: [] for kind, _ in kinds}
        for _ in range(args.repeat):  # alternating: a noisy minute hits every kind alike
            for kind, code in kinds:
                runs[kind].append(measure("read_csv" if kind == "read_csv" else "ours", path, code))
        for kind, measured in runs.items():
            figures[f"{kind}_s"] = round(statistics.median(r[0] for r in measured), 2)
            figures[f"{kind}_peak_mib"] = round(max(r[1] for r in measured))
        figures["valid"], figures["refused"] = runs["ours"][0][2], runs["ours"][0][3]
        figures["ratio"] = round(figures["ours_s"] / figures["read_csv_s"], 2)
        if args.against:
            figures["ours_vs_against"] = round(figures["ours_s"] / figures["against_s"], 3)
            figures["against_runs_s"] = [round(r[0], 2) for r in runs["against"]]
            figures["ours_runs_s"] = [round(r[0], 2) for r in runs["ours"]]
        results.append(figures)
        if not args.json:
            print(
                f"{rows:>9,} rows ({figures['mib']} MiB): read_csv {figures['read_csv_s']:.2f} s, "
                f"{figures['read_csv_peak_mib']} MiB peak | ours {figures['ours_s']:.2f} s, "
                f"{figures['ours_peak_mib']} MiB peak | ratio {figures['ratio']:.2f}x "
                f"(valid {figures['valid']:,}, refused {figures['refused']:,})",
                flush=True,
            )
            if args.against:
                print(f"{'':>9}   against {args.against}: {figures['against_s']:.2f} s "
                      f"{figures['against_runs_s']}, ours {figures['ours_runs_s']}: ours/against "
                      f"{figures['ours_vs_against']:.3f}", flush=True)  # fmt: skip
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
