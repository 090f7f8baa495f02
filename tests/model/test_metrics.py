"""The evaluation measures themselves: they find a known lag, a missing closure, a drift."""

from __future__ import annotations

import numpy as np

from audio.clocks import FPS
from audio.tts import PhonemeSpan
from avatars.model import metrics as mx


def _spans() -> list[PhonemeSpan]:
    rng = np.random.default_rng(0)
    phones = ["aa", "p", "iy", "m", "ae", "b", "uw", "t", "ah", "sil"]
    spans, t = [], 0.0
    for _ in range(60):
        p = str(rng.choice(phones))
        d = float(rng.uniform(0.06, 0.2))
        spans.append(PhonemeSpan(p, t, t + d))
        t += d
    return spans


def test_best_lag_finds_a_known_shift() -> None:
    spans = _spans()
    n = int(spans[-1].end * FPS) + 10
    target = mx.openness_track(spans, n)
    mask = mx.speaking_mask(spans, n)
    assert mx.best_lag(target, target, mask) == 0
    assert mx.best_lag(np.roll(target, 3), target, mask) == 3  # the mouth 3 frames late


def test_closure_and_openness_scores() -> None:
    spans = _spans()
    n = int(spans[-1].end * FPS) + 10
    good = mx.openness_track(spans, n)
    assert mx.bilabial_closure(good, spans, closed_below=0.05) == 1.0
    assert mx.bilabial_closure(np.full(n, 0.5), spans, closed_below=0.05) == 0.0
    peaks = mx.vowel_peaks(good, spans)
    assert mx.vowel_openness_r(peaks) > 0.95
    assert np.isnan(mx.vowel_openness_r(peaks[:2]))


def test_nods_and_frozen_windows() -> None:
    pitch = np.zeros(10 * FPS)
    pitch[FPS + 5 : FPS + 15] = 4.0  # a nod 0.2 s after the phrase end at 1 s
    assert mx.nod_after(pitch, [1.0, 6.0]) == 0.5
    angles = np.zeros((10 * FPS, 3))
    assert mx.frozen_windows(angles) == 2
    angles[:, 0] = np.sin(np.arange(10 * FPS) / 5)
    assert mx.frozen_windows(angles) == 0
