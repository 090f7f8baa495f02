"""Persistent character sessions: who owns a session, which character and options it uses,
whether it is open. Closing keeps the row, so a session can be resumed later with the same
character, persona and options."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update

from service.persistence.pages import After, Page, newest_first, page_of
from service.persistence.schema import characters
from service.persistence.schema import realtime_sessions as table

SESSION_STATUSES = ("open", "closed", "failed")
"""``failed``: its loop stopped on an error (``error`` says which); it can be resumed."""


@dataclass(frozen=True)
class SessionRecord:
    id: str
    owner: str
    character_id: str
    options: dict[str, Any]
    status: str
    created: float
    updated: float
    key_id: str | None = None
    error: str | None = None
    node: str | None = None
    """The API node whose engine runs it while it is open."""


def _record(row: Row[Any] | None) -> SessionRecord | None:
    if row is None:
        return None
    fields = row._asdict()
    fields["options"] = json.loads(fields["options"])
    return SessionRecord(**fields)


class SessionRows:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(
        self, *, owner: str, character_id: str, options: dict[str, Any], key_id: str | None = None
    ) -> SessionRecord:
        now = time.time()
        record = SessionRecord(
            id="ses_" + secrets.token_hex(8), owner=owner, character_id=character_id,
            options=dict(options), status="open", created=now, updated=now, key_id=key_id,
        )  # fmt: skip
        with self._engine.begin() as conn:
            conn.execute(
                insert(table).values(
                    id=record.id,
                    owner=owner,
                    character_id=character_id,
                    options=json.dumps(options),
                    status="open",
                    created=now,
                    updated=now,
                    key_id=key_id,
                )
            )
        return record

    def get(self, session_id: str, *, owner: str) -> SessionRecord | None:
        query = select(table).where(table.c.id == session_id, table.c.owner == owner)
        with self._engine.connect() as conn:
            return _record(conn.execute(query).first())

    def list(
        self, *, owner: str, limit: int = 100, after: After | None = None
    ) -> Page[SessionRecord]:
        """A page of the owner's sessions, newest first."""
        query = select(table).where(table.c.owner == owner)
        query = newest_first(query, table.c.created, table.c.id, limit=limit, after=after)
        with self._engine.connect() as conn:
            rows = [r for r in map(_record, conn.execute(query)) if r is not None]
        return page_of(rows, limit, lambda r: (r.created, r.id))

    def set_status(
        self, session_id: str, status: str, *, error: str | None = None, node: str | None = None
    ) -> None:
        """``status``, with ``error`` saying why when it is ``failed`` (cleared otherwise);
        ``node``: the API node that runs the session's engine (when it opens)."""
        if status not in SESSION_STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(SESSION_STATUSES)}")
        if (status == "failed") != (error is not None):
            raise ValueError("a failed session needs its error, and only a failed one has one")
        values: dict[str, Any] = {"status": status, "error": error, "updated": time.time()}
        if node is not None:
            values["node"] = node
        query = update(table).where(table.c.id == session_id).values(**values)
        with self._engine.begin() as conn:
            conn.execute(query)

    def delete(self, session_id: str) -> None:
        """Forget a session (one whose creation failed: its id was never given out)."""
        with self._engine.begin() as conn:
            conn.execute(table.delete().where(table.c.id == session_id))

    def delete_orphans(self) -> int:
        """Delete the sessions whose character no longer exists (they can never be resumed)."""
        query = table.delete().where(table.c.character_id.not_in(select(characters.c.id)))
        with self._engine.begin() as conn:
            return conn.execute(query).rowcount

    def close_all_open(self, *, node: str) -> int:
        """Mark the sessions a previous run of ``node`` left open closed (their engines died
        with it); other nodes' sessions are theirs. Rows from before nodes were recorded too."""
        query = (
            update(table)
            .where(table.c.status == "open", (table.c.node == node) | table.c.node.is_(None))
            .values(status="closed", updated=time.time())
        )
        with self._engine.begin() as conn:
            return conn.execute(query).rowcount
