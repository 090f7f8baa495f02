"""The face-set measures catch what they claim: padding, another person, an open mouth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from avatars.motion import index
from tools.faceset import metrics as fx


def _grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return x, y


def test_own_pixel_share_counts_what_lies_inside_the_picture() -> None:
    # a 300 x 512 picture placed 100 px from the left of a 512 x 512 frame, read in place
    placement = fx.Placement(scale=(1.0, 1.0), offset=(100.0, 0.0), reference_size=(300, 512),
                             frame_size=(512, 512))  # fmt: skip
    share = fx.own_pixel_share(placement, *_grid(512, 512))
    assert share == pytest.approx(300 / 512, abs=2 / 512)
    # read from past the frame's edge (the warp replicates the edge there): still padding
    far_x, far_y = _grid(512, 512)
    assert fx.own_pixel_share(placement, far_x - 1000.0, far_y) == 0.0


def test_the_margins_past_the_frame_hold_the_photos_own_pixels() -> None:
    """The warp reads past the frame's edges where the picture goes on (a 1000 px wide picture
    behind a 512 frame: 64 px to the left); past the margins or the picture, padding."""
    placement = fx.Placement(scale=(1.0, 1.0), offset=(-200.0, 0.0), reference_size=(1000, 512),
                             frame_size=(512, 512), margins=(64, 0, 64, 0))  # fmt: skip
    x, y = _grid(512, 512)
    assert fx.own_pixel_share(placement, x - 60.0, y) == 1.0  # left of the frame, in the margin
    assert fx.own_pixel_share(placement, x - 100.0, y) == pytest.approx(1 - 36 / 512, abs=2 / 512)
    assert fx.own_pixel_share(placement, x, y - 60.0) == pytest.approx(1 - 60 / 512, abs=2 / 512)


def test_placement_reads_the_framing_off_the_renderer(astronaut_renderer) -> None:
    renderer = astronaut_renderer
    placement = fx.Placement.of(renderer)
    marks = renderer.character.landmarks[:, :2]
    placed = marks * np.array(placement.scale) + np.array(placement.offset)
    rest = renderer.vertex_positions(renderer.rest_motion())[: len(marks)]
    assert np.abs(placed - rest).max() < 0.5
    assert placement.reference_size == renderer.character.size


def test_own_pixel_share_falls_when_the_frame_is_padded(astronaut_renderer) -> None:
    renderer = astronaut_renderer
    placement = fx.Placement.of(renderer)
    rest = fx.own_pixel_share(placement, *renderer.source_maps(renderer.rest_motion()))
    assert rest > 0.97  # the astronaut fills the 512 frame
    # the same frame with the picture shrunk to half its size in the middle: sampling twice as
    # far from the centre reaches past the picture, as a frame padded around a small box does
    x, y = _grid(512, 512)
    shrunk = fx.own_pixel_share(placement, 256 + 2 * (x - 256), 256 + 2 * (y - 256))
    assert shrunk < 0.5 * rest


@pytest.mark.parametrize(
    ("picture", "box", "face", "frame", "room"),
    [
        ((1920, 1080), (1300, 100, 1600, 480), 380.0, (512, 512), True),  # a wide photo
        ((400, 400), (70, 50, 330, 345), 294.0, (512, 512), True),  # a tight headshot
        ((626, 1200), (195, 281, 482, 635), 352.0, (1280, 720), False),  # a portrait into 720p
        ((112, 112), (1, 20, 85, 116), 94.0, (512, 512), False),  # past 2x magnification
    ],
)
def test_photo_has_room(picture, box, face, frame, room) -> None:
    assert fx.photo_has_room(picture, box, face, frame) is room


def test_identity_tells_people_apart(astronaut, grace_hopper, dlib_faces, measurer, set_face) -> None:
    def descriptor(rgb: np.ndarray) -> np.ndarray:
        box = fx.face_box(measurer.measure(rgb))
        assert dlib_faces.detects(rgb, box)  # dlib's own detector agrees on where the face is
        return dlib_faces.descriptor(rgb, dlib_faces.rect(box))

    a, h = descriptor(astronaut), descriptor(grace_hopper)
    mirrored = descriptor(np.ascontiguousarray(astronaut[:, ::-1]))
    assert fx.identity_distance(a, h) > 0.6  # two people
    assert fx.identity_distance(a, mirrored) < 0.3  # one person, mirrored
    smile, talking = set_face("obama_smile"), set_face("obama_talking")
    if smile is not None and talking is not None:  # the same man in two photos, against Hopper
        assert fx.identity_distance(descriptor(smile), descriptor(talking)) < 0.45
        assert fx.identity_distance(descriptor(smile), h) > 0.6


def test_lip_gap_tells_closed_from_open_on_rendered_frames(astronaut_renderer, measurer) -> None:
    renderer = astronaut_renderer
    motion = renderer.rest_motion()
    motion[: len(renderer.character.expression)] = 0.0  # a neutral face: the smiling lips sealed
    closed_frame = renderer.render(motion)
    motion[index("jawOpen")] = 0.5
    opened_frame = renderer.render(motion)
    # upright, and the head tilted by 30 degrees (the gap runs along the face's own axis)
    height, width = opened_frame.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 30, 1.0)
    for tilt in (None, turn):
        closed, opened = (frame if tilt is None else cv2.warpAffine(frame, tilt, (width, height))
                          for frame in (closed_frame, opened_frame))  # fmt: skip
        assert fx.lip_gap(measurer.measure(closed)) < fx.CLOSED_GAP < fx.lip_gap(measurer.measure(opened))


def test_lip_gaps_on_photos_of_open_and_closed_mouths(set_face, measurer, dlib_faces) -> None:
    surprise, frown = set_face("surprise"), set_face("frown")
    if surprise is None or frown is None:
        pytest.skip("the face set is not collected (python -m tools.faceset.collect)")
    for photo, is_open in ((surprise, True), (frown, False)):
        face = measurer.measure(photo)
        gap = fx.lip_gap(face)
        dlib_gap = dlib_faces.lip_gap(photo, dlib_faces.rect(fx.face_box(face)))
        assert (gap > fx.CLOSED_GAP) is is_open
        assert (dlib_gap > fx.DLIB_CLOSED_GAP) is is_open


def test_the_face_is_read_where_the_renderer_put_it(astronaut, grace_hopper, measurer) -> None:
    # two people side by side: the box picks which one is measured
    pair = np.concatenate([astronaut, cv2.resize(grace_hopper, (512, 512))], axis=1)
    boxes = [fx.face_box(measurer.measure(face)) for face in (astronaut, cv2.resize(grace_hopper, (512, 512)))]
    right = (boxes[1][0] + 512, boxes[1][1], boxes[1][2] + 512, boxes[1][3])
    for box in (boxes[0], right):
        found = fx.measure_face(measurer, pair, box)  # landmarks in the crop's pixels
        assert found is not None
        side = fx.CROP_FACE_HEIGHTS * (box[3] - box[1])
        x0, _, x1, _ = fx.face_box(found)
        assert abs((x0 + x1) / 2 - side / 2) < 20  # the face at the crop's centre, not the other one
    # a small face in a large frame is read on a crop around it, at its own proportions
    canvas = np.full((1440, 2560, 3), 90, np.uint8)
    small = cv2.resize(astronaut, (440, 440), interpolation=cv2.INTER_AREA)  # the face ~95 px
    canvas[900:1340, 2000:2440] = small
    scale = 440 / 512
    x0, y0, x1, y1 = boxes[0]
    placed = (2000 + x0 * scale, 900 + y0 * scale, 2000 + x1 * scale, 900 + y1 * scale)
    face = fx.measure_face(measurer, canvas, placed)
    assert face is not None
    assert fx.lip_gap(face) == pytest.approx(fx.lip_gap(measurer.measure(astronaut)), abs=0.02)
    assert fx.measure_face(measurer, canvas, (100.0, 100.0, 150.0, 160.0)) is None  # nobody there


def test_a_tongue_out_keeps_its_mouth_parted_and_says_so(set_face, measurer) -> None:
    """einstein_tongue's lips cannot meet over the tongue: the character keeps the parted mouth
    as its resting state and its report says so; a toothy smile's lips close and are not kept."""
    from avatars.character import Character
    from avatars.relaxation import KEPT
    from renderer.report import character_report

    tongue, toothy = set_face("einstein_tongue"), set_face("toothy_smile")
    if tongue is None or toothy is None:
        pytest.skip("the face set is not collected (python -m tools.faceset.collect)")
    kept = Character.from_image(tongue, measurer=measurer)
    assert kept.relaxation.part("mouth").action == KEPT
    assert "mouth" in kept.relaxation.kept
    warnings = character_report(kept)["warnings"]
    assert any(w.startswith("mouth kept as the resting state") and "tongue" in w for w in warnings)
    closed = Character.from_image(toothy, measurer=measurer)
    assert closed.relaxation.part("mouth").action != KEPT
