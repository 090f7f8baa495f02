"""What a principal may reach, and the lookups every route shares: a character it may use
(404 otherwise, exactly like a missing one), loaded whole (409 naming the character and what is
damaged), its sessions and clips."""

from __future__ import annotations

import logging
from typing import Any

from fastapi.concurrency import run_in_threadpool

from avatars.store import CharacterNotFoundError, CharacterUnavailableError
from service.auth import Principal
from service.errors import ApiError

log = logging.getLogger(__name__)


async def find_character(store: Any, character_id: str, principal: Principal) -> Any:
    """The character record ``principal`` may use, or 404 (also for another owner's character,
    and for a character outside a publishable key's list)."""
    record = None
    if principal.may_use_character(character_id):
        record = await run_in_threadpool(store.get, character_id, owner=principal.owner)
    if record is None:
        raise ApiError(404, f"no character {character_id!r}")
    return record


async def load_character(store: Any, character_id: str) -> Any:
    """The stored character loaded whole; 409 when its files are missing or damaged (naming the
    character and what is wrong), 404 when it is gone."""
    try:
        return await run_in_threadpool(store.load, character_id)
    except CharacterNotFoundError:
        raise ApiError(404, f"no character {character_id!r}") from None
    except CharacterUnavailableError as exc:
        message = str(exc).splitlines()[0].replace(f"{store.folder(character_id)}: ", "")
        raise ApiError(409, message, code="character_damaged") from None


async def usable_character(store: Any, character_id: str, principal: Principal) -> Any:
    """``find_character`` then ``load_character``: the character's record (its ``fit`` is the
    default framing of its clips and sessions) once its files are known to load whole; 404/409."""
    record = await find_character(store, character_id, principal)
    await load_character(store, character_id)
    return record
