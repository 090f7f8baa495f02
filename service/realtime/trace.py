"""Per-frame timings of a session, for finding where missed frames come from (off by default).

The engine stamps each frame's tick (its deadline and when the loop actually woke), when its
motion came back, when its picture was ready and when it left; a pooled session adds the frame
worker's own stamps (message received, motion stepped, render started and finished). All stamps
are ``time.monotonic()``, one clock for every process on the machine, so a worker's stamps line
up with the parent's.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from service.realtime.frames import WorkerStamps
from service.realtime.inflight import InFlight


@dataclass
class FrameTiming:
    index: int  # the session's frame index
    deadline: float  # when its tick was due
    woke: float  # when the clock task ran
    motion_at: float  # its motion was back in this process
    video_at: float | None  # its picture was back (None: it went out with the previous one)
    sent_at: float  # it left (handed to the consumer)
    late: bool
    fresh: bool
    worker_received: float | None = None  # a frame worker's stamps (pooled sessions only)
    worker_motion_done: float | None = None
    worker_render_start: float | None = None
    worker_render_done: float | None = None


class TimingLog:
    """The latest ``capacity`` frames' timings of one session."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.frames: deque[FrameTiming] = deque(maxlen=capacity)

    def add(
        self,
        index: int,
        flight: InFlight,
        motion_at: float,
        video_at: float | None,
        late: bool,
        fresh: bool,
        stamps: WorkerStamps,
    ) -> None:
        """Record frame ``index`` as it leaves now (``stamps``: its backend's, or Nones)."""
        received, motion_done, render_start, render_done = stamps
        self.frames.append(
            FrameTiming(
                index=index, deadline=flight.deadline, woke=flight.woke, motion_at=motion_at,
                video_at=video_at, sent_at=time.monotonic(), late=late, fresh=fresh,
                worker_received=received, worker_motion_done=motion_done,
                worker_render_start=render_start, worker_render_done=render_done,
            )
        )


def summarize(timings: list[FrameTiming], period: float) -> dict[str, float]:
    """Where the time of the frames went (ms percentiles), and how bunched the misses are.

    ``bunched_misses``: the fraction of missed frames within one period of another session's or
    the same session's missed frame (near 1: they come in bursts, i.e. stalls of the machine or
    of a process; near 0: scattered)."""

    def ms(values: list[float]) -> tuple[float, float, float]:
        if not values:
            return (float("nan"),) * 3
        arr = np.asarray(values) * 1000.0
        return float(np.percentile(arr, 50)), float(np.percentile(arr, 99)), float(arr.max())

    stages: dict[str, list[float]] = {
        "wake_delay": [t.woke - t.deadline for t in timings],
        "tick_to_motion": [t.motion_at - t.woke for t in timings],
        "tick_to_video": [t.video_at - t.deadline for t in timings if t.video_at is not None],
        "tick_to_sent": [t.sent_at - t.deadline for t in timings],
        "pipe_to_worker": [
            t.worker_received - t.woke for t in timings if t.worker_received is not None
        ],
        "worker_queue": [
            t.worker_render_start - t.worker_motion_done
            for t in timings
            if t.worker_render_start is not None and t.worker_motion_done is not None
        ],
        "render": [
            t.worker_render_done - t.worker_render_start
            for t in timings
            if t.worker_render_done is not None and t.worker_render_start is not None
        ],
        "video_back": [
            t.video_at - t.worker_render_done
            for t in timings
            if t.video_at is not None and t.worker_render_done is not None
        ],
    }
    out: dict[str, float] = {}
    for name, values in stages.items():
        p50, p99, worst = ms(values)
        out[f"{name}_ms_p50"], out[f"{name}_ms_p99"], out[f"{name}_ms_max"] = p50, p99, worst
    missed = sorted(t.deadline for t in timings if t.late or not t.fresh)
    out["missed"] = float(len(missed))
    if len(missed) > 1:
        close = np.diff(np.asarray(missed)) <= period * (1 + 1e-6)  # (float sums of periods)
        near = np.zeros(len(missed), bool)
        near[1:] |= close
        near[:-1] |= close
        out["bunched_misses"] = float(near.mean())
    else:
        out["bunched_misses"] = float("nan")
    return out
