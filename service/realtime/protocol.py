"""The public protocol of a real-time session: what every transport (``service.transports``:
the WebSocket, LiveKit, the browser's WebRTC) may use, and all it may use.

``engine.RealtimeSession`` implements it; ``factory.SessionFactory`` builds one. A transport
feeds the avatar's speech and what it hears, asks for gestures and interruptions, and takes the
frames that leave (picture and audio together, 25 per second) and the events; it never reaches
into the engine's clock, queues or frame backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from service.realtime.events import EventHub
from service.realtime.frames import OutputFrame, SessionStats
from service.realtime.ingest import PcmChunk


@runtime_checkable
class SessionProtocol(Protocol):
    """A live avatar: audio in, frames out at 25 fps until ``aclose()``."""

    events: EventHub
    """Subscribe for ``state``, ``playback_started``, ``playback_finished``,
    ``missed_frames`` events (``SessionEvent``); the subscriptions end when the session closes."""

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the frame clock (idempotent; needs the running event loop). Frames flow from
        now on, whether or not anyone takes them (a slow consumer loses the oldest)."""
        ...

    async def aclose(self) -> None:
        """Stop the clock and release the session's frame backend; idempotent."""
        ...

    @property
    def closed(self) -> bool:
        """True once ``aclose()`` began; a closed session refuses input
        (``options.SessionClosedError``)."""
        ...

    @property
    def video_size(self) -> tuple[int, int] | None:
        """(width, height) of its pictures, when known before the first frame."""
        ...

    # ---- input ------------------------------------------------------------------------------

    def push_audio(self, chunk: PcmChunk, sample_rate: int, channels: int = 1) -> None:
        """Queue speech for the avatar to say: int16 PCM bytes or a float32 / int16 array, any
        chunk size, rate and channel count. ValueError for a bad chunk or a full queue."""
        ...

    @property
    def segment_id(self) -> int:
        """Id of the utterance being received (or the last one); output frames carry it."""
        ...

    def end_segment(self) -> None:
        """The current utterance is complete: its last partial frame plays (padded) and a
        ``playback_finished`` event follows its last frame."""
        ...

    def push_partner_audio(
        self, chunk: PcmChunk, sample_rate: int, channels: int = 1, *, source: str = "partner"
    ) -> None:
        """What the avatar hears from one ``source`` (a participant), in real time; sources are
        mixed, and stale audio is dropped so listening stays current."""
        ...

    def remove_partner(self, source: str) -> None:
        """Forget a partner source (the participant left)."""
        ...

    def trigger(self, gesture: str) -> None:
        """Request a gesture (``avatars.vocabulary.GESTURES``) on the next frame."""
        ...

    def interrupt(self) -> float:
        """Drop all queued speech at once; returns how many seconds of the interrupted
        utterance had been played (its ``playback_finished`` says the same)."""
        ...

    # ---- output -----------------------------------------------------------------------------

    def frames(self) -> AsyncIterator[OutputFrame]:
        """The frames as they leave, 25 per second, each picture with its own 40 ms of audio,
        until the session closes (one consumer at a time)."""
        ...

    def stats(self) -> SessionStats:
        """Counters and the current conversation state."""
        ...
