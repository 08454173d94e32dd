"""Normalised rows → validated ``TimeEntryCreate`` payloads, with in-file duplicates marked.

Names are resolved per *distinct* (client, project, task) and email of a chunk, never per row;
payloads are validated in batches through a ``TypeAdapter``; each payload gets the content
fingerprint the ledger keys rows by, and a second row of the run with the same content is a
duplicate of the first (posted once).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from .models import TIME_ENTRY_CREATE_LIST, RowError, TimeEntryCreate
from .normalize import NormalizedChunk
from .resolve import Resolver, Unresolved

VALIDATION_BATCH = 512


def fingerprint(body: dict[str, Any]) -> str:
    """Content key of an entry: workspace, user, start, duration, description, project, task, tags.

    Equal content gives an equal key whatever the key or tag order; a row edited in the file gets a
    new key (the ledger keys rows by content, not by position).
    """
    duration = body.get("duration")
    if duration is None and body.get("stop"):
        start = datetime.fromisoformat(body["start"])
        duration = int((datetime.fromisoformat(body["stop"]) - start).total_seconds())
    key = [
        body.get("workspace_id"),
        body.get("user_id"),
        body.get("start"),
        duration,
        body.get("description") or "",
        body.get("project_id"),
        body.get("task_id"),
        sorted(body.get("tags") or []),
    ]
    raw = json.dumps(key, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """One row that becomes a request: where it came from, its body and its content key."""

    file: str
    row: int
    body: dict[str, Any]
    fingerprint: str
    duplicate_of: int | None = None
    """Spreadsheet row of the earlier row of this run with the same content, if any."""


@dataclass
class PlanChunk:
    rows: list[PlannedRow]
    errors: list[RowError]


class Planner:
    """Turns normalised chunks into payloads for one workspace, remembering what the run has seen."""

    def __init__(
        self, resolver: Resolver | None, workspace_id: int, *, created_with: str
    ) -> None:
        self._resolver = resolver
        self._wid = workspace_id
        self._created_with = created_with
        self._seen: dict[str, tuple[str, int]] = {}

    async def plan(self, chunk: NormalizedChunk) -> PlanChunk:
        errors = list(chunk.errors)
        n = len(chunk.rows)
        ids = await self._resolve(chunk, errors)
        project_ids, task_ids, user_ids, refused = ids
        dicts: list[dict[str, Any]] = []
        where: list[int] = []
        starts = chunk.start.tolist()
        durations = chunk.duration.tolist()
        rows = chunk.rows.tolist()
        billable = chunk.billable.tolist() if chunk.billable is not None else None
        for i in range(n):
            if refused[i]:
                continue
            body: dict[str, Any] = {
                "created_with": self._created_with,
                "start": datetime.fromtimestamp(starts[i], UTC),
                "workspace_id": self._wid,
                "duration": durations[i],
            }
            description = chunk.description[i] if chunk.description is not None else None
            if description:
                body["description"] = description
            if project_ids[i] is not None:
                body["project_id"] = project_ids[i]
            if task_ids[i] is not None:
                body["task_id"] = task_ids[i]
            tags = chunk.tags[i] if chunk.tags is not None else None
            if tags:
                body["tags"] = tags
            if billable is not None and billable[i]:
                body["billable"] = True
            if user_ids[i] is not None:
                body["user_id"] = user_ids[i]
            dicts.append(body)
            where.append(i)
        planned: list[PlannedRow] = []
        for models, idx in self._validate(dicts, where, chunk, rows, errors):
            for model, i in zip(models, idx, strict=True):
                body = model.to_body()
                key = fingerprint(body)
                first = self._seen.get(key)
                if first is None:
                    self._seen[key] = (chunk.file, rows[i])
                planned.append(
                    PlannedRow(chunk.file, rows[i], body, key, None if first is None else first[1])
                )
        return PlanChunk(planned, errors)

    def _validate(
        self,
        dicts: list[dict[str, Any]],
        where: list[int],
        chunk: NormalizedChunk,
        rows: list[int],
        errors: list[RowError],
    ) -> Iterator[tuple[list[TimeEntryCreate], list[int]]]:
        for lo in range(0, len(dicts), VALIDATION_BATCH):
            batch, idx = dicts[lo : lo + VALIDATION_BATCH], where[lo : lo + VALIDATION_BATCH]
            try:
                yield TIME_ENTRY_CREATE_LIST.validate_python(batch), idx
            except ValidationError:
                good: list[TimeEntryCreate] = []
                good_idx: list[int] = []
                for body, i in zip(batch, idx, strict=True):
                    try:
                        good.append(TimeEntryCreate.model_validate(body))
                        good_idx.append(i)
                    except ValidationError as exc:
                        first = exc.errors()[0]
                        column = str(first["loc"][0]) if first["loc"] else None
                        errors.append(
                            RowError(
                                file=chunk.file,
                                row=rows[i],
                                column=column,
                                message=first["msg"].removeprefix("Value error, "),
                                reason="invalid_entry",
                            )
                        )
                yield good, good_idx

    async def _resolve(
        self, chunk: NormalizedChunk, errors: list[RowError]
    ) -> tuple[list[int | None], list[int | None], list[int | None], list[bool]]:
        n = len(chunk.rows)
        none: list[int | None] = [None] * n
        refused = [False] * n
        projects = chunk.project if chunk.project is not None else [None] * n
        clients = chunk.client if chunk.client is not None else [None] * n
        tasks = chunk.task if chunk.task is not None else [None] * n
        emails = chunk.email if chunk.email is not None else [None] * n
        triples = list(zip(clients, projects, tasks, strict=True))
        if self._resolver is None or (not any(map(any, triples)) and not any(emails)):
            return none, list(none), list(none), refused
        by_triple, by_email = await self._resolver.resolve_many(triples, emails)
        project_ids: list[int | None] = list(none)
        task_ids: list[int | None] = list(none)
        user_ids: list[int | None] = list(none)
        rows = chunk.rows.tolist()
        for i in range(n):
            got = by_triple[triples[i]]
            user = by_email[emails[i]]
            problem = got if isinstance(got, Unresolved) else user
            if isinstance(problem, Unresolved):
                refused[i] = True
                errors.append(
                    RowError(
                        file=chunk.file,
                        row=rows[i],
                        column=problem.column,
                        message=problem.message,
                        reason=problem.reason,
                    )
                )
                continue
            assert not isinstance(got, Unresolved) and not isinstance(user, Unresolved)
            project_ids[i], task_ids[i] = got
            user_ids[i] = user
        return project_ids, task_ids, user_ids, refused
