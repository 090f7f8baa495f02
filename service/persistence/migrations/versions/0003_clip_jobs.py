"""Clip jobs any process can run: the job's options, the request that asked for it, how many
times a render started, which worker has it; an index to count unfinished jobs per owner.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clips", sa.Column("options", sa.Text, nullable=False, server_default="{}"))
    op.add_column("clips", sa.Column("request_id", sa.String(64)))
    op.add_column("clips", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    op.add_column("clips", sa.Column("worker", sa.String(200)))
    op.create_index("clips_status", "clips", ["status", "owner"])


def downgrade() -> None:
    op.drop_index("clips_status", "clips")
    with op.batch_alter_table("clips") as batch:  # SQLite drops columns by copying the table
        for column in ("worker", "attempts", "request_id", "options"):
            batch.drop_column(column)
