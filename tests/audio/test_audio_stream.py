from __future__ import annotations

import numpy as np
import pytest

from audio.clocks import SAMPLE_RATE, SAMPLES_PER_FRAME
from audio.errors import AudioError
from audio.resample import resample
from audio.stream import FrameChunker, StreamResampler
from audio.tts import Speech

RATES = (8000, 16000, 22050, 24000, 44100, 48000)


def _random_chunks(n: int, rng: np.random.Generator, max_size: int = 3000) -> list[slice]:
    cuts, pos = [], 0
    while pos < n:
        size = int(rng.integers(0, max_size))  # zero-length chunks included
        cuts.append(slice(pos, min(n, pos + size)))
        pos += size
    return cuts


def _recording(speech: Speech, rate: int, channels: int) -> np.ndarray:
    """(n, channels) float32: the speech at ``rate``, right channel a quieter copy."""
    mono = (
        resample(speech.samples, SAMPLE_RATE)
        if rate == SAMPLE_RATE
        else _to_rate(speech.samples, rate)
    )
    return np.stack([mono, 0.5 * mono][:channels], axis=1).astype(np.float32)


def _to_rate(x: np.ndarray, rate: int) -> np.ndarray:
    import av

    r = av.AudioResampler(format="flt", layout="mono", rate=rate)
    frame = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    return np.concatenate(
        [f.to_ndarray().reshape(-1) for f in r.resample(frame) + r.resample(None)]
    )


def _stream(resampler: StreamResampler, pieces: list) -> np.ndarray:
    out = [resampler.push(p) for p in pieces] + [resampler.flush()]
    return np.concatenate(out)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("sample_format", ["s16", "f32"])
def test_streaming_equals_one_shot_for_any_chunking(
    espeak_speech: Speech, rate: int, channels: int, sample_format: str
) -> None:
    rng = np.random.default_rng(rate + channels)
    audio = _recording(espeak_speech, rate, channels)
    if sample_format == "s16":
        audio = (audio * 32767).astype(np.int16)
    data = audio.tobytes()  # interleaved
    frame_bytes = audio.itemsize * channels
    # random byte cuts: chunks may even split a sample in half
    pieces = [data[s] for s in _random_chunks(len(data), rng, max_size=3000 * frame_bytes)]

    def make() -> StreamResampler:
        return StreamResampler(
            sample_rate=rate, channels=channels, sample_format=sample_format, remove_dc=False
        )

    streamed = _stream(make(), pieces)
    one_shot = _stream(make(), [data])
    expected_mono = audio.astype(np.float32).mean(axis=1) / (
        32768.0 if sample_format == "s16" else 1.0
    )
    reference = resample(expected_mono, rate)
    assert streamed.dtype == np.float32
    assert streamed.shape == one_shot.shape == reference.shape
    np.testing.assert_allclose(streamed, one_shot, atol=1e-6)
    np.testing.assert_allclose(streamed, reference, atol=1e-6)
    assert abs(streamed.shape[0] - audio.shape[0] * SAMPLE_RATE / rate) <= 2


def test_arrays_in_any_shape_match_bytes(espeak_speech: Speech) -> None:
    audio = (_recording(espeak_speech, 24000, 2) * 32767).astype(np.int16)
    via_bytes = _stream(StreamResampler(sample_rate=24000, channels=2), [audio.tobytes()])
    via_2d = _stream(StreamResampler(sample_rate=24000, channels=2), [audio])
    via_flat = _stream(StreamResampler(sample_rate=24000, channels=2), [audio.reshape(-1)])
    np.testing.assert_array_equal(via_bytes, via_2d)
    np.testing.assert_array_equal(via_bytes, via_flat)


def test_chunker_frames_are_exact_for_any_chunking() -> None:
    rng = np.random.default_rng(7)
    signal = rng.standard_normal(SAMPLES_PER_FRAME * 37 + 123).astype(np.float32)
    chunker = FrameChunker()
    frames = [chunker.push(signal[s]) for s in _random_chunks(signal.shape[0], rng, max_size=2000)]
    frames.append(chunker.flush())
    stacked = np.concatenate(frames)
    assert stacked.shape == (38, SAMPLES_PER_FRAME)
    np.testing.assert_array_equal(stacked.reshape(-1)[: signal.shape[0]], signal)
    assert not stacked.reshape(-1)[signal.shape[0] :].any()
    assert chunker.pending == 0 and chunker.flush().shape == (0, SAMPLES_PER_FRAME)


def test_nan_inf_clipping_and_dc_are_repaired_and_counted() -> None:
    t = np.arange(48000) / 48000
    tone = (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    bad = tone + 0.4  # DC offset
    bad[1000:1100] = np.nan
    bad[2000] = np.inf
    bad[3000:3010] = 5.0
    resampler = StreamResampler(sample_rate=48000, sample_format="f32")
    out = _stream(resampler, [bad[:24000], np.zeros(0, np.float32), bad[24000:]])
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.5
    assert resampler.nonfinite_samples == 101 and resampler.clipped_samples == 10
    settled = out[SAMPLE_RATE // 4 :]  # the DC blocker settles within ~0.1 s
    assert abs(settled.mean()) < 0.01 and settled.std() == pytest.approx(0.3 / np.sqrt(2), rel=0.1)


def test_zero_length_chunks_and_flush_without_data() -> None:
    resampler = StreamResampler(sample_rate=44100)
    assert resampler.push(b"").shape == (0,)
    assert resampler.push(np.zeros(0, np.int16)).shape == (0,)
    assert resampler.flush().shape == (0,)


@pytest.mark.parametrize("rate", [0, -8000, 500_000, 22050.5, "fast", None])
def test_impossible_rates_are_refused(rate: object) -> None:
    with pytest.raises(AudioError, match="sample rate"):
        StreamResampler(sample_rate=rate)  # type: ignore[arg-type]


def test_bad_layouts_are_refused() -> None:
    with pytest.raises(AudioError, match="channels 0"):
        StreamResampler(sample_rate=16000, channels=0)
    with pytest.raises(AudioError, match="sample format 'u8'"):
        StreamResampler(sample_rate=16000, sample_format="u8")
    stereo = StreamResampler(sample_rate=16000, channels=2)
    with pytest.raises(AudioError, match="3 channels"):
        stereo.push(np.zeros((10, 3), np.float32))
    with pytest.raises(AudioError, match="not a multiple of 2 channels"):
        stereo.push(np.zeros(11, np.float32))


def test_integer_pcm_of_any_width_is_scaled_to_full_scale() -> None:
    resampler = StreamResampler(sample_rate=SAMPLE_RATE, remove_dc=False)
    np.testing.assert_array_equal(
        resampler.push(np.array([-32768, 0, 16384], np.int16)), [-1, 0, 0.5]
    )
    np.testing.assert_array_equal(resampler.push(np.array([0, 128, 192], np.uint8)), [-1, 0, 0.5])
    np.testing.assert_array_equal(resampler.push(np.array([-(2**31), 2**30], np.int32)), [-1, 0.5])
