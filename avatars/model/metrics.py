"""Motion-quality measures shared by ``make eval``: lip-sync against phoneme timing, listening
behaviour and blink rate (long-run stability is ``tools.longrun``). Inputs are per-frame arrays
(from rendered video measured with MediaPipe, or straight from motion) and phoneme spans in
seconds."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from audio.clocks import FPS
from audio.phonemes import SILENCE, is_bilabial, is_vowel, openness
from audio.tts import PhonemeSpan

LEAD_FRAMES = 1
"""Closure counts if it happens from one frame before the sound (the lips lead it)."""


def _centre_range(start: float, end: float) -> tuple[int, int]:
    """First and last frame whose centre ((t + 0.5) / FPS) lies in [start, end)."""
    return math.ceil(start * FPS - 0.5), math.ceil(end * FPS - 0.5) - 1


def span_frames(span: PhonemeSpan, n_frames: int, lead: int = LEAD_FRAMES) -> range:
    """Frames whose centre falls in the span, widened ``lead`` frames earlier; at least one."""
    lo, hi = _centre_range(span.start, span.end)
    first = max(lo - lead, 0)
    last = min(max(hi, first), n_frames - 1)
    return range(first, last + 1)


def openness_track(spans: Sequence[PhonemeSpan], n_frames: int) -> np.ndarray:
    """(T,) the openness of the phoneme sounding at each frame centre (0 in silence)."""
    track = np.zeros(n_frames, np.float32)
    for span in spans:
        lo, hi = _centre_range(span.start, span.end)
        track[max(lo, 0) : max(hi + 1, 0)] = openness(span.phoneme) if span.phoneme != SILENCE else 0
    return track


def speaking_mask(spans: Sequence[PhonemeSpan], n_frames: int, hold_seconds: float = 0.3) -> np.ndarray:
    """(T,) bool: a phoneme sounds, or sounded less than ``hold_seconds`` ago or comes that soon."""
    mask = np.zeros(n_frames, bool)
    for span in spans:
        if span.phoneme != SILENCE:
            lo = int((span.start - hold_seconds) * FPS)
            mask[max(lo, 0) : int((span.end + hold_seconds) * FPS) + 1] = True
    return mask


def best_lag(aperture: np.ndarray, target: np.ndarray, mask: np.ndarray, max_lag: int = 6) -> int:
    """The shift (frames; negative = the mouth moves before the sound) maximising correlation."""
    scores = {}
    for lag in range(-max_lag, max_lag + 1):
        a = np.roll(aperture, -lag)
        ok = mask & np.roll(mask, -lag)
        ok[:max_lag] = ok[-max_lag:] = False
        if ok.sum() > 10:
            scores[lag] = float(np.corrcoef(a[ok], target[ok])[0, 1])
    return max(scores, key=lambda k: scores[k]) if scores else 0


def bilabial_closure(aperture: np.ndarray, spans: Sequence[PhonemeSpan], closed_below: float) -> float:
    """Fraction of p/b/m phonemes during which the lips close (aperture below ``closed_below``)."""
    hits = [aperture[list(span_frames(s, aperture.shape[0]))].min() < closed_below
            for s in spans if s.phoneme != SILENCE and is_bilabial(s.phoneme)]  # fmt: skip
    return float(np.mean(hits)) if hits else float("nan")


def vowel_peaks(aperture: np.ndarray, spans: Sequence[PhonemeSpan]) -> list[tuple[str, float]]:
    """(vowel, peak aperture over its frames) for every vowel spoken."""
    return [(s.phoneme, float(aperture[list(span_frames(s, aperture.shape[0]))].max()))
            for s in spans if s.phoneme != SILENCE and is_vowel(s.phoneme)]  # fmt: skip


def vowel_openness_r(peaks: Sequence[tuple[str, float]], *, per_vowel: bool = True,
                     min_count: int = 3) -> float:
    """Pearson r between aperture and vowel openness.

    per_vowel: over vowel types (each vowel's mean peak aperture, vowels heard ``min_count``
    times or more) — do open vowels open the mouth more; otherwise over single vowels, where
    duration (short vowels never reach their target) weighs in as much as height.
    """
    if per_vowel:
        groups: dict[str, list[float]] = {}
        for vowel, peak in peaks:
            groups.setdefault(vowel, []).append(peak)
        pairs = [(float(np.mean(v)), openness(k)) for k, v in groups.items() if len(v) >= min_count]
    else:
        pairs = [(peak, openness(vowel)) for vowel, peak in peaks]
    if len(pairs) < 4:
        return float("nan")
    a, b = np.array(pairs).T
    return float(np.corrcoef(a, b)[0, 1])


def phrase_ends(spans: Sequence[PhonemeSpan], gap_seconds: float = 0.25) -> list[float]:
    ends: list[float] = []
    last_end = None
    for span in spans:
        if span.phoneme == SILENCE:
            continue
        if last_end is not None and span.start - last_end >= gap_seconds:
            ends.append(last_end)
        last_end = span.end
    if last_end is not None:
        ends.append(last_end)
    return ends


def nod_after(pitch: np.ndarray, ends: Sequence[float], *, within_seconds: float = 1.0,
              min_degrees: float = 1.5) -> float:
    """Fraction of phrase ends followed by a nod: pitch rises ``min_degrees`` above its value at the
    end, starting within ``within_seconds`` (peak allowed 0.5 s later)."""
    hits = []
    for end in ends:
        f = int(end * FPS)
        window = pitch[f : f + int((within_seconds + 0.5) * FPS)]
        if window.size >= FPS:
            hits.append(float(np.nanmax(window) - np.nanmin(pitch[max(f - 3, 0) : f + 1])) >= min_degrees)
    return float(np.mean(hits)) if hits else float("nan")


def frozen_windows(angles: np.ndarray, seconds: float = 5.0, min_degrees: float = 0.3) -> int:
    """How many ``seconds``-long windows the head does not move (range below ``min_degrees``)."""
    size = int(seconds * FPS)
    frozen = 0
    for lo in range(0, angles.shape[0] - size + 1, size):
        chunk = angles[lo : lo + size]
        if np.nanmax(np.nanmax(chunk, axis=0) - np.nanmin(chunk, axis=0)) < min_degrees:
            frozen += 1
    return frozen


def blink_onsets(lids: np.ndarray, threshold: float) -> np.ndarray:
    """Frames where the (mean) eyelid closure crosses ``threshold`` upward."""
    closed = lids > threshold
    return np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
