"""Schemathesis, every check and phase (stateful included), against a real server with a bounded
budget: no server error, no undocumented status, no schema mismatch. ``make fuzz`` (called by
``make bench``) runs the full budget."""

from __future__ import annotations

import pytest

BUDGET_S = 75
"""The fuzzing budget within make test (plus about 15 s to start the server and a character)."""


@pytest.mark.slow
def test_schemathesis_finds_nothing() -> None:
    from tools.fuzz import fuzz

    assert fuzz(BUDGET_S) == 0, "schemathesis found failures: see its report above"
