"""Audio request bodies of the session routes: raw 16-bit PCM (``audio/L16``) or the bytes of an
audio file, read with a size limit and checked before they reach a session."""

from __future__ import annotations

import numpy as np
from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from audio.sniff import audio_container
from service.errors import ApiError

PCM_TYPES = ("audio/l16", "audio/pcm", "application/octet-stream")
SAMPLE_BYTES = 2
"""Raw PCM is signed 16-bit little-endian."""

AUDIO_BODY = {
    "required": True,
    "description": "raw 16-bit little-endian PCM (audio/L16 with ?sample_rate= and ?channels=), "
    "or the bytes of an audio file (wav, mp3, ogg, flac, ...); a file sent as audio/L16 is "
    "recognised by its first bytes and decoded",
    "content": {
        kind: {"schema": {"type": "string", "format": "binary"}}
        for kind in ("application/octet-stream", "audio/L16", "audio/wav", "audio/mpeg",
                     "audio/ogg")
    },
}
"""The OpenAPI request body of the audio routes (``openapi_extra={"requestBody": ...}``)."""
PCM_BODY = {
    "required": True,
    "description": "raw 16-bit little-endian PCM (audio/L16), ?sample_rate= and ?channels=",
    "content": {kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in ("application/octet-stream", "audio/L16")},
}


async def read_body(request: Request, limit: int, what: str = "audio") -> bytes:
    """The whole body, 413 past ``limit`` bytes, 422 when empty."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"{what} larger than {limit} bytes (VISAVIS_MAX_UPLOAD_MB)")
    if not body:
        raise ApiError(422, f"empty body: expected {what}")
    return bytes(body)


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def check_pcm(body: bytes, channels: int) -> bytes:
    """``body`` as raw PCM: 422 when it is a whole audio file (say so) or not a whole number of
    16-bit samples for ``channels``."""
    kind = audio_container(body)
    if kind is not None:
        raise ApiError(422, f"the body is a {kind} file, not raw PCM: send it with its own "
                       f"Content-Type (e.g. audio/{kind}) to have it decoded")  # fmt: skip
    frame = SAMPLE_BYTES * channels
    if len(body) % frame:
        raise ApiError(422, f"raw PCM of {len(body)} bytes is not a whole number of 16-bit "
                       f"samples x {channels} channel(s) ({frame} bytes each)")  # fmt: skip
    return body


async def speech_from_body(
    body: bytes, kind: str, channels: int, max_seconds: float
) -> tuple[bytes | np.ndarray, bool]:
    """(audio, decoded): raw PCM bytes to push with the request's rate and channels, or a file
    decoded to 16 kHz mono float32 (also a file sent as PCM, recognised by its magic bytes)."""
    if kind in PCM_TYPES and audio_container(body) is None:
        return check_pcm(body, channels), False
    from audio.decode import load_audio

    try:
        return await run_in_threadpool(load_audio, body, max_seconds=max_seconds), True
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "not audio"
        raise ApiError(422, f"audio body: {first}") from None

