"""The long-run stability measure: it passes a stationary model and catches drift and collapse."""

from __future__ import annotations

import numpy as np
import pytest

from service.longrun import FRAMES_PER_MINUTE, ensemble_drift


def _runs(minutes: int, seeds: int = 4, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.3, 0.1, (seeds, minutes * FRAMES_PER_MINUTE, channels)).astype(np.float32)


def test_stationary_motion_stays_within_ten_percent() -> None:
    result = ensemble_drift(_runs(6))
    assert result["minutes"] == 6 and result["seeds"] == 4
    assert result["mean_within_10pct"] == 1.0 and result["spread_within_10pct"] == 1.0


def test_collapse_into_stillness_is_caught() -> None:
    runs = _runs(6)
    fade = np.linspace(1.0, 0.3, runs.shape[1], dtype=np.float32)  # motion dies away
    runs[:, :, 1] = 0.3 + (runs[:, :, 1] - 0.3) * fade
    result = ensemble_drift(runs)
    assert result["spread_within_10pct"] < 1.0 and result["spread_ratio_min"] < 0.5


def test_drifting_mean_is_caught() -> None:
    runs = _runs(6)
    runs[:, :, 2] += np.linspace(0.0, 0.2, runs.shape[1], dtype=np.float32)  # creeping offset
    result = ensemble_drift(runs)
    assert result["mean_within_10pct"] < 1.0 and result["mean_drift_worst"] > 0.3


def test_a_channel_that_never_moves_is_skipped_not_divided_by_zero() -> None:
    runs = _runs(3)
    runs[:, :, 0] = 0.0
    assert np.isfinite(list(ensemble_drift(runs).values())).all()


def test_one_minute_is_not_a_long_run() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        ensemble_drift(_runs(1))
