"""Idempotency-Key records: the first answer to a create POST, kept so a repeat of the same
request with the same key gets that answer again instead of creating a second resource."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.persistence.schema import idempotency_keys as table


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status: int | None  # None: the first request is still being answered
    content_type: str | None
    location: str | None
    body: bytes | None


class IdempotencyRows:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(self, key_id: str, idem_key: str, fingerprint: str) -> StoredAnswer | None:
        """Claim ``idem_key`` for a new request (None), or the record of an earlier one."""
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(table).values(key_id=key_id, idem_key=idem_key,
                                                  fingerprint=fingerprint, created=time.time()))  # fmt: skip
            return None
        except IntegrityError:
            pass
        query = select(table).where(table.c.key_id == key_id, table.c.idem_key == idem_key)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:  # released between the two statements: claim again
            return self.claim(key_id, idem_key, fingerprint)
        return StoredAnswer(row.fingerprint, row.status, row.content_type, row.location, row.body)

    def complete(
        self, key_id: str, idem_key: str, *, status: int, content_type: str | None,
        location: str | None, body: bytes,
    ) -> None:  # fmt: skip
        with self._engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.key_id == key_id, table.c.idem_key == idem_key)
                .values(status=status, content_type=content_type, location=location, body=body)
            )

    def release(self, key_id: str, idem_key: str) -> None:
        """Forget a claim whose request did not finish with an answer worth repeating."""
        with self._engine.begin() as conn:
            conn.execute(delete(table).where(table.c.key_id == key_id,
                                             table.c.idem_key == idem_key))  # fmt: skip

    def expire(self, older_than_s: float) -> int:
        with self._engine.begin() as conn:
            cutoff = time.time() - older_than_s
            return conn.execute(delete(table).where(table.c.created < cutoff)).rowcount
