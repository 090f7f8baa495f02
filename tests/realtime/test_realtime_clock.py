"""The frame clock's deadlines: fixed rate, no drift, and an optional phase in the period."""

from __future__ import annotations

import pytest

from audio.clocks import FPS
from service.realtime.clock import FrameClock

PERIOD = 1.0 / FPS


class FakeTime:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_deadlines_follow_the_frame_index_without_drift():
    now = FakeTime(100.013)
    clock = FrameClock(fps=FPS, now=now)
    first = clock.deadline()
    assert first == pytest.approx(100.013)  # no phase: it starts when first asked
    for _ in range(1000):
        now.t = clock.deadline() + 0.003  # every tick a little late, never enough to miss
        deadline = clock.deadline()
        clock.advance()
        assert not clock.sent(deadline)
    assert clock.deadline() == pytest.approx(first + 1000 * PERIOD)
    assert clock.missed == 0


def test_a_phased_clock_ticks_at_its_offset_in_the_period():
    now = FakeTime(100.013)
    clock = FrameClock(fps=FPS, phase=0.010, now=now)
    first = clock.deadline()
    assert first >= 100.013 and first - 100.013 < PERIOD, "it waits at most one period"
    for _ in range(5):
        assert clock.deadline() % PERIOD == pytest.approx(0.010, abs=1e-6)
        now.t = clock.deadline() + 0.001
        clock.advance()


def test_a_phased_clock_keeps_its_phase_when_it_restarts_after_a_stall():
    now = FakeTime(50.0)
    clock = FrameClock(fps=FPS, phase=0.025, max_behind_frames=2, now=now)
    clock.deadline()
    now.t += 1.0  # the machine stalled for a second
    clock.advance()
    assert clock.restarts == 1
    assert clock.deadline() >= now.t
    assert clock.deadline() % PERIOD == pytest.approx(0.025, abs=1e-6)


def test_a_frame_is_late_after_one_period_and_the_slack():
    clock = FrameClock(fps=FPS, slack=0.020, now=FakeTime(0.0))
    assert not clock.sent(10.0, 10.0 + PERIOD + 0.019)
    assert clock.sent(10.0, 10.0 + PERIOD + 0.021)
    assert clock.missed == 1


@pytest.mark.parametrize("phase", [-0.001, PERIOD, 1.0])
def test_a_phase_outside_the_period_is_refused(phase: float):
    with pytest.raises(ValueError, match="phase must be in"):
        FrameClock(fps=FPS, phase=phase)
