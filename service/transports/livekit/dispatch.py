"""Avatar workers started on request (``POST /v1/livekit/dispatch``): one task per room, owned
by the API key that asked, limited in number, all stopped by ``aclose()``."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

from service.realtime import metrics
from service.realtime.protocol import SessionProtocol
from service.transports.livekit.worker import AvatarWorker, AvatarWorkerOptions

log = logging.getLogger(__name__)

KEEP_ENDED = 100


class DispatchLimitError(RuntimeError):
    """This service already runs as many avatar workers as it may."""


class AgentBusyError(RuntimeError):
    """An avatar here already speaks for that agent identity."""


class TokenMismatchError(ValueError):
    """A supplied token that cannot be the avatar's token for the requested room."""


def check_token_for_room(token: str, room: str) -> str:
    """The identity the token grants in ``room``; ValueError when it is for another room.

    The signature is LiveKit's to check (we may not hold the secret); this only catches
    mistakes early with a clear message instead of a failed join later.
    """
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenMismatchError(f"token is not a LiveKit JWT ({exc})") from None
    granted = (claims.get("video") or {}).get("room")
    if granted != room:
        raise TokenMismatchError(f"token grants room {granted!r}, not the requested {room!r}")
    if not claims.get("sub"):
        raise TokenMismatchError("token has no identity (sub)")
    return str(claims["sub"])


@dataclass
class Dispatch:
    id: str
    owner: str
    room: str
    character_id: str
    identity: str
    worker: AvatarWorker
    agent_identity: str | None = None
    created: float = field(default_factory=time.time)
    task: asyncio.Task[str] | None = None

    @property
    def state(self) -> str:
        return self.worker.state

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room": self.room,
            "character_id": self.character_id,
            "avatar_identity": self.identity,
            "state": self.state,
            "end_reason": self.worker.end_reason,
            "reconnects": self.worker.reconnects,
            "created": self.created,
        }


class AvatarDispatcher:
    def __init__(self, *, max_workers: int = 8) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self.max_workers = max_workers
        self._dispatches: dict[str, Dispatch] = {}
        self._tasks: set[asyncio.Task[str]] = set()

    def running(self) -> int:
        return sum(1 for d in self._dispatches.values() if d.state != "ended")

    def check_capacity(self) -> None:
        if self.running() >= self.max_workers:
            raise DispatchLimitError(
                f"{self.max_workers} avatar workers are already running here; "
                "stop one or register more machines with `visavis worker`"
            )

    def start(
        self,
        *,
        owner: str,
        url: str,
        token: str,
        room: str,
        character_id: str,
        session: SessionProtocol,
        options: AvatarWorkerOptions | None = None,
    ) -> Dispatch:
        self.check_capacity()
        identity = check_token_for_room(token, room)
        wanted = options.agent_identity if options is not None else None
        if wanted is not None and any(
            d.agent_identity == wanted and d.state != "ended" for d in self._dispatches.values()
        ):
            # livekit-agents routes lk.clear_buffer by the caller's identity, process-wide
            raise AgentBusyError(f"an avatar here already speaks for agent {wanted!r}")
        worker = AvatarWorker(session=session, options=options)
        dispatch = Dispatch(
            id="lk_" + secrets.token_hex(8),
            owner=owner,
            room=room,
            character_id=character_id,
            identity=identity,
            worker=worker,
            agent_identity=wanted,
        )
        task = asyncio.create_task(worker.run(url, token), name=f"avatar-{dispatch.id}")
        metrics.LIVEKIT_WORKERS.inc()
        dispatch.task = task
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        self._dispatches[dispatch.id] = dispatch
        self._forget_old()
        log.info("avatar dispatched id=%s room=%s", dispatch.id, room)
        return dispatch

    def _forget_old(self) -> None:
        """Keep the newest KEEP_ENDED ended dispatches for status queries; drop older ones."""
        ended = [d for d in self._dispatches.values() if d.state == "ended"]
        for dispatch in sorted(ended, key=lambda d: d.created)[: max(0, len(ended) - KEEP_ENDED)]:
            del self._dispatches[dispatch.id]

    def _task_done(self, task: asyncio.Task[str]) -> None:
        self._tasks.discard(task)
        metrics.LIVEKIT_WORKERS.dec()
        if not task.cancelled() and task.exception() is not None:
            log.error("avatar worker failed task=%s", task.get_name(), exc_info=task.exception())

    def get(self, dispatch_id: str, *, owner: str) -> Dispatch | None:
        dispatch = self._dispatches.get(dispatch_id)
        return dispatch if dispatch is not None and dispatch.owner == owner else None

    def list(self, *, owner: str) -> list[Dispatch]:
        return [d for d in self._dispatches.values() if d.owner == owner]

    async def stop(self, dispatch: Dispatch, *, timeout: float = 5.0) -> None:
        dispatch.worker.stop()
        if dispatch.task is None or dispatch.task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(dispatch.task), timeout)
        except TimeoutError:
            dispatch.task.cancel()
            await asyncio.gather(dispatch.task, return_exceptions=True)

    async def aclose(self) -> None:
        for dispatch in list(self._dispatches.values()):
            dispatch.worker.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.error("avatar worker ended with an error", exc_info=result)
