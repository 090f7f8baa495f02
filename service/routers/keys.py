"""``/v1/keys``: the admin (the bootstrap key's owner) issues API keys to owners."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from service.auth import Owner
from service.deps import DbDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/keys", tags=["keys"])

ADMIN_OWNER = "admin"


class KeyRequest(BaseModel):
    owner: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.@-]+$")
    label: str = Field(default="", max_length=200)


class KeyOut(BaseModel):
    owner: str
    label: str
    api_key: str = Field(description="shown once; only a salted HMAC of it is stored")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KeyOut)
def create_key(request: KeyRequest, owner: Owner, db: DbDep) -> KeyOut:
    if owner != ADMIN_OWNER:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "only the admin key (VISAVIS_ADMIN_KEY) can issue keys"
        )
    key = db.keys.create(request.owner, label=request.label)
    log.info("api key issued label_length=%d", len(request.label))
    return KeyOut(owner=request.owner, label=request.label, api_key=key)
