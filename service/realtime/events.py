"""Session events (state changes, playback started/finished, missed frames) fanned out to any
number of subscribers, each with its own bounded queue so a slow listener never blocks the clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE = 256


@dataclass(frozen=True)
class SessionEvent:
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "at": round(self.at, 3), **self.data}


class EventHub:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[SessionEvent | None]] = set()
        self._closed = False
        self.lost = 0
        """Events a subscriber missed because its queue was full."""

    def publish(self, event: SessionEvent) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()  # the oldest goes: a live view wants the newest
                self.lost += 1
            queue.put_nowait(event)

    def subscribe(self) -> Subscription:
        """Events from this call on, until the session closes (registered at once)."""
        queue: asyncio.Queue[SessionEvent | None] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        if self._closed:
            queue.put_nowait(None)
        else:
            self._subscribers.add(queue)
        return Subscription(queue, self._subscribers.discard)

    def close(self) -> None:
        self._closed = True
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)


class Subscription:
    """An async iterator over one subscriber's events; ``close()`` unsubscribes."""

    def __init__(
        self,
        queue: asyncio.Queue[SessionEvent | None],
        unsubscribe: Callable[[asyncio.Queue[SessionEvent | None]], None],
    ) -> None:
        self._queue = queue
        self._unsubscribe = unsubscribe

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> SessionEvent:
        event = await self._queue.get()
        if event is None:
            self.close()
            raise StopAsyncIteration
        return event

    def close(self) -> None:
        self._unsubscribe(self._queue)
