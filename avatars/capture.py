"""Motion frames and audio from real talking-head footage, in the corpus format the teacher writes.

MediaPipe's FaceLandmarker (VIDEO mode) runs on every frame of the video, resampled to 25 fps:
its 51 blendshapes, the head angles relative to the clip's median pose, and the head translation
relative to the face size. Frames without a face are filled from their neighbours. Written beside
the video's audio (16 kHz), so ``python -m avatars.train --corpus DIR`` trains on real people.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from audio.clocks import FPS, SAMPLE_RATE, frames_for_samples
from avatars.face import FaceMeasurement, FaceMeasurer, relative_angles, rotation_from_angles
from avatars.motion import BLENDSHAPE_SLICE, HEAD_SLICE, NUM_CHANNELS, clip, write_csv

log = logging.getLogger(__name__)

MIN_DETECTED = 0.5
"""Refuse footage where a face is found in fewer than half the frames."""


class CaptureError(ValueError):
    """Footage that cannot be captured (no video, no face)."""


@dataclass(frozen=True)
class CaptureResult:
    folder: Path
    frames: int
    detected: float  # fraction of frames with a face
    seconds: float


def video_frames(path: Path) -> Iterator[tuple[int, np.ndarray]]:
    """(frame number at 25 fps, RGB) for each 25-fps tick, the source frame showing at that time."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise CaptureError(f"{path}: cannot open as a video ({exc})") from None
    with container:
        if not container.streams.video:
            raise CaptureError(f"{path}: no video stream; capture needs a talking-head video")
        stream = container.streams.video[0]
        next_tick = 0
        for frame in container.decode(stream):
            if frame.pts is None or frame.time_base is None:
                continue
            shown = float(Fraction(frame.pts) * frame.time_base)
            rgb = None
            # A source frame covers every tick from its time until the next frame's.
            while next_tick / FPS < shown + 0.5 / FPS:
                rgb = frame.to_ndarray(format="rgb24") if rgb is None else rgb
                yield next_tick, rgb
                next_tick += 1


def _translation(face: FaceMeasurement) -> np.ndarray:
    centre = face.landmarks[:, :2].mean(axis=0)
    return np.array([centre[0], centre[1], face.face_height], np.float64)


def measure_video(
    path: Path, *, measurer: FaceMeasurer | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(T, C) motion and (T,) bool detected, one row per 25-fps frame."""
    own = measurer is None
    measurer = measurer or FaceMeasurer(video=True, max_faces=1)
    faces: list[FaceMeasurement | None] = []
    try:
        for tick, rgb in video_frames(path):
            faces.append(measurer.measure(rgb, timestamp_ms=tick * 1000 // FPS))
            if progress is not None:
                progress(tick)
    finally:
        if own:
            measurer.close()
    if not faces:
        raise CaptureError(f"{path}: the video has no frames")
    detected = np.array([f is not None for f in faces])
    if detected.mean() < MIN_DETECTED:
        raise CaptureError(
            f"{path}: a face was found in {detected.mean():.0%} of frames; capture needs a face "
            f"in at least {MIN_DETECTED:.0%} (one person, facing the camera)"
        )
    found = [f for f in faces if f is not None]
    angles = np.array([[f.head_pitch, f.head_yaw, f.head_roll] for f in found])
    reference = rotation_from_angles(*np.median(angles, axis=0))
    places = np.array([_translation(f) for f in found])
    centre = np.median(places, axis=0)
    motion = np.zeros((len(faces), NUM_CHANNELS), np.float32)
    for row, face in zip(np.flatnonzero(detected), found, strict=True):
        motion[row, BLENDSHAPE_SLICE] = face.blendshape_vector()
        pitch, yaw, roll = relative_angles(face.transform, reference)
        place = _translation(face)
        shift = (place[:2] - centre[:2]) / centre[2]
        motion[row, HEAD_SLICE] = [pitch, yaw, roll, shift[0], shift[1], place[2] / centre[2] - 1]
    return _fill_gaps(motion, detected), detected


def _fill_gaps(motion: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Frames without a face: linear interpolation between the nearest measured frames."""
    if detected.all():
        return motion
    rows = np.arange(motion.shape[0])
    known = np.flatnonzero(detected)
    out = motion.copy()
    for channel in range(motion.shape[1]):
        out[:, channel] = np.interp(rows, known, motion[known, channel])
    return out


def _style(path: Path) -> list[float] | None:
    """The character style vector of the footage's face (first frame with a face)."""
    from avatars.character import Character

    for _, rgb in video_frames(path):
        try:
            return [round(float(v), 5) for v in Character.from_image(rgb).style_vector()]
        except ValueError:
            continue
    return None


def capture(
    video: Path, out_dir: Path, *, partner_audio: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> CaptureResult:
    """Write ``motion.csv``, ``self.wav`` (and ``partner.wav``), ``meta.json`` into ``out_dir``."""
    from audio.decode import load_audio
    from audio.wav import write_wav

    video, out_dir = Path(video), Path(out_dir)
    if not video.is_file():
        raise CaptureError(f"{video}: no such video file")
    motion, detected = measure_video(video, progress=progress)
    n = motion.shape[0]
    try:
        speech = load_audio(video, max_seconds=None)
    except ValueError as exc:
        log.warning("capture no usable audio video=%s reason=%s", video.name, exc)
        speech = np.zeros(0, np.float32)
    if frames_for_samples(speech.shape[0]) > n + 1:
        speech = speech[: n * SAMPLE_RATE // FPS]
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "motion.csv", clip(motion))
    write_wav(out_dir / "self.wav", speech)
    if partner_audio is not None:
        write_wav(out_dir / "partner.wav", load_audio(partner_audio, max_seconds=None))
    meta = {"source": "capture", "fps": FPS, "video": video.name, "frames": n,
            "detected": round(float(detected.mean()), 4)}  # fmt: skip
    style = _style(video)
    if style is not None:
        meta["style"] = style
    (out_dir / "meta.json").write_text(json.dumps(meta))
    log.info("captured video=%s frames=%d detected=%.3f", video.name, n, detected.mean())
    return CaptureResult(folder=out_dir, frames=n, detected=float(detected.mean()), seconds=n / FPS)
