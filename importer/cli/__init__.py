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
from ..config import DEFAULT_CONFIG_PATH, Credentials, Settings, load_settings
from ..errors import ConfigError, ImporterError, InputError, LedgerError, LedgerFullError
from .parser import build_parser

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3

ENV_SETTINGS = {
    "TOGGL_API_URL": "api_url",
    "TOGGL_WORKSPACE_ID": "workspace_id",
    "TOGGL_IMPORT_LEDGER": "ledger",
    "TOGGL_IMPORT_TIMEZONE": "timezone",
}


FLAGS = {
    "api_url": "api_url", "workspace_id": "workspace_id", "preset": "preset",
    "timezone": "timezone", "date_order": "date_order", "ledger": "ledger", "rate": "rate",
    "concurrency": "concurrency", "quota_reserve": "quota_reserve", "create_missing": "create_missing",
    "check_existing": "check_existing", "retry_failed": "retry_failed", "timeout": "timeout",
    "source": "source", "key_column": "key", "mirror": "mirror", "max_deletes": "max_deletes",
    "overwrite": "overwrite", "all_or_nothing": "all_or_nothing", "header_row": "header_row",
    "sheet": "sheet", "since": "since", "until": "until", "only_email": "only_email",
}  # fmt: skip
"""``Settings`` field → the command-line flag (``argparse`` name) that sets it."""


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
    flags: dict[str, Any] = {name: getattr(args, flag, None) for name, flag in FLAGS.items()}
    settings = load_settings(from_env, flags, config_path=config_path)
    maps = parse_maps(getattr(args, "map", []))
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
        if args.command == "export":
            from .export import export

            return export(args, env)
        if args.command == "undo":
            from .undo import undo

            return undo(args, env)
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
    """Every value that may be a secret: the credentials, and whatever variable holds a token or
    a password (the people's tokens of ``[tokens]`` among them)."""
    names = {"TOGGL_API_TOKEN", "TOGGL_PASSWORD"} | {
        k for k in env if "TOKEN" in k.upper() or "PASSWORD" in k.upper()
    }
    return [v for k in sorted(names) if len(v := env.get(k, "").strip()) >= 4]


def people_from_env(settings: Settings, env: dict[str, str]) -> dict[str, Credentials]:
    """``[tokens]``: each person's credentials, from the variable named for them."""
    people: dict[str, Credentials] = {}
    for email, variable in settings.tokens.items():
        token = env.get(variable, "").strip()
        if not token:
            raise ConfigError(messages.token_variable_unset(email, variable))
        people[email] = Credentials.from_token(token)
    return people


def write_crash_report(exc: BaseException, secrets: list[str]) -> Path:
    """The traceback, with every secret blanked, in a file of the temp folder."""
    import tempfile
    import time
    import traceback

    text = "".join(traceback.format_exception(exc))
    for secret in secrets:
        text = text.replace(secret, "***")
    fd, name = tempfile.mkstemp(prefix=f"toggl-import-crash-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".txt")
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
    if args.max_deletes is not None and not settings.mirror:  # it would limit nothing
        raise ConfigError(messages.max_deletes_without_mirror())
    credentials = credentials_from_env(env)
    people = people_from_env(settings, env)
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
    if not args.dry_run and not settings.ledger.exists() and not settings.check_existing:
        notes.append(messages.new_ledger(settings.ledger))  # --check-existing: what it advises
    for note in notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)
    log = RequestLog(args.log_file) if args.log_file else None
    with ProgressDisplay(console) as display, contextlib.ExitStack() as stack:
        if log is not None:
            stack.callback(log.close)
        importer = Importer(settings, credentials, progress=display, on_request=log,
                            people=people)  # fmt: skip
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
    for option, path in (("--output", getattr(args, "output", None)), ("--report", args.report),
                         ("--emit-payloads", args.emit_payloads), ("--log-file", args.log_file)):  # fmt: skip
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
        if args.runs:
            from .render import render_runs

            return render_runs(ledger.runs(), json_out=args.json)
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
        "rate_tolerance": args.rate_tolerance,
        "apply_delay": args.apply_delay,
        "apply_delay_share": args.apply_delay_share,
    }
    options = SandboxOptions(**{k: v for k, v in changes.items() if v is not None})

    def ready(sb: Any) -> None:
        print(f"sandbox serving at {sb.base_url}", flush=True)
        print(f"token: {sb.token}", flush=True)
        print(
            f"try:  TOGGL_API_TOKEN={sb.token} toggl-import run FILE --api-url {sb.base_url} "
            "--workspace-id 1234567 --timezone Europe/Berlin",
            flush=True,
        )
        people = [
            f"{u['email']} {u['api_token']} ({u.get('timezone', 'UTC')})"
            for u in sb.state.users.values()
            if u.get("api_token") and u["id"] != sb.state.me_user_id
        ]
        if people:
            print("other people's tokens: " + "; ".join(people), flush=True)
        print("stop with Ctrl-C", flush=True)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(options, args.host, args.port, ready))
    except OSError as exc:  # the port is taken, or not ours to bind
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(messages.cannot_listen(args.host, args.port, reason)) from exc
    return EXIT_OK
