"""Our VideoGenerator against livekit-agents' contract, driven by the real AvatarRunner.

The agent side is livekit's own ``QueueAudioOutput`` (the in-process twin of
``DataStreamAudioOutput``: capture_frame / flush / clear_buffer, playback events back); only the
room is a stand-in, since publishing needs a server.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from energy_fake import EnergyMotionStream
from livekit import rtc
from livekit.agents.voice.avatar import (
    AudioSegmentEnd,
    AvatarOptions,
    AvatarRunner,
    QueueAudioOutput,
)
from realtime_fakes import PaintRenderer, PeakLookaheadStream

from audio.clocks import FPS, FRAME_SECONDS
from service.realtime.engine import RealtimeSession
from service.transports.livekit.runner import PlayedPositionRunner
from service.transports.livekit.video import OUTPUT_SAMPLE_RATE, SessionVideoGenerator

RATE = 24_000


class _Publication:
    async def wait_for_subscription(self) -> None:
        return None


class _LocalParticipant:
    identity = "visavis-avatar"

    async def publish_track(self, track: object, options: object) -> _Publication:
        return _Publication()


class StandInRoom(rtc.EventEmitter):
    """What AvatarRunner needs of a connected room, without a server."""

    local_participant = _LocalParticipant()
    name = "test-room"

    def isconnected(self) -> bool:
        return True


class Harness:
    def __init__(
        self, motion: object | None = None, runner_class: type[AvatarRunner] = PlayedPositionRunner
    ) -> None:
        self.session = RealtimeSession(
            renderer=PaintRenderer(), motion=motion or PeakLookaheadStream(2)
        )
        self.generator = SessionVideoGenerator(session=self.session)
        self.agent_output = QueueAudioOutput(sample_rate=RATE)
        self.runner = runner_class(
            StandInRoom(),
            audio_recv=self.agent_output,
            video_gen=self.generator,
            options=AvatarOptions(32, 32, FPS, OUTPUT_SAMPLE_RATE, 1),
        )
        self.generator.attach(self.runner.av_sync)
        self.pushed: list[tuple[float, rtc.VideoFrame | rtc.AudioFrame]] = []
        self.finished: list = []
        self.started = 0
        self.agent_output.on("playback_finished", self.finished.append)
        self.agent_output.on(
            "playback_started", lambda _: setattr(self, "started", self.started + 1)
        )
        sync = self.runner.av_sync
        forward = sync.push

        async def record(frame, timestamp=None):  # type: ignore[no-untyped-def]
            self.pushed.append((time.monotonic(), frame))
            await forward(frame, timestamp)

        sync.push = record  # type: ignore[method-assign]

    async def __aenter__(self) -> Harness:
        self.session.start()
        await self.runner.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.aclose()
        await self.session.aclose()

    async def say(self, seconds: float, rng: np.random.Generator) -> None:
        """The agent's TTS: 24 kHz 16-bit audio in random chunk sizes, faster than real time."""
        t = np.arange(int(seconds * RATE)) / RATE
        pcm = (0.5 * np.sin(2 * np.pi * 180 * t) * 32767).astype(np.int16)
        pos = 0
        while pos < pcm.size:
            n = int(rng.integers(1, 2400))
            chunk = pcm[pos : pos + n]
            await self.agent_output.capture_frame(
                rtc.AudioFrame(chunk.tobytes(), RATE, 1, chunk.size)
            )
            pos += n
        self.agent_output.flush()

    def audio_seconds(self) -> float:
        return sum(f.duration for _, f in self.pushed if isinstance(f, rtc.AudioFrame))


async def wait_for(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_a_whole_utterance_plays_and_reports_its_length():
    async with Harness() as h:
        await h.say(1.0, np.random.default_rng(1))
        await wait_for(lambda: h.finished, timeout=4)
    event = h.finished[0]
    assert event.interrupted is False
    assert event.playback_position == pytest.approx(1.0, abs=1e-3)
    assert h.audio_seconds() == pytest.approx(1.0, abs=1e-3)
    audio = [f for _, f in h.pushed if isinstance(f, rtc.AudioFrame)]
    assert all(f.sample_rate == OUTPUT_SAMPLE_RATE and f.num_channels == 1 for f in audio)
    assert all(f.duration == pytest.approx(FRAME_SECONDS) for f in audio[:-1])


async def test_clear_buffer_mid_segment_stops_speech_and_reports_the_position():
    async with Harness() as h:
        await h.say(3.0, np.random.default_rng(2))
        await wait_for(lambda: h.audio_seconds() >= 0.6)
        h.agent_output.clear_buffer()  # the agent was interrupted
        await wait_for(lambda: h.finished)
        cleared_at = len(h.pushed)
        await asyncio.sleep(0.4)
    event = h.finished[0]
    assert event.interrupted is True
    assert 0.55 < event.playback_position < 1.2
    assert h.generator.last_interrupt_position is not None
    assert abs(event.playback_position - h.generator.last_interrupt_position) <= 2 * FRAME_SECONDS
    later = h.pushed[cleared_at:]
    assert later and not any(isinstance(f, rtc.AudioFrame) for _, f in later), "speech went on"
    assert len(h.finished) == 1


async def _interrupted_after_a_stall(
    runner_class: type[AvatarRunner],
) -> tuple[float, float, float]:
    """(reported position, audio handed to the track, audio still queued in it) when the agent
    interrupts just after a stalled event loop let frames pile up and reach the track at once."""
    async with Harness(runner_class=runner_class) as h:
        await h.say(3.0, np.random.default_rng(3))
        await wait_for(lambda: h.audio_seconds() >= 0.6)
        before = h.audio_seconds()
        time.sleep(0.15)  # a stall (GC, a busy core): the frames due meanwhile leave together
        await wait_for(lambda: h.audio_seconds() >= before + 0.12, timeout=2)
        source = h.runner._audio_source  # the track's queue, as livekit's runner holds it
        handed, queued = h.audio_seconds(), source.queued_duration
        h.agent_output.clear_buffer()
        await wait_for(lambda: h.finished)
    return h.finished[0].playback_position, handed, queued


async def test_interrupted_position_leaves_out_audio_still_queued_in_the_track():
    position, handed, queued = await _interrupted_after_a_stall(PlayedPositionRunner)
    assert queued > 0.05, f"the stall left only {queued:.3f} s queued: nothing to check"
    assert position == pytest.approx(handed - queued, abs=0.01), (position, handed, queued)
    # livekit's own runner reports the queued audio, never heard, as played
    plain, plain_handed, plain_queued = await _interrupted_after_a_stall(AvatarRunner)
    assert plain_queued > 0.05 and plain > plain_handed - plain_queued + 0.05


async def test_the_runner_adapter_fits_the_installed_livekit_agents():
    """The adapter's one dependence on livekit-agents' private runner state, pinned against the
    installed release: every attribute it reads exists on a real runner."""
    from importlib.metadata import version

    from service.transports.livekit.runner import LIVEKIT_PRIVATES, missing_privates

    async with Harness() as h:
        assert missing_privates(h.runner) == [], version("livekit-agents")
        assert isinstance(h.runner._audio_source.queued_duration, float)
        assert isinstance(h.runner._playback_position, float)
    assert set(LIVEKIT_PRIVATES) >= {"_audio_source", "_playback_position"}


async def test_silence_gives_video_only_at_25_fps():
    async with Harness(EnergyMotionStream(seed=0)) as h:
        await asyncio.sleep(2.0)
        frames = list(h.pushed)
    video = [t for t, f in frames if isinstance(f, rtc.VideoFrame)]
    assert not any(isinstance(f, rtc.AudioFrame) for _, f in frames)
    assert h.started == 0 and not h.finished
    span = video[-1] - video[0]
    fps = (len(video) - 1) / span
    assert abs(fps - FPS) < 1.5, f"idle video at {fps:.1f} fps"


async def test_speech_is_paced_at_25_fps_with_one_audio_frame_per_video_frame():
    async with Harness() as h:
        await h.say(2.0, np.random.default_rng(3))
        await wait_for(lambda: h.finished, timeout=5)
    items = h.pushed
    first_audio = next(i for i, (_, f) in enumerate(items) if isinstance(f, rtc.AudioFrame))
    last_audio = max(i for i, (_, f) in enumerate(items) if isinstance(f, rtc.AudioFrame))
    speaking = items[first_audio - 1 : last_audio + 1]
    video = [t for t, f in speaking if isinstance(f, rtc.VideoFrame)]
    audio = [f for _, f in speaking if isinstance(f, rtc.AudioFrame)]
    assert len(video) == len(audio) == 2 * FPS
    # each audio frame directly follows the video frame it belongs to
    kinds = [type(f) for _, f in speaking]
    assert kinds == [rtc.VideoFrame, rtc.AudioFrame] * (2 * FPS)
    fps = (len(video) - 1) / (video[-1] - video[0])
    assert abs(fps - FPS) < 1.5, f"speech video at {fps:.1f} fps"


async def test_segment_end_passes_through_after_the_last_frame():
    session = RealtimeSession(renderer=PaintRenderer(), motion=PeakLookaheadStream(2))
    generator = SessionVideoGenerator(session=session)
    session.start()
    chunk = (np.ones(RATE // 10) * 8000).astype(np.int16)  # 100 ms
    await generator.push_audio(rtc.AudioFrame(chunk.tobytes(), RATE, 1, chunk.size))
    await generator.push_audio(AudioSegmentEnd())
    out: list[object] = []
    async for item in generator:
        out.append(item)
        if isinstance(item, AudioSegmentEnd):
            break
    await session.aclose()
    audio = [f for f in out if isinstance(f, rtc.AudioFrame)]
    assert sum(f.duration for f in audio) == pytest.approx(0.1, abs=1e-3)
    assert isinstance(out[-2], rtc.AudioFrame) and isinstance(out[-1], AudioSegmentEnd)


async def test_audio_the_session_refuses_is_logged_not_fatal(caplog):
    from service.realtime.options import SessionOptions

    session = RealtimeSession(
        renderer=PaintRenderer(),
        motion=PeakLookaheadStream(0),
        options=SessionOptions(max_queued_seconds=0.5),
    )
    generator = SessionVideoGenerator(session=session)
    second = np.zeros(RATE, np.int16)
    await generator.push_audio(rtc.AudioFrame(second.tobytes(), RATE, 1, RATE))  # too much
    assert "agent audio dropped" in caplog.text and "at most 0.5 s" in caplog.text
    short = np.zeros(RATE // 10, np.int16)
    await generator.push_audio(rtc.AudioFrame(short.tobytes(), RATE, 1, short.size))
    assert session.stats().queued_seconds > 0  # later audio still gets in
    await session.aclose()
