"""The clip queue's tables on PostgreSQL: procrastinate's schema (its version 3.10, pinned in
pyproject.toml). Nothing on SQLite, where clip jobs run in the process that took them.

Upgrading procrastinate past 3.10 takes a revision that runs its SQL migrations newer than
03.10.00 (``procrastinate/sql/migrations``), as its documentation asks.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    # the raw driver connection, in alembic's transaction: the schema is many statements with
    # function bodies that must not pass through bind-parameter parsing
    bind.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def downgrade() -> None:
    raise NotImplementedError("procrastinate's schema has no downgrade; drop the database")
