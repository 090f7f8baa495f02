"""``/v1/characters``: upload a face picture once; every clip and session can then use it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from renderer.framing import DEFAULT_FIT, Fit, parse_fit
from renderer.report import with_current_policy
from service.access import find_character, load_character
from service.auth import Caller, Owner
from service.deps import SettingsDep, StoreDep, read_upload
from service.errors import ApiError, documented
from service.pagination import Page, PageQuery, page_out
from service.persistence import CharacterRecord
from service.strict import ResponseModel, StrictRoute
from service.times import utc

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/v1/characters", tags=["characters"], route_class=StrictRoute,
    responses=documented(401, 403, 422, 429, 503),
)  # fmt: skip

PREVIEW_SIZE = "512"


class HeadRangeOut(ResponseModel):
    yaw: tuple[float, float] = Field(description="least and most head yaw the avatar turns, degrees")
    pitch: tuple[float, float] = Field(description="least and most head pitch, degrees")


class PhotoFactsOut(ResponseModel):
    """What was measured on the uploaded photo."""

    photo_size: tuple[int, int] = Field(description="width, height of the upload in pixels")
    face_height_px: float = Field(description="forehead to chin, in the photo's pixels")
    face_box: tuple[int, int, int, int] = Field(description="x, y, width, height")
    yaw: float = Field(description="degrees; > 0: the nose points to the image's right")
    pitch: float = Field(description="degrees; > 0: the head bows")
    roll: float = Field(description="degrees")
    faces_found: int
    expression: dict[str, float] = Field(
        description="the photo's own expression where it shows (e.g. smile, mouth open), 0..1"
    )
    head_range: HeadRangeOut


class FramingOut(ResponseModel):
    """How the photo fills one output size."""

    fit: Fit
    size: str = Field(description="WIDTHxHEIGHT")
    scale: float = Field(description="output pixels per photo pixel")
    face_fraction: float = Field(description="face height / frame height")
    own_pixel_share: float = Field(description="share of the frame that is the photo's own pixels")
    extended: list[str] = Field(description="frame edges extended past the photo")
    zoom_limited: bool = Field(description="the face is shown smaller (by more than a tenth) so as not to blur")


class PartOut(ResponseModel):
    """What the photo showed of one part of the face and what was done with it."""

    part: Literal["mouth", "smile", "brows", "lids"]
    action: Literal["unchanged", "relaxed", "partly relaxed", "kept", "hidden"]
    reason: str
    found: dict[str, float] = Field(description="measures of the photo")
    after: dict[str, float] = Field(description="the same measures on the relaxed picture")


class RestingOut(ResponseModel):
    """How the photo was relaxed into the character's resting state."""

    warped: bool = Field(description="whether the picture was changed")
    parts: list[PartOut]
    notes: list[str]


class CharacterReport(ResponseModel):
    """What character creation found in the photo and decided."""

    found: PhotoFactsOut | None = Field(description="None for characters made before reports")
    framing: dict[str, FramingOut] = Field(description="per output size (512, 720p)")
    resting: RestingOut | None = None
    warnings: list[str]


class CharacterOut(ResponseModel):
    id: str
    name: str
    created: datetime
    width: int
    height: int
    notes: list[str] = Field(description="warnings a user should read (the report's warnings)")
    fit: Fit = Field(description="how clips and sessions frame this character by default")
    report: CharacterReport | None = None
    preview_url: str


def _out(record: CharacterRecord) -> CharacterOut:
    report = with_current_policy(record.report) if record.report else None
    return CharacterOut(
        id=record.id, name=record.name, created=utc(record.created), width=record.width,
        height=record.height, notes=report["warnings"] if report else list(record.notes),
        fit=parse_fit(record.fit), report=CharacterReport.model_validate(report) if report else None,
        preview_url=f"/v1/characters/{record.id}/preview",
    )  # fmt: skip


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=CharacterOut,
    responses=documented(400, 413),
)  # fmt: skip
async def create_character(
    owner: Owner,
    settings: SettingsDep,
    store: StoreDep,
    image: Annotated[UploadFile, File(description="a face photo or portrait: jpg, png, webp")],
    name: Annotated[str, Form(max_length=100)] = "",
    fit: Annotated[
        Fit,
        Form(description="cover: fill the frame with the photo (default); contain: show all of "
                         "it; face: the standard head-and-shoulders composition"),
    ] = DEFAULT_FIT,
) -> CharacterOut:
    data = await read_upload(image, limit_bytes=settings.max_upload_bytes, what="image")
    try:
        record = await run_in_threadpool(
            store.create, data, name=name or (image.filename or "character"), owner=owner,
            fit=fit,
        )
    except ValueError as exc:  # not an image, no face, ...
        raise ApiError(422, f"image {image.filename!r}: {exc}") from None
    log.info("character created character=%s", record.id)
    return _out(record)


@router.get("", response_model=Page[CharacterOut])
async def list_characters(owner: Owner, store: StoreDep, page: PageQuery) -> Page[CharacterOut]:
    rows = await run_in_threadpool(
        lambda: store.list(owner=owner, limit=page.limit, after=page.after)
    )
    return page_out(rows, _out)


@router.get("/{character_id}", response_model=CharacterOut, responses=documented(404))
async def get_character(character_id: str, caller: Caller, store: StoreDep) -> CharacterOut:
    return _out(await find_character(store, character_id, caller))


@router.get(
    "/{character_id}/preview",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the neutral frame"},
               **documented(404, 409)},
)  # fmt: skip
async def character_preview(character_id: str, caller: Caller, store: StoreDep) -> Response:
    """The character's neutral frame as rendered (PNG, 512×512)."""
    record = await find_character(store, character_id, caller)
    character = await load_character(store, character_id)
    png = await run_in_threadpool(_render_preview, character, record.fit)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


def _render_preview(character: Any, fit: str) -> bytes:
    import cv2

    from avatars.motion import neutral
    from renderer import make_renderer

    frame = make_renderer(character, size=PREVIEW_SIZE, fit=fit).render(neutral())  # (H, W, 3)
    ok, encoded = cv2.imencode(".png", frame[:, :, ::-1])
    if not ok:
        raise RuntimeError("PNG encoding of the preview failed")
    return bytes(encoded)


@router.delete("/{character_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=documented(404))  # fmt: skip
async def delete_character(character_id: str, owner: Owner, store: StoreDep) -> None:
    if not await run_in_threadpool(store.delete, character_id, owner=owner):
        raise ApiError(404, f"no character {character_id!r}")
    log.info("character deleted character=%s", character_id)
