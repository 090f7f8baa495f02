from __future__ import annotations

import itertools

import numpy as np
import pytest

from audio.clocks import SAMPLE_RATE
from audio.errors import AudioError
from audio.phonemes import PHONEMES, SILENCE, is_vowel
from audio.tts import Speech, list_voices, synthesize

HOP = SAMPLE_RATE // 100  # 10 ms energy frames


def _energy_db(samples: np.ndarray) -> np.ndarray:
    n = samples.shape[0] // HOP
    frames = samples[: n * HOP].reshape(n, HOP)
    return 10 * np.log10((frames**2).mean(axis=1) + 1e-10)


def _span_energy(speech: Speech, start: float, end: float) -> float:
    a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
    seg = speech.samples[a:b]
    return float(10 * np.log10((seg**2).mean() + 1e-10))


def _check_timings(speech: Speech, *, check_pauses: bool = True) -> None:
    spans = speech.phonemes
    assert all(s.phoneme in PHONEMES for s in spans)
    # contiguous from 0 to the end of the audio: total duration matches
    assert spans[0].start == 0.0
    assert spans[-1].end == pytest.approx(speech.duration, abs=1e-6)
    for a, b in itertools.pairwise(spans):
        assert a.end == pytest.approx(b.start, abs=1e-6) and a.end > a.start
    # the text's full stop and comma leave silence inside the speech
    inner_pauses = [s for s in spans[1:-1] if s.phoneme == SILENCE and s.end - s.start >= 0.1]
    assert len(inner_pauses) >= 2 or not check_pauses
    loud = np.percentile(_energy_db(speech.samples), 90)
    for pause in inner_pauses:  # the middle of each pause is quiet
        mid = (pause.start + pause.end) / 2
        assert _span_energy(speech, mid - 0.03, mid + 0.03) < loud - 25
    # vowels are voiced: loud
    vowels = [s for s in spans if is_vowel(s.phoneme) and s.end - s.start > 0.03]
    assert len(vowels) >= 8
    vowel_db = np.array([_span_energy(speech, s.start, s.end) for s in vowels])
    assert np.median(vowel_db) > loud - 10
    # the voiced audio is covered by speech phonemes, not silence
    db = _energy_db(speech.samples)
    voiced = np.flatnonzero(db > loud - 15) * HOP / SAMPLE_RATE + 0.005
    in_silence = [
        any(s.start + 0.03 < t < s.end - 0.03 for s in spans if s.phoneme == SILENCE)
        for t in voiced
    ]
    assert np.mean(in_silence) < 0.03
    # and every long quiet stretch of the audio is labelled silence
    for start, end in _quiet_runs(speech.samples, min_seconds=0.15):
        covered = sum(
            max(0.0, min(end, s.end) - max(start, s.start)) for s in spans if s.phoneme == SILENCE
        )
        assert covered > 0.8 * (end - start), f"quiet {start:.3f}-{end:.3f} s is not silence"


def _quiet_runs(samples: np.ndarray, min_seconds: float) -> list[tuple[float, float]]:
    """(start, end) seconds of stretches below 2 % of the peak envelope (5 ms smoothing)."""
    envelope = np.sqrt(np.convolve(samples**2, np.ones(80) / 80, "same"))
    quiet = (envelope < 0.02 * envelope.max()).astype(int)
    edges = np.diff(np.concatenate([[0], quiet, [0]]))
    runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
    return [
        (a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in runs if b - a > min_seconds * SAMPLE_RATE
    ]


def test_espeak_timings_line_up_with_the_audio(espeak_speech: Speech) -> None:
    assert espeak_speech.samples.dtype == np.float32
    _check_timings(espeak_speech)
    phones = [s.phoneme for s in espeak_speech.phonemes]
    # "Peter bought five apples": p iy t er b ao t f ay v ae p ah l z
    joined = " ".join(p for p in phones if p != SILENCE)
    assert joined.startswith("p iy t er b ao t f ay v")


def test_piper_timings_line_up_with_the_audio(piper_speech: Speech) -> None:
    _check_timings(piper_speech)
    phones = [s.phoneme for s in piper_speech.phonemes if s.phoneme != SILENCE]
    assert phones[:10] == ["p", "iy", "t", "er", "b", "ao", "t", "f", "ay", "v"]


def test_espeak_rate_pitch_and_voice_change_the_speech(espeak_speech: Speech) -> None:
    fast = synthesize("Peter bought five apples. Then he walked home, slowly.", rate=2.0)
    assert fast.duration < 0.7 * espeak_speech.duration
    _check_timings(fast, check_pauses=False)  # espeak shortens pauses to ~30 ms at 2x
    high = synthesize("Peter bought five apples.", voice="en-us+f3", pitch=1.5)
    assert high.duration > 1.0
    assert "en-US" in list_voices("espeak")


def test_piper_pitch_keeps_the_rate() -> None:
    text = "Peter bought five apples. Then he walked home, slowly."
    normal = synthesize(text, engine="piper")
    higher = synthesize(text, engine="piper", pitch=1.3)
    assert higher.duration == pytest.approx(normal.duration, rel=0.15)
    _check_timings(higher)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": ""}, "empty"),
        ({"text": "hi", "engine": "festival"}, "unknown TTS engine 'festival'"),
        ({"text": "hi", "rate": 9.0}, "rate 9.0 is outside"),
        ({"text": "hi", "pitch": 0.0}, "pitch 0.0 is outside"),
        ({"text": "hi", "voice": "xx-nonexistent"}, "no voice 'xx-nonexistent'"),
        ({"text": "hi", "engine": "piper", "voice": "someone"}, "piper has no voice 'someone'"),
    ],
)
def test_bad_tts_requests_are_clear(kwargs: dict, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        synthesize(**kwargs)


@pytest.mark.parametrize("engine", ["espeak", "piper"])
def test_text_without_words_is_a_pause(engine: str) -> None:
    speech = synthesize("...", engine=engine)
    assert 0.0 < speech.duration < 1.0 and not np.abs(speech.samples).max() > 0.01
    assert [s.phoneme for s in speech.phonemes] == [SILENCE]


def test_espeak_variants_are_listed_and_usable() -> None:
    from audio.tts import list_variants

    variants = list_variants()
    assert {"f3", "m3", "klatt"} <= set(variants)
    assert synthesize("Hello.", voice="en-us+klatt").duration > 0.3


def test_per_frame_phonemes_follow_the_spans(espeak_speech: Speech) -> None:
    from audio.clocks import FPS, frames_for_samples

    frames = espeak_speech.frame_phonemes(FPS)
    assert len(frames) == frames_for_samples(espeak_speech.samples.shape[0])
    assert frames[-1] == SILENCE and set(frames) <= set(PHONEMES)
    for span in espeak_speech.phonemes:
        if span.end - span.start > 2 / FPS:  # a long span owns the frames centred inside it
            k = int((span.start + span.end) / 2 * FPS)
            assert frames[k] == span.phoneme
    assert espeak_speech.phoneme_at(-1.0) == SILENCE == espeak_speech.phoneme_at(1e6)


def test_a_quiet_stretch_inside_a_phoneme_becomes_silence() -> None:
    """A neural voice's alignments now and then give a pause to the phoneme before it; the
    mouth would hold that phoneme through the pause."""
    from audio.speech import PhonemeSpan, silence_quiet_runs

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE  # 1 s: voiced, 0.3 s quiet, voiced
    samples = (0.5 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    samples[int(0.4 * SAMPLE_RATE) : int(0.7 * SAMPLE_RATE)] = 0.0
    spans = [PhonemeSpan("AA", 0.0, 0.75), PhonemeSpan("M", 0.75, 1.0)]
    out = silence_quiet_runs(spans, samples, SAMPLE_RATE)
    quiet = [s for s in out if s.phoneme == SILENCE]
    assert len(quiet) == 1 and abs(quiet[0].start - 0.4) < 0.01 and abs(quiet[0].end - 0.7) < 0.01
    assert [s.phoneme for s in out] == ["AA", SILENCE, "AA", "M"]
    assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(out))
    # a stop consonant's closure (60 ms) stays the consonant's
    samples[int(0.4 * SAMPLE_RATE) : int(0.7 * SAMPLE_RATE)] = samples[:int(0.3 * SAMPLE_RATE)]
    samples[int(0.5 * SAMPLE_RATE) : int(0.56 * SAMPLE_RATE)] = 0.0
    assert silence_quiet_runs(spans, samples, SAMPLE_RATE) == spans
