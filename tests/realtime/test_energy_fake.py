"""The energy driver: mouth follows speech, closed in silence, the face never freezes."""

from __future__ import annotations

import numpy as np
import pytest
from energy_fake import EnergyMotionStream

from audio.clocks import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from avatars.driver import drive_offline
from avatars.motion import index


def _voiced(seconds: float, seed: int = 0) -> np.ndarray:
    """Speech-like: a 140 Hz buzz, amplitude-modulated at a syllable rate (4 Hz)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    noise = np.random.default_rng(seed).standard_normal(t.size) * 0.01
    return (0.3 * syllables * np.sign(np.sin(2 * np.pi * 140 * t)) + noise).astype(np.float32)


def test_mouth_opens_with_speech_and_closes_in_silence() -> None:
    silence = np.zeros(SAMPLE_RATE, np.float32)
    audio = np.concatenate([silence, _voiced(2.0), silence])
    motion = drive_offline(EnergyMotionStream(seed=1), audio)
    jaw = motion[:, index("jawOpen")]
    assert motion.shape[0] == 4 * FPS
    assert jaw[: FPS].max() == 0.0  # before speech
    assert jaw[FPS : 3 * FPS].mean() > 0.15  # during speech
    assert jaw[3 * FPS + FPS // 2 :].max() == 0.0  # settled shut half a second after speech
    # it follows the syllables rather than holding one opening
    assert jaw[FPS + 5 : 3 * FPS].std() > 0.05


def test_quiet_noise_keeps_mouth_closed() -> None:
    hiss = (np.random.default_rng(0).standard_normal(2 * SAMPLE_RATE) * 0.002).astype(np.float32)
    motion = drive_offline(EnergyMotionStream(seed=0), hiss)
    assert motion[:, index("jawOpen")].max() == 0.0


def test_idle_face_blinks_and_moves() -> None:
    motion = drive_offline(EnergyMotionStream(seed=3), np.zeros(20 * SAMPLE_RATE, np.float32))
    blinks = motion[:, index("eyeBlinkLeft")]
    closed = (blinks[1:] >= 1.0) & (blinks[:-1] < 1.0)
    assert 3 <= int(closed.sum()) <= 10  # every 2–6 s over 20 s
    yaw = motion[:, index("headYaw")]
    for start in range(0, motion.shape[0], 5 * FPS):  # head motion in every 5 s window
        assert np.ptp(yaw[start : start + 5 * FPS]) > 0.2


def test_seed_reproduces_and_differs() -> None:
    audio = _voiced(3.0)
    a = drive_offline(EnergyMotionStream(seed=7), audio)
    b = drive_offline(EnergyMotionStream(seed=7), audio)
    c = drive_offline(EnergyMotionStream(seed=8), audio)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_nod_when_partner_finishes_a_phrase() -> None:
    stream = EnergyMotionStream(seed=2)
    quiet = np.zeros(SAMPLES_PER_FRAME, np.float32)
    partner = _voiced(2.0).reshape(-1, SAMPLES_PER_FRAME)
    baseline = EnergyMotionStream(seed=2)
    pitch, base_pitch = [], []
    for block in list(partner) + [quiet] * FPS:
        pitch.append(stream.push(quiet, block)[index("headPitch")])
        base_pitch.append(baseline.push(quiet, quiet)[index("headPitch")])
    extra = np.array(pitch) - np.array(base_pitch)
    assert extra[: 2 * FPS].max() == 0.0
    assert extra[2 * FPS :].max() > 2.0


def test_bad_input_is_named() -> None:
    stream = EnergyMotionStream()
    with pytest.raises(ValueError, match=r"self_audio has shape \(100,\)"):
        stream.push(np.zeros(100, np.float32), np.zeros(SAMPLES_PER_FRAME, np.float32))
    with pytest.raises(ValueError, match="unknown event 'wave'"):
        stream.trigger("wave")
