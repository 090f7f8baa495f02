"""A character's framing (``fit``: cover, contain or face; how its clips and sessions fill the
frame unless they say otherwise) and the report of what its creation found in the photo.

A database made by the release before migrations after the photo work (``metadata.create_all``
with these columns) already has them: they are added only where missing, so that database, stamped
0001 like every pre-migration one, upgrades too.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("characters")}
    if "fit" not in present:
        op.add_column("characters", sa.Column("fit", sa.String(16), nullable=False,
                                              server_default="cover"))  # fmt: skip
    if "report" not in present:
        op.add_column("characters", sa.Column("report", sa.Text, nullable=False,
                                              server_default="{}"))  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("characters") as batch:
        for column in ("report", "fit"):
            batch.drop_column(column)
