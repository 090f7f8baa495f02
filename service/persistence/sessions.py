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

from service.persistence.schema import realtime_sessions as table

SESSION_STATUSES = ("open", "closed")


@dataclass(frozen=True)
class SessionRecord:
    id: str
    owner: str
    character_id: str
    options: dict[str, Any]
    status: str
    created: float
    updated: float
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

    def insert(self, *, owner: str, character_id: str, options: dict[str, Any]) -> SessionRecord:
        now = time.time()
        record = SessionRecord(
            id="ses_" + secrets.token_hex(8), owner=owner, character_id=character_id,
            options=dict(options), status="open", created=now, updated=now,
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
                )
            )
        return record

    def get(self, session_id: str, *, owner: str) -> SessionRecord | None:
        query = select(table).where(table.c.id == session_id, table.c.owner == owner)
        with self._engine.connect() as conn:
            return _record(conn.execute(query).first())

    def list(self, *, owner: str, limit: int = 100) -> list[SessionRecord]:
        query = (
            select(table)
            .where(table.c.owner == owner)
            .order_by(table.c.created.desc())
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [r for r in map(_record, conn.execute(query)) if r is not None]

    def set_status(self, session_id: str, status: str, *, node: str | None = None) -> None:
        """``node``: the API node that runs the session's engine (when it opens)."""
        if status not in SESSION_STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(SESSION_STATUSES)}")
        values: dict[str, Any] = {"status": status, "updated": time.time()}
        if node is not None:
            values["node"] = node
        query = update(table).where(table.c.id == session_id).values(**values)
        with self._engine.begin() as conn:
            conn.execute(query)

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
