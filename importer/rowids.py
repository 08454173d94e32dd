"""Names → ids for the rows of a chunk, per *distinct* value, with stand-ins for names to create.

``ChunkIds.resolve`` looks names up per distinct (client, project, task) and email through the
run's ``Resolver`` (remembered for later chunks) and refuses the rows whose names do not resolve.
With ``--create-missing`` a name that does not exist comes back as ``resolve.Missing`` and stands
in as a *fake id* (``FAKE_ID_BASE`` + n, one per name to create), so that its rows go through every
other check like the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .models import RowError
from .normalize import NormalizedChunk
from .resolve import Missing, Resolver, ToCreate, TripleResult, Unresolved

FAKE_ID_BASE = 1 << 62
"""Where the ids stand in for names not created yet start: positive (the model checks ids as
usual) and far above any id Toggl gives, so a fingerprint with one never equals a real entry's."""


@dataclass(frozen=True, slots=True)
class RowIds:
    """Resolved rows of a chunk: their indices, and their ids aligned with them (object arrays;
    fake ids for names to create)."""

    rows: np.ndarray
    project_ids: np.ndarray
    task_ids: np.ndarray
    user_ids: np.ndarray
    missing: np.ndarray | None = None
    """``Missing`` (or ``None``) of each row, when some row needs a name created."""


class ChunkIds:
    """The ids of the names of a run's rows: what each distinct value resolved to, and the fake id
    of each name to create."""

    def __init__(self, resolver: Resolver | None) -> None:
        self._resolver = resolver
        self._triples: dict[tuple[Any, ...], Any] = {}
        self._emails: dict[Any, Any] = {}
        """What each distinct (client, project, task) and email resolved to, for later chunks."""
        self._fakes: dict[ToCreate, int] = {}
        """The id standing in for each name to create (``FAKE_ID_BASE`` + n)."""

    async def resolve(
        self,
        chunk: NormalizedChunk,
        todo: np.ndarray,
        rows: list[int],
        errors: list[RowError],
        column: Callable[[str | None], str | None],
    ) -> RowIds:
        """Ids of the rows ``todo`` whose names resolve; the others are refused into ``errors``.

        Names are looked up per distinct (client, project, task) and email (``pandas.factorize``
        finds them without a Python loop over the rows) and mapped back onto the rows by code.
        """
        n = len(todo)
        none = np.full(n, None, dtype=object)
        if self._resolver is None or n == 0:
            return RowIds(todo, none, none, none)
        triple_codes, triples = distinct(chunk.client[todo], chunk.project[todo], chunk.task[todo])
        email_codes, emails = distinct(chunk.email[todo])
        new_triples = [t for t in triples if t not in self._triples]
        new_emails = [e for (e,) in emails if e not in self._emails]
        if new_triples or new_emails:
            by_triple, by_email = await self._resolver.resolve_many(new_triples, new_emails)
            self._triples.update(by_triple)
            self._emails.update(by_email)
        results = [self._triples[t] for t in triples]
        users = [self._emails[email] for (email,) in emails]
        problem = np.array([isinstance(r, Unresolved) for r in results])[triple_codes]
        problem |= np.array([isinstance(u, Unresolved) for u in users])[email_codes]
        for j in np.flatnonzero(problem).tolist():
            got, user = results[triple_codes[j]], users[email_codes[j]]
            why = got if isinstance(got, Unresolved) else user
            assert isinstance(why, Unresolved)
            errors.append(
                RowError(
                    file=chunk.file,
                    row=rows[todo[j]],
                    column=column(why.column),
                    message=why.message,
                    reason=why.reason,
                )
            )
        keep = ~problem
        kept_codes = triple_codes[keep]
        ok = [self.pair(r) for r in results]
        project_ids = objects([p for p, _ in ok])[kept_codes]
        task_ids = objects([t for _, t in ok])[kept_codes]
        user_ids = objects([None if isinstance(u, Unresolved) else u for u in users])
        missing = None
        if any(isinstance(r, Missing) for r in results):  # --create-missing: a name is new
            missing = objects([r if isinstance(r, Missing) else None for r in results])[kept_codes]
        return RowIds(todo[keep], project_ids, task_ids, user_ids[email_codes[keep]], missing)

    def pair(self, result: TripleResult) -> tuple[int | None, int | None]:
        """(project_id, task_id) of a triple's result: fake ids for names to create."""
        if isinstance(result, Unresolved):
            return (None, None)
        if isinstance(result, Missing):
            project, task = result.project, result.task
            return (
                self.fake(project) if isinstance(project, ToCreate) else project,
                None if task is None else self.fake(task),
            )
        return result

    def fake(self, name: ToCreate) -> int:
        return self._fakes.setdefault(name, FAKE_ID_BASE + len(self._fakes))


def distinct(*columns: np.ndarray) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """Codes of the distinct combinations of the columns' values (``str`` or ``None``), and
    those combinations as tuples, without a Python loop over the rows."""
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    parts = []
    for values in columns:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)  # None -> -1
        parts.append([None, *uniques.tolist()])
        combined = combined * (len(uniques) + 1) + (codes + 1)
    codes, found = pd.factorize(combined, sort=True)  # np.unique's answer, 3x faster
    combos = []
    for code in found.tolist():
        combo = []
        for names in reversed(parts):
            code, at = divmod(code, len(names))
            combo.append(names[at])
        combos.append(tuple(reversed(combo)))
    return codes.reshape(-1), combos


def objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
