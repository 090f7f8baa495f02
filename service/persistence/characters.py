"""Character rows: name, owner and picture size of each stored character (its files are kept
by ``avatars.store.CharacterFiles``, which knows nothing of owners)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Row, delete, func, insert, select

from service.persistence.pages import After, Page, newest_first, page_of
from service.persistence.schema import characters

MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class CharacterRecord:
    id: str
    name: str
    owner: str | None
    created: float  # unix time
    width: int  # of the stored reference picture
    height: int
    notes: tuple[str, ...] = ()
    fit: str = "cover"  # how clips and sessions frame it unless they say otherwise
    report: dict[str, Any] = field(default_factory=dict)  # renderer.report.character_report


def _record(row: Row[Any]) -> CharacterRecord:
    return CharacterRecord(
        id=row.id, name=row.name, owner=row.owner, created=float(row.created),
        width=int(row.width), height=int(row.height), notes=tuple(json.loads(row.notes or "[]")),
        fit=row.fit, report=json.loads(row.report or "{}"),
    )  # fmt: skip


def check_name(name: str) -> str:
    """The name stripped, or ValueError naming it and what is accepted."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"character name must be 1..{MAX_NAME_LENGTH} characters, got {name!r}")
    return name


class CharacterRows:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(self, record: CharacterRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(characters).values(
                    id=record.id,
                    name=check_name(record.name),
                    owner=record.owner,
                    created=record.created,
                    width=record.width,
                    height=record.height,
                    notes=json.dumps(list(record.notes)),
                    fit=record.fit,
                    report=json.dumps(record.report),
                )
            )

    def list(
        self, owner: str | None = None, *, limit: int = 100, after: After | None = None
    ) -> Page[CharacterRecord]:
        """A page of the characters (of ``owner`` when given), newest first."""
        query = select(characters)
        if owner is not None:
            query = query.where(characters.c.owner == owner)
        query = newest_first(query, characters.c.created, characters.c.id, limit=limit, after=after)
        with self._engine.connect() as conn:
            rows = [_record(row) for row in conn.execute(query)]
        return page_of(rows, limit, lambda r: (r.created, r.id))

    def get(self, character_id: str, *, owner: str | None = None) -> CharacterRecord | None:
        """The record, or None when there is none (or it belongs to another owner)."""
        query = select(characters).where(characters.c.id == character_id)
        if owner is not None:
            query = query.where(characters.c.owner == owner)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _record(row)

    def delete(self, character_id: str) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(delete(characters).where(characters.c.id == character_id))
        return result.rowcount > 0

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(characters)).scalar_one())
