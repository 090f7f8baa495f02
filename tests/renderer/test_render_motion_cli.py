"""``visavis render-motion``: a motion CSV onto a photo, to an MP4 a player can open."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

from avatars.motion import index, neutral, write_csv
from service.cli import main


def test_render_motion_end_to_end(tmp_path: Path, astronaut: np.ndarray, capsys) -> None:  # type: ignore[no-untyped-def]
    image = tmp_path / "face.png"
    Image.fromarray(astronaut).save(image)
    motion = neutral(12)
    motion[:, index("jawOpen")] = np.linspace(0, 1, 12)
    motion[:, index("headYaw")] = np.linspace(-10, 10, 12)
    write_csv(tmp_path / "motion.csv", motion)
    out = tmp_path / "out.mp4"
    code = main(["render-motion", "--image", str(image), "--motion", str(tmp_path / "motion.csv"),
                 "-o", str(out)])  # fmt: skip
    assert code == 0
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 12
    assert frames[0].shape == (512, 512, 3)
    assert np.abs(frames[-1].astype(int) - frames[0]).mean() > 2  # it moved


def test_render_motion_errors_are_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.csv").write_text("Timecode,JawOpen\n00:00:00:00,abc\n")
    code = main(["render-motion", "--image", str(tmp_path / "missing.png"), "--motion",
                 str(tmp_path / "bad.csv"), "-o", str(tmp_path / "o.mp4")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("visavis: error:") and "abc" in err and err.count("\n") == 1
