"""Streaming voice activity with silero-vad's packaged ONNX model, one 32 ms window at a time.

ONNX on one thread is faster than the JIT model here (≈0.12 ms vs ≈0.36 ms per window), so the
packaged ``silero_vad.onnx`` runs through onnxruntime directly; state and the 64-sample context
that silero prepends to each window are carried across calls.
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any

import numpy as np

from audio.clocks import SAMPLE_RATE, VAD_WINDOW
from audio.errors import AudioError

log = logging.getLogger(__name__)

CONTEXT_SAMPLES = 64
"""Samples of the previous window silero prepends at 16 kHz."""
STATE_SHAPE = (2, 1, 128)
"""silero's recurrent state: (2, streams, 128)."""

_session: Any = None
_session_lock = threading.Lock()


def _vad_session() -> Any:
    """The packaged model's onnxruntime session, loaded once per process (thread-safe to run)."""
    global _session
    with _session_lock:
        if _session is None:
            from silero_vad import load_silero_vad

            with warnings.catch_warnings():  # its resource lookup uses a deprecated API
                warnings.simplefilter("ignore", DeprecationWarning)
                _session = load_silero_vad(onnx=True).session  # single-threaded session
            log.info("silero-vad loaded backend=onnx")
        return _session


class StreamingVad:
    """16 kHz samples in (any chunking), one speech probability per VAD_WINDOW out.

    ``streams`` > 1 runs several equally-fed streams (e.g. the avatar and its partner) through
    one model call per window, which costs less than separate calls.
    """

    def __init__(self, *, streams: int = 1) -> None:
        if isinstance(streams, bool) or not isinstance(streams, int) or not 1 <= streams <= 64:
            raise AudioError(f"streams={streams!r}: expected 1 to 64 streams")
        self.streams = streams
        self._session = _vad_session()
        self._rate = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((STATE_SHAPE[0], self.streams, STATE_SHAPE[2]), np.float32)
        self._context = np.zeros((self.streams, CONTEXT_SAMPLES), np.float32)
        self._pending = np.zeros((self.streams, 0), np.float32)
        self.last_probabilities = np.zeros(self.streams, np.float32)

    @property
    def last_probability(self) -> float:
        """The latest probability of the first (or only) stream."""
        return float(self.last_probabilities[0])

    def push(self, samples: np.ndarray) -> np.ndarray:
        """(n,) float32 16 kHz, or (streams, n) -> (windows completed,) probabilities in [0, 1],
        or (streams, windows completed)."""
        chunk = np.asarray(samples, dtype=np.float32)
        single = chunk.ndim == 1
        chunk = chunk.reshape(1, -1) if single else chunk
        if chunk.ndim != 2 or chunk.shape[0] != self.streams or (single and self.streams != 1):
            raise AudioError(
                f"VAD input of shape {np.asarray(samples).shape}; expected (n,) for one stream "
                f"or ({self.streams}, n)"
            )
        if not np.isfinite(chunk).all():
            chunk = np.nan_to_num(chunk, nan=0.0, posinf=0.0, neginf=0.0)
        pending = np.concatenate([self._pending, chunk], axis=1) if self._pending.size else chunk
        n_windows = pending.shape[1] // VAD_WINDOW
        probabilities = np.empty((self.streams, n_windows), np.float32)
        for i in range(n_windows):
            probabilities[:, i] = self._run(pending[:, i * VAD_WINDOW : (i + 1) * VAD_WINDOW])
        self._pending = pending[:, n_windows * VAD_WINDOW :].copy()
        return probabilities[0] if single else probabilities

    def _run(self, window: np.ndarray) -> np.ndarray:
        model_input = np.concatenate([self._context, window], axis=1)  # (streams, 64 + 512)
        try:
            output, self._state = self._session.run(
                None, {"input": model_input, "state": self._state, "sr": self._rate}
            )
        except Exception as exc:  # onnxruntime raises its own types
            raise RuntimeError(
                f"silero-vad failed on a {window.shape}-sample window: {exc}"
            ) from exc
        self._context = model_input[:, -CONTEXT_SAMPLES:]
        self.last_probabilities = output[:, 0].astype(np.float32)
        return self.last_probabilities


def speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """Offline: (N,) 16 kHz -> (N // VAD_WINDOW,) probabilities, the same as streaming."""
    if np.asarray(samples).ndim != 1:
        raise AudioError(f"expected (N,) mono samples, got shape {np.asarray(samples).shape}")
    return StreamingVad().push(samples)
