from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from audio_media import encode

from audio.clocks import SAMPLE_RATE
from audio.decode import load_audio
from audio.errors import AudioError
from audio.resample import resample
from audio.tts import Speech


def _at_rate(speech: Speech, rate: int) -> np.ndarray:
    """The speech as a recording at ``rate`` (band-limited through the 16 kHz original)."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    frame = av.AudioFrame.from_ndarray(speech.samples[None, :], format="flt", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    out = resampler.resample(frame) + resampler.resample(None)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in out])


def _envelope(x: np.ndarray) -> np.ndarray:
    n = x.shape[0] // 160
    return np.sqrt((x[: n * 160].reshape(n, 160) ** 2).mean(axis=1))


@pytest.mark.parametrize(
    ("fmt", "rate", "channels"),
    [
        ("wav", 8000, 1),
        ("wav", 44100, 2),
        ("mp3", 22050, 1),
        ("mp3", 48000, 2),
        ("m4a", 24000, 1),
        ("m4a", 44100, 2),
        ("ogg", 48000, 1),
        ("webm", 48000, 2),
        ("flac", 16000, 1),
        ("flac", 48000, 2),
    ],
)
def test_decodes_each_format_to_16k_mono_with_the_speech_intact(
    tmp_path: Path, espeak_speech: Speech, fmt: str, rate: int, channels: int
) -> None:
    path = encode(
        tmp_path / f"speech.{fmt}", _at_rate(espeak_speech, rate), rate, channels=channels
    )
    decoded = load_audio(path)
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    expected = espeak_speech.samples * (0.75 if channels == 2 else 1.0)  # stereo: mean of L, L/2
    # Encoders add priming delay and padding: at most ~60 ms either way.
    assert abs(decoded.shape[0] - expected.shape[0]) < 0.06 * SAMPLE_RATE
    env_in, env_out = _envelope(expected), _envelope(decoded)
    lags = range(-8, 9)
    n = min(env_in.shape[0], env_out.shape[0]) - 10
    corr = [
        np.corrcoef(env_in[10 : n - 10], env_out[10 + lag : n - 10 + lag])[0, 1] for lag in lags
    ]
    assert max(corr) > 0.95, f"{fmt} envelope correlation {max(corr):.3f}"
    loudness = np.sqrt((decoded**2).mean()) / np.sqrt((expected**2).mean())
    assert 0.8 < loudness < 1.25


def test_bytes_decode_like_the_file(tmp_path: Path, espeak_speech: Speech) -> None:
    path = encode(tmp_path / "speech.flac", espeak_speech.samples, SAMPLE_RATE)
    np.testing.assert_array_equal(load_audio(path.read_bytes()), load_audio(path))


def test_silence_is_valid(tmp_path: Path) -> None:
    path = encode(tmp_path / "quiet.wav", np.zeros(8000, np.float32), 8000)
    decoded = load_audio(path)
    assert decoded.shape[0] == SAMPLE_RATE and not decoded.any()


def test_large_dc_offset_is_removed(tmp_path: Path) -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    path = encode(tmp_path / "dc.wav", 0.3 + 0.2 * np.sin(2 * np.pi * 220 * t), SAMPLE_RATE)
    decoded = load_audio(path)
    assert abs(decoded.mean()) < 1e-3 and decoded.std() > 0.1


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"nope\.wav: no such file"):
        load_audio(tmp_path / "nope.wav")


def test_text_file_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_text("these are not the samples you are looking for\n" * 50)
    with pytest.raises(AudioError, match=r"notes\.mp3: not a readable audio file"):
        load_audio(path)


def test_empty_file_and_empty_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(path)
    with pytest.raises(AudioError, match="empty"):
        load_audio(b"")


def test_truncated_file_is_refused_or_decodes_what_is_there(
    tmp_path: Path, espeak_speech: Speech
) -> None:
    for fmt in ("wav", "m4a", "flac", "mp3"):
        data = encode(tmp_path / f"speech.{fmt}", espeak_speech.samples, SAMPLE_RATE).read_bytes()
        cut = data[: len(data) // 3]
        try:
            decoded = load_audio(cut)
        except AudioError as exc:
            assert "bytes of audio" in str(exc)
        else:  # what decodes is the beginning of the speech, never garbage or a hang
            assert 0 < decoded.shape[0] <= espeak_speech.samples.shape[0] * 0.6
            assert np.isfinite(decoded).all()


def test_file_without_audio_stream(tmp_path: Path) -> None:
    import av

    path = tmp_path / "video.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height = 64, 64
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(AudioError, match=r"video\.mp4: no audio stream \(found video\)"):
        load_audio(path)


def test_too_long_is_refused_with_duration_and_limit(tmp_path: Path) -> None:
    path = encode(tmp_path / "long.flac", np.zeros(8000 * 30, np.float32), 8000)
    with pytest.raises(AudioError, match=r"30\.0 s long, longer than the limit of 10 s"):
        load_audio(path, max_seconds=10)
    assert load_audio(path, max_seconds=None).shape[0] == 30 * SAMPLE_RATE


def test_nan_samples_are_refused(tmp_path: Path) -> None:
    import av

    path = tmp_path / "nan.wav"
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_f32le", rate=SAMPLE_RATE, layout="mono")
        data = np.zeros((1, 1600), np.float32)
        data[0, 100:110] = np.nan
        frame = av.AudioFrame.from_ndarray(data, format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(AudioError, match=r"nan\.wav: \d+ samples are NaN or infinite"):
        load_audio(path)


def test_resample_keeps_duration_and_rejects_impossible_rates() -> None:
    x = np.random.default_rng(0).standard_normal(44100).astype(np.float32) * 0.1
    assert resample(x, 44100).shape[0] == SAMPLE_RATE
    for bad in (0, -16000, 500_000, 22050.5):
        with pytest.raises(AudioError, match="sample rate"):
            resample(x, bad)  # type: ignore[arg-type]


def _damage(data: bytes, start: float, stop: float, seed: int = 0) -> bytes:
    damaged = bytearray(data)
    a, b = int(len(data) * start), int(len(data) * stop)
    damaged[a:b] = np.random.default_rng(seed).integers(0, 256, b - a).astype(np.uint8).tobytes()
    return bytes(damaged)


def test_a_damaged_packet_becomes_silence_and_timing_is_kept(
    tmp_path: Path, espeak_speech: Speech
) -> None:
    data = encode(tmp_path / "speech.m4a", espeak_speech.samples, SAMPLE_RATE).read_bytes()
    decoded = load_audio(_damage(data, 0.33, 0.335))
    assert np.isfinite(decoded).all()
    assert abs(decoded.shape[0] - espeak_speech.samples.shape[0]) < 0.06 * SAMPLE_RATE


def test_mostly_damaged_audio_is_refused(tmp_path: Path, espeak_speech: Speech) -> None:
    data = encode(tmp_path / "speech.m4a", espeak_speech.samples, SAMPLE_RATE).read_bytes()
    with pytest.raises(
        AudioError, match=r"bytes of audio>: (corrupt audio, \d+ of \d+ packets|no decodable)"
    ):
        load_audio(_damage(data, 0.05, 0.8))
