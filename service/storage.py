"""What a service process keeps: the database (every table), the shared blob store
(``VISAVIS_STORAGE_URL``) and the characters made of both.

``open_storage(settings)`` is the one way to open them, for the app, a clip worker, the demo's
preparation and a LiveKit worker alike; ``close()`` releases them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from avatars.store import CharacterFiles
from service.blobs import BlobStore, open_blobs
from service.characters import Characters
from service.persistence import Database
from service.persistence.legacy import import_legacy_characters
from service.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Storage:
    db: Database
    blobs: BlobStore
    characters: Characters

    def close(self) -> None:
        self.characters.close()
        self.blobs.close()
        self.db.close()


def open_storage(settings: Settings) -> Storage:
    """Open (creating and migrating if needed) the database, the blob store and the characters
    of ``settings``; blocking."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(url=settings.database, migrate=settings.migrate)
    blobs: BlobStore | None = None
    try:
        blobs = open_blobs(settings.storage_url, data_dir=settings.data_dir)
        shared = blobs.local_folder("characters/")
        # a folder store is its own cache; any other is read through a copy in the cache folder
        files = CharacterFiles(root=shared.parent if shared else settings.cache_dir)
        if shared is not None:
            import_legacy_characters(db, shared.parent)
    except BaseException:
        if blobs is not None:
            blobs.close()
        db.close()
        raise
    log.info("storage open blobs=%s", blobs.description)
    return Storage(db=db, blobs=blobs, characters=Characters(rows=db.characters, files=files,
                                                             blobs=blobs))  # fmt: skip
