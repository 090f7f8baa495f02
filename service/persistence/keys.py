"""API keys: stored as salted HMACs, never plain. A key reads ``vv_<key id>_<secret>``; the id
finds the row, the secret is verified in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import Engine, delete, insert, select, update

from service.persistence.schema import api_keys

KEY_PREFIX = "vv"
"""Keys look like ``vv_<key id>_<secret>``; the id finds the row, the secret is verified by HMAC."""


def _digest(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode(), hashlib.sha256).digest()


def parse_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    parts = key.strip().split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _split(key: str) -> tuple[str, str]:
    """(row id, secret): our keys carry their id; an operator's free-form key gets a derived one."""
    parsed = parse_key(key)
    if parsed:
        return parsed
    return "op" + hashlib.sha256(key.encode()).hexdigest()[:10], key


class KeyRows:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, owner: str, *, label: str = "") -> str:
        """A new key for ``owner``; the plain key is returned once and only its HMAC is stored."""
        if not owner or len(owner) > 200:
            raise ValueError(f"owner {owner!r} must be 1–200 characters")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24).replace("_", "-")
        self._insert(key_id, secret, owner, label)
        return f"{KEY_PREFIX}_{key_id}_{secret}"

    def register(self, key: str, owner: str, *, label: str = "") -> None:
        """Store a key chosen by the operator (e.g. the bootstrap key); idempotent."""
        key_id, secret = _split(key)
        if self.owner_for(key) == owner:
            return
        with self._engine.begin() as conn:
            conn.execute(delete(api_keys).where(api_keys.c.key_id == key_id))
        self._insert(key_id, secret, owner, label)

    def _insert(self, key_id: str, secret: str, owner: str, label: str) -> None:
        salt = secrets.token_bytes(16)
        with self._engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    key_id=key_id,
                    owner=owner,
                    salt=salt,
                    digest=_digest(salt, secret),
                    label=label,
                    created=time.time(),
                )
            )

    def owner_for(self, key: str) -> str | None:
        """The owner of a valid, unrevoked key, else None. Constant-time secret comparison."""
        key_id, secret = _split(key)
        query = select(api_keys.c.owner, api_keys.c.salt, api_keys.c.digest).where(
            api_keys.c.key_id == key_id, api_keys.c.revoked == 0
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        if not hmac.compare_digest(_digest(row.salt, secret), row.digest):
            return None
        return str(row.owner)

    def revoke(self, key: str) -> bool:
        """Revoke a valid key; False when it was not one."""
        if self.owner_for(key) is None:
            return False
        key_id, _ = _split(key)
        with self._engine.begin() as conn:
            conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(revoked=1))
        return True
