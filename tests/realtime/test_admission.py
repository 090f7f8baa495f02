"""Admission control on its own: the cap, and no new session while the live ones miss frames."""

from __future__ import annotations

import os

import pytest

from service.realtime.admission import Admission, CapacityError
from service.realtime.frames import SessionStats


def _stats(frames: int, missed: int) -> SessionStats:
    return SessionStats(
        frames=frames, missed_deadlines=0, clock_restarts=0, dropped_frames=0, stale_frames=0,
        missed_frames=missed, queued_seconds=0.0, latency_ms_p50=None, latency_ms_p95=None,
        state="idle",
    )  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_cap_refuses_the_session_past_it():
    admission = Admission(max_sessions=2)
    admission.check(0)
    admission.check(1)
    with pytest.raises(CapacityError, match=r"2 sessions are live.*MAX_SESSIONS=2") as refused:
        admission.check(2)
    assert refused.value.retry_after_s == 30 and refused.value.reason == "full"


def test_no_new_session_while_the_live_ones_miss_frames():
    clock = Clock()
    admission = Admission(max_sessions=8, missed_limit=0.05, window_s=5.0, now=clock)
    live = [_stats(0, 0), _stats(0, 0)]
    admission.observe(live)
    for second in range(1, 6):  # 2 sessions x 25 fps, 2 of 50 frames missed each second: 4%
        clock.t += 1.0
        admission.observe([_stats(25 * second, second), _stats(25 * second, second)])
    assert admission.missed_lately() == pytest.approx(0.04)
    admission.check(2)
    for second in range(6, 12):  # now 10 of 50 a second: 20%
        clock.t += 1.0
        admission.observe([_stats(25 * second, 5 * second), _stats(25 * second, 5 * second)])
    with pytest.raises(CapacityError, match=r"missed 20% of their frames") as refused:
        admission.check(2)
    assert refused.value.retry_after_s == 10 and refused.value.reason == "behind"
    admission.check(0), "with nothing live there is nothing to protect"


def test_a_session_that_leaves_does_not_look_like_negative_misses():
    clock = Clock()
    admission = Admission(max_sessions=8, now=clock)
    admission.observe([_stats(100, 50), _stats(100, 0)])
    admission.retire(_stats(100, 50))  # the one that missed leaves
    clock.t += 1.0
    admission.observe([_stats(125, 0)])
    assert admission.missed_lately() == 0.0


def test_its_options_are_checked():
    with pytest.raises(ValueError, match="max_sessions must be an integer >= 1, got 0"):
        Admission(max_sessions=0)
    with pytest.raises(ValueError, match=r"missed_limit must be in \(0, 1\], got 2"):
        Admission(max_sessions=1, missed_limit=2)


def test_one_key_gets_half_the_servers_places_unless_told(tmp_path):
    """The per-key live quota (api) follows the admitted capacity (sessions): with 2 per core on
    2 cores, a fixed 4 per key would let one key take every place again."""
    from service.settings import SESSIONS_PER_CORE, Settings

    assert Settings(data_dir=tmp_path, max_sessions=4).sessions_per_key == 2
    assert Settings(data_dir=tmp_path, max_sessions=1).sessions_per_key == 1
    assert Settings(data_dir=tmp_path, max_sessions=4,
                    max_live_sessions_per_key=3).sessions_per_key == 3  # fmt: skip
    default = Settings(data_dir=tmp_path)
    assert default.sessions_capacity == SESSIONS_PER_CORE * (os.cpu_count() or 1)
    assert default.sessions_per_key == max(1, default.sessions_capacity // 2)
