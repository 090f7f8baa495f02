"""What a session sends out: its events (server-sent) and its frames (a WebSocket), at
``/v1/sessions/{id}/events`` and ``/v1/sessions/{id}/stream``; the rest of the session resource
is ``sessions.py``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from service.auth import AuthError, Caller, authenticate
from service.errors import documented
from service.realtime.events import SessionEvent, Subscription
from service.realtime.manager import SessionManager
from service.routers.sessions import ManagerDep, live_session, session_status
from service.strict import StrictRoute
from service.transports.websocket import (
    CLOSE_CONFLICT,
    CLOSE_NOT_FOUND,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORIZED,
    accept,
    close,
    refuse,
    serve_frames,
)

KEEPALIVE_S = 15.0
STOPPING_EVENT = "service_stopping"
SSE_EVENT = {
    "type": "object",
    "description": "one server-sent event: its type, and its data as JSON text",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
}

router = APIRouter(
    prefix="/v1/sessions", tags=["sessions"], route_class=StrictRoute,
    responses=documented(401, 403, 404, 422, 429, 503),
)  # fmt: skip


@router.get(
    "/{session_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": SSE_EVENT}},
                     "description": "server-sent events"}, **documented(409)},
)  # fmt: skip
async def events(
    session_id: str, request: Request, caller: Caller, manager: ManagerDep
) -> StreamingResponse:
    """Server-sent events: ``state``, ``playback_started``, ``playback_finished``,
    ``missed_frames`` (at most once a second), ``error`` when its loop fails,
    ``service_stopping`` when the service stops (reconnect to another node); the stream ends
    when the session closes or fails, or the service stops."""
    live = await live_session(manager, session_id, caller)
    subscription = live.session.events.subscribe()
    stopping: asyncio.Event = request.app.state.stopping

    async def stream() -> AsyncIterator[str]:
        first = {"type": "state", "state": live.session.stats().state}
        yield f"event: state\ndata: {json.dumps(first)}\n\n"
        try:
            while True:
                event = await _next_event(subscription, stopping)
                if event is None:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: {event.type}\ndata: {json.dumps(event.as_dict())}\n\n"
                if event.type == STOPPING_EVENT:
                    return
        except StopAsyncIteration:
            return
        finally:
            subscription.close()

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


async def _next_event(subscription: Subscription, stopping: asyncio.Event) -> SessionEvent | None:
    """The session's next event; None after ``KEEPALIVE_S`` without one; a ``service_stopping``
    event once the service stops; ``StopAsyncIteration`` when the session's events end."""
    next_event = asyncio.ensure_future(anext(subscription))
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({next_event, stop}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in (next_event, stop):
            waiter.cancel()
    if next_event.done() and not next_event.cancelled():
        return next_event.result()  # raises StopAsyncIteration at the end
    if stopping.is_set():
        return SessionEvent(STOPPING_EVENT, {"reason": "the service is stopping"})
    return None


@router.websocket("/{session_id}/stream")
async def stream_frames(websocket: WebSocket, session_id: str) -> None:
    """The session's frames as they leave, 25 per second: video (JPEG) with its audio (PCM).
    Authenticate with the ``X-API-Key`` or ``Authorization: Bearer`` header, or from a browser
    with the subprotocols ``visavis`` and ``visavis.key.<key>``; one viewer at a time. A refused
    or ended stream is closed with a code and a reason (``service.transports.websocket``: 4401
    no valid key, 4404 no such session, 4409 not open or a viewer attached, 4408 a viewer that
    stopped reading, 1011 the session failed, 1000 the session was closed, 1013 the service is
    starting or stopping)."""
    db = getattr(websocket.app.state, "db", None)
    manager: SessionManager | None = getattr(websocket.app.state, "sessions", None)
    if db is None or manager is None:
        await refuse(websocket, CLOSE_TRY_AGAIN, "the service is starting or stopping")
        return
    try:
        caller = await authenticate(websocket, db)  # a publishable key: from its origins only
    except AuthError as exc:
        await refuse(websocket, CLOSE_UNAUTHORIZED, str(exc))
        return
    record = await run_in_threadpool(manager.records.get, session_id, owner=caller.owner)
    if record is None or not caller.may_use_record(record.key_id):
        await refuse(websocket, CLOSE_NOT_FOUND, f"no session {session_id!r}")
        return
    live = manager.live(session_id)
    state, error = session_status(record, live)
    if live is None or state != "open":
        why = f"failed ({error})" if state == "failed" else "closed"
        await refuse(websocket, CLOSE_CONFLICT, f"session is {why}; resume it first")
        return
    if live.streaming:
        await refuse(websocket, CLOSE_CONFLICT, "another viewer is attached")
        return
    live.streaming = True
    try:
        await accept(websocket)
        stall_s = websocket.app.state.settings.viewer_stall_seconds
        ending = await serve_frames(websocket, live.session, stall_s=stall_s, on_frame=live.touch)
    finally:
        live.streaming = False  # before the close, which a viewer that reads nothing holds up
    if ending is not None:
        await close(websocket, *ending)
