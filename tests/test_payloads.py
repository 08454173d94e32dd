"""``payloads.Planner``: bodies, validation, duplicates in the run, rows already done.

Rows come from real CSV text through ``reader`` and ``normalize``; names resolve through the real
``Resolver`` over a fake read client that serves the bundled seed (and counts its requests).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import importer.bodies as bodies_module
import importer.duplicates as duplicates
import importer.payloads as payloads
from importer.duplicates import FirstSeen
from importer.keys import canonical, canonical_columns, fingerprint, fingerprint_texts
from importer.models import TimeEntryCreate
from importer.normalize import NormalizedChunk, NormalizeState, normalize
from importer.payloads import Planner
from importer.planned import PlanChunk, source_keys
from importer.presets import Mapping, detect
from importer.reader import iter_chunks, read_header
from importer.resolve import NewName, Resolver

WID = 1234567
HEADER = "Date,Start,End,Client,Project,Task,Email,Description,Tags,Billable"


class FakeClient:
    """Serves the seed's clients, projects, tasks and members like Toggl's listings."""

    def __init__(self, extra_users: dict[str, int] | None = None,
                 extra_projects: dict[str, int] | None = None) -> None:  # fmt: skip
        seed = json.loads(resources.files("importer").joinpath("data/seed.json").read_text("utf-8"))
        emails = {u["id"]: u["email"] for u in seed["users"]}
        mine = [m for m in seed["workspace_users"] if m["wid"] == WID]
        self.listings: dict[str, list[dict[str, Any]]] = {
            "clients": [{"id": c["id"], "name": c["name"]} for c in seed["clients"] if c["wid"] == WID],
            "projects": [{"id": p["id"], "name": p["name"], "active": p["active"], "client_id": p["cid"]}
                         for p in seed["projects"] if p["wid"] == WID],
            "tasks": [{"id": t["id"], "name": t["name"], "active": t["active"], "project_id": t["pid"]}
                      for t in seed["tasks"] if t["wid"] == WID],
            "workspace_users": [{"uid": m["uid"], "email": emails[m["uid"]]} for m in mine],
        }  # fmt: skip
        for email, uid in (extra_users or {}).items():
            self.listings["workspace_users"].append({"uid": uid, "email": email})
        for name, pid in (extra_projects or {}).items():
            self.listings["projects"].append({"id": pid, "name": name, "active": True, "client_id": None})
        self.requests: list[str] = []

    async def get_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        self.requests.append(path)
        return self.listings[path.rsplit("/", 1)[1]]

    async def create_project(self, workspace_id: int, name: str, client_id: int | None = None) -> Any:
        raise AssertionError("nothing is created here")

    async def create_client(self, workspace_id: int, name: str) -> Any:
        raise AssertionError("nothing is created here")

    async def create_task(self, workspace_id: int, project_id: int, name: str) -> Any:
        raise AssertionError("nothing is created here")


class CreatingClient(FakeClient):
    """A fake Toggl that creates what it is asked to (ids from 900 on), and says what."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.created: list[tuple[str, str, int | None]] = []

    def _made(self, kind: str, name: str, parent: int | None) -> dict[str, Any]:
        self.created.append((kind, name, parent))
        return {"id": 900 + len(self.created), "name": name}

    async def create_project(self, workspace_id: int, name: str, client_id: int | None = None) -> Any:
        return self._made("project", name, client_id)

    async def create_client(self, workspace_id: int, name: str) -> Any:
        return self._made("client", name, None)

    async def create_task(self, workspace_id: int, project_id: int, name: str) -> Any:
        return self._made("task", name, project_id)


@dataclass
class Sheet:
    chunk: NormalizedChunk
    mapping: Mapping


def sheet(tmp_path: Path, name: str, rows: list[str], header: str = HEADER,
          overrides: dict[str, str] | None = None) -> Sheet:  # fmt: skip
    """One normalised chunk of a CSV written to ``tmp_path / name`` (times in UTC)."""
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    mapping = detect(read_header(path), overrides=overrides)
    (raw,) = list(iter_chunks(path, display_name=name))
    return Sheet(normalize(raw, mapping, timezone="UTC", state=NormalizeState()), mapping)


def planner(client: FakeClient | None = None) -> Planner:
    return Planner(Resolver(client or FakeClient(), WID), WID, created_with="toggl-import")


async def plan(p: Planner, s: Sheet, **kwargs: Any) -> PlanChunk:
    return await p.plan(s.chunk, columns=s.mapping.columns, **kwargs)


def row(i: int, *, client: str = "Acme Corp", project: str = "Website", task: str = "Design",
        email: str = "olivia@example.com", description: str | None = None, tags: str = "",
        billable: str = "yes", day: int = 2) -> str:  # fmt: skip
    """A CSV line; ``i`` makes the start (and the default description) distinct."""
    hour, minute = divmod(i % 600, 60)
    text = description if description is not None else f"row {i}"
    tags_cell = f'"{tags}"' if "," in tags else tags
    return (f"2026-11-{day:02d},{8 + hour:02d}:{minute:02d},{8 + hour:02d}:{minute:02d}:30,{client},"
            f"{project},{task},{email},{text},{tags_cell},{billable}")  # fmt: skip


# -- bodies --------------------------------------------------------------------------------------
async def test_bodies_are_exactly_what_the_model_posts_and_keyed_like_the_ledger(tmp_path: Path) -> None:
    s = sheet(tmp_path, "week.csv", [
        row(1, tags="meeting, remote"),
        row(2, client="", project="Internal", task="", email="max@example.com", billable="no"),
        row(3, client="", project="", task="", email="", description="", billable=""),
        row(4, client="Initech", project="Mobile App", task="Backend", tags="urgent"),
    ])  # fmt: skip
    got = await plan(planner(), s)
    assert got.errors == []
    assert [r.body for r in got.rows] == [
        {"created_with": "toggl-import", "start": "2026-11-02T08:01:00Z", "workspace_id": WID,
         "duration": 30, "description": "row 1", "project_id": 201000001, "task_id": 301000001,
         "tags": ["meeting", "remote"], "billable": True, "user_id": 101},
        {"created_with": "toggl-import", "start": "2026-11-02T08:02:00Z", "workspace_id": WID,
         "duration": 30, "description": "row 2", "project_id": 201000004, "user_id": 102},
        {"created_with": "toggl-import", "start": "2026-11-02T08:03:00Z", "workspace_id": WID,
         "duration": 30},
        {"created_with": "toggl-import", "start": "2026-11-02T08:04:00Z", "workspace_id": WID,
         "duration": 30, "description": "row 4", "project_id": 201000005, "task_id": 301000004,
         "tags": ["urgent"], "billable": True, "user_id": 101},
    ]  # fmt: skip
    for planned in got.rows:
        posted = TimeEntryCreate.model_validate(planned.body).to_body()
        assert posted == planned.body and list(posted) == list(planned.body)
        assert planned.fingerprint == fingerprint(planned.body)
        assert planned.duplicate_of is None
    assert [r.row for r in got.rows] == [2, 3, 4, 5]


async def test_the_slow_way_gives_the_same_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When a built body is not exactly ``to_body()``'s, every row goes through the model: the
    plan must not change (here the check is forced to fail)."""
    lines = [row(i, tags="b, a" if i % 2 else "", billable="yes" if i % 3 else "no",
                 email=("olivia@example.com", "max@example.com", "ghost@example.com")[i % 3])
             for i in range(40)] + [row(4, email="max@example.com")]  # fmt: skip
    ghost = {"ghost@example.com": -5}  # resolves to an id the model refuses
    fast = await plan(planner(FakeClient(ghost)), sheet(tmp_path, "a.csv", lines))
    monkeypatch.setattr(payloads, "exact", lambda body: False)
    slow = await plan(planner(FakeClient(ghost)), sheet(tmp_path, "a.csv", lines))
    assert [(r.row, r.body, r.fingerprint, r.duplicate_of) for r in slow.rows] == [
        (r.row, r.body, r.fingerprint, r.duplicate_of) for r in fast.rows
    ]
    assert slow.errors == fast.errors
    assert len(fast.errors) == 13 and {e.reason for e in fast.errors} == {"invalid_entry"}
    assert fast.rows[-1].duplicate_of == 6


# -- duplicates in the run -----------------------------------------------------------------------
async def test_a_later_row_with_the_same_content_is_a_duplicate_of_the_first(tmp_path: Path) -> None:
    got = await plan(planner(), sheet(tmp_path, "a.csv", [row(1), row(2), row(1), row(1)]))
    assert [(r.row, r.duplicate_of, r.duplicate_in) for r in got.rows] == [
        (2, None, None), (3, None, None), (4, 2, "a.csv"), (5, 2, "a.csv")]
    assert got.rows[2].fingerprint == got.rows[0].fingerprint


async def test_the_same_content_in_two_files_of_one_run_is_a_duplicate(tmp_path: Path) -> None:
    p = planner()
    first = await plan(p, sheet(tmp_path, "a.csv", [row(1), row(2)]))
    second = await plan(p, sheet(tmp_path, "b.csv", [row(3), row(1), row(2)]))
    assert [r.duplicate_of for r in first.rows] == [None, None]
    assert [(r.row, r.duplicate_of, r.duplicate_in) for r in second.rows] == [
        (2, None, None), (3, 2, "a.csv"), (4, 3, "a.csv")]
    # the same rows at the same row numbers of another file are duplicates too
    third = await plan(p, sheet(tmp_path, "c.csv", [row(1)]))
    assert [(r.row, r.duplicate_of, r.duplicate_in) for r in third.rows] == [(2, 2, "a.csv")]


async def test_a_file_given_twice_is_read_twice_and_its_rows_are_duplicates(tmp_path: Path) -> None:
    p = planner()
    s = sheet(tmp_path, "a.csv", [row(1), row(2)])
    first, again = await plan(p, s), await plan(p, s)
    assert [r.duplicate_of for r in first.rows] == [None, None]
    assert [(r.row, r.duplicate_of) for r in again.rows] == [(2, 2), (3, 3)]


async def test_rows_whose_names_resolve_to_the_same_ids_are_duplicates(tmp_path: Path) -> None:
    got = await plan(planner(), sheet(tmp_path, "a.csv", [
        row(1, project="Website", email="olivia@example.com"),
        row(1, project=" website ", email="OLIVIA@example.com"),  # same entry, other spelling
    ]), done=lambda sources: {})  # fmt: skip
    assert [r.duplicate_of for r in got.rows] == [None, 2]
    assert got.rows[0].body == got.rows[1].body
    assert got.rows[0].source != got.rows[1].source  # not the same text


async def test_billable_is_not_part_of_an_entrys_identity(tmp_path: Path) -> None:
    got = await plan(planner(), sheet(tmp_path, "a.csv", [row(1, billable="yes"), row(1, billable="no")]))
    assert [r.duplicate_of for r in got.rows] == [None, 2]


# -- rows an earlier run created -----------------------------------------------------------------
@dataclass
class Record:
    fingerprint: str
    entry_id: int


async def test_rows_the_ledger_holds_as_created_are_set_aside_before_any_lookup(tmp_path: Path) -> None:
    s = sheet(tmp_path, "a.csv", [row(1), row(2), row(1)])
    keys = source_keys(s.chunk, WID)
    asked: list[list[str]] = []

    def done(sources: list[str]) -> dict[str, Record]:
        asked.append(sources)
        return {k: Record(f"fp-{i}", 3900000000 + i) for i, k in enumerate(dict.fromkeys(sources))}

    client = FakeClient()
    got = await plan(planner(client), s, done=done)
    assert asked == [keys]
    assert client.requests == []  # nothing to resolve: no request at all
    assert [(d.row, d.entry_id) for d in got.done] == [(2, 3900000000), (3, 3900000001)]
    assert [(r.row, r.duplicate_of, r.body, r.fingerprint) for r in got.rows] == [
        (4, 2, {}, "fp-0")  # a duplicate in the first run, a duplicate again
    ]


async def test_only_rows_not_done_are_resolved_and_planned(tmp_path: Path) -> None:
    s = sheet(tmp_path, "a.csv", [row(1), row(2, project="Support", task="Triage"), row(3)])
    keys = source_keys(s.chunk, WID)
    client = FakeClient()
    got = await plan(planner(client), s, done=lambda sources: {keys[1]: Record("fp", 7)})
    assert [(d.row, d.entry_id) for d in got.done] == [(3, 7)]
    assert [(r.row, r.source) for r in got.rows] == [(2, keys[0]), (4, keys[2])]
    assert sorted(client.requests) == sorted(
        f"/workspaces/{WID}/{kind}" for kind in ("clients", "projects", "tasks", "workspace_users")
    )


async def test_a_row_created_earlier_in_this_run_is_a_duplicate_not_done(tmp_path: Path) -> None:
    """A later chunk may find a row of this run already created: it is a duplicate of it."""
    p = planner()
    first = await plan(p, sheet(tmp_path, "a.csv", [row(1)]), done=lambda sources: {})
    created = {first.rows[0].source: Record(first.rows[0].fingerprint, 42)}
    later = await plan(
        p, sheet(tmp_path, "b.csv", [row(1)]), done=lambda s: {k: created[k] for k in s if k in created}
    )
    assert later.done == []
    assert [(r.row, r.duplicate_of, r.duplicate_in) for r in later.rows] == [(2, 2, "a.csv")]


async def test_without_a_done_lookup_no_source_key_is_computed(tmp_path: Path) -> None:
    got = await plan(planner(), sheet(tmp_path, "a.csv", [row(1), row(2)]))
    assert [r.source for r in got.rows] == ["", ""]


def test_source_keys_stay_what_earlier_ledgers_hold(tmp_path: Path) -> None:
    s = sheet(tmp_path, "a.csv", [row(1, tags="b, a", description='say "hi" \u2013 ok')])
    chunk = s.chunk
    raw = json.dumps([WID, chunk.email[0], int(chunk.start[0]), int(chunk.duration[0]),
                      chunk.description[0], chunk.client[0], chunk.project[0], chunk.task[0],
                      sorted(chunk.tags[0])], ensure_ascii=False)  # fmt: skip
    assert source_keys(chunk, WID) == [hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()]


# -- validation ----------------------------------------------------------------------------------
async def test_a_validation_error_names_the_files_column(tmp_path: Path) -> None:
    client = FakeClient(extra_users={"ghost@example.com": -5})  # an id Toggl would never send
    s = sheet(tmp_path, "a.csv", ["Day,From,To,Who", "2026-11-02,09:00,10:00,ghost@example.com",
                                  "2026-11-02,10:00,11:00,max@example.com"][1:],
              header="Day,From,To,Who", overrides={"email": "Who"})  # fmt: skip
    got = await plan(planner(client), s)
    (error,) = got.errors
    assert (error.file, error.row, error.column, error.reason) == ("a.csv", 2, "Who", "invalid_entry")
    assert error.message == "Toggl would refuse this entry: Input should be greater than 0"
    assert [(r.row, r.body["user_id"]) for r in got.rows] == [(3, 102)]


async def test_batch_validation_falls_back_to_one_at_a_time(tmp_path: Path) -> None:
    """Over several batches, only the rows with a part the model refuses are refused, each with
    its own column; every other row is planned, in order."""
    client = FakeClient(extra_users={"ghost@example.com": -5}, extra_projects={"Broken": -1})
    emails = ("olivia@example.com", "max@example.com", "ghost@example.com")
    lines = [row(i, email=emails[i % 3] if i % 5 else "olivia@example.com",
                 client="" if i % 7 == 0 else "Acme Corp",
                 project="Broken" if i % 7 == 0 else "Website", task="" if i % 7 == 0 else "Design",
                 day=2 + i // 600)
             for i in range(1300)]  # fmt: skip
    got = await plan(planner(client), sheet(tmp_path, "a.csv", lines))
    bad_user = {i + 2 for i in range(1300) if i % 5 and i % 3 == 2 and i % 7}
    bad_project = {i + 2 for i in range(1300) if i % 7 == 0}
    assert {(e.row, e.column) for e in got.errors} == (
        {(r, "Email") for r in bad_user} | {(r, "Project") for r in bad_project}
    )
    assert all(e.reason == "invalid_entry" for e in got.errors)
    assert [r.row for r in got.rows] == sorted(set(range(2, 1302)) - bad_user - bad_project)
    assert [e.row for e in got.errors] == sorted(e.row for e in got.errors)


async def test_a_bad_setting_refuses_every_row_without_naming_a_column(tmp_path: Path) -> None:
    p = Planner(Resolver(FakeClient(), WID), WID, created_with="   ")
    got = await plan(p, sheet(tmp_path, "a.csv", [row(1), row(2)]))
    assert got.rows == []
    assert [(e.row, e.column, e.message) for e in got.errors] == [
        (2, None, "Toggl would refuse this entry: created_with must name the application"),
        (3, None, "Toggl would refuse this entry: created_with must name the application"),
    ]


def test_the_column_of_a_payload_field_is_the_files_column() -> None:
    p = Planner(None, WID, created_with="toggl-import", columns={
        "start_date": "Datum", "start_time": "Von", "end_time": "Bis", "project": "Projekt",
        "task": "Aufgabe", "email": "E-Mail", "tags": "Schlagworte", "description": "Notiz"})  # fmt: skip
    fields = ("start", "duration", "stop", "project_id", "task_id", "user_id", "tags", "description",
              "billable", "workspace_id", None)  # fmt: skip
    assert [p.column(f) for f in fields] == ["Datum", "Bis", "Bis", "Projekt", "Aufgabe", "E-Mail",
                                             "Schlagworte", "Notiz", None, None, None]  # fmt: skip
    assert p.column("project") == "Projekt"  # resolution names mapping fields


async def test_a_description_longer_than_toggl_takes_is_refused_before_any_lookup(tmp_path: Path) -> None:
    client = FakeClient()
    s = sheet(tmp_path, "a.csv", [row(1, description="x" * 3001, email="nobody@example.com"),
                                  row(2, description="y" * 3000)],
              header=HEADER.replace("Description", "Notes"))  # fmt: skip
    got = await plan(planner(client), s)
    (error,) = got.errors
    assert (error.row, error.column, error.reason) == (2, "Notes", "description_too_long")
    assert error.message.startswith("the description is 3,001 characters long")
    assert [r.row for r in got.rows] == [3]


# -- --create-missing: only what valid rows need, after every other check ------------------------
def create_missing_rows() -> list[str]:
    return [
        row(1, client="Hooli", project="Nucleus", task="Compression"),  # all three new
        row(2, client="Acme Corp", project="Website", task="Design"),  # all known
        row(3, client="Hooli", project="Nucleus", task="Compression"),  # the same new names
        row(4, client="Pied Piper", project="Nucleus", task="", email="nobody@example.com"),
        row(5, client="Raviga", project="Fund", task="", description="x" * 3001),
        row(6, client="", project="Orion", task="", email="ghost@example.com"),  # an id the model refuses
        row(7, client="", project="Support", task="QA"),  # a new task under a known project
        row(1, client="hooli", project="nucleus", task="compression"),  # row 2 again: a duplicate
        row(8, client="Endframe", project="", task=""),  # a new client alone
    ]


NEEDED = [NewName("client", "Hooli", None), NewName("project", "Nucleus", "Hooli"),
          NewName("task", "Compression", "Nucleus"), NewName("task", "QA", "Support"),
          NewName("client", "Endframe", None)]  # fmt: skip
"""What the rows above need created, in order: nothing for Pied Piper, Raviga or Orion, whose
rows are refused for their email, their description and an id the model refuses."""


async def test_create_missing_creates_only_what_valid_rows_need_after_every_check(tmp_path: Path) -> None:
    toggl = CreatingClient(extra_users={"ghost@example.com": -5})
    resolver = Resolver(toggl, WID, create_missing=True)
    got = await plan(Planner(resolver, WID, created_with="toggl-import"),
                     sheet(tmp_path, "a.csv", create_missing_rows()))  # fmt: skip
    assert [(e.row, e.reason) for e in got.errors] == [
        (5, "unknown_user"), (6, "description_too_long"), (7, "invalid_entry")]  # fmt: skip
    assert toggl.created == [("client", "Hooli", None), ("project", "Nucleus", 901),
                             ("task", "Compression", 902), ("task", "QA", 201000003),
                             ("client", "Endframe", None)]  # fmt: skip
    assert resolver.created == NEEDED
    by_row = {r.row: r for r in got.rows}
    assert (by_row[2].body["project_id"], by_row[2].body["task_id"]) == (902, 903)
    assert (by_row[8].body["project_id"], by_row[8].body["task_id"]) == (201000003, 904)
    assert "project_id" not in by_row[10].body
    assert [(r.row, r.duplicate_of) for r in got.rows if r.duplicate_of] == [(9, 2)]
    for planned in got.rows:
        assert planned.creates is None  # created already: nothing is left unknown
        assert planned.fingerprint == fingerprint(planned.body)
        assert TimeEntryCreate.model_validate(planned.body).to_body() == planned.body


async def test_a_dry_run_plans_the_same_rows_with_null_ids_and_what_they_need(tmp_path: Path) -> None:
    s = sheet(tmp_path, "a.csv", create_missing_rows())
    extra = {"extra_users": {"ghost@example.com": -5}}
    real = await plan(Planner(Resolver(CreatingClient(**extra), WID, create_missing=True), WID,
                              created_with="toggl-import"), s)  # fmt: skip
    toggl = CreatingClient(**extra)
    resolver = Resolver(toggl, WID, create_missing=True, plan_only=True)
    dry = await plan(Planner(resolver, WID, created_with="toggl-import"), s)
    assert toggl.created == [] and toggl.requests.count(f"/workspaces/{WID}/projects") == 1
    assert dry.errors == real.errors
    assert [(r.row, r.duplicate_of) for r in dry.rows] == [(r.row, r.duplicate_of) for r in real.rows]
    assert resolver.would_create == NEEDED
    creates = {r.row: r.creates for r in dry.rows}
    assert creates == {2: {"client": "Hooli", "project": "Nucleus", "task": "Compression"}, 3: None,
                       4: {"client": "Hooli", "project": "Nucleus", "task": "Compression"},
                       8: {"task": "QA"}, 9: {"client": "Hooli", "project": "Nucleus", "task": "Compression"},
                       10: {"client": "Endframe"}}  # fmt: skip
    for planned, done in zip(dry.rows, real.rows, strict=True):
        ids = {"project_id", "task_id"} & {f"{kind}_id" for kind in planned.creates or ()}
        assert list(planned.body) == list(done.body)  # the same fields, in the same order...
        assert {k: v for k, v in planned.body.items() if k not in ids} == {
            k: v for k, v in done.body.items() if k not in ids}  # fmt: skip
        assert all(planned.body[k] is None and done.body[k] for k in ids)  # ...unknown ids null


@pytest.mark.parametrize("plan_only", [False, True])
async def test_create_missing_the_slow_way_gives_the_same_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan_only: bool
) -> None:
    s = sheet(tmp_path, "a.csv", create_missing_rows())

    async def planned() -> list[Any]:
        resolver = Resolver(CreatingClient(extra_users={"ghost@example.com": -5}), WID,
                            create_missing=True, plan_only=plan_only)  # fmt: skip
        got = await plan(Planner(resolver, WID, created_with="toggl-import"), s)
        return [got.errors, [(r.row, r.body, r.fingerprint, r.duplicate_of, r.creates) for r in got.rows]]

    fast = await planned()
    monkeypatch.setattr(payloads, "exact", lambda body: False)
    assert await planned() == fast


# -- fingerprints and the run's memory -----------------------------------------------------------
AWKWARD = ['say "hi"', "back\\slash", "tab\there", "nul\x00and\x1f", "naïve café ☕ 🚀", "",
           "ends with space ", "line\nbreak", "</script>", "\u2028"]  # fmt: skip


def columns_of(bodies: list[dict[str, Any]]) -> list[list[Any]]:
    """The columns ``payloads`` builds bodies from: user, start, duration, description, project,
    task, tags (tuples)."""
    return [[b.get("user_id") for b in bodies], [b["start"] for b in bodies],
            [b["duration"] for b in bodies], [b.get("description") for b in bodies],
            [b.get("project_id") for b in bodies], [b.get("task_id") for b in bodies],
            [tuple(b.get("tags") or ()) for b in bodies]]  # fmt: skip


@pytest.mark.parametrize("description", AWKWARD)
def test_fingerprints_are_the_ledgers_for_any_text(description: str) -> None:
    bodies = [
        {"created_with": "x", "start": "2026-11-02T08:00:00Z", "workspace_id": WID, "duration": 60,
         "description": description, "project_id": 1, "task_id": 2, "tags": ["b", description or "a"],
         "billable": True, "user_id": 3},
        {"created_with": "x", "start": "2026-11-02T08:00:00Z", "workspace_id": WID, "duration": 0,
         **({"description": description} if description else {})},
    ]  # fmt: skip
    texts = canonical_columns(WID, *columns_of(bodies))
    assert texts == [canonical(b) for b in bodies]
    assert fingerprint_texts(texts) == [fingerprint(b) for b in bodies]


def test_fingerprints_fall_back_to_the_ledgers_if_the_fast_form_ever_differs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bodies = [{"created_with": "x", "start": f"2026-11-02T08:00:{s:02d}Z", "workspace_id": WID,
               "duration": s} for s in range(60)]  # fmt: skip
    monkeypatch.setattr(bodies_module, "canonical_columns", lambda wid, *columns: ["[]"] * 60)
    got = bodies_module.canonical_texts(WID, columns_of(bodies), bodies.__getitem__)
    assert got == [canonical(b) for b in bodies]


@pytest.mark.parametrize(
    "options",
    [{}, {"buffered": 5, "block": 2, "bloom_bytes": 8}, {"buffered": 17, "block": 4, "bloom_bytes": 64}],
    ids=["memory", "files-tiny-filter", "files"],
)
def test_first_seen_is_dict_setdefault(
    options: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Equal to ``dict.setdefault`` in order, across batches, also when two keys share their first
    64 bits (forced here; about once in 10^19 pairs of real keys); with runs kept in memory, and
    with runs in files merged a few keys at a time behind a filter that often says "maybe"."""
    monkeypatch.setattr(duplicates._FileRun, "PIECE", 3)
    rng = random.Random(7)
    for _ in range(200):
        seen, reference = FirstSeen(directory=tmp_path, **options), {}
        prefixes = [rng.randbytes(8).hex() for _ in range(4)]
        pool = [rng.choice(prefixes) + rng.randbytes(8).hex() for _ in range(25)]
        pool += [rng.randbytes(16).hex() for _ in range(100)]
        n = 0
        for _ in range(rng.randint(1, 12)):
            keys = [rng.choice(pool) for _ in range(rng.randint(0, 40))]
            values = list(range(n, n + len(keys)))
            n += len(keys)
            expected = [reference.setdefault(k, v) for k, v in zip(keys, values, strict=True)]
            assert seen.setdefault_many(keys, values).tolist() == expected
        assert len(seen) == len(reference)


def test_what_the_run_has_seen_keeps_flat_memory_and_leaves_no_file(tmp_path: Path) -> None:
    """Keys past ``buffered`` go to files: memory stays the filter, the newest run and a few bytes
    a block; the files have no name and are closed with the object."""
    seen = FirstSeen(buffered=2000, block=64, directory=tmp_path)
    rng = random.Random(3)
    sizes = []
    for n in range(0, 60_000, 5000):
        seen.setdefault_many([rng.randbytes(16).hex() for _ in range(5000)], range(n, n + 5000))
        sizes.append(seen.nbytes)
    filter_bytes = 4 << 20
    assert all(size <= filter_bytes + 2 * 7000 * 24 for size in sizes)
    assert sizes[-1] - sizes[2] < 60_000 * 24 // 64 * 2  # ~the block index alone grows
    files = [run.file for run in seen._files]
    assert files and list(tmp_path.iterdir()) == []  # the older runs are in files without a name
    del seen
    assert all(file.closed for file in files)
