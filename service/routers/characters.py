"""``/v1/characters``: upload a face picture once; every clip and session can then use it."""

from __future__ import annotations

import dataclasses
import logging
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from service.auth import Owner
from service.deps import SettingsDep, StoreDep, read_upload

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/characters", tags=["characters"])

PREVIEW_SIZE = "512"


class CharacterOut(BaseModel):
    id: str
    name: str
    created: float
    width: int | None = None
    height: int | None = None
    notes: list[str]
    preview_url: str


def _out(record: Any) -> CharacterOut:
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        fields = dataclasses.asdict(record)
    else:
        fields = dict(vars(record))
    return CharacterOut(
        id=fields["id"], name=fields.get("name", ""), created=float(fields.get("created", 0.0)),
        width=fields.get("width"), height=fields.get("height"), notes=list(fields.get("notes", ())),
        preview_url=f"/v1/characters/{fields['id']}/preview",
    )  # fmt: skip


async def find_character(store: Any, character_id: str, owner: str) -> Any:
    """The owner's character record, or 404 (also for another owner's character)."""
    record = await run_in_threadpool(store.get, character_id, owner=owner)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no character {character_id!r}")
    return record


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CharacterOut)
async def create_character(
    owner: Owner,
    settings: SettingsDep,
    store: StoreDep,
    image: Annotated[UploadFile, File(description="a face photo or portrait: jpg, png, webp")],
    name: Annotated[str, Form(max_length=100)] = "",
) -> CharacterOut:
    data = await read_upload(image, limit_bytes=settings.max_upload_bytes, what="image")
    try:
        record = await run_in_threadpool(
            store.create, data, name=name or (image.filename or "character"), owner=owner
        )
    except ValueError as exc:  # not an image, no face, ...
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"image {image.filename!r}: {exc}"
        ) from None
    out = _out(record)
    log.info("character created character=%s", out.id)
    return out


@router.get("", response_model=list[CharacterOut])
async def list_characters(owner: Owner, store: StoreDep) -> list[CharacterOut]:
    records = await run_in_threadpool(store.list, owner=owner)
    return [_out(r) for r in records]


@router.get("/{character_id}", response_model=CharacterOut)
async def get_character(character_id: str, owner: Owner, store: StoreDep) -> CharacterOut:
    return _out(await find_character(store, character_id, owner))


@router.get(
    "/{character_id}/preview",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the neutral frame"}},
)
async def character_preview(character_id: str, owner: Owner, store: StoreDep) -> Response:
    """The character's neutral frame as rendered (PNG, 512×512)."""
    await find_character(store, character_id, owner)
    try:
        png = await run_in_threadpool(_render_preview, store, character_id)
    except ValueError as exc:  # its files are missing or corrupt
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc).splitlines()[0]) from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


def _render_preview(store: Any, character_id: str) -> bytes:
    import cv2

    from avatars.motion import neutral
    from renderer import make_renderer

    frame = make_renderer(store.load(character_id), size=PREVIEW_SIZE).render(neutral())  # (H, W, 3)
    ok, encoded = cv2.imencode(".png", frame[:, :, ::-1])
    if not ok:
        raise RuntimeError("PNG encoding of the preview failed")
    return bytes(encoded)


@router.delete("/{character_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_character(character_id: str, owner: Owner, store: StoreDep) -> None:
    await find_character(store, character_id, owner)
    await run_in_threadpool(store.delete, character_id, owner=owner)
    log.info("character deleted character=%s", character_id)
