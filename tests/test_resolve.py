"""Resolver: names to ids against the real sandbox over TCP (matching, scoping, messages,
creation once and only when asked, who may enter time for whom, and one paged set of GETs per
entity kind however many rows there are)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest

from importer.client import TogglClient
from importer.config import Credentials
from importer.resolve import Missing, NewName, Resolver, ToCreate, TripleResult, Unresolved
from importer.sandbox import Sandbox

WID = 1234567
ACME, GLOBEX, INITECH = 61000001, 61000002, 61000003
WEBSITE_ACME, WEBSITE_GLOBEX, SUPPORT, INTERNAL, MOBILE, LEGACY = (
    201000001,
    201000002,
    201000003,
    201000004,
    201000005,
    201000006,
)
DESIGN, DEVELOPMENT, TRIAGE, BACKEND = 301000001, 301000002, 301000003, 301000004

PROJECTS_GET = ("GET", "/workspaces/{wid}/projects")
TASKS_GET = ("GET", "/workspaces/{wid}/tasks")
CLIENTS_GET = ("GET", "/workspaces/{wid}/clients")
USERS_GET = ("GET", "/workspaces/{wid}/workspace_users")
PROJECTS_POST = ("POST", "/workspaces/{wid}/projects")
CLIENTS_POST = ("POST", "/workspaces/{wid}/clients")
TASKS_POST = ("POST", "/workspaces/{wid}/projects/{pid}/tasks")


class SpyClient(TogglClient):
    """The real client, recording every GET's path and page number."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pages: dict[str, list[int]] = {}

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        self.pages.setdefault(path, []).append(int((params or {}).get("page", 0)))
        return await super().get_json(path, params)


def client_for(sb: Sandbox, session: aiohttp.ClientSession) -> SpyClient:
    return SpyClient(
        session, sb.base_url, Credentials.from_token(sb.token), reports_url=sb.reports_url
    )


@pytest.fixture
def toggl(sandbox: Sandbox, session: aiohttp.ClientSession) -> SpyClient:
    return client_for(sandbox, session)


@pytest.fixture
def resolver(toggl: SpyClient) -> Resolver:
    return Resolver(toggl, WID)


def unresolved(value: object) -> Unresolved:
    assert isinstance(value, Unresolved), f"expected a refusal, got {value!r}"
    return value


def to_create(value: object) -> ToCreate:
    assert isinstance(value, ToCreate), f"expected a name to create, got {value!r}"
    return value


async def made(resolver: Resolver, result: TripleResult) -> TripleResult:
    """A triple's ids once what it needs is created (what the planner does for a valid row)."""
    if not isinstance(result, Missing):
        return result
    got = await resolver.create(result.creates())
    refusal = next((g for g in got.values() if isinstance(g, Unresolved)), None)
    if refusal is not None:
        return refusal
    project = got[result.project] if isinstance(result.project, ToCreate) else result.project
    task = None if result.task is None else got[result.task]
    assert isinstance(project, int | None) and isinstance(task, int | None)
    return (project, task)


async def created_id(resolver: Resolver, name: object) -> int:
    got = (await resolver.create([to_create(name)]))[to_create(name)]
    assert isinstance(got, int), got
    return got


# -- projects ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "project", "expected"),
    [
        (None, "Support", SUPPORT),
        (None, "Internal", INTERNAL),
        (None, "Mobile App", MOBILE),
        ("Acme Corp", "Website", WEBSITE_ACME),
        ("Globex", "Website", WEBSITE_GLOBEX),
        ("Acme Corp", "Support", SUPPORT),
        ("Initech", "Mobile App", MOBILE),
    ],
)
async def test_project_by_exact_name(
    resolver: Resolver, client: str | None, project: str, expected: int
) -> None:
    assert await resolver.project_id(project, client) == expected


@pytest.mark.parametrize(
    ("client", "project", "expected"),
    [
        (None, "support", SUPPORT),
        (None, "  SUPPORT  ", SUPPORT),
        (None, "mobile app", MOBILE),
        (None, " Internal", INTERNAL),
        (" acme corp ", "website", WEBSITE_ACME),
        ("GLOBEX", " WebSite ", WEBSITE_GLOBEX),
    ],
)
async def test_project_by_unique_match_ignoring_case_and_spaces(
    resolver: Resolver, client: str | None, project: str, expected: int
) -> None:
    assert await resolver.project_id(project, client) == expected


async def test_an_exact_name_beats_case_insensitive_lookalikes(
    sandbox: Sandbox, resolver: Resolver
) -> None:
    shouting = sandbox.state.add_project(WID, {"name": "SUPPORT", "client_id": GLOBEX})
    assert await resolver.project_id("Support") == SUPPORT
    assert await resolver.project_id("SUPPORT") == shouting["id"]
    refused = unresolved(await resolver.project_id("support"))
    assert refused.reason == "ambiguous_project"
    assert "(Acme Corp)" in refused.message
    assert "(Globex)" in refused.message


async def test_website_without_client_is_ambiguous_naming_both_candidates(
    resolver: Resolver,
) -> None:
    refused = unresolved(await resolver.project_id("Website"))
    assert refused.column == "project"
    assert refused.reason == "ambiguous_project"
    assert "'Website' (Acme Corp)" in refused.message
    assert "'Website' (Globex)" in refused.message
    assert "client" in refused.message  # tells the fix: add a client column


async def test_unknown_project_suggests_the_close_name(resolver: Resolver) -> None:
    refused = unresolved(await resolver.project_id("Suport"))
    assert refused.column == "project"
    assert refused.reason == "unknown_project"
    assert "'Suport' not found" in refused.message
    assert "did you mean 'Support'" in refused.message


async def test_unknown_project_without_a_close_name_says_how_to_fix(resolver: Resolver) -> None:
    refused = unresolved(await resolver.project_id("Quarterly Planning"))
    assert refused.reason == "unknown_project"
    assert "did you mean" not in refused.message
    assert "--create-missing" in refused.message


@pytest.mark.parametrize(
    ("client", "project"),
    [("Acme Corp", "Internal"), ("Globex", "Support"), ("Initech", "Website")],
)
async def test_with_a_client_only_its_projects_count(
    resolver: Resolver, client: str, project: str
) -> None:
    refused = unresolved(await resolver.project_id(project, client))
    assert refused.reason == "unknown_project"
    assert f"for client {client!r}" in refused.message


@pytest.mark.parametrize(
    ("client", "hint"),
    [("Umbrella", "--create-missing"), ("Acme Crop", "did you mean 'Acme Corp'")],
)
async def test_unknown_client_refuses_the_row(resolver: Resolver, client: str, hint: str) -> None:
    # Umbrella exists, but in another workspace: it must not be found here.
    refused = unresolved(await resolver.project_id("Website", client))
    assert refused.column == "client"
    assert refused.reason == "unknown_client"
    assert repr(client) in refused.message
    assert hint in refused.message


async def test_an_archived_project_is_refused_before_any_post(resolver: Resolver) -> None:
    """Toggl refuses entries on an archived project: the row is refused here, saving a request
    (and the dry run says so), rather than sent to fail."""
    for refused in (await resolver.project_id("Legacy Migration"),
                    await resolver.project_id("legacy migration", "Globex")):  # fmt: skip
        assert unresolved(refused).reason == "archived_project"
        assert "'Legacy Migration' is archived" in unresolved(refused).message


async def test_an_active_project_wins_over_an_archived_namesake(
    sandbox: Sandbox, resolver: Resolver
) -> None:
    sandbox.state.add_project(WID, {"name": "Support", "client_id": INITECH, "active": False})
    assert await resolver.project_id("Support") == SUPPORT
    # the client's only 'Support' is the archived one: refused, not sent to fail
    assert unresolved(await resolver.project_id("Support", "Initech")).reason == "archived_project"


# -- tasks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("triple", "expected"),
    [
        (("Acme Corp", "Website", "Design"), (WEBSITE_ACME, DESIGN)),
        (("Acme Corp", "Website", "development"), (WEBSITE_ACME, DEVELOPMENT)),
        ((None, "Support", " Triage "), (SUPPORT, TRIAGE)),
        ((None, "Mobile App", "Backend"), (MOBILE, BACKEND)),
        ((None, "Internal", None), (INTERNAL, None)),
        ((None, None, None), (None, None)),
        (("Globex", None, None), (None, None)),
    ],
)
async def test_tasks_resolve_within_their_project(
    resolver: Resolver, triple: tuple[str | None, str | None, str | None], expected: tuple[int, int]
) -> None:
    by_triple, _ = await resolver.resolve_many([triple], [])
    assert by_triple == {triple: expected}


@pytest.mark.parametrize(
    "triple",
    [("Globex", "Website", "Design"), (None, "Support", "Design"), (None, "Internal", "Backend")],
)
async def test_a_task_of_another_project_is_not_matched(
    resolver: Resolver, triple: tuple[str | None, str | None, str | None]
) -> None:
    by_triple, _ = await resolver.resolve_many([triple], [])
    refused = unresolved(by_triple[triple])
    assert refused.column == "task"
    assert refused.reason == "unknown_task"
    assert repr(triple[2]) in refused.message


async def test_a_task_without_a_project_is_refused(resolver: Resolver) -> None:
    by_triple, _ = await resolver.resolve_many([(None, None, "Design")], [])
    refused = unresolved(by_triple[(None, None, "Design")])
    assert (refused.column, refused.reason) == ("task", "task_without_project")


async def test_a_task_without_a_project_is_refused_even_with_create_missing(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    resolver = Resolver(toggl, WID, create_missing=True)
    by_triple, _ = await resolver.resolve_many([(None, None, "Brand New Task")], [])
    assert unresolved(by_triple[(None, None, "Brand New Task")]).reason == "task_without_project"
    assert sandbox.state.requests[TASKS_POST] == 0


async def test_an_unknown_client_also_refuses_a_row_without_a_project(resolver: Resolver) -> None:
    by_triple, _ = await resolver.resolve_many([("Nobody Inc", None, None)], [])
    assert unresolved(by_triple[("Nobody Inc", None, None)]).reason == "unknown_client"


# -- users ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("olivia@example.com", 101),
        ("OLIVIA@Example.COM", 101),
        ("  max@example.com ", 102),
    ],
)
async def test_email_to_user_id(resolver: Resolver, email: str, expected: int) -> None:
    assert await resolver.user_id(email) == expected


@pytest.mark.parametrize("email", ["fiona@example.com", "nobody@example.com"])
async def test_unknown_email_is_refused(resolver: Resolver, email: str) -> None:
    # fiona exists, but is a member of another workspace only
    refused = unresolved(await resolver.user_id(email))
    assert (refused.column, refused.reason) == ("email", "unknown_user")
    assert repr(email) in refused.message
    assert str(WID) in refused.message


async def test_a_misspelt_email_gets_a_suggestion(resolver: Resolver) -> None:
    refused = unresolved(await resolver.user_id("olivai@example.com"))
    assert "did you mean 'olivia@example.com'" in refused.message


async def test_resolve_many_maps_emails_and_leaves_empty_ones_alone(resolver: Resolver) -> None:
    _, users = await resolver.resolve_many([], ["max@example.com", None, "", "MAX@example.com"])
    assert users["max@example.com"] == 102
    assert users["MAX@example.com"] == 102
    assert users[None] is None
    assert users[""] is None


# -- create_missing ------------------------------------------------------------------------------


async def test_create_missing_looks_up_without_creating(sandbox: Sandbox, toggl: SpyClient) -> None:
    """Looking up never writes: a missing name comes back as what to create, with its parents,
    so that the planner can check everything else about its rows first."""
    resolver = Resolver(toggl, WID, create_missing=True)
    by_triple, _ = await resolver.resolve_many(
        [("Newco", "Launch", "Kickoff"), (None, "Support", "QA"), ("Hooli", None, None)], []
    )
    newco = by_triple[("Newco", "Launch", "Kickoff")]
    assert isinstance(newco, Missing)
    assert [(n.kind, n.name) for n in newco.creates()] == [
        ("client", "Newco"), ("project", "Launch"), ("task", "Kickoff")]  # fmt: skip
    assert by_triple[(None, "Support", "QA")] == Missing(SUPPORT, ToCreate("task", "qa", SUPPORT, "QA"))
    assert by_triple[("Hooli", None, None)] == Missing(None, None, ToCreate("client", "hooli", None, "Hooli"))
    assert not any(m == "POST" for m, _ in sandbox.state.requests)
    assert resolver.created == []


async def test_create_missing_creates_each_missing_entity_once_under_concurrency(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    resolver = Resolver(toggl, WID, create_missing=True)
    triple = ("Newco", "Launch", "Kickoff")

    async def one() -> TripleResult:
        by_triple, _ = await resolver.resolve_many([triple], [])
        return await made(resolver, by_triple[triple])

    ids = set(await asyncio.gather(*(one() for _ in range(25))))
    assert len(ids) == 1
    (project_id, task_id) = ids.pop()  # type: ignore[misc]
    assert sandbox.state.requests[CLIENTS_POST] == 1
    assert sandbox.state.requests[PROJECTS_POST] == 1
    assert sandbox.state.requests[TASKS_POST] == 1
    client = next(c for c in sandbox.state.clients.values() if c["name"] == "Newco")
    assert sandbox.state.projects[project_id]["cid"] == client["id"]
    assert sandbox.state.tasks[task_id]["pid"] == project_id
    assert resolver.created == [NewName("client", "Newco", None), NewName("project", "Launch", "Newco"),
                                NewName("task", "Kickoff", "Launch")]  # fmt: skip
    # a later chunk finds them: nothing more to create
    again, _ = await resolver.resolve_many([triple, ("newco", "launch", None)], [])
    assert again == {triple: (project_id, task_id), ("newco", "launch", None): (project_id, None)}


async def test_create_missing_concurrent_single_names(sandbox: Sandbox, toggl: SpyClient) -> None:
    resolver = Resolver(toggl, WID, create_missing=True)
    wanted = [await resolver.project_id("Brand New"), await resolver.client_id("Hooli"),
              await resolver.task_id("QA", SUPPORT)]  # fmt: skip
    for name in wanted:
        ids = await asyncio.gather(*(created_id(resolver, name) for _ in range(20)))
        assert len(set(ids)) == 1
    assert sandbox.state.requests[PROJECTS_POST] == 1
    assert sandbox.state.requests[CLIENTS_POST] == 1
    assert sandbox.state.requests[TASKS_POST] == 1
    assert sandbox.state.tasks[await created_id(resolver, wanted[2])]["pid"] == SUPPORT


async def test_a_created_project_is_found_again_by_case_and_spaces(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    resolver = Resolver(toggl, WID, create_missing=True)
    first = await created_id(resolver, await resolver.project_id("  Brand New "))
    assert sandbox.state.projects[first]["name"] == "Brand New"  # trimmed before creating
    assert await resolver.project_id("brand new") == first
    assert sandbox.state.requests[PROJECTS_POST] == 1


async def test_two_spellings_of_one_missing_name_are_created_once(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    resolver = Resolver(toggl, WID, create_missing=True)
    names = [await resolver.project_id("Brand New"), await resolver.project_id(" brand NEW")]
    assert names[0] == names[1]
    got = await resolver.create(names)
    assert len(got) == 1 and sandbox.state.requests[PROJECTS_POST] == 1
    assert resolver.created == [NewName("project", "Brand New", None)]  # as first written


async def test_create_missing_leaves_existing_and_ambiguous_names_alone(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    resolver = Resolver(toggl, WID, create_missing=True)
    assert await resolver.project_id("Support") == SUPPORT
    assert await resolver.task_id("triage", SUPPORT) == TRIAGE
    assert await resolver.client_id("Globex") == GLOBEX
    assert unresolved(await resolver.project_id("Website")).reason == "ambiguous_project"
    posts = [k for k, n in sandbox.state.requests.items() if k[0] == "POST" and n]
    assert posts == []
    assert resolver.created == []


async def test_create_missing_scopes_a_new_project_to_its_client(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    resolver = Resolver(toggl, WID, create_missing=True)
    # "Support" exists for Acme Corp only: Globex gets its own.
    created = await created_id(resolver, await resolver.project_id("Support", "Globex"))
    assert created != SUPPORT
    assert sandbox.state.projects[created]["cid"] == GLOBEX
    assert await resolver.project_id("Support", "Acme Corp") == SUPPORT
    assert await resolver.project_id("Support", "Globex") == created
    assert resolver.created == [NewName("project", "Support", "Globex")]


async def test_a_name_under_a_parent_toggl_refused_to_create_is_refused_with_it(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    resolver = Resolver(toggl, WID, create_missing=True)
    await resolver.client_id("Acme Corp")  # the clients are read now...
    sandbox.state.add_client(WID, "Hidden Co")  # ...and someone takes the name meanwhile
    by_triple, _ = await resolver.resolve_many([("Hidden Co", "Launch", "Kickoff")], [])
    missing = by_triple[("Hidden Co", "Launch", "Kickoff")]
    assert isinstance(missing, Missing)
    got = await resolver.create(missing.creates())
    assert {unresolved(g).reason for g in got.values()} == {"create_refused"}
    assert sandbox.state.requests[CLIENTS_POST] == 1
    assert sandbox.state.requests[PROJECTS_POST] == sandbox.state.requests[TASKS_POST] == 0


async def test_without_create_missing_nothing_is_created(sandbox: Sandbox, resolver: Resolver) -> None:
    by_triple, _ = await resolver.resolve_many(
        [("Newco", "Launch", None), (None, "Launch", None), (None, "Support", "QA")], []
    )
    assert all(isinstance(v, Unresolved) for v in by_triple.values())
    assert not any(n for k, n in sandbox.state.requests.items() if k[0] == "POST")


# -- one paged read per entity kind --------------------------------------------------------------

SEED_TRIPLES: list[tuple[str | None, str | None, str | None]] = [
    ("Acme Corp", "Website", "Design"),
    ("acme corp", "website", "development"),
    ("Globex", "Website", None),
    (None, "Support", "Triage"),
    (None, "Internal", None),
    ("Initech", "Mobile App", "Backend"),
    (None, "Legacy Migration", None),
    (None, "Website", None),
    (None, "Suport", None),
    (None, None, None),
]
SEED_EXPECTED: dict[tuple[str | None, str | None, str | None], tuple[int | None, int | None] | str] = {
    ("Acme Corp", "Website", "Design"): (WEBSITE_ACME, DESIGN),
    ("acme corp", "website", "development"): (WEBSITE_ACME, DEVELOPMENT),
    ("Globex", "Website", None): (WEBSITE_GLOBEX, None),
    (None, "Support", "Triage"): (SUPPORT, TRIAGE),
    (None, "Internal", None): (INTERNAL, None),
    ("Initech", "Mobile App", "Backend"): (MOBILE, BACKEND),
    (None, "Legacy Migration", None): "archived_project",
    (None, "Website", None): "ambiguous_project",
    (None, "Suport", None): "unknown_project",
    (None, None, None): (None, None),
}
EMAILS = ["olivia@example.com", "MAX@example.com", None, "nobody@example.com"]


def rows(n: int) -> tuple[list[tuple[str | None, str | None, str | None]], list[str | None]]:
    return (
        [SEED_TRIPLES[i % len(SEED_TRIPLES)] for i in range(n)],
        [EMAILS[i % len(EMAILS)] for i in range(n)],
    )


def check_seed_answers(
    by_triple: Mapping[Any, Any], users: Mapping[str | None, Any]
) -> None:
    for triple, expected in SEED_EXPECTED.items():
        got = by_triple[triple]
        if isinstance(expected, str):
            assert unresolved(got).reason == expected, triple
        else:
            assert got == expected, triple
    assert users["olivia@example.com"] == 101
    assert users["MAX@example.com"] == 102
    assert users[None] is None
    assert unresolved(users["nobody@example.com"]).reason == "unknown_user"


ENDPOINTS = {"projects": PROJECTS_GET, "tasks": TASKS_GET, "clients": CLIENTS_GET,
             "workspace_users": USERS_GET}


def assert_read_once(sb: Sandbox, toggl: SpyClient, sizes: Mapping[str, int], per_page: int) -> None:
    """Each kind was read as one paged set: pages 1, 2, ... each once, as many as its items
    need, plus at most one more (the empty or repeated page that tells a client it is done);
    the sandbox saw exactly those GETs."""
    for kind, key in ENDPOINTS.items():
        pages = toggl.pages[f"/workspaces/{WID}/{kind}"]
        needed = max(1, math.ceil(sizes.get(kind, 0) / per_page))
        assert pages == list(range(1, len(pages) + 1)), kind
        assert needed <= len(pages) <= needed + 1, (kind, pages)
        assert sb.state.requests[key] == len(pages), kind


def sizes_of(sb: Sandbox) -> dict[str, int]:
    return {
        "projects": sum(p["wid"] == WID for p in sb.state.projects.values()),
        "tasks": sum(t["wid"] == WID for t in sb.state.tasks.values()),
    }


async def test_a_thousand_rows_cost_one_get_per_entity_kind(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    resolver = Resolver(toggl, WID)
    triples, emails = rows(1000)
    by_triple, users = await resolver.resolve_many(triples, emails)
    check_seed_answers(by_triple, users)
    # a second chunk of the same run asks nothing more
    again, _ = await resolver.resolve_many(*rows(1000))
    assert again == by_triple
    assert_read_once(sandbox, toggl, sizes_of(sandbox), per_page=200)
    assert toggl.requests_made == sum(len(p) for p in toggl.pages.values()) <= 8
    assert not any(n for k, n in sandbox.state.requests.items() if k[0] == "POST")


async def test_concurrent_chunks_still_fetch_each_kind_once(sandbox: Sandbox, toggl: SpyClient) -> None:
    resolver = Resolver(toggl, WID)
    results = await asyncio.gather(*(resolver.resolve_many(*rows(100)) for _ in range(10)))
    for by_triple, users in results:
        check_seed_answers(by_triple, users)
    assert_read_once(sandbox, toggl, sizes_of(sandbox), per_page=200)


async def test_large_catalogues_are_read_page_by_page_once(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    """450 projects and 250 tasks: 200 a page, every page read once, the last ones found."""
    extra = [
        sandbox.state.add_project(WID, {"name": f"Project {i:03}", "client_id": ACME})
        for i in range(444)
    ]
    extra_tasks = [sandbox.state.add_task(WID, SUPPORT, f"Task {i:03}", True) for i in range(246)]
    resolver = Resolver(toggl, WID)
    triples, emails = rows(1000)
    names = [(None, p["name"], None) for p in extra] + [(None, "Support", t["name"]) for t in extra_tasks]
    by_triple, users = await resolver.resolve_many(triples + names * 2, emails)
    check_seed_answers(by_triple, users)
    assert all(by_triple[(None, p["name"], None)] == (p["id"], None) for p in extra)
    assert all(by_triple[(None, "Support", t["name"])] == (SUPPORT, t["id"]) for t in extra_tasks)
    assert sizes_of(sandbox) == {"projects": 450, "tasks": 250}
    assert_read_once(sandbox, toggl, sizes_of(sandbox), per_page=200)
    assert toggl.pages[f"/workspaces/{WID}/projects"][:3] == [1, 2, 3]
    assert toggl.pages[f"/workspaces/{WID}/tasks"] == [1, 2]  # total_count says when to stop


async def test_capped_pages_are_all_read_once_per_kind(
    sandbox_factory: Any, session: aiohttp.ClientSession
) -> None:
    cap = 2
    sb: Sandbox = await sandbox_factory(page_size_cap=cap)
    toggl = client_for(sb, session)
    toggl.per_page = cap  # a plain list ends at a short page: ask for what the server gives
    resolver = Resolver(toggl, WID)
    by_triple, users = await resolver.resolve_many(*rows(1000))
    check_seed_answers(by_triple, users)
    # 6 projects: 3 pages of 2; 4 tasks: 2 pages (clients and users are not paged by Toggl)
    assert_read_once(sb, toggl, sizes_of(sb), per_page=cap)
    assert len(toggl.pages[f"/workspaces/{WID}/projects"]) >= 3
    assert toggl.pages[f"/workspaces/{WID}/tasks"] == [1, 2]


@pytest.mark.parametrize(
    ("typo", "existing"),
    [("Intrenal", "Internal"), ("Mobil App", "Mobile App"), ("support ", "Support"),
     ("Suppport", "Support")],
)
async def test_create_missing_does_not_turn_a_typo_into_a_new_project(
    sandbox: Sandbox, toggl: SpyClient, typo: str, existing: str
) -> None:
    creating = Resolver(toggl, WID, create_missing=True)
    got = await creating.project_id(typo)
    if typo.strip().casefold() == existing.casefold():
        assert isinstance(got, int)  # the same name, spelled in another case: no typo at all
        return
    refusal = unresolved(got)
    assert f"did you mean {existing!r}" in refusal.message
    assert "looks like a typo" in refusal.message
    assert creating.created == []
    assert not any(m == "POST" for m, _ in sandbox.state.requests)


async def test_create_missing_still_creates_a_name_two_edits_away(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    creating = Resolver(toggl, WID, create_missing=True)
    got = await created_id(creating, await creating.project_id("Website 2", "Acme Corp"))
    assert sandbox.state.projects[got]["cid"] == ACME
    assert creating.created == [NewName("project", "Website 2", "Acme Corp")]


async def test_a_name_close_to_one_this_run_created_is_no_typo(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    """A typo is a name one letter from one Toggl had before the run: whether a chunk created
    'Nucleus' before another asks for 'Nucleas' must not change the answer (nor may a dry run,
    which creates nothing, answer otherwise)."""
    for plan_only in (False, True):
        resolver = Resolver(toggl, WID, create_missing=True, plan_only=plan_only)
        await resolver.create([to_create(await resolver.project_id(f"Nucleus {plan_only}"))])
        assert isinstance(await resolver.project_id(f"Nucleas {plan_only}"), ToCreate)


async def test_a_dry_run_lists_what_create_missing_would_create_and_creates_nothing(
    sandbox: Sandbox, toggl: SpyClient
) -> None:
    planning = Resolver(toggl, WID, create_missing=True, plan_only=True)
    triples = [("Hooli", "Nucleus", "Compression"), ("Hooli", "Nucleus", None), (None, "Internal", None),
               (None, "Support", "QA")]  # fmt: skip
    by_triple, _ = await planning.resolve_many(triples, [None])
    first = by_triple[triples[0]]
    assert isinstance(first, Missing)
    assert by_triple[(None, "Internal", None)] == (201000004, None)
    got = await planning.create([n for t in triples if isinstance(m := by_triple[t], Missing)
                                 for n in m.creates()])  # fmt: skip
    assert set(got.values()) == {None}  # no ids: nothing was created
    assert planning.would_create == [
        NewName("client", "Hooli", None), NewName("project", "Nucleus", "Hooli"),
        NewName("task", "Compression", "Nucleus"), NewName("task", "QA", "Support"),
    ]  # fmt: skip
    # from now on they are matched as the real run would match what it created
    again, _ = await planning.resolve_many([("hooli", "nucleus", "compression"), ("Hooli", None, None)], [])
    assert again[("hooli", "nucleus", "compression")] == first
    assert again[("Hooli", None, None)] == Missing(None, None, first.creates()[0])
    await planning.create(first.creates())
    assert len(planning.would_create) == 4
    assert not any(m == "POST" for m, _ in sandbox.state.requests)


# -- who may enter time for whom -----------------------------------------------------------------


async def test_a_member_cannot_enter_time_for_others_and_one_get_me_says_so(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    """Toggl takes entries for other people from workspace admins only: with a member's token,
    someone else's email refuses the row at plan time (their own is fine)."""
    member = SpyClient(session, sandbox.base_url, Credentials.from_token("sandbox-member-token"))
    resolver = Resolver(member, WID)
    _, users = await resolver.resolve_many([], ["olivia@example.com", "max@example.com", None])
    refused = unresolved(users["olivia@example.com"])
    assert (refused.column, refused.reason) == ("email", "not_workspace_admin")
    assert "'olivia@example.com'" in refused.message and "admin" in refused.message
    assert users["max@example.com"] == 102
    assert sandbox.state.requests[("GET", "/me")] == 1
    await resolver.user_id("olivia@example.com")
    assert sandbox.state.requests[("GET", "/me")] == 1  # asked once per run


async def test_an_admin_enters_time_for_anyone(sandbox: Sandbox, resolver: Resolver) -> None:
    _, users = await resolver.resolve_many([], ["olivia@example.com", "max@example.com"])
    assert users == {"olivia@example.com": 101, "max@example.com": 102}
    assert sandbox.state.requests[("GET", "/me")] == 1


async def test_no_get_me_when_nobody_enters_time_for_a_person(sandbox: Sandbox, resolver: Resolver) -> None:
    await resolver.resolve_many([(None, "Support", None)], [None, ""])
    assert sandbox.state.requests[("GET", "/me")] == 0
