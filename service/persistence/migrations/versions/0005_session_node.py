"""Which API node runs an open session's engine, so that a node starting up closes only the
sessions it left open, never those other nodes are running.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("realtime_sessions", sa.Column("node", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("realtime_sessions") as batch:
        batch.drop_column("node")
