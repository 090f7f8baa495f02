"""The teacher's non-verbal behaviour: head, brows, gaze, smiles, blinks and breathing.

Speaking: accented (long) vowels raise the brows and nod, questions tilt the head, phrase ends let
the head settle. Listening: nods shortly after the partner's phrase ends, small smiles, gaze that
wanders and returns, mouth closed. Always: breathing, micro-motion, blinks (more at phrase
boundaries). A persona scales all of it; requested events (nod, shake, smile, ...) play on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audio.clocks import FPS
from audio.phonemes import SILENCE, is_vowel
from audio.tts import PhonemeSpan
from avatars.motion import NUM_CHANNELS, index
from avatars.teacher.persona import Persona
from avatars.vocabulary import BLINK_SHAPE, EVENT_HOLD_FRAMES, EVENTS

PHRASE_GAP_SECONDS = 0.25
"""Silence inside speech at least this long ends a phrase."""


@dataclass(frozen=True)
class Phrase:
    start: float
    end: float
    question: bool = False


@dataclass(frozen=True)
class Performance:
    motion: np.ndarray  # (T, C) everything but the mouth's speech shapes
    blink_onsets: np.ndarray  # (K,) frame numbers
    events: np.ndarray  # (T,) int64 index into EVENTS, held EVENT_HOLD_FRAMES after a request


def phrases_of(spans: Sequence[PhonemeSpan], questions: Sequence[tuple[float, float]] = ()) -> list[Phrase]:
    """Runs of speech separated by silences (or gaps between utterances) of PHRASE_GAP_SECONDS."""
    bounds: list[list[float]] = []
    for span in spans:
        if span.phoneme == SILENCE:
            continue
        if bounds and span.start - bounds[-1][1] < PHRASE_GAP_SECONDS:
            bounds[-1][1] = span.end
        else:
            bounds.append([span.start, span.end])
    return [Phrase(a, b, any(q0 <= b <= q1 + 0.05 for q0, q1 in questions)) for a, b in bounds]


def _frame(seconds: float) -> int:
    return round(seconds * FPS)


def _bump(track: np.ndarray, centre: float, width: float, amplitude: float) -> None:
    """Add a raised-cosine bump (centre and width in frames) to a 1-D track in place."""
    lo, hi = int(np.floor(centre - width / 2)), int(np.ceil(centre + width / 2))
    frames = np.arange(max(lo, 0), min(hi + 1, track.shape[0]))
    if frames.size:
        phase = (frames - centre) / (width / 2)
        track[frames] += amplitude * 0.5 * (1 + np.cos(np.pi * np.clip(phase, -1, 1)))


def smooth_noise(rng: np.random.Generator, n: int, seconds: float) -> np.ndarray:
    """Unit-variance noise with a correlation time of about ``seconds`` (Gaussian-filtered)."""
    sigma = max(seconds * FPS, 1.0)
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    white = rng.standard_normal(n + 2 * radius)
    out = np.convolve(white, kernel / np.sqrt((kernel**2).sum()), mode="valid")
    return out[:n].astype(np.float32)


def _mask(phrases: Sequence[Phrase], n: int) -> np.ndarray:
    mask = np.zeros(n, np.float32)
    for p in phrases:
        mask[_frame(p.start) : _frame(p.end)] = 1.0
    return mask


def _envelope(mask: np.ndarray, seconds: float = 0.4) -> np.ndarray:
    """A mask smoothed so gestures fade in and settle instead of switching."""
    width = max(int(seconds * FPS), 1)
    kernel = np.hanning(2 * width + 1)
    return (np.convolve(mask, kernel / kernel.sum(), mode="same")).astype(np.float32)


class _Tracks:
    """Named channel tracks of one performance."""

    def __init__(self, n: int) -> None:
        self.motion = np.zeros((n, NUM_CHANNELS), np.float32)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.motion[:, index(name)]

    def add_both(self, stem: str, values: np.ndarray | float) -> None:
        self[f"{stem}Left"][:] += values
        self[f"{stem}Right"][:] += values


def perform(
    *,
    self_spans: Sequence[PhonemeSpan],
    partner_spans: Sequence[PhonemeSpan],
    n_frames: int,
    persona: Persona,
    rng: np.random.Generator,
    questions: Sequence[tuple[float, float]] = (),
    events: Sequence[tuple[int, str]] = (),
) -> Performance:
    """Behaviour for one speaker over a dialogue; spans in seconds from the dialogue start."""
    n = n_frames
    tracks = _Tracks(n)
    expr = 0.6 + 0.8 * persona.expressiveness
    own = phrases_of(self_spans, questions)
    heard = phrases_of(partner_spans)
    speaking = _envelope(_mask(own, n))
    listening = _envelope(_mask(heard, n)) * (1 - speaking)

    # Posture, breathing and micro-motion: never still.
    breath = 2 * np.pi * np.arange(n) / (FPS * rng.uniform(3.5, 5.0)) + rng.uniform(0, 2 * np.pi)
    tracks["headPitch"][:] += rng.normal(0, 1.5) + 0.5 * np.sin(breath) + 1.0 * smooth_noise(rng, n, 1.5)
    tracks["headYaw"][:] += rng.normal(0, 2.0) + 1.5 * smooth_noise(rng, n, 2.5)
    tracks["headRoll"][:] += rng.normal(0, 1.0) + 0.8 * smooth_noise(rng, n, 2.5)
    tracks["headY"][:] += 0.004 * np.sin(breath)
    tracks["bodyShrug"][:] += 0.04 * (1 + np.sin(breath)) / 2
    tracks["bodyLeanX"][:] += 0.05 * smooth_noise(rng, n, 6.0)
    tracks["bodyLeanY"][:] += 0.05 * smooth_noise(rng, n, 6.0) + 0.05 * listening

    # Speaking: livelier head, accents nod and raise the brows, questions tilt.
    tracks["headPitch"][:] += speaking * expr * 1.5 * smooth_noise(rng, n, 0.6)
    tracks["headYaw"][:] += speaking * expr * 2.5 * smooth_noise(rng, n, 0.9)
    tracks["headRoll"][:] += speaking * expr * 1.2 * smooth_noise(rng, n, 1.2)
    last_accent = -1e9
    for span in self_spans:
        if not is_vowel(span.phoneme) or span.end - span.start < 0.09:
            continue
        if span.start - last_accent < 0.45 or rng.random() > 0.55:
            continue
        last_accent = span.start
        centre = _frame(span.start) + 2
        _bump(tracks["headPitch"], centre, 8, expr * rng.uniform(1.5, 3.5))
        if rng.random() < 0.45:
            _bump(tracks["browInnerUp"], centre, 9, expr * rng.uniform(0.15, 0.35))
            _bump(tracks["browOuterUpLeft"], centre, 9, expr * 0.2)
            _bump(tracks["browOuterUpRight"], centre, 9, expr * 0.2)
    for phrase in own:
        if phrase.question:
            centre, side = _frame(phrase.end) - 5, rng.choice([-1.0, 1.0])
            _bump(tracks["headRoll"], centre, 30, side * expr * rng.uniform(3.0, 6.0))
            _bump(tracks["browInnerUp"], centre, 25, expr * 0.25)

    # Listening: nods after the partner's phrase ends, small smiles.
    nod_chance = 0.55 + 0.4 * persona.nod_rate
    for phrase in heard:
        if rng.random() < nod_chance:
            start = _frame(phrase.end + rng.uniform(0.15, 0.6))
            if speaking[min(start, n - 1)] < 0.5:
                amplitude = expr * rng.uniform(3.5, 7.0)
                _bump(tracks["headPitch"], start + 6, 13, amplitude)
                if rng.random() < 0.35:
                    _bump(tracks["headPitch"], start + 18, 11, 0.6 * amplitude)
    smile = (0.05 + 0.25 * persona.smile) * (1 + 0.5 * smooth_noise(rng, n, 3.0)).clip(0.3, 1.7)
    tracks.add_both("mouthSmile", smile * (1 - 0.6 * speaking))
    tracks.add_both("cheekSquint", 0.4 * smile * (1 - 0.6 * speaking))

    # Gaze: glances away and back; more while not speaking.
    t = int(rng.integers(0, 3 * FPS))
    while t < n:
        hold = int(rng.uniform(0.4, 1.5) * FPS)
        horizontal, vertical = rng.normal(0, 0.3), rng.normal(0, 0.15)
        look = np.zeros(n, np.float32)
        _bump(look, t + hold / 2, hold + 6, 1.0)
        look = np.minimum(look * 1.6, 1.0)
        side = ("Out", "In") if horizontal > 0 else ("In", "Out")
        tracks["eyeLook" + side[0] + "Left"][:] += abs(horizontal) * look
        tracks["eyeLook" + side[1] + "Right"][:] += abs(horizontal) * look
        tracks.add_both("eyeLookUp" if vertical > 0 else "eyeLookDown", abs(vertical) * look)
        tracks["headYaw"][:] += 3.0 * horizontal * look
        t += hold + int(rng.uniform(2.0, 5.0) * FPS * (1 + speaking[min(t, n - 1)]))

    event_track = _events(tracks, events, expr, n)
    onsets = _blinks(persona, own + heard, n, rng)
    for onset in onsets:
        for k, value in enumerate(BLINK_SHAPE):
            if onset + k < n:
                tracks["eyeBlinkLeft"][onset + k] = max(tracks["eyeBlinkLeft"][onset + k], value)
                tracks["eyeBlinkRight"][onset + k] = max(tracks["eyeBlinkRight"][onset + k], value)
    return Performance(motion=tracks.motion, blink_onsets=onsets, events=event_track)


def _events(tracks: _Tracks, events: Sequence[tuple[int, str]], expr: float, n: int) -> np.ndarray:
    track = np.zeros(n, np.int64)
    for frame, name in events:
        track[frame : frame + EVENT_HOLD_FRAMES] = EVENTS.index(name)
        if name == "nod":
            _bump(tracks["headPitch"], frame + 6, 12, 6.0 * expr)
            _bump(tracks["headPitch"], frame + 17, 10, 4.0 * expr)
        elif name == "shake":
            for k, sign in enumerate((1, -1, 1, -1)):
                _bump(tracks["headYaw"], frame + 4 + 6 * k, 8, sign * 7.0 * expr)
        elif name == "smile":
            for stem, amount in (("mouthSmile", 0.6), ("cheekSquint", 0.35), ("eyeSquint", 0.2)):
                for side in ("Left", "Right"):
                    _bump(tracks[stem + side], frame + 25, 50, amount)
        elif name == "surprise":
            _bump(tracks["browInnerUp"], frame + 12, 28, 0.7)
            for stem in ("browOuterUp", "eyeWide"):
                for side in ("Left", "Right"):
                    _bump(tracks[stem + side], frame + 12, 28, 0.55)
        elif name == "frown":
            for stem, amount in (("browDown", 0.5), ("mouthFrown", 0.4)):
                for side in ("Left", "Right"):
                    _bump(tracks[stem + side], frame + 25, 50, amount)
    return track


def _blinks(persona: Persona, phrases: Sequence[Phrase], n: int, rng: np.random.Generator) -> np.ndarray:
    """Blink onsets: a Poisson process, plus blinks at phrase boundaries, never too close."""
    candidates: list[float] = []
    rate = 0.75 * persona.blinks_per_minute() / 60.0  # boundaries add the rest
    t = rng.exponential(1 / rate)
    while t < n / FPS:
        candidates.append(t)
        t += rng.exponential(1 / rate)
    for phrase in phrases:
        if rng.random() < 0.35:
            candidates.append(phrase.end + rng.uniform(0.0, 0.3))
    onsets: list[int] = []
    for t in sorted(candidates):
        frame = _frame(t)
        if frame < n and (not onsets or frame - onsets[-1] >= len(BLINK_SHAPE) + 6):
            onsets.append(frame)
    return np.array(onsets, np.int64)
