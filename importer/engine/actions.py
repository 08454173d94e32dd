"""What the engine does to Toggl: one action per entry -- create, update or delete.

Each kind has its safety, which the executor follows and nothing else needs to know:

=========  ==============  ======================================  ==============================
kind       request         committed before it leaves              a lost answer means
=========  ==============  ======================================  ==============================
create     POST            ``sending``                             *in doubt*: read back (no sooner
                                                                   than the request timeout after
                                                                   it left) before any re-send
update     PUT  /{id}      ``updating`` (with the new body)        asked again (idempotent); a 404
                                                                   means the entry is gone: a
                                                                   conflict
delete     DELETE /{id}    ``deleting``                            asked again (idempotent); a 404
                                                                   means it is gone: done
=========  ==============  ======================================  ==============================

An ``Action`` carries where its row came from (for the report), its ledger key, the body (for a
create, made when first read: see ``payloads.PlannedRow``), the entry id it acts on and the lane
(whose credentials send it).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Protocol

from ..models import RowStatus


class Kind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


MARKED = {Kind.CREATE: RowStatus.SENDING, Kind.UPDATE: RowStatus.UPDATING, Kind.DELETE: RowStatus.DELETING}
"""The state the ledger commits (durably) before an action's request leaves."""

REPEATABLE = frozenset({Kind.UPDATE, Kind.DELETE})
"""Kinds whose request may simply be sent again when its answer was lost."""


class Planned(Protocol):
    """A planned row (``payloads.PlannedRow`` fits): where it came from, its keys and its body."""

    @property
    def file(self) -> str: ...
    @property
    def row(self) -> int: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def body(self) -> dict[str, Any]: ...


class Action:
    """One request to make, exactly once. Build with ``create``, ``update`` or ``delete``."""

    __slots__ = ("_body", "_planned", "entry_id", "file", "fingerprint", "kind", "lane",
                 "new_fingerprint", "previous", "row", "source_key", "text", "workspace_id")  # fmt: skip

    def __init__(
        self,
        kind: Kind,
        fingerprint: str,
        file: str,
        row: int,
        workspace_id: int,
        *,
        planned: Planned | None = None,
        body: Mapping[str, Any] | None = None,
        entry_id: int | None = None,
        lane: str = "",
    ) -> None:
        self.kind = kind
        self.fingerprint = fingerprint
        """The ledger row's key (for an update: its key *before* the update)."""
        self.file = file
        self.row = row
        self.workspace_id = workspace_id
        self._planned = planned
        self._body = dict(body) if body is not None else None
        self.entry_id = entry_id
        self.lane = lane
        """Whose credentials send it: ``""`` the run's own, else a person's email."""
        self.new_fingerprint = planned.fingerprint if planned is not None and kind is Kind.UPDATE else None
        """An update's content key after it is applied."""
        self.source_key = planned.source if planned is not None else None
        self.previous: Mapping[str, Any] | None = None
        """An update's: the body last written, whose fields the new one may clear."""
        self.text: str | None = None
        """A create's body as JSON, when it was written already (for the ledger): sent as is."""

    @classmethod
    def create(
        cls, planned: Planned, workspace_id: int, *, lane: str = "", text: str | None = None
    ) -> Action:
        action = cls(Kind.CREATE, planned.fingerprint, planned.file, planned.row, workspace_id,
                     planned=planned, lane=lane)  # fmt: skip
        action.text = text
        return action

    @classmethod
    def update(
        cls,
        fingerprint: str,
        entry_id: int,
        planned: Planned,
        workspace_id: int,
        *,
        previous: Mapping[str, Any] | None = None,
        lane: str = "",
    ) -> Action:
        """Change the entry of ledger row ``fingerprint`` (last written with ``previous``) to
        ``planned``'s body."""
        action = cls(Kind.UPDATE, fingerprint, planned.file, planned.row, workspace_id,
                     planned=planned, entry_id=entry_id, lane=lane)  # fmt: skip
        action.previous = previous
        return action

    @classmethod
    def again(
        cls,
        kind: Kind,
        fingerprint: str,
        entry_id: int,
        file: str,
        row: int,
        workspace_id: int,
        body: Mapping[str, Any] | None = None,
        new_fingerprint: str | None = None,
        previous: Mapping[str, Any] | None = None,
        *,
        lane: str = "",
    ) -> Action:
        """An update or delete an earlier run left marked (asked again: harmless)."""
        action = cls(kind, fingerprint, file, row, workspace_id, body=body, entry_id=entry_id, lane=lane)
        action.new_fingerprint = new_fingerprint
        action.previous = previous
        return action

    @classmethod
    def delete(
        cls, fingerprint: str, entry_id: int, file: str, row: int, workspace_id: int, *, lane: str = ""
    ) -> Action:
        return cls(Kind.DELETE, fingerprint, file, row, workspace_id, entry_id=entry_id, lane=lane)

    @property
    def body(self) -> dict[str, Any]:
        """The body sent (a create's or an update's); ``{}`` for a delete."""
        if self._body is None:
            self._body = self._planned.body if self._planned is not None else {}
        return self._body

    @property
    def wire(self) -> dict[str, Any] | bytes:
        """What a create sends: its JSON as written for the ledger, else its body."""
        return self.text.encode() if self.text is not None else self.body

    @property
    def request_body(self) -> dict[str, Any]:
        """What is sent: a create's body; for an update, the new body with every field the
        previous one had and the new one lacks cleared (Toggl keeps a field a PUT leaves out)."""
        body = self.body
        if self.kind is not Kind.UPDATE:
            return body
        return update_body(self.previous or {}, body)

    @property
    def creates(self) -> dict[str, str] | None:
        """A dry run's create: the names ``--create-missing`` would create for it first."""
        return getattr(self._planned, "creates", None)

    @property
    def marked(self) -> RowStatus:
        return MARKED[self.kind]

    def __repr__(self) -> str:
        return (f"Action({self.kind.value}, {self.file!r} row {self.row}, "
                f"fingerprint={self.fingerprint[:12]!r}, entry_id={self.entry_id})")  # fmt: skip


CLEARED: dict[str, Any] = {"description": "", "project_id": None, "task_id": None, "tags": [],
                           "billable": False}  # fmt: skip
"""How a PUT clears each optional field a row no longer has."""


def update_body(previous: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body that turns an entry written with ``previous`` into one written with ``new``:
    ``new`` without ``created_with`` (a create's field), plus each optional field ``previous``
    had and ``new`` lacks, cleared."""
    body = {k: v for k, v in new.items() if k != "created_with"}
    for name, empty in CLEARED.items():
        if name not in new and previous.get(name) not in (None, "", [], False):
            body[name] = empty
    return body
