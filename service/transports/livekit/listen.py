"""The avatar listens: every other participant's microphone becomes a partner source of the
session (mixed there), so it reacts to whoever speaks. Only microphone audio is subscribed."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from livekit import rtc

from audio.clocks import SAMPLE_RATE
from service.realtime.protocol import SessionProtocol
from service.transports.livekit.convert import pcm_from_audio_frame
from service.transports.livekit.tokens import ATTRIBUTE_PUBLISH_ON_BEHALF

log = logging.getLogger(__name__)

PARTNER_FRAME_MS = 20


class PartnerListener:
    def __init__(self, *, room: rtc.Room, session: SessionProtocol, ignore: set[str]) -> None:
        self._room = room
        self._session = session
        self._ignore = set(ignore)
        self._tasks: dict[str, asyncio.Task[None]] = {}  # track sid -> reader task

    def _wanted(self, participant: rtc.RemoteParticipant, publication: Any) -> bool:
        return (
            participant.identity not in self._ignore
            and ATTRIBUTE_PUBLISH_ON_BEHALF not in participant.attributes  # another avatar
            and publication.source == rtc.TrackSource.SOURCE_MICROPHONE
        )

    def start(self) -> None:
        self._room.on("track_published", self._on_published)
        self._room.on("track_subscribed", self._on_subscribed)
        self._room.on("track_unsubscribed", self._on_unsubscribed)
        self._room.on("participant_disconnected", self._on_left)
        for participant in self._room.remote_participants.values():
            for publication in participant.track_publications.values():
                self._on_published(publication, participant)
                if publication.track is not None:
                    self._on_subscribed(publication.track, publication, participant)

    def _on_published(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if self._wanted(participant, publication) and not publication.subscribed:
            publication.set_subscribed(True)

    def _on_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO or not self._wanted(participant, publication):
            return
        if publication.sid in self._tasks:
            return
        task = asyncio.create_task(
            self._read(track, participant.identity), name=f"partner-{publication.sid}"
        )
        self._tasks[publication.sid] = task
        task.add_done_callback(functools.partial(self._done, publication.sid))
        log.info("listening to partner track=%s", publication.sid)

    def _on_unsubscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        task = self._tasks.pop(publication.sid, None)
        if task is not None:
            task.cancel()

    def _on_left(self, participant: rtc.RemoteParticipant) -> None:
        self._session.remove_partner(participant.identity)

    def _done(self, sid: str, task: asyncio.Task[None]) -> None:
        self._tasks.pop(sid, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("partner audio reader failed track=%s", sid, exc_info=task.exception())

    async def _read(self, track: rtc.Track, source: str) -> None:
        stream = rtc.AudioStream.from_track(
            track=track, sample_rate=SAMPLE_RATE, num_channels=1, frame_size_ms=PARTNER_FRAME_MS
        )
        try:
            async for event in stream:
                if self._session.closed:
                    return
                self._session.push_partner_audio(
                    pcm_from_audio_frame(event.frame), SAMPLE_RATE, 1, source=source
                )
        finally:
            await stream.aclose()

    async def aclose(self) -> None:
        self._room.off("track_published", self._on_published)
        self._room.off("track_subscribed", self._on_subscribed)
        self._room.off("track_unsubscribed", self._on_unsubscribed)
        self._room.off("participant_disconnected", self._on_left)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
