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
import hashlib
import json
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from . import messages
from .duplicates import FirstSeen
from .keys import canonical, canonical_columns, fingerprint_texts
from .models import (
    MAX_DESCRIPTION_CHARS,
    MAX_DURATION_SECONDS,
    TIME_ENTRY_CREATE_LIST,
    RowError,
    TimeEntryCreate,
)
from .normalize import NormalizedChunk
from .resolve import Missing, Resolver, ToCreate, TripleResult, Unresolved

VALIDATION_BATCH = 512

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

FAKE_ID_BASE = 1 << 62
"""Where the ids stand in for names not created yet start: positive (the model checks ids as
usual) and far above any id Toggl gives, so a fingerprint with one never equals a real entry's."""
_ID_OF = {"project": "project_id", "task": "task_id"}
"""The body field that holds the id of a kind of name ``--create-missing`` creates."""

_SAMPLE_START = "2026-01-01T00:00:00Z"
_ROW_BITS = 32
"""What the run has seen is keyed to a *place*: file number << 32 | spreadsheet row."""
_ROW_MASK = (1 << _ROW_BITS) - 1
_SOURCE_JSON = json.JSONEncoder(ensure_ascii=False)  # == json.dumps(..., ensure_ascii=False)


class PlannedRow:
    """One row that becomes a request: where it came from, its body and its keys.

    ``body`` is made when first read, for all the rows of its chunk at once (``_Bodies``): a dry
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
        bodies: _Bodies | None = None,
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


class _Bodies:
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
        self._triples: dict[tuple[Any, ...], Any] = {}
        self._emails: dict[Any, Any] = {}
        """What each distinct (client, project, task) and email resolved to, for later chunks."""
        self._fakes: dict[ToCreate, int] = {}
        """The id standing in for each name to create (``FAKE_ID_BASE`` + n)."""
        self._parts: dict[Hashable, bool] = {}
        """Shared parts of bodies (see ``_check_parts``) → valid through the model or not."""

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
        ids = await self._resolve(chunk, todo, rows, errors)
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

    # -- resolution ------------------------------------------------------------------------------
    async def _resolve(
        self, chunk: NormalizedChunk, todo: np.ndarray, rows: list[int], errors: list[RowError]
    ) -> _Ids:
        """Ids of the rows ``todo`` whose names resolve; the others are refused into ``errors``.

        Names are looked up per distinct (client, project, task) and email (``pandas.factorize``
        finds them without a Python loop over the rows) and mapped back onto the rows by code.
        """
        n = len(todo)
        none = np.full(n, None, dtype=object)
        if self._resolver is None or n == 0:
            return _Ids(todo, none, none, none)
        triple_codes, triples = _distinct(chunk.client[todo], chunk.project[todo], chunk.task[todo])
        email_codes, emails = _distinct(chunk.email[todo])
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
                    column=self.column(why.column),
                    message=why.message,
                    reason=why.reason,
                )
            )
        keep = ~problem
        kept_codes = triple_codes[keep]
        ok = [self._pair(r) for r in results]
        project_ids = _objects([p for p, _ in ok])[kept_codes]
        task_ids = _objects([t for _, t in ok])[kept_codes]
        user_ids = _objects([None if isinstance(u, Unresolved) else u for u in users])
        missing = None
        if any(isinstance(r, Missing) for r in results):  # --create-missing: a name is new
            missing = _objects([r if isinstance(r, Missing) else None for r in results])[kept_codes]
        return _Ids(todo[keep], project_ids, task_ids, user_ids[email_codes[keep]], missing)

    def _pair(self, result: TripleResult) -> tuple[int | None, int | None]:
        """(project_id, task_id) of a triple's result: fake ids for names to create."""
        if isinstance(result, Unresolved):
            return (None, None)
        if isinstance(result, Missing):
            project, task = result.project, result.task
            return (
                self._fake(project) if isinstance(project, ToCreate) else project,
                None if task is None else self._fake(task),
            )
        return result

    def _fake(self, name: ToCreate) -> int:
        return self._fakes.setdefault(name, FAKE_ID_BASE + len(self._fakes))

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
        self, chunk: NormalizedChunk, ids: _Ids, rows: list[int], errors: list[RowError]
    ) -> _Checked:
        """The resolved rows validated: those the model refuses go to ``errors`` with its message
        and the file's column; the others are kept, with the columns their bodies and keys are
        made from (and the bodies themselves when some rows had to go through the model)."""
        todo = ids.rows
        if len(todo) == 0:
            return _Checked([], (), None, None, set())
        starts = chunk.start_text()[todo]
        durations = chunk.duration[todo]
        suspect = (np.char.str_len(starts) != len(_SAMPLE_START)) | (durations < 0)
        suspect |= durations > MAX_DURATION_SECONDS
        tags = chunk.tags[todo].tolist()
        billable = chunk.billable[todo].tolist() if chunk.billable is not None else [False] * len(todo)
        pids, tids, uids = ids.project_ids.tolist(), ids.task_ids.tolist(), ids.user_ids.tolist()
        bad = self._check_parts(set(zip(pids, tids, strict=True)), set(uids), set(tags), any(billable))
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
        if trusted.size and not _exact(_body(args, int(trusted[0]))):
            slow = list(range(len(index)))  # the bodies built here are not to_body()'s: all whole
        if not slow:
            return _Checked(index, args, None, None, set())
        bodies = _bodies(*args)
        kept = self._whole(index, bodies, slow, chunk.file, rows, errors)
        return _Checked(index, args, kept, bodies, set(slow))

    async def _settle(
        self, ids: _Ids, checked: _Checked, file: str, rows: list[int], errors: list[RowError]
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

    def _built(self, checked: _Checked) -> tuple[list[int], _Bodies, list[str]]:
        """Indices in the chunk, bodies (made when first read) and fingerprints of the rows kept,
        in order."""
        if not checked.index:
            return [], _Bodies([]), []
        created_with, wid, *columns = checked.args
        kept, bodies = checked.kept, checked.bodies
        if bodies is None:  # the fast path: every body comes from the columns, when first read
            args, index = checked.args, checked.index
            if kept is not None:  # (rows whose name Toggl refused to create are left out)
                args = (created_with, wid, *([column[j] for j in kept] for column in columns))
                index = [index[j] for j in kept]
            texts = _texts(self._wid, args[2:9], lambda j: _body(args, j))
            return index, _Bodies(functools.partial(_bodies, *args)), fingerprint_texts(texts)
        assert kept is not None
        whole = checked.whole
        fast = [j for j in kept if j not in whole]
        fast_columns = [[column[j] for j in fast] for column in columns[:7]]
        fast_texts = iter(_texts(self._wid, fast_columns, lambda k: bodies[fast[k]]))
        texts = [canonical(bodies[j]) if j in whole else next(fast_texts) for j in kept]
        index = [checked.index[j] for j in kept]
        return index, _Bodies([bodies[j] for j in kept]), fingerprint_texts(texts)

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
        for models, where in self._validate(
            [bodies[j] for j in slow], [index[j] for j in slow], file, rows, errors
        ):
            for model, i in zip(models, where, strict=True):
                bodies[position[i]] = model.to_body()
                refused.discard(position[i])
        return [j for j in range(len(bodies)) if j not in refused]

    def _validate(
        self,
        dicts: list[dict[str, Any]],
        where: list[int],
        file: str,
        rows: list[int],
        errors: list[RowError],
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
                                column=self.column(field_name),
                                message=messages.invalid_entry(first["msg"].removeprefix("Value error, ")),
                                reason="invalid_entry",
                            )
                        )
                yield good, good_idx

    def _check_parts(
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
        new = [part for part in found if part not in self._parts]
        for lo in range(0, len(new), VALIDATION_BATCH):
            batch = new[lo : lo + VALIDATION_BATCH]
            samples = [self._sample(part) for part in batch]
            try:
                TIME_ENTRY_CREATE_LIST.validate_python(samples)
                self._parts.update(dict.fromkeys(batch, True))
            except ValidationError:
                for part, sample in zip(batch, samples, strict=True):
                    self._parts[part] = _valid(sample)
        return {part for part, ok in self._parts.items() if not ok}

    def _sample(self, part: Hashable) -> dict[str, Any]:
        """A body with ``part`` and known-good values for everything else (one rule at a time)."""
        assert isinstance(part, tuple)
        kind, value = part[0], part[1:]
        sample: dict[str, Any] = {
            "created_with": self._created_with,
            "start": _SAMPLE_START,
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

@dataclass(frozen=True, slots=True)
class _Ids:
    """Resolved rows of a chunk: their indices, and their ids aligned with them (object arrays;
    fake ids for names to create)."""

    rows: np.ndarray
    project_ids: np.ndarray
    task_ids: np.ndarray
    user_ids: np.ndarray
    missing: np.ndarray | None = None
    """``Missing`` (or ``None``) of each row, when some row needs a name created."""


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


def _unknown_ids(body: dict[str, Any], creates: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``body`` with ``null`` for the ids of the names in ``creates`` (not created yet),
    every field where it was."""
    fields = {_ID_OF[kind] for kind in creates if kind in _ID_OF}
    return {name: None if name in fields else value for name, value in body.items()}


def _distinct(*columns: np.ndarray) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
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


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _bodies(
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


def _body(args: tuple[Any, ...], j: int) -> dict[str, Any]:
    """The body ``_bodies(*args)[j]``, alone."""
    created_with, workspace_id, *columns = args
    return _bodies(created_with, workspace_id, *([column[j]] for column in columns))[0]


def _texts(
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


def _exact(body: dict[str, Any]) -> bool:
    """Is ``body`` valid, and exactly what the model posts for it (keys, their order, values)?"""
    try:
        posted = TimeEntryCreate.model_validate(body).to_body()
    except ValidationError:
        return False
    return posted == body and list(posted) == list(body)


def _valid(body: dict[str, Any]) -> bool:
    try:
        TimeEntryCreate.model_validate(body)
    except ValidationError:
        return False
    return True
