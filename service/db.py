"""SQLite persistence: API keys (hashed, never stored plain) and clip jobs.

One connection shared across threads behind a lock: the service writes little (a key, a job row,
progress updates a few times a second), so this is simpler than a pool and safe with the clip
worker threads. Characters live in ``avatars.store.CharacterStore`` beside this database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEY_PREFIX = "vv"
"""Keys look like ``vv_<key id>_<secret>``; the id finds the row, the secret is verified by HMAC."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    salt BLOB NOT NULL,
    digest BLOB NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS clips (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    character_id TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    format TEXT NOT NULL,
    size TEXT NOT NULL,
    frames INTEGER,
    duration_s REAL,
    created REAL NOT NULL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS clips_owner ON clips(owner, created);
"""

CLIP_STATUSES = ("queued", "running", "done", "failed")


@dataclass(frozen=True)
class ClipRow:
    id: str
    owner: str
    character_id: str
    status: str
    progress: float
    error: str | None
    format: str
    size: str
    frames: int | None
    duration_s: float | None
    created: float
    finished: float | None


def _digest(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode(), hashlib.sha256).digest()


def parse_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    parts = key.strip().split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _split(key: str) -> tuple[str, str]:
    """(row id, secret): our keys carry their id; an operator's free-form key gets a derived one."""
    parsed = parse_key(key)
    if parsed:
        return parsed
    return "op" + hashlib.sha256(key.encode()).hexdigest()[:10], key


class Database:
    def __init__(self, *, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        with self._tx() as cur:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ---- API keys --------------------------------------------------------------------------------

    def create_key(self, owner: str, *, label: str = "") -> str:
        """A new key for ``owner``; the plain key is returned once and only its HMAC is stored."""
        if not owner or len(owner) > 200:
            raise ValueError(f"owner {owner!r} must be 1–200 characters")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24).replace("_", "-")
        self._insert_key(key_id, secret, owner, label)
        return f"{KEY_PREFIX}_{key_id}_{secret}"

    def register_key(self, key: str, owner: str, *, label: str = "") -> None:
        """Store a key chosen by the operator (e.g. the bootstrap key); idempotent."""
        key_id, secret = _split(key)
        if self.owner_for_key(key) == owner:
            return
        with self._tx() as cur:
            cur.execute("DELETE FROM api_keys WHERE key_id = ?", (key_id,))
        self._insert_key(key_id, secret, owner, label)

    def _insert_key(self, key_id: str, secret: str, owner: str, label: str) -> None:
        salt = secrets.token_bytes(16)
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO api_keys (key_id, owner, salt, digest, label, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, owner, salt, _digest(salt, secret), label, time.time()),
            )

    def owner_for_key(self, key: str) -> str | None:
        """The owner of a valid, unrevoked key, else None. Constant-time secret comparison."""
        key_id, secret = _split(key)
        with self._tx() as cur:
            row = cur.execute(
                "SELECT owner, salt, digest FROM api_keys WHERE key_id = ? AND revoked = 0",
                (key_id,),
            ).fetchone()
        if row is None:
            return None
        if not hmac.compare_digest(_digest(row["salt"], secret), row["digest"]):
            return None
        return str(row["owner"])

    def revoke_key(self, key: str) -> bool:
        owner = self.owner_for_key(key)
        if owner is None:
            return False
        key_id, _ = _split(key)
        with self._tx() as cur:
            cur.execute("UPDATE api_keys SET revoked = 1 WHERE key_id = ?", (key_id,))
        return True

    # ---- clip jobs -------------------------------------------------------------------------------

    def insert_clip(self, *, owner: str, character_id: str, fmt: str, size: str) -> ClipRow:
        clip_id = "clp_" + secrets.token_hex(8)
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO clips (id, owner, character_id, status, format, size, created)"
                " VALUES (?, ?, ?, 'queued', ?, ?, ?)",
                (clip_id, owner, character_id, fmt, size, time.time()),
            )
        row = self.get_clip(clip_id, owner=owner)
        assert row is not None
        return row

    def update_clip(self, clip_id: str, **fields: Any) -> None:
        allowed = {"status", "progress", "error", "frames", "duration_s", "finished"}
        unknown = set(fields) - allowed
        if unknown:
            raise KeyError(f"cannot update clip fields {sorted(unknown)}")
        if "status" in fields and fields["status"] not in CLIP_STATUSES:
            raise ValueError(f"clip status {fields['status']!r} not in {CLIP_STATUSES}")
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self._tx() as cur:
            cur.execute(f"UPDATE clips SET {columns} WHERE id = ?", (*fields.values(), clip_id))

    def get_clip(self, clip_id: str, *, owner: str) -> ClipRow | None:
        """The clip if it exists and belongs to ``owner`` (others' clips look like missing ones)."""
        with self._tx() as cur:
            row = cur.execute(
                "SELECT * FROM clips WHERE id = ? AND owner = ?", (clip_id, owner)
            ).fetchone()
        return None if row is None else ClipRow(**dict(row))

    def list_clips(self, *, owner: str, limit: int = 100) -> list[ClipRow]:
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT * FROM clips WHERE owner = ? ORDER BY created DESC LIMIT ?", (owner, limit)
            ).fetchall()
        return [ClipRow(**dict(r)) for r in rows]

    def delete_clip(self, clip_id: str, *, owner: str) -> bool:
        with self._tx() as cur:
            cur.execute("DELETE FROM clips WHERE id = ? AND owner = ?", (clip_id, owner))
            return cur.rowcount > 0

    def finished_clips_before(self, cutoff: float) -> list[ClipRow]:
        """Every owner's clips that finished (done or failed) before ``cutoff`` (epoch seconds)."""
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT * FROM clips WHERE status IN ('done', 'failed') AND finished < ?",
                (cutoff,),
            ).fetchall()
        return [ClipRow(**dict(r)) for r in rows]

    def fail_unfinished_clips(self, reason: str) -> int:
        """Jobs left queued or running by a previous process can never finish: mark them failed."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE clips SET status = 'failed', error = ?, finished = ?"
                " WHERE status IN ('queued', 'running')",
                (reason, time.time()),
            )
            return cur.rowcount
