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
LIVEKIT_WORKERS = Gauge(
    "visavis_livekit_workers", "Avatar workers in LiveKit rooms", multiprocess_mode="livesum"
)
AVATAR_JOBS = Counter("visavis_livekit_jobs_total", "Avatar jobs a LiveKit server dispatched here")
