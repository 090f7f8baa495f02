"""The motion frame: one named vector per video frame, the same everywhere.

Model output, renderer input, capture and export all use this layout:
52 ARKit blendshapes in [0, 1] (ARKit names and order), head pose (pitch, yaw, roll in degrees;
translation x, y, z relative to face size) and body (lean x, lean y, shoulder shrug).
A single frame is a float32 array of shape (NUM_CHANNELS,); a sequence is (T, NUM_CHANNELS).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from audio.clocks import FPS

# The clocks of a frame (25 fps, 640 samples of 16 kHz audio each), re-exported from
# audio.clocks for the renderer, which reads them here because it may not import audio.
from audio.clocks import SAMPLE_RATE as SAMPLE_RATE
from audio.clocks import SAMPLES_PER_FRAME as SAMPLES_PER_FRAME

BLENDSHAPES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawRight", "jawLeft", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthRight", "mouthLeft",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)  # fmt: skip
HEAD_POSE: tuple[str, ...] = ("headPitch", "headYaw", "headRoll", "headX", "headY", "headZ")
BODY: tuple[str, ...] = ("bodyLeanX", "bodyLeanY", "bodyShrug")
CHANNELS: tuple[str, ...] = BLENDSHAPES + HEAD_POSE + BODY

NUM_BLENDSHAPES = len(BLENDSHAPES)
NUM_CHANNELS = len(CHANNELS)
assert NUM_BLENDSHAPES == 52 and NUM_CHANNELS == 61

_INDEX = {name: i for i, name in enumerate(CHANNELS)}
BLENDSHAPE_SLICE = slice(0, NUM_BLENDSHAPES)
HEAD_SLICE = slice(NUM_BLENDSHAPES, NUM_BLENDSHAPES + len(HEAD_POSE))
BODY_SLICE = slice(NUM_BLENDSHAPES + len(HEAD_POSE), NUM_CHANNELS)

MAX_HEAD_ANGLE_DEG = 30.0
"""Head angles beyond this are clipped: the renderer is built for about ±20°."""
MAX_TRANSLATION = 0.3
MAX_BODY = 1.0


class MotionFormatError(ValueError):
    """A motion file or mapping that cannot be read as motion frames."""


def index(name: str) -> int:
    """Channel index of ``name`` (ARKit camelCase, e.g. ``jawOpen``)."""
    try:
        return _INDEX[name]
    except KeyError:
        raise KeyError(f"unknown motion channel {name!r}; known: {', '.join(CHANNELS)}") from None


def neutral(n_frames: int | None = None) -> np.ndarray:
    """All zeros, (C,) or (T, C): blendshapes are absolute, so this is a relaxed face (not the photo, whose own expression `Renderer.rest_motion()` reproduces) with the head as photographed."""
    shape = (NUM_CHANNELS,) if n_frames is None else (n_frames, NUM_CHANNELS)
    return np.zeros(shape, dtype=np.float32)


def clip(motion: np.ndarray) -> np.ndarray:
    """Clamp every channel to its valid range; NaN becomes 0. Works on (C,) or (T, C)."""
    out = np.nan_to_num(np.asarray(motion, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    out = out.copy()
    out[..., BLENDSHAPE_SLICE] = np.clip(out[..., BLENDSHAPE_SLICE], 0.0, 1.0)
    out[..., HEAD_SLICE.start : HEAD_SLICE.start + 3] = np.clip(
        out[..., HEAD_SLICE.start : HEAD_SLICE.start + 3], -MAX_HEAD_ANGLE_DEG, MAX_HEAD_ANGLE_DEG
    )
    out[..., HEAD_SLICE.start + 3 : HEAD_SLICE.stop] = np.clip(
        out[..., HEAD_SLICE.start + 3 : HEAD_SLICE.stop], -MAX_TRANSLATION, MAX_TRANSLATION
    )
    out[..., BODY_SLICE] = np.clip(out[..., BODY_SLICE], -MAX_BODY, MAX_BODY)
    return out


def from_dict(values: Mapping[str, float]) -> np.ndarray:
    """A frame from named values; unnamed channels are neutral. Unknown names are an error."""
    frame = neutral()
    for name, value in values.items():
        frame[index(name)] = float(value)
    return frame


def to_dict(frame: np.ndarray) -> dict[str, float]:
    return {name: float(v) for name, v in zip(CHANNELS, np.asarray(frame).reshape(-1), strict=True)}


# ---- Live Link Face–style CSV ------------------------------------------------------------------

def _pascal(name: str) -> str:
    return name[0].upper() + name[1:]


_CSV_BLENDSHAPE_COLUMNS = tuple(_pascal(n) for n in BLENDSHAPES)
_CSV_HEAD_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll")
_CSV_EXTRA_COLUMNS = ("HeadX", "HeadY", "HeadZ", "BodyLeanX", "BodyLeanY", "BodyShrug")
CSV_COLUMNS: tuple[str, ...] = (
    ("Timecode", "BlendShapeCount") + _CSV_BLENDSHAPE_COLUMNS + _CSV_HEAD_COLUMNS + _CSV_EXTRA_COLUMNS
)
_CSV_TO_CHANNEL = {_pascal(n): n for n in BLENDSHAPES} | {
    "HeadYaw": "headYaw", "HeadPitch": "headPitch", "HeadRoll": "headRoll",
    "HeadX": "headX", "HeadY": "headY", "HeadZ": "headZ",
    "BodyLeanX": "bodyLeanX", "BodyLeanY": "bodyLeanY", "BodyShrug": "bodyShrug",
}  # fmt: skip


def timecode(frame_index: int, fps: int = FPS) -> str:
    """``HH:MM:SS:FF`` for a frame number, as Live Link Face writes it."""
    seconds, frames = divmod(frame_index, fps)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"


def write_csv(path: str | Path, frames: np.ndarray | Iterable[np.ndarray]) -> None:
    """Write (T, C) motion as Live Link Face–style CSV, one row per frame at 25 fps."""
    motion = np.asarray(list(frames) if not isinstance(frames, np.ndarray) else frames, np.float32)
    motion = motion.reshape(-1, NUM_CHANNELS)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for t, frame in enumerate(motion):
            row: list[str] = [timecode(t), str(NUM_BLENDSHAPES)]
            row += [f"{frame[index(_CSV_TO_CHANNEL[c])]:.5f}" for c in CSV_COLUMNS[2:]]
            writer.writerow(row)


def read_csv(path: str | Path) -> np.ndarray:
    """Read a Live Link Face–style CSV to (T, C) motion.

    Columns are matched by name; unknown columns (e.g. Live Link's eye yaw) are ignored and missing
    ones stay neutral. Values are clipped to their valid range.
    """
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise MotionFormatError(f"{path}: empty motion CSV; expected a header row")
            header = [h.strip() for h in header]
            known = [(col, _CSV_TO_CHANNEL[h]) for col, h in enumerate(header) if h in _CSV_TO_CHANNEL]
            if not known:
                raise MotionFormatError(
                    f"{path}: no motion columns found in header; expected Live Link Face columns "
                    "such as Timecode, BlendShapeCount, JawOpen, ..., HeadYaw, HeadPitch, HeadRoll"
                )
            rows: list[np.ndarray] = []
            for line_no, row in enumerate(reader, start=2):
                if not row or all(not cell.strip() for cell in row):
                    continue
                frame = neutral()
                for col, channel in known:
                    cell = row[col] if col < len(row) else ""
                    try:
                        value = float(cell)
                    except ValueError:
                        raise MotionFormatError(
                            f"{path}: line {line_no}, column {header[col]}: {cell!r} is not a number"
                        ) from None
                    if not math.isfinite(value):
                        raise MotionFormatError(
                            f"{path}: line {line_no}, column {header[col]}: {cell!r} is not finite"
                        )
                    frame[index(channel)] = value
                rows.append(frame)
    except UnicodeDecodeError:
        raise MotionFormatError(f"{path}: not a text CSV file") from None
    if not rows:
        raise MotionFormatError(f"{path}: the motion CSV has a header but no frames")
    return clip(np.stack(rows))


# ---- JSON ----------------------------------------------------------------------------------------

def to_json(frames: np.ndarray) -> str:
    """(T, C) motion as JSON: ``{"fps": 25, "channels": [...], "frames": [[...], ...]}``."""
    motion = np.asarray(frames, np.float32).reshape(-1, NUM_CHANNELS)
    return json.dumps(
        {"fps": FPS, "channels": list(CHANNELS), "frames": np.round(motion, 5).tolist()}
    )


def from_json(text: str) -> np.ndarray:
    try:
        data = json.loads(text)
        channels = data["channels"]
        frames = data["frames"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise MotionFormatError(
            f"not motion JSON ({exc}); expected {{'fps', 'channels', 'frames'}}"
        ) from None
    if data.get("fps", FPS) != FPS:
        raise MotionFormatError(f"motion JSON at {data.get('fps')} fps; only {FPS} fps is accepted")
    columns = [index(name) for name in channels]
    motion = neutral(len(frames))
    for t, values in enumerate(frames):
        if len(values) != len(columns):
            raise MotionFormatError(f"frame {t} has {len(values)} values for {len(columns)} channels")
        motion[t, columns] = values
    return clip(motion)
