"""``/v1/keys``: issue, list and revoke API keys.

An admin key issues keys of any scope for any owner; a secret key issues publishable keys for
its own owner's characters (a web page's key: ``pk_...``, scoped to origins and characters).
Listing never shows a secret; revoking holds at once for every process.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from service.auth import Caller, Principal
from service.deps import DbDep, StoreDep
from service.errors import ApiError, documented
from service.pagination import Page, PageQuery, page_out
from service.persistence.keys import MAX_CHARACTERS, MAX_ORIGINS, KeyRecord, Scope
from service.strict import RequestModel, ResponseModel, StrictRoute
from service.times import utc

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/v1/keys", tags=["keys"], route_class=StrictRoute,
    responses=documented(401, 403, 422, 429, 503),
)  # fmt: skip

OWNER_PATTERN = r"^[A-Za-z0-9_.@-]+$"


class KeyIn(RequestModel):
    owner: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=OWNER_PATTERN,
        description="whose key it is; default: the caller's owner (an admin key must name one)",
    )  # fmt: skip
    scope: Scope = Field(
        default="secret", description="admin | secret | publishable (a secret key issues only "
        "publishable keys)",
    )  # fmt: skip
    label: str = Field(default="", max_length=200)
    origins: list[str] = Field(
        default_factory=list, max_length=MAX_ORIGINS,
        description="publishable: the web origins it may be used from, e.g. https://example.com",
    )  # fmt: skip
    character_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=MAX_CHARACTERS,
        description="publishable: the characters it may open sessions on",
    )  # fmt: skip


class KeyOut(ResponseModel):
    id: str
    owner: str
    scope: Scope
    label: str
    created: datetime
    bootstrap: bool = Field(description="the key of VISAVIS_ADMIN_KEY")
    origins: list[str]
    character_ids: list[str]


class KeyCreatedOut(KeyOut):
    api_key: str = Field(description="shown once; only a salted HMAC of it is stored")


def _out(record: KeyRecord) -> KeyOut:
    return KeyOut(
        id=record.id, owner=record.owner, scope=record.scope, label=record.label,
        created=utc(record.created), bootstrap=record.bootstrap, origins=list(record.origins),
        character_ids=list(record.character_ids),
    )  # fmt: skip


def _issuer(caller: Principal, body: KeyIn) -> str:
    """The owner of the new key, or 403 when ``caller`` may not issue it."""
    if caller.scope == "admin":
        if body.owner is None:
            raise ApiError(422, "body owner: an admin key must name the owner of the new key")
        return body.owner
    if caller.publishable:
        raise ApiError(403, "a publishable key cannot issue keys")
    if body.scope != "publishable":
        raise ApiError(403, f"a secret key issues only publishable keys, not {body.scope}; "
                       "ask the admin (VISAVIS_ADMIN_KEY) for others")  # fmt: skip
    if body.owner not in (None, caller.owner):
        raise ApiError(403, "a secret key issues keys for its own owner only")
    return caller.owner


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=KeyCreatedOut,
    responses=documented(404, 409),
)  # fmt: skip
async def create_key(body: KeyIn, caller: Caller, db: DbDep, store: StoreDep) -> KeyCreatedOut:
    owner = _issuer(caller, body)
    for character_id in body.character_ids:  # the owner's own characters only
        if await run_in_threadpool(store.get, character_id, owner=owner) is None:
            raise ApiError(404, f"no character {character_id!r} of owner {owner!r}")
    try:
        record, key = await run_in_threadpool(
            lambda: db.keys.issue(owner, scope=body.scope, label=body.label, origins=body.origins,
                                  character_ids=body.character_ids)
        )
    except ValueError as exc:
        raise ApiError(422, f"body: {exc}") from None
    log.info("api key issued key=%s scope=%s", record.id, record.scope)
    return KeyCreatedOut(**_out(record).model_dump(), api_key=key)


@router.get("", response_model=Page[KeyOut])
async def list_keys(
    caller: Caller,
    db: DbDep,
    page: PageQuery,
    owner: Annotated[
        str | None,
        Query(min_length=1, max_length=200, pattern=OWNER_PATTERN,
              description="admin only: another owner's keys"),
    ] = None,
) -> Page[KeyOut]:
    """The unrevoked keys of the caller's owner (never their secrets)."""
    if caller.publishable:
        raise ApiError(403, "a publishable key cannot list keys")
    if owner not in (None, caller.owner) and caller.scope != "admin":
        raise ApiError(403, "only an admin key lists another owner's keys")
    rows = await run_in_threadpool(
        lambda: db.keys.list(owner=owner or caller.owner, limit=page.limit, after=page.after)
    )
    return page_out(rows, _out)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=documented(404, 409))  # fmt: skip
async def revoke_key(key_id: str, caller: Caller, db: DbDep) -> None:
    """Revoke a key: every process refuses it from the next request on."""
    if caller.publishable:
        raise ApiError(403, "a publishable key cannot revoke keys")
    record = await run_in_threadpool(db.keys.get, key_id)
    if record is None or record.revoked or (
        caller.scope != "admin" and record.owner != caller.owner
    ):
        raise ApiError(404, f"no key {key_id!r}")
    if record.bootstrap:
        raise ApiError(409, "the bootstrap key is revoked by setting a new VISAVIS_ADMIN_KEY "
                       "and restarting", code="bootstrap_key")  # fmt: skip
    await run_in_threadpool(db.keys.revoke_id, key_id)
    log.info("api key revoked key=%s", key_id)
