"""Live sessions of the REST API: build an engine for a stored session, keep it running,
close it; a closed session keeps its record and can be resumed with the same character and
options. Every lookup is by owner, so another key's session is simply not found."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from fastapi.concurrency import run_in_threadpool

from service.realtime.engine import RealtimeSession
from service.realtime.factory import build_session
from service.realtime.records import SessionRecord, SessionRecords

log = logging.getLogger(__name__)


class SessionLimitError(RuntimeError):
    """As many live sessions run here as this machine may."""


@dataclass
class LiveSession:
    record: SessionRecord
    session: RealtimeSession
    video_size: tuple[int, int]


class SessionManager:
    def __init__(self, *, records: SessionRecords, store: Any, max_live: int = 8) -> None:
        self.records = records
        self._store = store
        self.max_live = max_live
        self._live: dict[str, LiveSession] = {}
        self._lock = asyncio.Lock()

    def live(self, session_id: str) -> LiveSession | None:
        return self._live.get(session_id)

    async def open(self, record: SessionRecord) -> LiveSession:
        """Start the engine of ``record`` (idempotent)."""
        async with self._lock:
            if (existing := self._live.get(record.id)) is not None:
                return existing
            if len(self._live) >= self.max_live:
                raise SessionLimitError(
                    f"{self.max_live} sessions are live here; close one before opening another"
                )
            session, size = await run_in_threadpool(self._build, record)
            session.start()
            live = LiveSession(record=record, session=session, video_size=size)
            self._live[record.id] = live
            await run_in_threadpool(self.records.set_status, record.id, "open")
            log.info("session opened session=%s", record.id)
            return live

    def _build(self, record: SessionRecord) -> tuple[RealtimeSession, tuple[int, int]]:
        character = self._store.load(record.character_id)
        opts = record.options
        return build_session(
            character,
            size=opts.get("size", "512"),
            seed=opts.get("seed"),
            persona=opts.get("persona"),
        )

    async def close(self, session_id: str) -> None:
        async with self._lock:
            live = self._live.pop(session_id, None)
        if live is not None:
            await live.session.aclose()
        await run_in_threadpool(self.records.set_status, session_id, "closed")
        log.info("session closed session=%s", session_id)

    async def aclose(self) -> None:
        for session_id in list(self._live):
            await self.close(session_id)
