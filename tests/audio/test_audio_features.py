from __future__ import annotations

import numpy as np
import pytest

from audio.clocks import FEATURES_PER_FRAME, HOP_LENGTH, N_MELS, SAMPLE_RATE, SAMPLES_PER_FRAME
from audio.features import (
    DYNAMIC_RANGE,
    FEATURE_LOOKAHEAD_SAMPLES,
    LOG_MEL_REFERENCE,
    StreamingLogMel,
    log_mel,
    mel_filterbank,
)
from audio.tts import Speech


def test_filterbank_is_librosa_slaney_like_whisper() -> None:
    from transformers.audio_utils import mel_filter_bank

    reference = mel_filter_bank(
        num_frequency_bins=201, num_mel_filters=80, min_frequency=0.0, max_frequency=8000.0,
        sampling_rate=SAMPLE_RATE, norm="slaney", mel_scale="slaney",
    )  # fmt: skip
    np.testing.assert_allclose(mel_filterbank(), reference.T, atol=1e-7)


def test_streaming_equals_offline_for_any_chunking(espeak_speech: Speech) -> None:
    samples = espeak_speech.samples
    offline = log_mel(samples)
    assert offline.shape == (samples.shape[0] // HOP_LENGTH, N_MELS)
    rng = np.random.default_rng(3)
    for _ in range(3):
        stream, rows, pos = StreamingLogMel(), [], 0
        while pos < samples.shape[0]:
            size = int(rng.integers(0, 2000))
            rows.append(stream.push(samples[pos : pos + size]))
            pos += size
        streamed = np.concatenate(rows)
        assert streamed.shape == offline.shape
        np.testing.assert_allclose(streamed, offline, atol=1e-4)


def test_exactly_four_rows_per_video_frame_with_no_lookahead(espeak_speech: Speech) -> None:
    assert FEATURE_LOOKAHEAD_SAMPLES == 0
    stream = StreamingLogMel()
    n_frames = espeak_speech.samples.shape[0] // SAMPLES_PER_FRAME
    frames = espeak_speech.samples[: n_frames * SAMPLES_PER_FRAME].reshape(n_frames, -1)
    for frame in frames:
        assert stream.push(frame).shape == (FEATURES_PER_FRAME, N_MELS)
    # causal: what comes after a frame never changes its rows
    cut = 20 * SAMPLES_PER_FRAME
    altered = espeak_speech.samples.copy()
    altered[cut:] = np.random.default_rng(0).standard_normal(altered.shape[0] - cut) * 0.5
    np.testing.assert_array_equal(
        log_mel(altered)[: cut // HOP_LENGTH], log_mel(espeak_speech.samples)[: cut // HOP_LENGTH]
    )


def test_a_tone_lights_its_band_and_silence_sits_on_the_fixed_floor() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = log_mel(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    edges_hz = np.linspace(0, SAMPLE_RATE / 2, 201)
    peak_band = int(np.argmax(tone[10]))
    assert 0.8 < edges_hz[int(np.argmax(mel_filterbank()[peak_band]))] / 1000 < 1.2
    floor = (LOG_MEL_REFERENCE - DYNAMIC_RANGE + 4) / 4
    silence = log_mel(np.zeros(SAMPLE_RATE, np.float32))
    assert silence == pytest.approx(floor)
    # normalisation does not depend on the clip: a quiet half stays quiet next to a loud one
    quiet = log_mel(0.01 * np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    both = log_mel(
        np.concatenate([0.01 * np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 1000 * t)]).astype(
            np.float32
        )
    )
    np.testing.assert_allclose(both[:100], quiet, atol=1e-5)
    assert tone.max() > quiet.max() + 0.9  # 40 dB louder = 4 log10 units = 1.0 after scaling


def test_nonfinite_samples_do_not_poison_features() -> None:
    x = np.zeros(SAMPLES_PER_FRAME * 3, np.float32)
    x[100] = np.nan
    x[700] = np.inf
    assert np.isfinite(StreamingLogMel().push(x)).all()


def test_pcm_integers_are_refused_with_a_pointer() -> None:
    from audio.errors import AudioError

    with pytest.raises(AudioError, match="float samples in \\[-1, 1\\], got dtype int16"):
        log_mel(np.zeros(SAMPLES_PER_FRAME, np.int16))
