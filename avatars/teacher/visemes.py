"""Phonemes → mouth blendshapes with coarticulation.

Every phoneme has a target (jaw by vowel openness, lip closure for p/b/m, lower lip to teeth for
f/v, rounding, spreading) and a dominance: the mouth at any instant is the dominance-weighted blend
of nearby targets (Cohen–Massaro), each dominance flat over its phoneme and decaying outside it,
so p/b/m win their closure and h takes the shape of its neighbours. The lips and jaw lead the sound
(``LEAD_SECONDS``), as in real speech.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from audio.clocks import FPS
from audio.phonemes import SILENCE, articulation
from audio.tts import PhonemeSpan
from avatars.motion import NUM_CHANNELS, index

LEAD_SECONDS = 0.04
"""The mouth shape arrives this far before its sound (one frame; 40–80 ms in the literature)."""
_RATE = 200  # Hz: the blend is computed finer than the video frame, then sampled at frame centres
_DECAY_SECONDS = 0.035
_JAW_PER_OPENNESS = 0.6
MIN_CLOSURE_SECONDS = 0.1
_REST_DOMINANCE = 0.02  # a relaxed, closed mouth wins wherever no phoneme is near
MOUTH_CHANNELS: tuple[str, ...] = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthStretchLeft", "mouthStretchRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthRollLower", "mouthRollUpper", "mouthPressLeft",
    "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "mouthShrugUpper", "tongueOut",
)  # fmt: skip
_COLUMN = {name: i for i, name in enumerate(MOUTH_CHANNELS)}


def _both(name: str, value: float) -> dict[str, float]:
    return {f"{name}Left": value, f"{name}Right": value}


def viseme(phoneme: str) -> tuple[dict[str, float], float, float]:
    """The mouth target (blendshape values), dominance and its decay time outside the phoneme."""
    if phoneme == SILENCE:
        return {}, 1.0, _DECAY_SECONDS
    art = articulation(phoneme)
    jaw = _JAW_PER_OPENNESS * art.openness
    target: dict[str, float] = {"jawOpen": jaw}
    dominance = 1.0
    decay = _DECAY_SECONDS if art.is_vowel else 0.025
    if art.is_vowel:
        target |= _both("mouthLowerDown", 0.35 * art.openness) | _both("mouthUpperUp", 0.1 * art.openness)
    if art.is_bilabial:
        target = {"jawOpen": 0.0, **_both("mouthPress", 0.45), "mouthRollLower": 0.15,
                  "mouthRollUpper": 0.12}  # fmt: skip
        dominance, decay = 10.0, 0.012
    elif art.is_labiodental:
        target = {"jawOpen": 0.06, "mouthRollLower": 0.6, **_both("mouthUpperUp", 0.3),
                  "mouthShrugUpper": 0.15}  # fmt: skip
        dominance, decay = 4.0, 0.015
    elif art.is_rounded:
        pucker = 0.8 if phoneme in ("w", "uw") else 0.45
        target |= {"mouthPucker": pucker, "mouthFunnel": 0.55 if art.is_vowel else 0.3}
        dominance = 2.0 if phoneme == "w" else 1.2
    elif art.is_spread:
        target |= _both("mouthStretch", 0.3) | _both("mouthSmile", 0.12)
    if phoneme in ("sh", "zh", "ch", "jh"):
        target |= {"mouthFunnel": 0.5, "mouthPucker": 0.25}
        dominance = 1.5
    elif phoneme in ("th", "dh"):
        target |= {"tongueOut": 0.25}
    elif phoneme in ("hh",):
        dominance = 0.25  # takes the shape of the following vowel
    return target, dominance, decay


def _targets(spans: Sequence[PhonemeSpan]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.zeros((len(spans), len(MOUTH_CHANNELS)), np.float32)
    dominance = np.zeros(len(spans), np.float32)
    decay = np.zeros(len(spans), np.float32)
    for i, span in enumerate(spans):
        target, dominance[i], decay[i] = viseme(span.phoneme)
        for name, value in target.items():
            values[i, _COLUMN[name]] = value
    return values, dominance, decay


def mouth_motion(
    spans: Sequence[PhonemeSpan], n_frames: int, *, offset_seconds: float = 0.0,
    articulation_scale: float = 1.0,
) -> np.ndarray:
    """(n_frames, NUM_CHANNELS) mouth channels for phoneme spans starting at ``offset_seconds``.

    Channels other than the mouth stay zero; silence means a closed, relaxed mouth.
    """
    motion = np.zeros((n_frames, NUM_CHANNELS), np.float32)
    if not spans or n_frames == 0:
        return motion
    values, dominance, decay = _targets(spans)
    starts = np.array([s.start for s in spans]) + offset_seconds - LEAD_SECONDS
    # TTS marks only the burst of a stop; the lips close well before it (a frame or more).
    closing = np.array([s.phoneme != SILENCE and (articulation(s.phoneme).is_bilabial or
                        articulation(s.phoneme).is_labiodental) for s in spans])  # fmt: skip
    ends = np.array([s.end for s in spans]) + offset_seconds - LEAD_SECONDS
    starts = np.where(closing, np.minimum(starts, ends - MIN_CLOSURE_SECONDS), starts)
    times = (np.arange(n_frames * _RATE // FPS) + 0.5) / _RATE
    first = np.searchsorted(times, starts[0] - 0.3)
    last = np.searchsorted(times, ends[-1] + 0.3)
    times = times[first:last]
    blend = np.zeros((times.shape[0], len(MOUTH_CHANNELS)), np.float32)
    for lo in range(0, times.shape[0], 2000):  # chunks keep the (times, spans) matrix small
        t = times[lo : lo + 2000, None]
        distance = np.maximum(0.0, np.maximum(starts[None, :] - t, t - ends[None, :]))
        weight = dominance[None, :] * np.exp(-distance / decay[None, :])
        blend[lo : lo + 2000] = (weight @ values) / (weight.sum(axis=1, keepdims=True) + _REST_DOMINANCE)
    # The value at each frame centre, from the fine grid.
    per_frame = _RATE // FPS
    frame_of = (first + np.arange(times.shape[0])) // per_frame
    centre = (first + np.arange(times.shape[0])) % per_frame == per_frame // 2
    columns = [index(name) for name in MOUTH_CHANNELS]
    motion[np.ix_(frame_of[centre], columns)] = np.clip(blend[centre] * articulation_scale, 0.0, 1.0)
    return motion
