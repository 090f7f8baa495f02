"""Fixtures for the session engine tests (fakes: realtime_fakes.py; the app: realtime_app.py)."""

from __future__ import annotations

import pytest
from realtime_app import alice, bob, character_id, client  # noqa: F401  (fixtures)
from realtime_fakes import PaintRenderer


@pytest.fixture
def paint_renderer() -> PaintRenderer:
    return PaintRenderer()
