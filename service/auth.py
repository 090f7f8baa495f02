"""API-key authentication: ``X-API-Key: <key>`` or ``Authorization: Bearer <key>`` → the owner.

Every character, clip and session belongs to the owner of the key that created it; routes take
``Owner`` and filter by it, so another key's resources answer 404 exactly like missing ones.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.deps import DbDep

log = logging.getLogger(__name__)

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="your API key")
_bearer = HTTPBearer(auto_error=False, description="your API key as a bearer token")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="visavis", ApiKey header="X-API-Key"'}


def require_owner(
    db: DbDep,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str:
    key = api_key or (bearer.credentials if bearer else None)
    if not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send it as X-API-Key or Authorization: Bearer <key>",
            headers=_CHALLENGE,
        )
    owner = db.owner_for_key(key)
    if owner is None:
        log.info("auth rejected reason=unknown_or_revoked_key")
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or revoked API key", headers=_CHALLENGE
        )
    return owner


Owner = Annotated[str, Depends(require_owner)]
