"""The ledger: content keys, state rules, batching, durability against kill -9, foreign files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from importer import ledger as ledger_module
from importer import ledger_file
from importer.errors import LedgerError
from importer.ledger import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    Ledger,
    Outcome,
    PendingRow,
    RecordBuffer,
    fingerprint,
    position_fingerprint,
    redact,
)
from importer.models import RowStatus

REPO = Path(__file__).resolve().parents[1]
BODY: dict[str, Any] = {
    "created_with": "toggl-import",
    "workspace_id": 1234567,
    "start": "2026-09-23T13:00:00Z",
    "duration": 5400,
    "description": "Review the invoice export",
    "project_id": 11,
    "task_id": 22,
    "tags": ["billing", "acme"],
    "billable": True,
    "user_id": 33,
}


def body(**changes: Any) -> dict[str, Any]:
    return {**BODY, **changes}


def rows(n: int, file: str = "a.csv") -> list[PendingRow]:
    """``n`` distinct rows, spreadsheet rows 2.."""
    out = []
    for i in range(n):
        b = body(description=f"entry {i}")
        out.append(PendingRow(fingerprint(b), file, i + 2, b))
    return out


@pytest.fixture
def mem() -> Iterator[Ledger]:
    with Ledger.open(":memory:") as ledger:
        ledger.start_run("test", 1234567)
        yield ledger


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "toggl-import.ledger.sqlite"


def state(ledger: Ledger, fp: str) -> RowStatus:
    return ledger.known([fp])[fp].state


# -- fingerprints ----------------------------------------------------------------------------------
def test_fingerprint_ignores_key_order_and_tag_order() -> None:
    shuffled = dict(reversed(list(BODY.items())))
    shuffled["tags"] = ["acme", "billing"]
    assert fingerprint(shuffled) == fingerprint(BODY)


def test_fingerprint_is_pinned() -> None:
    """Changing the key invalidates every ledger: users' reruns would post everything again."""
    assert fingerprint(BODY) == "e10e4dad7a9c1c6e807f70a059374098"


@pytest.mark.parametrize(
    "change",
    [
        {"workspace_id": 7654321},
        {"user_id": 34},
        {"user_id": None},
        {"start": "2026-09-23T13:00:01Z"},
        {"duration": 5401},
        {"description": "Review the invoice export."},
        {"description": None},
        {"project_id": 12},
        {"task_id": 23},
        {"tags": ["billing"]},
        {"tags": ["billing", "acme", "extra"]},
        {"tags": ["Billing", "acme"]},
    ],
)
def test_fingerprint_changes_with_any_content(change: dict[str, Any]) -> None:
    assert fingerprint(body(**change)) != fingerprint(BODY)


def test_fingerprint_equal_forms_of_the_same_entry() -> None:
    with_stop = body(stop="2026-09-23T14:30:00Z")
    del with_stop["duration"]
    assert fingerprint(with_stop) == fingerprint(BODY)
    assert fingerprint(body(start="2026-09-23T15:00:00+02:00")) == fingerprint(BODY)
    assert fingerprint(body(tags=None)) == fingerprint(body(tags=[]))
    assert fingerprint(body(description="")) == fingerprint(body(description=None))
    # not part of an entry's identity, as for in-run duplicates
    assert fingerprint(body(billable=False, created_with="other")) == fingerprint(BODY)


def test_fingerprint_refuses_what_is_not_an_entry() -> None:
    no_length = body()
    del no_length["duration"]
    with pytest.raises(ValueError, match="duration or a stop"):
        fingerprint(no_length)
    with pytest.raises(ValueError, match="UTC offset"):
        fingerprint(body(start="2026-09-23T13:00:00", duration=None, stop="2026-09-23T14:00:00"))


def test_position_keys_never_meet_content_keys() -> None:
    assert position_fingerprint("a.csv", 2) != position_fingerprint("a.csv", 3)
    assert position_fingerprint("a.csv", 2) != position_fingerprint("b.csv", 2)
    assert len(position_fingerprint("a.csv", 2)) == len(fingerprint(BODY)) == 32


def test_redact() -> None:
    assert redact("token abcd1234 refused", ["abcd1234"]) == "token *** refused"
    assert redact("a b", ["", "a"]) == "a b"  # empty or tiny secrets would shred the text


# -- states ----------------------------------------------------------------------------------------
def test_pending_sending_created(mem: Ledger) -> None:
    (r,) = rows(1)
    assert mem.add_pending([r], mem.run_id) == 1
    assert state(mem, r.fingerprint) == RowStatus.PENDING
    mem.mark_sending([r.fingerprint])
    sending = mem.known([r.fingerprint])[r.fingerprint]
    assert (sending.state, sending.attempts) == (RowStatus.SENDING, 1)
    assert [u.fingerprint for u in mem.unresolved()] == [r.fingerprint]
    mem.record([Outcome.created(r.fingerprint, 4001)])
    done = mem.known([r.fingerprint])[r.fingerprint]
    assert (done.state, done.entry_id, done.file, done.row) == (RowStatus.CREATED, 4001, "a.csv", 2)
    assert done.payload == done.body == r.body
    assert list(mem.unresolved()) == []


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (lambda fp: Outcome.failed(fp, 400, "bad project"), (RowStatus.FAILED, 400)),
        (lambda fp: Outcome.in_doubt(fp, "timeout", http_status=504), (RowStatus.IN_DOUBT, 504)),
        (lambda fp: Outcome.pending(fp, "connection refused"), (RowStatus.PENDING, None)),
    ],
)
def test_other_outcomes(mem: Ledger, outcome: Any, expected: tuple[Any, ...]) -> None:
    (r,) = rows(1)
    mem.add_pending([r])
    mem.mark_sending([r.fingerprint])
    mem.record([outcome(r.fingerprint)])
    rec = mem.known([r.fingerprint])[r.fingerprint]
    assert (rec.state, rec.http_status) == expected
    assert rec.message == outcome(r.fingerprint).message


def test_retry_counts_attempts(mem: Ledger) -> None:
    (r,) = rows(1)
    mem.add_pending([r])
    mem.mark_sending([r.fingerprint, r.fingerprint])  # listed twice: one attempt
    mem.record([Outcome.in_doubt(r.fingerprint, "no answer")])
    mem.mark_sending([r.fingerprint])
    assert mem.known([r.fingerprint])[r.fingerprint].attempts == 2


def test_add_pending_leaves_known_rows_alone(mem: Ledger) -> None:
    a, b = rows(2)
    mem.add_pending([a])
    mem.mark_sending([a.fingerprint])
    mem.record([Outcome.failed(a.fingerprint, 400, "nope")])
    assert mem.add_pending([a, b]) == 1
    assert state(mem, a.fingerprint) == RowStatus.FAILED
    assert state(mem, b.fingerprint) == RowStatus.PENDING


def test_created_is_never_overwritten(mem: Ledger) -> None:
    a, b = rows(2)
    mem.add_pending([a, b])
    mem.mark_sending([a.fingerprint])
    mem.record([Outcome.created(a.fingerprint, 1)])
    mem.record([Outcome.failed(a.fingerprint, 500, "late"), Outcome.in_doubt(a.fingerprint, "x")])
    mem.record([Outcome.pending(a.fingerprint), Outcome.created(a.fingerprint, 2)])
    rec = mem.known([a.fingerprint])[a.fingerprint]
    assert (rec.state, rec.entry_id) == (RowStatus.CREATED, 1)
    with pytest.raises(ValueError, match="1 already created"):
        mem.mark_sending([b.fingerprint, a.fingerprint])
    assert state(mem, b.fingerprint) == RowStatus.PENDING  # all or nothing
    with pytest.raises(sqlite3.IntegrityError, match="changes only by an update or a delete"):
        mem.conn.execute("UPDATE rows SET state = 'failed' WHERE fingerprint = ?", [a.fingerprint])


def test_unknown_rows_are_refused(mem: Ledger) -> None:
    with pytest.raises(ValueError, match="add_pending first"):
        mem.mark_sending(["0" * 32])
    mem.record([Outcome.created("1" * 32, 5)])
    with pytest.raises(ValueError, match="add_pending first"):
        mem.flush()
    with pytest.raises(ValueError, match="mark_sending"):
        mem.record([Outcome("2" * 32, RowStatus.SENDING)])
        mem.flush()


def test_known_looks_up_more_than_999(mem: Ledger) -> None:
    many = rows(2500)
    mem.add_pending(many)
    asked = [r.fingerprint for r in many] + ["f" * 32]
    found = mem.known(asked)
    assert len(found) == 2500
    assert found[many[2499].fingerprint].row == 2501
    assert mem.known([]) == {}


def test_per_run_facts_by_position(mem: Ledger) -> None:
    mem.record_refused("a.csv", 5, "Start", "not a date", mem.run_id)
    mem.record_duplicate("a.csv", 6, fingerprint(BODY), mem.run_id, message="same as row 2")
    mem.record_refused("b.csv", 2, None, "no project 'X'")
    by_pos = {(r.file, r.row): r for r in mem.rows_for_report(mem.run_id)}
    assert by_pos["a.csv", 5].state == RowStatus.REFUSED
    assert by_pos["a.csv", 5].message == "column 'Start': not a date"
    assert by_pos["a.csv", 6].message == "same as row 2"
    mem.record_duplicate("a.csv", 5, fingerprint(BODY))  # the position's latest fact wins
    assert mem.counts()["refused"] == 1
    assert mem.counts()["duplicate"] == 2
    run = mem.start_run("again", 1, files=["a.csv"])
    assert mem.counts(by_file=True) == {"b.csv": counts(refused=1)}
    assert list(mem.rows_for_report(run)) == []


def counts(**n: int) -> dict[str, int]:
    base = dict.fromkeys(ledger_module.COUNT_KEYS, 0)
    base.update(n)
    base["total"] = sum(n.values())
    return base


def test_counts_per_state_and_file(mem: Ledger) -> None:
    a = rows(4, "a.csv")
    b = rows(2, "b.csv")
    b = [r._replace(fingerprint=fingerprint(body(description=f"b{r.row}"))) for r in b]
    mem.add_pending(a + b)
    mem.mark_sending([r.fingerprint for r in a[:3] + b[:1]])
    mem.record([Outcome.created(a[0].fingerprint, 1), Outcome.failed(a[1].fingerprint, 400, "x")])
    mem.record([Outcome.in_doubt(b[0].fingerprint, "timeout")])  # a[2] stays sending
    mem.record_refused("a.csv", 9, None, "no end")
    assert mem.counts() == counts(created=1, failed=1, in_doubt=2, pending=2, refused=1)
    assert mem.counts(by_file=True) == {
        "a.csv": counts(created=1, failed=1, in_doubt=1, pending=1, refused=1),
        "b.csv": counts(in_doubt=1, pending=1),
    }
    assert {r.fingerprint for r in mem.unresolved()} == {a[2].fingerprint, b[0].fingerprint}
    assert mem.created_entry_ids() == {1}


def test_empty_counts(mem: Ledger) -> None:
    assert mem.counts() == counts()
    assert mem.counts(by_file=True) == {}


def test_rows_for_report_pages_and_allows_writes_between(mem: Ledger) -> None:
    many = rows(1200)
    mem.add_pending(many)
    mem.mark_sending([r.fingerprint for r in many])
    seen = []
    for rec in mem.unresolved():  # reconcile while reading: the pages must not skip or repeat
        seen.append(rec.row)
        mem.record([Outcome.created(rec.fingerprint, rec.row)])
    assert seen == list(range(2, 1202))
    assert [r.entry_id for r in mem.rows_for_report()] == list(range(2, 1202))
    assert mem.counts()["created"] == 1200


def test_runs_are_recorded(path: Path) -> None:
    with Ledger.open(path, secrets=["s3cr3t-token"]) as ledger:
        run = ledger.start_run("run a.csv --token s3cr3t-token", 42)
        ledger.finish_run(run, 1)
    conn = sqlite3.connect(path)
    try:
        sql = "SELECT summary, workspace_id, exit_code, finished_at FROM runs"
        row = conn.execute(sql).fetchone()
    finally:
        conn.close()
    assert row[:3] == ("run a.csv --token ***", 42, 1)
    assert row[3] is not None


def test_messages_never_keep_a_secret(path: Path) -> None:
    with Ledger.open(path, secrets=["tok-123456"]) as ledger:
        (r,) = rows(1)
        ledger.add_pending([r])
        ledger.mark_sending([r.fingerprint])
        ledger.record([Outcome.failed(r.fingerprint, 403, "token tok-123456 refused")])
    assert b"tok-123456" not in path.read_bytes()


# -- buffering -------------------------------------------------------------------------------------
def test_record_buffer_is_due_by_rows_or_time() -> None:
    now = [0.0]
    buf = RecordBuffer(max_rows=3, max_seconds=1.0, clock=lambda: now[0])
    assert not buf.due
    buf.add([Outcome.pending("a"), Outcome.pending("b")])
    assert not buf.due
    now[0] = 1.0
    assert buf.due
    assert len(buf.take()) == 2
    buf.add([Outcome.pending(x) for x in "abc"])
    assert buf.due


def test_outcomes_wait_then_go_with_the_next_sending_commit(path: Path) -> None:
    with Ledger.open(path, flush_rows=1000, flush_seconds=3600) as ledger:
        a, b = rows(2)
        ledger.add_pending([a, b])
        ledger.mark_sending([a.fingerprint])
        ledger.record([Outcome.created(a.fingerprint, 7)])
        assert ledger.buffered == 1
        assert on_disk(path, a.fingerprint) == "sending"
        ledger.mark_sending([b.fingerprint])
        assert ledger.buffered == 0
        assert on_disk(path, a.fingerprint) == "created"
        ledger.record([Outcome.created(b.fingerprint, 8)])
        assert state(ledger, b.fingerprint) == RowStatus.CREATED  # reads see the buffer
    assert on_disk(path, b.fingerprint) == "created"


def test_buffer_flushes_when_full(path: Path) -> None:
    with Ledger.open(path, flush_rows=2, flush_seconds=3600) as ledger:
        a, b = rows(2)
        ledger.add_pending([a, b])
        ledger.mark_sending([a.fingerprint, b.fingerprint])
        ledger.record([Outcome.created(a.fingerprint, 1)])
        assert on_disk(path, a.fingerprint) == "sending"
        ledger.record([Outcome.created(b.fingerprint, 2)])
        assert on_disk(path, a.fingerprint) == on_disk(path, b.fingerprint) == "created"


def test_buffer_flushes_when_old(path: Path) -> None:
    with Ledger.open(path, flush_seconds=0) as ledger:
        (r,) = rows(1)
        ledger.add_pending([r])
        ledger.mark_sending([r.fingerprint])
        ledger.record([Outcome.created(r.fingerprint, 1)])
        assert ledger.buffered == 0
        assert on_disk(path, r.fingerprint) == "created"


def on_disk(path: Path, fp: str) -> str:
    """The state another process would read now."""
    conn = sqlite3.connect(path)
    try:
        found = conn.execute("SELECT state FROM rows WHERE fingerprint = ?", (fp,)).fetchone()
        return str(found[0])
    finally:
        conn.close()


# -- kill -9 ---------------------------------------------------------------------------------------
KILLED = """
import os, signal, sys
from importer.ledger import Ledger, Outcome, PendingRow, fingerprint
ledger = Ledger.open(sys.argv[1], flush_rows=1000, flush_seconds=3600)
ledger.start_run("killed", 1)
rows = [PendingRow(fingerprint({{"workspace_id": 1, "start": "2026-01-01T09:00:00Z",
        "duration": 60 * (i + 1)}}), "a.csv", i + 2, None) for i in range(3)]
ledger.add_pending(rows)
ledger.mark_sending([r.fingerprint for r in rows[:2]])
ledger.record([Outcome.created(rows[0].fingerprint, 501)])
{flush}
os.kill(os.getpid(), signal.SIGKILL)
"""


def run_killed(path: Path, flush: bool) -> None:
    code = textwrap.dedent(KILLED.format(flush="ledger.flush()" if flush else ""))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()


@pytest.mark.slow
def test_kill_9_keeps_sending_rows_and_loses_only_buffered_outcomes(path: Path) -> None:
    run_killed(path, flush=False)
    with Ledger.open(path) as ledger:  # the dead run's lock is gone with it
        states = {r.row: r.state for r in ledger.rows_for_report()}
        assert states == {2: RowStatus.SENDING, 3: RowStatus.SENDING, 4: RowStatus.PENDING}
        assert [r.row for r in ledger.unresolved()] == [2, 3]  # read back, never lost
        assert ledger.counts()["in_doubt"] == 2


@pytest.mark.slow
def test_kill_9_after_flush_keeps_the_outcome(path: Path) -> None:
    run_killed(path, flush=True)
    with Ledger.open(path, readonly=True) as ledger:
        states = {r.row: (r.state, r.entry_id) for r in ledger.rows_for_report()}
    assert states[2] == (RowStatus.CREATED, 501)
    assert states[3] == (RowStatus.SENDING, None)


# -- files that are not (our) ledgers --------------------------------------------------------------
def test_new_file_is_marked_as_ours(path: Path) -> None:
    Ledger.open(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_reopen_keeps_rows(path: Path) -> None:
    (r,) = rows(1)
    with Ledger.open(path) as ledger:
        ledger.add_pending([r])
    with Ledger.open(path) as ledger:
        assert state(ledger, r.fingerprint) == RowStatus.PENDING


def test_random_binary_file_is_refused_untouched(path: Path) -> None:
    junk = bytes(range(256)) * 64
    path.write_bytes(junk)
    with pytest.raises(LedgerError, match=r"not a toggl-import ledger.*not a SQLite") as err:
        Ledger.open(path)
    assert str(path) in str(err.value)
    assert "--ledger" in str(err.value)
    assert path.read_bytes() == junk


def test_foreign_sqlite_database_is_refused_untouched(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(LedgerError, match=r"another application \(no application id, tables: no"):
        Ledger.open(path)
    with pytest.raises(LedgerError, match="another application"):
        Ledger.open(path, readonly=True)
    assert path.read_bytes() == before
    assert list(path.parent.iterdir()) == [path]  # no lock file left next to it


def test_database_of_another_application_id(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0x0f055112")  # e.g. Fossil
    conn.close()
    with pytest.raises(LedgerError, match="application_id 0xf055112"):
        Ledger.open(path)


def test_newer_schema_is_refused(path: Path) -> None:
    Ledger.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    newer = rf"newer toggl-import \(schema {SCHEMA_VERSION + 1};.*Upgrade"
    with pytest.raises(LedgerError, match=newer):
        Ledger.open(path)


def test_damaged_ledger_says_keep_it(path: Path) -> None:
    with Ledger.open(path) as ledger:
        ledger.add_pending(rows(2000))
    data = bytearray(path.read_bytes())
    page = 4096
    data[page:] = b"\xa5" * (len(data) - page)  # every page but the header page
    path.write_bytes(bytes(data))
    damaged = r"is damaged \(.*\); it was left untouched: keep it"
    with pytest.raises(LedgerError, match=damaged):  # checked at open, before any write
        Ledger.open(path)
    # a reader is not checked at open: the first read of a bad page fails as clearly
    with pytest.raises(LedgerError, match=r"is damaged \(database disk image is malformed\)"), \
            Ledger.open(path, readonly=True) as reader:  # fmt: skip
        reader.counts()


def test_failed_creation_leaves_nothing(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = ((*ledger_file.schema._MIGRATIONS[0], "CREATE TABLE runs (x)"),)
    monkeypatch.setattr(ledger_file.schema, "_MIGRATIONS", broken)
    with pytest.raises(LedgerError, match="already exists"):
        Ledger.open(path)
    assert list(path.parent.iterdir()) == []  # neither the ledger nor its temporary file
    monkeypatch.undo()
    Ledger.open(path).close()


def test_missing_folder_and_missing_ledger(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no folder"):
        Ledger.open(tmp_path / "nope" / "l.sqlite")
    with pytest.raises(LedgerError, match="no ledger at"):
        Ledger.open(tmp_path / "l.sqlite", readonly=True)
    assert list(tmp_path.iterdir()) == []


# -- two runs --------------------------------------------------------------------------------------
def test_second_writer_is_refused(path: Path) -> None:
    in_use = rf"in use by another run \(pid {os.getpid()}\)"
    with Ledger.open(path), pytest.raises(LedgerError, match=in_use):
        Ledger.open(path)
    Ledger.open(path).close()  # released on close


HOLDER = """
import sys
from importer.ledger import Ledger
with Ledger.open(sys.argv[1]):
    print("ready", flush=True)
    sys.stdin.read()
"""


@pytest.mark.slow
def test_writer_in_another_process_is_refused(path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        try:
            assert holder.stdout.readline() == "ready\n"
            with pytest.raises(LedgerError, match=rf"in use by another run \(pid {holder.pid}\)"):
                Ledger.open(path)
        finally:
            holder.stdin.close()
            holder.wait()
    Ledger.open(path).close()


def test_reader_works_while_a_run_writes(path: Path) -> None:
    with Ledger.open(path) as writer:
        writer.add_pending(rows(3))
        with Ledger.open(path, readonly=True) as reader:
            assert reader.counts()["pending"] == 3
            with pytest.raises(LedgerError, match="read-only"):
                reader.record([Outcome.pending("x")])


def test_closed_ledger(mem: Ledger) -> None:
    mem.close()
    mem.close()
    with pytest.raises(LedgerError, match="closed"):
        mem.counts()
