"""``toggl-import export FILE ... --to toggl-csv --output OUT.csv``: Toggl's CSV import file."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from .. import messages
from ..errors import ConfigError
from . import _check_outputs, _run_until_done, credentials_from_env, people_from_env, settings_from_args


def export(args: argparse.Namespace, env: dict[str, str]) -> int:
    from ..export import Exporter
    from .render import ProgressDisplay, print_json, render_summary

    settings = settings_from_args(args, env)
    credentials = credentials_from_env(env)
    if args.max_rows is not None and args.max_rows < 1:
        raise ConfigError(messages.bad_setting("--max-rows", args.max_rows))
    _check_outputs(argparse.Namespace(**{**vars(args), "emit_payloads": args.output, "log_file": None}),
                   settings.ledger)  # fmt: skip
    console = Console(stderr=args.json, highlight=False)
    with ProgressDisplay(console) as display:
        exporter = Exporter(settings, credentials, progress=display, people=people_from_env(settings, env))
        summary, written = _run_until_done(
            exporter.run(
                args.files,
                output=args.output,
                max_rows=args.max_rows,
                upload_timezone=args.upload_timezone,
                report=args.report,
            ),
            exporter.request_stop,
        )
    if args.json:
        print_json(sys.stdout, {**summary.to_json(), "files": [str(p) for p in written]})
    else:
        render_summary(console, summary, title="Export summary", export=True)
        for path in written:
            console.print(f"written: {path}", markup=False)
        if written:
            console.print(messages.export_next_step(), markup=False)
    return summary.exit_code
