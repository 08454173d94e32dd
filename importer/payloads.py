"""Normalised rows → validated create bodies, with in-file duplicates marked.

For each chunk:

1. Rows the ledger already holds as created (by their *source key*, the row's content before
   names become ids) are set aside first, so a re-run resolves nothing and sends nothing.
2. The other rows' names are resolved per *distinct* (client, project, task) and email, never
   per row.
3. Bodies are validated the same way, per distinct value: what many rows share (the run's
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
4. Each body gets the content fingerprint the ledger keys rows by; a later row of the run with
   the same fingerprint is a duplicate of the first (posted once). What the run has seen is kept
   in sorted numpy arrays (``FirstSeen``, 24 bytes a row), not dicts of Python strings (~170
   bytes a row each): memory stays nearly flat however long the run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .ledger import fingerprint
from .models import MAX_DURATION_SECONDS, TIME_ENTRY_CREATE_LIST, RowError, TimeEntryCreate
from .normalize import NormalizedChunk
from .resolve import Resolver, Unresolved

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

_SAMPLE_START = "2026-01-01T00:00:00Z"
_ROW_BITS = 32
"""What the run has seen is keyed to a *place*: file number << 32 | spreadsheet row."""
_ROW_MASK = (1 << _ROW_BITS) - 1
_SOURCE_JSON = json.JSONEncoder(ensure_ascii=False)  # == json.dumps(..., ensure_ascii=False)
_quote = json.encoder.encode_basestring  # how that JSON quotes a string (ensure_ascii=False)


@dataclass(slots=True)
class PlannedRow:
    """One row that becomes a request: where it came from, its body and its keys.

    Not ``frozen``: a frozen dataclass costs ~0.5 µs more to build, per row. Treat it as read-only.
    """

    file: str
    row: int
    body: dict[str, Any]
    fingerprint: str
    source: str
    duplicate_of: int | None = None
    """Spreadsheet row of the earlier row of this run with the same content, if any."""
    duplicate_in: str | None = None
    """The file of that earlier row (it may be another file of the run)."""


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


def fingerprints(bodies: Sequence[Mapping[str, Any]]) -> list[str]:
    """``ledger.fingerprint`` of each body, twice as fast: the same canonical JSON written directly
    (through the encoder it costs ~2 µs a row), strings quoted by the encoder's own function.
    Bodies must be canonical (``to_body()`` form). One row in 64 of every batch is checked against
    ``ledger.fingerprint``; on any difference the whole batch is keyed by it instead, so a change
    of the ledger's canonical form is caught, not trusted (``tests/test_payloads.py``)."""
    out = [_fingerprint(body) for body in bodies]
    sample = range(0, len(bodies), max(len(bodies) // 64, 1))
    if any(out[i] != fingerprint(bodies[i]) for i in sample):
        out = [fingerprint(body) for body in bodies]
    return out


def _fingerprint(body: Mapping[str, Any]) -> str:
    get = body.get
    user, project, task, tags = get("user_id"), get("project_id"), get("task_id"), get("tags")
    raw = (
        f'[{body["workspace_id"]},{"null" if user is None else user},"{body["start"]}",'
        f'{body["duration"]},{_quote(get("description") or "")},'
        f'{"null" if project is None else project},{"null" if task is None else task},'
        f'[{",".join(map(_quote, sorted(tags))) if tags else ""}]]'
    )
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


class FirstSeen:
    """Hex key → the value it was first given with, for every key of a run, in 24 bytes a key.

    A 128-bit key is kept as two ``uint64`` halves in arrays sorted by the high half, with the
    values alongside; a batch is looked up with one ``searchsorted`` and merged with one insert.
    (A dict of a million hex strings holds ~170 MB of Python objects; sorted ``S16`` arrays
    compare 4x slower.) Keys whose high half is already taken by another key, which happens
    about once in 10^19 pairs, go to a small dict: the result is exact, not probabilistic.
    """

    def __init__(self) -> None:
        self._hi = np.empty(0, dtype=np.uint64)
        self._lo = np.empty(0, dtype=np.uint64)
        self._values = np.empty(0, dtype=np.int64)
        self._clashes: dict[tuple[int, int], int] = {}

    def __len__(self) -> int:
        return len(self._hi) + len(self._clashes)

    @property
    def nbytes(self) -> int:
        return self._hi.nbytes + self._lo.nbytes + self._values.nbytes

    def setdefault_many(self, keys: Sequence[str], values: Sequence[int]) -> list[int]:
        """``dict.setdefault`` for each (hex key, value) in order: the stored value, or this one."""
        if not keys:
            return []
        halves = np.frombuffer(bytes.fromhex("".join(keys)), dtype=">u8").reshape(-1, 2)
        hi, lo = halves[:, 0].astype(np.uint64), halves[:, 1].astype(np.uint64)
        given = np.asarray(values, dtype=np.int64)
        out = np.empty(len(hi), dtype=np.int64)
        at = np.searchsorted(self._hi, hi)
        known = at < len(self._hi)
        known[known] = self._hi[at[known]] == hi[known]
        same = known.copy()
        same[known] = self._lo[at[known]] == lo[known]
        out[same] = self._values[at[same]]
        clash = known & ~same
        new = np.flatnonzero(~known)
        if new.size:
            fresh, first, inverse = np.unique(hi[new], return_index=True, return_inverse=True)
            inverse = inverse.reshape(-1)
            first_lo, first_value = lo[new][first], given[new][first]
            mine = lo[new] == first_lo[inverse]
            out[new[mine]] = first_value[inverse[mine]]
            clash[new[~mine]] = True
            where = np.searchsorted(self._hi, fresh)
            self._hi = np.insert(self._hi, where, fresh)
            self._lo = np.insert(self._lo, where, first_lo)
            self._values = np.insert(self._values, where, first_value)
        for j in np.flatnonzero(clash).tolist():  # in order: as sequential setdefault would
            out[j] = self._clashes.setdefault((int(hi[j]), int(lo[j])), int(given[j]))
        return out.tolist()


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
        ids = await self._resolve(chunk, todo, rows, errors)
        index, bodies = self._validated(chunk, ids, rows, errors)
        hashes = fingerprints(bodies)
        places = [base + rows[i] for i in index]
        firsts = self._seen.setdefault_many(hashes, places)
        sources = [""] * len(index) if keys is None else [keys[i] for i in index]
        if keys is not None:
            self._seen_sources.setdefault_many(sources, firsts)
        file, out = chunk.file, repeated
        for place, body, key, source, first in zip(places, bodies, hashes, sources, firsts, strict=True):
            if first == place:
                out.append(PlannedRow(file, place - base, body, key, source))
            else:
                out.append(PlannedRow(file, place - base, body, key, source, *self._where(first)))
        if repeated and index:
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
                finished.append(DoneRow(file, rows[i], record.entry_id))
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
        ok = [(None, None) if isinstance(r, Unresolved) else r for r in results]
        project_ids = _objects([p for p, _ in ok])[triple_codes[keep]]
        task_ids = _objects([t for _, t in ok])[triple_codes[keep]]
        user_ids = _objects([None if isinstance(u, Unresolved) else u for u in users])
        return _Ids(todo[keep], project_ids, task_ids, user_ids[email_codes[keep]])

    # -- bodies, validation, fingerprints --------------------------------------------------------
    def _validated(
        self, chunk: NormalizedChunk, ids: _Ids, rows: list[int], errors: list[RowError]
    ) -> tuple[list[int], list[dict[str, Any]]]:
        """Indices in the chunk and bodies of the valid rows, in order; the others are refused
        into ``errors`` with the model's message and the file's column."""
        todo = ids.rows
        if len(todo) == 0:
            return [], []
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
        bodies = _bodies(
            self._created_with, self._wid, starts.tolist(), durations.tolist(),
            chunk.description[todo].tolist(), pids, tids, tags, billable, uids,
        )  # fmt: skip
        index = todo.tolist()
        slow = np.flatnonzero(suspect).tolist()
        trusted = np.flatnonzero(~suspect)
        if trusted.size and not _exact(bodies[int(trusted[0])]):
            slow = list(range(len(bodies)))  # the bodies built here are not to_body()'s: all whole
        if slow:
            index, bodies = self._whole(index, bodies, slow, chunk.file, rows, errors)
        return index, bodies

    def _whole(
        self,
        index: list[int],
        bodies: list[dict[str, Any]],
        slow: list[int],
        file: str,
        rows: list[int],
        errors: list[RowError],
    ) -> tuple[list[int], list[dict[str, Any]]]:
        """Validate the bodies at positions ``slow`` whole through the model (they become its
        ``to_body()``); drop the refused ones. Returns the kept chunk indices and bodies."""
        checked: dict[int, dict[str, Any]] = {}
        for models, where in self._validate(
            [bodies[j] for j in slow], [index[j] for j in slow], file, rows, errors
        ):
            for model, i in zip(models, where, strict=True):
                checked[i] = model.to_body()
        whole = set(slow)
        kept_index: list[int] = []
        kept: list[dict[str, Any]] = []
        for j, (i, body) in enumerate(zip(index, bodies, strict=True)):
            if j in whole:
                if i not in checked:
                    continue
                body = checked[i]
            kept_index.append(i)
            kept.append(body)
        return kept_index, kept

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
                                message=first["msg"].removeprefix("Value error, "),
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
    """Resolved rows of a chunk: their indices, and their ids aligned with them (object arrays)."""

    rows: np.ndarray
    project_ids: np.ndarray
    task_ids: np.ndarray
    user_ids: np.ndarray


def _distinct(*columns: np.ndarray) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """Codes of the distinct combinations of the columns' values (``str`` or ``None``), and
    those combinations as tuples, without a Python loop over the rows."""
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    parts = []
    for values in columns:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)  # None -> -1
        parts.append([None, *uniques.tolist()])
        combined = combined * (len(uniques) + 1) + (codes + 1)
    found, codes = np.unique(combined, return_inverse=True)
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
    starts: list[str],
    durations: list[int],
    descriptions: list[str | None],
    project_ids: list[int | None],
    task_ids: list[int | None],
    tags: list[tuple[str, ...]],
    billable: list[bool],
    user_ids: list[int | None],
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
