"""Framing from the photo: own pixels first, a tight photo shown larger, small faces not blown up,
the border extended only where the picture ends and never with a copy of the face."""

from __future__ import annotations

import numpy as np
import pytest

from avatars.character import Character
from avatars.face import FaceMeasurer
from avatars.motion import index
from renderer import make_renderer
from renderer.framing import (
    FITS,
    MAX_FILL_ZOOM,
    MAX_ZOOM,
    FitError,
    extend_border,
    frame_reference,
    parse_fit,
    plan_framing,
)
from renderer.report import character_report

# A synthetic picture: 400 x 500 (portrait), the face oval 160 px tall in the upper middle.
PORTRAIT = (400, 500)
FACE_BOX = (140.0, 120.0, 260.0, 280.0)
FACE_HEIGHT = 160.0


def _head_inside(framing, face_box=FACE_BOX, face_height=FACE_HEIGHT) -> bool:  # type: ignore[no-untyped-def]
    """The face oval (with hair room above it) lies inside the output frame."""
    x0, y0, x1, y1 = face_box
    ox, oy = framing.offset
    s = framing.scale
    top = (y0 - 0.3 * face_height) * s + oy
    return (x0 * s + ox >= -1 and x1 * s + ox <= framing.width + 1 and top >= -1
            and y1 * s + oy <= framing.height + 1)  # fmt: skip


def test_a_picture_with_room_fills_the_frame_with_its_own_pixels() -> None:
    framing = plan_framing(PORTRAIT, FACE_BOX, FACE_HEIGHT, "512", "cover")
    assert framing.own_share == 1.0 and framing.extended == ()
    assert framing.face_fraction == pytest.approx(0.4, abs=0.01)  # the default composition
    assert _head_inside(framing)


def test_a_tight_headshot_is_shown_larger_not_shrunk_into_padding() -> None:
    tight = (240, 260)  # the face fills most of the picture
    box = (25.0, 35.0, 215.0, 235.0)
    framing = plan_framing(tight, box, 200.0, "512", "cover")
    assert framing.own_share == 1.0 and not framing.extended
    assert framing.face_fraction > 0.6  # larger than the default 0.4
    assert framing.scale <= MAX_FILL_ZOOM  # magnified, within the fill limit
    oy = framing.offset[1]  # the face itself stays whole (hair may be cut)
    assert box[1] * framing.scale + oy >= -1 and box[3] * framing.scale + oy <= 513


def test_a_picture_too_small_for_the_frame_is_extended_not_blown_up() -> None:
    framing = plan_framing((200, 220), (20.0, 30.0, 180.0, 200.0), 170.0, "512", "cover")
    assert framing.scale <= MAX_FILL_ZOOM and framing.extended and framing.own_share > 0.8


def test_a_portrait_into_landscape_extends_only_the_sides() -> None:
    framing = plan_framing(PORTRAIT, FACE_BOX, FACE_HEIGHT, "720p", "cover")
    assert set(framing.extended) == {"left", "right"}
    assert 0.5 < framing.own_share < 1.0
    assert _head_inside(framing)


def test_a_portrait_cut_through_the_face_is_framed_flush_with_that_edge() -> None:
    """A portrait whose left edge cuts through the cheek, into landscape: the frame starts at
    that edge and is extended on the right, past the background, not on the left, where the
    extension was a blur of half a face. Cut on two sides, the face stays centred (flush with
    both it would sit in a corner)."""
    cut_box = (-30.0, 120.0, 90.0, 280.0)  # the oval passes the picture's left edge
    framing = plan_framing(PORTRAIT, cut_box, FACE_HEIGHT, "720p", "cover")
    assert framing.cut == ("left",) and framing.extended == ("right",)
    assert framing.offset[0] == pytest.approx(0.0, abs=0.5)
    mirrored = plan_framing(PORTRAIT, (310.0, 120.0, 430.0, 280.0), FACE_HEIGHT, "720p", "cover")
    assert mirrored.cut == ("right",) and mirrored.extended == ("left",)
    corner = plan_framing((200, 220), (-20.0, 60.0, 150.0, 230.0), 170.0, "720p", "cover")
    assert set(corner.cut) == {"left", "bottom"} and {"left", "right"} <= set(corner.extended)


def test_a_small_face_is_not_magnified_past_the_limit_and_says_so() -> None:
    big_picture, small_box = (2000, 1500), (960.0, 700.0, 1040.0, 790.0)  # a 90 px face
    framing = plan_framing(big_picture, small_box, 90.0, "512", "cover")
    assert framing.scale <= MAX_ZOOM + 1e-9
    assert framing.zoom_limited and framing.face_fraction < 0.4
    assert framing.own_share == 1.0
    assert any("not magnified" in w for w in framing.warnings())


def test_the_warnings_speak_only_of_what_a_user_would_notice() -> None:
    """A face a point short of the composition is no news (tom_hanks at 720p was warned of 33%
    instead of 34%); a tiny photo mostly extended is told what would fill the frame; two edges
    cutting the face are worded as two."""
    just_short = plan_framing((2000, 1500), (960.0, 700.0, 1050.0, 818.0), 118.0, "720p", "cover")
    assert 0.9 * 0.34 <= just_short.face_fraction < 0.34 and not just_short.zoom_limited
    assert not any("not magnified" in w for w in just_short.warnings())
    tiny = plan_framing((112, 112), (-10.0, 20.0, 90.0, 114.0), 94.0, "720p", "cover")
    (extended,) = [w for w in tiny.warnings() if "extended from" in w]
    assert "would fill more of it" in extended
    (cut,) = [w for w in tiny.warnings() if "through the face" in w]
    assert cut.startswith("the photo's left and bottom edges cut through the face")


def test_contain_shows_the_whole_picture() -> None:
    framing = plan_framing(PORTRAIT, FACE_BOX, FACE_HEIGHT, "720p", "contain")
    ox, oy = framing.offset
    w, h = PORTRAIT[0] * framing.scale, PORTRAIT[1] * framing.scale
    assert ox >= -0.5 and oy >= -0.5 and ox + w <= 1280.5 and oy + h <= 720.5
    assert framing.own_share == pytest.approx(w * h / (1280 * 720), rel=1e-3)


def test_face_fit_keeps_the_default_composition() -> None:
    tight = (200, 220)
    framing = plan_framing(tight, (20.0, 30.0, 180.0, 200.0), 170.0, "512", "face")
    assert framing.face_fraction == pytest.approx(0.4, abs=0.01)
    assert framing.extended and framing.own_share < 1.0


def test_every_fit_keeps_the_head_in_the_frame() -> None:
    for size in ("512", "720p", "640x480"):
        for fit in FITS:
            assert _head_inside(plan_framing(PORTRAIT, FACE_BOX, FACE_HEIGHT, size, fit)), (size, fit)


def test_fit_names_are_checked() -> None:
    assert parse_fit(" Contain ") == "contain"
    with pytest.raises(FitError, match="cover, contain, face"):
        parse_fit("stretch")


def test_the_extended_border_holds_no_copy_of_the_picture_inside() -> None:
    """A bright 'face' in a picture whose edge band is blue: nothing bright reaches the border
    extension (the old framing filled it with a blurred copy of the whole picture)."""
    picture = np.zeros((500, 400, 3), np.uint8)
    picture[:] = (30, 60, 200)
    picture[120:280, 140:260] = (250, 220, 200)
    framing = plan_framing((400, 500), FACE_BOX, FACE_HEIGHT, "1280x720", "face")
    frame = frame_reference(picture, framing)
    ox = framing.offset[0]
    x0, x1 = int(np.ceil(ox)) + 1, int(np.floor(ox + 400 * framing.scale)) - 1
    outside = np.ones(frame.shape[:2], bool)
    outside[:, x0:x1] = False
    assert outside.sum() > 100_000
    red = frame[outside][:, 0].astype(int)
    assert red.max() < 60, "face colours leaked into the extended border"


def test_extension_continues_the_edge_smoothly() -> None:
    image = np.zeros((64, 96, 3), np.uint8)
    known = np.zeros((64, 96), bool)
    known[:, 32:64] = True
    image[:, 32:64] = np.linspace(0, 255, 64, dtype=np.uint8)[:, None, None]  # a vertical ramp
    image[:, :32] = image[:, 32:33]
    image[:, 64:] = image[:, 63:64]
    out = extend_border(image, known)
    assert np.array_equal(out[known], image[known])  # the picture's own pixels stay
    # each row continues its edge's colour: the ramp survives outside, blurred
    left = out[:, 20].astype(float).mean(axis=1)
    assert np.corrcoef(left, np.arange(64))[0, 1] > 0.95


@pytest.fixture(scope="module")
def tight_hopper(grace_hopper: np.ndarray, measurer: FaceMeasurer) -> Character:
    return Character.from_image(grace_hopper[130:430, 110:400].copy(), measurer=measurer)


def test_a_tight_headshot_renders_as_its_own_pixels(tight_hopper: Character) -> None:
    """The commonest profile photo: the rest frame is the photo, larger, with no ghost of it."""
    renderer = make_renderer(tight_hopper, size="512")
    assert renderer.framing.own_share == 1.0
    frame = renderer.render(renderer.rest_motion()).astype(np.float64)
    placed = frame_reference(tight_hopper.reference, renderer.framing).astype(np.float64)
    assert np.abs(frame - placed).mean() < 1.0
    report = character_report(tight_hopper)
    assert report["framing"]["512"]["own_pixel_share"] == 1.0
    assert report["framing"]["512"]["face_fraction"] > 0.6
    assert report["found"]["face_height_px"] > 150


def test_a_turned_photo_limits_its_head_turns(tight_hopper: Character) -> None:
    """Mirrored, a photo turned right becomes one turned left: the limits mirror with it; the
    more a photo is turned, the less its head turns either way; everyday motion (±5°) of a
    slightly turned photo passes untouched, and nothing passes a limit."""
    facts = tight_hopper.facts
    assert facts is not None and facts.head_range.yaw == (-14.0, 14.0)  # frontal: its clean range
    head_range = type(facts.head_range)
    turned, mirrored = head_range.for_pose(30.0, 0.0), head_range.for_pose(-30.0, 0.0)
    assert turned.yaw == (-mirrored.yaw[1], -mirrored.yaw[0])
    slight = head_range.for_pose(12.0, 0.0)
    assert max(turned.yaw) < min(-slight.yaw[0], slight.yaw[1]) < 14.0
    assert slight.clamp(5.0, 0.0) == (5.0, 0.0) and slight.clamp(-5.0, 0.0) == (-5.0, 0.0)
    for yaw in (-40.0, -20.0, 20.0, 40.0):
        eased = turned.clamp(yaw, 0.0)[0]
        assert turned.yaw[0] <= eased <= turned.yaw[1]


def test_motion_near_the_frames_edge_reads_the_photo_past_it(astronaut: np.ndarray, measurer: FaceMeasurer) -> None:
    """Framed at 512, the astronaut's picture goes on past the frame's edges (her shoulders, the
    background). A leaning body or a shifted head pulls in what lies past the edge: the warp
    reads the photo's own pixels there, not the frame's edge column repeated (streaks)."""
    renderer = make_renderer(Character.from_image(astronaut, measurer=measurer), size="512")
    left, top, right, bottom = renderer.margins
    assert min(left, right, bottom) >= 0.3 * renderer.character.face_height * renderer.scale
    (sx, ox), (sy, oy) = (renderer.framing.scale, renderer.framing.offset[0]), (renderer.framing.scale, renderer.framing.offset[1])
    width, height = renderer.character.size
    past_frame = 0
    for channel, value in (("bodyLeanX", 1.0), ("bodyLeanX", -1.0), ("headX", 0.3), ("headX", -0.3)):
        motion = renderer.rest_motion()
        motion[index(channel)] = value
        map_x, map_y = renderer.source_maps(motion)
        past_frame += int(((map_x < -0.5) | (map_x > 511.5) | (map_y < -0.5) | (map_y > 511.5)).sum())
        in_source = ((map_x >= -0.5 - left) & (map_x <= 511.5 + right)
                     & (map_y >= -0.5 - top) & (map_y <= 511.5 + bottom))  # fmt: skip
        x, y = (map_x - ox) / sx, (map_y - oy) / sy
        in_picture = (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)
        assert (in_source & in_picture).all(), f"{channel}={value}: {int((~in_source).sum())} px past the source"
    assert past_frame > 1000  # the motions do read past the frame: the photo's own pixels there


def test_a_photo_cut_through_the_face_says_so_and_turns_without_streaks(
    astronaut: np.ndarray, measurer: FaceMeasurer
) -> None:
    """The picture's left edge runs through the cheek: the report says so, and a turn that
    pulls in what lies past that edge reads a fill made from the edge (a margin), never the edge
    column repeated across the frame (the streaks this used to draw)."""
    cut = Character.from_image(np.ascontiguousarray(astronaut[:, 200:]), measurer=measurer)
    renderer = make_renderer(cut, size="512")
    assert "left" in renderer.framing.cut
    assert renderer.margins[0] >= 0.3 * cut.face_height * renderer.scale
    assert any("left edge cuts through the face" in w for w in character_report(cut)["warnings"])
    reads_past = 0
    for yaw in (-14.0, 14.0):
        motion = renderer.rest_motion()
        motion[index("headYaw")] = yaw
        map_x, _ = renderer.source_maps(motion)
        reads_past += int((map_x < -0.5).sum())
        assert (map_x >= -0.5 - renderer.margins[0]).all()
    assert reads_past > 500
    whole = make_renderer(Character.from_image(astronaut, measurer=measurer), size="512")
    assert whole.framing.cut == ()
