"""The service's characters: each one's record (name, owner; in the database) and its files
(reference.png, rig.npz, character.json; in shared storage), created, listed, loaded and
deleted together.

Files are written to shared storage (``service.blobs``) when the character is made, before its
record exists, so no node ever sees a record whose files are not there yet. A node reads them
through a local copy (``CharacterFiles`` over its cache folder), fetched on first use and kept:
character files never change after they are made. With the default folder storage the cache
*is* the storage folder and nothing is copied.

Every lookup that names an owner finds only that owner's characters: another key's character
answers like a missing one.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from pathlib import Path

from prometheus_client import Histogram

from avatars.character import Character
from avatars.images import ImageSource
from avatars.store import CharacterFiles, CharacterNotFoundError, CharacterUnavailableError
from renderer.framing import DEFAULT_FIT, parse_fit
from renderer.report import character_report
from service.blobs import BlobStore
from service.persistence.characters import CharacterRecord, CharacterRows, check_name
from service.persistence.pages import After, Page

log = logging.getLogger(__name__)

CHARACTER_FETCH_SECONDS = Histogram(
    "visavis_character_fetch_seconds", "Copying a character's files from shared storage to this node",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)  # fmt: skip
FILE_ORDER = ("reference.png", "rig.npz", "character.json")
"""Uploaded in this order: character.json, read first by loaders, goes last."""


def prefix_of(character_id: str) -> str:
    return f"characters/{character_id}/"


class Characters:
    """Thread-safe; one instance per process (``app.state.store``)."""

    def __init__(self, *, rows: CharacterRows, files: CharacterFiles, blobs: BlobStore) -> None:
        self._rows = rows
        self.files = files
        self._blobs = blobs

    def folder(self, character_id: str) -> Path:
        """The character's files on this machine (fetched from shared storage if they are not
        here yet): a frame worker or a LiveKit job loads it from there."""
        folder = self.files.folder(character_id)  # checks the id
        if not folder.is_dir():
            self._fetch(character_id, folder)
        return folder

    def _fetch(self, character_id: str, folder: Path) -> None:
        started = time.perf_counter()
        prefix = prefix_of(character_id)
        keys = self._blobs.list(prefix)
        if not keys:
            raise CharacterUnavailableError(
                f"character {character_id!r} is unavailable: its files are not in storage "
                f"({self._blobs.description}); delete it and create it again"
            )
        partial = folder.with_name(f"{folder.name}.partial-{secrets.token_hex(4)}")
        try:
            for key in keys:
                self._blobs.get_file(key, partial / key[len(prefix) :])
            partial.rename(folder)  # whole or not at all
        except OSError:
            if not folder.is_dir():  # not merely another thread or process that came first
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        seconds = time.perf_counter() - started
        CHARACTER_FETCH_SECONDS.observe(seconds)
        log.info("character fetched character=%s files=%d ms=%.0f", character_id, len(keys),
                 seconds * 1000)  # fmt: skip

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
        folder = self.files.folder(character_id)
        names = sorted((p.name for p in folder.iterdir()), key=_upload_order)
        for file_name in names:
            self._blobs.put_file(prefix_of(character_id) + file_name, folder / file_name)
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
        if self.files.cached(character_id):
            return self.files.load(character_id)
        if self._rows.get(character_id) is None:
            raise CharacterNotFoundError(f"no character {character_id!r}")
        self.folder(character_id)
        return self.files.load(character_id)

    def delete(self, character_id: str, *, owner: str | None = None) -> bool:
        """Remove the record, the shared files and this node's copy; False when there was no
        such character. (Other nodes' copies are left: no record leads to them any more.)"""
        if self._rows.get(character_id, owner=owner) is None:
            return False
        self._rows.delete(character_id)
        self._blobs.delete_prefix(prefix_of(character_id))
        self.files.delete(character_id)
        log.info("character deleted character=%s", character_id)
        return True

    def close(self) -> None:
        self.files.close()


def _upload_order(name: str) -> int:
    return FILE_ORDER.index(name) if name in FILE_ORDER else -1
