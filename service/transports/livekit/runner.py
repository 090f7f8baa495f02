"""``AvatarRunner`` reporting the playback position of audio that was played, not merely handed on.

livekit-agents' runner adds each audio frame to its position as it passes the frame to the
track's ``AudioSource``, whose queue holds up to ``queue_size_ms`` (100 ms) not yet played; after
a stall (a busy core, a GC pause) the frames due meanwhile arrive together and fill it. An
interruption empties that queue, so those frames are never heard, yet the runner reported them
in ``lk.playback_finished`` and the agent's transcript was cut too late. Here the position at an
interruption is the audio handed to the track less what was still queued in it.

This is the one place that touches livekit-agents' private attributes (``LIVEKIT_PRIVATES``);
the runner checks they exist when it is built, so a livekit-agents release that renames them
fails at the start of a job with a message saying so, not with a wrong position later, and
``tests/livekit`` pins them against the installed version.
"""

from __future__ import annotations

import logging

from livekit import rtc
from livekit.agents.voice.avatar import AudioReceiver, AvatarOptions, AvatarRunner

from service.transports.livekit.video import SessionVideoGenerator

log = logging.getLogger(__name__)

LIVEKIT_PRIVATES = ("_audio_playing", "_audio_source", "_playback_position", "_on_clear_buffer")
"""Attributes of livekit-agents' ``AvatarRunner`` (1.x) this adapter relies on."""


def missing_privates(runner: AvatarRunner) -> list[str]:
    """The ``LIVEKIT_PRIVATES`` the installed livekit-agents' runner does not have."""
    return [name for name in LIVEKIT_PRIVATES if not hasattr(runner, name)]


class PlayedPositionRunner(AvatarRunner):
    """``AvatarRunner`` whose interrupted position leaves out the audio still queued unplayed."""

    def __init__(
        self,
        room: rtc.Room,
        *,
        audio_recv: AudioReceiver,
        video_gen: SessionVideoGenerator,
        options: AvatarOptions,
    ) -> None:
        super().__init__(room, audio_recv=audio_recv, video_gen=video_gen, options=options)
        self._session_video = video_gen
        missing = missing_privates(self)
        if missing:
            from importlib.metadata import version

            raise RuntimeError(
                f"livekit-agents {version('livekit-agents')}: AvatarRunner lacks {missing}; "
                "service/transports/livekit/runner.py needs updating for this release"
            )

    def _on_clear_buffer(self) -> None:
        # livekit-agents' private state (LIVEKIT_PRIVATES), checked when the runner was built
        if self._audio_playing:
            queued = float(self._audio_source.queued_duration)
            handed = self._session_video.handed_seconds
            self._playback_position = max(0.0, handed - queued)
            log.info("interrupted playback handed_s=%.3f unplayed_s=%.3f", handed, queued)
        super()._on_clear_buffer()
