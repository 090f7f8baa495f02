"""Key scopes and publishable keys (scope, bootstrap, character_ids, their origins), the key
behind each clip and session, Idempotency-Key answers, webhooks and their deliveries.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("scope", sa.String(16), nullable=False,
                                        server_default="secret"))  # fmt: skip
    op.add_column("api_keys", sa.Column("bootstrap", sa.Integer, nullable=False,
                                        server_default="0"))  # fmt: skip
    op.add_column("api_keys", sa.Column("character_ids", sa.Text, nullable=False,
                                        server_default="[]"))  # fmt: skip
    op.create_index("api_keys_owner", "api_keys", ["owner", "created"])
    op.create_table(
        "api_key_origins",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("origin", sa.String(300), primary_key=True),
    )
    op.create_index("api_key_origins_origin", "api_key_origins", ["origin"])
    op.add_column("clips", sa.Column("key_id", sa.String(64)))
    op.create_index("clips_key", "clips", ["key_id", "status"])
    op.add_column("realtime_sessions", sa.Column("key_id", sa.String(64)))
    op.create_table(
        "idempotency_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("idem_key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("content_type", sa.String(200)),
        sa.Column("location", sa.Text),
        sa.Column("body", sa.LargeBinary),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_index("idempotency_keys_created", "idempotency_keys", ["created"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_index("webhooks_owner", "webhooks", ["owner", "created"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt", sa.Float),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("finished", sa.Float),
    )
    op.create_index("webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt"])
    op.create_index("webhook_deliveries_webhook", "webhook_deliveries", ["webhook_id", "created"])


def downgrade() -> None:
    for table in ("webhook_deliveries", "webhooks", "idempotency_keys", "api_key_origins"):
        op.drop_table(table)
    op.drop_index("clips_key", "clips")
    op.drop_index("api_keys_owner", "api_keys")
    with op.batch_alter_table("realtime_sessions") as batch:
        batch.drop_column("key_id")
    with op.batch_alter_table("clips") as batch:
        batch.drop_column("key_id")
    with op.batch_alter_table("api_keys") as batch:
        for column in ("character_ids", "bootstrap", "scope"):
            batch.drop_column(column)
