"""What the planner hands on: the rows to post (``PlannedRow``, bodies made when first read), the
rows an earlier run created (``DoneRow``), a chunk's plan (``PlanChunk``) and the source keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .models import RowError

if TYPE_CHECKING:
    from .normalize import NormalizedChunk

ID_OF = {"project": "project_id", "task": "task_id"}
"""The body field that holds the id of a kind of name ``--create-missing`` creates."""
_SOURCE_JSON = json.JSONEncoder(ensure_ascii=False)  # == json.dumps(..., ensure_ascii=False)


class PlannedRow:
    """One row that becomes a request: where it came from, its body and its keys.

    ``body`` is made when first read, for all the rows of its chunk at once (``Bodies``): a dry
    run never reads it, a real run reads it as it adds the rows to the ledger. Not frozen (it
    would cost ~0.5 µs a row more to build); treat it as read-only.

    ``creates`` is set only by a dry run with ``--create-missing``, on a row that needs names the
    real run creates first: kind → name (``client``, ``project``, ``task``; only those created).
    Its ``body`` then has ``null`` for the ids not known yet, and ``fingerprint`` is made with
    stand-in ids (equal for rows that will get equal ids). A real run creates them before it
    plans the row, so there ``creates`` is always ``None``.
    """

    __slots__ = ("_at", "_bodies", "_body", "creates", "duplicate_in", "duplicate_of", "file",
                 "fingerprint", "row", "source")  # fmt: skip

    def __init__(
        self,
        file: str,
        row: int,
        body: dict[str, Any] | None,
        fingerprint: str,
        source: str,
        duplicate_of: int | None = None,
        duplicate_in: str | None = None,
        bodies: Bodies | None = None,
        at: int = 0,
        creates: dict[str, str] | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self._body = body
        self.fingerprint = fingerprint
        self.source = source
        self.duplicate_of = duplicate_of
        """Spreadsheet row of the earlier row of this run with the same content, if any."""
        self.duplicate_in = duplicate_in
        """The file of that earlier row (it may be another file of the run)."""
        self._bodies = bodies
        """Where ``body`` comes from while it is ``None``: ``bodies[at]``."""
        self._at = at
        self.creates = creates

    @property
    def body(self) -> dict[str, Any]:
        body = self._body
        if body is None:
            assert self._bodies is not None
            body = self._bodies[self._at]
            if self.creates:
                body = _unknown_ids(body, self.creates)
            self._body = body
            self._bodies = None  # the chunk's bodies live while a row has not read its own
        return body

    def __repr__(self) -> str:
        return (f"PlannedRow(file={self.file!r}, row={self.row!r}, fingerprint={self.fingerprint!r}, "
                f"duplicate_of={self.duplicate_of!r}, duplicate_in={self.duplicate_in!r}, "
                f"creates={self.creates!r})")  # fmt: skip


class Bodies:
    """The create bodies of the planned rows of a chunk: made by ``make()`` when one is first
    read (or given)."""

    __slots__ = ("_bodies", "_make")

    def __init__(self, bodies: Callable[[], list[dict[str, Any]]] | list[dict[str, Any]]) -> None:
        self._make = bodies if callable(bodies) else None
        self._bodies = None if callable(bodies) else bodies

    def __getitem__(self, at: int) -> dict[str, Any]:
        if self._bodies is None:
            assert self._make is not None
            self._bodies, self._make = self._make(), None
        return self._bodies[at]


@dataclass(frozen=True, slots=True)
class DoneRow:
    """A row the ledger holds as created by an earlier run."""

    file: str
    row: int
    entry_id: int | None
    fingerprint: str = ""
    """The ledger row's key (its content fingerprint)."""
    key: str | None = None
    """The ledger row's ``--key`` value, if it has one."""


@dataclass
class PlanChunk:
    rows: list[PlannedRow]
    errors: list[RowError]
    done: list[DoneRow] = field(default_factory=list)


def source_keys(chunk: NormalizedChunk, workspace_id: int) -> list[str]:
    """Content keys of the rows before resolution: names, not ids."""
    encode, out = _SOURCE_JSON.encode, []
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
        raw = encode([workspace_id, *values[:-1], sorted(values[-1])])
        out.append(hashlib.blake2b(raw.encode(), digest_size=16).hexdigest())
    return out


def _unknown_ids(body: dict[str, Any], creates: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``body`` with ``null`` for the ids of the names in ``creates`` (not created yet),
    every field where it was."""
    fields = {ID_OF[kind] for kind in creates if kind in ID_OF}
    return {name: None if name in fields else value for name, value in body.items()}
