"""A dry run is the real run minus the writes, row for row (issue 9).

Generated timesheets with a random mix of problems -- valid rows, unknown and other people's
emails, names that exist, that do not (and ``--create-missing`` makes), typos, an archived
project, over-long descriptions, bad dates, entries over 999 hours, in-file duplicates -- go
through ``toggl-import run --dry-run`` and then the real run, each against a fresh sandbox over
TCP, with and without ``--create-missing``, with an admin's token and a member's. Then:

- every row's dry-run status is the real run's, through ``PLAN_TO_RUN`` (and a refused row is
  refused with the same words);
- the real run created exactly the names the dry run listed, each once, under the same parents;
- the payloads the dry run emitted are the bodies the sandbox received, once the ``null`` ids of
  names not created yet are filled with the created ones (which the ``creates`` object names).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_cli_run import Done, Server

import importer.cli as cli
from importer import messages
from importer.sandbox.state import load_seed

PLAN_TO_RUN = {"create": "created", "unchanged": "created", "refused": "refused",
               "duplicate": "duplicate", "skipped": "skipped"}  # fmt: skip
"""A dry run's report status (the contract's plan words) → the real run's for the same row."""

WID = 1234567
MEMBER_TOKEN = "sandbox-member-token"  # max@example.com: a member, not an admin
HEADER = ["Date", "Start", "End", "Duration", "Description", "Client", "Project", "Task", "Email",
          "Tags", "Billable"]  # fmt: skip
KINDS = {"client": "clients", "project": "projects", "task": "tasks"}

TRIPLES = [
    ("", "", ""),
    ("", "Internal", ""),
    ("Acme Corp", "Website", "Design"),
    ("", "Support", "Triage"),
    ("Initech", "Mobile App", "Backend"),
    ("Globex", "Legacy Migration", ""),  # archived
    ("Globex", "Legacy Migration", "Phase {k}"),  # archived, and a task to create under it
    ("", "Website", ""),  # two clients have one: ambiguous
    ("", "Suport", ""),  # a typo: never created
    ("", "", "Design"),  # a task without a project
    ("Zeta {n}", "", ""),  # the names below do not exist: --create-missing creates them
    ("Zeta {n}", "Orion {m}", ""),
    ("Zeta {n}", "Orion {m}", "Phase {k}"),
    ("", "Orion {m}", ""),
    ("Acme Corp", "Orion {m}", "Phase {k}"),
    ("", "Support", "Phase {k}"),
    ("zeta {n}", "Website", ""),  # a project name that exists, under a client that does not
]
EMAILS = ["", "", "olivia@example.com", "max@example.com", " MAX@example.com", "nobody@example.com"]
TAGS = ["", "meeting", "meeting, fresh tag"]


PROBLEMS = {
    "date": ["2026-11-02"] * 9 + ["2026-13-45"],
    "length": ["end"] * 6 + ["duration"] * 3 + ["too_long"],
    "description": ["unique"] * 7 + ["", "same", "long"],
    "email": EMAILS,
    "tags": TAGS,
    "billable": ["", "yes"],
}
"""The choices of each part of a row (repeated ones are drawn more often)."""


def timesheet(rng: random.Random, n: int) -> list[list[str]]:
    """``n`` rows, each part drawn on its own (so problems mix), and now and then a copy of an
    earlier row (an in-file duplicate)."""
    out: list[list[str]] = []
    for i in range(n):
        if out and rng.random() < 0.1:
            out.append(list(rng.choice(out)))
            continue
        pick = {part: rng.choice(choices) for part, choices in PROBLEMS.items()}
        names = rng.choice(TRIPLES)
        client, project, task = (x.format(n=rng.randint(1, 2), m=rng.randint(1, 2), k=rng.randint(1, 2))
                                 for x in names)  # fmt: skip
        hour, minute = 8 + i // 12, i % 12 * 5
        end = f"{hour:02d}:{minute + 3:02d}" if pick["length"] == "end" else ""
        duration = {"end": "", "duration": "1:30", "too_long": "1000:00"}[pick["length"]]
        description = {"unique": f"row {i}", "": "", "long": "x" * 3001, "same": "same"}[pick["description"]]
        out.append([pick["date"], f"{hour:02d}:{minute:02d}", end, duration, description, client, project,
                    task, pick["email"], pick["tags"], pick["billable"]])  # fmt: skip
    return out


# -- running the command ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


def invoke(argv: list[str], cwd: Path, token: str) -> Done:
    """``toggl-import ARGV`` in this process, in ``cwd``, with ``token`` the only TOGGL_ variable."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        for name in [k for k in os.environ if k.startswith("TOGGL_")]:
            mp.delenv(name)
        mp.setenv("TOGGL_API_TOKEN", token)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    done = Done(code, out.getvalue(), err.getvalue())
    assert "Traceback" not in done.text, done.text
    return done


@dataclass
class Outcome:
    done: Done
    summary: dict[str, Any]
    report: dict[int, dict[str, str]]
    payloads: dict[int, dict[str, Any]]


def run(server: Server, folder: Path, token: str, *options: str) -> Outcome:
    """One run of ``sheet.csv`` in ``folder`` against a fresh sandbox."""
    server.reset()
    folder.mkdir()
    argv = ["run", str(folder.parent / "sheet.csv"), "--api-url", server.sandbox.base_url,
            "--workspace-id", str(WID), "--ledger", "l.sqlite", "--rate", "1000", "--timezone", "UTC",
            "--report", "report.csv", "--emit-payloads", "payloads.jsonl", "--json", *options]  # fmt: skip
    done = invoke(argv, folder, token)
    assert done.code in (0, 1), done.text
    with (folder / "report.csv").open(newline="", encoding="utf-8") as fh:
        report = {int(r["row"]): r for r in csv.DictReader(fh)}
    lines = [json.loads(line) for line in (folder / "payloads.jsonl").read_text("utf-8").splitlines()]
    return Outcome(done, json.loads(done.out), report, {line["row"]: line for line in lines})


# -- what the real run made --------------------------------------------------------------------------
_SEED = load_seed(None)
SEED = {kind: {row["id"] for row in _SEED[table]} for kind, table in KINDS.items()}


def made_names(server: Server) -> dict[str, dict[int, dict[str, Any]]]:
    """The clients, projects and tasks in the sandbox that its seed does not have."""
    state = server.sandbox.state
    tables = {"client": state.clients, "project": state.projects, "task": state.tasks}
    return {kind: {i: row for i, row in table.items() if i not in SEED[kind]}
            for kind, table in tables.items()}  # fmt: skip


def listed(server: Server) -> list[str]:
    """``made_names`` as the summary lists them."""
    state, made = server.sandbox.state, made_names(server)
    out = [messages.new_name("client", c["name"], None, planned=False) for c in made["client"].values()]
    for p in made["project"].values():
        client = state.clients[p["cid"]]["name"] if p["cid"] else None
        out.append(messages.new_name("project", p["name"], client, planned=False))
    for t in made["task"].values():
        out.append(messages.new_name("task", t["name"], state.projects[t["pid"]]["name"], planned=False))
    return out


def filled(server: Server, line: dict[str, Any], real: dict[str, Any]) -> dict[str, Any]:
    """The dry run's payload with its ``null`` ids taken from the real body, each checked to be
    the id of a name that run created, named as the line's ``creates`` says."""
    creates, payload = line["creates"], dict(line["payload"])
    state, made = server.sandbox.state, made_names(server)
    assert set(creates) <= set(KINDS) and creates
    for kind, field in (("project", "project_id"), ("task", "task_id")):
        if kind in creates:
            assert payload[field] is None
            payload[field] = real[field]
            assert real[field] in made[kind] and made[kind][real[field]]["name"] == creates[kind]
        else:
            assert payload.get(field, 0) is not None  # an id known now is never null
    if "client" in creates:
        assert any(c["name"] == creates["client"] for c in made["client"].values())
        if "project" in creates:
            assert state.clients[state.projects[real["project_id"]]["cid"]]["name"] == creates["client"]
    return payload


# -- the property ------------------------------------------------------------------------------------
EXAMPLES = 32
"""Generated timesheets (seeds 0..31): each option pair (--create-missing or not, an admin's token
or a member's) gets eight, of 6 to 30 rows."""


@pytest.mark.parametrize("seed", range(EXAMPLES))
def test_a_dry_run_is_the_real_run_minus_the_writes(
    server: Server, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    create_missing, admin = seed % 2 == 0, seed % 4 < 2
    rows = timesheet(rng, rng.randint(6, 30))
    folder = tmp_path
    with (folder / "sheet.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    token = server.sandbox.token if admin else MEMBER_TOKEN
    options = ["--create-missing"] if create_missing else []

    plan = run(server, folder / "dry", token, "--dry-run", *options)
    assert server.writes == []
    real = run(server, folder / "real", token, *options)

    # every row: the plan's status is the run's, and a refusal is the same refusal
    assert sorted(plan.report) == sorted(real.report) == list(range(2, len(rows) + 2))
    for row, planned in plan.report.items():
        done = real.report[row]
        assert PLAN_TO_RUN[planned["status"]] == done["status"], (row, planned, done)
        if planned["status"] in ("refused", "duplicate"):
            assert planned["message"] == done["message"], row
    assert plan.done.code == real.done.code

    # the names: what the plan listed is what the run created, each once, under its parents
    would = [name.removesuffix(" (would be created)") for name in plan.summary["created_names"]]
    assert all(name.endswith(" (would be created)") for name in plan.summary["created_names"])
    assert len(set(would)) == len(would)
    assert sorted(would) == sorted(real.summary["created_names"]) == sorted(listed(server))
    if not create_missing:
        assert would == []
    # ...and nothing for rows refused (or left out) for another reason: each is some row's need
    needed = {item for line in plan.payloads.values() for item in line.get("creates", {}).items()}
    made = {(kind, row["name"]) for kind, rows in made_names(server).items() for row in rows.values()}
    assert needed == made

    # the payloads: the plan's lines are the bodies the sandbox received, nulls filled
    assert sorted(plan.payloads) == sorted(real.payloads)
    created = sorted(row for row, line in real.report.items() if line["status"] == "created")
    assert sorted(plan.payloads) == created
    for row, line in plan.payloads.items():
        body = real.payloads[row]["payload"]
        assert "creates" not in real.payloads[row]
        if "creates" in line:
            assert create_missing
            assert filled(server, line, body) == body
            assert list(line["payload"]) == list(body)
        else:
            assert line == real.payloads[row]
    received = sorted(server.posted_entries, key=json.dumps)
    assert received == sorted((line["payload"] for line in real.payloads.values()), key=json.dumps)
