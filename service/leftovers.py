"""Leftovers of interrupted work, swept at start-up and by the housekeeping task: ``.partial``
files and folders (a character being saved, a clip being encoded, a state file being replaced;
``.partial-<hex>`` ones of a file being copied into the folder storage or a character being
fetched into this node's cache) that nobody has written for a while, and session rows whose
character is gone.

A partial that is still being written is never touched: only those unmodified for
``stale_after_s`` go (another process may share the data folder)."""

from __future__ import annotations

import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from service.persistence import Database

log = logging.getLogger(__name__)

PARTIAL_STALE_S = 600.0
"""A partial file unmodified this long belongs to work that was interrupted (writers touch
theirs every frame or every file)."""


@dataclass(frozen=True)
class Swept:
    partial_files: int
    orphan_sessions: int


_PARTIAL = re.compile(r"\.partial(-[0-9a-f]+)?$")
"""``avatars.store`` and the encoders end partials in ``.partial``; ``service.blobs`` and the
character cache in ``.partial-<random hex>``."""


def _partials(data_dir: Path) -> list[Path]:
    found: list[Path] = []
    folders = (data_dir, data_dir / "characters", data_dir / "clips", data_dir / "cache" / "characters")
    for folder in folders:
        if folder.is_dir():
            found += [p for p in folder.iterdir() if _PARTIAL.search(p.name)]
    return found


def _newest_mtime(path: Path) -> float:
    if not path.is_dir():
        return path.stat().st_mtime
    return max([path.stat().st_mtime] + [p.stat().st_mtime for p in path.rglob("*")])


def sweep_partials(data_dir: Path, *, stale_after_s: float = PARTIAL_STALE_S,
                   now: float | None = None) -> int:  # fmt: skip
    """Delete stale ``*.partial`` files and folders in the data folder; returns how many."""
    cutoff = (time.time() if now is None else now) - stale_after_s
    removed = 0
    for path in _partials(Path(data_dir)):
        try:
            if _newest_mtime(path) > cutoff:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
        except FileNotFoundError:
            continue  # its writer finished (renamed it) or another sweep took it
    return removed


def sweep_leftovers(data_dir: Path, db: Database, *, stale_after_s: float = PARTIAL_STALE_S,
                    now: float | None = None) -> Swept:  # fmt: skip
    """Partial files and orphan rows (blocking)."""
    swept = Swept(
        partial_files=sweep_partials(data_dir, stale_after_s=stale_after_s, now=now),
        orphan_sessions=db.sessions.delete_orphans(),
    )
    if swept.partial_files or swept.orphan_sessions:
        log.info("leftovers swept partial_files=%d orphan_sessions=%d", swept.partial_files,
                 swept.orphan_sessions)  # fmt: skip
    return swept
