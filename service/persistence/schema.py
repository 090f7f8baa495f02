"""Every table of the service, defined once (SQLAlchemy Core), whatever the database engine.

SQLite is the embedded default; a server database (PostgreSQL) goes behind the same
``Database`` by its URL. Times are epoch seconds (float); JSON columns hold text.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("digest", LargeBinary, nullable=False),
    Column("label", String(200), nullable=False, server_default=""),
    Column("created", Float, nullable=False),
    Column("revoked", Integer, nullable=False, server_default="0"),
)

characters = Table(
    "characters",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("owner", String(200)),
    Column("created", Float, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("notes", Text, nullable=False, server_default="[]"),
    Index("characters_owner", "owner"),
)

clips = Table(
    "clips",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("character_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Float, nullable=False, server_default="0"),
    Column("error", Text),
    Column("format", String(16), nullable=False),
    Column("size", String(16), nullable=False),
    Column("frames", Integer),
    Column("duration_s", Float),
    Column("created", Float, nullable=False),
    Column("finished", Float),
    Column("options", Text, nullable=False, server_default="{}"),  # JSON: seed, mix_partner
    Column("request_id", String(64)),  # of the request that asked for it (logs of the job)
    Column("attempts", Integer, nullable=False, server_default="0"),  # renders started
    Column("worker", String(200)),  # the process rendering it, or that rendered it
    Index("clips_owner", "owner", "created"),
    Index("clips_status", "status", "owner"),
)

realtime_sessions = Table(
    "realtime_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("character_id", String(64), nullable=False),
    Column("options", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("node", String(200)),  # the API node running its engine while it is open
    Index("realtime_sessions_owner", "owner", "created"),
)

blob_chunks = Table(
    "blob_chunks",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)
"""Shared files when ``VISAVIS_STORAGE_URL`` is a PostgreSQL database (``service.blobs``)."""
