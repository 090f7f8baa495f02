"""Our frames to LiveKit's and back: RGB video to ``rtc.VideoFrame`` and back, incoming
``rtc.AudioFrame`` to 16-bit samples (the published audio is built in video.py/playback.py)."""

from __future__ import annotations

import cv2
import numpy as np
from livekit import rtc


def video_frame_from_rgb(rgb: np.ndarray) -> rtc.VideoFrame:
    """(H, W, 3) uint8 RGB -> an RGBA ``rtc.VideoFrame`` (what ``VideoSource`` takes)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    rgba = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2RGBA).reshape(-1)  # (H*W*4,)
    # a memoryview over a flat array is handed to the FFI as is: no 1 MB copy per frame
    return rtc.VideoFrame(width, height, rtc.VideoBufferType.RGBA, rgba.data)


def rgb_from_video_frame(frame: rtc.VideoFrame) -> np.ndarray:
    """Any ``rtc.VideoFrame`` (I420, RGBA, ...) -> (H, W, 3) uint8 RGB."""
    rgba = (
        frame if frame.type == rtc.VideoBufferType.RGBA else frame.convert(rtc.VideoBufferType.RGBA)
    )
    pixels = np.frombuffer(rgba.data, dtype=np.uint8).reshape(rgba.height, rgba.width, 4)
    return pixels[..., :3].copy()


def pcm_from_audio_frame(frame: rtc.AudioFrame) -> np.ndarray:
    """An ``rtc.AudioFrame`` -> (samples_per_channel, num_channels) int16, a copy."""
    pcm = np.frombuffer(frame.data, dtype=np.int16).copy()
    return pcm.reshape(frame.samples_per_channel, frame.num_channels)
