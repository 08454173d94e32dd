"""Progress and summary on the terminal: a rich progress bar on a TTY, plain lines otherwise."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from .. import messages
from ..report import Summary, format_duration
from ..runner import CREDENTIALS_REFUSED
from ..runner import Progress as RunProgress

PLAIN_EVERY = 10.0
"""Seconds between progress lines when the output is not a terminal (CI, cron)."""


class ProgressDisplay:
    """Receives the runner's progress callbacks and shows them."""

    def __init__(self, console: Console, *, quiet: bool = False, label: str = "importing") -> None:
        self.console = console
        self._quiet = quiet
        self._label = label
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._last_plain = 0.0

    def __enter__(self) -> ProgressDisplay:
        self._last_plain = time.monotonic()  # a short run prints no progress lines at all
        if self.console.is_terminal and not self._quiet:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:>7.1f}/s"),
                TextColumn("ETA {task.fields[eta]}"),
                TextColumn("{task.fields[note]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self._label, total=None, rate=0.0, eta="-", note="")
        return self

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The bar off the screen while the user is asked something."""
        if self._bar is None:
            yield
            return
        self._bar.stop()
        try:
            yield
        finally:
            self._bar.start()

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def __call__(self, p: RunProgress) -> None:
        remaining = max(p.total - p.done, 0)
        eta = format_duration(remaining / p.rate) if p.rate > 0 and remaining else "-"
        note = f"waiting for quota reset {_clock(p.quota_wait)}" if p.quota_wait > 0 else p.phase
        if self._bar is not None and self._task is not None:
            self._bar.update(
                self._task, completed=p.done, total=p.total or None, rate=p.rate, eta=eta, note=note
            )
            return
        if self._quiet:
            return
        now = time.monotonic()
        if now - self._last_plain >= PLAIN_EVERY:
            self._last_plain = now
            self.console.print(
                f"progress: {p.done}/{p.total} rows, {p.created} created, {p.requests} requests, "
                f"{p.rate:.1f}/s, ETA {eta}, {note}",
                markup=False,
                highlight=False,
            )


def _clock(seconds: float) -> str:
    minutes, sec = divmod(int(seconds), 60)
    return f"{minutes}:{sec:02d}"


def _run_rows(s: Summary) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    if s.dry_run:
        rows.append(("rows that would be posted", s.to_post))
        if s.to_update or s.to_delete:
            rows.append(("entries that would be updated", s.to_update))
            rows.append(("entries that would be deleted", s.to_delete))
        rows.append(("already created (ledger)", s.already_done))
    else:
        rows.append(("created", s.created))
        if s.updated or s.deleted:
            rows.append(("updated", s.updated))
            rows.append(("deleted", s.deleted))
        rows.append(("already done (earlier run)", s.already_done))
        rows.append(("failed (refused by Toggl)", s.failed))
    rows.append(("refused (not sent)", s.refused))
    rows.append(("duplicates in the files", s.duplicate))
    if s.skipped:
        rows.append(("skipped (outside --since/--until/--only-email)", s.skipped))
    if s.dry_run and s.deleted:
        rows.append(("already gone in Toggl", s.deleted))
    if s.conflict:
        rows.append(("conflicts (changed in Toggl: left as they are)", s.conflict))
    if s.dry_run and s.in_doubt:
        rows.append(("to read back first (posted if Toggl lacks them)", s.in_doubt))
    if s.held_back:
        rows.append(("held back (--all-or-nothing: a row is refused)", s.held_back))
    if not s.dry_run:
        rows.append(("in doubt", s.in_doubt))
        rows.append(("pending", s.pending))
        if s.repaired:
            rows.append(("late copies deleted (repaired duplicates)", s.repaired))
    return rows


def _export_rows(s: Summary) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [("rows written to the file", s.exported)]
    if s.exported_before:
        rows.append(("exported already (not written again)", s.exported_before))
    rows += [("already created (ledger)", s.already_done), ("refused (not written)", s.refused),
             ("duplicates in the files", s.duplicate)]  # fmt: skip
    if s.in_doubt:  # an earlier `run` left them: only a run reads them back
        rows.append(("in doubt after an earlier run (not written)", s.in_doubt))
    return rows


def _undo_rows(s: Summary) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [("entries that would be deleted" if s.dry_run else "deleted",
                                    s.to_delete if s.dry_run else s.deleted)]  # fmt: skip
    if s.dry_run and s.deleted:
        rows.append(("already gone in Toggl", s.deleted))
    if s.conflict:
        rows.append(("conflicts (changed in Toggl: left as they are)", s.conflict))
    if not s.dry_run:
        rows.append(("failed (refused by Toggl)", s.failed))
        rows.append(("pending (run the same undo again)", s.pending))
    return rows


def render_summary(
    console: Console, s: Summary, *, title: str | None = None, undo: bool = False, export: bool = False
) -> None:
    title = title or ("Dry run: nothing was sent" if s.dry_run else "Import summary")
    table = Table(title=title, show_header=False, title_justify="left", box=None, pad_edge=False)
    table.add_column(justify="left", style="bold")
    table.add_column(justify="right")
    rows = _undo_rows(s) if undo else _export_rows(s) if export else _run_rows(s)
    rows.append(("requests made", s.requests))
    if s.http_429 or s.http_402:
        rows.append(("429 / 402 answers", f"{s.http_429} / {s.http_402}"))
    rows.append(("elapsed", format_duration(s.elapsed)))
    if s.remaining_seconds:
        label = "estimated import time" if s.dry_run else "the rest would take"
        rows.append((label, format_duration(s.remaining_seconds)))
    for label, value in rows:
        table.add_row(label, str(value))
    console.print(table)
    for title_, counter in (("refused", s.refused_by_reason), ("failed", s.failed_by_reason)):
        for reason, count in counter.most_common(8):
            console.print(f"  {title_}: {reason} ({count} rows)", markup=False, highlight=False)
            key = reason.split(":")[0]
            for example in s.examples.get(reason, s.examples.get(key, [])):
                console.print(f"    {example}", markup=False, highlight=False)
    if s.duplicate and s.examples.get("duplicate"):
        console.print(f"  duplicate: the same entry as an earlier row ({s.duplicate} rows)", markup=False,
                      highlight=False)  # fmt: skip
        for example in s.examples["duplicate"]:
            console.print(f"    {example}", markup=False, highlight=False)
    for email, counts in sorted(s.people.items()):
        kinds = ("to_post",) if s.dry_run else ("created", "updated", "deleted", "failed", "pending")
        done = ", ".join(f"{counts[k]} {k.replace('to_post', 'to post')}" for k in kinds if counts.get(k))
        pauses = counts.get("quota_pauses", 0)
        pause = f", {pauses} quota pause{'s' if pauses != 1 else ''}" if pauses else ""
        console.print(
            f"  {email} (own token): {done or 'nothing sent'}{pause}", markup=False, highlight=False
        )
    for email, why in sorted(s.people_refused.items()):
        console.print(f"  {email}: {why}", markup=False, highlight=False)
    for reason in ("conflict", "repaired"):
        for example in s.examples.get(reason, []):
            console.print(f"  {reason}: {example}", markup=False, highlight=False)
    if s.created_names:
        label = "--create-missing" if s.dry_run else "created in Toggl"
        console.print(f"{label}: " + ", ".join(s.created_names), markup=False)
    if s.no_ledger:
        console.print(
            f"note: {messages.new_ledger(s.no_ledger, dry_run=True)}", markup=False, highlight=False
        )
    if s.stopped:
        credentials = s.stopped.startswith(CREDENTIALS_REFUSED)
        console.print(
            messages.stopped_early(s.stopped, dry_run=s.dry_run, credentials=credentials),
            markup=False,
            highlight=False,
        )
    if s.ledger:
        console.print(f"ledger: {s.ledger}", markup=False, highlight=False)
    if s.report:
        console.print(f"report: {s.report}", markup=False, highlight=False)


def render_runs(runs: list[Any], *, json_out: bool) -> int:
    """``status --runs``: one line per run. When the files or source do not fit beside the figures
    (80 columns: a pipe, a cron log), they go on a line of their own under them, whole."""
    import dataclasses
    import sys

    if json_out:
        sys.stdout.write(json.dumps([dataclasses.asdict(r) for r in runs], sort_keys=True) + "\n")
        return 0
    console = Console(highlight=False)
    head = ("id", "started", "finished", "created", "updated", "deleted", "failed", "exit")
    left = (True, True, True, False, False, False, False, False)
    table = [(str(r.id), _when(r.started_at), _finished(r.started_at, r.finished_at), str(r.created),
              str(r.updated), str(r.deleted), str(r.failed), "" if r.exit_code is None else str(r.exit_code))
             for r in runs]  # fmt: skip
    widths = [max(len(cells[i]) for cells in [head, *table]) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        shaped = (c.ljust(w) if lj else c.rjust(w) for c, w, lj in zip(cells, widths, left, strict=True))
        return "  ".join(shaped)

    whats = [_run_what(r) for r in runs]
    beside = len(line(head)) + 2 + max((len(w) for w in whats), default=0) <= console.width

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    say("Runs (times in UTC)" if beside else "Runs (times in UTC; the files or source under each run)")
    say(f"{line(head)}  files or source" if beside else line(head))
    for cells, what in zip(table, whats, strict=True):
        if beside:
            say(f"{line(cells)}  {what}")
        else:
            say(line(cells))
            say(f"{' ' * (widths[0] + 2)}{what}")
    return 0


def _run_what(r: Any) -> str:
    """What a run was about, its command said once: ``run a.csv``, ``run --source jira: a.csv``,
    ``export a.csv``, ``undo of run 1`` (an earlier export recorded its summary as ``export ...``)."""
    files = r.summary.removeprefix(f"{r.command} ") if r.command != "run" else r.summary
    if r.source and r.command != "undo":  # undo's summary says "of source NAME" itself
        return f"{r.command} --source {r.source}: {files}" if files else f"{r.command} --source {r.source}"
    return f"{r.command} {files}".rstrip()


def _finished(started: str, finished: str | None) -> str:
    """The clock only when the run finished on the day it started; ``(stopped)`` when it did not."""
    if not finished:
        return "(stopped)"
    return _when(finished)[-5:] if finished[:10] == started[:10] else _when(finished)


def _when(stamp: str) -> str:
    """``2026-12-02T10:19:29.004Z`` as ``12-02 10:19`` (the year only when it is not this one)."""
    day, _, clock = stamp.partition("T")
    year = time.strftime("%Y", time.gmtime())
    return f"{day[5:] if day.startswith(year) else day} {clock[:5]}"


def print_json(out: TextIO, data: dict[str, Any]) -> None:
    out.write(json.dumps(data, default=str, sort_keys=True) + "\n")
