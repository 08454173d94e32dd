"""What a run has seen: each row's content key and where it was first met, in flat memory.

``FirstSeen.setdefault_many(keys, values)`` is ``dict.setdefault`` over a batch of 128-bit keys
(hex fingerprints): each key gets the value it was first given with, in this batch or an earlier
one. A 1M-row run must find every repeated row without keeping a million keys in memory (a dict
of hex strings holds ~170 MB; even 24 bytes a key in numpy is 46 MB at the peak of a merge), so:

- a *Bloom filter* (3 bytes a key: 4 MiB for the first 1.4M keys, then 8, 16 ... more) answers
  "never seen" for all but ~1 in 1,000 new keys without touching anything else. It is exact in
  that direction only;
- the keys themselves (high half, low half, value: 24 bytes) go to *sorted runs*: the newest in
  memory (at most ``buffered`` keys), older ones in temporary files without a name (nothing is
  left behind, even by a killed run), merged two at a time as in a log-structured merge tree
  (so there are at most log2(n / buffered) of them). Of each file only the first key of every
  ``block`` keys stays in memory;
- a key the filter may have seen is looked up in the runs, reading only the blocks that can hold
  it. Keys are compared whole (both halves): the answer is exact, never probabilistic.

Memory is then the filter, the newest run (1.5 MiB) and a few bytes per block: ~6 MiB up to 1.4M
rows; the files take 24 bytes a key on disk and go with the object. ``setdefault_many``
costs ~0.4 µs a key (``bench/bench_dryrun.py``).
"""

from __future__ import annotations

import functools
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ClassVar

import numpy as np

from . import messages
from .errors import ConfigError

RECORD = np.dtype([("hi", "<u8"), ("lo", "<u8"), ("value", "<i8")])
"""One stored key (its two 64-bit halves) and the value it was first given with."""

BLOOM_BITS_PER_KEY = 24
"""With 6 bits a key in one 64-bit word: at most ~1 new key in 1,000 is looked up in the runs."""


class FirstSeen:
    """128-bit key → the value it was first given with, for every key of a run; flat memory."""

    def __init__(
        self,
        *,
        buffered: int = 1 << 16,
        block: int = 512,
        bloom_bytes: int = 4 << 20,
        directory: Path | None = None,
    ) -> None:
        self._buffered = buffered
        self._block = block
        self._bloom = _Bloom(bloom_bytes)
        self._memory: list[np.ndarray] = []
        """The newest runs, in memory: ``RECORD`` arrays sorted by ``hi``."""
        self._files: list[_FileRun] = []
        """Older runs, on disk, larger first."""
        self._parent = directory
        self._open: list[IO[bytes]] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Memory held: the filter, the runs still in memory and the block index of the files."""
        return (
            self._bloom.nbytes
            + sum(run.nbytes for run in self._memory)
            + sum(run.first_hi.nbytes for run in self._files)
        )

    def setdefault_many(self, keys: Sequence[str], values: Sequence[int] | np.ndarray) -> np.ndarray:
        """``dict.setdefault`` for each (hex key, value) in order: the stored value, or this one."""
        halves = np.frombuffer(bytes.fromhex("".join(keys)), dtype=">u8").reshape(-1, 2)
        return self.setdefault_halves(halves[:, 0].astype(np.uint64), halves[:, 1].astype(np.uint64), values)

    def setdefault_halves(
        self, hi: np.ndarray, lo: np.ndarray, values: Sequence[int] | np.ndarray
    ) -> np.ndarray:
        """The same for keys given as their high and low 64 bits (``uint64`` arrays)."""
        given = np.asarray(values, dtype=np.int64)
        if not len(hi):
            return given[:0].copy()
        # the distinct keys of the batch, each with its first value (both sorts are stable)
        order = np.argsort(hi, kind="stable")
        sorted_hi = hi[order]
        if (sorted_hi[1:] == sorted_hi[:-1]).any():  # a key twice in the batch (or a shared half)
            order = np.lexsort((lo, hi))
            sorted_hi = hi[order]
        sorted_lo = lo[order]
        starts = np.ones(len(order), dtype=bool)
        starts[1:] = (sorted_hi[1:] != sorted_hi[:-1]) | (sorted_lo[1:] != sorted_lo[:-1])
        inverse = np.empty(len(order), dtype=np.int64)
        inverse[order] = np.cumsum(starts) - 1
        fresh = np.empty(int(starts.sum()), dtype=RECORD)
        fresh["hi"], fresh["lo"], fresh["value"] = sorted_hi[starts], sorted_lo[starts], given[order[starts]]
        # the ones seen in an earlier batch keep their stored value
        maybe = np.flatnonzero(self._bloom.may_hold(fresh["hi"], fresh["lo"]))
        if maybe.size:
            found, stored = self._lookup(fresh["hi"][maybe], fresh["lo"][maybe])
            fresh["value"][maybe[found]] = stored[found]
            new = np.ones(len(fresh), dtype=bool)
            new[maybe[found]] = False
            self._add(fresh[new])
        else:
            self._add(fresh)
        return fresh["value"][inverse]

    # -- lookups ---------------------------------------------------------------------------------
    def _lookup(self, hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found, value) of each key in the runs (each key is stored in one run at most)."""
        found = np.zeros(len(hi), dtype=bool)
        stored = np.zeros(len(hi), dtype=np.int64)
        for run in self._memory:
            _find(run, hi, lo, found, stored)
        for file_run in self._files:
            todo = np.flatnonzero(~found)
            if not todo.size:
                break
            file_run.find(hi[todo], lo[todo], todo, found, stored)
        return found, stored

    # -- storing ---------------------------------------------------------------------------------
    def _add(self, records: np.ndarray) -> None:
        """Store new keys (``RECORD`` array sorted by ``hi``, none already stored)."""
        if not len(records):
            return
        self._count += len(records)
        self._bloom.add(records["hi"], records["lo"])
        self._memory.append(records)
        if sum(len(run) for run in self._memory) < self._buffered:
            return
        merged = functools.reduce(_merged, self._memory)
        self._memory = []
        try:
            self._files.append(_FileRun.write(self._new_file(), [merged], self._block))
            while len(self._files) > 1 and self._files[-2].size <= self._files[-1].size:
                newer, older = self._files.pop(), self._files.pop()
                self._files.append(_FileRun.write(self._new_file(), _Pieces(older, newer), self._block))
        except ConfigError:
            raise
        except OSError as exc:  # a full disk while writing a run
            raise self._no_room(exc) from exc
            for run in (older, newer):
                run.file.close()  # and gone: the file has no name
                self._open.remove(run.file)

    def _new_file(self) -> IO[bytes]:
        """A temporary file without a name (deleted when closed, or when the process ends
        however it ends); all of them are closed with this object."""
        if not self._open:
            weakref.finalize(self, _close_all, self._open)
        try:
            file = tempfile.TemporaryFile(prefix="toggl-import-seen-", dir=self._parent)  # noqa: SIM115
        except OSError as exc:
            raise self._no_room(exc) from exc
        self._open.append(file)
        return file

    def _no_room(self, exc: OSError) -> ConfigError:
        folder = self._parent or tempfile.gettempdir()
        return ConfigError(messages.no_room_for_duplicates(folder, exc.strerror or str(exc)))


def _close_all(files: list[IO[bytes]]) -> None:
    for file in files:
        file.close()


def _find(run: np.ndarray, hi: np.ndarray, lo: np.ndarray, found: np.ndarray, stored: np.ndarray) -> None:
    """Mark in ``found``/``stored`` the keys (``hi``, ``lo``) present in ``run`` (sorted by hi)."""
    run_hi = run["hi"]
    left = np.searchsorted(run_hi, hi, side="left")
    right = np.searchsorted(run_hi, hi, side="right")
    one = np.flatnonzero(right - left == 1)
    hit = one[run["lo"][left[one]] == lo[one]]
    found[hit] = True
    stored[hit] = run["value"][left[hit]]
    for j in np.flatnonzero(right - left > 1).tolist():  # keys sharing their high half: ~never
        same = np.flatnonzero(run["lo"][left[j] : right[j]] == lo[j])
        if same.size:
            found[j] = True
            stored[j] = run["value"][left[j] + same[0]]


class _Bloom:
    """A blocked Bloom filter (6 bits of one 64-bit word a key) that grows in steps."""

    def __init__(self, nbytes: int) -> None:
        self._step = max(nbytes // 8, 1)
        self._filters: list[np.ndarray] = []
        self._room = 0

    @property
    def nbytes(self) -> int:
        return sum(words.nbytes for words in self._filters)

    def add(self, hi: np.ndarray, lo: np.ndarray) -> None:
        while len(hi):
            if self._room <= 0:
                words = np.zeros(self._step << len(self._filters), dtype=np.uint64)  # calloc: lazy
                self._filters.append(words)
                self._room = len(words) * 64 // BLOOM_BITS_PER_KEY
            take = min(self._room, len(hi))
            words = self._filters[-1]
            at, bits = _word(hi[:take], len(words)), _bits(lo[:take])
            words[at] |= bits  # where two keys share a word, one's bits may be lost here ...
            lost = (words[at] & bits) != bits
            np.bitwise_or.at(words, at[lost], bits[lost])  # ... and are set again
            self._room -= take
            hi, lo = hi[take:], lo[take:]

    def may_hold(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        out = np.zeros(len(hi), dtype=bool)
        if not self._filters:
            return out
        bits = _bits(lo)
        for words in self._filters:
            out |= (words[_word(hi, len(words))] & bits) == bits
        return out


def _word(hi: np.ndarray, n: int) -> np.ndarray:
    return (hi % np.uint64(n)).astype(np.intp)


def _bits(lo: np.ndarray) -> np.ndarray:
    one, out = np.uint64(1), np.zeros(len(lo), dtype=np.uint64)
    for shift in range(0, 36, 6):
        out |= one << ((lo >> np.uint64(shift)) & np.uint64(63))
    return out


@dataclass
class _FileRun:
    """A sorted run in a file, with the ``hi`` of the first key of every block in memory."""

    file: IO[bytes]
    size: int
    first_hi: np.ndarray
    block: int

    PIECE: ClassVar[int] = 1 << 15
    """Keys read at a time (768 KiB)."""

    @classmethod
    def write(cls, file: IO[bytes], pieces: Iterable[np.ndarray], block: int) -> _FileRun:
        firsts, size = [], 0
        for piece in pieces:
            firsts.append(piece["hi"][(-size) % block :: block].copy())  # not a view of it
            piece.tofile(file)
            size += len(piece)
        file.flush()
        return cls(file, size, np.concatenate(firsts) if firsts else np.empty(0, np.uint64), block)

    def read(self, start: int, count: int) -> np.ndarray:
        self.file.seek(start * RECORD.itemsize)
        return np.fromfile(self.file, dtype=RECORD, count=count)

    def find(
        self, hi: np.ndarray, lo: np.ndarray, where: np.ndarray, found: np.ndarray, stored: np.ndarray
    ) -> None:
        """Look the keys up, reading only the blocks that can hold them; mark the hits at
        ``where`` in ``found``/``stored``."""
        # keys equal to a block's first key may also end the block before it
        first = np.maximum(np.searchsorted(self.first_hi, hi, side="left") - 1, 0)
        last = np.maximum(np.searchsorted(self.first_hi, hi, side="right") - 1, 0)
        wanted = np.zeros(len(self.first_hi) + 1, dtype=bool)
        wanted[first] = True
        wanted[last] = True
        for j in np.flatnonzero(last - first > 1).tolist():  # a long run of one high half: ~never
            wanted[first[j] : last[j] + 1] = True
        blocks = np.flatnonzero(wanted[:-1]).tolist()
        per_read = max(self.PIECE // self.block, 1)
        spans, start, prev = [], blocks[0], blocks[0]
        for b in blocks[1:]:  # wanted blocks close together are read together, a piece at most
            if b - prev > 4 or b - start >= per_read:
                spans.append((start, prev))
                start = b
            prev = b
        spans.append((start, prev))
        for lo_block, hi_block in spans:
            mine = np.flatnonzero((last >= lo_block) & (first <= hi_block))
            part = self.read(lo_block * self.block, (hi_block - lo_block + 1) * self.block)
            got, value = np.zeros(len(mine), dtype=bool), np.zeros(len(mine), dtype=np.int64)
            _find(part, hi[mine], lo[mine], got, value)
            found[where[mine[got]]] = True
            stored[where[mine[got]]] = value[got]


class _Pieces:
    """The records of two sorted runs, merged by ``hi``, a piece at a time."""

    def __init__(self, older: _FileRun, newer: _FileRun) -> None:
        self.runs = (older, newer)

    def __iter__(self) -> Iterator[np.ndarray]:
        older, newer = self.runs
        bufs = [older.read(0, _FileRun.PIECE), newer.read(0, _FileRun.PIECE)]
        unread = [len(bufs[0]), len(bufs[1])]
        while len(bufs[0]) or len(bufs[1]):
            if len(bufs[0]) and len(bufs[1]):
                # all keys up to the smaller of the two last ones: nothing unread comes before
                bound = min(bufs[0]["hi"][-1], bufs[1]["hi"][-1])
                taken = [int(np.searchsorted(b["hi"], bound, side="right")) for b in bufs]
                yield _merged(bufs[0][: taken[0]], bufs[1][: taken[1]])
            else:
                taken = [len(bufs[0]), len(bufs[1])]
                yield bufs[0] if len(bufs[0]) else bufs[1]
            for i, run in enumerate(self.runs):
                bufs[i] = bufs[i][taken[i] :]
                if not len(bufs[i]) and unread[i] < run.size:
                    bufs[i] = run.read(unread[i], _FileRun.PIECE)
                    unread[i] += len(bufs[i])


def _merged(older: np.ndarray, newer: np.ndarray) -> np.ndarray:
    """Two record arrays sorted by ``hi`` as one (the older first among equal keys)."""
    out = np.empty(len(older) + len(newer), dtype=RECORD)
    at = np.searchsorted(older["hi"], newer["hi"], side="right") + np.arange(len(newer))
    mine = np.ones(len(out), dtype=bool)
    mine[at] = False
    out[at] = newer
    out[mine] = older
    return out
