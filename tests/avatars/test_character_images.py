"""Building a character from pictures: formats, orientation, size limits, finding the face."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from PIL import Image

from avatars.character import STYLE_DIM, Character
from avatars.face import FaceMeasurer
from avatars.images import FaceNotFoundError, ImageError, load_image


@pytest.fixture(scope="module")
def measurer() -> Iterator[FaceMeasurer]:
    with FaceMeasurer() as face_measurer:
        yield face_measurer


def _encode(rgb: np.ndarray, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _canvas(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A plain, slightly noisy wall."""
    rng = np.random.default_rng(seed)
    wall = np.full((height, width, 3), (176, 168, 150), np.uint8)
    return np.clip(wall + rng.normal(0, 6, wall.shape), 0, 255).astype(np.uint8)


def _paste(canvas: np.ndarray, picture: np.ndarray, scale: float, x: int, y: int) -> np.ndarray:
    import cv2

    small = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = canvas.copy()
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out


def test_character_from_astronaut(astronaut: np.ndarray, measurer: FaceMeasurer) -> None:
    character = Character.from_image(astronaut, measurer=measurer)
    assert character.landmarks.shape == (478, 3)
    assert character.reference.dtype == np.uint8 and character.reference.shape[2] == 3
    assert character.size == (character.reference.shape[1], character.reference.shape[0])
    style = character.style_vector()
    assert style.shape == (STYLE_DIM,) and np.isfinite(style).all()
    # she smiles broadly with her teeth showing: measured, kept as her rest, her lips closed
    smile = character.relaxation.part("smile")
    assert dict(smile.found)["mouthSmile"] > 0.5 and smile.action == "kept"
    assert character.relaxation.part("mouth").action == "relaxed"


def test_save_and_load_without_mediapipe(
    astronaut: np.ndarray, measurer: FaceMeasurer, tmp_path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    character = Character.from_image(astronaut, measurer=measurer)
    character.save(tmp_path / "c")

    def no_landmarker(*args: object, **kwargs: object) -> None:
        raise AssertionError("loading must not run MediaPipe")

    monkeypatch.setattr(FaceMeasurer, "__init__", no_landmarker)
    loaded = Character.load(tmp_path / "c")
    assert np.array_equal(loaded.reference, character.reference)
    assert np.allclose(loaded.rig.basis, character.rig.basis)
    assert np.allclose(loaded.style_vector(), character.style_vector())
    assert loaded.notes == character.notes
    assert loaded.relaxation == character.relaxation
    assert loaded.teeth is not None and np.allclose(loaded.teeth, character.teeth, atol=0.01)
    assert loaded.facts == character.facts


def test_a_stored_head_range_follows_this_release(
    astronaut: np.ndarray, measurer: FaceMeasurer, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    """A character stored when a frontal photo turned ±30° (turns that cut its outline) loads
    with the range this release allows: the range is policy, worked out from the photo's pose."""
    character = Character.from_image(astronaut, measurer=measurer)
    character.save(tmp_path / "c")
    meta_path = tmp_path / "c" / "character.json"
    meta = json.loads(meta_path.read_text())
    meta["facts"]["head_range"] = {"yaw": [-30.0, 30.0], "pitch": [-25.0, 25.0]}
    meta_path.write_text(json.dumps(meta))
    loaded = Character.load(tmp_path / "c")
    assert loaded.facts is not None and character.facts is not None
    assert loaded.facts.head_range == character.facts.head_range
    assert max(abs(v) for v in loaded.facts.head_range.yaw) < 30.0


def test_formats_orientation_and_alpha(astronaut: np.ndarray) -> None:
    for fmt in ("PNG", "JPEG", "WEBP"):
        assert load_image(_encode(astronaut, fmt)).shape == (512, 512, 3)
    wide = np.ascontiguousarray(astronaut[:300])  # 512 wide, 300 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    rotated = load_image(_encode(wide, "JPEG", exif=exif.tobytes()))
    assert rotated.shape == (512, 300, 3)
    rgba = np.dstack([astronaut, np.zeros((512, 512), np.uint8)])
    assert (load_image(_encode(rgba, "PNG")) == 255).all()  # transparent → white
    grey = load_image(_encode(astronaut[:, :, 0], "PNG"))
    assert grey.shape == (512, 512, 3)
    # a 16-bit grey scan keeps its tones (Pillow's own conversion clipped it nearly all white)
    deep = load_image(_encode(astronaut[:, :, 0].astype(np.uint16) * 257, "PNG"))
    assert deep.shape == (512, 512, 3) and np.abs(deep.astype(int) - grey).max() <= 1


def test_bad_images_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(ImageError, match="not a readable image"):
        load_image(tmp_path / "notes.png")
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")
    gif = io.BytesIO()
    Image.new("RGB", (64, 64)).save(gif, format="GIF")
    with pytest.raises(ImageError, match="GIF"):
        load_image(gif.getvalue())


def test_huge_image_refused_before_decoding() -> None:
    bomb = io.BytesIO()
    Image.new("L", (6000, 4000)).save(bomb, format="PNG")  # 24 MP of zeros: a few kB of file
    assert len(bomb.getvalue()) < 200_000
    with pytest.raises(ImageError, match=r"6000x4000 = 24\.0 megapixels; the limit is 16"):
        load_image(bomb.getvalue())


def test_a_camera_jpeg_over_the_limit_is_decoded_reduced(astronaut: np.ndarray) -> None:
    """A 24-50 megapixel camera photo is accepted: the JPEG decoder's own scaling brings it
    under the limit without the full size ever being decoded. Other formats are refused."""
    big = cv2.resize(astronaut, (6000, 5000), interpolation=cv2.INTER_CUBIC)  # 30 MP
    loaded = load_image(_encode(big, "JPEG", quality=90))
    assert loaded.shape == (2500, 3000, 3)
    expected = cv2.resize(big, (3000, 2500), interpolation=cv2.INTER_AREA)
    assert np.abs(loaded.astype(int) - expected).mean() < 4.0  # the same picture, halved
    refused = r"9000x8000 = 72\.0 megapixels; the limit is 16 megapixels \(64 for a JPEG\)"
    with pytest.raises(ImageError, match=refused):
        load_image(_encode(np.zeros((8000, 9000), np.uint8), "JPEG"))


def test_no_face_gives_advice(measurer: FaceMeasurer) -> None:
    with pytest.raises(FaceNotFoundError, match="frontal photo"):
        Character.from_image(_canvas(400, 300), measurer=measurer)


def test_small_face_in_large_picture_is_found(astronaut: np.ndarray, measurer: FaceMeasurer) -> None:
    direct = measurer.measure(astronaut)
    assert direct is not None
    picture = _paste(_canvas(1600, 1200), astronaut, 1.0, 900, 500)  # a ~100 px face
    character = Character.from_image(picture, measurer=measurer)
    # the crop is stored; the face must be the astronaut's, at the expected size
    expected = direct.face_height
    assert abs(character.face_height - expected) / expected < 0.1


def test_several_faces_use_the_largest(
    astronaut: np.ndarray, grace_hopper: np.ndarray, measurer: FaceMeasurer
) -> None:
    picture = _paste(_canvas(1400, 800), astronaut, 1.0, 60, 100)
    picture = _paste(picture, grace_hopper, 0.3, 900, 200)
    character = Character.from_image(picture, measurer=measurer)
    assert any("2 faces found; using the largest" in note for note in character.notes)
    # the smiling astronaut, not Hopper
    assert dict(character.relaxation.part("smile").found)["mouthSmile"] > 0.5


def test_tiny_face_refused_with_its_size(astronaut: np.ndarray, measurer: FaceMeasurer) -> None:
    picture = _paste(_canvas(900, 700), astronaut, 0.6, 300, 200)  # a ~60 px face
    with pytest.raises(FaceNotFoundError, match=r"only \d+ px; at least 80 px"):
        Character.from_image(picture, measurer=measurer)


def test_video_mode_measures_frames_in_order(astronaut: np.ndarray) -> None:
    with FaceMeasurer(video=True, max_faces=1) as video:
        first = video.measure(astronaut, timestamp_ms=0)
        moved = np.roll(astronaut, 6, axis=1)  # the next frame: the face 6 px to the right
        second = video.measure(moved, timestamp_ms=40)
        assert first is not None and second is not None
        assert first.landmarks.shape == (478, 3) and len(first.blendshapes) == 51
        shift = float(np.median(second.landmarks[:, 0] - first.landmarks[:, 0]))
        assert 3.0 < shift < 9.0
        with pytest.raises(ValueError, match="timestamp_ms"):
            video.measure(astronaut)


def test_a_stored_turn_warning_states_this_releases_range(
    astronaut: np.ndarray, measurer: FaceMeasurer, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    """A character stored from a turned photo under the old ±30° policy said "yaw -10°..+30°" in
    its notes; loaded now, its notes state the range it turns (the one warning, worded again),
    and notes the facts do not word (the picture's crop) stay."""
    character = Character.from_image(astronaut, measurer=measurer)
    character.save(tmp_path / "c")
    meta_path = tmp_path / "c" / "character.json"
    meta = json.loads(meta_path.read_text())
    meta["facts"]["yaw"] = 20.0
    stale = ("the head is turned (yaw +20°, pitch +0°); its turns are limited to what the photo "
             "can show: yaw -10°..+30°, pitch -25°..+25°")  # fmt: skip
    meta["notes"] = [stale, "picture kept as 600x800 (from 1200x1600)"]
    meta_path.write_text(json.dumps(meta))
    loaded = Character.load(tmp_path / "c")
    assert loaded.facts is not None
    assert not any(n.startswith("the head is turned") for n in loaded.notes)  # the old wording
    turned = [n for n in loaded.notes if n.startswith("the head in the photo is turned 20°")]
    lo, hi = loaded.facts.head_range.yaw
    assert turned == [n for n in loaded.facts.warnings() if n.startswith("the head in the photo")]
    assert len(turned) == 1 and f"yaw {lo:+.0f}°..{hi:+.0f}°" in turned[0] and "+30°" not in turned[0]
    assert "picture kept as 600x800 (from 1200x1600)" in loaded.notes


def test_the_pose_warning_says_which_way_and_only_when_the_range_narrows(
    astronaut: np.ndarray, measurer: FaceMeasurer
) -> None:
    """The astronaut (pitch +11°) turns within a degree of a frontal photo's range: no warning.
    A photo turned 20° towards the image right (or left, mirrored) says so in words, with the
    range it turns; one turned past 35° is told a more frontal photo animates better."""
    from dataclasses import replace

    from avatars.facts import HeadRange

    facts = Character.from_image(astronaut, measurer=measurer).facts
    assert facts is not None and not any(w.startswith("the head") for w in facts.warnings())

    def posed(yaw: float, pitch: float) -> list[str]:
        assert facts is not None
        moved = replace(facts, yaw=yaw, pitch=pitch, head_range=HeadRange.for_pose(yaw, pitch))
        return [w for w in moved.warnings() if w.startswith("the head in the photo")]

    (right,) = posed(20.0, 0.0)
    assert right.startswith("the head in the photo is turned 20° towards the image right;"), right
    (left,) = posed(-20.0, 15.0)
    assert left.startswith("the head in the photo is turned 20° towards the image left and tipped 15° down")
    lo, hi = HeadRange.for_pose(-20.0, 15.0).yaw
    assert f"yaw {lo:+.0f}°..{hi:+.0f}°" in left
    assert any("turned more than 35° sideways; a more frontal photo" in w for w in posed(40.0, 0.0))
