"""Output sizes, and how the reference picture is framed in them.

The frame shows the photo's own pixels. ``plan_framing`` chooses a window on the picture with the
output's aspect ratio, then scales it to the output:

- ``cover`` (default): the window stays inside the picture, as near the default composition (the
  face at a fixed share of the frame height, centred) as the picture allows. A picture framed
  tighter than that is shown larger, never shrunk into padding.
- ``contain``: the whole picture is shown; the rest of the frame is extended from its border.
- ``face``: the default composition whatever the picture holds; the frame is extended where the
  picture ends.

In every fit the head (the face with room for hair above it) stays in the frame, and the picture is
never magnified more than ``MAX_ZOOM`` times: a small face is shown smaller rather than blurred.
Only where the window reaches past the picture is the border extended, by a smooth push-pull fill
of the picture's edge colours (``extend_border``): it continues the background and never holds a
copy of the face or body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

import cv2
import numpy as np

SIZES: dict[str, tuple[int, int]] = {"512": (512, 512), "720p": (1280, 720)}
Fit = Literal["cover", "contain", "face"]
FITS: tuple[str, ...] = get_args(Fit)
DEFAULT_FIT: Fit = "cover"
MAX_ZOOM = 2.0  # output pixels per picture pixel, at most: beyond, the face is shown smaller
# ... except that ``cover`` magnifies a picture too tight for the frame up to this much (cutting
# hair rather than the face) so that the frame stays inside it: a little softer beats padding.
MAX_FILL_ZOOM = 2.5
_MAX_SIDE = 4096
# Face height (forehead top to chin) as a share of the frame height, and where the face centre
# sits (from the top): the default composition, head and shoulders.
_FACE_FRACTION = {"square": 0.4, "landscape": 0.34}
_FACE_CENTER_Y = {"square": 0.42, "landscape": 0.4}
# The head must stay in the frame: the face oval's box grown by these shares of the face height
# (hair above, ears beside, a little below the chin).
_HEAD_ABOVE, _HEAD_SIDE, _HEAD_BELOW = 0.3, 0.15, 0.1
# cover fills a landscape frame with a tight photo only while the face takes at most this share
# of the frame height (a 5:4 headshot filling a 16:9 frame would be 80% face, its hair cut off)
_TIGHTEST = 0.7
_ZOOM_SLACK = 1.02  # a zoom this close to the limit is at the limit
# a face smaller than the composition wants is reported when it is smaller by more than a tenth
# (tom_hanks at 720p was warned of filling 33% of the frame height instead of 34%)
_NOTICED_SHORTFALL = 0.9
# past this share of the frame extended, the warning says what photo would fill it
_MOSTLY_EXTENDED = 0.5
# Face heights the warp's source reaches past the frame's edges where the picture goes on there:
# a head near the edge that turns or moves pulls in the photo's own pixels from past it (the
# tight Hopper's reads reach 0.15 face heights out at ±14° and ±0.2 head shift). Where the picture
# ends at the frame's edge, the edge stays pinned and the warp stretches the photo's last pixels.
SOURCE_MARGIN = 0.4
# ... and past a picture edge the face reaches within _CUT_EDGE face heights of (a portrait cut
# through the cheek), the whole margin, filled in from the edge at 1/_MARGIN_COARSE resolution: a
# turn there stretched the edge column into streaks
_CUT_EDGE, _MARGIN_COARSE = 0.02, 4


class SizeError(ValueError):
    """An output size that cannot be parsed or is out of range."""


class FitError(ValueError):
    """A fit that is not one of FITS."""


def parse_size(size: str | tuple[int, int]) -> tuple[int, int]:
    """'512' | '720p' | 'WxH' | (W, H) → (width, height); both even, 64..4096."""
    if isinstance(size, tuple):
        width, height = size
    else:
        text = str(size).strip().lower()
        if text in SIZES:
            return SIZES[text]
        match = re.fullmatch(r"(\d+)x(\d+)", text)
        if not match:
            raise SizeError(f"size {size!r} not understood; use 512, 720p or WxH such as 640x480")
        width, height = int(match.group(1)), int(match.group(2))
    if not (64 <= width <= _MAX_SIDE and 64 <= height <= _MAX_SIDE):
        raise SizeError(f"size {width}x{height} out of range; each side must be 64..{_MAX_SIDE}")
    if width % 2 or height % 2:
        raise SizeError(f"size {width}x{height}: both sides must be even (video encoders need it)")
    return int(width), int(height)


def parse_fit(fit: str) -> Fit:
    """'cover' | 'contain' | 'face' (any case) → the fit; FitError names the accepted ones."""
    text = str(fit).strip().lower()
    if text not in FITS:
        raise FitError(f"fit {fit!r} not understood; use one of {', '.join(FITS)}")
    return text  # type: ignore[return-value]


@dataclass(frozen=True)
class Framing:
    """Where the picture sits in one output frame: output = picture * scale + offset."""

    fit: Fit
    width: int
    height: int
    scale: float  # output pixels per picture pixel
    offset: tuple[float, float]  # output position of the picture's origin
    face_fraction: float  # face height / frame height
    wanted_face_fraction: float  # the default composition's
    own_share: float  # share of the frame that shows the picture's own pixels
    extended: tuple[str, ...]  # frame sides filled by extending the picture's border
    zoom_limited: bool  # the face is smaller than the composition wants: MAX_ZOOM reached
    cut: tuple[str, ...] = ()  # picture edges that cut through the face

    def to_dict(self) -> dict[str, Any]:
        return {
            "fit": self.fit, "size": f"{self.width}x{self.height}", "scale": round(self.scale, 4),
            "face_fraction": round(self.face_fraction, 3),
            "own_pixel_share": round(self.own_share, 4), "extended": list(self.extended),
            "zoom_limited": self.zoom_limited,
        }  # fmt: skip

    def warnings(self) -> list[str]:
        """What a user should know about this framing, in plain words."""
        size = f"{self.width}x{self.height}"
        out = []
        if self.zoom_limited:
            out.append(
                f"{size}: the face is small in the photo; it fills {self.face_fraction:.0%} of "
                f"the frame height instead of {self.wanted_face_fraction:.0%} so that it is not "
                f"magnified more than {MAX_ZOOM:g}x into blur"
            )
        if self.cut:
            edges = " and ".join(self.cut) + (" edges cut" if len(self.cut) > 1 else " edge cuts")
            out.append(
                f"the photo's {edges} through the face: where the head moves towards it, what "
                "shows past the edge is filled in from the edge (a blur); a photo with room "
                "around the face animates better"
            )
        if self.extended:
            extended = 1.0 - self.own_share
            out.append(
                f"{size} ({self.fit}): the photo does not reach the frame's "
                f"{', '.join(self.extended)} edge; {extended:.0%} of the frame is extended from "
                "the photo's border"
                + ("; a photo with more room around the face would fill more of it"
                   if extended > _MOSTLY_EXTENDED else "")
            )
        return out


def plan_framing(
    picture: tuple[int, int],
    face_box: tuple[float, float, float, float],
    face_height: float,
    size: str | tuple[int, int],
    fit: str = DEFAULT_FIT,
    *,
    face_center: tuple[float, float] | None = None,
) -> Framing:
    """The framing of a ``picture`` (width, height) whose face oval spans ``face_box``
    (x0, y0, x1, y1, picture pixels) and measures ``face_height`` (forehead top to chin);
    ``face_center`` (default: the box's centre) is placed where the composition puts a face."""
    chosen = parse_fit(fit)
    width, height = parse_size(size)
    pic_w, pic_h = float(picture[0]), float(picture[1])
    kind = "landscape" if width > height * 1.2 else "square"
    aspect = width / height
    fx0, fy0, fx1, fy1 = (float(v) for v in face_box)
    cx, cy = face_center if face_center is not None else ((fx0 + fx1) / 2, (fy0 + fy1) / 2)
    # the head (hair room above, ears beside), and the face itself, as far as the picture holds
    head = _clip_box((fx0 - _HEAD_SIDE * face_height, fy0 - _HEAD_ABOVE * face_height,
                      fx1 + _HEAD_SIDE * face_height, fy1 + _HEAD_BELOW * face_height),
                     pic_w, pic_h)  # fmt: skip
    core = _clip_box((fx0, fy0, fx1, fy1), pic_w, pic_h)
    least = height / MAX_ZOOM  # window height (picture px) below which the zoom is too high
    wanted = face_height / _FACE_FRACTION[kind]
    head_h = _box_height(head, aspect)
    keep = head
    if chosen == "cover":
        inside = min(pic_h, pic_w / aspect)  # the largest window inside the picture
        floor = max(least, head_h)
        if inside >= floor:  # room for the composition, or as near to it as the picture allows
            win_h = min(max(wanted, floor), inside)
        elif (inside >= max(height / MAX_FILL_ZOOM, _box_height(core, aspect))
              and (kind == "square" or face_height <= _TIGHTEST * inside)):  # fmt: skip
            win_h, keep = inside, core  # a tight photo: fill the frame, shown larger
        else:  # the picture is too small: extend its border as little as the zoom allows
            win_h = max(min(floor, pic_h), height / MAX_FILL_ZOOM, _box_height(core, aspect))
    elif chosen == "contain":
        win_h = max(pic_h, pic_w / aspect, least)
    else:
        win_h = max(wanted, least, head_h)
    win_w = win_h * aspect
    x0 = cx - win_w / 2
    y0 = cy - _FACE_CENTER_Y[kind] * win_h
    cut = _cut_sides((fx0, fy0, fx1, fy1), face_height, pic_w, pic_h)
    # one edge cutting the face: the window is flush with it; two (a small photo cut at the side
    # and the chin) would push the face into a corner of the frame, so the window stays centred
    flush = cut if len(cut) == 1 else ()
    if chosen != "face":
        x0 = _place(x0, win_w, pic_w, keep[0], keep[2], centre=chosen == "contain",
                    cut=("left" in flush, "right" in flush))  # fmt: skip
        y0 = _place(y0, win_h, pic_h, keep[1], keep[3], centre=chosen == "contain",
                    cut=("top" in flush, "bottom" in flush))  # fmt: skip
    scale = height / win_h
    covered_w = max(0.0, min(x0 + win_w, pic_w) - max(x0, 0.0))
    covered_h = max(0.0, min(y0 + win_h, pic_h) - max(y0, 0.0))
    own = covered_w * covered_h / (win_w * win_h)
    tol = 0.5 / scale  # half an output pixel
    sides = (("left", x0 < -tol), ("top", y0 < -tol), ("right", x0 + win_w > pic_w + tol),
             ("bottom", y0 + win_h > pic_h + tol))  # fmt: skip
    fraction = face_height / win_h
    wanted_fraction = _FACE_FRACTION[kind]
    return Framing(
        fit=chosen,
        width=width,
        height=height,
        scale=float(scale),
        offset=(float(-x0 * scale), float(-y0 * scale)),
        face_fraction=float(fraction),
        wanted_face_fraction=wanted_fraction,
        own_share=float(min(own, 1.0)),
        extended=tuple(name for name, out in sides if out),
        zoom_limited=bool(fraction < _NOTICED_SHORTFALL * wanted_fraction and win_h <= least * _ZOOM_SLACK),
        cut=cut,
    )


def _cut_sides(face_box: tuple[float, float, float, float], face_height: float, width: float,
               height: float) -> tuple[str, ...]:  # fmt: skip
    """The picture's edges the face oval reaches (within _CUT_EDGE face heights) or passes."""
    x0, y0, x1, y1 = face_box
    reach = _CUT_EDGE * face_height
    sides = (("left", x0 < reach), ("top", y0 < reach), ("right", x1 > width - reach),
             ("bottom", y1 > height - reach))  # fmt: skip
    return tuple(name for name, cut in sides if cut)


def _clip_box(box: tuple[float, float, float, float], width: float, height: float
              ) -> tuple[float, float, float, float]:  # fmt: skip
    return (max(box[0], 0.0), max(box[1], 0.0), min(box[2], width), min(box[3], height))


def _box_height(box: tuple[float, float, float, float], aspect: float) -> float:
    """The least window height (of width ``aspect`` × height) that holds ``box``."""
    return max(box[3] - box[1], (box[2] - box[0]) / aspect)


def _place(start: float, length: float, total: float, keep0: float, keep1: float, *,
           centre: bool, cut: tuple[bool, bool] = (False, False)) -> float:  # fmt: skip
    """Where a window of ``length`` starts along one axis of a picture ``total`` long: as near
    ``start`` as keeps it inside the picture and [keep0, keep1] inside it; a window longer than
    the picture covers all of it (centred on the picture when ``centre``), flush with the
    picture's end that cuts through the face (``cut``: the low end, the high end) when only one
    does: what is extended past that end is a blur of the face (a portrait cut through the
    cheek, centred in 720p, was a third of the frame of blurred skin), past the other one the
    background's. The face then sits off centre, cut by the frame's edge as by the photo's."""
    if length <= total:
        low, high = max(0.0, keep1 - length), min(total - length, keep0)
        return float(np.clip(start, low, max(low, high)))
    if cut[0] != cut[1]:
        return 0.0 if cut[0] else total - length
    if centre:
        return (total - length) / 2
    return float(np.clip(start, total - length, 0.0))


def frame_reference(reference: np.ndarray, framing: Framing) -> np.ndarray:
    """The reference placed in the output frame: (height, width, 3) uint8, the border extended
    (``extend_border``) where the frame reaches past the picture."""
    placed, inside = _place_picture(reference, framing.scale, framing.offset, (framing.width, framing.height))
    return extend_border(placed, inside) if framing.extended else placed


Margins = tuple[int, int, int, int]  # left, top, right, bottom: px past the frame's edges


def source_margins(framing: Framing, picture_size: tuple[int, int], face_height: float, step: int) -> Margins:
    """Per side, how far the warp's source reaches past the frame, in whole grid steps: as far
    as the picture goes on there (``picture_size``: width, height), at most SOURCE_MARGIN times
    ``face_height`` (px in the frame); past an edge that cuts the face (``Framing.cut``), that
    most whatever the picture holds."""
    ox, oy = framing.offset
    beyond = (-ox, -oy, ox + framing.scale * picture_size[0] - framing.width,
              oy + framing.scale * picture_size[1] - framing.height)  # fmt: skip
    most = SOURCE_MARGIN * face_height
    # a pixel short of the picture's edge: the margin holds no interpolated padding; past an
    # edge that cuts the face, the whole margin (filled in from the edge by ``source_canvas``)
    cut = [name in framing.cut for name in ("left", "top", "right", "bottom")]
    return tuple(step * int((most if c else min(max(b - 1.0, 0.0), most)) // step)
                 for b, c in zip(beyond, cut, strict=True))  # type: ignore[return-value]


def source_canvas(reference: np.ndarray, framing: Framing, margins: Margins) -> np.ndarray:
    """The warp's source: the frame (``frame_reference``, exactly) with ``margins``
    (``source_margins``) px around it, the picture's own pixels, and past an edge that cuts the
    face its border extended. That extension is worked out at 1/_MARGIN_COARSE of the
    resolution: it is a blur at that scale anyway."""
    frame = frame_reference(reference, framing)
    if not any(margins):
        return frame
    left, top, right, bottom = margins
    size = (framing.width + left + right, framing.height + top + bottom)
    offset = (framing.offset[0] + left, framing.offset[1] + top)
    canvas, inside = _place_picture(reference, framing.scale, offset, size)
    inner = slice(top, top + framing.height), slice(left, left + framing.width)
    inside[inner] = True
    if not inside.all():
        small_size = (max(1, size[0] // _MARGIN_COARSE), max(1, size[1] // _MARGIN_COARSE))
        small = cv2.resize(canvas, small_size, interpolation=cv2.INTER_AREA)
        known = cv2.resize(inside.astype(np.uint8), small_size, interpolation=cv2.INTER_AREA) > 0
        filled = cv2.resize(extend_border(small, known), size, interpolation=cv2.INTER_LINEAR)
        canvas[~inside] = filled[~inside]
    canvas[inner] = frame
    return canvas


def _place_picture(reference: np.ndarray, scale: float, offset: tuple[float, float],
                   size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The picture scaled by ``scale`` and placed at ``offset`` in an image of ``size`` (width,
    height): (H, W, 3) uint8 with its edge replicated outwards, and (H, W) bool, where the
    picture's own pixels are."""
    width, height = size
    ox, oy = offset
    pic_h, pic_w = reference.shape[:2]
    # the part of the picture the image shows, resized once (area averaging when shrinking)
    x0, y0 = max(0, int(np.floor(-ox / scale))), max(0, int(np.floor(-oy / scale)))
    x1 = min(pic_w, int(np.ceil((width - ox) / scale)) + 1)
    y1 = min(pic_h, int(np.ceil((height - oy) / scale)) + 1)
    part = reference[y0:y1, x0:x1]
    if scale < 1.0:  # shrink with area averaging first: warpAffine alone would alias
        shrunk = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        part = cv2.resize(part, shrunk, interpolation=cv2.INTER_AREA)
        sx, sy = shrunk[0] / (x1 - x0), shrunk[1] / (y1 - y0)
    else:
        sx = sy = 1.0
    # a pixel i of the resized part shows picture x = x0 + (i + 0.5) / sx - 0.5 (pixel centres)
    ax, ay = scale / sx, scale / sy
    matrix = np.array([[ax, 0.0, ox + scale * x0 + 0.5 * (ax - scale)],
                       [0.0, ay, oy + scale * y0 + 0.5 * (ay - scale)]], np.float64)  # fmt: skip
    placed = cv2.warpAffine(part, matrix, (width, height), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    inside = cv2.warpAffine(np.full(part.shape[:2], 255, np.uint8), matrix, (width, height),
                            flags=cv2.INTER_NEAREST, borderValue=0)  # fmt: skip
    return placed, inside == 255


def extend_border(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3) uint8, where the pixels outside ``known`` (H, W) bool hold the
    picture's edge replicated outwards, with those pixels blurred more the farther they are from
    the picture (the blur's sigma grows with the distance), plus the picture's own grain. Each
    row or column continues the colours at its edge and fades them into a soft field; nothing
    inside the picture is copied."""
    if known.all():
        return image.copy()
    distance = cv2.distanceTransform((~known).astype(np.uint8), cv2.DIST_L2, 5)  # (H, W) px
    source = image.astype(np.float32)
    out = source.copy()
    sigma = np.maximum(_EXTEND_BLUR * distance, 0.0)
    # blurred copies at sigmas a factor 2 apart (large ones computed at a lower resolution),
    # each unknown pixel interpolated between the two around its own sigma
    level_sigmas = [0.0]
    layers = [source]
    s = 2.0
    while s < max(sigma.max(), 1.0) * 2.0:
        layers.append(_blurred(source, s))
        level_sigmas.append(s)
        s *= 2.0
    position = np.interp(sigma, level_sigmas, np.arange(len(level_sigmas), dtype=np.float32))
    unknown = ~known
    pos = position[unknown]
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, len(layers) - 1)
    t = (pos - low)[:, None]
    stack = np.stack([layer[unknown] for layer in layers])  # (levels, n, 3)
    picked = stack[low, np.arange(low.size)] * (1 - t) + stack[high, np.arange(low.size)] * t
    # the picture's grain, measured on its outer band, keeps the fill from looking painted
    grain = _grain(source, known)
    noise = np.random.default_rng(0).normal(0.0, 1.0, picked.shape[0])[:, None]
    out[unknown] = picked + grain * noise
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


_EXTEND_BLUR = 0.35  # the extension's blur sigma per pixel of distance from the picture


def _blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of (H, W, 3) float32; large sigmas on a smaller copy (same result, cheaper)."""
    height, width = image.shape[:2]
    factor = max(1, int(sigma // 4))
    if factor == 1:
        return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    small = cv2.resize(image, (max(1, width // factor), max(1, height // factor)),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma / factor, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _grain(image: np.ndarray, known: np.ndarray) -> float:
    """Standard deviation of the picture's fine grain (grey levels) in a band inside its edge."""
    band = known & (cv2.distanceTransform(known.astype(np.uint8), cv2.DIST_L2, 3) < 12)
    if band.sum() < 16:
        return 0.0
    grey = image.mean(axis=2)
    fine = grey - cv2.GaussianBlur(grey, (0, 0), sigmaX=1.5)
    # the median absolute deviation: edges in the band must not count as grain
    return float(min(1.4826 * np.median(np.abs(fine[band])), 6.0))
