"""The long-run stability measure: it passes a stationary model and catches drift and collapse."""

from __future__ import annotations

import numpy as np
import pytest

from tools.longrun import FRAMES_PER_MINUTE, MinuteStats, drift, ensemble_drift


def _runs(minutes: int, seeds: int = 4, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.3, 0.1, (seeds, minutes * FRAMES_PER_MINUTE, channels)).astype(np.float32)


def test_stationary_motion_stays_within_ten_percent() -> None:
    result = ensemble_drift(_runs(6))
    assert result["minutes"] == 6 and result["paths"] == 4
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


def test_statistics_merged_from_parts_equal_those_of_the_whole() -> None:
    runs = _runs(3, seeds=6)
    runs[:, :, 1] += np.linspace(0.0, 0.2, runs.shape[1], dtype=np.float32)
    parts = [MinuteStats.from_runs(runs[:2]), MinuteStats.from_runs(runs[2:])]
    merged, whole = drift(MinuteStats.merge(parts)), ensemble_drift(runs)
    assert merged.keys() == whole.keys() and merged["paths"] == 6
    for key, value in whole.items():
        assert merged[key] == pytest.approx(value)


def test_the_channels_outside_the_band_are_named() -> None:
    runs = _runs(4)
    runs[:, :, 2] += np.linspace(0.0, 0.2, runs.shape[1], dtype=np.float32)
    result = drift(MinuteStats.from_runs(runs), ["jawOpen", "headYaw", "mouthSmileLeft"])
    assert str(result["outside_band"]).startswith("mouthSmileLeft (")
    assert "jawOpen" not in str(result["outside_band"])
    assert drift(MinuteStats.from_runs(_runs(4)), ["a", "b", "c"])["outside_band"] == "none"


def test_the_shipped_model_runs_many_paths_of_the_looped_minute() -> None:
    from tools.longrun import run_paths

    stats = run_paths(None, minutes=2, seed=0, paths=3)
    assert stats.first_minute.shape == (3, FRAMES_PER_MINUTE, 61) and stats.sums.shape == (2, 61)
    np.testing.assert_allclose(stats.sums[0], stats.first_minute.astype(np.float64).sum(axis=(0, 1)),
                               rtol=1e-6, atol=1e-6)  # fmt: skip
    paths_apart = np.abs(stats.first_minute[0] - stats.first_minute[1]).mean(axis=0)
    assert paths_apart.max() > 0  # each path samples its own motion
    result = drift(stats)
    assert result["channels"] > 30 and result["mean_within_10pct"] > 0.5
