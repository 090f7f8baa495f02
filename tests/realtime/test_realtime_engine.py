"""The session engine on its real frame clock: pacing, sync, interruption, listening, errors."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from energy_fake import EnergyMotionStream
from realtime_fakes import PaintRenderer, PeakLookaheadStream

from audio.clocks import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from service.realtime.engine import OutputFrame, RealtimeSession
from service.realtime.failure import SessionFailedError, SessionFailure
from service.realtime.ingest import AudioFormatError
from service.realtime.options import SessionClosedError, SessionOptions, SpeechQueueFullError


async def collect(session: RealtimeSession, n: int) -> list[OutputFrame]:
    frames: list[OutputFrame] = []
    async for frame in session.frames():
        frames.append(frame)
        if len(frames) == n:
            break
    return frames


def tone(seconds: float, rate: int, amplitude: float = 0.5, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


async def test_idle_session_keeps_emitting_paced_silent_frames(paint_renderer: PaintRenderer):
    session = RealtimeSession(renderer=paint_renderer, motion=EnergyMotionStream(seed=1))
    session.start()
    started = time.monotonic()
    frames = await collect(session, 2 * FPS)
    elapsed = time.monotonic() - started
    await session.aclose()
    assert 1.8 < elapsed < 2.3, f"50 frames took {elapsed:.2f} s, expected ~2 s at 25 fps"
    assert [f.index for f in frames] == list(range(2 * FPS))
    assert all(f.audio.shape == (SAMPLES_PER_FRAME,) and not f.audio.any() for f in frames)
    assert not any(f.speech for f in frames)
    assert frames[-1].timestamp == pytest.approx((2 * FPS - 1) / FPS)
    assert session.stats().state == "idle"


async def test_speech_in_random_chunks_leaves_whole_and_in_order(paint_renderer: PaintRenderer):
    rng = np.random.default_rng(0)
    speech = (rng.standard_normal(int(0.5 * SAMPLE_RATE)) * 0.2).astype(np.float32)
    session = RealtimeSession(renderer=paint_renderer, motion=PeakLookaheadStream())
    events = session.events.subscribe()
    session.start()
    pcm = (np.clip(speech, -1, 1) * 32767).astype("<i2").tobytes()
    pos = 0
    while pos < len(pcm):  # byte chunks of any length, odd ones included
        step = int(rng.integers(1, 1800))
        session.push_audio(pcm[pos : pos + step], SAMPLE_RATE, 1)
        pos += step
    session.end_segment()
    frames = await collect(session, 25)
    await session.aclose()
    spoken = [f for f in frames if f.speech]
    assert len(spoken) == -(-speech.size // SAMPLES_PER_FRAME)
    assert spoken[-1].segment_end and not any(f.segment_end for f in spoken[:-1])
    out = np.concatenate([f.audio[: f.n_valid] for f in spoken])
    np.testing.assert_allclose(out, speech, atol=2 / 32767)
    kinds = [e.type async for e in _take(events, 4)]
    assert kinds[:1] == ["playback_started"] and "playback_finished" in kinds


async def _take(events, n):
    count = 0
    async for event in events:
        if event.type in ("playback_started", "playback_finished", "state"):
            yield event
            count += 1
            if count == n:
                return


async def test_each_video_frame_shows_the_motion_of_its_own_audio(paint_renderer: PaintRenderer):
    # frame k of speech has peak level (k + 1) / 10; the lookahead stream paints it as grey
    levels = [(k + 1) / 10 for k in range(8)]
    speech = np.concatenate([np.full(SAMPLES_PER_FRAME, lv, np.float32) for lv in levels])
    session = RealtimeSession(renderer=paint_renderer, motion=PeakLookaheadStream(2))
    session.start()
    session.push_audio(speech, SAMPLE_RATE, 1)
    session.end_segment()
    frames = await collect(session, 14)
    await session.aclose()
    spoken = [f for f in frames if f.speech]
    assert len(spoken) == len(levels)
    for frame, level in zip(spoken, levels, strict=True):
        assert frame.audio.max() == pytest.approx(level)
        assert abs(int(frame.video[0, 0, 0]) - level * 255) <= 1, "video and audio differ"
    silent = [f for f in frames if not f.speech]
    assert all(f.video[0, 0, 0] == 0 for f in silent)


async def test_any_rate_and_channels_are_resampled_to_the_frame_rate(paint_renderer):
    stereo = np.stack([tone(1.0, 48_000), tone(1.0, 48_000)], axis=1)  # (N, 2)
    session = RealtimeSession(renderer=paint_renderer, motion=EnergyMotionStream(seed=0))
    session.start()
    for piece in np.array_split(stereo, 37):
        session.push_audio(piece, 48_000, 2)
    session.end_segment()
    frames = await collect(session, FPS + 5)
    await session.aclose()
    spoken = [f for f in frames if f.speech]
    seconds = sum(f.n_valid for f in spoken) / SAMPLE_RATE
    assert seconds == pytest.approx(1.0, abs=0.01)
    assert 0.3 < float(np.abs(np.concatenate([f.audio for f in spoken])).max()) < 0.6


async def test_interrupt_drops_queued_speech_and_reports_position(paint_renderer):
    session = RealtimeSession(renderer=paint_renderer, motion=PeakLookaheadStream(2))
    events = session.events.subscribe()
    session.start()
    session.push_audio(tone(3.0, 24_000), 24_000, 1)
    session.end_segment()
    frames = await collect(session, 10)
    position = session.interrupt()
    played = sum(f.n_valid for f in frames if f.speech) / SAMPLE_RATE
    assert position == pytest.approx(played, abs=1e-6)
    assert 0.2 < position < 0.5
    after = await collect(session, 8)
    await session.aclose()
    assert not any(f.speech for f in after), "speech kept playing after the interruption"
    assert all(not f.audio.any() for f in after)
    finished = [e async for e in _take(events, 10) if e.type == "playback_finished"]
    assert finished and finished[0].data["interrupted"] is True
    assert finished[0].data["position"] == pytest.approx(position, abs=1e-3)


async def test_partner_speech_makes_the_avatar_listen(paint_renderer):
    session = RealtimeSession(renderer=paint_renderer, motion=EnergyMotionStream(seed=3))
    session.start()
    partner = tone(0.6, 16_000, amplitude=0.3)
    for piece in np.array_split(partner, 15):  # 40 ms pieces, in real time
        session.push_partner_audio(piece, 16_000, 1, source="alice")
        await asyncio.sleep(1 / FPS)
    assert session.stats().state == "listening"
    await session.aclose()


async def test_trigger_reaches_the_motion_stream(paint_renderer):
    motion = PeakLookaheadStream(0)
    session = RealtimeSession(renderer=paint_renderer, motion=motion)
    session.start()
    session.trigger("nod")
    await collect(session, 3)
    await session.aclose()
    assert motion.triggers == ["nod"]


async def test_bad_input_is_refused_with_a_clear_error(paint_renderer):
    session = RealtimeSession(
        renderer=paint_renderer,
        motion=PeakLookaheadStream(0),
        options=SessionOptions(max_queued_seconds=1.0),
    )
    with pytest.raises(ValueError, match="sample rate"):
        session.push_audio(np.zeros(10, np.float32), 0, 1)
    with pytest.raises(AudioFormatError, match="NaN"):
        session.push_audio(np.array([np.nan], np.float32), 16_000, 1)
    with pytest.raises(ValueError, match="channels"):
        session.push_audio(np.zeros(10, np.float32), 16_000, 0)
    with pytest.raises(SpeechQueueFullError, match="at most 1 s"):
        session.push_audio(np.zeros(2 * SAMPLE_RATE, np.float32), 16_000, 1)
    with pytest.raises(ValueError, match="unknown gesture ''; known: nod, shake, smile"):
        session.trigger("")
    for gesture in ("explode", "0", "none"):
        with pytest.raises(ValueError, match=f"unknown gesture '{gesture}'"):
            session.trigger(gesture)
    with pytest.raises(ValueError, match="output_queue_frames"):
        SessionOptions(output_queue_frames=0)
    with pytest.raises(ValueError, match=r"frame_slack_ms must be in \[0, 40\], got 50"):
        SessionOptions(frame_slack_ms=50)
    await session.aclose()
    with pytest.raises(SessionClosedError):
        session.push_audio(np.zeros(10, np.float32), 16_000, 1)


async def test_aclose_ends_the_frame_stream(paint_renderer):
    session = RealtimeSession(renderer=paint_renderer, motion=EnergyMotionStream(seed=0))
    session.start()
    await collect(session, 2)
    await session.aclose()
    leftover = [f async for f in session.frames()]
    assert len(leftover) <= SessionOptions().output_queue_frames
    assert session.closed


class SlowRenderer(PaintRenderer):
    """Takes longer than a frame (60 ms of a 40 ms slot) to render."""

    def render(self, motion: np.ndarray) -> np.ndarray:
        time.sleep(0.06)
        return super().render(motion)


async def test_a_slow_renderer_never_holds_up_the_audio():
    """A session that falls behind repeats its last picture (marked not fresh) and its audio
    leaves whole and in order: audio never skips."""
    session = RealtimeSession(renderer=SlowRenderer(), motion=PeakLookaheadStream(2))
    session.start()
    await collect(session, 2)  # the first picture exists
    speech = tone(1.0, 16_000)
    session.push_audio(speech, 16_000, 1)
    session.end_segment()
    started = time.monotonic()
    frames = await collect(session, FPS)
    elapsed = time.monotonic() - started
    rest = await collect(session, 6)  # the lookahead's last speech frames
    stats = session.stats()
    await session.aclose()
    assert elapsed < 1.25, f"25 frames took {elapsed:.2f} s: the clock waited for the renderer"
    assert sum(f.speech for f in frames) >= FPS - 3, "speech frames were held back"
    assert stats.stale_frames >= 5 and stats.missed_frames >= stats.stale_frames
    assert sum(not f.fresh for f in frames) >= 5, "repeated pictures are marked"
    heard = np.concatenate([f.audio[: f.n_valid] for f in frames + rest if f.speech])
    np.testing.assert_array_equal(heard, speech)


async def test_an_utterance_end_that_arrives_late_still_ends_it(paint_renderer):
    # real-time TTS: the audio plays out before the agent closes its stream
    session = RealtimeSession(renderer=paint_renderer, motion=PeakLookaheadStream(2))
    events = session.events.subscribe()
    session.start()
    session.push_audio(tone(0.2, 16_000), 16_000, 1)
    frames = await collect(session, 12)
    assert sum(f.speech for f in frames) == 5 and not any(f.segment_end for f in frames)
    session.end_segment()
    later = await collect(session, 5)
    await session.aclose()
    ends = [f for f in later if f.segment_end]
    assert len(ends) == 1 and not ends[0].speech and ends[0].segment == frames[3].segment
    finished = [e async for e in _take(events, 10) if e.type == "playback_finished"]
    assert finished[0].data == {"position": 0.2, "interrupted": False, "segment": 1}


class BrokenRenderer(PaintRenderer):
    def render(self, motion: np.ndarray) -> np.ndarray:
        raise ValueError("rig is corrupt")


def _failures(cause: str) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(
        "visavis_realtime_session_failures_total", {"cause": cause}
    )
    return value or 0.0


async def test_an_exception_in_the_loop_ends_the_session_visibly(caplog):
    """Logged, counted, an ``error`` event, the consumer told why, input refused, listeners
    told once; never a session that looks open while its loop is dead."""
    session = RealtimeSession(renderer=BrokenRenderer(), motion=PeakLookaheadStream(0))
    events = session.events.subscribe()
    told: list[SessionFailure] = []
    session.on_failure(told.append)
    before = _failures("engine_error")
    session.start()
    with pytest.raises(SessionFailedError, match="session failed: ValueError: rig is corrupt"):
        await collect(session, 3)
    assert session.failure is not None and session.failure.cause == "engine_error"
    assert told == [session.failure]
    assert "session failed cause=engine_error" in caplog.text
    assert _failures("engine_error") == before + 1
    seen = []
    async with asyncio.timeout(2):
        async for event in events:
            seen.append(event)
            if event.type == "error":
                break
    assert seen[-1].data == {"cause": "engine_error", "reason": "ValueError: rig is corrupt"}
    with pytest.raises(SessionFailedError):
        session.push_audio(np.zeros(640, np.float32), 16_000)
    await session.aclose()  # no second report of the same failure
    assert _failures("engine_error") == before + 1


class StuckStream(PeakLookaheadStream):
    """A motion stream that hangs (3 s per step) after its first five frames: what the engine
    sees of a hung worker or a lost reply."""

    def __init__(self) -> None:
        super().__init__(0)
        self.steps = 0

    def push(self, self_audio: np.ndarray, partner_audio: np.ndarray) -> np.ndarray | None:
        self.steps += 1
        if self.steps > 5:
            time.sleep(3.0)
        return super().push(self_audio, partner_audio)


async def test_a_loop_that_stops_emitting_fails_instead_of_looking_open(paint_renderer):
    session = RealtimeSession(
        renderer=paint_renderer,
        motion=StuckStream(),
        options=SessionOptions(stall_timeout_s=1.0),
    )
    session.start()
    with pytest.raises(SessionFailedError, match=r"no frame left for 1\.[0-9] s"):
        async with asyncio.timeout(5):
            async for _ in session.frames():
                pass
    assert session.failure is not None and session.failure.cause == "stalled"
    await session.aclose()


class SometimesSlowRenderer(PaintRenderer):
    """Every fifth picture takes 45 ms: longer than a frame period, shorter than period + slack."""

    def render(self, motion: np.ndarray) -> np.ndarray:
        if self.calls % 5 == 4:
            time.sleep(0.045)
        return super().render(motion)


@pytest.mark.parametrize("slack_ms, expect_stale", [(40.0, False), (0.0, True)])
async def test_a_rare_slow_picture_waits_within_the_slack_instead_of_going_stale(
    slack_ms: float, expect_stale: bool
):
    session = RealtimeSession(
        renderer=SometimesSlowRenderer(),
        motion=PeakLookaheadStream(2),
        options=SessionOptions(frame_slack_ms=slack_ms),
    )
    session.start()
    await collect(session, 2)  # the first picture exists
    before = session.stats()
    await collect(session, 30)  # six slow pictures among them
    stats = session.stats()
    await session.aclose()
    stale = stats.stale_frames - before.stale_frames
    if expect_stale:
        assert stale >= 3, "without slack a picture slower than a period must go stale"
    else:
        # (a busy machine may stall a frame or two whatever the slack)
        assert stale <= 2, f"{stale} of 30 frames went out with the previous picture"
        assert stats.missed_frames - before.missed_frames <= 2


class SlowMotionStream(PeakLookaheadStream):
    """Steps take 100 ms: the session can only make 10 frames a second."""

    def push(self, self_audio: np.ndarray, partner_audio: np.ndarray) -> np.ndarray | None:
        time.sleep(0.1)
        return super().push(self_audio, partner_audio)


async def test_a_backend_that_cannot_keep_up_holds_back_the_clock_instead_of_piling_up_frames(
    paint_renderer: PaintRenderer,
):
    options = SessionOptions(max_behind_frames=4)
    session = RealtimeSession(renderer=paint_renderer, motion=SlowMotionStream(), options=options)
    session.start()
    frames = await collect(session, 12)  # 1.2 s at 10 frames a second
    in_flight = len(session._in_flight)
    stats = session.stats()
    await session.aclose()
    assert [f.index for f in frames] == list(range(12)), "frames kept leaving, in order"
    assert in_flight <= options.max_behind_frames
    assert stats.clock_restarts >= 1 and stats.missed_frames >= 6


async def test_the_engine_keeps_the_public_session_protocol(paint_renderer):
    """Transports rely on ``SessionProtocol`` alone; the engine implements every part of it."""
    from service.realtime.protocol import SessionProtocol

    session = RealtimeSession(renderer=paint_renderer, motion=PeakLookaheadStream(2))
    assert isinstance(session, SessionProtocol)
    public = {name for name in vars(SessionProtocol) if not name.startswith("_")}
    assert public <= set(dir(session))
    await session.aclose()

