from __future__ import annotations

import numpy as np
import pytest

from audio.analyzer import StreamAnalyzer
from audio.clocks import FEATURES_PER_FRAME, N_MELS, SAMPLE_RATE, SAMPLES_PER_FRAME, VAD_WINDOW
from audio.errors import AudioError
from audio.tts import Speech
from audio.turns import (
    ConversationState,
    ConversationTracker,
    PartnerPhraseEnd,
    SelfPhraseEnd,
    StateChange,
    TurnOptions,
)
from audio.vad import StreamingVad, speech_probabilities

S = ConversationState


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def test_vad_finds_speech_in_a_sentence_and_not_in_silence_or_noise(espeak_speech: Speech) -> None:
    audio = np.concatenate([_silence(1.0), espeak_speech.samples, _silence(1.0)])
    p = speech_probabilities(audio)
    t = (np.arange(p.shape[0]) + 1) * VAD_WINDOW / SAMPLE_RATE  # end of each window
    speech = (t > 1.2) & (t < 1.0 + espeak_speech.duration - 0.4)
    assert np.mean(p[speech] > 0.5) > 0.8
    assert p[t < 0.9].max() < 0.2 and p[t > 1.0 + espeak_speech.duration + 0.3].max() < 0.2
    noise = np.random.default_rng(0).standard_normal(3 * SAMPLE_RATE).astype(np.float32) * 0.05
    assert speech_probabilities(noise).max() < 0.3


def test_vad_streaming_equals_offline_for_any_chunking(espeak_speech: Speech) -> None:
    offline = speech_probabilities(espeak_speech.samples)
    vad, pieces, pos = StreamingVad(), [], 0
    rng = np.random.default_rng(1)
    while pos < espeak_speech.samples.shape[0]:
        size = int(rng.integers(0, 1500))
        pieces.append(vad.push(espeak_speech.samples[pos : pos + size]))
        pos += size
    np.testing.assert_allclose(np.concatenate(pieces), offline, atol=1e-6)
    vad.reset()  # state forgotten: the same audio gives the same answer again
    np.testing.assert_allclose(vad.push(espeak_speech.samples), offline, atol=1e-6)


def test_batched_vad_equals_separate_streams(espeak_speech: Speech) -> None:
    a = espeak_speech.samples
    b = np.roll(a, 5000) * 0.5
    pair = StreamingVad(streams=2).push(np.stack([a, b]))
    np.testing.assert_allclose(pair[0], speech_probabilities(a), atol=1e-5)
    np.testing.assert_allclose(pair[1], speech_probabilities(b), atol=1e-5)


def _run(tracker: ConversationTracker, own: list[float], partner: list[float]) -> list:
    events = []
    for a, b in zip(own, partner, strict=True):
        events.extend(tracker.update(a, b))
    return events


def _frames(ms: int, p: float) -> list[float]:
    return [p] * (ms // 40)


def test_short_pause_inside_a_sentence_is_not_a_turn_change() -> None:
    tracker = ConversationTracker()
    partner = _frames(1000, 0.9) + _frames(240, 0.05) + _frames(1000, 0.9) + _frames(1000, 0.02)
    events = _run(tracker, [0.0] * len(partner), partner)
    changes = [(e.previous, e.state) for e in events if isinstance(e, StateChange)]
    assert changes == [(S.IDLE, S.LISTENING), (S.LISTENING, S.IDLE)]
    # the 240 ms pause is a phrase end (the avatar may nod), and so is the real end
    ends = [e for e in events if isinstance(e, PartnerPhraseEnd)]
    assert len(ends) == 2
    assert ends[0].frame == 25 + 5 - 1  # raised when the pause reaches 200 ms
    assert ends[0].speech_seconds == pytest.approx(1.0, abs=0.1)
    change_to_idle = next(e for e in events if isinstance(e, StateChange) and e.state == S.IDLE)
    assert change_to_idle.frame > ends[1].frame  # the phrase ends before the turn does


def test_blips_do_not_start_a_turn_and_mid_probabilities_hold_the_state() -> None:
    tracker = ConversationTracker()
    events = _run(tracker, [0.9, 0.0, 0.0, 0.9, 0.0] + [0.0] * 20, [0.0] * 25)
    assert events == []  # single-frame blips: no speech, no phrase end
    events = _run(tracker, [0.9] * 5 + [0.45] * 30, [0.0] * 35)  # 0.45: between offset and onset
    assert [e.state for e in events if isinstance(e, StateChange)] == [S.SPEAKING]
    assert tracker.state == S.SPEAKING


def test_overlap_and_turn_passing() -> None:
    tracker = ConversationTracker()
    own = _frames(1000, 0.9) + _frames(1000, 0.9) + _frames(200, 0.0) + _frames(800, 0.0)
    partner = _frames(1000, 0.0) + _frames(1000, 0.9) + _frames(200, 0.9) + _frames(800, 0.9)
    events = _run(tracker, own, partner)
    states = [e.state for e in events if isinstance(e, StateChange)]
    assert states == [S.SPEAKING, S.OVERLAP, S.LISTENING]
    assert any(isinstance(e, SelfPhraseEnd) for e in events)
    # a quick reply after a phrase-end pause takes the turn at once, without a spell of overlap
    tracker.reset()
    own = _frames(1000, 0.9) + _frames(280, 0.0) + _frames(1000, 0.0)
    partner = _frames(1000, 0.0) + _frames(280, 0.0) + _frames(1000, 0.9)
    events = _run(tracker, own, partner)
    changes = [(e.frame, e.state) for e in events if isinstance(e, StateChange)]
    assert [s for _, s in changes] == [S.SPEAKING, S.LISTENING]
    assert changes[1][0] == 25 + 7 + 1  # the partner's second voiced frame


def test_bad_options_are_refused() -> None:
    with pytest.raises(AudioError, match=r"offset=0\.6 onset=0\.5"):
        TurnOptions(offset=0.6)
    with pytest.raises(AudioError, match="phrase_end_ms=500"):
        TurnOptions(phrase_end_ms=500, min_silence_ms=300)
    with pytest.raises(AudioError, match="min_speech_ms=0"):
        TurnOptions(min_speech_ms=0)


def test_analyzer_gives_features_vad_and_state_per_frame(espeak_speech: Speech) -> None:
    speech = np.concatenate([_silence(0.4), espeak_speech.samples, _silence(1.0)])
    n = speech.shape[0] // SAMPLES_PER_FRAME
    own = speech[: n * SAMPLES_PER_FRAME].reshape(n, SAMPLES_PER_FRAME)
    quiet = np.zeros(SAMPLES_PER_FRAME, np.float32)
    analyzer = StreamAnalyzer()
    results = [analyzer.push(frame, quiet) for frame in own]
    assert all(r.self_features.shape == (FEATURES_PER_FRAME, N_MELS) for r in results)
    assert [r.frame for r in results] == list(range(n))
    states = [r.state for r in results]
    assert states[0] == S.IDLE and states[-1] == S.IDLE
    assert states.count(S.SPEAKING) > 0.6 * espeak_speech.duration * 25
    assert S.LISTENING not in states and max(r.partner_vad for r in results) < 0.2
    # the partner hears the same speech: roles swap, and its phrase ends are reported
    analyzer.reset()
    swapped = [analyzer.push(quiet, frame) for frame in own]
    assert [r.state for r in swapped].count(S.LISTENING) == states.count(S.SPEAKING)
    assert sum(isinstance(e, PartnerPhraseEnd) for r in swapped for e in r.events) >= 2
    with pytest.raises(AudioError, match=r"self frame has shape \(320,\)"):
        analyzer.push(quiet[:320], quiet)


def test_a_begun_silence_keeps_running_through_uncertain_frames() -> None:
    tracker = ConversationTracker()
    own = _frames(1000, 0.9) + [0.1] + _frames(600, 0.45)
    events = _run(tracker, own, [0.0] * len(own))
    assert [e.state for e in events if isinstance(e, StateChange)] == [S.SPEAKING, S.IDLE]
    assert sum(isinstance(e, SelfPhraseEnd) for e in events) == 1
