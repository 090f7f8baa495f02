"""Persistence: the one module that owns the service's tables and database connections.

``Database(url=...)`` (or ``Database.sqlite(path)``) holds the engine; its repositories
``keys``, ``characters``, ``clips`` and ``sessions`` are the only code that reads or writes
rows. Tables are defined once in ``schema.py``.
"""

from service.persistence.characters import CharacterRecord
from service.persistence.clips import CLIP_STATUSES, ClipRow
from service.persistence.database import Database, sqlite_url
from service.persistence.keys import KEY_PREFIX, parse_key
from service.persistence.sessions import SESSION_STATUSES, SessionRecord

__all__ = [
    "CLIP_STATUSES",
    "KEY_PREFIX",
    "SESSION_STATUSES",
    "CharacterRecord",
    "ClipRow",
    "Database",
    "SessionRecord",
    "parse_key",
    "sqlite_url",
]
