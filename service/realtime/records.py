"""Persistent character sessions in the service's SQLite file: who owns a session, which
character and options it uses, whether it is open. Closing keeps the row, so a session can be
resumed later with the same character, persona and options.

Its own connection (WAL mode lets it share the file with ``service.db``); the table is ours.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS realtime_sessions (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    character_id TEXT NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS realtime_sessions_owner ON realtime_sessions(owner, created);
"""

STATUSES = ("open", "closed")


@dataclass(frozen=True)
class SessionRecord:
    id: str
    owner: str
    character_id: str
    options: dict[str, Any]
    status: str
    created: float
    updated: float


class SessionRecords:
    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(Path(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _row(self, row: sqlite3.Row | None) -> SessionRecord | None:
        if row is None:
            return None
        return SessionRecord(
            id=row["id"],
            owner=row["owner"],
            character_id=row["character_id"],
            options=json.loads(row["options"]),
            status=row["status"],
            created=row["created"],
            updated=row["updated"],
        )

    def insert(self, *, owner: str, character_id: str, options: dict[str, Any]) -> SessionRecord:
        now = time.time()
        record = SessionRecord(
            id="ses_" + secrets.token_hex(8),
            owner=owner,
            character_id=character_id,
            options=dict(options),
            status="open",
            created=now,
            updated=now,
        )
        with self._lock:
            self._conn.execute(
                "INSERT INTO realtime_sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.id, owner, character_id, json.dumps(options), "open", now, now),
            )
        return record

    def get(self, session_id: str, *, owner: str) -> SessionRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM realtime_sessions WHERE id = ? AND owner = ?", (session_id, owner)
            ).fetchone()
        return self._row(row)

    def list(self, *, owner: str, limit: int = 100) -> list[SessionRecord]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM realtime_sessions WHERE owner = ? ORDER BY created DESC LIMIT ?",
                (owner, limit),
            ).fetchall()
        return [r for r in map(self._row, rows) if r is not None]

    def set_status(self, session_id: str, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        with self._lock:
            self._conn.execute(
                "UPDATE realtime_sessions SET status = ?, updated = ? WHERE id = ?",
                (status, time.time(), session_id),
            )

    def close_all_open(self) -> int:
        """Mark sessions left open by a previous run closed (their engines died with it)."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE realtime_sessions SET status = 'closed', updated = ? WHERE status = 'open'",
                (time.time(),),
            )
        return cur.rowcount
