"""The bench's reading of per-frame timings: where a frame's time went, and whether its misses
came in bursts (a stalled machine) or one by one (a slow pipeline)."""

from __future__ import annotations

import math

import pytest

from service.realtime.trace import FrameTiming, TimingLog, summarize

PERIOD = 0.04


def _frame(k: int, *, render_ms: float, missed: bool = False) -> FrameTiming:
    deadline = 100.0 + k * PERIOD
    received = deadline + 0.001
    motion_done = received + 0.003
    render_done = motion_done + render_ms / 1000
    return FrameTiming(
        index=k,
        deadline=deadline,
        woke=deadline + 0.0005,
        motion_at=motion_done + 0.0005,
        video_at=None if missed else render_done + 0.0005,
        sent_at=render_done + 0.001,
        late=False,
        fresh=not missed,
        worker_received=received,
        worker_motion_done=motion_done,
        worker_render_start=motion_done,
        worker_render_done=render_done,
    )


def test_stage_times_come_from_the_stamps():
    summary = summarize([_frame(k, render_ms=6.0) for k in range(50)], PERIOD)
    assert summary["render_ms_p50"] == pytest.approx(6.0)
    assert summary["wake_delay_ms_max"] == pytest.approx(0.5)
    assert summary["tick_to_video_ms_p50"] == pytest.approx(1 + 3 + 6 + 0.5)
    assert summary["missed"] == 0 and math.isnan(summary["bunched_misses"])


def test_misses_in_a_burst_read_as_bunched_and_scattered_ones_do_not():
    burst = [_frame(k, render_ms=6.0, missed=20 <= k < 25) for k in range(100)]
    assert summarize(burst, PERIOD)["bunched_misses"] == 1.0
    scattered = [_frame(k, render_ms=6.0, missed=k % 10 == 0) for k in range(100)]
    summary = summarize(scattered, PERIOD)
    assert summary["missed"] == 10 and summary["bunched_misses"] == 0.0


def test_a_timing_log_keeps_the_latest_frames():
    log = TimingLog(capacity=3)
    for k in range(5):
        log.frames.append(_frame(k, render_ms=1.0))
    assert [t.index for t in log.frames] == [2, 3, 4]
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        TimingLog(0)
