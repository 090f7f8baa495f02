"""Fixtures for the session engine tests (the fakes live in realtime_fakes.py)."""

from __future__ import annotations

import pytest
from realtime_fakes import PaintRenderer


@pytest.fixture
def paint_renderer() -> PaintRenderer:
    return PaintRenderer()
