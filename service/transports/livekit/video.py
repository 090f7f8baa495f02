"""Our ``VideoGenerator`` for livekit-agents' ``AvatarRunner``, on the session engine.

``AvatarRunner`` pushes the agent's audio (any frame size, ``AudioSegmentEnd`` between
utterances) and iterates us for output. We yield, per 40 ms frame, the video frame and — while
speech plays — the audio of that same frame, then ``AudioSegmentEnd`` after the last frame of an
utterance (that audio is the agent's own at full quality, see playback.py; the face is animated
from the session's 16 kHz copy). In silence we yield video only: the runner counts every audio frame it forwards into
the playback position it reports to the agent, so filler silence must not be counted as speech.
The session's frame clock does the pacing; the runner's ``AVSynchronizer`` only passes frames on.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from livekit import rtc
from livekit.agents.voice.avatar import AudioSegmentEnd, VideoGenerator

from service.realtime.protocol import SessionProtocol
from service.transports.livekit.convert import pcm_from_audio_frame, video_frame_from_rgb
from service.transports.livekit.playback import PLAYBACK_RATE, PlaybackAudio

log = logging.getLogger(__name__)

OUTPUT_SAMPLE_RATE = PLAYBACK_RATE
"""Rate of the published audio track (the agent's audio at full quality, see playback.py)."""


class SessionVideoGenerator(VideoGenerator):
    def __init__(self, *, session: SessionProtocol) -> None:
        self._session = session
        self._playback = PlaybackAudio()
        self._sync: rtc.AVSynchronizer | None = None
        self.last_interrupt_position: float | None = None
        """Playback position (s) the session reported at the last ``clear_buffer``."""
        self.handed_seconds = 0.0
        """Audio of the current utterance handed to the runner so far (counted as it is
        yielded, so a frame the runner is still pushing to the track is included)."""

    @property
    def session(self) -> SessionProtocol:
        return self._session

    async def push_audio(self, frame: rtc.AudioFrame | AudioSegmentEnd) -> None:
        if isinstance(frame, AudioSegmentEnd):
            self._session.end_segment()
            self._playback.end_segment()
            return
        pcm = pcm_from_audio_frame(frame)  # (N, C) int16
        try:
            self._session.push_audio(pcm, frame.sample_rate, frame.num_channels)
        except ValueError as exc:
            # one bad chunk (or a full queue) must not end the avatar's audio task
            log.error("agent audio dropped samples=%d reason=%s", pcm.shape[0], exc)
            return
        self._playback.push(pcm, frame.sample_rate, segment=self._session.segment_id)

    def attach(self, sync: rtc.AVSynchronizer) -> None:
        """The runner's synchronizer, whose queue an interruption empties too."""
        self._sync = sync

    async def clear_buffer(self) -> None:
        self.last_interrupt_position = self._session.interrupt()
        self._playback.clear()
        self.handed_seconds = 0.0
        if self._sync is not None:
            # up to ~100 ms of speech already handed to the track: drop it as well
            await self._sync.clear_queue()
        log.info("avatar buffer cleared position_s=%.3f", self.last_interrupt_position)

    def __aiter__(self) -> AsyncIterator[rtc.VideoFrame | rtc.AudioFrame | AudioSegmentEnd]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[rtc.VideoFrame | rtc.AudioFrame | AudioSegmentEnd]:
        async for out in self._session.frames():
            yield video_frame_from_rgb(out.video)
            if out.speech:
                pcm = self._playback.take(
                    segment=out.segment,
                    offset=out.offset,
                    n_valid=out.n_valid,
                    last=out.segment_end,
                )  # (m,) int16
                if pcm.size:
                    self.handed_seconds += pcm.size / OUTPUT_SAMPLE_RATE
                    yield rtc.AudioFrame(pcm.tobytes(), OUTPUT_SAMPLE_RATE, 1, pcm.size)
            if out.segment_end:
                self.handed_seconds = 0.0
                yield AudioSegmentEnd()
