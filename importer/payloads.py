"""Normalised rows → validated create bodies, with in-file duplicates marked.

For each chunk:

1. Rows the ledger already holds as created (by their *source key*, the row's content before
   names become ids) are set aside first, so a re-run resolves nothing and sends nothing.
2. Per-row values Toggl refuses that the model does not see on the fast path (a description
   over ``MAX_DESCRIPTION_CHARS``) are refused: one C-speed pass finds the longest text, and
   only a chunk that has one too long looks at its rows.
3. The other rows' names are resolved per *distinct* (client, project, task) and email, never
   per row. Nothing is created yet: with ``--create-missing`` a name that does not exist comes
   back as ``resolve.Missing`` and stands in as a *fake id* (``FAKE_ID_BASE`` + n, one per name
   to create), so that its rows go through every other check like the rest.
4. Bodies are validated the same way, per distinct value: what many rows share (the run's
   constants, the ids of a project/task pair, a user, a tag set, billable) goes through
   ``TimeEntryCreate`` once per distinct value, in ``TypeAdapter`` batches that fall back to one
   body at a time to name the culprit; the per-row numbers (start, duration) are checked
   vectorised against the model's limits. A row with any part not known good is validated whole
   through the model, so every refusal carries the model's own message and the file's column.
   One row per chunk is also validated whole and must come back from ``to_body()`` unchanged:
   if it does not, the chunk goes the slow way (every row through the model). This relies on the
   model's cross-field rules being the ones it has today (task needs project; duration/stop);
   ``tests/test_payloads.py`` checks that both ways agree. (Every row through the model and
   ``to_body()`` cost ~20 µs a row: most of a 1M-row dry run; see ``bench/bench_dryrun.py``.)
   The bodies themselves are built only when a row's ``body`` is first read (a dry run never
   reads one), all of a chunk's at once.
5. Only then are the names that rows still valid need created (``Resolver.create``, once per
   name, parents first), and their ids replace the fake ones; a name Toggl refuses to create
   refuses its rows. A dry run creates nothing: its rows keep the fake ids (so duplicates are
   found as in the real run), their ``body`` has ``null`` for them, and ``PlannedRow.creates``
   names what will be created first. Rows that need nothing created skip this step entirely.
6. Each row gets the content fingerprint the ledger keys rows by, hashed from canonical JSON
   written straight from the columns (``keys.canonical_columns``, a sample checked against
   ``keys.canonical``); a later row of the run with the same fingerprint is a duplicate of the
   first (posted once). What the run has seen is kept by ``duplicates.FirstSeen``: a Bloom filter
   and sorted runs spilled to files, so memory stays flat however long the run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import messages
from .bodies import SAMPLE_START, SharedParts, bodies_of, body_at, canonical_texts, exact, validate_whole
from .duplicates import FirstSeen
from .keys import canonical, fingerprint_texts
from .models import MAX_DESCRIPTION_CHARS, MAX_DURATION_SECONDS, RowError, TimeEntryCreate
from .normalize import NormalizedChunk
from .planned import Bodies, DoneRow, PlanChunk, PlannedRow, source_keys
from .resolve import Missing, Resolver, ToCreate, Unresolved
from .rowids import ChunkIds, RowIds

DoneLookup = Callable[[list[str]], Mapping[str, Any]]
"""Source keys → ledger records of rows already created (``Ledger.created_sources``)."""

FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "start": ("start", "start_date", "start_time"),
    "stop": ("end", "end_time", "end_date"),
    "duration": ("duration", "end", "end_time"),
    "description": ("description",),
    "project_id": ("project",),
    "task_id": ("task",),
    "tags": ("tags",),
    "billable": ("billable",),
    "user_id": ("email",),
}
"""Payload field → the mapping fields whose column feeds it (the first one the file has wins)."""

_ROW_BITS = 32
"""What the run has seen is keyed to a *place*: file number << 32 | spreadsheet row."""
_ROW_MASK = (1 << _ROW_BITS) - 1


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
        self._seen = FirstSeen()
        self._seen_sources = FirstSeen()
        self._readings: list[str] = []
        """The file of each reading of the run (a file given twice is read twice)."""
        self._current: dict[str, tuple[int, int]] = {}
        """File → (its reading now, the last row planned in it)."""
        self._ids = ChunkIds(resolver)
        """Names → ids, per distinct value, for the run (``rowids.ChunkIds``)."""
        self._shared = SharedParts(created_with, workspace_id)
        """Shared parts of bodies → valid through the model or not (``bodies.SharedParts``)."""

    @property
    def seen_nbytes(self) -> int:
        """Memory held for the run's duplicate checks (grows ~24 bytes a row, twice with a ledger)."""
        return self._seen.nbytes + self._seen_sources.nbytes

    def column(self, field_name: str | None) -> str | None:
        """The file's column that fed a payload (or mapping) field, for messages; ``None`` when
        no column did (``workspace_id``, ``created_with`` come from the settings)."""
        if field_name is None:
            return None
        if field_name in self._columns:
            return self._columns[field_name]
        for source in FIELD_SOURCES.get(field_name, ()):
            if source in self._columns:
                return self._columns[source]
        return None if field_name in TimeEntryCreate.model_fields else field_name

    async def plan(
        self,
        chunk: NormalizedChunk,
        *,
        done: DoneLookup | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> PlanChunk:
        """Plan one chunk. Without ``done`` (a dry run with no ledger yet) no source keys are
        computed: nothing would read them, and ``PlannedRow.source`` is ``""``."""
        if columns is not None:
            self._columns = dict(columns)
        errors = list(chunk.errors)
        rows = chunk.rows.tolist()
        base = self._place(chunk.file, rows)
        keys = source_keys(chunk, self._wid) if done is not None else None
        finished: list[DoneRow] = []
        repeated: list[PlannedRow] = []
        todo = np.arange(len(rows))
        if keys is not None and done is not None:
            todo = self._set_aside_done(chunk.file, base, rows, keys, done(keys), finished, repeated)
        todo = self._long_descriptions(chunk, todo, rows, errors)
        ids = await self._ids.resolve(chunk, todo, rows, errors, self.column)
        checked = self._checked(chunk, ids, rows, errors)
        creates = await self._settle(ids, checked, chunk.file, rows, errors)
        index, bodies, hashes = self._built(checked)
        numbers = chunk.rows[index]
        places = numbers + base
        firsts = self._seen.setdefault_many(hashes, places)
        sources = [""] * len(index) if keys is None else [keys[i] for i in index]
        if keys is not None:
            self._seen_sources.setdefault_many(sources, firsts)
        file = chunk.file
        out = [
            PlannedRow(file, row, None, key, source, None, None, bodies, at)
            for at, row, key, source in zip(
                range(len(index)), numbers.tolist(), hashes, sources, strict=True
            )
        ]
        for j in np.flatnonzero(firsts != places).tolist():
            out[j].duplicate_of, out[j].duplicate_in = self._where(firsts[j])
        for j, names in creates.items():
            out[j].creates = names
        if repeated:
            out += repeated
            out.sort(key=lambda r: r.row)
        errors.sort(key=lambda e: e.row)
        return PlanChunk(out, errors, finished)

    def _set_aside_done(
        self,
        file: str,
        base: int,
        rows: list[int],
        keys: list[str],
        known: Mapping[str, Any],
        finished: list[DoneRow],
        repeated: list[PlannedRow],
    ) -> np.ndarray:
        """Rows created by an earlier run: the first of each content is done, a later one with
        the same content a duplicate (as in the run that created it). The others are returned."""
        hits = [i for i, key in enumerate(keys) if key in known]
        if not hits:
            return np.arange(len(rows))
        firsts = self._seen_sources.setdefault_many([keys[i] for i in hits], [base + rows[i] for i in hits])
        for i, first in zip(hits, firsts, strict=True):
            record = known[keys[i]]
            if first == base + rows[i]:
                finished.append(DoneRow(file, rows[i], record.entry_id, record.fingerprint,
                                        getattr(record, "key", None)))  # fmt: skip
            else:
                repeated.append(
                    PlannedRow(file, rows[i], {}, record.fingerprint, keys[i], *self._where(first))
                )
        rest = np.ones(len(rows), dtype=bool)
        rest[hits] = False
        return np.flatnonzero(rest)

    def _place(self, file: str, rows: list[int]) -> int:
        """The place of row 0 of this reading of ``file``: rows only grow within a reading, so a
        chunk that starts at or before the last row seen starts another reading of the file."""
        reading, last = self._current.get(file, (-1, -1))
        if reading < 0 or (rows and rows[0] <= last):
            reading = len(self._readings)
            self._readings.append(file)
        self._current[file] = (reading, rows[-1] if rows else last)
        return reading << _ROW_BITS

    def _where(self, place: int) -> tuple[int, str]:
        """(row, file) of a place."""
        place = int(place)
        return place & _ROW_MASK, self._readings[place >> _ROW_BITS]

    def _long_descriptions(
        self, chunk: NormalizedChunk, todo: np.ndarray, rows: list[int], errors: list[RowError]
    ) -> np.ndarray:
        """``todo`` without the rows whose description Toggl refuses as too long (refused into
        ``errors``). The longest text of the chunk is found at C speed; only a chunk with one
        too long looks at its rows."""
        texts = chunk.description
        if len(todo) == 0 or max(map(len, filter(None, texts.tolist())), default=0) <= MAX_DESCRIPTION_CHARS:
            return todo
        lengths = np.fromiter((len(t) if t else 0 for t in texts[todo].tolist()), np.int64, len(todo))
        long = lengths > MAX_DESCRIPTION_CHARS
        column = self.column("description")
        for j in np.flatnonzero(long).tolist():
            errors.append(RowError(
                file=chunk.file, row=rows[todo[j]], column=column, reason="description_too_long",
                message=messages.description_too_long(int(lengths[j]), MAX_DESCRIPTION_CHARS),
            ))  # fmt: skip
        return todo[~long]

    # -- bodies, validation, fingerprints --------------------------------------------------------
    def _checked(
        self, chunk: NormalizedChunk, ids: RowIds, rows: list[int], errors: list[RowError]
    ) -> _Checked:
        """The resolved rows validated: those the model refuses go to ``errors`` with its message
        and the file's column; the others are kept, with the columns their bodies and keys are
        made from (and the bodies themselves when some rows had to go through the model)."""
        todo = ids.rows
        if len(todo) == 0:
            return _Checked([], (), None, None, set())
        starts = chunk.start_text()[todo]
        durations = chunk.duration[todo]
        suspect = (np.char.str_len(starts) != len(SAMPLE_START)) | (durations < 0)
        suspect |= durations > MAX_DURATION_SECONDS
        tags = chunk.tags[todo].tolist()
        billable = chunk.billable[todo].tolist() if chunk.billable is not None else [False] * len(todo)
        pids, tids, uids = ids.project_ids.tolist(), ids.task_ids.tolist(), ids.user_ids.tolist()
        bad = self._shared.check(set(zip(pids, tids, strict=True)), set(uids), set(tags), any(billable))
        if bad & {("constants", self._created_with, self._wid), ("billable", True)}:
            suspect[:] = True  # every row has them (billable: those with it; all go whole anyway)
        elif bad:  # rare: a resolved id or a tag set the model refuses; those rows go whole
            suspect |= np.fromiter(
                (
                    ("ids", (p, t)) in bad or ("user_id", u) in bad or ("tags", g) in bad
                    for p, t, u, g in zip(pids, tids, uids, tags, strict=True)
                ),
                dtype=bool,
                count=len(todo),
            )
        args = (self._created_with, self._wid, uids, starts.tolist(), durations.tolist(),
                chunk.description[todo].tolist(), pids, tids, tags, billable)  # fmt: skip
        index = todo.tolist()
        slow = np.flatnonzero(suspect).tolist()
        trusted = np.flatnonzero(~suspect)
        if trusted.size and not exact(body_at(args, int(trusted[0]))):
            slow = list(range(len(index)))  # the bodies built here are not to_body()'s: all whole
        if not slow:
            return _Checked(index, args, None, None, set())
        bodies = bodies_of(*args)
        kept = self._whole(index, bodies, slow, chunk.file, rows, errors)
        return _Checked(index, args, kept, bodies, set(slow))

    async def _settle(
        self, ids: RowIds, checked: _Checked, file: str, rows: list[int], errors: list[RowError]
    ) -> dict[int, dict[str, str]]:
        """Create the names that the valid rows need (``--create-missing``), once each, and put
        their ids in place of the fake ones; a row whose name Toggl refuses to create is refused.
        A dry run creates nothing: returns what each row would need created first, by its place
        among the rows planned. Rows that need nothing created cost nothing here."""
        missing = ids.missing
        if missing is None or self._resolver is None:
            return {}
        kept = checked.kept if checked.kept is not None else list(range(len(checked.index)))
        wanted = [j for j in kept if missing[j] is not None]
        if not wanted:
            return {}
        distinct: list[Missing] = list(dict.fromkeys(missing[j] for j in wanted))
        made = await self._resolver.create(dict.fromkeys(n for m in distinct for n in m.creates()))
        outcome: dict[Missing, tuple[int | None, int | None] | Unresolved | dict[str, str]] = {}
        for m in distinct:
            got = [made[name] for name in m.creates()]
            refusal = next((g for g in got if isinstance(g, Unresolved)), None)
            if refusal is not None:
                outcome[m] = refusal
            elif any(g is None for g in got):  # a dry run: the ids are not known yet
                outcome[m] = {name.kind: self._resolver.spelled(name) for name in m.creates()}
            else:
                project = made[m.project] if isinstance(m.project, ToCreate) else m.project
                task = None if m.task is None else made[m.task]
                assert not isinstance(project, Unresolved) and not isinstance(task, Unresolved)
                outcome[m] = (project, task)
        creates: dict[int, dict[str, str]] = {}
        refused: set[int] = set()
        _, _, *columns = checked.args
        pids, tids = columns[4], columns[5]
        for j in wanted:
            got_j = outcome[missing[j]]
            if isinstance(got_j, Unresolved):
                refused.add(j)
                errors.append(RowError(file=file, row=rows[checked.index[j]], reason=got_j.reason,
                                       column=self.column(got_j.column), message=got_j.message))  # fmt: skip
            elif isinstance(got_j, dict):
                creates[j] = got_j
            else:
                pids[j], tids[j] = got_j
                if checked.bodies is not None:
                    body = checked.bodies[j]
                    for name, value in zip(("project_id", "task_id"), got_j, strict=True):
                        if name in body:
                            body[name] = value
        if refused:
            checked.kept = [j for j in kept if j not in refused]
        final = checked.kept if checked.kept is not None else kept
        place = {j: at for at, j in enumerate(final)} if creates else {}
        return {place[j]: names for j, names in creates.items()}

    def _built(self, checked: _Checked) -> tuple[list[int], Bodies, list[str]]:
        """Indices in the chunk, bodies (made when first read) and fingerprints of the rows kept,
        in order."""
        if not checked.index:
            return [], Bodies([]), []
        created_with, wid, *columns = checked.args
        kept, bodies = checked.kept, checked.bodies
        if bodies is None:  # the fast path: every body comes from the columns, when first read
            args, index = checked.args, checked.index
            if kept is not None:  # (rows whose name Toggl refused to create are left out)
                args = (created_with, wid, *([column[j] for j in kept] for column in columns))
                index = [index[j] for j in kept]
            texts = canonical_texts(self._wid, args[2:9], lambda j: body_at(args, j))
            return index, Bodies(functools.partial(bodies_of, *args)), fingerprint_texts(texts)
        assert kept is not None
        whole = checked.whole
        fast = [j for j in kept if j not in whole]
        fast_columns = [[column[j] for j in fast] for column in columns[:7]]
        fast_texts = iter(canonical_texts(self._wid, fast_columns, lambda k: bodies[fast[k]]))
        texts = [canonical(bodies[j]) if j in whole else next(fast_texts) for j in kept]
        index = [checked.index[j] for j in kept]
        return index, Bodies([bodies[j] for j in kept]), fingerprint_texts(texts)

    def _whole(
        self,
        index: list[int],
        bodies: list[dict[str, Any]],
        slow: list[int],
        file: str,
        rows: list[int],
        errors: list[RowError],
    ) -> list[int]:
        """Validate the bodies at positions ``slow`` whole through the model: a valid one becomes
        its ``to_body()`` (in ``bodies``), a refused one goes to ``errors``. Returns the positions
        of the bodies kept."""
        position = {index[j]: j for j in slow}
        refused = set(slow)
        for models, where in validate_whole(
            [bodies[j] for j in slow], [index[j] for j in slow], file, rows, errors, self.column
        ):
            for model, i in zip(models, where, strict=True):
                bodies[position[i]] = model.to_body()
                refused.discard(position[i])
        return [j for j in range(len(bodies)) if j not in refused]


@dataclass(slots=True)
class _Checked:
    """The rows of a chunk that passed validation."""

    index: list[int]
    """Chunk index of each validated row (its *position* j)."""
    args: tuple[Any, ...]
    """``_bodies``' arguments: the settings, then one list per column over the positions."""
    kept: list[int] | None
    """Positions kept; ``None``: all of them."""
    bodies: list[dict[str, Any]] | None
    """Every position's body, when some went through the model (theirs are ``to_body()``'s)."""
    whole: set[int]
    """Positions validated through the model (their key is written from their body)."""
