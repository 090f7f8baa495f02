"""Schema migrations (Alembic): every change to ``schema.py`` is a revision in
``migrations/versions``, applied at start-up (``Database(..., migrate=True)``) or by
``visavis migrate``.

Many processes may start at once against one PostgreSQL (API nodes, clip workers): the upgrade
runs under a transaction-scoped advisory lock, so one applies it and the others then find
nothing to do. On SQLite a lock file beside the database does the same. A database made before
migrations existed (tables, no ``alembic_version``) holds exactly revision 0001: it is stamped so
and upgraded from there.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
FIRST_REVISION = "0001"
ADVISORY_LOCK = 0x76697361  # "visa": one number every visavis process agrees on
EXTERNAL_TABLE_PREFIXES = ("procrastinate_",)
"""Tables other libraries own (their schema arrives through our migrations, but they describe
it, not ``schema.py``)."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _sqlite_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(engine: Engine) -> str | None:
    """Upgrade the database to the newest revision; returns the revision it was at before
    (None: an empty database). Safe to call from many processes at once."""
    postgres = engine.dialect.name == "postgresql"
    lock = contextlib.nullcontext() if postgres else _sqlite_lock(engine)
    with lock, engine.begin() as conn:
        if postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        before = MigrationContext.configure(conn).get_current_revision()
        if before is None and inspect(conn).has_table("api_keys"):
            command.stamp(_config(conn), FIRST_REVISION)
            before = FIRST_REVISION
            log.info("database from before migrations stamped revision=%s", FIRST_REVISION)
        head = head_revision()
        if before != head:
            command.upgrade(_config(conn), "head")
            log.info("database migrated from=%s to=%s", before, head)
    return before


def schema_differences(engine: Engine, metadata: Any) -> list[Any]:
    """What differs between the migrated database and ``metadata`` (``schema.py``): empty when
    every change to the tables has its migration."""
    from alembic.autogenerate import compare_metadata

    def ours(name: str | None, type_: str, _parent: Any) -> bool:
        if type_ == "table" and name is not None:
            return name != "alembic_version" and not name.startswith(EXTERNAL_TABLE_PREFIXES)
        return True

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_name": ours, "compare_type": True, "compare_server_default": _defaults_differ,
        })  # fmt: skip
        return list(compare_metadata(context, metadata))


def _bare_default(text: str | None) -> str:
    """A server default as written, without the quoting, parentheses and casts each database
    adds when it reports it (``'0'``, ``('0')``, ``'[]'::text``)."""
    text = (text or "").split("::", 1)[0].strip()
    while len(text) >= 2 and text[0] + text[-1] in ("()", "''", '""'):
        text = text[1:-1].strip()
    return text


def _defaults_differ(
    _context: Any, _inspected: Any, _column: Any, inspected: str | None, _default: Any,
    rendered: str | None,
) -> bool:  # fmt: skip
    return _bare_default(inspected) != _bare_default(rendered)
