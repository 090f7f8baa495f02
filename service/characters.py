"""The service's characters: each one's record (name, owner; in the database) and its files
(``avatars.store.CharacterFiles``), created, listed, loaded and deleted together.

Every lookup that names an owner finds only that owner's characters: another key's character
answers like a missing one.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from avatars.character import Character
from avatars.images import ImageSource
from avatars.store import CharacterFiles, CharacterNotFoundError
from renderer.framing import DEFAULT_FIT, parse_fit
from renderer.report import character_report
from service.persistence.characters import CharacterRecord, CharacterRows, check_name
from service.persistence.pages import After, Page

log = logging.getLogger(__name__)


class Characters:
    """Thread-safe; one instance per service (``app.state.store``)."""

    def __init__(self, *, rows: CharacterRows, files: CharacterFiles) -> None:
        self._rows = rows
        self.files = files

    def folder(self, character_id: str) -> Path:
        """Where the character's files are (a frame worker loads it from there)."""
        return self.files.folder(character_id)

    def create(
        self, image: ImageSource, *, name: str, owner: str | None = None, fit: str = DEFAULT_FIT
    ) -> CharacterRecord:
        """Build a character from ``image`` (runs the face landmarker once) and store it, with
        the report of what was found and decided (``renderer.report``) for its ``fit``."""
        name = check_name(name)
        fit = parse_fit(fit)
        character = self.files.build(image)
        report = character_report(character, fit)
        character_id = self.files.save(character)
        record = CharacterRecord(
            id=character_id, name=name, owner=owner, created=time.time(),
            width=character.size[0], height=character.size[1], notes=tuple(report["warnings"]),
            fit=fit, report=report,
        )  # fmt: skip
        self._rows.insert(record)
        log.info("character stored character=%s", character_id)
        return record

    def list(
        self, owner: str | None = None, *, limit: int = 100, after: After | None = None
    ) -> Page[CharacterRecord]:
        """A page of the characters (of ``owner`` when given), newest first."""
        return self._rows.list(owner, limit=limit, after=after)

    def get(self, character_id: str, *, owner: str | None = None) -> CharacterRecord | None:
        """The record, or None when there is none (or it belongs to another owner)."""
        return self._rows.get(character_id, owner=owner)

    def load(self, character_id: str) -> Character:
        """The stored character; raises CharacterNotFoundError or CharacterUnavailableError
        (missing or corrupt files), naming the character."""
        if not self.files.cached(character_id) and self._rows.get(character_id) is None:
            raise CharacterNotFoundError(f"no character {character_id!r}")
        return self.files.load(character_id)

    def delete(self, character_id: str, *, owner: str | None = None) -> bool:
        """Remove the record and its files; False when there was no such character."""
        if self._rows.get(character_id, owner=owner) is None:
            return False
        self._rows.delete(character_id)
        self.files.delete(character_id)
        log.info("character deleted character=%s", character_id)
        return True

    def close(self) -> None:
        self.files.close()
