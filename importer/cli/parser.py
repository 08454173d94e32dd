"""The command line's grammar: every command and option, with the help a user reads."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import __version__
from ..config import DATE_ORDERS, DEFAULT_CONFIG_PATH, PRESETS


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, which is also our code for bad usage: keep that."""


def _add_read_options(p: argparse.ArgumentParser) -> None:
    """What reading and planning rows needs: the run's options but those only sending has."""
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
                        "tags, billable, email, user, issue (before the description: KEY: text), "
                        "summary (when the description is empty), key (the row's id, never sent)")
    p.add_argument("--header-row", type=int, metavar="N",
                   help="the spreadsheet row of the header (1 for the first), when title rows "
                        "above it hide it (default: found by its column names)")
    p.add_argument("--sheet", metavar="NAME|N",
                   help="the worksheet of a workbook to read, by name or number (default: the "
                        "first visible one with a header)")
    p.add_argument("--since", metavar="DATE",
                   help="skip rows that start before this local date (YYYY-MM-DD, in --timezone)")
    p.add_argument("--until", metavar="DATE",
                   help="skip rows that start after this local date (YYYY-MM-DD, inclusive)")
    p.add_argument("--only-email", action="append", metavar="EMAIL",
                   help="import only the rows of this person (repeatable; case does not matter); "
                        "the others are skipped")
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
    p.add_argument("--concurrency", type=int, metavar="N",
                   help="requests in flight at most (default 4)")
    p.add_argument("--rate", type=float, metavar="R",
                   help="requests per second at most (default 1)")
    p.add_argument("--quota-reserve", type=int, metavar="N",
                   help="leave N requests of every hourly quota window unused, for your other "
                        "integrations (Zapier, Jira, ...) that draw on the same quota (default 0)")
    p.add_argument("--create-missing", action="store_true", default=None,
                   help="create projects, clients and tasks that do not exist")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--report", type=Path, metavar="PATH",
                   help="write a CSV with one line per input row")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="seconds to wait for one answer before it counts as lost (default 30); a "
                        "create whose answer was lost is looked up no sooner than this after")
    p.add_argument("--source", metavar="NAME",
                   help="the stream these files belong to, e.g. jira-worklogs (default: each "
                        "file's base name)")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    _add_read_options(p)
    p.add_argument("--dry-run", action="store_true",
                   help="read, validate and resolve names; print the plan; never write to Toggl")
    p.add_argument("--emit-payloads", type=Path, metavar="PATH",
                   help="write one JSON line per valid row with the exact body posted")
    p.add_argument("--check-existing", action="store_true", default=None,
                   help="before posting, look each row up in Toggl and skip the ones already there "
                        "(for a lost or new ledger; costs read requests)")
    p.add_argument("--retry-failed", action="store_true", default=None,
                   help="also send again rows Toggl refused in an earlier run (HTTP 400 and the "
                        "like); without it they are skipped and reported as failed")
    p.add_argument("--log-file", type=Path, metavar="PATH",
                   help="write one line per request (method, path, status, latency)")
    _add_sync_options(p)


def _add_sync_options(p: argparse.ArgumentParser) -> None:
    own = p.add_argument_group("owning what it created (sync)")
    own.add_argument("--key", metavar="COLUMN",
                     help="the column holding each row's id at its source: a changed row updates "
                          "its entry in place (same as --map key=COLUMN)")
    own.add_argument("--mirror", action="store_true", default=None,
                     help="the files are the whole source for their dates: entries this ledger "
                          "created for the source whose row is gone are deleted")
    own.add_argument("--max-deletes", type=int, metavar="N",
                     help="with --mirror, stop before sending anything if more than N entries "
                          "would be deleted (default 25)")
    own.add_argument("--overwrite", action="store_true", default=None,
                     help="update or delete entries even when they were changed in Toggl since "
                          "toggl-import wrote them (edits made in Toggl win without it)")
    own.add_argument("--all-or-nothing", action="store_true", default=None,
                     help="send nothing when any row would be refused")


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

    export = sub.add_parser(
        "export", help="write the rows as Toggl's web CSV import file (no API quota spent)",
        description="Plan the rows as a run would (names in the workspace's exact spelling) and write "
                    "them as Toggl's CSV import file, for an admin to upload in Toggl (Settings → "
                    "Import). The ledger records them as exported: a later run reads them back and "
                    "posts only those Toggl does not have.",
    )
    _add_read_options(export)
    export.add_argument("--to", choices=("toggl-csv",), required=True, help="the format (toggl-csv)")
    export.add_argument("--output", type=Path, required=True, metavar="OUT.csv", help="the file to write")
    export.add_argument("--max-rows", type=int, metavar="N",
                        help="split the file every N rows (OUT-1.csv, OUT-2.csv, ...)")
    export.add_argument("--upload-timezone", metavar="ZONE",
                        help="the time zone of the account that will upload the file (default: the "
                             "token's profile zone)")
    export.add_argument("--again", action="store_true",
                        help="write again the rows an earlier export wrote (never rows created in "
                             "Toggl): for a file lost before it was uploaded")

    status = sub.add_parser("status", help="what the ledger holds, per state and file")
    status.add_argument("--ledger", type=Path, metavar="PATH", help="the SQLite result ledger")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument("--runs", action="store_true",
                        help="one line per run: id, started, finished, files or source, counts, "
                             "exit code")

    undo = sub.add_parser(
        "undo", help="delete the entries this ledger created (of a run, a source or files)",
        description="Delete the entries that toggl-import created, as the ledger records them: "
                    "those of run N (toggl-import status --runs lists them), of a source, or of "
                    "the given files' rows. It says how many first and asks on a terminal.",
    )
    undo.add_argument("--run", type=int, metavar="N", help="the entries run N created")
    undo.add_argument("--source", metavar="NAME", help="the entries of this source")
    undo.add_argument("files", nargs="*", default=[], metavar="FILE",
                      help="the entries of these files' rows (the names as given when imported)")
    undo.add_argument("--ledger", type=Path, metavar="PATH", help="the SQLite result ledger")
    undo.add_argument("--config", type=Path, metavar="PATH", help="TOML config")
    undo.add_argument("--api-url", metavar="URL", help="API base URL (env TOGGL_API_URL)")
    undo.add_argument("--dry-run", action="store_true", help="list what would be deleted; delete nothing")
    undo.add_argument("--yes", action="store_true", help="do not ask before deleting")
    undo.add_argument("--overwrite", action="store_true", default=None,
                      help="delete entries even when they were changed in Toggl since")
    undo.add_argument("--rate", type=float, metavar="R", help="requests per second at most (default 1)")
    undo.add_argument("--concurrency", type=int, metavar="N", help="requests in flight at most")
    undo.add_argument("--quota-reserve", type=int, metavar="N",
                      help="leave N requests of every hourly quota window unused (default 0)")
    undo.add_argument("--timeout", type=float, metavar="SECONDS", help="seconds to wait for one answer")
    undo.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    undo.add_argument("--report", type=Path, metavar="PATH", help="write a CSV, one line per entry")

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
                         help="share of writes answered 500 without applying")
    sandbox.add_argument("--fail-reset", type=float, metavar="P",
                         help="share of writes whose connection is reset before applying")
    sandbox.add_argument("--fail-drop", type=float, metavar="P",
                         help="share of writes applied, then the connection dropped unanswered")
    sandbox.add_argument("--random-seed", type=int, metavar="N", help="seed for repeatable faults")
    sandbox.add_argument("--rate-burst", type=int, metavar="N",
                         help="requests allowed back to back before --rate-limit applies")
    sandbox.add_argument("--me-quota", type=int, metavar="N",
                         help="separate quota of /me requests per window (Toggl: 30/hour)")
    sandbox.add_argument("--page-size-cap", type=int, metavar="N",
                         help="serve at most N items per page (to exercise paging)")
    sandbox.add_argument("--rate-tolerance", type=float, metavar="SECONDS",
                         help="let a request through up to SECONDS early for --rate-limit "
                              "(jitter tolerance; default 0, strict)")
    sandbox.add_argument("--apply-delay", type=float, metavar="SECONDS",
                         help="hold each create/update/delete of a time entry SECONDS before "
                              "applying it, even if the client has given up meanwhile")
    sandbox.add_argument("--apply-delay-share", type=float, metavar="P",
                         help="share of those writes that are held (default 1)")

    sub.add_parser("demo", help="import the bundled samples into a local sandbox, twice")
    return parser
