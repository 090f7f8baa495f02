"""``/v1/clips``: speech (an audio upload, or text for local TTS) + a character → a video job."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, File, Form, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse

from renderer.framing import Fit
from service.access import usable_character
from service.auth import Caller, Owner, Principal, check_pending_clips
from service.blobs import BlobNotFoundError
from service.clips import QueueFullError
from service.deps import BlobsDep, DbDep, JobsDep, SettingsDep, StoreDep, read_upload
from service.errors import ApiError, documented
from service.observe.logs import current_request_id
from service.pagination import Page, PageQuery, page_out
from service.persistence import ClipRow
from service.pipeline import ClipOptions
from service.sizes import DEFAULT_SIZE, SizeName
from service.strict import ResponseModel, StrictRoute
from service.times import utc, utc_or_none

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/v1/clips", tags=["clips"], route_class=StrictRoute,
    responses=documented(401, 403, 404, 422, 429, 503),
)  # fmt: skip

_MEDIA_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}
QUEUE_RETRY_S = 10


class ClipOut(ResponseModel):
    id: str
    character_id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    error: str | None
    format: str
    size: str
    frames: int | None
    duration_s: float | None
    created: datetime
    finished: datetime | None
    video_url: str | None
    motion_url: str | None


def _out(row: ClipRow, request: Request) -> ClipOut:
    done = row.status == "done"
    video = str(request.url_for("clip_video", clip_id=row.id)) if done else None
    motion = str(request.url_for("clip_motion", clip_id=row.id)) if done else None
    return ClipOut(
        id=row.id, character_id=row.character_id, status=row.status,  # type: ignore[arg-type]
        progress=row.progress, error=row.error, format=row.format, size=row.size,
        frames=row.frames, duration_s=row.duration_s, created=utc(row.created),
        finished=utc_or_none(row.finished), video_url=video, motion_url=motion,
    )  # fmt: skip


@router.post(
    "", status_code=status.HTTP_202_ACCEPTED, response_model=ClipOut,
    responses=documented(400, 409, 413),
)  # fmt: skip
async def create_clip(
    request: Request,
    response: Response,
    caller: Caller,
    settings: SettingsDep,
    store: StoreDep,
    jobs: JobsDep,
    db: DbDep,
    character_id: Annotated[str, Form(max_length=64, description="the character that speaks")],
    audio: Annotated[UploadFile | None, File(description="speech: any audio file")] = None,
    text: Annotated[str | None, Form(description="speech as text, for local TTS")] = None,
    partner_audio: Annotated[UploadFile | None, File(description="what it hears")] = None,
    mix_partner: Annotated[bool, Form()] = False,
    size: Annotated[SizeName, Form()] = DEFAULT_SIZE,
    fit: Annotated[
        Fit | None, Form(description="how the photo fills the frame; default: the character's")
    ] = None,
    format: Annotated[Literal["mp4", "webm"], Form()] = "mp4",
    seed: Annotated[int | None, Form(ge=0, lt=2**32)] = None,
    engine: Annotated[Literal["espeak", "piper"], Form()] = "espeak",
    voice: Annotated[str | None, Form(max_length=100)] = None,
) -> ClipOut:
    """Queue a clip. Send exactly one of ``audio`` (a file) or ``text``, as multipart/form-data."""
    if (audio is None) == (text is None or not text.strip()):
        raise ApiError(422, "send exactly one of 'audio' (a file) or 'text' (a non-empty string)")
    if mix_partner and partner_audio is None:
        raise ApiError(422, "mix_partner needs a 'partner_audio' file")
    character = await usable_character(store, character_id, caller)  # 404, or 409 when damaged
    await run_in_threadpool(check_pending_clips, db, caller, settings.max_pending_clips_per_key)
    limit = settings.max_upload_bytes
    if audio is not None:
        speech = await _decode_upload(audio, "audio", limit, settings.max_audio_seconds)
    else:
        assert text is not None
        speech = await _speak(text, engine, voice, settings.max_text_chars,
                              settings.max_audio_seconds)  # fmt: skip
    partner = None
    if partner_audio is not None:
        partner = await _decode_upload(
            partner_audio, "partner_audio", limit, settings.max_audio_seconds
        )
    options = ClipOptions(
        size=size, fmt=format, seed=seed, mix_partner=mix_partner, device=settings.device,
        fit=fit or character.fit,
    )  # fmt: skip
    try:
        row = await jobs.submit(
            owner=caller.owner, character_id=character_id, speech=speech, options=options,
            partner=partner, key_id=caller.key_id, request_id=current_request_id(),
        )  # fmt: skip
    except QueueFullError as exc:
        raise ApiError(429, str(exc), headers={"Retry-After": str(QUEUE_RETRY_S)}) from None
    response.headers["Location"] = str(request.url_for("get_clip", clip_id=row.id))
    return _out(row, request)


async def _decode_upload(
    upload: UploadFile, what: str, limit_bytes: int, max_seconds: float
) -> np.ndarray:
    """(N,) float32 16 kHz from an uploaded audio file, or 413/422 naming the file."""
    from audio.decode import load_audio

    data = await read_upload(upload, limit_bytes=limit_bytes, what=what)
    try:
        return await run_in_threadpool(load_audio, data, max_seconds=max_seconds)
    except ValueError as exc:
        raise ApiError(422, f"{what} {upload.filename!r}: {_first_line(exc)}") from None


async def _speak(
    text: str, engine: str, voice: str | None, max_chars: int, max_seconds: float
) -> np.ndarray:
    """(N,) float32 16 kHz of ``text`` spoken by local TTS, or 422."""
    from audio.clocks import SAMPLE_RATE
    from audio.tts import synthesize

    if len(text) > max_chars:
        raise ApiError(422, f"text is {len(text)} characters; the limit is {max_chars}")
    try:
        speech = (await run_in_threadpool(synthesize, text, engine=engine, voice=voice)).samples
    except ValueError as exc:
        raise ApiError(422, f"text: {_first_line(exc)}") from None
    seconds = speech.shape[0] / SAMPLE_RATE
    if seconds > max_seconds:
        raise ApiError(
            422, f"the text speaks for {seconds:.1f} s, longer than the limit of {max_seconds:g} s"
        )
    return speech


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@router.get("", response_model=Page[ClipOut])
async def list_clips(request: Request, owner: Owner, db: DbDep, page: PageQuery) -> Page[ClipOut]:
    rows = await run_in_threadpool(
        lambda: db.clips.list(owner=owner, limit=page.limit, after=page.after)
    )
    return page_out(rows, lambda row: _out(row, request))


def _find(db: DbDep, clip_id: str, caller: Principal) -> ClipRow:
    row = db.clips.get(clip_id, owner=caller.owner)
    if row is None or not caller.may_use_record(row.key_id):
        raise ApiError(404, f"no clip {clip_id!r}")
    return row


@router.get("/{clip_id}", response_model=ClipOut)
def get_clip(request: Request, clip_id: str, caller: Caller, db: DbDep) -> ClipOut:
    return _out(_find(db, clip_id, caller), request)


def _finished(row: ClipRow) -> None:
    if row.status != "done":
        detail = f"clip {row.id} is {row.status}"
        if row.status == "failed":
            detail += f": {row.error}"
        else:
            detail += f" ({row.progress:.0%}); poll GET /v1/clips/{row.id} until status is done"
        raise ApiError(409, detail, code="clip_not_ready")


def _stored_file(blobs: BlobsDep, key: str, media_type: str, filename: str) -> Response:
    """A finished clip's file from shared storage: served as a file (with range requests) when
    the storage is a folder here, else streamed from the store a chunk at a time."""
    disposition = f'inline; filename="{filename}"'
    local = blobs.local_path(key)
    if local is not None and local.is_file():
        return FileResponse(local, media_type=media_type, filename=filename,
                            content_disposition_type="inline")  # fmt: skip
    try:
        size = blobs.size(key)
        chunks = blobs.iter_bytes(key)
    except BlobNotFoundError:
        raise ApiError(410, f"{filename} is no longer in storage (expired or deleted)") from None
    headers = {"Content-Length": str(size), "Content-Disposition": disposition}
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


_VIDEO: dict[int | str, dict[str, Any]] = {200: {"content": {t: {} for t in _MEDIA_TYPES.values()}, "description": "the video"}}


@router.get("/{clip_id}/video", response_class=Response, name="clip_video",
            responses={**_VIDEO, **documented(409, 410)})  # fmt: skip
def clip_video(clip_id: str, caller: Caller, db: DbDep, jobs: JobsDep, blobs: BlobsDep) -> Response:
    row = _find(db, clip_id, caller)
    _finished(row)
    return _stored_file(blobs, jobs.video_key(row), _MEDIA_TYPES[row.format],
                        f"{row.id}.{row.format}")  # fmt: skip


@router.get("/{clip_id}/motion.csv", response_class=Response, name="clip_motion",
            responses={200: {"content": {"text/csv": {}}, "description": "Live Link Face CSV"},
                       **documented(409, 410)})  # fmt: skip
def clip_motion(clip_id: str, caller: Caller, db: DbDep, jobs: JobsDep, blobs: BlobsDep) -> Response:
    row = _find(db, clip_id, caller)
    _finished(row)
    return _stored_file(blobs, jobs.motion_key(row), "text/csv", f"{row.id}.csv")


@router.delete("/{clip_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_clip(clip_id: str, owner: Owner, db: DbDep, jobs: JobsDep) -> None:
    row = db.clips.get(clip_id, owner=owner)
    if row is None:
        raise ApiError(404, f"no clip {clip_id!r}")
    db.clips.delete(row.id, owner=owner)  # first: a render still running stops when it sees this
    jobs.discard_files(row)
    log.info("clip deleted clip=%s", row.id)
