"""The command line: parse, build, call, render, exit code. The only module that prints.

Commands: ``run``, ``status``, ``sandbox``, ``demo``. Exit codes (contract): 0 all rows created (or
would be, with --dry-run); 1 some rows failed/refused; 2 bad usage, config or file; 3 stopped early
and resumable (credentials refused, interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import sys
from pathlib import Path
from typing import Any

from .. import __version__, messages
from ..config import DATE_ORDERS, DEFAULT_CONFIG_PATH, PRESETS, Credentials, Settings, load_settings
from ..errors import ConfigError, ImporterError, InputError, LedgerError, LedgerFullError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3

ENV_SETTINGS = {
    "TOGGL_API_URL": "api_url",
    "TOGGL_WORKSPACE_ID": "workspace_id",
    "TOGGL_IMPORT_LEDGER": "ledger",
    "TOGGL_IMPORT_TIMEZONE": "timezone",
}


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, which is also our code for bad usage: keep that."""


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", type=Path,
                   help="CSV, TSV, XLSX, XLS or ODS timesheets")
    p.add_argument("--config", type=Path, metavar="PATH",
                   help=f"TOML config (default ./{DEFAULT_CONFIG_PATH} if it exists)")
    p.add_argument("--api-url", metavar="URL", help="API base URL (env TOGGL_API_URL)")
    p.add_argument("--workspace-id", type=int, metavar="N",
                   help="target workspace (default: your default workspace)")
    p.add_argument("--preset", choices=PRESETS, help="column preset (default auto: detect)")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="use COLUMN for FIELD (repeatable); fields: start_date, start_time, start, "
                        "end_date, end_time, end, duration, description, project, client, task, "
                        "tags, billable, email, user")
    p.add_argument("--timezone", metavar="ZONE",
                   help="IANA zone for times without an offset, e.g. Europe/Berlin (required when "
                        "the file's times have no offset, as exports from Toggl, Clockify and "
                        "Harvest do)")
    p.add_argument("--date-order", choices=DATE_ORDERS, metavar="ORDER",
                   help="how dates with slashes are read: mdy (default: month first, as Clockify "
                        "writes), dmy (day first, 25/11/2026), or auto (per file: day first when "
                        "the file shows it)")
    p.add_argument("--ledger", type=Path, metavar="PATH",
                   help="SQLite result ledger (default ./toggl-import.ledger.sqlite)")
    p.add_argument("--dry-run", action="store_true",
                   help="read, validate and resolve names; print the plan; never write to Toggl")
    p.add_argument("--emit-payloads", type=Path, metavar="PATH",
                   help="write one JSON line per valid row with the exact body posted")
    p.add_argument("--concurrency", type=int, metavar="N",
                   help="requests in flight at most (default 4)")
    p.add_argument("--rate", type=float, metavar="R",
                   help="requests per second at most (default 1)")
    p.add_argument("--create-missing", action="store_true", default=None,
                   help="create projects, clients and tasks that do not exist")
    p.add_argument("--check-existing", action="store_true", default=None,
                   help="before posting, look each row up in Toggl and skip the ones already there "
                        "(for a lost or new ledger; costs read requests)")
    p.add_argument("--retry-failed", action="store_true", default=None,
                   help="also send again rows Toggl refused in an earlier run (HTTP 400 and the "
                        "like); without it they are skipped and reported as failed")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--report", type=Path, metavar="PATH",
                   help="write a CSV with one line per input row")
    p.add_argument("--log-file", type=Path, metavar="PATH",
                   help="write one line per request (method, path, status, latency)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="toggl-import",
        description="Import CSV, TSV and Excel timesheets into Toggl Track, exactly once.",
        epilog="Credentials: TOGGL_API_TOKEN, or TOGGL_EMAIL and TOGGL_PASSWORD.",
    )
    parser.add_argument("--version", action="version", version=f"toggl-import {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="import timesheets into Toggl Track",
                         description="Import timesheets; re-running resumes where it stopped.")
    _add_run_options(run)

    status = sub.add_parser("status", help="what the ledger holds, per state and file")
    status.add_argument("--ledger", type=Path, metavar="PATH", help="the SQLite result ledger")
    status.add_argument("--json", action="store_true", help="print one JSON object")

    sandbox = sub.add_parser(
        "sandbox", help="serve a local Toggl-compatible API for trying things",
        description="Serve a local stand-in for the Toggl Track API (the endpoints toggl-import "
                    "uses) with a seeded workspace 1234567, on loopback only. Switches simulate "
                    "Toggl's limits and network faults.",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    sandbox.add_argument("--seed", type=Path, metavar="PATH",
                         help="JSON seed data: workspaces, users, clients, projects, tasks, tags "
                              "(default: the bundled importer/data/seed.json; copy and edit it)")
    sandbox.add_argument("--token", help="API token to accept (default sandbox-token)")
    sandbox.add_argument("--rate-limit", type=float, metavar="R",
                         help="answer 429 above R requests/s per token")
    sandbox.add_argument("--quota", type=int, metavar="N", help="answer 402 above N requests per window")
    sandbox.add_argument("--quota-window", type=float, metavar="SECONDS",
                         help="length of the quota window (default 3600)")
    sandbox.add_argument("--latency", type=float, metavar="SECONDS", help="added to each answer")
    sandbox.add_argument("--fail-500", type=float, metavar="P",
                         help="share of creates answered 500 without applying")
    sandbox.add_argument("--fail-reset", type=float, metavar="P",
                         help="share of creates whose connection is reset before applying")
    sandbox.add_argument("--fail-drop", type=float, metavar="P",
                         help="share of creates applied, then the connection dropped unanswered")
    sandbox.add_argument("--random-seed", type=int, metavar="N", help="seed for repeatable faults")
    sandbox.add_argument("--rate-burst", type=int, metavar="N",
                         help="requests allowed back to back before --rate-limit applies")
    sandbox.add_argument("--me-quota", type=int, metavar="N",
                         help="separate quota of /me requests per window (Toggl: 30/hour)")
    sandbox.add_argument("--page-size-cap", type=int, metavar="N",
                         help="serve at most N items per page (to exercise paging)")

    sub.add_parser("demo", help="import the bundled samples into a local sandbox, twice")
    return parser


def credentials_from_env(env: dict[str, str]) -> Credentials:
    token = env.get("TOGGL_API_TOKEN", "").strip()
    if token:
        return Credentials.from_token(token)
    email, password = env.get("TOGGL_EMAIL", "").strip(), env.get("TOGGL_PASSWORD", "")
    if email and password:
        return Credentials(email, password)
    raise ConfigError(messages.no_credentials())


def parse_maps(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise ConfigError(messages.bad_map_option(item))
        out[field.strip()] = column.strip()
    return out


def settings_from_args(args: argparse.Namespace, env: dict[str, str]) -> Settings:
    config_path = args.config
    if config_path is None and DEFAULT_CONFIG_PATH.exists():
        config_path = DEFAULT_CONFIG_PATH
    from_env = {name: env[var] for var, name in ENV_SETTINGS.items() if env.get(var)}
    flags: dict[str, Any] = {
        "api_url": args.api_url,
        "workspace_id": args.workspace_id,
        "preset": args.preset,
        "timezone": args.timezone,
        "date_order": args.date_order,
        "ledger": args.ledger,
        "rate": args.rate,
        "concurrency": args.concurrency,
        "create_missing": args.create_missing,
        "check_existing": args.check_existing,
        "retry_failed": args.retry_failed,
    }
    settings = load_settings(from_env, flags, config_path=config_path)
    maps = parse_maps(args.map)
    if maps:
        settings = load_settings({"column_map": {**settings.column_map, **maps}}, base=settings)
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    env = dict(os.environ)
    try:
        if args.command == "sandbox":
            return _sandbox(args)
        if args.command == "status":
            return _status(args, env)
        if args.command == "demo":
            from .demo import run_demo

            return run_demo()
        return _run(args, env)
    except KeyboardInterrupt:
        print(f"toggl-import: {messages.interrupted()}", file=sys.stderr)
        return EXIT_STOPPED
    except LedgerFullError as exc:  # resumable: the run stopped early, nothing is wrong with it
        print(f"toggl-import: {exc}", file=sys.stderr)
        return EXIT_STOPPED
    except (ConfigError, InputError, LedgerError) as exc:
        print(f"toggl-import: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ImporterError as exc:
        print(f"toggl-import: {exc}", file=sys.stderr)
        return EXIT_STOPPED
    except Exception as exc:  # a bug: one line for the user, the whole trace in a file
        where = write_crash_report(exc, _secrets_in(env))
        print(f"toggl-import: {messages.unexpected_error(type(exc).__name__, where)}", file=sys.stderr)
        return EXIT_STOPPED


def _secrets_in(env: dict[str, str]) -> list[str]:
    return [v for k in ("TOGGL_API_TOKEN", "TOGGL_PASSWORD") if (v := env.get(k, "").strip())]


def write_crash_report(exc: BaseException, secrets: list[str]) -> Path:
    """The traceback, with every secret blanked, in a file of the temp folder."""
    import tempfile
    import time
    import traceback

    text = "".join(traceback.format_exception(exc))
    for secret in secrets:
        text = text.replace(secret, "***")
    fd, name = tempfile.mkstemp(
        prefix=f"toggl-import-crash-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".txt"
    )
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"toggl-import {__version__}\n{text}")
    return Path(name)


def _run(args: argparse.Namespace, env: dict[str, str]) -> int:
    # The imports build objects that live for the whole run: no use scanning them while they
    # come (~0.1 s), nor later (the collector was a quarter of a 1M-row dry run; performance.md).
    gc.disable()
    try:
        from rich.console import Console

        from ..notes import notes_before_run
        from ..runner import Importer
        from .render import ProgressDisplay, print_json, render_summary
    finally:
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 10)
        gc.enable()

    settings = settings_from_args(args, env)
    credentials = credentials_from_env(env)
    for path in args.files:
        try:
            found = path.exists()
        except OSError as exc:  # a name too long for the file system, and the like
            raise InputError(messages.cannot_open(exc.strerror or str(exc)), file=str(path)) from exc
        if not found:
            raise InputError(messages.no_such_file(), file=str(path))
    console = Console(stderr=args.json, highlight=False)
    _check_outputs(args, settings.ledger)
    notes = notes_before_run(args.files, settings)
    if not args.dry_run and not settings.ledger.exists():
        notes.append(messages.new_ledger(settings.ledger))
    for note in notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)
    log = RequestLog(args.log_file) if args.log_file else None
    with ProgressDisplay(console) as display, contextlib.ExitStack() as stack:
        if log is not None:
            stack.callback(log.close)
        importer = Importer(settings, credentials, progress=display, on_request=log)
        summary = _run_until_done(
            importer.run(
                args.files,
                dry_run=args.dry_run,
                emit_payloads=args.emit_payloads,
                report=args.report,
            ),
            importer.request_stop,
        )
    if args.json:
        print_json(sys.stdout, summary.to_json())
    else:
        render_summary(console, summary)
    return summary.exit_code


def _check_outputs(args: argparse.Namespace, ledger: Path) -> None:
    """Refuse an output file that is an input, the ledger or another output (it would be
    truncated or written into before anything is read)."""
    taken: list[tuple[Path, str]] = [(path, f"the timesheet {path}") for path in args.files]
    taken.append((ledger, "the ledger"))
    for option, path in (("--report", args.report), ("--emit-payloads", args.emit_payloads),
                         ("--log-file", args.log_file)):  # fmt: skip
        if path is None:
            continue
        for other, what in taken:
            if _same_file(path, other):
                raise ConfigError(messages.output_is_input(option, path, what))
        taken.append((path, f"the file of {option}"))


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        return False
    return a.resolve() == b.resolve()


class RequestLog:
    """``--log-file``: one line per request — time, method, path, status, latency. No secrets:
    the credentials travel in a header, never in the path."""

    def __init__(self, path: Path) -> None:
        from ..report import open_output

        self._fh = open_output(path, "--log-file", mode="a")

    def __call__(self, method: str, path: str, status: int | None, seconds: float) -> None:
        from datetime import UTC, datetime

        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        shown = status if status is not None else "no-answer"
        self._fh.write(f"{now} {method} {path} {shown} {seconds * 1000:.1f}ms\n")

    def close(self) -> None:
        self._fh.close()


SECOND_PRESS = 0.5
"""Seconds after a first Ctrl-C before another one counts as a second (which cancels at once)."""


def _run_until_done(coro: Any, request_stop: Any) -> Any:
    """Run the import; the first Ctrl-C asks it to stop cleanly, a second one cancels it."""
    import signal

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        first: float | None = None

        def on_signal(reason: str) -> None:
            nonlocal first
            now = loop.time()
            if first is None:
                first = now
                request_stop(reason)
            elif now - first >= SECOND_PRESS and task is not None:
                task.cancel()
            # else: the same interruption delivered twice (to the process and to its group, as
            # `timeout` and some shells do) -- not a second press

        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, on_signal, "interrupted (Ctrl-C)")
            loop.add_signal_handler(signal.SIGTERM, on_signal, "stopped by a signal (SIGTERM)")
        return await coro

    try:
        return asyncio.run(main())
    except asyncio.CancelledError as exc:
        raise KeyboardInterrupt from exc


def _status(args: argparse.Namespace, env: dict[str, str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..ledger import COUNT_KEYS, Ledger
    from .render import print_json

    path = args.ledger or Path(env.get("TOGGL_IMPORT_LEDGER") or "toggl-import.ledger.sqlite")
    if not path.exists():
        raise ConfigError(messages.no_ledger(path))
    with Ledger.open(path, readonly=True) as ledger:
        totals = ledger.counts()
        per_file = ledger.counts(by_file=True)
    if args.json:
        print_json(sys.stdout, {**totals, "files": per_file, "ledger": str(path)})
        return EXIT_OK
    console = Console(highlight=False)
    table = Table(title=f"Ledger {path}", title_justify="left")
    table.add_column("file", overflow="fold", ratio=1)
    # states no row is in are left out (they said "0" in every line and squeezed the file names);
    # --json lists them all
    keys = [k for k in COUNT_KEYS if totals.get(k, 0) or k in ("created", "total")]
    for key in keys:
        label = key.replace("_", " ")
        table.add_column(label, justify="right", no_wrap=True, min_width=len(label))
    for name, counts in sorted(per_file.items()):
        table.add_row(name, *(str(counts.get(k, 0)) for k in keys))
    table.add_row("(all)", *(str(totals.get(k, 0)) for k in keys), style="bold")
    console.print(table)
    return EXIT_OK


def _sandbox(args: argparse.Namespace) -> int:
    from ..config import is_loopback
    from ..sandbox import SandboxOptions, serve

    if not is_loopback(args.host):
        raise ConfigError(messages.sandbox_not_loopback(args.host))

    changes = {
        "seed_path": args.seed,
        "token": args.token,
        "rate_limit": args.rate_limit,
        "quota": args.quota,
        "quota_window": args.quota_window,
        "latency": args.latency,
        "fail_500": args.fail_500,
        "fail_reset": args.fail_reset,
        "fail_drop": args.fail_drop,
        "random_seed": args.random_seed,
        "rate_burst": args.rate_burst,
        "me_quota": args.me_quota,
        "page_size_cap": args.page_size_cap,
    }
    options = SandboxOptions(**{k: v for k, v in changes.items() if v is not None})

    def ready(sb: Any) -> None:
        print(f"sandbox serving at {sb.base_url}", flush=True)
        print(f"token: {sb.token}", flush=True)
        print(f"try:  TOGGL_API_TOKEN={sb.token} toggl-import run FILE --api-url {sb.base_url} "
              "--workspace-id 1234567 --timezone Europe/Berlin", flush=True)
        print("stop with Ctrl-C", flush=True)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(options, args.host, args.port, ready))
    except OSError as exc:  # the port is taken, or not ours to bind
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(messages.cannot_listen(args.host, args.port, reason)) from exc
    return EXIT_OK
