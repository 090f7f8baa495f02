"""Choosing the lip-closure threshold on held-back corpus dialogues (never on the eval's).

The closure head gives a probability per frame; the stream seals the lips where it reaches the
threshold. Too high and p/b/m pass open; too low and vowels shut. The threshold kept is the one
that maximises (p/b/m phonemes with a sealed frame) - (vowel frames sealed), measured on the
model's own free-running motion, exactly as the stream produces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audio.phonemes import SILENCE, is_bilabial, is_vowel
from audio.tts import PhonemeSpan
from avatars.model.metrics import bilabial_closure, span_frames

CANDIDATES = tuple(round(0.15 + 0.05 * k, 2) for k in range(15))  # 0.15 .. 0.85


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    bilabial_sealed: float
    """Fraction of p/b/m phonemes with a sealed frame (the eval's closure measure, on motion)."""
    vowel_frames_sealed: float
    """Fraction of frames inside vowels that were sealed (false seals)."""


def score_threshold(probabilities: Sequence[np.ndarray], phonemes: Sequence[Sequence[PhonemeSpan]],
                    threshold: float) -> ThresholdChoice:
    """One threshold on several dialogues: probabilities (T,) per dialogue, its own phonemes."""
    hits: list[float] = []
    vowel_sealed, vowel_frames = 0, 0
    for probs, spans in zip(probabilities, phonemes, strict=True):
        sealed = probs >= threshold  # (T,)
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
        bilabial_sealed=float(np.mean(hits)) if hits else float("nan"),
        vowel_frames_sealed=vowel_sealed / vowel_frames if vowel_frames else 0.0,
    )


def choose_threshold(probabilities: Sequence[np.ndarray],
                     phonemes: Sequence[Sequence[PhonemeSpan]]) -> ThresholdChoice:
    """The candidate with the most p/b/m sealed net of vowel frames sealed."""
    if not probabilities or all(p.size == 0 for p in probabilities):
        raise ValueError("no closure probabilities to choose a threshold on (no validation frames)")
    scored = [score_threshold(probabilities, phonemes, t) for t in CANDIDATES]
    usable = [s for s in scored if np.isfinite(s.bilabial_sealed)]
    if not usable:
        raise ValueError("the validation dialogues hold no p/b/m phoneme to choose a threshold on")
    return max(usable, key=lambda s: s.bilabial_sealed - s.vowel_frames_sealed)
