"""What resolving a name gives back: an id, why not (``Unresolved``), or what to create first
(``ToCreate``, inside a ``Missing`` triple); ``NewName`` lists what was (or would be) created."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Unresolved:
    """Why a name did not become an id: the column it came from and a message with the fix."""

    column: str
    message: str
    reason: str


@dataclass(frozen=True)
class ToCreate:
    """A name ``create_missing`` creates when a valid row needs it: its kind, its folded name
    (``key``), what it goes under -- an existing id, another ``ToCreate`` (a project under a
    new client, a task under a new project) or nothing -- and the name as first written (trimmed),
    which is what is created. Equal when kind, key and parent are."""

    kind: str
    key: str
    parent: int | ToCreate | None
    name: str = field(compare=False)

    def chain(self) -> tuple[ToCreate, ...]:
        """The names to create for this one, parents first (this one last)."""
        parent = self.parent.chain() if isinstance(self.parent, ToCreate) else ()
        return (*parent, self)


@dataclass(frozen=True)
class Missing:
    """A triple that resolves once some of its names are created (``create_missing``): the
    project (an id, or one to create), the task to create, and the client to create for a row
    that names a client but no project."""

    project: int | ToCreate | None
    task: ToCreate | None = None
    client: ToCreate | None = None

    def creates(self) -> tuple[ToCreate, ...]:
        """Everything to create for this triple, each once, parents first."""
        found: dict[ToCreate, None] = {}
        for item in (self.client, self.project, self.task):
            if isinstance(item, ToCreate):
                found.update(dict.fromkeys(item.chain()))
        return tuple(found)


class NewName(NamedTuple):
    """A name created (or, in a dry run, to be created): kind, name, and the name of what it goes
    under (a project's client, a task's project), if anything."""

    kind: str
    name: str
    parent: str | None


Resolution = int | Unresolved
Triple = tuple[str | None, str | None, str | None]
"""(client, project, task) names of a row."""
TripleResult = tuple[int | None, int | None] | Missing | Unresolved
"""(project_id, task_id) of a triple, what to create first for it, or why it did not resolve."""
Ref = int | ToCreate
"""An entity: its id, or the name that will be created for it."""
