"""The ledger under faults, from outside: other paths to one file; empty files; kill -9 while it
is made or written; a power cut's durability; a full disk; damaged files; old schemas migrated
after a backup; Ctrl-C at start-up.

Kills and signals run in subprocesses; the CLI cases run ``toggl-import`` against the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import runpy
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cli_run import Server
from timesheets import (
    POSTS,
    assert_exactly_once,
    finish,
    kill_leftovers,
    run_args,
    run_cli,
    send_signal,
    spawn,
)
from timesheets import write_sheet as write

import importer.cli as cli
from importer import ledger_file, messages
from importer.errors import LedgerError, LedgerFullError
from importer.ledger import SCHEMA_VERSION, Ledger, Outcome, PendingRow, fingerprint

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("TOGGL_")}, "PYTHONPATH": str(REPO)}
WID = 1234567


def rows(n: int, file: str = "a.csv", start: int = 0) -> list[PendingRow]:
    out = []
    for i in range(start, start + n):
        body = {"workspace_id": WID, "start": "2026-05-04T08:00:00Z", "duration": 60 + i,
                "description": f"row {i:05d} " + "x" * 120}  # fmt: skip
        out.append(PendingRow(fingerprint(body), file, i + 2, body))
    return out


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "toggl-import.ledger.sqlite"


def python(code: str, *args: object, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], env=ENV,
                          capture_output=True, text=True, timeout=120, **kw)  # fmt: skip


def contents(path: Path) -> dict[str, Any]:
    """Everything a ledger file holds, read without our code: schema, version, every row."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            "user_version": conn.execute("PRAGMA user_version").fetchone()[0],
            "application_id": conn.execute("PRAGMA application_id").fetchone()[0],
            "schema": sorted(conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()),
            **{t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables},
        }
    finally:
        conn.close()


def states(path: Path) -> dict[int, tuple[str, int | None]]:
    """Spreadsheet row → (state, entry id), read with plain sqlite3 (what a copy holds)."""
    conn = sqlite3.connect(path)
    try:
        return {r: (s, e) for r, s, e in conn.execute("SELECT row, state, entry_id FROM rows")}
    finally:
        conn.close()


# -- 1. one lock per file, whatever the path -------------------------------------------------------
def other_names(path: Path, tmp_path: Path) -> dict[str, Path]:
    """Other paths to the ledger file ``path`` (a hard link is made apart: see below)."""
    (tmp_path / "sub").mkdir(exist_ok=True)
    link = tmp_path / "link.sqlite"
    if not link.is_symlink():
        link.symlink_to(path)
    return {
        "symlink": link,
        "relative": Path(os.path.relpath(path)),
        "dotted": tmp_path / "sub" / ".." / "." / path.name,
        "through /proc/self/root": Path(f"/proc/self/root{path}"),  # like another mount of it
    }


def test_a_second_writer_by_any_path_is_refused(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path.parent)
    names = other_names(path, tmp_path)
    assert not str(names["relative"]).startswith("..")
    with Ledger.open(path) as first:
        first.add_pending(rows(3))
        hard = tmp_path / "sub" / "hard.sqlite"
        os.link(path, hard)  # made while the first run writes
        for other in [*names.values(), hard]:
            with pytest.raises(LedgerError, match=rf"in use by another run \(pid {os.getpid()}\)"):
                Ledger.open(other)
        for how, other in names.items():
            with Ledger.open(other, readonly=True) as reader:  # readers take no lock
                assert reader.counts()["pending"] == 3, how
        first.add_pending(rows(1, start=3))  # the refusals took nothing from the first
    for other in names.values():  # released on close
        with pytest.raises(LedgerError, match=r"has 2 names \(hard links\).*find / -samefile"):
            Ledger.open(other)
    hard.unlink()
    for other in names.values():
        Ledger.open(other).close()
    with Ledger.open(path, readonly=True) as book:
        assert book.counts()["pending"] == 4


HOLDER = """
import sys
from importer.ledger import Ledger, PendingRow
book = Ledger.open(sys.argv[1])
print("ready", flush=True)
for line in sys.stdin:  # each line: add a row, and say so
    book.add_pending([PendingRow(line.strip().rjust(32, "0"), "h.csv", 2, None)])
    print("added", flush=True)
"""


@contextlib.contextmanager
def holder(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``path`` open for writing, until its stdin closes."""
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], env=ENV, text=True,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stdin is not None
        try:
            assert proc.stdout.readline() == "ready\n"
            yield proc
        finally:
            if proc.poll() is None:
                proc.stdin.close()
            proc.wait(timeout=60)


@pytest.mark.slow
def test_a_writer_in_another_process_is_refused_by_any_path_and_readers_read_beside_it(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Ledger.open(path).close()
    monkeypatch.chdir(tmp_path.parent)
    names = other_names(path, tmp_path)
    assert not str(names["relative"]).startswith("..")
    with holder(names["symlink"]) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        hard = tmp_path / "sub" / "hard.sqlite"
        os.link(path, hard)
        for other in [path, *names.values(), hard]:
            with pytest.raises(LedgerError, match=rf"in use by another run \(pid {proc.pid}\)"):
                Ledger.open(other)
        hard.unlink()
        # flock and SQLite's own (fcntl) locks do not meet: the holder writes, we read what it wrote
        proc.stdin.write("1\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "added\n"
        with Ledger.open(names["relative"], readonly=True) as reader:
            assert reader.counts()["pending"] == 1
    Ledger.open(names["dotted"]).close()


@pytest.mark.slow
def test_the_lock_goes_with_a_killed_holder(path: Path) -> None:
    with holder(path) as proc:
        with pytest.raises(LedgerError, match=rf"\(pid {proc.pid}\)"):
            Ledger.open(path)
        proc.kill()  # SIGKILL: no close, no clean-up
        proc.wait(timeout=30)
        with Ledger.open(path) as book:
            assert book.counts()["total"] == 0


def test_no_lock_file_is_written_and_an_older_versions_one_is_honoured(path: Path) -> None:
    import fcntl

    with Ledger.open(path):
        assert not Path(f"{path}.lock").exists()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    old = Path(f"{path}.lock")
    old.write_text("4242")  # an older toggl-import is running: it holds its lock file
    with old.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(LedgerError, match=r"in use by another run \(pid 4242\)"):
            Ledger.open(path)
    Ledger.open(path).close()
    assert old.read_text() == "4242"  # left as it was


def test_closing_other_handles_of_the_file_keeps_sqlites_locks(path: Path, tmp_path: Path) -> None:
    """Closing any descriptor of a file drops the process's POSIX locks on it, SQLite's shared
    lock too; without that lock another process's last connection checkpoints and deletes the
    -wal of a live writer. A refused writer or a reader of this process must close none."""
    link = other_names(path, tmp_path)["symlink"]
    Ledger.open(path).close()
    with Ledger.open(path) as writer:
        writer.add_pending(rows(5))
        for _ in range(2):
            with pytest.raises(LedgerError, match="in use"):
                Ledger.open(link)
            Ledger.open(link, readonly=True).close()
        count = "SELECT count(*) FROM rows"
        other = python(f"import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                       f"print(c.execute({count!r}).fetchone()[0]); c.close()", path)  # fmt: skip
        assert other.stdout.strip() == "5", other.stderr
        assert Path(f"{path}-wal").exists()  # the other process saw that a connection is alive
        writer.add_pending(rows(1, start=5))
    with Ledger.open(path, readonly=True) as book:
        assert book.counts()["pending"] == 6


# -- 2. an empty file is never taken as a new ledger, and never left behind -----------------------
EMPTY = (
    "ledger {path} is empty (0 bytes), so it is not a ledger an earlier run wrote (that would hold its "
    "rows): if it is a copy of your ledger, the copy failed, so copy it again (with its -wal file, or "
    'with sqlite3 LEDGER ".backup COPY"); to start a new ledger, delete the empty file'
)


@pytest.mark.parametrize("readonly", [False, True])
def test_an_empty_file_is_refused_untouched(path: Path, readonly: bool) -> None:
    path.touch()
    with pytest.raises(LedgerError) as refused:
        Ledger.open(path, readonly=readonly)
    assert str(refused.value) == EMPTY.format(path=path)
    assert [(p.name, p.stat().st_size) for p in path.parent.iterdir()] == [(path.name, 0)]
    path.unlink()  # the advice: delete it, and a new ledger is started
    Ledger.open(path).close()


KILLED_WHILE_CREATING = """
import os, signal, sys
from importer import ledger, ledger_file
where = sys.argv[2]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if where == "temporary file made":
    real_write = os.write
    def write(fd, data):
        die()
    ledger_file.publish.os.write = write
elif where == "before the link":
    real_publish = ledger_file.hold._publish
    ledger_file.hold._publish = lambda tmp, final: die()
elif where == "after the link":
    real_publish = ledger_file.hold._publish
    ledger_file.hold._publish = lambda tmp, final: (real_publish(tmp, final), die())
elif where == "after sqlite3.connect":
    real_connect = ledger.sqlite3.connect
    class Dying:
        @staticmethod
        def connect(*args, **kw):
            conn = real_connect(*args, **kw)
            die()
    ledger.sqlite3 = Dying  # Ledger.open's connect: the moment the old code made a 0-byte file
ledger.Ledger.open(sys.argv[1])
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "where", ["temporary file made", "before the link", "after the link", "after sqlite3.connect"]
)
def test_a_kill_while_the_ledger_is_made_never_leaves_an_empty_one(path: Path, where: str) -> None:
    done = python(KILLED_WHILE_CREATING, path, where)
    assert done.returncode == -signal.SIGKILL, done.stderr
    if path.exists():  # after the link: a whole, empty ledger
        assert path.stat().st_size > 0
        with Ledger.open(path, readonly=True) as book:
            assert book.counts()["total"] == 0
    with Ledger.open(path) as book:  # and the next run goes on as if nothing had happened
        book.add_pending(rows(2))
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file left


def test_a_wal_left_without_its_ledger_is_not_adopted(path: Path) -> None:
    with Ledger.open(path) as book:
        book.add_pending(rows(3))
        shutil.copy(f"{path}-wal", f"{path}.saved-wal")  # the writes of a ledger not yet checkpointed
    path.unlink()
    Path(f"{path}.saved-wal").rename(f"{path}-wal")
    with pytest.raises(LedgerError) as refused:
        Ledger.open(path)
    assert str(refused.value) == messages.ledger_wal_without_database(path, Path(f"{path}-wal"))
    assert not path.exists()


# -- the command against the sandbox ---------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


class Ran:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"exit {self.code}\n{self.out}\n{self.err}"


def toggl(argv: list[str], cwd: Path, server: Server) -> Ran:
    """``toggl-import ARGV`` in this process, in ``cwd``, with the sandbox's token."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        for name in [k for k in os.environ if k.startswith("TOGGL_")]:
            mp.delenv(name)
        mp.setenv("TOGGL_API_TOKEN", server.sandbox.token)
        mp.setenv("COLUMNS", "250")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    ran = Ran(code, out.getvalue(), err.getvalue())
    assert "Traceback" not in ran.out + ran.err
    return ran


def import_args(server: Server, sheet: Path | list[Path], ledger: Path, *extra: str) -> list[str]:
    sheets = [str(s) for s in (sheet if isinstance(sheet, list) else [sheet])]
    return ["run", *sheets, "--api-url", server.sandbox.base_url, "--workspace-id", str(WID),
            "--ledger", str(ledger), "--timezone", "UTC", "--rate", "1000", *extra]  # fmt: skip


def test_run_refuses_an_empty_ledger_before_anything_is_sent(server: Server, tmp_path: Path) -> None:
    server.reset()
    write(tmp_path / "sheet.csv", 5)
    (tmp_path / "l.sqlite").touch()  # someone's copy of their ledger that failed
    ran = toggl(import_args(server, tmp_path / "sheet.csv", tmp_path / "l.sqlite"), tmp_path, server)
    assert (ran.code, ran.err) == (2, f"toggl-import: {EMPTY.format(path=tmp_path / 'l.sqlite')}\n")
    assert server.requests.get(POSTS, 0) == 0 and server.sandbox.state.entries == []
    assert (tmp_path / "l.sqlite").stat().st_size == 0
    ran = toggl(["status", "--ledger", str(tmp_path / "l.sqlite")], tmp_path, server)
    assert ran.code == 2 and "is empty (0 bytes)" in ran.err


def test_a_dry_run_makes_no_ledger(server: Server, tmp_path: Path) -> None:
    server.reset()
    write(tmp_path / "sheet.csv", 5)
    ran = toggl(import_args(server, tmp_path / "sheet.csv", tmp_path / "l.sqlite", "--dry-run"),
                tmp_path, server)  # fmt: skip
    assert ran.code == 0, ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet.csv"]


# -- 3. the main file is at most a batch behind ----------------------------------------------------
KILLED_AFTER_BATCHES = """
import os, signal, sys, time
from importer import ledger_file
from importer.ledger import Ledger, Outcome, PendingRow, fingerprint
book = Ledger.open(sys.argv[1], flush_rows=10**6, flush_seconds=3600)
book.start_run("killed", 1)
rows = [PendingRow(fingerprint({"workspace_id": 1, "start": "2026-01-01T09:00:00Z", "duration": 60 + i}),
                   "a.csv", i + 2, None) for i in range(200)]
book.add_pending(rows)
for k in range(4):
    batch = rows[16 * k : 16 * (k + 1)]
    book.mark_sending([r.fingerprint for r in batch])  # with the outcomes of the batch before
    book.record([Outcome.created(r.fingerprint, 7000 + r.row) for r in batch])
    time.sleep(ledger_file.CHECKPOINT_SECONDS + 0.05)  # Toggl's pace: batches seconds apart
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_after_kill_9_a_copy_of_the_main_file_alone_lacks_at_most_the_last_batch(
    path: Path, tmp_path: Path
) -> None:
    done = python(KILLED_AFTER_BATCHES, path)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert Path(f"{path}-wal").exists()  # the kill left the WAL behind
    copy = tmp_path / "copy" / "ledger.sqlite"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)  # the main file alone, as people copy it
    held = states(copy)
    assert len(held) == 200
    expected = {row: ("created", 7000 + row) for row in range(2, 2 + 48)}  # batches 1-3, and
    expected |= {row: ("sending", None) for row in range(50, 66)}  # the last batch: read back
    expected |= {row: ("pending", None) for row in range(66, 202)}
    assert held == expected
    with Ledger.open(copy) as book:  # and the copy is a ledger to go on with
        assert [r.row for r in book.unresolved()] == list(range(50, 66))


# -- 7. the sending commit is durable; outcomes are not --------------------------------------------
def test_mark_sending_commits_with_synchronous_full_and_outcomes_with_normal(path: Path) -> None:
    with Ledger.open(path, flush_rows=10**6, flush_seconds=3600) as book:
        book.add_pending(rows(8))
        seen: list[str] = []
        book.conn.set_trace_callback(seen.append)
        book.mark_sending([r.fingerprint for r in rows(8)[:4]])
        synchronous = [s for s in seen if s.startswith("PRAGMA synchronous")]
        assert synchronous == ["PRAGMA synchronous", "PRAGMA synchronous = FULL", "PRAGMA synchronous = 1"]
        assert seen.index("PRAGMA synchronous = FULL") < seen.index("BEGIN IMMEDIATE") < \
            seen.index("COMMIT") < seen.index("PRAGMA synchronous = 1")  # fmt: skip
        seen.clear()
        book.record([Outcome.created(r.fingerprint, 1 + r.row) for r in rows(8)[:4]])
        book.flush()
        assert "COMMIT" in seen and not [s for s in seen if "synchronous" in s]
        assert book.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again
    with Ledger.open(path, synchronous="FULL") as book:  # FULL throughout: nothing to switch
        seen.clear()
        book.conn.set_trace_callback(seen.append)
        book.mark_sending([rows(8)[5].fingerprint])
        assert [s for s in seen if s.startswith("PRAGMA synchronous")] == ["PRAGMA synchronous"]


FSYNCS = """
import os, sys
from importer import ledger_file
from importer.ledger import Ledger, Outcome, PendingRow, fingerprint
ledger_file.durability.CHECKPOINT_SECONDS = float("inf")  # the commits alone (a checkpoint fsyncs too)
book = Ledger.open(sys.argv[1], flush_rows=10**6, flush_seconds=3600)
rows = [PendingRow(fingerprint({"workspace_id": 1, "start": "2026-01-01T09:00:00Z", "duration": 60 + i}),
                   "a.csv", i + 2, None) for i in range(400)]
book.add_pending(rows)
book.mark_sending([rows[0].fingerprint])  # the WAL's first sync (its folder too), a checkpoint,
book.mark_sending([rows[1].fingerprint])  # and the WAL restarted after it: its header synced once
os.chdir(".")  # marks in the trace
for k in range(20):
    book.mark_sending([r.fingerprint for r in rows[2 + 16 * k : 18 + 16 * k]])
os.chdir(".")
for k in range(20):
    book.record([Outcome.created(r.fingerprint, r.row) for r in rows[2 + 16 * k : 18 + 16 * k]])
    book.flush()
os.chdir(".")
book._buffer.take()
"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace to count fsync calls")
def test_one_fsync_per_sending_batch_and_none_per_outcome_flush(path: Path, tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    done = subprocess.run(["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync,chdir", "-o", str(trace),
                           sys.executable, "-c", textwrap.dedent(FSYNCS), str(path)],
                          env=ENV, capture_output=True, text=True, timeout=120)  # fmt: skip
    if done.returncode != 0 and "ptrace" in done.stderr:
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    calls = [line.split()[1].split("(")[0] for line in trace.read_text().splitlines() if "(" in line]
    marks = [i for i, call in enumerate(calls) if call == "chdir"]
    assert len(marks) == 3, calls
    sending = calls[marks[0] + 1 : marks[1]]
    outcomes = calls[marks[1] + 1 : marks[2]]
    assert len(sending) == 20 and set(sending) <= {"fsync", "fdatasync"}, sending
    assert outcomes == []


# -- 4. a full disk stops the run resumably -------------------------------------------------------
def full(path: object) -> str:
    return messages.ledger_disk_full(path, "database or disk is full")


def test_sqlite_full_is_a_ledger_full_error(path: Path) -> None:
    with Ledger.open(path) as book:
        pages = book.conn.execute("PRAGMA page_count").fetchone()[0]
        book.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk holds no page more
        with pytest.raises(LedgerFullError) as stopped:
            book.add_pending(rows(500))
        assert str(stopped.value) == full(path)
        assert book.counts()["total"] == 0  # the transaction was rolled back whole


def test_no_space_while_making_a_new_ledger_is_a_ledger_full_error(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(tmp: Path, data: bytes) -> None:
        tmp.write_bytes(data[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ledger_file.hold, "_write_new", no_space)
    with pytest.raises(LedgerFullError) as stopped:
        Ledger.open(path)
    assert str(stopped.value) == messages.ledger_disk_full(path, "No space left on device")
    assert list(path.parent.iterdir()) == []


def test_a_full_disk_during_a_run_exits_3_and_the_resume_is_exact(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.reset()
    keys = write(tmp_path / "a.csv", 150) + write(tmp_path / "b.csv", 150, prefix="b")
    ledger = tmp_path / "l.sqlite"
    real_mark = Ledger.mark_sending

    def then_full(self: Ledger, fingerprints: Any) -> None:
        real_mark(self, fingerprints)
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        self.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from now on

    monkeypatch.setattr(Ledger, "mark_sending", then_full)
    argv = import_args(server, [tmp_path / "a.csv", tmp_path / "b.csv"], ledger)
    stopped = toggl(argv, tmp_path, server)  # b.csv's rows find no room once a.csv's are going
    assert stopped.code == 3, stopped
    assert stopped.err.endswith(f"toggl-import: {full(ledger)}\n"), stopped.err
    sent = server.requests[POSTS]
    assert 0 < sent < 300

    monkeypatch.undo()  # space was freed: the same command again
    resumed = toggl(argv, tmp_path, server)
    assert resumed.code == 0, resumed
    assert_exactly_once(server.sandbox, keys)
    assert server.requests[POSTS] == 300  # rows sent before the stop were read back, not sent again
    with Ledger.open(ledger, readonly=True) as book:
        assert (book.counts()["created"], book.counts()["total"]) == (300, 300)


# -- 5. a damaged ledger is found before anything is written to it ---------------------------------
def by_fingerprint(path: Path) -> dict[str, tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        sql = "SELECT fingerprint, state, entry_id, file, row, payload FROM rows"
        return {r[0]: r for r in conn.execute(sql)}
    finally:
        conn.close()


def damaged_ledger(path: Path, n: int = 3000) -> dict[str, tuple[Any, ...]]:
    """A ledger of ``n`` rows (some created) with pages in the middle overwritten with garbage;
    every row as it was before, by fingerprint."""
    with Ledger.open(path) as book:
        book.add_pending(rows(n))
        book.mark_sending([r.fingerprint for r in rows(n)[:100]])
        book.record([Outcome.created(r.fingerprint, 5000 + r.row) for r in rows(n)[:100]])
    before = by_fingerprint(path)
    data = bytearray(path.read_bytes())
    page = 4096
    middle = len(data) // page // 2 * page
    data[middle : middle + 3 * page] = bytes(range(256)) * (3 * page // 256)
    path.write_bytes(bytes(data))
    return before


@pytest.mark.parametrize("check", ["quick_check", "walk of every b-tree"])
def test_a_damaged_ledger_is_refused_untouched_and_what_can_be_read_is_copied(
    path: Path, check: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if check != "quick_check":
        monkeypatch.setattr(ledger_file.check, "QUICK_CHECK_MAX_PAGES", 0)
    before = damaged_ledger(path)
    damaged = path.read_bytes()
    with pytest.raises(LedgerError) as refused:
        Ledger.open(path)
    assert path.read_bytes() == damaged  # nothing was written to it
    recovered = path.with_name("toggl-import.ledger.recovered.sqlite")
    copied = by_fingerprint(recovered)
    assert 0 < len(copied) < len(before)
    assert all(before[fp] == row for fp, row in copied.items())  # every row copied is as it was
    text = str(refused.value)
    assert text.startswith(f"ledger {path} is damaged (")
    assert text.endswith(
        f"); it was left untouched: keep it; the {len(copied):,} rows that could still be read were "
        f"copied to {recovered}: to go on, pass --ledger {recovered} --check-existing (rows lost with "
        "the damage are looked up in Toggl before any is sent again)"
    )
    with Ledger.open(recovered) as book:  # the advice works: the copy is a ledger to go on with
        assert book.counts()["total"] == len(copied)
        assert book.counts()["created"] == sum(1 for r in copied.values() if r[1] == "created")

    with pytest.raises(LedgerError) as again:  # the next run: the copy is kept, not made anew
        Ledger.open(path)
    assert f"was copied to {recovered} by an earlier run" in str(again.value)
    assert path.read_bytes() == damaged


def sqlite3_recover_works(tmp_path: Path) -> bool:
    """Whether this machine's sqlite3 has a working ``.recover`` (Debian's 3.40 builds it without
    the sqlite_dbpage table it needs, and it fails with "SQL logic error")."""
    if shutil.which("sqlite3") is None:
        return False
    probe = tmp_path / "probe.sqlite"
    sqlite3.connect(probe).execute("CREATE TABLE t (x)").connection.close()
    done = subprocess.run(["sqlite3", str(probe), ".recover"], capture_output=True, text=True, timeout=60)
    return done.returncode == 0 and "CREATE TABLE" in done.stdout


@pytest.mark.slow
def test_the_sqlite3_recover_advice_works_where_sqlite3_can_recover(path: Path, tmp_path: Path) -> None:
    if not sqlite3_recover_works(tmp_path):
        pytest.skip("this sqlite3 has no working .recover (the advice's other way is tested above)")
    damaged_ledger(path)
    target = tmp_path / "recovered.sqlite"
    subprocess.run(f"sqlite3 {path} .recover | sqlite3 {target}", shell=True, check=True, timeout=120)
    with Ledger.open(target) as book:
        assert book.counts()["total"] > 0


def test_a_reader_meets_the_damage_with_the_same_advice(path: Path) -> None:
    damaged_ledger(path)
    with pytest.raises(LedgerError) as refused, Ledger.open(path, readonly=True) as book:
        list(book.rows_for_report())
    assert str(refused.value) == messages.ledger_damaged(path, "database disk image is malformed")
    assert "`toggl-import run` with it copies what can still be read" in str(refused.value)


# -- 8. an older ledger is migrated in place, after a backup --------------------------------------
FIXTURE = DATA / "ledger_schema1.sqlite"
FIXTURE_VERSION = 1
FIXTURE_COUNTS = {"created": 4, "failed": 1, "in_doubt": 2, "duplicate": 1, "pending": 2, "refused": 1}
"""What ``tests/data/make_ledger_schema1.py`` wrote (its ``EXPECTED``)."""
KEPT = "fingerprint, file, row, state, entry_id, http_status, message, payload, run_id, updated_at, " \
    "attempts, {source_key}"  # fmt: skip
"""The schema-1 columns of ``rows``: a migration may add columns, never lose these (schema 2
calls the row's content key ``source_key``: ``source`` names its stream there)."""


def schema1_rows(path: Path) -> tuple[list[Any], list[Any]]:
    conn = sqlite3.connect(path)
    try:
        runs = conn.execute("SELECT id, started_at, finished_at, summary, workspace_id, exit_code "
                            "FROM runs ORDER BY id").fetchall()  # fmt: skip
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        kept = KEPT.format(source_key="source_key" if version >= 2 else "source")
        return conn.execute(f"SELECT {kept} FROM rows ORDER BY id").fetchall(), runs
    finally:
        conn.close()


def status_json(ledger: Path, server: Server) -> dict[str, Any]:
    ran = toggl(["status", "--ledger", str(ledger), "--json"], ledger.parent, server)
    assert ran.code == 0, ran
    data: dict[str, Any] = json.loads(ran.out)
    return data


def backups(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if ".bak" in p.name)


def test_a_ledger_of_schema_1_opens_keeps_every_row_and_is_backed_up_once_if_migrated(
    tmp_path: Path, server: Server
) -> None:
    made = runpy.run_path(str(DATA / "make_ledger_schema1.py"), run_name="fixture")  # its EXPECTED
    assert made["EXPECTED"] == FIXTURE_COUNTS
    copy, pristine = tmp_path / "toggl-import.ledger.sqlite", tmp_path / "pristine" / "l.sqlite"
    pristine.parent.mkdir()
    shutil.copyfile(FIXTURE, copy)  # never the fixture itself: opening it would migrate it
    shutil.copyfile(FIXTURE, pristine)
    original = schema1_rows(copy)
    for _ in range(2):
        Ledger.open(copy).close()
        assert schema1_rows(copy) == original
        assert contents(copy)["user_version"] == SCHEMA_VERSION
        if FIXTURE_VERSION < SCHEMA_VERSION:  # once the schema moves on: exactly one backup, as it was
            assert backups(copy) == [f"{copy.name}.schema{FIXTURE_VERSION}.bak"]
            assert contents(Path(f"{copy}.schema{FIXTURE_VERSION}.bak")) == contents(pristine)
        else:
            assert backups(copy) == []
    counts = status_json(copy, server)
    assert {k: counts[k] for k in FIXTURE_COUNTS} == FIXTURE_COUNTS


def next_schema(monkeypatch: pytest.MonkeyPatch, *step: str) -> int:
    """Pretend the code is one schema version ahead, reached by ``step``."""
    schema = ledger_file.schema
    monkeypatch.setattr(schema, "_MIGRATIONS", (*schema._MIGRATIONS, tuple(step)))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    return schema.SCHEMA_VERSION


def test_an_older_ledger_is_backed_up_once_then_migrated_in_place(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "l.sqlite"
    with Ledger.open(ledger) as book:
        book.add_pending(rows(50))
    old_version = ledger_file.SCHEMA_VERSION
    before = contents(ledger)
    new = next_schema(monkeypatch, "ALTER TABLE rows ADD COLUMN note TEXT",
                      "CREATE INDEX rows_note ON rows(note)")  # fmt: skip
    for _ in range(2):
        with Ledger.open(ledger) as book:
            assert book.counts()["pending"] == 50
    after = contents(ledger)
    assert (after["user_version"], after["application_id"]) == (new, before["application_id"])
    assert [r[:-1] for r in after["rows"]] == before["rows"]  # each row kept, plus the new column
    assert backups(ledger) == [f"l.sqlite.schema{old_version}.bak"]  # made once
    assert contents(tmp_path / f"l.sqlite.schema{old_version}.bak") == before
    assert status_json(ledger, server)["pending"] == 50


def test_a_failed_migration_leaves_the_ledger_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "l.sqlite"
    with Ledger.open(ledger) as book:
        book.add_pending(rows(50))
    before = contents(ledger)
    with monkeypatch.context() as mp:  # the first statement works, the second fails
        next_schema(mp, "ALTER TABLE rows ADD COLUMN note TEXT", "CREATE TABLE runs (x)")
        with pytest.raises(LedgerError, match="table runs already exists"):
            Ledger.open(ledger)
    assert contents(ledger) == before
    assert backups(ledger) == []  # the ledger is as it was: its copy was dropped
    with Ledger.open(ledger) as book:  # and today's code goes on with it
        assert book.counts()["pending"] == 50


def test_a_backup_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = tmp_path / "l.sqlite"
    Ledger.open(ledger).close()
    old = ledger_file.SCHEMA_VERSION
    (tmp_path / f"l.sqlite.schema{old}.bak").write_bytes(b"an earlier backup")
    next_schema(monkeypatch, "ALTER TABLE rows ADD COLUMN note TEXT")
    Ledger.open(ledger).close()
    assert (tmp_path / f"l.sqlite.schema{old}.bak").read_bytes() == b"an earlier backup"
    assert backups(ledger) == [f"l.sqlite.schema{old}.2.bak", f"l.sqlite.schema{old}.bak"]


def test_no_migration_without_a_free_name_for_the_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "l.sqlite"
    Ledger.open(ledger).close()
    old = ledger_file.SCHEMA_VERSION
    for name in (f"l.sqlite.schema{old}.bak", f"l.sqlite.schema{old}.2.bak"):
        (tmp_path / name).write_bytes(b"taken")
    before = contents(ledger)
    next_schema(monkeypatch, "ALTER TABLE rows ADD COLUMN note TEXT")
    monkeypatch.setattr(ledger_file.schema, "MAX_BACKUPS", 2)
    with pytest.raises(LedgerError) as refused:
        Ledger.open(ledger)
    assert str(refused.value) == messages.ledger_backups_taken(ledger, old, 2)
    assert contents(ledger) == before


# -- 6. Ctrl-C while the program starts: one line, never a traceback ------------------------------
INTERRUPTED = (
    "toggl-import: interrupted: the ledger keeps what was sent (a request cut off is looked up in "
    "Toggl first); run the same command again to resume"
)
SCRIPT = Path(sys.executable).with_name("toggl-import")


@pytest.fixture
def _no_process_left_behind() -> Iterator[None]:
    yield
    kill_leftovers()


@pytest.mark.slow
@pytest.mark.usefixtures("_no_process_left_behind")
async def test_ctrl_c_at_any_moment_of_start_up_prints_one_line_and_the_resume_completes(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """SIGINT after growing delays: while the package imports (pandas, aiohttp), the config and
    the ledger open, the header is read, and rows are posted. Odd runs use the console script,
    even ones ``python -m importer``. (A Ctrl-C in Python's own first ~30 ms, while it imports
    ``site`` or while ``-m``'s runpy finds the module, is the interpreter's, before any code of ours
    runs: it is counted, not checked.)"""
    sb = await sandbox_factory(latency=0.002)
    sheet = tmp_path / "sheet.csv"
    keys = write(sheet, 600)  # minutes of posting at this rate: every run is stopped, none ends
    module_args = run_args(sb, [sheet], tmp_path / "ledger.sqlite", "--rate", "100", "--json")
    script_args = [str(SCRIPT), *module_args[3:]]  # ``python -m importer`` → ``toggl-import``
    seen: list[str] = []
    delays = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5]
    longer = iter([2.0, 3.0, 4.0, 6.0, 9.0])  # a slow machine's start-up: until the run itself was stopped
    for k in range(30):
        if k < len(delays):
            delay = delays[k]
        elif "summary" in seen or (delay := next(longer, 0.0)) == 0.0:
            break
        args = script_args if k % 2 and SCRIPT.exists() else module_args
        proc = await spawn(args, sb.token, tmp_path)
        await asyncio.sleep(delay)
        send_signal(proc, signal.SIGINT)
        done = await finish(proc, within=60)
        if _pythons_own(done.stderr):  # Python's own start-up, before any code of ours runs
            seen.append("python")
            continue
        assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, (delay, done.stderr)
        assert done.returncode in (3, 130, -signal.SIGINT), (delay, done.returncode, done.output)
        said = [line for line in done.stderr.splitlines() if not line.startswith("note: ")]
        if done.stdout.strip():  # stopped cleanly by the run itself: its summary says so
            assert json.loads(done.stdout.splitlines()[-1])["stopped"].startswith("interrupted"), done.stdout
            assert said == [], (delay, done.stderr)
            seen.append("summary")
        else:  # before the run could stop cleanly: the one line
            assert said == [INTERRUPTED], (delay, done.stderr)
            seen.append("line")
    assert seen.count("line") >= 3 and "summary" in seen, seen  # both kinds of moment were hit
    resumed = await run_cli(module_args, sb.token, tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert_exactly_once(sb, keys)


def _pythons_own(stderr: str) -> bool:
    """A traceback of the interpreter's start-up alone: importing ``site``, or ``-m``'s runpy
    finding the module -- frames of Python's own, none of a file of ours."""
    if "Traceback" not in stderr:
        return False
    frames = [line for line in stderr.splitlines() if line.strip().startswith("File ")]
    return "init_import_site" in stderr or (
        bool(frames) and all("<frozen runpy>" in f or "<frozen importlib" in f for f in frames)
    )


def test_an_interruption_while_the_command_imports_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importer.__main__ as entry

    class Interrupting:  # a Ctrl-C while ``importer.cli`` (pandas, aiohttp, ...) is imported
        def find_spec(self, name: str, *args: Any) -> None:
            if name == "importer.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "importer.cli")
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    previous = signal.getsignal(signal.SIGINT)
    try:
        assert entry.main(["status"]) == 3
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # the way out cannot be cut
    finally:
        signal.signal(signal.SIGINT, previous)
    assert capsys.readouterr() == ("", INTERRUPTED + "\n")
