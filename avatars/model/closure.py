"""Choosing the lip-closure threshold on held-back corpus dialogues (never on the eval's).

The closure head gives a probability per frame; the stream seals the lips where it reaches the
threshold and, once sealed, keeps them sealed while it stays at or above the release threshold
(hysteresis: one closure often spans two phonemes, the m and b of "number", or the stop gap
before a burst, and a single threshold let the seal drop a frame early). Too high and p/b/m pass
open; too low and vowels shut. The pair kept is the one that maximises (p/b/m phonemes with a
sealed frame) - (vowel frames sealed), measured on the model's own free-running motion, exactly
as the stream produces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audio.phonemes import SILENCE, is_bilabial, is_vowel
from audio.tts import PhonemeSpan
from avatars.model.metrics import bilabial_closure, span_frames

CANDIDATES = tuple(round(0.15 + 0.05 * k, 2) for k in range(15))  # 0.15 .. 0.85


def lips_sealed(probability: np.ndarray | float, threshold: float, release: float,
                was_sealed: np.ndarray | bool) -> np.ndarray | bool:
    """Whether the lips are sealed this frame, per path: the closure probability reaches
    ``threshold``, or they were sealed last frame and it is still at or above ``release``."""
    return (probability >= threshold) | (was_sealed & (probability >= release))


def sealed_track(probabilities: np.ndarray, threshold: float, release: float) -> np.ndarray:
    """(T,) bool: the frames the stream seals, given the closure head's (T,) probabilities."""
    sealed = np.zeros(probabilities.shape[0], bool)
    was = False
    for t, probability in enumerate(np.asarray(probabilities, np.float32)):
        # compared as float32, as the stream compares them
        was = bool(lips_sealed(probability, threshold, release, was))
        sealed[t] = was
    return sealed


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    release: float
    """Sealed lips open again when the probability falls below this (``threshold``: no hysteresis)."""
    bilabial_sealed: float
    """Fraction of p/b/m phonemes with a sealed frame (the eval's closure measure, on motion)."""
    vowel_frames_sealed: float
    """Fraction of frames inside vowels that were sealed (false seals)."""


def score_threshold(probabilities: Sequence[np.ndarray], phonemes: Sequence[Sequence[PhonemeSpan]],
                    threshold: float, release: float | None = None) -> ThresholdChoice:
    """One threshold pair on several dialogues: probabilities (T,) per dialogue, its own phonemes."""
    release = threshold if release is None else release
    hits: list[float] = []
    vowel_sealed, vowel_frames = 0, 0
    for probs, spans in zip(probabilities, phonemes, strict=True):
        sealed = sealed_track(probs, threshold, release)  # (T,)
        closure = bilabial_closure((~sealed).astype(np.float32), spans, 0.5)
        n_bilabial = sum(1 for s in spans if s.phoneme != SILENCE and is_bilabial(s.phoneme))
        if n_bilabial:
            hits.extend([closure] * n_bilabial)  # weigh each dialogue by its p/b/m count
        for span in spans:
            if span.phoneme != SILENCE and is_vowel(span.phoneme):
                frames = list(span_frames(span, probs.shape[0], lead=0))
                vowel_sealed += int(sealed[frames].sum())
                vowel_frames += len(frames)
    return ThresholdChoice(
        threshold=threshold,
        release=release,
        bilabial_sealed=float(np.mean(hits)) if hits else float("nan"),
        vowel_frames_sealed=vowel_sealed / vowel_frames if vowel_frames else 0.0,
    )


def choose_threshold(probabilities: Sequence[np.ndarray],
                     phonemes: Sequence[Sequence[PhonemeSpan]]) -> ThresholdChoice:
    """The (threshold, release) candidate with the most p/b/m sealed net of vowel frames sealed;
    among equals, the least hysteresis."""
    if not probabilities or all(p.size == 0 for p in probabilities):
        raise ValueError("no closure probabilities to choose a threshold on (no validation frames)")
    scored = [score_threshold(probabilities, phonemes, t, r) for t in CANDIDATES
              for r in sorted((c for c in CANDIDATES if c <= t), reverse=True)]  # fmt: skip
    usable = [s for s in scored if np.isfinite(s.bilabial_sealed)]
    if not usable:
        raise ValueError("the validation dialogues hold no p/b/m phoneme to choose a threshold on")
    return max(usable, key=lambda s: s.bilabial_sealed - s.vowel_frames_sealed)
