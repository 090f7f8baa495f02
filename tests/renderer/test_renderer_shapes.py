"""Mouth and eye shapes on the deformed mesh: what a viewer sees move, and what must stay still."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from avatars import face as fm
from avatars.character import Character
from avatars.motion import index
from renderer import Renderer

# eyes, brows, forehead and the bridge of the nose (its tip and wings may follow a smile)
_UPPER_FACE = list(fm.LEFT_EYE_UPPER + fm.RIGHT_EYE_UPPER + fm.LEFT_BROW + fm.RIGHT_BROW) + [
    fm.FOREHEAD_TOP, 6, 168,
]


def _posed(renderer: Renderer, **channels: float) -> np.ndarray:
    frame = renderer.rest_motion()
    for name in ("jawOpen", "mouthSmileLeft", "mouthSmileRight", "mouthPucker", "mouthFunnel"):
        frame[index(name)] = 0.0
    for name, value in channels.items():
        frame[index(name)] = value
    return renderer.vertex_positions(frame)[: fm.NUM_LANDMARKS]


def _mouth(points: np.ndarray) -> tuple[float, float]:
    """(width between the corners, opening between the inner lips at the middle), pixels."""
    width = float(np.linalg.norm(points[fm.MOUTH_LEFT_CORNER] - points[fm.MOUTH_RIGHT_CORNER]))
    return width, float(points[14, 1] - points[13, 1])


def test_jaw_and_lips_leave_the_head_still(astronaut_renderer: Renderer) -> None:
    """No expression nods or turns the head: the upper face stays where it is."""
    relaxed = _posed(astronaut_renderer)
    for shape in ({"jawOpen": 1.0}, {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},
                  {"mouthFunnel": 1.0}, {"mouthPucker": 1.0}):  # fmt: skip
        moved = _posed(astronaut_renderer, **shape)
        shift = np.abs(moved[_UPPER_FACE] - relaxed[_UPPER_FACE]).max()
        assert shift < 0.5, (shape, shift)


def test_jaw_drops_the_chin_more_than_the_jaw_angles(astronaut_renderer: Renderer) -> None:
    """The jaw turns about its hinges: the chin travels down, the jaw line less the nearer it
    is to the hinge, the cheeks above the mouth not at all."""
    relaxed = _posed(astronaut_renderer)
    opened = _posed(astronaut_renderer, jawOpen=1.0)
    drop = opened[:, 1] - relaxed[:, 1]
    face_height = astronaut_renderer.character.rig.face_height * astronaut_renderer.scale
    assert drop[fm.CHIN] > 0.1 * face_height
    for front, back in ((150, 136), (136, 172), (379, 365), (365, 397)):  # along the jaw line
        assert drop[front] >= drop[back] - 0.5, (front, back, drop[front], drop[back])
    assert max(drop[172], drop[397]) < 0.7 * drop[fm.CHIN]
    assert np.abs(drop[[205, 425, 50, 280]]).max() < 0.5  # cheeks


def test_funnel_opens_and_pucker_closes(astronaut_renderer: Renderer) -> None:
    """A funnel is an open rounded mouth, a pucker a small closed one: different shapes."""
    relaxed_width, _ = _mouth(_posed(astronaut_renderer))
    funnel_width, funnel_gap = _mouth(_posed(astronaut_renderer, mouthFunnel=1.0))
    pucker_width, pucker_gap = _mouth(_posed(astronaut_renderer, mouthPucker=1.0))
    assert pucker_width < funnel_width < relaxed_width
    assert funnel_gap > 0.3 * funnel_width  # an opening, taller than a slit
    assert pucker_gap < 0.25 * funnel_gap


def _upper_teeth_rows(renderer: Renderer, upper_lip_up: float) -> tuple[float, int, int]:
    """(upper lip y, first and last row of the upper teeth) down the middle of an open mouth."""
    frame = renderer.rest_motion()
    frame[index("jawOpen")] = 0.7
    frame[index("mouthUpperUpLeft")] = frame[index("mouthUpperUpRight")] = upper_lip_up
    image = renderer.render(frame).astype(int)
    points = renderer.vertex_positions(frame)
    top, bottom = int(points[13, 1]), int(points[14, 1])
    column = image[top:bottom, round(float(points[13, 0]))].sum(axis=1)
    bright = column > 450  # teeth, against the dark of the mouth
    assert bright.any(), "no teeth in an open mouth"
    first = int(np.argmax(bright))
    return float(points[13, 1]), top + first, top + first + int(np.argmax(~bright[first:]))


def test_upper_teeth_stay_with_the_skull(astronaut_renderer: Renderer) -> None:
    """Raising the upper lip uncovers more of the upper teeth; their biting edge stays put."""
    lip_down, first_down, edge_down = _upper_teeth_rows(astronaut_renderer, 0.0)
    lip_up, first_up, edge_up = _upper_teeth_rows(astronaut_renderer, 1.0)
    assert lip_down - lip_up > 4.0  # the lip rose
    assert first_down - first_up > 2  # more teeth show
    assert abs(edge_up - edge_down) <= 1


def test_pushed_out_lips_come_off_a_turned_face(astronaut_renderer: Renderer) -> None:
    """Puckered lips stand in front of the face: seen head-on they keep their place across the
    mouth, but a head turned (or nodding) shows them further round than the skin, the nose
    above them not."""
    lips = [13, 14, 0, 17]
    ahead = _posed(astronaut_renderer, mouthPucker=1.0) - _posed(astronaut_renderer)
    assert np.abs(ahead[lips, 0]).max() < 0.5
    for yaw in (15.0, -15.0):
        turned = _posed(astronaut_renderer, mouthPucker=1.0, headYaw=yaw)
        shift = turned - _posed(astronaut_renderer, headYaw=yaw)
        # the nose turns to the image right for yaw > 0, and lips in front of the face further
        assert np.all(np.sign(yaw) * shift[lips, 0] > 2.0), (yaw, shift[lips, 0])
        assert abs(shift[1, 0]) < 0.5  # the nose tip does not pucker
    nodding = _posed(astronaut_renderer, mouthFunnel=1.0, headPitch=15.0)
    down = nodding - _posed(astronaut_renderer, headPitch=15.0) - (
        _posed(astronaut_renderer, mouthFunnel=1.0) - _posed(astronaut_renderer)
    )
    assert np.all(down[[13, 14, 0], 1] > 2.0), down[[13, 14, 0], 1]  # nose down: lips lower


def test_inner_brow_raise_lifts_the_forehead(astronaut_renderer: Renderer) -> None:
    """browInnerUp lifts the inner brows most, the forehead with them (the skin between the
    brows no more than the brows), the outer brows a little; the lids hardly move."""
    face_height = astronaut_renderer.character.rig.face_height * astronaut_renderer.scale
    lift = _posed(astronaut_renderer) - _posed(astronaut_renderer, browInnerUp=1.0)
    inner, outer, lids = lift[[107, 336], 1], lift[[46, 276], 1], lift[[159, 386], 1]
    assert np.all(inner > 0.06 * face_height), inner
    assert 0.6 * inner.mean() < lift[9, 1] <= inner.min()  # between the brows
    assert lift[151, 1] > 0.3 * inner.mean()  # the forehead above them rises with them
    assert np.all(outer < 0.5 * inner.mean()), outer
    assert np.all(np.abs(lids) < 0.25 * inner.mean()), lids


def test_open_jaw_swings_back_on_a_nodding_head(astronaut_renderer: Renderer) -> None:
    """The jaw turns about its hinges, so below them it also moves back: head-on that is
    hidden, but a nod shows the open chin nearer the face (nose down: higher) than the same
    opening seen head-on would put it."""
    opening = _posed(astronaut_renderer, jawOpen=1.0) - _posed(astronaut_renderer)
    for pitch, sign in ((15.0, -1.0), (-15.0, 1.0)):
        nodding = _posed(astronaut_renderer, jawOpen=1.0, headPitch=pitch)
        extra = nodding - _posed(astronaut_renderer, headPitch=pitch) - opening
        assert sign * extra[fm.CHIN, 1] > 2.0, (pitch, extra[fm.CHIN])
        assert abs(extra[fm.CHIN, 1]) > abs(extra[13, 1]) + 1.0  # the chin more than the lip


def test_open_mouth_is_a_lens_not_a_box(astronaut_renderer: Renderer) -> None:
    """The lower lip hangs from the mouth corners: it drops most in the middle and less and
    less towards the corners, so the opening narrows to its ends."""
    drop = (_posed(astronaut_renderer, jawOpen=1.0) - _posed(astronaut_renderer))[:, 1]
    middle = drop[14]
    for near_middle, near_corner, corner in ((87, 88, 78), (317, 318, 308)):
        assert middle >= drop[near_middle] > drop[near_corner] > drop[corner], (
            middle, drop[near_middle], drop[near_corner], drop[corner])  # fmt: skip
        # (0.85: the relaxed astronaut's closed lips put landmarks 88/318 nearer the middle of
        # the mouth than her parted ones did; a box would drop them as far as the middle)
        assert drop[near_corner] < 0.85 * middle


def _beyond_outline(xy: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """How far each of the points ``ids`` lies outside the face oval of ``xy`` (< 0: inside),
    measured along the ray from the oval's centre, pixels."""
    oval = list(fm.FACE_OVAL)
    center = xy[oval].mean(axis=0)
    rel = xy[oval] - center
    order = np.argsort(np.arctan2(rel[:, 1], rel[:, 0]))
    q = xy[ids] - center
    at = np.interp(np.arctan2(q[:, 1], q[:, 0]), np.arctan2(rel[order, 1], rel[order, 0]),
                   np.hypot(rel[order, 0], rel[order, 1]), period=2 * np.pi)  # fmt: skip
    return np.hypot(q[:, 0], q[:, 1]) - at


def test_turned_face_keeps_its_outline(astronaut_renderer: Renderer) -> None:
    """Turned away, the side of the face hides behind the cheek instead of folding over the
    outline (a fold tears the warp into stair-steps): at ±20° nothing inside the face oval
    lands outside it, and the hair ring around the face stays outside."""
    oval = list(fm.FACE_OVAL)
    inside = np.setdiff1d(np.arange(fm.NUM_LANDMARKS), oval)
    # (points the photo already shows past the oval belong to the outline: a turned cheek)
    rest = astronaut_renderer.vertex_positions(astronaut_renderer.rest_motion())
    inside = inside[_beyond_outline(rest, inside) <= 0.0]
    ring = fm.NUM_LANDMARKS + np.arange(len(oval))  # the first hair ring, one per oval point
    for channel, angle in (("headYaw", 20.0), ("headYaw", -20.0), ("headPitch", 20.0)):
        frame = astronaut_renderer.rest_motion()
        frame[index(channel)] = angle
        xy = astronaut_renderer.vertex_positions(frame)
        assert _beyond_outline(xy, inside).max() < 0.5, (channel, angle)
        assert _beyond_outline(xy, ring).min() > 0.0, (channel, angle)


def test_removing_half_a_photographed_smile_moves_the_corners_halfway(
    astronaut_character: Character,
) -> None:
    """A photo's own expression that its relaxation left in place is undone linearly: with the
    astronaut's measured smile (~0.9) as her own expression, commanding half of it brings the
    mouth corners half as far down as commanding none, and above her smile the tuned response
    adds on from where she is."""
    own = dict(astronaut_character.relaxation.part("smile").found)["mouthSmile"]
    assert own > 0.5  # the test needs a smiling photo
    expression = astronaut_character.expression.copy()
    expression[[index("mouthSmileLeft"), index("mouthSmileRight")]] = own
    astronaut_renderer = Renderer(replace(astronaut_character, expression=expression), size="512")
    rest = astronaut_renderer.rest_motion()

    def corners(value: float) -> np.ndarray:
        frame = rest.copy()
        frame[index("mouthSmileLeft")] = frame[index("mouthSmileRight")] = value
        points = astronaut_renderer.vertex_positions(frame)[: fm.NUM_LANDMARKS]
        return points[[fm.MOUTH_LEFT_CORNER, fm.MOUTH_RIGHT_CORNER], 1]

    at_rest, half, none = corners(own), corners(own / 2), corners(0.0)
    assert np.all(none - at_rest > 3.0)  # pixels: the corners come down without the smile
    np.testing.assert_allclose(half - at_rest, (none - at_rest) / 2, atol=0.2)
    assert np.all(corners(1.0) < at_rest)  # a wider smile raises them further
