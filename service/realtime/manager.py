"""Live sessions of the REST API: build an engine for a stored session, keep it running,
close it; a closed session keeps its record and can be resumed with the same character and
options. Every lookup is by owner, so another key's session is simply not found."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.concurrency import run_in_threadpool

from service.persistence import SessionRecord
from service.persistence.sessions import SessionRows
from service.realtime.admission import Admission
from service.realtime.engine import RealtimeSession
from service.realtime.factory import SessionFactory
from service.realtime.failure import SessionFailure
from service.realtime.parts import SessionSpec

log = logging.getLogger(__name__)


class SessionQuotaError(RuntimeError):
    """The key that opens the session has as many live here as one key may."""

    def __init__(self, live: int, limit: int) -> None:
        super().__init__(f"this key has {live} live sessions, its limit")
        self.live = live
        self.limit = limit


def session_spec(
    store: Any,
    character_id: str,
    options: dict[str, Any],
    *,
    device: str = "cpu",
) -> SessionSpec:
    """The spec of a session of the stored character with a session's stored ``options``
    (size, seed, persona, fit), on ``device``."""
    return SessionSpec(
        str(store.folder(character_id)),
        size=options.get("size") or "512",
        seed=options.get("seed"),
        persona=options.get("persona"),
        device=device,
        fit=options.get("fit") or "cover",
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
        admission: Admission | None = None,
        idle_close_s: float = 1800.0,
        device: str = "cpu",
        on_status: Callable[[SessionRecord, str], None] | None = None,
        node: str = "",
    ) -> None:
        """``store``: the service's characters; ``factory`` builds the sessions (it is shared
        with the other transports and closed by its owner, not here); ``admission`` decides
        whether one more session fits (default: at most 8, and none while they miss frames);
        ``on_status`` is told (in a thread) when a session opens, closes or fails, with its
        record: ``"opened"`` / ``"closed"`` / ``"failed"`` (the record then carries the error);
        ``node``: this API node's name, recorded with the sessions it runs."""
        if idle_close_s <= 0:
            raise ValueError(f"idle_close_s must be > 0, got {idle_close_s}")
        self.records = records
        self._store = store
        self._factory = factory
        self._device = device
        self._on_status = on_status
        self.admission = admission or Admission(max_sessions=8)
        self.node = node
        self.idle_close_s = idle_close_s
        self._live: dict[str, LiveSession] = {}
        self._lock = asyncio.Lock()
        self._reaper: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()

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
            self._reaper.add_done_callback(self._task_done)
            self._watcher = asyncio.create_task(self._watch(), name="visavis-session-admission")
            self._watcher.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("session manager task failed task=%s", task.get_name(),
                      exc_info=task.exception())  # fmt: skip

    async def _watch(self) -> None:
        """The live sessions' missed frames, once a second, for admission control."""
        while True:
            self.admission.observe(live.session.stats() for live in list(self._live.values()))
            await asyncio.sleep(1.0)

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.idle_close_s / 4))
            now = time.monotonic()
            for session_id, live in list(self._live.items()):
                if now - live.last_used > self.idle_close_s:
                    log.info("closing idle session session=%s", session_id)
                    await self.close(session_id)

    async def open(self, record: SessionRecord, *, per_key: int | None = None) -> LiveSession:
        """Start the engine of ``record`` (idempotent); at most ``per_key`` live sessions of
        the key that opened it (SessionQuotaError), so one key cannot take every slot."""
        async with self._lock:
            if (existing := self._live.get(record.id)) is not None:
                return existing
            self.admission.check(len(self._live))  # CapacityError: no room now
            mine = sum(1 for live in self._live.values() if live.record.key_id == record.key_id)
            if per_key is not None and mine >= per_key:
                raise SessionQuotaError(mine, per_key)
            session = await self._build(record)
            session.start()
            live = LiveSession(record=record, session=session)
            self._live[record.id] = live
            session.on_failure(lambda failure: self._failed(live, failure))
            await run_in_threadpool(
                functools.partial(self.records.set_status, record.id, "open", node=self.node)
            )
            log.info("session opened session=%s", record.id)
            await self._tell(record, "opened")
            return live

    def _failed(self, live: LiveSession, failure: SessionFailure) -> None:
        """The session's loop failed (the engine logged, counted and announced it): take it
        out of the live ones and store the failure on its record."""
        task = asyncio.create_task(self._retire(live, failure), name="visavis-session-retire")
        self._retiring.add(task)
        task.add_done_callback(self._retired)

    async def _retire(self, live: LiveSession, failure: SessionFailure) -> None:
        session_id = live.record.id
        async with self._lock:
            if self._live.get(session_id) is live:
                del self._live[session_id]
        await live.session.aclose()
        self.admission.retire(live.session.stats())
        await run_in_threadpool(
            self.records.set_status, session_id, "failed", error=failure.reason
        )
        log.info("session failed session=%s cause=%s", session_id, failure.cause)
        failed = dataclasses.replace(live.record, status="failed", error=failure.reason)
        await self._tell(failed, "failed")

    def _retired(self, task: asyncio.Task[None]) -> None:
        self._retiring.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("storing a session failure failed", exc_info=task.exception())

    async def _build(self, record: SessionRecord) -> RealtimeSession:
        # loaded here first: a missing or corrupt character is this request's error, not a
        # worker's
        await run_in_threadpool(self._store.load, record.character_id)
        spec = session_spec(self._store, record.character_id, record.options, device=self._device)
        return await self._factory.open(spec)

    async def close(self, session_id: str) -> None:
        """Stop the session's engine; a session that is not live keeps its status (a failed
        one stays failed, with its error, until it is resumed)."""
        async with self._lock:
            live = self._live.pop(session_id, None)
        if live is None:
            return
        await live.session.aclose()
        self.admission.retire(live.session.stats())
        await run_in_threadpool(self.records.set_status, session_id, "closed")
        log.info("session closed session=%s", session_id)
        await self._tell(live.record, "closed")

    async def _tell(self, record: SessionRecord, change: str) -> None:
        if self._on_status is not None:
            await run_in_threadpool(self._on_status, record, change)

    async def aclose(self) -> None:
        tasks = [task for task in (self._reaper, self._watcher) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for session_id in list(self._live):
            await self.close(session_id)
        await asyncio.gather(*self._retiring, return_exceptions=True)
