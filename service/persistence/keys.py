"""API keys: stored as salted HMACs, never plain. A key reads ``<prefix>_<key id>_<secret>``
(``vv`` for admin and secret keys, ``pk`` for publishable ones); the id finds the row, the secret
is verified in constant time.

Every key has a scope: ``admin`` (issues and revokes anyone's keys), ``secret`` (a server's key:
everything on its owner's resources, and publishable keys for them) or ``publishable`` (safe in a
web page: sessions on its characters only, from its origins only). Revocation is a column read on
every request, so it holds at once in every process that shares the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import Engine, Row, delete, exists, insert, select, update

from service.persistence.pages import After, Page, newest_first, page_of
from service.persistence.schema import api_key_origins, api_keys

KEY_PREFIX = "vv"
"""Admin and secret keys look like ``vv_<key id>_<secret>``."""
PUBLISHABLE_PREFIX = "pk"
"""Publishable keys look like ``pk_<key id>_<secret>``."""

Scope = Literal["admin", "secret", "publishable"]
SCOPES: tuple[Scope, ...] = ("admin", "secret", "publishable")
MAX_ORIGINS = 20
MAX_CHARACTERS = 100


@dataclass(frozen=True)
class KeyRecord:
    id: str
    owner: str
    scope: Scope
    label: str
    created: float  # unix time
    revoked: bool
    bootstrap: bool
    origins: tuple[str, ...] = ()
    character_ids: tuple[str, ...] = ()


def _digest(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode(), hashlib.sha256).digest()


def parse_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    parts = key.strip().split("_")
    if len(parts) != 3 or parts[0] not in (KEY_PREFIX, PUBLISHABLE_PREFIX):
        return None
    if not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _split(key: str) -> tuple[str, str]:
    """(row id, secret): our keys carry their id; an operator's free-form key gets a derived one."""
    parsed = parse_key(key)
    if parsed:
        return parsed
    return "op" + hashlib.sha256(key.encode()).hexdigest()[:10], key


def check_origin(origin: str) -> str:
    """A web origin (``scheme://host[:port]``, no path), lower-cased; ValueError naming it."""
    parts = urlsplit(origin.strip())
    ok = parts.scheme in ("http", "https") and parts.hostname and not parts.username
    if not ok or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            f"origin {origin!r} is not a web origin: expected scheme://host[:port], "
            "e.g. https://example.com or http://localhost:3000"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"origin {origin!r} has a port that is not a number 1-65535") from None
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def _record(row: Row[Any], origins: Sequence[str] = ()) -> KeyRecord:
    return KeyRecord(
        id=row.key_id, owner=row.owner, scope=row.scope, label=row.label,
        created=float(row.created), revoked=bool(row.revoked), bootstrap=bool(row.bootstrap),
        origins=tuple(origins), character_ids=tuple(json.loads(row.character_ids or "[]")),
    )  # fmt: skip


class KeyRows:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # ---- issuing ---------------------------------------------------------------------------------

    def issue(
        self,
        owner: str,
        *,
        scope: Scope = "secret",
        label: str = "",
        origins: Iterable[str] = (),
        character_ids: Iterable[str] = (),
    ) -> tuple[KeyRecord, str]:
        """A new key; the plain key is returned once and only its HMAC is stored.

        A publishable key needs 1..MAX_ORIGINS origins and 1..MAX_CHARACTERS character ids;
        the others take neither. ValueError names what is wrong."""
        if not owner or len(owner) > 200:
            raise ValueError(f"owner {owner!r} must be 1–200 characters")
        if scope not in SCOPES:
            raise ValueError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
        origins = tuple(dict.fromkeys(check_origin(o) for o in origins))
        character_ids = tuple(dict.fromkeys(character_ids))
        if scope == "publishable":
            if not 1 <= len(origins) <= MAX_ORIGINS:
                raise ValueError(f"a publishable key needs 1..{MAX_ORIGINS} origins")
            if not 1 <= len(character_ids) <= MAX_CHARACTERS:
                raise ValueError(f"a publishable key needs 1..{MAX_CHARACTERS} character_ids")
        elif origins or character_ids:
            raise ValueError(f"origins and character_ids are for publishable keys, not {scope}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24).replace("_", "-")
        self._insert(key_id, secret, owner, label, scope=scope, character_ids=character_ids,
                     origins=origins)  # fmt: skip
        prefix = PUBLISHABLE_PREFIX if scope == "publishable" else KEY_PREFIX
        record = self.get(key_id)
        assert record is not None
        return record, f"{prefix}_{key_id}_{secret}"

    def create(self, owner: str, *, label: str = "") -> str:
        """A new secret key for ``owner`` (the plain key, returned once)."""
        return self.issue(owner, label=label)[1]

    def register_bootstrap(self, key: str, owner: str = "admin") -> None:
        """Make the operator's bootstrap key (VISAVIS_ADMIN_KEY) an admin key, and revoke every
        earlier bootstrap key: rotating the setting retires the old key. Idempotent."""
        key_id, secret = _split(key)
        found = self.find(key)
        with self._engine.begin() as conn:
            others = api_keys.c.key_id != key_id
            earlier = api_keys.c.bootstrap == 1
            # before keys had scopes the bootstrap key was the one labelled so for 'admin'
            legacy = (api_keys.c.label == "bootstrap") & (api_keys.c.owner == owner)
            conn.execute(update(api_keys).where(others, earlier | legacy).values(revoked=1))
            if found is not None and found.owner == owner:
                conn.execute(update(api_keys).where(api_keys.c.key_id == key_id)
                             .values(scope="admin", bootstrap=1))  # fmt: skip
                return
            conn.execute(delete(api_keys).where(api_keys.c.key_id == key_id))
        self._insert(key_id, secret, owner, "bootstrap", scope="admin", bootstrap=True)

    def _insert(
        self, key_id: str, secret: str, owner: str, label: str, *, scope: Scope,
        bootstrap: bool = False, character_ids: Sequence[str] = (), origins: Sequence[str] = (),
    ) -> None:  # fmt: skip
        salt = secrets.token_bytes(16)
        with self._engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    key_id=key_id, owner=owner, salt=salt, digest=_digest(salt, secret),
                    label=label, created=time.time(), scope=scope, bootstrap=int(bootstrap),
                    character_ids=json.dumps(list(character_ids)),
                )
            )
            if origins:
                conn.execute(insert(api_key_origins),
                             [{"key_id": key_id, "origin": o} for o in origins])  # fmt: skip

    # ---- checking --------------------------------------------------------------------------------

    def find(self, key: str) -> KeyRecord | None:
        """The record of a valid, unrevoked key, else None. Constant-time secret comparison."""
        key_id, secret = _split(key)
        query = select(api_keys).where(api_keys.c.key_id == key_id, api_keys.c.revoked == 0)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
            if row is None or not hmac.compare_digest(_digest(row.salt, secret), row.digest):
                return None
            origins = self._origins(conn, key_id) if row.scope == "publishable" else ()
        if parse_key(key) is not None and key.split("_")[0] != _prefix(row.scope):
            return None  # a publishable secret presented as a secret key, or the reverse
        return _record(row, origins)

    def owner_for(self, key: str) -> str | None:
        """The owner of a valid, unrevoked key, else None."""
        record = self.find(key)
        return None if record is None else record.owner

    def origin_allowed(self, origin: str) -> bool:
        """Some unrevoked publishable key may be used from ``origin`` (a CORS preflight carries
        no key, so it is answered for the origins of every key)."""
        try:
            origin = check_origin(origin)
        except ValueError:
            return False
        query = select(
            exists().where(
                api_key_origins.c.origin == origin,
                api_key_origins.c.key_id == api_keys.c.key_id,
                api_keys.c.revoked == 0,
            )
        )
        with self._engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    @staticmethod
    def _origins(conn: Any, key_id: str) -> list[str]:
        query = select(api_key_origins.c.origin).where(api_key_origins.c.key_id == key_id)
        return sorted(conn.execute(query).scalars())

    # ---- listing and revoking --------------------------------------------------------------------

    def get(self, key_id: str) -> KeyRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
            return None if row is None else _record(row, self._origins(conn, key_id))

    def list(self, *, owner: str | None, limit: int, after: After | None = None) -> Page[KeyRecord]:
        """Unrevoked keys (of ``owner``; every owner's for None), newest first."""
        query = select(api_keys).where(api_keys.c.revoked == 0)
        if owner is not None:
            query = query.where(api_keys.c.owner == owner)
        query = newest_first(query, api_keys.c.created, api_keys.c.key_id, limit=limit, after=after)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
            records = [_record(r, self._origins(conn, r.key_id)) for r in rows]
        return page_of(records, limit, lambda r: (r.created, r.id))

    def revoke_id(self, key_id: str) -> bool:
        """Revoke the key ``key_id``; False when there is no unrevoked key of that id."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked == 0)
                .values(revoked=1)
            )
        return result.rowcount > 0

    def revoke(self, key: str) -> bool:
        """Revoke a valid key; False when it was not one."""
        record = self.find(key)
        return record is not None and self.revoke_id(record.id)


def _prefix(scope: str) -> str:
    return PUBLISHABLE_PREFIX if scope == "publishable" else KEY_PREFIX
