"""Rendered frames: sizes, every channel visible, no holes, a still background."""

from __future__ import annotations

import numpy as np
import pytest

from avatars.character import Character
from avatars.motion import BLENDSHAPES, CHANNELS, NUM_CHANNELS, index
from renderer import Renderer, SizeError, make_renderer, parse_size


def test_parse_size() -> None:
    assert parse_size("512") == (512, 512)
    assert parse_size("720p") == (1280, 720)
    assert parse_size("640x480") == (640, 480)
    for bad in ("huge", "513x512", "10x10", "0x0"):
        with pytest.raises(SizeError, match="size"):
            parse_size(bad)


def test_720p_frame(astronaut_character: Character) -> None:
    renderer = make_renderer(astronaut_character, size="720p")
    assert renderer.size == (1280, 720)
    frame = renderer.render(renderer.rest_motion())
    assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8


def test_bad_motion_frame_is_refused(astronaut_renderer: Renderer) -> None:
    with pytest.raises(ValueError, match="61"):
        astronaut_renderer.render(np.zeros(10, np.float32))


def _extreme(renderer: Renderer, channel: str) -> np.ndarray:
    frame = renderer.rest_motion()
    if channel == "mouthClose":  # closes lips the jaw has parted: with the jaw half open
        frame[index("jawOpen")] = 0.5
    k = index(channel)
    if channel in BLENDSHAPES:
        frame[k] = 0.0 if frame[k] > 0.5 else 1.0
    elif channel.startswith("head") and channel[4:] in ("Pitch", "Yaw", "Roll"):
        frame[k] = 15.0
    elif channel.startswith("head"):
        frame[k] = 0.2
    else:
        frame[k] = 1.0
    return frame


def test_every_channel_changes_the_image(astronaut_renderer: Renderer) -> None:
    unchanged = []
    for channel in CHANNELS:
        extreme = _extreme(astronaut_renderer, channel)
        before = extreme.copy()  # the same frame with only this channel at rest
        before[index(channel)] = astronaut_renderer.rest_motion()[index(channel)]
        rest = astronaut_renderer.render(before).astype(np.int16)
        frame = astronaut_renderer.render(extreme).astype(np.int16)
        changed_pixels = int((np.abs(frame - rest).max(axis=2) > 12).sum())
        if changed_pixels < 20:
            unchanged.append((channel, changed_pixels))
    assert not unchanged, f"channels that do not change the image: {unchanged}"


def test_no_holes_under_extreme_motion(astronaut: np.ndarray, measurer) -> None:  # type: ignore[no-untyped-def]
    """On a reference without a single black pixel, a black pixel in the output is a hole."""
    floored = np.maximum(astronaut, 24).astype(np.uint8)
    renderer = make_renderer(Character.from_image(floored, measurer=measurer), size="512")
    rng = np.random.default_rng(1)
    for _ in range(6):
        motion = np.zeros(NUM_CHANNELS, np.float32)
        motion[: len(BLENDSHAPES)] = rng.random(len(BLENDSHAPES)) > 0.5
        motion[index("headPitch") : index("headRoll") + 1] = rng.choice([-30.0, 30.0], 3)
        motion[index("headX") : index("headZ") + 1] = rng.choice([-0.3, 0.3], 3)
        motion[index("bodyLeanX") :] = rng.choice([-1.0, 1.0], 3)
        map_x, map_y = renderer.source_maps(motion)
        assert np.isfinite(map_x).all() and np.isfinite(map_y).all()
        # the warp's source: the frame and the picture past its edges (renderer.margins)
        left, top, right, bottom = renderer.margins
        inside = (map_x > -2 - left) & (map_x < 514 + right) & (map_y > -2 - top) & (map_y < 514 + bottom)
        assert inside.mean() > 0.99, "pixels read from far outside the picture"
        frame = renderer.render(motion)
        assert frame.shape == (512, 512, 3)
        assert int((frame.max(axis=2) < 8).sum()) == 0


def test_background_stays_still_under_head_motion(astronaut_renderer: Renderer) -> None:
    reference = astronaut_renderer.frame
    for channel, value in (("headYaw", 20.0), ("headPitch", -20.0), ("headRoll", 20.0),
                           ("jawOpen", 1.0)):  # fmt: skip
        frame = astronaut_renderer.rest_motion()
        frame[index(channel)] = value
        out = astronaut_renderer.render(frame)
        for corner in (np.s_[:48, :48], np.s_[:48, -48:]):
            assert np.abs(out[corner].astype(int) - reference[corner]).max() <= 2, channel


def test_a_black_and_white_photo_gets_a_grey_mouth(astronaut: np.ndarray, measurer) -> None:  # type: ignore[no-untyped-def]
    """The generated interior (cavity, tongue, teeth) of a grey photo is grey, not red."""
    grey = np.repeat(astronaut.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    renderer = make_renderer(Character.from_image(grey, measurer=measurer), size="512")
    motion = renderer.rest_motion()
    motion[index("jawOpen")] = 0.7
    frame = renderer.render(motion).astype(int)
    spread = frame.max(axis=2) - frame.min(axis=2)  # 0 for a grey pixel
    assert spread.max() <= 3, "colour appeared in a black-and-white photo"


def test_a_magnified_photo_gets_a_mouth_as_soft_as_itself(astronaut: np.ndarray, measurer) -> None:  # type: ignore[no-untyped-def]
    """A small face shown at 2x is soft over two output pixels; the teeth and cavity drawn into
    it were crisp (6x the photo's own edge strength around the mouth) and looked pasted on."""
    import cv2

    from avatars import face as fm
    from renderer.mouth import opening_polygon

    small = cv2.resize(astronaut, (400, 400), interpolation=cv2.INTER_AREA)[40:300, 70:330]
    renderer = make_renderer(Character.from_image(small, measurer=measurer), size="512")
    assert renderer.scale > 1.8
    motion = renderer.rest_motion()
    motion[index("jawOpen")] = 0.7
    grey = cv2.cvtColor(renderer.render(motion), cv2.COLOR_RGB2GRAY).astype(np.float32)
    edges = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    xy = renderer.vertex_positions(motion)[: fm.NUM_LANDMARKS]
    opening = np.zeros(grey.shape, np.uint8)
    cv2.fillPoly(opening, [np.round(opening_polygon(xy)).astype(np.int32)], 1)
    inside = cv2.erode(opening, np.ones((3, 3), np.uint8), iterations=2) > 0
    x0, y0 = xy[list(fm.LIPS_UPPER_OUTER + fm.LIPS_LOWER_OUTER)].min(axis=0).astype(int) - 30
    x1, y1 = xy[list(fm.LIPS_UPPER_OUTER + fm.LIPS_LOWER_OUTER)].max(axis=0).astype(int) + 30
    around = np.zeros(grey.shape, bool)
    around[y0:y1, x0:x1] = True
    around &= cv2.dilate(opening, np.ones((9, 9), np.uint8)) == 0
    assert inside.sum() > 200 and around.sum() > 2000
    crisp, photo = np.percentile(edges[inside], 90), np.percentile(edges[around], 90)
    assert crisp < 4.0 * photo, (crisp, photo)


def test_make_renderer_is_the_one_constructor_and_names_what_it_accepts(
    astronaut_character: Character,
) -> None:
    renderer = make_renderer(astronaut_character, size="512", kind="warp", device="cpu")
    assert renderer.size == (512, 512) and renderer.frame.shape == (512, 512, 3)
    with pytest.raises(ValueError, match=r"runs on cpu, not on device 'cuda'"):
        make_renderer(astronaut_character, device="cuda")
    with pytest.raises(ValueError, match=r"kind 'learned' is not one of warp"):
        make_renderer(astronaut_character, kind="learned")
