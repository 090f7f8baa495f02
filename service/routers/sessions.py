"""``/v1/sessions``: persistent real-time character sessions.

Create one for a character (options: size, seed), push speech (raw PCM or any audio file),
have it speak text with the local TTS, interrupt it (the answer says how far it got), trigger a
gesture, feed it what the partner says, follow its events (server-sent events) and watch it
(``/stream``: a WebSocket of frames, each picture with its audio). Closing stops its engine and
keeps the session; resuming starts it again with the same character, persona and options.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    HTTPException,
    Query,
    Request,
    WebSocket,
    status,
)
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from audio.clocks import SAMPLE_RATE
from avatars.vocabulary import check_persona
from service.auth import AuthError, Owner, authenticate
from service.deps import SettingsDep, StoreDep
from service.persistence import SessionRecord
from service.realtime.manager import LiveSession, SessionLimitError, SessionManager
from service.realtime.options import SessionClosedError
from service.routers.characters import find_character
from service.sizes import DEFAULT_SIZE, SizeName
from service.transports.websocket import (
    CLOSE_BUSY,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHORIZED,
    serve_frames,
)

log = logging.getLogger(__name__)

PCM_TYPES = ("audio/l16", "audio/pcm", "application/octet-stream")
KEEPALIVE_S = 15.0


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    records = app.state.db.sessions
    node = app.state.settings.node_name
    stale = await run_in_threadpool(lambda: records.close_all_open(node=node))
    if stale:
        log.info("sessions left open by a previous run closed count=%d node=%s", stale, node)
    app.state.sessions = SessionManager(
        records=records, store=app.state.store, factory=app.state.factory,
        device=app.state.settings.device, node=node,
    )  # fmt: skip
    app.state.sessions.start()
    try:
        yield
    finally:
        manager, app.state.sessions = app.state.sessions, None
        await manager.aclose()


router = APIRouter(prefix="/v1/sessions", tags=["sessions"], lifespan=lifespan)


def get_manager(request: Request) -> SessionManager:
    manager = getattr(request.app.state, "sessions", None)
    if manager is None:
        raise HTTPException(503, "service is starting or stopping: sessions are not ready")
    return manager  # type: ignore[no-any-return]


ManagerDep = Annotated[SessionManager, Depends(get_manager)]


class SessionIn(BaseModel):
    character_id: str = Field(min_length=1, max_length=200)
    size: SizeName = DEFAULT_SIZE
    seed: int | None = Field(default=None, ge=0, lt=2**32)
    persona: dict[str, float] | None = Field(
        default=None,
        description="how it moves: expressiveness, nod_rate, smile, blink_rate in [0, 1]",
    )

    @field_validator("persona")
    @classmethod
    def _known_traits(cls, persona: dict[str, float] | None) -> dict[str, float] | None:
        return check_persona(persona)


class SessionOut(BaseModel):
    id: str
    character_id: str
    status: str
    options: dict[str, Any]
    created: float
    state: str | None = None
    stats: dict[str, Any] | None = None
    events_url: str


class SpeakIn(BaseModel):
    text: str = Field(min_length=1)
    engine: Literal["espeak", "piper"] = "espeak"
    voice: str | None = Field(default=None, max_length=100)


class TriggerIn(BaseModel):
    gesture: str = Field(min_length=1, max_length=64, description="e.g. nod, smile, blink")


class QueuedOut(BaseModel):
    queued_seconds: float
    """Speech waiting to be spoken, including what was just pushed."""


class InterruptOut(BaseModel):
    position: float
    """Seconds of the interrupted utterance that had been played."""


def _out(record: SessionRecord, live: LiveSession | None) -> SessionOut:
    stats: dict[str, Any] | None = None
    if live is not None:
        s = live.session.stats()
        stats = {
            "frames": s.frames,
            "missed_deadlines": s.missed_deadlines,
            "unconsumed_frames": s.dropped_frames,
            "queued_seconds": s.queued_seconds,
            "latency_ms_p50": s.latency_ms_p50,
            "latency_ms_p95": s.latency_ms_p95,
        }
    return SessionOut(
        id=record.id,
        character_id=record.character_id,
        status="open" if live is not None else "closed",
        options=record.options,
        created=record.created,
        state=live.session.stats().state if live is not None else None,
        stats=stats,
        events_url=f"/v1/sessions/{record.id}/events",
    )


async def _record(manager: SessionManager, session_id: str, owner: str) -> SessionRecord:
    record = await run_in_threadpool(manager.records.get, session_id, owner=owner)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no session {session_id!r}")
    return record


async def _live(manager: SessionManager, session_id: str, owner: str) -> LiveSession:
    await _record(manager, session_id, owner)
    live = manager.live(session_id)
    if live is None or live.session.closed:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"session {session_id!r} is closed; resume it first"
        )
    return live


async def _open(manager: SessionManager, record: SessionRecord) -> LiveSession:
    try:
        return await manager.open(record)
    except SessionLimitError as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionOut)
async def create_session(
    body: SessionIn, owner: Owner, store: StoreDep, manager: ManagerDep
) -> SessionOut:
    await find_character(store, body.character_id, owner)
    options = {"size": body.size, "seed": body.seed, "persona": body.persona}
    record = await run_in_threadpool(
        lambda: manager.records.insert(owner=owner, character_id=body.character_id, options=options)
    )
    return _out(record, await _open(manager, record))


@router.get("", response_model=list[SessionOut])
async def list_sessions(owner: Owner, manager: ManagerDep) -> list[SessionOut]:
    records = await run_in_threadpool(lambda: manager.records.list(owner=owner))
    return [_out(r, manager.live(r.id, touch=False)) for r in records]


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(session_id: str, owner: Owner, manager: ManagerDep) -> SessionOut:
    record = await _record(manager, session_id, owner)
    return _out(record, manager.live(session_id, touch=False))


@router.post("/{session_id}/resume", response_model=SessionOut)
async def resume_session(
    session_id: str, owner: Owner, store: StoreDep, manager: ManagerDep
) -> SessionOut:
    """Start a closed session again, with its character and options."""
    record = await _record(manager, session_id, owner)
    await find_character(store, record.character_id, owner)
    return _out(record, await _open(manager, record))


@router.post("/{session_id}/close", response_model=SessionOut)
async def close_session(session_id: str, owner: Owner, manager: ManagerDep) -> SessionOut:
    record = await _record(manager, session_id, owner)
    await manager.close(session_id)
    return _out(record, None)


@router.post("/{session_id}/audio", response_model=QueuedOut)
async def push_audio(
    session_id: str,
    request: Request,
    owner: Owner,
    settings: SettingsDep,
    manager: ManagerDep,
    sample_rate: Annotated[int, Query(ge=8000, le=192000)] = SAMPLE_RATE,
    channels: Annotated[int, Query(ge=1, le=8)] = 1,
    end: Annotated[bool, Query(description="this completes the utterance")] = True,
) -> QueuedOut:
    """Speech for the avatar: raw 16-bit PCM (``Content-Type: audio/L16``, with ``sample_rate``
    and ``channels``) or the bytes of any audio file (wav, mp3, ogg, ...)."""
    live = await _live(manager, session_id, owner)
    body = await _read_body(request, settings.max_upload_bytes)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in PCM_TYPES:
            live.session.push_audio(body, sample_rate, channels)
        else:
            samples = await run_in_threadpool(_decode_file, body, settings.max_audio_seconds)
            live.session.push_audio(samples, SAMPLE_RATE, 1)
        if end:
            live.session.end_segment()
    except SessionClosedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return QueuedOut(queued_seconds=live.session.stats().queued_seconds)


@router.post("/{session_id}/partner-audio", status_code=status.HTTP_204_NO_CONTENT)
async def push_partner_audio(
    session_id: str,
    request: Request,
    owner: Owner,
    settings: SettingsDep,
    manager: ManagerDep,
    sample_rate: Annotated[int, Query(ge=8000, le=192000)] = SAMPLE_RATE,
    channels: Annotated[int, Query(ge=1, le=8)] = 1,
) -> None:
    """What the avatar hears (raw 16-bit PCM, sent in real time): it listens while it arrives."""
    live = await _live(manager, session_id, owner)
    body = await _read_body(request, settings.max_upload_bytes)
    try:
        live.session.push_partner_audio(body, sample_rate, channels)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


async def _read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, f"audio larger than {limit} bytes"
            )
    if not body:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "empty body: expected audio")
    return bytes(body)


def _decode_file(data: bytes, max_seconds: float) -> np.ndarray:
    from audio.decode import load_audio

    return load_audio(data, max_seconds=max_seconds)


@router.post("/{session_id}/speak", response_model=QueuedOut)
async def speak(
    session_id: str, body: SpeakIn, owner: Owner, settings: SettingsDep, manager: ManagerDep
) -> QueuedOut:
    """Say ``text`` with the local TTS."""
    live = await _live(manager, session_id, owner)
    if len(body.text) > settings.max_text_chars:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"text of {len(body.text)} characters; at most {settings.max_text_chars}",
        )
    from audio.tts import synthesize

    try:
        speech = await run_in_threadpool(
            lambda: synthesize(body.text, engine=body.engine, voice=body.voice)
        )
        live.session.push_audio(speech.samples, SAMPLE_RATE, 1)
        live.session.end_segment()
    except SessionClosedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return QueuedOut(queued_seconds=live.session.stats().queued_seconds)


@router.post("/{session_id}/interrupt", response_model=InterruptOut)
async def interrupt(session_id: str, owner: Owner, manager: ManagerDep) -> InterruptOut:
    """Stop speaking now: queued speech is dropped."""
    live = await _live(manager, session_id, owner)
    return InterruptOut(position=live.session.interrupt())


@router.post("/{session_id}/trigger", status_code=status.HTTP_204_NO_CONTENT)
async def trigger(session_id: str, body: TriggerIn, owner: Owner, manager: ManagerDep) -> None:
    live = await _live(manager, session_id, owner)
    try:
        live.session.trigger(body.gesture)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.get(
    "/{session_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(session_id: str, owner: Owner, manager: ManagerDep) -> StreamingResponse:
    """Server-sent events: ``state``, ``playback_started``, ``playback_finished``,
    ``missed_frames`` (at most once a second); the stream ends when the session closes."""
    live = await _live(manager, session_id, owner)
    subscription = live.session.events.subscribe()

    async def stream() -> AsyncIterator[str]:
        first = {"type": "state", "state": live.session.stats().state}
        yield f"event: state\ndata: {json.dumps(first)}\n\n"
        try:
            while True:
                try:
                    event = await asyncio.wait_for(anext(subscription), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                except StopAsyncIteration:
                    return
                yield f"event: {event.type}\ndata: {json.dumps(event.as_dict())}\n\n"
        finally:
            subscription.close()

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


@router.websocket("/{session_id}/stream")
async def stream_frames(websocket: WebSocket, session_id: str) -> None:
    """The session's frames as they leave, 25 per second: video (JPEG) with its audio (PCM).
    Authenticate with the ``X-API-Key`` or ``Authorization: Bearer`` header, or from a browser
    with the subprotocols ``visavis`` and ``visavis.key.<key>``; one viewer at a time.
    """
    db = getattr(websocket.app.state, "db", None)
    manager: SessionManager | None = getattr(websocket.app.state, "sessions", None)
    try:
        owner = await authenticate(websocket, db) if db is not None else None
    except AuthError:
        owner = None
    if owner is None or manager is None:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="missing or invalid API key")
        return
    record = await run_in_threadpool(manager.records.get, session_id, owner=owner)
    live = manager.live(session_id) if record is not None else None
    if live is None:
        await websocket.close(code=CLOSE_NOT_FOUND, reason=f"no open session {session_id!r}")
        return
    if live.streaming:
        await websocket.close(code=CLOSE_BUSY, reason="another viewer is attached")
        return
    live.streaming = True
    try:
        await serve_frames(websocket, live.session, on_frame=live.touch)
    finally:
        live.streaming = False
