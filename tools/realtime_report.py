"""Helpers of the real-time bench (``tools.realtime_bench``): its test speech, CPU accounting
and the lines it prints per load level."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from audio.clocks import FPS
from service.realtime.pool import FramePool
from service.realtime.trace import FrameTiming, summarize

INPUT_RATE = 24_000
"""The rate of the test speech (a TTS's or LiveKit's; the sessions resample it on entry)."""


def speech(seconds: float, seed: int) -> np.ndarray:
    """Speech-like test signal: syllable-rate bursts of a voiced tone, int16 at INPUT_RATE."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * INPUT_RATE)) / INPUT_RATE
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6)), 0, None) ** 0.5
    voiced = np.sin(2 * np.pi * 140 * t) + 0.4 * np.sin(2 * np.pi * 280 * t)
    noise = rng.standard_normal(t.size) * 0.02
    return (np.clip(0.35 * envelope * voiced + noise, -1, 1) * 32767).astype(np.int16)


def cpu_seconds(pids: list[int]) -> tuple[float, float] | None:
    """User + system CPU seconds so far of (this process, ``pids``) (Linux /proc), else None."""
    workers = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        workers += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return time.process_time(), workers


def print_level(n: int, level: dict[str, float], pool: FramePool | None) -> None:
    where = f"{pool.size} worker processes" if pool is not None else "threads in one process"
    print(
        f"realtime {n} sessions on {where}: {level['fps_per_session']:.1f} fps "
        f"each, missed {100 * level['missed_fraction']:.2f}% (late "
        f"{level['late_frames']:.0f}, stale {level['stale_frames']:.0f}), latency p50 "
        f"{level['latency_ms_p50']:.0f} p95 {level['latency_ms_p95']:.0f} ms; CPU "
        f"{level['cpu_ms_per_session_frame']:.1f} ms per session-frame (this process "
        f"{level['main_cpu_ms_per_session_frame']:.1f}) "
        f"({level['cpu_cores']:.2f} cores busy), load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def print_trace(sessions: int, timings: list[FrameTiming]) -> None:
    """Where each frame's time went, at this load level (off with ``--no-trace``)."""
    summary = summarize(timings, 1.0 / FPS)
    stages = sorted({key.rsplit("_ms_", 1)[0] for key in summary if "_ms_" in key})
    parts = [
        f"{name} {summary[name + '_ms_p50']:.1f}/{summary[name + '_ms_p99']:.1f}/"
        f"{summary[name + '_ms_max']:.0f}"
        for name in stages
    ]
    print(
        f"realtime trace, {sessions} session(s), ms p50/p99/max: "
        + ", ".join(parts)
        + f"; {summary['missed']:.0f} missed, {100 * summary['bunched_misses']:.0f}% of them "
        "within a frame of another",
        flush=True,
    )
