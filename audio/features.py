"""Log-mel features in torch, offline and streaming, identical either way.

Like whisper's ``audio.py`` (Hann window N_FFT, hop HOP_LENGTH, N_MELS slaney mels, log10 with a
clamp, whisper's ``(x + 4) / 4`` scaling) with two changes for streaming:

- Each row's window *ends* on a hop boundary: row t covers samples
  ``[(t + 1) * HOP_LENGTH - N_FFT, (t + 1) * HOP_LENGTH)`` (zeros before the start). A video
  frame's FEATURES_PER_FRAME rows therefore need no audio after the frame: the lookahead is
  ``FEATURE_LOOKAHEAD_SAMPLES = 0``, leaving the whole 80 ms budget (LOOKAHEAD_FRAMES) to the
  model.
- The dynamic range is clamped below a fixed reference (a full-scale sine), not below the clip's
  own maximum, which would depend on the future.
"""

from __future__ import annotations

import numpy as np
import torch

from audio.clocks import (
    FEATURES_PER_FRAME,
    HOP_LENGTH,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
)
from audio.errors import AudioError

FEATURE_LOOKAHEAD_SAMPLES = 0
"""Audio after the end of a video frame needed to compute that frame's rows."""
HISTORY_SAMPLES = N_FFT - HOP_LENGTH
"""Samples before a hop that its row's window also covers (240)."""
LOG_MEL_REFERENCE = 2.5
"""log10 mel power just above a full-scale sine's strongest band (≈ 2.3); the fixed reference."""
DYNAMIC_RANGE = 8.0
"""log10 units (80 dB) kept below the reference, as whisper keeps below its clip maximum."""
LOG_FLOOR = 1e-10
_POWER_FLOOR = max(LOG_FLOOR, 10.0 ** (LOG_MEL_REFERENCE - DYNAMIC_RANGE))


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mel = hz / f_sp
    above = hz >= min_log_hz
    mel[above] = min_log_mel + np.log(hz[above] / min_log_hz) / logstep
    return mel


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """The inverse of ``hz_to_mel``."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    hz = f_sp * mel
    above = mel >= min_log_mel
    hz[above] = min_log_hz * np.exp(logstep * (mel[above] - min_log_mel))
    return hz


def mel_edges_hz(*, sample_rate: int = SAMPLE_RATE, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels + 2,) the filters' edges, evenly spaced in mel from 0 Hz to Nyquist: filter k
    rises from edge k, peaks at edge k + 1 (its centre) and falls to edge k + 2."""
    top = hz_to_mel(np.array([sample_rate / 2], np.float64))[0]
    return mel_to_hz(np.linspace(0.0, top, n_mels + 2))


def mel_filterbank(
    *, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS
) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) slaney-normalised triangular filters, 0 Hz to Nyquist
    (what ``librosa.filters.mel`` gives and whisper ships)."""
    fft_freqs = np.linspace(0.0, sample_rate / 2, 1 + n_fft // 2)
    edges = mel_edges_hz(sample_rate=sample_rate, n_mels=n_mels)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # equal area per filter (slaney)
    return weights.astype(np.float32)


_FILTERS = torch.from_numpy(mel_filterbank().T.copy())  # (N_FFT // 2 + 1, N_MELS)
_WINDOW = torch.hann_window(N_FFT, periodic=True)  # whisper's window


def _rows(padded: torch.Tensor, n_rows: int) -> torch.Tensor:
    """padded: (HISTORY_SAMPLES + n_rows * HOP_LENGTH,) -> (n_rows, N_MELS) normalised log-mel."""
    windows = padded.unfold(0, N_FFT, HOP_LENGTH)[:n_rows] * _WINDOW  # (n_rows, N_FFT)
    spectrum = torch.view_as_real(torch.fft.rfft(windows, dim=-1))  # (n_rows, N_FFT // 2 + 1, 2)
    power = spectrum.square().sum(dim=-1)  # (n_rows, N_FFT // 2 + 1)
    mel = power @ _FILTERS  # (n_rows, N_MELS)
    # whisper: log10(max(mel, 1e-10)), then max(., reference - 8), then (. + 4) / 4; the two
    # floors collapse into one because the fixed one is the higher.
    return mel.clamp_(min=_POWER_FLOOR).log10_().add_(4.0).mul_(0.25)


def _as_tensor(samples: np.ndarray | torch.Tensor) -> torch.Tensor:
    raw = samples.numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
    if raw.dtype.kind not in "f":
        raise AudioError(
            f"log-mel needs float samples in [-1, 1], got dtype {raw.dtype} "
            "(convert PCM with audio.stream.StreamResampler)"
        )
    array = raw.astype(np.float32, copy=False).reshape(-1)
    if not np.isfinite(array).all():
        array = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
    return torch.from_numpy(array)


def log_mel(samples: np.ndarray | torch.Tensor) -> np.ndarray:
    """(N,) 16 kHz mono -> (N // HOP_LENGTH, N_MELS) float32; one row per complete hop."""
    audio = _as_tensor(samples)
    n_rows = audio.shape[0] // HOP_LENGTH
    padded = torch.cat([torch.zeros(HISTORY_SAMPLES), audio[: n_rows * HOP_LENGTH]])
    with torch.no_grad():
        return _rows(padded, n_rows).numpy()


class StreamingLogMel:
    """Samples in (any chunking), rows out as soon as their hop is complete: exactly
    FEATURES_PER_FRAME rows per SAMPLES_PER_FRAME samples, equal to ``log_mel`` of the whole."""

    def __init__(self) -> None:
        self._buffer = torch.zeros(HISTORY_SAMPLES)  # window history + the incomplete hop

    def push(self, samples: np.ndarray | torch.Tensor) -> np.ndarray:
        """(n,) 16 kHz mono -> (rows completed by these samples, N_MELS) float32."""
        buffer = torch.cat([self._buffer, _as_tensor(samples)])
        n_rows = (buffer.shape[0] - HISTORY_SAMPLES) // HOP_LENGTH
        if n_rows == 0:
            self._buffer = buffer
            return np.zeros((0, N_MELS), np.float32)
        with torch.no_grad():
            rows = _rows(buffer, n_rows).numpy()
        self._buffer = buffer[n_rows * HOP_LENGTH :]
        return rows

    def reset(self) -> None:
        self._buffer = torch.zeros(HISTORY_SAMPLES)


assert SAMPLES_PER_FRAME == FEATURES_PER_FRAME * HOP_LENGTH  # a frame's rows end on its end
