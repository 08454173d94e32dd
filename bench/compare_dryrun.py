"""Does a dry run here write what another checkout's does? Byte for byte, on every sample and fixture.

    .venv/bin/python bench/compare_dryrun.py --against /work/main [FILE ...]

Starts the bundled sandbox (the default seed) once and runs ``toggl-import run FILE --dry-run
--report R --emit-payloads P --json`` from both checkouts, per file, with and without
``--create-missing``: the report CSV, the payloads file, the exit code and the JSON summary
(less the ledger's path) must be equal. Prints one line per difference and exits 1 if there is any.
Meant for a change that should not change output (speed work, moving code between modules).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_dryrun import SandboxProcess  # noqa: E402

FILES = sorted(
    p for p in [*(ROOT / "samples").iterdir(), *(ROOT / "tests" / "data").iterdir()]
    if p.suffix in {".csv", ".tsv", ".xlsx", ".xls", ".ods"}
)  # fmt: skip
VARIANTS = ([], ["--create-missing"])


def outputs(code: Path, path: Path, extra: list[str], base_url: str, out: Path) -> dict[str, bytes]:
    """What a dry run of ``code`` writes for ``path``: report, payloads, exit code, summary."""
    out.mkdir(parents=True, exist_ok=True)
    report, payloads = out / "report.csv", out / "payloads.jsonl"
    cmd = [sys.executable, "-m", "importer", "run", str(path), "--dry-run", "--timezone",
           "Europe/Berlin", "--api-url", base_url, "--ledger", str(out / "ledger.sqlite"),
           "--report", str(report), "--emit-payloads", str(payloads), "--json", "--rate", "1000",
           *extra]  # fmt: skip
    env = {**os.environ, "TOGGL_API_TOKEN": "sandbox-token", "PYTHONPATH": str(code)}
    done = subprocess.run(cmd, capture_output=True, env=env, cwd=code)
    got = {"rc": str(done.returncode).encode(), "stderr": done.stderr.replace(str(out).encode(), b"OUT")}
    lines = done.stdout.strip().splitlines()
    if lines and lines[-1].startswith(b"{"):
        summary = json.loads(lines[-1])
        for volatile in ("ledger", "no_ledger", "report", "remaining_seconds", "elapsed"):
            summary.pop(volatile, None)
        got["summary"] = json.dumps(summary, sort_keys=True).encode()
    for name, file in (("report", report), ("payloads", payloads)):
        got[name] = file.read_bytes() if file.exists() else b"(none)"
    return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, metavar="DIR")
    parser.add_argument("files", type=Path, nargs="*", default=FILES)
    args = parser.parse_args(argv)
    seed = ROOT / "importer" / "data" / "seed.json"
    differences = compared = 0
    with tempfile.TemporaryDirectory(prefix="compare-dryrun-") as tmp:
        sandbox = SandboxProcess(seed, quota=100_000)
        try:
            for path in args.files:
                for extra in VARIANTS:
                    label = " ".join([path.name, *extra])
                    ours = outputs(ROOT, path.resolve(), extra, sandbox.base_url, Path(tmp, "ours"))
                    theirs = outputs(args.against.resolve(), path.resolve(), extra,
                                     sandbox.base_url, Path(tmp, "theirs"))  # fmt: skip
                    compared += 1
                    for name in sorted(ours.keys() | theirs.keys()):
                        if ours.get(name) != theirs.get(name):
                            differences += 1
                            print(f"DIFFERENT {label}: {name}\n  ours:   {ours.get(name)!r:.300}"
                                  f"\n  theirs: {theirs.get(name)!r:.300}", flush=True)  # fmt: skip
                    print(f"{label}: rc {ours['rc'].decode()}, report {len(ours['report'])} "
                          f"bytes, payloads {len(ours['payloads'])} bytes", flush=True)  # fmt: skip
        finally:
            sandbox.stop()
    print(f"{compared} dry runs compared with {args.against}: {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
