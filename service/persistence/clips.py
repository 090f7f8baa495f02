"""Clip job rows: status and progress of each requested clip, by owner."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from service.persistence.pages import After, Page, newest_first, page_of
from service.persistence.schema import clips

CLIP_STATUSES = ("queued", "running", "done", "failed")
_UPDATABLE = {"status", "progress", "error", "frames", "duration_s", "finished"}


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
    key_id: str | None = None


PENDING = ("queued", "running")


class ClipRows:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(
        self, *, owner: str, character_id: str, fmt: str, size: str, key_id: str | None = None
    ) -> ClipRow:
        clip_id = "clp_" + secrets.token_hex(8)
        with self._engine.begin() as conn:
            conn.execute(
                insert(clips).values(
                    id=clip_id,
                    owner=owner,
                    character_id=character_id,
                    status="queued",
                    progress=0.0,
                    format=fmt,
                    size=size,
                    created=time.time(),
                    key_id=key_id,
                )
            )
        row = self.get(clip_id, owner=owner)
        assert row is not None
        return row

    def update(self, clip_id: str, **fields: Any) -> None:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise KeyError(f"cannot update clip fields {sorted(unknown)}")
        if "status" in fields and fields["status"] not in CLIP_STATUSES:
            raise ValueError(f"clip status {fields['status']!r} not in {CLIP_STATUSES}")
        with self._engine.begin() as conn:
            conn.execute(update(clips).where(clips.c.id == clip_id).values(**fields))

    def get(self, clip_id: str, *, owner: str) -> ClipRow | None:
        """The clip if it exists and belongs to ``owner`` (others' clips look like missing ones)."""
        query = select(clips).where(clips.c.id == clip_id, clips.c.owner == owner)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else ClipRow(**row._asdict())

    def delete(self, clip_id: str, *, owner: str) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(clips).where(clips.c.id == clip_id, clips.c.owner == owner)
            )
        return result.rowcount > 0

    def finished_before(self, cutoff: float) -> list[ClipRow]:
        """Every owner's clips that finished (done or failed) before ``cutoff`` (epoch seconds)."""
        query = select(clips).where(
            clips.c.status.in_(("done", "failed")), clips.c.finished < cutoff
        )
        with self._engine.connect() as conn:
            return [ClipRow(**r._asdict()) for r in conn.execute(query)]

    def fail_unfinished(self, reason: str) -> int:
        """Jobs left queued or running by a previous process can never finish: mark them failed."""
        query = (
            update(clips)
            .where(clips.c.status.in_(PENDING))
            .values(status="failed", error=reason, finished=time.time())
        )
        with self._engine.begin() as conn:
            return conn.execute(query).rowcount

    def list(self, *, owner: str, limit: int = 100, after: After | None = None) -> Page[ClipRow]:
        """A page of the owner's clips, newest first."""
        query = select(clips).where(clips.c.owner == owner)
        query = newest_first(query, clips.c.created, clips.c.id, limit=limit, after=after)
        with self._engine.connect() as conn:
            rows = [ClipRow(**r._asdict()) for r in conn.execute(query)]
        return page_of(rows, limit, lambda r: (r.created, r.id))

    def pending(self, key_id: str) -> int:
        """Clips of the key ``key_id`` queued or rendering (in any process)."""
        query = select(func.count()).where(clips.c.key_id == key_id, clips.c.status.in_(PENDING))
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
