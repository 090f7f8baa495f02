"""What every blob store does: named byte strings (keys like ``characters/ch_1/rig.npz``), put
whole, read whole or in chunks, listed and deleted by folder prefix."""

from __future__ import annotations

import abc
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

CHUNK_BYTES = 1 << 20
"""Reads and database rows move 1 MiB at a time (a clip is never held whole in memory)."""

_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


class BlobNotFoundError(LookupError):
    """No blob under that key."""


def check_key(key: str) -> str:
    """``key`` if it is ``segment/segment/...`` of letters, digits, ``._-`` (no ``..``, no
    leading dot), at most 512 characters; ValueError naming it otherwise."""
    if len(key) > 512 or not all(_SEGMENT.match(part) for part in key.split("/")):
        raise ValueError(
            f"blob key {key!r} must be '/'-separated names of letters, digits and ._- "
            "(not starting with a dot), at most 512 characters"
        )
    return key


def check_prefix(prefix: str) -> str:
    """A folder prefix: a key followed by ``/``."""
    if not prefix.endswith("/"):
        raise ValueError(f"blob prefix {prefix!r} must end with '/'")
    check_key(prefix[:-1])
    return prefix


def partial_path(dest: Path) -> Path:
    """A unique sibling of ``dest`` to write first and rename over it (readers never see half)."""
    return dest.with_name(f".{dest.name}.partial-{secrets.token_hex(4)}")


class BlobStore(abc.ABC):
    """Thread-safe; ``close()`` once."""

    description: str
    """Where the blobs are, safe to log (no password)."""

    @abc.abstractmethod
    def put_file(self, key: str, path: Path, *, move: bool = False) -> None:
        """Store the file at ``path`` under ``key`` (replacing any blob there); ``move``: the
        caller no longer needs ``path`` (a folder store renames it instead of copying)."""

    @abc.abstractmethod
    def iter_bytes(self, key: str) -> Iterator[bytes]:
        """The blob's bytes in chunks; BlobNotFoundError (raised at once) if there is none."""

    @abc.abstractmethod
    def size(self, key: str) -> int:
        """Bytes in the blob; BlobNotFoundError if there is none."""

    @abc.abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Every key under the folder ``prefix`` (ending with ``/``), sorted."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob if it is there."""

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Remove every blob under the folder ``prefix``; returns how many went."""

    def local_path(self, key: str) -> Path | None:
        """The blob as a file of this machine, when the store is a folder here (served as a
        file, with range requests); None otherwise."""
        return None

    def local_folder(self, prefix: str) -> Path | None:
        """The folder of ``prefix`` on this machine when the store is a folder here."""
        return None

    def put_bytes(self, key: str, data: bytes, *, scratch: Path) -> None:
        """Store ``data`` under ``key`` (through a file in the folder ``scratch``)."""
        scratch.mkdir(parents=True, exist_ok=True)
        path = partial_path(scratch / key.replace("/", "_"))
        path.write_bytes(data)
        try:
            self.put_file(key, path, move=True)
        finally:
            path.unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes:
        return b"".join(self.iter_bytes(key))

    def get_file(self, key: str, dest: Path) -> None:
        """Write the blob to ``dest``, which appears whole or not at all."""
        local = self.local_path(key)
        if local is not None and local.resolve() == dest.resolve():
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path(dest)
        try:
            with open(partial, "wb") as handle:
                for chunk in self.iter_bytes(key):
                    handle.write(chunk)
            os.replace(partial, dest)
        finally:
            partial.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFoundError:
            return False
        return True

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release connections."""
