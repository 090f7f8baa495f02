"""The WebSocket transport: a session's frames as they leave, one binary message each, to one
viewer (``/v1/sessions/{id}/stream``; the browser client is ``service/static/live.html``).

Message layout, little-endian: ``u32`` header length, ``u32`` JPEG length, the JSON header
(index, timestamp, speech, segment, segment_end, n_valid, state), the JPEG picture, then the
frame's audio as 16-bit mono PCM at 16 kHz (SAMPLES_PER_FRAME samples; ``n_valid`` of them are
speech).

The route authenticates (``service.auth``, one path for HTTP and WebSocket) and finds the
session; ``serve_frames`` does the rest.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Callable

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnected

from service.realtime.frames import OutputFrame
from service.realtime.protocol import SessionProtocol

log = logging.getLogger(__name__)

JPEG_QUALITY = 85

SUBPROTOCOL = "visavis"
"""Browsers offer ``["visavis", "visavis.key.<key>"]`` (the key: see ``service.auth``); the
first is accepted."""

CLOSE_UNAUTHORIZED, CLOSE_NOT_FOUND, CLOSE_BUSY = 4401, 4404, 4409
"""Close codes of a refused WebSocket: no valid key, no such open session, a viewer attached."""


def frame_message(frame: OutputFrame, *, jpeg_quality: int = JPEG_QUALITY) -> bytes:
    """One frame as one binary message: ``<u32 header length><u32 jpeg length>``, the JSON
    header (index, timestamp, speech, segment, segment_end, n_valid, state), the JPEG picture, then
    the frame's audio as 16-bit mono PCM at 16 kHz (always SAMPLES_PER_FRAME samples)."""
    import cv2

    ok, jpeg = cv2.imencode(
        ".jpg", frame.video[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    )
    if not ok:
        raise RuntimeError("JPEG encoding of a session frame failed")
    header = json.dumps(
        {
            "index": frame.index,
            "timestamp": round(frame.timestamp, 3),
            "speech": frame.speech,
            "segment": frame.segment,
            "segment_end": frame.segment_end,
            "n_valid": frame.n_valid,
            "state": frame.state,
        }
    ).encode()
    pcm = (np.clip(frame.audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    return struct.pack("<II", len(header), len(jpeg)) + header + jpeg.tobytes() + pcm


async def serve_frames(
    websocket: WebSocket, session: SessionProtocol, *, on_frame: Callable[[], None] | None = None
) -> None:
    """Accept ``websocket`` and send it ``session``'s frames until either side leaves
    (``on_frame`` is called per frame sent, e.g. to keep the session from idling out)."""
    offered = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    try:
        async for frame in session.frames():
            if on_frame is not None:
                on_frame()
            message = await run_in_threadpool(frame_message, frame)
            await websocket.send_bytes(message)
    except WebSocketDisconnect:
        pass  # the viewer left: the session keeps running
    if websocket.client_state.name == "CONNECTED":
        try:
            await websocket.close(reason="session closed")
        except WebSocketDisconnected:  # the server shutting down closed it first
            log.info("stream already closed")
