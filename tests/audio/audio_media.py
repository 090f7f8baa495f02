"""Test helpers: encode generated audio into real files with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

# container format, codec, encoder sample format, rates the codec accepts (None = any)
FORMATS: dict[str, tuple[str, str, str, tuple[int, ...] | None]] = {
    "wav": ("wav", "pcm_s16le", "s16", None),
    "mp3": ("mp3", "libmp3lame", "fltp", (8000, 16000, 22050, 24000, 44100, 48000)),
    "m4a": ("mp4", "aac", "fltp", None),
    "ogg": ("ogg", "libopus", "flt", (48000,)),
    "webm": ("webm", "libopus", "flt", (48000,)),
    "flac": ("flac", "flac", "s16", None),
}


def encode(path: Path, samples: np.ndarray, rate: int, *, channels: int = 1) -> Path:
    """Write float (N,) mono ``samples`` at ``rate`` as the format named by ``path``'s suffix.

    Stereo files get the signal on the left and half of it on the right.
    """
    container_format, codec, sample_format, _ = FORMATS[path.suffix.lstrip(".")]
    layout = "stereo" if channels == 2 else "mono"
    mono = np.asarray(samples, np.float32)
    planes = np.stack([mono, 0.5 * mono]) if channels == 2 else mono[None, :]
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        if sample_format == "s16":
            data = (np.clip(planes, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1)
        elif sample_format == "flt":
            data = np.ascontiguousarray(planes.T.reshape(1, -1))
        else:
            data = np.ascontiguousarray(planes)
        frame = av.AudioFrame.from_ndarray(data, format=sample_format, layout=layout)
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
