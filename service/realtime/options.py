"""Options and errors of a real-time session."""

from __future__ import annotations

from dataclasses import dataclass

from audio.clocks import FPS


class SessionClosedError(RuntimeError):
    """The session was closed; it takes no more audio."""


class SpeechQueueFullError(ValueError):
    """More speech was pushed than a session may hold queued."""


@dataclass(frozen=True)
class SessionOptions:
    max_queued_seconds: float = 300.0
    """Speech a session may hold waiting to be spoken; more is refused (back-pressure)."""
    output_queue_frames: int = 3
    """Frames waiting for a slow consumer; beyond this the oldest is dropped (counted)."""
    max_partner_frames: int = 3
    """Partner audio frames kept waiting; older ones are dropped so listening stays current."""
    max_behind_frames: int = FPS
    """Frames the clock may fall behind before it restarts from now instead of catching up
    (catching up is cheap: a frame whose render is not ready goes out with the last picture)."""
    frame_slack_ms: float = 20.0
    """How long past the next frame's tick a frame may still wait for its own picture. Frames
    normally leave ~10 ms after their tick; this only holds back the rare slow one (which
    would otherwise go out with the previous picture), and its audio with it: speech latency
    is 80 ms of lookahead + up to 40 ms to the next tick + the render, so 20 ms keeps it
    within 150 ms."""
    latency_window: int = 5000
    """Latest speech frames whose arrival→leave latency is kept for statistics."""
    stall_timeout_s: float = 10.0
    """A session whose loop emits no frame for this long fails (``failure.py``): a stalled
    loop is never left looking open. Far above any stall a busy machine causes (a frame late by
    a second is already a disaster) and short enough that a user is told soon."""

    def __post_init__(self) -> None:
        if not 0 < self.max_queued_seconds <= 3600:
            raise ValueError(
                f"max_queued_seconds must be in (0, 3600], got {self.max_queued_seconds}"
            )
        for name in (
            "output_queue_frames",
            "max_partner_frames",
            "max_behind_frames",
            "latency_window",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not 0.5 <= self.stall_timeout_s <= 600.0:
            raise ValueError(f"stall_timeout_s must be in [0.5, 600], got {self.stall_timeout_s}")
        if not 0.0 <= self.frame_slack_ms <= 1000.0 / FPS:
            raise ValueError(
                f"frame_slack_ms must be in [0, {1000.0 / FPS:g}], got {self.frame_slack_ms}"
            )
