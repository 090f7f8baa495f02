"""The one way into the service's database: an engine for a URL (SQLite, the embedded default,
or PostgreSQL), migrated to the newest schema, and one small repository per table (``keys``,
``characters``, ``clips``, ``sessions``).

Callers see only these repositories and the frozen row dataclasses they return, never a
connection or SQL, so the engine behind them is a matter of ``VISAVIS_DATABASE_URL``. Each call
runs in its own short transaction (``engine.begin()``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event

from service.persistence.characters import CharacterRows
from service.persistence.clips import ClipRows
from service.persistence.idempotency import IdempotencyRows
from service.persistence.keys import KeyRows
from service.persistence.migrate import current_revision, head_revision, migrate
from service.persistence.sessions import SessionRows
from service.persistence.urls import engine_url, redact
from service.persistence.webhooks import WebhookRows


def sqlite_url(path: str | Path) -> str:
    """The URL of an SQLite file (``sqlite:///<absolute path>``)."""
    return f"sqlite:///{Path(path).resolve()}"


def _sqlite_engine(url: URL) -> Engine:
    path = url.database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30.0})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        # WAL: readers never wait for the writer (clip progress is written while pages read)
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine


def open_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///...`` or ``postgresql://...``); ValueError otherwise."""
    parsed = engine_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return create_engine(parsed, pool_pre_ping=True)


class Database:
    """Thread-safe (a connection per call from the engine's pool); ``close()`` once."""

    def __init__(self, *, url: str, migrate: bool = True) -> None:
        """``migrate``: bring the schema to the newest revision now (else it must be there
        already: ``visavis migrate``)."""
        self.url = url
        self.engine = open_engine(url)
        try:
            self._check_schema(migrate)
        except BaseException:
            self.engine.dispose()
            raise
        self.keys = KeyRows(self.engine)
        self.characters = CharacterRows(self.engine)
        self.clips = ClipRows(self.engine)
        self.sessions = SessionRows(self.engine)
        self.idempotency = IdempotencyRows(self.engine)
        self.webhooks = WebhookRows(self.engine)

    def _check_schema(self, apply: bool) -> None:
        if apply:
            migrate(self.engine)
            return
        current, head = current_revision(self.engine), head_revision()
        if current != head:
            raise RuntimeError(
                f"the database {redact(self.url)} is at schema revision {current or 'none'}, this "
                f"release needs {head}: run `visavis migrate` (or start with VISAVIS_MIGRATE=true)"
            )

    @classmethod
    def sqlite(cls, path: str | Path) -> Database:
        return cls(url=sqlite_url(path))

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        self.engine.dispose()
