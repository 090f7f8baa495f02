"""Encoders: RGB frames (+ the clip's audio) → MP4 (H.264 + AAC) or WebM (VP8 + Opus), via PyAV.

The audio track is cut or padded to the video's length when the file is closed, so both streams
always last the same time (within one audio codec frame). Audio is interleaved with the video as
frames are written, so memory stays flat however long the clip is. The file appears at ``path``
only when the writer closes cleanly: it is written beside it under a temporary name and renamed,
so an error never leaves half a file behind.
"""

from __future__ import annotations

import logging
import os
import time
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Literal, cast

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from avatars.motion import FPS, SAMPLE_RATE

log = logging.getLogger(__name__)

Format = Literal["mp4", "webm"]
FORMATS: tuple[str, ...] = ("mp4", "webm")

_VIDEO_CODEC = {"mp4": "libx264", "webm": "libvpx"}
_AUDIO_CODEC = {"mp4": "aac", "webm": "libopus"}
_AUDIO_OUT_RATE = 48_000
_VIDEO_OPTIONS = {
    # crf 20 looks clean on faces; veryfast keeps encoding well under the render cost.
    "mp4": {"crf": "20", "preset": "veryfast"},
    # VP8 needs a bitrate ceiling for its crf; "good" + cpu-used 4 is ~real time on one core.
    "webm": {"crf": "10", "deadline": "good", "cpu-used": "4"},
}
_MUXER_OPTIONS = {"mp4": {"movflags": "+faststart"}, "webm": {}}


class EncodeError(ValueError):
    """Bad arguments to the encoder (size, format, frame shape, audio)."""


class VideoWriter:
    """Write RGB frames (H, W, 3) uint8 at ``fps`` to an MP4 or WebM file, with optional audio.

    ``audio`` is the whole track, (N,) float32 mono in [-1, 1] at ``audio_rate`` Hz. Use as a
    context manager; ``write`` one frame at a time.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        width: int,
        height: int,
        fps: int = FPS,
        audio: np.ndarray | None = None,
        audio_rate: int = SAMPLE_RATE,
        fmt: Format = "mp4",
    ) -> None:
        if fmt not in FORMATS:
            raise EncodeError(f"format {fmt!r} is not supported; use one of {', '.join(FORMATS)}")
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, int) or value < 2 or value % 2:
                raise EncodeError(f"{name} {value!r} must be an even number of pixels >= 2")
        if not isinstance(fps, int) or fps <= 0:
            raise EncodeError(f"fps {fps!r} must be a positive integer")
        if audio is not None:
            audio = np.asarray(audio)
            if audio.ndim != 1:
                raise EncodeError(f"audio must be mono (N,) samples, got shape {audio.shape}")
            if not isinstance(audio_rate, int) or audio_rate <= 0:
                raise EncodeError(f"audio_rate {audio_rate!r} must be a positive integer (Hz)")
        self.path = Path(path)
        self.width, self.height, self.fps, self.fmt = width, height, fps, fmt
        self.frames_written = 0
        self._audio = None if audio is None else np.clip(audio.astype(np.float32), -1.0, 1.0)
        self._audio_rate = audio_rate
        self._audio_sent = 0  # input samples handed to the encoder so far
        self._encode_seconds = 0.0
        self._partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self._container = av.open(
            str(self._partial), mode="w", format=fmt, options=_MUXER_OPTIONS[fmt]
        )
        try:
            self._video = cast(
                VideoStream,
                self._container.add_stream(
                    _VIDEO_CODEC[fmt], rate=fps, options=_VIDEO_OPTIONS[fmt]
                ),
            )
            self._video.width, self._video.height = width, height
            self._video.pix_fmt = "yuv420p"
            self._video.time_base = Fraction(1, fps)
            if fmt == "webm":
                self._video.bit_rate = 4_000_000
            self._audio_stream: AudioStream | None = None
            if self._audio is not None:
                stream = cast(
                    AudioStream, self._container.add_stream(_AUDIO_CODEC[fmt], rate=_AUDIO_OUT_RATE)
                )
                stream.layout = "mono"
                stream.bit_rate = 96_000
                self._audio_stream = stream
        except Exception:
            self._discard()
            raise
        self._closed = False

    # ---- context manager ------------------------------------------------------------------------

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # ---- writing --------------------------------------------------------------------------------

    def write(self, frame_rgb: np.ndarray) -> None:
        """Append one video frame: (height, width, 3) uint8 RGB."""
        if self._closed:
            raise RuntimeError(f"{self.path}: write() after close()")
        frame_rgb = np.asarray(frame_rgb)
        if frame_rgb.shape != (self.height, self.width, 3) or frame_rgb.dtype != np.uint8:
            raise EncodeError(
                f"frame of shape {frame_rgb.shape} {frame_rgb.dtype}; expected "
                f"({self.height}, {self.width}, 3) uint8"
            )
        started = time.perf_counter()
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_rgb), format="rgb24")
        frame.pts = self.frames_written
        self._container.mux(self._video.encode(frame))
        self.frames_written += 1
        self._send_audio_until(self._samples_for_video())
        self._encode_seconds += time.perf_counter() - started

    def _samples_for_video(self) -> int:
        """Input audio samples that span the frames written so far."""
        return self.frames_written * self._audio_rate // self.fps

    def _send_audio_until(self, end: int) -> None:
        if self._audio_stream is None or self._audio is None or end <= self._audio_sent:
            return
        chunk = np.zeros(end - self._audio_sent, np.float32)  # silence past the track's end
        have = self._audio[self._audio_sent : end]
        chunk[: have.shape[0]] = have
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
        frame.sample_rate = self._audio_rate
        frame.time_base = Fraction(1, self._audio_rate)
        frame.pts = self._audio_sent
        self._container.mux(self._audio_stream.encode(frame))
        self._audio_sent = end

    # ---- closing --------------------------------------------------------------------------------

    def close(self) -> None:
        """Flush the encoders, close the file and move it into place."""
        if self._closed:
            return
        self._closed = True
        try:
            self._send_audio_until(self._samples_for_video())
            self._container.mux(self._video.encode(None))
            if self._audio_stream is not None:
                self._container.mux(self._audio_stream.encode(None))
            self._container.close()
            self._partial.replace(self.path)
        except BaseException:
            self._discard()
            raise
        log.info(
            "encoded path=%s format=%s size=%dx%d frames=%d ms_per_frame=%.2f",
            self.path.name, self.fmt, self.width, self.height, self.frames_written,
            self.ms_per_frame,
        )  # fmt: skip

    def abort(self) -> None:
        """Stop without producing a file (used when rendering failed)."""
        self._closed = True
        self._discard()

    def _discard(self) -> None:
        try:
            self._container.close()
        except Exception as exc:  # the file is being thrown away; the original error matters
            log.debug("closing discarded container failed error=%s", type(exc).__name__)
        self._partial.unlink(missing_ok=True)

    @property
    def ms_per_frame(self) -> float:
        """Mean wall time spent encoding (video + audio) per frame written, in ms."""
        return 1000.0 * self._encode_seconds / max(self.frames_written, 1)


def _smooth_test_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Photo-like content (smooth colour fields): white noise would make the encoder look slow."""
    coarse = rng.integers(0, 255, (height // 32 + 2, width // 32 + 2, 3)).astype(np.float32)
    rows = np.linspace(0, coarse.shape[0] - 1, height)
    cols = np.linspace(0, coarse.shape[1] - 1, width)
    smooth = coarse[rows.astype(int)][:, cols.astype(int)]
    return np.ascontiguousarray(smooth.astype(np.uint8))


def encode_bench(n_frames: int = 100) -> dict[str, float]:
    """Encode ms/frame for MP4 and WebM at 512² and 720p on synthetic frames; prints and returns."""
    import tempfile

    results: dict[str, float] = {}
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            for width, height in ((512, 512), (1280, 720)):
                base = _smooth_test_image(rng, height, width)
                audio = rng.standard_normal(n_frames * SAMPLE_RATE // FPS).astype(np.float32) * 0.1
                out = Path(tmp) / f"bench.{fmt}"
                with VideoWriter(
                    out, width=width, height=height, audio=audio, fmt=fmt  # type: ignore[arg-type]
                ) as writer:
                    for t in range(n_frames):
                        writer.write(np.roll(base, 4 * t, axis=1))  # moving content, like a face
                key = f"encode_{fmt}_{width}x{height}_ms_per_frame"
                results[key] = writer.ms_per_frame
                print(f"{key}: {writer.ms_per_frame:.2f}")
    return results


def run() -> dict[str, float]:
    """``make bench`` entry point (tools.bench)."""
    return encode_bench()


if __name__ == "__main__":
    encode_bench()
