"""The statements that write the ledger's rows, and the batch of outcomes applied with them.

``Ledger`` (``ledger.py``) decides *when* to write -- a buffered batch of outcomes, the durable
``sending``/``updating``/``deleting`` marks before requests leave, the run's record -- and calls
these inside one transaction. A create's outcome never overwrites a row that is created (or being
updated or deleted) already (``_NOT_OWNED``); marks raise rather than mark a row that may not be
sent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from .keys import redact
from .ledger_reads import MAX_PARAMS
from .ledger_records import Op, Outcome
from .models import RowStatus

_NOT_OWNED = "('created', 'updating', 'deleting', 'deleted')"
"""States a create's outcome never overwrites."""
_SETTLE = f"""UPDATE rows SET state = ?1, entry_id = ?2, http_status = ?3, message = ?4, at = ?5,
    run_id = coalesce(?6, run_id), updated_at = ?7,
    created_run = CASE WHEN ?1 = 'created' THEN coalesce(?6, run_id) ELSE created_run END
    WHERE fingerprint = ?8 AND state NOT IN {_NOT_OWNED}"""
_UPDATED = """UPDATE rows SET state = 'created', fingerprint = coalesce(?, fingerprint),
    payload = coalesce(next_payload, payload), next_payload = NULL,
    source_key = coalesce(?, source_key), at = ?, http_status = ?, message = NULL,
    start_epoch = coalesce(CAST(strftime('%s', json_extract(next_payload, '$.start')) AS INTEGER),
                           start_epoch),
    run_id = coalesce(?, run_id), updated_at = ? WHERE fingerprint = ? AND state = 'updating'"""
_RESTORE = """UPDATE rows SET state = 'created', next_payload = NULL, message = ?, http_status = ?,
    run_id = coalesce(?, run_id), updated_at = ?
    WHERE fingerprint = ? AND state IN ('updating', 'deleting')"""
_DELETED = """UPDATE rows SET state = 'deleted', message = ?, http_status = ?,
    run_id = coalesce(?, run_id), updated_at = ?
    WHERE fingerprint = ? AND state IN ('deleting', 'created')"""
_UPSERT = f"""INSERT INTO rows (fingerprint, file, row, state, http_status, message, payload, run_id,
    updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO UPDATE SET
    file = excluded.file, row = excluded.row, state = excluded.state,
    http_status = excluded.http_status, message = excluded.message, payload = excluded.payload,
    run_id = excluded.run_id, updated_at = excluded.updated_at
    WHERE rows.state NOT IN {_NOT_OWNED}"""
_SENDING = f"""UPDATE rows SET state = 'sending', attempts = attempts + 1, sent_at = ?,
    run_id = coalesce(?, run_id), updated_at = ? WHERE fingerprint = ? AND state NOT IN {_NOT_OWNED}"""
_UPDATING = """UPDATE rows SET state = 'updating', next_payload = ?, attempts = attempts + 1,
    sent_at = ?, run_id = coalesce(?, run_id), updated_at = ?
    WHERE fingerprint = ? AND state IN ('created', 'updating')"""
_DELETING = """UPDATE rows SET state = 'deleting', attempts = attempts + 1, sent_at = ?,
    run_id = coalesce(?, run_id), updated_at = ?
    WHERE fingerprint = ? AND state IN ('created', 'deleting')"""
_ADD = """INSERT INTO rows (fingerprint, file, row, state, payload, run_id, updated_at, source_key,
    source, key, workspace_id, start_epoch)
    VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, CAST(strftime('%s', ?) AS INTEGER))
    ON CONFLICT (fingerprint) DO UPDATE SET state = 'pending', file = excluded.file,
    row = excluded.row, payload = excluded.payload, run_id = excluded.run_id,
    updated_at = excluded.updated_at, source_key = excluded.source_key, source = excluded.source,
    key = excluded.key, entry_id = NULL, at = NULL, message = NULL, http_status = NULL
    WHERE rows.state = 'deleted'"""
"""New rows as ``pending``; a row whose entry was deleted comes back as ``pending`` too (created
anew); any other known row keeps its state."""


def _start_text(body: Mapping[str, Any] | str | None) -> str | None:
    if isinstance(body, Mapping):
        start = body.get("start")
        return start if isinstance(start, str) else None
    return None


def _workspace(body: Mapping[str, Any] | str | None) -> int | None:
    if isinstance(body, Mapping):
        wid = body.get("workspace_id")
        return wid if isinstance(wid, int) else None
    return None


def apply_outcomes(
    conn: sqlite3.Connection,
    outcomes: Sequence[Outcome],
    now: str,
    run_id: int | None,
    secrets: Sequence[str],
) -> None:
    """Write a batch of outcomes inside the caller's transaction: settles, per-run rows, updates,
    restores and deletes, each kind in one ``executemany``."""
    settles: list[tuple[Any, ...]] = []
    upserts: list[tuple[Any, ...]] = []
    others: dict[str, list[tuple[Any, ...]]] = {}
    for o in outcomes:
        run = o.run_id if o.run_id is not None else run_id
        text = redact(o.message, secrets) if o.message and secrets else o.message
        if o.op is Op.SETTLE:
            if o.state == RowStatus.SENDING:
                raise ValueError("use mark_sending(), not record(), for the sending state")
            settles.append((o.state.value, o.entry_id, o.http_status, text, o.at, run, now,
                            o.fingerprint))  # fmt: skip
        elif o.op is Op.PER_RUN:
            upserts.append(
                (o.fingerprint, o.file, o.row, o.state.value, o.http_status, text, o.payload, run, now)
            )
        elif o.op is Op.UPDATED:
            others.setdefault(_UPDATED, []).append(
                (o.new_fingerprint, o.source_key, o.at, o.http_status, run, now, o.fingerprint)
            )
        elif o.op is Op.RESTORE:
            others.setdefault(_RESTORE, []).append((text, o.http_status, run, now, o.fingerprint))
        else:
            others.setdefault(_DELETED, []).append((text, o.http_status, run, now, o.fingerprint))
    if settles and conn.executemany(_SETTLE, settles).rowcount < len(settles):
        missing = _unknown(conn, [u[-1] for u in settles])
        if missing:
            raise ValueError(f"outcome for rows never added (add_pending first): {missing[:3]}")
    if upserts:
        conn.executemany(_UPSERT, upserts)
    for sql, values in others.items():
        conn.executemany(sql, values)


def _unknown(conn: sqlite3.Connection, fingerprints: Sequence[str]) -> list[str]:
    known: set[str] = set()
    keys = list(dict.fromkeys(fingerprints))
    for lo in range(0, len(keys), MAX_PARAMS):
        chunk = keys[lo : lo + MAX_PARAMS]
        sql = f"SELECT fingerprint FROM rows WHERE fingerprint IN ({','.join('?' * len(chunk))})"
        known.update(r[0] for r in conn.execute(sql, chunk))
    return [fp for fp in keys if fp not in known]


def _not_sendable(conn: sqlite3.Connection, fingerprints: Sequence[str]) -> str:
    missing = _unknown(conn, fingerprints)
    created = [
        fp
        for fp in fingerprints
        if fp not in missing
        and conn.execute(
            f"SELECT 1 FROM rows WHERE fingerprint = ? AND state IN {_NOT_OWNED}", (fp,)
        ).fetchone()
    ]
    return (
        f"cannot mark rows as sending: {len(missing)} unknown (add_pending first) {missing[:3]}, "
        f"{len(created)} already created (never post them again) {created[:3]}"
    )
