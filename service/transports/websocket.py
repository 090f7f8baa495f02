"""The WebSocket transport: a session's frames as they leave, one binary message each, to one
viewer (``/v1/sessions/{id}/stream``; the browser client is ``service/static/live.html``).

Message layout, little-endian: ``u32`` header length, ``u32`` JPEG length, the JSON header
(index, timestamp, speech, segment, segment_end, n_valid, offset: samples of its segment before
it, state, repeat: the picture is the previous one's, its own was not ready), the JPEG picture,
then the frame's audio as 16-bit mono PCM at 16 kHz (SAMPLES_PER_FRAME samples; ``n_valid`` of
them are speech).

The route authenticates (``service.auth``, one path for HTTP and WebSocket) and finds the
session; ``serve_frames`` does the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections.abc import Callable

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnected

from service.realtime import metrics
from service.realtime.failure import SessionFailedError
from service.realtime.frames import JPEG_QUALITY, OutputFrame, encode_jpeg
from service.realtime.protocol import SessionProtocol

log = logging.getLogger(__name__)

SUBPROTOCOL = "visavis"
"""Browsers offer ``["visavis", "visavis.key.<key>"]`` (the key: see ``service.auth``); the
first is accepted."""

# Close codes. A refused viewer is accepted and then closed with one of these (a close before
# accepting reaches the client as a bare HTTP 403, which tells it nothing).
CLOSE_NORMAL = 1000
"""The session was closed (``POST /close``, or idle for ``idle_close_s``)."""
CLOSE_SESSION_FAILED = 1011
"""The session's loop failed; the reason says why (its ``error`` event and record say it too)."""
CLOSE_TRY_AGAIN = 1013
"""The service is starting or stopping."""
CLOSE_UNAUTHORIZED = 4401
"""No API key, or one that is not (or no longer) valid."""
CLOSE_NOT_FOUND = 4404
"""No such session for this key."""
CLOSE_TOO_SLOW = 4408
"""The viewer read nothing for ``stall_s`` (``VISAVIS_VIEWER_STALL_SECONDS``): it is dropped,
the session goes on."""
CLOSE_CONFLICT = 4409
"""The session is not open (closed or failed: resume it first), or another viewer is attached."""

CLOSE_TIMEOUT_S = 2.0
CLOSE_REASON_BYTES = 123
"""The longest close reason a WebSocket close frame carries (RFC 6455)."""


def frame_message(frame: OutputFrame) -> bytes:
    """One frame as one binary message: ``<u32 header length><u32 jpeg length>``, the JSON
    header (index, timestamp, speech, segment, segment_end, n_valid, offset, state, repeat), the
    JPEG picture, then the frame's audio as 16-bit mono PCM at 16 kHz (always SAMPLES_PER_FRAME
    samples). The JPEG is the one the frame worker encoded, or is encoded here (slow: on a
    thread, see ``serve_frames``)."""
    jpeg = frame.jpeg if frame.jpeg is not None else encode_jpeg(frame.video, JPEG_QUALITY)
    header = json.dumps(
        {
            "index": frame.index,
            "timestamp": round(frame.timestamp, 3),
            "speech": frame.speech,
            "segment": frame.segment,
            "segment_end": frame.segment_end,
            "n_valid": frame.n_valid,
            "offset": frame.offset,
            "state": frame.state,
            "repeat": not frame.fresh,
        }
    ).encode()
    pcm = (np.clip(frame.audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    return b"".join((struct.pack("<II", len(header), len(jpeg)), header, jpeg, pcm))


async def accept(websocket: WebSocket) -> None:
    """Accept, choosing the ``visavis`` subprotocol if the client offered it."""
    offered = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)


async def refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """Accept and close at once with ``code`` and ``reason``, so that the client learns why."""
    await accept(websocket)
    await close(websocket, code, reason)


async def close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with ``code`` and ``reason`` (cut to what a close frame carries) unless the viewer
    is gone already."""
    if websocket.client_state.name != "CONNECTED":
        return
    cut = reason.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore")
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):  # a viewer that reads nothing never acks
            await websocket.close(code=code, reason=cut)
    except (WebSocketDisconnected, RuntimeError, OSError, TimeoutError):  # it left already
        log.info("viewer gone before its close code=%d", code)


async def serve_frames(
    websocket: WebSocket,
    session: SessionProtocol,
    *,
    stall_s: float,
    on_frame: Callable[[], None] | None = None,
) -> tuple[int, str] | None:
    """Send an accepted ``websocket`` ``session``'s frames until either side leaves; returns
    the (code, reason) to close it with (``close()``), None if the viewer left (``on_frame`` is
    called per frame sent, e.g. to keep the session from idling out). A viewer that takes no frame for ``stall_s`` is dropped, so that
    it does not hold the session's one viewer place forever; a slow one only loses frames (the
    session keeps the newest and never waits for its viewer)."""
    code, reason = CLOSE_NORMAL, "session closed"
    try:
        async for frame in session.frames():
            if on_frame is not None:
                on_frame()
            if frame.jpeg is not None:
                message = frame_message(frame)  # cheap: the picture is encoded already
            else:
                message = await run_in_threadpool(frame_message, frame)
            async with asyncio.timeout(stall_s):
                await websocket.send_bytes(message)
    except SessionFailedError as exc:
        code, reason = CLOSE_SESSION_FAILED, str(exc)
    except TimeoutError:
        code, reason = CLOSE_TOO_SLOW, f"no frame could be sent for {stall_s:g} s"
        metrics.VIEWERS_DROPPED.inc()
        log.info("viewer dropped: not reading")
    except (WebSocketDisconnect, WebSocketDisconnected):
        return None  # the viewer left: the session keeps running
    return code, reason
