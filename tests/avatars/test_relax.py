"""Relaxing expressive photos at build time: lips closed with their own texture, brows brought
down without folding, a neutral photo left alone, and the record of it all."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from avatars import face as fm
from avatars import piecewise as pw
from avatars.character import Character, CharacterFileError
from avatars.face import FaceMeasurement, FaceMeasurer
from avatars.images import find_face
from avatars.lips import shade_seam
from avatars.motion import index
from avatars.relax import RelaxedPhoto, _border, _brow_field, relax_photo
from avatars.relaxation import PartRelaxation, Relaxation
from avatars.rig import build_rig
from tools.faceset.metrics import CLOSED_GAP


@pytest.fixture(scope="module")
def measurer() -> Iterator[FaceMeasurer]:
    with FaceMeasurer() as face_measurer:
        yield face_measurer


def _relax(picture: np.ndarray, measurer: FaceMeasurer) -> tuple[FaceMeasurement, RelaxedPhoto]:
    face = find_face(picture, measurer).measurement
    relaxed = relax_photo(picture, face.landmarks, face.blendshape_vector(),
                          face.transform.astype(np.float32), measurer)  # fmt: skip
    return face, relaxed


def _between_lips(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of the pixels within 2 px of the line midway between the inner lips."""
    import cv2

    xy = landmarks[:, :2]
    middle = (xy[list(fm.LIPS_UPPER_INNER)] + xy[list(fm.LIPS_LOWER_INNER)]) / 2
    mask = np.zeros(shape[:2], np.uint8)
    cv2.polylines(mask, [np.round(middle * 16).astype(np.int32)], False, 1, 4, cv2.LINE_8, 4)
    return mask > 0


def _lips_region(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of the mouth between the outer lip lines."""
    import cv2

    xy = landmarks[:, :2]
    poly = np.concatenate([xy[list(fm.LIPS_UPPER_OUTER)], xy[list(fm.LIPS_LOWER_OUTER)][::-1]])
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask > 0


def _tooth_like(picture: np.ndarray, teeth: np.ndarray) -> np.ndarray:
    """Pixels within a small distance of the teeth's colour, and bright."""
    rgb = picture.astype(np.float64)
    return (np.linalg.norm(rgb - teeth, axis=2) < 28.0) & (rgb.mean(axis=2) > 150)


@pytest.fixture(scope="module")
def smiling(astronaut: np.ndarray, measurer: FaceMeasurer) -> tuple[FaceMeasurement, RelaxedPhoto]:
    return _relax(astronaut, measurer)


def test_a_toothy_smile_closes_its_lips_over_the_teeth(
    astronaut: np.ndarray, smiling: tuple[FaceMeasurement, RelaxedPhoto]
) -> None:
    face, relaxed = smiling
    record = relaxed.record
    assert record.part("mouth").action == "relaxed" and record.warped
    assert dict(record.part("mouth").found)["lip_gap"] > 0.04  # her lips were parted
    # MediaPipe, reading the relaxed picture afresh, finds the lips closed
    assert dict(record.part("mouth").after)["lip_gap"] < 0.01
    # the report says so in the mouth's line; a crease at the seam is no warning to act on
    assert "they meet" in record.part("mouth").reason and record.notes == ()
    gap = (relaxed.landmarks[14, 1] - relaxed.landmarks[13, 1]) / face.face_height
    assert gap < 0.01
    # the teeth the photo showed between the lips are gone from between them
    assert relaxed.teeth is not None and relaxed.teeth.mean() > 150
    before = _tooth_like(astronaut, relaxed.teeth) & _between_lips(face.landmarks, astronaut.shape)
    after = _tooth_like(relaxed.picture, relaxed.teeth) & _between_lips(relaxed.landmarks, astronaut.shape)
    assert before.sum() > 40 and after.sum() == 0, (before.sum(), after.sum())
    # the closed mouth is the photo's own lips, not a painted band: beside the line where they
    # meet (which is shaded a little), the colours are ones the photo's lips have
    seam = relaxed.landmarks[[82, 13, 312, 87, 14, 317], :2] + np.array([[0, -2]] * 3 + [[0, 2]] * 3)
    lips = astronaut[_lips_region(face.landmarks, astronaut.shape)].astype(np.float64)
    for x, y in seam.round().astype(int):
        nearest = np.linalg.norm(lips - relaxed.picture[y, x], axis=1).min()
        assert nearest < 12.0
    # the broad smile stays in the picture; the lips are at rest: motion never closes them more
    assert record.part("smile").action == "kept"
    at_rest = [index(n) for n in ("jawOpen", "mouthLowerDownLeft", "mouthUpperUpRight")]
    assert relaxed.expression[at_rest].max() == 0.0
    assert relaxed.expression[index("mouthSmileLeft")] > 0.5  # measured: motion lessens it


def test_a_small_laughing_face_closes_to_a_clean_line(set_face, measurer: FaceMeasurer) -> None:
    """children: a girl laughing wide, 89 px tall, her lips stretched thin over the teeth. Where
    her closed lips meet, the inner lip edges (half mouth cavity at that size) made a dashed
    dark line that MediaPipe read as lips 0.023 face heights apart."""
    children = set_face("children")
    if children is None:
        pytest.skip("the face set is not collected (python -m tools.faceset.collect)")
    _, relaxed = _relax(children, measurer)
    mouth = relaxed.record.part("mouth")
    assert mouth.action == "relaxed" and dict(mouth.found)["lip_gap"] > 0.1
    assert dict(mouth.after)["lip_gap"] < CLOSED_GAP  # read as closed lips, with no note
    assert not any("parted" in note for note in relaxed.record.notes)


def test_a_black_and_white_laugh_closes_as_cleanly_as_in_colour(set_face, measurer: FaceMeasurer) -> None:
    """In grey, lips and teeth differ only in lightness, and a lower lip lit from above is as
    light as teeth in shadow: read as mouth inside, it was folded into the closed mouth with
    its highlight showing between the lips (MediaPipe: 0.014 and 0.012 face heights apart)."""
    import cv2

    for name in ("franck_laugh", "obama_talking"):
        photo = set_face(name)
        if photo is None:
            pytest.skip("the face set is not collected (python -m tools.faceset.collect)")
        grey = np.repeat(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
        _, relaxed = _relax(grey, measurer)
        mouth = relaxed.record.part("mouth")
        assert mouth.action != "kept" and dict(mouth.found)["lip_gap"] > 0.04, name
        assert dict(mouth.after)["lip_gap"] < 0.01, name


def test_the_meeting_line_is_one_soft_shade_whatever_met_there() -> None:
    """Two lips (flat colours) meeting on a row of dark specks, as a small face's inner lip
    edges do: the specks are filled from the lips, the line shaded evenly (no dashes)."""
    picture = np.zeros((40, 80, 3), np.uint8)
    picture[:20], picture[20:] = (190, 110, 110), (200, 120, 120)
    picture[19:21, 10:70:3] = (40, 20, 20)  # every third pixel along the seam is cavity
    seam = np.stack([np.linspace(8.0, 72.0, 11), np.full(11, 20.0)], axis=1)
    shaded = shade_seam(picture, seam, fh=300.0)
    middle = shaded[18:22, 30:50].astype(float).mean(axis=2)
    assert middle.min() > 0.7 * 140  # nothing of the specks is left: the shade is 22% at most
    assert np.ptp(shaded[19:21, 30:50].astype(float).mean(axis=2), axis=1).max() < 6  # even along it
    assert middle.min() < 0.9 * 140  # and the line is there, a little darker than the lips
    np.testing.assert_array_equal(shaded[:10], picture[:10])  # away from the line, untouched


def test_the_rest_of_the_picture_is_untouched(
    astronaut: np.ndarray, smiling: tuple[FaceMeasurement, RelaxedPhoto]
) -> None:
    face, relaxed = smiling
    changed = np.abs(relaxed.picture.astype(int) - astronaut).max(axis=2) > 0
    ys, xs = np.nonzero(changed)
    mouth = face.landmarks[list(fm.LIPS_UPPER_OUTER + fm.LIPS_LOWER_OUTER), :2]
    span = face.face_height * 0.25
    assert xs.min() > mouth[:, 0].min() - span and xs.max() < mouth[:, 0].max() + span
    assert ys.min() > mouth[:, 1].min() - span and ys.max() < mouth[:, 1].max() + span


def test_a_neutral_photo_is_left_bit_identical(grace_hopper: np.ndarray, measurer: FaceMeasurer) -> None:
    face, relaxed = _relax(grace_hopper, measurer)
    assert not relaxed.record.warped
    assert all(p.action == "unchanged" for p in relaxed.record.parts)
    assert relaxed.picture is grace_hopper
    np.testing.assert_array_equal(relaxed.landmarks, face.landmarks)
    np.testing.assert_array_equal(relaxed.expression, face.blendshape_vector())


def _raised_brows(picture: np.ndarray, measurer: FaceMeasurer, lift: float) -> np.ndarray:
    """``picture`` with both brows raised ``lift`` face heights (the skin above the lids
    stretched), by the same exact warp."""
    face = find_face(picture, measurer).measurement
    rig = build_rig(face.landmarks)
    field = _brow_field(rig, face.landmarks, {"Right": -lift, "Left": -lift})
    height, width = picture.shape[:2]
    points = np.concatenate([rig.vertices[: fm.NUM_LANDMARKS, :2], _border(width, height)])
    mesh = pw.triangulate(points, [])
    target = points.copy()
    target[: fm.NUM_LANDMARKS] += field[: fm.NUM_LANDMARKS]
    return pw.warp(picture, mesh, target)


def test_raised_brows_come_down_without_folding_over_the_eyes(
    astronaut: np.ndarray, measurer: FaceMeasurer
) -> None:
    raised = _raised_brows(astronaut, measurer, 0.06)
    face, relaxed = _relax(raised, measurer)
    brows = relaxed.record.part("brows")
    assert dict(brows.found)["browInnerUp"] > 0.25  # MediaPipe reads them raised
    assert brows.action in ("relaxed", "partly relaxed")
    for side in ("right", "left"):
        assert dict(brows.after)[f"brow_to_lid_{side}"] < dict(brows.found)[f"brow_to_lid_{side}"] - 0.01
    # half way down (avatars.relax._BROW_SHARE: how high brows rest is the person's own)
    assert dict(brows.after)["browInnerUp"] < 0.67 * dict(brows.found)["browInnerUp"]
    # the eyes themselves (lids, whites, irises) are as they were: no skin dragged over them
    import cv2

    for upper, lower in ((fm.RIGHT_EYE_UPPER, fm.RIGHT_EYE_LOWER), (fm.LEFT_EYE_UPPER, fm.LEFT_EYE_LOWER)):
        eye = face.landmarks[list(upper) + list(lower)[-2:0:-1], :2]
        mask = np.zeros(raised.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(eye).astype(np.int32)], 1)
        inside = mask > 0
        difference = np.abs(relaxed.picture[inside].astype(int) - raised[inside])
        assert inside.sum() > 50 and difference.mean() < 2.0, difference.mean()
    # the brows are at rest now: motion raises them from here, never lowers them further
    brows_at_rest = [index(n) for n in ("browInnerUp", "browOuterUpLeft", "browDownRight")]
    assert relaxed.expression[brows_at_rest].max() == 0.0


def test_the_record_round_trips_and_refuses_nonsense() -> None:
    parts = tuple(PartRelaxation(part=name, action="unchanged", reason="at rest", found=(("x", 0.5),))
                  for name in ("mouth", "smile", "brows", "lids"))  # fmt: skip
    record = Relaxation(parts=parts, warped=False)
    assert Relaxation.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    with pytest.raises(ValueError, match="part 'nose'"):
        PartRelaxation(part="nose", action="kept", reason="", found=())
    with pytest.raises(ValueError, match="action 'folded'"):
        PartRelaxation(part="lids", action="folded", reason="", found=())
    with pytest.raises(ValueError, match="one entry per part"):
        Relaxation(parts=parts[:3])
    with pytest.raises(ValueError, match="incomplete"):
        Relaxation.from_dict({"parts": []})


def test_a_character_of_the_old_format_is_built_again_from_its_picture(
    astronaut: np.ndarray, measurer: FaceMeasurer, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    """An earlier release's character (format 1: parted lips the renderer painted shut) says
    so when loaded directly; the store builds it again from its own picture, relaxed, and
    keeps it (nothing is lost on upgrade)."""
    from avatars.store import CharacterFiles

    files = CharacterFiles(root=tmp_path, measurer=measurer)
    character_id = files.save(files.build(astronaut))
    folder = files.folder(character_id)
    meta = json.loads((folder / "character.json").read_text())
    assert meta["relaxation"]["parts"][0]["part"] == "mouth"
    meta["format"] = 1
    (folder / "character.json").write_text(json.dumps(meta))
    from PIL import Image

    Image.fromarray(astronaut).save(folder / "reference.png")  # format 1 kept the photo as it was
    with pytest.raises(CharacterFileError, match=r"format 1.*before photos were relaxed"):
        Character.load(folder)
    rebuilt = CharacterFiles(root=tmp_path, measurer=measurer).load(character_id)
    assert rebuilt.relaxation.parts[0].action != "unchanged"  # her parted lips closed again
    assert json.loads((folder / "character.json").read_text())["format"] == 2
    assert sorted(p.name for p in tmp_path.joinpath("characters").iterdir()) == [character_id]
