"""What a service process keeps: the database (every table) and the character files beside it.

``open_storage(settings)`` is the one way to open them, for the app, the demo's preparation and
a LiveKit worker alike; ``close()`` releases both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from avatars.store import CharacterFiles
from service.characters import Characters
from service.persistence import Database
from service.persistence.legacy import import_legacy_characters
from service.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Storage:
    db: Database
    characters: Characters

    def close(self) -> None:
        self.characters.close()
        self.db.close()


def open_storage(settings: Settings) -> Storage:
    """Open (creating if needed) the database and the character files of ``settings``; blocking."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(url=settings.database_url)
    try:
        import_legacy_characters(db, settings.data_dir)
        files = CharacterFiles(root=settings.data_dir)
    except BaseException:
        db.close()
        raise
    return Storage(db=db, characters=Characters(rows=db.characters, files=files))
