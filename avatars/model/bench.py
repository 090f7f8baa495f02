"""World-model speed and memory: per-frame ms on one thread, and per-minute ms/frame and RSS over
a long alternating conversation (``--minutes 60`` for the full soak).

    python -m avatars.model.bench [--minutes 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

from audio.clocks import FPS
from avatars.model.conversation import alternating_frames
from avatars.model.stream import WorldModelStream, load_motion_stream


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _stream() -> WorldModelStream:
    return load_motion_stream(seed=0)


def run(minutes: float = 3.0) -> dict[str, float]:
    torch.set_num_threads(1)
    stream = _stream()
    frames_per_minute = 60 * FPS
    per_minute_ms: list[float] = []
    per_minute_rss: list[float] = []
    step_ms: list[float] = []
    elapsed = 0.0
    for k, (own, other) in enumerate(alternating_frames(minutes)):
        started = time.perf_counter()
        stream.push(own, other)
        took = time.perf_counter() - started
        elapsed += took
        if k >= FPS:  # the first second warms caches up
            step_ms.append(took * 1000)
        if (k + 1) % frames_per_minute == 0:
            per_minute_ms.append(elapsed * 1000 / frames_per_minute)
            per_minute_rss.append(rss_mb())
            print(f"model minute {len(per_minute_ms):3d}: {per_minute_ms[-1]:.2f} ms/frame, "
                  f"RSS {per_minute_rss[-1]:.0f} MB", flush=True)  # fmt: skip
            elapsed = 0.0
    steps = np.array(step_ms)
    result = {
        "model_ms_per_frame_median": float(np.median(steps)),
        "model_ms_per_frame_p95": float(np.percentile(steps, 95)),
        "model_ms_per_frame_first_minute": per_minute_ms[0],
        "model_ms_per_frame_last_minute": per_minute_ms[-1],
        "model_rss_mb_first_minute": per_minute_rss[0],
        "model_rss_mb_last_minute": per_minute_rss[-1],
        "model_kv_cache_kb": stream._cache.nbytes() / 1024,
        "minutes": float(minutes),
    }
    print(f"model: median {result['model_ms_per_frame_median']:.2f} ms/frame "
          f"(p95 {result['model_ms_per_frame_p95']:.2f}) on one thread; RSS "
          f"{result['model_rss_mb_first_minute']:.0f} → {result['model_rss_mb_last_minute']:.0f} MB "
          f"over {minutes:g} min")  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args(argv)
    run(args.minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
