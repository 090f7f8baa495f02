"""Alembic's environment for the service's migrations: always run on a connection handed over by
``service.persistence.migrate`` (never from an ini file or a URL of its own)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
