"""The clip pipeline: character + speech → motion (driver seam) → frames → encoded file.

The ``visavis clip`` command and the REST clip jobs both call ``render_clip``. The motion comes
through ``avatars.driver.MotionStream`` (by default the world model, ``avatars.model``); the
frames from ``renderer.make_renderer``, on ``ClipOptions.device``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audio.clocks import FPS, SAMPLE_RATE
from avatars import motion as motion_io
from avatars.driver import MotionStream, drive_offline
from service.sizes import check_size_name

log = logging.getLogger(__name__)

FORMATS = ("mp4", "webm")

ProgressCallback = Callable[[int, int], None]
"""Called with (frames done, frames total) after each rendered frame."""


@dataclass(frozen=True)
class ClipOptions:
    size: str = "512"
    fmt: str = "mp4"
    seed: int | None = None
    mix_partner: bool = False
    """Put the partner's audio in the clip's soundtrack too (else only the avatar's own speech)."""
    device: str = "cpu"
    """Where the world model and the renderer run (``VISAVIS_DEVICE``)."""

    def __post_init__(self) -> None:
        check_size_name(self.size)
        if self.fmt not in FORMATS:
            raise ValueError(f"format {self.fmt!r} is not one of {', '.join(FORMATS)}")
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise ValueError(f"seed {self.seed} must be in 0..{2**32 - 1}")


@dataclass(frozen=True)
class ClipResult:
    path: Path
    frames: int
    seconds: float
    motion: np.ndarray  # (T, NUM_CHANNELS)
    render_ms_per_frame: float


def soundtrack(
    self_audio: np.ndarray, partner_audio: np.ndarray | None, *, mix: bool
) -> np.ndarray:
    """The clip's audio (N,) float32: the avatar's speech, with the partner mixed in if asked."""
    if partner_audio is None or not mix:
        return self_audio
    n = max(self_audio.shape[0], partner_audio.shape[0])
    mixed = np.zeros(n, np.float32)
    mixed[: self_audio.shape[0]] += self_audio
    mixed[: partner_audio.shape[0]] += partner_audio
    peak = float(np.abs(mixed).max()) if n else 0.0
    return mixed / peak if peak > 1.0 else mixed


def render_clip(
    character: Any,
    self_audio: np.ndarray,
    out: str | Path,
    *,
    options: ClipOptions | None = None,
    partner_audio: np.ndarray | None = None,
    stream: MotionStream | None = None,
    motion_out: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> ClipResult:
    """Render one clip to ``out`` (written atomically), as long as the longer audio track.

    character: ``avatars.character.Character``; self_audio, partner_audio: (N,) float32 16 kHz.
    ``progress`` may raise to cancel: the partial file is removed and the exception propagates.
    """
    from renderer import make_renderer
    from renderer.encode import VideoWriter

    options = options or ClipOptions()
    for name, track in (("self_audio", self_audio), ("partner_audio", partner_audio)):
        if track is not None and (track.ndim != 1 or track.dtype != np.float32):
            raise ValueError(
                f"{name} must be (N,) float32 at {SAMPLE_RATE} Hz, got {track.shape} {track.dtype}"
            )
    started = time.perf_counter()
    if stream is None:
        from avatars.model import load_motion_stream

        stream = load_motion_stream(
            seed=options.seed, style=character.style_vector(), device=options.device
        )
    motion = motion_io.clip(drive_offline(stream, self_audio, partner_audio))  # (T, C)
    n_frames = motion.shape[0]
    audio = soundtrack(self_audio, partner_audio, mix=options.mix_partner)
    renderer = make_renderer(character, size=options.size, device=options.device)
    width, height = renderer.size
    out = Path(out)
    render_seconds = 0.0
    with VideoWriter(
        out, width=width, height=height, fps=FPS, audio=audio, audio_rate=SAMPLE_RATE,
        fmt=options.fmt,  # type: ignore[arg-type]
    ) as writer:  # fmt: skip
        for t in range(n_frames):
            tick = time.perf_counter()
            frame = renderer.render(motion[t])  # (H, W, 3) uint8
            render_seconds += time.perf_counter() - tick
            writer.write(frame)
            if progress is not None:
                progress(t + 1, n_frames)
    if motion_out is not None:
        _write_motion_atomically(Path(motion_out), motion)
    render_ms = 1000.0 * render_seconds / n_frames
    log.info(
        "clip rendered frames=%d seconds=%.2f size=%s format=%s render_ms_per_frame=%.1f "
        "encode_ms_per_frame=%.1f wall_s=%.1f",
        n_frames, n_frames / FPS, options.size, options.fmt, render_ms, writer.ms_per_frame,
        time.perf_counter() - started,
    )  # fmt: skip
    return ClipResult(out, n_frames, n_frames / FPS, motion, render_ms)


def _write_motion_atomically(path: Path, motion: np.ndarray) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        motion_io.write_csv(partial, motion)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
