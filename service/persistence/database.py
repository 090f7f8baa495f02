"""The one way into the service's database: an engine for a URL, every table created on it,
and one small repository per table (``keys``, ``characters``, ``clips``, ``sessions``).

Callers see only these repositories and the frozen row dataclasses they return, never a
connection or SQL; so the engine behind them (SQLite today, PostgreSQL by URL) can change
without touching them. Each call runs in its own short transaction (``engine.begin()``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateColumn

from service.persistence.characters import CharacterRows
from service.persistence.clips import ClipRows
from service.persistence.idempotency import IdempotencyRows
from service.persistence.keys import KeyRows
from service.persistence.schema import metadata
from service.persistence.sessions import SessionRows
from service.persistence.webhooks import WebhookRows


def sqlite_url(path: str | Path) -> str:
    """The URL of an SQLite file (``sqlite:///<absolute path>``)."""
    return f"sqlite:///{Path(path).resolve()}"


def _sqlite_engine(url: str) -> Engine:
    path = make_url(url).database
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


def _add_missing_columns(engine: Engine) -> None:
    """Columns added to ``schema.py`` since a database was made, added to it (with their server
    defaults). A stopgap until schema migrations exist: they replace this."""
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    ddl = CreateColumn(column).compile(dialect=engine.dialect)
                    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))


class Database:
    """Thread-safe (a connection per call from the engine's pool); ``close()`` once."""

    def __init__(self, *, url: str) -> None:
        self.url = url
        if make_url(url).get_backend_name() == "sqlite":
            self.engine = _sqlite_engine(url)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        metadata.create_all(self.engine)
        _add_missing_columns(self.engine)
        self.keys = KeyRows(self.engine)
        self.characters = CharacterRows(self.engine)
        self.clips = ClipRows(self.engine)
        self.sessions = SessionRows(self.engine)
        self.idempotency = IdempotencyRows(self.engine)
        self.webhooks = WebhookRows(self.engine)

    @classmethod
    def sqlite(cls, path: str | Path) -> Database:
        return cls(url=sqlite_url(path))

    def close(self) -> None:
        self.engine.dispose()
