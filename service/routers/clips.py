"""``/v1/clips``: speech (an audio upload, or text for local TTS) + a character → a video job."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Form, HTTPException, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel

from service.auth import Owner
from service.blobs import BlobNotFoundError
from service.clips import QueueFullError
from service.deps import BlobsDep, DbDep, JobsDep, SettingsDep, StoreDep, read_upload
from service.observe.logs import current_request_id
from service.persistence import ClipRow
from service.pipeline import ClipOptions
from service.routers.characters import find_character
from service.sizes import DEFAULT_SIZE, SizeName

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/clips", tags=["clips"])

_MEDIA_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}


class ClipOut(BaseModel):
    id: str
    character_id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    error: str | None
    format: str
    size: str
    frames: int | None
    duration_s: float | None
    created: float
    finished: float | None
    video_url: str | None
    motion_url: str | None


def _out(row: ClipRow, request: Request) -> ClipOut:
    done = row.status == "done"
    video = str(request.url_for("clip_video", clip_id=row.id)) if done else None
    motion = str(request.url_for("clip_motion", clip_id=row.id)) if done else None
    return ClipOut(
        id=row.id, character_id=row.character_id, status=row.status,  # type: ignore[arg-type]
        progress=row.progress, error=row.error, format=row.format, size=row.size,
        frames=row.frames, duration_s=row.duration_s, created=row.created,
        finished=row.finished, video_url=video, motion_url=motion,
    )  # fmt: skip


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ClipOut)
async def create_clip(
    request: Request,
    response: Response,
    owner: Owner,
    settings: SettingsDep,
    store: StoreDep,
    jobs: JobsDep,
    character_id: Annotated[str, Form(description="the character that speaks")],
    audio: Annotated[UploadFile | None, Form(description="speech: any audio file")] = None,
    text: Annotated[str | None, Form(description="speech as text, for local TTS")] = None,
    partner_audio: Annotated[UploadFile | None, Form(description="what it hears")] = None,
    mix_partner: Annotated[bool, Form()] = False,
    size: Annotated[SizeName, Form()] = DEFAULT_SIZE,
    format: Annotated[Literal["mp4", "webm"], Form()] = "mp4",
    seed: Annotated[int | None, Form(ge=0, lt=2**32)] = None,
    engine: Annotated[Literal["espeak", "piper"], Form()] = "espeak",
    voice: Annotated[str | None, Form(max_length=100)] = None,
) -> ClipOut:
    """Queue a clip. Send exactly one of ``audio`` (multipart file) or ``text``."""
    if (audio is None) == (text is None or not text.strip()):
        raise _unprocessable("send exactly one of 'audio' (a file) or 'text' (a non-empty string)")
    if mix_partner and partner_audio is None:
        raise _unprocessable("mix_partner needs a 'partner_audio' file")
    await find_character(store, character_id, owner)
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
        size=size, fmt=format, seed=seed, mix_partner=mix_partner, device=settings.device
    )
    try:
        row = await jobs.submit(
            owner=owner, character_id=character_id, speech=speech, options=options,
            partner=partner, request_id=current_request_id(),
        )  # fmt: skip
    except QueueFullError as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": "10"}
        ) from None
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
        raise _unprocessable(f"{what} {upload.filename!r}: {_first_line(exc)}") from None


async def _speak(
    text: str, engine: str, voice: str | None, max_chars: int, max_seconds: float
) -> np.ndarray:
    """(N,) float32 16 kHz of ``text`` spoken by local TTS, or 422."""
    from audio.clocks import SAMPLE_RATE
    from audio.tts import synthesize

    if len(text) > max_chars:
        raise _unprocessable(f"text is {len(text)} characters; the limit is {max_chars}")
    try:
        speech = (await run_in_threadpool(synthesize, text, engine=engine, voice=voice)).samples
    except ValueError as exc:
        raise _unprocessable(f"text: {_first_line(exc)}") from None
    seconds = speech.shape[0] / SAMPLE_RATE
    if seconds > max_seconds:
        raise _unprocessable(
            f"the text speaks for {seconds:.1f} s, longer than the limit of {max_seconds:g} s"
        )
    return speech


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@router.get("", response_model=list[ClipOut])
def list_clips(request: Request, owner: Owner, db: DbDep) -> list[ClipOut]:
    return [_out(row, request) for row in db.clips.list(owner=owner)]


def _find(db: DbDep, clip_id: str, owner: str) -> ClipRow:
    row = db.clips.get(clip_id, owner=owner)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no clip {clip_id!r}")
    return row


@router.get("/{clip_id}", response_model=ClipOut)
def get_clip(request: Request, clip_id: str, owner: Owner, db: DbDep) -> ClipOut:
    return _out(_find(db, clip_id, owner), request)


def _finished(row: ClipRow) -> None:
    if row.status != "done":
        detail = f"clip {row.id} is {row.status}"
        if row.status == "failed":
            detail += f": {row.error}"
        else:
            detail += f" ({row.progress:.0%}); poll GET /v1/clips/{row.id} until status is done"
        raise HTTPException(status.HTTP_409_CONFLICT, detail)


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
        raise HTTPException(
            status.HTTP_410_GONE, f"{filename} is no longer in storage (expired or deleted)"
        ) from None
    headers = {"Content-Length": str(size), "Content-Disposition": disposition}
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


@router.get("/{clip_id}/video", response_class=Response, name="clip_video")
def clip_video(clip_id: str, owner: Owner, db: DbDep, jobs: JobsDep, blobs: BlobsDep) -> Response:
    row = _find(db, clip_id, owner)
    _finished(row)
    return _stored_file(blobs, jobs.video_key(row), _MEDIA_TYPES[row.format],
                        f"{row.id}.{row.format}")  # fmt: skip


@router.get("/{clip_id}/motion.csv", response_class=Response, name="clip_motion")
def clip_motion(clip_id: str, owner: Owner, db: DbDep, jobs: JobsDep, blobs: BlobsDep) -> Response:
    row = _find(db, clip_id, owner)
    _finished(row)
    return _stored_file(blobs, jobs.motion_key(row), "text/csv", f"{row.id}.csv")


@router.delete("/{clip_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_clip(clip_id: str, owner: Owner, db: DbDep, jobs: JobsDep) -> None:
    row = _find(db, clip_id, owner)
    db.clips.delete(row.id, owner=owner)  # first: a render still running stops when it sees this
    jobs.discard_files(row)
    log.info("clip deleted clip=%s", row.id)
