"""The whole ``toggl-import run`` against the sandbox, next to a bare aiohttp loop; rate accuracy.

The sandbox runs as its own process (``toggl-import sandbox``), so that it shares no event loop
with either client (on 2 cores the three processes still compete for CPU: compare ratios of runs
measured alternately in the same session, not absolute figures across sessions).

1. Throughput, no limits, no faults, N rows (default 5,000), alternately, ``--repeat`` times:
   * ``toggl-import run`` as a subprocess (ledger on, report off, ``--rate`` out of the way,
     ``--concurrency C``): entries/s over the process's wall time (start-up and imports included)
     and over the run itself (``elapsed`` of ``--json``: from reading the file to the summary);
   * a bare loop in a subprocess: one ``aiohttp.ClientSession``, C workers posting the same
     precomputed bodies (``--emit-payloads`` of a dry run), nothing else; entries/s over its
     posting time. The ratio importer/bare is the figure to watch (target >= 0.60).
2. Rate accuracy: the sandbox meters ``--rate-limit R`` (a strict leaky bucket of one) and the
   importer runs in this process with ``--rate R`` on 10 R rows: achieved POSTs/s (first to last
   answer) / R (target >= 0.97) and the 429s the sandbox answered, for the limiter as shipped and
   for smaller headrooms, with and without ``gc.freeze()`` after start-up.
3. With ``--profile``: one importer run under pyinstrument (``pip install pyinstrument``, for the
   bench only), the text report written to ``bench/out/profile-run.txt``.

    .venv/bin/python bench/bench_run.py                       # --rows 5000 --repeat 3 --concurrency 8
    .venv/bin/python bench/bench_run.py --rate-only --rate 50
    .venv/bin/python bench/bench_run.py --profile
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WID = 1234567
OUT = ROOT / "bench" / "out"
PROJECTS = (("", ""), ("Support", "Acme Corp"), ("Internal", ""), ("Mobile App", "Initech"),
            ("Website", "Acme Corp"))
TAGS = ("", "meeting", "remote, urgent")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_")}
PIN = {"server": None, "client": None}
"""CPU of the sandbox and of the clients (``--pin``): one core each, so they never share one."""


def pinned(role: str) -> Any:
    cpu = PIN[role]
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def write_sheet(path: Path, n: int) -> None:
    """N distinct rows in the generic layout, 48 ten-minute entries a day."""
    start = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=60)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Date", "Start", "End", "Description", "Project", "Client", "Tags"])
        for i in range(n):
            day, slot = divmod(i, 48)
            begin = start + timedelta(days=day, minutes=10 * slot)
            end = begin + timedelta(minutes=7 + i % 3)
            project, client = PROJECTS[i % len(PROJECTS)]
            out.writerow([begin.date().isoformat(), begin.strftime("%H:%M:%S"),
                          end.strftime("%H:%M:%S"), f"bench row {i:06d}", project, client,
                          TAGS[i % len(TAGS)]])


# -- the sandbox process -------------------------------------------------------------------------


class SandboxProcess:
    def __init__(self, *options: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "importer", "sandbox", "--port", "0", *options],
            stdout=subprocess.PIPE, text=True, env=ENV, preexec_fn=pinned("server"),
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.base_url = self.token = ""
        for _ in range(20):
            line = self.proc.stdout.readline()
            if line.startswith("sandbox serving at "):
                self.base_url = line.split()[-1]
            elif line.startswith("token: "):
                self.token = line.split()[-1]
            if self.base_url and self.token:
                break
        if not (self.base_url and self.token):
            self.stop()
            raise RuntimeError("the sandbox did not start")
        self.admin = self.base_url.removesuffix("/api/v9") + "/_sandbox"

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.admin + path, data=data, method="GET" if data is None else "POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        self.call("/reset", {})

    def stats(self) -> dict[str, Any]:
        return dict(self.call("/stats"))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def workdir(prefix: str) -> Any:
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


@contextmanager
def sandbox(*options: str) -> Any:
    sb = SandboxProcess(*options)
    try:
        yield sb
    finally:
        sb.stop()


# -- 1. throughput -------------------------------------------------------------------------------


def run_child(args: list[str], token: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run a client process: (result, wall seconds, CPU seconds (user + system) it used)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env={**ENV, "TOGGL_API_TOKEN": token},
                          check=False, preexec_fn=pinned("client"))  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, wall, cpu


def run_args(sb: SandboxProcess, sheet: Path, ledger: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "importer", "run", str(sheet), "--api-url", sb.base_url,
            "--workspace-id", str(WID), "--ledger", str(ledger), "--timezone", "UTC", *extra]


def emit_payloads(sb: SandboxProcess, sheet: Path, work: Path) -> Path:
    out = work / "payloads.jsonl"
    args = run_args(sb, sheet, work / "dry.sqlite", "--dry-run", "--emit-payloads", str(out))
    done = subprocess.run(args, capture_output=True, text=True, env={**ENV, "TOGGL_API_TOKEN": sb.token},
                          check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"dry run failed ({done.returncode}): {done.stderr}")
    return out


def importer_once(
    sb: SandboxProcess, sheet: Path, work: Path, n: int, concurrency: int
) -> tuple[float, float, float]:
    """(wall seconds of the process, seconds of the run itself, CPU seconds of the process)."""
    ledger = work / f"ledger-{time.monotonic_ns()}.sqlite"
    args = run_args(sb, sheet, ledger, "--rate", "1000000", "--concurrency", str(concurrency), "--json")
    done, wall, cpu = run_child(args, sb.token)
    if done.returncode != 0:
        raise RuntimeError(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    if summary["created"] != n:
        raise RuntimeError(f"created {summary['created']} of {n}")
    return wall, float(summary["elapsed"]), cpu


def bare_once(
    sb: SandboxProcess, payloads: Path, n: int, concurrency: int
) -> tuple[float, float, float]:
    """(wall seconds of the process, seconds of posting, CPU seconds spent posting)."""
    args = [sys.executable, __file__, "--bare-loop", sb.base_url, str(payloads), str(concurrency)]
    done, wall, _ = run_child(args, sb.token)
    if done.returncode != 0:
        raise RuntimeError(f"bare loop failed: {done.stderr[-2000:]}")
    sent, seconds, cpu = done.stdout.split()
    if int(sent) != n:
        raise RuntimeError(f"bare loop posted {sent} of {n}")
    return wall, float(seconds), float(cpu)


def load_bodies(payloads: Path) -> list[bytes]:
    return [
        json.dumps(json.loads(line)["payload"], separators=(",", ":")).encode()
        for line in payloads.read_text(encoding="utf-8").splitlines()
    ]


async def bare_loop(
    base_url: str, bodies: list[bytes], concurrency: int
) -> tuple[int, float, float]:
    """One session, ``concurrency`` workers, precomputed bodies: POST and read the answer."""
    import aiohttp

    token = os.environ["TOGGL_API_TOKEN"]
    headers = {"Authorization": aiohttp.encode_basic_auth(token, "api_token"),
               "Content-Type": "application/json", "Accept": "application/json"}  # fmt: skip
    url = f"{base_url}/workspaces/{WID}/time_entries"
    todo = iter(bodies)
    sent = 0
    started = time.perf_counter()
    cpu = time.process_time()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            nonlocal sent
            for body in todo:
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"answer {resp.status}")
                sent += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent, time.perf_counter() - started, time.process_time() - cpu


def throughput(rows: int, repeat: int, concurrency: int) -> None:
    with workdir("bench-run-") as work, sandbox() as sb:
        sheet = work / "sheet.csv"
        write_sheet(sheet, rows)
        payloads = emit_payloads(sb, sheet, work)
        print(f"1. {rows} rows, concurrency {concurrency}, sandbox in its own process "
              f"({os.cpu_count()} cores, pinned: {PIN}), alternating, {repeat} repetitions")
        figures: dict[str, list[float]] = {k: [] for k in (
            "imp_wall", "imp_run", "bare_wall", "bare_post", "pair", "pair_run", "imp_cpu", "bare_cpu",
            "startup", "ceiling")}
        for rep in range(repeat):
            sb.reset()
            wall, run, cpu = importer_once(sb, sheet, work, rows, concurrency)
            assert sb.stats()["entries"] == rows
            sb.reset()
            bwall, post, bcpu = bare_once(sb, payloads, rows, concurrency)
            assert sb.stats()["entries"] == rows
            startup = startup_once()
            figures["startup"].append(startup)
            figures["ceiling"].append(post / (post + startup))
            for key, value in (("imp_wall", rows / wall), ("imp_run", rows / run),
                               ("bare_wall", rows / bwall), ("bare_post", rows / post),
                               ("pair", post / wall), ("pair_run", post / run),
                               ("imp_cpu", cpu / rows * 1e6), ("bare_cpu", bcpu / rows * 1e6)):
                figures[key].append(value)
            print(f"   rep {rep + 1}: importer {rows / wall:5.0f}/s whole process "
                  f"({cpu / rows * 1e6:3.0f} us "
                  f"CPU/entry), {rows / run:5.0f}/s the run; bare loop {rows / post:5.0f}/s posting "
                  f"({bcpu / rows * 1e6:3.0f} us CPU/entry)")
    med = {k: statistics.median(v) for k, v in figures.items()}
    print(f"   median: importer {med['imp_wall']:.0f}/s (whole process), {med['imp_run']:.0f}/s (the run); "
          f"bare {med['bare_post']:.0f}/s (posting)")
    print(f"   importer process / bare posting, median of pairs: {med['pair']:.2f} "
          f"(min {min(figures['pair']):.2f}, max {max(figures['pair']):.2f}; target >= 0.60)")
    print(f"   importer run / bare posting, median of pairs:     {med['pair_run']:.2f} "
          f"(min {min(figures['pair_run']):.2f}, max {max(figures['pair_run']):.2f})")
    print(f"   client CPU per entry: importer {med['imp_cpu']:.0f} us (whole process, start-up included), "
          f"bare {med['bare_cpu']:.0f} us")
    print(f"   start-up alone (python + the run's imports, nothing else): {med['startup']:.2f} s; "
          f"even a run as fast as the bare loop could reach at most {med['ceiling']:.2f} of it "
          f"as a whole process at {rows} rows")


def startup_once() -> float:
    """Seconds for a fresh interpreter to import what ``toggl-import run`` imports, and exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import importer.cli, importer.runner"], env=ENV,
                   check=True, preexec_fn=pinned("client"))  # fmt: skip
    return time.perf_counter() - started


# -- 2. rate accuracy ----------------------------------------------------------------------------


async def rate_once(
    sb: SandboxProcess, sheet: Path, work: Path, rate: float, send_paced: bool = False
) -> tuple[float, int, int]:
    """(achieved POSTs/s from the first to the last answer, POSTs, 429s).

    ``send_paced``: a prototype, not in the package -- an aiohttp trace hook moves the limiter's
    next start to one interval after the moment the body really left (on Python 3.11 aiohttp
    writes a POST body from a task of its own, a loop turn or more after the limiter let the
    request go), so that this client-side delay cannot shorten a gap at the server's meter.
    """
    import aiohttp

    from importer.config import Credentials, Settings
    from importer.runner import Importer

    times: list[float] = []

    def on_request(method: str, path: str, status: int | None, seconds: float) -> None:
        if method == "POST" and path.endswith("/time_entries") and status == 200:
            times.append(time.perf_counter())

    settings = Settings(api_url=sb.base_url, workspace_id=WID, timezone="UTC", rate=rate,
                        concurrency=8, ledger=work / f"rate-{time.monotonic_ns()}.sqlite")  # fmt: skip
    importer = Importer(settings, Credentials.from_token(sb.token), on_request=on_request)
    traces = []
    if send_paced:

        async def body_sent(session: Any, context: Any, params: Any) -> None:
            limiter: Any = importer.limiter
            limiter._tat = max(limiter._tat, time.monotonic() + limiter._interval)

        trace = aiohttp.TraceConfig()
        trace.on_request_chunk_sent.append(body_sent)
        traces.append(trace)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=8), trace_configs=traces,
        timeout=aiohttp.ClientTimeout(total=settings.timeout),
    ) as session:  # fmt: skip
        importer._session = session
        summary = await importer.run([sheet])
    stats = sb.stats()
    four29 = int(stats["statuses"].get("429", 0))
    if summary.exit_code != 0:
        raise RuntimeError(f"rate run ended with {summary.exit_code}")
    achieved = (len(times) - 1) / (times[-1] - times[0])
    return achieved, len(times), four29


def rate_accuracy(rate: float, repeat: int, seconds: float) -> None:
    import importer.limits as limits

    rows = int(rate * seconds)
    shipped = (limits.HEADROOM, limits.HEADROOM_SHARE)
    variants: list[tuple[str, float, float, bool, bool]] = [
        ("as shipped (headroom min(2 ms, 1 %)), CLI gc", *shipped, True, False),
        ("as shipped, default gc", *shipped, False, False),
        ("headroom 0.5 ms, CLI gc", 0.0005, 1.0, True, False),
        ("headroom 0.25 ms, CLI gc", 0.00025, 1.0, True, False),
        ("headroom 0, CLI gc", 0.0, 1.0, True, False),
        ("send-paced, as shipped, CLI gc", *shipped, True, True),
        ("send-paced, headroom 0.5 ms, CLI gc", 0.0005, 1.0, True, True),
        ("send-paced, headroom 0.25 ms, CLI gc", 0.00025, 1.0, True, True),
    ]
    print(f"2. rate accuracy: sandbox --rate-limit {rate:g} (leaky bucket of 1), importer --rate "
          f"{rate:g}, {rows} rows, concurrency 8, {repeat} runs per variant; 'CLI gc' = what "
          "`toggl-import run` does: gc.collect(), gc.freeze(), gc.set_threshold(50_000, 20, 10)")
    thresholds = gc.get_threshold()
    with workdir("bench-rate-") as work, sandbox("--rate-limit", str(rate)) as sb:
        sheet = work / "sheet.csv"
        write_sheet(sheet, rows)
        for name, headroom, share, cli_gc, send_paced in variants:
            limits.HEADROOM, limits.HEADROOM_SHARE = headroom, share
            results = []
            for _ in range(repeat):
                sb.reset()
                if cli_gc:
                    gc.collect()
                    gc.freeze()
                    gc.set_threshold(50_000, 20, 10)
                try:
                    results.append(asyncio.run(rate_once(sb, sheet, work, rate, send_paced)))
                finally:
                    gc.unfreeze()
                    gc.set_threshold(*thresholds)
            achieved = statistics.median(r[0] for r in results)
            runs = ", ".join(f"{r[0] / rate:.3f}" for r in results)
            four29 = [r[2] for r in results]
            print(f"   {name:42s} median {achieved:6.2f}/s = {achieved / rate:.3f} of R "
                  f"(runs: {runs}); 429s per run {four29}")
    limits.HEADROOM, limits.HEADROOM_SHARE = shipped


# -- 3. profile ----------------------------------------------------------------------------------


def profile(rows: int, concurrency: int) -> None:
    OUT.mkdir(exist_ok=True)
    report = OUT / "profile-run.txt"
    with workdir("bench-profile-") as work, sandbox() as sb:
        sheet = work / "sheet.csv"
        write_sheet(sheet, rows)
        args = [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(report),
                "-p", "show_all=false", "-m", "importer", "run", str(sheet),
                "--api-url", sb.base_url, "--workspace-id", str(WID),
                "--ledger", str(work / "ledger.sqlite"), "--timezone", "UTC",
                "--rate", "1000000", "--concurrency", str(concurrency), "--json"]  # fmt: skip
        done = subprocess.run(args, capture_output=True, text=True, env={**ENV, "TOGGL_API_TOKEN": sb.token},
                              check=False)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"profiled run failed: {done.stderr[-2000:]}")
    print(f"3. profile of one run of {rows} rows written to {report.relative_to(ROOT)}")
    print(report.read_text(encoding="utf-8")[:6000])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bare-loop":
        base_url, payloads, concurrency = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
        sent, seconds, cpu = asyncio.run(bare_loop(base_url, load_bodies(payloads), concurrency))
        print(sent, seconds, cpu)
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--rate-only", action="store_true")
    parser.add_argument("--throughput-only", action="store_true")
    parser.add_argument("--profile", action="store_true", help="only the pyinstrument profile")
    parser.add_argument("--pin", action=argparse.BooleanOptionalAction, default=False,
                        help="sandbox on CPU 0, clients on CPU 1 (off by default: measured here, "
                             "pinning added wake-up jitter that drew many 429s at 50/s)")
    args = parser.parse_args()
    if args.pin and len(os.sched_getaffinity(0)) >= 2:
        PIN["server"], PIN["client"] = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, {PIN["client"]})  # the in-process runs of 2. too
    if args.profile:
        profile(args.rows, args.concurrency)
        return
    if not args.rate_only:
        throughput(args.rows, args.repeat, args.concurrency)
    if not args.throughput_only:
        rate_accuracy(args.rate, args.repeat, args.rate_seconds)


if __name__ == "__main__":
    main()
