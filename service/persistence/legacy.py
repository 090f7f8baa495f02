"""Rows of earlier releases' own database files, brought into the one database once.

Before the one persistence module, characters' records lived in ``<data>/characters.db``
beside the character folders. Its rows are copied into the service's database the first time
that database opens with no characters; the old file is then renamed ``characters.db.imported``
(kept, not deleted: it is the user's data).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import create_engine, insert, select

from service.persistence.database import Database, sqlite_url
from service.persistence.schema import characters

log = logging.getLogger(__name__)


def import_legacy_characters(db: Database, data_dir: Path) -> int:
    """Copy ``data_dir/characters.db``'s rows into ``db`` once; returns how many came."""
    legacy = Path(data_dir) / "characters.db"
    if not legacy.is_file() or db.characters.count() > 0:
        return 0
    source = create_engine(sqlite_url(legacy))
    try:
        with source.connect() as conn:
            rows = [row._asdict() for row in conn.execute(select(characters))]
    finally:
        source.dispose()
    if rows:
        with db.engine.begin() as conn:
            conn.execute(insert(characters), rows)
    legacy.rename(legacy.with_name(legacy.name + ".imported"))
    log.info("character records imported from characters.db count=%d", len(rows))
    return len(rows)
