"""``/v1/sessions``: persistent real-time character sessions.

Create one for a character (options: size, seed), push speech (raw PCM or any audio file),
have it speak text with the local TTS, interrupt it (the answer says how far it got), trigger a
gesture, feed it what the partner says, follow its events (server-sent events) and watch it
(``/stream``: a WebSocket of frames, each picture with its audio). Closing stops its engine and
keeps the session; resuming starts it again with the same character, persona and options.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, field_validator

from audio.clocks import SAMPLE_RATE
from avatars.vocabulary import GESTURES, check_gesture, check_persona
from renderer.framing import Fit
from service.access import usable_character
from service.auth import (
    SESSION_QUOTA_RETRY_S,
    Caller,
    Owner,
    Principal,
    quota_error,
)
from service.bodies import (
    AUDIO_BODY,
    PCM_BODY,
    check_pcm,
    content_type,
    read_body,
    speech_from_body,
)
from service.deps import SettingsDep, StoreDep
from service.errors import ApiError, documented
from service.pagination import Page, PageQuery, page_out
from service.persistence import Database, SessionRecord
from service.realtime.admission import Admission, CapacityError
from service.realtime.manager import LiveSession, SessionManager, SessionQuotaError
from service.realtime.options import SessionClosedError
from service.settings import Settings
from service.sizes import DEFAULT_SIZE, SizeName
from service.strict import RequestModel, ResponseModel, StrictRoute
from service.times import utc
from service.webhooks import emit

log = logging.getLogger(__name__)

_STATUS_AFTER = {"opened": "open", "closed": "closed", "failed": "failed"}
"""A session's status after each change the manager reports (the webhook event's ``status``)."""


def session_events(db: Database) -> Callable[[SessionRecord, str], None]:
    """The manager's ``on_status``: each change of a session is its owner's webhook event
    ``session.opened`` / ``session.closed`` / ``session.failed`` (with the error)."""

    def tell(record: SessionRecord, change: str) -> None:
        data = {"id": record.id, "character_id": record.character_id,
                "status": _STATUS_AFTER[change], "error": record.error}  # fmt: skip
        emit(db, record.owner, f"session.{change}", data)

    return tell


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    records = app.state.db.sessions
    node = app.state.settings.node_name
    stale = await run_in_threadpool(lambda: records.close_all_open(node=node))
    if stale:
        log.info("sessions left open by a previous run closed count=%d node=%s", stale, node)
    db, settings = app.state.db, app.state.settings
    admission = Admission(
        max_sessions=settings.sessions_capacity,
        missed_limit=settings.admission_missed_percent / 100.0,
    )
    app.state.sessions = SessionManager(
        records=records, store=app.state.store, factory=app.state.factory,
        admission=admission, device=settings.device, node=node,
        on_status=session_events(db),
    )  # fmt: skip
    app.state.sessions.start()
    try:
        yield
    finally:
        manager, app.state.sessions = app.state.sessions, None
        await manager.aclose()


router = APIRouter(
    prefix="/v1/sessions", tags=["sessions"], lifespan=lifespan, route_class=StrictRoute,
    responses=documented(401, 403, 404, 422, 429, 503),
)  # fmt: skip


def get_manager(request: Request) -> SessionManager:
    manager = getattr(request.app.state, "sessions", None)
    if manager is None:
        raise ApiError(503, "service is starting or stopping: sessions are not ready",
                       headers={"Retry-After": "2"})  # fmt: skip
    return manager  # type: ignore[no-any-return]


ManagerDep = Annotated[SessionManager, Depends(get_manager)]


class SessionIn(RequestModel):
    character_id: str = Field(min_length=1, max_length=200)
    size: SizeName = DEFAULT_SIZE
    fit: Fit | None = Field(
        default=None, description="how the photo fills the frame; default: the character's fit"
    )
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


class SessionOut(ResponseModel):
    id: str
    character_id: str
    status: SessionStatus
    error: str | None = Field(
        default=None, description="why a failed session's loop stopped (resume starts it again)"
    )
    options: dict[str, Any]
    created: datetime
    state: str | None = None
    stats: dict[str, Any] | None = None
    events_url: str


class SpeakIn(RequestModel):
    text: str = Field(min_length=1)
    engine: Literal["espeak", "piper"] = "espeak"
    voice: str | None = Field(default=None, max_length=100)


class TriggerIn(RequestModel):
    gesture: str = Field(
        description=f"one of {', '.join(GESTURES)}", json_schema_extra={"enum": list(GESTURES)}
    )

    @field_validator("gesture")
    @classmethod
    def _known_gesture(cls, gesture: str) -> str:
        return check_gesture(gesture)


class QueuedOut(ResponseModel):
    queued_seconds: float
    """Speech waiting to be spoken, including what was just pushed."""


class InterruptOut(ResponseModel):
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
        created=utc(record.created),
        state=live.session.stats().state if live is not None else None,
        stats=stats,
        events_url=f"/v1/sessions/{record.id}/events",
    )


async def _record(manager: SessionManager, session_id: str, caller: Principal) -> SessionRecord:
    """The session ``caller`` may reach (a publishable key: only the ones it opened), or 404."""
    record = await run_in_threadpool(manager.records.get, session_id, owner=caller.owner)
    if record is None or not caller.may_use_record(record.key_id):
        raise ApiError(404, f"no session {session_id!r}")
    return record


async def live_session(manager: SessionManager, session_id: str, caller: Principal) -> LiveSession:
    """The running session ``caller`` may use (404 unknown, 409 failed or closed); every
    transport's route looks its session up here."""
    record = await _record(manager, session_id, caller)
    live = manager.live(session_id)
    status_, error = session_status(record, live)
    if status_ == "failed":
        raise ApiError(409, f"session {session_id!r} failed ({error}); resume it to start it again",
                       code="session_failed")  # fmt: skip
    if live is None or live.session.closed:
        raise ApiError(409, f"session {session_id!r} is closed; resume it first",
                       code="session_closed")  # fmt: skip
    return live


async def _open(manager: SessionManager, record: SessionRecord, settings: Settings) -> LiveSession:
    try:
        return await manager.open(record, per_key=settings.sessions_per_key)
    except SessionQuotaError as exc:
        raise quota_error("live sessions", exc.live, exc.limit,
                          "VISAVIS_MAX_LIVE_SESSIONS_PER_KEY", SESSION_QUOTA_RETRY_S) from None  # fmt: skip
    except CapacityError as exc:  # this server is full, or its live sessions fall behind
        raise ApiError(503, str(exc), headers={"Retry-After": str(exc.retry_after_s)}) from None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionOut,
             responses=documented(409))  # fmt: skip
async def create_session(
    body: SessionIn, caller: Caller, settings: SettingsDep, store: StoreDep, manager: ManagerDep
) -> SessionOut:
    """Start a session (a publishable key: on one of its characters)."""
    character = await usable_character(store, body.character_id, caller)  # 404, or 409 damaged
    options = {"size": body.size, "seed": body.seed, "persona": body.persona,
               "fit": body.fit or character.fit}  # fmt: skip
    record = await run_in_threadpool(
        lambda: manager.records.insert(owner=caller.owner, character_id=body.character_id,
                                       options=options, key_id=caller.key_id)
    )
    try:
        live = await _open(manager, record, settings)
    except BaseException:
        # nobody was told its id: the row of a session that never ran is not kept
        await run_in_threadpool(manager.records.delete, record.id)
        raise
    return _out(record, live)


@router.get("", response_model=Page[SessionOut])
async def list_sessions(owner: Owner, manager: ManagerDep, page: PageQuery) -> Page[SessionOut]:
    rows = await run_in_threadpool(
        lambda: manager.records.list(owner=owner, limit=page.limit, after=page.after)
    )
    return page_out(rows, lambda r: _out(r, manager.live(r.id, touch=False)))


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(session_id: str, caller: Caller, manager: ManagerDep) -> SessionOut:
    record = await _record(manager, session_id, caller)
    return _out(record, manager.live(session_id, touch=False))


@router.post("/{session_id}/resume", response_model=SessionOut, responses=documented(409))
async def resume_session(
    session_id: str, caller: Caller, settings: SettingsDep, store: StoreDep, manager: ManagerDep
) -> SessionOut:
    """Start a closed session again, with its character and options."""
    record = await _record(manager, session_id, caller)
    await usable_character(store, record.character_id, caller)
    return _out(record, await _open(manager, record, settings))


@router.post("/{session_id}/close", response_model=SessionOut)
async def close_session(session_id: str, caller: Caller, manager: ManagerDep) -> SessionOut:
    record = await _record(manager, session_id, caller)
    await manager.close(session_id)
    return _out(record, None)


@router.post(
    "/{session_id}/audio", response_model=QueuedOut, responses=documented(409, 413),
    openapi_extra={"requestBody": AUDIO_BODY},
)  # fmt: skip
async def push_audio(
    session_id: str,
    request: Request,
    caller: Caller,
    settings: SettingsDep,
    manager: ManagerDep,
    sample_rate: Annotated[int, Query(ge=8000, le=192000)] = SAMPLE_RATE,
    channels: Annotated[int, Query(ge=1, le=8)] = 1,
    end: Annotated[bool, Query(description="this completes the utterance")] = True,
) -> QueuedOut:
    """Speech for the avatar: raw 16-bit PCM (``Content-Type: audio/L16``, with ``sample_rate``
    and ``channels``) or the bytes of any audio file (wav, mp3, ogg, ...)."""
    live = await live_session(manager, session_id, caller)
    body = await read_body(request, settings.max_upload_bytes)
    speech, decoded = await speech_from_body(
        body, content_type(request), channels, settings.max_audio_seconds
    )
    try:
        if decoded:
            live.session.push_audio(speech, SAMPLE_RATE, 1)
        else:
            live.session.push_audio(speech, sample_rate, channels)
        if end:
            live.session.end_segment()
    except SessionClosedError as exc:
        raise ApiError(409, str(exc), code="session_closed") from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    return QueuedOut(queued_seconds=live.session.stats().queued_seconds)


@router.post(
    "/{session_id}/partner-audio", status_code=status.HTTP_204_NO_CONTENT,
    responses=documented(409, 413), openapi_extra={"requestBody": PCM_BODY},
)  # fmt: skip
async def push_partner_audio(
    session_id: str,
    request: Request,
    caller: Caller,
    settings: SettingsDep,
    manager: ManagerDep,
    sample_rate: Annotated[int, Query(ge=8000, le=192000)] = SAMPLE_RATE,
    channels: Annotated[int, Query(ge=1, le=8)] = 1,
) -> None:
    """What the avatar hears (raw 16-bit PCM, sent in real time): it listens while it arrives."""
    live = await live_session(manager, session_id, caller)
    body = check_pcm(await read_body(request, settings.max_upload_bytes), channels)
    try:
        live.session.push_partner_audio(body, sample_rate, channels)
    except SessionClosedError as exc:
        raise ApiError(409, str(exc), code="session_closed") from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None


@router.post("/{session_id}/speak", response_model=QueuedOut, responses=documented(409))
async def speak(
    session_id: str, body: SpeakIn, caller: Caller, settings: SettingsDep, manager: ManagerDep
) -> QueuedOut:
    """Say ``text`` with the local TTS."""
    live = await live_session(manager, session_id, caller)
    if len(body.text) > settings.max_text_chars:
        raise ApiError(
            422, f"text of {len(body.text)} characters; at most {settings.max_text_chars}"
        )
    from audio.tts import synthesize

    try:
        speech = await run_in_threadpool(
            lambda: synthesize(body.text, engine=body.engine, voice=body.voice)
        )
        live.session.push_audio(speech.samples, SAMPLE_RATE, 1)
        live.session.end_segment()
    except SessionClosedError as exc:
        raise ApiError(409, str(exc), code="session_closed") from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    return QueuedOut(queued_seconds=live.session.stats().queued_seconds)


@router.post("/{session_id}/interrupt", response_model=InterruptOut, responses=documented(409))
async def interrupt(session_id: str, caller: Caller, manager: ManagerDep) -> InterruptOut:
    """Stop speaking now: queued speech is dropped."""
    live = await live_session(manager, session_id, caller)
    try:
        return InterruptOut(position=live.session.interrupt())
    except SessionClosedError as exc:
        raise ApiError(409, str(exc), code="session_closed") from None


@router.post("/{session_id}/trigger", status_code=status.HTTP_204_NO_CONTENT,
             responses=documented(409))  # fmt: skip
async def trigger(session_id: str, body: TriggerIn, caller: Caller, manager: ManagerDep) -> None:
    """Ask for a gesture on the next frame (checked here: an unknown one is 422)."""
    live = await live_session(manager, session_id, caller)
    try:
        live.session.trigger(body.gesture)
    except SessionClosedError as exc:
        raise ApiError(409, str(exc), code="session_closed") from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None

