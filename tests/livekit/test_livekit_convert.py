"""Our frames through livekit's real rtc.VideoFrame / rtc.AudioFrame."""

from __future__ import annotations

import numpy as np
import pytest
from livekit import rtc

from audio.clocks import FRAME_SECONDS, SAMPLES_PER_FRAME
from service.livekit.convert import (
    audio_frame_from_float,
    pcm_from_audio_frame,
    rgb_from_video_frame,
    video_frame_from_rgb,
)
from service.livekit.video import OUTPUT_SAMPLE_RATE


def test_rgb_survives_rgba_and_i420(astronaut: np.ndarray):
    frame = video_frame_from_rgb(astronaut)
    assert (frame.width, frame.height, frame.type) == (512, 512, rtc.VideoBufferType.RGBA)
    np.testing.assert_array_equal(rgb_from_video_frame(frame), astronaut)
    i420 = frame.convert(rtc.VideoBufferType.I420)  # what goes on the wire
    assert i420.type == rtc.VideoBufferType.I420
    assert len(i420.data) == 512 * 512 * 3 // 2
    back = rgb_from_video_frame(i420).astype(np.int16)
    error = np.abs(back - astronaut.astype(np.int16))
    assert error.mean() < 6, f"I420 round trip off by {error.mean():.1f} on average"


def test_bad_video_frames_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        video_frame_from_rgb(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        video_frame_from_rgb(np.zeros((4, 4), np.uint8))


def test_audio_frame_is_16_bit_pcm_at_the_published_rate():
    samples = np.linspace(-1.2, 1.2, SAMPLES_PER_FRAME).astype(np.float32)
    frame = audio_frame_from_float(samples, OUTPUT_SAMPLE_RATE)
    assert frame.sample_rate == OUTPUT_SAMPLE_RATE and frame.num_channels == 1
    assert frame.samples_per_channel == SAMPLES_PER_FRAME
    assert frame.duration == pytest.approx(FRAME_SECONDS)
    pcm = pcm_from_audio_frame(frame)
    assert pcm.dtype == np.int16 and pcm.shape == (SAMPLES_PER_FRAME, 1)
    assert pcm.min() == -32767 and pcm.max() == 32767  # clipped, not wrapped
    np.testing.assert_allclose(pcm[:, 0] / 32767, np.clip(samples, -1, 1), atol=1 / 32767)


def test_stereo_frames_come_back_interleaved():
    left = np.arange(100, dtype=np.int16)
    stereo = np.stack([left, -left], axis=1)
    frame = rtc.AudioFrame(stereo.tobytes(), 48_000, 2, 100)
    np.testing.assert_array_equal(pcm_from_audio_frame(frame), stereo)
