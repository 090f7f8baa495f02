"""Audio augmentation for the corpus, so real microphones and other voices still drive the model:
gain, background noise, reverberation, EQ, a lossy codec round trip (PyAV) and band-limiting by
resampling. Every function takes and returns (N,) float32 at SAMPLE_RATE, same length."""

from __future__ import annotations

import io
from typing import cast

import av
import numpy as np
from av.audio.stream import AudioStream
from scipy import signal

from audio.clocks import SAMPLE_RATE


def gain(x: np.ndarray, db: float) -> np.ndarray:
    return (x * 10 ** (db / 20)).astype(np.float32)


def add_noise(x: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """White or brown-ish noise at ``snr_db`` below the speech level (over voiced samples)."""
    voiced = x[np.abs(x) > 1e-3]
    level = float(np.sqrt(np.mean(voiced**2))) if voiced.size else 0.01
    noise = rng.standard_normal(x.shape[0])
    if rng.random() < 0.5:
        noise = signal.lfilter([1.0], [1.0, -0.97], noise)  # rumble: fans, traffic
    noise = noise * (level * 10 ** (-snr_db / 20) / (float(np.std(noise)) + 1e-9))
    return (x + noise).astype(np.float32)


def reverberate(x: np.ndarray, rng: np.random.Generator, rt60: float) -> np.ndarray:
    """Convolve with a synthetic room: exponentially decaying noise after a direct path."""
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    response = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 0.3
    response[0] = 1.0
    wet = signal.fftconvolve(x, response)[: x.shape[0]]
    return (wet * np.max(np.abs(x)) / (np.max(np.abs(wet)) + 1e-9)).astype(np.float32)


def equalize(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random band-pass tilt: cheap microphones cut lows and highs."""
    low = rng.uniform(60, 300)
    high = rng.uniform(3400, 7800)
    sos = signal.butter(2, [low, high], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def band_limit(x: np.ndarray, rate: int) -> np.ndarray:
    """Down to ``rate`` and back (telephone, old Bluetooth)."""
    g = np.gcd(rate, SAMPLE_RATE)
    down = signal.resample_poly(x, rate // g, SAMPLE_RATE // g)
    up = signal.resample_poly(down, SAMPLE_RATE // g, rate // g)
    out = np.zeros_like(x)
    out[: min(x.shape[0], up.shape[0])] = up[: x.shape[0]]
    return out.astype(np.float32)


def codec_round_trip(x: np.ndarray, codec: str = "libopus", bitrate: int = 16_000) -> np.ndarray:
    """Encode and decode in memory with a lossy codec (``libopus`` at 48 kHz or ``mp3``)."""
    rate = 48_000 if codec == "libopus" else SAMPLE_RATE
    fmt = "ogg" if codec == "libopus" else "mp3"
    pcm = signal.resample_poly(x, rate // SAMPLE_RATE, 1) if rate != SAMPLE_RATE else x
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = cast(AudioStream, container.add_stream(codec, rate=rate, layout="mono"))
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(pcm.astype(np.float32)[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    pieces = []
    with av.open(buffer, "r") as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        for decoded in container.decode(audio=0):
            for out in resampler.resample(decoded):
                pieces.append(out.to_ndarray().reshape(-1))
    decoded_x = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    # Codecs add a little delay at the start (pre-skip); align by cross-correlation.
    probe = min(x.shape[0], 8000)
    lag = 0
    if decoded_x.shape[0] > probe and probe > 0:
        corr = signal.correlate(decoded_x[: probe + 2000], x[:probe], mode="valid")
        lag = int(np.argmax(corr)) if corr.size else 0
    aligned = np.zeros_like(x)
    piece = decoded_x[lag : lag + x.shape[0]]
    aligned[: piece.shape[0]] = piece
    return aligned.astype(np.float32)


def augment(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """A random chain of the above; returns the audio and the names of what was applied."""
    applied: list[str] = []
    if rng.random() < 0.3:
        x = reverberate(x, rng, rng.uniform(0.1, 0.5))
        applied.append("reverb")
    if rng.random() < 0.3:
        x = equalize(x, rng)
        applied.append("eq")
    if rng.random() < 0.15:
        x = band_limit(x, int(rng.choice([8000, 11025])))
        applied.append("band_limit")
    if rng.random() < 0.5:
        x = add_noise(x, rng, rng.uniform(12, 40))
        applied.append("noise")
    if rng.random() < 0.2:
        codec = str(rng.choice(["libopus", "mp3"]))
        x = codec_round_trip(x, codec, int(rng.choice([16_000, 32_000])))
        applied.append(codec)
    db = float(rng.uniform(-14, 6))
    x = gain(x, db)
    applied.append(f"gain{db:+.0f}dB")
    return np.clip(x, -1.0, 1.0).astype(np.float32), applied
