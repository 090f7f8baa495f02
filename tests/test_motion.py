import numpy as np
import pytest

from avatars import motion


def test_layout_has_arkit_names_and_pose():
    assert motion.NUM_CHANNELS == 61
    assert motion.index("jawOpen") < motion.NUM_BLENDSHAPES
    assert motion.CHANNELS[motion.HEAD_SLICE][:3] == ("headPitch", "headYaw", "headRoll")


def test_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    frames = motion.neutral(30)
    frames[:, motion.BLENDSHAPE_SLICE] = rng.random((30, 52))
    frames[:, motion.index("headYaw")] = rng.uniform(-20, 20, 30)
    frames[:, motion.index("bodyShrug")] = rng.uniform(-1, 1, 30)
    path = tmp_path / "m.csv"
    motion.write_csv(path, frames)
    header = path.read_text().splitlines()[0].split(",")
    assert header[:3] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft"]
    assert "JawOpen" in header and header.index("HeadYaw") == 54
    back = motion.read_csv(path)
    np.testing.assert_allclose(back, frames, atol=1e-4)


def test_csv_bad_value_names_line_and_column(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("Timecode,JawOpen\n00:00:00:00,0.5\n00:00:00:01,abc\n")
    with pytest.raises(motion.MotionFormatError, match=r"line 3, column JawOpen: 'abc'"):
        motion.read_csv(path)


def test_csv_without_motion_columns_is_refused(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(motion.MotionFormatError, match="no motion columns"):
        motion.read_csv(path)


def test_json_round_trip_and_clipping():
    frames = motion.neutral(3)
    frames[0, motion.index("jawOpen")] = 1.7
    back = motion.from_json(motion.to_json(frames))
    assert back[0, motion.index("jawOpen")] == 1.0
