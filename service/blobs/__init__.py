"""Shared assets (character folders, finished clips, the audio of queued clip jobs) behind one
interface, ``BlobStore``, chosen by ``VISAVIS_STORAGE_URL``:

- unset, a path or ``file:///path``: a folder on this machine (the default: the data folder);
- ``postgresql://...``: rows of 1 MiB chunks in a PostgreSQL database;
- ``s3://bucket?endpoint=...``: S3-compatible object storage, through boto3.

Every node of a cluster names the same store, so what one node writes the others read.
"""

from __future__ import annotations

from pathlib import Path

from service.blobs.base import BlobNotFoundError, BlobStore, check_key
from service.blobs.folder import FolderBlobs

ACCEPTED = "a folder path, file:///path, postgresql://..., or s3://bucket?endpoint=..."

__all__ = ["ACCEPTED", "BlobNotFoundError", "BlobStore", "check_key", "open_blobs", "scheme"]


def scheme(url: str | None) -> str:
    """``folder``, ``postgresql`` or ``s3``; ValueError naming what is accepted."""
    if not url or url.startswith("/") or url.startswith("file://") or "://" not in url:
        return "folder"
    name = url.split("://", 1)[0].split("+", 1)[0]
    if name in ("postgresql", "postgres"):
        return "postgresql"
    if name == "s3":
        return "s3"
    raise ValueError(f"storage URL scheme {name!r} is not supported; use {ACCEPTED}")


def open_blobs(url: str | None, *, data_dir: Path) -> BlobStore:
    """The store ``url`` names (default: the folder ``data_dir``); blocking (connects)."""
    kind = scheme(url)
    if kind == "postgresql":
        from service.blobs.postgres import PostgresBlobs

        return PostgresBlobs(str(url))
    if kind == "s3":
        from service.blobs.s3 import S3Blobs

        return S3Blobs(str(url))
    if not url:
        return FolderBlobs(data_dir)
    return FolderBlobs(Path(url.removeprefix("file://")))
