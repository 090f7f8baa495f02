"""Voice augmentation in feature space, so the lip-closure head stops keying on training voices.

The eval's held-out voices close only 0.73 of p/b/m against 0.92 on training voices; most misses
are detections the head never fires on. A vocal-tract-length warp of the log-mel rows (VTLP: every
frequency scaled by one factor per crop, which moves formants the way a longer or shorter vocal
tract does) and a SpecAugment-style band mask make the same phoneme look like many more voices,
at the cost of one interpolation per crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audio.clocks import N_MELS
from audio.features import hz_to_mel, mel_edges_hz


@dataclass(frozen=True)
class VoiceAugment:
    """``warp``: largest relative frequency scale (0.15: factors in [0.85, 1.15]); ``mask_bins``:
    widest band of mel bins set to the crop's mean, applied with probability ``mask_probability``."""

    warp: float = 0.15
    mask_bins: int = 8
    mask_probability: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.warp < 0.5:
            raise ValueError(f"warp {self.warp} is outside [0, 0.5)")
        if not 0 <= self.mask_bins < N_MELS // 2:
            raise ValueError(f"mask_bins {self.mask_bins} is outside [0, {N_MELS // 2})")
        if not 0.0 <= self.mask_probability <= 1.0:
            raise ValueError(f"mask_probability {self.mask_probability} is outside [0, 1]")

    def __call__(self, mel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(..., N_MELS) normalised log-mel rows of one crop -> the same rows as another voice."""
        out = warp_mel(mel, float(rng.uniform(1.0 - self.warp, 1.0 + self.warp)))
        if self.mask_bins and rng.random() < self.mask_probability:
            width = int(rng.integers(1, self.mask_bins + 1))
            start = int(rng.integers(0, N_MELS - width))
            out[..., start : start + width] = out.mean()
        return out


_CENTRES_HZ = mel_edges_hz(n_mels=N_MELS)[1:-1]  # (N_MELS,) each filter's peak
_CENTRES_MEL = hz_to_mel(_CENTRES_HZ)


def warp_mel(mel: np.ndarray, factor: float) -> np.ndarray:
    """(..., N_MELS) log-mel rows as if every frequency were scaled by ``factor`` (> 1: a shorter
    vocal tract, formants higher). Bins read from outside the band repeat the edge bin."""
    if mel.shape[-1] != N_MELS:
        raise ValueError(f"mel rows of width {mel.shape[-1]}; expected {N_MELS}")
    if factor <= 0:
        raise ValueError(f"warp factor {factor} must be positive")
    # Output bin j shows what the input had at frequency centre_j / factor, in bin units.
    source_mel = hz_to_mel(_CENTRES_HZ / factor)
    position = np.interp(source_mel, _CENTRES_MEL, np.arange(N_MELS, dtype=np.float64))
    low = np.clip(np.floor(position).astype(np.int64), 0, N_MELS - 2)
    weight = (position - low).astype(np.float32)
    return (mel[..., low] * (1.0 - weight) + mel[..., low + 1] * weight).astype(np.float32)
