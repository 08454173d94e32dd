"""Normalised rows → validated ``TimeEntryCreate`` payloads, with in-file duplicates marked.

For each chunk: rows the ledger already holds as created (by their *source key*, the row's content
before names become ids) are set aside first, so a re-run resolves nothing and sends nothing.
The other rows' names are resolved per *distinct* (client, project, task) and email, never per
row; payloads are validated in batches through a ``TypeAdapter``; each gets the content
fingerprint the ledger keys rows by, and a later row of the run with the same content is a
duplicate of the first (posted once).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .ledger import fingerprint
from .models import TIME_ENTRY_CREATE_LIST, RowError, TimeEntryCreate
from .normalize import NormalizedChunk
from .resolve import Resolver, Unresolved

VALIDATION_BATCH = 512

DoneLookup = Callable[[list[str]], Mapping[str, Any]]
"""Source keys → ledger records of rows already created (``Ledger.created_sources``)."""


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """One row that becomes a request: where it came from, its body and its keys."""

    file: str
    row: int
    body: dict[str, Any]
    fingerprint: str
    source: str
    duplicate_of: int | None = None
    """Spreadsheet row of the earlier row of this run with the same content, if any."""


@dataclass(frozen=True, slots=True)
class DoneRow:
    """A row the ledger holds as created by an earlier run."""

    file: str
    row: int
    entry_id: int | None


@dataclass
class PlanChunk:
    rows: list[PlannedRow]
    errors: list[RowError]
    done: list[DoneRow] = field(default_factory=list)


def source_keys(chunk: NormalizedChunk, workspace_id: int) -> list[str]:
    """Content keys of the rows before resolution: names, not ids."""
    out = []
    for values in zip(
        chunk.email.tolist(),
        chunk.start.tolist(),
        chunk.duration.tolist(),
        chunk.description.tolist(),
        chunk.client.tolist(),
        chunk.project.tolist(),
        chunk.task.tolist(),
        chunk.tags.tolist(),
        strict=True,
    ):
        raw = json.dumps([workspace_id, *values[:-1], sorted(values[-1])], ensure_ascii=False)
        out.append(hashlib.blake2b(raw.encode(), digest_size=16).hexdigest())
    return out


class Planner:
    """Turns normalised chunks into payloads for one workspace, remembering what the run has seen."""

    def __init__(
        self,
        resolver: Resolver | None,
        workspace_id: int,
        *,
        created_with: str,
        columns: Mapping[str, str] | None = None,
    ) -> None:
        self._resolver = resolver
        self._wid = workspace_id
        self._created_with = created_with
        self._columns = dict(columns or {})
        self._seen: dict[str, int] = {}
        self._seen_sources: dict[str, int] = {}

    def column(self, field_name: str | None) -> str | None:
        """The file's column that fed a payload field (for messages), else the field's name."""
        if field_name is None:
            return None
        return self._columns.get(field_name, field_name)

    async def plan(
        self,
        chunk: NormalizedChunk,
        *,
        done: DoneLookup | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> PlanChunk:
        if columns is not None:
            self._columns = dict(columns)
        errors = list(chunk.errors)
        keys = source_keys(chunk, self._wid)
        rows = chunk.rows.tolist()
        known = done(keys) if done is not None else {}
        finished: list[DoneRow] = []
        repeated: list[PlannedRow] = []
        todo: list[int] = []
        for i, key in enumerate(keys):
            record = known.get(key)
            if record is None:
                todo.append(i)
                continue
            first = self._seen_sources.setdefault(key, rows[i])
            if first == rows[i]:
                finished.append(DoneRow(chunk.file, rows[i], record.entry_id))
            else:  # a second row of the run with the same content: a duplicate, as in the first run
                repeated.append(PlannedRow(chunk.file, rows[i], {}, record.fingerprint, key, first))
        project_ids, task_ids, user_ids = await self._resolve(chunk, todo, rows, errors)
        starts = chunk.start_text().tolist()
        durations = chunk.duration.tolist()
        descriptions = chunk.description.tolist()
        tags = chunk.tags.tolist()
        billable = chunk.billable.tolist() if chunk.billable is not None else None
        dicts: list[dict[str, Any]] = []
        where: list[int] = []
        for i in todo:
            if project_ids[i] is False:
                continue
            body: dict[str, Any] = {
                "created_with": self._created_with,
                "start": starts[i],
                "workspace_id": self._wid,
                "duration": durations[i],
            }
            if descriptions[i]:
                body["description"] = descriptions[i]
            if project_ids[i] is not None:
                body["project_id"] = project_ids[i]
            if task_ids[i] is not None:
                body["task_id"] = task_ids[i]
            if tags[i]:
                body["tags"] = list(tags[i])
            if billable is not None and billable[i]:
                body["billable"] = True
            if user_ids[i] is not None:
                body["user_id"] = user_ids[i]
            dicts.append(body)
            where.append(i)
        planned: list[PlannedRow] = repeated
        for models, idx in self._validate(dicts, where, chunk.file, rows, errors):
            for model, i in zip(models, idx, strict=True):
                body = model.to_body()
                key = fingerprint(body)
                first = self._seen.setdefault(key, rows[i])
                self._seen_sources.setdefault(keys[i], first)
                duplicate_of = None if first == rows[i] else first
                planned.append(PlannedRow(chunk.file, rows[i], body, key, keys[i], duplicate_of))
        errors.sort(key=lambda e: e.row)
        return PlanChunk(planned, errors, finished)

    def _validate(
        self,
        dicts: list[dict[str, Any]],
        where: list[int],
        file: str,
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
                        field_name = str(first["loc"][0]) if first["loc"] else None
                        errors.append(
                            RowError(
                                file=file,
                                row=rows[i],
                                column=self.column(field_name),
                                message=first["msg"].removeprefix("Value error, "),
                                reason="invalid_entry",
                            )
                        )
                yield good, good_idx

    async def _resolve(
        self, chunk: NormalizedChunk, todo: list[int], rows: list[int], errors: list[RowError]
    ) -> tuple[list[Any], list[int | None], list[int | None]]:
        """Ids per row; ``project_ids[i] is False`` marks a row refused here."""
        n = len(rows)
        project_ids: list[Any] = [None] * n
        task_ids: list[int | None] = [None] * n
        user_ids: list[int | None] = [None] * n
        if self._resolver is None or not todo:
            return project_ids, task_ids, user_ids
        clients, projects = chunk.client.tolist(), chunk.project.tolist()
        tasks, emails = chunk.task.tolist(), chunk.email.tolist()
        triples = {i: (clients[i], projects[i], tasks[i]) for i in todo}
        by_triple, by_email = await self._resolver.resolve_many(
            triples.values(), (emails[i] for i in todo)
        )
        for i in todo:
            got = by_triple[triples[i]]
            user = by_email[emails[i]]
            problem = got if isinstance(got, Unresolved) else user
            if isinstance(problem, Unresolved):
                project_ids[i] = False
                errors.append(
                    RowError(
                        file=chunk.file,
                        row=rows[i],
                        column=self.column(problem.column),
                        message=problem.message,
                        reason=problem.reason,
                    )
                )
                continue
            assert not isinstance(got, Unresolved) and not isinstance(user, Unresolved)
            project_ids[i], task_ids[i] = got
            user_ids[i] = user
        return project_ids, task_ids, user_ids
