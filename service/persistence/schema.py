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
    # issue 14/15: admin | secret | publishable; the bootstrap key (VISAVIS_ADMIN_KEY) is marked,
    # so a new one revokes it; a publishable key's characters (JSON list)
    Column("scope", String(16), nullable=False, server_default="secret"),
    Column("bootstrap", Integer, nullable=False, server_default="0"),
    Column("character_ids", Text, nullable=False, server_default="[]"),
    Index("api_keys_owner", "owner", "created"),
)

api_key_origins = Table(
    "api_key_origins",
    metadata,
    # the web origins a publishable key may be used from (CORS answers only these)
    Column("key_id", String(64), primary_key=True),
    Column("origin", String(300), primary_key=True),
    Index("api_key_origins_origin", "origin"),
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
    Column("key_id", String(64)),  # the key that asked for it (per-key quota, publishable keys)
    Index("clips_owner", "owner", "created"),
    Index("clips_status", "status", "owner"),
    Index("clips_key", "key_id", "status"),
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
    Column("key_id", String(64)),  # the key that opened it (publishable keys reach only theirs)
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

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # a create POST's Idempotency-Key (per API key): its request's fingerprint and first answer
    Column("key_id", String(64), primary_key=True),
    Column("idem_key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer),  # null while the first request is being answered
    Column("content_type", String(200)),
    Column("location", Text),
    Column("body", LargeBinary),
    Column("created", Float, nullable=False),
    Index("idempotency_keys_created", "created"),
)

webhooks = Table(
    "webhooks",
    metadata,
    # an owner's URL that clip and session events are POSTed to, signed with its secret
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list
    Column("secret", String(100), nullable=False),  # signs deliveries: needed in plain
    Column("created", Float, nullable=False),
    Index("webhooks_owner", "owner", "created"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # one event for one webhook: pending until delivered or out of attempts (the delivery log)
    Column("id", String(64), primary_key=True),
    Column("webhook_id", String(64), nullable=False),
    Column("event", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt", Float),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created", Float, nullable=False),
    Column("finished", Float),
    Index("webhook_deliveries_due", "status", "next_attempt"),
    Index("webhook_deliveries_webhook", "webhook_id", "created"),
)
