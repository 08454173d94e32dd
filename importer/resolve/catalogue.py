"""The names of one kind in a workspace and how a name matches them: exactly, else ignoring case
and surrounding spaces, else one edit away (a typo, never created) or close (a "did you mean");
``NameCache`` keeps what a resolver fetched, by workspace."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .results import Ref, ToCreate


def _key(name: str) -> str:
    return name.strip().casefold()


@dataclass
class _Named:
    id: int
    name: str
    active: bool = True
    parent: Ref | None = None  # client of a project, project of a task
    made: bool = False
    """Created by this run (or planned by a dry run): never the "typo" a new name is close to."""
    planned: ToCreate | None = None
    """A dry run's stand-in for a name it would create: matching it gives this, not an id."""

    @property
    def ref(self) -> Ref:
        return self.planned if self.planned is not None else self.id


@dataclass
class _Catalogue:
    """Entities of one kind, indexed by their folded name."""

    kind: str
    items: list[_Named] = field(default_factory=list)

    def add(self, item: _Named) -> None:
        self.items.append(item)

    def match(self, name: str, parent: Ref | None = None, scoped: bool = False) -> list[_Named]:
        pool = [i for i in self.items if not scoped or i.parent == parent]
        exact = [i for i in pool if i.name == name]
        if not exact:
            exact = [i for i in pool if _key(i.name) == _key(name)]
        if len(exact) > 1:
            active = [i for i in exact if i.active]
            if len(active) == 1:
                return active
        return exact

    def one_edit_away(self, name: str, parent: Ref | None = None, scoped: bool = False) -> str | None:
        """A name that existed before the run one edit (insert, delete, replace, swap; case
        ignored) from ``name`` (names this run creates do not count: a dry run and the real run
        must judge a name alike, whichever chunk created the other one first)."""
        wanted = _key(name)
        for item in self.items:
            if item.made:
                continue
            if (not scoped or item.parent == parent) and _one_edit(_key(item.name), wanted):
                return item.name
        return None

    def suggest(self, name: str, parent: Ref | None = None, scoped: bool = False) -> list[str]:
        names = sorted({i.name for i in self.items if not scoped or i.parent == parent})
        return difflib.get_close_matches(name, names, n=3, cutoff=0.6)


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one insert, delete, replace or adjacent swap."""
    if a == b or abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < 3:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1 :]


@dataclass
class NameCache:
    """What a resolver fetched, by workspace: pass one to several runs that may share it (the
    demo's two passes over its own sandbox, where nothing else changes a name)."""

    catalogues: dict[tuple[int, str], _Catalogue] = field(default_factory=dict)
    users: dict[int, dict[str, int]] = field(default_factory=dict)
    admins: dict[int, frozenset[int] | None] = field(default_factory=dict)
    """Per workspace, the ids of its admins; ``None`` when the listing does not say."""
    caller: int | None = None
    """The id of the token's user (``/me``), once asked."""
