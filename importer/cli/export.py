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
    _check_outputs(argparse.Namespace(**{**vars(args), "emit_payloads": None, "log_file": None}),
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
                again=args.again,
            ),
            exporter.request_stop,
        )
    before = sorted(exporter.exported_before.items(), key=lambda item: (item[0][0] or 0, str(item[0][2])))
    said = [messages.export_done_before(n, run, day, file, [str(f) for f in args.files])
            for (run, day, file), n in before[:MAX_EARLIER]]  # fmt: skip
    zone = messages.export_zone(exporter.upload_zone, exporter.zone_of) if exporter.upload_zone else None
    if args.json:
        print_json(sys.stdout, {**summary.to_json(), "files": [str(p) for p in written],
                                "upload_timezone": exporter.upload_zone or None,
                                "exported_before_by_file": [
                                    {"run": run, "day": day, "file": file, "rows": n}
                                    for (run, day, file), n in before]})  # fmt: skip
    else:
        render_summary(console, summary, title="Export summary", export=True)
        for text in said:
            console.print(text, markup=False, highlight=False)
        if len(before) > MAX_EARLIER:
            rest = before[MAX_EARLIER:]
            text = messages.export_done_before_more(sum(n for _, n in rest), len(rest))
            console.print(text, markup=False, highlight=False)
        if written and zone:
            console.print(zone, markup=False, highlight=False)
        for path in written:
            console.print(f"written: {path}", markup=False)
        if written:
            console.print(messages.export_next_step(), markup=False)
    return summary.exit_code


MAX_EARLIER = 5
"""Files of earlier exports named one by one; the rest are counted."""
