"""Reference images: safe loading (size checked before decoding) and finding the face in them.

MediaPipe's landmarker only finds faces that fill a good part of its input, so a face that is small
in a large picture (a half-body shot, a group photo) is searched for on overlapping tiles at several
scales (OpenCV 5 ships no face cascades), then measured on a crop around it.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from avatars.face import FaceMeasurement, FaceMeasurer

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

log = logging.getLogger(__name__)

MAX_PIXELS = 16_000_000
MAX_JPEG_PIXELS = 64_000_000  # decoded reduced to at most MAX_PIXELS (under Pillow's bomb guard)
MAX_FILE_BYTES = 50 * 1024 * 1024
MIN_FACE_PX = 80
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
_LANDMARKER_INPUT = 1024  # crops are scaled to at most this side before the landmarker


class ImageError(ValueError):
    """The image cannot be used: missing, not an image, too big, or a decompression bomb."""


class FaceNotFoundError(ValueError):
    """No usable face in the image."""


ImageSource = np.ndarray | str | Path | bytes


def load_image(source: ImageSource) -> np.ndarray:
    """An RGB uint8 (H, W, 3) array from a path, encoded bytes or an array.

    The header is read first: images over MAX_PIXELS are refused before any pixel is decoded
    (JPEGs up to MAX_JPEG_PIXELS are decoded reduced instead).
    EXIF orientation is applied; grey and RGBA become RGB (transparency over white).
    """
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"image file not found: {path}")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageError(f"{path}: file is {size} bytes; the limit is {MAX_FILE_BYTES}")
        data = path.read_bytes()
        label = str(path)
    elif isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        label = "image bytes"
        if len(data) > MAX_FILE_BYTES:
            raise ImageError(f"{label}: {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
    else:
        raise ImageError(
            f"cannot read an image from {type(source).__name__}; pass a path, bytes or an array"
        )
    return _decode(data, label)


def _decode(data: bytes, label: str) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise ImageError(f"{label}: empty file; expected a JPEG, PNG or WebP image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))  # reads the header only
            if image.format not in ACCEPTED_FORMATS:
                raise ImageError(
                    f"{label}: format {image.format}; accepted: {', '.join(ACCEPTED_FORMATS)}"
                )
            _reduce_or_refuse(image, label)
            image.load()
            image = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{label}: not a readable image; expected JPEG, PNG or WebP") from None
    except (OSError, SyntaxError) as exc:
        raise ImageError(f"{label}: cannot decode the image ({exc})") from None
    if image.mode in _WIDE_GREY_MODES:
        image = _grey_to_8_bits(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def _reduce_or_refuse(image: PILImage, label: str) -> None:
    """Refuses a picture over MAX_PIXELS from its header alone, except a JPEG up to
    MAX_JPEG_PIXELS (a 24-50 megapixel camera or phone photo): that one is set to decode at a
    half, quarter or eighth of its size (the decoder's own scaling, the full size never held)."""
    width, height = image.size
    pixels = width * height
    if pixels <= MAX_PIXELS:
        return
    if image.format == "JPEG" and pixels <= MAX_JPEG_PIXELS:
        factor = next(f for f in (2, 4, 8) if pixels / f**2 <= MAX_PIXELS)
        image.draft(None, (-(-width // factor), -(-height // factor)))
        if image.size[0] * image.size[1] <= MAX_PIXELS:
            log.info("large jpeg decoded reduced from=%dx%d to=%dx%d", width, height, *image.size)
            return
    raise ImageError(
        f"{label}: {width}x{height} = {pixels / 1e6:.1f} megapixels; the limit is "
        f"{MAX_PIXELS / 1e6:.0f} megapixels ({MAX_JPEG_PIXELS / 1e6:.0f} for a JPEG)"
    )


# Greys of more than 8 bits (16-bit PNGs from scanners and B/W photo archives): Pillow's RGB
# conversion clips them at 255, which turned a 16-bit scan almost all white
_WIDE_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def _grey_to_8_bits(image: PILImage) -> PILImage:
    """An "L" image from a 16-bit, 32-bit integer or float grey one, keeping its tones: integer
    images over 255 are taken as 16-bit (65535 white), floats up to 1.0 as 0..1."""
    from PIL import Image

    grey = np.asarray(image, dtype=np.float64)
    top = float(grey.max(initial=0.0))
    if image.mode == "F" and top <= 1.0:
        scale = 255.0
    elif top > 255.0:
        scale = 255.0 / 65535.0
    else:
        scale = 1.0
    return Image.fromarray(np.clip(grey * scale + 0.5, 0, 255).astype(np.uint8), mode="L")


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.uint8:
        raise ImageError(f"image array has dtype {array.dtype}; expected uint8")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ImageError(f"image array has shape {array.shape}; expected (H, W), (H, W, 3) or (H, W, 4)")
    if array.shape[0] * array.shape[1] > MAX_PIXELS:
        raise ImageError(
            f"image is {array.shape[1]}x{array.shape[0]}; the limit is {MAX_PIXELS / 1e6:.0f} megapixels"
        )
    if array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        array = (array[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(array)


@dataclass(frozen=True)
class FoundFace:
    measurement: FaceMeasurement  # in the coordinates of the whole image
    faces_found: int


def find_face(rgb: np.ndarray, measurer: FaceMeasurer, *, search_tiles: bool = True) -> FoundFace:
    """The largest face in ``rgb``, measured in full-image coordinates.

    The whole picture is tried first, then (``search_tiles``) overlapping tiles at finer and
    finer scales (the landmarker's detector misses faces that fill little of its input); the
    largest face is then measured again on a crop around it. Raises FaceNotFoundError (with
    advice, or the face's size when it is under MIN_FACE_PX).
    """
    height, width = rgb.shape[:2]
    faces = _measure_scaled(rgb, measurer, (0, 0, width, height))
    if search_tiles and (not faces or max(faces[0].box[2:]) < 0.25 * max(width, height)):
        # small faces (a group, a half-body shot): look closer, keeping what was found
        for face in _search_tiles(rgb, measurer):
            if not any(_center_distance(face, f) < 0.5 * max(f.box[2:]) for f in faces):
                faces.append(face)
        faces.sort(key=lambda f: -f.box[2] * f.box[3])
    if not faces:
        raise FaceNotFoundError(
            "no face found in the image; try a frontal photo with the face larger in the frame, "
            "evenly lit, eyes and mouth visible"
        )
    count = len(faces)
    face = faces[0]
    size = max(face.box[2], face.box[3])
    if size < MIN_FACE_PX:
        raise FaceNotFoundError(
            f"the face is only {size} px; at least {MIN_FACE_PX} px is needed: "
            "use a larger or closer photo of the face"
        )
    if size < 0.3 * max(width, height):
        closer = _measure_scaled(rgb, measurer, _crop_around(face.box, width, height))
        if closer:
            face = min(closer, key=lambda f: _center_distance(f, face))
    return FoundFace(measurement=face, faces_found=count)


def measure_again(rgb: np.ndarray, measurer: FaceMeasurer, landmarks: np.ndarray) -> FaceMeasurement:
    """The face at ``landmarks`` (478, 2+) measured again in ``rgb`` (e.g. after the picture was
    edited): measured on a crop around it, and the face found nearest to it, so that in a
    group photo the same person is measured, not the largest face. Raises FaceNotFoundError."""
    height, width = rgb.shape[:2]
    x0, y0 = np.floor(landmarks[:, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(landmarks[:, :2].max(axis=0)).astype(int)
    box = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
    faces = _measure_scaled(rgb, measurer, _crop_around(box, width, height))
    if not faces:
        raise FaceNotFoundError("no face found again where it was")
    center = np.array([box[0] + box[2] / 2, box[1] + box[3] / 2])
    return min(faces, key=lambda f: float(np.linalg.norm(
        np.array([f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2]) - center)))  # fmt: skip


def _center_distance(a: FaceMeasurement, b: FaceMeasurement) -> float:
    ca = np.array([a.box[0] + a.box[2] / 2, a.box[1] + a.box[3] / 2])
    cb = np.array([b.box[0] + b.box[2] / 2, b.box[1] + b.box[3] / 2])
    return float(np.linalg.norm(ca - cb))


def _search_tiles(rgb: np.ndarray, measurer: FaceMeasurer) -> list[FaceMeasurement]:
    """Faces found on overlapping tiles, largest first.

    Tiles shrink until a face of MIN_FACE_PX would fill a quarter of one, or (once faces are
    found) until they are not much larger than the largest face; only when nothing has been
    found do they shrink further (to report the size of a face too small to use).
    """
    height, width = rgb.shape[:2]
    side = min(width, height)
    found: list[FaceMeasurement] = []

    def worth_looking(side: int) -> bool:
        if not found:
            return side >= 2 * MIN_FACE_PX
        largest = max(max(f.box[2:]) for f in found)
        return side >= 4 * MIN_FACE_PX and side >= 2 * largest

    while worth_looking(side):
        stride = side // 2
        for y in range(0, max(height - side, 0) + stride, stride):
            for x in range(0, max(width - side, 0) + stride, stride):
                x0, y0 = min(x, width - side), min(y, height - side)
                for face in _measure_scaled(rgb, measurer, (x0, y0, side, side)):
                    if not any(_center_distance(face, f) < 0.5 * max(f.box[2:]) for f in found):
                        found.append(face)
        side = int(side * 0.6)
    return sorted(found, key=lambda f: -f.box[2] * f.box[3])


def _measure_scaled(
    rgb: np.ndarray, measurer: FaceMeasurer, crop: tuple[int, int, int, int]
) -> list[FaceMeasurement]:
    """Measure the crop (x, y, w, h) scaled down to at most the landmarker's input size."""
    import cv2

    x, y, w, h = crop
    part = rgb[y : y + h, x : x + w]
    scale = min(1.0, _LANDMARKER_INPUT / max(w, h))
    if scale < 1.0:
        part = cv2.resize(part, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    faces = measurer.measure_all(np.ascontiguousarray(part))
    return [_unscale(f, scale, x, y) for f in faces]


def _unscale(face: FaceMeasurement, scale: float, x: int, y: int) -> FaceMeasurement:
    marks = face.landmarks / scale
    marks[:, 0] += x
    marks[:, 1] += y
    bx, by, bw, bh = face.box
    box = (round(bx / scale) + x, round(by / scale) + y, round(bw / scale), round(bh / scale))
    return replace(face, landmarks=marks.astype(np.float32), box=box)


def _crop_around(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """A square crop three face-boxes wide around ``box``, inside the image."""
    bx, by, bw, bh = box
    side = min(3 * max(bw, bh), width, height)
    cx, cy = bx + bw / 2, by + bh / 2
    x0 = int(np.clip(cx - side / 2, 0, width - side))
    y0 = int(np.clip(cy - side / 2, 0, height - side))
    return x0, y0, side, side
