"""Our frames through livekit's real rtc.VideoFrame / rtc.AudioFrame."""

from __future__ import annotations

import numpy as np
import pytest
from livekit import rtc

from audio.clocks import FPS, FRAME_SECONDS, SAMPLES_PER_FRAME
from service.transports.livekit.convert import (
    pcm_from_audio_frame,
    rgb_from_video_frame,
    video_frame_from_rgb,
)
from service.transports.livekit.playback import PlaybackAudio
from service.transports.livekit.video import OUTPUT_SAMPLE_RATE


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


def test_published_audio_is_the_agents_own_at_48_khz_frame_by_frame():
    rate = 24_000
    rng = np.random.default_rng(5)
    t = np.arange(rate) / rate  # 1 s, energy up to 10 kHz: more than a 16 kHz copy can hold
    voice = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 9_000 * t)
    pcm = (voice * 32767).astype(np.int16)
    playback = PlaybackAudio()
    pos = 0
    while pos < pcm.size:  # the agent's chunks, any size
        n = int(rng.integers(1, 3000))
        playback.push(pcm[pos : pos + n, None], rate, segment=1)
        pos += n
    playback.end_segment()
    frames = [
        playback.take(
            segment=1, offset=k * SAMPLES_PER_FRAME, n_valid=SAMPLES_PER_FRAME, last=False
        )
        for k in range(FPS - 1)
    ]
    frames.append(
        playback.take(segment=1, offset=(FPS - 1) * SAMPLES_PER_FRAME, n_valid=640, last=True)
    )
    assert all(f.size == FRAME_SECONDS * OUTPUT_SAMPLE_RATE for f in frames[:-1])
    out = np.concatenate(frames).astype(np.float32) / 32767
    assert out.size == OUTPUT_SAMPLE_RATE  # the whole second, nothing lost or repeated
    spectrum = np.abs(np.fft.rfft(out))
    freqs = np.fft.rfftfreq(out.size, 1 / OUTPUT_SAMPLE_RATE)
    assert (
        spectrum[np.argmin(np.abs(freqs - 9_000))] > 0.5 * spectrum[np.argmin(np.abs(freqs - 220))]
    )
    assert playback.take(segment=1, offset=0, n_valid=640, last=False).size == 0  # all taken


def test_published_audio_follows_utterances_drops_and_interruptions():
    playback = PlaybackAudio()
    playback.push(np.full((480, 1), 1000, np.int16), 48_000, segment=1)  # 10 ms
    playback.end_segment()
    ramp = np.arange(1, 1601, dtype=np.int16)[:, None]  # 100 ms at 16 kHz, every sample distinct
    playback.push(ramp, 16_000, segment=2)  # the next utterance, at another rate
    first = playback.take(segment=1, offset=0, n_valid=160, last=True)
    assert (first == 1000).all() and first.size == 480  # only utterance 1, all of it
    # utterance 2's first two frames were dropped by the session: the third starts at 1280
    third = playback.take(segment=2, offset=1280, n_valid=320, last=True).astype(np.float32)
    assert third.size == 320 * 3
    assert abs(third[len(third) // 2] - 1440) < 40, "audio shifted after dropped frames"
    playback.push(np.full((160, 1), 5, np.int16), 16_000, segment=3)
    playback.clear()  # interrupted: what was received is dropped
    assert playback.take(segment=3, offset=0, n_valid=160, last=True).size == 0


def test_stereo_frames_come_back_interleaved():
    left = np.arange(100, dtype=np.int16)
    stereo = np.stack([left, -left], axis=1)
    frame = rtc.AudioFrame(stereo.tobytes(), 48_000, 2, 100)
    np.testing.assert_array_equal(pcm_from_audio_frame(frame), stereo)
