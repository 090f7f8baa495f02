"""Blobs as files under one folder (the default: the service's data folder, so the layout is
the one earlier releases wrote: ``characters/<id>/``, ``clips/<id>.mp4``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from service.blobs.base import (
    CHUNK_BYTES,
    BlobNotFoundError,
    BlobStore,
    check_key,
    check_prefix,
    partial_path,
)


class FolderBlobs(BlobStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.description = f"folder {self.root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, path: Path, *, move: bool = False) -> None:
        dest = self._path(key)
        if Path(path).resolve() == dest:
            return  # written in place (a character saved straight into its folder)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if move:
            try:
                os.replace(path, dest)
                return
            except OSError:  # another file system: copy instead
                pass
        partial = partial_path(dest)
        try:
            shutil.copyfile(path, partial)
            os.replace(partial, dest)
        finally:
            partial.unlink(missing_ok=True)
        if move:
            Path(path).unlink(missing_ok=True)

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFoundError(key) from None
        return _chunks(handle)

    def size(self, key: str) -> int:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFoundError(key)
        return path.stat().st_size

    def list(self, prefix: str) -> list[str]:
        folder = self.root / check_prefix(prefix)
        if not folder.is_dir():
            return []
        return sorted(
            str(path.relative_to(self.root))
            for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        count = len(self.list(prefix))
        shutil.rmtree(self.root / prefix, ignore_errors=True)
        return count

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def local_folder(self, prefix: str) -> Path | None:
        return self.root / check_prefix(prefix)


def _chunks(handle: object) -> Iterator[bytes]:
    with handle as fh:  # type: ignore[attr-defined]
        while chunk := fh.read(CHUNK_BYTES):
            yield chunk
