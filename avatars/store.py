"""The character store: SQLite rows (``root/characters.db``) + one folder per character
(``root/characters/<id>/``, as written by ``Character.save``).

One bad folder never breaks the store: loading it raises ``CharacterUnavailableError`` naming that
character, and every other character keeps working. Loaded characters are kept in a small cache.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from avatars.character import Character, CharacterFileError
from avatars.face import FaceMeasurer
from avatars.images import ImageSource

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100
_CACHE_SIZE = 8
_SCHEMA = """
CREATE TABLE IF NOT EXISTS characters (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner TEXT,
    created REAL NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    notes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS characters_owner ON characters (owner);
"""


class CharacterNotFoundError(ValueError):
    """No character with that id (for that owner)."""


class CharacterUnavailableError(ValueError):
    """The character exists but its files are missing or corrupt."""


@dataclass(frozen=True)
class CharacterRecord:
    id: str
    name: str
    owner: str | None
    created: float  # unix time
    width: int  # of the stored reference picture
    height: int
    notes: tuple[str, ...] = ()


class CharacterStore:
    """Thread-safe; one instance per data folder."""

    def __init__(self, *, root: Path, measurer: FaceMeasurer | None = None) -> None:
        self.root = Path(root)
        (self.root / "characters").mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.root / "characters.db", check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._db.commit()
        self._measurer = measurer
        self._cache: OrderedDict[str, Character] = OrderedDict()

    def folder(self, character_id: str) -> Path:
        if not character_id or not all(c.isalnum() or c == "_" for c in character_id):
            raise CharacterNotFoundError(f"no character {character_id!r}: malformed id")
        return self.root / "characters" / character_id

    def create(
        self, image: ImageSource, *, name: str, owner: str | None = None
    ) -> CharacterRecord:
        """Build a character from ``image`` (runs the face landmarker once) and store it."""
        name = name.strip()
        if not name or len(name) > MAX_NAME_LENGTH:
            raise ValueError(f"character name must be 1..{MAX_NAME_LENGTH} characters, got {name!r}")
        with self._lock:
            if self._measurer is None:
                self._measurer = FaceMeasurer()
            character = Character.from_image(image, measurer=self._measurer)
        character_id = "ch_" + secrets.token_hex(8)
        folder = self.folder(character_id)
        partial = folder.with_name(folder.name + ".partial")
        character.save(partial)
        partial.rename(folder)
        record = CharacterRecord(
            id=character_id, name=name, owner=owner, created=time.time(),
            width=character.size[0], height=character.size[1], notes=character.notes,
        )  # fmt: skip
        with self._lock:
            self._db.execute(
                "INSERT INTO characters (id, name, owner, created, width, height, notes) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.id, record.name, record.owner, record.created, record.width,
                 record.height, json.dumps(list(record.notes))),
            )  # fmt: skip
            self._db.commit()
            self._remember(character_id, character)
        log.info("character stored character=%s", character_id)
        return record

    def list(self, owner: str | None = None) -> list[CharacterRecord]:
        """All characters (of ``owner`` when given), newest first."""
        query = "SELECT id, name, owner, created, width, height, notes FROM characters"
        args: tuple[str, ...] = ()
        if owner is not None:
            query += " WHERE owner = ?"
            args = (owner,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created DESC", args).fetchall()
        return [_record(row) for row in rows]

    def get(self, character_id: str, *, owner: str | None = None) -> CharacterRecord | None:
        """The record, or None when there is none (or it belongs to another owner)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, name, owner, created, width, height, notes FROM characters WHERE id = ?",
                (character_id,),
            ).fetchone()
        if row is None:
            return None
        record = _record(row)
        if owner is not None and record.owner != owner:
            return None
        return record

    def load(self, character_id: str) -> Character:
        """The stored character; no MediaPipe call. Raises CharacterNotFoundError or
        CharacterUnavailableError (missing or corrupt files), naming the character."""
        with self._lock:
            cached = self._cache.get(character_id)
            if cached is not None:
                self._cache.move_to_end(character_id)
                return cached
        if self.get(character_id) is None:
            raise CharacterNotFoundError(f"no character {character_id!r}")
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

    def delete(self, character_id: str, *, owner: str | None = None) -> bool:
        """Remove the record and its files; False when there was no such character."""
        if self.get(character_id, owner=owner) is None:
            return False
        with self._lock:
            self._db.execute("DELETE FROM characters WHERE id = ?", (character_id,))
            self._db.commit()
            self._cache.pop(character_id, None)
        shutil.rmtree(self.folder(character_id), ignore_errors=True)
        log.info("character deleted character=%s", character_id)
        return True

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._measurer is not None:
                self._measurer.close()
                self._measurer = None

    def _remember(self, character_id: str, character: Character) -> None:
        self._cache[character_id] = character
        self._cache.move_to_end(character_id)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)


def _record(row: tuple) -> CharacterRecord:
    character_id, name, owner, created, width, height, notes = row
    return CharacterRecord(
        id=character_id, name=name, owner=owner, created=float(created), width=int(width),
        height=int(height), notes=tuple(json.loads(notes or "[]")),
    )  # fmt: skip
