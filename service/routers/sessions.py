"""``/v1/sessions``: persistent real-time character sessions.

Create one for a character (options: size, seed), push speech (raw PCM or any audio file),
have it speak text with the local TTS, interrupt it (the answer says how far it got), trigger a
gesture, feed it what the partner says; its events and frames are ``session_out.py``. Closing
stops its engine and keeps the session; resuming starts it again with the same character,
persona and options. A session whose loop failed is ``failed`` with its ``error`` until resumed.
"""

from __future__ import annotations

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
    status,
)
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, field_validator

from audio.clocks import SAMPLE_RATE
from avatars.vocabulary import GESTURES, check_gesture, check_persona
from service.auth import Owner
from service.deps import SettingsDep, StoreDep
from service.persistence import SessionRecord
from service.realtime.admission import Admission, CapacityError
from service.realtime.manager import LiveSession, SessionManager
from service.realtime.options import SessionClosedError
from service.routers.characters import find_character
from service.sizes import DEFAULT_SIZE, SizeName

log = logging.getLogger(__name__)

PCM_TYPES = ("audio/l16", "audio/pcm", "application/octet-stream")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    records = app.state.db.sessions
    stale = await run_in_threadpool(records.close_all_open)
    if stale:
        log.info("sessions left open by a previous run closed count=%d", stale)
    settings = app.state.settings
    admission = Admission(
        max_sessions=settings.sessions_capacity,
        missed_limit=settings.admission_missed_percent / 100.0,
    )
    app.state.sessions = SessionManager(
        records=records, store=app.state.store, factory=app.state.factory,
        admission=admission, device=settings.device,
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


SessionStatus = Literal["open", "closed", "failed"]


class SessionOut(BaseModel):
    id: str
    character_id: str
    status: SessionStatus
    error: str | None = Field(
        default=None, description="why a failed session's loop stopped (resume starts it again)"
    )
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
    gesture: str = Field(
        description=f"one of {', '.join(GESTURES)}", json_schema_extra={"enum": list(GESTURES)}
    )

    @field_validator("gesture")
    @classmethod
    def _known_gesture(cls, gesture: str) -> str:
        return check_gesture(gesture)


class QueuedOut(BaseModel):
    queued_seconds: float
    """Speech waiting to be spoken, including what was just pushed."""


class InterruptOut(BaseModel):
    position: float
    """Seconds of the interrupted utterance that had been played."""


def session_status(record: SessionRecord, live: LiveSession | None) -> tuple[SessionStatus, str | None]:
    """(status, error): a live session is open until its loop fails; one that is not live is
    failed (with its stored error) or closed."""
    if live is not None:
        failure = live.session.failure
        return ("open", None) if failure is None else ("failed", failure.reason)
    if record.status == "failed":
        return "failed", record.error
    return "closed", None


def _out(record: SessionRecord, live: LiveSession | None) -> SessionOut:
    stats: dict[str, Any] | None = None
    status_, error = session_status(record, live)
    if status_ != "open":
        live = None
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
        status=status_,
        error=error,
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


async def live_session(manager: SessionManager, session_id: str, owner: str) -> LiveSession:
    record = await _record(manager, session_id, owner)
    live = manager.live(session_id)
    status_, error = session_status(record, live)
    if status_ == "failed":
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"session {session_id!r} failed ({error}); resume it to start it again",
        )
    if live is None or live.session.closed:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"session {session_id!r} is closed; resume it first"
        )
    return live


async def _open(manager: SessionManager, record: SessionRecord) -> LiveSession:
    try:
        return await manager.open(record)
    except CapacityError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            str(exc),
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionOut)
async def create_session(
    body: SessionIn, owner: Owner, store: StoreDep, manager: ManagerDep
) -> SessionOut:
    await find_character(store, body.character_id, owner)
    options = {"size": body.size, "seed": body.seed, "persona": body.persona}
    record = await run_in_threadpool(
        lambda: manager.records.insert(owner=owner, character_id=body.character_id, options=options)
    )
    try:
        live = await _open(manager, record)
    except BaseException:
        # nobody was told its id: the row of a session that never ran is not kept
        await run_in_threadpool(manager.records.delete, record.id)
        raise
    return _out(record, live)


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
    live = await live_session(manager, session_id, owner)
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
    live = await live_session(manager, session_id, owner)
    body = await _read_body(request, settings.max_upload_bytes)
    try:
        live.session.push_partner_audio(body, sample_rate, channels)
    except SessionClosedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
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
    live = await live_session(manager, session_id, owner)
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
    live = await live_session(manager, session_id, owner)
    try:
        return InterruptOut(position=live.session.interrupt())
    except SessionClosedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.post("/{session_id}/trigger", status_code=status.HTTP_204_NO_CONTENT)
async def trigger(session_id: str, body: TriggerIn, owner: Owner, manager: ManagerDep) -> None:
    """Ask for a gesture on the next frame (checked here: an unknown one is 422)."""
    live = await live_session(manager, session_id, owner)
    try:
        live.session.trigger(body.gesture)
    except SessionClosedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
