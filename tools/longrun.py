"""The long-run stability check of ``make eval``: does the world model drift or collapse over an
hour of conversation?

One minute of alternating turns (espeak sentences, pauses) is looped for the whole run, so the
input of every minute is the same and any change in a channel's per-minute mean or spread comes
from the model itself. Many sampled paths run side by side (one batched stream per worker
process, ``WorldModelStream(paths=N)``) and each minute's statistics are taken over all of them.
One path is far too noisy to judge a 10% band: smiles and cheek squints come in episodes of a few
seconds, so one path's per-minute spread of them varies by 33-45% (measured on the shipped
weights), and 8 or 16 paths still let the first minute's spread land 20% above or below the
others by chance. With 256 paths the chance part is a few percent.

    python -m tools.longrun [--minutes 60] [--paths 256] [--workers 2]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from audio.clocks import FPS

log = logging.getLogger(__name__)

FRAMES_PER_MINUTE = 60 * FPS
TOLERANCE = 0.10
"""The issue's bar: per-minute mean and spread within 10% of the first minute's."""
LIVE_SPAN = 1e-3
"""A channel whose first-minute range (1st–99th percentile) is below this never moves: skipped."""


@dataclass
class MinuteStats:
    """Per-minute sums over many paths: enough for pooled means and spreads without keeping an
    hour of every path (256 paths x 60 min x 61 channels would be 5.6 GB)."""

    first_minute: np.ndarray  # (paths, FRAMES_PER_MINUTE, C) float32: the reference, kept whole
    sums: np.ndarray  # (minutes, C) float64 over paths and frames
    squares: np.ndarray  # (minutes, C) float64

    @property
    def paths(self) -> int:
        return int(self.first_minute.shape[0])

    @classmethod
    def from_runs(cls, runs: np.ndarray) -> MinuteStats:
        """From whole runs, (paths, T, C); only whole minutes count."""
        paths, frames, channels = runs.shape
        minutes = frames // FRAMES_PER_MINUTE
        by_minute = runs[:, : minutes * FRAMES_PER_MINUTE].astype(np.float64).reshape(
            paths, minutes, FRAMES_PER_MINUTE, channels
        )
        return cls(first_minute=runs[:, :FRAMES_PER_MINUTE].astype(np.float32),
                   sums=by_minute.sum(axis=(0, 2)), squares=(by_minute**2).sum(axis=(0, 2)))  # fmt: skip

    @classmethod
    def merge(cls, parts: Sequence[MinuteStats]) -> MinuteStats:
        return cls(first_minute=np.concatenate([p.first_minute for p in parts]),
                   sums=np.sum([p.sums for p in parts], axis=0),
                   squares=np.sum([p.squares for p in parts], axis=0))  # fmt: skip


def looped_minute(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """One minute of (self, partner) 640-sample frames: alternating turns with pauses."""
    from avatars.model.conversation import alternating_frames

    return list(alternating_frames(1.0, seed=seed))


def run_paths(weights: Path | None, minutes: int, seed: int, paths: int) -> MinuteStats:
    """``paths`` sampled paths of ``minutes`` over the looped minute, one batched stream."""
    import torch

    from avatars.model import load_motion_stream
    from avatars.motion import NUM_CHANNELS

    torch.set_num_threads(1)
    minute = looped_minute()
    stream = load_motion_stream(seed=seed, weights=weights, paths=paths)
    first = np.empty((FRAMES_PER_MINUTE, paths, NUM_CHANNELS), np.float32)
    sums, squares = np.zeros((minutes, NUM_CHANNELS)), np.zeros((minutes, NUM_CHANNELS))
    total, produced = minutes * FRAMES_PER_MINUTE, 0
    started = time.perf_counter()
    while produced < total:
        for own, other in minute:
            frames = stream.push_paths(own, other)  # (paths, C)
            if frames is None or produced >= total:
                continue
            if produced < FRAMES_PER_MINUTE:
                first[produced] = frames
            as_f64 = frames.astype(np.float64)
            sums[produced // FRAMES_PER_MINUTE] += as_f64.sum(axis=0)
            squares[produced // FRAMES_PER_MINUTE] += (as_f64 * as_f64).sum(axis=0)
            produced += 1
    log.info("long run seed=%d paths=%d minutes=%d wall_s=%.0f", seed, paths, minutes,
             time.perf_counter() - started)  # fmt: skip
    return MinuteStats(first_minute=first.transpose(1, 0, 2).copy(), sums=sums, squares=squares)


def drift(stats: MinuteStats, names: Sequence[str] | None = None) -> dict[str, float | str]:
    """Per-minute mean and spread of each channel, pooled over the paths, against the first minute.

    Mean drift is in units of the first minute's range (1st–99th percentile), spread as a ratio of
    standard deviations; both are judged against TOLERANCE. ``names`` (one per channel) adds the
    channels that leave the band, worst first.
    """
    minutes = stats.sums.shape[0]
    if minutes < 2:
        raise ValueError(f"the long run has {minutes} whole minute(s); at least 2 are needed")
    count = stats.paths * FRAMES_PER_MINUTE
    mean = stats.sums / count  # (minutes, C)
    std = np.sqrt(np.maximum(stats.squares / count - mean**2, 0.0))
    first = stats.first_minute.reshape(-1, stats.first_minute.shape[-1])
    span = np.percentile(first, 99, axis=0) - np.percentile(first, 1, axis=0)
    live = span > LIVE_SPAN
    mean_drift = np.abs(mean[1:] - mean[0])[:, live] / span[live]  # (minutes - 1, C')
    ratio = std[1:, live] / np.maximum(std[0, live], 1e-6)
    result: dict[str, float | str] = {
        "minutes": float(minutes),
        "paths": float(stats.paths),
        "channels": float(live.sum()),
        "mean_drift_worst": float(mean_drift.max()),
        "mean_within_10pct": float((mean_drift <= TOLERANCE).mean()),
        "spread_ratio_min": float(ratio.min()),
        "spread_ratio_max": float(ratio.max()),
        "spread_within_10pct": float((np.abs(ratio - 1) <= TOLERANCE).mean()),
    }
    if names is not None:
        worst = np.maximum(mean_drift / TOLERANCE, np.abs(ratio - 1) / TOLERANCE).max(axis=0)
        live_names = [n for n, ok in zip(names, live, strict=True) if ok]
        out = [f"{live_names[k]} ({worst[k]:.2f})" for k in np.argsort(-worst) if worst[k] > 1.0]
        result["outside_band"] = ", ".join(out) or "none"
    return result


def ensemble_drift(runs: np.ndarray) -> dict[str, float | str]:
    """``drift`` of whole runs, (paths, T, C)."""
    return drift(MinuteStats.from_runs(runs))


def long_run(weights: Path | None, *, minutes: int, paths: int, workers: int) -> dict[str, float | str]:
    """``paths`` sampled paths of every channel over ``minutes``, split over ``workers``
    processes (one torch thread and one batched stream each)."""
    from avatars.motion import CHANNELS

    if minutes < 2 or paths < workers or workers < 1:
        raise ValueError(f"need minutes >= 2, workers >= 1, paths >= workers; got {minutes}, "
                         f"{workers}, {paths}")  # fmt: skip
    shares = [len(part) for part in np.array_split(np.arange(paths), workers)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_paths, weights, minutes, seed, share)
                   for seed, share in enumerate(shares)]  # fmt: skip
        stats = MinuteStats.merge([future.result() for future in futures])
    return drift(stats, CHANNELS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--paths", type=int, default=256, help="sampled paths pooled per minute")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--weights", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    result = long_run(args.weights, minutes=args.minutes, paths=args.paths, workers=args.workers)
    for key, value in result.items():
        print(f"long_{key}: {value:.3f}" if isinstance(value, float) else f"long_{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
