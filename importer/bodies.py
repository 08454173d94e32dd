"""Create bodies from aligned columns, their canonical texts, and validation through the model.

``bodies_of`` writes the bodies exactly as ``TimeEntryCreate.to_body()`` gives them;
``canonical_texts`` the canonical JSON the fingerprints hash, straight from the columns (checked on
a sample); ``SharedParts`` validates what many rows share once per distinct value;
``validate_whole`` puts whole rows through the model, naming the culprit of a failing batch.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

from pydantic import ValidationError

from . import messages
from .keys import canonical, canonical_columns
from .models import TIME_ENTRY_CREATE_LIST, RowError, TimeEntryCreate

VALIDATION_BATCH = 512
SAMPLE_START = "2026-01-01T00:00:00Z"
"""The start of the sample bodies shared parts are checked in (and the width of a canonical one)."""


class SharedParts:
    """What many rows share (the run's constants, a project/task pair, a user, a tag set,
    billable), validated through the model once per distinct value for the run."""

    def __init__(self, created_with: str, workspace_id: int) -> None:
        self._created_with = created_with
        self._wid = workspace_id
        self.parts: dict[Hashable, bool] = {}
        """Shared parts seen → valid through the model or not."""

    def check(
        self, pairs: set[Any], users: set[Any], tags: set[Any], billable: bool
    ) -> set[Hashable]:
        """Validate each shared part not seen before, once, in ``TypeAdapter`` batches (one at a
        time when a batch fails); return every part known to be invalid."""
        found: set[Hashable] = {("constants", self._created_with, self._wid)}
        found.update(("ids", pair) for pair in pairs if pair != (None, None))
        found.update(("user_id", user) for user in users if user is not None)
        found.update(("tags", tag_set) for tag_set in tags if tag_set)
        if billable:
            found.add(("billable", True))
        new = [part for part in found if part not in self.parts]
        for lo in range(0, len(new), VALIDATION_BATCH):
            batch = new[lo : lo + VALIDATION_BATCH]
            samples = [self.sample(part) for part in batch]
            try:
                TIME_ENTRY_CREATE_LIST.validate_python(samples)
                self.parts.update(dict.fromkeys(batch, True))
            except ValidationError:
                for part, sample in zip(batch, samples, strict=True):
                    self.parts[part] = valid(sample)
        return {part for part, ok in self.parts.items() if not ok}

    def sample(self, part: Hashable) -> dict[str, Any]:
        """A body with ``part`` and known-good values for everything else (one rule at a time)."""
        assert isinstance(part, tuple)
        kind, value = part[0], part[1:]
        sample: dict[str, Any] = {
            "created_with": self._created_with,
            "start": SAMPLE_START,
            "workspace_id": self._wid,
            "duration": 0,
        }
        if kind == "ids":
            project_id, task_id = value[0]
            for name, got in (("project_id", project_id), ("task_id", task_id)):
                if got is not None:
                    sample[name] = got
        elif kind == "tags":
            sample["tags"] = list(value[0])
        elif kind != "constants":
            sample[kind] = value[0]
        return sample


def validate_whole(
    dicts: list[dict[str, Any]],
    where: list[int],
    file: str,
    rows: list[int],
    errors: list[RowError],
    column: Callable[[str | None], str | None],
) -> Iterator[tuple[list[TimeEntryCreate], list[int]]]:
    """Whole rows through the model in ``TypeAdapter`` batches; a failing batch row by row."""
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
                            column=column(field_name),
                            message=messages.invalid_entry(first["msg"].removeprefix("Value error, ")),
                            reason="invalid_entry",
                        )
                    )
            yield good, good_idx


def bodies_of(
    created_with: str,
    workspace_id: int,
    user_ids: list[int | None],
    starts: list[str],
    durations: list[int],
    descriptions: list[str | None],
    project_ids: list[int | None],
    task_ids: list[int | None],
    tags: list[tuple[str, ...]],
    billable: list[bool],
) -> list[dict[str, Any]]:
    """Create bodies from aligned columns: only fields that carry a value, in the model's field
    order, exactly as ``TimeEntryCreate.to_body()`` gives them."""
    bodies: list[dict[str, Any]] = []
    for start, duration, description, project_id, task_id, tag_set, bill, user_id in zip(
        starts, durations, descriptions, project_ids, task_ids, tags, billable, user_ids,
        strict=True,
    ):  # fmt: skip
        body: dict[str, Any] = {
            "created_with": created_with,
            "start": start,
            "workspace_id": workspace_id,
            "duration": duration,
        }
        if description:
            body["description"] = description
        if project_id is not None:
            body["project_id"] = project_id
        if task_id is not None:
            body["task_id"] = task_id
        if tag_set:
            body["tags"] = list(tag_set)
        if bill:
            body["billable"] = True
        if user_id is not None:
            body["user_id"] = user_id
        bodies.append(body)
    return bodies


def body_at(args: tuple[Any, ...], j: int) -> dict[str, Any]:
    """The body ``bodies_of(*args)[j]``, alone."""
    created_with, workspace_id, *columns = args
    return bodies_of(created_with, workspace_id, *([column[j]] for column in columns))[0]


def canonical_texts(
    workspace_id: int, columns: Sequence[Sequence[Any]], body: Callable[[int], dict[str, Any]]
) -> list[str]:
    """``keys.canonical`` of the canonical bodies ``body(0)``, ``body(1)`` ..., written from the
    columns they are built from (``keys.canonical_columns``, ~4x faster). One body in 64 is
    checked against ``keys.canonical``: on any difference all are written by it instead, so a
    change of the ledger's canonical form is caught, not trusted (``tests/test_payloads.py``)."""
    out = canonical_columns(workspace_id, *columns)
    sample = range(0, len(out), max(len(out) // 64, 1))
    if any(out[i] != canonical(body(i)) for i in sample):
        return [canonical(body(i)) for i in range(len(out))]
    return out


def exact(body: dict[str, Any]) -> bool:
    """Is ``body`` valid, and exactly what the model posts for it (keys, their order, values)?"""
    try:
        posted = TimeEntryCreate.model_validate(body).to_body()
    except ValidationError:
        return False
    return posted == body and list(posted) == list(body)


def valid(body: dict[str, Any]) -> bool:
    try:
        TimeEntryCreate.model_validate(body)
    except ValidationError:
        return False
    return True
