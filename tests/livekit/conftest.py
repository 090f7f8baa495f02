"""LiveKit tests share the session-engine fakes (tests/realtime/realtime_fakes.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "realtime"))

from realtime_app import alice, bob, character_id, client  # noqa: F401  (fixtures)
