"""Clip job rows: status and progress of each requested clip, by owner; what any process needs
to render it (options, the request it came from), and who renders it."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from service.persistence.pages import After, Page, newest_first, page_of
from service.persistence.schema import clips

CLIP_STATUSES = ("queued", "running", "done", "failed")
UNFINISHED = ("queued", "running")
_UPDATABLE = {"status", "progress", "error", "frames", "duration_s", "finished", "worker"}


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
    options: dict[str, Any] = field(default_factory=dict)
    """Render options beyond format and size (``seed``, ``mix_partner``, ``fit``)."""
    request_id: str | None = None
    attempts: int = 0
    worker: str | None = None
    key_id: str | None = None
    """The API key that asked for it (per-key quota and fairness; publishable keys' own)."""


def _row(row: Any) -> ClipRow:
    fields = row._asdict()
    fields["options"] = json.loads(fields["options"] or "{}")
    return ClipRow(**fields)


class ClipRows:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(
        self,
        *,
        owner: str,
        character_id: str,
        fmt: str,
        size: str,
        options: dict[str, Any] | None = None,
        request_id: str | None = None,
        key_id: str | None = None,
    ) -> ClipRow:
        clip_id = "clp_" + secrets.token_hex(8)
        values = dict(
            id=clip_id, owner=owner, character_id=character_id, status="queued", progress=0.0,
            format=fmt, size=size, created=time.time(), options=json.dumps(options or {}),
            request_id=request_id, key_id=key_id,
        )  # fmt: skip
        with self._engine.begin() as conn:
            conn.execute(insert(clips).values(**values))
        row = self.find(clip_id)
        assert row is not None
        return row

    def update(self, clip_id: str, **fields: Any) -> bool:
        """Set ``fields``; False when the clip is gone (deleted meanwhile)."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise KeyError(f"cannot update clip fields {sorted(unknown)}")
        if "status" in fields and fields["status"] not in CLIP_STATUSES:
            raise ValueError(f"clip status {fields['status']!r} not in {CLIP_STATUSES}")
        with self._engine.begin() as conn:
            result = conn.execute(update(clips).where(clips.c.id == clip_id).values(**fields))
        return result.rowcount > 0

    def start(self, clip_id: str, *, worker: str) -> ClipRow | None:
        """Mark the clip running on ``worker`` (one more attempt); None when it is gone or
        already finished (nothing to render)."""
        query = (
            update(clips)
            .where(clips.c.id == clip_id, clips.c.status.in_(UNFINISHED))
            .values(status="running", progress=0.0, worker=worker, attempts=clips.c.attempts + 1)
        )
        with self._engine.begin() as conn:
            if conn.execute(query).rowcount == 0:
                return None
        return self.find(clip_id)

    def requeue(self, clip_id: str, *, attempt_counts: bool) -> None:
        """Back to queued, from the start (``attempt_counts``: False when the render was
        stopped on purpose, a shutdown, rather than lost with its process)."""
        values: dict[str, Any] = {"status": "queued", "progress": 0.0}
        if not attempt_counts:
            values["attempts"] = clips.c.attempts - 1
        query = update(clips).where(clips.c.id == clip_id, clips.c.status.in_(UNFINISHED))
        with self._engine.begin() as conn:
            conn.execute(query.values(**values))

    def find(self, clip_id: str) -> ClipRow | None:
        """The clip whoever owns it (for the processes that render it)."""
        with self._engine.connect() as conn:
            row = conn.execute(select(clips).where(clips.c.id == clip_id)).first()
        return None if row is None else _row(row)

    def get(self, clip_id: str, *, owner: str) -> ClipRow | None:
        """The clip if it exists and belongs to ``owner`` (others' clips look like missing ones)."""
        query = select(clips).where(clips.c.id == clip_id, clips.c.owner == owner)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _row(row)

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
            return [_row(r) for r in conn.execute(query)]

    def unfinished(self) -> list[ClipRow]:
        """Every owner's queued and running clips, oldest first."""
        query = select(clips).where(clips.c.status.in_(UNFINISHED)).order_by(clips.c.created)
        with self._engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def count_unfinished(self, *, owner: str | None = None, key_id: str | None = None) -> int:
        """Queued and running clips across every node: all of them, or those of ``owner``, or
        of the API key ``key_id`` (per-key quota and fairness)."""
        query = select(func.count()).select_from(clips).where(clips.c.status.in_(UNFINISHED))
        if owner is not None:
            query = query.where(clips.c.owner == owner)
        if key_id is not None:
            query = query.where(clips.c.key_id == key_id)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def list(self, *, owner: str, limit: int = 100, after: After | None = None) -> Page[ClipRow]:
        """A page of the owner's clips, newest first."""
        query = select(clips).where(clips.c.owner == owner)
        query = newest_first(query, clips.c.created, clips.c.id, limit=limit, after=after)
        with self._engine.connect() as conn:
            rows = [_row(r) for r in conn.execute(query)]
        return page_of(rows, limit, lambda r: (r.created, r.id))
