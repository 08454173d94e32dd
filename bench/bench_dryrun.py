"""``toggl-import run FILE --dry-run``, the whole process, against ``pandas.read_csv`` in a fresh one.

    .venv/bin/python bench/bench_dryrun.py [--rows 100000 1000000] [--repeat 3] [--rate 1000]
                                           [--against DIR ...]

For each size it writes (once, under ``bench/out/``) a Toggl Detailed report export with
``make_timesheet.py`` and starts ``toggl-import sandbox`` in its own process, seeded with the
bundled workspace *plus* every person, client, project and task the generator uses, so that every
row resolves (the default seed alone would refuse nearly all of them and measure the wrong path).
Then, ``--repeat`` times, **alternating** (a noisy minute of this shared machine hits every kind
alike), each in a fresh process:

- ``read_csv``: ``python -c "import pandas; pandas.read_csv(FILE, dtype=str)"``, the whole file
  at once (the baseline);
- ``ours``: ``python -m importer run FILE --dry-run --timezone Europe/Berlin --json`` against the
  sandbox, from this checkout, once per ``--rate`` (the default 1000 requests/s: at Toggl's 1/s
  the handful of GETs that resolve names cost ~6 s of waiting whatever the size);
- each ``--against DIR``: the same dry run from another checkout (e.g. ``/work/main``, or the
  commit before a change: ``git worktree add /tmp/base HEAD~3``), with this checkout's sandbox.

Wall time is the whole process (interpreter start and imports included, for every kind); peak
memory is ``ru_maxrss`` of the process, read as ``RUSAGE_CHILDREN`` by a small wrapper that never
loads pandas (Linux carries a parent's peak RSS into a child across fork and exec). Each dry run's
ratio is taken to the ``read_csv`` run next to it; printed: the median ratio and its range, the
peak of each kind, the CPU seconds (user + system: less shaken by the other helpers' load than
the wall time), and ``ours / against`` (median and range) per checkout. Targets: ratio <= 3 at
1M rows, peak <= 200 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKSPACE_ID = 1234567

WRAPPER = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
elapsed = time.perf_counter() - t0
used = resource.getrusage(resource.RUSAGE_CHILDREN)
peak, cpu = used.ru_maxrss / 1024, used.ru_utime + used.ru_stime
print(json.dumps({"s": elapsed, "cpu_s": cpu, "peak_mib": peak, "rc": proc.returncode,
                  "stdout": proc.stdout[-4000:], "stderr": proc.stderr[-4000:]}))
"""

READ_CSV = r"""
import sys, time
t0 = time.perf_counter()
import pandas as pd
t1 = time.perf_counter()
n = len(pd.read_csv(sys.argv[1], dtype=str))
print(n, time.perf_counter() - t1, t1 - t0)
"""


def measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> dict[str, Any]:
    """Run ``cmd`` under the small wrapper: wall seconds, peak RSS (MiB), exit code, output."""
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, check=True,
        env=env, cwd=cwd,
    )
    return json.loads(out.stdout)


def bench_seed(path: Path) -> Path:
    """The bundled seed plus every name ``make_timesheet`` writes (people, clients, projects, tasks)."""
    sys.path.insert(0, str(HERE))
    import make_timesheet as mk

    seed = json.loads((ROOT / "importer" / "data" / "seed.json").read_text(encoding="utf-8"))
    wid = WORKSPACE_ID
    next_id = iter(range(900_000_001, 999_999_999))
    known_emails = {u["email"] for u in seed["users"]}
    for first in mk.FIRST:
        for last in mk.LAST:
            email = mk._email(first, last)
            if email in known_emails:
                continue
            uid = next(next_id)
            seed["users"].append({"id": uid, "email": email, "fullname": f"{first} {last}",
                                  "password": "x", "default_workspace_id": wid, "timezone": "UTC"})
            seed["workspace_users"].append({"id": next(next_id), "uid": uid, "wid": wid,
                                            "admin": False, "active": True})
    clients = {c["name"]: c["id"] for c in seed["clients"] if c["wid"] == wid}
    for name in mk.CLIENTS:
        if name not in clients:
            clients[name] = next(next_id)
            seed["clients"].append({"id": clients[name], "wid": wid, "name": name})
    projects = {(p["cid"], p["name"].casefold()): p["id"] for p in seed["projects"] if p["wid"] == wid}
    for client in mk.CLIENTS:
        for name in mk.PROJECTS:
            key = (clients[client], name.casefold())
            if key not in projects:
                projects[key] = next(next_id)
                seed["projects"].append({"id": projects[key], "wid": wid, "cid": clients[client],
                                         "name": name, "active": True, "billable": True})
    tasks = {(t["pid"], t["name"]) for t in seed["tasks"]}
    for pid in projects.values():
        for name in filter(None, dict.fromkeys(mk.TASKS)):
            if (pid, name) not in tasks:
                seed["tasks"].append({"id": next(next_id), "wid": wid, "pid": pid, "name": name,
                                      "active": True})
    path.write_text(json.dumps(seed), encoding="utf-8")
    return path


class SandboxProcess:
    """``toggl-import sandbox`` in its own process (its CPU and memory are not the importer's)."""

    def __init__(self, seed: Path, quota: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "importer", "sandbox", "--port", "0", "--seed", str(seed),
             "--quota", str(quota)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "serving at" not in line:
            self.stop()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.base_url = line.split("serving at", 1)[1].strip()
        self.root_url = self.base_url.removesuffix("/api/v9")

    def stats(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(self.root_url + "/_sandbox/stats") as answer:  # loopback only
            return json.loads(answer.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def dry_run(path: Path, sandbox: SandboxProcess, rate: float, workdir: Path,
            code: Path = ROOT) -> dict[str, Any]:
    """The whole dry-run process of the package in ``code``, measured from outside."""
    ledger = workdir / f"bench-{abs(hash(str(code)))}.ledger.sqlite"
    cmd = [sys.executable, "-m", "importer", "run", str(path), "--dry-run",
           "--timezone", "Europe/Berlin", "--api-url", sandbox.base_url,
           "--workspace-id", str(WORKSPACE_ID), "--ledger", str(ledger), "--json"]  # fmt: skip
    if rate != 1:
        cmd += ["--rate", f"{rate:g}"]
    env = {**os.environ, "TOGGL_API_TOKEN": "sandbox-token", "PYTHONPATH": str(code)}
    got = measured(cmd, env=env, cwd=code)
    if got["rc"] not in (0, 1):
        raise RuntimeError(f"dry run of {code} failed ({got['rc']}): {got['stderr']}")
    got["summary"] = json.loads(got["stdout"].strip().splitlines()[-1])
    got["cmd"] = f"(cd {code} && toggl-import {' '.join(cmd[3:])})"
    return got


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def bench_size(path: Path, rows: int, sandbox: SandboxProcess, args: argparse.Namespace,
               workdir: Path) -> dict[str, Any]:  # fmt: skip
    """One size: ``--repeat`` rounds of read_csv, ours and each ``--against``, alternating."""
    codes = {"ours": ROOT, **{f"against {d}": d.resolve() for d in args.against}}
    base: list[dict[str, Any]] = []
    runs: dict[tuple[str, float], list[dict[str, Any]]] = {(k, r): [] for k in codes for r in args.rate}
    order = list(codes.items())
    for turn in range(args.repeat):
        base.append(measured([sys.executable, "-c", READ_CSV, str(path)]))
        for rate in args.rate:  # the checkouts take turns at going first
            for kind, code in order[turn % len(order) :] + order[: turn % len(order)]:
                runs[kind, rate].append(dry_run(path, sandbox, rate, workdir, code))
    fig: dict[str, Any] = {"rows": rows, "mib": round(path.stat().st_size / 2**20)}
    fig["read_csv_s"] = _spread([r["s"] for r in base])
    fig["read_csv_peak_mib"] = max(r["peak_mib"] for r in base)
    fig["read_csv_cpu_s"] = _spread([r["cpu_s"] for r in base])
    for (kind, rate), got in runs.items():
        s = got[0]["summary"]
        fig[f"{kind} --rate {rate:g}"] = {
            "s": _spread([r["s"] for r in got]),
            "ratio": _spread([r["s"] / b["s"] for r, b in zip(got, base, strict=True)]),
            "peak_mib": max(r["peak_mib"] for r in got),
            "cpu_s": _spread([r["cpu_s"] for r in got]),
            "vs_ours": _spread([r["s"] / o["s"] for r, o in zip(runs["ours", rate], got, strict=True)]),
            "runs_s": [round(r["s"], 2) for r in got],
            "to_post": s["to_post"], "refused": s["refused"], "duplicate": s["duplicate"],
            "requests_per_run": s["requests"], "cmd": got[0]["cmd"],
        }  # fmt: skip
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rate", type=float, nargs="+", default=[1000.0],
                        help="--rate values to run the dry run with (default: 1000)")
    parser.add_argument("--against", type=Path, nargs="+", default=[], metavar="DIR",
                        help="also run the dry run of these checkouts, alternating run by run")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-dryrun-") as tmp:
        workdir = Path(tmp)
        sandbox = SandboxProcess(bench_seed(workdir / "seed.json"), quota=10_000)
        try:
            for rows in args.rows:
                path = args.out / f"toggl-export-{rows}.csv"
                if not path.exists():
                    subprocess.run([sys.executable, str(HERE / "make_timesheet.py"), str(rows),
                                    str(path)], check=True)  # fmt: skip
                fig = bench_size(path, rows, sandbox, args, workdir)
                results.append(fig)
                if not args.json:
                    _print(fig)
        finally:
            sandbox.stop()
    if args.json:
        print(json.dumps(results))
    return 0


def _range(d: dict[str, float], fmt: str) -> str:
    return f"{d['median']:{fmt}} ({d['min']:{fmt}}-{d['max']:{fmt}})"


def _print(fig: dict[str, Any]) -> None:
    print(f"{fig['rows']:>9,} rows ({fig['mib']} MiB): read_csv {_range(fig['read_csv_s'], '.2f')} s, "
          f"{fig['read_csv_peak_mib']:.0f} MiB peak, CPU {_range(fig['read_csv_cpu_s'], '.2f')} s",
          flush=True)  # fmt: skip
    for kind, d in fig.items():
        if not isinstance(d, dict) or "ratio" not in d:
            continue
        mark = "ratio <= 3 and peak <= 200 MiB: " + (
            "met" if d["ratio"]["median"] <= 3 and d["peak_mib"] <= 200 else "NOT met")
        print(f"    {kind}: {_range(d['s'], '.2f')} s, ratio {_range(d['ratio'], '.2f')}x, "
              f"{d['peak_mib']:.0f} MiB peak, CPU {_range(d['cpu_s'], '.2f')} s | would post "
              f"{d['to_post']:,}, refused {d['refused']:,}, {d['requests_per_run']} requests | "
              f"{mark}", flush=True)  # fmt: skip
        if not kind.startswith("ours"):
            print(f"      ours / this: {_range(d['vs_ours'], '.3f')}", flush=True)
        print(f"      runs (s): {d['runs_s']}", flush=True)
        print(f"      $ {d['cmd']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
