"""API-key authentication and authorisation, one path for HTTP and WebSocket: the key a
connection presents (``presented_key``) → its ``Principal`` (owner, scope, origins, characters),
or refused.

A key is presented as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``; a browser, which
cannot set headers on a WebSocket, offers the subprotocols ``visavis`` and
``visavis.key.<key>`` instead (never a query string, which access logs would record).

HTTP requests are authenticated by ``service.gate.KeyGate`` before any body byte is read; routes
take the principal it found through ``Caller`` (any scope), ``Owner`` (a secret or admin key's
owner) or ``Admin``. Every character, clip and session belongs to the owner of the key that
created it; another key's resources answer 404 exactly like missing ones. Scopes:

- ``admin``: issues and revokes keys of any owner (the bootstrap key, VISAVIS_ADMIN_KEY, is one);
- ``secret``: a server's key, everything on its owner's resources, and publishable keys for them;
- ``publishable`` (``pk_...``): safe in a web page; used from its origins only, it opens sessions
  on its characters, drives and watches the sessions it opened, makes clips of its characters and
  reads those clips, reads its characters; rate-limited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from service.errors import ApiError
from service.persistence import Database
from service.persistence.keys import KeyRecord, Scope, check_origin

log = logging.getLogger(__name__)

KEY_SUBPROTOCOL_PREFIX = "visavis.key."
"""A browser's WebSocket offers its key as the subprotocol ``visavis.key.<key>``."""

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="your API key")
_bearer = HTTPBearer(auto_error=False, description="your API key as a bearer token")

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="visavis", ApiKey header="X-API-Key"'}


class AuthError(Exception):
    """No key, or a key that is not (or no longer) valid; ``str()`` says which, never the key."""


class OriginError(AuthError):
    """A publishable key used from a web origin it was not issued for."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the key's id, owner and scope (and, for a publishable key, where
    it may be used and on what)."""

    key_id: str
    owner: str
    scope: Scope
    origins: tuple[str, ...] = ()
    character_ids: tuple[str, ...] = ()

    @property
    def publishable(self) -> bool:
        return self.scope == "publishable"

    def may_use_character(self, character_id: str) -> bool:
        return not self.publishable or character_id in self.character_ids

    def may_use_record(self, key_id: str | None) -> bool:
        """A publishable key reaches only the sessions and clips it made itself."""
        return not self.publishable or key_id == self.key_id

    @classmethod
    def of(cls, record: KeyRecord) -> Principal:
        return cls(record.id, record.owner, record.scope, record.origins, record.character_ids)


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


def principal_for_key(db: Database, key: str | None) -> Principal:
    """The principal of ``key``; AuthError when it is missing, unknown or revoked (blocking:
    one indexed read of the database, so a revocation holds at once in every process)."""
    if not key:
        raise AuthError("missing API key: send it as X-API-Key or Authorization: Bearer <key>")
    record = db.keys.find(key)
    if record is None:
        log.info("auth rejected reason=unknown_or_revoked_key")
        raise AuthError("invalid or revoked API key")
    return Principal.of(record)


def check_origin_of(principal: Principal, origin: str | None) -> None:
    """A publishable key presented by a page of another origin is refused (OriginError)."""
    if not principal.publishable or origin is None:
        return  # secret keys are never answered with CORS headers; a pk without Origin is a server
    try:
        allowed = check_origin(origin) in principal.origins
    except ValueError:
        allowed = False
    if not allowed:
        log.info("auth rejected reason=origin_not_allowed key=%s", principal.key_id)
        raise OriginError("this publishable key may not be used from this page's origin")


async def authenticate(conn: HTTPConnection, db: Database) -> Principal:
    """The principal of the key ``conn`` presents, checked against its origin; AuthError."""
    key = presented_key(conn)
    if not key:
        raise AuthError("missing API key: send it as X-API-Key or Authorization: Bearer <key>")
    principal = await run_in_threadpool(principal_for_key, db, key)
    check_origin_of(principal, conn.headers.get("origin"))
    return principal


def require_caller(
    request: Request,
    # declared for the OpenAPI schema (how to authenticate); the gate reads the key
    _api_key: Annotated[str | None, Security(_api_key_header)],
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):  # the gate authenticates every /v1 request
        raise ApiError(401, "missing API key", headers=CHALLENGE)
    return principal


def require_secret(principal: Annotated[Principal, Depends(require_caller)]) -> Principal:
    if principal.publishable:
        raise ApiError(403, "a publishable key may only open sessions on its characters, drive "
                       "and watch them, and make clips of them; use a secret key for this")  # fmt: skip
    return principal


def require_owner(principal: Annotated[Principal, Depends(require_secret)]) -> str:
    return principal.owner


def require_admin(principal: Annotated[Principal, Depends(require_caller)]) -> Principal:
    if principal.scope != "admin":
        raise ApiError(403, "only an admin key (e.g. VISAVIS_ADMIN_KEY) may do this")
    return principal


Caller = Annotated[Principal, Depends(require_caller)]
"""Any valid key (publishable keys included: the route checks what it touches)."""
Secret = Annotated[Principal, Depends(require_secret)]
"""A secret or admin key; a publishable key is refused (403)."""
Owner = Annotated[str, Depends(require_owner)]
"""The owner of a secret or admin key; a publishable key is refused (403)."""
Admin = Annotated[Principal, Depends(require_admin)]


# ---- per-key quotas (settings VISAVIS_MAX_PENDING_CLIPS_PER_KEY, _MAX_LIVE_SESSIONS_PER_KEY) -----

CLIP_QUOTA_RETRY_S = 10
"""Retry-After when a key has too many clips pending: a short clip renders in about this long."""
SESSION_QUOTA_RETRY_S = 30
"""Retry-After when a key has too many live sessions (one must be closed or go idle first)."""


def quota_error(what: str, used: int, limit: int, setting: str, retry_after_s: int) -> ApiError:
    return ApiError(
        429, f"this key has {used} {what}, its limit ({setting}={limit}); retry after "
        f"{retry_after_s} s or when one has finished", code="quota_exceeded",
        headers={"Retry-After": str(retry_after_s)},
    )  # fmt: skip


def check_pending_clips(db: Database, principal: Principal, limit: int) -> None:
    """429 + Retry-After when ``principal``'s key has ``limit`` clips queued or rendering
    (counted in the database: every process's clips; blocking)."""
    used = db.clips.count_unfinished(key_id=principal.key_id)
    if used >= limit:
        raise quota_error("clips queued or rendering", used, limit,
                          "VISAVIS_MAX_PENDING_CLIPS_PER_KEY", CLIP_QUOTA_RETRY_S)  # fmt: skip
