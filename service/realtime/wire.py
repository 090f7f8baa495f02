"""A session frame as one binary message (the ``/v1/sessions/{id}/stream`` WebSocket).

Layout, little-endian: ``u32`` header length, ``u32`` JPEG length, the JSON header (index,
timestamp, speech, segment, segment_end, n_valid), the JPEG picture, then the frame's audio as
16-bit mono PCM at 16 kHz (SAMPLES_PER_FRAME samples; ``n_valid`` of them are speech).
"""

from __future__ import annotations

import json
import struct

import numpy as np

from service.realtime.frames import OutputFrame

JPEG_QUALITY = 85


def frame_message(frame: OutputFrame, *, jpeg_quality: int = JPEG_QUALITY) -> bytes:
    """One frame as one binary message: ``<u32 header length><u32 jpeg length>``, the JSON
    header (index, timestamp, speech, segment, segment_end, n_valid), the JPEG picture, then
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
        }
    ).encode()
    pcm = (np.clip(frame.audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    return struct.pack("<II", len(header), len(jpeg)) + header + jpeg.tobytes() + pcm
