"""``toggl-import undo``: delete the entries this ledger created -- of a run, a source or files.

It says how many first; on a terminal it asks before deleting unless ``--yes``; off a terminal
and without ``--yes`` it deletes nothing and exits 2. Exit 0 when every entry asked for is gone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from .. import messages
from ..errors import ConfigError
from . import (
    EXIT_OK,
    EXIT_STOPPED,
    EXIT_USAGE,
    _run_until_done,
    credentials_from_env,
    people_from_env,
    settings_from_args,
)


def undo(args: argparse.Namespace, env: dict[str, str]) -> int:
    from ..runner import Undoer
    from .render import ProgressDisplay, print_json, render_summary

    picked = [args.run is not None, args.source is not None, bool(args.files)]
    if sum(picked) != 1:
        raise ConfigError(messages.undo_pick_one())
    chosen = argparse.Namespace(**{**vars(args), "source": None})  # --source here selects
    settings = settings_from_args(chosen, env)
    credentials = credentials_from_env(env)
    if not settings.ledger.exists():
        raise ConfigError(messages.no_ledger(settings.ledger))
    console = Console(stderr=args.json, highlight=False)
    what = _what(args)
    asked: dict[str, int] = {}

    def confirm(count: int) -> bool:
        asked["count"] = count
        console.print(messages.undo_what(count, what, dry_run=args.dry_run), markup=False)
        if args.dry_run or args.yes:
            return True
        if not (sys.stdin.isatty() and console.is_terminal):
            asked["refused"] = 1
            return False
        with display.paused():
            answer = console.input("Delete them? [y/N] ", markup=False).strip().lower()
        if answer not in ("y", "yes"):
            asked["declined"] = 1
            return False
        return True

    display = ProgressDisplay(console, label="deleting")
    with display:
        undoer = Undoer(settings, credentials, progress=display, people=people_from_env(settings, env))
        summary = _run_until_done(
            undoer.run(
                run=args.run,
                source=args.source,
                files=[str(f) for f in args.files],
                dry_run=args.dry_run,
                report=args.report,
                confirm=confirm,
            ),
            undoer.request_stop,
        )
    if "count" not in asked:
        console.print(messages.undo_nothing(what), markup=False)
        return EXIT_OK
    if asked.get("refused"):
        print(f"toggl-import: {messages.undo_needs_yes(asked['count'])}", file=sys.stderr)
        return EXIT_USAGE
    if asked.get("declined"):  # stopped before it began, like a declined quota wait
        console.print(messages.undo_declined(), markup=False)
        return EXIT_STOPPED
    if args.json:
        print_json(sys.stdout, summary.to_json())
    else:
        render_summary(
            console,
            summary,
            title="Dry run: nothing was deleted" if args.dry_run else "Undo summary",
            undo=True,
        )
    return summary.exit_code


def _what(args: argparse.Namespace) -> str:
    if args.run is not None:
        return f"by run {args.run}"
    if args.source is not None:
        return f"for source {args.source!r}"
    return "from " + ", ".join(str(Path(f)) for f in args.files)
