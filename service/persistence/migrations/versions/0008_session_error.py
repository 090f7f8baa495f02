"""Why a failed session's loop stopped (``realtime_sessions.error``; status ``failed``), cleared
when it is resumed.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("realtime_sessions", sa.Column("error", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("realtime_sessions") as batch:
        batch.drop_column("error")
