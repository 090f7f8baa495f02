"""Prometheus metrics of the real-time engine and the LiveKit workers (served at ``/metrics``
from the default registry; a ``visavis worker`` gathers them from its job processes through
prometheus_client's multiprocess mode, hence the gauges' ``livesum``: the sum over live
processes)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LIVE_SESSIONS = Gauge(
    "visavis_realtime_sessions", "Session engines running (frame clocks)",
    multiprocess_mode="livesum",
)  # fmt: skip
FRAMES = Counter("visavis_realtime_frames_total", "Frames sent by session engines")
MISSED_FRAMES = Counter(
    "visavis_realtime_missed_frames_total",
    "Frames that left after their deadline or with the previous picture",
)
SPEECH_LATENCY = Histogram(
    "visavis_realtime_speech_latency_seconds",
    "Time from a frame of speech arriving to that frame leaving (queueing included)",
    buckets=(0.04, 0.08, 0.12, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 15.0),
)
SESSION_FAILURES = Counter(
    "visavis_realtime_session_failures_total",
    "Sessions whose frame loop failed, by cause (service.realtime.failure.CAUSES)",
    ["cause"],
)
VIEWERS_DROPPED = Counter(
    "visavis_realtime_viewers_dropped_total",
    "WebSocket viewers closed (4408) because they read no frame for VIEWER_STALL_S",
)
SESSIONS_REFUSED = Counter(
    "visavis_realtime_sessions_refused_total",
    "New sessions refused by admission control (503), by reason: full (the cap) or behind "
    "(the live sessions miss frames)",
    ["reason"],
)
LIVEKIT_WORKERS = Gauge(
    "visavis_livekit_workers", "Avatar workers in LiveKit rooms", multiprocess_mode="livesum"
)
AVATAR_JOBS = Counter("visavis_livekit_jobs_total", "Avatar jobs a LiveKit server dispatched here")
