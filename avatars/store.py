"""Character files: one folder per character (``root/characters/<id>/``, as written by
``Character.save``), built from a picture once and loaded many times.

It knows files only: names, owners and the rest of a character's record belong to whoever
keeps the records (the service's database). One bad folder never breaks the others: loading it
raises ``CharacterUnavailableError`` naming that character. Loaded characters are kept in a
small cache.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

from avatars.character import Character, CharacterFileError
from avatars.face import FaceMeasurer
from avatars.images import ImageSource

log = logging.getLogger(__name__)

_CACHE_SIZE = 8


class CharacterNotFoundError(ValueError):
    """No character with that id (for that owner)."""


class CharacterUnavailableError(ValueError):
    """The character exists but its files are missing or corrupt."""


class CharacterFiles:
    """Thread-safe; one instance per data folder."""

    def __init__(self, *, root: Path, measurer: FaceMeasurer | None = None) -> None:
        self.root = Path(root)
        (self.root / "characters").mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._measurer = measurer
        self._cache: OrderedDict[str, Character] = OrderedDict()

    def folder(self, character_id: str) -> Path:
        if not character_id or not all(c.isalnum() or c == "_" for c in character_id):
            raise CharacterNotFoundError(f"no character {character_id!r}: malformed id")
        return self.root / "characters" / character_id

    def build(self, image: ImageSource) -> Character:
        """A character from ``image`` (runs the face landmarker once); not stored yet."""
        with self._lock:
            if self._measurer is None:
                self._measurer = FaceMeasurer()
            return Character.from_image(image, measurer=self._measurer)

    def save(self, character: Character) -> str:
        """Store ``character`` under a new id (written whole or not at all); returns the id."""
        character_id = "ch_" + secrets.token_hex(8)
        folder = self.folder(character_id)
        partial = folder.with_name(folder.name + ".partial")
        character.save(partial)
        partial.rename(folder)
        with self._lock:
            self._remember(character_id, character)
        return character_id

    def load(self, character_id: str) -> Character:
        """The stored character; no MediaPipe call. Raises CharacterUnavailableError (missing or
        corrupt files), naming the character."""
        with self._lock:
            cached = self._cache.get(character_id)
            if cached is not None:
                self._cache.move_to_end(character_id)
                return cached
        try:
            character = Character.load(self.folder(character_id))
        except CharacterFileError as exc:
            log.warning("character unavailable character=%s", character_id)
            raise CharacterUnavailableError(
                f"character {character_id!r} is unavailable: {exc}; delete it and create it again"
            ) from None
        with self._lock:
            self._remember(character_id, character)
        return character

    def cached(self, character_id: str) -> bool:
        with self._lock:
            return character_id in self._cache

    def delete(self, character_id: str) -> None:
        """Remove the character's files (and its cached copy)."""
        folder = self.folder(character_id)
        with self._lock:
            self._cache.pop(character_id, None)
        shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            if self._measurer is not None:
                self._measurer.close()
                self._measurer = None

    def _remember(self, character_id: str, character: Character) -> None:
        self._cache[character_id] = character
        self._cache.move_to_end(character_id)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
