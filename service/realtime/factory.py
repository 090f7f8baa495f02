"""The one way the service builds a real-time session: ``SessionFactory``.

Given a ``SessionSpec`` (what the session is made of, ``parts.py``), it builds the parts on a
``FramePool``'s worker processes (the service's default: sessions use every core) or, with
``workers=0``, on threads of this process (one LiveKit job per process, a test, a small
machine). REST sessions, LiveKit dispatch and ``visavis worker`` jobs all open their sessions
here; the transports then drive the session through its public protocol (``protocol.py``).
"""

from __future__ import annotations

import asyncio
import logging

from service.realtime.engine import RealtimeSession
from service.realtime.options import SessionOptions
from service.realtime.parts import PartsBuilder, SessionSpec, build_parts
from service.realtime.pool import FramePool
from service.realtime.workers import FrameWorkers, freeze_long_lived_objects

log = logging.getLogger(__name__)


class SessionFactory:
    """Builds sessions; owns the frame worker processes, if any (``aclose()`` stops them)."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        warm: bool = False,
        build: PartsBuilder = build_parts,
        open_timeout_s: float = 120.0,
        stagger: bool = True,
    ) -> None:
        """``workers``: frame worker processes (default: one per core; 0: threads of this
        process); ``warm``: start them with ``start()`` rather than with the first session;
        ``build``: spec -> parts (a module-level function, for the workers to import)."""
        if workers is not None and not (isinstance(workers, int) and 0 <= workers <= 64):
            raise ValueError(f"workers must be an integer in 0..64 (0: threads), got {workers!r}")
        self._build = build
        self._warm = warm
        self.pool: FramePool | None = None
        if workers != 0:
            self.pool = FramePool(
                workers=workers, build=build, open_timeout_s=open_timeout_s, stagger=stagger
            )

    def start(self) -> None:
        """Start the frame workers now if they are to be warm (needs the running loop); then
        this process's long-lived objects (the app and its imports) leave the cyclic GC: a full
        collection would stall every live session's frame clock for the ~0.2 s it takes to walk
        them."""
        if self.pool is not None and self._warm:
            self.pool.warm()
            freeze_long_lived_objects()

    async def open(
        self, spec: SessionSpec, *, options: SessionOptions | None = None
    ) -> RealtimeSession:
        """A new session made as ``spec`` says (not started: ``session.start()``)."""
        if self.pool is not None:
            frames = await self.pool.open(spec)
            return RealtimeSession(frames=frames, options=options)
        parts = await asyncio.to_thread(self._build, spec)
        backend = FrameWorkers(
            motion=parts.motion, renderer=parts.renderer, video_size=parts.video_size,
            jpeg_quality=spec.jpeg_quality,
        )  # fmt: skip
        return RealtimeSession(frames=backend, options=options)

    async def aclose(self) -> None:
        """Stop the frame workers (no process outlives the factory)."""
        if self.pool is not None:
            await self.pool.aclose()
