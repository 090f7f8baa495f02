"""Live sessions of the REST API: build an engine for a stored session, keep it running,
close it; a closed session keeps its record and can be resumed with the same character and
options. Every lookup is by owner, so another key's session is simply not found."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi.concurrency import run_in_threadpool

from service.persistence import SessionRecord
from service.persistence.sessions import SessionRows
from service.realtime.engine import RealtimeSession
from service.realtime.factory import SessionFactory
from service.realtime.parts import SessionSpec

log = logging.getLogger(__name__)


class SessionLimitError(RuntimeError):
    """As many live sessions run here as this machine may."""


def session_spec(
    store: Any, character_id: str, options: dict[str, Any], *, device: str = "cpu"
) -> SessionSpec:
    """The spec of a session of the stored character with a session's stored ``options``
    (size, seed, persona), on ``device``."""
    return SessionSpec(
        str(store.folder(character_id)),
        size=options.get("size") or "512",
        seed=options.get("seed"),
        persona=options.get("persona"),
        device=device,
    )


@dataclass
class LiveSession:
    record: SessionRecord
    session: RealtimeSession
    last_used: float = field(default_factory=time.monotonic)
    streaming: bool = False
    """A viewer is attached to its frames (they have one consumer)."""

    def touch(self) -> None:
        self.last_used = time.monotonic()


class SessionManager:
    def __init__(
        self,
        *,
        records: SessionRows,
        store: Any,
        factory: SessionFactory,
        max_live: int = 8,
        idle_close_s: float = 1800.0,
        device: str = "cpu",
        node: str = "",
    ) -> None:
        """``store``: the service's characters; ``factory`` builds the sessions (it is shared
        with the other transports and closed by its owner, not here); ``node``: this API node's
        name, recorded with the sessions it runs."""
        if max_live < 1:
            raise ValueError(f"max_live must be >= 1, got {max_live}")
        if idle_close_s <= 0:
            raise ValueError(f"idle_close_s must be > 0, got {idle_close_s}")
        self.records = records
        self._store = store
        self._factory = factory
        self._device = device
        self.node = node
        self.max_live = max_live
        self.idle_close_s = idle_close_s
        self._live: dict[str, LiveSession] = {}
        self._lock = asyncio.Lock()
        self._reaper: asyncio.Task[None] | None = None

    def live(self, session_id: str, *, touch: bool = True) -> LiveSession | None:
        """The running session; using it (``touch``) keeps it from being closed as idle,
        merely looking at it (a listing) does not."""
        live = self._live.get(session_id)
        if live is not None and touch:
            live.touch()
        return live

    def start(self) -> None:
        """Start closing sessions nobody used for ``idle_close_s`` (they hold a CPU share)."""
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap(), name="visavis-session-reaper")
            self._reaper.add_done_callback(self._reaper_done)

    def _reaper_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("session reaper failed", exc_info=task.exception())

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.idle_close_s / 4))
            now = time.monotonic()
            for session_id, live in list(self._live.items()):
                if now - live.last_used > self.idle_close_s:
                    log.info("closing idle session session=%s", session_id)
                    await self.close(session_id)

    async def open(self, record: SessionRecord) -> LiveSession:
        """Start the engine of ``record`` (idempotent)."""
        async with self._lock:
            if (existing := self._live.get(record.id)) is not None:
                return existing
            if len(self._live) >= self.max_live:
                raise SessionLimitError(
                    f"{self.max_live} sessions are live here; close one before opening another"
                )
            session = await self._build(record)
            session.start()
            live = LiveSession(record=record, session=session)
            self._live[record.id] = live
            await run_in_threadpool(
                functools.partial(self.records.set_status, record.id, "open", node=self.node)
            )
            log.info("session opened session=%s", record.id)
            return live

    async def _build(self, record: SessionRecord) -> RealtimeSession:
        # loaded here first: a missing or corrupt character is this request's error, not a
        # worker's
        await run_in_threadpool(self._store.load, record.character_id)
        spec = session_spec(self._store, record.character_id, record.options, device=self._device)
        return await self._factory.open(spec)

    async def close(self, session_id: str) -> None:
        async with self._lock:
            live = self._live.pop(session_id, None)
        if live is not None:
            await live.session.aclose()
        await run_in_threadpool(self.records.set_status, session_id, "closed")
        log.info("session closed session=%s", session_id)

    async def aclose(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        for session_id in list(self._live):
            await self.close(session_id)
