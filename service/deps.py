"""FastAPI dependencies: the objects ``lifespan`` put on ``app.state``, as ``Annotated`` types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Request, UploadFile, status

from service.blobs import BlobStore
from service.persistence import Database
from service.settings import Settings, get_settings

if TYPE_CHECKING:
    from service.characters import Characters
    from service.clips import ClipJobs
    from service.realtime.factory import SessionFactory


RETRY_STARTING_S = 2
"""Retry-After of a 503 while the service starts or stops."""


def _state(request: Request, name: str) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        raise HTTPException(
            503, f"service is starting or stopping: {name} is not ready",
            headers={"Retry-After": str(RETRY_STARTING_S)},
        )  # fmt: skip
    return value


def get_db(request: Request) -> Database:
    return _state(request, "db")  # type: ignore[no-any-return]


def get_store(request: Request) -> Characters:
    """The service's characters (``service.characters.Characters``), opened at start-up."""
    return _state(request, "store")  # type: ignore[no-any-return]


def get_blobs(request: Request) -> BlobStore:
    """Shared storage (``VISAVIS_STORAGE_URL``): character files and finished clips."""
    return _state(request, "blobs")  # type: ignore[no-any-return]


def get_jobs(request: Request) -> ClipJobs:
    return _state(request, "jobs")  # type: ignore[no-any-return]


def get_factory(request: Request) -> SessionFactory:
    """The one ``SessionFactory`` of the app, shared by every transport."""
    return _state(request, "factory")  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
StoreDep = Annotated["Characters", Depends(get_store)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]
JobsDep = Annotated["ClipJobs", Depends(get_jobs)]
FactoryDep = Annotated["SessionFactory", Depends(get_factory)]


async def read_upload(upload: UploadFile, *, limit_bytes: int, what: str) -> bytes:
    """The upload's bytes, refusing (413) more than ``limit_bytes`` without reading it all."""
    data = await upload.read(limit_bytes + 1)
    if len(data) > limit_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{what} {upload.filename!r} is larger than the limit of "
            f"{limit_bytes / (1024 * 1024):g} MB (VISAVIS_MAX_UPLOAD_MB)",
        )
    if not data:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{what} {upload.filename!r} is empty"
        )
    return data
