"""Sessions on frame worker processes (``FramePool``): the pictures come from another process yet
leave with their own audio; a worker that dies fails its sessions loudly and is replaced; closing
the pool leaves no process behind. The workers run the small fakes of realtime_fakes.py (no
torch to import), so each starts in about a second."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator

import numpy as np
import pytest
from realtime_fakes import build_paint_parts

from audio.clocks import FPS, SAMPLE_RATE
from service.realtime.engine import OutputFrame, RealtimeSession
from service.realtime.parts import SessionSpec
from service.realtime.pool import FramePool, FrameWorkerError

RECIPE = SessionSpec("unused", size="64x64")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
async def pool() -> AsyncIterator[FramePool]:
    frame_pool = FramePool(workers=2, build=build_paint_parts)
    yield frame_pool
    await frame_pool.aclose()


async def _until_speech(session: RealtimeSession, want: int) -> list[OutputFrame]:
    speech: list[OutputFrame] = []
    async with asyncio.timeout(10):
        async for frame in session.frames():
            if frame.speech:
                speech.append(frame)
            if len(speech) == want:
                return speech
    raise AssertionError("the session ended before its speech left")


async def test_pictures_drawn_in_a_worker_leave_with_their_own_audio(pool: FramePool):
    frames = await pool.open(RECIPE)
    assert frames.worker_pid not in (None, os.getpid())
    assert frames.video_size == (64, 64)
    session = RealtimeSession(frames=frames)
    session.start()
    # five frames of rising loudness: the fake paints each frame's peak as its grey level
    levels = [0.2, 0.4, 0.6, 0.8, 1.0]
    speech = np.concatenate([np.full(640, level, np.float32) for level in levels])
    session.push_audio(speech, SAMPLE_RATE)
    session.end_segment()
    out = await _until_speech(session, len(levels))
    await session.aclose()
    for frame, level in zip(out, levels, strict=True):
        assert frame.video.shape == (64, 64, 3)
        assert float(np.max(frame.audio)) == pytest.approx(level)
        assert int(frame.video[0, 0, 0]) == round(level * 255), "picture of another frame"
    assert session.stats().stale_frames <= 1


async def test_closing_the_pool_leaves_no_process(pool: FramePool):
    sessions = [RealtimeSession(frames=await pool.open(RECIPE)) for _ in range(3)]
    pids = pool.pids
    assert len(pids) == 2, "three sessions should spread over both workers"
    for session in sessions:
        session.start()
    await asyncio.sleep(0.3)
    for session in sessions[:2]:
        await session.aclose()
    await pool.aclose()  # the third is still live: it is stopped with the pool
    assert not any(_running(pid) for pid in pids)
    with pytest.raises(RuntimeError, match="frame clock failed"):
        async with asyncio.timeout(5):
            async for _ in sessions[2].frames():
                pass
    await sessions[2].aclose()
    with pytest.raises(FrameWorkerError, match="closed"):
        await pool.open(RECIPE)


async def test_a_warmed_pool_has_its_workers_before_the_first_session(pool: FramePool):
    pool.warm()
    pids = pool.pids
    assert len(pids) == 2 and all(_running(pid) for pid in pids)
    frames = [await pool.open(RECIPE) for _ in range(2)]
    assert pool.pids == pids, "the sessions went to the warm workers, none was started for them"
    assert {f.worker_pid for f in frames} == set(pids)
    for f in frames:
        f.close()


async def test_a_dead_worker_fails_its_sessions_loudly_and_is_replaced(
    pool: FramePool, caplog: pytest.LogCaptureFixture
):
    frames = await pool.open(RECIPE)
    session = RealtimeSession(frames=frames)
    session.start()
    await _until_speech_or_frames(session)
    assert frames.worker_pid is not None
    os.kill(frames.worker_pid, signal.SIGKILL)
    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError) as failed:
        async with asyncio.timeout(5):
            async for _ in session.frames():
                pass
    assert isinstance(failed.value.__cause__, FrameWorkerError)
    assert f"pid {frames.worker_pid}" in str(failed.value.__cause__)
    assert any("frame worker exited" in r.getMessage() for r in caplog.records)
    await session.aclose()
    again = await pool.open(RECIPE)  # a fresh worker takes new sessions
    assert again.worker_pid != frames.worker_pid
    replacement = RealtimeSession(frames=again)
    replacement.start()
    await _until_speech_or_frames(replacement)
    await replacement.aclose()


async def _until_speech_or_frames(session: RealtimeSession, n: int = 3) -> None:
    seen = 0
    async with asyncio.timeout(10):
        async for _ in session.frames():
            seen += 1
            if seen == n:
                return


async def test_a_session_the_worker_cannot_build_is_refused_with_the_reason():
    pool = FramePool(workers=1, build=build_paint_parts, open_timeout_s=0.5)
    pool.warm()  # a worker's start-up (seconds on a busy machine) is not what is timed here
    await asyncio.wait_for(pool.wait_ready(), 120)
    with pytest.raises(FrameWorkerError, match="character 'broken' has no rig"):
        await pool.open(SessionSpec("broken", size="64x64"))
    await pool.open(RECIPE)
    with pytest.raises(FrameWorkerError, match=r"did not build the session in 0\.5 s"):
        await pool.open(SessionSpec("slow", size="64x64"))
    frames = await pool.open(RECIPE)  # the worker itself carries on
    session = RealtimeSession(frames=frames)
    session.start()
    await _until_speech_or_frames(session)
    await session.aclose()
    await pool.aclose()


def test_pool_size_is_checked():
    with pytest.raises(ValueError, match=r"workers must be an integer in 1\.\.64, got 0"):
        FramePool(workers=0)


async def test_sessions_sharing_a_worker_tick_half_a_period_apart(pool: FramePool):
    """Staggered clocks: a worker's two sessions never ask for its core at the same moment, and
    the recorded timings show each frame's path through the worker in order."""
    frames = [await pool.open(RECIPE) for _ in range(4)]
    by_worker: dict[int | None, list[float]] = {}
    for f in frames:
        assert f.clock_phase is not None
        by_worker.setdefault(f.worker_pid, []).append(f.clock_phase)
    period = 1.0 / FPS
    for phases in by_worker.values():
        assert len(phases) == 2
        assert abs(phases[0] - phases[1]) == pytest.approx(period / 2)
    assert len({round(f.clock_phase or 0.0, 6) for f in frames}) == 4, "all four apart"
    sessions = [RealtimeSession(frames=f) for f in frames]
    for session in sessions:
        session.start()
        session.record_timings()
    await asyncio.gather(*(_until_speech_or_frames(s, 10) for s in sessions))
    for session in sessions:
        await session.aclose()
    for session, f in zip(sessions, frames, strict=True):
        assert session.timings is not None
        timings = list(session.timings.frames)
        assert len(timings) >= 5
        for t in timings:
            off = (t.deadline - (f.clock_phase or 0.0)) % period
            assert min(off, period - off) < 1e-6, "a tick off its phase"
            if not t.fresh:
                continue  # went out with the previous picture: its render is not in it
            stamps = [
                t.woke,
                t.worker_received,
                t.worker_motion_done,
                t.worker_render_start,
                t.worker_render_done,
                t.video_at,
                t.sent_at,
            ]
            assert all(s is not None for s in stamps), stamps
            assert stamps == sorted(stamps), "a frame's stamps are out of order"


async def test_an_unstaggered_pool_leaves_the_clocks_unphased():
    pool = FramePool(workers=1, build=build_paint_parts, stagger=False)
    frames = await pool.open(RECIPE)
    assert frames.clock_phase is None
    frames.close()
    await pool.aclose()


async def test_two_renders_in_flight_each_bring_back_their_own_picture(pool: FramePool):
    """The engine asks for the next picture before the last one is back: the worker draws them
    into two shared-memory slots in turn, so neither overwrites the other."""
    frames = await pool.open(RECIPE)
    silence = np.zeros(640, np.float32)
    levels = [0.2, 0.4, 0.6, 0.8]  # the fake's motion trails its input by two frames
    steps = [
        frames.step(np.full(640, level, np.float32), silence, [], render=k >= 2)
        for k, level in enumerate(levels)
    ]
    results = await asyncio.gather(*steps)
    videos = [result.picture for result in results[2:]]
    assert all(video is not None for video in videos)
    pictures = await asyncio.gather(*(v for v in videos if v is not None))
    assert [int(p[0, 0, 0]) for p in pictures] == [round(0.2 * 255), round(0.4 * 255)]
    three = [frames.step(silence, silence, [], render=True) for _ in range(3)]
    outcomes = await asyncio.gather(*three, return_exceptions=True)
    assert isinstance(outcomes[2], RuntimeError)
    assert "2 renders are already in flight" in str(outcomes[2])
    await asyncio.gather(*(o.picture for o in outcomes[:2] if not isinstance(o, BaseException) and o.picture))
    frames.close()


def test_a_session_spec_is_checked_where_it_is_made():
    """A bad size, seed or persona is the caller's error, raised before any worker sees it."""
    with pytest.raises(ValueError, match="size"):
        SessionSpec("folder", size="1080q")
    with pytest.raises(ValueError, match="seed"):
        SessionSpec("folder", seed=-1)
    with pytest.raises(ValueError, match="unknown persona trait 'swagger'"):
        SessionSpec("folder", persona={"swagger": 0.5})
    with pytest.raises(ValueError, match="outside"):
        SessionSpec("folder", persona={"smile": float("nan")})
    assert SessionSpec("folder", persona={"smile": 1}).persona == {"smile": 1.0}


def test_pipe_messages_round_trip_and_garbage_is_refused():
    import pickle

    from service.realtime.messages import Failed, Motion, Open, Step, Stop, decode, encode

    audio = np.arange(640, dtype=np.float32)
    for message in (
        Open(1, RECIPE),
        Step(1, 7, audio, audio, ("nod",), True),
        Motion(1, 7, audio[:61], "listening", 1.0, 2.0),
        Failed(3, "ValueError: no rig"),
        Stop(),
    ):
        back = decode(pickle.loads(pickle.dumps(encode(message))))
        assert type(back) is type(message)
        for name in message.__slots__:
            assert np.array_equal(getattr(back, name), getattr(message, name))
    with pytest.raises(ValueError, match="not a frame worker message"):
        decode((99, 1))
