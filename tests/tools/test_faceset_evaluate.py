"""The face-set table: goals judged per face, failures marked; one face end to end."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from tools.faceset.evaluate import table, verdicts


def _result(**changes: object) -> dict:
    base = {"room": True, "own_pixel_min": 0.99, "own_pixel_mean": 0.99, "identity_median": 0.3,
            "identity_max": 0.5, "mediapipe_found": 1.0, "listening_closed": 1.0,
            "closed_loop_min_r": 0.93, "head_error_max_deg": 2.0, "face_px": 200.0, "dlib_found": 1.0,
            "categories": ["tight"]}  # fmt: skip
    return base | changes


def test_verdicts_judge_each_goal() -> None:
    assert set(verdicts(_result()).values()) == {"pass"}
    padded = verdicts(_result(own_pixel_min=0.4))
    assert padded["own_pixel_min"] == "FAIL"
    assert verdicts(_result(own_pixel_min=0.4, room=False))["own_pixel_min"] == "n/a"
    assert verdicts(_result(identity_median=0.5))["identity_median"] == "FAIL"
    assert verdicts(_result(listening_closed=0.9))["listening_closed"] == "FAIL"
    # a mouth the character keeps parted (its report says so) is not judged closed; a kept
    # smile is no excuse
    assert verdicts(_result(listening_closed=0.01, kept=["mouth"]))["listening_closed"] == "n/a"
    assert verdicts(_result(listening_closed=0.9, kept=["smile"]))["listening_closed"] == "FAIL"
    assert verdicts(_result(head_error_max_deg=3.5))["head_error_max_deg"] == "FAIL"
    assert verdicts(_result(closed_loop_min_r=float("nan")))["closed_loop_min_r"] == "n/a"


def test_table_marks_failures() -> None:
    good, bad = _result(), _result(identity_median=0.55)
    rows = {"good": good | {"verdicts": verdicts(good)}, "bad": bad | {"verdicts": verdicts(bad)},
            "none": {"categories": ["group"], "error": "no face found"}}  # fmt: skip
    lines = table(rows).splitlines()
    assert len(lines) == 5
    assert "✗" not in lines[2] and lines[2].endswith("| 0 |")
    assert "0.55 ✗" in lines[3] and lines[3].endswith("| 1 |")
    assert "error: no face found" in lines[4]


def test_one_face_end_to_end(tmp_path: Path) -> None:
    """The astronaut through a 5-second conversation, without the closed loop: every measure and
    a contact sheet (the renderer's own framing fills the frame with the photo)."""
    from tools.faceset.evaluate import run

    args = argparse.Namespace(size="512", seconds=5.0, out=tmp_path, seed=0, dlib_frames=4, closed_loop=False)
    rows = run(["astronaut"], args)
    row = rows["astronaut"]
    assert row["frames"] == 125
    assert row["mediapipe_found"] > 0.95 and row["own_pixel_min"] > 0.97
    assert row["identity_median"] < 0.6 and row["dlib_frames"] == 4
    assert 0.0 <= row["listening_closed"] <= 1.0
    assert row["verdicts"]["closed_loop_min_r"] == "n/a"
    sheet = tmp_path / "sheets" / "astronaut.png"
    assert sheet.is_file() and (tmp_path / "faceset.md").read_text().count("astronaut") >= 1
    from PIL import Image

    with Image.open(sheet) as img:
        assert img.width == 4 * 320 and np.asarray(img).std() > 10


def test_conversation_speaks_then_listens_then_idles() -> None:
    from tools.faceset.conversation import build_conversation

    conv = build_conversation(6.0)
    assert conv.n_frames == 150 and conv.self_audio.shape == conv.partner_audio.shape
    phases = np.stack([conv.speaking, conv.listening, conv.idle]).astype(int)
    assert (phases.sum(axis=0) == 1).all()  # each frame in exactly one phase
    speaking, listening = np.flatnonzero(conv.speaking), np.flatnonzero(conv.listening)
    assert len(speaking) > 25 and len(listening) > 25
    assert speaking.max() < listening.min() and conv.idle[-5:].all()
    with pytest.raises(ValueError, match="at least 5 s"):
        build_conversation(4.0)


def test_unknown_face_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    from tools.faceset.evaluate import main

    with pytest.raises(SystemExit):
        main(["--faces", "astronaut,nobody"])
    err = capsys.readouterr().err
    assert "nobody" in err and "grace_hopper" in err and "obama_talking" in err


def test_hidden_eyes_are_not_held_to_the_blink_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eyes behind dark glasses are not animated (the character says so): their blink rows are
    noise, reported but not gated; every other row still is."""
    from renderer import evaluate as closed_loop
    from tools.faceset import measure

    def rows(*_args: object, **_kwargs: object) -> dict[str, float]:
        out = {f"{kind}/{ch}/r": 0.95 for kind in ("scripted", "random") for ch in closed_loop.MAIN_CHANNELS}
        out["random/eyeBlinkRight/r"] = -0.04
        out["scripted/jawOpen/r"] = 0.93
        return out | {f"head/{axis}_deg": 1.0 for axis in closed_loop.HEAD_CHANNELS}

    monkeypatch.setattr(closed_loop, "evaluate_face", rows)
    setup = argparse.Namespace(image_measurer=None, n_random=3)
    seen = measure._closed_loop("sunglasses", np.zeros((8, 8, 3), np.uint8), setup)  # type: ignore[arg-type]
    assert seen["closed_loop_min_r"] == -0.04 and seen["closed_loop_worst"] == "random/eyeBlinkRight/r"
    hidden = measure._closed_loop("sunglasses", np.zeros((8, 8, 3), np.uint8), setup, ("lids",))  # type: ignore[arg-type]
    assert hidden["closed_loop_min_r"] == 0.93 and hidden["closed_loop_worst"] == "scripted/jawOpen/r"
    assert hidden["closed_loop"]["random/eyeBlinkRight/r"] == -0.04  # still reported
