"""What happens as a session's frames leave: the playback position of the utterance playing, the
speech latency, the conversation state, and the events that report them (``playback_started``,
``playback_finished``, ``state``)."""

from __future__ import annotations

import time
from collections import deque

from audio.clocks import SAMPLE_RATE
from service.realtime import metrics
from service.realtime.events import EventHub, SessionEvent
from service.realtime.frames import OutputFrame


class Departures:
    def __init__(self, events: EventHub, *, latency_window: int) -> None:
        self._events = events
        self.playing_segment = 0  # id of the segment whose frames are leaving now
        self.played_samples = 0
        self.latencies: deque[float] = deque(maxlen=latency_window)
        """Arrival -> leaving latency (ms) of the latest speech frames."""
        self.state = "idle"

    def depart(self, frame: OutputFrame) -> None:
        """Bookkeeping for a frame that leaves: playback position, latency, events, state."""
        if frame.speech:
            if frame.segment != self.playing_segment:
                self.playing_segment = frame.segment
                self.played_samples = 0
                self._events.publish(SessionEvent("playback_started", {"segment": frame.segment}))
            self.played_samples += frame.n_valid
            if frame.arrived_at is not None:
                latency = time.monotonic() - frame.arrived_at
                self.latencies.append(latency * 1000.0)
                metrics.SPEECH_LATENCY.observe(latency)
        if frame.segment_end:
            self.finish_playback(interrupted=False)
        if frame.state != self.state:
            self.state = frame.state
            self._events.publish(SessionEvent("state", {"state": frame.state}))

    @property
    def position(self) -> float:
        """Seconds of the playing utterance that have left."""
        return self.played_samples / SAMPLE_RATE

    def finish_playback(self, *, interrupted: bool, position: float | None = None) -> None:
        played = self.position if position is None else position
        self._events.publish(
            SessionEvent(
                "playback_finished",
                {
                    "position": round(played, 3),
                    "interrupted": interrupted,
                    "segment": self.playing_segment,
                },
            )
        )
        self.played_samples = 0
        self.playing_segment = 0
