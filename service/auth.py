"""API-key authentication, one path for HTTP and WebSocket: the key a connection presents
(``presented_key``) → its owner (``owner_for_key``), or refused.

A key is presented as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``; a browser, which
cannot set headers on a WebSocket, offers the subprotocols ``visavis`` and
``visavis.key.<key>`` instead (never a query string, which access logs would record).

Every character, clip and session belongs to the owner of the key that created it; routes take
``Owner`` and filter by it, so another key's resources answer 404 exactly like missing ones.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Security, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from service.deps import DbDep
from service.persistence import Database

log = logging.getLogger(__name__)

KEY_SUBPROTOCOL_PREFIX = "visavis.key."
"""A browser's WebSocket offers its key as the subprotocol ``visavis.key.<key>``."""

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="your API key")
_bearer = HTTPBearer(auto_error=False, description="your API key as a bearer token")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="visavis", ApiKey header="X-API-Key"'}


class AuthError(Exception):
    """No key, or a key that is not (or no longer) valid; ``str()`` says which, never the key."""


def presented_key(conn: HTTPConnection) -> str | None:
    """The key a request or WebSocket presents: X-API-Key, a bearer token, or (WebSocket) the
    ``visavis.key.<key>`` subprotocol; None when there is none."""
    key = conn.headers.get("x-api-key")
    bearer = conn.headers.get("authorization", "")
    if not key and bearer.lower().startswith("bearer "):
        key = bearer[7:].strip()
    if not key and conn.scope.get("type") == "websocket":
        offered = conn.scope.get("subprotocols", [])
        key = next((p[len(KEY_SUBPROTOCOL_PREFIX) :] for p in offered
                    if p.startswith(KEY_SUBPROTOCOL_PREFIX)), None)  # fmt: skip
    return key or None


def owner_for_key(db: Database, key: str | None) -> str:
    """The owner of ``key``; AuthError when it is missing, unknown or revoked (blocking)."""
    if not key:
        raise AuthError("missing API key: send it as X-API-Key or Authorization: Bearer <key>")
    owner = db.keys.owner_for(key)
    if owner is None:
        log.info("auth rejected reason=unknown_or_revoked_key")
        raise AuthError("invalid or revoked API key")
    return owner


async def authenticate(conn: HTTPConnection, db: Database) -> str:
    """The owner of the key ``conn`` presents, or AuthError."""
    key = presented_key(conn)
    if not key:
        return owner_for_key(db, None)
    return await run_in_threadpool(owner_for_key, db, key)


async def require_owner(
    conn: HTTPConnection,
    db: DbDep,
    # declared for the OpenAPI schema (how to authenticate); the key is read by presented_key
    _api_key: Annotated[str | None, Security(_api_key_header)],
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str:
    try:
        return await authenticate(conn, db)
    except AuthError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), headers=_CHALLENGE) from None


Owner = Annotated[str, Depends(require_owner)]
