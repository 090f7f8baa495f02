"""Database URLs as users write them, turned into what SQLAlchemy needs, and shown without
their passwords."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

BACKENDS = ("sqlite", "postgresql")
ACCEPTED = "sqlite:///<file> or postgresql://user:password@host:port/database"


def engine_url(url: str) -> URL:
    """The SQLAlchemy URL of ``url``; PostgreSQL goes through psycopg 3 (the one PostgreSQL
    driver installed), whatever driver the URL names. Raises ValueError naming what is accepted."""
    try:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    except ArgumentError:
        raise ValueError(f"database URL {redact(url)!r} is not a URL; use {ACCEPTED}") from None
    backend = parsed.get_backend_name()
    if backend not in BACKENDS:
        raise ValueError(f"database URL {redact(url)!r}: {backend!r} is not supported; use {ACCEPTED}")
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_postgresql(url: str) -> bool:
    return engine_url(url).get_backend_name() == "postgresql"


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: safe for logs and errors."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a URL>"
